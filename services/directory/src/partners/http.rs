//! The orientation directory over HTTP: registering, updating, verifying, listing and
//! reading partners. Contact people are sealed in the vault as they come in, and every
//! contact shown by `GET /api/v1/partners/{id}` is a logged read.

use std::borrow::Cow;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use pharos_access::{Action, Actor, IfMatch, Subject};
use pharos_decider::{Decider, Rejection, execute, execute_attached, load};
use pharos_events::partner::{
    CATEGORY, ContactPerson, PartnerEvent, PartnerKind, PartnerRecord, PartnerScope,
};
use pharos_events::{Academy, DepartmentCode, Email};
use pharos_eventstore::{Companions, GlobalPosition};
use pharos_privacy::{PersonId, Vault};
use pharos_web::{Created, Json, Path, Problem, Query, Versioned};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Partner, PartnerCommand, PartnerState, needs_review, stream};
use crate::labels::sentence;
use crate::{Directory, NAME};

/// Une personne à contacter chez le partenaire (donnée personnelle, chiffrée).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ContactInput {
    display_name: String,
    email: String,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    function: Option<String>,
}

/// Un partenaire tel que saisi dans le formulaire.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PartnerInput {
    name: String,
    /// Type de partenaire.
    #[schema(value_type = PartnerKind)]
    kind: String,
    /// Portée : nationale, départementale ou locale.
    #[schema(value_type = PartnerScope)]
    scope: String,
    /// Département de l'académie : obligatoire pour un partenaire départemental,
    /// absent pour un partenaire national ; un partenaire local se rattache à un
    /// département de l'académie ou, hors de l'académie, à une commune et un pays.
    #[serde(default)]
    #[schema(example = "31")]
    department: Option<String>,
    #[serde(default)]
    #[schema(example = "Mouscron")]
    commune: Option<String>,
    /// Pays d'un partenaire hors de France : code ISO 3166 (`BE`) ou nom (« Belgique »).
    #[serde(default)]
    #[schema(example = "BE")]
    country: Option<String>,
    /// Numéros tels qu'on les écrit (`056/39 16 20`, `+32 56 39 16 20`, `05 61 00 00 00`,
    /// `3018`) : ils sont enregistrés sous une forme normalisée.
    #[serde(default)]
    phones: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    website: Option<String>,
    #[serde(default)]
    hours: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    contacts: Vec<ContactInput>,
    /// Date de la dernière vérification de la fiche ; aujourd'hui si absente.
    #[serde(default)]
    last_verified_on: Option<NaiveDate>,
}

fn trimmed(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Every kind with its French label, in the order forms show them.
const KINDS: &[(PartnerKind, &str)] = &[
    (PartnerKind::HelpLine, "numéro d'aide"),
    (PartnerKind::Emergency, "urgences"),
    (PartnerKind::MaisonDesAdolescents, "maison des adolescents"),
    (PartnerKind::LocalCell, "cellule ou dispositif local"),
    (PartnerKind::Association, "association"),
    (PartnerKind::Health, "santé"),
    (PartnerKind::Justice, "justice"),
    (PartnerKind::Police, "police ou gendarmerie"),
    (PartnerKind::LocalAuthority, "collectivité"),
    (PartnerKind::VictimSupport, "aide aux victimes"),
    (PartnerKind::FamilyPlanning, "planning familial"),
    (PartnerKind::Other, "autre"),
];

/// The French label of a kind (« police ou gendarmerie »).
pub(crate) fn kind_label(kind: PartnerKind) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("autre", |(_, label)| label)
}

/// A kind from its API name (`police`), or the French reason.
fn parse_kind(text: &str) -> Result<PartnerKind, String> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_owned())).map_err(|_| {
        format!(
            "« {} » n'est pas un type de partenaire reconnu. Types possibles : {}.",
            text.trim(),
            KINDS
                .iter()
                .map(|(_, label)| *label)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

fn parse_scope(text: &str) -> Result<PartnerScope, String> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_owned())).map_err(|_| {
        format!(
            "« {} » n'est pas une portée reconnue : nationale, départementale ou locale.",
            text.trim()
        )
    })
}

/// A country as an ISO 3166 code (`BE`), from its code or its French name.
fn parse_country(text: &str) -> Result<String, String> {
    const NAMES: &[(&str, &str)] = &[
        ("france", "FR"),
        ("belgique", "BE"),
        ("espagne", "ES"),
        ("andorre", "AD"),
        ("suisse", "CH"),
        ("luxembourg", "LU"),
        ("allemagne", "DE"),
        ("italie", "IT"),
        ("monaco", "MC"),
    ];
    let folded = text.trim().to_lowercase();
    if let Some((_, code)) = NAMES.iter().find(|(name, _)| *name == folded) {
        return Ok((*code).to_owned());
    }
    let code = folded.to_uppercase();
    if code.len() == 2 && <phonenumber::country::Id as std::str::FromStr>::from_str(&code).is_ok() {
        return Ok(code);
    }
    Err(format!(
        "« {} » n'est pas un pays reconnu : indiquez son code à deux lettres (BE pour la Belgique, \
         ES pour l'Espagne) ou son nom.",
        text.trim()
    ))
}

impl PartnerInput {
    /// The checked record, contact people sealed in the vault (each becomes a person),
    /// with the companions storing the new ones in the commit of the append naming them.
    async fn into_record(
        self,
        academy: &Academy,
        vault: &Vault,
    ) -> Result<(PartnerRecord, Companions), Problem> {
        // An entry of a list is named by its index (`contacts[0].email`): a field built
        // at run time, which a `Rejection` cannot carry, so its problem is built here.
        let refused_entry = |field: String, message: String| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-partner",
                "Valeur refusée",
                message.clone(),
            )
            .with_field(field, message)
        };
        let refused = |field: &'static str, message: String| {
            Problem::from(Rejection::invalid("invalid-partner", field, message))
        };
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            return Err(refused(
                "name",
                "Le nom du partenaire est obligatoire.".to_owned(),
            ));
        }
        let kind = parse_kind(&self.kind).map_err(|m| refused("kind", m))?;
        let scope = parse_scope(&self.scope).map_err(|m| refused("scope", m))?;
        let country = match trimmed(self.country.as_deref()) {
            None => None,
            Some(c) => Some(parse_country(&c).map_err(|m| refused("country", m))?),
        };
        let commune = trimmed(self.commune.as_deref());
        let department = match (scope, trimmed(self.department.as_deref())) {
            (PartnerScope::National, None) => None,
            (PartnerScope::National, Some(_)) => {
                return Err(refused(
                    "department",
                    "Un partenaire national ne se rattache pas à un département.".to_owned(),
                ));
            }
            (PartnerScope::Department, None) => {
                return Err(refused(
                    "department",
                    "Un partenaire départemental se rattache à un département de l'académie."
                        .to_owned(),
                ));
            }
            // A local partner outside the academy (a cell across the border): its
            // commune and its country place it.
            (PartnerScope::Local, None) => {
                if commune.is_none() {
                    return Err(refused(
                        "commune",
                        "Un partenaire local se rattache à un département de l'académie ou, hors \
                         de l'académie, à une commune et un pays : indiquez sa commune."
                            .to_owned(),
                    ));
                }
                if country.is_none() {
                    return Err(refused(
                        "country",
                        "Un partenaire local hors des départements de l'académie se situe par sa \
                         commune et son pays : indiquez le pays (ex. BE pour la Belgique)."
                            .to_owned(),
                    ));
                }
                None
            }
            (_, Some(d)) => Some(
                academy
                    .department(&d)
                    .map_err(|e| refused("department", sentence(&e.0)))?,
            ),
        };
        let mut phones = Vec::new();
        for (i, phone) in self.phones.iter().enumerate() {
            let phone = super::phone::normalise(phone, country.as_deref())
                .map_err(|m| refused_entry(format!("phones[{i}]"), sentence(&m)))?;
            if !phones.contains(&phone) {
                phones.push(phone);
            }
        }
        let mut emails = Vec::new();
        for (i, email) in self.emails.iter().enumerate() {
            emails.push(
                Email::parse(email)
                    .map_err(|e| refused_entry(format!("emails[{i}]"), sentence(&e.0)))?
                    .to_string(),
            );
        }
        let website = trimmed(self.website.as_deref());
        if website
            .as_ref()
            .is_some_and(|site| !(site.starts_with("https://") || site.starts_with("http://")))
        {
            return Err(refused(
                "website",
                "L'adresse du site doit commencer par https:// (ou http://).".to_owned(),
            ));
        }
        let mut contacts = Vec::new();
        let mut new_people = Vec::new();
        // A person per address, even when it is given twice (case aside).
        let mut people: std::collections::HashMap<String, PersonId> = Default::default();
        for (i, contact) in self.contacts.into_iter().enumerate() {
            let display_name = contact.display_name.trim().to_owned();
            if display_name.is_empty() {
                return Err(refused_entry(
                    format!("contacts[{i}].display_name"),
                    "Le nom du contact est obligatoire.".to_owned(),
                ));
            }
            let email = Email::parse(&contact.email)
                .map_err(|e| refused_entry(format!("contacts[{i}].email"), sentence(&e.0)))?;
            let phone = match trimmed(contact.phone.as_deref()) {
                None => None,
                Some(p) => Some(
                    super::phone::normalise(&p, country.as_deref())
                        .map_err(|m| refused_entry(format!("contacts[{i}].phone"), sentence(&m)))?,
                ),
            };
            let person = match people.get(&email.as_str().to_lowercase()) {
                Some(person) => *person,
                None => {
                    let (person, new) = vault
                        .person_in_commit(email.as_str())
                        .await
                        .map_err(Problem::from)?;
                    new_people.extend(new);
                    people.insert(email.as_str().to_lowercase(), person);
                    person
                }
            };
            let mut fields = vec![(person, display_name.as_str()), (person, email.as_str())];
            if let Some(p) = &phone {
                fields.push((person, p.as_str()));
            }
            let mut sealed = vault
                .seal_all(&fields)
                .await
                .map_err(Problem::from)?
                .into_iter();
            let (Some(display_name), Some(email)) = (sealed.next(), sealed.next()) else {
                return Err(Problem::internal());
            };
            contacts.push(ContactPerson {
                display_name,
                email,
                phone: sealed.next(),
                function: trimmed(contact.function.as_deref()),
            });
        }
        let record = PartnerRecord {
            name,
            kind,
            scope,
            department,
            commune,
            country,
            phones,
            emails,
            website,
            hours: trimmed(self.hours.as_deref()),
            description: self.description.trim().to_owned(),
            contacts,
        };
        Ok((record, new_people))
    }
}

/// What a partner is about, for the scope table: national entries are the academy's.
fn subject(record: &PartnerRecord) -> Subject<'_> {
    match &record.department {
        Some(d) => Subject::Department(d),
        None => Subject::Academy,
    }
}

/// `POST /api/v1/partners`
#[utoipa::path(operation_id = "directory_partners_register", post, path = "/api/v1/partners", tag = "directory",
    summary = "Enregistrer un partenaire de l'annuaire d'orientation",
    request_body = PartnerInput,
    responses(
        (status = 201, description = "Partenaire enregistré", body = pharos_web::Created),
        (status = 403, description = "Hors du périmètre de l'acteur (partenaire national : pôle académique)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Partenaire refusé (champ en faute dans `errors`), ou date de vérification future", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn register(
    State(directory): State<Directory>,
    actor: Actor,
    Json(input): Json<PartnerInput>,
) -> Result<impl IntoResponse, Problem> {
    let today = pharos_domain::today_in_france(directory.target.clock.now());
    let verified_on = input.last_verified_on.unwrap_or(today);
    // Scope first: contact people are registered in the vault only for allowed actors.
    let department =
        trimmed(input.department.as_deref()).and_then(|d| DepartmentCode::parse(&d).ok());
    actor.may(
        Action::ManagePartners,
        department
            .as_ref()
            .map_or(Subject::Academy, Subject::Department),
    )?;
    let (record, mut companions) = input
        .into_record(&directory.target.access.academy, &directory.target.vault)
        .await?;
    actor.may(Action::ManagePartners, subject(&record))?;
    let id = Uuid::now_v7();
    companions.extend(contact_holds(
        &directory,
        id,
        &contact_people(&record),
        &[],
    )?);
    let command = PartnerCommand::Register {
        record,
        verified_on,
    };
    let done = run(&directory, &actor, id, None, &command, &companions).await?;
    if let Some(appended) = &done.appended {
        directory.readable(appended.position).await;
    }
    Ok(Created {
        id,
        version: done.version,
    })
}

/// The people of `record`'s contacts.
fn contact_people(record: &PartnerRecord) -> Vec<PersonId> {
    record.contacts.iter().map(|c| c.email.person).collect()
}

/// Partner `id` holds its contacts' data while they are its contacts and it is not
/// archived; `released` (removed contacts, or all of them at archiving) start their
/// `partner_contact` retention at `now`. Stored in the commit of the change.
fn contact_holds(
    directory: &Directory,
    id: Uuid,
    held: &[PersonId],
    released: &[PersonId],
) -> Result<Companions, Problem> {
    let vault = &directory.target.vault;
    let subject = format!("partner-{id}");
    let now = directory.target.clock.now();
    let released = released
        .iter()
        .filter(|p| !held.contains(p))
        .map(|person| vault.hold_in_commit(*person, &subject, "partner_contact", Some(now)));
    let held = held
        .iter()
        .map(|person| vault.hold_in_commit(*person, &subject, "partner_contact", None));
    released
        .chain(held)
        .collect::<Result<_, _>>()
        .map_err(Problem::from)
}

/// Runs `command` on partner `id`, `companions` in its commit.
async fn run(
    directory: &Directory,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i64>,
    command: &PartnerCommand,
    companions: &Companions,
) -> Result<pharos_decider::Executed<pharos_events::partner::PartnerEvent>, Problem> {
    execute_attached::<Partner, Problem>(
        &directory.target.app.store,
        &stream(id)?,
        directory.target.clock.now(),
        if_match,
        &actor.metadata(NAME),
        |_| Ok((Cow::Borrowed(command), companions.clone())),
    )
    .await
}

async fn existing(directory: &Directory, id: Uuid) -> Result<PartnerRecord, Problem> {
    load::<Partner>(&directory.target.app.store, &stream(id)?)
        .await?
        .0
        .record
        .ok_or_else(Problem::not_found)
}

/// `PUT /api/v1/partners/{id}`: the whole entry. Moving an entry needs the scope of
/// both its current and its new place.
#[utoipa::path(operation_id = "directory_partners_update", put, path = "/api/v1/partners/{id}", tag = "directory",
    summary = "Modifier un partenaire",
    description = "Remplace toute la fiche. Déplacer une fiche demande le périmètre de son ancienne et de sa nouvelle place.",
    request_body = PartnerInput,
    params(("id" = Uuid, Path, description = "Identifiant du partenaire")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Partenaire inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Partenaire refusé (champ en faute dans `errors`)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update(
    State(directory): State<Directory>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(input): Json<PartnerInput>,
) -> Result<impl IntoResponse, Problem> {
    let current = existing(&directory, id).await?;
    actor.may(Action::ManagePartners, subject(&current))?;
    let department =
        trimmed(input.department.as_deref()).and_then(|d| DepartmentCode::parse(&d).ok());
    actor.may(
        Action::ManagePartners,
        department
            .as_ref()
            .map_or(Subject::Academy, Subject::Department),
    )?;
    let (record, mut companions) = input
        .into_record(&directory.target.access.academy, &directory.target.vault)
        .await?;
    companions.extend(contact_holds(
        &directory,
        id,
        &contact_people(&record),
        &contact_people(&current),
    )?);
    let command = PartnerCommand::Update(record);
    let done = run(&directory, &actor, id, if_match.0, &command, &companions).await?;
    if let Some(appended) = &done.appended {
        directory.readable(appended.position).await;
    }
    Ok(Versioned {
        version: done.version,
    })
}

/// Vérification d'une fiche.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Verification {
    /// Date de la vérification ; aujourd'hui si absente.
    #[serde(default)]
    verified_on: Option<NaiveDate>,
}

/// `POST /api/v1/partners/{id}/verify`: the entry was checked (today unless said).
#[utoipa::path(operation_id = "directory_partners_verify", post, path = "/api/v1/partners/{id}/verify", tag = "directory",
    summary = "Marquer un partenaire comme vérifié",
    description = "La fiche a été vérifiée (aujourd'hui, sauf date donnée) ; elle est signalée à revoir douze mois \
        après sa dernière vérification. Une date antérieure à la dernière vérification ne change rien. Le corps est facultatif.",
    request_body(content = Option<Verification>, description = "Date de la vérification, facultative"),
    params(("id" = Uuid, Path, description = "Identifiant du partenaire")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Partenaire inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Écritures concurrentes sur la fiche", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Date de vérification future, ou corps illisible", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn verify(
    State(directory): State<Directory>,
    actor: Actor,
    Path(id): Path<Uuid>,
    body: Option<Json<Verification>>,
) -> Result<impl IntoResponse, Problem> {
    let current = existing(&directory, id).await?;
    actor.may(Action::ManagePartners, subject(&current))?;
    let now = directory.target.clock.now();
    let on = body
        .and_then(|Json(b)| b.verified_on)
        .unwrap_or(pharos_domain::today_in_france(now));
    let done = execute::<Partner, Problem>(
        &directory.target.app.store,
        &stream(id)?,
        &PartnerCommand::Verify { on },
        now,
        None,
        &actor.metadata(NAME),
    )
    .await?;
    if let Some(appended) = &done.appended {
        directory.readable(appended.position).await;
    }
    Ok(Versioned {
        version: done.version,
    })
}

/// Archivage d'une fiche.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Archival {
    /// Motif (structure fermée, dispositif arrêté...), consigné dans l'historique.
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/partners/{id}/archive`: the entry leaves the lists (kept, and can come
/// back); it can no longer be changed or verified until it is brought back.
#[utoipa::path(operation_id = "directory_partners_archive", post, path = "/api/v1/partners/{id}/archive", tag = "directory",
    summary = "Archiver un partenaire",
    description = "La fiche quitte les listes de l'annuaire (elle reste consultable avec `archived=true`) et ne peut \
        plus être modifiée ni vérifiée tant qu'elle n'est pas désarchivée. Le corps (motif) est facultatif.",
    request_body(content = Option<Archival>, description = "Motif, facultatif"),
    params(("id" = Uuid, Path, description = "Identifiant du partenaire")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Partenaire inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Partenaire déjà archivé (`partner-already-archived`), ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn archive(
    State(directory): State<Directory>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    body: Option<Json<Archival>>,
) -> Result<impl IntoResponse, Problem> {
    let current = existing(&directory, id).await?;
    actor.may(Action::ManagePartners, subject(&current))?;
    let reason = body.and_then(|Json(b)| trimmed(b.reason.as_deref()));
    let holds = contact_holds(&directory, id, &[], &contact_people(&current))?;
    let command = PartnerCommand::Archive { reason };
    let done = run(&directory, &actor, id, if_match.0, &command, &holds).await?;
    if let Some(appended) = &done.appended {
        directory.readable(appended.position).await;
    }
    Ok(Versioned {
        version: done.version,
    })
}

/// `POST /api/v1/partners/{id}/unarchive`: the entry is back in the lists.
#[utoipa::path(operation_id = "directory_partners_unarchive", post, path = "/api/v1/partners/{id}/unarchive", tag = "directory",
    summary = "Désarchiver un partenaire",
    description = "La fiche revient dans les listes de l'annuaire et peut de nouveau être modifiée et vérifiée.",
    params(("id" = Uuid, Path, description = "Identifiant du partenaire")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Partenaire inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Partenaire non archivé (`partner-not-archived`), ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn unarchive(
    State(directory): State<Directory>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    let current = existing(&directory, id).await?;
    actor.may(Action::ManagePartners, subject(&current))?;
    let holds = contact_holds(&directory, id, &contact_people(&current), &[])?;
    let command = PartnerCommand::Unarchive;
    let done = run(&directory, &actor, id, if_match.0, &command, &holds).await?;
    if let Some(appended) = &done.appended {
        directory.readable(appended.position).await;
    }
    Ok(Versioned {
        version: done.version,
    })
}

/// Un partenaire tel que les listes le montrent : sans les personnes à contacter (aucune
/// donnée personnelle, aucune lecture à consigner).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartnerSummary {
    id: Uuid,
    name: String,
    kind: PartnerKind,
    scope: PartnerScope,
    /// Absent (null) pour un partenaire national.
    #[schema(value_type = Option<String>, example = "31")]
    department: Option<DepartmentCode>,
    commune: Option<String>,
    /// Pays (code ISO 3166) d'un partenaire hors de France ; absent pour la France.
    #[schema(example = "BE")]
    country: Option<String>,
    phones: Vec<String>,
    emails: Vec<String>,
    website: Option<String>,
    hours: Option<String>,
    description: String,
    last_verified_on: Option<NaiveDate>,
    /// Dernière vérification vieille de douze mois ou plus.
    needs_review: bool,
    /// Fiche archivée : hors des listes par défaut.
    archived: bool,
}

/// Les fiches de l'annuaire d'orientation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartnerList {
    total: usize,
    items: Vec<PartnerSummary>,
}

/// Un partenaire avec ses personnes à contacter.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartnerView {
    #[serde(flatten)]
    summary: PartnerSummary,
    contacts: Vec<ContactView>,
    version: i64,
}

/// Une personne à contacter, en clair (« donnée effacée » une fois la personne effacée).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContactView {
    display_name: String,
    email: String,
    phone: Option<String>,
    function: Option<String>,
}

fn summary(id: Uuid, partner: &PartnerState, today: NaiveDate) -> Option<PartnerSummary> {
    let record = partner.record.as_ref()?;
    Some(PartnerSummary {
        id,
        name: record.name.clone(),
        kind: record.kind,
        scope: record.scope,
        department: record.department.clone(),
        commune: record.commune.clone(),
        country: record.country.clone(),
        phones: record.phones.clone(),
        emails: record.emails.clone(),
        website: record.website.clone(),
        hours: record.hours.clone(),
        description: record.description.clone(),
        last_verified_on: partner.verified_on,
        needs_review: partner.verified_on.is_none_or(|v| needs_review(v, today)),
        archived: partner.archived,
    })
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    /// Les partenaires utiles dans ce département : les nationaux et ceux du département.
    #[param(example = "31")]
    department: Option<String>,
    /// Seulement les fiches à revoir (`true`) ou à jour (`false`).
    needs_review: Option<bool>,
    /// Seulement ce type de partenaire.
    #[param(value_type = Option<PartnerKind>)]
    kind: Option<String>,
    /// Commune (sans tenir compte des majuscules ni des accents ; une partie du nom suffit).
    #[param(example = "Mouscron")]
    commune: Option<String>,
    /// Texte libre : chaque mot doit se trouver dans le nom, la description, la commune,
    /// le type, les horaires, les numéros ou les adresses (sans tenir compte des accents).
    #[param(example = "planning familial")]
    q: Option<String>,
    /// Les fiches archivées (`true`) au lieu des fiches actives (par défaut).
    archived: Option<bool>,
}

/// Lower case without accents, for searching.
pub(crate) fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            'œ' => 'o',
            '\'' | '’' | '-' => ' ',
            c => c,
        })
        .collect()
}

/// What free text is searched in.
fn searchable(p: &PartnerSummary) -> String {
    fold(
        &[
            p.name.as_str(),
            p.description.as_str(),
            p.commune.as_deref().unwrap_or(""),
            kind_label(p.kind),
            p.hours.as_deref().unwrap_or(""),
            &p.phones.join(" "),
            &p.phones
                .iter()
                .map(|n| n.replace(' ', ""))
                .collect::<Vec<_>>()
                .join(" "),
            &p.emails.join(" "),
            p.website.as_deref().unwrap_or(""),
        ]
        .join(" "),
    )
}

/// `GET /api/v1/partners[?department=31&needs_review=true&kind=&commune=&q=&archived=]`:
/// national entries first, then by department (entries outside the academy after), then
/// by name.
#[utoipa::path(operation_id = "directory_partners_list", get, path = "/api/v1/partners", tag = "directory",
    summary = "Lister l'annuaire d'orientation",
    description = "Les partenaires nationaux d'abord, puis par département (les partenaires hors de l'académie ensuite) \
        et par nom ; sans les personnes à contacter. Les fiches archivées n'apparaissent qu'avec `archived=true`. \
        Filtres combinables : type, département (les nationaux et ceux du département), commune, texte libre, fiches à revoir.",
    params(ListFilter),
    responses(
        (status = 200, description = "Les partenaires", body = PartnerList),
        (status = 422, description = "Filtre refusé : code de département ou type de partenaire invalide", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(directory): State<Directory>,
    _actor: Actor,
    Query(filter): Query<ListFilter>,
) -> Result<impl IntoResponse, Problem> {
    let department = match filter.department.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(DepartmentCode::parse(d).map_err(|e| {
            Problem::from(Rejection::invalid(
                "invalid-filter",
                "department",
                sentence(&e.0),
            ))
        })?),
    };
    let kind = match filter.kind.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(k) => Some(
            parse_kind(k)
                .map_err(|m| Problem::from(Rejection::invalid("invalid-filter", "kind", m)))?,
        ),
    };
    let commune = trimmed(filter.commune.as_deref()).map(|c| fold(&c));
    let words: Vec<String> = filter
        .q
        .as_deref()
        .map(fold)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let archived = filter.archived.unwrap_or(false);
    let today = pharos_domain::today_in_france(directory.target.clock.now());
    let mut partners: std::collections::BTreeMap<Uuid, PartnerState> = Default::default();
    let store = &directory.target.app.store;
    let categories = [CATEGORY.to_owned()];
    // What was acknowledged before this request is read (PostgreSQL may withhold it a
    // moment while an older transaction of the cluster is open).
    store.settle(crate::SETTLE).await?;
    let mut after = GlobalPosition::START;
    loop {
        let page = store.read_all(after, 1000, &categories).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in &page {
            let Ok(id) = Uuid::parse_str(&event.stream_id[CATEGORY.len() + 1..]) else {
                continue;
            };
            if let Some(e) = pharos_events::decode::<PartnerEvent>(event) {
                let state = partners.remove(&id).unwrap_or_default();
                partners.insert(id, Partner::evolve(state, &e));
            }
        }
    }
    let mut items: Vec<PartnerSummary> = partners
        .iter()
        .filter_map(|(id, p)| summary(*id, p, today))
        .filter(|p| p.archived == archived)
        .filter(|p| match &department {
            Some(d) => p.scope == PartnerScope::National || p.department.as_ref() == Some(d),
            None => true,
        })
        .filter(|p| kind.is_none_or(|k| p.kind == k))
        .filter(|p| {
            commune.as_ref().is_none_or(|c| {
                p.commune
                    .as_deref()
                    .is_some_and(|mine| fold(mine).contains(c.as_str()))
            })
        })
        .filter(|p| {
            let text = searchable(p);
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .filter(|p| filter.needs_review.is_none_or(|n| p.needs_review == n))
        .collect();
    // National first, then the academy's departments, then entries outside it.
    let rank = |p: &PartnerSummary| match (p.scope, &p.department) {
        (PartnerScope::National, _) => 0,
        (_, Some(_)) => 1,
        (_, None) => 2,
    };
    items.sort_by(|a, b| {
        (rank(a), &a.department, &a.country, &a.commune, &a.name).cmp(&(
            rank(b),
            &b.department,
            &b.country,
            &b.commune,
            &b.name,
        ))
    });
    Ok(axum::Json(PartnerList {
        total: items.len(),
        items,
    }))
}

/// `GET /api/v1/partners/{id}`: the entry with its contact people (a logged read).
#[utoipa::path(operation_id = "directory_partners_get", get, path = "/api/v1/partners/{id}", tag = "directory",
    summary = "Lire un partenaire",
    description = "La fiche avec ses personnes à contacter : chaque personne affichée fait l'objet d'une lecture nominative consignée.",
    params(("id" = Uuid, Path, description = "Identifiant du partenaire")),
    responses(
        (status = 200, description = "Le partenaire", body = PartnerView),
        (status = 404, description = "Partenaire inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(directory): State<Directory>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (partner, version) = load::<Partner>(&directory.target.app.store, &stream(id)?).await?;
    let today = pharos_domain::today_in_france(directory.target.clock.now());
    let Some(view) = summary(id, &partner, today) else {
        return Err(Problem::not_found());
    };
    let vault = &directory.target.vault;
    let mut contacts = Vec::new();
    for contact in partner.record.map(|r| r.contacts).unwrap_or_default() {
        let mut sealed = vec![&contact.display_name, &contact.email];
        sealed.extend(contact.phone.as_ref());
        let values = vault.unseal_all(&sealed).await.map_err(Problem::from)?;
        vault
            .log_read(
                &actor.metadata(NAME),
                contact.email.person,
                "/api/v1/partners/{id}",
                "orientation",
            )
            .await
            .map_err(Problem::from)?;
        let mut text = values.iter().map(ToString::to_string);
        contacts.push(ContactView {
            display_name: text.next().unwrap_or_default(),
            email: text.next().unwrap_or_default(),
            phone: text.next(),
            function: contact.function,
        });
    }
    Ok(axum::Json(PartnerView {
        summary: view,
        contacts,
        version,
    }))
}

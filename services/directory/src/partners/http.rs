//! The orientation directory over HTTP: registering, updating, verifying, listing and
//! reading partners. Contact people are sealed in the vault as they come in, and every
//! contact shown by `GET /api/v1/partners/{id}` is a logged read.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use pharos_access::{Action, Actor, IfMatch, Subject};
use pharos_decider::{Decider, Rejection, execute, load};
use pharos_events::partner::{
    CATEGORY, ContactPerson, PartnerEvent, PartnerKind, PartnerRecord, PartnerScope,
};
use pharos_events::{Academy, DepartmentCode, Email};
use pharos_eventstore::GlobalPosition;
use pharos_privacy::Vault;
use pharos_web::{Created, Json, Path, Problem, Query, Versioned};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Partner, PartnerCommand, PartnerState, needs_review, stream};
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
    kind: PartnerKind,
    scope: PartnerScope,
    /// Département de l'académie : obligatoire pour un partenaire départemental ou
    /// local, absent pour un partenaire national.
    #[serde(default)]
    #[schema(example = "31")]
    department: Option<String>,
    #[serde(default)]
    commune: Option<String>,
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

impl PartnerInput {
    /// The checked record, contact people sealed in the vault (each becomes a person).
    async fn into_record(self, academy: &Academy, vault: &Vault) -> Result<PartnerRecord, Problem> {
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
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            return Err(Problem::from(Rejection::invalid(
                "invalid-partner",
                "name",
                "Le nom du partenaire est obligatoire.",
            )));
        }
        let department = match (self.scope, trimmed(self.department.as_deref())) {
            (PartnerScope::National, None) => None,
            (PartnerScope::National, Some(_)) => {
                return Err(Problem::from(Rejection::invalid(
                    "invalid-partner",
                    "department",
                    "Un partenaire national ne se rattache pas à un département.",
                )));
            }
            (_, None) => {
                return Err(Problem::from(Rejection::invalid(
                    "invalid-partner",
                    "department",
                    "Un partenaire départemental ou local se rattache à un département de l'académie.",
                )));
            }
            (_, Some(d)) => Some(academy.department(&d).map_err(|e| {
                Problem::from(Rejection::invalid("invalid-partner", "department", e.0))
            })?),
        };
        let mut phones = Vec::new();
        for (i, phone) in self.phones.iter().enumerate() {
            let phone = phone.trim();
            if phone.is_empty()
                || !phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +.()-".contains(c))
            {
                return Err(refused_entry(
                    format!("phones[{i}]"),
                    format!("« {phone} » n'est pas un numéro de téléphone (chiffres, espaces, +)."),
                ));
            }
            phones.push(phone.to_owned());
        }
        let mut emails = Vec::new();
        for (i, email) in self.emails.iter().enumerate() {
            emails.push(
                Email::parse(email)
                    .map_err(|e| refused_entry(format!("emails[{i}]"), e.0))?
                    .to_string(),
            );
        }
        let website = trimmed(self.website.as_deref());
        if website
            .as_ref()
            .is_some_and(|site| !(site.starts_with("https://") || site.starts_with("http://")))
        {
            return Err(Problem::from(Rejection::invalid(
                "invalid-partner",
                "website",
                "Le site doit commencer par https://.",
            )));
        }
        let mut contacts = Vec::new();
        for (i, contact) in self.contacts.into_iter().enumerate() {
            let display_name = contact.display_name.trim().to_owned();
            if display_name.is_empty() {
                return Err(refused_entry(
                    format!("contacts[{i}].display_name"),
                    "Le nom du contact est obligatoire.".to_owned(),
                ));
            }
            let email = Email::parse(&contact.email)
                .map_err(|e| refused_entry(format!("contacts[{i}].email"), e.0))?;
            let person = vault.person(email.as_str()).await.map_err(Problem::from)?;
            let phone = trimmed(contact.phone.as_deref());
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
        Ok(PartnerRecord {
            name,
            kind: self.kind,
            scope: self.scope,
            department,
            commune: trimmed(self.commune.as_deref()),
            phones,
            emails,
            website,
            hours: trimmed(self.hours.as_deref()),
            description: self.description.trim().to_owned(),
            contacts,
        })
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
    let today = directory.target.clock.now().date_naive();
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
    let record = input
        .into_record(&directory.target.access.academy, &directory.target.vault)
        .await?;
    actor.may(Action::ManagePartners, subject(&record))?;
    let id = Uuid::now_v7();
    let done = execute::<Partner, Problem>(
        &directory.target.app.store,
        &stream(id)?,
        &PartnerCommand::Register {
            record,
            verified_on,
        },
        directory.target.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
    Ok(Created {
        id,
        version: done.version,
    })
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
    let record = input
        .into_record(&directory.target.access.academy, &directory.target.vault)
        .await?;
    let done = execute::<Partner, Problem>(
        &directory.target.app.store,
        &stream(id)?,
        &PartnerCommand::Update(record),
        directory.target.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
    )
    .await?;
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
        .unwrap_or(now.date_naive());
    let done = execute::<Partner, Problem>(
        &directory.target.app.store,
        &stream(id)?,
        &PartnerCommand::Verify { on },
        now,
        None,
        &actor.metadata(NAME),
    )
    .await?;
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
    phones: Vec<String>,
    emails: Vec<String>,
    website: Option<String>,
    hours: Option<String>,
    description: String,
    last_verified_on: Option<NaiveDate>,
    /// Dernière vérification vieille de douze mois ou plus.
    needs_review: bool,
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
        phones: record.phones.clone(),
        emails: record.emails.clone(),
        website: record.website.clone(),
        hours: record.hours.clone(),
        description: record.description.clone(),
        last_verified_on: partner.verified_on,
        needs_review: partner.verified_on.is_none_or(|v| needs_review(v, today)),
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
}

/// `GET /api/v1/partners[?department=31&needs_review=true]`: national entries first,
/// then by department and name.
#[utoipa::path(operation_id = "directory_partners_list", get, path = "/api/v1/partners", tag = "directory",
    summary = "Lister l'annuaire d'orientation",
    description = "Les partenaires nationaux d'abord, puis par département et par nom ; sans les personnes à contacter.",
    params(ListFilter),
    responses(
        (status = 200, description = "Les partenaires", body = PartnerList),
        (status = 422, description = "Code de département invalide", body = pharos_web::Problem, content_type = "application/problem+json"),
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
            Problem::from(Rejection::invalid("invalid-partner", "department", e.0))
        })?),
    };
    let today = directory.target.clock.now().date_naive();
    let mut partners: std::collections::BTreeMap<Uuid, PartnerState> = Default::default();
    let store = &directory.target.app.store;
    let categories = [CATEGORY.to_owned()];
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
        .filter(|p| match &department {
            Some(d) => p.department.is_none() || p.department.as_ref() == Some(d),
            None => true,
        })
        .filter(|p| filter.needs_review.is_none_or(|n| p.needs_review == n))
        .collect();
    items.sort_by(|a, b| {
        (a.department.is_some(), &a.department, &a.name).cmp(&(
            b.department.is_some(),
            &b.department,
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
    let today = directory.target.clock.now().date_naive();
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

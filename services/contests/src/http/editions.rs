//! The edition routes: create and read editions, extend a school's deadline, appoint
//! jurors, follow the jury's progress, publish the palmarès (read without login), close
//! the campaign.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use pharos_access::{Action, Actor, IfMatch, Subject, TargetState};
use pharos_decider::{Rejection, execute, execute_with, sentence};
use pharos_events::contest::{
    AwardKind, ClassLevel, ContestCategory, ContestLevel, ContestRules, Criterion, EditionDates,
    FileType, Medium, PalmaresLine, SpecialPrize,
};
use pharos_events::phare::SchoolYear;
use pharos_events::{DepartmentCode, Role, Uai};
use pharos_web::{Created, Json, Path, Problem, Query, Versioned};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Files, edition, edition_stream, uai};
use crate::edition::{
    Edition, EditionCommand, EditionState, FIRST_EDITION_YEAR, Juror, NewEdition, edition_id,
};
use crate::entry::{EntryState, EntryStatus};
use crate::index::Index;
use crate::palmares::{Ranked, rank};
use crate::{NAME, paris, purge};

/// Une catégorie de l'édition : un niveau et un support.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CategoryInput {
    pub level: ContestLevel,
    pub medium: Medium,
    /// Libellé ; par défaut « collège — video ».
    #[serde(default)]
    pub label: Option<String>,
}

/// Un prix spécial de l'édition.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SpecialPrizeInput {
    /// Identifiant (minuscules, chiffres et _), ex. cyberharcelement.
    #[schema(example = "cyberharcelement")]
    pub key: String,
    /// Libellé ; connu pour harcelement_sexiste_sexuel, cyberharcelement et inclusion.
    #[serde(default)]
    pub label: Option<String>,
}

/// Le règlement de l'édition.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RulesInput {
    /// Supports autorisés.
    pub media: Vec<Medium>,
    /// Durée maximale d'une vidéo, en secondes.
    #[serde(default)]
    #[schema(example = 120)]
    pub max_video_seconds: u32,
    /// Taille maximale d'un fichier, en octets (2 Gio au plus).
    #[schema(example = 52_428_800)]
    pub max_file_bytes: u64,
    /// Types de fichiers acceptés (reconnus d'après leur contenu).
    pub file_types: Vec<FileType>,
    /// Nombre maximal de productions par groupe.
    #[schema(example = 1)]
    pub max_entries_per_group: u32,
    /// Nombre de productions sélectionnables pour le concours national, par catégorie.
    #[schema(example = 2)]
    pub nominees_per_category: u32,
}

/// Un critère de notation et son poids.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CriterionInput {
    /// Identifiant (minuscules, chiffres et _).
    #[schema(example = "creativite")]
    pub key: String,
    /// Libellé.
    #[schema(example = "Créativité et originalité")]
    pub label: String,
    /// Poids, de 1 à 10.
    #[schema(example = 2)]
    pub weight: u32,
}

/// Une nouvelle édition du concours « Non au harcèlement » : une par année scolaire.
/// Les instants (ouverture, date limite) se donnent en heure de Paris
/// (`2027-02-12T23:59`), avec un décalage, ou comme une date (l'ouverture à 0 h, la date
/// limite à 23 h 59 min 59 s, heure de Paris).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewEditionInput {
    /// Année scolaire.
    #[schema(example = "2026-2027")]
    pub school_year: String,
    /// Numéro de l'édition (vérifié : la 13e est 2025-2026) ; déduit de l'année par défaut.
    #[serde(default)]
    #[schema(example = 14)]
    pub edition: Option<u32>,
    /// Ouverture des dépôts.
    #[schema(example = "2026-11-02")]
    pub opens_at: String,
    /// Date limite de dépôt.
    #[schema(example = "2027-02-12T23:59")]
    pub submission_deadline: String,
    /// Jury académique.
    #[serde(default)]
    pub jury_on: Option<NaiveDate>,
    /// Sélection locale (circonscription ou département), entre la date limite et le jury.
    #[serde(default)]
    pub local_round_on: Option<NaiveDate>,
    /// Envoi des productions sélectionnées au concours national.
    #[serde(default)]
    pub national_submission_on: Option<NaiveDate>,
    /// Début de l'exposition des productions au rectorat.
    #[serde(default)]
    pub exhibition_from: Option<NaiveDate>,
    /// Fin de l'exposition.
    #[serde(default)]
    pub exhibition_to: Option<NaiveDate>,
    /// Catégories (niveau × support).
    pub categories: Vec<CategoryInput>,
    /// Prix spéciaux ; par défaut harcelement_sexiste_sexuel, cyberharcelement, inclusion.
    #[serde(default)]
    pub special_prizes: Option<Vec<SpecialPrizeInput>>,
    /// Règlement.
    pub rules: RulesInput,
    /// Critères de notation ; par défaut message (3), créativité (2), réalisation (2),
    /// valeurs (1).
    #[serde(default)]
    pub criteria: Vec<CriterionInput>,
}

const KNOWN_PRIZES: [(&str, &str); 3] = [
    (
        "harcelement_sexiste_sexuel",
        "Prix « Harcèlement sexiste et sexuel »",
    ),
    ("cyberharcelement", "Prix « Cyberharcèlement »"),
    ("inclusion", "Prix « Inclusion »"),
];

fn instant(field: &'static str, text: &str, end_of_day: bool) -> Result<DateTime<Utc>, Rejection> {
    paris::parse(text, end_of_day)
        .map_err(|e| Rejection::invalid("invalid-date", field, sentence(&e)))
}

impl NewEditionInput {
    pub fn check(&self) -> Result<NewEdition, Rejection> {
        let school_year = SchoolYear::parse(&self.school_year).map_err(|e| {
            Rejection::invalid("invalid-school-year", "school_year", sentence(&e.0))
        })?;
        let prizes = match &self.special_prizes {
            None => KNOWN_PRIZES
                .iter()
                .map(|(key, label)| SpecialPrize {
                    key: (*key).into(),
                    label: (*label).into(),
                })
                .collect(),
            Some(given) => given
                .iter()
                .map(|p| {
                    let key = p.key.trim().to_owned();
                    let known = KNOWN_PRIZES.iter().find(|(k, _)| *k == key);
                    SpecialPrize {
                        label: p
                            .label
                            .as_deref()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_owned)
                            .or_else(|| known.map(|(_, l)| (*l).to_owned()))
                            .unwrap_or_default(),
                        key,
                    }
                })
                .collect(),
        };
        Ok(NewEdition {
            school_year,
            edition: self.edition,
            opens_at: instant("opens_at", &self.opens_at, false)?,
            submission_deadline: instant("submission_deadline", &self.submission_deadline, true)?,
            dates: EditionDates {
                jury_on: self.jury_on,
                local_round_on: self.local_round_on,
                national_submission_on: self.national_submission_on,
                exhibition_from: self.exhibition_from,
                exhibition_to: self.exhibition_to,
            },
            categories: self
                .categories
                .iter()
                .map(|c| ContestCategory {
                    level: c.level,
                    medium: c.medium,
                    label: c
                        .label
                        .as_deref()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map_or_else(
                            || format!("{} — {}", c.level.label(), c.medium.as_str()),
                            str::to_owned,
                        ),
                })
                .collect(),
            special_prizes: prizes,
            rules: ContestRules {
                media: self.rules.media.clone(),
                max_video_seconds: self.rules.max_video_seconds,
                max_file_bytes: self.rules.max_file_bytes,
                file_types: self.rules.file_types.clone(),
                max_entries_per_group: self.rules.max_entries_per_group,
                nominees_per_category: self.rules.nominees_per_category,
            },
            criteria: self
                .criteria
                .iter()
                .map(|c| Criterion {
                    key: c.key.trim().to_owned(),
                    label: c.label.trim().to_owned(),
                    weight: c.weight,
                })
                .collect(),
        })
    }
}

/// Où les éditions se lisent.
const PATH: &str = "/api/v1/contests";

/// `POST /api/v1/contests`
#[utoipa::path(post, path = "/api/v1/contests", tag = "contests",
    operation_id = "contests_create_edition",
    summary = "Créer une édition du concours",
    description = "Une édition par année scolaire (la 13e est 2025-2026) : dates en heure de \
                   Paris, catégories (niveau × support), prix spéciaux, règlement, critères de \
                   notation pondérés (un jeu par défaut sans critère donné), exposition. Le pôle \
                   académique seul.",
    request_body = NewEditionInput,
    responses(
        (status = 201, description = "Édition créée", body = pharos_web::Created),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "L'édition de cette année existe déjà : son identifiant dans existing_id", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (dates incohérentes, catégorie en double, support ou type de fichier, critère, poids)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<TargetState>,
    actor: Actor,
    Json(body): Json<NewEditionInput>,
) -> Result<Response, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let new = body.check()?;
    let id = edition_id(new.school_year);
    let done = execute::<Edition, Problem>(
        &state.app.store,
        &edition_stream(id)?,
        &EditionCommand::Create(Box::new(new)),
        state.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await
    .map_err(|problem| {
        if problem.status() == axum::http::StatusCode::CONFLICT {
            problem.with_existing(id, format!("{PATH}/{id}"))
        } else {
            problem
        }
    })?;
    Ok(Created {
        id,
        version: done.version,
    }
    .into_response())
}

/// Une catégorie de l'édition.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CategoryView {
    /// Identifiant de la catégorie, donné avec une production (ex. college_video).
    #[schema(example = "college_video")]
    pub key: String,
    pub level: ContestLevel,
    pub medium: Medium,
    pub label: String,
}

impl From<&ContestCategory> for CategoryView {
    fn from(c: &ContestCategory) -> Self {
        Self {
            key: c.key(),
            level: c.level,
            medium: c.medium,
            label: c.label.clone(),
        }
    }
}

/// Un prix spécial.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SpecialPrizeView {
    pub key: String,
    pub label: String,
}

/// Le règlement.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RulesView {
    pub media: Vec<Medium>,
    pub max_video_seconds: u32,
    pub max_file_bytes: u64,
    pub file_types: Vec<FileType>,
    pub max_entries_per_group: u32,
    pub nominees_per_category: u32,
}

/// Un critère de notation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ContestCriterionView)]
pub struct CriterionView {
    pub key: String,
    pub label: String,
    pub weight: u32,
}

/// Une prolongation accordée à un établissement.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExtensionView {
    #[schema(value_type = String, example = "0310001H")]
    pub school_uai: Uai,
    pub until: DateTime<Utc>,
    pub reason: String,
}

/// Un juré de l'édition et son rattachement (pour les déports).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JurorView {
    pub user_id: Uuid,
    #[schema(value_type = Option<String>, example = "0310001H")]
    pub school_uai: Option<Uai>,
    #[schema(value_type = Option<String>, example = "31")]
    pub department: Option<DepartmentCode>,
}

/// Une édition du concours.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EditionView {
    pub id: Uuid,
    #[schema(value_type = String, example = "2026-2027")]
    pub school_year: SchoolYear,
    /// Numéro de l'édition.
    pub edition: u32,
    /// Ouverture des dépôts (UTC).
    pub opens_at: DateTime<Utc>,
    /// Date limite de dépôt (UTC).
    pub submission_deadline: DateTime<Utc>,
    /// La date limite en heure de Paris, en toutes lettres.
    pub submission_deadline_paris: String,
    pub jury_on: Option<NaiveDate>,
    pub local_round_on: Option<NaiveDate>,
    pub national_submission_on: Option<NaiveDate>,
    pub exhibition_from: Option<NaiveDate>,
    pub exhibition_to: Option<NaiveDate>,
    pub categories: Vec<CategoryView>,
    pub special_prizes: Vec<SpecialPrizeView>,
    pub rules: RulesView,
    pub criteria: Vec<CriterionView>,
    /// Palmarès publié (figé).
    pub results_published: bool,
    /// Campagne close.
    pub closed: bool,
    /// Prolongations accordées : le pôle les voit toutes, un établissement la sienne.
    pub extensions: Vec<ExtensionView>,
    /// Jurés (pôle seulement).
    pub jurors: Vec<JurorView>,
    /// Version du flux, pour If-Match.
    pub version: i64,
}

fn view(actor: &Actor, id: Uuid, e: &EditionState, version: i64) -> Option<EditionView> {
    let school_year = e.school_year?;
    let rules = e.rules.as_ref()?;
    let pole = actor.holds(Role::PoleManager);
    Some(EditionView {
        id,
        school_year,
        edition: e.edition,
        opens_at: e.opens_at,
        submission_deadline: e.submission_deadline,
        submission_deadline_paris: paris::describe(e.submission_deadline),
        jury_on: e.dates.jury_on,
        local_round_on: e.dates.local_round_on,
        national_submission_on: e.dates.national_submission_on,
        exhibition_from: e.dates.exhibition_from,
        exhibition_to: e.dates.exhibition_to,
        categories: e.categories.iter().map(Into::into).collect(),
        special_prizes: e
            .special_prizes
            .iter()
            .map(|p| SpecialPrizeView {
                key: p.key.clone(),
                label: p.label.clone(),
            })
            .collect(),
        rules: RulesView {
            media: rules.media.clone(),
            max_video_seconds: rules.max_video_seconds,
            max_file_bytes: rules.max_file_bytes,
            file_types: rules.file_types.clone(),
            max_entries_per_group: rules.max_entries_per_group,
            nominees_per_category: rules.nominees_per_category,
        },
        criteria: e
            .criteria
            .iter()
            .map(|c| CriterionView {
                key: c.key.clone(),
                label: c.label.clone(),
                weight: c.weight,
            })
            .collect(),
        results_published: e.published(),
        closed: e.closed,
        extensions: e
            .extensions
            .iter()
            .filter(|(uai, _)| {
                pole || actor
                    .held()
                    .any(|(_, scope)| *scope == pharos_access::Scope::School((*uai).clone()))
            })
            .map(|(uai, x)| ExtensionView {
                school_uai: uai.clone(),
                until: x.until,
                reason: x.reason.clone(),
            })
            .collect(),
        jurors: if pole {
            e.jurors
                .iter()
                .map(|j| JurorView {
                    user_id: j.juror_id,
                    school_uai: j.school_uai.clone(),
                    department: j.department.clone(),
                })
                .collect()
        } else {
            Vec::new()
        },
        version,
    })
}

/// `GET /api/v1/contests/{id}`
#[utoipa::path(get, path = "/api/v1/contests/{id}", tag = "contests",
    operation_id = "contests_get_edition",
    summary = "Lire une édition du concours",
    description = "Dates, catégories, prix spéciaux, règlement et critères : lisibles par tout \
                   compte. Les jurés et toutes les prolongations : le pôle seulement ; un \
                   établissement voit la sienne.",
    params(("id" = Uuid, Path, description = "Identifiant de l'édition")),
    responses(
        (status = 200, description = "L'édition", body = EditionView),
        (status = 404, description = "Édition inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (edition, version) = edition(&state, id).await?;
    view(&actor, id, &edition, version)
        .map(axum::Json)
        .ok_or_else(Problem::not_found)
}

/// Quelle édition chercher.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EditionFilter {
    /// Année scolaire ; toutes par défaut.
    #[param(example = "2026-2027")]
    pub school_year: Option<String>,
}

/// Les éditions, la plus récente d'abord.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EditionList {
    pub items: Vec<EditionView>,
    pub total: usize,
}

/// `GET /api/v1/contests?school_year=`
#[utoipa::path(get, path = "/api/v1/contests", tag = "contests",
    operation_id = "contests_list_editions",
    summary = "Trouver les éditions du concours",
    description = "L'édition d'une année scolaire, ou toutes, la plus récente d'abord.",
    params(EditionFilter),
    responses(
        (status = 200, description = "Les éditions", body = EditionList),
        (status = 422, description = "Année scolaire mal formée", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<TargetState>,
    actor: Actor,
    Query(filter): Query<EditionFilter>,
) -> Result<impl IntoResponse, Problem> {
    let years = match filter
        .school_year
        .as_deref()
        .map(str::trim)
        .filter(|y| !y.is_empty())
    {
        Some(text) => vec![SchoolYear::parse(text).map_err(|e| {
            Rejection::invalid("invalid-school-year", "school_year", sentence(&e.0))
        })?],
        None => {
            let mut year = SchoolYear::containing(paris::date(state.clock.now())).next();
            let mut years = Vec::new();
            while year.start_year() >= FIRST_EDITION_YEAR {
                years.push(year);
                if year.previous() == year {
                    break;
                }
                year = year.previous();
            }
            years
        }
    };
    let mut items = Vec::new();
    for year in years {
        let id = edition_id(year);
        let (found, version) =
            pharos_decider::load::<Edition>(&state.app.store, &edition_stream(id)?).await?;
        items.extend(view(&actor, id, &found, version));
    }
    let total = items.len();
    Ok(axum::Json(EditionList { items, total }))
}

/// Une prolongation de la date limite pour un établissement, motivée (consignée).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ExtensionInput {
    /// UAI de l'établissement.
    #[schema(example = "0310001H")]
    pub school_uai: String,
    /// Nouvelle limite, en heure de Paris (`2027-02-15T12:00`), avec un décalage, ou une
    /// date (23 h 59 min 59 s ce jour-là).
    #[schema(example = "2027-02-15T12:00")]
    pub until: String,
    /// Motif (obligatoire).
    #[schema(example = "Panne du réseau de l'établissement le jour de la date limite")]
    pub reason: String,
}

/// `POST /api/v1/contests/{id}/deadline-extensions`
#[utoipa::path(post, path = "/api/v1/contests/{id}/deadline-extensions", tag = "contests",
    operation_id = "contests_extend_deadline",
    summary = "Prolonger la date limite pour un établissement",
    description = "Le pôle académique seul, motif obligatoire ; la prolongation est consignée \
                   (qui, quand, pourquoi) et finit avant le jury. Une nouvelle prolongation du \
                   même établissement remplace la précédente.",
    request_body = ExtensionInput,
    params(("id" = Uuid, Path, description = "Identifiant de l'édition")),
    responses(
        (status = 200, description = "Prolongation accordée", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Édition inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Palmarès publié", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (motif manquant, limite avant la date limite ou après le jury, établissement inconnu)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn extend_deadline(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<ExtensionInput>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let school_uai = uai("school_uai", &body.school_uai)?;
    if state.access.reference.school(&school_uai).await?.is_none() {
        return Err(unknown_school(&school_uai).into());
    }
    let until = instant("until", &body.until, true)?;
    let command = EditionCommand::ExtendDeadline {
        school_uai,
        until,
        reason: body.reason,
    };
    run(&state, &actor, id, &command, if_match).await
}

pub fn unknown_school(uai: &Uai) -> Rejection {
    Rejection::invalid(
        "school-unknown",
        "school_uai",
        format!(
            "L'établissement {uai} n'est pas enregistré dans le répertoire des établissements."
        ),
    )
}

async fn run(
    state: &TargetState,
    actor: &Actor,
    id: Uuid,
    command: &EditionCommand,
    if_match: IfMatch,
) -> Result<Versioned, Problem> {
    let done = execute::<Edition, Problem>(
        &state.app.store,
        &edition_stream(id)?,
        command,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// Un juré nommé pour l'édition : un compte de rôle juré, avec son rattachement. Un juré
/// rattaché à un établissement ne note pas les productions de cet établissement ; rattaché
/// à un département, aucune production de ce département (déport).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct JurorInput {
    /// Identifiant du compte (rôle juré).
    pub user_id: Uuid,
    /// Établissement de rattachement du juré, s'il en a un.
    #[serde(default)]
    #[schema(example = "0310001H")]
    pub school_uai: Option<String>,
    /// Département de rattachement du juré, s'il en a un.
    #[serde(default)]
    #[schema(example = "31")]
    pub department: Option<String>,
}

/// `POST /api/v1/contests/{id}/jurors`
#[utoipa::path(post, path = "/api/v1/contests/{id}/jurors", tag = "contests",
    operation_id = "contests_appoint_juror",
    summary = "Nommer un juré de l'édition",
    description = "Un compte de rôle juré, avec son établissement ou son département de \
                   rattachement, donnés ici par le pôle : ils fondent les déports (un juré ne \
                   note jamais une production de son établissement, ni de son département \
                   quand il y est rattaché).",
    request_body = JurorInput,
    params(("id" = Uuid, Path, description = "Identifiant de l'édition")),
    responses(
        (status = 200, description = "Juré nommé", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Édition inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Déjà juré de l'édition, ou palmarès publié", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Compte inconnu, inactif ou sans le rôle juré ; établissement ou département inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn appoint_juror(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<JurorInput>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let user = state.access.reference.user(body.user_id).await?;
    if !user.is_some_and(|u| u.active() && u.holds(Role::Juror)) {
        return Err(Rejection::invalid(
            "not-a-juror",
            "user_id",
            "Ce compte n'existe pas, est désactivé, ou n'a pas le rôle juré : créez d'abord un \
             compte de rôle juré.",
        )
        .into());
    }
    let school_uai = match body
        .school_uai
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(text) => {
            let found = uai("school_uai", text)?;
            if state.access.reference.school(&found).await?.is_none() {
                return Err(unknown_school(&found).into());
            }
            Some(found)
        }
    };
    let department =
        body.department
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| {
                state.access.academy.department(d).map_err(|e| {
                    Rejection::invalid("invalid-department", "department", sentence(&e.0))
                })
            })
            .transpose()?;
    let command = EditionCommand::AppointJuror(Juror {
        juror_id: body.user_id,
        school_uai,
        department,
    });
    run(&state, &actor, id, &command, if_match).await
}

/// L'avancement d'un juré.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JurorProgress {
    pub user_id: Uuid,
    /// Productions attribuées.
    pub assigned: usize,
    /// Productions notées.
    pub scored: usize,
}

/// L'avancement d'une production recevable devant le jury, et son rang.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryProgress {
    pub entry_id: Uuid,
    pub category: String,
    pub title: String,
    pub status: EntryStatus,
    /// Jurés désignés.
    pub jurors: Vec<Uuid>,
    /// Jurés ayant noté.
    pub scored_by: Vec<Uuid>,
    /// Note pondérée moyenne sur 20.
    pub score: Option<f64>,
    /// Rang dans la catégorie (les ex æquo partagent un rang).
    pub rank: Option<u32>,
    /// Ex æquo avec une autre production de la catégorie.
    pub tied: bool,
    /// Distinctions attribuées.
    pub awards: Vec<AwardKind>,
}

/// L'avancement du jury : par juré et par production.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JuryProgress {
    pub jurors: Vec<JurorProgress>,
    pub entries: Vec<EntryProgress>,
}

/// `GET /api/v1/contests/{id}/jury-progress`
#[utoipa::path(get, path = "/api/v1/contests/{id}/jury-progress", tag = "contests",
    operation_id = "contests_jury_progress",
    summary = "Suivre l'avancement du jury",
    description = "Par juré : productions attribuées et notées ; par production recevable : \
                   jurés, notes reçues, note pondérée moyenne, rang dans la catégorie (ex æquo \
                   signalés), distinctions. Le pôle académique seul.",
    params(("id" = Uuid, Path, description = "Identifiant de l'édition")),
    responses(
        (status = 200, description = "L'avancement", body = JuryProgress),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Édition inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn jury_progress(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let (edition, _) = edition(&state, id).await?;
    let progress = index.read(|index| {
        let entries: Vec<(Uuid, &EntryState)> = index.of_contest(id).collect();
        let ranking = rank(&edition.criteria, entries.iter().map(|(i, e)| (*i, *e)));
        let ranked: BTreeMap<Uuid, Ranked> = ranking
            .values()
            .flatten()
            .map(|r| (r.entry_id, *r))
            .collect();
        let jurors = edition
            .jurors
            .iter()
            .map(|j| JurorProgress {
                user_id: j.juror_id,
                assigned: entries
                    .iter()
                    .filter(|(_, e)| e.status.admissible() && e.jurors.contains(&j.juror_id))
                    .count(),
                scored: entries
                    .iter()
                    .filter(|(_, e)| e.status.admissible() && e.scores.contains_key(&j.juror_id))
                    .count(),
            })
            .collect();
        let entries = entries
            .iter()
            .filter(|(_, e)| e.status.admissible())
            .map(|(entry_id, e)| {
                let place = ranked.get(entry_id);
                EntryProgress {
                    entry_id: *entry_id,
                    category: e
                        .details
                        .as_ref()
                        .map(|d| d.category.clone())
                        .unwrap_or_default(),
                    title: e
                        .details
                        .as_ref()
                        .map(|d| d.title.clone())
                        .unwrap_or_default(),
                    status: e.standing(*entry_id, &edition),
                    jurors: e.jurors.clone(),
                    scored_by: e.scores.keys().copied().collect(),
                    score: place
                        .and_then(|p| p.score_hundredths)
                        .map(|h| f64::from(h) / 100.0),
                    rank: place.and_then(|p| p.rank),
                    tied: place.is_some_and(|p| p.tied),
                    awards: edition.awards_of(*entry_id),
                }
            })
            .collect();
        JuryProgress { jurors, entries }
    });
    Ok(axum::Json(progress))
}

/// `POST /api/v1/contests/{id}/publish-results`
#[utoipa::path(post, path = "/api/v1/contests/{id}/publish-results", tag = "contests",
    operation_id = "contests_publish_results",
    summary = "Publier le palmarès",
    description = "Fige le palmarès : productions distinguées par catégorie, avec leur rang \
                   d'après les notes pondérées (ex æquo signalés), sans donnée personnelle (les \
                   groupes en effectifs). Ensuite, ni note, ni recevabilité, ni distinction ne \
                   change. Le pôle académique seul.",
    params(("id" = Uuid, Path, description = "Identifiant de l'édition")),
    responses(
        (status = 200, description = "Palmarès publié", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Édition inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Déjà publié, ou aucune distinction attribuée", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn publish_results(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let (current, _) = edition(&state, id).await?;
    // What the palmarès shows of each distinguished entry, schools named as registered.
    let lines: Vec<(PalmaresLine, Uai)> = index.read(|index| {
        let entries: Vec<(Uuid, &EntryState)> = index.of_contest(id).collect();
        let ranking = rank(&current.criteria, entries.iter().map(|(i, e)| (*i, *e)));
        let ranked: BTreeMap<Uuid, Ranked> = ranking
            .values()
            .flatten()
            .map(|r| (r.entry_id, *r))
            .collect();
        entries
            .iter()
            .filter(|(entry_id, _)| current.distinguished(*entry_id))
            .filter_map(|(entry_id, e)| {
                let details = e.details.as_ref()?;
                let uai = e.school_uai.clone()?;
                let place = ranked.get(entry_id);
                Some((
                    PalmaresLine {
                        category: details.category.clone(),
                        entry_id: *entry_id,
                        title: details.title.clone(),
                        school_uai: uai.clone(),
                        school_name: String::new(),
                        levels: details.group.levels.clone(),
                        pupil_count: details.group.pupil_count,
                        adult_count: details.group.adult_count,
                        awards: current.awards_of(*entry_id),
                        special_prizes: details.special_prizes.clone(),
                        score_hundredths: place.and_then(|p| p.score_hundredths),
                        rank: place.and_then(|p| p.rank),
                        tied: place.is_some_and(|p| p.tied),
                    },
                    uai,
                ))
            })
            .collect()
    });
    let mut palmares = Vec::with_capacity(lines.len());
    for (mut line, uai) in lines {
        line.school_name = state
            .access
            .reference
            .school(&uai)
            .await?
            .map(|s| s.name)
            .unwrap_or_default();
        palmares.push(line);
    }
    palmares.sort_by(|a, b| {
        (&a.category, a.rank.unwrap_or(u32::MAX), &a.title).cmp(&(
            &b.category,
            b.rank.unwrap_or(u32::MAX),
            &b.title,
        ))
    });
    run(
        &state,
        &actor,
        id,
        &EditionCommand::PublishResults { palmares },
        if_match,
    )
    .await
}

/// Une production du palmarès : sans donnée personnelle, le groupe en effectifs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PalmaresEntry {
    pub entry_id: Uuid,
    pub title: String,
    #[schema(value_type = String, example = "0310001H")]
    pub school_uai: Uai,
    pub school_name: String,
    /// Niveaux de classe du groupe.
    pub levels: Vec<ClassLevel>,
    /// Nombre d'élèves du groupe.
    pub pupil_count: u32,
    /// Nombre d'adultes encadrants.
    pub adult_count: u32,
    pub awards: Vec<AwardKind>,
    pub special_prizes: Vec<String>,
    /// Note pondérée moyenne sur 20.
    pub score: Option<f64>,
    /// Rang dans la catégorie ; les ex æquo partagent un rang.
    pub rank: Option<u32>,
    /// Ex æquo avec une autre production de la catégorie.
    pub tied: bool,
}

/// Le palmarès d'une catégorie.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PalmaresCategory {
    pub key: String,
    pub label: String,
    pub entries: Vec<PalmaresEntry>,
}

/// Le palmarès publié d'une édition.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PalmaresView {
    #[schema(value_type = String, example = "2026-2027")]
    pub school_year: SchoolYear,
    pub edition: u32,
    pub categories: Vec<PalmaresCategory>,
}

/// `GET /api/v1/contests/{id}/palmares`: public.
#[utoipa::path(get, path = "/api/v1/contests/{id}/palmares", tag = "contests",
    operation_id = "contests_get_palmares",
    summary = "Lire le palmarès publié",
    description = "Public, sans connexion : les productions distinguées par catégorie, leur \
                   établissement, leurs niveaux et effectifs, leur rang (ex æquo signalés). \
                   Aucune donnée personnelle.",
    params(("id" = Uuid, Path, description = "Identifiant de l'édition")),
    responses(
        (status = 200, description = "Le palmarès", body = PalmaresView),
        (status = 404, description = "Édition inconnue, ou palmarès non publié", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(()))]
pub async fn palmares(
    State(state): State<TargetState>,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (edition, _) = edition(&state, id).await?;
    let (Some(lines), Some(school_year)) = (&edition.palmares, edition.school_year) else {
        return Err(Rejection::not_found(
            "palmares-not-published",
            "Le palmarès de cette édition n'est pas encore publié.",
        )
        .into());
    };
    let categories = edition
        .categories
        .iter()
        .map(|c| PalmaresCategory {
            key: c.key(),
            label: c.label.clone(),
            entries: lines
                .iter()
                .filter(|l| l.category == c.key())
                .map(|l| PalmaresEntry {
                    entry_id: l.entry_id,
                    title: l.title.clone(),
                    school_uai: l.school_uai.clone(),
                    school_name: l.school_name.clone(),
                    levels: l.levels.clone(),
                    pupil_count: l.pupil_count,
                    adult_count: l.adult_count,
                    awards: l.awards.clone(),
                    special_prizes: l.special_prizes.clone(),
                    score: l.score_hundredths.map(|h| f64::from(h) / 100.0),
                    rank: l.rank,
                    tied: l.tied,
                })
                .collect(),
        })
        .filter(|c| !c.entries.is_empty())
        .collect();
    Ok(axum::Json(PalmaresView {
        school_year,
        edition: edition.edition,
        categories,
    }))
}

/// Ce que la clôture a archivé et effacé.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClosedCampaign {
    /// Version du flux de l'édition.
    pub version: i64,
    /// Productions archivées (toutes celles de l'édition, sauf les retirées).
    pub entries_archived: usize,
    /// Productions non distinguées dont les fichiers ont été effacés.
    pub entries_purged: usize,
    /// Fichiers effacés du stockage.
    pub files_deleted: usize,
}

/// `POST /api/v1/contests/{id}/close`
#[utoipa::path(post, path = "/api/v1/contests/{id}/close", tag = "contests",
    operation_id = "contests_close_campaign",
    summary = "Clore la campagne",
    description = "Une fois le palmarès publié (et les résultats du concours national \
                   enregistrés : ils ne changent plus ensuite) : toutes les productions de \
                   l'édition sont archivées (les retirées restent retirées) ; les fichiers des \
                   productions non distinguées sont effacés (règle de conservation \
                   contest_file_non_laureate), ceux des productions distinguées sont gardés pour \
                   l'exposition. Le pôle académique seul.",
    params(("id" = Uuid, Path, description = "Identifiant de l'édition")),
    responses(
        (status = 200, description = "Campagne close", body = ClosedCampaign),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Édition inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Palmarès non publié, ou campagne déjà close", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn close(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    Extension(files): Extension<Files>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let done = execute_with::<Edition, Problem>(
        &state.app.store,
        &edition_stream(id)?,
        state.clock.now(),
        None,
        &actor.metadata(NAME),
        |_| Ok(std::borrow::Cow::Owned(EditionCommand::Close)),
    )
    .await?;
    let (closed, _) = edition(&state, id).await?;
    let (archived, undistinguished): (usize, Vec<Uuid>) = index.read(|index| {
        let archived = index
            .of_contest(id)
            .filter(|(entry_id, e)| e.standing(*entry_id, &closed) == EntryStatus::Archived)
            .count();
        let undistinguished = index
            .of_contest(id)
            .filter(|(entry_id, e)| !closed.distinguished(*entry_id) && !e.files.is_empty())
            .map(|(entry_id, _)| entry_id)
            .collect();
        (archived, undistinguished)
    });
    let purged = purge::delete_files(
        &state.app.store,
        &index,
        files.as_ref(),
        &undistinguished,
        purge::NON_LAUREATE,
        state.clock.now(),
        &actor.metadata(NAME),
    )
    .await?;
    Ok(axum::Json(ClosedCampaign {
        version: done.version,
        entries_archived: archived,
        entries_purged: purged.entries,
        files_deleted: purged.files,
    }))
}

/// The reference date of data held for an edition: the start of its school year, or now
/// when later.
pub fn reference_date(edition: &EditionState, now: DateTime<Utc>) -> DateTime<Utc> {
    edition.school_year.map_or(now, |year| {
        now.max(year.first_day().and_time(NaiveTime::MIN).and_utc())
    })
}

//! The plannings: trainings and a training's sessions, paginated by page number, scoped
//! to who asks, answered from the in-memory index (`crate::index`).
//!
//! Who sees what: pole managers everything; a department referent and a school the
//! trainings and sessions of their department and the academy-wide ones; a trainer the
//! sessions they give and their trainings; other roles nothing (403).
//!
//! Filters: a school year keeps the sessions starting in it; a department the sessions
//! held there and the academy-wide ones (open to every department). A training is
//! listed for a school year when it has a session of it that the caller sees (and that
//! the department asked keeps), or, with no session at all yet, when it was created in
//! that school year; its `sessions` counts the sessions the caller sees and the filters
//! keep.

use axum::extract::State;
use axum::response::IntoResponse;
use chrono::{DateTime, FixedOffset};
use pharos_access::{Actor, Denied, Scope};
use pharos_decider::{Rejection, load, sentence};
use pharos_events::phare::SchoolYear;
use pharos_events::training::{Topic, TrainingEvent};
use pharos_events::{DepartmentCode, Role};
use pharos_web::{Path, Problem, Query};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Trainings;
use crate::index::{Indexed, SessionIndex};
use crate::session::http::SessionStatus;
use crate::training::{self, Training};

/// Items per page when `limit` is not given.
const DEFAULT_LIMIT: u32 = 50;
/// The largest `limit`.
const MAX_LIMIT: u32 = 100;

/// What one role the actor holds sees.
enum View {
    All,
    /// A department's and the academy-wide.
    Department(DepartmentCode),
    /// The sessions given by this trainer.
    Trainer(Uuid),
}

/// What the actor sees: the union of the views of every role it holds (its primary
/// role and its grants, e.g. a referent of 31 who also trains).
struct Sees(Vec<View>);

impl Sees {
    async fn of(trainings: &Trainings, actor: &Actor) -> Result<Self, Problem> {
        let mut views = Vec::new();
        for (role, scope) in actor.held() {
            views.push(match (scope, role) {
                (Scope::Academy, _) => View::All,
                (Scope::Department(d), _) => View::Department(d.clone()),
                (Scope::School(uai), _) => {
                    match trainings.target.access.reference.school(uai).await? {
                        Some(school) => View::Department(school.department),
                        None => continue,
                    }
                }
                (Scope::Assigned, Role::Trainer) => View::Trainer(actor.user_id),
                _ => continue,
            });
        }
        if views.is_empty() {
            let roles: Vec<&str> = actor.held().map(|(role, _)| role.label()).collect();
            return Err(Problem::from(Denied(format!(
                "{} ({}) ne permet pas de consulter le planning des formations.",
                if roles.len() > 1 {
                    "Aucun de vos rôles"
                } else {
                    "Votre rôle"
                },
                roles.join(", ")
            ))));
        }
        Ok(Self(views))
    }

    fn department(&self, department: Option<&DepartmentCode>) -> bool {
        self.0.iter().any(|view| match view {
            View::All => true,
            View::Department(mine) => department.is_none_or(|d| d == mine),
            View::Trainer(_) => false,
        })
    }

    fn session(&self, session: &Indexed) -> bool {
        let Some((plan, _)) = session.planned() else {
            return false;
        };
        self.0.iter().any(|view| match view {
            View::Trainer(me) => plan.trainers.contains(me),
            View::All => true,
            View::Department(mine) => plan.department.as_ref().is_none_or(|d| d == mine),
        })
    }

    fn training(
        &self,
        index: &SessionIndex,
        id: Uuid,
        department: Option<&DepartmentCode>,
    ) -> bool {
        self.department(department)
            || (self.trains() && index.sessions_of(id).any(|(_, s)| self.session(s)))
    }

    fn trains(&self) -> bool {
        self.0.iter().any(|view| matches!(view, View::Trainer(_)))
    }
}

/// Une page : `page` à partir de 1, `limit` éléments au plus (100 au plus, 50 par
/// défaut) ; `total` dit combien il y en a en tout.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Numéro de la page, à partir de 1 (1 par défaut).
    #[param(minimum = 1, example = 1)]
    page: Option<u32>,
    /// Nombre d'éléments par page, de 1 à 100 (50 par défaut).
    #[param(minimum = 1, maximum = 100, example = 50)]
    limit: Option<u32>,
}

impl Paging {
    /// `(page, limit)`, checked.
    fn checked(&self) -> Result<(u32, u32), Problem> {
        let page = self.page.unwrap_or(1);
        if page == 0 {
            return Err(Rejection::invalid(
                "invalid-page",
                "page",
                "Les pages se numérotent à partir de 1.",
            )
            .into());
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Rejection::invalid(
                "invalid-limit",
                "limit",
                format!("Demandez entre 1 et {MAX_LIMIT} éléments par page."),
            )
            .into());
        }
        Ok((page, limit))
    }

    /// The items of the page asked among `items`, and their total.
    fn cut<T>(&self, items: Vec<T>) -> Result<Page<T>, Problem> {
        let (page, limit) = self.checked()?;
        let total = items.len();
        let skip = (page as usize - 1).saturating_mul(limit as usize);
        Ok(Page {
            items: items.into_iter().skip(skip).take(limit as usize).collect(),
            page,
            limit,
            total,
        })
    }
}

/// Une page de résultats.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// Les éléments de la page.
    items: Vec<T>,
    /// Numéro de la page, à partir de 1.
    page: u32,
    /// Nombre d'éléments par page demandé.
    limit: u32,
    /// Nombre total d'éléments, toutes pages confondues.
    total: usize,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrainingFilter {
    /// Seulement les formations ayant, parmi les sessions que vous voyez, une session dont
    /// le début tombe dans cette année scolaire (et dans le département demandé, s'il
    /// l'est) ; une formation encore sans aucune session figure dans l'année scolaire où
    /// elle a été créée.
    #[param(example = "2026-2027")]
    school_year: Option<String>,
    /// Les formations de ce département et les formations académiques ; leurs sessions
    /// comptées sont celles qui se tiennent dans ce département et les sessions
    /// académiques.
    #[param(example = "31")]
    department: Option<String>,
}

/// Les filtres du planning des sessions d'une formation.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionFilter {
    /// Seulement les sessions dont le début tombe dans cette année scolaire.
    #[param(example = "2026-2027")]
    school_year: Option<String>,
    /// Seulement les sessions qui se tiennent dans ce département, et les sessions
    /// académiques (sans département), ouvertes à tous les départements.
    #[param(example = "31")]
    department: Option<String>,
}

/// The sessions the filters of a planning ask for.
#[derive(Debug, Default)]
struct Wanted {
    school_year: Option<SchoolYear>,
    /// The sessions held there and the academy-wide ones.
    department: Option<DepartmentCode>,
}

impl Wanted {
    /// Checks the filters as given.
    fn parse(
        trainings: &Trainings,
        school_year: Option<&str>,
        department: Option<&str>,
    ) -> Result<Self, Problem> {
        let school_year = match school_year.map(str::trim) {
            None | Some("") => None,
            Some(y) => Some(SchoolYear::parse(y).map_err(|e| {
                Problem::from(Rejection::invalid(
                    "invalid-school-year",
                    "school_year",
                    sentence(&e.0),
                ))
            })?),
        };
        let department = match department.map(str::trim) {
            None | Some("") => None,
            Some(d) => Some(trainings.target.access.academy.department(d).map_err(|e| {
                Problem::from(Rejection::invalid(
                    "invalid-department",
                    "department",
                    sentence(&e.0),
                ))
            })?),
        };
        Ok(Self {
            school_year,
            department,
        })
    }

    /// Whether `session` starts in the school year asked and is held in the department
    /// asked (or academy-wide).
    fn session(&self, session: &Indexed) -> bool {
        let Some((plan, _)) = session.planned() else {
            return false;
        };
        self.school_year
            .is_none_or(|year| SchoolYear::containing(plan.schedule.starts_at.date_naive()) == year)
            && self
                .department
                .as_ref()
                .is_none_or(|asked| plan.department.as_ref().is_none_or(|held| held == asked))
    }
}

/// Une formation dans le planning.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrainingSummary {
    id: Uuid,
    /// Intitulé de la formation.
    title: String,
    topic: Topic,
    /// Public visé.
    audience: String,
    /// Département qui gère la formation ; absent pour une formation académique.
    #[schema(value_type = Option<String>, example = "31")]
    department: Option<DepartmentCode>,
    /// Référence dans la plateforme nationale de formation (GAIA).
    gaia_reference: Option<String>,
    /// Nombre de ses sessions que vous voyez et qui répondent aux filtres (année
    /// scolaire, département) ; sans filtre, toutes années confondues.
    sessions: usize,
}

/// `GET /api/v1/trainings[?school_year=2026-2027&department=31&page=1&limit=50]`
#[utoipa::path(operation_id = "trainings_training_list", get, path = "/api/v1/trainings", tag = "trainings",
    summary = "Lister les formations (planning, paginé)",
    description = "Par intitulé. Le pôle voit tout ; un référent départemental et un établissement les formations de leur département et les formations académiques ; un formateur celles dont il donne une session. Avec `school_year`, seules les formations ayant une session de cette année scolaire (parmi celles que vous voyez, dans le département demandé s'il l'est), ou sans aucune session et créées cette année scolaire-là ; `sessions` compte les sessions que vous voyez et qui répondent aux filtres. Pagination par numéro de page : `page` à partir de 1, `limit` de 1 à 100 (50 par défaut), `total` dans la réponse.",
    params(TrainingFilter, Paging),
    responses(
        (status = 200, description = "Une page de formations", body = Page<TrainingSummary>),
        (status = 422, description = "Page, nombre par page, année scolaire ou département invalide", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn trainings(
    State(trainings): State<Trainings>,
    actor: Actor,
    Query(filter): Query<TrainingFilter>,
    Query(paging): Query<Paging>,
) -> Result<impl IntoResponse, Problem> {
    paging.checked()?;
    let wanted = Wanted::parse(
        &trainings,
        filter.school_year.as_deref(),
        filter.department.as_deref(),
    )?;
    let sees = Sees::of(&trainings, &actor).await?;
    let mut items = trainings.index.read(|index| {
        index
            .trainings
            .iter()
            .filter_map(|(id, training)| {
                let TrainingEvent::TrainingCreated {
                    title,
                    topic,
                    audience,
                    department: own,
                    gaia_reference,
                    ..
                } = &training.created;
                if !sees.training(index, *id, own.as_ref()) {
                    return None;
                }
                if wanted
                    .department
                    .as_ref()
                    .is_some_and(|d| own.as_ref().is_some_and(|own| own != d))
                {
                    return None;
                }
                // Counted: the sessions the caller sees that the filters ask for.
                let counted = index
                    .sessions_of(*id)
                    .filter(|(_, s)| sees.session(s) && wanted.session(s))
                    .count();
                if let Some(year) = wanted.school_year {
                    // Listed for a school year with a session of it; with no session at
                    // all yet, for the school year it was created in.
                    let unplanned = index.sessions_of(*id).next().is_none();
                    let created_then =
                        SchoolYear::containing(training.created_at.date_naive()) == year;
                    if counted == 0 && !(unplanned && created_then) {
                        return None;
                    }
                }
                Some(TrainingSummary {
                    id: *id,
                    title: title.clone(),
                    topic: *topic,
                    audience: audience.clone(),
                    department: own.clone(),
                    gaia_reference: gaia_reference.clone(),
                    sessions: counted,
                })
            })
            .collect::<Vec<_>>()
    });
    items.sort_by(|a, b| (&a.title, a.id).cmp(&(&b.title, b.id)));
    Ok(axum::Json(paging.cut(items)?))
}

/// Une session dans le planning, sans ses inscrits.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionSummary {
    id: Uuid,
    /// La formation dont c'est une session.
    training_id: Uuid,
    /// Département où se tient la session ; absent pour une session académique.
    #[schema(value_type = Option<String>, example = "31")]
    department: Option<DepartmentCode>,
    /// Début de la session.
    starts_at: DateTime<FixedOffset>,
    /// Fin de la session.
    ends_at: DateTime<FixedOffset>,
    /// Lieu de la session.
    location: Option<String>,
    /// Lien de classe virtuelle.
    remote_url: Option<String>,
    status: SessionStatus,
    /// Nombre de places.
    capacity: u32,
    /// Nombre d'inscriptions confirmées.
    confirmed: usize,
    /// Nombre d'inscriptions en liste d'attente.
    waitlisted: usize,
    /// Comptes qui donnent la session.
    trainers: Vec<Uuid>,
}

/// `GET /api/v1/trainings/{id}/sessions[?school_year=2026-2027&department=31&page=1&limit=50]`
#[utoipa::path(operation_id = "trainings_session_list", get, path = "/api/v1/trainings/{id}/sessions", tag = "trainings",
    summary = "Lister les sessions d'une formation (planning, paginé)",
    description = "Par date de début, sans les inscrits. Le pôle voit tout ; un référent départemental et un établissement les sessions de leur département et les sessions académiques ; un formateur celles qu'il donne. `school_year` : les sessions qui commencent dans cette année scolaire ; `department` : celles qui se tiennent dans ce département, et les sessions académiques. Pagination par numéro de page : `page` à partir de 1, `limit` de 1 à 100 (50 par défaut), `total` dans la réponse.",
    params(("id" = Uuid, Path, description = "Identifiant de la formation"), SessionFilter, Paging),
    responses(
        (status = 200, description = "Une page de sessions", body = Page<SessionSummary>),
        (status = 404, description = "Formation inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Page, nombre par page, année scolaire ou département invalide", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn sessions(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(filter): Query<SessionFilter>,
    Query(paging): Query<Paging>,
) -> Result<impl IntoResponse, Problem> {
    paging.checked()?;
    let wanted = Wanted::parse(
        &trainings,
        filter.school_year.as_deref(),
        filter.department.as_deref(),
    )?;
    let sees = Sees::of(&trainings, &actor).await?;
    let known = trainings.index.read(|index| {
        index.trainings.get(&id).map(|training| {
            let TrainingEvent::TrainingCreated { department, .. } = &training.created;
            department.clone()
        })
    });
    let department = match known {
        Some(department) => department,
        // Created in another process a moment ago: read it from the log.
        None => {
            let (training, _) =
                load::<Training>(&trainings.target.app.store, &training::stream(id)?).await?;
            if training.created.is_none() {
                return Err(Problem::not_found());
            }
            training.department().cloned()
        }
    };
    // A trainer sees the sessions they give of any training; others, their department's.
    if !sees.trains() && !sees.department(department.as_ref()) {
        return Err(Denied(match department.as_ref() {
            Some(department) => format!(
                "Cette formation est celle du département {department}, hors de votre périmètre."
            ),
            None => "Cette formation est hors de votre périmètre.".to_owned(),
        })
        .into());
    }
    let mut items = trainings.index.read(|index| {
        index
            .sessions_of(id)
            .filter(|(_, s)| sees.session(s) && wanted.session(s))
            .filter_map(|(session, s)| {
                let (plan, status) = s.planned()?;
                let count = |wanted| {
                    s.state
                        .registrations
                        .iter()
                        .filter(|r| r.status == wanted)
                        .count()
                };
                Some(SessionSummary {
                    id: session,
                    training_id: id,
                    department: plan.department.clone(),
                    starts_at: plan.schedule.starts_at,
                    ends_at: plan.schedule.ends_at,
                    location: plan.location.clone(),
                    remote_url: plan.remote_url.clone(),
                    status: status.into(),
                    capacity: plan.capacity,
                    confirmed: count(crate::session::decider::RegistrationStatus::Confirmed),
                    waitlisted: count(crate::session::decider::RegistrationStatus::Waitlisted),
                    trainers: plan.trainers.clone(),
                })
            })
            .collect::<Vec<_>>()
    });
    items.sort_by_key(|s| (s.starts_at, s.id));
    Ok(axum::Json(paging.cut(items)?))
}

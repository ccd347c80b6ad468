//! The ledger of one target, or of one recipient: `GET /api/v1/reminders`.

use axum::Extension;
use axum::extract::State;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use pharos_access::{Actor, Denied, Scope, TargetState};
use pharos_decider::Rejection;
use pharos_events::Role;
use pharos_privacy::{Personal, Sealed};
use pharos_web::{Problem, Query};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::engine::{Engine, rules_in_force};
use crate::facts::{Facts, Ledger, Status};

const ROUTE: &str = "GET /api/v1/reminders";
/// Rows per page unless `limit` says otherwise, and at most.
const PAGE_DEFAULT: usize = 50;
const PAGE_MAX: usize = 200;

/// Quels rappels lire : ceux d'une cible, ou ceux d'un destinataire (pôle seulement).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LedgerFilter {
    /// La cible des rappels : `training_session-<uuid>`, `school-<uai>:<année>`,
    /// `contest-<uuid>:school-<uai>`, `user-<uuid>`…
    #[param(example = "school-0310001H:2025-2026")]
    target: Option<String>,
    /// Le destinataire (identifiant de la personne) : réservé au pôle académique.
    recipient: Option<Uuid>,
    /// Nombre de rappels par page : 50 par défaut, 200 au plus.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// Nombre de rappels à sauter (pagination).
    offset: Option<u32>,
}

/// Un rappel du registre : à qui, selon quelle règle, pour quelle occurrence, où il en est
/// et pourquoi.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReminderView {
    /// Identifiant du rappel (dérivé de sa clé).
    pub id: Uuid,
    /// Clé de la règle.
    #[schema(example = "session_convocation_j2")]
    pub rule: String,
    /// Libellé de la règle.
    pub rule_label: String,
    /// Le destinataire (identifiant de la personne).
    pub recipient: Uuid,
    /// Son nom, ou « donnée effacée ».
    pub recipient_name: String,
    pub target: String,
    /// La date de déclenchement de cette occurrence.
    pub occurrence: NaiveDate,
    /// Quand il était dû.
    pub due_at: DateTime<Utc>,
    /// État : sending, sent, failing, failed, suppressed, cancelled.
    #[schema(example = "sent")]
    pub status: &'static str,
    /// L'état en français.
    #[schema(example = "envoyé")]
    pub status_label: &'static str,
    /// Pourquoi : la raison de l'envoi, puis la réponse du serveur de courriel, le motif
    /// de l'abandon ou de l'annulation.
    pub reason: String,
    /// Tentatives d'envoi.
    pub attempts: u32,
    /// Prochaine tentative, après un échec temporaire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
    pub scheduled_at: DateTime<Utc>,
    /// Dernier changement.
    pub updated_at: DateTime<Utc>,
}

/// Une page du registre des rappels.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReminderPage {
    pub items: Vec<ReminderView>,
    /// Rappels correspondants, toutes pages confondues.
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

fn status(status: &Status) -> (&'static str, u32, Option<DateTime<Utc>>) {
    match status {
        Status::Claimed { attempt, .. } => ("sending", *attempt, None),
        Status::Sent => ("sent", 0, None),
        Status::Failing { attempt, retry_at } => ("failing", *attempt, Some(*retry_at)),
        Status::FailedPermanently => ("failed", 0, None),
        Status::Suppressed => ("suppressed", 0, None),
        Status::Cancelled => ("cancelled", 0, None),
    }
}

/// Whether the actor may read the reminders of `target`: the pole and the administrator
/// all, a referent those of their departments, a school its own.
fn covers(actor: &Actor, facts: &Facts, target: &str) -> bool {
    let (school, department) = facts.place_of(target);
    actor.held().any(|(role, scope)| match (role, scope) {
        (Role::PoleManager | Role::Admin, _) => true,
        (Role::DepartmentReferent, Scope::Department(code)) => department.as_ref() == Some(code),
        (Role::School, Scope::School(uai)) => school.as_ref() == Some(uai),
        _ => false,
    })
}

fn invalid(field: &'static str, message: &str) -> Problem {
    Rejection::invalid("invalid-filter", field, message.to_owned()).into()
}

/// `GET /api/v1/reminders`
#[utoipa::path(get, path = "/api/v1/reminders", tag = "reminders",
    operation_id = "reminders_ledger",
    summary = "Lire le registre des rappels d'une cible ou d'un destinataire",
    description = "Les rappels d'une cible (`target`) ou d'un destinataire (`recipient`, réservé au pôle \
                   académique), des plus récents aux plus anciens : la règle, le destinataire (son nom, ou \
                   « donnée effacée »), l'occurrence, l'état, la raison (pourquoi il part, puis la réponse du \
                   serveur de courriel, le motif de l'abandon ou de l'annulation) et les instants. Le pôle lit \
                   tous les rappels, un référent départemental ceux des établissements et des formations de \
                   son département, un établissement les siens ; les autres rappels sont absents de la \
                   réponse. Paginée : 50 par page par défaut, 200 au plus (`limit`, `offset`). La lecture de \
                   chaque nom montré est consignée.",
    params(LedgerFilter),
    responses(
        (status = 200, description = "Une page du registre", body = ReminderPage),
        (status = 403, description = "Rôle sans accès au registre, ou `recipient` sans être du pôle", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Filtre refusé (`invalid-filter`) : ni `target` ni `recipient`, ou les deux", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<TargetState>,
    Extension(engine): Extension<Engine>,
    actor: Actor,
    Query(filter): Query<LedgerFilter>,
) -> Result<impl IntoResponse, Problem> {
    let readers = [
        Role::PoleManager,
        Role::Admin,
        Role::DepartmentReferent,
        Role::School,
    ];
    if !readers.iter().any(|r| actor.holds(*r)) {
        return Err(Denied(format!(
            "Votre rôle ({}) ne donne pas accès au registre des rappels.",
            actor.role.label()
        ))
        .into());
    }
    let target = filter
        .target
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match (target, filter.recipient) {
        (None, None) => {
            return Err(invalid(
                "target",
                "Indiquez la cible des rappels (target) ou leur destinataire (recipient).",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(invalid(
                "recipient",
                "Indiquez la cible (target) ou le destinataire (recipient), pas les deux.",
            ));
        }
        (None, Some(_)) if !(actor.holds(Role::PoleManager) || actor.holds(Role::Admin)) => {
            return Err(Denied(
                "Lire les rappels d'un destinataire est réservé au pôle académique.".into(),
            )
            .into());
        }
        _ => {}
    }
    let limit = filter
        .limit
        .map_or(PAGE_DEFAULT, |l| (l as usize).clamp(1, PAGE_MAX));
    let offset = filter.offset.map_or(0, |o| o as usize);
    engine.catch_up().await?;
    let (total, rows) = engine.facts.read(|facts| {
        let mut rows: Vec<&Ledger> = facts
            .ledger
            .values()
            .filter(|l| match target {
                Some(t) => l.key.target == t,
                None => Some(l.key.recipient.0) == filter.recipient,
            })
            .filter(|l| covers(&actor, facts, &l.key.target))
            .collect();
        rows.sort_by(|a, b| {
            (b.due_at, &b.key.rule, b.key.recipient.0).cmp(&(
                a.due_at,
                &a.key.rule,
                a.key.recipient.0,
            ))
        });
        let total = rows.len();
        let labels: std::collections::HashMap<String, String> = rules_in_force(facts)
            .into_iter()
            .map(|(k, r)| (k, r.label))
            .collect();
        let page: Vec<(ReminderView, Option<Sealed>)> = rows
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|l| {
                let (code, attempts, retry_at) = status(&l.status);
                let view = ReminderView {
                    id: l.key.id(),
                    rule: l.key.rule.clone(),
                    rule_label: labels.get(&l.key.rule).cloned().unwrap_or_default(),
                    recipient: l.key.recipient.0,
                    recipient_name: String::new(),
                    target: l.key.target.clone(),
                    occurrence: l.key.occurrence,
                    due_at: l.due_at,
                    status: code,
                    status_label: l.status.label(),
                    reason: l.reason.clone(),
                    attempts,
                    retry_at,
                    scheduled_at: l.scheduled_at,
                    updated_at: l.updated_at,
                };
                (view, facts.name_of(l.key.recipient.0, &l.key.target))
            })
            .collect();
        (total, page)
    });
    let sealed: Vec<&Sealed> = rows.iter().filter_map(|(_, s)| s.as_ref()).collect();
    let mut names = state
        .vault
        .unseal_all(&sealed)
        .await
        .map_err(Problem::from)?
        .into_iter();
    let metadata = actor.metadata(crate::NAME);
    let mut items = Vec::with_capacity(rows.len());
    for (mut view, name) in rows {
        view.recipient_name = match name {
            Some(sealed) => {
                if sealed.person.0 != actor.user_id {
                    state
                        .vault
                        .log_read(&metadata, sealed.person, ROUTE, "reminder recipient")
                        .await
                        .map_err(Problem::from)?;
                }
                names.next().unwrap_or(Personal::Erased).to_string()
            }
            None => Personal::<String>::Erased.to_string(),
        };
        items.push(view);
    }
    Ok(axum::Json(ReminderPage {
        items,
        total,
        limit,
        offset,
    }))
}

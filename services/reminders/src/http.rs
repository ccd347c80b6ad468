//! The rules' routes: list them, change one or add one (the pole).

use axum::Extension;
use axum::extract::State;
use axum::response::IntoResponse;
use pharos_access::{Actor, Denied, IfMatch, TargetState};
use pharos_decider::{Rejection, execute};
use pharos_events::Role;
use pharos_events::reminder::{
    Audience, CATEGORY, Condition, RuleDefinition, Templates, Trigger, rule_stream_id,
};
use pharos_eventstore::StreamId;
use pharos_web::{Json, Path, Problem, Versioned};
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, rules_in_force};
use crate::rules::{self, PutRule, RuleDecider};

/// The pole configures the reminders.
fn pole_only(actor: &Actor) -> Result<(), Problem> {
    if actor.holds(Role::PoleManager) {
        Ok(())
    } else {
        Err(Denied(format!(
            "Votre rôle ({}) ne permet pas de configurer les rappels : réservé au pôle académique.",
            actor.role.label()
        ))
        .into())
    }
}

/// Une règle de rappel.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    /// Clé de la règle (ex. session_convocation_j2).
    pub key: String,
    pub label: String,
    pub enabled: bool,
    pub trigger: Trigger,
    /// Jours après la date de déclenchement (négatif : avant).
    pub offset_days: i32,
    pub audience: Audience,
    pub condition: Condition,
    /// Expression cron (secondes d'abord), à l'heure de Paris : le premier instant où
    /// elle correspond, le jour dû ou après, est celui de l'envoi.
    pub schedule: String,
    /// Un rappel dû depuis plus longtemps n'est jamais envoyé.
    pub catch_up_days: u32,
    /// Modèles minijinja de l'objet, du texte et du HTML.
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Règle livrée avec Pharos (modifiable), sinon ajoutée par le pôle.
    pub shipped: bool,
}

impl RuleView {
    fn of(key: &str, rule: RuleDefinition) -> Self {
        Self {
            key: key.to_owned(),
            shipped: rules::default_of(key).is_some(),
            label: rule.label,
            enabled: rule.enabled,
            trigger: rule.trigger,
            offset_days: rule.offset_days,
            audience: rule.audience,
            condition: rule.condition,
            schedule: rule.schedule,
            catch_up_days: rule.catch_up_days,
            subject: rule.templates.subject,
            text: rule.templates.text,
            html: rule.templates.html,
        }
    }
}

/// `GET /api/v1/reminder-rules`
#[utoipa::path(get, path = "/api/v1/reminder-rules", tag = "reminders",
    operation_id = "reminders_rules_list",
    summary = "Lister les règles de rappel",
    description = "Les règles livrées (Journée nationale, concours, formations, pHARe), avec ce \
                   que le pôle a modifié, puis celles qu'il a ajoutées.",
    responses(
        (status = 200, description = "Les règles", body = [RuleView]),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    Extension(engine): Extension<Engine>,
    actor: Actor,
) -> Result<impl IntoResponse, Problem> {
    pole_only(&actor)?;
    engine.catch_up().await?;
    let rules = engine.facts.read(rules_in_force);
    Ok(axum::Json(
        rules
            .into_iter()
            .map(|(k, r)| RuleView::of(&k, r))
            .collect::<Vec<_>>(),
    ))
}

/// Ce que le pôle change d'une règle (chaque valeur absente reste telle quelle) ; pour
/// une nouvelle clé : trigger, offset_days, audience, label, subject, text et html sont
/// obligatoires.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub label: Option<String>,
    pub enabled: Option<bool>,
    pub trigger: Option<Trigger>,
    #[schema(minimum = -366, maximum = 366, example = -2)]
    pub offset_days: Option<i32>,
    pub audience: Option<Audience>,
    pub condition: Option<Condition>,
    /// Expression cron, secondes d'abord (ex. « 0 0 8 * * * », « 0 30 7 * * Mon-Fri »).
    #[schema(example = "0 0 8 * * *")]
    pub schedule: Option<String>,
    #[schema(minimum = 1, maximum = 60, example = 1)]
    pub catch_up_days: Option<u32>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
}

fn missing(field: &'static str) -> Problem {
    Rejection::invalid(
        "missing-field",
        field,
        format!("Le champ {field} est obligatoire pour une nouvelle règle."),
    )
    .into()
}

/// `PUT /api/v1/reminder-rules/{key}`
#[utoipa::path(put, path = "/api/v1/reminder-rules/{key}", tag = "reminders",
    operation_id = "reminders_rules_put",
    summary = "Modifier ou ajouter une règle de rappel",
    description = "Change les valeurs données d'une règle (les autres restent), ou ajoute une \
                   règle sous une nouvelle clé. L'expression cron et les trois modèles sont \
                   vérifiés avant l'enregistrement : un modèle qui ne se compile pas, ou qui \
                   utilise une valeur que le déclencheur n'offre pas, est refusé en nommant \
                   son champ. Une règle adressée aux référents départementaux au sujet \
                   d'établissements envoie un récapitulatif : ses modèles reçoivent la liste \
                   `schools` (uai, name, missing, link) au lieu de `school`.",
    request_body = RuleInput,
    params(("key" = String, Path, description = "Clé de la règle (ex. session_convocation_j2)")),
    responses(
        (status = 200, description = "Règle enregistrée (ou inchangée)", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (clé, expression cron, décalage, rattrapage, destinataires ou condition inadaptés au déclencheur, modèle invalide, champ manquant)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put(
    State(state): State<TargetState>,
    Extension(engine): Extension<Engine>,
    actor: Actor,
    Path(key): Path<String>,
    if_match: IfMatch,
    Json(input): Json<RuleInput>,
) -> Result<impl IntoResponse, Problem> {
    pole_only(&actor)?;
    rules::check_key(&key)?;
    engine.catch_up().await?;
    let default = rules::default_of(&key);
    let current = engine
        .facts
        .read(|f| f.rules.get(&key).cloned())
        .or_else(|| default.clone());
    let rule = match current {
        Some(current) => RuleDefinition {
            label: input.label.unwrap_or(current.label),
            enabled: input.enabled.unwrap_or(current.enabled),
            trigger: input.trigger.unwrap_or(current.trigger),
            offset_days: input.offset_days.unwrap_or(current.offset_days),
            audience: input.audience.unwrap_or(current.audience),
            condition: input.condition.unwrap_or(current.condition),
            schedule: input.schedule.unwrap_or(current.schedule),
            catch_up_days: input.catch_up_days.unwrap_or(current.catch_up_days),
            templates: Templates {
                subject: input.subject.unwrap_or(current.templates.subject),
                text: input.text.unwrap_or(current.templates.text),
                html: input.html.unwrap_or(current.templates.html),
            },
        },
        None => RuleDefinition {
            label: input.label.ok_or_else(|| missing("label"))?,
            enabled: input.enabled.unwrap_or(true),
            trigger: input.trigger.ok_or_else(|| missing("trigger"))?,
            offset_days: input.offset_days.ok_or_else(|| missing("offset_days"))?,
            audience: input.audience.ok_or_else(|| missing("audience"))?,
            condition: input.condition.unwrap_or_default(),
            schedule: input
                .schedule
                .unwrap_or_else(|| rules::DEFAULT_SCHEDULE.into()),
            catch_up_days: input.catch_up_days.unwrap_or(1),
            templates: Templates {
                subject: input.subject.ok_or_else(|| missing("subject"))?,
                text: input.text.ok_or_else(|| missing("text"))?,
                html: input.html.ok_or_else(|| missing("html"))?,
            },
        },
    };
    let stream = StreamId::new(CATEGORY, rule_stream_id(&key))?;
    let done = execute::<RuleDecider, Problem>(
        &state.app.store,
        &stream,
        &PutRule {
            key: key.clone(),
            rule,
            default,
        },
        state.clock.now(),
        if_match.0,
        &actor.metadata(crate::NAME),
    )
    .await?;
    if let Some(appended) = done.appended {
        engine
            .facts
            .wait_for(appended.position, std::time::Duration::from_secs(5))
            .await;
    }
    Ok(Versioned {
        version: done.version,
    })
}

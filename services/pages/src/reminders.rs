//! `GET /rappels`: the reminder ledger, for the pole (every reminder) and the department
//! referents (those of their department's schools and sessions): each reminder's rule,
//! target and recipient, where it stands and why (why it was due, the mail server's
//! answer, why it was set aside or cancelled), with filters, pages and the exports.
//!
//! The ledger is the read model's `reminders` query; the rules' names are the API's
//! `GET /api/v1/reminder-rules`, which only the pole reads (a referent filters by key).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum_extra::extract::CookieJar;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Pages;
use crate::common::{
    MANAGERS, department_label, departments, is_pole, join, next_page, nodes, paris_time, query,
    signed_in_as, with_query,
};
use crate::home::Me;

pub fn routes() -> Router<Pages> {
    Router::new().route("/rappels", get(list))
}

/// Reminders per page.
const PAGE_SIZE: i64 = 25;

/// The states of a reminder: the API's code, the filter's label, the DSFR badge variant.
const STATUSES: [(&str, &str, &str); 6] = [
    ("sending", "À envoyer", "new"),
    ("sent", "Envoyé", "success"),
    ("failing", "En échec, nouvelle tentative prévue", "warning"),
    ("failed", "En échec définitif", "error"),
    ("suppressed", "Écarté", "info"),
    ("cancelled", "Annulé", ""),
];

const QUERY: &str = r"
query Reminders($first: Int, $after: String, $rule: String, $status: String,
                $department: String) {
  me { id role roleLabel scope }
  reminders(first: $first, after: $after, rule: $rule, status: $status,
            department: $department) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id rule target schoolUai sessionId department occurrence dueAt status statusLabel
      reason attempts retryAt updatedAt
      recipient { displayName email erased }
    }
  }
}";

/// The URL's parameters, in French.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default)]
    etat: String,
    #[serde(default)]
    regle: String,
    #[serde(default)]
    departement: String,
    /// The cursor of the page to start after.
    #[serde(default)]
    apres: String,
}

#[derive(Debug, Default, Serialize)]
struct FieldErrors {
    etat: Option<String>,
    regle: Option<String>,
    departement: Option<String>,
}

impl FieldErrors {
    fn any(&self) -> bool {
        self.etat.is_some() || self.regle.is_some() || self.departement.is_some()
    }
}

#[derive(Debug, Deserialize)]
struct Rule {
    key: String,
    label: String,
}

#[derive(Debug, Serialize)]
struct Row {
    id: String,
    rule: String,
    rule_label: Option<String>,
    target: String,
    school_uai: Option<String>,
    department: Option<String>,
    occurrence: String,
    due: String,
    status_label: String,
    badge: &'static str,
    reason: String,
    attempts: i64,
    retry: Option<String>,
    updated: String,
    recipient: String,
    recipient_email: Option<String>,
}

fn row(node: &Value, rules: &[Rule]) -> Row {
    let text = |key: &str| node[key].as_str().unwrap_or_default().to_owned();
    let optional = |key: &str| node[key].as_str().map(str::to_owned);
    let rule = text("rule");
    let status = text("status");
    let recipient = &node["recipient"];
    let erased = recipient["erased"].as_bool().unwrap_or(false);
    Row {
        id: text("id"),
        rule_label: rules
            .iter()
            .find(|r| r.key == rule)
            .map(|r| r.label.clone()),
        rule,
        target: text("target"),
        school_uai: optional("schoolUai"),
        department: optional("department"),
        occurrence: chrono::NaiveDate::parse_from_str(&text("occurrence"), "%Y-%m-%d")
            .map_or_else(|_| text("occurrence"), |d| d.format("%d/%m/%Y").to_string()),
        due: paris_time(&text("dueAt")),
        status_label: text("statusLabel"),
        badge: STATUSES
            .iter()
            .find(|(code, _, _)| *code == status)
            .map_or("", |(_, _, badge)| badge),
        reason: text("reason"),
        attempts: node["attempts"].as_i64().unwrap_or(0),
        retry: optional("retryAt").map(|t| paris_time(&t)),
        updated: paris_time(&text("updatedAt")),
        recipient: recipient["displayName"]
            .as_str()
            .unwrap_or("donnée effacée")
            .to_owned(),
        recipient_email: recipient["email"]
            .as_str()
            .filter(|_| !erased)
            .map(str::to_owned),
    }
}

/// A rule key as the API spells them: lower case letters, digits and underscores.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 100
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `GET /rappels`.
async fn list(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(filters): Query<Filters>,
) -> Response {
    let filter_query = query(&[
        ("etat", &filters.etat),
        ("regle", &filters.regle),
        ("departement", &filters.departement),
    ]);
    let here = with_query(
        "/rappels",
        &join(&filter_query, &query(&[("apres", &filters.apres)])),
    );
    let refusal = (
        "Rappels réservés",
        "Le registre des rappels est celui du pôle académique et des référents \
         départementaux. Revenez à l'accueil pour les pages de votre espace.",
    );
    let (session, me) = match signed_in_as(&pages, &jar, &here, MANAGERS, refusal).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let pole = is_pole(&me);
    // The rules' names: the pole's to read; a referent filters by the key she sees.
    let rules: Vec<Rule> = if pole {
        match pages
            .api
            .get(&session.token, "/api/v1/reminder-rules")
            .await
        {
            Ok(value) => serde_json::from_value(value).unwrap_or_default(),
            Err(error) => {
                tracing::warn!(?error, "reminder rules unavailable to the ledger page");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let departments = departments(&pages);
    let mut errors = FieldErrors::default();
    let status = match filters.etat.trim() {
        "" => None,
        s if STATUSES.iter().any(|(code, _, _)| *code == s) => Some(s.to_owned()),
        s => {
            errors.etat = Some(format!(
                "« {s} » n'est pas un état de rappel : choisissez-en un dans la liste."
            ));
            None
        }
    };
    let rule = match filters.regle.trim() {
        "" => None,
        r if valid_key(r) && (rules.is_empty() || rules.iter().any(|x| x.key == r)) => {
            Some(r.to_owned())
        }
        r => {
            errors.regle = Some(format!(
                "« {r} » n'est pas une règle de rappel : sa clé s'écrit en minuscules, \
                 par exemple national_day_report_j7."
            ));
            None
        }
    };
    let department = match filters.departement.trim() {
        "" => None,
        d if pole && departments.iter().any(|(code, _)| code == d) => Some(d.to_owned()),
        d => {
            errors.departement = Some(format!(
                "« {d} » n'est pas un département de l'académie que vous suivez."
            ));
            None
        }
    };
    #[derive(Deserialize)]
    struct Data {
        me: Me,
        reminders: Value,
    }
    let (me, ledger) = if errors.any() {
        (me, None)
    } else {
        let variables = json!({
            "first": PAGE_SIZE,
            "after": Some(filters.apres.trim()).filter(|a| !a.is_empty()),
            "rule": rule,
            "status": status,
            "department": department,
        });
        match pages
            .api
            .graphql::<Data>(&session.token, QUERY, variables)
            .await
        {
            Ok(data) => (data.me, Some(data.reminders)),
            Err(error) => return pages.templates.api_error(error, &here),
        }
    };
    let rows: Vec<Row> = nodes(ledger.as_ref()).map(|n| row(n, &rules)).collect();
    let next = next_page(ledger.as_ref(), "/rappels", &filter_query);
    // The exports take the read model's filters, in snake case.
    let export = query(&[
        ("rule", rule.as_deref().unwrap_or_default()),
        ("status", status.as_deref().unwrap_or_default()),
        ("department", department.as_deref().unwrap_or_default()),
    ]);
    let status_code = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    pages.templates.render(
        status_code,
        "reminders.html",
        minijinja::context! {
            title => "Rappels",
            active => "reminders",
            me => Serde(&me),
            csrf => session.csrf(),
            pole,
            scope_label => if pole {
                department.as_deref().map_or_else(
                    || format!("Académie de {}", pages.academy.name),
                    department_label,
                )
            } else {
                me.scope.as_deref().map_or_else(String::new, department_label)
            },
            filters => Serde(&filters),
            errors => Serde(&errors),
            statuses => STATUSES.iter().map(|(code, label, _)| (*code, *label)).collect::<Vec<_>>(),
            rules => rules.iter().map(|r| (r.key.clone(), r.label.clone())).collect::<Vec<_>>(),
            departments,
            shown => ledger.is_some(),
            total => ledger.as_ref().and_then(|l| l["totalCount"].as_i64()).unwrap_or(0),
            rows => Serde(&rows),
            filtered => !filter_query.is_empty(),
            first_page => (!filters.apres.trim().is_empty()).then(|| with_query("/rappels", &filter_query)),
            next,
            export => if export.is_empty() { String::new() } else { format!("?{export}") },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_keys_are_lower_case_words() {
        assert!(valid_key("national_day_report_j7"));
        assert!(!valid_key("Journée"));
        assert!(!valid_key(""));
    }

    #[test]
    fn a_ledger_row_says_what_happened_in_french_time() {
        let node = json!({
            "id": "r1", "rule": "national_day_report_j7", "target": "school-0310001H:2025-2026",
            "schoolUai": "0310001H", "department": "31", "occurrence": "2025-11-13",
            "dueAt": "2025-11-13T07:00:00Z", "status": "sent", "statusLabel": "envoyé",
            "reason": "J+7 — 250 Ok", "attempts": 1, "retryAt": null,
            "updatedAt": "2025-11-13T07:00:01Z",
            "recipient": { "displayName": "Collège", "email": "ce@ac-toulouse.fr", "erased": false }
        });
        let rules = vec![Rule {
            key: "national_day_report_j7".into(),
            label: "Journée nationale J+7".into(),
        }];
        let row = row(&node, &rules);
        assert_eq!(row.rule_label.as_deref(), Some("Journée nationale J+7"));
        assert_eq!(row.occurrence, "13/11/2025");
        assert_eq!(row.due, "13/11/2025 à 08 h 00");
        assert_eq!(row.badge, "success");
        assert_eq!(row.recipient_email.as_deref(), Some("ce@ac-toulouse.fr"));
    }
}

//! `GET /journal`: the audit log, for the pole and the administrators — every event
//! recorded, newest first, with its time in Paris, its category and stream, what happened
//! in French and who did it; filtered by category (and stream), one page after another.
//!
//! The log is the read model's `events` query (read from the event store itself): its
//! pages follow a cursor and have no total.

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
use crate::common::{POLE, join, next_page, nodes, paris_time, query, signed_in_as, with_query};

pub fn routes() -> Router<Pages> {
    Router::new().route("/journal", get(list))
}

/// Events per page.
const PAGE_SIZE: i64 = 50;

/// The categories of the log: the stream category, its French name.
const CATEGORIES: [(&str, &str); 15] = [
    ("user", "Comptes"),
    ("person", "Données personnelles"),
    ("school", "Établissements"),
    ("partner", "Annuaire d'orientation"),
    ("training", "Formations"),
    ("training_session", "Sessions de formation"),
    ("training_schedule", "Calendrier des formations"),
    ("phare_deployment", "Déploiements pHARe"),
    ("phare_label", "Labels pHARe"),
    ("ambassador_cohort", "Cohortes d'ambassadeurs"),
    ("national_day", "Journée nationale"),
    ("awareness_action", "Actions de sensibilisation"),
    ("contest", "Éditions du concours"),
    ("contest_entry", "Participations au concours"),
    ("reminder", "Rappels"),
];

/// Who acts, by role, in French.
const ROLES: [(&str, &str); 6] = [
    ("admin", "Administrateur"),
    ("pole_manager", "Pôle académique"),
    ("department_referent", "Référent départemental"),
    ("school", "Établissement"),
    ("juror", "Juré"),
    ("trainer", "Formateur"),
];

const QUERY: &str = r"
query Log($category: String, $stream: String, $first: Int, $after: String) {
  events(category: $category, stream: $stream, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { category stream version eventType label at actorRole actorId }
  }
}";

fn category_label(category: &str) -> String {
    CATEGORIES
        .iter()
        .find(|(c, _)| *c == category)
        .map_or_else(|| category.to_owned(), |(_, l)| (*l).to_owned())
}

/// The URL's parameters, in French.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default)]
    categorie: String,
    /// A stream (`school-0310001H`).
    #[serde(default)]
    flux: String,
    #[serde(default)]
    apres: String,
}

#[derive(Debug, Default, Serialize)]
struct FieldErrors {
    categorie: Option<String>,
    flux: Option<String>,
}

#[derive(Debug, Serialize)]
struct Row {
    at: String,
    category: String,
    stream: String,
    /// The stream, encoded for the URL that filters the log by it.
    stream_query: String,
    version: i64,
    event_type: String,
    label: String,
    actor: String,
    actor_id: Option<String>,
}

fn row(node: &Value) -> Row {
    let text = |key: &str| node[key].as_str().unwrap_or_default().to_owned();
    let actor = match node["actorRole"].as_str() {
        Some(role) => ROLES
            .iter()
            .find(|(r, _)| *r == role)
            .map_or_else(|| role.to_owned(), |(_, l)| (*l).to_owned()),
        None => "Traitement automatique".to_owned(),
    };
    Row {
        at: paris_time(&text("at")),
        category: category_label(&text("category")),
        stream: text("stream"),
        stream_query: crate::common::encode(&text("stream")),
        version: node["version"].as_i64().unwrap_or(0),
        event_type: text("eventType"),
        label: text("label"),
        actor,
        actor_id: node["actorId"].as_str().map(str::to_owned),
    }
}

/// `GET /journal`.
async fn list(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(filters): Query<Filters>,
) -> Response {
    let filter_query = query(&[("categorie", &filters.categorie), ("flux", &filters.flux)]);
    let here = with_query(
        "/journal",
        &join(&filter_query, &query(&[("apres", &filters.apres)])),
    );
    let refusal = (
        "Journal réservé",
        "Le journal des événements est réservé au pôle académique et aux administrateurs. \
         Revenez à l'accueil pour les pages de votre espace.",
    );
    let (session, me) = match signed_in_as(&pages, &jar, &here, POLE, refusal).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut errors = FieldErrors::default();
    let category = match filters.categorie.trim() {
        "" => None,
        c if CATEGORIES.iter().any(|(code, _)| *code == c) => Some(c.to_owned()),
        c => {
            errors.categorie = Some(format!(
                "« {c} » n'est pas une catégorie du journal : choisissez-en une dans la liste."
            ));
            None
        }
    };
    let stream = match filters.flux.trim() {
        "" => None,
        s if s.len() <= 200 && s.contains('-') && !s.contains(char::is_whitespace) => {
            Some(s.to_owned())
        }
        s => {
            errors.flux = Some(format!(
                "« {s} » n'est pas un flux : sa catégorie, un tiret et l'identifiant, par \
                 exemple school-0310001H."
            ));
            None
        }
    };
    let invalid = errors.categorie.is_some() || errors.flux.is_some();
    let log = if invalid {
        None
    } else {
        #[derive(Deserialize)]
        struct Data {
            events: Value,
        }
        let variables = json!({
            "category": category,
            "stream": stream,
            "first": PAGE_SIZE,
            "after": Some(filters.apres.trim()).filter(|a| !a.is_empty()),
        });
        match pages
            .api
            .graphql::<Data>(&session.token, QUERY, variables)
            .await
        {
            Ok(data) => Some(data.events),
            Err(error) => return pages.templates.api_error(error, &here),
        }
    };
    let rows: Vec<Row> = nodes(log.as_ref()).map(row).collect();
    let next = next_page(log.as_ref(), "/journal", &filter_query);
    pages.templates.render(
        if invalid {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        "audit.html",
        minijinja::context! {
            title => "Journal des événements",
            active => "audit",
            me => Serde(&me),
            csrf => session.csrf(),
            filters => Serde(&filters),
            errors => Serde(&errors),
            categories => CATEGORIES.to_vec(),
            shown => log.is_some(),
            rows => Serde(&rows),
            filtered => !filter_query.is_empty(),
            first_page => (!filters.apres.trim().is_empty()).then(|| with_query("/journal", &filter_query)),
            next,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_in_french_with_its_actor() {
        let r = row(&json!({
            "category": "user", "stream": "user-1", "version": 1, "eventType": "user_created",
            "label": "Compte créé", "at": "2026-12-02T09:00:00Z",
            "actorRole": "pole_manager", "actorId": "a1"
        }));
        assert_eq!(r.category, "Comptes");
        assert_eq!(r.label, "Compte créé");
        assert_eq!(r.actor, "Pôle académique");
        assert_eq!(r.at, "02/12/2026 à 10 h 00");
        let automatic = row(&json!({ "category": "reminder", "actorRole": null }));
        assert_eq!(automatic.actor, "Traitement automatique");
    }
}

//! What the pages share: who is signed in and whether the page is for her role, URL
//! queries, French dates and labels, and an entity's history.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Datelike, NaiveDate};
use chrono_tz::Europe::Paris;
use pharos_events::phare::SchoolYear;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Pages;
use crate::api::ApiError;
use crate::home::Me;
use crate::session::{Session, to_login};

// --- Who ------------------------------------------------------------------------------

/// The roles that manage the academy.
pub const POLE: &[&str] = &["admin", "pole_manager"];

/// The roles of the academy's and the departments' pages.
pub const MANAGERS: &[&str] = &["admin", "pole_manager", "department_referent"];

/// The signed-in user, as `me` gives it.
pub async fn me(pages: &Pages, session: &Session) -> Result<Me, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        me: Me,
    }
    pages
        .api
        .graphql::<Data>(&session.token, &format!("{{ {} }}", Me::FIELDS), json!({}))
        .await
        .map(|d| d.me)
}

/// The signed-in user and her session; else the page to show instead (sign-in, or the
/// API's refusal).
pub async fn signed_in(
    pages: &Pages,
    jar: &CookieJar,
    here: &str,
) -> Result<(Session, Me), Response> {
    let Some(session) = Session::of(jar) else {
        return Err(to_login(here));
    };
    match me(pages, &session).await {
        Ok(me) => Ok((session, me)),
        Err(error) => Err(pages.templates.api_error(error, here)),
    }
}

/// As [`signed_in`], for a user whose role is one of `allowed`; else the French 403 page
/// `refusal` (title, text).
pub async fn signed_in_as(
    pages: &Pages,
    jar: &CookieJar,
    here: &str,
    allowed: &[&str],
    refusal: (&str, &str),
) -> Result<(Session, Me), Response> {
    let (session, me) = signed_in(pages, jar, here).await?;
    if allowed.contains(&me.role.as_str()) {
        Ok((session, me))
    } else {
        Err(forbidden(pages, refusal))
    }
}

/// The French 403 page: (title, text).
pub fn forbidden(pages: &Pages, (title, text): (&str, &str)) -> Response {
    pages.templates.error(StatusCode::FORBIDDEN, title, text)
}

/// Whether `me` manages the academy (the pole, the administrators).
pub fn is_pole(me: &Me) -> bool {
    POLE.contains(&me.role.as_str())
}

// --- URLs -----------------------------------------------------------------------------

/// `value` with every byte but the unreserved ones percent-encoded, for a URL.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `k1=v1&k2=v2`, without the empty values.
pub fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
}

/// `path?query`, or `path` alone.
pub fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Two queries as one, without an empty one.
pub fn join(a: &str, b: &str) -> String {
    [a, b]
        .iter()
        .filter(|q| !q.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("&")
}

/// The nodes of a GraphQL connection, if any.
pub fn nodes(connection: Option<&Value>) -> impl Iterator<Item = &Value> {
    connection
        .and_then(|c| c["nodes"].as_array())
        .into_iter()
        .flatten()
}

/// The address of a connection's next page: `path?filter_query&apres=cursor`; none on
/// its last page.
pub fn next_page(connection: Option<&Value>, path: &str, filter_query: &str) -> Option<String> {
    let cursor = connection
        .filter(|c| c["pageInfo"]["hasNextPage"].as_bool() == Some(true))
        .and_then(|c| c["pageInfo"]["endCursor"].as_str())?;
    Some(with_query(
        path,
        &join(filter_query, &query(&[("apres", cursor)])),
    ))
}

// --- French ---------------------------------------------------------------------------

pub const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
pub const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// An RFC 3339 instant on Paris's clock.
pub fn paris(text: &str) -> Option<DateTime<chrono_tz::Tz>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Paris))
}

/// An RFC 3339 instant as Paris reads it (`02/12/2026 à 14 h 05`); the text itself if
/// it is not one.
pub fn paris_time(text: &str) -> String {
    paris(text).map_or_else(
        || text.to_owned(),
        |at| at.format("%d/%m/%Y à %H h %M").to_string(),
    )
}

/// `2026-09-20` → `20/09/2026`; anything else as it is.
pub fn french_date(day: &str) -> String {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_or_else(|_| day.to_owned(), |d| d.format("%d/%m/%Y").to_string())
}

/// `31` → `31 – Haute-Garonne`.
pub fn department_label(code: &str) -> String {
    match crate::departments::name(code) {
        Some(name) => format!("{code} – {name}"),
        None => code.to_owned(),
    }
}

/// The academy's departments, with their labels.
pub fn departments(pages: &Pages) -> Vec<(String, String)> {
    pages
        .academy
        .departments
        .iter()
        .map(|d| (d.as_str().to_owned(), department_label(d.as_str())))
        .collect()
}

/// The school years a filter offers, newest first: four, from `ahead` years after the
/// current one.
pub fn recent_years(today: NaiveDate, ahead: i32) -> Vec<String> {
    let current = SchoolYear::containing(today).to_string();
    let start: i32 = current
        .split('-')
        .next()
        .and_then(|y| y.parse().ok())
        .unwrap_or(2026)
        + ahead;
    (0..4)
        .map(|back| format!("{}-{}", start - back, start - back + 1))
        .collect()
}

/// The school year a filter asks (`annee`): the current one when none is asked; else
/// also the French message that the one asked is not a school year.
pub fn asked_year(asked: &str, today: NaiveDate) -> (String, Option<String>) {
    let current = SchoolYear::containing(today).to_string();
    match asked.trim() {
        "" => (current, None),
        year if valid_year(year) => (year.to_owned(), None),
        year => {
            let message = format!(
                "« {year} » n'est pas une année scolaire : deux années qui se suivent, par \
                 exemple {current}."
            );
            (current, Some(message))
        }
    }
}

/// `2026-2027`: two following years.
fn valid_year(year: &str) -> bool {
    match year.split_once('-') {
        Some((a, b)) => match (a.parse::<i32>(), b.parse::<i32>()) {
            (Ok(a), Ok(b)) => (2000..2100).contains(&a) && b == a + 1,
            _ => false,
        },
        None => false,
    }
}

/// The day's number in French: `1er`, `2`…
pub fn day_number(day: &impl Datelike) -> String {
    if day.day() == 1 {
        "1er".to_owned()
    } else {
        day.day().to_string()
    }
}

/// The names of `uais`' schools, in one query (an alias per school). A name is a help to
/// the reader, not the page's subject: without it (a trainer reads no school), the UAI is
/// shown alone.
pub async fn school_names<'a>(
    pages: &Pages,
    token: &str,
    uais: impl IntoIterator<Item = &'a String>,
) -> HashMap<String, String> {
    let mut distinct: Vec<&String> = uais.into_iter().collect();
    distinct.sort();
    distinct.dedup();
    if distinct.is_empty() {
        return HashMap::new();
    }
    let params: Vec<String> = (0..distinct.len())
        .map(|i| format!("$u{i}: String!"))
        .collect();
    let fields: Vec<String> = (0..distinct.len())
        .map(|i| format!("s{i}: school(uai: $u{i}) {{ uai name }}"))
        .collect();
    let query = format!(
        "query Names({}) {{ {} }}",
        params.join(", "),
        fields.join(" ")
    );
    let variables: serde_json::Map<String, Value> = distinct
        .iter()
        .enumerate()
        .map(|(i, uai)| (format!("u{i}"), json!(uai)))
        .collect();
    match pages
        .api
        .graphql::<HashMap<String, Option<Value>>>(token, &query, Value::Object(variables))
        .await
    {
        Ok(found) => found
            .into_values()
            .flatten()
            .filter_map(|s| {
                Some((
                    s["uai"].as_str()?.to_owned(),
                    s["name"].as_str()?.to_owned(),
                ))
            })
            .collect(),
        Err(error) => {
            tracing::debug!(?error, "school names unavailable to the pages");
            HashMap::new()
        }
    }
}

// --- History --------------------------------------------------------------------------

/// An entry of an entity's history, as the templates read it.
#[derive(Debug, Serialize)]
pub struct Event {
    pub at: String,
    pub label: String,
    pub who: String,
}

/// The history of the read model's `entity(id)` (`action`, `session`…), newest first,
/// with who did it by `role_label`; none while the read model does not show it to this
/// user (not projected yet, or not hers).
pub async fn history(
    pages: &Pages,
    token: &str,
    entity: &str,
    id: &str,
    role_label: fn(&str) -> String,
) -> Option<Vec<Event>> {
    #[derive(Deserialize)]
    struct Entries {
        history: Vec<Entry>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Entry {
        at: String,
        label: String,
        actor_role: Option<String>,
    }
    let query = format!(
        "query History($id: String!) {{ {entity}(id: $id) {{ history {{ at label actorRole }} }} }}"
    );
    let mut data = pages
        .api
        .graphql::<serde_json::Map<String, serde_json::Value>>(token, &query, json!({ "id": id }))
        .await
        .inspect_err(|error| tracing::debug!(?error, entity, "no history from the read model"))
        .ok()?;
    let entries: Entries = serde_json::from_value(data.remove(entity)?).ok()?;
    let mut events: Vec<Event> = entries
        .history
        .into_iter()
        .map(|e| Event {
            at: paris(&e.at).map_or_else(
                || e.at.clone(),
                |t| t.format("%d/%m/%Y à %H:%M").to_string(),
            ),
            label: e.label,
            who: e
                .actor_role
                .as_deref()
                .map_or_else(|| "Traitement automatique".to_owned(), role_label),
        })
        .collect();
    events.reverse();
    Some(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_leave_out_empty_values_and_encode_the_rest() {
        assert_eq!(
            query(&[
                ("q", "planning familial"),
                ("kind", ""),
                ("commune", "Mouscron")
            ]),
            "q=planning%20familial&commune=Mouscron"
        );
        assert_eq!(with_query("/annuaire", ""), "/annuaire");
    }

    #[test]
    fn instants_read_in_paris_time() {
        assert_eq!(paris_time("2026-12-02T13:05:00Z"), "02/12/2026 à 14 h 05");
        assert_eq!(paris_time("2026-07-02T13:05:00Z"), "02/07/2026 à 15 h 05");
        assert_eq!(paris_time("hier"), "hier");
    }
}

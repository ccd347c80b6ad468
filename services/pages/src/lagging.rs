//! `GET /retards`: the schools of a department lagging behind in a school year, with whom
//! to contact — the list behind the dashboard's « Retards » group. For a department
//! referent, her department; for the pole, the department it chooses.
//!
//! Three lists, read from the read model's GraphQL (what the same user would read):
//! collèges and lycées without a resource team of 5 members (`deployments`), open schools
//! without a national-day action sent to the referent (`actions`), and the year's contest
//! entries still in draft (`entries`). The contacts are the schools' accounts (`users`,
//! role `school`): the school register holds no address of its own.

use std::collections::{BTreeMap, HashMap};

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
use crate::api::ApiError;
use crate::common::{
    MANAGERS, asked_year, department_label, departments, french_date, is_pole, query, recent_years,
    signed_in_as, with_query,
};

pub fn routes() -> Router<Pages> {
    Router::new().route("/retards", get(page))
}

const REFUSAL: (&str, &str) = (
    "Page réservée au pôle et aux référents",
    "La liste des établissements en retard sert au pôle académique et aux référents \
     départementaux. Revenez à l'accueil pour les pages de votre espace.",
);

/// Members a resource team needs (the dashboard's « équipes ressources non déclarées »).
const TEAM_REQUIRED: i64 = 5;

/// The kinds of school that declare a resource team of their own.
const SECONDARY: [&str; 4] = ["college", "lycee_gt", "lycee_pro", "lycee_poly"];

/// The states of an action that count as sent to the referent.
const SENT: [&str; 3] = ["submitted", "validated", "published"];

/// The most pages of a list read for one page (100 items each).
const MAX_PAGES: usize = 50;

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default)]
    annee: String,
    #[serde(default)]
    departement: String,
}

#[derive(Debug, Default, Serialize)]
struct FieldErrors {
    annee: Option<String>,
    departement: Option<String>,
}

/// A school to call, and why.
#[derive(Debug, Serialize)]
struct Row {
    uai: String,
    name: String,
    commune: String,
    detail: String,
    contacts: Vec<Contact>,
}

#[derive(Debug, Clone, Serialize)]
struct Contact {
    name: String,
    email: String,
}

#[derive(Debug, Clone)]
struct SchoolInfo {
    name: String,
    kind: String,
    commune: String,
}

/// Every node of a connection `field` of `query` (which takes `$first` and `$after`),
/// page after page.
async fn all_nodes(
    pages: &Pages,
    token: &str,
    field: &str,
    query: &str,
    mut variables: Value,
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        variables["first"] = json!(100);
        variables["after"] = json!(after);
        let data: Value = pages.api.graphql(token, query, variables.clone()).await?;
        let connection = &data[field];
        out.extend(
            connection["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .cloned(),
        );
        match connection["pageInfo"]["endCursor"].as_str() {
            Some(cursor) if connection["pageInfo"]["hasNextPage"].as_bool() == Some(true) => {
                after = Some(cursor.to_owned());
            }
            _ => return Ok(out),
        }
    }
    tracing::warn!(
        field,
        "list cut at {MAX_PAGES} pages on the lagging schools' page"
    );
    Ok(out)
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

pub async fn page(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(filters): Query<Filters>,
) -> Response {
    let here = with_query(
        "/retards",
        &query(&[
            ("annee", &filters.annee),
            ("departement", &filters.departement),
        ]),
    );
    let (session, me) = match signed_in_as(&pages, &jar, &here, MANAGERS, REFUSAL).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let today = pharos_domain::today_in_france(pages.clock.now());
    let mut errors = FieldErrors::default();
    let (school_year, year_error) = asked_year(&filters.annee, today);
    errors.annee = year_error;
    let academy: Vec<String> = pages
        .academy
        .departments
        .iter()
        .map(|d| d.as_str().to_owned())
        .collect();
    // A referent reads her department; the pole the one it asks (the first by default).
    let department = if is_pole(&me) {
        match filters.departement.trim() {
            "" => academy.first().cloned().unwrap_or_default(),
            code if academy.iter().any(|d| d == code) => code.to_owned(),
            code => {
                errors.departement = Some(format!(
                    "« {code} » n'est pas un département de l'académie ({}).",
                    academy.join(", ")
                ));
                academy.first().cloned().unwrap_or_default()
            }
        }
    } else {
        me.scope.clone().unwrap_or_default()
    };
    let status = if errors.annee.is_some() || errors.departement.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let token = &session.token;
    let scope = json!({ "department": department, "schoolYear": school_year });

    // Four independent lists: asked at once, so the page waits for the longest only.
    let lists = futures::future::try_join4(
        all_nodes(
            &pages,
            token,
            "schools",
            "query S($first: Int, $after: String, $department: String) { schools(first: $first, \
             after: $after, department: $department) { pageInfo { hasNextPage endCursor } \
             nodes { uai name kind commune } } }",
            json!({ "department": department }),
        ),
        all_nodes(
            &pages,
            token,
            "deployments",
            "query D($first: Int, $after: String, $department: String, $schoolYear: String) { \
             deployments(first: $first, after: $after, department: $department, schoolYear: \
             $schoolYear) { pageInfo { hasNextPage endCursor } nodes { schoolUai teamMembers } } }",
            scope.clone(),
        ),
        all_nodes(
            &pages,
            token,
            "actions",
            "query A($first: Int, $after: String, $department: String, $schoolYear: String) { \
             actions(first: $first, after: $after, department: $department, schoolYear: \
             $schoolYear, campaign: \"national_day\") { pageInfo { hasNextPage endCursor } \
             nodes { schoolUai status } } }",
            scope.clone(),
        ),
        all_nodes(
            &pages,
            token,
            "users",
            "query U($first: Int, $after: String, $department: String) { users(first: $first, \
             after: $after, role: \"school\", department: $department) { pageInfo { hasNextPage \
             endCursor } nodes { scope person { displayName email erased } } } }",
            json!({ "department": department }),
        ),
    )
    .await;
    let (schools, deployments, actions, contacts) = match lists {
        Ok(lists) => lists,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let schools: BTreeMap<String, SchoolInfo> = schools
        .iter()
        .map(|s| {
            (
                text(s, "uai"),
                SchoolInfo {
                    name: text(s, "name"),
                    kind: text(s, "kind"),
                    commune: text(s, "commune"),
                },
            )
        })
        .collect();
    let mut contacts_of: HashMap<String, Vec<Contact>> = HashMap::new();
    for account in &contacts {
        let person = &account["person"];
        if person["erased"].as_bool() == Some(true) || person.is_null() {
            continue;
        }
        contacts_of
            .entry(text(account, "scope"))
            .or_default()
            .push(Contact {
                name: text(person, "displayName"),
                email: text(person, "email"),
            });
    }
    // The year's edition of the contest, if there is one: its drafts.
    let contest = pages
        .api
        .get(
            token,
            &format!(
                "/api/v1/contests?school_year={}",
                crate::common::encode(&school_year)
            ),
        )
        .await
        .ok()
        .and_then(|list| list["items"].as_array()?.first().cloned());
    let drafts = match &contest {
        Some(edition) => match all_nodes(
            &pages,
            token,
            "entries",
            "query E($first: Int, $after: String, $department: String, $contestId: String) { \
             entries(first: $first, after: $after, department: $department, contestId: \
             $contestId, status: \"draft\") { pageInfo { hasNextPage endCursor } \
             nodes { schoolUai title } } }",
            json!({ "department": department, "contestId": text(edition, "id") }),
        )
        .await
        {
            Ok(nodes) => nodes,
            Err(error) => return pages.templates.api_error(error, &here),
        },
        None => Vec::new(),
    };
    let report_deadline: Option<String> = pages
        .api
        .graphql::<Value>(
            token,
            "query N($y: String!) { nationalDay(schoolYear: $y) { reportDeadline } }",
            json!({ "y": school_year }),
        )
        .await
        .ok()
        .and_then(|d| {
            d["nationalDay"]["reportDeadline"]
                .as_str()
                .map(str::to_owned)
        });

    let row = |uai: &str, detail: String| {
        let info = schools.get(uai);
        Row {
            uai: uai.to_owned(),
            name: info.map_or_else(|| uai.to_owned(), |s| s.name.clone()),
            commune: info.map(|s| s.commune.clone()).unwrap_or_default(),
            detail,
            contacts: contacts_of.get(uai).cloned().unwrap_or_default(),
        }
    };
    let team_of: HashMap<String, i64> = deployments
        .iter()
        .map(|d| (text(d, "schoolUai"), d["teamMembers"].as_i64().unwrap_or(0)))
        .collect();
    let teams: Vec<Row> = schools
        .iter()
        .filter(|(_, s)| SECONDARY.contains(&s.kind.as_str()))
        .filter_map(|(uai, _)| match team_of.get(uai) {
            None => Some(row(uai, "Aucun déploiement pHARe cette année".to_owned())),
            Some(n) if *n < TEAM_REQUIRED => Some(row(
                uai,
                format!(
                    "Équipe ressource de {n} membre{} sur {TEAM_REQUIRED}",
                    plural(*n)
                ),
            )),
            Some(_) => None,
        })
        .collect();
    let mut reported: HashMap<String, bool> = HashMap::new();
    for action in &actions {
        let sent = SENT.contains(&action["status"].as_str().unwrap_or_default());
        *reported.entry(text(action, "schoolUai")).or_default() |= sent;
    }
    let national_day: Vec<Row> = schools
        .keys()
        .filter_map(|uai| match reported.get(uai) {
            Some(true) => None,
            Some(false) => Some(row(
                uai,
                "Action déclarée, pas encore transmise au référent".to_owned(),
            )),
            None => Some(row(uai, "Aucune action déclarée".to_owned())),
        })
        .collect();
    let entries: Vec<Row> = drafts
        .iter()
        .map(|d| {
            row(
                &text(d, "schoolUai"),
                format!("« {} » encore en brouillon", text(d, "title")),
            )
        })
        .collect();
    let deadline = contest.as_ref().and_then(|c| {
        c["submission_deadline"]
            .as_str()
            .map(crate::common::paris_time)
    });
    let department_options = if is_pole(&me) {
        departments(&pages)
    } else {
        Vec::new()
    };
    pages.templates.render(
        status,
        "lagging.html",
        minijinja::context! {
            title => format!("Établissements en retard : {} ({school_year})", department_label(&department)),
            active => "lagging",
            me => Serde(&me),
            csrf => session.csrf(),
            school_year,
            department => department_label(&department),
            filters => Serde(&filters),
            errors => Serde(&errors),
            years => recent_years(today, 0),
            department_options => Serde(&department_options),
            pole => is_pole(&me),
            schools => schools.len(),
            teams => Serde(&teams),
            national_day => Serde(&national_day),
            entries => Serde(&entries),
            report_deadline => report_deadline.as_deref().map(french_date),
            contest => contest.is_some(),
            deadline,
        },
    )
}

fn plural(n: i64) -> &'static str {
    if n > 1 { "s" } else { "" }
}

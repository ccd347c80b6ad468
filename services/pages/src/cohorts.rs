//! `GET /cohortes`: a school's ambassador cohorts of the current school year — their kind,
//! counts by class level, state and the « moins de 10 ambassadeurs » warning — with the
//! forms the API offers: create a cohort (the kinds the school's kind allows), record its
//! counts, declare, activate, close. The department referents and the pole open a
//! school's with `?uai=`; the API decides whether they may.
//!
//! No pupil's name is asked nor shown: the optional nominal list stays out of these pages
//! (privacy by design). The counts by class level are read from `GET
//! /api/v1/cohorts/{id}`, the only answer that has them (the list and the read model give
//! totals only).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use minijinja::value::Serde;
use pharos_events::cohort::{ClassLevel, CohortKind};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Pages;
use crate::api::ApiError;
use crate::common::encode;
use crate::home::Me;
use crate::phare::{
    Outcome, after, back_to, current_year, school, school_form, school_page, value,
};

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/cohortes", get(page))
        .route("/cohortes/creer", post(create))
        .route("/cohortes/{id}/effectifs", post(counts))
        .route("/cohortes/{id}/{action}", post(transition))
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "eleves_college" => "Élèves ambassadeurs de collège",
        "eleves_lycee" => "Élèves ambassadeurs de lycée",
        "petits_ambassadeurs" => "Petits ambassadeurs (CM1-CM2)",
        "parents" => "Parents ambassadeurs",
        _ => "Cohorte",
    }
}

fn level_label(level: ClassLevel) -> &'static str {
    match level {
        ClassLevel::Cm1 => "CM1",
        ClassLevel::Cm2 => "CM2",
        ClassLevel::Sixieme => "6e",
        ClassLevel::Cinquieme => "5e",
        ClassLevel::Quatrieme => "4e",
        ClassLevel::Troisieme => "3e",
        ClassLevel::Seconde => "Seconde",
        ClassLevel::Premiere => "Première",
        ClassLevel::Terminale => "Terminale",
        ClassLevel::Parents => "Parents",
    }
}

/// The states of a cohort: the API's code, the label, the DSFR badge variant.
const STATES: [(&str, &str, &str); 5] = [
    ("draft", "Brouillon", ""),
    ("declared", "Déclarée", "new"),
    ("trained", "Formée", "info"),
    ("active", "Active", "success"),
    ("closed", "Close", ""),
];

/// The kinds of cohort a school of `kind` may have, as the API's rule says (it stays the
/// judge: an unknown kind of school offers every kind, and the API refuses).
fn kinds_for(school_kind: &str) -> &'static [CohortKind] {
    use CohortKind as K;
    match school_kind {
        "ecole" => &[K::PetitsAmbassadeurs, K::Parents],
        "college" => &[K::ElevesCollege, K::Parents],
        "lycee_gt" | "lycee_pro" | "lycee_poly" => &[K::ElevesLycee, K::Parents],
        "erea" => &[K::ElevesCollege, K::ElevesLycee, K::Parents],
        "periscolaire" => &[K::Parents],
        _ => &K::ALL,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    uai: String,
    #[serde(default)]
    succes: String,
}

fn success_message(flag: &str) -> Option<&'static str> {
    Some(match flag {
        "creee" => "La cohorte est créée en brouillon : saisissez ses effectifs.",
        "effectifs" => "Les effectifs sont enregistrés.",
        "declaree" => {
            "La cohorte est déclarée au pôle : ses élèves ambassadeurs comptent pour pHARe."
        }
        "activee" => "La cohorte est active.",
        "close" => "La cohorte est close.",
        _ => return None,
    })
}

/// `GET /cohortes`.
pub async fn page(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(query): Query<PageQuery>,
) -> Response {
    let outcome = Outcome {
        success: success_message(&query.succes),
        ..Outcome::default()
    };
    show(&pages, &jar, &query.uai, StatusCode::OK, outcome).await
}

#[derive(Debug, Serialize)]
struct Level {
    code: &'static str,
    label: &'static str,
    count: u64,
}

#[derive(Debug, Serialize)]
struct Row {
    id: String,
    kind: String,
    kind_label: &'static str,
    state: String,
    state_label: &'static str,
    badge: &'static str,
    total: u64,
    below_ten: bool,
    levels: Vec<Level>,
    warnings: Vec<String>,
    declare: bool,
    activate: bool,
    close: bool,
    editable: bool,
}

async fn show(
    pages: &Pages,
    jar: &CookieJar,
    asked: &str,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let (session, me, uai) = match school_page(
        pages,
        jar,
        "/cohortes",
        asked,
        "Les cohortes d'ambassadeurs",
    )
    .await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let is_school = me.role == "school";
    let here = back_to("/cohortes", &uai, is_school, None);
    let year = current_year(pages);
    let mut status = status;
    let mut refusal = None;
    let mut uai_error = None;
    let mut rows = Vec::new();
    let mut school_info = None;
    if !uai.is_empty() {
        let path = format!(
            "/api/v1/cohorts?school_uai={}&school_year={year}",
            encode(&uai)
        );
        match pages.api.get(&session.token, &path).await {
            Ok(list) => {
                for item in list["items"].as_array().into_iter().flatten() {
                    let Some(id) = item["id"].as_str() else {
                        continue;
                    };
                    let detail = match pages
                        .api
                        .get(&session.token, &format!("/api/v1/cohorts/{id}"))
                        .await
                    {
                        Ok(detail) => detail,
                        Err(error) => return pages.templates.api_error(error, &here),
                    };
                    rows.push(row(id, &detail));
                }
                school_info = school(pages, &session.token, &uai).await;
            }
            Err(ApiError::Refused {
                status: refused,
                detail,
                fields,
            }) if refused.is_client_error() => {
                status = refused;
                match fields.into_iter().find(|(f, _)| f == "school_uai") {
                    Some((_, message)) => uai_error = Some(message),
                    None => refusal = Some(detail),
                }
            }
            Err(error) => return pages.templates.api_error(error, &here),
        }
    }
    let kind = school_info
        .as_ref()
        .map(|s| s.kind.clone())
        .unwrap_or_default();
    // The kinds still to create this year: one cohort per kind.
    let kinds: Vec<(&str, &str)> = kinds_for(&kind)
        .iter()
        .filter(|k| !rows.iter().any(|r| r.kind == k.as_str()))
        .map(|k| (k.as_str(), kind_label(k.as_str())))
        .collect();
    pages.templates.render(
        status,
        "cohorts.html",
        minijinja::context! {
            title => "Cohortes d'ambassadeurs",
            active => "cohorts",
            me => Serde(&me),
            csrf => session.csrf(),
            is_school,
            uai,
            uai_error,
            refusal,
            school => school_info.as_ref().map(Serde),
            year => year.to_string(),
            rows => Serde(&rows),
            kinds,
            outcome => Serde(&outcome),
        },
    )
}

/// A row of the page from the API's cohort (its names are never read from it).
fn row(id: &str, detail: &Value) -> Row {
    let kind = detail["kind"].as_str().unwrap_or_default().to_owned();
    let state = detail["state"].as_str().unwrap_or_default().to_owned();
    let (state_label, badge) = STATES
        .iter()
        .find(|s| s.0 == state)
        .map_or(("", ""), |s| (s.1, s.2));
    let levels = CohortKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .map(CohortKind::levels)
        .unwrap_or_default()
        .iter()
        .map(|level| Level {
            code: level.as_str(),
            label: level_label(*level),
            count: detail["counts"][level.as_str()].as_u64().unwrap_or(0),
        })
        .collect();
    let open = state != "closed";
    Row {
        id: id.to_owned(),
        kind_label: kind_label(&kind),
        kind,
        state_label,
        badge,
        total: detail["total"].as_u64().unwrap_or(0),
        below_ten: detail["below_ten_ambassadors"].as_bool().unwrap_or(false),
        levels,
        warnings: detail["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w.as_str().map(str::to_owned))
            .collect(),
        declare: state == "draft",
        activate: state == "trained",
        close: open,
        editable: open,
        state,
    }
}

/// After a command: the page with its success (Post/Redirect/Get), or with the refusal
/// next to the form.
async fn done(
    pages: &Pages,
    jar: &CookieJar,
    me: &Me,
    uai: &str,
    keys: (&str, &str),
    result: Result<Value, ApiError>,
    form: HashMap<String, String>,
) -> Response {
    let place = ("/cohortes", uai, me.role == "school");
    after(
        pages,
        place,
        keys,
        result,
        form,
        |asked, status, outcome| async move { show(pages, jar, &asked, status, outcome).await },
    )
    .await
}

/// `POST /cohortes/creer`: a cohort of the current year, in draft, with its adult
/// referent (the API requires one).
pub async fn create(
    State(pages): State<Pages>,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (session, me, uai) = match school_form(
        &pages,
        &jar,
        "/cohortes",
        &form,
        "Les cohortes d'ambassadeurs",
    )
    .await
    {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let body = json!({
        "school_uai": uai,
        "school_year": current_year(&pages).to_string(),
        "kind": value(&form, "kind"),
        "referent": {
            "display_name": value(&form, "display_name"),
            "email": value(&form, "email"),
        },
    });
    let result = pages
        .api
        .command(&session.token, Method::POST, "/api/v1/cohorts", &body)
        .await;
    done(&pages, &jar, &me, &uai, ("creer", "creee"), result, form).await
}

/// `POST /cohortes/{id}/effectifs`: the counts by class level (`counts.<level>` inputs;
/// empty is none), replacing the previous ones.
pub async fn counts(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (session, me, uai) = match school_form(
        &pages,
        &jar,
        "/cohortes",
        &form,
        "Les cohortes d'ambassadeurs",
    )
    .await
    {
        Ok(found) => found,
        Err(response) => return *response,
    };
    if uuid::Uuid::parse_str(&id).is_err() {
        return unknown(&pages);
    }
    let key = format!("effectifs-{id}");
    let mut counts = serde_json::Map::new();
    let mut errors = Vec::new();
    for (name, text) in &form {
        let Some(level) = name.strip_prefix("counts.") else {
            continue;
        };
        let text = text.trim();
        match text {
            "" => {
                counts.insert(level.to_owned(), Value::from(0));
            }
            text => match text.parse::<u32>() {
                Ok(n) => {
                    counts.insert(level.to_owned(), Value::from(n));
                }
                Err(_) => errors.push((
                    name.clone(),
                    format!("« {text} » n'est pas un effectif : saisissez un nombre entier."),
                )),
            },
        }
    }
    if !errors.is_empty() {
        return show(
            &pages,
            &jar,
            if me.role == "school" { "" } else { &uai },
            StatusCode::UNPROCESSABLE_ENTITY,
            Outcome::refused(
                &key,
                "Les effectifs n'ont pas été enregistrés : corrigez le champ signalé.".into(),
                errors,
                form,
            ),
        )
        .await;
    }
    let result = pages
        .api
        .command(
            &session.token,
            Method::PUT,
            &format!("/api/v1/cohorts/{id}/counts"),
            &json!({ "counts": counts }),
        )
        .await;
    done(&pages, &jar, &me, &uai, (&key, "effectifs"), result, form).await
}

/// `POST /cohortes/{id}/{declarer|activer|clore}`.
pub async fn transition(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (session, me, uai) = match school_form(
        &pages,
        &jar,
        "/cohortes",
        &form,
        "Les cohortes d'ambassadeurs",
    )
    .await
    {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let (command, success) = match action.as_str() {
        "declarer" => ("declare", "declaree"),
        "activer" => ("activate", "activee"),
        "clore" => ("close", "close"),
        _ => return unknown(&pages),
    };
    if uuid::Uuid::parse_str(&id).is_err() {
        return unknown(&pages);
    }
    let result = pages
        .api
        .command(
            &session.token,
            Method::POST,
            &format!("/api/v1/cohorts/{id}/{command}"),
            &json!({}),
        )
        .await;
    let key = format!("etat-{id}");
    done(&pages, &jar, &me, &uai, (&key, success), result, form).await
}

fn unknown(pages: &Pages) -> Response {
    pages.templates.error(
        StatusCode::NOT_FOUND,
        "Page introuvable",
        "Ce formulaire ne correspond à aucune cohorte. Revenez à la page des cohortes.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cohort_row_counts_by_the_levels_of_its_kind_and_warns_under_ten() {
        let detail = json!({
            "kind": "eleves_college", "state": "draft", "total": 7,
            "counts": { "6e": 3, "5e": 4 }, "below_ten_ambassadors": true,
            "referent": { "display_name": "Camille Martin" }, "names": [{ "first_name": "Lina" }]
        });
        let row = row("id", &detail);
        let levels: Vec<(&str, u64)> = row.levels.iter().map(|l| (l.code, l.count)).collect();
        assert_eq!(levels, [("6e", 3), ("5e", 4), ("4e", 0), ("3e", 0)]);
        assert!(row.below_ten && row.declare && !row.activate && row.close);
        assert_eq!(row.kind_label, "Élèves ambassadeurs de collège");
        let text = serde_json::to_string(&row).unwrap_or_default();
        assert!(
            !text.contains("Lina") && !text.contains("Camille"),
            "{text}"
        );
    }

    #[test]
    fn a_school_is_offered_the_kinds_its_kind_allows() {
        let names =
            |kind: &str| -> Vec<&str> { kinds_for(kind).iter().map(|k| k.as_str()).collect() };
        assert_eq!(names("college"), ["eleves_college", "parents"]);
        assert_eq!(names("ecole"), ["petits_ambassadeurs", "parents"]);
        assert_eq!(names("periscolaire"), ["parents"]);
    }
}

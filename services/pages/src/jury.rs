//! The juror's pages: the contest entries assigned to them, each production viewable in
//! the browser (image, PDF, video), the scoring grid of the edition's criteria, and their
//! progress (« 3 notes sur 5 »).
//!
//! Everything comes from the contests target's REST API with the juror's token: it lists
//! only the admissible entries assigned to them, never one of a school or department
//! they are attached to.

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use chrono::NaiveDate;
use futures::future::join_all;
use minijinja::value::Serde;
use pharos_events::phare::SchoolYear;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::Pages;
use crate::api::ApiError;
use crate::home::Me;
use crate::session::Session;

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/jury", get(list))
        .route("/jury/participations/{id}", get(entry))
        .route("/jury/participations/{id}/notes", post(score))
}

/// The lowest and highest mark of a criterion.
const MARKS: std::ops::RangeInclusive<i64> = 0..=20;

/// The signed-in juror, or the page that says why not.
async fn juror(pages: &Pages, jar: &CookieJar, here: &str) -> Result<(Session, Me), Response> {
    let refusal = (
        "Pages du jury",
        "Ces pages sont celles des jurés du concours « Non au harcèlement ». Revenez à \
         l'accueil pour les pages de votre espace.",
    );
    crate::common::signed_in_as(pages, jar, here, &["juror"], refusal).await
}

/// One entry in the juror's list.
#[derive(Serialize)]
struct Assigned {
    id: String,
    title: String,
    category: String,
    department: String,
    scored: bool,
}

/// `GET /jury`: the entries assigned to the juror in the current school year's editions.
async fn list(State(pages): State<Pages>, jar: CookieJar) -> Response {
    let (session, me) = match juror(&pages, &jar, "/jury").await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let today = pharos_domain::today_in_france(pages.clock.now());
    let year = SchoolYear::containing(today);
    let editions = match pages
        .api
        .get(
            &session.token,
            &format!("/api/v1/contests?school_year={year}"),
        )
        .await
    {
        Ok(list) => list["items"].as_array().cloned().unwrap_or_default(),
        Err(error) => return pages.templates.api_error(error, "/jury"),
    };
    let mut assigned = Vec::new();
    for edition in &editions {
        let id = edition["id"].as_str().unwrap_or_default();
        let entries = match pages
            .api
            .get(
                &session.token,
                &format!("/api/v1/contests/{id}/entries?limit=500"),
            )
            .await
        {
            Ok(list) => list["items"].as_array().cloned().unwrap_or_default(),
            Err(error) => return pages.templates.api_error(error, "/jury"),
        };
        // Whether the juror has scored each: the entry's own view says whose scores it holds.
        let views = join_all(entries.iter().map(|e| {
            let path = format!("/api/v1/entries/{}", e["id"].as_str().unwrap_or_default());
            let token = session.token.clone();
            let api = pages.api.clone();
            async move { api.get(&token, &path).await }
        }))
        .await;
        for (summary, view) in entries.iter().zip(views) {
            let view = match view {
                Ok(view) => view,
                Err(error) => return pages.templates.api_error(error, "/jury"),
            };
            assigned.push(Assigned {
                id: text(&summary["id"]),
                title: text(&summary["title"]),
                category: category_label(edition, &text(&summary["category"])),
                department: text(&summary["department"]),
                scored: scores_of(&view, &me.id).is_some(),
            });
        }
    }
    let scored = assigned.iter().filter(|a| a.scored).count();
    pages.templates.render(
        StatusCode::OK,
        "jury.html",
        minijinja::context! {
            title => "Jury du concours",
            active => "jury",
            me => Serde(&me),
            csrf => session.csrf(),
            school_year => year.to_string(),
            editions => editions.len(),
            jury_on => editions.first().and_then(|e| e["jury_on"].as_str()).and_then(french_date),
            assigned => Serde(&assigned),
            scored,
            total => assigned.len(),
        },
    )
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn french_date(iso: &str) -> Option<String> {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .ok()
        .map(|d| d.format("%d/%m/%Y").to_string())
}

/// The edition's French name of a category (`college_affiche`), else its key.
fn category_label(edition: &Value, key: &str) -> String {
    edition["categories"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["key"].as_str() == Some(key))
        .and_then(|c| c["label"].as_str())
        .map_or_else(|| key.to_owned(), str::to_owned)
}

/// The juror's marks on an entry, by criterion.
fn scores_of(entry: &Value, juror: &str) -> Option<BTreeMap<String, i64>> {
    entry["scores"]
        .as_array()?
        .iter()
        .find(|s| s["juror_id"].as_str() == Some(juror))
        .map(|s| {
            s["scores"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_i64()?)))
                .collect()
        })
}

/// A criterion of the grid, with the juror's mark (as typed when the form is shown
/// again) and its error.
#[derive(Serialize)]
struct Criterion {
    key: String,
    label: String,
    weight: i64,
    value: String,
    error: Option<String>,
}

/// A production, as the page shows it: how, and from where.
#[derive(Serialize)]
struct Production {
    url: String,
    /// `image`, `pdf` or `video`.
    shown_as: &'static str,
    mime: &'static str,
    label: String,
}

fn productions(entry: &Value) -> Vec<Production> {
    let id = text(&entry["id"]);
    entry["files"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(n, f)| {
            let (shown_as, mime, kind) = match f["file_type"].as_str() {
                Some("png") => ("image", "image/png", "Image PNG"),
                Some("jpeg") => ("image", "image/jpeg", "Image JPEG"),
                Some("pdf") => ("pdf", "application/pdf", "Document PDF"),
                Some("webm") => ("video", "video/webm", "Vidéo WebM"),
                _ => ("video", "video/mp4", "Vidéo MP4"),
            };
            let kib = f["bytes"].as_u64().unwrap_or(0).div_ceil(1024);
            Production {
                url: format!("/api/v1/entries/{id}/files/{}", text(&f["file_id"])),
                shown_as,
                mime,
                label: format!("Fichier {} : {kind}, {kib} Kio", n + 1),
            }
        })
        .collect()
}

/// How the grid is shown: as the juror left it, or as they typed it with its errors.
#[derive(Default)]
struct Grid<'a> {
    /// The marks as typed, when the form is shown again.
    typed: Option<&'a BTreeMap<String, String>>,
    /// By criterion; under `""`, the API's refusal of the whole grid.
    errors: BTreeMap<String, String>,
    flash: Option<&'static str>,
}

async fn entry_page(
    pages: &Pages,
    session: &Session,
    me: &Me,
    id: &str,
    status: StatusCode,
    grid: Grid<'_>,
) -> Response {
    let Grid {
        typed,
        errors,
        flash,
    } = grid;
    let here = format!("/jury/participations/{id}");
    let entry = match pages
        .api
        .get(&session.token, &format!("/api/v1/entries/{id}"))
        .await
    {
        Ok(entry) => entry,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let edition = match pages
        .api
        .get(
            &session.token,
            &format!("/api/v1/contests/{}", text(&entry["contest_id"])),
        )
        .await
    {
        Ok(edition) => edition,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let mine = scores_of(&entry, &me.id);
    let criteria: Vec<Criterion> = edition["criteria"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let key = text(&c["key"]);
            let value = match typed {
                Some(typed) => typed.get(&key).cloned().unwrap_or_default(),
                None => mine
                    .as_ref()
                    .and_then(|m| m.get(&key))
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            };
            Criterion {
                label: text(&c["label"]),
                weight: c["weight"].as_i64().unwrap_or(1),
                error: errors.get(&key).cloned(),
                value,
                key,
            }
        })
        .collect();
    pages.templates.render(
        status,
        "jury_entry.html",
        minijinja::context! {
            title => format!("Production « {} »", text(&entry["title"])),
            active => "jury",
            me => Serde(me),
            csrf => session.csrf(),
            id,
            entry_title => text(&entry["title"]),
            category => category_label(&edition, &text(&entry["category"])),
            group => Serde(&entry["group"]),
            project_sheet => text(&entry["project_sheet"]),
            files_deleted => entry["files_deleted"].as_bool().unwrap_or(false),
            productions => Serde(productions(&entry)),
            criteria => Serde(criteria),
            scored => mine.is_some(),
            form_error => errors.get("").cloned(),
            flash,
        },
    )
}

/// `GET /jury/participations/{id}`.
async fn entry(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(query): Query<Flash>,
) -> Response {
    let here = format!("/jury/participations/{id}");
    let (session, me) = match juror(&pages, &jar, &here).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let flash = query
        .fait
        .filter(|f| f == "notee")
        .map(|_| "Vos notes sont enregistrées.");
    let grid = Grid {
        flash,
        ..Grid::default()
    };
    entry_page(&pages, &session, &me, &id, StatusCode::OK, grid).await
}

#[derive(Deserialize)]
struct Flash {
    fait: Option<String>,
}

/// `POST /jury/participations/{id}/notes`: the grid's marks, one field per criterion
/// (`note_<key>`), each a whole number from 0 to 20.
async fn score(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let here = format!("/jury/participations/{id}");
    let (session, me) = match juror(&pages, &jar, &here).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if !session.accepts(form.get("csrf").map_or("", String::as_str)) {
        return pages.templates.error(
            StatusCode::FORBIDDEN,
            "Formulaire refusé",
            "Ce formulaire ne vient pas de Pharos ou a expiré. Rechargez la page, puis \
             saisissez à nouveau vos notes.",
        );
    }
    let typed: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("note_")?.to_owned(), v.trim().to_owned())))
        .collect();
    let mut errors = BTreeMap::new();
    let mut marks = serde_json::Map::new();
    for (key, value) in &typed {
        match value.parse::<i64>() {
            Ok(mark) if MARKS.contains(&mark) => {
                marks.insert(key.clone(), json!(mark));
            }
            _ if value.is_empty() => {
                errors.insert(key.clone(), "Saisissez une note de 0 à 20.".to_owned());
            }
            _ => {
                errors.insert(
                    key.clone(),
                    format!("« {value} » n'est pas une note : un nombre entier de 0 à 20."),
                );
            }
        }
    }
    if !errors.is_empty() {
        let grid = Grid {
            typed: Some(&typed),
            errors,
            flash: None,
        };
        return entry_page(
            &pages,
            &session,
            &me,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            grid,
        )
        .await;
    }
    match pages
        .api
        .command(
            &session.token,
            reqwest::Method::POST,
            &format!("/api/v1/entries/{id}/scores"),
            &json!({ "scores": marks }),
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("{here}?fait=notee")).into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) if status.is_client_error() => {
            let mut errors: BTreeMap<String, String> = fields
                .into_iter()
                .map(|(field, message)| {
                    let key = field.strip_prefix("scores.").unwrap_or(&field).to_owned();
                    (key, message)
                })
                .collect();
            errors.insert(String::new(), detail);
            let grid = Grid {
                typed: Some(&typed),
                errors,
                flash: None,
            };
            entry_page(&pages, &session, &me, &id, status, grid).await
        }
        Err(error) => pages.templates.api_error(error, &here),
    }
}

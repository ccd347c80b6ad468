//! The orientation directory, for the pole and the department referents.
//!
//! | page | who |
//! |---|---|
//! | `GET /annuaire` | the pole (every entry), a referent (the national lines and her department's) |
//! | `GET /annuaire/fiche/{department}` | the pole, the department's referents: the one-page sheet to print |
//!
//! The entries are the API's `GET /api/v1/partners` (the read model's `partners` lacks the
//! numbers, addresses and hours people call with). That list answers every signed-in
//! user; the page asks it for a referent's own department only, as the read model would.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum_extra::extract::CookieJar;
use chrono::NaiveDate;
use chrono_tz::Europe::Paris;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};

use crate::Pages;
use crate::api::ApiError;
use crate::common::{
    MANAGERS, department_label, departments, encode, is_pole, query, signed_in_as, with_query,
};
use crate::session::Session;

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/annuaire", get(list))
        .route("/annuaire/fiche/{department}", get(sheet))
}

// ----------------------------------------------------------------------------------------
// The directory.

/// The kinds of partner: the API's code, the French label.
const KINDS: [(&str, &str); 12] = [
    ("help_line", "Numéro d'aide"),
    ("emergency", "Urgences"),
    ("maison_des_adolescents", "Maison des adolescents"),
    ("local_cell", "Cellule ou dispositif local"),
    ("association", "Association"),
    ("health", "Santé"),
    ("justice", "Justice"),
    ("police", "Police ou gendarmerie"),
    ("local_authority", "Collectivité"),
    ("victim_support", "Aide aux victimes"),
    ("family_planning", "Planning familial"),
    ("other", "Autre"),
];

/// The countries a partner abroad may be in, as people read them.
const COUNTRIES: [(&str, &str); 8] = [
    ("BE", "Belgique"),
    ("ES", "Espagne"),
    ("AD", "Andorre"),
    ("CH", "Suisse"),
    ("LU", "Luxembourg"),
    ("DE", "Allemagne"),
    ("IT", "Italie"),
    ("MC", "Monaco"),
];

fn kind_label(kind: &str) -> String {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or_else(|| kind.to_owned(), |(_, l)| (*l).to_owned())
}

/// A partner as `GET /api/v1/partners` answers it.
#[derive(Debug, Deserialize)]
struct Partner {
    id: String,
    name: String,
    kind: String,
    scope: String,
    department: Option<String>,
    commune: Option<String>,
    country: Option<String>,
    #[serde(default)]
    phones: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
    website: Option<String>,
    hours: Option<String>,
    #[serde(default)]
    description: String,
    last_verified_on: Option<NaiveDate>,
    #[serde(default)]
    needs_review: bool,
}

#[derive(Debug, Deserialize)]
struct PartnerList {
    items: Vec<Partner>,
}

/// A number as written, and the `tel:` address a phone dials.
#[derive(Debug, Serialize)]
struct Phone {
    text: String,
    dial: String,
}

/// A partner as the pages show it.
#[derive(Debug, Serialize)]
struct Entry {
    id: String,
    name: String,
    /// The name without the number it starts with (« 3018 — harcèlement… » →
    /// « harcèlement… »), beside the number in large print.
    short_name: String,
    kind: String,
    kind_label: String,
    /// `national`, `department`, `local`.
    scope: String,
    /// Where it is: « Toulouse (31 – Haute-Garonne) », « Mouscron, Belgique ».
    place: Option<String>,
    phones: Vec<Phone>,
    emails: Vec<String>,
    /// Only an `http(s)` address becomes a link.
    website: Option<String>,
    website_link: bool,
    hours: Option<String>,
    description: String,
    verified: Option<String>,
    needs_review: bool,
}

fn dial(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

fn entry(p: Partner) -> Entry {
    let country = p.country.as_deref().map(|c| {
        COUNTRIES
            .iter()
            .find(|(code, _)| *code == c)
            .map_or_else(|| c.to_owned(), |(_, name)| (*name).to_owned())
    });
    let department = p.department.as_deref().map(department_label);
    let place = match (p.commune, department, country) {
        (Some(c), Some(d), _) => Some(format!("{c} ({d})")),
        (Some(c), None, Some(country)) => Some(format!("{c}, {country}")),
        (None, Some(d), _) => Some(d),
        (Some(c), None, None) => Some(c),
        (None, None, Some(country)) => Some(country),
        (None, None, None) => None,
    };
    let website_link = p
        .website
        .as_deref()
        .is_some_and(|w| w.starts_with("https://") || w.starts_with("http://"));
    let short_name = p
        .phones
        .first()
        .and_then(|n| p.name.strip_prefix(n.as_str()))
        .and_then(|rest| rest.trim_start().strip_prefix('—'))
        .map_or_else(|| p.name.clone(), |rest| rest.trim().to_owned());
    Entry {
        id: p.id,
        short_name,
        kind_label: kind_label(&p.kind),
        kind: p.kind,
        scope: p.scope,
        name: p.name,
        place,
        phones: p
            .phones
            .into_iter()
            .map(|text| Phone {
                dial: dial(&text),
                text,
            })
            .collect(),
        emails: p.emails,
        website: p.website,
        website_link,
        hours: p.hours.filter(|h| !h.trim().is_empty()),
        description: p.description,
        verified: p.last_verified_on.map(|d| d.format("%d/%m/%Y").to_string()),
        needs_review: p.needs_review,
    }
}

/// The URL's parameters, in French.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    departement: String,
    #[serde(default)]
    commune: String,
    #[serde(default)]
    q: String,
    /// `oui`: only the entries to check again.
    #[serde(default)]
    a_revoir: String,
}

#[derive(Debug, Default, Serialize)]
struct FieldErrors {
    kind: Option<String>,
    departement: Option<String>,
}

/// Only the pole and the referents use the directory's pages.
const REFUSAL: (&str, &str) = (
    "Annuaire réservé",
    "L'annuaire d'orientation est celui du pôle académique et des référents \
     départementaux. Revenez à l'accueil pour les pages de votre espace.",
);

async fn partners(
    pages: &Pages,
    session: &Session,
    api_query: &str,
) -> Result<Vec<Partner>, ApiError> {
    let value = pages
        .api
        .get(&session.token, &with_query("/api/v1/partners", api_query))
        .await?;
    serde_json::from_value::<PartnerList>(value)
        .map(|l| l.items)
        .map_err(|error| {
            tracing::warn!(%error, "partner list unreadable by the pages");
            ApiError::Unavailable
        })
}

/// `GET /annuaire`.
async fn list(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(filters): Query<Filters>,
) -> Response {
    let page_query = query(&[
        ("type", &filters.kind),
        ("departement", &filters.departement),
        ("commune", &filters.commune),
        ("q", &filters.q),
        ("a_revoir", &filters.a_revoir),
    ]);
    let here = with_query("/annuaire", &page_query);
    let (session, me) = match signed_in_as(&pages, &jar, &here, MANAGERS, REFUSAL).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let pole = is_pole(&me);
    let departments = departments(&pages);
    let mut errors = FieldErrors::default();
    let kind = match filters.kind.trim() {
        "" => "",
        k if KINDS.iter().any(|(code, _)| *code == k) => k,
        k => {
            errors.kind = Some(format!(
                "« {k} » n'est pas un type de partenaire : choisissez-en un dans la liste."
            ));
            ""
        }
    };
    // A referent reads her department's entries (and the national lines), as the read
    // model gives them to her.
    let department = if pole {
        match filters.departement.trim() {
            "" => String::new(),
            d if departments.iter().any(|(code, _)| code == d) => d.to_owned(),
            d => {
                errors.departement = Some(format!(
                    "« {d} » n'est pas un département de l'académie ({}).",
                    departments
                        .iter()
                        .map(|(c, _)| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                String::new()
            }
        }
    } else {
        me.scope.clone().unwrap_or_default()
    };
    let review = if filters.a_revoir == "oui" {
        "true"
    } else {
        ""
    };
    let api_query = query(&[
        ("kind", kind),
        ("department", &department),
        ("commune", &filters.commune),
        ("q", &filters.q),
        ("needs_review", review),
    ]);
    let entries = if errors.kind.is_some() || errors.departement.is_some() {
        None
    } else {
        match partners(&pages, &session, &api_query).await {
            Ok(items) => Some(items.into_iter().map(entry).collect::<Vec<_>>()),
            Err(error) => return pages.templates.api_error(error, &here),
        }
    };
    let status = if entries.is_none() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let count = entries.as_ref().map_or(0, Vec::len);
    let (mut national, local): (Vec<Entry>, Vec<Entry>) = entries
        .unwrap_or_default()
        .into_iter()
        .partition(|e| e.scope == "national");
    national.sort_by_key(national_rank);
    let export = query(&[
        ("department", &department),
        ("kind", kind),
        ("search", &filters.q),
    ]);
    // The sheets to print: every department for the pole, hers for a referent.
    let sheets: Vec<(String, String)> = if pole {
        departments.clone()
    } else {
        me.scope
            .iter()
            .map(|d| (d.clone(), department_label(d)))
            .collect()
    };
    pages.templates.render(
        status,
        "partners.html",
        minijinja::context! {
            title => "Annuaire d'orientation",
            active => "partners",
            me => Serde(&me),
            csrf => session.csrf(),
            pole,
            filters => Serde(&filters),
            errors => Serde(&errors),
            kinds => Serde(KINDS),
            departments,
            scope_label => if pole {
                match department.as_str() {
                    "" => format!("Académie de {}", pages.academy.name),
                    d => department_label(d),
                }
            } else {
                me.scope.as_deref().map_or_else(String::new, department_label)
            },
            searched => !page_query.is_empty(),
            shown => status == StatusCode::OK,
            count,
            national => Serde(&national),
            local => Serde(&local),
            sheets,
            export => if export.is_empty() { String::new() } else { format!("?{export}") },
        },
    )
}

/// Where a national line comes on the sheet: the harassment line first, then the
/// children's line, the other help lines, the emergencies.
fn national_rank(e: &Entry) -> (u8, String) {
    let first_number = e.phones.first().map(|p| p.dial.clone()).unwrap_or_default();
    let rank = match (first_number.as_str(), e.kind.as_str()) {
        ("3018", _) => 0,
        ("119", _) => 1,
        (_, "help_line") => 2,
        (_, "emergency") => 4,
        _ => 3,
    };
    (rank, e.name.clone())
}

/// `GET /annuaire/fiche/{department}`: the orientation sheet of a department, one A4 page
/// to print and slip into the pupils' class diaries.
async fn sheet(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(department): Path<String>,
) -> Response {
    let here = format!("/annuaire/fiche/{}", encode(&department));
    let (session, me) = match signed_in_as(&pages, &jar, &here, MANAGERS, REFUSAL).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !pages
        .academy
        .departments
        .iter()
        .any(|d| d.as_str() == department)
    {
        return pages.templates.error(
            StatusCode::NOT_FOUND,
            "Département inconnu",
            "Ce département n'est pas un département de l'académie. Revenez à l'annuaire \
             pour choisir la fiche d'un de ses départements.",
        );
    }
    if !is_pole(&me) && me.scope.as_deref() != Some(department.as_str()) {
        return pages.templates.error(
            StatusCode::FORBIDDEN,
            "Département hors de votre périmètre",
            "Vous imprimez la fiche d'orientation de votre département seulement. Revenez à \
             l'annuaire pour l'ouvrir.",
        );
    }
    let items = match partners(&pages, &session, &query(&[("department", &department)])).await {
        Ok(items) => items,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let mut national = Vec::new();
    let mut partners = Vec::new();
    let mut cells = Vec::new();
    for e in items.into_iter().map(entry) {
        match (e.scope.as_str(), e.kind.as_str()) {
            ("national", _) => national.push(e),
            (_, "local_cell") | ("local", _) => cells.push(e),
            _ => partners.push(e),
        }
    }
    national.sort_by_key(national_rank);
    let today = pages
        .clock
        .now()
        .with_timezone(&Paris)
        .format("%d/%m/%Y")
        .to_string();
    pages.templates.render(
        StatusCode::OK,
        "partners_sheet.html",
        minijinja::context! {
            title => format!("Fiche d'orientation — {}", department_label(&department)),
            active => "partners",
            me => Serde(&me),
            csrf => session.csrf(),
            department_label => department_label(&department),
            academy => pages.academy.name.clone(),
            national => Serde(&national),
            partners => Serde(&partners),
            cells => Serde(&cells),
            today,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_dial_without_their_spaces() {
        assert_eq!(dial("+32 56 39 16 20"), "+3256391620");
        assert_eq!(dial("0 800 235 236"), "0800235236");
        assert_eq!(dial("3018"), "3018");
    }
}

//! The accounts, for the pole and the administrators.
//!
//! | page | who |
//! |---|---|
//! | `GET /comptes` | the pole, the administrators: every account, by role |
//! | `GET`, `POST /comptes/nouveau` | the same: a new account (`POST /api/v1/users`) |
//!
//! The list is the read model's `users` query (each holder shown is a logged read); the
//! new account is the API's command, whose refusals are shown next to their fields. The
//! account's holder then gets an invitation mail with a link to choose a password.

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use minijinja::value::Serde;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Pages;
use crate::api::ApiError;
use crate::common::{POLE, departments, join, next_page, nodes, query, signed_in_as, with_query};
use crate::home::Me;
use crate::session::Session;

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/comptes", get(list))
        .route("/comptes/nouveau", get(new_form).post(create))
}

/// Accounts per page.
const PAGE_SIZE: i64 = 50;

/// The roles: the API's code, the French label.
const ROLES: [(&str, &str); 6] = [
    ("admin", "Administrateur"),
    ("pole_manager", "Pôle académique"),
    ("department_referent", "Référent départemental"),
    ("school", "Établissement"),
    ("juror", "Juré"),
    ("trainer", "Formateur"),
];

const QUERY: &str = r"
query Users($first: Int, $after: String, $role: String, $department: String,
            $includeInactive: Boolean!) {
  users(first: $first, after: $after, role: $role, department: $department,
        includeInactive: $includeInactive) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id role roleLabel scope department active
            person { displayName email erased } }
  }
}";

/// The pole or an administrator; else the page to show instead.
async fn manager(pages: &Pages, jar: &CookieJar, here: &str) -> Result<(Session, Me), Response> {
    let refusal = (
        "Comptes réservés",
        "Les comptes sont gérés par le pôle académique et les administrateurs. Revenez à \
         l'accueil pour les pages de votre espace.",
    );
    signed_in_as(pages, jar, here, POLE, refusal).await
}

/// The roles `me` may give: only an administrator makes administrators.
fn roles_for(me: &Me) -> Vec<(&'static str, &'static str)> {
    ROLES
        .iter()
        .filter(|(code, _)| me.role == "admin" || *code != "admin")
        .copied()
        .collect()
}

/// The URL's parameters, in French.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default)]
    role: String,
    #[serde(default)]
    departement: String,
    /// `oui`: the deactivated accounts too.
    #[serde(default)]
    inactifs: String,
    #[serde(default)]
    apres: String,
    /// `cree`: an account was just created.
    #[serde(default)]
    succes: String,
}

#[derive(Debug, Default, Serialize)]
struct FilterErrors {
    role: Option<String>,
    departement: Option<String>,
}

#[derive(Debug, Serialize)]
struct Row {
    id: String,
    name: String,
    email: Option<String>,
    erased: bool,
    role_label: String,
    scope: Option<String>,
    department: Option<String>,
    active: bool,
}

fn row(node: &Value) -> Row {
    let person = &node["person"];
    let erased = person["erased"].as_bool().unwrap_or(false);
    Row {
        id: node["id"].as_str().unwrap_or_default().to_owned(),
        name: person["displayName"]
            .as_str()
            .unwrap_or("donnée effacée")
            .to_owned(),
        email: person["email"]
            .as_str()
            .filter(|_| !erased)
            .map(str::to_owned),
        erased,
        role_label: node["roleLabel"].as_str().unwrap_or_default().to_owned(),
        scope: node["scope"].as_str().map(str::to_owned),
        department: node["department"].as_str().map(str::to_owned),
        active: node["active"].as_bool().unwrap_or(false),
    }
}

/// `GET /comptes`.
async fn list(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(filters): Query<Filters>,
) -> Response {
    let filter_query = query(&[
        ("role", &filters.role),
        ("departement", &filters.departement),
        ("inactifs", &filters.inactifs),
    ]);
    let here = with_query(
        "/comptes",
        &join(&filter_query, &query(&[("apres", &filters.apres)])),
    );
    let (session, me) = match manager(&pages, &jar, &here).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let departments = departments(&pages);
    let mut errors = FilterErrors::default();
    let role = match filters.role.trim() {
        "" => None,
        r if ROLES.iter().any(|(code, _)| *code == r) => Some(r.to_owned()),
        r => {
            errors.role = Some(format!(
                "« {r} » n'est pas un rôle : choisissez-en un dans la liste."
            ));
            None
        }
    };
    let department = match filters.departement.trim() {
        "" => None,
        d if departments.iter().any(|(code, _)| code == d) => Some(d.to_owned()),
        d => {
            errors.departement = Some(format!("« {d} » n'est pas un département de l'académie."));
            None
        }
    };
    let invalid = errors.role.is_some() || errors.departement.is_some();
    let accounts = if invalid {
        None
    } else {
        let variables = json!({
            "first": PAGE_SIZE,
            "after": Some(filters.apres.trim()).filter(|a| !a.is_empty()),
            "role": role,
            "department": department,
            "includeInactive": filters.inactifs == "oui",
        });
        #[derive(Deserialize)]
        struct Data {
            users: Value,
        }
        match pages
            .api
            .graphql::<Data>(&session.token, QUERY, variables)
            .await
        {
            Ok(data) => Some(data.users),
            Err(error) => return pages.templates.api_error(error, &here),
        }
    };
    let rows: Vec<Row> = nodes(accounts.as_ref()).map(row).collect();
    let next = next_page(accounts.as_ref(), "/comptes", &filter_query);
    pages.templates.render(
        if invalid {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        "users.html",
        minijinja::context! {
            title => "Comptes",
            active => "users",
            me => Serde(&me),
            csrf => session.csrf(),
            filters => Serde(&filters),
            errors => Serde(&errors),
            roles => ROLES.to_vec(),
            departments,
            created => filters.succes == "cree",
            shown => accounts.is_some(),
            total => accounts.as_ref().and_then(|a| a["totalCount"].as_i64()).unwrap_or(0),
            rows => Serde(&rows),
            filtered => !filter_query.is_empty(),
            first_page => (!filters.apres.trim().is_empty()).then(|| with_query("/comptes", &filter_query)),
            next,
        },
    )
}

/// What the form sends (and shows again when refused).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct NewAccount {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: String,
    #[serde(default, skip_serializing)]
    csrf: String,
}

/// The fields at fault, as the API names them.
#[derive(Debug, Default, Serialize)]
struct FormErrors {
    email: Option<String>,
    display_name: Option<String>,
    role: Option<String>,
    scope: Option<String>,
    /// The refusal's French detail.
    form: Option<String>,
}

fn form_page(
    pages: &Pages,
    status: StatusCode,
    session: &Session,
    me: &Me,
    account: &NewAccount,
    errors: &FormErrors,
) -> Response {
    pages.templates.render(
        status,
        "users_new.html",
        minijinja::context! {
            title => "Créer un compte",
            active => "users",
            me => Serde(me),
            csrf => session.csrf(),
            account => Serde(account),
            errors => Serde(errors),
            roles => roles_for(me),
        },
    )
}

/// `GET /comptes/nouveau`.
async fn new_form(State(pages): State<Pages>, jar: CookieJar) -> Response {
    let (session, me) = match manager(&pages, &jar, "/comptes/nouveau").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    form_page(
        &pages,
        StatusCode::OK,
        &session,
        &me,
        &NewAccount::default(),
        &FormErrors::default(),
    )
}

/// `POST /comptes/nouveau`: `POST /api/v1/users`, then the list; or the form again with
/// the API's refusal next to its fields.
async fn create(
    State(pages): State<Pages>,
    jar: CookieJar,
    Form(account): Form<NewAccount>,
) -> Response {
    let (session, me) = match manager(&pages, &jar, "/comptes/nouveau").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !session.accepts(&account.csrf) {
        return form_page(
            &pages,
            StatusCode::FORBIDDEN,
            &session,
            &me,
            &account,
            &FormErrors {
                form: Some(
                    "Ce formulaire ne vient pas de Pharos ou a expiré : vérifiez les champs, \
                     puis envoyez-le à nouveau."
                        .into(),
                ),
                ..FormErrors::default()
            },
        );
    }
    let scope = Some(account.scope.trim()).filter(|s| !s.is_empty());
    let body = json!({
        "email": account.email.trim(),
        "display_name": account.display_name.trim(),
        "role": account.role.trim(),
        "scope": scope,
    });
    match pages
        .api
        .command(&session.token, Method::POST, "/api/v1/users", &body)
        .await
    {
        Ok(_) => Redirect::to("/comptes?succes=cree").into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) => {
            let mut errors = FormErrors::default();
            for (field, message) in fields {
                let slot = match field.as_str() {
                    "email" => &mut errors.email,
                    "display_name" => &mut errors.display_name,
                    "role" => &mut errors.role,
                    "scope" => &mut errors.scope,
                    _ => &mut errors.form,
                };
                slot.get_or_insert(message);
            }
            errors.form = Some(detail);
            let status = if status.is_client_error() {
                status
            } else {
                StatusCode::BAD_GATEWAY
            };
            form_page(&pages, status, &session, &me, &account, &errors)
        }
        Err(error) => pages.templates.api_error(error, "/comptes/nouveau"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me(role: &str) -> Me {
        Me {
            id: String::new(),
            role: role.into(),
            role_label: String::new(),
            scope: None,
        }
    }

    #[test]
    fn only_an_administrator_makes_administrators() {
        assert!(roles_for(&me("admin")).iter().any(|(c, _)| *c == "admin"));
        assert!(
            !roles_for(&me("pole_manager"))
                .iter()
                .any(|(c, _)| *c == "admin")
        );
    }

    #[test]
    fn an_erased_holder_shows_no_address() {
        let r = row(&json!({
            "id": "u1", "roleLabel": "juré", "active": false,
            "person": { "displayName": "donnée effacée", "email": "donnée effacée", "erased": true }
        }));
        assert!(r.erased && r.email.is_none() && !r.active);
    }
}

//! `GET /`: the sign-in page for a visitor; for a signed-in user, the first page of their
//! role.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};

use crate::Pages;
use crate::session::Session;

/// The signed-in user, as `me` gives it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// Absent when a page's query did not ask for it.
    #[serde(default)]
    pub id: String,
    pub role: String,
    pub role_label: String,
    pub scope: Option<String>,
}

impl Me {
    pub const FIELDS: &str = "me { id role roleLabel scope }";

    /// The roles the dashboard is for: the academy's and the departments'.
    pub fn sees_dashboard(&self) -> bool {
        matches!(
            self.role.as_str(),
            "admin" | "pole_manager" | "department_referent"
        )
    }
}

pub async fn home(State(pages): State<Pages>, jar: CookieJar) -> Response {
    let Some(session) = Session::of(&jar) else {
        return Redirect::to("/connexion").into_response();
    };
    let me = match crate::common::me(&pages, &session).await {
        Ok(me) => me,
        Err(error) => return pages.templates.api_error(error, "/"),
    };
    if me.sees_dashboard() {
        return Redirect::to("/tableau-de-bord").into_response();
    }
    if me.role == "juror" {
        return Redirect::to("/jury").into_response();
    }
    pages.templates.render(
        StatusCode::OK,
        "home.html",
        minijinja::context! {
            title => "Accueil",
            me => minijinja::value::Serde(&me),
            csrf => session.csrf(),
        },
    )
}

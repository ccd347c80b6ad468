//! Signing in and out, the session a page is asked with, and the CSRF tokens of forms.
//!
//! The session is the API's own cookie (`pharos_session`, HttpOnly, SameSite=Strict):
//! the pages forward its token to the API. Each form carries a CSRF token the page
//! derived from that token: a page of another site can neither read the cookie nor
//! compute the token. The sign-in form, sent before any session, carries the value of a
//! `pharos_csrf` cookie of its own instead (a double-submitted token).

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use pharos_access::{SESSION_COOKIE, session_cookie};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::Pages;
use crate::api::ApiError;

/// The cookie of the CSRF token of the forms sent before any session (sign in, forgotten
/// password, new password).
const ANONYMOUS_CSRF_COOKIE: &str = "pharos_csrf";

/// Where a signed-in user lands by default: the home page sends each role to its own
/// first page.
const HOME: &str = "/";

/// The session token a page request carries, if any.
pub struct Session {
    pub token: String,
}

impl Session {
    pub fn of(jar: &CookieJar) -> Option<Self> {
        jar.get(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|t| !t.is_empty())
            .map(|token| Self { token })
    }

    /// The CSRF token of this session's forms.
    pub fn csrf(&self) -> String {
        let digest = Sha256::digest(format!("pharos-csrf:{}", self.token));
        format!("{digest:x}")[..32].to_owned()
    }

    /// Whether a form's token is this session's.
    pub fn accepts(&self, csrf: &str) -> bool {
        constant_time_eq(self.csrf().as_bytes(), csrf.as_bytes())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The sign-in page, coming back to `here` once signed in.
pub fn to_login(here: &str) -> Response {
    Redirect::to(&format!("/connexion?suite={}", encode(here))).into_response()
}

fn encode(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Only a path of this site: never `//other.example` nor `https://…` (an open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path
        }
        _ => HOME,
    }
}

#[derive(Deserialize)]
pub struct Next {
    suite: Option<String>,
    /// `mot-de-passe`: coming back from choosing a password.
    fait: Option<String>,
}

/// `GET /connexion`.
pub async fn login_form(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(next): Query<Next>,
) -> Response {
    let csrf = anonymous_csrf(&jar);
    let mut page = login_page(
        &pages,
        StatusCode::OK,
        &csrf,
        safe_next(next.suite.as_deref()),
        "",
        Errors::default(),
    );
    if next.fait.as_deref() == Some("mot-de-passe") {
        page = pages.templates.render(
            StatusCode::OK,
            "login.html",
            minijinja::context! {
                title => "Connexion",
                csrf => csrf.clone(),
                next => HOME,
                email => "",
                errors => minijinja::value::Serde(Errors::default()),
                done => true,
            },
        );
        keep_anonymous_csrf(&mut page, &csrf, pages.secure_cookies);
    }
    page
}

#[derive(Default, serde::Serialize)]
struct Errors {
    email: Option<String>,
    password: Option<String>,
    form: Option<String>,
}

fn login_page(
    pages: &Pages,
    status: StatusCode,
    csrf: &str,
    next: &str,
    email: &str,
    errors: Errors,
) -> Response {
    let mut response = pages.templates.render(
        status,
        "login.html",
        minijinja::context! {
            title => "Connexion",
            csrf,
            next,
            email,
            errors => minijinja::value::Serde(&errors),
        },
    );
    keep_anonymous_csrf(&mut response, csrf, pages.secure_cookies);
    response
}

/// The token of the forms sent before any session: the browser's, else a fresh one
/// (then [`keep_anonymous_csrf`] gives it to the browser with the page).
pub fn anonymous_csrf(jar: &CookieJar) -> String {
    jar.get(ANONYMOUS_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 64)
        .unwrap_or_else(fresh_token)
}

/// Gives the browser the token of the forms sent before any session, with the page.
pub fn keep_anonymous_csrf(response: &mut Response, csrf: &str, secure: bool) {
    let cookie = format!(
        "{ANONYMOUS_CSRF_COOKIE}={csrf}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Whether a form sent before any session carries the browser's token.
pub fn anonymous_form_is_ours(jar: &CookieJar, csrf: &str) -> bool {
    jar.get(ANONYMOUS_CSRF_COOKIE)
        .is_some_and(|c| constant_time_eq(c.value().as_bytes(), csrf.as_bytes()))
}

/// 64 hexadecimal characters from the operating system's random source (the random bits
/// of two UUIDs v4).
fn fresh_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    suite: Option<String>,
}

/// `POST /connexion`.
pub async fn login(
    State(pages): State<Pages>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.suite.as_deref());
    if !anonymous_form_is_ours(&jar, &form.csrf) {
        return login_page(
            &pages,
            StatusCode::FORBIDDEN,
            &fresh_token(),
            next,
            &form.email,
            Errors {
                form: Some(
                    "Le formulaire a expiré ou ne vient pas de Pharos : saisissez à nouveau \
                     vos identifiants."
                        .into(),
                ),
                ..Errors::default()
            },
        );
    }
    let email = form.email.trim();
    let errors = Errors {
        email: email
            .is_empty()
            .then(|| "Saisissez votre adresse électronique.".to_owned()),
        password: form
            .password
            .is_empty()
            .then(|| "Saisissez votre mot de passe.".to_owned()),
        form: None,
    };
    if errors.email.is_some() || errors.password.is_some() {
        return login_page(
            &pages,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.csrf,
            next,
            email,
            errors,
        );
    }
    match pages.api.login(email, &form.password).await {
        Ok(signed_in) => {
            let max_age = (signed_in.expires_at - pages.clock.now())
                .num_seconds()
                .max(0);
            let mut headers = HeaderMap::new();
            for cookie in [
                session_cookie(&signed_in.token, max_age, pages.secure_cookies),
                // The anonymous forms' token has served.
                format!("{ANONYMOUS_CSRF_COOKIE}=; Path=/; Max-Age=0"),
            ] {
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    headers.append(header::SET_COOKIE, value);
                }
            }
            (headers, Redirect::to(next)).into_response()
        }
        Err(ApiError::Refused { status, detail, .. }) => login_page(
            &pages,
            status,
            &form.csrf,
            next,
            email,
            Errors {
                form: Some(detail),
                ..Errors::default()
            },
        ),
        Err(error) => pages.templates.api_error(error, next),
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /deconnexion`: forgets the session cookie.
pub async fn logout(
    State(pages): State<Pages>,
    jar: CookieJar,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let Some(session) = Session::of(&jar)
        && !session.accepts(&form.csrf)
    {
        return pages.templates.error(
            StatusCode::FORBIDDEN,
            "Déconnexion refusée",
            "Ce formulaire ne vient pas de Pharos ou a expiré. Rechargez la page, puis \
             cliquez à nouveau sur « Se déconnecter ».",
        );
    }
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&session_cookie("", 0, pages.secure_cookies)) {
        headers.insert(header::SET_COOKIE, value);
    }
    (headers, Redirect::to("/connexion")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/tableau-de-bord?departement=31")),
            "/tableau-de-bord?departement=31"
        );
        assert_eq!(safe_next(Some("//evil.example/")), HOME);
        assert_eq!(safe_next(Some("https://evil.example/")), HOME);
        assert_eq!(safe_next(Some("/\\evil.example")), HOME);
        assert_eq!(safe_next(None), HOME);
    }

    #[test]
    fn a_csrf_token_belongs_to_its_session() {
        let one = Session { token: "a".into() };
        let other = Session { token: "b".into() };
        assert!(one.accepts(&one.csrf()));
        assert!(!one.accepts(&other.csrf()));
        assert!(!one.accepts(""));
    }
}

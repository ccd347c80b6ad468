//! The account pages: one's account and password change (`/compte`), the forgotten
//! password (`/mot-de-passe-oublie`) and the page the reset mails link to
//! (`/reinitialiser-mot-de-passe#jeton=…`: the token rides in the fragment, which no
//! server log or `Referer` sees; `account.js` moves it into the form).

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Pages;
use crate::api::ApiError;
use crate::common::me;
use crate::home::Me;
use crate::session::{Session, anonymous_csrf, anonymous_form_is_ours, keep_anonymous_csrf};

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/compte", get(account).post(change_password))
        .route("/mot-de-passe-oublie", get(forgotten_form).post(forgotten))
        .route("/reinitialiser-mot-de-passe", get(reset_form).post(reset))
}

/// The API's minimum, said before it is asked.
const MIN_PASSWORD: usize = 12;

/// Errors by field (`""`: the whole form).
#[derive(Default, Serialize)]
struct Errors {
    current: Option<String>,
    new: Option<String>,
    confirm: Option<String>,
    email: Option<String>,
    form: Option<String>,
}

impl Errors {
    fn any(&self) -> bool {
        self.current.is_some()
            || self.new.is_some()
            || self.confirm.is_some()
            || self.email.is_some()
            || self.form.is_some()
    }
}

/// The new password's own rules: long enough, typed twice alike.
fn check_new(new: &str, confirm: &str, errors: &mut Errors) {
    if new.chars().count() < MIN_PASSWORD {
        errors.new = Some(format!(
            "Choisissez un mot de passe d'au moins {MIN_PASSWORD} caractères."
        ));
    } else if new != confirm {
        errors.confirm = Some("Les deux saisies du nouveau mot de passe diffèrent.".into());
    }
}

/// The API's refusal of a password, placed next to the field it names.
fn place(errors: &mut Errors, detail: String, fields: Vec<(String, String)>) {
    for (field, message) in fields {
        match field.as_str() {
            "current_password" => errors.current = Some(message),
            "new_password" | "password" => errors.new = Some(message),
            "email" => errors.email = Some(message),
            _ => {}
        }
    }
    if !errors.any() {
        errors.form = Some(detail);
    }
}

#[derive(Deserialize)]
struct Done {
    fait: Option<String>,
}

fn account_page(
    pages: &Pages,
    status: StatusCode,
    me: &Me,
    session: &Session,
    errors: &Errors,
    done: bool,
) -> Response {
    pages.templates.render(
        status,
        "account.html",
        minijinja::context! {
            title => "Mon compte",
            active => "account",
            me => Serde(me),
            csrf => session.csrf(),
            errors => Serde(errors),
            done,
        },
    )
}

/// `GET /compte`.
async fn account(State(pages): State<Pages>, jar: CookieJar, Query(done): Query<Done>) -> Response {
    let Some(session) = Session::of(&jar) else {
        return crate::session::to_login("/compte");
    };
    match me(&pages, &session).await {
        Ok(me) => account_page(
            &pages,
            StatusCode::OK,
            &me,
            &session,
            &Errors::default(),
            done.fait.as_deref() == Some("mot-de-passe"),
        ),
        Err(error) => pages.templates.api_error(error, "/compte"),
    }
}

#[derive(Deserialize)]
struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /compte`: the password change.
async fn change_password(
    State(pages): State<Pages>,
    jar: CookieJar,
    Form(form): Form<ChangeForm>,
) -> Response {
    let Some(session) = Session::of(&jar) else {
        return crate::session::to_login("/compte");
    };
    if !session.accepts(&form.csrf) {
        return pages.templates.error(
            StatusCode::FORBIDDEN,
            "Formulaire refusé",
            "Ce formulaire ne vient pas de Pharos ou a expiré. Rechargez la page, puis \
             saisissez à nouveau vos mots de passe.",
        );
    }
    let me = match me(&pages, &session).await {
        Ok(me) => me,
        Err(error) => return pages.templates.api_error(error, "/compte"),
    };
    let mut errors = Errors::default();
    if form.current.is_empty() {
        errors.current = Some("Saisissez votre mot de passe actuel.".into());
    }
    check_new(&form.new, &form.confirm, &mut errors);
    if errors.any() {
        return account_page(
            &pages,
            StatusCode::UNPROCESSABLE_ENTITY,
            &me,
            &session,
            &errors,
            false,
        );
    }
    let body = json!({ "current_password": form.current, "new_password": form.new });
    match pages
        .api
        .command(
            &session.token,
            reqwest::Method::POST,
            "/api/v1/me/password",
            &body,
        )
        .await
    {
        Ok(_) => Redirect::to("/compte?fait=mot-de-passe").into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) if status.is_client_error() => {
            place(&mut errors, detail, fields);
            account_page(&pages, status, &me, &session, &errors, false)
        }
        Err(error) => pages.templates.api_error(error, "/compte"),
    }
}

fn anonymous_page(
    pages: &Pages,
    status: StatusCode,
    template: &str,
    title: &str,
    csrf: &str,
    context: minijinja::Value,
) -> Response {
    let mut response = pages.templates.render(
        status,
        template,
        minijinja::context! { title, csrf, ..context },
    );
    keep_anonymous_csrf(&mut response, csrf, pages.secure_cookies);
    response
}

/// `GET /mot-de-passe-oublie`.
async fn forgotten_form(State(pages): State<Pages>, jar: CookieJar) -> Response {
    let csrf = anonymous_csrf(&jar);
    anonymous_page(
        &pages,
        StatusCode::OK,
        "forgotten.html",
        "Mot de passe oublié",
        &csrf,
        minijinja::context! { errors => Serde(Errors::default()), sent => false, email => "" },
    )
}

#[derive(Deserialize)]
struct ForgottenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// `POST /mot-de-passe-oublie`: asks for a link; the answer is the same whether the
/// address is an account's or not (nobody learns who has one).
async fn forgotten(
    State(pages): State<Pages>,
    jar: CookieJar,
    Form(form): Form<ForgottenForm>,
) -> Response {
    let csrf = anonymous_csrf(&jar);
    let email = form.email.trim().to_owned();
    let mut errors = Errors::default();
    if !anonymous_form_is_ours(&jar, &form.csrf) {
        errors.form = Some(
            "Le formulaire a expiré ou ne vient pas de Pharos : saisissez à nouveau votre adresse."
                .into(),
        );
    } else if email.is_empty() {
        errors.email = Some("Saisissez l'adresse électronique de votre compte.".into());
    }
    let status = if errors.form.is_some() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    if errors.any() {
        return anonymous_page(
            &pages,
            status,
            "forgotten.html",
            "Mot de passe oublié",
            &csrf,
            minijinja::context! { errors => Serde(&errors), sent => false, email },
        );
    }
    match pages
        .api
        .public_post("/api/v1/auth/password-reset", &json!({ "email": email }))
        .await
    {
        Ok(_) => anonymous_page(
            &pages,
            StatusCode::OK,
            "forgotten.html",
            "Mot de passe oublié",
            &csrf,
            minijinja::context! { errors => Serde(&errors), sent => true, email },
        ),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) if status.is_client_error() => {
            place(&mut errors, detail, fields);
            anonymous_page(
                &pages,
                status,
                "forgotten.html",
                "Mot de passe oublié",
                &csrf,
                minijinja::context! { errors => Serde(&errors), sent => false, email },
            )
        }
        Err(error) => pages.templates.api_error(error, "/mot-de-passe-oublie"),
    }
}

/// `GET /reinitialiser-mot-de-passe`: the token is in the fragment, read by the page's
/// script.
async fn reset_form(State(pages): State<Pages>, jar: CookieJar) -> Response {
    let csrf = anonymous_csrf(&jar);
    anonymous_page(
        &pages,
        StatusCode::OK,
        "reset.html",
        "Choisir un mot de passe",
        &csrf,
        minijinja::context! { errors => Serde(Errors::default()) },
    )
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    jeton: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /reinitialiser-mot-de-passe`.
async fn reset(
    State(pages): State<Pages>,
    jar: CookieJar,
    Form(form): Form<ResetForm>,
) -> Response {
    let csrf = anonymous_csrf(&jar);
    let mut errors = Errors::default();
    if !anonymous_form_is_ours(&jar, &form.csrf) {
        errors.form = Some(
            "Le formulaire a expiré ou ne vient pas de Pharos : rouvrez le lien reçu par courriel."
                .into(),
        );
    } else if form.jeton.trim().is_empty() {
        errors.form = Some(
            "Le lien de réinitialisation est incomplet : ouvrez-le tel quel depuis le courriel \
             reçu, dans un navigateur où JavaScript est activé."
                .into(),
        );
    } else {
        check_new(&form.new, &form.confirm, &mut errors);
    }
    let page = |status, errors: &Errors| {
        anonymous_page(
            &pages,
            status,
            "reset.html",
            "Choisir un mot de passe",
            &csrf,
            minijinja::context! { errors => Serde(errors) },
        )
    };
    if errors.any() {
        let status = if errors.form.is_some() && !anonymous_form_is_ours(&jar, &form.csrf) {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return page(status, &errors);
    }
    let body = json!({ "token": form.jeton.trim(), "password": form.new });
    match pages.api.public_post("/api/v1/password-reset", &body).await {
        Ok(_) => Redirect::to("/connexion?fait=mot-de-passe").into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) if status.is_client_error() => {
            place(&mut errors, detail, fields);
            page(status, &errors)
        }
        Err(error) => pages
            .templates
            .api_error(error, "/reinitialiser-mot-de-passe"),
    }
}

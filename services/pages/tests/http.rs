//! The pages through the real application on both backends: a browser's requests (a
//! cookie, forms, no redirects followed) against every target served on a real port.
#![allow(clippy::unwrap_used)]

#[path = "http/account.rs"]
mod account;
#[path = "http/actions.rs"]
mod actions;
#[path = "http/audit.rs"]
mod audit;
#[path = "http/cohorts.rs"]
mod cohorts;
#[path = "http/contest.rs"]
mod contest;
#[path = "http/contest_pole.rs"]
mod contest_pole;
#[path = "http/jury.rs"]
mod jury;
#[path = "http/labels.rs"]
mod labels;
#[path = "http/lagging.rs"]
mod lagging;
#[path = "http/partners.rs"]
mod partners;
#[path = "http/phare.rs"]
mod phare;
#[path = "http/reminders.rs"]
mod reminders;
#[path = "http/school_actions.rs"]
mod school_actions;
#[path = "http/trainings.rs"]
mod trainings;
#[path = "http/users.rs"]
mod users;

use std::time::{Duration, Instant};

use pharos_events::phare::SchoolYear;
use pharos_test_support::{ADMIN, Client, PASSWORD, TestApp, TestDb, on_both_backends};
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, redirect};
use serde_json::{Value, json};

const COLLEGE_31: &str = "0310001H";
const LYCEE_31: &str = "0310002J";
const COLLEGE_32: &str = "0320001C";

/// A browser: keeps the cookies it is given by hand, follows no redirect.
pub(crate) struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The value of the hidden input `name` of the page's (first) form holding it.
    pub(crate) fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {}", self.body))
            + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Self {
        Self {
            base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub(crate) async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let origin = self.base.clone();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::ORIGIN, origin)
            .form(form);
        self.send(request).await
    }

    pub(crate) async fn sign_in(&mut self, email: &str) -> Page {
        let form = self.get("/connexion").await;
        let csrf = form.hidden("csrf");
        self.post_form(
            "/connexion",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("suite", "/tableau-de-bord"),
            ],
        )
        .await
    }
}

pub(crate) fn assert_strict_page(page: &Page) {
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(page.headers[header::REFERRER_POLICY], "same-origin");
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    // Nothing inline: every script is a file of Pharos's.
    assert!(!page.body.contains("<script>"), "an inline script");
    assert!(!page.body.contains(" style=\""), "an inline style");
    assert!(!page.body.contains("https://"), "an address elsewhere");
}

async fn signing_in_and_out_goes_through_the_forms_with_their_csrf_tokens(db: TestDb) {
    let app = TestApp::builder(db).targets(&["all"]).start().await;
    let mut browser = Browser::new(&app);

    // A visitor is sent to the sign-in page, which comes back where they were going.
    let home = browser.get("/tableau-de-bord?departement=31").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(
        home.location(),
        "/connexion?suite=/tableau-de-bord%3Fdepartement%3D31"
    );
    let form = browser.get("/connexion").await;
    assert_eq!(form.status, StatusCode::OK);
    assert_strict_page(&form);
    assert!(form.body.contains("<h1>Connexion à Pharos</h1>"));
    assert!(form.body.contains("<html lang=\"fr\""));

    // A form without the token of its cookie is refused.
    let forged = browser
        .post_form(
            "/connexion",
            &[("email", ADMIN), ("password", PASSWORD), ("csrf", "0")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("Le formulaire a expiré"));

    // Empty fields are named next to their input; a wrong password says so in French.
    let csrf = browser.get("/connexion").await.hidden("csrf");
    let empty = browser
        .post_form(
            "/connexion",
            &[("email", ""), ("password", ""), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .body
            .contains("id=\"email-erreur\">Saisissez votre adresse électronique.</p>")
    );
    assert!(
        empty
            .body
            .contains("id=\"password-erreur\">Saisissez votre mot de passe.</p>")
    );
    let wrong = browser
        .post_form(
            "/connexion",
            &[
                ("email", ADMIN),
                ("password", "pas le bon"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("mot de passe incorrect"),
        "{}",
        wrong.body
    );
    assert!(!browser.cookies.iter().any(|(k, _)| k == "pharos_session"));

    // Signed in: the session cookie is HttpOnly and SameSite=Strict, then the dashboard.
    let signed_in = browser.sign_in(ADMIN).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(signed_in.location(), "/tableau-de-bord");
    let session = signed_in
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("pharos_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let dashboard = browser.get("/tableau-de-bord").await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
    assert_strict_page(&dashboard);

    // Signing out needs the session's own token.
    let refused = browser
        .post_form("/deconnexion", &[("csrf", "pas-le-bon")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let csrf = dashboard.hidden("csrf");
    let out = browser.post_form("/deconnexion", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/connexion");
    assert!(!browser.cookies.iter().any(|(k, _)| k == "pharos_session"));
    assert_eq!(
        browser.get("/tableau-de-bord").await.status,
        StatusCode::SEE_OTHER
    );
    app.finish().await;
}

async fn a_cookie_carried_from_another_site_is_refused_on_every_unsafe_request(db: TestDb) {
    let app = TestApp::builder(db).targets(&["all"]).start().await;
    let admin = app.admin().await;
    let http = reqwest::Client::new();
    let cookie = format!("pharos_session={}", admin.token());
    let body = json!({ "email": "x@ac-toulouse.fr", "display_name": "X", "role": "pole_manager" });
    // From another site's page: refused before anything is appended.
    let before = app.events().await;
    for origin in ["https://evil.example", "null"] {
        let response = http
            .post(format!("{}/api/v1/users", app.base))
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, origin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .ends_with("foreign-origin"),
            "{problem}"
        );
    }
    assert_eq!(app.events().await, before);
    // The same request from Pharos's own pages, or with a bearer token, goes through.
    let response = http
        .post(format!("{}/api/v1/users", app.base))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, &app.base)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // Every answer, API or page, carries the browser headers.
    for path in ["/healthz", "/api/v1/me", "/connexion", "/nulle-part"] {
        let response = http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin", "{path}");
    }
    app.finish().await;
}

pub(crate) async fn created(client: &Client, path: &str, body: Value) -> String {
    let (status, answer) = client.post(path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
    answer["id"].as_str().unwrap().to_owned()
}

/// Asks `path` until its page contains `text`, for at most ten seconds (the projector
/// follows the log).
pub(crate) async fn until(browser: &mut Browser, path: &str, text: &str) -> Page {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = browser.get(path).await;
        if page.body.contains(text) || Instant::now() > deadline {
            assert!(
                page.body.contains(text),
                "{text} never shown on {path}:\n{}",
                page.body
            );
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn the_dashboard_shows_the_indicators_in_scope_then_and_now(db: TestDb) {
    let app = TestApp::builder(db).targets(&["all"]).start().await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(LYCEE_31, "lycee_gt", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let year = SchoolYear::containing(today);
    let deployment = created(
        &manager,
        "/api/v1/phare/deployments",
        json!({ "school_year": year.to_string(), "school_uai": COLLEGE_31 }),
    )
    .await;
    for n in 0..5 {
        created(
            &manager,
            &format!("/api/v1/phare/deployments/{deployment}/team-members"),
            json!({
                "person": { "display_name": format!("Membre {n}"), "email": format!("membre{n}@ac-toulouse.fr") },
                "function": "enseignant", "trained": true, "training_minutes": 720, "mpp_trained": false
            }),
        )
        .await;
    }

    // The pole: the academy, one of three collèges and lycées with a trained team.
    let mut pole = Browser::new(&app);
    pole.sign_in(&manager.email).await;
    let page = until(&mut pole, "/tableau-de-bord", "1 sur 3").await;
    assert!(page.body.contains("Académie de Toulouse · année scolaire"));
    assert!(page.body.contains("33,3\u{a0}%"));
    assert!(page.body.contains("31 – Haute-Garonne"));
    assert!(
        page.body
            .contains("<map-chart data=\"{&quot;31&quot;:50.0,&quot;32&quot;:0.0}\""),
        "{}",
        page.body
    );
    for title in [
        "1. Équipes ressources formées",
        "2. Élèves et parents ambassadeurs",
        "3. Labels pHARe",
        "4. Étapes du programme pHARe",
        "5. Journée nationale « Non au harcèlement »",
        "6. Concours « Non au harcèlement »",
        "7. Formations",
        "8. Retards",
    ] {
        assert!(page.body.contains(title), "{title}");
    }
    assert!(
        page.body.contains("data-subscription="),
        "live while today's"
    );
    assert!(page.body.contains(&format!(
        "/api/v1/exports/dashboard.xlsx?school_year={year}"
    )));
    // One department; the indicators alone, as the live refresh asks them.
    let page = pole
        .get("/tableau-de-bord/indicateurs?departement=32")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.starts_with("<div id=\"indicateurs\""));
    assert!(page.body.contains("0 sur 1"), "{}", page.body);
    // Yesterday the team was not declared: the figures as they were, and no live refresh.
    let yesterday = (today - chrono::Days::new(1))
        .format("%Y-%m-%d")
        .to_string();
    let page = pole
        .get(&format!("/tableau-de-bord?date={yesterday}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Chiffres tels qu'ils étaient le"));
    assert!(
        page.body.contains("0 sur 3") && !page.body.contains("1 sur 3"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("data-subscription="));
    assert!(page.body.contains("&amp;as_of=") || page.body.contains("&as_of="));

    // Wrong filters are named next to their field, with no figures.
    let page = pole
        .get("/tableau-de-bord?departement=75&date=2999-01-01")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("id=\"departement-erreur\">« 75 » n&#x27;est pas un département"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("id=\"date-erreur\">Cette date est dans le futur")
    );
    assert!(!page.body.contains("id=\"indicateurs\""));

    // A referent sees her department's dashboard, without the department filter, and
    // cannot ask another department's.
    let referent = app.user("department_referent", Some("32")).await;
    let mut department = Browser::new(&app);
    department.sign_in(&referent.email).await;
    let page = until(&mut department, "/tableau-de-bord", "0 sur 1").await;
    assert!(page.body.contains("32 – Gers · année scolaire"));
    assert!(!page.body.contains("id=\"departement\""));
    let page = department.get("/tableau-de-bord?departement=31").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);

    // A school has no dashboard: its home page says so.
    let school = app.user("school", Some(COLLEGE_31)).await;
    let mut its = Browser::new(&app);
    its.sign_in(&school.email).await;
    let home = its.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Bienvenue dans Pharos"));
    assert_eq!(
        its.get("/tableau-de-bord").await.status,
        StatusCode::FORBIDDEN
    );
    app.finish().await;
}

async fn the_embedded_assets_are_served_for_a_year_with_their_type(db: TestDb) {
    let app = TestApp::builder(db).targets(&["pages"]).start().await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/connexion").await;
    let end = page
        .body
        .find("/dsfr/dsfr.min.css\"")
        .unwrap_or_else(|| panic!("{}", page.body));
    let start = page.body[..end].rfind('"').unwrap() + 1;
    let css = format!("{}/dsfr/dsfr.min.css", &page.body[start..end]);
    assert!(css.starts_with("/assets/"), "{css}");
    assert!(css.ends_with("/dsfr/dsfr.min.css"), "{css}");
    let response = reqwest::get(format!("{}{css}", app.base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/css");
    assert!(
        response.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    // The fonts the style sheet names are there too.
    let sheet = response.text().await.unwrap();
    let font = sheet.split("url(").find(|u| u.contains(".woff2")).unwrap();
    let font = font.split(')').next().unwrap().trim_matches(['"', '\'']);
    let base = css.trim_end_matches("dsfr.min.css");
    let response = reqwest::get(format!("{}{base}{font}", app.base))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{font}");
    let missing = reqwest::get(format!("{}/assets/0/nulle-part.js", app.base))
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    app.finish().await;
}

on_both_backends!(
    "pages";
    signing_in_and_out_goes_through_the_forms_with_their_csrf_tokens,
    a_cookie_carried_from_another_site_is_refused_on_every_unsafe_request,
    the_dashboard_shows_the_indicators_in_scope_then_and_now,
    the_embedded_assets_are_served_for_a_year_with_their_type,
);

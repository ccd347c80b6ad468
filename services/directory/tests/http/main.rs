//! The directory target through the real application (`pharos_test_support::TestApp`),
//! on a real port, with a real HTTP client, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use pharos_access::{Access, Reference, TargetState, TokenKeys};
use pharos_decider::SystemClock;
use pharos_directory::Directory;
use pharos_events::Academy;
use pharos_eventstore::{EventStore, StoreOptions, on_db};
use pharos_privacy::{MasterKey, Vault};
use pharos_test_support::{ADMIN, Client, PASSWORD, TestApp, TestAppBuilder, TestDb, rule};
use pharos_web::{AppState, HttpSettings};

mod grants;
mod reset;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A collège of Haute-Garonne (0310001 mod 23 = 7 → H) and one of Gers.
const UAI_31: &str = "0310001H";
const UAI_32: &str = "0320001C";
/// The import limit of `unreadable_or_oversized_files_import_nothing`.
const UPLOAD_LIMIT: usize = 256 * 1024;

/// The application serving `directory` only.
fn builder(db: TestDb) -> TestAppBuilder {
    TestApp::builder(db).targets(&["directory"])
}

/// Sends `request`: the status and the JSON answer (`Null` when it is not JSON).
async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A login attempt, whatever its outcome (`TestApp::login` insists on success).
async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.anonymous()
        .request(Method::POST, "/api/v1/auth/login")
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

/// A pole manager, logged in: the role that manages schools, personal data and every
/// partner (the administrator manages accounts only).
async fn manager(app: &TestApp) -> Client {
    app.user("pole_manager", None).await
}

/// Registers a collège as `manager`.
async fn register_school(manager: &Client, uai: &str, department: &str) {
    let (status, body) = manager
        .post("/api/v1/schools", school(uai, department))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Everything stored, as text: for checking what is (not) in clear.
async fn stored_text(app: &TestApp) -> String {
    let rows: Vec<String> = on_db!(app.store.db(), |pool| sqlx::query_scalar(
        "SELECT CAST(data AS TEXT) FROM events"
    )
    .fetch_all(&pool)
    .await)
    .unwrap();
    rows.join("\n")
}

fn school(uai: &str, department: &str) -> Value {
    json!({
        "uai": uai, "name": format!("Collège {uai}"), "kind": "college", "sector": "public",
        "department": department, "commune": "Toulouse", "priority_education": "none"
    })
}

fn uai(department: u32, n: u32) -> String {
    let digits = format!("{department:03}{n:04}");
    let letter = pharos_events::Uai::check_letter(&digits) as char;
    format!("{digits}{letter}")
}

// ---------------------------------------------------------------------------------

async fn login_issues_a_token_and_a_cookie_that_every_route_accepts(db: TestDb) {
    let app = builder(db).start().await;
    let response = login(&app, "  ADMIN@ac-toulouse.fr ", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("pharos_session="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], ADMIN);
    assert_eq!(body["user"]["role"], "admin");
    assert!(body["expires_at"].as_str().unwrap() > "2026");
    let mut admin = app.anonymous();
    admin.token = Some(body["token"].as_str().unwrap().to_owned());

    let (status, me) = admin.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["email"].as_str(), me["display_name"].as_str()),
        (Some(ADMIN), Some("Administrateur"))
    );

    let session = cookie.split(';').next().unwrap();
    let (status, me) = send(
        app.anonymous()
            .request(Method::GET, "/api/v1/me")
            .header("cookie", session),
    )
    .await;
    assert_eq!(
        (status, me["role"].as_str()),
        (StatusCode::OK, Some("admin"))
    );

    let mut forged = app.anonymous();
    forged.token = Some("abc.def.ghi".into());
    for (client, why) in [(app.anonymous(), "sans jeton"), (forged, "jeton forgé")] {
        let (status, body) = client.get("/api/v1/me").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}");
        assert_eq!(rule(&body), "unauthorized");
    }

    let response = app
        .anonymous()
        .request(Method::POST, "/api/v1/auth/logout")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    app.finish().await;
}

async fn wrong_password_and_unknown_email_get_the_same_answer_then_429(db: TestDb) {
    let app = builder(db).start().await;
    let wrong = login(&app, ADMIN, "pas-le-bon-mot-de-passe").await;
    let unknown = login(&app, "personne@ac-toulouse.fr", PASSWORD).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let (wrong, unknown): (Value, Value) =
        (wrong.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(
        wrong, unknown,
        "the answers must not tell which one was wrong"
    );
    assert_eq!(
        wrong["detail"],
        "Adresse électronique ou mot de passe incorrect."
    );

    // Four more failures make five for the account: the sixth attempt is refused, even
    // with the right password, and says when to come back.
    for _ in 0..4 {
        assert_eq!(
            login(&app, ADMIN, "encore-faux-encore").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = login(&app, ADMIN, PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let body: Value = locked.json().await.unwrap();
    assert_eq!(rule(&body), "too-many-attempts");

    // Per client address: 20 failures from here, whatever the accounts, lock the address.
    for i in 0..14 {
        let status = login(&app, &format!("inconnu{i}@ac-toulouse.fr"), "x-x-x-x-x-x-x")
            .await
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "failure {i}");
    }
    let status = login(&app, "encore.un@ac-toulouse.fr", "x-x-x-x-x-x-x")
        .await
        .status();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.finish().await;
}

async fn behind_a_proxy_failures_count_per_forwarded_client(db: TestDb) {
    let app = builder(db)
        .configure(|raw| raw.trust_forwarded_for = true)
        .start()
        .await;
    let attempt = |client: &'static str, email: String| {
        app.anonymous()
            .request(Method::POST, "/api/v1/auth/login")
            // The proxy appends the address it saw; what the client sent before is ignored.
            .header("x-forwarded-for", format!("10.9.9.9, {client}"))
            .json(&json!({ "email": email, "password": "x-x-x-x-x-x-x" }))
            .send()
    };
    for i in 0..20 {
        assert_eq!(
            attempt("203.0.113.7", format!("u{i}@ac-toulouse.fr"))
                .await
                .unwrap()
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = attempt("203.0.113.7", "v@ac-toulouse.fr".into())
        .await
        .unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let other = attempt("198.51.100.4", "v@ac-toulouse.fr".into())
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::UNAUTHORIZED,
        "another client behind the same proxy is not locked out"
    );
    app.finish().await;
}

async fn a_deactivated_or_erased_account_cannot_log_in_and_its_tokens_stop(db: TestDb) {
    let app = builder(db).start().await;
    let manager = manager(&app).await;
    register_school(&manager, UAI_31, "31").await;
    let school = app
        .user_with_email("college@ac-toulouse.fr", "school", Some(UAI_31))
        .await;
    let trainer = app
        .user_with_email("formatrice@ac-toulouse.fr", "trainer", None)
        .await;
    assert_eq!(school.get("/api/v1/me").await.0, StatusCode::OK);

    let (status, body) = manager
        .post(
            &format!("/api/v1/users/{}/deactivate", school.id),
            json!({"reason": "départ"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = school.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["detail"].as_str().unwrap().contains("désactivé"));
    let response = login(&app, "college@ac-toulouse.fr", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let before = app.events().await;
    let (status, _) = manager
        .post(
            &format!("/api/v1/users/{}/deactivate", school.id),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(app.events().await, before);

    let (status, body) = manager
        .post(
            "/api/v1/people/erase",
            json!({"email": "formatrice@ac-toulouse.fr", "reason": "demande de la personne"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(trainer.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        login(&app, "formatrice@ac-toulouse.fr", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    app.finish().await;
}
/// One command of the matrix: how to send it, and who may.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    body: Value,
    allowed: &'static [&'static str],
    created: bool,
}

async fn every_role_in_and_out_of_scope_for_every_command(db: TestDb) {
    let app = builder(db).start().await;
    let manager = manager(&app).await;
    register_school(&manager, UAI_31, "31").await;
    register_school(&manager, UAI_32, "32").await;
    let actors: Vec<(&str, Client)> = vec![
        ("anonymous", app.anonymous()),
        ("admin", app.admin().await),
        ("pole_manager", manager.clone()),
        (
            "department_referent",
            app.user("department_referent", Some("31")).await,
        ),
        ("school", app.user("school", Some(UAI_31)).await),
        ("juror", app.user("juror", None).await),
        ("trainer", app.user("trainer", None).await),
    ];

    // Subjects the commands act on, made by the pole beforehand.
    let partner = |department: Option<&str>, n: usize| {
        json!({
            "name": format!("Partenaire {n}"), "kind": "association",
            "scope": if department.is_some() { "department" } else { "national" },
            "department": department, "description": "Écoute et accompagnement",
            "phones": ["05 61 00 00 00"]
        })
    };
    let (_, p31) = manager
        .post("/api/v1/partners", partner(Some("31"), 0))
        .await;
    let (_, p32) = manager
        .post("/api/v1/partners", partner(Some("32"), 0))
        .await;
    let (p31, p32) = (
        p31["id"].as_str().unwrap().to_owned(),
        p32["id"].as_str().unwrap().to_owned(),
    );
    let (_, person) = manager
        .post(
            "/api/v1/users",
            json!({"email": "x@ac-toulouse.fr", "display_name": "X", "role": "trainer"}),
        )
        .await;
    let person = person["id"].as_str().unwrap().to_owned();
    let (_, admin2) = app
        .admin()
        .await
        .post(
            "/api/v1/users",
            json!({"email": "root2@ac-toulouse.fr", "display_name": "R", "role": "admin"}),
        )
        .await;
    let admin2 = admin2["id"].as_str().unwrap().to_owned();

    const POLE: &[&str] = &["pole_manager"];
    const ACCOUNTS: &[&str] = &["admin", "pole_manager"];
    const PARTNERS: &[&str] = &["pole_manager", "department_referent"];
    let mut n = 0;
    for (actor, client) in &actors {
        n += 1;
        let (_, deactivated) = manager.post("/api/v1/users", json!({"email": format!("d{n}@ac-toulouse.fr"), "display_name": "D", "role": "trainer"})).await;
        let deactivated = deactivated["id"].as_str().unwrap().to_owned();
        let (_, movable) = manager
            .post("/api/v1/partners", partner(Some("31"), 3000 + n as usize))
            .await;
        let movable = movable["id"].as_str().unwrap().to_owned();
        let (_, archivable) = manager
            .post("/api/v1/partners", partner(Some("31"), 4000 + n as usize))
            .await;
        let archivable = archivable["id"].as_str().unwrap().to_owned();
        let cases = [
            Case {
                name: "create a school account",
                method: Method::POST,
                path: "/api/v1/users".into(),
                body: json!({"email": format!("s{n}@ac-toulouse.fr"), "display_name": "S", "role": "school", "scope": UAI_31}),
                allowed: ACCOUNTS,
                created: true,
            },
            Case {
                name: "create an administrator (out of a pole manager's scope)",
                method: Method::POST,
                path: "/api/v1/users".into(),
                body: json!({"email": format!("a{n}@ac-toulouse.fr"), "display_name": "A", "role": "admin"}),
                allowed: &["admin"],
                created: true,
            },
            Case {
                name: "change an account's role",
                method: Method::POST,
                path: format!("/api/v1/users/{person}/role"),
                body: json!({"role": if n % 2 == 0 { "juror" } else { "trainer" }}),
                allowed: ACCOUNTS,
                created: false,
            },
            Case {
                name: "change an administrator's role",
                method: Method::POST,
                path: format!("/api/v1/users/{admin2}/role"),
                body: json!({"role": "admin"}),
                allowed: &["admin"],
                created: false,
            },
            Case {
                name: "set an account's grants",
                method: Method::PUT,
                path: format!("/api/v1/users/{person}/grants"),
                body: json!({"grants": if n % 2 == 0 { json!([]) } else { json!([{"role": "department_referent", "scope": "31"}]) }}),
                allowed: ACCOUNTS,
                created: false,
            },
            Case {
                name: "set an administrator's grants",
                method: Method::PUT,
                path: format!("/api/v1/users/{admin2}/grants"),
                body: json!({"grants": []}),
                allowed: &["admin"],
                created: false,
            },
            Case {
                name: "register a school",
                method: Method::POST,
                path: "/api/v1/schools".into(),
                body: school(&uai(31, 100 + n), "31"),
                allowed: POLE,
                created: true,
            },
            Case {
                name: "import schools",
                method: Method::POST,
                path: "/api/v1/schools/import".into(),
                body: Value::String(format!(
                    "uai,name,kind,sector,department,commune\n{},Collège,college,public,31,Muret\n",
                    uai(31, 200 + n)
                )),
                allowed: POLE,
                created: false,
            },
            Case {
                name: "close a school",
                method: Method::POST,
                path: format!("/api/v1/schools/{}/close", uai(31, 300 + n)),
                body: json!({"closed_on": "2026-08-31"}),
                allowed: POLE,
                created: false,
            },
            Case {
                name: "register a national partner",
                method: Method::POST,
                path: "/api/v1/partners".into(),
                body: partner(None, n as usize),
                allowed: POLE,
                created: true,
            },
            Case {
                name: "register a partner in 31",
                method: Method::POST,
                path: "/api/v1/partners".into(),
                body: partner(Some("31"), n as usize),
                allowed: PARTNERS,
                created: true,
            },
            Case {
                name: "register a partner in 32",
                method: Method::POST,
                path: "/api/v1/partners".into(),
                body: partner(Some("32"), n as usize),
                allowed: POLE,
                created: true,
            },
            Case {
                name: "update a partner in 31",
                method: Method::PUT,
                path: format!("/api/v1/partners/{p31}"),
                body: partner(Some("31"), 1000 + n as usize),
                allowed: PARTNERS,
                created: false,
            },
            Case {
                name: "update a partner in 32",
                method: Method::PUT,
                path: format!("/api/v1/partners/{p32}"),
                body: partner(Some("32"), 1000 + n as usize),
                allowed: POLE,
                created: false,
            },
            Case {
                name: "move a partner from 31 to 32",
                method: Method::PUT,
                path: format!("/api/v1/partners/{movable}"),
                body: partner(Some("32"), 2000 + n as usize),
                allowed: POLE,
                created: false,
            },
            Case {
                name: "verify a partner in 32",
                method: Method::POST,
                path: format!("/api/v1/partners/{p32}/verify"),
                body: json!({}),
                allowed: POLE,
                created: false,
            },
            Case {
                name: "archive a partner in 31",
                method: Method::POST,
                path: format!("/api/v1/partners/{archivable}/archive"),
                body: json!({"reason": "dispositif arrêté"}),
                allowed: PARTNERS,
                created: false,
            },
            Case {
                name: "archive a partner in 32",
                method: Method::POST,
                path: format!("/api/v1/partners/{p32}/archive"),
                body: Value::Null,
                allowed: POLE,
                created: false,
            },
            Case {
                name: "unarchive a partner in 32",
                method: Method::POST,
                path: format!("/api/v1/partners/{p32}/unarchive"),
                body: Value::Null,
                allowed: POLE,
                created: false,
            },
            Case {
                name: "create every school's account",
                method: Method::POST,
                path: "/api/v1/users/schools".into(),
                body: Value::Null,
                allowed: ACCOUNTS,
                created: false,
            },
            Case {
                name: "erase a person",
                method: Method::POST,
                path: "/api/v1/people/erase".into(),
                body: json!({"email": format!("gone{n}@ac-toulouse.fr"), "reason": "demande"}),
                allowed: POLE,
                created: false,
            },
            Case {
                name: "export a person",
                method: Method::GET,
                path: format!("/api/v1/people/export?email={ADMIN}"),
                body: Value::Null,
                allowed: POLE,
                created: false,
            },
            Case {
                name: "read the read log",
                method: Method::GET,
                path: format!("/api/v1/read-log?person={ADMIN}"),
                body: Value::Null,
                allowed: POLE,
                created: false,
            },
            Case {
                name: "deactivate an account",
                method: Method::POST,
                path: format!("/api/v1/users/{deactivated}/deactivate"),
                body: json!({}),
                allowed: ACCOUNTS,
                created: false,
            },
        ];
        // Subjects some commands need, made fresh so each actor meets the same state.
        manager
            .post("/api/v1/schools", school(&uai(31, 300 + n), "31"))
            .await;
        manager.post("/api/v1/users", json!({"email": format!("gone{n}@ac-toulouse.fr"), "display_name": "G", "role": "trainer"})).await;
        for case in cases {
            let before = app.events().await;
            let mut request = client.request(case.method.clone(), &case.path);
            request = match &case.body {
                Value::Null => request,
                Value::String(csv) => request.header("content-type", "text/csv").body(csv.clone()),
                body => request.json(body),
            };
            let (status, body) = send(request).await;
            let expected = match client.token {
                None => StatusCode::UNAUTHORIZED,
                Some(_) if case.allowed.contains(actor) && case.created => StatusCode::CREATED,
                Some(_) if case.allowed.contains(actor) => StatusCode::OK,
                Some(_) => StatusCode::FORBIDDEN,
            };
            assert_eq!(status, expected, "{actor}: {} → {body}", case.name);
            if !status.is_success() {
                assert_eq!(
                    app.events().await,
                    before,
                    "{actor}: {} appended after {status}",
                    case.name
                );
                assert!(
                    body["detail"].as_str().is_some_and(|d| !d.is_empty()),
                    "{body}"
                );
            }
        }
    }
    // Reading a school or the partners is for every signed-in user.
    for (actor, client) in &actors {
        let expected = if client.token.is_some() {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(
            client.get(&format!("/api/v1/schools/{UAI_31}")).await.0,
            expected,
            "{actor}"
        );
        assert_eq!(client.get("/api/v1/partners").await.0, expected, "{actor}");
    }
    app.finish().await;
}

async fn schools_are_checked_registered_read_and_closed(db: TestDb) {
    let app = builder(db).start().await;
    let manager = manager(&app).await;
    let before = app.events().await;
    let bad = [
        (json!({"uai": "0310001A"}), "uai", "devrait être H"),
        (
            json!({"department": "33"}),
            "department",
            "n'appartient pas à l'académie de Toulouse",
        ),
        (
            json!({"kind": "ecole"}),
            "circonscription",
            "circonscription",
        ),
        (
            json!({"kind": "lycee"}),
            "kind",
            "lycée général et technologique",
        ),
        (
            json!({"priority_education": "zep"}),
            "priority_education",
            "REP+",
        ),
    ];
    for (change, field, message) in bad {
        let mut body = school(UAI_31, "31");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, problem) = manager.post("/api/v1/schools", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        let error = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("{problem}"));
        assert!(
            error["message"].as_str().unwrap().contains(message),
            "{problem}"
        );
    }
    assert_eq!(
        app.events().await,
        before,
        "nothing appended for refused schools"
    );

    let (status, body) = manager.post("/api/v1/schools", school(UAI_31, "031")).await;
    assert_eq!(
        (status, body["id"].as_str(), body["version"].as_i64()),
        (StatusCode::CREATED, Some(UAI_31), Some(1))
    );
    let (status, body) = manager.post("/api/v1/schools", school(UAI_31, "31")).await;
    assert_eq!(
        (status, rule(&body)),
        (StatusCode::CONFLICT, "school-exists")
    );

    let (status, body) = manager
        .get(&format!("/api/v1/schools/{}", UAI_31.to_lowercase()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["department"].as_str(), body["kind"].as_str()),
        (Some("31"), Some("college"))
    );
    assert_eq!(
        manager.get("/api/v1/schools/0319999Z").await.0,
        StatusCode::NOT_FOUND
    );

    let (status, body) = manager
        .post(
            &format!("/api/v1/schools/{UAI_31}/close"),
            json!({"closed_on": "2026-08-31", "successor_uai": UAI_32}),
        )
        .await;
    assert_eq!(
        (status, rule(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "successor-unknown")
    );
    register_school(&manager, UAI_32, "32").await;
    let stale = manager
        .request(Method::POST, &format!("/api/v1/schools/{UAI_31}/close"))
        .header("if-match", "7")
        .json(&json!({"closed_on": "2026-08-31"}));
    assert_eq!(send(stale).await.0, StatusCode::CONFLICT);
    let (status, body) = manager
        .post(
            &format!("/api/v1/schools/{UAI_31}/close"),
            json!({"closed_on": "2026-08-31", "successor_uai": UAI_32}),
        )
        .await;
    assert_eq!(
        (status, body["version"].as_i64()),
        (StatusCode::OK, Some(2))
    );
    let (status, body) = manager
        .post(
            &format!("/api/v1/schools/{UAI_31}/close"),
            json!({"closed_on": "2026-09-01"}),
        )
        .await;
    assert_eq!(
        (status, rule(&body)),
        (StatusCode::CONFLICT, "school-already-closed")
    );
    let (_, body) = manager.get(&format!("/api/v1/schools/{UAI_31}")).await;
    assert_eq!(
        (body["closed_on"].as_str(), body["successor_uai"].as_str()),
        (Some("2026-08-31"), Some(UAI_32))
    );
    app.finish().await;
}

fn national_file(rows: &[String]) -> String {
    let mut file = String::from(
        "Identifiant_de_l_etablissement;Nom_etablissement;Type_etablissement;Statut_public_prive;Nom_commune;Code_departement;Appartenance_Education_Prioritaire;code_nature;nom_circonscription\n",
    );
    for row in rows {
        file.push_str(row);
        file.push('\n');
    }
    file
}

async fn import_reports_each_line_and_is_idempotent(db: TestDb) {
    let app = builder(db).start().await;
    let manager = manager(&app).await;
    let rows = vec![
        format!(
            "{};École Jean Jaurès;Ecole;Public;Muret;031;;151;Muret",
            uai(31, 1)
        ),
        format!(
            "{};Collège Pierre de Fermat;Collège;Public;Toulouse;031;REP+;340;",
            uai(31, 2)
        ),
        format!(
            "{};Lycée Déodat de Séverac;Lycée;Public;Toulouse;031;;320;",
            uai(31, 3)
        ),
        "0310004A;Collège mal clé;Collège;Public;Toulouse;031;;340;".to_owned(),
        format!(
            "{};Collège de Bordeaux;Collège;Public;Bordeaux;033;;340;",
            uai(33, 5)
        ),
        format!(
            "{};École sans circonscription;Ecole;Public;Foix;009;;151;",
            uai(9, 6)
        ),
        format!(
            "{};Collège Pierre de Fermat bis;Collège;Public;Toulouse;031;;340;",
            uai(31, 2)
        ),
        format!(
            "{};CIO de Toulouse;Information et orientation;Public;Toulouse;031;;810;",
            uai(31, 8)
        ),
    ];
    let file = national_file(&rows);
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(&file);
    let import = |body: Vec<u8>| {
        manager
            .request(Method::POST, "/api/v1/schools/import")
            .header("content-type", "text/csv")
            .body(body)
    };
    let (status, report) = send(import(latin1.to_vec())).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["imported"].as_u64(), report["unchanged"].as_u64()),
        (Some(3), Some(0)),
        "{report}"
    );
    assert_eq!(report["encoding"], "windows-1252");
    let refused: Vec<(u64, String)> = report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let lines: Vec<u64> = refused.iter().map(|r| r.0).collect();
    assert_eq!(lines, [5, 6, 7, 8, 9], "{report}");
    assert!(refused[0].1.contains("devrait être"), "{refused:?}");
    assert!(refused[1].1.contains("n'appartient pas"), "{refused:?}");
    assert!(refused[2].1.contains("circonscription"), "{refused:?}");
    assert!(
        refused[3].1.contains("double") && refused[3].1.contains("ligne 3"),
        "{refused:?}"
    );
    assert!(refused[4].1.contains("hors du champ"), "{refused:?}");
    let (_, school) = manager
        .get(&format!("/api/v1/schools/{}", uai(31, 3)))
        .await;
    assert_eq!(
        (school["name"].as_str(), school["kind"].as_str()),
        (Some("Lycée Déodat de Séverac"), Some("lycee_pro"))
    );

    let before = app.events().await;
    let (_, report) = send(import(file.clone().into_bytes())).await;
    assert_eq!(
        (
            report["imported"].as_u64(),
            report["updated"].as_u64(),
            report["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(3)),
        "{report}"
    );
    assert_eq!(app.events().await, before, "a re-import appends nothing");

    let changed = file.replace("Collège Pierre de Fermat;", "Collège Pierre-de-Fermat;");
    let (_, report) = send(import(changed.into_bytes())).await;
    assert_eq!(
        (report["updated"].as_u64(), report["unchanged"].as_u64()),
        (Some(1), Some(2)),
        "{report}"
    );
    assert_eq!(app.events().await, before + 1);
    app.finish().await;
}

async fn unreadable_or_oversized_files_import_nothing(db: TestDb) {
    let app = builder(db)
        .configure(|raw| raw.upload_limit_bytes = UPLOAD_LIMIT)
        .start()
        .await;
    let manager = manager(&app).await;
    let before = app.events().await;
    let import = |body: Vec<u8>| {
        manager
            .request(Method::POST, "/api/v1/schools/import")
            .header("content-type", "text/csv")
            .body(body)
    };
    let (status, body) = send(import(b"code;libelle\n0310001H;X\n".to_vec())).await;
    assert_eq!(
        (status, rule(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unreadable-csv")
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("colonnes manquantes"),
        "{body}"
    );
    let (status, body) = send(import(b"PK\x03\x04\x00\x00binary".to_vec())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = send(import(Vec::new())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let row = format!("{},Collège,college,public,31,Toulouse\n", uai(31, 1));
    let big = format!(
        "uai,name,kind,sector,department,commune\n{}",
        row.repeat(UPLOAD_LIMIT / row.len() + 10)
    );
    let (status, body) = send(import(big.into_bytes())).await;
    assert_eq!(
        (status, rule(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large"),
        "{body}"
    );
    assert_eq!(app.events().await, before, "nothing half-imported");
    app.finish().await;
}

async fn accounts_are_checked_and_one_per_address(db: TestDb) {
    let app = builder(db).start().await;
    let manager = manager(&app).await;
    register_school(&manager, UAI_31, "31").await;
    let before = app.events().await;
    let bad = [
        (
            json!({"email": "pas-une-adresse", "display_name": "A", "role": "trainer"}),
            "email",
        ),
        (
            json!({"email": "a@ac-toulouse.fr", "display_name": "A", "role": "chef"}),
            "role",
        ),
        (
            json!({"email": "a@ac-toulouse.fr", "display_name": "A", "role": "department_referent"}),
            "scope",
        ),
        (
            json!({"email": "a@ac-toulouse.fr", "display_name": "A", "role": "department_referent", "scope": "33"}),
            "scope",
        ),
        (
            json!({"email": "a@ac-toulouse.fr", "display_name": "A", "role": "school", "scope": "0319999Z"}),
            "scope",
        ),
        (
            json!({"email": "a@ac-toulouse.fr", "display_name": "A", "role": "trainer", "scope": "31"}),
            "scope",
        ),
        (
            json!({"email": "a@ac-toulouse.fr", "display_name": " ", "role": "trainer"}),
            "display_name",
        ),
        (
            json!({"email": "a@ac-toulouse.fr", "display_name": "A", "role": "trainer", "password": "court"}),
            "password",
        ),
    ];
    for (body, field) in bad {
        let (status, problem) = manager.post("/api/v1/users", body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    assert_eq!(app.events().await, before);

    let (status, created) = manager
        .post("/api/v1/users", json!({"email": "Jeanne.Martin@ac-toulouse.fr", "display_name": "Jeanne Martin", "role": "school", "scope": UAI_31}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let password = created["initial_password"].as_str().unwrap();
    assert!(password.len() >= 12);
    let (status, body) = manager
        .post("/api/v1/users", json!({"email": "jeanne.martin@AC-TOULOUSE.fr", "display_name": "J", "role": "trainer"}))
        .await;
    assert_eq!((status, rule(&body)), (StatusCode::CONFLICT, "user-exists"));
    let jeanne = app.login("jeanne.martin@ac-toulouse.fr", password).await;
    let (_, me) = jeanne.get("/api/v1/me").await;
    assert_eq!(
        (me["role"].as_str(), me["scope"].as_str()),
        (Some("school"), Some(UAI_31))
    );

    // A pole manager reading the account is logged; the person reading their own is not.
    let id = created["id"].as_str().unwrap();
    let (status, account) = manager.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(
        (status, account["email"].as_str()),
        (StatusCode::OK, Some("jeanne.martin@ac-toulouse.fr"))
    );
    let (_, log) = manager
        .get("/api/v1/read-log?person=jeanne.martin@ac-toulouse.fr")
        .await;
    let routes: Vec<&str> = log["reads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["route"].as_str().unwrap())
        .collect();
    assert_eq!(routes, ["/api/v1/users/{id}"]);

    // A role change applies to tokens already issued.
    let (status, _) = manager
        .post(
            &format!("/api/v1/users/{id}/role"),
            json!({"role": "trainer"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = jeanne.get("/api/v1/me").await;
    assert_eq!(
        (me["role"].as_str(), me["scope"].as_str()),
        (Some("trainer"), None)
    );

    let (status, _) = jeanne
        .post(
            "/api/v1/me/password",
            json!({"current_password": "faux", "new_password": "un-nouveau-mot-de-passe"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = jeanne
        .post(
            "/api/v1/me/password",
            json!({"current_password": password, "new_password": "un-nouveau-mot-de-passe"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        login(&app, "jeanne.martin@ac-toulouse.fr", password)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(
            &app,
            "jeanne.martin@ac-toulouse.fr",
            "un-nouveau-mot-de-passe"
        )
        .await
        .status(),
        StatusCode::OK
    );

    let text = stored_text(&app).await.to_lowercase();
    assert!(
        !text.contains("jeanne"),
        "names and e-mails are sealed in the log"
    );
    assert!(
        !text.contains("argon2"),
        "password hashes are sealed in the log"
    );
    app.finish().await;
}

async fn bootstrap_generates_a_password_once(db: TestDb) {
    let app = builder(db).start().await;
    // An administrator exists: nothing to do.
    let directory = Directory::new(app.pharos.state.clone());
    assert!(
        pharos_directory::bootstrap_admin(&directory, None, None)
            .await
            .unwrap()
            .is_none()
    );
    app.finish().await;

    // A fresh database: the generated password opens the account.
    let other = TestDb::sqlite("pharos-directory-bootstrap");
    let store = EventStore::connect(&other.url, StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let key = MasterKey::generate();
    let shutdown = CancellationToken::new();
    let directory = Directory::new(TargetState {
        app: AppState {
            store: store.clone(),
            settings: Arc::new(HttpSettings::default()),
            targets: Arc::from(vec![]),
        },
        access: Access {
            tokens: TokenKeys::new(&key, chrono::Duration::hours(1)),
            academy: Arc::new(Academy::toulouse()),
            reference: Reference::start(store.clone(), shutdown.clone())
                .await
                .unwrap(),
        },
        vault: Arc::new(Vault::open(&store, key).await.unwrap()),
        clock: Arc::new(SystemClock),
    });
    let admin = pharos_directory::bootstrap_admin(&directory, None, None)
        .await
        .unwrap()
        .unwrap();
    let password = admin.generated_password.unwrap();
    assert_eq!(admin.email, "admin@pharos.localhost");
    assert!(
        pharos_directory::bootstrap_admin(&directory, None, None)
            .await
            .unwrap()
            .is_none()
    );
    let person = directory
        .target
        .vault
        .find_person(&admin.email)
        .await
        .unwrap()
        .unwrap();
    let (account, _) = pharos_decider::load::<pharos_directory::users::Account>(
        &store,
        &pharos_directory::users::stream(person.0).unwrap(),
    )
    .await
    .unwrap();
    let sealed = account.created.unwrap().password_hash.unwrap();
    let hash = directory
        .target
        .vault
        .unseal(&sealed)
        .await
        .unwrap()
        .to_string();
    assert!(pharos_directory::users::password::verify_password(password, Some(hash)).await);
    shutdown.cancel();
    store.close().await;
    other.finish().await;
}

async fn partners_keep_contacts_sealed_log_reads_and_flag_old_checks(db: TestDb) {
    let app = builder(db).start().await;
    let manager = manager(&app).await;
    let referent = app.user("department_referent", Some("31")).await;
    let (status, list) = referent.get("/api/v1/partners").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("3018")), "{names:?}");
    assert_eq!(
        pharos_directory::seed_partners(&app.store).await.unwrap(),
        0,
        "seeding twice adds nothing"
    );

    let before = app.events().await;
    let (status, body) = referent
        .post("/api/v1/partners", json!({
            "name": "Maison des adolescents 31", "kind": "maison_des_adolescents", "scope": "department",
            "department": "31", "phones": ["05 34 46 37 64"], "description": "Accueil des 11-25 ans",
            "contacts": [{"display_name": "Camille Durand", "email": "camille.durand@mda31.fr", "function": "coordinatrice"}],
            "website": "ftp://mda"
        }))
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("website"))
    );
    assert_eq!(app.events().await, before);
    let (status, body) = referent
        .post("/api/v1/partners", json!({
            "name": "Maison des adolescents 31", "kind": "maison_des_adolescents", "scope": "department",
            "department": "31", "phones": ["05 34 46 37 64"], "description": "Accueil des 11-25 ans",
            "hours": "du lundi au vendredi, 9 h – 18 h",
            "contacts": [{"display_name": "Camille Durand", "email": "camille.durand@mda31.fr", "function": "coordinatrice"}],
            "last_verified_on": "2025-09-01"
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(
        !stored_text(&app).await.contains("Camille"),
        "contact names are sealed"
    );

    let (_, list) = referent
        .get("/api/v1/partners?department=31&needs_review=true")
        .await;
    let flagged: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, ["Maison des adolescents 31"]);
    let (_, list) = referent.get("/api/v1/partners?department=32").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["department"].is_null())
    );

    let (status, _) = referent
        .post(&format!("/api/v1/partners/{id}/verify"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, partner) = referent.get(&format!("/api/v1/partners/{id}")).await;
    assert_eq!(partner["needs_review"], false);
    assert_eq!(partner["contacts"][0]["display_name"], "Camille Durand");
    assert_eq!(partner["contacts"][0]["function"], "coordinatrice");

    let (status, log) = manager
        .get("/api/v1/read-log?person=camille.durand@mda31.fr")
        .await;
    assert_eq!(status, StatusCode::OK);
    let reads = log["reads"].as_array().unwrap();
    assert_eq!(reads.len(), 1, "{log}");
    assert_eq!(
        (reads[0]["route"].as_str(), reads[0]["actor_role"].as_str()),
        (Some("/api/v1/partners/{id}"), Some("department_referent"))
    );

    let (status, export) = manager
        .get("/api/v1/people/export?email=camille.durand@mda31.fr")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        export["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["value"] == "Camille Durand"),
        "{export}"
    );
    let (status, _) = manager
        .post(
            "/api/v1/people/erase",
            json!({"email": "camille.durand@mda31.fr", "reason": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = manager
        .post(
            "/api/v1/people/erase",
            json!({"email": "camille.durand@mda31.fr", "reason": "fin de fonction"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, partner) = referent.get(&format!("/api/v1/partners/{id}")).await;
    assert_eq!(partner["contacts"][0]["display_name"], "donnée effacée");
    let (status, _) = manager
        .get("/api/v1/people/export?email=camille.durand@mda31.fr")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.finish().await;
}

/// A partner holds its contacts while they are its contacts and it is not archived; a
/// contact removed from the entry, or every contact of an archived entry, is erased by
/// the retention purge a year later.
async fn partner_contacts_are_purged_a_year_after_they_leave(db: TestDb) {
    let app = builder(db).start().await;
    let referent = app.user("department_referent", Some("31")).await;
    let entry = |contacts: Value| {
        json!({
            "name": "Point écoute jeunes", "kind": "association", "scope": "department",
            "department": "31", "phones": ["05 61 00 00 00"], "contacts": contacts
        })
    };
    let camille = json!({"display_name": "Camille Durand", "email": "camille@pej31.fr"});
    let dominique = json!({"display_name": "Dominique Roy", "email": "dominique@pej31.fr"});
    app.set_now(pharos_test_support::instant("2026-09-15T10:00:00Z"));
    let (status, body) = referent
        .post("/api/v1/partners", entry(json!([camille, dominique])))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    app.set_now(pharos_test_support::instant("2027-01-10T10:00:00Z"));
    let (status, body) = referent
        .put(&format!("/api/v1/partners/{id}"), entry(json!([camille])))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let vault = &app.pharos.state.vault;
    let job = pharos_eventstore::Metadata::default();
    let at = pharos_test_support::instant;
    assert!(
        vault
            .purge(&app.store, at("2028-01-09T10:00:00Z"), &job)
            .await
            .unwrap()
            .is_empty()
    );
    let purged = vault
        .purge(&app.store, at("2028-01-10T11:00:00Z"), &job)
        .await
        .unwrap();
    assert_eq!(purged.len(), 1, "{purged:?}");
    assert_eq!(purged[0].purpose, "partner_contact");
    assert!(
        vault
            .find_person("dominique@pej31.fr")
            .await
            .unwrap()
            .is_none()
    );

    // Camille, still the contact, is kept however long the entry lives; archived, a year.
    assert!(
        vault
            .purge(&app.store, at("2035-01-01T00:00:00Z"), &job)
            .await
            .unwrap()
            .is_empty()
    );
    app.set_now(at("2036-03-01T10:00:00Z"));
    let (status, body) = referent
        .post(&format!("/api/v1/partners/{id}/archive"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let purged = vault
        .purge(&app.store, at("2037-03-02T10:00:00Z"), &job)
        .await
        .unwrap();
    assert_eq!(purged.len(), 1, "{purged:?}");
    let (_, partner) = referent
        .get(&format!("/api/v1/partners/{id}?archived=true"))
        .await;
    assert_eq!(
        partner["contacts"][0]["display_name"], "donnée effacée",
        "{partner}"
    );
    app.finish().await;
}

/// A problem a person reads: French sentences, no identifier (`department_referent`),
/// no « connu(e) », no JSON.
fn assert_readable(problem: &Value) {
    let mut texts = vec![problem["detail"].as_str().unwrap_or_default().to_owned()];
    texts.extend(
        problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned()),
    );
    for text in texts {
        assert!(!text.is_empty(), "{problem}");
        assert!(!text.contains("connu(e)"), "{text}");
        assert!(
            !text.contains(['{', '}', '`', '[', ']']),
            "JSON or code in « {text} »"
        );
        let identifier = text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .find(|w| w.contains('_') && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        assert_eq!(identifier, None, "identifier in « {text} »");
    }
}

/// The partners listed at `query`, by name.
async fn partner_names(client: &Client, query: &str) -> Vec<String> {
    let (status, list) = client.get(&format!("/api/v1/partners{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {list}");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Point 12: local cells as poles use them (a cell across the border, phones as people
/// write them, the new kinds), archives, search, and the national lines seeded.
async fn local_cells_abroad_phones_as_written_archives_and_search(db: TestDb) {
    let app = builder(db).start().await;
    let manager = manager(&app).await;
    let referent = app.user("department_referent", Some("31")).await;

    let seeded: Vec<String> = {
        let (_, list) = referent.get("/api/v1/partners").await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["phones"].as_array().unwrap().clone())
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    };
    for line in [
        "3018",
        "119",
        "17",
        "112",
        "114",
        "3114",
        "15",
        "0 800 23 52 36",
        "116 006",
    ] {
        assert!(
            seeded.iter().any(|n| n == line),
            "{line} not seeded: {seeded:?}"
        );
    }

    let cash = json!({
        "name": "Cellule CASH de Mouscron", "kind": "local_cell", "scope": "local",
        "commune": "Mouscron", "country": "Belgique",
        "phones": ["056/39 16 20", "+32 56 39 16 20"],
        "description": "Cellule d'appui : cinq CPMS, médiation scolaire, planning familial, AMO, \
            cellule psycho-sociale de la police"
    });
    // Outside the academy, the commune and the country place it; without them, refused.
    let before = app.events().await;
    for (remove, field) in [("country", "country"), ("commune", "commune")] {
        let mut body = cash.clone();
        body.as_object_mut().unwrap().remove(remove);
        let (status, problem) = manager.post("/api/v1/partners", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert_readable(&problem);
    }
    let mut bad = cash.clone();
    bad["phones"] = json!(["056/39 16 20", "appelez le standard"]);
    let (status, problem) = manager.post("/api/v1/partners", bad).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("phones[1]")),
        "{problem}"
    );
    assert_readable(&problem);
    let mut bad = cash.clone();
    bad["kind"] = json!("ecole");
    let (status, problem) = manager.post("/api/v1/partners", bad).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-partner")
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("police ou gendarmerie"),
        "{problem}"
    );
    assert_readable(&problem);
    // A cell outside the academy is the pole's: a referent's scope does not reach it.
    let (status, problem) = referent.post("/api/v1/partners", cash.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(app.events().await, before, "nothing appended on refusal");

    let (status, body) = manager.post("/api/v1/partners", cash).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let cash_id = body["id"].as_str().unwrap().to_owned();
    let (_, partner) = referent.get(&format!("/api/v1/partners/{cash_id}")).await;
    assert_eq!(partner["country"], "BE");
    assert_eq!(partner["department"], Value::Null);
    assert_eq!(
        partner["phones"],
        json!(["+32 56 39 16 20"]),
        "normalised once"
    );

    let mut ids = std::collections::HashMap::new();
    for (name, kind, phone) in [
        (
            "Maison de protection des familles",
            "police",
            "05 61 00 00 00",
        ),
        ("Planning familial 31", "family_planning", "0 800 08 11 11"),
        (
            "Mairie de Muret — service jeunesse",
            "local_authority",
            "05.61.51.95.95",
        ),
        ("France Victimes 31", "victim_support", "116 006"),
        ("Centre Relier", "health", "05 34 46 37 64"),
        ("Écoute Ados", "association", "3018"),
    ] {
        let (status, body) = referent
            .post(
                "/api/v1/partners",
                json!({
                    "name": name, "kind": kind, "scope": "local", "department": "31",
                    "commune": "Muret", "phones": [phone], "description": "Partenaire local"
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        ids.insert(kind, body["id"].as_str().unwrap().to_owned());
    }
    let (_, planning) = referent
        .get(&format!("/api/v1/partners/{}", ids["family_planning"]))
        .await;
    assert_eq!(planning["phones"], json!(["0 800 08 11 11"]));

    assert_eq!(
        partner_names(&referent, "?kind=police").await,
        ["Maison de protection des familles"]
    );
    assert_eq!(
        partner_names(&referent, "?commune=mouscron").await,
        ["Cellule CASH de Mouscron"]
    );
    assert_eq!(
        partner_names(&referent, "?q=PLANNING%20familial&department=31").await,
        ["Planning familial 31"]
    );
    assert_eq!(
        partner_names(&referent, "?q=mediation%20scolaire").await,
        ["Cellule CASH de Mouscron"],
        "free text without accents"
    );
    let in_31 = partner_names(&referent, "?department=31").await;
    assert!(in_31.iter().any(|n| n.starts_with("3018")), "{in_31:?}");
    assert!(!in_31.iter().any(|n| n.contains("Mouscron")), "{in_31:?}");
    let (status, problem) = referent.get("/api/v1/partners?kind=ecole").await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-filter")
    );
    assert_readable(&problem);

    // Archived: out of the lists, frozen, and back.
    let police = &ids["police"];
    let (status, body) = referent
        .post(
            &format!("/api/v1/partners/{police}/archive"),
            json!({"reason": "structure fermée"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(partner_names(&referent, "?kind=police").await.is_empty());
    assert_eq!(
        partner_names(&referent, "?archived=true").await,
        ["Maison de protection des familles"]
    );
    let before = app.events().await;
    let update = json!({
        "name": "MPF", "kind": "police", "scope": "local", "department": "31",
        "phones": ["17"], "description": ""
    });
    for (method, path, body, expected) in [
        (
            Method::PUT,
            format!("/api/v1/partners/{police}"),
            update,
            "partner-archived",
        ),
        (
            Method::POST,
            format!("/api/v1/partners/{police}/verify"),
            Value::Null,
            "partner-archived",
        ),
        (
            Method::POST,
            format!("/api/v1/partners/{police}/archive"),
            Value::Null,
            "partner-already-archived",
        ),
        (
            Method::POST,
            format!("/api/v1/partners/{}/unarchive", ids["health"]),
            Value::Null,
            "partner-not-archived",
        ),
    ] {
        let (status, problem) = referent.call(method, &path, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {problem}");
        assert_eq!(rule(&problem), expected, "{path}: {problem}");
        assert_readable(&problem);
    }
    let (status, _) = referent
        .post(&format!("/api/v1/partners/{cash_id}/archive"), Value::Null)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "outside the referent's scope"
    );
    assert_eq!(app.events().await, before, "nothing appended on refusal");
    let (status, _) = referent
        .post(&format!("/api/v1/partners/{police}/unarchive"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        partner_names(&referent, "?kind=police").await,
        ["Maison de protection des familles"]
    );
    app.finish().await;
}

/// Point 15: the directory's refusals read as French sentences.
async fn refusals_read_as_french_sentences(db: TestDb) {
    let app = builder(db).start().await;
    let manager = manager(&app).await;
    let before = app.events().await;
    let (status, problem) = manager
        .post(
            "/api/v1/users",
            json!({"email": "r@ac-toulouse.fr", "display_name": "R", "role": "department_referent"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem["detail"],
        "Le rôle référent départemental demande un périmètre : le code du département (ex. 31)."
    );
    let attempts = [
        json!({"email": "r@ac-toulouse.fr", "display_name": "R", "role": "chef"}),
        json!({"email": "r@ac-toulouse.fr", "display_name": "R", "role": "trainer", "scope": "31"}),
        json!({"email": "r@ac-toulouse.fr", "display_name": "R", "role": "department_referent", "scope": "33"}),
        json!({"email": "pas-une-adresse", "display_name": "R", "role": "trainer"}),
    ];
    for body in attempts {
        let (status, problem) = manager.post("/api/v1/users", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_readable(&problem);
    }
    let (_, problem) = manager
        .post(
            "/api/v1/users",
            json!({"email": "r@ac-toulouse.fr", "display_name": "R", "role": "chef"}),
        )
        .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("référent départemental, établissement"),
        "{problem}"
    );
    let mut body = school(UAI_31, "31");
    body["kind"] = json!("lycee");
    body["sector"] = json!("associatif");
    body["priority_education"] = json!("zep");
    let (status, problem) = manager.post("/api/v1/schools", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_readable(&problem);
    // French names are accepted where identifiers are.
    let mut body = school(UAI_31, "31");
    body["kind"] = json!("Lycée professionnel");
    body["sector"] = json!("Privé sous contrat");
    body["priority_education"] = json!("REP+");
    let (status, problem) = manager.post("/api/v1/schools", body).await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
    let (_, registered) = manager.get(&format!("/api/v1/schools/{UAI_31}")).await;
    assert_eq!(
        (
            &registered["kind"],
            &registered["sector"],
            &registered["priority_education"]
        ),
        (
            &json!("lycee_pro"),
            &json!("prive_sous_contrat"),
            &json!("rep_plus")
        )
    );
    let (status, problem) = manager
        .post(
            &format!("/api/v1/schools/{UAI_31}/close"),
            json!({"closed_on": "2026-08-31", "successor_uai": "0310001A"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_readable(&problem);
    let (status, problem) = manager
        .post(
            "/api/v1/partners",
            json!({"name": "X", "kind": "association", "scope": "régional", "description": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_readable(&problem);
    assert_eq!(
        app.events().await,
        before + 1,
        "only the school was appended"
    );
    app.finish().await;
}

/// Point 13: one account per open school, idempotent, without a password.
async fn school_accounts_are_created_once_per_open_school(db: TestDb) {
    let app = builder(db).start().await;
    let manager = manager(&app).await;
    let open = uai(31, 6);
    let closed = uai(31, 5);
    for (uai, department) in [
        (UAI_31, "31"),
        (UAI_32, "32"),
        (open.as_str(), "31"),
        (closed.as_str(), "31"),
    ] {
        register_school(&manager, uai, department).await;
    }
    let (status, _) = manager
        .post(
            &format!("/api/v1/schools/{closed}/close"),
            json!({"closed_on": "2026-08-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // One school has its account already; another's address belongs to someone else.
    app.user_with_email("ce.0310001h@ac-toulouse.fr", "school", Some(UAI_31))
        .await;
    app.user_with_email("ce.0320001c@ac-toulouse.fr", "trainer", None)
        .await;

    let before = app.events().await;
    let referent = app.user("department_referent", Some("31")).await;
    let before_referent = app.events().await;
    let (status, _) = referent.post("/api/v1/users/schools", Value::Null).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = manager
        .post(
            "/api/v1/users/schools",
            json!({"address_pattern": "secretariat@ac-toulouse.fr"}),
        )
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-address-pattern")
    );
    let (status, problem) = manager
        .post(
            "/api/v1/users/schools",
            json!({"address_pattern": "ce {uai} chez ac-toulouse"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        app.events().await,
        before_referent,
        "nothing appended on refusal"
    );
    assert!(before_referent > before);

    let (status, report) = manager.post("/api/v1/users/schools", Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["existing"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{report}");
    assert_eq!(refused[0]["uai"], UAI_32);
    assert!(
        refused[0]["reason"].as_str().unwrap().contains("formateur"),
        "{report}"
    );
    assert!(!report.to_string().contains("password"), "{report}");
    assert_eq!(
        app.events().await,
        before_referent + 1,
        "one account created"
    );

    // No password was set: the account waits for one.
    let response = login(
        &app,
        &format!("ce.{}@ac-toulouse.fr", open.to_lowercase()),
        "",
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let (status, again) = manager
        .post(
            "/api/v1/users/schools",
            json!({"address_pattern": "ce.{uai}@ac-toulouse.fr"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (again["created"].as_u64(), again["existing"].as_u64()),
        (Some(0), Some(2)),
        "{again}"
    );
    assert_eq!(app.events().await, before_referent + 1, "idempotent");
    app.finish().await;
}

/// A manager cannot lock themselves out: erasing their own data, changing their own role
/// or deactivating their own account is refused, and nothing is appended.
async fn nobody_erases_demotes_or_deactivates_themselves(db: TestDb) {
    let app = builder(db).start().await;
    let manager = manager(&app).await;
    let before = app.events().await;
    let attempts = [
        (
            "/api/v1/people/erase".to_owned(),
            json!({ "email": manager.email, "reason": "demande" }),
            "self-erasure",
        ),
        (
            format!("/api/v1/users/{}/role", manager.id),
            json!({ "role": "department_referent", "scope": "31" }),
            "self-role-change",
        ),
        (
            format!("/api/v1/users/{}/deactivate", manager.id),
            Value::Null,
            "self-deactivation",
        ),
    ];
    for (path, body, expected) in attempts {
        let (status, problem) = manager.post(&path, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {problem}");
        assert_eq!(rule(&problem), expected, "{path}: {problem}");
    }
    assert_eq!(app.events().await, before);
    let (status, me) = manager.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-directory";
    partner_contacts_are_purged_a_year_after_they_leave,
    nobody_erases_demotes_or_deactivates_themselves,
    login_issues_a_token_and_a_cookie_that_every_route_accepts,
    wrong_password_and_unknown_email_get_the_same_answer_then_429,
    behind_a_proxy_failures_count_per_forwarded_client,
    a_deactivated_or_erased_account_cannot_log_in_and_its_tokens_stop,
    every_role_in_and_out_of_scope_for_every_command,
    schools_are_checked_registered_read_and_closed,
    import_reports_each_line_and_is_idempotent,
    unreadable_or_oversized_files_import_nothing,
    accounts_are_checked_and_one_per_address,
    bootstrap_generates_a_password_once,
    partners_keep_contacts_sealed_log_reads_and_flag_old_checks,
    local_cells_abroad_phones_as_written_archives_and_search,
    refusals_read_as_french_sentences,
    school_accounts_are_created_once_per_open_school,
);

//! Reset links (`POST /api/v1/users/{id}/password-reset`, `POST /api/v1/password-reset`)
//! and the list of accounts (`GET /api/v1/users`) through the real application: the
//! school accounts created in bulk, without a password, are found in the list, get a
//! link from the pole and log in; a link serves once, expires, and is no session token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use pharos_decider::Clock as _;
use pharos_test_support::{Client, TestApp, TestAppBuilder, TestDb, rule};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Collèges of Haute-Garonne and one of Gers.
const UAI_31: &str = "0310001H";
const UAI_31B: &str = "0310006N";
const UAI_32: &str = "0320001C";
const NEW_PASSWORD: &str = "un nouveau mot de passe solide";

/// The application serving `directory` only.
fn builder(db: TestDb) -> TestAppBuilder {
    TestApp::builder(db).targets(&["directory"])
}

/// Registers a collège as `manager`.
async fn register_school(manager: &Client, uai: &str, department: &str) {
    let (status, body) = manager
        .post(
            "/api/v1/schools",
            json!({
                "uai": uai, "name": format!("Collège {uai}"), "kind": "college",
                "sector": "public", "department": department, "commune": "Toulouse",
                "priority_education": "none"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// The page of accounts `by` lists with `query`.
async fn list(by: &Client, query: &str) -> Value {
    let (status, body) = by.get(&format!("/api/v1/users{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

/// The e-mail addresses of a page, in order.
fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap().to_owned())
        .collect()
}

/// The id of the only account of `uai`, as `by` lists it.
async fn school_account(by: &Client, uai: &str) -> String {
    let page = list(by, &format!("?scope={uai}")).await;
    assert_eq!(page["total"], 1, "{page}");
    page["items"][0]["id"].as_str().unwrap().to_owned()
}

/// Sets a password with a reset token, without a session.
async fn reset(app: &TestApp, token: &str, password: &str) -> (StatusCode, Value) {
    app.anonymous()
        .post(
            "/api/v1/password-reset",
            json!({ "token": token, "password": password }),
        )
        .await
}

/// A reset link for `id` issued by `by`: the token.
async fn issue(by: &Client, id: &str) -> (String, DateTime<Utc>) {
    let (status, link) = by
        .post(&format!("/api/v1/users/{id}/password-reset"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let token = link["token"].as_str().unwrap().to_owned();
    assert!(
        link["reset_path"].as_str().unwrap().ends_with(&token),
        "{link}"
    );
    let expires_at = link["expires_at"].as_str().unwrap().parse().unwrap();
    (token, expires_at)
}

async fn school_accounts_get_their_password_through_a_reset_link(db: TestDb) {
    let app = builder(db).start().await;
    let admin = app.admin().await;
    let manager = app.user("pole_manager", None).await;
    for (uai, department) in [(UAI_31, "31"), (UAI_32, "32")] {
        register_school(&manager, uai, department).await;
    }
    let (status, report) = manager.post("/api/v1/users/schools", Value::Null).await;
    assert_eq!((status, &report["created"]), (StatusCode::OK, &json!(2)));

    // The list shows the school accounts waiting for a password.
    let schools = list(&manager, "?role=school").await;
    assert_eq!(schools["total"], 2, "{schools}");
    for item in schools["items"].as_array().unwrap() {
        assert_eq!(item["has_password"], false, "{item}");
        assert_eq!(item["active"], true, "{item}");
        assert_eq!(item["role_label"], "établissement", "{item}");
    }
    assert_eq!(
        emails(&schools),
        ["ce.0310001h@ac-toulouse.fr", "ce.0320001c@ac-toulouse.fr"]
    );
    let school_31 = school_account(&manager, UAI_31).await;
    let school_32 = school_account(&manager, UAI_32).await;

    // Only whoever manages the account issues a link.
    let before = app.events().await;
    let referent = app.user("department_referent", Some("31")).await;
    let other_school = app.user("school", Some(UAI_32)).await;
    let after_accounts = app.events().await;
    assert!(after_accounts > before);
    for (who, id) in [
        (&other_school, &school_32),
        (&referent, &school_31),
        (&manager, &admin.id),
    ] {
        let (status, problem) = who
            .post(&format!("/api/v1/users/{id}/password-reset"), Value::Null)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    }
    let (status, _) = manager
        .post(
            "/api/v1/users/019a0000-0000-7000-8000-000000000000/password-reset",
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The pole issues a link: nothing is appended.
    let (token, expires_at) = issue(&manager, &school_31).await;
    let now = app.clock.now();
    assert!(expires_at > now + Duration::hours(71) && expires_at <= now + Duration::hours(72));
    assert_eq!(
        app.events().await,
        after_accounts,
        "issuing appends nothing"
    );

    // A session token, an altered token, a weak password: refused, nothing appended.
    let (status, problem) = reset(&app, manager.token(), NEW_PASSWORD).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "reset-token-invalid"),
        "{problem}"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("lien de réinitialisation"), "{detail}");
    assert!(!detail.contains("compte"), "{detail}");
    let mut altered = token.clone();
    altered.insert(altered.len() - 3, 'x');
    let (status, problem) = reset(&app, &altered, NEW_PASSWORD).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "reset-token-invalid")
    );
    let (status, problem) = reset(&app, &token, "court").await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "password-too-short")
    );
    assert_eq!(app.events().await, after_accounts, "nothing appended");

    // The school sets its password and logs in.
    let (status, body) = reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.events().await, after_accounts + 1);
    let school = app.login("ce.0310001h@ac-toulouse.fr", NEW_PASSWORD).await;
    assert_eq!(school.id, school_31);
    let (status, me) = school.get("/api/v1/me").await;
    assert_eq!((status, &me["scope"]), (StatusCode::OK, &json!(UAI_31)));

    // The same link again: refused, like any other used link.
    let (status, problem) = reset(&app, &token, "encore un autre mot de passe").await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "reset-token-invalid"),
        "{problem}"
    );
    app.login("ce.0310001h@ac-toulouse.fr", NEW_PASSWORD).await;
    // A school account issues no link, not even for itself.
    let (status, _) = school
        .post(
            &format!("/api/v1/users/{school_31}/password-reset"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let page = list(&manager, &format!("?scope={UAI_31}")).await;
    assert_eq!(page["items"][0]["has_password"], true, "{page}");

    // A link expires after 72 hours (the domain's clock).
    let (late, _) = issue(&manager, &school_32).await;
    app.set_now(now + Duration::hours(73));
    let (status, problem) = reset(&app, &late, NEW_PASSWORD).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "reset-token-expired"),
        "{problem}"
    );
    // Any change of the account voids its links: here, a deactivation.
    let (voided, _) = issue(&manager, &school_32).await;
    let (status, _) = manager
        .post(
            &format!("/api/v1/users/{school_32}/deactivate"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let deactivated = app.events().await;
    let (status, problem) = reset(&app, &voided, NEW_PASSWORD).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "reset-token-invalid"),
        "{problem}"
    );
    let (status, problem) = manager
        .post(
            &format!("/api/v1/users/{school_32}/password-reset"),
            Value::Null,
        )
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "user-deactivated")
    );
    assert_eq!(app.events().await, deactivated, "nothing appended");

    // Refused attempts count per client address, with failed logins: then 429.
    let mut limited = None;
    for _ in 0..25 {
        let (status, problem) = reset(&app, "pas-un-jeton", NEW_PASSWORD).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(problem);
            break;
        }
        assert_eq!(rule(&problem), "reset-token-invalid");
    }
    let limited = limited.expect("refused attempts are limited");
    assert_eq!(rule(&limited), "too-many-attempts");
    assert_eq!(app.events().await, deactivated, "nothing appended");
    app.finish().await;
}

async fn accounts_are_listed_by_scope_filtered_and_paginated(db: TestDb) {
    let app = builder(db).start().await;
    let admin = app.admin().await;
    let manager = app.user("pole_manager", None).await;
    for (uai, department) in [(UAI_31, "31"), (UAI_31B, "31"), (UAI_32, "32")] {
        register_school(&manager, uai, department).await;
    }
    let (status, _) = manager.post("/api/v1/users/schools", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let referent = app.user("department_referent", Some("31")).await;

    // The administrator sees every account; the pole all but the administrator's.
    let all = list(&admin, "").await;
    assert_eq!(all["total"], 6, "{all}");
    assert_eq!(all["items"][0]["role"], "admin", "{all}");
    let pole = list(&manager, "").await;
    assert_eq!(pole["total"], 5, "{pole}");
    let roles: Vec<&str> = pole["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        [
            "pole_manager",
            "department_referent",
            "school",
            "school",
            "school"
        ]
    );
    assert_eq!(pole["items"][0]["has_password"], true);
    assert_eq!(
        (pole["limit"].as_u64(), pole["offset"].as_u64()),
        (Some(50), Some(0))
    );

    // Scope: a department gives its referents and its schools' accounts; a UAI, that school's.
    let in_31 = list(&manager, "?scope=31").await;
    assert_eq!(in_31["total"], 3, "{in_31}");
    assert_eq!(in_31["items"][0]["email"], referent.email.as_str());
    assert_eq!(list(&manager, "?scope=32").await["total"], 1);
    let one = list(&manager, "?scope=0310006n").await;
    assert_eq!(emails(&one), ["ce.0310006n@ac-toulouse.fr"]);
    assert_eq!(one["items"][0]["display_name"], "Collège 0310006N");

    // Pages, by UAI.
    let first = list(&manager, "?role=school&limit=2").await;
    assert_eq!(
        (first["total"].as_u64(), first["limit"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(
        emails(&first),
        ["ce.0310001h@ac-toulouse.fr", "ce.0310006n@ac-toulouse.fr"]
    );
    let second = list(&manager, "?role=school&limit=2&offset=2").await;
    assert_eq!(emails(&second), ["ce.0320001c@ac-toulouse.fr"]);
    assert_eq!(second["total"], 3);
    assert_eq!(list(&manager, "?limit=1000").await["limit"], 100);

    // Text in the name or the address, without accents or case.
    let found = list(&manager, "?q=COLLEGE%200320001c").await;
    assert_eq!(emails(&found), ["ce.0320001c@ac-toulouse.fr"]);
    assert_eq!(found["total"], 1);
    let by_address = list(&manager, "?q=ce.031&role=school&limit=1&offset=1").await;
    assert_eq!(
        (by_address["total"].as_u64(), emails(&by_address)),
        (Some(2), vec!["ce.0310006n@ac-toulouse.fr".to_owned()])
    );

    // Active or not.
    assert_eq!(list(&manager, "?active=false").await["total"], 0);
    let id = list(&manager, "?scope=0320001C").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = manager
        .post(&format!("/api/v1/users/{id}/deactivate"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    let inactive = list(&manager, "?active=false").await;
    assert_eq!(emails(&inactive), ["ce.0320001c@ac-toulouse.fr"]);
    assert_eq!(inactive["items"][0]["active"], false);
    assert_eq!(list(&manager, "?active=true&role=school").await["total"], 2);

    // Each row shown is a logged read.
    let (status, log) = manager
        .get("/api/v1/read-log?person=ce.0310006n@ac-toulouse.fr")
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let reads = log["reads"].as_array().unwrap();
    assert!(
        reads
            .iter()
            .any(|r| r.to_string().contains("/api/v1/users")),
        "{log}"
    );

    // Refused filters, and whoever does not manage accounts.
    for query in ["?role=chef", "?scope=tarn"] {
        let (status, problem) = manager.get(&format!("/api/v1/users{query}")).await;
        assert_eq!(
            (status, rule(&problem)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-filter"),
            "{query}: {problem}"
        );
    }
    let school = app.user("school", Some(UAI_31)).await;
    for who in [&referent, &school] {
        let (status, _) = who.get("/api/v1/users").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-directory-reset";
    school_accounts_get_their_password_through_a_reset_link,
    accounts_are_listed_by_scope_filtered_and_paginated,
);

//! Additional grants of an account (`PUT /api/v1/users/{id}/grants`) through the real
//! application: a referent granted a second department acts there with the token they
//! already hold, and no longer once the grant is removed; grants are checked like a
//! role, named by their index when refused, and managed by whom manages the account.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pharos_test_support::{Client, TestApp, TestAppBuilder, TestDb, rule};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A collège of Haute-Garonne (0310001 mod 23 = 7 → H).
const UAI_31: &str = "0310001H";

/// The application serving `directory` only.
fn builder(db: TestDb) -> TestAppBuilder {
    TestApp::builder(db).targets(&["directory"])
}

/// A partner of the orientation directory attached to `department`: registering one is
/// the department-scoped command of the directory (`ManagePartners`).
fn partner(department: &str, name: &str) -> Value {
    json!({
        "name": name, "kind": "association", "scope": "department",
        "department": department, "description": "Écoute et accompagnement",
        "phones": ["05 61 00 00 00"]
    })
}

/// Sets `id`'s grants as `by`.
async fn set_grants(by: &Client, id: &str, grants: Value) -> (StatusCode, Value) {
    by.put(
        &format!("/api/v1/users/{id}/grants"),
        json!({ "grants": grants }),
    )
    .await
}

/// The account `id` as `by` reads it.
async fn account(by: &Client, id: &str) -> Value {
    let (status, body) = by.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Creates an account of `role` as `by`: its id.
async fn create(by: &Client, email: &str, role: &str, scope: Option<&str>) -> String {
    let (status, body) = by
        .post(
            "/api/v1/users",
            json!({"email": email, "display_name": email, "role": role, "scope": scope}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn a_referent_granted_a_second_department_acts_there_until_it_is_removed(db: TestDb) {
    let app = builder(db).start().await;
    let admin = app.admin().await;
    let referent = app.user("department_referent", Some("31")).await;
    let id = referent.id.clone();

    // Without the grant, 82 is out of the referent's scope.
    let (status, problem) = referent
        .post("/api/v1/partners", partner("82", "Écoute 82 (refusé)"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("hors de votre périmètre (le département 31)"),
        "{problem}"
    );

    let version = account(&admin, &id).await["version"].as_i64().unwrap();
    let (status, done) = set_grants(
        &admin,
        &id,
        json!([
            {"role": "department_referent", "scope": "082"},
            {"role": "trainer", "scope": null}
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["version"].as_i64(), Some(version + 1), "{done}");
    let shown = account(&admin, &id).await;
    assert_eq!(
        (&shown["role"], &shown["scope"]),
        (&json!("department_referent"), &json!("31")),
        "the primary role stays: {shown}"
    );
    assert_eq!(
        shown["grants"],
        json!([
            {"role": "department_referent", "scope": "82"},
            {"role": "trainer", "scope": null}
        ]),
        "{shown}"
    );
    let (_, me) = referent.get("/api/v1/me").await;
    assert_eq!(me["grants"], shown["grants"], "{me}");

    // The token issued before the grant now reaches 82, still 31, not 32.
    let (status, in_82) = referent
        .post("/api/v1/partners", partner("82", "Écoute 82"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{in_82}");
    let in_82 = in_82["id"].as_str().unwrap().to_owned();
    let (status, body) = referent
        .post("/api/v1/partners", partner("31", "Écoute 31"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, problem) = referent
        .post("/api/v1/partners", partner("32", "Écoute 32"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(
        problem["detail"],
        "Cette action porte sur le département 32, hors de vos périmètres (référent \
         départemental : le département 31 ; référent départemental : le département 82).",
        "{problem}"
    );

    // The same grants in another order change nothing.
    let before = app.events().await;
    let (status, same) = set_grants(
        &admin,
        &id,
        json!([{"role": "formateur"}, {"role": "Référent départemental", "scope": "82"}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["version"].as_i64(), Some(version + 1), "{same}");
    assert_eq!(app.events().await, before);

    // Removed, the grant stops at the next request of the same token.
    let (status, done) = set_grants(&admin, &id, json!([])).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(account(&admin, &id).await["grants"], json!([]));
    let (status, problem) = referent
        .post("/api/v1/partners", partner("82", "Écoute 82 bis"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, problem) = referent
        .put(
            &format!("/api/v1/partners/{in_82}"),
            partner("82", "Écoute 82 renommée"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, body) = referent
        .post("/api/v1/partners", partner("31", "Écoute 31 bis"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.finish().await;
}

async fn grants_are_checked_like_a_role_and_refused_by_index(db: TestDb) {
    let app = builder(db).start().await;
    let manager = app.user("pole_manager", None).await;
    let (status, body) = manager
        .post(
            "/api/v1/schools",
            json!({
                "uai": UAI_31, "name": "Collège", "kind": "college", "sector": "public",
                "department": "31", "commune": "Toulouse", "priority_education": "none"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let trainer = create(&manager, "formatrice@ac-toulouse.fr", "trainer", None).await;
    let before = app.events().await;
    let eleven: Vec<Value> = ["09", "12", "31", "32", "46", "65", "81", "82"]
        .into_iter()
        .map(|d| json!({"role": "department_referent", "scope": d}))
        .chain(
            ["admin", "pole_manager", "juror"]
                .into_iter()
                .map(|r| json!({ "role": r })),
        )
        .collect();
    let refused = [
        (
            json!([{"role": "trainer"}]),
            "grant-is-primary-role",
            "grants[0]",
        ),
        (
            json!([{"role": "juror"}, {"role": "department_referent", "scope": "33"}]),
            "invalid-scope",
            "grants[1].scope",
        ),
        (
            json!([{"role": "department_referent"}]),
            "scope-required",
            "grants[0].scope",
        ),
        (
            json!([{"role": "juror", "scope": "31"}]),
            "scope-not-allowed",
            "grants[0].scope",
        ),
        (
            json!([{"role": "juror"}, {"role": "school", "scope": "0319999A"}]),
            "school-unknown",
            "grants[1].scope",
        ),
        (json!([{"role": "chef"}]), "invalid-role", "grants[0].role"),
        (
            json!([{"role": "juror"}, {"role": "juré"}]),
            "duplicate-grant",
            "grants[1]",
        ),
        (
            json!([
                {"role": "department_referent", "scope": "031"},
                {"role": "school", "scope": UAI_31},
                {"role": "department_referent", "scope": "31"}
            ]),
            "duplicate-grant",
            "grants[2]",
        ),
        (Value::Array(eleven), "too-many-grants", "grants"),
    ];
    for (grants, expected, field) in refused {
        let (status, problem) = set_grants(&manager, &trainer, grants.clone()).await;
        assert_eq!(
            (status, rule(&problem)),
            (StatusCode::UNPROCESSABLE_ENTITY, expected),
            "{grants} → {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(!detail.contains('_'), "French, no identifier: {detail}");
    }
    for body in [json!({}), json!({"grants": "trainer"})] {
        let (status, problem) = manager
            .put(&format!("/api/v1/users/{trainer}/grants"), body)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    }
    assert_eq!(app.events().await, before, "nothing appended on refusal");

    // A valid set: a department of the academy, a registered school.
    let (status, done) = set_grants(
        &manager,
        &trainer,
        json!([{"role": "department_referent", "scope": "31"}, {"role": "school", "scope": "0310001h"}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(
        account(&manager, &trainer).await["grants"],
        json!([
            {"role": "department_referent", "scope": "31"},
            {"role": "school", "scope": UAI_31}
        ])
    );

    // If-Match: a stale version is refused, the current one accepted.
    let version = done["version"].as_i64().unwrap();
    let grants = json!({"grants": [{"role": "juror"}]});
    let stale = manager
        .request(Method::PUT, &format!("/api/v1/users/{trainer}/grants"))
        .header("if-match", (version - 1).to_string())
        .json(&grants)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let current = manager
        .request(Method::PUT, &format!("/api/v1/users/{trainer}/grants"))
        .header("if-match", format!("\"{version}\""))
        .json(&grants)
        .send()
        .await
        .unwrap();
    assert_eq!(current.status(), StatusCode::OK);

    // A primary role that was granted is no longer held twice.
    let (status, body) = manager
        .post(
            &format!("/api/v1/users/{trainer}/role"),
            json!({"role": "juror"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown = account(&manager, &trainer).await;
    assert_eq!(
        (&shown["role"], &shown["grants"]),
        (&json!("juror"), &json!([])),
        "{shown}"
    );

    // Unknown and deactivated accounts.
    let (status, _) = set_grants(&manager, "0190b2a8-0000-7000-8000-000000000000", json!([])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = manager
        .post(&format!("/api/v1/users/{trainer}/deactivate"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = set_grants(&manager, &trainer, json!([{"role": "trainer"}])).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "user-deactivated"),
        "{problem}"
    );
    app.finish().await;
}

async fn grants_are_managed_by_whom_manages_the_account_never_by_its_holder(db: TestDb) {
    let app = builder(db).start().await;
    let admin = app.admin().await;
    let manager = app.user("pole_manager", None).await;
    let trainer = app.user("trainer", None).await;
    let person = create(&manager, "jure@ac-toulouse.fr", "juror", None).await;
    let before = app.events().await;

    // Only who manages accounts; nobody changes their own grants.
    let (status, problem) = set_grants(&trainer, &person, json!([{"role": "trainer"}])).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Votre rôle (formateur) ne permet pas de gérer les comptes"),
        "{problem}"
    );
    let (status, problem) = set_grants(&trainer, &trainer.id, json!([{"role": "juror"}])).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, problem) = set_grants(&manager, &manager.id, json!([{"role": "trainer"}])).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "self-grants-change"),
        "{problem}"
    );
    // A pole manager grants no administrator's role.
    let (status, problem) = set_grants(&manager, &person, json!([{"role": "admin"}])).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(app.events().await, before, "nothing appended on refusal");

    // An administrator does; the account then holds the administrator's role and is
    // out of the pole manager's reach: reading, changing and deactivating it.
    let (status, body) = set_grants(&admin, &person, json!([{"role": "admin"}])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = manager.get(&format!("/api/v1/users/{person}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = set_grants(&manager, &person, json!([])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = manager
        .post(
            &format!("/api/v1/users/{person}/role"),
            json!({"role": "trainer"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = manager
        .post(&format!("/api/v1/users/{person}/deactivate"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A trainer granted the pole manager's role manages accounts with their token.
    let (status, body) = set_grants(&admin, &trainer.id, json!([{"role": "pole_manager"}])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = trainer
        .post(
            "/api/v1/users",
            json!({"email": "nouveau@ac-toulouse.fr", "display_name": "N", "role": "juror"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-directory-grants";
    a_referent_granted_a_second_department_acts_there_until_it_is_removed,
    grants_are_checked_like_a_role_and_refused_by_index,
    grants_are_managed_by_whom_manages_the_account_never_by_its_holder,
);

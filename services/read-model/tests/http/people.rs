//! People named in the lists (accounts, a session's registrants, a deployment's team):
//! unsealed when read, each read logged in the read log, « donnée effacée » in every
//! list once the person is erased; names shown only within the caller's scope.

use super::{COLLEGE_31, COLLEGE_32, LYCEE_31, graphql, until};
use pharos_test_support::{TestApp, TestDb};
use reqwest::StatusCode;
use serde_json::{Value, json};

const JEANNE: &str = "jeanne.martin@ac-toulouse.fr";
const ERASED: &str = "donnée effacée";

/// The `person` objects of a list's nodes, at `path` under `data`.
fn people<'a>(
    body: &'a Value,
    pick: impl Fn(&'a Value) -> Vec<&'a Value>,
) -> Vec<(String, String)> {
    pick(&body["data"])
        .into_iter()
        .map(|p| {
            (
                p["displayName"].as_str().unwrap_or_default().to_owned(),
                p["email"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pick_registrants(d: &Value) -> Vec<&Value> {
    d["session"]["registrants"]
        .as_array()
        .map_or(vec![], |a| a.iter().map(|r| &r["person"]).collect())
}

fn pick_team(d: &Value) -> Vec<&Value> {
    d["deployments"]["edges"][0]["node"]["team"]
        .as_array()
        .map_or(vec![], |a| a.iter().map(|m| &m["person"]).collect())
}

async fn people_are_named_in_scope_logged_and_erased_everywhere(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["read-model", "trainings", "phare"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    for (uai, department) in [(COLLEGE_31, "31"), (LYCEE_31, "31"), (COLLEGE_32, "32")] {
        app.school(uai, "college", department).await;
    }
    let referent_31 = app.user("department_referent", Some("31")).await;
    let referent_32 = app.user("department_referent", Some("32")).await;
    let college = app.user("school", Some(COLLEGE_31)).await;
    let lycee = app.user("school", Some(LYCEE_31)).await;

    // Jeanne registers to a session of the 31 and sits on the collège's pHARe team.
    let (_, training) = manager
        .post(
            "/api/v1/trainings",
            json!({"title": "MPP", "topic": "mpp", "audience": "équipes", "department": "31"}),
        )
        .await;
    let (status, session) = manager
        .post(
            &format!("/api/v1/trainings/{}/sessions", training["id"].as_str().unwrap()),
            json!({
                "starts_at": "2027-01-14T09:00:00+01:00", "ends_at": "2027-01-14T17:00:00+01:00",
                "slots": [{"starts_at": "2027-01-14T09:00:00+01:00", "ends_at": "2027-01-14T12:00:00+01:00"}],
                "location": "Canopé", "capacity": 5, "planned_minutes": 180
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let session = session["id"].as_str().unwrap().to_owned();
    for (name, email, uai) in [
        ("Jeanne Martin", JEANNE, COLLEGE_31),
        ("Paul Durand", "paul.durand@ac-toulouse.fr", LYCEE_31),
    ] {
        let (status, body) = manager
            .post(
                &format!("/api/v1/sessions/{session}/registrations"),
                json!({"person": {"email": email, "display_name": name, "school_uai": uai,
                                  "function": "CPE"}, "mode": "designated"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, deployment) = college
        .post(
            "/api/v1/phare/deployments",
            json!({"school_year": "2026-2027", "school_uai": COLLEGE_31}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deployment}");
    let deployment = deployment["id"].as_str().unwrap().to_owned();
    let (status, body) = college
        .post(
            &format!("/api/v1/phare/deployments/{deployment}/team-members"),
            json!({"person": {"display_name": "Jeanne Martin", "email": JEANNE},
                   "function": "cpe", "trained": true, "training_minutes": 720,
                   "mpp_trained": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let registrants = format!(
        "{{ session(id: \"{session}\") {{ registrants {{ status schoolUai function \
         person {{ displayName email erased }} }} }} }}"
    );
    let team = format!(
        "{{ deployments(schoolUai: \"{COLLEGE_31}\") {{ edges {{ node {{ team {{ function trained \
         person {{ displayName email }} }} }} }} }} }}"
    );

    // The pole and the session's department see both registrants by name.
    let seen = until(&manager, &registrants, |b| {
        pick_registrants(&b["data"]).len() == 2
    })
    .await;
    let mut names = people(&seen, pick_registrants);
    names.sort();
    assert_eq!(
        names,
        [
            ("Jeanne Martin".to_owned(), JEANNE.to_owned()),
            (
                "Paul Durand".to_owned(),
                "paul.durand@ac-toulouse.fr".to_owned()
            )
        ]
    );
    assert_eq!(seen["data"]["session"]["registrants"][0]["function"], "CPE");
    let by_referent = graphql(&referent_31, &registrants).await;
    assert_eq!(
        pick_registrants(&by_referent["data"]).len(),
        2,
        "{by_referent}"
    );
    // A school sees its own staff only; another department nothing (the session of the
    // 31 is not in its planning).
    let by_lycee = graphql(&lycee, &registrants).await;
    assert_eq!(
        people(&by_lycee, pick_registrants),
        [(
            "Paul Durand".to_owned(),
            "paul.durand@ac-toulouse.fr".to_owned()
        )],
        "{by_lycee}"
    );
    let by_32 = graphql(&referent_32, &registrants).await;
    assert!(by_32["data"]["session"].is_null(), "{by_32}");

    let seen = until(&college, &team, |b| pick_team(&b["data"]).len() == 1).await;
    assert_eq!(
        people(&seen, pick_team),
        [("Jeanne Martin".to_owned(), JEANNE.to_owned())]
    );
    assert_eq!(
        seen["data"]["deployments"]["edges"][0]["node"]["team"][0]["function"],
        "cpe"
    );

    // Accounts: the pole sees every one, a referent those of its department.
    let users = "{ users(first: 50) { totalCount edges { node { role roleLabel scope department \
                 person { displayName email } } } } }";
    let all = until(&manager, users, |b| b["data"]["users"]["totalCount"] == 7).await;
    let of_31 = graphql(&referent_31, users).await;
    let scopes: Vec<&str> = of_31["data"]["users"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["department"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(scopes, ["31", "31", "31"], "{of_31}");
    assert!(
        all["data"]["users"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["roleLabel"] == "référent départemental"),
        "{all}"
    );

    // Each name shown to someone else is a read in Jeanne's read log, through GraphQL.
    let (status, log) = manager
        .get(&format!("/api/v1/read-log?person={JEANNE}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let routes: Vec<&str> = log["reads"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"))
        .iter()
        .filter_map(|r| r["route"].as_str())
        .collect();
    assert!(
        routes.contains(&"POST /graphql session.registrants")
            && routes.contains(&"POST /graphql deployment.team"),
        "{log}"
    );

    // Erased: « donnée effacée » in every list at once, nothing to rebuild.
    let (status, body) = manager
        .post(
            "/api/v1/people/erase",
            json!({"email": JEANNE, "reason": "demande de la personne"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = graphql(&manager, &registrants).await;
    let mut names = people(&after, pick_registrants);
    names.sort();
    assert_eq!(
        names,
        [
            (
                "Paul Durand".to_owned(),
                "paul.durand@ac-toulouse.fr".to_owned()
            ),
            (ERASED.to_owned(), ERASED.to_owned())
        ],
        "{after}"
    );
    let erased_flags: Vec<bool> = after["data"]["session"]["registrants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["person"]["erased"].as_bool().unwrap())
        .collect();
    assert_eq!(erased_flags.iter().filter(|e| **e).count(), 1, "{after}");
    let team_after = graphql(&college, &team).await;
    assert_eq!(
        people(&team_after, pick_team),
        [(ERASED.to_owned(), ERASED.to_owned())],
        "{team_after}"
    );
    // Nothing about her in the lists' text either.
    assert!(!after.to_string().contains("Jeanne"), "{after}");
    assert!(!team_after.to_string().contains("Jeanne"), "{team_after}");
    app.finish().await;
}

/// The reminder ledger, as the `reminders` target records it, listed in scope with the
/// recipient's name, where each reminder stands and why.
async fn the_reminder_ledger_is_listed_in_scope(db: TestDb) {
    use pharos_events::reminder::{CATEGORY, ReminderEvent, ReminderKey, SuppressionReason};
    use pharos_eventstore::{ExpectedVersion, Metadata, StreamId};
    use pharos_privacy::PersonId;

    let app = TestApp::builder(db).targets(&["read-model"]).start().await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    let referent = app.user("department_referent", Some("31")).await;
    let college_31 = app.user("school", Some(COLLEGE_31)).await;
    let college_32 = app.user("school", Some(COLLEGE_32)).await;
    let id_of = async |client: &pharos_test_support::Client| {
        let me = graphql(client, "{ me { id } }").await;
        me["data"]["me"]["id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .unwrap()
    };
    let ledger = [
        (id_of(&college_31).await, COLLEGE_31, None),
        (
            id_of(&college_32).await,
            COLLEGE_32,
            Some(ReminderEvent::ReminderSuppressed {
                reason: SuppressionReason::ConditionNoLongerTrue,
                detail: "une action a été soumise".into(),
            }),
        ),
    ];
    for (recipient, uai, outcome) in ledger {
        let key = ReminderKey {
            rule: "national_day_report_j7".into(),
            recipient: PersonId(recipient),
            target: format!("school-{uai}:2026-2027"),
            occurrence: "2026-11-05".parse().unwrap(),
        };
        let outcome = outcome.unwrap_or(ReminderEvent::ReminderSent {
            attempt: 1,
            message_id: key.message_id("ac-toulouse.fr"),
            answer: "250 2.0.0 Ok: queued".into(),
            digest_of: None,
        });
        let events = [
            ReminderEvent::ReminderScheduled {
                key: key.clone(),
                due_at: "2026-11-12T07:00:00Z".parse().unwrap(),
                why: "Journée nationale du 05/11/2026, J+7".into(),
            },
            outcome,
        ];
        app.store
            .append(
                &StreamId::new(CATEGORY, key.stream_id()).unwrap(),
                ExpectedVersion::NoStream,
                events.iter().map(pharos_events::encode).collect(),
                &Metadata::default(),
            )
            .await
            .unwrap();
    }

    let query = "{ reminders { totalCount edges { node { rule schoolUai department status \
                 statusLabel reason attempts recipient { displayName erased } } } } }";
    let all = until(&manager, query, |b| {
        b["data"]["reminders"]["totalCount"] == 2
    })
    .await;
    let of_31 = graphql(&referent, query).await;
    assert_eq!(of_31["data"]["reminders"]["totalCount"], 1, "{of_31}");
    let node = &of_31["data"]["reminders"]["edges"][0]["node"];
    assert_eq!(node["schoolUai"], COLLEGE_31, "{of_31}");
    assert_eq!(node["department"], "31");
    assert_eq!(
        (node["status"].as_str(), node["statusLabel"].as_str()),
        (Some("sent"), Some("envoyé"))
    );
    assert_eq!(
        node["reason"],
        "Journée nationale du 05/11/2026, J+7 — 250 2.0.0 Ok: queued"
    );
    assert_eq!(node["attempts"], 1);
    // The recipient by name: the school account (named by its address in these tests).
    assert!(
        node["recipient"]["displayName"]
            .as_str()
            .is_some_and(|n| n.starts_with("school-0310001h")),
        "{of_31}"
    );
    // Its export: the same scope, no names.
    let csv = referent
        .request(reqwest::Method::GET, "/api/v1/exports/reminders.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.unwrap();
    assert!(
        csv.contains(COLLEGE_31) && !csv.contains(COLLEGE_32) && csv.contains("envoyé"),
        "{csv}"
    );
    assert!(!csv.contains("school-0310001h"), "{csv}");
    let own = graphql(&college_32, query).await;
    let node = &own["data"]["reminders"]["edges"][0]["node"];
    assert_eq!(own["data"]["reminders"]["totalCount"], 1, "{own}");
    assert_eq!(node["status"], "suppressed");
    assert!(
        node["reason"].as_str().is_some_and(
            |r| r.ends_with("la condition n'est plus remplie : une action a été soumise")
        ),
        "{own}"
    );
    assert_eq!(
        graphql(&manager, "{ reminders(status: \"sent\") { totalCount } }").await["data"]["reminders"]
            ["totalCount"],
        1,
        "{all}"
    );
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-read-model-people";
    people_are_named_in_scope_logged_and_erased_everywhere,
    the_reminder_ledger_is_listed_in_scope,
);

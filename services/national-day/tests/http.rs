//! The national-day target through the assembled application (beside the directory, for
//! logins, accounts, schools and partners), on a real port, with a real HTTP client, on
//! SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;

use pharos_test_support::{Client, TestApp, TestDb, instant, rule};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The instant the application's clock shows: two weeks after the national day of
/// 2025-2026 (Thursday 6 November 2025).
const NOW: &str = "2025-11-20T10:00:00Z";
const YEAR: &str = "2025-2026";

/// A valid UAI of `department` (its check letter computed).
fn uai(department: u32, n: u32) -> String {
    let digits = format!("{department:03}{n:04}");
    let letter = pharos_events::Uai::check_letter(&digits) as char;
    format!("{digits}{letter}")
}

/// The places of these tests: a collège of Haute-Garonne and one of its écoles, another
/// collège of Haute-Garonne, a collège of Gers.
struct Places {
    college: String,
    ecole: String,
    other: String,
    gers: String,
}

/// The application serving `national-day`, its clock at [`NOW`], with the places
/// registered and the accounts of every role.
struct Day {
    app: TestApp,
    p: Places,
    manager: Client,
    school: Client,
    ecole: Client,
    other_school: Client,
    referent: Client,
    referent_32: Client,
}

impl Deref for Day {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Day {
    async fn start(db: TestDb) -> Self {
        let app = TestApp::builder(db)
            .targets(&["national-day"])
            .at(instant(NOW))
            .start()
            .await;
        let p = Places {
            college: uai(31, 1),
            ecole: uai(31, 10),
            other: uai(31, 2),
            gers: uai(32, 1),
        };
        app.school(&p.college, "college", "31").await;
        app.school(&p.ecole, "ecole", "31").await;
        app.school(&p.other, "college", "31").await;
        app.school(&p.gers, "college", "32").await;
        let manager = app.user("pole_manager", None).await;
        let school = app.user("school", Some(&p.college)).await;
        let ecole = app.user("school", Some(&p.ecole)).await;
        let other_school = app.user("school", Some(&p.other)).await;
        let referent = app.user("department_referent", Some("31")).await;
        let referent_32 = app.user("department_referent", Some("32")).await;
        Self {
            app,
            p,
            manager,
            school,
            ecole,
            other_school,
            referent,
            referent_32,
        }
    }

    async fn finish(self) {
        self.app.finish().await;
    }

    /// Asserts a refusal: its status, its rule, a French fragment of its detail, and
    /// that nothing was appended.
    async fn refused(
        &self,
        (status, body): (StatusCode, Value),
        expected: StatusCode,
        rule_name: &str,
        fragment: &str,
        events_before: i64,
    ) {
        assert_eq!(status, expected, "{body}");
        assert_eq!(rule(&body), rule_name, "{body}");
        assert!(
            body["detail"].as_str().unwrap_or("").contains(fragment),
            "« {fragment} » not in {body}"
        );
        assert_eq!(
            self.events().await,
            events_before,
            "nothing appended: {body}"
        );
    }
}

/// A national-day action of `school` on the national day, held.
fn action(school: &str) -> Value {
    json!({
        "school_uai": school,
        "date": "2025-11-06",
        "types": ["projection_debat", "atelier"],
        "audience_levels": ["cm2", "6e"],
        "pupils_reached": 150,
        "adults_reached": 10,
        "partners": ["Association Les Petits Pas"],
        "description": "Projection du film puis débat en classe.",
        "held": true
    })
}

/// `base` with the fields of `changes` replaced.
fn with(mut base: Value, changes: Value) -> Value {
    for (key, value) in changes.as_object().unwrap() {
        base[key] = value.clone();
    }
    base
}

fn actions_path() -> String {
    format!("/api/v1/national-days/{YEAR}/actions")
}

async fn declare(client: &Client, body: Value) -> String {
    let (status, answer) = client.post(&actions_path(), body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["id"].as_str().unwrap().to_owned()
}

async fn command(client: &Client, id: &str, verb: &str, body: Value) -> (StatusCode, Value) {
    client
        .post(&format!("/api/v1/actions/{id}/{verb}"), body)
        .await
}

async fn ok(client: &Client, id: &str, verb: &str) {
    let (status, body) = command(client, id, verb, Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{verb}: {body}");
}

async fn view(client: &Client, id: &str) -> Value {
    let (status, body) = client.get(&format!("/api/v1/actions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn patch(client: &Client, id: &str, body: Value) -> (StatusCode, Value) {
    client
        .call(Method::PATCH, &format!("/api/v1/actions/{id}"), body)
        .await
}

async fn national_day(client: &Client, year: &str) -> Value {
    let (status, body) = client.get(&format!("/api/v1/national-days/{year}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn happy_path_from_the_poles_date_to_publication(db: TestDb) {
    let day = Day::start(db).await;
    let p = &day.p;
    // Computed: the first Thursday from the Toussaint return (Monday 3 November 2025).
    let computed = national_day(&day.school, YEAR).await;
    assert_eq!(computed["date"], "2025-11-06");
    assert_eq!(computed["computed"], "2025-11-06");
    assert_eq!(computed["window_start"], "2025-10-07");
    assert_eq!(computed["window_end"], "2025-12-06");
    assert_eq!(computed["report_deadline"], "2025-11-27");
    assert_eq!(computed["overridden"], false);
    let y2021 = national_day(&day.school, "2021-2022").await;
    assert_eq!(y2021["date"], "2021-11-18");

    // The pole moves the day by a week and shortens the window after it.
    let (status, body) = day
        .manager
        .put(
            &format!("/api/v1/national-days/{YEAR}"),
            json!({ "date": "2025-11-13", "window_days_after": 20 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let set = national_day(&day.referent, YEAR).await;
    assert_eq!(set["date"], "2025-11-13");
    assert_eq!(set["computed"], "2025-11-06");
    assert_eq!(set["window_start"], "2025-10-14");
    assert_eq!(set["window_end"], "2025-12-03");
    assert_eq!(set["report_deadline"], "2025-12-04");
    assert_eq!(set["overridden"], true);

    // The collège declares an action with one of its écoles, and submits it.
    let id = declare(
        &day.school,
        with(
            action(&p.college),
            json!({ "school_uais": [p.ecole], "date": "2025-11-13" }),
        ),
    )
    .await;
    let draft = view(&day.ecole, &id).await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["campaign"], "national_day");
    assert_eq!(draft["schools"][0]["uai"], p.college.as_str());
    assert_eq!(draft["schools"][1]["uai"], p.ecole.as_str());
    assert_eq!(draft["types"][0]["label"], "Projection-débat");
    assert_eq!(draft["audience_levels"][1]["code"], "6e");
    assert_eq!(draft["partners"][0]["name"], "Association Les Petits Pas");
    ok(&day.school, &id, "submit").await;
    let events = day.events().await;
    day.refused(
        patch(&day.school, &id, json!({ "pupils_reached": 151 })).await,
        StatusCode::CONFLICT,
        "action-not-editable",
        "déposée",
        events,
    )
    .await;

    // The referent returns it; the school fixes it and submits again.
    let (status, body) = command(
        &day.referent,
        &id,
        "return",
        json!({ "reason": "Précisez les niveaux concernés." }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let returned = view(&day.school, &id).await;
    assert_eq!(returned["status"], "returned");
    assert_eq!(returned["return_reason"], "Précisez les niveaux concernés.");
    let (status, body) = patch(
        &day.school,
        &id,
        json!({ "audience_levels": ["cm1", "cm2", "6e"], "pupils_reached": 180 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    ok(&day.school, &id, "submit").await;
    ok(&day.referent, &id, "validate").await;
    ok(&day.referent, &id, "publish").await;
    let published = view(&day.referent, &id).await;
    assert_eq!(published["status"], "published");
    assert_eq!(published["pupils_reached"], 180);
    assert_eq!(published["audience_levels"].as_array().unwrap().len(), 3);

    // A year-round action: no window, the same flow, validated and published by the pole.
    let year_round = declare(
        &day.school,
        with(
            action(&p.college),
            json!({
                "campaign": "year_round", "date": "2026-03-10", "held": false,
                "types": ["questionnaire"], "audience_levels": ["5e"],
                "partners": [], "description": "Questionnaire sur le climat scolaire."
            }),
        ),
    )
    .await;
    ok(&day.school, &year_round, "submit").await;
    ok(&day.manager, &year_round, "validate").await;
    ok(&day.manager, &year_round, "publish").await;
    let viewed = view(&day.school, &year_round).await;
    assert_eq!(
        (viewed["campaign"].as_str(), viewed["status"].as_str()),
        (Some("year_round"), Some("published"))
    );

    // The lists, scoped and filtered.
    let (status, list) = day
        .school
        .get(&format!(
            "/api/v1/actions?school_year={YEAR}&campaign=year_round"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], year_round.as_str());
    let (_, all) = day.referent.get("/api/v1/actions?department=31").await;
    assert_eq!(all["total"], 2, "{all}");
    let (_, none) = day.other_school.get("/api/v1/actions").await;
    assert_eq!(none["total"], 0, "{none}");
    let (_, published) = day.manager.get("/api/v1/actions?status=published").await;
    assert_eq!(published["total"], 2, "{published}");
    let (status, vocabulary) = day.school.get("/api/v1/national-days/vocabulary").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(vocabulary["types"].as_array().unwrap().len(), 13);
    day.finish().await;
}

async fn every_role_in_and_out_of_scope(db: TestDb) {
    let day = Day::start(db).await;
    let p = &day.p;
    let trainer = day.user("trainer", None).await;
    let juror = day.user("juror", None).await;
    let admin = day.admin().await;
    let anonymous = day.anonymous();

    // Declaring: the school side of the action's school only.
    for (who, status, fragment) in [
        (
            &day.other_school,
            StatusCode::FORBIDDEN,
            "hors de votre périmètre",
        ),
        (
            &day.referent_32,
            StatusCode::FORBIDDEN,
            "hors de votre périmètre",
        ),
        (&trainer, StatusCode::FORBIDDEN, "ne permet pas de déclarer"),
        (&juror, StatusCode::FORBIDDEN, "ne permet pas de déclarer"),
        (&admin, StatusCode::FORBIDDEN, "ne permet pas de déclarer"),
        (&anonymous, StatusCode::UNAUTHORIZED, "Connectez-vous"),
    ] {
        let events = day.events().await;
        let (got, body) = who.post(&actions_path(), action(&p.college)).await;
        assert_eq!(got, status, "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains(fragment),
            "{body}"
        );
        assert_eq!(day.events().await, events, "nothing appended: {body}");
    }
    let by_referent = declare(&day.referent, action(&p.college)).await;
    let by_pole = declare(&day.manager, action(&p.college)).await;
    let id = declare(&day.school, action(&p.college)).await;
    for who in [&day.school, &day.referent, &day.manager] {
        for action in [&by_referent, &by_pole, &id] {
            view(who, action).await;
        }
    }

    // Reading and submitting: not another school, not another department.
    for who in [
        &day.other_school,
        &day.referent_32,
        &trainer,
        &juror,
        &admin,
    ] {
        let (status, body) = who.get(&format!("/api/v1/actions/{id}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let events = day.events().await;
        day.refused(
            command(who, &id, "submit", Value::Null).await,
            StatusCode::FORBIDDEN,
            "forbidden",
            "",
            events,
        )
        .await;
        let events = day.events().await;
        day.refused(
            patch(who, &id, json!({ "pupils_reached": 1 })).await,
            StatusCode::FORBIDDEN,
            "forbidden",
            "",
            events,
        )
        .await;
    }
    ok(&day.school, &id, "submit").await;

    // Validating, returning, publishing: the referent of the department and the pole.
    for who in [&day.school, &day.referent_32, &trainer, &juror, &admin] {
        for (verb, body) in [
            ("validate", Value::Null),
            ("return", json!({ "reason": "Non." })),
            ("publish", Value::Null),
        ] {
            let events = day.events().await;
            day.refused(
                command(who, &id, verb, body).await,
                StatusCode::FORBIDDEN,
                "forbidden",
                "",
                events,
            )
            .await;
        }
    }
    ok(&day.referent, &id, "validate").await;

    // An action across two departments: neither referent alone validates it.
    let across = declare(
        &day.manager,
        with(action(&p.college), json!({ "school_uais": [p.gers] })),
    )
    .await;
    view(&day.referent_32, &across).await;
    ok(&day.manager, &across, "submit").await;
    for who in [&day.referent, &day.referent_32] {
        let events = day.events().await;
        day.refused(
            command(who, &across, "validate", Value::Null).await,
            StatusCode::FORBIDDEN,
            "forbidden",
            "département",
            events,
        )
        .await;
    }
    ok(&day.manager, &across, "validate").await;

    // Setting the national day: the pole only.
    for who in [&day.school, &day.referent, &trainer, &admin] {
        let events = day.events().await;
        day.refused(
            who.put(
                &format!("/api/v1/national-days/{YEAR}"),
                json!({ "date": "2025-11-13" }),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
            "Journée nationale",
            events,
        )
        .await;
    }
    let (status, _) = anonymous
        .get(&format!("/api/v1/national-days/{YEAR}"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    national_day(&trainer, YEAR).await;

    // Reports: referents their department, the pole all; not schools nor trainers.
    let reports = |d: &str| format!("/api/v1/national-days/{YEAR}/reports?department={d}");
    for (who, d) in [
        (&day.school, "31"),
        (&day.referent, "32"),
        (&day.referent_32, "31"),
        (&trainer, "31"),
    ] {
        let (status, body) = who.get(&reports(d)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    for (who, d) in [(&day.referent, "31"), (&day.manager, "32")] {
        let (status, body) = who.get(&reports(d)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // Lists: a filter outside the scope is refused, and others' actions are not listed.
    let (status, _) = day.referent_32.get("/api/v1/actions?department=31").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = day
        .other_school
        .get(&format!("/api/v1/actions?school_uai={}", p.college))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = trainer.get("/api/v1/actions").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, mine) = day.referent_32.get("/api/v1/actions").await;
    assert_eq!(
        mine["total"], 1,
        "only the action across departments: {mine}"
    );
    let (_, ecole) = day.ecole.get("/api/v1/actions").await;
    assert_eq!(ecole["total"], 0, "{ecole}");
    day.finish().await;
}

async fn bad_inputs_are_refused_naming_the_rule_and_change_nothing(db: TestDb) {
    let day = Day::start(db).await;
    let p = &day.p;
    let school = &day.school;
    let closed = uai(31, 3);
    day.school(&closed, "college", "31").await;
    let (status, body) = day
        .manager
        .post(
            &format!("/api/v1/schools/{closed}/close"),
            json!({ "closed_on": "2025-09-30" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, partner) = day
        .manager
        .post(
            "/api/v1/partners",
            json!({
                "name": "Maison des adolescents 31", "kind": "maison_des_adolescents",
                "scope": "department", "department": "31",
                "description": "Écoute et accompagnement", "phones": ["05 61 00 00 00"]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{partner}");
    let partner_id = partner["id"].as_str().unwrap().to_owned();

    let cases: Vec<(Value, StatusCode, &str, &str)> = vec![
        (
            json!({ "date": "2025-12-10", "held": false }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "action-outside-window",
            "du 07/10/2025 au 06/12/2025",
        ),
        (
            json!({ "date": "2025-11-25" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "held-action-in-future",
            "25/11/2025",
        ),
        (
            json!({ "types": [] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "action-type-missing",
            "au moins un type",
        ),
        (
            json!({ "types": ["cinema"] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-action-type",
            "projection_debat",
        ),
        (
            json!({ "audience_levels": ["7e"] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-audience-level",
            "maternelle",
        ),
        (
            json!({ "pupils_reached": -5 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "negative-count",
            "d'élèves",
        ),
        (
            json!({ "adults_reached": -1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "negative-count",
            "d'adultes",
        ),
        (
            json!({ "campaign": "year_round", "date": "2026-09-02", "held": false }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "action-outside-school-year",
            "2025-2026",
        ),
        (
            json!({ "campaign": "toujours" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-campaign",
            "year_round",
        ),
        (
            json!({ "date": "06/11/2025" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-date",
            "AAAA-MM-JJ",
        ),
        (
            json!({ "school_uai": uai(31, 99) }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "school-unknown",
            "n'est pas enregistré",
        ),
        (
            json!({ "school_uai": "0310001A" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-uai",
            "lettre de contrôle",
        ),
        (
            json!({ "school_uais": [closed] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "school-closed",
            "fermé",
        ),
        (
            json!({ "partners": [{ "partner_id": "00000000-0000-7000-8000-000000000001" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "partner-unknown",
            "annuaire",
        ),
        (
            json!({ "types": ["autre"], "description": "" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "other-type-undescribed",
            "autre",
        ),
    ];
    for (changes, status, rule_name, fragment) in cases {
        let events = day.events().await;
        let answer = school
            .post(&actions_path(), with(action(&p.college), changes.clone()))
            .await;
        day.refused(answer, status, rule_name, fragment, events)
            .await;
    }
    // The field at fault is named.
    let (_, body) = school
        .post(
            &actions_path(),
            with(action(&p.college), json!({ "pupils_reached": -5 })),
        )
        .await;
    assert_eq!(body["errors"][0]["field"], "pupils_reached", "{body}");
    // A year out of range.
    let events = day.events().await;
    day.refused(
        school
            .post(
                "/api/v1/national-days/2027-2028/actions",
                action(&p.college),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "school-year-out-of-range",
        "hors période",
        events,
    )
    .await;

    // A directory partner is accepted by id and named from the directory.
    let id = declare(
        school,
        with(
            action(&p.college),
            json!({ "partners": [{ "partner_id": partner_id }, { "name": "Compagnie du Théâtre" }] }),
        ),
    )
    .await;
    let viewed = view(school, &id).await;
    assert_eq!(viewed["partners"][0]["name"], "Maison des adolescents 31");
    assert_eq!(viewed["partners"][0]["partner_id"], partner_id.as_str());

    // The same rules on an edit, and the lifecycle's conflicts.
    let events = day.events().await;
    day.refused(
        patch(school, &id, json!({ "pupils_reached": -2 })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "negative-count",
        "négatif",
        events,
    )
    .await;
    day.refused(
        patch(school, &id, json!({ "date": "2025-12-20", "held": false })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "action-outside-window",
        "fenêtre",
        events,
    )
    .await;
    day.refused(
        command(&day.referent, &id, "validate", Value::Null).await,
        StatusCode::CONFLICT,
        "action-not-submitted",
        "brouillon",
        events,
    )
    .await;
    ok(school, &id, "submit").await;
    let events = day.events().await;
    for (verb, body, status, rule_name) in [
        (
            "submit",
            Value::Null,
            StatusCode::CONFLICT,
            "action-not-editable",
        ),
        (
            "return",
            json!({ "reason": "  " }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "return-reason-missing",
        ),
        (
            "publish",
            Value::Null,
            StatusCode::CONFLICT,
            "action-not-validated",
        ),
    ] {
        let who = if verb == "submit" {
            school
        } else {
            &day.referent
        };
        day.refused(
            command(who, &id, verb, body).await,
            status,
            rule_name,
            "",
            events,
        )
        .await;
    }
    let (status, _) = day
        .referent
        .get("/api/v1/actions/00000000-0000-7000-8000-000000000009")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The pole's settings.
    for (body, rule_name, fragment) in [
        (
            json!({ "window_days_before": 500 }),
            "window-too-long",
            "120 jours",
        ),
        (
            json!({ "date": "2026-11-05" }),
            "national-day-outside-school-year",
            "2025-2026",
        ),
        (
            json!({ "report_deadline": "2025-11-01" }),
            "report-deadline-before-day",
            "précède",
        ),
        (json!({ "date": "le 13" }), "invalid-date", "AAAA-MM-JJ"),
    ] {
        let events = day.events().await;
        day.refused(
            day.manager
                .put(&format!("/api/v1/national-days/{YEAR}"), body)
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            rule_name,
            fragment,
            events,
        )
        .await;
    }
    // Any year may be read ahead; before the first national day, none.
    let ahead = national_day(school, "2029-2030").await;
    assert_eq!(ahead["date"], "2029-11-08");
    let (status, body) = school.get("/api/v1/national-days/2014-2015").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(rule(&body), "school-year-out-of-range");
    // Beyond the shipped Toussaint return days: the file to extend is named.
    let (status, body) = day.manager.get("/api/v1/national-days/2030-2031").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(rule(&body), "national-day-date-unknown");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("shared/domain/toussaint.json"),
        "{body}"
    );
    // Once the pole sets the date (the year being the next one), the year has its
    // national day.
    day.set_now(instant("2029-12-01T10:00:00Z"));
    let (status, body) = day
        .manager
        .put(
            "/api/v1/national-days/2030-2031",
            json!({ "date": "2030-11-07" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let set = national_day(&day.manager, "2030-2031").await;
    assert_eq!(set["date"], "2030-11-07");
    assert_eq!(set["computed"], Value::Null);
    day.finish().await;
}

async fn expected_and_received_reports_per_department(db: TestDb) {
    let day = Day::start(db).await;
    let p = &day.p;
    let closed = uai(31, 3);
    day.school(&closed, "college", "31").await;
    let (status, body) = day
        .manager
        .post(
            &format!("/api/v1/schools/{closed}/close"),
            json!({ "closed_on": "2025-09-30" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report = |who: &Client, query: &str| {
        let who = who.clone();
        let path = format!("/api/v1/national-days/{YEAR}/reports?{query}");
        async move {
            let (status, body) = who.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    // Nothing reported yet: the three open schools of 31 are expected.
    let empty = report(&day.referent, "department=31").await;
    assert_eq!(
        (empty["expected"].as_u64(), empty["received"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(empty["report_deadline"], "2025-11-27");

    // The collège and its école report together; the other collège only drafts, and
    // reports a year-round action.
    let shared = declare(
        &day.school,
        with(action(&p.college), json!({ "school_uais": [p.ecole] })),
    )
    .await;
    ok(&day.school, &shared, "submit").await;
    declare(&day.other_school, action(&p.other)).await;
    let year_round = declare(
        &day.other_school,
        with(
            action(&p.other),
            json!({ "campaign": "year_round", "date": "2025-09-15" }),
        ),
    )
    .await;
    ok(&day.other_school, &year_round, "submit").await;
    let partial = report(&day.referent, "department=31").await;
    assert_eq!(partial["expected"], 3, "{partial}");
    assert_eq!(partial["received"], 2, "{partial}");
    let missing = partial["schools_without_action"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{partial}");
    assert_eq!(missing[0]["uai"], p.other.as_str());
    assert_eq!(partial["schools_without_action_total"], 1);

    // Returned, the action no longer counts until it is submitted again.
    let (status, body) = command(
        &day.referent,
        &shared,
        "return",
        json!({ "reason": "Ajoutez le nombre d'adultes." }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let returned = report(&day.manager, "department=31&limit=1").await;
    assert_eq!(returned["received"], 0, "{returned}");
    assert_eq!(returned["schools_without_action_total"], 3);
    assert_eq!(
        returned["schools_without_action"].as_array().unwrap().len(),
        1
    );
    // Page by page, the schools in the order of their UAI, each once.
    let mut paged = Vec::new();
    for offset in 0..3 {
        let page = report(
            &day.manager,
            &format!("department=31&limit=1&offset={offset}"),
        )
        .await;
        paged.push(page["schools_without_action"][0]["uai"].to_string());
    }
    let mut ordered = paged.clone();
    ordered.sort();
    ordered.dedup();
    assert_eq!(paged, ordered, "pages of one school");
    ok(&day.school, &shared, "submit").await;
    ok(&day.referent, &shared, "validate").await;
    let validated = report(&day.referent, "department=31").await;
    assert_eq!(validated["received"], 2, "{validated}");

    // Gers: expected, nothing received; the pole sees every department at once.
    let gers = report(&day.referent_32, "department=32").await;
    assert_eq!(
        (gers["expected"].as_u64(), gers["received"].as_u64()),
        (Some(1), Some(0))
    );
    let all = report(&day.manager, "").await;
    assert_eq!(
        (all["expected"].as_u64(), all["received"].as_u64()),
        (Some(4), Some(2))
    );
    let mine = report(&day.referent, "").await;
    assert_eq!(mine["expected"], 3, "a referent's own department: {mine}");
    day.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-national-day";
    happy_path_from_the_poles_date_to_publication,
    every_role_in_and_out_of_scope,
    bad_inputs_are_refused_naming_the_rule_and_change_nothing,
    expected_and_received_reports_per_department,
);

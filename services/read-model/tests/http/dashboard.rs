//! The dashboard through the real application: commands through the REST APIs, then
//! `dashboard` answers (polled with a deadline), per caller's scope; `asOf` before and
//! after a change answers both states; a changed definition rebuilds its indicator's
//! tables only; rebuilt indicator tables equal those built as events came.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use pharos_events::phare::SchoolYear;
use pharos_read_model::indicators;
use pharos_read_model::tables::{self, Descriptor};
use pharos_test_support::{Client, TestApp, TestDb};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::surface::{receive, subscribed};
use super::{COLLEGE_31, COLLEGE_32, LYCEE_31, graphql, until};

/// An école of Haute-Garonne (circonscription « Toulouse Centre »): 310003 mod 23 = 9 → K.
pub(crate) const ECOLE_31: &str = "0310003K";

/// Today in the academy, and its school year: dated facts are recorded today, so that
/// they hold on the dashboard's default instant (now) whatever day the test runs.
pub(crate) fn today() -> (chrono::NaiveDate, SchoolYear) {
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    (today, SchoolYear::containing(today))
}

pub(crate) fn member(n: usize, trained: bool) -> Value {
    json!({
        "person": { "display_name": format!("Membre {n}"), "email": format!("membre{n}@ac-toulouse.fr") },
        "function": "enseignant", "trained": trained, "training_minutes": 720, "mpp_trained": false
    })
}

pub(crate) async fn created(client: &Client, path: &str, body: Value) -> String {
    let (status, answer) = client.post(path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
    answer["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn ok(client: &Client, path: &str, body: Value) {
    let (status, answer) = client.post(path, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
}

/// A deployment of `year` (`owner`: `school_uai` or circonscription fields) with
/// `trained` trained members; their ids.
pub(crate) async fn team(
    client: &Client,
    year: SchoolYear,
    owner: Value,
    trained: usize,
) -> (String, Vec<String>) {
    let mut body = json!({ "school_year": year.to_string() });
    for (key, value) in owner.as_object().unwrap() {
        body[key] = value.clone();
    }
    let id = created(client, "/api/v1/phare/deployments", body).await;
    let mut members = Vec::new();
    for n in 0..trained {
        members.push(
            created(
                client,
                &format!("/api/v1/phare/deployments/{id}/team-members"),
                member(n, true),
            )
            .await,
        );
    }
    (id, members)
}

fn dashboard(year: SchoolYear, department: Option<&str>, as_of: Option<&str>) -> String {
    let department = department.map_or(String::new(), |d| format!(", department: \"{d}\""));
    let as_of = as_of.map_or(String::new(), |a| format!(", asOf: \"{a}\""));
    format!(
        "{{ dashboard(schoolYear: \"{year}\"{department}{as_of}) {{ schoolYear asOf \
         trainedTeams {{ definitionVersion schools {{ value count of byDepartment {{ key count of }} byKind {{ key count of }} }} \
                         circonscriptions {{ value count of byCirconscription {{ key count of }} }} }} \
         ambassadors {{ definitionVersion schools {{ count of }} pupils {{ total byDepartment {{ key total }} }} parents {{ total }} }} \
         labels {{ definitionVersion byLevel {{ level count previousYear change }} labelled {{ count of }} }} \
         pharesteps: phareSteps {{ definitionVersion charterInForce {{ value count of }} protocolPresented {{ count of }} \
                      learningHoursPlanned {{ count of }} parentWorkshopHeld {{ count of }} }} }} }}"
    )
}

pub(crate) fn figure<'a>(body: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(&body["data"]["dashboard"], |value, key| &value[key])
}

async fn the_dashboard_counts_in_scope_and_as_of_answers_past_states(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["read-model", "phare", "cohorts"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(LYCEE_31, "lycee_gt", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    app.school(ECOLE_31, "ecole", "31").await;
    let (today, year) = today();

    let (deployment, members) = team(&manager, year, json!({"school_uai": COLLEGE_31}), 5).await;
    let path = format!("/api/v1/phare/deployments/{deployment}");
    ok(
        &manager,
        &format!("{path}/charter"),
        json!({"signed_on": today}),
    )
    .await;
    ok(
        &manager,
        &format!("{path}/protocol"),
        json!({"formalised_on": today, "presented_on": today, "presented_to": "conseil_administration"}),
    )
    .await;
    ok(
        &manager,
        &format!("{path}/learning-hours"),
        json!({"planned": true, "hours": 10}),
    )
    .await;
    team(
        &manager,
        year,
        json!({"circonscription": "Toulouse Centre", "department": "31"}),
        5,
    )
    .await;
    team(&manager, year, json!({"school_uai": COLLEGE_32}), 2).await;
    let cohort = created(
        &manager,
        "/api/v1/cohorts",
        json!({"school_uai": COLLEGE_31, "school_year": year.to_string(), "kind": "eleves_college",
               "referent": {"display_name": "Nora CPE", "email": "nora.cpe@ac-toulouse.fr"},
               "counts": {"6e": 6, "5e": 5}}),
    )
    .await;
    ok(
        &manager,
        &format!("/api/v1/cohorts/{cohort}/declare"),
        Value::Null,
    )
    .await;

    let query = dashboard(year, None, None);
    let seen = until(&manager, &query, |b| {
        figure(b, "trainedTeams.schools.count") == 1
            && figure(b, "trainedTeams.circonscriptions.count") == 1
            && figure(b, "pharesteps.learningHoursPlanned.count") == 1
            && figure(b, "ambassadors.schools.count") == 1
            && figure(b, "ambassadors.pupils.total") == 11
            && figure(b, "pharesteps.charterInForce.count") == 1
            && figure(b, "pharesteps.protocolPresented.count") == 1
    })
    .await;
    assert!(seen["errors"].is_null(), "{seen}");
    // Collèges and lycées: three open, one with a trained team.
    assert_eq!(figure(&seen, "trainedTeams.schools.of"), 3, "{seen}");
    let value = figure(&seen, "trainedTeams.schools.value")
        .as_f64()
        .unwrap();
    assert!((value - 1.0 / 3.0).abs() < 1e-9, "{seen}");
    assert_eq!(
        figure(&seen, "trainedTeams.schools.byDepartment"),
        &json!([{"key": "31", "count": 1, "of": 2}, {"key": "32", "count": 0, "of": 1}])
    );
    assert_eq!(
        figure(&seen, "trainedTeams.schools.byKind"),
        &json!([{"key": "college", "count": 1, "of": 2}, {"key": "lycee_gt", "count": 0, "of": 1}])
    );
    assert_eq!(
        figure(&seen, "trainedTeams.circonscriptions.byCirconscription"),
        &json!([{"key": "Toulouse Centre", "count": 1, "of": 1}])
    );
    // pHARe steps: over écoles, collèges and lycées (four open).
    for step in [
        "charterInForce",
        "protocolPresented",
        "learningHoursPlanned",
    ] {
        assert_eq!(
            figure(&seen, &format!("pharesteps.{step}.count")),
            1,
            "{step}: {seen}"
        );
        assert_eq!(
            figure(&seen, &format!("pharesteps.{step}.of")),
            4,
            "{step}: {seen}"
        );
    }
    assert_eq!(
        figure(&seen, "pharesteps.parentWorkshopHeld.count"),
        0,
        "{seen}"
    );
    assert_eq!(figure(&seen, "ambassadors.pupils.total"), 11, "{seen}");
    assert_eq!(
        figure(&seen, "trainedTeams.definitionVersion"),
        indicators::TRAINED_TEAMS.definition,
        "{seen}"
    );
    assert_eq!(
        figure(&seen, "labels.byLevel").as_array().unwrap().len(),
        3,
        "{seen}"
    );

    // A member leaves: the team falls below 5. `asOf` an instant between answers the
    // state before, now the state after; before anything was recorded, nothing.
    let between = Utc::now();
    let (status, body) = manager
        .delete(&format!("{path}/team-members/{}", members[0]))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    until(&manager, &query, |b| {
        figure(b, "trainedTeams.schools.count") == 0
    })
    .await;
    let before = between.to_rfc3339();
    let past = graphql(&manager, &dashboard(year, None, Some(&before))).await;
    assert_eq!(figure(&past, "trainedTeams.schools.count"), 1, "{past}");
    assert_eq!(
        figure(&past, "asOf").as_str(),
        Some(
            between
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .as_str()
        )
    );
    let now = graphql(&manager, &dashboard(year, None, None)).await;
    assert_eq!(figure(&now, "trainedTeams.schools.count"), 0, "{now}");
    let long_ago = (between - TimeDelta::days(3650)).to_rfc3339();
    let empty = graphql(&manager, &dashboard(year, None, Some(&long_ago))).await;
    assert_eq!(
        figure(&empty, "trainedTeams.circonscriptions.count"),
        0,
        "{empty}"
    );
    assert_eq!(figure(&empty, "ambassadors.pupils.total"), 0, "{empty}");
    let refused = graphql(&manager, &dashboard(year, None, Some("hier"))).await;
    assert_eq!(
        refused["errors"][0]["message"],
        "« asOf » : « hier » n'est pas un instant RFC 3339 (par exemple 2026-11-05T09:00:00+01:00).",
        "{refused}"
    );

    // Scope: a referent sees its department; another asked is empty, not an error.
    let referent = app.user("department_referent", Some("31")).await;
    let mine = graphql(&referent, &dashboard(year, None, Some(&before))).await;
    assert_eq!(figure(&mine, "trainedTeams.schools.count"), 1, "{mine}");
    assert_eq!(figure(&mine, "trainedTeams.schools.of"), 2, "{mine}");
    assert_eq!(
        figure(&mine, "trainedTeams.schools.byDepartment"),
        &json!([{"key": "31", "count": 1, "of": 2}])
    );
    let other = graphql(&referent, &dashboard(year, Some("32"), None)).await;
    assert!(other["errors"].is_null(), "{other}");
    assert_eq!(figure(&other, "trainedTeams.schools.of"), 0, "{other}");
    assert!(
        figure(&other, "trainedTeams.schools.value").is_null(),
        "{other}"
    );
    assert_eq!(figure(&other, "ambassadors.pupils.total"), 0, "{other}");
    let gers = app.user("department_referent", Some("32")).await;
    let theirs = graphql(&gers, &dashboard(year, None, Some(&before))).await;
    assert_eq!(figure(&theirs, "trainedTeams.schools.count"), 0, "{theirs}");
    assert_eq!(figure(&theirs, "trainedTeams.schools.of"), 1, "{theirs}");
    assert_eq!(
        figure(&theirs, "pharesteps.charterInForce.of"),
        1,
        "{theirs}"
    );
    // The pole narrows to a department when it asks.
    let narrowed = graphql(&manager, &dashboard(year, Some("32"), None)).await;
    assert_eq!(
        figure(&narrowed, "trainedTeams.schools.of"),
        1,
        "{narrowed}"
    );
    // A department's figures (its facts looked up by school, the pHARe steps in one
    // statement) are the academy's for that department: three écoles, collèges and
    // lycées in Haute-Garonne, the collège's steps and cohort.
    let toulouse = graphql(&manager, &dashboard(year, Some("31"), Some(&before))).await;
    assert!(toulouse["errors"].is_null(), "{toulouse}");
    for (step, count) in [
        ("charterInForce", 1),
        ("protocolPresented", 1),
        ("learningHoursPlanned", 1),
        ("parentWorkshopHeld", 0),
    ] {
        assert_eq!(
            (
                figure(&toulouse, &format!("pharesteps.{step}.count")),
                figure(&toulouse, &format!("pharesteps.{step}.of"))
            ),
            (&json!(count), &json!(3)),
            "{step}: {toulouse}"
        );
    }
    assert_eq!(
        figure(&toulouse, "ambassadors.pupils.total"),
        11,
        "{toulouse}"
    );
    assert_eq!(
        figure(&toulouse, "ambassadors.pupils.byDepartment"),
        &json!([{"key": "31", "total": 11}]),
        "{toulouse}"
    );
    assert_eq!(
        figure(&toulouse, "ambassadors.schools"),
        &json!({"count": 1, "of": 2}),
        "{toulouse}"
    );
    assert_eq!(
        figure(&toulouse, "ambassadors.parents.total"),
        0,
        "{toulouse}"
    );
    // The Gers: one collège, no cohort (no part for its department).
    let gers = graphql(&manager, &dashboard(year, Some("32"), Some(&before))).await;
    assert_eq!(
        figure(&gers, "ambassadors"),
        &json!({"definitionVersion": indicators::AMBASSADORS.definition,
                "schools": {"count": 0, "of": 1}, "pupils": {"total": 0, "byDepartment": []},
                "parents": {"total": 0}}),
        "{gers}"
    );
    assert_eq!(
        figure(&toulouse, "trainedTeams.schools.count"),
        1,
        "{toulouse}"
    );
    assert_eq!(figure(&toulouse, "labels.labelled.of"), 3, "{toulouse}");
    // A school sees its own figures; a trainer none.
    let school = app.user("school", Some(COLLEGE_31)).await;
    let own = graphql(&school, &dashboard(year, None, Some(&before))).await;
    assert_eq!(figure(&own, "trainedTeams.schools.count"), 1, "{own}");
    assert_eq!(figure(&own, "trainedTeams.schools.of"), 1, "{own}");
    assert_eq!(figure(&own, "pharesteps.charterInForce.of"), 1, "{own}");
    let trainer = app.user("trainer", None).await;
    let none = graphql(&trainer, &dashboard(year, None, Some(&before))).await;
    assert_eq!(figure(&none, "trainedTeams.schools.of"), 0, "{none}");
    assert_eq!(figure(&none, "pharesteps.charterInForce.of"), 0, "{none}");
    app.finish().await;
}

/// The read model and the trainings running, a pole manager, and [`COLLEGE_31`]: the
/// application, the manager, an instant two days ahead and its school year.
async fn trainings_with_college_31(db: TestDb) -> (TestApp, Client, DateTime<Utc>, SchoolYear) {
    let start = Utc::now() + TimeDelta::days(2);
    let app = TestApp::builder(db)
        .targets(&["read-model", "trainings"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    let year = SchoolYear::containing(start.with_timezone(&chrono_tz::Europe::Paris).date_naive());
    (app, manager, start, year)
}

/// A training on the MPP, of the Haute-Garonne: its id.
async fn mpp_training(manager: &Client) -> String {
    created(
        manager,
        "/api/v1/trainings",
        json!({"title": "MPP", "topic": "mpp", "audience": "équipes", "department": "31"}),
    )
    .await
}

/// A session (`session`: its fields) of a new [`mpp_training`], opened to registrations:
/// its id.
async fn open_mpp_session(manager: &Client, session: Value) -> String {
    let training = mpp_training(manager).await;
    open_session(manager, &training, session).await
}

/// A session (`session`: its fields) of `training`, opened to registrations: its id.
async fn open_session(manager: &Client, training: &str, session: Value) -> String {
    let session = created(
        manager,
        &format!("/api/v1/trainings/{training}/sessions"),
        session,
    )
    .await;
    ok(
        manager,
        &format!("/api/v1/sessions/{session}/open"),
        Value::Null,
    )
    .await;
    session
}

/// Person `n` of `school`, registered to `session` by the pole: the registration's id.
async fn registered(manager: &Client, session: &str, n: usize, school: &str) -> String {
    created(
        manager,
        &format!("/api/v1/sessions/{session}/registrations"),
        json!({"person": {"email": format!("p{n}@ac-toulouse.fr"), "display_name": format!("P {n}"),
                          "school_uai": school, "function": "CPE"}, "mode": "designated"}),
    )
    .await
}

/// Person 1 of [`COLLEGE_31`] registered to the open `session`, which is then closed,
/// and marked present at its first slot once the clock reads `now`.
async fn present_at_first_slot(app: &TestApp, manager: &Client, session: &str, now: DateTime<Utc>) {
    let registration = registered(manager, session, 1, COLLEGE_31).await;
    ok(
        manager,
        &format!("/api/v1/sessions/{session}/close"),
        Value::Null,
    )
    .await;
    app.set_now(now);
    ok(
        manager,
        &format!("/api/v1/sessions/{session}/attendance"),
        json!({"registration_id": registration, "slot_index": 0, "status": "present"}),
    )
    .await;
}

/// An action of the 2026-2027 national day declared by `school` as `body` says, then
/// submitted.
async fn submitted_action(school: &Client, body: Value) {
    let action = created(school, "/api/v1/national-days/2026-2027/actions", body).await;
    ok(
        school,
        &format!("/api/v1/actions/{action}/submit"),
        Value::Null,
    )
    .await;
}

/// Sessions planned, held and cancelled, minutes delivered, attendance, MPP trained and
/// school coverage, from the trainings' commands. A Gers collège numbered among
/// Haute-Garonne's schools (as one moved from there would be) counts in the Gers alone,
/// on the academy's dashboard and on each department's (whose span of UAIs it widens).
async fn the_dashboard_counts_trainings(db: TestDb) {
    let (app, manager, start, year) = trainings_with_college_31(db).await;
    app.school(LYCEE_31, "lycee_gt", "31").await;
    // Between Haute-Garonne's UAIs, in the Gers.
    let gers_among_31 = super::surface::uai(31, 50);
    app.school(&gers_among_31, "college", "32").await;
    app.school(COLLEGE_32, "college", "32").await;
    app.school(&super::surface::uai(31, 90), "ecole", "31")
        .await;
    let training = mpp_training(&manager).await;
    let at = |minutes: i64| (start + TimeDelta::minutes(minutes)).to_rfc3339();
    let session_body = json!({
        "starts_at": at(0), "ends_at": at(480),
        "slots": [{"starts_at": at(0), "ends_at": at(180)}],
        "location": "Canopé", "capacity": 5, "planned_minutes": 180
    });
    let sessions = format!("/api/v1/trainings/{training}/sessions");
    let held = created(&manager, &sessions, session_body.clone()).await;
    let cancelled = created(&manager, &sessions, session_body.clone()).await;
    created(&manager, &sessions, session_body).await;
    ok(
        &manager,
        &format!("/api/v1/sessions/{cancelled}/cancel"),
        json!({"reason": "Formateur absent"}),
    )
    .await;
    ok(
        &manager,
        &format!("/api/v1/sessions/{held}/open"),
        Value::Null,
    )
    .await;
    let mut registrations = Vec::new();
    for (n, school) in [
        (1, COLLEGE_31),
        (2, COLLEGE_31),
        (3, LYCEE_31),
        (4, gers_among_31.as_str()),
    ] {
        registrations.push(registered(&manager, &held, n, school).await);
    }
    ok(
        &manager,
        &format!("/api/v1/sessions/{held}/close"),
        Value::Null,
    )
    .await;
    app.set_now(start + TimeDelta::minutes(200));
    for (registration, status) in [
        (&registrations[0], "present"),
        (&registrations[1], "present"),
        (&registrations[2], "absent"),
        (&registrations[3], "present"),
    ] {
        ok(
            &manager,
            &format!("/api/v1/sessions/{held}/attendance"),
            json!({"registration_id": registration, "slot_index": 0, "status": status}),
        )
        .await;
    }
    app.set_now(start + TimeDelta::minutes(500));
    ok(
        &manager,
        &format!("/api/v1/sessions/{held}/lock-attendance"),
        Value::Null,
    )
    .await;

    let query = format!(
        "{{ dashboard(schoolYear: \"{year}\") {{ trainings {{ definitionVersion sessionsPlanned sessionsHeld \
         sessionsCancelled minutesDelivered hoursDelivered attendanceRate {{ value count of }} mppTrained \
         schoolCoverage {{ count of byKind {{ key count of }} byDepartment {{ key count of }} }} }} }} }}"
    );
    let seen = until(&manager, &query, |b| {
        b["data"]["dashboard"]["trainings"]["sessionsHeld"] == 1
            && b["data"]["dashboard"]["trainings"]["mppTrained"] == 3
    })
    .await;
    let trainings = &seen["data"]["dashboard"]["trainings"];
    assert_eq!(trainings["sessionsPlanned"], 1, "{seen}");
    assert_eq!(trainings["sessionsCancelled"], 1, "{seen}");
    assert_eq!(trainings["minutesDelivered"], 540, "{seen}");
    assert_eq!(trainings["hoursDelivered"], 9.0, "{seen}");
    assert_eq!(trainings["attendanceRate"]["count"], 3, "{seen}");
    assert_eq!(trainings["attendanceRate"]["of"], 4, "{seen}");
    assert_eq!(trainings["mppTrained"], 3, "{seen}");
    assert_eq!(
        trainings["schoolCoverage"]["byKind"],
        json!([
            {"key": "college", "count": 2, "of": 3},
            {"key": "ecole", "count": 0, "of": 1},
            {"key": "lycee_gt", "count": 0, "of": 1}
        ]),
        "{seen}"
    );
    let by_department = json!([
        {"key": "31", "count": 1, "of": 3},
        {"key": "32", "count": 1, "of": 2}
    ]);
    assert_eq!(
        trainings["schoolCoverage"]["byDepartment"], by_department,
        "{seen}"
    );
    // Each department's own dashboard reads its schools' attendees alone: Haute-Garonne's
    // not the Gers collège among its UAIs, the Gers' that one far from its others.
    for part in by_department.as_array().unwrap() {
        let department = part["key"].as_str().unwrap();
        let own = graphql(
            &manager,
            &query.replace(
                "dashboard(schoolYear:",
                &format!("dashboard(department: \"{department}\", schoolYear:"),
            ),
        )
        .await;
        let coverage = &own["data"]["dashboard"]["trainings"]["schoolCoverage"];
        assert_eq!(
            (&coverage["count"], &coverage["of"]),
            (&part["count"], &part["of"]),
            "{department}: {own}"
        );
    }
    // Another department's referent sees none of it.
    let gers = app.user("department_referent", Some("32")).await;
    let theirs = graphql(&gers, &query).await;
    assert_eq!(
        theirs["data"]["dashboard"]["trainings"]["sessionsHeld"], 0,
        "{theirs}"
    );
    assert_eq!(
        theirs["data"]["dashboard"]["trainings"]["mppTrained"], 0,
        "{theirs}"
    );
    app.finish().await;
}

/// A session cancelled after its attendance was recorded no longer covers its
/// attendees' school: its attendees follow their session (v2 of the trainings' tables),
/// the school's coverage periods its attendees (v3), and `asOf` before the cancellation
/// still answers the school covered.
async fn a_cancelled_session_no_longer_covers_its_schools(db: TestDb) {
    let (app, manager, start, year) = trainings_with_college_31(db).await;
    let at = |minutes: i64| (start + TimeDelta::minutes(minutes)).to_rfc3339();
    let session = open_mpp_session(
        &manager,
        json!({
            "starts_at": at(0), "ends_at": at(480),
            "slots": [{"starts_at": at(0), "ends_at": at(180)}, {"starts_at": at(240), "ends_at": at(480)}],
            "location": "Canopé", "capacity": 5, "planned_minutes": 420
        }),
    )
    .await;
    // The first slot held, the second not yet: the session can still be cancelled.
    present_at_first_slot(&app, &manager, &session, start + TimeDelta::minutes(200)).await;
    let query = |as_of: Option<&str>| {
        let as_of = as_of.map_or(String::new(), |a| format!(", asOf: \"{a}\""));
        format!(
            "{{ dashboard(schoolYear: \"{year}\"{as_of}) {{ trainings {{ definitionVersion \
             mppTrained schoolCoverage {{ count of }} }} }} }}"
        )
    };
    let seen = until(&manager, &query(None), |b| {
        b["data"]["dashboard"]["trainings"]["schoolCoverage"]["count"] == 1
    })
    .await;
    assert_eq!(
        seen["data"]["dashboard"]["trainings"]["definitionVersion"],
        indicators::TRAININGS.definition,
        "{seen}"
    );
    assert_eq!(indicators::TRAININGS.definition, 3);
    let between = Utc::now().to_rfc3339();
    ok(
        &manager,
        &format!("/api/v1/sessions/{session}/cancel"),
        json!({"reason": "Formateur absent"}),
    )
    .await;
    let seen = until(&manager, &query(None), |b| {
        b["data"]["dashboard"]["trainings"]["schoolCoverage"]["count"] == 0
    })
    .await;
    let trainings = &seen["data"]["dashboard"]["trainings"];
    assert_eq!(trainings["schoolCoverage"]["of"], 1, "{seen}");
    assert_eq!(trainings["mppTrained"], 0, "{seen}");
    let past = graphql(&manager, &query(Some(&between))).await;
    let trainings = &past["data"]["dashboard"]["trainings"];
    assert_eq!(trainings["schoolCoverage"]["count"], 1, "{past}");
    assert_eq!(trainings["mppTrained"], 1, "{past}");

    // Rebuilt from the log (one batch), the tables equal those built event by event.
    let db_ = app.store.db();
    let live = caught_up(&app, &indicators::TRAININGS).await;
    let built = tables::checksums_of(&db_, &indicators::TRAININGS, live)
        .await
        .unwrap();
    let done = pharos_read_model::rebuild_of(
        &app.store,
        &indicators::TRAININGS,
        Duration::ZERO,
        true,
        |_, _| {},
    )
    .await
    .unwrap();
    let rebuilt = tables::checksums_of(&db_, &indicators::TRAININGS, done.live)
        .await
        .unwrap();
    assert_eq!(built, rebuilt);

    // Tables live with an earlier definition (while a release rebuilds them) are read
    // its way: v2 from the attendees, v1 each attendee's session looked up too; the same
    // figures, said to be that definition's.
    for definition in [2_i64, 1] {
        let updated = pharos_eventstore::on_db!(&db_, |pool| {
            sqlx::query("UPDATE rm_generations SET definition = $2 WHERE projection = $1")
                .bind(indicators::TRAININGS.name)
                .bind(definition)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .unwrap();
        assert_eq!(updated, 1);
        for (as_of, covered) in [(None, 0), (Some(between.as_str()), 1)] {
            let older = graphql(&manager, &query(as_of)).await;
            let trainings = &older["data"]["dashboard"]["trainings"];
            assert_eq!(trainings["definitionVersion"], definition, "{older}");
            assert_eq!(trainings["schoolCoverage"]["count"], covered, "{older}");
            assert_eq!(trainings["schoolCoverage"]["of"], 1, "{older}");
            assert_eq!(trainings["mppTrained"], covered, "{older}");
        }
    }
    app.finish().await;
}

/// People trained in the MPP are those present at a session of the MPP: an attendee of
/// another topic's session covers its school but is trained in nothing of the MPP.
async fn only_a_session_of_the_mpp_trains_in_the_mpp(db: TestDb) {
    let (app, manager, start, year) = trainings_with_college_31(db).await;
    let at = |minutes: i64| (start + TimeDelta::minutes(minutes)).to_rfc3339();
    let training = created(
        &manager,
        "/api/v1/trainings",
        json!({"title": "Ambassadeurs", "topic": "ambassadeurs", "audience": "équipes",
               "department": "31"}),
    )
    .await;
    let session = open_session(
        &manager,
        &training,
        json!({"starts_at": at(0), "ends_at": at(180),
               "slots": [{"starts_at": at(0), "ends_at": at(180)}],
               "location": "Canopé", "capacity": 5, "planned_minutes": 180}),
    )
    .await;
    present_at_first_slot(&app, &manager, &session, start + TimeDelta::minutes(200)).await;
    let query = format!(
        "{{ dashboard(schoolYear: \"{year}\") {{ trainings {{ mppTrained \
         schoolCoverage {{ count of }} }} }} }}"
    );
    let seen = until(&manager, &query, |b| {
        b["data"]["dashboard"]["trainings"]["schoolCoverage"]["count"] == 1
    })
    .await;
    assert_eq!(
        seen["data"]["dashboard"]["trainings"]["mppTrained"], 0,
        "{seen}"
    );
    app.finish().await;
}

/// National-day actions: schools with an action, reports received, actions by type,
/// pupils reached; a draft is no report; an action of two departments counts in both.
async fn the_dashboard_counts_national_day_actions(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["read-model", "national-day"])
        .at(pharos_test_support::instant("2026-11-20T10:00:00+01:00"))
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(LYCEE_31, "lycee_gt", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let action = created(
        &school,
        "/api/v1/national-days/2026-2027/actions",
        json!({"school_uais": [COLLEGE_31, COLLEGE_32], "date": "2026-11-05", "types": ["atelier", "lecture"],
               "audience_levels": ["6e"], "pupils_reached": 120, "adults_reached": 4,
               "partners": [], "description": "Ateliers inter-établissements", "held": true}),
    )
    .await;
    let query = "{ dashboard(schoolYear: \"2026-2027\") { nationalDay { definitionVersion actions pupilsReached \
                 actionsByType { key total } schoolsWithAction { count of byDepartment { key count of } } \
                 reports { count of } } } }";
    // Drafted, the draft projected and the three schools too: no report yet. (Waiting for
    // `actions == 0` alone held at once, before the schools were projected: CI once read
    // no school expected.)
    caught_up(&app, &indicators::NATIONAL_DAY).await;
    let draft = until(&manager, query, |b| {
        let day = &b["data"]["dashboard"]["nationalDay"];
        day["actions"] == 0 && day["reports"]["of"] == 3
    })
    .await;
    let day = &draft["data"]["dashboard"]["nationalDay"];
    assert_eq!(day["reports"]["count"], 0, "{draft}");
    assert_eq!(day["schoolsWithAction"]["count"], 0, "{draft}");
    let before = Utc::now().to_rfc3339();
    ok(
        &school,
        &format!("/api/v1/actions/{action}/submit"),
        Value::Null,
    )
    .await;
    // Every figure of the submitted action at once: the fields of one answer are read by
    // separate statements, and the projector may commit between them.
    let seen = until(&manager, query, |b| {
        let day = &b["data"]["dashboard"]["nationalDay"];
        day["actions"] == 1 && day["pupilsReached"] == 120 && day["reports"]["count"] == 2
    })
    .await;
    let day = &seen["data"]["dashboard"]["nationalDay"];
    assert_eq!(day["definitionVersion"], 2, "{seen}");
    assert_eq!(day["pupilsReached"], 120, "{seen}");
    assert_eq!(day["reports"]["count"], 2, "{seen}");
    assert_eq!(
        day["schoolsWithAction"],
        json!({"count": 2, "of": 3, "byDepartment": [{"key": "31", "count": 1, "of": 2}, {"key": "32", "count": 1, "of": 1}]}),
        "{seen}"
    );
    let types: Vec<(String, i64)> = day["actionsByType"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["total"] != 0)
        .map(|t| {
            (
                t["key"].as_str().unwrap().to_owned(),
                t["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [("atelier".to_owned(), 1), ("lecture".to_owned(), 1)],
        "{seen}"
    );
    // Before the submission, at that instant: nothing reported.
    let past = graphql(
        &manager,
        &query.replace(
            "schoolYear: \"2026-2027\"",
            &format!("schoolYear: \"2026-2027\", asOf: \"{before}\""),
        ),
    )
    .await;
    assert_eq!(
        past["data"]["dashboard"]["nationalDay"]["actions"], 0,
        "{past}"
    );
    // The Gers' referent sees it (one of its schools), another department does not.
    let gers = app.user("department_referent", Some("32")).await;
    let theirs = graphql(&gers, query).await;
    assert_eq!(
        theirs["data"]["dashboard"]["nationalDay"]["actions"], 1,
        "{theirs}"
    );
    // Its own school only: the action's other school is another department's.
    let theirs_day = &theirs["data"]["dashboard"]["nationalDay"];
    assert_eq!(
        theirs_day["schoolsWithAction"],
        json!({"count": 1, "of": 1, "byDepartment": [{"key": "32", "count": 1, "of": 1}]}),
        "{theirs}"
    );
    assert_eq!(
        theirs_day["reports"],
        json!({"count": 1, "of": 1}),
        "{theirs}"
    );
    assert_eq!(theirs_day["pupilsReached"], 120, "{theirs}");
    assert_eq!(
        theirs_day["actionsByType"], day["actionsByType"],
        "{theirs}"
    );
    // A school sees the action through its own school, and nothing of the other one.
    let school_32 = app.user("school", Some(COLLEGE_32)).await;
    let its = graphql(&school_32, query).await;
    let its_day = &its["data"]["dashboard"]["nationalDay"];
    assert_eq!(its_day["actions"], 1, "{its}");
    assert_eq!(its_day["reports"], json!({"count": 1, "of": 1}), "{its}");
    let other = app.user("department_referent", Some("82")).await;
    let none = graphql(&other, query).await;
    assert_eq!(
        none["data"]["dashboard"]["nationalDay"]["actions"], 0,
        "{none}"
    );
    assert_eq!(
        none["data"]["dashboard"]["nationalDay"]["pupilsReached"], 0,
        "{none}"
    );
    assert_eq!(
        none["data"]["dashboard"]["nationalDay"]["schoolsWithAction"]["count"], 0,
        "{none}"
    );
    // An action reported but not held: a report received, not a school with an action.
    let lycee = app.user("school", Some(LYCEE_31)).await;
    submitted_action(
        &lycee,
        json!({"school_uais": [LYCEE_31], "date": "2026-11-05", "types": ["exposition"],
               "audience_levels": ["2nde"], "pupils_reached": 30, "adults_reached": 2,
               "partners": [], "description": "Exposition reportée", "held": false}),
    )
    .await;
    let both = until(&manager, query, |b| {
        b["data"]["dashboard"]["nationalDay"]["actions"] == 2
    })
    .await;
    let day = &both["data"]["dashboard"]["nationalDay"];
    assert_eq!(day["reports"], json!({"count": 3, "of": 3}), "{both}");
    assert_eq!(
        day["schoolsWithAction"],
        json!({"count": 2, "of": 3, "byDepartment": [{"key": "31", "count": 1, "of": 2}, {"key": "32", "count": 1, "of": 1}]}),
        "{both}"
    );
    // The same for the department, read through its schools.
    let garonne = app.user("department_referent", Some("31")).await;
    let ours = graphql(&garonne, query).await;
    let ours_day = &ours["data"]["dashboard"]["nationalDay"];
    assert_eq!(ours_day["reports"], json!({"count": 2, "of": 2}), "{ours}");
    assert_eq!(
        ours_day["schoolsWithAction"],
        json!({"count": 1, "of": 2, "byDepartment": [{"key": "31", "count": 1, "of": 2}]}),
        "{ours}"
    );
    // The whole academy filtered by its schools' sector: the actions one of whose
    // schools is of it (every school here is public).
    let of_sector = |sector: &str| {
        query.replace(
            "schoolYear: \"2026-2027\"",
            &format!("schoolYear: \"2026-2027\", sector: \"{sector}\""),
        )
    };
    for (sector, actions, pupils, reports) in [
        ("public", 2, 150, json!({"count": 3, "of": 3})),
        ("prive_sous_contrat", 0, 0, json!({"count": 0, "of": 0})),
    ] {
        let seen = graphql(&manager, &of_sector(sector)).await;
        let day = &seen["data"]["dashboard"]["nationalDay"];
        assert_eq!(day["actions"], actions, "{sector}: {seen}");
        assert_eq!(day["pupilsReached"], pupils, "{sector}: {seen}");
        assert_eq!(day["reports"], reports, "{sector}: {seen}");
    }
    // A Gers collège numbered among Haute-Garonne's schools (as one moved from there
    // would be): its action is the Gers', not Haute-Garonne's, whose facts a department's
    // dashboard reads in the span of its schools' UAIs.
    let gers_among_31 = super::surface::uai(31, 50);
    app.school(&gers_among_31, "college", "32").await;
    let apart = app.user("school", Some(&gers_among_31)).await;
    submitted_action(
        &apart,
        json!({"school_uais": [gers_among_31], "date": "2026-11-05", "types": ["theatre_forum"],
               "audience_levels": ["4e"], "pupils_reached": 7, "adults_reached": 1,
               "partners": [], "description": "Théâtre-forum", "held": true}),
    )
    .await;
    until(&manager, query, |b| {
        b["data"]["dashboard"]["nationalDay"]["actions"] == 3
    })
    .await;
    let in_department = |department: &str| {
        query.replace(
            "schoolYear: \"2026-2027\"",
            &format!("schoolYear: \"2026-2027\", department: \"{department}\""),
        )
    };
    for (department, actions, pupils, theatre_forum, with_action) in [
        ("31", 2, 150, 0, json!({"count": 1, "of": 2})),
        ("32", 2, 127, 1, json!({"count": 2, "of": 2})),
    ] {
        let seen = graphql(&manager, &in_department(department)).await;
        let day = &seen["data"]["dashboard"]["nationalDay"];
        assert_eq!(day["actions"], actions, "{department}: {seen}");
        assert_eq!(day["pupilsReached"], pupils, "{department}: {seen}");
        assert_eq!(
            day["actionsByType"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["key"] == "theatre_forum")
                .map_or(0, |t| t["total"].as_i64().unwrap()),
            theatre_forum,
            "{department}: {seen}"
        );
        assert_eq!(
            (
                &day["schoolsWithAction"]["count"],
                &day["schoolsWithAction"]["of"]
            ),
            (&with_action["count"], &with_action["of"]),
            "{department}: {seen}"
        );
    }
    app.finish().await;
}

/// Waits until `projection`'s live generation has applied the last event of its
/// categories.
pub(crate) async fn caught_up(app: &TestApp, projection: &Descriptor) -> tables::Generation {
    let db = app.store.db();
    let categories: Vec<String> = projection
        .categories
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let live = tables::live_of(&db, projection).await.unwrap();
        let events = app
            .store
            .read_all(Default::default(), usize::MAX / 2, &categories)
            .await
            .unwrap();
        let last = events.last().map(|e| e.position).unwrap_or_default();
        if app
            .store
            .checkpoint(&projection.checkpoint(live))
            .await
            .unwrap()
            >= last
        {
            return live;
        }
        assert!(
            Instant::now() < deadline,
            "{} never caught up",
            projection.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A changed definition of one indicator rebuilds its tables only (its generation moves,
/// no other's), the dashboard says the version it answers from; indicator tables rebuilt
/// from the log equal those built as events came.
async fn a_changed_definition_rebuilds_its_indicator_only(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["read-model", "phare"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    let (today, year) = today();
    let (deployment, members) = team(&manager, year, json!({"school_uai": COLLEGE_31}), 6).await;
    let path = format!("/api/v1/phare/deployments/{deployment}");
    ok(
        &manager,
        &format!("{path}/charter"),
        json!({"signed_on": today}),
    )
    .await;
    let (status, body) = manager
        .delete(&format!("{path}/team-members/{}", members[5]))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    created(
        &manager,
        &format!("{path}/parent-workshops"),
        json!({"held_on": today, "participants": 12}),
    )
    .await;
    let query = dashboard(year, None, None);
    until(&manager, &query, |b| {
        figure(b, "trainedTeams.schools.count") == 1
            && figure(b, "pharesteps.parentWorkshopHeld.count") == 1
    })
    .await;

    // Rebuilt from the log, each indicator's tables equal those built as events came.
    let db_ = app.store.db();
    for projection in indicators::DESCRIPTORS {
        let live = caught_up(&app, projection).await;
        let built = tables::checksums_of(&db_, projection, live).await.unwrap();
        let done =
            pharos_read_model::rebuild_of(&app.store, projection, Duration::ZERO, true, |_, _| {})
                .await
                .unwrap();
        assert_eq!(done.previous, live);
        let target = app
            .store
            .checkpoint(&projection.checkpoint(live))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while app
            .store
            .checkpoint(&projection.checkpoint(done.live))
            .await
            .unwrap()
            < target
        {
            assert!(
                Instant::now() < deadline,
                "{} never caught up",
                projection.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let rebuilt = tables::checksums_of(&db_, projection, done.live)
            .await
            .unwrap();
        assert_eq!(built, rebuilt, "{}", projection.name);
        same_layout(&db_, projection, live, done.live).await;
    }
    let teams = tables::checksums_of(
        &db_,
        &indicators::TRAINED_TEAMS,
        tables::live_of(&db_, &indicators::TRAINED_TEAMS)
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    // Opened, six members added, one removed: a row per change, the last one open.
    assert!(
        teams
            .iter()
            .any(|(table, _)| table == "rm_ind_teams (8 lignes)"),
        "{teams:?}"
    );

    // The trained-teams definition of the live tables is older than the code's: the
    // projector rebuilds them, and them only.
    let generations = |db: pharos_eventstore::Db| async move {
        let mut all = Vec::new();
        for projection in tables::all() {
            let (live, definition, _) = tables::state_of(&db, projection).await.unwrap().unwrap();
            all.push((projection.name, live, definition));
        }
        all
    };
    let before = generations(db_.clone()).await;
    pharos_eventstore::on_db!(&db_, |pool| sqlx::query(
        "UPDATE rm_generations SET definition = 0 WHERE projection = 'indicator-trained-teams'"
    )
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
    // Until the projector notices, the API answers from the old tables, and says so.
    let recorded = |db: pharos_eventstore::Db| async move {
        tables::state_of(&db, &indicators::TRAINED_TEAMS)
            .await
            .unwrap()
            .unwrap()
            .1
    };
    let was = recorded(db_.clone()).await;
    let answer = graphql(&manager, &query).await;
    if recorded(db_.clone()).await == was {
        assert_eq!(
            figure(&answer, "trainedTeams.definitionVersion"),
            was,
            "{answer}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        let after = generations(db_.clone()).await;
        let teams = after
            .iter()
            .find(|(name, _, _)| *name == "indicator-trained-teams")
            .unwrap();
        if teams.2 == indicators::TRAINED_TEAMS.definition {
            break after;
        }
        assert!(Instant::now() < deadline, "never rebuilt: {after:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for ((name, was, _), (_, is, definition)) in before.iter().zip(&after) {
        if *name == "indicator-trained-teams" {
            assert_eq!(is.0, was.0 + 1, "{name}");
            assert_eq!(*definition, indicators::TRAINED_TEAMS.definition);
        } else {
            assert_eq!(is, was, "{name} was rebuilt too");
        }
    }
    let body = until(&manager, &query, |b| {
        figure(b, "trainedTeams.schools.count") == 1
    })
    .await;
    assert_eq!(
        figure(&body, "trainedTeams.definitionVersion"),
        indicators::TRAINED_TEAMS.definition,
        "{body}"
    );
    assert_eq!(
        figure(&body, "pharesteps.parentWorkshopHeld.count"),
        1,
        "{body}"
    );
    app.finish().await;
}

/// A PNG's opening (what the contest recognises the type from), made unique by `salt`.
fn png(salt: u8) -> Vec<u8> {
    let mut bytes =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    bytes.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    bytes.extend(std::iter::repeat_n(salt, 64));
    bytes
}

/// An edition of `year` (`opens`, `deadline` in Paris time, the jury in March) with
/// college and lycée posters.
fn edition(year: &str, opens: &str, deadline: &str) -> Value {
    let jury = format!("{}-03-18", &deadline[..4]);
    json!({
        "school_year": year, "opens_at": opens, "submission_deadline": deadline, "jury_on": jury,
        "categories": [{"level": "college", "medium": "affiche"}, {"level": "lycee", "medium": "affiche"}],
        "rules": {"media": ["affiche"], "max_file_bytes": 100000, "file_types": ["png"],
                  "max_entries_per_group": 1, "nominees_per_category": 1}
    })
}

/// A draft entry of `school` to `contest`: a poster of `category` by `group` (`level`).
async fn draft(
    client: &Client,
    contest: &str,
    school: &str,
    category: &str,
    group: &str,
    level: &str,
) -> String {
    created(
        client,
        &format!("/api/v1/contests/{contest}/entries"),
        json!({"school_uai": school, "category": category, "title": format!("Affiche {group}"),
               "special_prizes": [],
               "group": {"label": group, "levels": [level], "pupil_count": 20, "adult_count": 1},
               "responsible": {"display_name": "Camille Martin", "email": "camille.martin@ac-toulouse.fr"},
               "project_sheet": "Une affiche."}),
    )
    .await
}

/// A draft entry with its poster uploaded and its rights attested, then submitted.
async fn submitted(
    client: &Client,
    contest: &str,
    school: &str,
    category: &str,
    group: &str,
    level: &str,
    salt: u8,
) -> String {
    let id = draft(client, contest, school, category, group, level).await;
    let response = client
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/entries/{id}/files?name=affiche.png"),
        )
        .header("content-type", "image/png")
        .body(png(salt))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    ok(
        client,
        &format!("/api/v1/entries/{id}/attestations"),
        json!({"image_rights": true, "third_party_rights": true, "republic_values": true,
               "rights_grant": true, "attested_by": "Direction"}),
    )
    .await;
    ok(client, &format!("/api/v1/entries/{id}/submit"), Value::Null).await;
    id
}

fn contest_query(year: &str, as_of: Option<&str>) -> String {
    contest_query_in(year, as_of, None)
}

/// [`contest_query`] for one department (`Some`): a department's figures are read by
/// their own statements (one reading of its schools' entries).
fn contest_query_in(year: &str, as_of: Option<&str>, department: Option<&str>) -> String {
    let as_of = as_of.map_or(String::new(), |a| format!(", asOf: \"{a}\""));
    let department = department.map_or(String::new(), |d| format!(", department: \"{d}\""));
    format!(
        "{{ dashboard(schoolYear: \"{year}\"{as_of}{department}) {{ \
         trainedTeams {{ schools {{ count of byDepartment {{ key count of }} }} }} \
         contest {{ definitionVersion \
         entries {{ total byDepartment {{ key total }} }} \
         participation {{ value count of byKind {{ key count of }} \
                         byDepartment {{ key count of }} }} \
         inadmissible {{ total }} inadmissibleReasons {{ reason count }} \
         laureates {{ total byDepartment {{ key total }} }} \
         trend {{ schoolYear asOf entries entriesChange participation {{ count of }} \
                 inadmissible laureates laureatesChange }} }} \
         overdue {{ reportDeadline missingReports {{ count of byDepartment {{ key count of }} }} \
                    undeclaredTeams {{ count of byDepartment {{ key count of }} }} \
                    undeclaredCirconscriptionTeams {{ count of }} \
                    unfinishedEntries {{ total byDepartment {{ key total }} }} }} }} }}"
    )
}

/// A department's own contest figures (its own reading of its schools' entries) are what
/// `whole`, the academy's at `as_of`, gives for it; Haute-Garonne's and the Gers's add up
/// to the academy's reasons and trend.
async fn same_by_department(manager: &Client, whole: &Value, as_of: Option<&str>) {
    let mut reasons: BTreeMap<String, i64> = BTreeMap::new();
    let mut trend = (0, 0, 0, 0);
    for department in ["31", "32"] {
        let own = graphql(
            manager,
            &contest_query_in("2026-2027", as_of, Some(department)),
        )
        .await;
        let part = |path: &str, value: &str| {
            figure(whole, path)
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["key"] == department)
                .map_or(0, |p| p[value].as_i64().unwrap())
        };
        for (total, by) in [
            ("contest.entries.total", "contest.entries.byDepartment"),
            ("contest.laureates.total", "contest.laureates.byDepartment"),
            (
                "overdue.unfinishedEntries.total",
                "overdue.unfinishedEntries.byDepartment",
            ),
        ] {
            assert_eq!(
                figure(&own, total),
                part(by, "total"),
                "{department} {total}: {own}"
            );
        }
        for share in [
            "contest.participation",
            "trainedTeams.schools",
            "overdue.undeclaredTeams",
        ] {
            for value in ["count", "of"] {
                assert_eq!(
                    figure(&own, share)[value],
                    part(&format!("{share}.byDepartment"), value),
                    "{department} {share}: {own}"
                );
            }
        }
        for reason in figure(&own, "contest.inadmissibleReasons")
            .as_array()
            .unwrap()
        {
            *reasons
                .entry(reason["reason"].as_str().unwrap().to_owned())
                .or_default() += reason["count"].as_i64().unwrap();
        }
        let count = |path: &str| figure(&own, path).as_i64().unwrap();
        trend.0 += count("contest.trend.entries");
        trend.1 += count("contest.trend.participation.count");
        trend.2 += count("contest.trend.inadmissible");
        trend.3 += count("contest.trend.laureates");
    }
    let academy: BTreeMap<String, i64> = figure(whole, "contest.inadmissibleReasons")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["reason"].as_str().unwrap().to_owned(),
                r["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(reasons, academy, "{whole}");
    let count = |path: &str| figure(whole, path).as_i64().unwrap();
    assert_eq!(
        trend,
        (
            count("contest.trend.entries"),
            count("contest.trend.participation.count"),
            count("contest.trend.inadmissible"),
            count("contest.trend.laureates"),
        ),
        "{whole}"
    );
}

/// The contest's figures from its commands: entries submitted (a withdrawn one does not
/// count), participation, inadmissible entries grouped by reason, laureates once
/// published (a revoked award removed), the trend a year before; `asOf` before and after
/// a submission; drafts past the deadline, missing national-day reports and undeclared
/// teams overdue; an edition alone (no list reads it) notifies `dashboardChanged`; the
/// contest's tables rebuilt from the log equal those built as events came.
async fn the_dashboard_counts_the_contest_and_what_is_overdue(db: TestDb) {
    let files = std::env::temp_dir().join(format!("pharos-rm-contest-{}", uuid::Uuid::now_v7()));
    let dir = files.display().to_string();
    let app = TestApp::builder(db)
        .targets(&["read-model", "contests", "phare"])
        .at(pharos_test_support::instant("2025-12-01T10:00:00+01:00"))
        .configure(|raw| raw.files_dir = Some(dir))
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(LYCEE_31, "lycee_gt", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    app.school(ECOLE_31, "ecole", "31").await;
    let college = app.user("school", Some(COLLEGE_31)).await;
    let lycee = app.user("school", Some(LYCEE_31)).await;
    let gers = app.user("school", Some(COLLEGE_32)).await;

    // Last year: one entry of the collège, submitted.
    let last_year = created(
        &manager,
        "/api/v1/contests",
        edition("2025-2026", "2025-11-03", "2026-02-13T23:59"),
    )
    .await;
    submitted(
        &college,
        &last_year,
        COLLEGE_31,
        "college_affiche",
        "5e A",
        "5e",
        1,
    )
    .await;
    app.set_now(pharos_test_support::instant("2026-11-20T10:00:00+01:00"));

    // This year's edition: no list reads editions, the contest's indicator alone commits
    // it, and that commit notifies the subscribers of its year.
    let mut socket = subscribed(
        &app,
        manager.token(),
        "subscription { dashboardChanged(schoolYear: \"2026-2027\") { position } }",
    )
    .await;
    // The subscription starts asynchronously: a school recorded until one is heard.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 100;
    'listening: loop {
        assert!(Instant::now() < deadline, "no notice in time");
        n += 1;
        app.school(&super::surface::uai(31, n), "ecole", "31").await;
        while let Some(message) = receive(&mut socket, Duration::from_secs(2)).await {
            if message.unwrap()["type"] == "next" {
                break 'listening;
            }
        }
    }
    let contest = created(
        &manager,
        "/api/v1/contests",
        edition("2026-2027", "2026-11-02", "2027-02-12T23:59"),
    )
    .await;
    let edition_position: i64 = pharos_eventstore::on_db!(app.store.db(), |pool| {
        sqlx::query_scalar("SELECT MAX(position) FROM events WHERE category = 'contest'")
            .fetch_one(&pool)
            .await
    })
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            Instant::now() < deadline,
            "the edition's commit notified no one"
        );
        let Some(message) = receive(&mut socket, Duration::from_secs(5)).await else {
            continue;
        };
        let message = message.unwrap();
        // Only a projection reading editions commits a batch ending at this position.
        if message["payload"]["data"]["dashboardChanged"]["position"] == edition_position {
            break;
        }
    }
    drop(socket);

    let query = contest_query("2026-2027", None);
    let before = Utc::now().to_rfc3339();
    let laureate = submitted(
        &college,
        &contest,
        COLLEGE_31,
        "college_affiche",
        "5e B",
        "5e",
        2,
    )
    .await;
    let off_topic = submitted(
        &college,
        &contest,
        COLLEGE_31,
        "college_affiche",
        "4e A",
        "4e",
        3,
    )
    .await;
    let revoked = submitted(
        &gers,
        &contest,
        COLLEGE_32,
        "college_affiche",
        "3e C",
        "3e",
        4,
    )
    .await;
    let also_off_topic = submitted(
        &gers,
        &contest,
        COLLEGE_32,
        "college_affiche",
        "6e D",
        "6e",
        5,
    )
    .await;
    let withdrawn = submitted(
        &gers,
        &contest,
        COLLEGE_32,
        "college_affiche",
        "5e E",
        "5e",
        6,
    )
    .await;
    let unreadable = submitted(
        &lycee,
        &contest,
        LYCEE_31,
        "lycee_affiche",
        "2nde A",
        "2nde",
        7,
    )
    .await;
    draft(&lycee, &contest, LYCEE_31, "lycee_affiche", "1re B", "1re").await;
    // A team of five trained for the collège; of five for the Gers' one, four of them
    // trained (declared, not trained); none for the lycée.
    let year = SchoolYear::parse("2026-2027").unwrap();
    team(&manager, year, json!({"school_uai": COLLEGE_31}), 5).await;
    let (gers_team, _) = team(&manager, year, json!({"school_uai": COLLEGE_32}), 4).await;
    created(
        &manager,
        &format!("/api/v1/phare/deployments/{gers_team}/team-members"),
        member(4, false),
    )
    .await;
    ok(
        &gers,
        &format!("/api/v1/entries/{withdrawn}/withdraw"),
        Value::Null,
    )
    .await;
    let decide = |id: &str| format!("/api/v1/entries/{id}/admissibility");
    for (id, decision) in [
        (&laureate, json!({"admissible": true})),
        (&revoked, json!({"admissible": true})),
        (
            &off_topic,
            json!({"admissible": false, "reason": "Hors sujet"}),
        ),
        (
            &also_off_topic,
            json!({"admissible": false, "reason": "Hors sujet "}),
        ),
        (
            &unreadable,
            json!({"admissible": false, "reason": "Fichier illisible"}),
        ),
    ] {
        ok(&manager, &decide(id), decision).await;
    }
    // A laureate granted by mistake, taken back, then the right one.
    let award = |id: &str| format!("/api/v1/entries/{id}/awards");
    ok(&manager, &award(&revoked), json!({"kind": "laureate"})).await;
    let (status, body) = manager
        .delete(&format!("{}/laureate", award(&revoked)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    ok(&manager, &award(&laureate), json!({"kind": "laureate"})).await;
    let unpublished = until(&manager, &query, |b| {
        figure(b, "contest.inadmissible.total") == 3
    })
    .await;
    assert_eq!(
        figure(&unpublished, "contest.laureates.total"),
        0,
        "{unpublished}"
    );
    let published_at = Utc::now().to_rfc3339();
    ok(
        &manager,
        &format!("/api/v1/contests/{contest}/publish-results"),
        Value::Null,
    )
    .await;
    let seen = until(&manager, &query, |b| {
        figure(b, "contest.laureates.total") == 1
    })
    .await;
    assert!(seen["errors"].is_null(), "{seen}");
    assert_eq!(figure(&seen, "contest.definitionVersion"), 1, "{seen}");
    // The lists say where each entry stands, as the contest's rule does once published.
    let statuses = format!(
        "{{ entries(contestId: \"{contest}\", first: 20) {{ edges {{ node {{ id status }} }} }} }}"
    );
    let status_of = |b: &Value, id: &str| {
        b["data"]["entries"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["node"]["id"] == id)
            .map(|e| e["node"]["status"].clone())
    };
    let listed = until(&manager, &statuses, |b| {
        status_of(b, &laureate) == Some(json!("laureate"))
    })
    .await;
    for (id, expected) in [
        (&revoked, "not_selected"),
        (&off_topic, "inadmissible"),
        (&withdrawn, "withdrawn"),
    ] {
        assert_eq!(status_of(&listed, id), Some(json!(expected)), "{listed}");
    }
    // Five submitted and not withdrawn: three of Haute-Garonne, two of the Gers.
    assert_eq!(
        figure(&seen, "contest.entries"),
        &json!({"total": 5, "byDepartment": [{"key": "31", "total": 3}, {"key": "32", "total": 2}]}),
        "{seen}"
    );
    // Three schools of the four (and the écoles recorded to listen) took part.
    let participation = figure(&seen, "contest.participation");
    assert_eq!(participation["count"], 3, "{seen}");
    assert_eq!(
        participation["byKind"],
        json!([{"key": "college", "count": 2, "of": 2}, {"key": "ecole", "count": 0, "of": participation["of"].as_i64().unwrap() - 3}, {"key": "lycee_gt", "count": 1, "of": 1}]),
        "{seen}"
    );
    assert_eq!(
        figure(&seen, "contest.inadmissibleReasons"),
        &json!([{"reason": "Hors sujet", "count": 2}, {"reason": "Fichier illisible", "count": 1}]),
        "{seen}"
    );
    assert_eq!(
        figure(&seen, "contest.laureates.byDepartment"),
        &json!([{"key": "31", "total": 1}]),
        "{seen}"
    );
    // A year ago, last year had nothing recorded yet (it was recorded just now).
    assert_eq!(
        figure(&seen, "contest.trend.schoolYear"),
        "2025-2026",
        "{seen}"
    );
    assert_eq!(figure(&seen, "contest.trend.entries"), 0, "{seen}");
    assert_eq!(figure(&seen, "contest.trend.entriesChange"), 5, "{seen}");

    // Before the first submission of the year: nothing; before publication: no laureate.
    let past = graphql(&manager, &contest_query("2026-2027", Some(&before))).await;
    assert_eq!(figure(&past, "contest.entries.total"), 0, "{past}");
    assert_eq!(figure(&past, "contest.participation.count"), 0, "{past}");
    let unpublished = graphql(&manager, &contest_query("2026-2027", Some(&published_at))).await;
    assert_eq!(
        figure(&unpublished, "contest.entries.total"),
        5,
        "{unpublished}"
    );
    assert_eq!(
        figure(&unpublished, "contest.laureates.total"),
        0,
        "{unpublished}"
    );

    // A year from now: the trend reads last year as it is now.
    let later = (Utc::now() + TimeDelta::days(366)).to_rfc3339();
    // (The teams' projector commits on its own: waited for.)
    let next = until(&manager, &contest_query("2026-2027", Some(&later)), |b| {
        figure(b, "overdue.undeclaredTeams.count") == 1
    })
    .await;
    assert_eq!(figure(&next, "contest.trend.entries"), 1, "{next}");
    assert_eq!(figure(&next, "contest.trend.entriesChange"), 4, "{next}");
    assert_eq!(
        figure(&next, "contest.trend.participation.count"),
        1,
        "{next}"
    );
    assert_eq!(figure(&next, "contest.trend.laureatesChange"), 1, "{next}");
    // Each department's own dashboard (its own reading of its schools' entries) gives
    // what the academy's gives for it, now (a laureate, no draft overdue) and then (the
    // draft overdue).
    // `seen` was read before the teams' projector had committed: the academy's figures of
    // now are read again, every projector caught up (`next` waited for the last).
    let now = graphql(&manager, &contest_query("2026-2027", None)).await;
    same_by_department(&manager, &now, None).await;
    same_by_department(&manager, &next, Some(&later)).await;
    // Overdue then: the lycée's draft past the deadline; every school without a
    // national-day report past its deadline; collèges and lycées without a team of 5.
    assert_eq!(
        figure(&next, "overdue.unfinishedEntries"),
        &json!({"total": 1, "byDepartment": [{"key": "31", "total": 1}]}),
        "{next}"
    );
    let missing = figure(&next, "overdue.missingReports");
    assert_eq!(missing["count"], missing["of"], "{next}");
    assert!(missing["of"].as_i64().unwrap() >= 4, "{next}");
    assert_eq!(
        figure(&next, "overdue.reportDeadline"),
        "2026-11-26",
        "{next}"
    );
    assert_eq!(
        figure(&next, "overdue.undeclaredTeams"),
        &json!({"count": 1, "of": 3, "byDepartment": [
            {"key": "31", "count": 1, "of": 2}, {"key": "32", "count": 0, "of": 1}]}),
        "{next}"
    );
    assert_eq!(
        figure(&next, "overdue.undeclaredCirconscriptionTeams"),
        &json!({"count": 1, "of": 1}),
        "{next}"
    );
    // Now: the lycée's draft is overdue once the deadline has passed, not before.
    let passed = Utc::now() > pharos_test_support::instant("2027-02-12T23:59:00+01:00");
    assert_eq!(
        figure(&seen, "overdue.unfinishedEntries.total"),
        i64::from(passed),
        "{seen}"
    );
    // Next year's reports are not due yet (or its date is unknown): none missing.
    let (_, current) = today();
    let ahead = graphql(&manager, &contest_query(&current.next().to_string(), None)).await;
    assert_eq!(figure(&ahead, "overdue.missingReports.count"), 0, "{ahead}");
    assert!(
        figure(&ahead, "overdue.missingReports.of")
            .as_i64()
            .unwrap()
            >= 4,
        "{ahead}"
    );

    // A referent sees its department's entries, reasons and laureates only.
    let referent = app.user("department_referent", Some("32")).await;
    let theirs = graphql(&referent, &query).await;
    assert_eq!(figure(&theirs, "contest.entries.total"), 2, "{theirs}");
    assert_eq!(
        figure(&theirs, "contest.inadmissibleReasons"),
        &json!([{"reason": "Hors sujet", "count": 1}]),
        "{theirs}"
    );
    assert_eq!(figure(&theirs, "contest.laureates.total"), 0, "{theirs}");
    let refused = graphql(
        &manager,
        "{ dashboard(schoolYear: \"2026-2027\") { contest { inadmissibleReasons(first: 0) { reason } } } }",
    )
    .await;
    assert_eq!(
        refused["errors"][0]["message"], "« first » : entre 1 et 50 motifs (0 demandés).",
        "{refused}"
    );

    // Rebuilt from the log, the contest's tables equal those built as events came.
    let built = rebuilt_equals_built(&app, &indicators::CONTEST).await;
    // Eight entries, each opened and changed (submitted, withdrawn, judged, awarded…):
    // more rows than entries; two editions, the second published.
    assert!(
        built
            .iter()
            .any(|(table, _)| table == "rm_ind_editions (3 lignes)"),
        "{built:?}"
    );
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

/// Rebuilds `projection` from the log once it has caught up, and checks that its new
/// tables equal those built as events came (row checksums); those checksums.
async fn rebuilt_equals_built(
    app: &TestApp,
    projection: &'static Descriptor,
) -> Vec<(String, String)> {
    let db = app.store.db();
    let live = caught_up(app, projection).await;
    let built = tables::checksums_of(&db, projection, live).await.unwrap();
    let done =
        pharos_read_model::rebuild_of(&app.store, projection, Duration::ZERO, true, |_, _| {})
            .await
            .unwrap();
    let target = app
        .store
        .checkpoint(&projection.checkpoint(live))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app
        .store
        .checkpoint(&projection.checkpoint(done.live))
        .await
        .unwrap()
        < target
    {
        assert!(
            Instant::now() < deadline,
            "{} never caught up",
            projection.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rebuilt = tables::checksums_of(&db, projection, done.live)
        .await
        .unwrap();
    assert_eq!(built, rebuilt, "{}", projection.name);
    same_layout(&db, projection, live, done.live).await;
    built
}

/// The tables a rebuild made live are kept as those made live by a start: logged (a
/// rebuild fills them unlogged), with every index (a rebuild makes most once filled).
async fn same_layout(
    db: &pharos_eventstore::Db,
    projection: &'static Descriptor,
    built: tables::Generation,
    rebuilt: tables::Generation,
) {
    let built = tables::layout_of(db, projection, built).await.unwrap();
    let rebuilt = tables::layout_of(db, projection, rebuilt).await.unwrap();
    assert_eq!(built, rebuilt, "{}", projection.name);
    let indexes = projection
        .indexes
        .iter()
        .filter(|(_, columns)| {
            !columns.starts_with("USING ") || matches!(db, pharos_eventstore::Db::Postgres(_))
        })
        .count();
    assert!(
        rebuilt.iter().filter(|line| line.contains("_idx")).count() >= indexes,
        "{}: {rebuilt:#?}",
        projection.name
    );
    if matches!(db, pharos_eventstore::Db::Postgres(_)) {
        for (name, _) in projection.tables {
            assert!(
                rebuilt.contains(&format!("{name}: relpersistence p")),
                "{name}: {rebuilt:#?}"
            );
        }
    }
}

/// Reminders the target could not deliver (its mail server is down: a temporary failure,
/// retried later) are pending on the dashboard of their year, in their session's
/// department only; none failed for good.
async fn the_dashboard_counts_reminders_pending(db: TestDb) {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::builder(db)
        .targets(&["read-model", "trainings", "reminders"])
        .at(pharos_test_support::instant("2026-02-01T10:00:00+01:00"))
        .configure(|raw| {
            raw.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
            raw.mail_from = "pharos@ac-toulouse.fr".into();
            raw.reminders_interval_seconds = 1;
        })
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    let session = open_mpp_session(
        &manager,
        json!({
            "starts_at": "2026-03-10T09:00:00+01:00", "ends_at": "2026-03-10T17:00:00+01:00",
            "slots": [{"starts_at": "2026-03-10T09:00:00+01:00", "ends_at": "2026-03-10T17:00:00+01:00"}],
            "location": "Canopé", "capacity": 30, "planned_minutes": 420
        }),
    )
    .await;
    for n in 0..2 {
        created(
            &manager,
            &format!("/api/v1/sessions/{session}/registrations"),
            json!({"person": {"email": format!("stagiaire{n}@ac-toulouse.fr"),
                              "display_name": format!("Stagiaire {n}"), "function": "CPE"},
                   "mode": "designated"}),
        )
        .await;
    }
    let query =
        "{ dashboard(schoolYear: \"2025-2026\") { overdue { remindersPending remindersFailed } } }";
    let nothing = graphql(&manager, query).await;
    assert_eq!(figure(&nothing, "overdue.remindersPending"), 0, "{nothing}");
    // Two days before: the convocations are due, and cannot go.
    app.set_now(pharos_test_support::instant("2026-03-08T09:00:00+01:00"));
    let seen = until(&manager, query, |b| {
        figure(b, "overdue.remindersPending") == 2
    })
    .await;
    assert_eq!(figure(&seen, "overdue.remindersFailed"), 0, "{seen}");
    let mine = graphql(&app.user("department_referent", Some("31")).await, query).await;
    assert_eq!(figure(&mine, "overdue.remindersPending"), 2, "{mine}");
    let theirs = graphql(&app.user("department_referent", Some("32")).await, query).await;
    assert_eq!(figure(&theirs, "overdue.remindersPending"), 0, "{theirs}");
    let other_year = graphql(&manager, &query.replace("2025-2026", "2026-2027")).await;
    assert_eq!(
        figure(&other_year, "overdue.remindersPending"),
        0,
        "{other_year}"
    );
    // Rebuilt from the log, the reminders' table equals the one built as events came.
    let built = rebuilt_equals_built(&app, &indicators::REMINDERS).await;
    assert!(
        built
            .iter()
            .any(|(table, _)| table.starts_with("rm_ind_reminders (")
                && !table.starts_with("rm_ind_reminders (0 ")),
        "{built:?}"
    );
    app.finish().await;
}

/// One request reads one snapshot: while trained members arrive school after school (each
/// a commit of the teams' projection), every answer's groups agree — the trained teams of
/// group 1 and the undeclared ones of group 8 (every member is trained, so a school is in
/// exactly one of them), and each repeated figure with itself.
async fn the_groups_of_one_answer_read_one_snapshot(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["read-model", "phare"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    const SCHOOLS: u32 = 8;
    let uais: Vec<String> = (1..=SCHOOLS)
        .map(|n| super::surface::uai(31, 500 + n))
        .collect();
    for uai in &uais {
        app.school(uai, "college", "31").await;
    }
    let (_, year) = today();
    let mut deployments = Vec::new();
    for uai in &uais {
        deployments.push(
            created(
                &manager,
                "/api/v1/phare/deployments",
                json!({"school_year": year.to_string(), "school_uai": uai}),
            )
            .await,
        );
    }
    const COPIES: usize = 6;
    let fields: String = (0..COPIES)
        .map(|i| {
            format!(
                "t{i}: trainedTeams {{ schools {{ count of }} }} \
                 u{i}: overdue {{ undeclaredTeams {{ count of }} }} "
            )
        })
        .collect();
    let query = format!("{{ dashboard(schoolYear: \"{year}\") {{ {fields} }} }}");
    let of = i64::from(SCHOOLS);
    until(&manager, &query, |b| {
        figure(b, "u0.undeclaredTeams.count") == of
    })
    .await;

    // Five trained members for each school, one at a time, while the dashboard is read. The
    // writer goes on to the next school once an answer has counted this one, so that the
    // answers see every step however the projector batches the events (it may apply a whole
    // school's, or several schools', in one commit).
    let writer = manager.clone();
    let (read, mut counted) = tokio::sync::watch::channel(0_i64);
    let adding = tokio::spawn(async move {
        for (school, deployment) in (1..).zip(deployments) {
            for n in 0..5 {
                created(
                    &writer,
                    &format!("/api/v1/phare/deployments/{deployment}/team-members"),
                    member(n, true),
                )
                .await;
            }
            tokio::time::timeout(
                std::time::Duration::from_secs(30),
                counted.wait_for(|trained| *trained >= school),
            )
            .await
            .expect("no answer counted the school's team")
            .unwrap();
        }
    });
    let mut answers = 0;
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let done = adding.is_finished();
        let body = graphql(&manager, &query).await;
        assert!(body["errors"].is_null(), "{body}");
        let trained = figure(&body, "t0.schools.count").as_i64().unwrap();
        for i in 0..COPIES {
            assert_eq!(
                figure(&body, &format!("t{i}.schools.count")),
                trained,
                "{body}"
            );
            assert_eq!(figure(&body, &format!("t{i}.schools.of")), of, "{body}");
            assert_eq!(
                figure(&body, &format!("u{i}.undeclaredTeams.count")),
                of - trained,
                "groups 1 and 8 disagree: {body}"
            );
        }
        seen.insert(trained);
        read.send_replace(trained);
        answers += 1;
        if done && trained == of {
            break;
        }
        assert!(answers < 10_000, "never caught up: {body}");
    }
    adding.await.unwrap();
    // The answers saw every step (they were read while the events came).
    assert_eq!(seen, (0..=of).collect(), "in {answers} answers");
    app.finish().await;
}

/// Registers a school with its sector and priority education, as the pole would.
pub(crate) async fn school_of(
    app: &TestApp,
    uai: &str,
    department: &str,
    sector: &str,
    priority: &str,
) {
    let manager = app.user("pole_manager", None).await;
    let (status, body) = manager
        .post(
            "/api/v1/schools",
            json!({"uai": uai, "name": format!("Collège {uai}"), "kind": "college", "sector": sector,
                   "department": department, "commune": "Toulouse", "priority_education": priority}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Figures about schools are broken down by sector and priority education, and filtered
/// by them; session figures are not; a value that is neither is refused in French.
async fn the_dashboard_breaks_down_and_filters_by_sector_and_priority_education(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["read-model", "phare", "cohorts"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    let private = super::surface::uai(31, 600);
    let rep_plus = super::surface::uai(32, 601);
    app.school(COLLEGE_31, "college", "31").await;
    school_of(&app, &private, "31", "prive_sous_contrat", "none").await;
    school_of(&app, &rep_plus, "32", "public", "rep_plus").await;
    let (_, year) = today();
    team(&manager, year, json!({"school_uai": COLLEGE_31}), 5).await;
    team(&manager, year, json!({"school_uai": rep_plus}), 5).await;
    let cohort = created(
        &manager,
        "/api/v1/cohorts",
        json!({"school_uai": private, "school_year": year.to_string(), "kind": "eleves_college",
               "referent": {"display_name": "Nora CPE", "email": "nora.cpe@ac-toulouse.fr"},
               "counts": {"6e": 6, "5e": 5}}),
    )
    .await;
    ok(
        &manager,
        &format!("/api/v1/cohorts/{cohort}/declare"),
        Value::Null,
    )
    .await;
    let query = |filters: &str| {
        format!(
            "{{ dashboard(schoolYear: \"{year}\"{filters}) {{ sector priorityEducation \
             trainedTeams {{ schools {{ count of bySector {{ key count of }} \
                 byPriorityEducation {{ key count of }} }} }} \
             ambassadors {{ pupils {{ total bySector {{ key total }} byPriorityEducation {{ key total }} }} }} \
             overdue {{ undeclaredTeams {{ count of bySector {{ key count of }} }} }} }} }}"
        )
    };
    let all = until(&manager, &query(""), |b| {
        figure(b, "trainedTeams.schools.count") == 2 && figure(b, "ambassadors.pupils.total") == 11
    })
    .await;
    assert_eq!(
        figure(&all, "trainedTeams.schools.bySector"),
        &json!([{"key": "prive_sous_contrat", "count": 0, "of": 1}, {"key": "public", "count": 2, "of": 2}]),
        "{all}"
    );
    assert_eq!(
        figure(&all, "trainedTeams.schools.byPriorityEducation"),
        &json!([{"key": "none", "count": 1, "of": 2}, {"key": "rep_plus", "count": 1, "of": 1}]),
        "{all}"
    );
    assert_eq!(
        figure(&all, "ambassadors.pupils"),
        &json!({"total": 11, "bySector": [{"key": "prive_sous_contrat", "total": 11}],
                "byPriorityEducation": [{"key": "none", "total": 11}]}),
        "{all}"
    );
    assert_eq!(
        figure(&all, "overdue.undeclaredTeams.bySector"),
        &json!([{"key": "prive_sous_contrat", "count": 1, "of": 1}, {"key": "public", "count": 0, "of": 2}]),
        "{all}"
    );
    // Filtered: the public schools, those of REP+, the private ones.
    let public = graphql(&manager, &query(", sector: \"public\"")).await;
    assert_eq!(figure(&public, "sector"), "public", "{public}");
    assert_eq!(figure(&public, "trainedTeams.schools.count"), 2, "{public}");
    assert_eq!(figure(&public, "trainedTeams.schools.of"), 2, "{public}");
    assert_eq!(figure(&public, "ambassadors.pupils.total"), 0, "{public}");
    let rep = graphql(&manager, &query(", priorityEducation: \"rep_plus\"")).await;
    assert_eq!(figure(&rep, "trainedTeams.schools.count"), 1, "{rep}");
    assert_eq!(figure(&rep, "trainedTeams.schools.of"), 1, "{rep}");
    assert_eq!(figure(&rep, "overdue.undeclaredTeams.count"), 0, "{rep}");
    let both = graphql(
        &manager,
        &query(", sector: \"prive_sous_contrat\", priorityEducation: \"none\""),
    )
    .await;
    assert_eq!(figure(&both, "trainedTeams.schools.of"), 1, "{both}");
    assert_eq!(figure(&both, "trainedTeams.schools.count"), 0, "{both}");
    assert_eq!(figure(&both, "ambassadors.pupils.total"), 11, "{both}");
    assert_eq!(figure(&both, "overdue.undeclaredTeams.count"), 1, "{both}");
    // With the scope: the Gers' referent, REP+ asked, sees its one school.
    let gers = app.user("department_referent", Some("32")).await;
    let theirs = graphql(&gers, &query(", priorityEducation: \"rep_plus\"")).await;
    assert_eq!(figure(&theirs, "trainedTeams.schools.of"), 1, "{theirs}");
    let theirs = graphql(&gers, &query(", sector: \"prive_sous_contrat\"")).await;
    assert_eq!(figure(&theirs, "trainedTeams.schools.of"), 0, "{theirs}");
    let refused = graphql(&manager, &query(", sector: \"prive\"")).await;
    assert_eq!(
        refused["errors"][0]["message"],
        "« sector » : « prive » n'est pas un secteur reconnu ; valeurs acceptées : public, prive_sous_contrat.",
        "{refused}"
    );
    let refused = graphql(&manager, &query(", priorityEducation: \"REP\"")).await;
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("« priorityEducation » : « REP » n'est pas"),
        "{refused}"
    );
    app.finish().await;
}

/// A label of `year` for `school`, every criterion answered met, submitted and awarded at
/// level 1 by the pole.
async fn awarded_label(school: &Client, manager: &Client, uai: &str, year: SchoolYear) {
    let label = created(
        school,
        "/api/v1/phare/labels",
        json!({"school_uai": uai, "school_year": year.to_string(), "target_level": 1}),
    )
    .await;
    let (status, view) = school.get(&format!("/api/v1/phare/labels/{label}")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    for criterion in view["criteria"].as_array().unwrap() {
        if criterion["answered_by"] == "school" {
            ok(
                school,
                &format!("/api/v1/phare/labels/{label}/criteria"),
                json!({"criterion": criterion["key"], "met": true, "evidence": "Bilan annuel"}),
            )
            .await;
        }
    }
    ok(
        school,
        &format!("/api/v1/phare/labels/{label}/submit"),
        json!({}),
    )
    .await;
    ok(
        manager,
        &format!("/api/v1/phare/labels/{label}/decision"),
        json!({"outcome": "awarded", "reason": "Dossier complet."}),
    )
    .await;
}

/// Every trend reads the previous school year a year before `asOf`: a label of last
/// year awarded just now is not in the labels' previous year now (a year ago it did not
/// exist), and is a year from now; the labels' and the contest's trends say the same
/// instant, `previousAsOf`.
async fn every_trend_reads_the_previous_year_a_year_before(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["read-model", "phare", "contests"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let (_, year) = today();
    awarded_label(&school, &manager, COLLEGE_31, year.previous()).await;
    let query = |as_of: Option<&str>| {
        let as_of = as_of.map_or(String::new(), |a| format!(", asOf: \"{a}\""));
        format!(
            "{{ dashboard(schoolYear: \"{year}\"{as_of}) {{ asOf previousAsOf \
             labels {{ byLevel {{ level count previousYear change }} }} \
             contest {{ trend {{ schoolYear asOf }} }} }} }}"
        )
    };
    let last_year = format!(
        "{{ dashboard(schoolYear: \"{}\") {{ labels {{ byLevel {{ level count }} }} }} }}",
        year.previous()
    );
    until(&manager, &last_year, |b| {
        figure(b, "labels.byLevel")[0]["count"] == 1
    })
    .await;
    let now = graphql(&manager, &query(None)).await;
    assert_eq!(
        &figure(&now, "labels.byLevel")[0],
        &json!({"level": "engagement", "count": 0, "previousYear": 0, "change": 0}),
        "{now}"
    );
    assert_eq!(
        figure(&now, "previousAsOf"),
        figure(&now, "contest.trend.asOf"),
        "{now}"
    );
    let later = (Utc::now() + TimeDelta::days(366)).to_rfc3339();
    let then = graphql(&manager, &query(Some(&later))).await;
    assert_eq!(
        &figure(&then, "labels.byLevel")[0],
        &json!({"level": "engagement", "count": 0, "previousYear": 1, "change": -1}),
        "{then}"
    );
    // One department's labels (its own reading of its schools' labels, both years) are
    // the academy's for it; another department has none.
    let narrowed = |department: &str| {
        format!(
            "{{ dashboard(schoolYear: \"{year}\", department: \"{department}\", asOf: \"{later}\") \
             {{ labels {{ byLevel {{ level count previousYear change }} }} }} }}"
        )
    };
    let toulouse = graphql(&manager, &narrowed("31")).await;
    assert_eq!(
        figure(&toulouse, "labels.byLevel"),
        figure(&then, "labels.byLevel"),
        "{toulouse}"
    );
    let gers = graphql(&manager, &narrowed("32")).await;
    assert_eq!(
        &figure(&gers, "labels.byLevel")[0],
        &json!({"level": "engagement", "count": 0, "previousYear": 0, "change": 0}),
        "{gers}"
    );
    let labelled = |department: Option<&str>| {
        let department = department.map_or(String::new(), |d| format!(", department: \"{d}\""));
        format!(
            "{{ dashboard(schoolYear: \"{}\"{department}) {{ labels {{ byLevel {{ level count }} \
             labelled {{ count of byDepartment {{ key count of }} }} }} }} }}",
            year.previous()
        )
    };
    let academy = graphql(&manager, &labelled(None)).await;
    let toulouse = graphql(&manager, &labelled(Some("31"))).await;
    assert_eq!(figure(&toulouse, "labels.labelled.count"), 1, "{toulouse}");
    assert_eq!(
        figure(&toulouse, "labels.labelled.byDepartment"),
        figure(&academy, "labels.labelled.byDepartment"),
        "{toulouse}"
    );
    assert_eq!(
        figure(&toulouse, "labels.byLevel"),
        figure(&academy, "labels.byLevel"),
        "{toulouse}"
    );
    assert_eq!(
        figure(&then, "contest.trend.schoolYear"),
        year.previous().to_string().as_str(),
        "{then}"
    );
    assert_eq!(
        figure(&then, "previousAsOf"),
        figure(&then, "contest.trend.asOf"),
        "{then}"
    );
    // A year before, in Paris time: 29 February becomes the 28th, the hour kept.
    let leap = graphql(&manager, &query(Some("2028-02-29T10:30:00+01:00"))).await;
    assert_eq!(
        figure(&leap, "previousAsOf"),
        "2027-02-28T09:30:00Z",
        "{leap}"
    );
    assert_eq!(
        figure(&leap, "contest.trend.asOf"),
        "2027-02-28T09:30:00Z",
        "{leap}"
    );
    // Summer time then, winter time a year before: the same Paris hour.
    let summer = graphql(&manager, &query(Some("2027-03-28T10:00:00+02:00"))).await;
    assert_eq!(
        figure(&summer, "previousAsOf"),
        "2026-03-28T09:00:00Z",
        "{summer}"
    );
    app.finish().await;
}

/// Ten times as many dashboards at once as the pool has connections all answer, on a
/// pool of four (the multi-process layout's), the academy's dashboard kept warm beside
/// them. A snapshot keeps one connection for the whole request while its resolvers take
/// others (the log, for the national day's dates): unbounded, every connection was held
/// by a snapshot waiting for a second one until the pool's timeout; and with the two
/// listeners (the store's, the read model's notices) holding two of the four, the two
/// snapshots allowed at once held the rest.
async fn ten_times_as_many_dashboards_as_connections_all_answer(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["read-model"])
        .configure(|c| c.max_connections = 4)
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    let (_, year) = today();
    let query = format!(
        "{{ dashboard(schoolYear: \"{year}\") {{ trainedTeams {{ schools {{ count of }} }} \
         nationalDay {{ schoolsWithAction {{ count of }} }} \
         overdue {{ reportDeadline missingReports {{ count of }} remindersPending }} }} }}"
    );
    // A starved request waits out the pool's timeout, then answers an error.
    let answers = futures::future::join_all(
        (0..40).map(|_| manager.post("/graphql", json!({ "query": query }))),
    )
    .await;
    for (status, body) in answers {
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        assert!(body["data"]["dashboard"]["overdue"].is_object(), "{body}");
    }
    app.finish().await;
}

/// `name`'s samples with `labels` in `app`'s `/metrics`.
async fn metric(app: &TestApp, name: &str, labels: &[&str]) -> f64 {
    pharos_test_support::metric(&app.http, &app.base, name, labels).await
}

/// Every projection caught up, then a pass of the warmer begun after that: the one after
/// the next.
async fn warmed(app: &TestApp) {
    for projection in tables::all() {
        caught_up(app, projection).await;
    }
    let passes = metric(app, "pharos_dashboard_warm_passes_total", &[]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(app, "pharos_dashboard_warm_passes_total", &[]).await < passes + 2.0 {
        assert!(Instant::now() < deadline, "the warmer never ran twice");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A dashboard asked "now" is kept warm: after a change the process computes it again by
/// itself, and the next request finds every statement computed, showing the change. (A
/// department's: the academy's is kept warm whoever asked it, the next test.)
async fn a_dashboard_asked_now_is_kept_warm(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["directory", "read-model"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    let (_, year) = today();
    let query = format!(
        "{{ dashboard(schoolYear: \"{year}\", department: \"31\") {{ asOf \
         trainedTeams {{ schools {{ count of }} }} nationalDay {{ schoolsWithAction {{ count of }} }} }} }}"
    );
    let colleges = |body: &Value| figure(body, "trainedTeams.schools.of").as_i64();
    until(&manager, &query, |body| colleges(body) == Some(1)).await;

    app.school(LYCEE_31, "lycee_gt", "31").await;
    warmed(&app).await;
    let statements = "pharos_dashboard_statements_total";
    let computed = ["answer=\"computed\"", "by=\"request\""];
    let before = metric(&app, statements, &computed).await;
    let body = graphql(&manager, &query).await;
    assert_eq!(colleges(&body), Some(2), "the change shows: {body}");
    assert_eq!(
        metric(&app, statements, &computed).await,
        before,
        "the request found every statement computed"
    );
    assert!(
        metric(&app, statements, &["answer=\"computed\"", "by=\"warmer\""]).await > 0.0,
        "by the warmer"
    );
    assert!(metric(&app, statements, &["answer=\"reused\"", "by=\"request\""]).await > 0.0);
    app.finish().await;
}

/// The academy's dashboard of the current year is kept warm from the start, though nobody
/// asked it: the pole's first look, in the shape of its page (every group, breakdowns by
/// department and kind, the contest's trend), finds every statement computed, at the
/// read model's last state. A department's, which nobody asked, is computed when asked.
async fn the_academy_s_dashboard_is_warm_before_anyone_asks_it(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["directory", "read-model"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    warmed(&app).await;
    let (_, year) = today();
    let share =
        "{ value count of byDepartment { key value count of } byKind { key value count of } }";
    let total = "{ total byDepartment { key total } }";
    let page = format!(
        "query Dashboard($y: String!) {{ me {{ id role }} dashboard(schoolYear: $y) {{ \
         schoolYear asOf previousAsOf \
         trainedTeams {{ definitionVersion schools {share} circonscriptions {share} }} \
         ambassadors {{ schools {share} pupils {total} parents {total} }} \
         labels {{ labelled {share} byLevel {{ level count previousYear change }} }} \
         phareSteps {{ charterInForce {share} protocolPresented {share} learningHoursPlanned {share} \
                      parentWorkshopHeld {share} }} \
         nationalDay {{ schoolsWithAction {share} reports {share} actions pupilsReached \
                       actionsByType {{ key total }} }} \
         contest {{ entries {total} participation {share} inadmissible {{ total }} \
                   inadmissibleReasons(first: 5) {{ reason count }} laureates {{ total }} \
                   trend {{ schoolYear entries entriesChange participationChange }} }} \
         trainings {{ sessionsPlanned sessionsHeld hoursDelivered attendanceRate {{ value count of }} \
                     mppTrained schoolCoverage {share} }} \
         overdue {{ reportDeadline missingReports {share} undeclaredTeams {share} \
                   undeclaredCirconscriptionTeams {share} remindersPending remindersFailed \
                   unfinishedEntries {{ total }} }} }} }}"
    );
    let statements = "pharos_dashboard_statements_total";
    let computed = ["answer=\"computed\"", "by=\"request\""];
    let before = metric(&app, statements, &computed).await;
    assert!(
        metric(&app, statements, &["answer=\"computed\"", "by=\"warmer\""]).await > 0.0,
        "the warmer computed it"
    );
    let (status, body) = manager
        .post(
            "/graphql",
            json!({ "query": page, "variables": { "y": year.to_string() } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["dashboard"]["trainedTeams"]["schools"]["of"],
        json!(2),
        "both collèges: {body}"
    );
    assert_eq!(
        metric(&app, statements, &computed).await,
        before,
        "the pole's first request found every statement computed"
    );
    // What nobody asked and is not the academy's current year is computed when asked.
    let department = format!(
        "{{ dashboard(schoolYear: \"{year}\", department: \"31\") {{ trainedTeams {{ schools {{ of }} }} }} }}"
    );
    let body = graphql(&manager, &department).await;
    assert_eq!(
        figure(&body, "trainedTeams.schools.of").as_i64(),
        Some(1),
        "{body}"
    );
    assert!(metric(&app, statements, &computed).await > before);
    app.finish().await;
}

/// Where computing the academy's dashboard is a wait (`dashboards_previous_above_ms`; 0
/// here: whatever it costs), a request at a state the warmer has yet to compute is
/// answered at the last one it computed, whole: every figure of that state, its instant
/// before the change. A subscriber reading again at each notice (as the page does) may
/// read that previous state on the change's own notice: the warmer tells it again once
/// it computed the new one, and its last reading shows the change.
async fn a_state_being_computed_is_answered_at_the_previous_one(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["directory", "read-model"])
        .configure(|c| c.dashboards_previous_above_ms = 0)
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    warmed(&app).await;
    let (_, year) = today();
    let query = format!(
        "{{ dashboard(schoolYear: \"{year}\") {{ asOf trainedTeams {{ schools {{ count of }} }} \
         nationalDay {{ schoolsWithAction {{ count of }} }} }} }}"
    );
    let colleges = |body: &Value| {
        u32::try_from(figure(body, "trainedTeams.schools.of").as_u64().unwrap()).unwrap()
    };
    assert_eq!(colleges(&graphql(&manager, &query).await), 1);

    let mut socket = subscribed(
        &app,
        manager.token(),
        &format!("subscription {{ dashboardChanged(schoolYear: \"{year}\") {{ position }} }}"),
    )
    .await;

    // A college registered, then the dashboard read at each notice until the notices
    // stop, until one reading was answered at the previous state, and one of a dashboard
    // the warmer does not compute (the department's private schools) was asked again at
    // its own state.
    let previous = || {
        metric(
            &app,
            "pharos_dashboard_statements_total",
            &["answer=\"previous\""],
        )
    };
    let private = format!(
        "{{ dashboard(schoolYear: \"{year}\", department: \"31\", sector: \"prive_sous_contrat\") {{ \
         trainedTeams {{ schools {{ count of }} }} }} }}"
    );
    let missed = || metric(&app, "pharos_dashboard_previous_missed_total", &[]);
    let mut asked_again = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 1;
    loop {
        assert!(
            Instant::now() < deadline,
            "no reading came before the warmer computed the change"
        );
        n += 1;
        let before = Utc::now();
        let answered_before = previous().await;
        app.school(&super::surface::uai(31, n), "college", "31")
            .await;
        let mut last = None;
        let mut answered_previous = false;
        while let Some(message) = receive(&mut socket, Duration::from_secs(2)).await {
            assert_eq!(message.unwrap()["type"], "next");
            let body = graphql(&manager, &query).await;
            assert!(body.get("errors").is_none(), "{body}");
            let missed_before = missed().await;
            let other = graphql(&manager, &private).await;
            assert!(other.get("errors").is_none(), "{other}");
            assert_eq!(figure(&other, "trainedTeams.schools.of"), 0, "{other}");
            asked_again |= missed().await > missed_before;
            // Some notices (another projection's commit) come before the change is in
            // the tables this query reads: a reading short of it is not always one at
            // the previous state.
            if colleges(&body) < n && previous().await > answered_before && !answered_previous {
                answered_previous = true;
                let at: DateTime<Utc> = figure(&body, "asOf").as_str().unwrap().parse().unwrap();
                assert!(at < before, "a state before the change, whole: {body}");
            }
            last = Some(body);
        }
        // The subscription starts asynchronously: the first change may come before it.
        let Some(last) = last else { continue };
        assert_eq!(
            colleges(&last),
            n,
            "the last reading shows the change: {last}"
        );
        if answered_previous && asked_again {
            break;
        }
    }
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-read-model-dashboard";
    the_dashboard_counts_in_scope_and_as_of_answers_past_states,
    the_dashboard_counts_trainings,
    a_cancelled_session_no_longer_covers_its_schools,
    only_a_session_of_the_mpp_trains_in_the_mpp,
    the_dashboard_counts_national_day_actions,
    a_changed_definition_rebuilds_its_indicator_only,
    the_dashboard_counts_the_contest_and_what_is_overdue,
    the_dashboard_counts_reminders_pending,
    the_groups_of_one_answer_read_one_snapshot,
    the_dashboard_breaks_down_and_filters_by_sector_and_priority_education,
    every_trend_reads_the_previous_year_a_year_before,
    ten_times_as_many_dashboards_as_connections_all_answer,
    a_dashboard_asked_now_is_kept_warm,
    the_academy_s_dashboard_is_warm_before_anyone_asks_it,
    a_state_being_computed_is_answered_at_the_previous_one,
);

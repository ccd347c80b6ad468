//! A school year, end to end, through HTTP only: the same [`school_year`] drives the
//! all-in-one binary on SQLite and the multi-process layout on PostgreSQL (nginx in
//! front), each on the real clock with a real SMTP server receiving the mails.
//!
//! Real processes run on the real clock, so every date is chosen relative to today (in
//! Paris): the pole moves the Journée nationale to today, the contest opens on the day
//! its opening mail is due, the live session starts a few seconds from now.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, TimeDelta, Utc};
use chrono_tz::Europe::Paris;
use mail_parser::MimeHeaders;
use pharos_test_support::layout::{self, Layout};
use pharos_test_support::process::{ADMIN, PASSWORD, serve_command};
use pharos_test_support::smtp::{Smtp, free_port};
use pharos_test_support::{Served, TestDb};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode, redirect};
use serde_json::{Value, json};

/// The all-in-one binary (`--target all`) on a SQLite file, mails over SMTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_school_year_on_the_all_in_one_binary_on_sqlite() {
    let db = TestDb::sqlite("pharos-year");
    let smtp = Smtp::start(free_port()).await;
    let files = std::env::temp_dir().join(format!("pharos-year-files-{}", uuid::Uuid::now_v7()));
    let mut command = serve_command("all", &db.url);
    command
        .env("PHAROS_SMTP_URL", smtp.url())
        .env("PHAROS_REMINDERS_INTERVAL_SECONDS", "1")
        .env("PHAROS_FILES_DIR", &files);
    let served = Served::start(command);
    if let Err(failed) = run_year(&served.base, smtp).await {
        eprintln!("pharos logged:\n{}", served.kill());
        std::panic::resume_unwind(failed);
    }
    served.stop();
    restarts_answer_alike(&db.url, &files).await;
    let _ = std::fs::remove_dir_all(files);
    db.finish().await;
}

/// After the year, two processes started one after the other on its log answer every
/// list and record of the API alike: what a target folds in memory, and the order of its
/// lists, do not depend on the process.
async fn restarts_answer_alike(db_url: &str, files: &std::path::Path) {
    let start = || {
        let mut command = serve_command("all", db_url);
        command
            .env("PHAROS_FILES_DIR", files)
            .env("PHAROS_OUTBOX_DIR", files.join("outbox"))
            // No reminder run between the two: the answers must not move.
            .env("PHAROS_REMINDERS_INTERVAL_SECONDS", "0");
        Served::start(command)
    };
    let first = start();
    let before = answers(&first.base).await;
    first.stop();
    let second = start();
    let after = answers(&second.base).await;
    second.stop();
    let differ: Vec<_> = before
        .iter()
        .filter(|(path, answer)| after.get(*path) != Some(answer))
        .map(|(path, answer)| (path, answer, after.get(path)))
        .collect();
    assert!(
        differ.is_empty() && before.len() == after.len(),
        "answers differ from one process to the next: {differ:#?}"
    );
}

/// As the pole's manager, every list of the API for the year and every record they name
/// (with a contest's entries, jury progress and palmarès, a training's sessions, each
/// account's reminders): path → (status, body).
async fn answers(base: &str) -> std::collections::BTreeMap<String, (u16, Value)> {
    let manager = Api::anonymous(base).login(MANAGER, PASSWORD).await;
    let year = Calendar::today().year;
    let mut answers = std::collections::BTreeMap::new();
    let mut paths: Vec<String> = [
        "/api/v1/actions",
        "/api/v1/cohorts",
        "/api/v1/contests",
        "/api/v1/phare/deployments",
        "/api/v1/phare/labels",
        "/api/v1/trainings",
    ]
    .iter()
    .map(|list| format!("{list}?school_year={year}"))
    .chain(
        [
            "/api/v1/users",
            "/api/v1/partners",
            "/api/v1/me",
            "/api/v1/reminder-rules",
        ]
        .map(str::to_owned),
    )
    .chain([
        format!("/api/v1/national-days/{year}"),
        format!("/api/v1/national-days/{year}/reports?department=31"),
    ])
    .collect();
    while let Some(path) = paths.pop() {
        if answers.contains_key(&path) {
            continue;
        }
        let (status, body) = manager.call(Method::GET, &path, None).await;
        let list = path.split('?').next().unwrap_or_default();
        for item in body["items"].as_array().into_iter().flatten() {
            let Some(id) = item["id"].as_str() else {
                continue;
            };
            let records: Vec<String> = match list {
                "/api/v1/contests" => ["", "/entries", "/jury-progress", "/palmares"]
                    .iter()
                    .map(|tail| format!("{list}/{id}{tail}"))
                    .collect(),
                "/api/v1/trainings" => {
                    vec![format!("{list}/{id}"), format!("{list}/{id}/sessions")]
                }
                // The reminders' ledger is read by recipient; it has no record of its own.
                "/api/v1/reminders" => Vec::new(),
                "/api/v1/users" => vec![
                    format!("{list}/{id}"),
                    format!("/api/v1/reminders?recipient={id}"),
                ],
                _ if list.ends_with("/entries") => vec![format!("/api/v1/entries/{id}")],
                _ if list.ends_with("/sessions") => vec![format!("/api/v1/sessions/{id}")],
                _ => vec![format!("{list}/{id}")],
            };
            paths.extend(records);
        }
        answers.insert(path, (status.as_u16(), body));
    }
    assert!(
        answers.len() > 20 && answers.values().all(|(status, _)| *status == 200),
        "every list and record read, enough to compare: {answers:#?}"
    );
    answers
}

/// Every target as its own process on PostgreSQL, nginx in front: the year through the
/// one public port, mails over SMTP from the `reminders` process.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_school_year_on_the_multi_process_layout_on_postgres() {
    if layout::nginx().is_none() {
        return;
    }
    let Some(db) = TestDb::postgres("pharos_year").await else {
        return;
    };
    let smtp = Smtp::start(free_port()).await;
    let mut layout = Layout::start_with(
        &db.url,
        Some(&smtp.url()),
        // Few connections each: nine processes share the cluster with other tests.
        &[
            ("PHAROS_REMINDERS_INTERVAL_SECONDS", "1"),
            ("PHAROS_MAX_CONNECTIONS", "4"),
        ],
    )
    .await;
    if let Err(failed) = run_year(&layout.base, smtp).await {
        for target in layout.targets() {
            eprintln!("{target} logged:\n{}", layout.kill(target));
        }
        eprintln!("nginx logged:\n{}", layout.nginx_log());
        std::panic::resume_unwind(failed);
    }
    layout.stop();
    db.finish().await;
}

/// [`school_year`] in a task of its own, so that on a failure the test prints what the
/// processes logged before it fails.
async fn run_year(base: &str, mut smtp: Smtp) -> Result<(), Box<dyn std::any::Any + Send>> {
    let base = base.to_owned();
    tokio::spawn(async move { school_year(&base, &mut smtp).await })
        .await
        .map_err(tokio::task::JoinError::into_panic)
}

// ---------------------------------------------------------------------------------
// The year

/// The schools of the year: lines of the sample national directory (deploy/samples/),
/// one of them a CIO, out of the pole's field.
const ECOLE: &str = "0318147M"; // école, Haute-Garonne, circonscription Toulouse Sud-Est
const COLLEGE: &str = "0314112B"; // collège REP, Haute-Garonne
const COLLEGE_2: &str = "0310747U"; // collège, Haute-Garonne
const CIO: &str = "0318544U"; // refused: « Information et orientation »
const LYCEE: &str = "0316513L"; // lycée général et technologique, Haute-Garonne
const GERS: &str = "0322769L"; // collège, Gers
const IMPORTED: [&str; 5] = [ECOLE, COLLEGE, COLLEGE_2, LYCEE, GERS];

const MANAGER: &str = "pilote.pole@ac-toulouse.fr";
const REFERENT: &str = "referente.31@ac-toulouse.fr";
const JUROR: &str = "jure.concours@ac-toulouse.fr";
/// The adult referent of the collège's ambassadors, trained in a session recorded
/// after the fact.
const COHORT_REFERENT: &str = "nora.cpe@ac-toulouse.fr";
/// Pupils' first names, held on the cohort's nominal list: never in a mail.
const PUPILS: [&str; 2] = ["Lina", "Noé"];

/// The whole year against a running Pharos at `base` whose mails reach `smtp`.
async fn school_year(base: &str, smtp: &mut Smtp) {
    let started = std::time::Instant::now();
    let cal = Calendar::today();
    let year = cal.year.as_str();
    let mut mailbox = Mailbox::new(smtp);
    let anonymous = Api::anonymous(base);

    // The platform answers; the first administrator creates the pole's manager.
    let health = anonymous.get_json("/healthz").await;
    assert!(health.is_object(), "{health}");
    let admin = anonymous.login(ADMIN, PASSWORD).await;
    admin
        .created(
            "/api/v1/users",
            json!({"email": MANAGER, "display_name": "Pilote du pôle", "role": "pole_manager",
                   "password": PASSWORD}),
        )
        .await;
    let manager = anonymous.login(MANAGER, PASSWORD).await;

    // The Journée nationale of this year is today (moved by the pole), so that actions
    // held today are within its window.
    let deadline = cal.clamp(cal.today + TimeDelta::days(21));
    manager
        .put_ok(
            &format!("/api/v1/national-days/{year}"),
            json!({"date": cal.today, "report_deadline": deadline}),
        )
        .await;
    let day = manager
        .get_json(&format!("/api/v1/national-days/{year}"))
        .await;
    assert_eq!(
        (&day["date"], &day["overridden"]),
        (&json!(cal.today), &json!(true)),
        "{day}"
    );

    import_schools(&manager).await;

    // Accounts: a referent and a juror by hand, every school's in bulk.
    admin
        .created(
            "/api/v1/users",
            json!({"email": REFERENT, "display_name": "Claire Référente", "role": "department_referent",
                   "scope": "31", "password": PASSWORD}),
        )
        .await;
    let juror_id = manager
        .created(
            "/api/v1/users",
            json!({"email": JUROR, "display_name": "Juré du concours", "role": "juror",
                   "password": PASSWORD}),
        )
        .await;
    let report = manager.post_ok("/api/v1/users/schools", json!({})).await;
    assert_eq!(
        (&report["created"], &report["existing"], &report["refused"]),
        (&json!(5), &json!(0), &json!([])),
        "one account per open school: {report}"
    );
    let again = manager.post_ok("/api/v1/users/schools", json!({})).await;
    assert_eq!(
        (&again["created"], &again["existing"]),
        (&json!(0), &json!(5)),
        "idempotent: {again}"
    );
    let referent = anonymous.login(REFERENT, PASSWORD).await;
    let juror = anonymous.login(JUROR, PASSWORD).await;

    // The schools have no password: each sets one from its invitation mail.
    let college = set_password_from_invitation(&anonymous, &mut mailbox, COLLEGE).await;
    let gers = set_password_from_invitation(&anonymous, &mut mailbox, GERS).await;
    let me = college.get_json("/api/v1/me").await;
    assert_eq!(
        (&me["role"], &me["scope"]),
        (&json!("school"), &json!(COLLEGE)),
        "{me}"
    );
    let college_id = me["id"].as_str().unwrap().to_owned();

    let live = Trainings::plan(&manager, &college, &referent, &cal).await;
    ambassadors(&college, year, &live.past_session).await;
    national_day(&college, &gers, &referent, year, cal.today).await;
    let contest = contest(
        &manager, &college, &gers, &juror, &juror_id, &anonymous, &cal,
    )
    .await;
    phare(&college, &manager, year, cal.today).await;
    live.attend(&manager, &college).await;

    reminders(&mut mailbox, &manager, &college_id).await;
    dashboard(&manager, &referent, year).await;
    exports(&manager, year).await;
    pages(base, year, &contest).await;
    mailbox.check_every_mail(&manager).await;
    eprintln!(
        "school year at {base}: {:.1} s, {} mails",
        started.elapsed().as_secs_f64(),
        mailbox.mails.len()
    );
}

/// Imports five schools and a CIO in the national directory's layout, twice: the CIO
/// is refused with its line, the second import changes nothing.
async fn import_schools(manager: &Api) {
    let sample = include_str!("../deploy/samples/annuaire-toulouse-sample.csv");
    let mut lines = sample.lines();
    let mut csv = format!("{}\n", lines.next().unwrap());
    for line in lines {
        let uai = line.split(';').next().unwrap();
        if IMPORTED.contains(&uai) || uai == CIO {
            csv.push_str(line);
            csv.push('\n');
        }
    }
    let import = async || {
        let response = manager
            .request(Method::POST, "/api/v1/schools/import")
            .header(header::CONTENT_TYPE, "text/csv")
            .body(csv.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let report: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "import: {report}");
        report
    };
    let report = import().await;
    assert_eq!(
        (
            &report["imported"],
            &report["updated"],
            &report["unchanged"]
        ),
        (&json!(5), &json!(0), &json!(0)),
        "{report}"
    );
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{report}");
    // Line 1 is the header; the CIO is the fourth school in the sample's order.
    assert_eq!(
        (&refused[0]["line"], &refused[0]["uai"]),
        (&json!(5), &json!(CIO)),
        "{report}"
    );
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("orientation"),
        "a French reason naming the type: {report}"
    );
    let again = import().await;
    assert_eq!(
        (&again["imported"], &again["unchanged"]),
        (&json!(0), &json!(5)),
        "idempotent: {again}"
    );
    let school = manager
        .get_json(&format!("/api/v1/schools/{COLLEGE}"))
        .await;
    assert_eq!(
        (
            &school["kind"],
            &school["department"],
            &school["priority_education"]
        ),
        (&json!("college"), &json!("31"), &json!("rep")),
        "{school}"
    );
}

/// The invitation mail of the school `uai`: its set-password link gives the school its
/// first password; answers the school, logged in.
async fn set_password_from_invitation(
    anonymous: &Api,
    mailbox: &mut Mailbox<'_>,
    uai: &str,
) -> Api {
    let address = format!("ce.{}@ac-toulouse.fr", uai.to_lowercase());
    let mail = mailbox
        .wait_for(&format!("the invitation of {address}"), |m| {
            m.to == address && m.subject == "Votre compte Pharos est ouvert"
        })
        .await;
    assert!(
        mail.text.contains(&format!("(établissement, {uai})")),
        "{}",
        mail.text
    );
    let token = mail
        .text
        .split_once("/reinitialiser-mot-de-passe#jeton=")
        .unwrap_or_else(|| panic!("a set-password link in {}", mail.text))
        .1
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    anonymous
        .post_ok(
            "/api/v1/password-reset",
            json!({"token": token, "password": PASSWORD}),
        )
        .await;
    anonymous.login(&address, PASSWORD).await
}

/// The live session of the year (registered now, attended once it has started) and
/// the session recorded after the fact.
struct Trainings {
    live_session: String,
    starts_at: DateTime<Utc>,
    /// The registrations present at the live session.
    present: Vec<String>,
    past_session: String,
}

impl Trainings {
    /// A training on the « préoccupation partagée »: a session held earlier today and
    /// recorded after the fact, a session starting in a few seconds (two places, a
    /// waitlist promoted on a withdrawal), one in three weeks (a volunteer's
    /// convocation mail) and one cancelled (its notice).
    async fn plan(manager: &Api, college: &Api, referent: &Api, cal: &Calendar) -> Self {
        let training = manager
            .created(
                "/api/v1/trainings",
                json!({"title": "Méthode de la préoccupation partagée", "topic": "mpp",
                       "audience": "équipes ressources des collèges", "department": "31",
                       "description": "Une demi-journée"}),
            )
            .await;
        let sessions = format!("/api/v1/trainings/{training}/sessions");
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let body = |start: DateTime<Utc>, minutes: i64, capacity: u32| {
            let end = start + TimeDelta::minutes(minutes);
            json!({"starts_at": at(start), "ends_at": at(end),
                   "slots": [{"starts_at": at(start), "ends_at": at(end)}],
                   "location": "Atelier Canopé, Toulouse", "capacity": capacity,
                   "planned_minutes": minutes, "trainers": []})
        };
        let person = |n: u32, school: &str| {
            json!({"email": format!("personne{n}@ac-toulouse.fr"), "display_name": format!("Personne {n}"),
                   "school_uai": school, "function": "CPE"})
        };

        // Held this morning, before Pharos: the cohort's referent attended, a colleague did not.
        let mut past = body(cal.now - TimeDelta::minutes(130), 120, 10);
        past["registrants"] = json!([
            {"person": {"email": COHORT_REFERENT, "display_name": "Nora CPE",
                        "school_uai": COLLEGE, "function": "CPE"},
             "mode": "designated", "attendance": [{"slot_index": 0, "status": "present"}]},
            {"person": person(2, COLLEGE_2), "mode": "designated",
             "attendance": [{"slot_index": 0, "status": "absent"}]}
        ]);
        let past_session = manager.created(&format!("{sessions}/past"), past).await;
        let view = manager
            .get_json(&format!("/api/v1/sessions/{past_session}"))
            .await;
        assert_eq!(
            (&view["status"], &view["recorded_after_the_fact"]),
            (&json!("attendance_locked"), &json!(true)),
            "{view}"
        );

        // Starting in 15 s: registered now, attended once started.
        let starts_at = Utc::now() + TimeDelta::seconds(15);
        let live_session = manager.created(&sessions, body(starts_at, 180, 2)).await;
        manager
            .post_ok(
                &format!("/api/v1/sessions/{live_session}/open"),
                Value::Null,
            )
            .await;
        let registrations = format!("/api/v1/sessions/{live_session}/registrations");
        let register =
            async |client: &Api, body: Value| client.post_created(&registrations, body).await;
        let first = register(
            college,
            json!({"person": person(3, COLLEGE), "mode": "designated"}),
        )
        .await;
        let second = register(
            referent,
            json!({"person": person(4, COLLEGE_2), "mode": "designated"}),
        )
        .await;
        let third = register(
            manager,
            json!({"person": person(5, LYCEE), "mode": "designated"}),
        )
        .await;
        assert_eq!(
            [&first["status"], &second["status"], &third["status"]],
            [
                &json!("confirmed"),
                &json!("confirmed"),
                &json!("waitlisted")
            ],
            "two places: {first} {second} {third}"
        );
        let withdrawn = referent
            .post_ok(
                &format!(
                    "/api/v1/sessions/{live_session}/registrations/{}/withdraw",
                    second["id"].as_str().unwrap()
                ),
                Value::Null,
            )
            .await;
        assert_eq!(
            withdrawn["promoted"],
            json!([third["id"]]),
            "the waitlist moves up: {withdrawn}"
        );
        assert!(
            Utc::now() < starts_at,
            "the registrations took longer than the 15 s before the session's start"
        );

        // In three weeks: a volunteer of the collège, confirmed, is convened by mail.
        let later = manager
            .created(&sessions, body(cal.now + TimeDelta::days(21), 180, 20))
            .await;
        manager
            .post_ok(&format!("/api/v1/sessions/{later}/open"), Value::Null)
            .await;
        let volunteer = college
            .post_created(
                &format!("/api/v1/sessions/{later}/registrations"),
                json!({"person": person(6, COLLEGE), "mode": "volunteer"}),
            )
            .await;
        assert_eq!(volunteer["status"], "confirmed", "{volunteer}");

        // In four weeks, cancelled: its registrant is told why.
        let cancelled = manager
            .created(&sessions, body(cal.now + TimeDelta::days(28), 180, 20))
            .await;
        manager
            .post_created(
                &format!("/api/v1/sessions/{cancelled}/registrations"),
                json!({"person": person(7, COLLEGE_2), "mode": "designated"}),
            )
            .await;
        manager
            .post_ok(
                &format!("/api/v1/sessions/{cancelled}/cancel"),
                json!({"reason": "Formatrice indisponible"}),
            )
            .await;

        Self {
            live_session,
            starts_at,
            present: vec![
                first["id"].as_str().unwrap().to_owned(),
                third["id"].as_str().unwrap().to_owned(),
            ],
            past_session,
        }
    }

    /// Once the live session has started: both present for the whole slot, the session held.
    async fn attend(&self, manager: &Api, college: &Api) {
        let id = &self.live_session;
        let path = format!("/api/v1/sessions/{id}/attendance");
        let deadline = self.starts_at + TimeDelta::seconds(30);
        for registration in &self.present {
            let body =
                json!({"registration_id": registration, "slot_index": 0, "status": "present"});
            loop {
                let (status, answer) = manager.call(Method::POST, &path, Some(body.clone())).await;
                if status == StatusCode::OK {
                    break;
                }
                // Refused until the slot starts, by the server's clock.
                assert_eq!(
                    (
                        status,
                        answer["type"]
                            .as_str()
                            .unwrap_or_default()
                            .ends_with("before-start")
                    ),
                    (StatusCode::CONFLICT, true),
                    "attendance: {answer}"
                );
                assert!(Utc::now() < deadline, "attendance still refused: {answer}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        manager
            .post_ok(&format!("/api/v1/sessions/{id}/hold"), Value::Null)
            .await;
        let session = manager.get_json(&format!("/api/v1/sessions/{id}")).await;
        assert_eq!(session["status"], "held", "{session}");
        let mut attended: Vec<(String, String, u64)> = session["registrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["display_name"].as_str().unwrap().to_owned(),
                    r["status"].as_str().unwrap().to_owned(),
                    r["attended_minutes"].as_u64().unwrap(),
                )
            })
            .collect();
        attended.sort();
        assert_eq!(
            attended,
            [
                ("Personne 3".to_owned(), "confirmed".to_owned(), 180),
                ("Personne 4".to_owned(), "withdrawn".to_owned(), 0),
                ("Personne 5".to_owned(), "confirmed".to_owned(), 180),
            ],
            "{session}"
        );
        // The school sees its own people only.
        let seen = college.get_json(&format!("/api/v1/sessions/{id}")).await;
        let names: Vec<&str> = seen["registrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["display_name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Personne 3"], "{seen}");
    }
}

/// The collège's pupil ambassadors: eleven declared, their referent trained at the
/// session recorded after the fact, active.
async fn ambassadors(college: &Api, year: &str, past_session: &str) {
    let id = college
        .created(
            "/api/v1/cohorts",
            json!({"school_uai": COLLEGE, "school_year": year, "kind": "eleves_college",
                   "referent": {"display_name": "Nora CPE", "email": COHORT_REFERENT},
                   "counts": {"6e": 6, "5e": 5}}),
        )
        .await;
    let path = format!("/api/v1/cohorts/{id}");
    college
        .put_ok(
            &format!("{path}/names"),
            json!([{"first_name": PUPILS[0], "initial": "B", "class_level": "6e"},
                   {"first_name": PUPILS[1], "initial": "C", "class_level": "5e"}]),
        )
        .await;
    college
        .post_ok(&format!("{path}/declare"), Value::Null)
        .await;
    college
        .post_created(
            &format!("{path}/trainings"),
            json!({"session_id": past_session}),
        )
        .await;
    college
        .post_ok(&format!("{path}/activate"), Value::Null)
        .await;
    let cohort = college.get_json(&path).await;
    assert_eq!(
        (
            &cohort["state"],
            &cohort["total"],
            &cohort["below_ten_ambassadors"]
        ),
        (&json!("active"), &json!(11), &json!(false)),
        "{cohort}"
    );
    assert_eq!(cohort["trainings"][0]["referent_minutes"], 120, "{cohort}");
}

/// Actions of the Journée nationale: the collège's, submitted, validated and published
/// by the referent of its department; the Gers collège's, submitted, out of her reach.
async fn national_day(college: &Api, gers: &Api, referent: &Api, year: &str, today: NaiveDate) {
    let actions = format!("/api/v1/national-days/{year}/actions");
    let action = |uai: &str, pupils: u32| {
        json!({"school_uai": uai, "date": today, "types": ["projection_debat", "atelier"],
               "audience_levels": ["6e", "5e"], "pupils_reached": pupils, "adults_reached": 6,
               "partners": ["Association Les Petits Pas"],
               "description": "Projection du film puis débat en classe.", "held": true})
    };
    let ours = college.created(&actions, action(COLLEGE, 120)).await;
    let theirs = gers.created(&actions, action(GERS, 60)).await;
    college
        .post_ok(&format!("/api/v1/actions/{ours}/submit"), Value::Null)
        .await;
    gers.post_ok(&format!("/api/v1/actions/{theirs}/submit"), Value::Null)
        .await;
    let (status, problem) = referent
        .call(
            Method::POST,
            &format!("/api/v1/actions/{theirs}/validate"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "another department's: {problem}"
    );
    for verb in ["validate", "publish"] {
        referent
            .post_ok(&format!("/api/v1/actions/{ours}/{verb}"), Value::Null)
            .await;
    }
    let published = college.get_json(&format!("/api/v1/actions/{ours}")).await;
    assert_eq!(
        (
            &published["status"],
            &published["campaign"],
            &published["pupils_reached"]
        ),
        (&json!("published"), &json!("national_day"), &json!(120)),
        "{published}"
    );
    let reports = referent
        .get_json(&format!(
            "/api/v1/national-days/{year}/reports?department=31"
        ))
        .await;
    // Haute-Garonne's four schools: the collège reported, the others not yet.
    let mut missing: Vec<&str> = reports["schools_without_action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["uai"].as_str().unwrap())
        .collect();
    missing.sort_unstable();
    let mut expected = [ECOLE, COLLEGE_2, LYCEE];
    expected.sort_unstable();
    assert_eq!(
        (
            &reports["expected"],
            &reports["received"],
            missing.as_slice()
        ),
        (&json!(4), &json!(1), expected.as_slice()),
        "{reports}"
    );
}

/// The contest of the year: two collèges' posters (a real PNG uploaded), one
/// inadmissible, the other scored by the juror, laureate, the palmarès published.
async fn contest(
    manager: &Api,
    college: &Api,
    gers: &Api,
    juror: &Api,
    juror_id: &str,
    anonymous: &Api,
    cal: &Calendar,
) -> String {
    // The opening mail goes at 08:00 in Paris on the opening day by default: the pole
    // sends it from midnight instead, caught up within two days, so that it is due now
    // whatever the hour (and across a midnight during the test).
    manager
        .put_ok(
            "/api/v1/reminder-rules/contest_opening",
            json!({"schedule": "0 0 0 * * *", "catch_up_days": 2}),
        )
        .await;
    let rules = manager.get_json("/api/v1/reminder-rules").await;
    let opening = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "contest_opening")
        .unwrap_or_else(|| panic!("{rules}"));
    assert_eq!(
        (
            &opening["schedule"],
            &opening["catch_up_days"],
            &opening["shipped"]
        ),
        (&json!("0 0 0 * * *"), &json!(2), &json!(true)),
        "{opening}"
    );
    let deadline = cal.clamp(cal.today + TimeDelta::days(10));
    let jury_on = deadline + TimeDelta::days(7);
    let id = manager
        .created(
            "/api/v1/contests",
            json!({
                "school_year": cal.year, "opens_at": cal.today,
                "submission_deadline": format!("{deadline}T23:59"), "jury_on": jury_on,
                "national_submission_on": jury_on + TimeDelta::days(7),
                "categories": [{"level": "college", "medium": "affiche"}],
                "rules": {"media": ["affiche"], "max_video_seconds": 120, "max_file_bytes": 100_000,
                          "file_types": ["png", "pdf"], "max_entries_per_group": 1,
                          "nominees_per_category": 1}
            }),
        )
        .await;
    let poster = include_bytes!("fixtures/affiche.png").to_vec();
    let mut entries = Vec::new();
    for (school, uai, title) in [
        (college, COLLEGE, "Briser le silence"),
        (gers, GERS, "Tous différents"),
    ] {
        let entry = school
            .created(
                &format!("/api/v1/contests/{id}/entries"),
                json!({
                    "school_uai": uai, "category": "college_affiche", "title": title,
                    "group": {"label": "5e A", "levels": ["5e"], "pupil_count": 24, "adult_count": 2},
                    "responsible": {"display_name": "Camille Martin", "email": "camille.martin@ac-toulouse.fr"},
                    "project_sheet": "Une affiche réalisée en classe de 5e."
                }),
            )
            .await;
        let response = school
            .request(
                Method::POST,
                &format!("/api/v1/entries/{entry}/files?name=affiche.png"),
            )
            .header(header::CONTENT_TYPE, "image/png")
            .body(poster.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let file: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "upload: {file}");
        assert_eq!(
            (&file["media"], &file["file_type"], &file["bytes"]),
            (&json!("affiche"), &json!("png"), &json!(poster.len())),
            "{file}"
        );
        // The file reads back as sent.
        let back = school
            .request(
                Method::GET,
                &format!(
                    "/api/v1/entries/{entry}/files/{}",
                    file["file_id"].as_str().unwrap()
                ),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(back.status(), StatusCode::OK);
        assert_eq!(back.headers()[header::CONTENT_TYPE], "image/png");
        assert_eq!(back.bytes().await.unwrap().to_vec(), poster);
        school
            .post_ok(
                &format!("/api/v1/entries/{entry}/attestations"),
                json!({"image_rights": true, "third_party_rights": true, "republic_values": true,
                       "rights_grant": true, "attested_by": "Principal du collège"}),
            )
            .await;
        school
            .post_ok(&format!("/api/v1/entries/{entry}/submit"), Value::Null)
            .await;
        entries.push(entry);
    }
    let (ours, theirs) = (&entries[0], &entries[1]);
    manager
        .post_ok(
            &format!("/api/v1/entries/{theirs}/admissibility"),
            json!({"admissible": false, "reason": "Hors sujet"}),
        )
        .await;
    manager
        .post_ok(
            &format!("/api/v1/entries/{ours}/admissibility"),
            json!({"admissible": true}),
        )
        .await;
    manager
        .post_ok(
            &format!("/api/v1/contests/{id}/jurors"),
            json!({"user_id": juror_id}),
        )
        .await;
    manager
        .post_ok(
            &format!("/api/v1/entries/{ours}/jurors"),
            json!({"juror_id": juror_id}),
        )
        .await;
    let assigned = juror
        .get_json(&format!("/api/v1/contests/{id}/entries"))
        .await;
    assert_eq!(
        (&assigned["total"], &assigned["items"][0]["id"]),
        (&json!(1), &json!(ours)),
        "the juror sees what is assigned: {assigned}"
    );
    juror
        .post_ok(
            &format!("/api/v1/entries/{ours}/scores"),
            json!({"scores": {"message": 15, "creativite": 15, "realisation": 15, "valeurs": 15}}),
        )
        .await;
    let progress = manager
        .get_json(&format!("/api/v1/contests/{id}/jury-progress"))
        .await;
    let line = progress["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entry_id"] == ours.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{progress}"));
    assert_eq!(
        (&line["score"], &line["rank"]),
        (&json!(15.0), &json!(1)),
        "{progress}"
    );
    manager
        .post_ok(
            &format!("/api/v1/entries/{ours}/awards"),
            json!({"kind": "laureate"}),
        )
        .await;
    let palmares = format!("/api/v1/contests/{id}/palmares");
    let (status, _) = anonymous.call(Method::GET, &palmares, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not before it is published");
    manager
        .post_ok(
            &format!("/api/v1/contests/{id}/publish-results"),
            Value::Null,
        )
        .await;
    let published = anonymous.get_json(&palmares).await;
    let text = published.to_string();
    assert!(
        !text.contains("Camille") && !text.contains("camille"),
        "no personal data: {text}"
    );
    let line = &published["categories"][0]["entries"][0];
    assert_eq!(
        (&line["entry_id"], &line["awards"], &line["rank"]),
        (&json!(ours), &json!(["laureate"]), &json!(1)),
        "{published}"
    );
    let entry = college.get_json(&format!("/api/v1/entries/{ours}")).await;
    assert_eq!(entry["status"], "laureate", "{entry}");
    id
}

/// The collège's pHARe year: charter, a trained team of five, coordinator, protocol,
/// ten hours, a parents' workshop, then the label « engagement » it applies for and the
/// pole awards.
async fn phare(college: &Api, manager: &Api, year: &str, today: NaiveDate) {
    let id = college
        .created(
            "/api/v1/phare/deployments",
            json!({"school_year": year, "school_uai": COLLEGE}),
        )
        .await;
    let path = format!("/api/v1/phare/deployments/{id}");
    college
        .post_ok(&format!("{path}/charter"), json!({"signed_on": today}))
        .await;
    for (n, function) in ["enseignant", "cpe", "infirmier", "psyen", "direction"]
        .iter()
        .enumerate()
    {
        college
            .created(
                &format!("{path}/team-members"),
                json!({"person": {"display_name": format!("Membre Numéro{n}"),
                                  "email": format!("membre{n}@ac-toulouse.fr")},
                       "function": function, "trained": true, "training_minutes": 720,
                       "mpp_trained": n % 2 == 0}),
            )
            .await;
    }
    for (route, body) in [
        (
            "coordinator",
            json!({"person": {"display_name": "Claire Coordinatrice", "email": "claire.coord@ac-toulouse.fr"}}),
        ),
        (
            "protocol",
            json!({"formalised_on": today, "presented_on": today, "presented_to": "conseil_administration"}),
        ),
        ("learning-hours", json!({"planned": true, "hours": 10})),
    ] {
        college.post_ok(&format!("{path}/{route}"), body).await;
    }
    college
        .created(
            &format!("{path}/parent-workshops"),
            json!({"held_on": today, "participants": 23}),
        )
        .await;
    let deployment = manager.get_json(&path).await;
    assert_eq!(
        (
            &deployment["status"],
            &deployment["compliance"]["compliant"]
        ),
        (&json!("active"), &json!(true)),
        "{deployment}"
    );

    let label = college
        .created(
            "/api/v1/phare/labels",
            json!({"school_uai": COLLEGE, "school_year": year, "target_level": 1}),
        )
        .await;
    let view = college
        .get_json(&format!("/api/v1/phare/labels/{label}"))
        .await;
    for criterion in view["criteria"].as_array().unwrap() {
        if criterion["answered_by"] == "school" {
            college
                .post_ok(
                    &format!("/api/v1/phare/labels/{label}/criteria"),
                    json!({"criterion": criterion["key"], "met": true,
                           "evidence": "Voir le bilan annuel"}),
                )
                .await;
        }
    }
    college
        .post_ok(&format!("/api/v1/phare/labels/{label}/submit"), json!({}))
        .await;
    manager
        .post_ok(
            &format!("/api/v1/phare/labels/{label}/decision"),
            json!({"outcome": "awarded", "reason": "Équipe formée, protocole présenté, atelier tenu."}),
        )
        .await;
    let view = college
        .get_json(&format!("/api/v1/phare/labels/{label}"))
        .await;
    assert_eq!(
        (&view["status"], &view["awarded_level"]["name"]),
        (&json!("awarded"), &json!("engagement")),
        "{view}"
    );
}

/// The mails of the year: every account's invitation, the contest's opening to every
/// school, the volunteer's convocation with its calendar invitation, the cancellation
/// notice; the ledger says they were sent.
async fn reminders(mailbox: &mut Mailbox<'_>, manager: &Api, college_id: &str) {
    let invited: Vec<String> = [ADMIN, MANAGER, REFERENT, JUROR]
        .iter()
        .map(|a| (*a).to_owned())
        .chain(
            IMPORTED
                .iter()
                .map(|u| format!("ce.{}@ac-toulouse.fr", u.to_lowercase())),
        )
        .collect();
    for address in &invited {
        mailbox
            .wait_for(&format!("the invitation of {address}"), |m| {
                &m.to == address && m.subject == "Votre compte Pharos est ouvert"
            })
            .await;
    }
    for uai in IMPORTED {
        let address = format!("ce.{}@ac-toulouse.fr", uai.to_lowercase());
        let mail = mailbox
            .wait_for(&format!("the contest's opening to {address}"), |m| {
                m.to == address && m.subject == "Le concours « Non au harcèlement » est ouvert"
            })
            .await;
        assert!(
            mail.text
                .contains("e édition du concours « Non au harcèlement » est ouverte"),
            "{}",
            mail.text
        );
    }
    let convocation = mailbox
        .wait_for("the volunteer's convocation", |m| {
            m.to == "personne6@ac-toulouse.fr"
                && m.subject
                    .starts_with("Inscription confirmée : Méthode de la préoccupation partagée")
        })
        .await;
    let ics = convocation.ics.as_deref().unwrap_or_else(|| {
        panic!(
            "a calendar invitation with the convocation: {}",
            convocation.text
        )
    });
    assert!(ics.contains("BEGIN:VEVENT"), "{ics}");
    let notice = mailbox
        .wait_for("the cancellation notice", |m| {
            m.to == "personne7@ac-toulouse.fr" && m.subject.starts_with("Annulation : ")
        })
        .await;
    assert!(
        notice.text.contains("Formatrice indisponible"),
        "the reason: {}",
        notice.text
    );

    // The ledger, as the pole reads it: the collège's invitation and opening mail sent.
    let ledger = manager
        .get_json(&format!("/api/v1/reminders?recipient={college_id}"))
        .await;
    let sent: HashSet<&str> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "sent")
        .map(|i| i["rule"].as_str().unwrap())
        .collect();
    for rule in ["account_invitation", "contest_opening"] {
        assert!(sent.contains(rule), "{rule} not sent: {ledger}");
    }
}

/// The dashboard's figures, read from the projections (polled: they follow the log
/// within the projector's delay), as the pole and as the referent of Haute-Garonne.
async fn dashboard(manager: &Api, referent: &Api, year: &str) {
    let query = format!(
        "{{ dashboard(schoolYear: \"{year}\") {{ \
           trainedTeams {{ schools {{ count of }} circonscriptions {{ count of }} }} \
           ambassadors {{ schools {{ count of }} pupils {{ total }} }} \
           labels {{ byLevel {{ level count }} labelled {{ count of }} }} \
           phareSteps {{ charterInForce {{ count of }} protocolPresented {{ count of }} \
                         learningHoursPlanned {{ count of }} parentWorkshopHeld {{ count of }} }} \
           nationalDay {{ actions pupilsReached schoolsWithAction {{ count of }} reports {{ count of }} }} \
           contest {{ entries {{ total }} participation {{ count of }} inadmissible {{ total }} \
                      inadmissibleReasons {{ reason count }} laureates {{ total }} }} \
           trainings {{ sessionsPlanned sessionsHeld sessionsCancelled minutesDelivered hoursDelivered \
                        attendanceRate {{ count of }} mppTrained schoolCoverage {{ count of }} }} \
           overdue {{ undeclaredTeams {{ count of }} undeclaredCirconscriptionTeams {{ count of }} \
                      unfinishedEntries {{ total }} }} }} }}"
    );
    // Five open schools: an école, three collèges, a lycée (four collèges and lycées).
    let academy = [
        ("trainedTeams.schools", json!({"count": 1, "of": 4})),
        (
            "trainedTeams.circonscriptions",
            json!({"count": 0, "of": 1}),
        ),
        ("ambassadors.schools", json!({"count": 1, "of": 4})),
        ("ambassadors.pupils.total", json!(11)),
        (
            "labels.byLevel",
            json!([{"level": "engagement", "count": 1}, {"level": "approfondissement", "count": 0},
                   {"level": "expertise", "count": 0}]),
        ),
        ("labels.labelled.count", json!(1)),
        ("phareSteps.charterInForce", json!({"count": 1, "of": 5})),
        ("phareSteps.protocolPresented", json!({"count": 1, "of": 5})),
        (
            "phareSteps.learningHoursPlanned",
            json!({"count": 1, "of": 5}),
        ),
        (
            "phareSteps.parentWorkshopHeld",
            json!({"count": 1, "of": 5}),
        ),
        ("nationalDay.actions", json!(2)),
        ("nationalDay.pupilsReached", json!(180)),
        (
            "nationalDay.schoolsWithAction",
            json!({"count": 2, "of": 5}),
        ),
        ("nationalDay.reports", json!({"count": 2, "of": 5})),
        ("contest.entries.total", json!(2)),
        ("contest.participation", json!({"count": 2, "of": 5})),
        ("contest.inadmissible.total", json!(1)),
        (
            "contest.inadmissibleReasons",
            json!([{"reason": "Hors sujet", "count": 1}]),
        ),
        ("contest.laureates.total", json!(1)),
        ("trainings.sessionsPlanned", json!(1)),
        ("trainings.sessionsHeld", json!(2)),
        ("trainings.sessionsCancelled", json!(1)),
        // 120 min for the cohort's referent this morning, 180 for each of two now.
        ("trainings.minutesDelivered", json!(480)),
        ("trainings.hoursDelivered", json!(8.0)),
        ("trainings.attendanceRate", json!({"count": 3, "of": 4})),
        ("trainings.mppTrained", json!(3)),
        ("trainings.schoolCoverage", json!({"count": 2, "of": 5})),
        ("overdue.undeclaredTeams", json!({"count": 3, "of": 4})),
        (
            "overdue.undeclaredCirconscriptionTeams",
            json!({"count": 1, "of": 1}),
        ),
        ("overdue.unfinishedEntries.total", json!(0)),
    ];
    manager.dashboard_reaches(&query, &academy).await;
    // The referent of Haute-Garonne: the Gers collège is out of her figures.
    let department = [
        ("trainedTeams.schools", json!({"count": 1, "of": 3})),
        (
            "nationalDay.schoolsWithAction",
            json!({"count": 1, "of": 4}),
        ),
        ("nationalDay.pupilsReached", json!(120)),
        ("contest.participation", json!({"count": 1, "of": 4})),
        ("contest.laureates.total", json!(1)),
    ];
    referent.dashboard_reaches(&query, &department).await;
}

/// The exports: the dashboard in CSV (BOM, `;`) and XLSX, a list in both.
async fn exports(manager: &Api, year: &str) {
    let (status, content_type, bytes) = manager
        .download(&format!("/api/v1/exports/dashboard.csv?school_year={year}"))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let csv = csv_lines(&bytes);
    assert!(csv[0].starts_with("Extrait le "), "{csv:?}");
    assert!(
        csv[0].ends_with(&format!("filtres : school_year = {year}")),
        "{csv:?}"
    );
    assert_eq!(
        csv[1],
        "Groupe;Indicateur;Ventilation;Modalité;Valeur;Sur;Taux"
    );
    for line in [
        "Labels;Labels décernés;Niveau;engagement;1;;",
        "Concours;Participations déposées;Ensemble;;2;;",
        "Concours;Taux de participation;Ensemble;;2;5;0,4",
        "Journée nationale;Élèves touchés;Ensemble;;180;;",
    ] {
        assert!(csv.iter().any(|l| l == line), "{line} not in {csv:#?}");
    }

    let (status, content_type, bytes) = manager
        .download(&format!(
            "/api/v1/exports/dashboard.xlsx?school_year={year}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    use calamine::Reader;
    assert_eq!(workbook.sheet_names().len(), 8, "a sheet per group");

    let (status, _, bytes) = manager.download("/api/v1/exports/schools.csv").await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv_lines(&bytes);
    for uai in IMPORTED {
        assert!(csv.iter().any(|l| l.contains(uai)), "{uai} not in {csv:?}");
    }
    assert!(!csv.iter().any(|l| l.contains(CIO)), "{csv:?}");
    let (status, content_type, _) = manager.download("/api/v1/exports/entries.xlsx").await;
    assert_eq!(
        (status, content_type.as_str()),
        (
            StatusCode::OK,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    );
}

/// A few pages through the same address: the sign-in page, then the pole manager
/// signed in through its form sees the dashboard and the contest's editions.
async fn pages(base: &str, year: &str, contest: &str) {
    let mut browser = Browser::new(base);
    let form = browser.get("/connexion").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<html lang=\"fr\""), "{}", form.body);
    let csrf = form.hidden("csrf");
    let signed_in = browser
        .post_form(
            "/connexion",
            &[
                ("email", MANAGER),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("suite", "/tableau-de-bord"),
            ],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(signed_in.location(), "/tableau-de-bord");
    let dashboard = browser.get("/tableau-de-bord").await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
    assert!(
        dashboard.body.contains("Tableau de bord"),
        "{}",
        dashboard.body
    );
    assert!(dashboard.body.contains(year), "{}", dashboard.body);
    let contests = browser.get("/concours/pole").await;
    assert_eq!(contests.status, StatusCode::OK, "{}", contests.body);
    for shown in [
        format!("href=\"/concours/pole/{contest}\""),
        "2 participations".to_owned(),
        "Palmarès publié".to_owned(),
    ] {
        assert!(contests.body.contains(&shown), "{shown}: {}", contests.body);
    }
    let edition = browser.get(&format!("/concours/pole/{contest}")).await;
    assert_eq!(edition.status, StatusCode::OK, "{}", edition.body);
    assert!(
        edition.body.contains("Briser le silence"),
        "{}",
        edition.body
    );
}

// ---------------------------------------------------------------------------------
// Helpers

/// Today in Paris and its school year.
struct Calendar {
    now: DateTime<Utc>,
    today: NaiveDate,
    /// `2026-2027`.
    year: String,
    /// 31 August, the school year's last day.
    last_day: NaiveDate,
}

impl Calendar {
    fn today() -> Self {
        let now = Utc::now();
        let paris = now.with_timezone(&Paris);
        let today = paris.date_naive();
        let start = if today.month() >= 9 {
            today.year()
        } else {
            today.year() - 1
        };
        Self {
            now,
            today,
            year: format!("{start}-{}", start + 1),
            last_day: NaiveDate::from_ymd_opt(start + 1, 8, 31).unwrap(),
        }
    }

    /// `day`, or the year's last day if later.
    fn clamp(&self, day: NaiveDate) -> NaiveDate {
        day.min(self.last_day)
    }
}

/// An HTTP client of the public API, with a bearer token once logged in.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    /// Who calls, for the messages.
    who: String,
}

impl Api {
    fn anonymous(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: base.to_owned(),
            token: None,
            who: "anonymous".into(),
        }
    }

    async fn login(&self, email: &str, password: &str) -> Self {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login of {email}: {body}");
        Self {
            token: Some(body["token"].as_str().unwrap().to_owned()),
            who: email.to_owned(),
            ..self.clone()
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body.filter(|b| !b.is_null()) {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn expect(&self, method: Method, path: &str, body: Value, expected: StatusCode) -> Value {
        let (status, answer) = self.call(method.clone(), path, Some(body.clone())).await;
        assert_eq!(
            status, expected,
            "{method} {path} as {}: {answer}\nsent: {body}",
            self.who
        );
        answer
    }

    async fn get_json(&self, path: &str) -> Value {
        self.expect(Method::GET, path, Value::Null, StatusCode::OK)
            .await
    }

    async fn post_ok(&self, path: &str, body: Value) -> Value {
        self.expect(Method::POST, path, body, StatusCode::OK).await
    }

    async fn put_ok(&self, path: &str, body: Value) -> Value {
        self.expect(Method::PUT, path, body, StatusCode::OK).await
    }

    /// A creation (201): the answer.
    async fn post_created(&self, path: &str, body: Value) -> Value {
        self.expect(Method::POST, path, body, StatusCode::CREATED)
            .await
    }

    /// A creation (201): the new record's id.
    async fn created(&self, path: &str, body: Value) -> String {
        let answer = self.post_created(path, body).await;
        answer["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id from {path}: {answer}"))
            .to_owned()
    }

    /// Status, content type and body of a GET.
    async fn download(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let response = self.request(Method::GET, path).send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            status,
            content_type,
            response.bytes().await.unwrap().to_vec(),
        )
    }

    /// Asks the dashboard `query` until every figure (a dotted path under `dashboard`)
    /// has its expected value, for at most 30 s; then names those that differ.
    async fn dashboard_reaches(&self, query: &str, expected: &[(&str, Value)]) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let body = self.post_ok("/graphql", json!({ "query": query })).await;
            assert!(body["errors"].is_null(), "{body}");
            let figures = &body["data"]["dashboard"];
            let wrong: Vec<String> = expected
                .iter()
                .filter_map(|(path, value)| {
                    let got = path.split('.').fold(figures, |v, key| &v[key]);
                    let same = match (got, value) {
                        // A part ({count, of}) is compared on the fields given.
                        (Value::Object(got), Value::Object(want)) => {
                            want.iter().all(|(k, v)| got.get(k) == Some(v))
                        }
                        _ => got == value,
                    };
                    (!same).then(|| format!("{path}: {got}, expected {value}"))
                })
                .collect();
            if wrong.is_empty() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the dashboard as {} never reached:\n{}\n{figures}",
                self.who,
                wrong.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The lines of a CSV export (its BOM checked and dropped).
fn csv_lines(bytes: &[u8]) -> Vec<String> {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "no BOM");
    String::from_utf8(bytes[3..].to_vec())
        .unwrap()
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A mail as received, parsed.
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    message_id: String,
    text: String,
    html: String,
    ics: Option<String>,
}

impl Mail {
    fn parse(raw: &[u8]) -> Self {
        let message = mail_parser::MessageParser::default().parse(raw).unwrap();
        let ics = message
            .attachments()
            .find(|a| a.attachment_name() == Some("invitation.ics"))
            .map(|a| String::from_utf8(a.contents().to_vec()).unwrap());
        Self {
            to: message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned(),
            subject: message.subject().unwrap_or_default().to_owned(),
            message_id: message.message_id().unwrap_or_default().to_owned(),
            text: message.body_text(0).unwrap_or_default().into_owned(),
            html: message.body_html(0).unwrap_or_default().into_owned(),
            ics,
        }
    }
}

/// Every mail the SMTP server received, kept for the checks of the year.
struct Mailbox<'a> {
    smtp: &'a mut Smtp,
    mails: Vec<Mail>,
}

impl<'a> Mailbox<'a> {
    fn new(smtp: &'a mut Smtp) -> Self {
        Self {
            smtp,
            mails: Vec::new(),
        }
    }

    /// The first mail received that `matches`, waiting for it up to 90 s (the layout's
    /// scheduler may evaluate its rules once a minute).
    async fn wait_for(&mut self, what: &str, matches: impl Fn(&Mail) -> bool) -> &Mail {
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        loop {
            self.mails
                .extend(self.smtp.drain().iter().map(|raw| Mail::parse(raw)));
            if let Some(i) = self.mails.iter().position(&matches) {
                return &self.mails[i];
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: no such mail among {:#?}",
                self.mails
                    .iter()
                    .map(|m| (&m.to, &m.subject))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every mail: sent once, its subject one of the rules' French subjects (the
    /// template's text up to its first variable), without pupil data.
    async fn check_every_mail(&mut self, manager: &Api) {
        self.mails
            .extend(self.smtp.drain().iter().map(|raw| Mail::parse(raw)));
        let rules = manager.get_json("/api/v1/reminder-rules").await;
        let subjects: Vec<&str> = rules
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["subject"].as_str().unwrap().split("{{").next().unwrap())
            .collect();
        let mut ids = HashSet::new();
        for mail in &self.mails {
            assert!(
                subjects
                    .iter()
                    .any(|s| !s.is_empty() && mail.subject.starts_with(s)),
                "« {} » is no rule's subject: {subjects:?}",
                mail.subject
            );
            assert!(
                ids.insert(mail.message_id.as_str()),
                "sent twice: {} « {} »",
                mail.to,
                mail.subject
            );
            assert!(
                mail.text.starts_with("Bonjour") && !mail.subject.is_empty(),
                "{mail:?}"
            );
            for pupil in PUPILS {
                assert!(
                    !mail.text.contains(pupil) && !mail.html.contains(pupil),
                    "a pupil's name in a mail: {mail:?}"
                );
            }
        }
    }
}

/// A browser for the web pages: keeps its cookies by hand, follows no redirect.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The value of the hidden input `name`.
    fn hidden(&self, name: &str) -> String {
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
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookies = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request
            .header(header::COOKIE, cookies)
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

    async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::ORIGIN, self.base.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(urlencoded(form));
        self.send(request).await
    }
}

/// A form's fields as `application/x-www-form-urlencoded` (reqwest's `form` feature is
/// not enabled for this crate).
fn urlencoded(form: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

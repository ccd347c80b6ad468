//! Fault tests (issue 17, item 3): `pharos` processes killed with SIGKILL while they
//! work, as a crash or the OOM killer stops them, on the databases they share.
//!
//! - a command target killed in the middle of concurrent commands and started again:
//!   every acknowledged command is in the store once, whole; none cut off is half-written;
//!   the read model converges to a fresh rebuild (on PostgreSQL, targets apart; on SQLite,
//!   the all-in-one process);
//! - the leading projector killed mid-catch-up: the standby takes over and converges
//!   (and two replicas started at once on a fresh database must both come up);
//! - the leading reminder scheduler killed while mails go: the standby sends the rest,
//!   no Message-ID twice; the claims the dead leader left go once stale, under the same
//!   Message-ID.
//!
//! "A fresh rebuild" is `pharos rebuild` run on a copy of the log in a database of its
//! own, so that the live tables are compared with tables built from nothing, row by row.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Datelike, Utc};
use pharos_eventstore::{Db, on_db};
use pharos_test_support::process::{
    ADMIN, MASTER_KEY, PASSWORD, binary, login, serve, serve_command,
};
use pharos_test_support::smtp::{Smtp, free_port};
use pharos_test_support::{Served, TestDb};
use serde_json::{Value, json};
use tokio::sync::watch;

/// Commands sent at the command target while it is killed ("thousands" scaled to CI).
const COMMANDS: usize = 2_000;
/// Commands in flight at once.
const CONCURRENCY: usize = 48;
/// The target is killed once this many commands were acknowledged.
const KILL_AFTER: usize = 600;
/// Schools imported before any projector runs: the backlog the leader is killed in.
const BACKLOG_SCHOOLS: usize = 8_000;
/// Registrations (one reminder mail each) while the leading scheduler runs, then after
/// it was killed.
const REGISTRATIONS_BEFORE: usize = 150;
const REGISTRATIONS_AFTER: usize = 30;
/// The leading scheduler is killed once this many mails arrived.
const KILL_AFTER_MAILS: usize = 25;
/// How long convergence may take after the load (debug build, shared CI machine).
const CONVERGENCE: Duration = Duration::from_secs(90);

/// The namespace of Pharos's advisory locks (shared/eventstore/src/lease.rs).
const ADVISORY_NAMESPACE: i64 = 0x7068;
/// The leases of the singleton workers (services/read-model, services/reminders).
const PROJECTOR_LEASE: &str = "read-model-projector";
const SCHEDULER_LEASE: &str = "reminders-scheduler";

// ---------------------------------------------------------------------------------------
// The fault: a command target killed in the middle of concurrent commands.
// ---------------------------------------------------------------------------------------

/// PostgreSQL, one process per target: `cohorts` is killed and started again on the
/// same database while `directory` and `read-model` go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_command_target_killed_mid_load_loses_or_halves_nothing() {
    let Some(db) = TestDb::postgres("faults_kill_command").await else {
        return;
    };
    let directory = up("directory", &db.url);
    let read_model = up("read-model", &db.url);
    let url = db.url.clone();
    let restart = move || serve("cohorts", &url);
    let report =
        kill_a_command_target(&db, &directory.base, Some(read_model.base.clone()), restart).await;
    eprintln!("postgres: {report}");
    read_model.stop();
    directory.stop();
    db.finish().await;
}

/// SQLite, the all-in-one process killed and started again on the same file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_the_all_in_one_process_killed_mid_load_loses_or_halves_nothing() {
    let db = TestDb::sqlite("faults-kill-all");
    let url = db.url.clone();
    let restart = move || serve("all", &url);
    let report = kill_a_command_target(&db, "", None, restart).await;
    eprintln!("sqlite: {report}");
    db.finish().await;
}

/// What one command came to.
#[derive(Debug, Clone)]
enum Outcome {
    Answered(u16, Value),
    /// No answer: the connection broke or was refused (the process was gone).
    Cut,
}

/// One cohort creation: `CohortCreated` and `CountsSet` in one append, the referent
/// registered in the vault before it (key, e-mail index) and held after it: several
/// rows, in two stores, for one command.
struct CohortCommand {
    uai: String,
    year: String,
    body: Value,
}

/// The kill -9 of a command target under load, on `db`. `directory` is the base of a
/// separate directory process (`""`: the command target serves everything, read model
/// included, which `read_model` then is `None` for). `start` starts the command target.
/// Returns a line saying what happened.
async fn kill_a_command_target(
    db: &TestDb,
    directory: &str,
    read_model: Option<String>,
    start: impl Fn() -> Served + Send + Clone + 'static,
) -> String {
    let client = client();
    let first = blocking(start.clone()).await;
    let directory = if directory.is_empty() {
        first.base.clone()
    } else {
        directory.to_owned()
    };
    let admin = login(&client, &directory, ADMIN, PASSWORD).await;
    let manager = pole_manager(&client, &directory, &admin).await;

    // Cohorts of one kind: one per school and school year, so each command is unique
    // and its stream known before it is answered.
    let years = school_years();
    let schools: Vec<String> = (1..=COMMANDS.div_ceil(years.len()))
        .map(|n| uai(31, n))
        .collect();
    import_schools(&client, &directory, &manager, &schools).await;
    let commands: Vec<CohortCommand> = (0..COMMANDS)
        .map(|i| {
            let (uai, year) = (&schools[i / years.len()], &years[i % years.len()]);
            CohortCommand {
                uai: uai.clone(),
                year: year.clone(),
                body: json!({
                    "school_uai": uai, "school_year": year, "kind": "eleves_college",
                    "referent": {"display_name": format!("Référent {i}"),
                                 "email": format!("referent{i}@ac-toulouse.fr")},
                    "counts": {"6e": 3, "5e": 4}
                }),
            }
        })
        .collect();

    // The load, against whichever process is up; a worker whose command was cut waits
    // for the restarted process before taking the next one.
    let (bases, watching) = watch::channel(first.base.clone());
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let bodies: Arc<Vec<Value>> = Arc::new(commands.iter().map(|c| c.body.clone()).collect());
    let load = tokio::spawn(send_all(
        client.clone(),
        manager.clone(),
        watching,
        bodies,
        acknowledged.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs(120);
    while acknowledged.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            !load.is_finished() && Instant::now() < deadline,
            "{KILL_AFTER} commands never acknowledged ({} were)",
            acknowledged.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let log = first.kill();
    let at_kill = acknowledged.load(Ordering::SeqCst);
    let killed = Instant::now();
    let second = blocking(start).await;
    let downtime = killed.elapsed();
    bases.send_replace(second.base.clone());
    let outcomes = load.await.unwrap();
    let read_model = read_model.unwrap_or_else(|| second.base.clone());

    // Every acknowledged command whole, once; every other one whole or absent.
    let store = Store::connect(&db.url).await;
    let streams = store.streams(pharos_events::cohort::CATEGORY).await;
    let holds = store.holds().await;
    let keys = store.person_keys().await;
    let mut by_command: HashMap<(String, String), Vec<&Stream>> = HashMap::new();
    for stream in streams.values() {
        let created = &stream.events[0].data;
        let key = (
            created["school_uai"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            created["school_year"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        by_command.entry(key).or_default().push(stream);
    }
    let mut problems = Vec::new();
    let mut unheld = Vec::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut referents = BTreeSet::new();
    for (n, (command, outcome)) in commands.iter().zip(&outcomes).enumerate() {
        let label = match outcome {
            Outcome::Answered(status, _) => format!("{status}"),
            Outcome::Cut => "cut".to_owned(),
        };
        *tally.entry(label.clone()).or_default() += 1;
        let found = by_command
            .get(&(command.uai.clone(), command.year.clone()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let what = format!("command {n} ({} {}, {label})", command.uai, command.year);
        if found.len() > 1 {
            problems.push(format!("{what}: {} cohort streams", found.len()));
            continue;
        }
        let stream = found.first();
        if let Outcome::Answered(201, body) = outcome {
            let Some(stream) = stream else {
                problems.push(format!("{what}: acknowledged but not in the store"));
                continue;
            };
            let id = body["id"].as_str().unwrap_or_default();
            if !stream.id.ends_with(id) || id.is_empty() {
                problems.push(format!("{what}: answered id {id}, stream {}", stream.id));
            }
        } else if let Outcome::Answered(status, body) = outcome
            && *status < 500
        {
            problems.push(format!("{what}: refused: {body}"));
        }
        let Some(stream) = stream else { continue };
        // Whole: both events, once each, in order; the referent's key and hold there.
        let types: Vec<&str> = stream.events.iter().map(|e| e.kind.as_str()).collect();
        if types != ["cohort_created", "counts_set"] {
            problems.push(format!(
                "{what}: half-written stream {}: {types:?}",
                stream.id
            ));
        }
        let person = stream.events[0].data["referent"]["email"]["person"]
            .as_str()
            .and_then(|p| uuid::Uuid::parse_str(p).ok());
        let subject = stream.id.clone();
        match person {
            Some(person) => {
                referents.insert(person);
                if !keys.contains(&person) {
                    problems.push(format!("{what}: the referent's data key is missing"));
                }
                if !holds.contains(&(person, subject.clone())) {
                    unheld.push(format!(
                        "{what}: half-written: cohort recorded, no vault hold {subject}"
                    ));
                }
            }
            None => problems.push(format!("{what}: no referent person in {}", stream.id)),
        }
    }
    // Keys registered for commands that never reached the log: nothing sealed with them
    // is stored, but the e-mail index row stays. Reported, not a failure.
    let orphan_keys = keys.len().saturating_sub(referents.len() + 2);
    let acked = tally.get("201").copied().unwrap_or_default();
    let summary = format!(
        "{COMMANDS} commands, {CONCURRENCY} at a time, killed after {at_kill} acknowledged, \
         back after {downtime:.1?}: {tally:?}; {} cohorts in the store; vault keys without a \
         cohort: {orphan_keys}",
        streams.len()
    );
    assert!(
        problems.is_empty(),
        "{summary}\n{} problem(s):\n{}\nlog of the killed process (end):\n{}",
        problems.len(),
        problems
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        tail(&log, 40)
    );
    eprintln!("{summary}");
    assert!(acked >= KILL_AFTER, "{summary}");
    assert!(
        tally.get("cut").copied().unwrap_or_default() > 0,
        "the kill cut no command: {summary}"
    );

    // The read model: the GraphQL lists count every cohort, and its tables equal a
    // fresh rebuild's.
    let deadline = Instant::now() + CONVERGENCE;
    loop {
        let body = graphql(
            &client,
            &read_model,
            &manager,
            "{ cohorts(first: 1) { totalCount } }",
        )
        .await;
        if body["data"]["cohorts"]["totalCount"] == streams.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "GraphQL never counted {} cohorts: {body}",
            streams.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    converges_to_a_fresh_rebuild(&store).await;
    store.close().await;
    second.stop();
    // `POST /api/v1/cohorts` writes the referent's vault hold before it appends the
    // cohort (services/cohorts/src/http.rs, `create`): killed in between, a hold with a
    // deadline is left, never a recorded cohort whose referent nothing holds (which the
    // retention purge would keep forever: `Vault::purge` keeps a person without holds).
    assert!(
        unheld.is_empty(),
        "{summary}\n{} cohort(s) recorded without their referent's vault hold:\n{}",
        unheld.len(),
        unheld
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    summary
}

/// Sends every command of `bodies` as `POST /api/v1/cohorts`, `CONCURRENCY` at a time,
/// to the base `bases` holds; returns what each came to, in order.
async fn send_all(
    client: reqwest::Client,
    token: String,
    bases: watch::Receiver<String>,
    bodies: Arc<Vec<Value>>,
    acknowledged: Arc<AtomicUsize>,
) -> Vec<Outcome> {
    let next = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(vec![Outcome::Cut; bodies.len()]));
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, token, mut bases, bodies) =
            (client.clone(), token.clone(), bases.clone(), bodies.clone());
        let (next, outcomes, acknowledged) = (next.clone(), outcomes.clone(), acknowledged.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                let Some(body) = bodies.get(n) else { break };
                let base = bases.borrow_and_update().clone();
                let sent = client
                    .post(format!("{base}/api/v1/cohorts"))
                    .bearer_auth(&token)
                    .json(body)
                    .send()
                    .await;
                let outcome = match sent {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        match response.json::<Value>().await {
                            Ok(body) => Outcome::Answered(status, body),
                            // The body was cut: not an answer.
                            Err(_) => Outcome::Cut,
                        }
                    }
                    Err(_) => Outcome::Cut,
                };
                if matches!(outcome, Outcome::Answered(200..=299, _)) {
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
                let cut = matches!(outcome, Outcome::Cut);
                outcomes.lock().unwrap()[n] = outcome;
                if cut && *bases.borrow() == base {
                    tokio::time::timeout(Duration::from_secs(120), bases.changed())
                        .await
                        .expect("the command target never came back")
                        .unwrap();
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    outcomes.lock().unwrap().clone()
}

// ---------------------------------------------------------------------------------------
// The fault: the leading projector killed mid-catch-up while a standby runs.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_standby_projector_takes_over_a_projector_killed_mid_catch_up() {
    let Some(db) = TestDb::postgres("faults_projector").await else {
        return;
    };
    let client = client();
    let directory = up("directory", &db.url);
    let admin = login(&client, &directory.base, ADMIN, PASSWORD).await;
    let manager = pole_manager(&client, &directory.base, &admin).await;
    // A backlog while no projector runs, several batches long.
    let schools: Vec<String> = (1..=BACKLOG_SCHOOLS).map(|n| uai(31, n)).collect();
    import_schools(&client, &directory.base, &manager, &schools).await;
    let store = Store::connect(&db.url).await;
    let Db::Postgres(pg) = &store.db else {
        unreachable!()
    };
    let head: i64 = sqlx::query_scalar("SELECT max(position) FROM events WHERE category = $1")
        .bind(pharos_events::school::CATEGORY)
        .fetch_one(pg)
        .await
        .unwrap();

    // Two read-model processes, both waiting: the test holds their lease until both
    // are up (started one after the other: started at once on a fresh database, one
    // fails, see `two_read_model_replicas_started_at_once_both_serve`). Released, one of
    // them leads: the one that projects.
    use sqlx::Connection as _;
    let mut holder = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let lock = "SELECT pg_advisory_lock(CAST($1 AS INTEGER), hashtext($2))";
    sqlx::query(lock)
        .bind(ADVISORY_NAMESPACE)
        .bind(PROJECTOR_LEASE)
        .execute(&mut holder)
        .await
        .unwrap();
    let a = up("read-model", &db.url);
    let b = up("read-model", &db.url);
    holder.close().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let leader_is_a = loop {
        let (in_a, in_b) = tokio::join!(projected(&client, &a.base), projected(&client, &b.base));
        if in_a > 0.0 || in_b > 0.0 {
            break in_a > 0.0;
        }
        assert!(Instant::now() < deadline, "neither process projects");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let (leader, standby) = if leader_is_a { (a, b) } else { (b, a) };
    let log = leader.kill();
    let killed = Instant::now();
    let stood = checkpoint(pg, "read-model-g1").await;
    assert!(
        stood < head,
        "the leader caught up before it was killed ({stood} of {head}): raise BACKLOG_SCHOOLS"
    );

    // The standby takes the lease (released with the dead process's connection) and
    // goes on from the checkpoint.
    loop {
        if projected(&client, &standby.base).await > 0.0 {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "the standby never took over; the killed leader logged:\n{}",
            tail(&log, 30)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let takeover = killed.elapsed();
    assert_eq!(
        lease_holders(pg, PROJECTOR_LEASE).await.len(),
        1,
        "one projector leads"
    );
    let ready: Value = client
        .get(format!("{}/readyz", standby.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");

    // A command after the takeover shows through the standby's GraphQL.
    import_schools(&client, &directory.base, &manager, &[uai(32, 1)]).await;
    let deadline = Instant::now() + CONVERGENCE;
    loop {
        let body = graphql(
            &client,
            &standby.base,
            &manager,
            "{ schools(first: 1) { totalCount } }",
        )
        .await;
        if body["data"]["schools"]["totalCount"] == BACKLOG_SCHOOLS + 1 {
            break;
        }
        assert!(Instant::now() < deadline, "never reflected: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let caught_up = killed.elapsed();
    converges_to_a_fresh_rebuild(&store).await;
    eprintln!(
        "projector: killed at checkpoint {stood} of {head}; the standby projected {takeover:.1?} \
         after the kill, and was caught up (with one more command) {caught_up:.1?} after it"
    );
    store.close().await;
    standby.stop();
    directory.stop();
    db.finish().await;
}

/// Two `read-model` replicas started at the same time on a fresh PostgreSQL database (a
/// deployment's first start with two replicas) both create the first generation of
/// tables: concurrent `CREATE TABLE IF NOT EXISTS` of one name is not safe on PostgreSQL
/// (« duplicate key value violates unique constraint "pg_type_typname_nsp_index" »), so
/// `tables::create_of` takes an advisory lock; neither may exit at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_read_model_replicas_started_at_once_both_serve() {
    let Some(db) = TestDb::postgres("faults_replicas").await else {
        return;
    };
    let start = || {
        let mut command = serve_command("read-model", &db.url);
        command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command.spawn().unwrap()
    };
    let mut replicas = [start(), start()];
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut failed = Vec::new();
    // Each prints its address once it listens, or exits with its error.
    for replica in &mut replicas {
        use std::io::BufRead as _;
        let mut line = String::new();
        let stdout = replica.stdout.take().unwrap();
        let read = tokio::task::spawn_blocking(move || {
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .map(|_| line)
        });
        let line = tokio::time::timeout_at(deadline.into(), read)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if !line.contains("http://") {
            let mut log = String::new();
            std::io::Read::read_to_string(replica.stderr.as_mut().unwrap(), &mut log).unwrap();
            failed.push(tail(&log, 5));
        }
    }
    for replica in &mut replicas {
        let _ = replica.kill();
        let _ = replica.wait();
    }
    db.finish().await;
    assert!(
        failed.is_empty(),
        "a replica failed to start:\n{}",
        failed.join("\n")
    );
}

/// The events this process projected, by its `/metrics`.
async fn projected(client: &reqwest::Client, base: &str) -> f64 {
    pharos_test_support::metric(client, base, "pharos_projection_events_total", &[]).await
}

async fn checkpoint(pg: &sqlx::PgPool, name: &str) -> i64 {
    sqlx::query_scalar("SELECT position FROM checkpoints WHERE name = $1")
        .bind(name)
        .fetch_optional(pg)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The server processes holding the named lease of this database.
async fn lease_holders(pg: &sqlx::PgPool, name: &str) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND classid::text::bigint = $1 \
           AND objid::text::bigint = (hashtext($2)::bigint & 4294967295)",
    )
    .bind(ADVISORY_NAMESPACE)
    .bind(name)
    .fetch_all(pg)
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------
// The fault: the leading reminder scheduler killed while it sends.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_standby_scheduler_sends_the_rest_each_mail_under_one_message_id() {
    let Some(db) = TestDb::postgres("faults_scheduler").await else {
        return;
    };
    let mut smtp = Smtp::start(free_port()).await;
    let client = client();
    let directory = up("directory", &db.url);
    let trainings = up("trainings", &db.url);
    let store = Store::connect(&db.url).await;
    let Db::Postgres(pg) = &store.db else {
        unreachable!()
    };
    let scheduler = {
        let (url, smtp_url) = (db.url.clone(), smtp.url());
        move || {
            let mut command = serve_command("reminders", &url);
            command
                .env("PHAROS_SMTP_URL", &smtp_url)
                .env("PHAROS_REMINDERS_INTERVAL_SECONDS", "1");
            Served::start(command)
        }
    };
    // The first one started alone leads; the second waits for the lease.
    let leader = blocking(scheduler.clone()).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while lease_holders(pg, SCHEDULER_LEASE).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the scheduler never took its lease"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let standby = blocking(scheduler).await;

    // A session open for registration: each confirmed registration is due a
    // convocation at once (`session_registration_convocation`).
    let admin = login(&client, &directory.base, ADMIN, PASSWORD).await;
    let manager = pole_manager(&client, &directory.base, &admin).await;
    let session = open_session(&client, &trainings.base, &manager).await;
    let register = {
        let (client, base, manager) = (client.clone(), trainings.base.clone(), manager.clone());
        move |range: std::ops::Range<usize>| {
            let (client, base, manager, session) = (
                client.clone(),
                base.clone(),
                manager.clone(),
                session.clone(),
            );
            async move {
                let next = Arc::new(AtomicUsize::new(range.start));
                let mut workers = Vec::new();
                for _ in 0..8 {
                    let (client, base, manager, session, next) = (
                        client.clone(),
                        base.clone(),
                        manager.clone(),
                        session.clone(),
                        next.clone(),
                    );
                    let end = range.end;
                    workers.push(tokio::spawn(async move {
                        loop {
                            let n = next.fetch_add(1, Ordering::SeqCst);
                            if n >= end {
                                break;
                            }
                            let response = client
                                .post(format!("{base}/api/v1/sessions/{session}/registrations"))
                                .bearer_auth(&manager)
                                .json(&json!({
                                    "person": {"email": registrant(n), "display_name": format!("Inscrit {n}"),
                                               "function": "CPE"},
                                    "mode": "designated"
                                }))
                                .send()
                                .await
                                .unwrap();
                            let status = response.status();
                            let body: Value = response.json().await.unwrap_or_default();
                            assert_eq!(status, 201, "registration {n}: {body}");
                            assert_eq!(body["status"], "confirmed", "registration {n}: {body}");
                        }
                    }));
                }
                for worker in workers {
                    worker.await.unwrap();
                }
            }
        }
    };
    let before = tokio::spawn(register(0..REGISTRATIONS_BEFORE));
    let mut mails: Vec<Vec<u8>> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while mails.len() < KILL_AFTER_MAILS {
        mails.extend(smtp.drain());
        assert!(
            Instant::now() < deadline,
            "only {} mails from the leader",
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let log = leader.kill();
    let killed_at = Utc::now();
    let killed = Instant::now();
    let sent_by_leader = mails.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    let takeover = loop {
        if !lease_holders(pg, SCHEDULER_LEASE).await.is_empty() {
            break killed.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "the standby never took the lease; the killed leader logged:\n{}",
            tail(&log, 30)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    before.await.unwrap();
    register(REGISTRATIONS_BEFORE..REGISTRATIONS_BEFORE + REGISTRATIONS_AFTER).await;

    // Done when every registration's reminder is sent, or was claimed by the dead
    // leader and left (a claim is taken up again after 15 minutes, not in this test).
    let total = REGISTRATIONS_BEFORE + REGISTRATIONS_AFTER;
    let deadline = Instant::now() + CONVERGENCE;
    let ledger = loop {
        mails.extend(smtp.drain());
        let ledger = store.reminders().await;
        let sent = ledger.iter().filter(|r| r.message_id.is_some()).count();
        let orphans = ledger
            .iter()
            .filter(|r| r.message_id.is_none() && r.other.is_empty() && r.claimed_at < killed_at)
            .count();
        if ledger.len() >= total && sent + orphans == ledger.len() {
            let ids: BTreeSet<String> = mails.iter().filter_map(|m| message_id(m)).collect();
            if ledger
                .iter()
                .filter_map(|r| r.message_id.as_ref())
                .all(|id| ids.contains(id))
            {
                break ledger;
            }
        }
        assert!(
            Instant::now() < deadline,
            "reminders never all went: {} of {total} in the ledger, {sent} sent, {orphans} left \
             by the dead leader, {} mails received",
            ledger.len(),
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Whatever else was still coming.
    tokio::time::sleep(Duration::from_millis(50)).await;
    mails.extend(smtp.drain());

    let ids: Vec<String> = mails.iter().filter_map(|m| message_id(m)).collect();
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), mails.len(), "a mail without a Message-ID");
    assert_eq!(
        distinct.len(),
        ids.len(),
        "a mail went twice: {} mails, {} distinct Message-IDs",
        ids.len(),
        distinct.len()
    );
    let convocations = ledger
        .iter()
        .filter(|r| r.rule == "session_registration_convocation")
        .count();
    assert_eq!(
        convocations, total,
        "one convocation per registration: {ledger:#?}"
    );
    let recipients: BTreeSet<String> = mails.iter().filter_map(|m| recipient(m)).collect();
    for n in REGISTRATIONS_BEFORE..total {
        assert!(
            recipients.contains(&registrant(n)),
            "{} registered after the kill got no mail",
            registrant(n)
        );
    }
    let after_kill = mails.len() - sent_by_leader;
    let orphans: Vec<&Reminder> = ledger.iter().filter(|r| r.message_id.is_none()).collect();
    // Claims the leader held when it died: at most one per delivery in flight (8).
    assert!(
        orphans.len() <= 8,
        "{} claims left: {orphans:?}",
        orphans.len()
    );
    for reminder in &ledger {
        assert!(
            reminder.other.is_empty(),
            "reminder {} ended otherwise: {:?}",
            reminder.stream,
            reminder.other
        );
    }

    // The claims the dead leader left are taken up once stale (15 minutes): a run at that
    // instant delivers each under its key's Message-ID, so that a mail the leader sent
    // before it died, and could not record, comes a second time with the same Message-ID
    // (at least once, never lost; a receiver drops the repeat).
    let domain = ids[0]
        .trim_end_matches('>')
        .rsplit('@')
        .next()
        .unwrap()
        .to_owned();
    let left: BTreeSet<String> = orphans
        .iter()
        .map(|r| {
            // `reminder-<key id>`
            let key = uuid::Uuid::parse_str(&r.stream[r.stream.len().saturating_sub(36)..])
                .unwrap_or_else(|e| panic!("{}: {e}", r.stream));
            format!("<reminder.{}@{domain}>", key.simple())
        })
        .collect();
    let repeated = left.iter().filter(|id| distinct.contains(id)).count();
    let stale = (killed_at + chrono::Duration::minutes(16)).to_rfc3339();
    pharos(
        &[
            "reminders",
            "run",
            "--at",
            &stale,
            "--database-url",
            &db.url,
        ],
        &[("PHAROS_SMTP_URL", &smtp.url())],
    )
    .await;
    let retried: BTreeSet<String> = smtp
        .received_within(left.len(), Duration::from_secs(30))
        .await
        .iter()
        .filter_map(|m| message_id(m))
        .collect();
    assert_eq!(retried, left, "the stale claims' mails");
    let ledger = store.reminders().await;
    let unsent: Vec<&Reminder> = ledger.iter().filter(|r| r.message_id.is_none()).collect();
    assert!(unsent.is_empty(), "never sent: {unsent:#?}");
    eprintln!(
        "scheduler: killed after {sent_by_leader} mails; lease taken over {takeover:.1?} after \
         the kill; {after_kill} mails after it; {} mails for {total} registrations (and {} \
         reminders of other rules), all distinct; {} claims left by the dead leader, sent \
         once stale ({repeated} of them a second time, same Message-ID)",
        mails.len(),
        ledger.len() - convocations,
        orphans.len()
    );
    store.close().await;
    standby.stop();
    trainings.stop();
    directory.stop();
    db.finish().await;
}

fn registrant(n: usize) -> String {
    format!("inscrit{n}@ac-toulouse.fr")
}

/// A training of Haute-Garonne and one session of it, opened, starting in 20 days (no
/// J−14 or J−2 convocation due yet: only the one sent on confirmation).
async fn open_session(client: &reqwest::Client, base: &str, token: &str) -> String {
    let post = |path: String, body: Value| {
        let request = client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or_default())
        }
    };
    let (status, training) = post(
        "/api/v1/trainings".into(),
        json!({"title": "Méthode de la préoccupation partagée", "topic": "mpp",
               "audience": "équipes ressources", "department": "31"}),
    )
    .await;
    assert_eq!(status, 201, "{training}");
    let day = (Utc::now() + chrono::Duration::days(20)).date_naive();
    let (starts_at, ends_at) = (
        format!("{day}T09:00:00+01:00"),
        format!("{day}T17:00:00+01:00"),
    );
    let (status, session) = post(
        format!(
            "/api/v1/trainings/{}/sessions",
            training["id"].as_str().unwrap()
        ),
        json!({"starts_at": starts_at, "ends_at": ends_at,
               "slots": [{"starts_at": starts_at, "ends_at": ends_at}],
               "location": "Atelier Canopé, Toulouse", "capacity": 500,
               "planned_minutes": 420, "trainers": []}),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_str().unwrap().to_owned();
    let (status, body) = post(format!("/api/v1/sessions/{id}/open"), Value::Null).await;
    assert_eq!(status, 200, "{body}");
    id
}

fn parsed(mail: &[u8]) -> Option<mail_parser::Message<'_>> {
    mail_parser::MessageParser::default().parse(mail)
}

fn message_id(mail: &[u8]) -> Option<String> {
    Some(format!("<{}>", parsed(mail)?.message_id()?))
}

fn recipient(mail: &[u8]) -> Option<String> {
    let message = parsed(mail)?;
    Some(message.to()?.first()?.address()?.to_lowercase())
}

// ---------------------------------------------------------------------------------------
// The store as the tests read it: events, vault rows, read-model tables.
// ---------------------------------------------------------------------------------------

struct Store {
    db: Db,
}

#[derive(Debug)]
struct Event {
    kind: String,
    data: Value,
}

#[derive(Debug)]
struct Stream {
    id: String,
    events: Vec<Event>,
}

/// One reminder's stream: its claim, and what it came to.
#[derive(Debug)]
struct Reminder {
    stream: String,
    rule: String,
    claimed_at: chrono::DateTime<Utc>,
    message_id: Option<String>,
    /// Outcomes other than sent (failed, suppressed, cancelled, retried).
    other: Vec<String>,
}

impl Store {
    async fn connect(url: &str) -> Self {
        let db = if url.starts_with("sqlite:") {
            Db::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        } else {
            Db::Postgres(sqlx::PgPool::connect(url).await.unwrap())
        };
        Self { db }
    }

    async fn close(&self) {
        on_db!(&self.db, |pool| pool.close().await);
    }

    /// The position of the last event.
    async fn head(&self) -> i64 {
        on_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT COALESCE(MAX(position), 0) FROM events"
        )
        .fetch_one(pool)
        .await
        .unwrap())
    }

    /// The streams of `category`, each with its events in order.
    async fn streams(&self, category: &str) -> BTreeMap<String, Stream> {
        let rows: Vec<(String, String, i64, String)> = on_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT stream_id, event_type, version, CAST(data AS TEXT) FROM events \
                 WHERE category = $1 ORDER BY stream_id, version",
            )
            .bind(category)
            .fetch_all(pool)
            .await
            .unwrap()
        });
        let mut streams: BTreeMap<String, Stream> = BTreeMap::new();
        for (id, kind, version, data) in rows {
            let stream = streams.entry(id.clone()).or_insert(Stream {
                id,
                events: Vec::new(),
            });
            assert_eq!(
                version,
                i64::try_from(stream.events.len()).unwrap() + 1,
                "{}",
                stream.id
            );
            stream.events.push(Event {
                kind,
                data: serde_json::from_str(&data).unwrap(),
            });
        }
        streams
    }

    /// The reminders' ledger (rule streams left out).
    async fn reminders(&self) -> Vec<Reminder> {
        let rows: Vec<(String, String, String, String)> = on_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT stream_id, event_type, CAST(data AS TEXT), CAST(recorded_at AS TEXT) \
                 FROM events WHERE category = $1 ORDER BY stream_id, version",
            )
            .bind(pharos_events::reminder::CATEGORY)
            .fetch_all(pool)
            .await
            .unwrap()
        });
        let mut ledger: BTreeMap<String, Reminder> = BTreeMap::new();
        for (stream, kind, data, recorded_at) in rows {
            let data: Value = serde_json::from_str(&data).unwrap();
            match kind.as_str() {
                "reminder_scheduled" => {
                    let claimed_at =
                        chrono::DateTime::parse_from_str(&recorded_at, "%Y-%m-%d %H:%M:%S%.f%#z")
                            .or_else(|_| chrono::DateTime::parse_from_rfc3339(&recorded_at))
                            .unwrap_or_else(|e| panic!("{recorded_at}: {e}"))
                            .with_timezone(&Utc);
                    ledger.insert(
                        stream.clone(),
                        Reminder {
                            stream,
                            rule: data["rule"].as_str().unwrap_or_default().to_owned(),
                            claimed_at,
                            message_id: None,
                            other: Vec::new(),
                        },
                    );
                }
                "reminder_sent" => {
                    let reminder = ledger.get_mut(&stream).unwrap();
                    assert!(reminder.message_id.is_none(), "{stream} sent twice");
                    reminder.message_id = data["message_id"].as_str().map(str::to_owned);
                }
                _ => {
                    if let Some(reminder) = ledger.get_mut(&stream) {
                        reminder.other.push(kind);
                    }
                }
            }
        }
        ledger.into_values().collect()
    }

    /// Every vault hold: (person, subject).
    async fn holds(&self) -> BTreeSet<(uuid::Uuid, String)> {
        let rows: Vec<(String, String)> = match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_as("SELECT CAST(person_id AS TEXT), subject FROM person_holds")
                    .fetch_all(pool)
                    .await
            }
            Db::Sqlite(pool) => {
                sqlx::query_as("SELECT hex(person_id), subject FROM person_holds")
                    .fetch_all(pool)
                    .await
            }
        }
        .unwrap();
        rows.into_iter()
            .map(|(person, subject)| (uuid::Uuid::parse_str(&person).unwrap(), subject))
            .collect()
    }

    /// Every person the vault has a data key for.
    async fn person_keys(&self) -> BTreeSet<uuid::Uuid> {
        let rows: Vec<String> = match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT CAST(person_id AS TEXT) FROM person_keys")
                    .fetch_all(pool)
                    .await
            }
            Db::Sqlite(pool) => {
                sqlx::query_scalar("SELECT hex(person_id) FROM person_keys")
                    .fetch_all(pool)
                    .await
            }
        }
        .unwrap();
        rows.iter()
            .map(|p| uuid::Uuid::parse_str(p).unwrap())
            .collect()
    }

    /// The rows of every read-model table (`rm_<table>_<generation>`), each as text, in
    /// key order, by table name without its generation: one generation per table.
    async fn read_model(&self) -> BTreeMap<String, Vec<String>> {
        let tables: Vec<String> = match &self.db {
            Db::Postgres(pool) => sqlx::query_scalar(
                "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = current_schema()",
            )
            .fetch_all(pool)
            .await,
            Db::Sqlite(pool) => {
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(pool)
                    .await
            }
        }
        .unwrap();
        let mut read_model = BTreeMap::new();
        for table in tables {
            let Some((name, generation)) = table.rsplit_once('_') else {
                continue;
            };
            if !name.starts_with("rm_") || generation.parse::<u32>().is_err() {
                continue;
            }
            let columns: Vec<String> = match &self.db {
                Db::Postgres(pool) => {
                    sqlx::query_scalar(
                        "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 \
                     ORDER BY ordinal_position",
                    )
                    .bind(&table)
                    .fetch_all(pool)
                    .await
                }
                Db::Sqlite(pool) => {
                    sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                        .bind(&table)
                        .fetch_all(pool)
                        .await
                }
            }
            .unwrap();
            let text = columns
                .iter()
                .map(|c| format!("COALESCE(CAST({c} AS TEXT), '∅')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let sql = format!("SELECT {text} FROM {table} ORDER BY 1");
            let rows: Vec<String> = on_db!(&self.db, |pool| sqlx::query_scalar(
                sqlx::AssertSqlSafe(sql.clone())
            )
            .fetch_all(pool)
            .await
            .unwrap());
            let previous = read_model.insert(name.to_owned(), rows);
            assert!(previous.is_none(), "two generations of {name}");
        }
        assert!(
            read_model.contains_key("rm_schools"),
            "no read-model tables: {:?}",
            read_model.keys()
        );
        read_model
    }
}

/// The live read-model tables of `store` reach, within [`CONVERGENCE`], the rows
/// `pharos rebuild` builds from nothing on a copy of the log.
async fn converges_to_a_fresh_rebuild(store: &Store) {
    let (mut fresh, mut copied) = fresh_rebuild(store).await;
    let deadline = Instant::now() + CONVERGENCE;
    loop {
        // A worker (the scheduler of the all-in-one process) may append after the copy:
        // then the copy is taken again.
        if store.head().await != copied {
            (fresh, copied) = fresh_rebuild(store).await;
        }
        let live = store.read_model().await;
        if live == fresh {
            return;
        }
        if Instant::now() > deadline {
            let mut differences = Vec::new();
            for (table, rows) in &fresh {
                let theirs = live.get(table).cloned().unwrap_or_default();
                if theirs != *rows {
                    let first = rows
                        .iter()
                        .zip(&theirs)
                        .find(|(a, b)| a != b)
                        .map(|(a, b)| format!("rebuilt {a}\n    live {b}"))
                        .unwrap_or_default();
                    differences.push(format!(
                        "{table}: rebuilt {} rows, live {}\n    {first}",
                        rows.len(),
                        theirs.len()
                    ));
                }
            }
            panic!(
                "the live read model never matched a fresh rebuild:\n{}",
                differences.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `pharos rebuild` on a copy of the log in a database of its own; its tables, and the
/// last position of the log copied.
async fn fresh_rebuild(store: &Store) -> (BTreeMap<String, Vec<String>>, i64) {
    let copy = match &store.db {
        Db::Sqlite(pool) => {
            // A consistent copy of the whole file (the rebuild starts its tables afresh).
            let copy = TestDb::sqlite("faults-rebuild");
            let path = copy.sqlite_path().unwrap().display().to_string();
            sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{path}'")))
                .execute(pool)
                .await
                .unwrap();
            copy
        }
        Db::Postgres(pool) => {
            let copy = TestDb::postgres("faults_rebuild").await.unwrap();
            pharos(&["migrate", "--database-url", &copy.url], &[]).await;
            let log: String = sqlx::query_scalar(
                "SELECT CAST(COALESCE(json_agg(e ORDER BY commit_id, position), '[]') AS TEXT) \
                 FROM events e",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            let target = sqlx::PgPool::connect(&copy.url).await.unwrap();
            sqlx::query(
                "INSERT INTO events OVERRIDING SYSTEM VALUE \
                 SELECT * FROM json_populate_recordset(NULL::events, CAST($1 AS JSON))",
            )
            .bind(log)
            .execute(&target)
            .await
            .unwrap();
            target.close().await;
            copy
        }
    };
    let said = pharos(&["rebuild", "--database-url", &copy.url], &[]).await;
    // Off a terminal too, each projection rebuilt is reported.
    for projection in ["read-model", "indicator-trainings"] {
        assert!(
            said.contains(&format!("« {projection} » (définition")),
            "{said}"
        );
    }
    let rebuilt = Store::connect(&copy.url).await;
    let tables = rebuilt.read_model().await;
    let head = rebuilt.head().await;
    rebuilt.close().await;
    copy.finish().await;
    (tables, head)
}

/// Runs `pharos <args>` with `env` to its end, successfully: what it printed.
async fn pharos(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(binary());
    command
        .args(args)
        .envs(env.iter().copied())
        .env("PHAROS_MASTER_KEY", MASTER_KEY)
        .env("PHAROS_ADMIN_EMAIL", ADMIN)
        .env("PHAROS_ADMIN_PASSWORD", PASSWORD);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "pharos {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------
// Setup over HTTP.
// ---------------------------------------------------------------------------------------

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Starts a process off the runtime's threads (`Served::start` blocks until it listens).
async fn blocking(start: impl FnOnce() -> Served + Send + 'static) -> Process {
    Process(Some(tokio::task::spawn_blocking(start).await.unwrap()))
}

/// `pharos serve --target <target>` on `url`.
fn up(target: &str, url: &str) -> Process {
    Process(Some(serve(target, url)))
}

/// A `pharos` process of this test, killed when dropped: a failing test leaves none
/// running (and holding database connections).
struct Process(Option<Served>);

impl Process {
    fn kill(mut self) -> String {
        self.0.take().unwrap().kill()
    }

    fn stop(mut self) {
        self.0.take().unwrap().stop();
    }
}

impl std::ops::Deref for Process {
    type Target = Served;

    fn deref(&self) -> &Served {
        self.0.as_ref().unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(served) = self.0.take() {
            // Not `Served::kill`: no panic while a failing test unwinds.
            let _ = Command::new("kill")
                .args(["-KILL", &served.pid().to_string()])
                .status();
        }
    }
}

/// A pole manager's account, created by the administrator; its token.
async fn pole_manager(client: &reqwest::Client, directory: &str, admin: &str) -> String {
    let response = client
        .post(format!("{directory}/api/v1/users"))
        .bearer_auth(admin)
        .json(&json!({
            "email": "pole@ac-toulouse.fr", "display_name": "Pôle académique",
            "role": "pole_manager", "password": PASSWORD
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 201, "{}", response.text().await.unwrap());
    login(client, directory, "pole@ac-toulouse.fr", PASSWORD).await
}

/// A valid UAI of `department`: seven digits, then the check letter of their number.
fn uai(department: usize, n: usize) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
    let number = department * 10_000 + n;
    format!("{number:07}{}", LETTERS[number % 23] as char)
}

/// Imports `schools` as open public collèges of their UAI's department.
async fn import_schools(
    client: &reqwest::Client,
    directory: &str,
    token: &str,
    schools: &[String],
) {
    for chunk in schools.chunks(2_000) {
        let mut csv = String::from("uai,name,kind,sector,department,commune\n");
        for uai in chunk {
            let department = uai[1..3].to_owned();
            writeln!(
                csv,
                "{uai},Collège {uai},college,public,{department},Toulouse"
            )
            .unwrap();
        }
        let response = client
            .post(format!("{directory}/api/v1/schools/import"))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let report: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["imported"], chunk.len(), "{report}");
    }
}

/// Every school year a cohort may be declared for today, from 2019-2020 to the current one.
fn school_years() -> Vec<String> {
    let today = Utc::now().date_naive();
    let current = if today.month() >= 9 {
        today.year()
    } else {
        today.year() - 1
    };
    (2019..=current).map(|y| format!("{y}-{}", y + 1)).collect()
}

async fn graphql(client: &reqwest::Client, base: &str, token: &str, query: &str) -> Value {
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The last `n` lines of a log.
fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

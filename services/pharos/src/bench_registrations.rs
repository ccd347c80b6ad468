//! `pharos bench registrations`: registrations to training sessions through the whole
//! HTTP stack (token check, vault, decide, append), against the bare store's append
//! with as many callers in the same run and the same database; then the same steps
//! again without HTTP, each timed, for each step's share of a registration's time.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use pharos::Pharos;
use pharos::config::{KeySource, RawConfig};
use pharos_decider::{Decider, SystemClock, execute_linked};
use pharos_events::training::{Registrant, RegistrationMode, SessionEvent};
use pharos_eventstore::Metadata;
use pharos_privacy::MasterKey;
use pharos_trainings::schedule::{Schedule as PersonSchedule, ScheduleCommand, Span};
use pharos_trainings::session::{Session, SessionCommand};
use pharos_web::Problem;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::bench::{Scratch, append, cpu_seconds};

const ADMIN: &str = "admin@ac-toulouse.fr";
const PASSWORD: &str = "mot-de-passe-de-mesure";
/// Places per session; each session also takes a few waitlisted registrations.
const CAPACITY: usize = 30;
const PER_SESSION: usize = 40;

pub async fn registrations(
    postgres: bool,
    url: Option<String>,
    total: usize,
    callers: usize,
) -> anyhow::Result<()> {
    let scratch = Scratch::new(postgres, url).await?;
    let raw = RawConfig {
        database_url: scratch.url().to_owned(),
        targets: "directory,trainings".into(),
        max_connections: (callers as u32 * 2 + 4).min(100),
        admin_email: Some(ADMIN.into()),
        admin_password: Some(PASSWORD.into()),
        // Required with PostgreSQL; replaced below by a key of this run.
        master_key: Some("00".repeat(32)),
        ..RawConfig::default()
    };
    let mut config = raw
        .check()
        .map_err(|errors| anyhow::anyhow!("{}", errors.join(" ; ")))?;
    config.master_key = KeySource::Value(MasterKey::generate());
    let pharos = pharos::assemble(&config, Arc::new(SystemClock))
        .await
        .context("assemblage de l'application de mesure")?;
    let result = run(&pharos, total, callers).await;
    pharos.stop().await;
    scratch.remove().await;
    let figures = result?;
    println!("{figures}");
    Ok(())
}

async fn run(pharos: &Pharos, total: usize, callers: usize) -> anyhow::Result<Value> {
    let store = &pharos.store;
    eprintln!(
        "bench registrations: {total} through HTTP, {callers} callers, backend {}",
        store.backend_name()
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = pharos.router.clone();
    // The server ends with the process: the bench exits right after printing.
    tokio::spawn(async move {
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
        if let Err(e) = served {
            eprintln!("bench server: {e}");
        }
    });

    let client = reqwest::Client::new();
    let call = move |path: String, token: Option<String>, body: Value| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let mut request = client.post(url).json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await?;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                bail!("{status}: {body}");
            }
            anyhow::Ok(body)
        }
    };
    let login = call(
        "/api/v1/auth/login".into(),
        None,
        json!({ "email": ADMIN, "password": PASSWORD }),
    )
    .await?;
    let admin = login["token"].as_str().unwrap_or_default().to_owned();
    call(
        "/api/v1/users".into(),
        Some(admin.clone()),
        json!({ "email": "pole@ac-toulouse.fr", "display_name": "Pôle", "role": "pole_manager", "password": PASSWORD }),
    )
    .await?;
    let login = call(
        "/api/v1/auth/login".into(),
        None,
        json!({ "email": "pole@ac-toulouse.fr", "password": PASSWORD }),
    )
    .await?;
    let manager = login["token"].as_str().unwrap_or_default().to_owned();
    let training = call(
        "/api/v1/trainings".into(),
        Some(manager.clone()),
        json!({ "title": "Mesure", "topic": "mpp", "audience": "tous personnels" }),
    )
    .await?;
    let training = training["id"].as_str().unwrap_or_default().to_owned();
    let open_sessions = |first_day: usize, count: usize| {
        let (call, manager, training) = (call.clone(), manager.clone(), training.clone());
        async move {
            let mut sessions = Vec::with_capacity(count);
            for i in first_day..first_day + count {
                // One day each, from a month ahead: no person is in two overlapping sessions.
                let day = chrono::Utc::now().date_naive() + chrono::Days::new(30 + i as u64);
                let at = |h: u32| format!("{day}T{h:02}:00:00+01:00");
                let session = call(
                    format!("/api/v1/trainings/{training}/sessions"),
                    Some(manager.clone()),
                    json!({
                        "starts_at": at(9), "ends_at": at(17),
                        "slots": [{"starts_at": at(9), "ends_at": at(12)}, {"starts_at": at(14), "ends_at": at(17)}],
                        "location": "Toulouse", "capacity": CAPACITY, "planned_minutes": 360
                    }),
                )
                .await?;
                let id = session["id"].as_str().unwrap_or_default().to_owned();
                call(
                    format!("/api/v1/sessions/{id}/open"),
                    Some(manager.clone()),
                    Value::Null,
                )
                .await?;
                sessions.push(id);
            }
            anyhow::Ok(sessions)
        }
    };
    let sessions_needed = total.div_ceil(PER_SESSION);
    let sessions = Arc::new(open_sessions(0, sessions_needed).await?);
    // The timed steps' own sessions, on later days, so that no one overlaps.
    let instrumented = (total / 4).max(PER_SESSION);
    let step_sessions = open_sessions(sessions_needed, instrumented.div_ceil(PER_SESSION)).await?;

    let next = Arc::new(AtomicUsize::new(0));
    let confirmed = Arc::new(AtomicUsize::new(0));
    // Sum of the registrations' response times, in microseconds.
    let waited = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..callers {
        let (next, confirmed, sessions, manager, waited) = (
            next.clone(),
            confirmed.clone(),
            sessions.clone(),
            manager.clone(),
            waited.clone(),
        );
        let call = call.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(());
                }
                let session = &sessions[n % sessions.len()];
                let sent = Instant::now();
                let body = call(
                    format!("/api/v1/sessions/{session}/registrations"),
                    Some(manager.clone()),
                    json!({
                        "person": {"email": format!("personne.{n}@ac-toulouse.fr"),
                                   "display_name": format!("Personne {n}"), "function": "CPE"},
                        "mode": "designated"
                    }),
                )
                .await?;
                waited.fetch_add(sent.elapsed().as_micros() as u64, Ordering::Relaxed);
                if body["status"] == "confirmed" {
                    confirmed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let elapsed = started.elapsed();
    let registrations_cpu = Cpu::since(cpu_before, elapsed, total);
    let registrations_per_s = total as f64 / elapsed.as_secs_f64();
    // Linked appends PostgreSQL stored in one statement (the others took a transaction).
    let one_statement = store.appends_in_one_statement();
    let http_latency = Duration::from_micros(waited.load(Ordering::Relaxed) / total as u64);
    let confirmed = confirmed.load(Ordering::Relaxed);
    let expected = (0..sessions.len())
        .map(|i| {
            let here = (total + sessions.len() - 1 - i) / sessions.len();
            here.min(CAPACITY)
        })
        .sum::<usize>();
    if confirmed != expected {
        bail!("{confirmed} confirmed, expected {expected}");
    }
    println!(
        "registrations through HTTP ({callers} callers): {registrations_per_s:.0}/s ({confirmed} confirmed, {} waitlisted; {one_statement} appends in one statement)",
        total - confirmed
    );
    let cpu_before = cpu_seconds();
    let bare_run = append(store, callers, total).await?;
    let bare = bare_run.rate();
    let append_cpu = Cpu::since(cpu_before, bare_run.elapsed(), total);
    let ratio = registrations_per_s / bare;
    println!(
        "bare store append ({callers} callers, same run): {bare:.0} events/s — ratio {ratio:.2}"
    );
    println!(
        "CPU per registration: {registrations_cpu}; per bare append: {append_cpu} \
         (this process holds the HTTP clients too)"
    );
    let steps = timed_steps(pharos, &manager, &step_sessions, instrumented, callers).await?;
    let shares = shares(&steps, http_latency);
    println!(
        "share of a registration's {:.2} ms ({callers} callers), by step: {}",
        http_latency.as_secs_f64() * 1000.0,
        shares
            .iter()
            .map(|(step, share)| format!("{step} {:.0} %", share * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mean_ms = |total: Duration, count: usize| {
        (total.as_secs_f64() * 1000.0 / count.max(1) as f64 * 1000.0).round() / 1000.0
    };
    Ok(json!({
        "backend": store.backend_name(),
        "registrations": total,
        "callers": callers,
        "registrations_per_s": registrations_per_s.round(),
        "append_same_callers": bare.round(),
        "ratio": (ratio * 1000.0).round() / 1000.0,
        "appends_in_one_statement": one_statement,
        "cpu_per_registration": registrations_cpu.json(),
        "cpu_per_append": append_cpu.json(),
        "registration_ms": mean_ms(http_latency, 1),
        "steps_ms": steps.iter().map(|s| (s.name.to_owned(), json!(mean_ms(s.total, s.count)))).collect::<serde_json::Map<_, _>>(),
        "shares": shares.iter().map(|(step, share)| (step.to_string(), json!((share * 1000.0).round() / 1000.0))).collect::<serde_json::Map<_, _>>(),
        "timed_registrations": instrumented,
    }))
}

/// CPU time per operation of a workload, in this process and in PostgreSQL's processes
/// on this machine, and how many of the machine's cores the two kept busy: near all of
/// them, the workload is bound by the CPU it costs, not by waits.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    process_ms: f64,
    postgres_ms: f64,
    cores_busy: f64,
}

impl Cpu {
    fn since(before: (f64, f64), elapsed: Duration, operations: usize) -> Self {
        let after = cpu_seconds();
        let (process, postgres) = (after.0 - before.0, after.1 - before.1);
        let per = |seconds: f64| seconds * 1000.0 / operations.max(1) as f64;
        Self {
            process_ms: per(process),
            postgres_ms: per(postgres),
            cores_busy: (process + postgres) / elapsed.as_secs_f64().max(1e-9),
        }
    }

    fn json(self) -> Value {
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "process_ms": round(self.process_ms),
            "postgres_ms": round(self.postgres_ms),
            "cores_busy": round(self.cores_busy),
        })
    }
}

impl std::fmt::Display for Cpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "this process {:.3} ms, PostgreSQL {:.3} ms ({:.2} of {} cores busy)",
            self.process_ms,
            self.postgres_ms,
            self.cores_busy,
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        )
    }
}

/// One step of a registration: its total time over the timed registrations, and how
/// many ran it.
#[derive(Clone)]
struct Step {
    name: &'static str,
    total: Duration,
    count: usize,
}

/// The steps, in the order the registration handler runs them. The registration, the
/// claim of a confirmed place's time and the vault's writes (a new person's key, the
/// registration's hold) are one commit: the linked append.
const STEPS: [&str; 6] = [
    "token_check",
    "vault_person",
    "key_read_and_seal",
    "streams_load",
    "decide",
    "linked_append",
];

/// Each step's share of a registration's response time through HTTP, its mean time
/// (over every registration: a step some skip weighs less) over that response time;
/// `http_and_rest` is what the steps leave (routing, JSON, the department lookup in
/// memory). The steps, timed without HTTP, may sum above the response time under
/// load: then their sum is the whole.
fn shares(steps: &[Step], http_latency: Duration) -> Vec<(&'static str, f64)> {
    let registrations = steps.first().map_or(1, |s| s.count.max(1)) as f64;
    let means: Vec<(&'static str, f64)> = steps
        .iter()
        .map(|s| (s.name, s.total.as_secs_f64() / registrations))
        .collect();
    let sum: f64 = means.iter().map(|(_, mean)| mean).sum();
    let whole = http_latency.as_secs_f64().max(sum).max(1e-9);
    let mut shares: Vec<_> = means.into_iter().map(|(n, m)| (n, m / whole)).collect();
    shares.push(("http_and_rest", (whole - sum) / whole));
    shares
}

/// Registers `count` new people to `sessions` with `callers` at once, through the
/// steps the registration handler runs (services/trainings, `register`), each timed.
async fn timed_steps(
    pharos: &Pharos,
    token: &str,
    sessions: &[String],
    count: usize,
    callers: usize,
) -> anyhow::Result<Vec<Step>> {
    let totals = Arc::new(Mutex::new(
        STEPS
            .iter()
            .map(|name| Step {
                name,
                total: Duration::ZERO,
                count: 0,
            })
            .collect::<Vec<_>>(),
    ));
    let sessions: Arc<Vec<Uuid>> = Arc::new(
        sessions
            .iter()
            .map(|s| Uuid::parse_str(s))
            .collect::<Result<_, _>>()?,
    );
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..callers {
        let (state, token, sessions, next, totals) = (
            pharos.state.clone(),
            token.to_owned(),
            sessions.clone(),
            next.clone(),
            totals.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return anyhow::Ok(());
                }
                let id = sessions[n % sessions.len()];
                let times = register_timed(&state, &token, id, n)
                    .await
                    .map_err(|p| anyhow::anyhow!("inscription mesurée : {p:?}"))?;
                if let Ok(mut totals) = totals.lock() {
                    for (step, time) in totals.iter_mut().zip(times) {
                        if let Some(time) = time {
                            step.total += time;
                            step.count += 1;
                        }
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let steps = totals
        .lock()
        .map_err(|_| anyhow::anyhow!("mesure des étapes interrompue"))?
        .clone();
    Ok(steps)
}

/// One registration through the handler's steps, without HTTP: each step's time, in
/// [`STEPS`] order (`None`: not run).
async fn register_timed(
    state: &pharos_access::TargetState,
    token: &str,
    id: Uuid,
    n: usize,
) -> Result<[Option<Duration>; 6], Problem> {
    let mut laps = Laps {
        times: [None; 6],
        since: Instant::now(),
    };
    let store = &state.app.store;
    let user_id = state
        .access
        .tokens
        .verify(token)
        .map_err(|_| Problem::internal())?;
    let user = state
        .access
        .reference
        .user(user_id)
        .await?
        .ok_or_else(Problem::internal)?;
    let metadata = Metadata {
        actor_id: Some(user_id.to_string()),
        actor_role: Some(user.role.to_string()),
        source_target: Some("trainings".into()),
        ..Metadata::default()
    };
    laps.lap(0);
    let email = format!("mesure.{n}@ac-toulouse.fr");
    let name = format!("Mesure {n}");
    let (person, new_person) = state.vault.person_in_commit(&email).await?;
    laps.lap(1);
    let mut sealed = state
        .vault
        .seal_all(&[(person, name.as_str()), (person, email.as_str())])
        .await?
        .into_iter();
    let (Some(display_name), Some(email)) = (sealed.next(), sealed.next()) else {
        return Err(Problem::internal());
    };
    let registrant = Registrant {
        person,
        display_name,
        email,
        school_uai: None,
        function: "CPE".into(),
    };
    laps.lap(2);
    let stream = pharos_trainings::session::stream(id)?;
    let schedule_stream = pharos_trainings::schedule::stream(person)?;
    if !new_person.is_empty() {
        pharos_trainings::schedule::hold_new(store, &schedule_stream);
    }
    let registration_id = Uuid::now_v7();
    // Run as the handler runs it (both streams' locks, loads, a retry on a lost race:
    // callers register to the same sessions). A retry's failed append and pause count
    // in the next attempt's load.
    execute_linked::<Session, PersonSchedule, Problem>(
        store,
        (&stream, &schedule_stream),
        &metadata,
        |session, schedule| {
            laps.lap(3);
            let plan = session.plan.as_ref().ok_or_else(Problem::not_found)?;
            let now = state.clock.now();
            let command = SessionCommand::Register {
                registration_id,
                registrant: registrant.clone(),
                mode: RegistrationMode::Designated,
                overlapping: vec![],
            };
            let events = Session::decide(&command, session, now)?;
            let claimed = match events.first() {
                Some(SessionEvent::RegistrationConfirmed { .. }) => {
                    let claim = ScheduleCommand::Claim {
                        session_id: id,
                        span: Span {
                            starts_at: plan.schedule.starts_at,
                            ends_at: plan.schedule.ends_at,
                        },
                        vacated: vec![],
                    };
                    PersonSchedule::decide(&claim, schedule, now)?
                }
                _ => Vec::new(),
            };
            let starts_at = plan.schedule.starts_at.with_timezone(&chrono::Utc).max(now);
            let mut companions = new_person.clone();
            companions.push(state.vault.hold_in_commit(
                person,
                &format!("training_session-{id}"),
                "session_registrant",
                Some(starts_at),
            )?);
            laps.lap(4);
            Ok((events, claimed, companions))
        },
    )
    .await?;
    laps.lap(5);
    Ok(laps.times)
}

/// Each step's time (summed when a retry runs it again), from the end of the step before.
struct Laps {
    times: [Option<Duration>; 6],
    since: Instant,
}

impl Laps {
    fn lap(&mut self, step: usize) {
        let now = Instant::now();
        self.times[step] = Some(self.times[step].unwrap_or_default() + (now - self.since));
        self.since = now;
    }
}

//! `pharos bench load`: a realistic mix against a running installation, whatever its
//! shape (the all-in-one binary, or one process per target behind nginx): 80 % reads
//! (the dashboard and lists over GraphQL, the dashboard and actions pages) and 20 %
//! commands (registrations to training sessions, a new person each). Prints throughput,
//! p50/p99 per kind, errors and the memory of every `pharos serve` and nginx process of
//! the machine, then every figure as JSON on the last line.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::bench_read_model::{DASHBOARD, SCHOOLS};

/// The directory sample every shape can import: 396 schools of the académie.
const SCHOOLS_CSV: &str = include_str!("../../../deploy/samples/annuaire-toulouse-sample.csv");
/// Sessions the registrations spread over (30 places each, then the waiting list).
const SESSIONS: usize = 20;
const ACTIONS: &str =
    "query($d: String) { actions(department: $d, first: 20) { totalCount nodes { id status } } }";

/// What one request is, for the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Dashboard,
    SchoolsSearch,
    ActionsList,
    DashboardPage,
    ActionsPage,
    Registration,
}

impl Kind {
    /// Ten requests in a row: eight reads, two commands.
    const MIX: [Kind; 10] = [
        Kind::Dashboard,
        Kind::SchoolsSearch,
        Kind::Registration,
        Kind::DashboardPage,
        Kind::ActionsList,
        Kind::Dashboard,
        Kind::SchoolsSearch,
        Kind::Registration,
        Kind::ActionsPage,
        Kind::DashboardPage,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Dashboard => "graphql_dashboard",
            Kind::SchoolsSearch => "graphql_schools",
            Kind::ActionsList => "graphql_actions",
            Kind::DashboardPage => "page_dashboard",
            Kind::ActionsPage => "page_actions",
            Kind::Registration => "command_registration",
        }
    }
}

pub struct LoadArgs {
    pub url: String,
    pub admin_email: String,
    pub admin_password: String,
    pub seconds: u64,
    pub clients: usize,
    pub label: String,
}

pub async fn load(args: LoadArgs) -> anyhow::Result<()> {
    let base = args.url.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let api = Api {
        client: client.clone(),
        base: base.clone(),
    };
    eprintln!("bench load: {} ({}), seeding", args.label, base);
    let seeded = seed(&api, &args).await?;
    eprintln!(
        "bench load: {} clients for {} s, mix 80 % reads / 20 % commands",
        args.clients, args.seconds
    );
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let seeded = Arc::new(seeded);
    let mut workers = Vec::new();
    for _ in 0..args.clients {
        let (api, next, seeded) = (api.clone(), next.clone(), seeded.clone());
        workers.push(tokio::spawn(async move {
            let mut seen: Vec<(Kind, Duration, Result<(), String>)> = Vec::new();
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let kind = Kind::MIX[n % Kind::MIX.len()];
                let began = Instant::now();
                let outcome = api.request(kind, n, &seeded).await;
                seen.push((kind, began.elapsed(), outcome));
            }
            seen
        }));
    }
    let mut by_kind: BTreeMap<Kind, (Vec<Duration>, usize)> = BTreeMap::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut all = Vec::new();
    for worker in workers {
        for (kind, took, outcome) in worker.await? {
            let entry = by_kind.entry(kind).or_default();
            entry.0.push(took);
            all.push(took);
            if let Err(error) = outcome {
                entry.1 += 1;
                *errors.entry(error).or_default() += 1;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = all.len();
    let failed: usize = errors.values().sum();
    println!(
        "{}: {total} requests in {elapsed:.1} s — {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {failed} errors",
        args.label,
        total as f64 / elapsed,
        quantile(&mut all, 0.50),
        quantile(&mut all, 0.99),
    );
    let mut kinds = serde_json::Map::new();
    for (kind, (mut took, failed)) in by_kind {
        let (p50, p99) = (quantile(&mut took, 0.50), quantile(&mut took, 0.99));
        println!(
            "  {:<22} {:>6} requests, p50 {p50:>7.1} ms, p99 {p99:>7.1} ms, {failed} errors",
            kind.name(),
            took.len()
        );
        kinds.insert(
            kind.name().into(),
            json!({ "requests": took.len(), "p50_ms": round2(p50), "p99_ms": round2(p99), "errors": failed }),
        );
    }
    for (error, count) in &errors {
        println!("  error × {count}: {error}");
    }
    let processes = processes();
    for (label, rss, peak) in &processes {
        println!("  RSS {label:<28} {rss:>6} MiB (peak {peak} MiB)");
    }
    let figures = json!({
        "label": args.label,
        "clients": args.clients,
        "seconds": round2(elapsed),
        "requests": total,
        "requests_per_s": (total as f64 / elapsed).round(),
        "p50_ms": round2(quantile(&mut all, 0.50)),
        "p99_ms": round2(quantile(&mut all, 0.99)),
        "errors": failed,
        "error_rate": if total == 0 { 0.0 } else { failed as f64 / total as f64 },
        "kinds": kinds,
        "rss_mib": processes.iter().map(|(l, rss, peak)| json!({"process": l, "rss": rss, "peak": peak})).collect::<Vec<_>>(),
        "rss_total_mib": processes.iter().map(|(_, rss, _)| rss).sum::<u64>(),
    });
    println!("{figures}");
    Ok(())
}

#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
}

struct Seeded {
    manager: String,
    sessions: Vec<String>,
    run: Uuid,
    school_year: String,
}

impl Api {
    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("POST {path} : {status} {body}");
        }
        Ok(body)
    }

    async fn graphql(&self, token: &str, query: &str, variables: Value) -> Result<(), String> {
        let response = self
            .client
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| format!("graphql: {}", kind_of(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("graphql: HTTP {status}"));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("graphql: {}", kind_of(&e)))?;
        match body.get("errors") {
            Some(errors) if errors.as_array().is_some_and(|e| !e.is_empty()) => {
                Err(format!("graphql: {}", errors[0]["message"]))
            }
            _ => Ok(()),
        }
    }

    async fn page(&self, token: &str, path: &str) -> Result<(), String> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("pharos_session={token}"))
            .send()
            .await
            .map_err(|e| format!("GET {path}: {}", kind_of(&e)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| format!("GET {path}: {}", kind_of(&e)))?;
        if !status.is_success() || !text.contains("</html>") {
            return Err(format!("GET {path}: HTTP {status}"));
        }
        Ok(())
    }

    async fn request(&self, kind: Kind, n: usize, seeded: &Seeded) -> Result<(), String> {
        let token = &seeded.manager;
        let year = &seeded.school_year;
        match kind {
            Kind::Dashboard => {
                let department = if n % 20 < 10 {
                    json!("31")
                } else {
                    Value::Null
                };
                self.graphql(token, DASHBOARD, json!({ "y": year, "d": department }))
                    .await
            }
            Kind::SchoolsSearch => {
                let search = ["école", "collège", "jean", "toulouse", "lycée"][n % 5];
                self.graphql(token, SCHOOLS, json!({ "s": search })).await
            }
            Kind::ActionsList => self.graphql(token, ACTIONS, json!({ "d": "31" })).await,
            Kind::DashboardPage => self.page(token, "/tableau-de-bord").await,
            Kind::ActionsPage => self.page(token, "/actions").await,
            Kind::Registration => {
                let session = &seeded.sessions[n % seeded.sessions.len()];
                let path = format!("/api/v1/sessions/{session}/registrations");
                let body = json!({
                    "person": {"email": format!("charge.{}.{n}@ac-toulouse.fr", seeded.run.simple()),
                               "display_name": format!("Personne {n}"), "function": "CPE"},
                    "mode": "designated"
                });
                let response = self
                    .client
                    .post(format!("{}{path}", self.base))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| format!("registration: {}", kind_of(&e)))?;
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(format!("registration: HTTP {status}"))
                }
            }
        }
    }
}

/// A pole manager of this run, the directory sample, a training with open sessions.
/// Names carry the run's id: the bench can run twice against one installation.
async fn seed(api: &Api, args: &LoadArgs) -> anyhow::Result<Seeded> {
    let run = Uuid::new_v4();
    let admin = api
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": args.admin_email, "password": args.admin_password }),
        )
        .await
        .context("connexion de l'administrateur (--admin-email, --admin-password)")?;
    let admin = admin["token"].as_str().unwrap_or_default().to_owned();
    let email = format!("pole.{}@ac-toulouse.fr", run.simple());
    let password = format!("mesure-{}", run.simple());
    api.post(
        "/api/v1/users",
        Some(&admin),
        json!({ "email": email, "display_name": "Pôle (mesure)", "role": "pole_manager", "password": password }),
    )
    .await?;
    let manager = api
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": email, "password": password }),
        )
        .await?;
    let manager = manager["token"].as_str().unwrap_or_default().to_owned();
    let imported = api
        .client
        .post(format!("{}/api/v1/schools/import", api.base))
        .bearer_auth(&manager)
        .header("content-type", "text/csv")
        .body(SCHOOLS_CSV)
        .send()
        .await?;
    if !imported.status().is_success() {
        bail!("import des établissements : {}", imported.status());
    }
    let training = api
        .post(
            "/api/v1/trainings",
            Some(&manager),
            json!({ "title": format!("Mesure de charge {run}"), "topic": "mpp", "audience": "tous personnels" }),
        )
        .await?;
    let training = training["id"].as_str().unwrap_or_default().to_owned();
    let mut sessions = Vec::with_capacity(SESSIONS);
    for i in 0..SESSIONS {
        // One day each, from a month ahead: no person is in two overlapping sessions.
        let day = chrono::Utc::now().date_naive() + chrono::Days::new(30 + i as u64);
        let at = |h: u32| format!("{day}T{h:02}:00:00+01:00");
        let session = api
            .post(
                &format!("/api/v1/trainings/{training}/sessions"),
                Some(&manager),
                json!({
                    "starts_at": at(9), "ends_at": at(17),
                    "slots": [{"starts_at": at(9), "ends_at": at(12)}, {"starts_at": at(14), "ends_at": at(17)}],
                    "location": "Toulouse", "capacity": 30, "planned_minutes": 360
                }),
            )
            .await?;
        let id = session["id"].as_str().unwrap_or_default().to_owned();
        api.post(
            &format!("/api/v1/sessions/{id}/open"),
            Some(&manager),
            Value::Null,
        )
        .await?;
        sessions.push(id);
    }
    let school_year =
        pharos_events::phare::SchoolYear::containing(chrono::Utc::now().date_naive()).to_string();
    Ok(Seeded {
        manager,
        sessions,
        run,
        school_year,
    })
}

/// A transport error in a few words (a timeout, a refused or cut connection).
fn kind_of(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "délai dépassé"
    } else if error.is_connect() {
        "connexion refusée"
    } else {
        "réponse interrompue"
    }
}

fn quantile(sorted: &mut [Duration], q: f64) -> f64 {
    sorted.sort_unstable();
    let rank = ((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1);
    sorted.get(rank).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Every `pharos serve` and nginx process of the machine: a label (its target), its
/// resident memory and its peak, in MiB (from /proc: Linux only; empty elsewhere).
fn processes() -> Vec<(String, u64, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let argv: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let program = argv.first().map(String::as_str).unwrap_or_default();
        let label = if program.ends_with("/pharos") || program == "pharos" {
            if argv.get(1).map(String::as_str) != Some("serve") {
                continue;
            }
            let target = argv
                .iter()
                .position(|a| a == "--target")
                .and_then(|i| argv.get(i + 1))
                .map_or("all", String::as_str);
            format!("pharos {target} ({pid})")
        } else if program.starts_with("nginx") {
            format!("nginx ({pid})")
        } else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .map_or(0, |kib| kib / 1024)
        };
        found.push((label, field("VmRSS:"), field("VmHWM:")));
    }
    found.sort();
    found
}

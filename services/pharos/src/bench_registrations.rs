//! `pharos bench registrations`: registrations to training sessions through the whole
//! HTTP stack (token check, vault, decide, append), against the bare store's append
//! with as many callers in the same run and the same database.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use pharos::Pharos;
use pharos::config::{KeySource, RawConfig};
use pharos_decider::SystemClock;
use pharos_privacy::MasterKey;
use serde_json::{Value, json};

use crate::bench::{Scratch, append};

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
    let sessions_needed = total.div_ceil(PER_SESSION);
    let mut sessions = Vec::with_capacity(sessions_needed);
    for i in 0..sessions_needed {
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
    let sessions = Arc::new(sessions);

    let next = Arc::new(AtomicUsize::new(0));
    let confirmed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..callers {
        let (next, confirmed, sessions, manager) = (
            next.clone(),
            confirmed.clone(),
            sessions.clone(),
            manager.clone(),
        );
        let call = call.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(());
                }
                let session = &sessions[n % sessions.len()];
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
    let registrations_per_s = total as f64 / elapsed.as_secs_f64();
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
        "registrations through HTTP ({callers} callers): {registrations_per_s:.0}/s ({confirmed} confirmed, {} waitlisted)",
        total - confirmed
    );
    let bare = append(store, callers, total).await?.rate();
    let ratio = registrations_per_s / bare;
    println!(
        "bare store append ({callers} callers, same run): {bare:.0} events/s — ratio {ratio:.2}"
    );
    Ok(json!({
        "backend": store.backend_name(),
        "registrations": total,
        "callers": callers,
        "registrations_per_s": registrations_per_s.round(),
        "append_same_callers": bare.round(),
        "ratio": (ratio * 1000.0).round() / 1000.0,
    }))
}

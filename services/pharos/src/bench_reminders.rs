//! `pharos bench reminders`: the reminder engine over a whole country's schools. A fresh
//! database gets `schools` schools (the national-directory import) and their accounts
//! (the bulk school accounts), then every rule in force is evaluated at 08:00 on J−7 of
//! a national day, where each school is due one reminder; the reminders are then
//! delivered over SMTP to a local sink that accepts every mail. Prints the seconds per
//! evaluation and the mails per second, then the figures as JSON on the last line.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::Duration;
use pharos::config::{KeySource, RawConfig};
use pharos_decider::SystemClock;
use pharos_privacy::MasterKey;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::bench::Scratch;

/// Evaluations timed (the first one warms nothing: the facts are in memory already).
const EVALUATIONS: usize = 3;

pub async fn reminders(postgres: bool, url: Option<String>, schools: usize) -> anyhow::Result<()> {
    let scratch = Scratch::new(postgres, url).await?;
    let (port, mails) = smtp_sink().await?;
    let raw = RawConfig {
        database_url: scratch.url().to_owned(),
        targets: "directory,reminders".into(),
        max_connections: 20,
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        mail_from: "Pharos <pharos@ac-toulouse.fr>".into(),
        reminders_interval_seconds: 0,
        ..RawConfig::default()
    };
    let mut config = raw
        .check()
        .map_err(|errors| anyhow::anyhow!("{}", errors.join(" ; ")))?;
    config.master_key = KeySource::Value(MasterKey::generate());
    let pharos = pharos::assemble(&config, Arc::new(SystemClock))
        .await
        .context("assemblage de l'application de mesure")?;
    let result = run(&pharos, &config, schools, &mails).await;
    pharos.stop().await;
    scratch.remove().await;
    let figures = result?;
    println!("{figures}");
    Ok(())
}

async fn run(
    pharos: &pharos::Pharos,
    config: &pharos::config::Config,
    schools: usize,
    mails: &Arc<std::sync::atomic::AtomicUsize>,
) -> anyhow::Result<Value> {
    let store = &pharos.store;
    eprintln!(
        "bench reminders: {schools} schools, backend {}",
        store.backend_name()
    );
    let metadata = pharos::operator("bench");
    let started = Instant::now();
    let file = crate::bench::national_file(schools, "");
    let parsed =
        pharos_directory::import::parse(file.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let report = pharos_directory::import::run(
        store,
        &pharos_events::Academy::toulouse(),
        parsed,
        &metadata,
        || {},
    )
    .await;
    if report.imported != schools {
        bail!("{} schools imported of {schools}", report.imported);
    }
    let directory = pharos_directory::Directory::new(pharos.state.clone());
    let accounts = pharos_directory::users::bulk::create_all(
        &directory,
        pharos_directory::users::bulk::DEFAULT_ADDRESS_PATTERN,
        &metadata,
    )
    .await
    .map_err(|p| anyhow::anyhow!("{}", p.detail))?;
    if accounts.created != schools {
        bail!("{} accounts created of {schools}", accounts.created);
    }
    let seeding = started.elapsed().as_secs_f64();
    println!("seed: {schools} schools and their accounts in {seeding:.1} s");

    let started = Instant::now();
    let engine =
        pharos_reminders::start_engine(&pharos.state, &config.mail, CancellationToken::new())
            .await?;
    let startup = started.elapsed().as_secs_f64();
    println!("engine start (facts read from the log): {startup:.2} s");

    // 08:00:30 in Paris on J−7 of the latest national day Pharos knows.
    let (year, date) = engine
        .facts
        .read(|f| f.national_day_dates())
        .into_iter()
        .map(|d| (d.school_year, d.date))
        .max_by_key(|(year, _)| *year)
        .context("aucune Journée nationale connue")?;
    let at = pharos_reminders::rules::Schedule::parse("30 0 8 * * *")
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
        .first_on_or_after(date - Duration::days(7))
        .context("heure de Paris invalide")?;
    eprintln!("evaluating at {at} (J−7 of the national day of {year}, {date})");

    let mut seconds = Vec::with_capacity(EVALUATIONS);
    let mut plan = None;
    for _ in 0..EVALUATIONS {
        let started = Instant::now();
        let evaluated = engine.evaluate(at);
        seconds.push(started.elapsed().as_secs_f64());
        plan = Some(evaluated);
    }
    let plan = plan.context("aucune évaluation")?;
    let rules = engine
        .facts
        .read(|f| pharos_reminders::engine::rules_in_force(f).len());
    let per_evaluation = seconds.iter().sum::<f64>() / seconds.len() as f64;
    let decisions = plan.decisions.len();
    println!(
        "evaluation of {rules} rules over {schools} schools: {per_evaluation:.3} s \
         ({decisions} reminders due)"
    );
    if decisions != schools {
        bail!("{decisions} reminders due, {schools} expected (one per school)");
    }

    let started = Instant::now();
    let report = engine.execute(plan, at).await;
    let elapsed = started.elapsed().as_secs_f64();
    let received = mails.load(std::sync::atomic::Ordering::Relaxed);
    if report.sent != schools || received != schools {
        bail!(
            "{} sent, {received} received, {schools} expected: {report:?}",
            report.sent
        );
    }
    let mails_per_s = schools as f64 / elapsed;
    println!(
        "delivery: {schools} mails in {elapsed:.1} s, {mails_per_s:.0} mails/s \
         (each: scheduled appended, rendered, sent over SMTP, sent appended)"
    );
    Ok(json!({
        "backend": store.backend_name(),
        "schools": schools,
        "rules": rules,
        "seed_seconds": seeding,
        "engine_start_seconds": startup,
        "evaluation_seconds": per_evaluation,
        "evaluations": seconds,
        "reminders_due": decisions,
        "delivery_seconds": elapsed,
        "mails_per_s": mails_per_s,
    }))
}

/// A local SMTP server that accepts every mail and counts them: the port, the count.
async fn smtp_sink() -> anyhow::Result<(u16, Arc<std::sync::atomic::AtomicUsize>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    // Ends with the process: the bench exits right after printing.
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let count = counted.clone();
            tokio::spawn(async move {
                if let Err(e) = session(socket, &count).await {
                    eprintln!("smtp sink: {e}");
                }
            });
        }
    });
    Ok((port, count))
}

/// One SMTP session: enough of RFC 5321 for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP,
/// QUIT).
async fn session(
    socket: tokio::net::TcpStream,
    count: &std::sync::atomic::AtomicUsize,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut in_data = false;
    while let Some(line) = lines.next_line().await? {
        if in_data {
            if line == "." {
                in_data = false;
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                write.write_all(b"250 2.0.0 accepted\r\n").await?;
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 ok\r\n",
            "DATA" => {
                in_data = true;
                b"354 end with .\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 not implemented\r\n",
        };
        write.write_all(answer).await?;
    }
    Ok(())
}

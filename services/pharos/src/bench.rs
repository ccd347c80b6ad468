//! `pharos bench eventstore`: the event store's throughput, measured against the raw
//! INSERT floor of the same database in the same run. Prints one line per figure, then
//! every figure as one JSON object on the last line.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use pharos_eventstore::{
    Db, EventStore, ExpectedVersion, GlobalPosition, Metadata, NewEvent, Projection,
    ProjectionError, ProjectionTx, RecordedEvent, SqliteSync, StoreError, StoreOptions, StreamId,
    on_db,
};
use pharos_privacy::{MasterKey, Personal, Sealed, Vault};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub events: usize,
    pub hot_events: usize,
    pub replay_events: usize,
}

const SEED_BATCH: usize = 100;
const REPLAY_PAGE: usize = 10_000;
/// Events of the sealed replay (each carries two sealed fields).
const SEALED_REPLAY: usize = 100_000;

/// `pharos bench import`: a generated national-directory file of `lines` schools
/// imported into a fresh database, then imported again unchanged, then with one line in
/// ten changed. Prints lines/s of each pass, then the figures as JSON.
pub async fn import(postgres: bool, url: Option<String>, lines: usize) -> anyhow::Result<()> {
    let scratch = Scratch::new(postgres, url).await?;
    let store = EventStore::connect(
        scratch.url(),
        StoreOptions {
            max_connections: 20,
            sqlite_synchronous: SqliteSync::Full,
            ..StoreOptions::default()
        },
    )
    .await
    .context("connexion à la base de mesure")?;
    store.migrate().await?;
    let result = import_passes(&store, lines).await;
    store.close().await;
    scratch.remove().await;
    let figures = result?;
    println!("{figures}");
    Ok(())
}

async fn import_passes(store: &EventStore, lines: usize) -> anyhow::Result<Value> {
    use pharos_directory::import;
    let academy = pharos_events::Academy::toulouse();
    let metadata = metadata();
    eprintln!(
        "bench import: {lines} lines, backend {}",
        store.backend_name()
    );
    let file = national_file(lines, "");
    let started = Instant::now();
    let parsed = import::parse(file.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let parse_rate = rate(lines, started.elapsed());
    println!("parse: {parse_rate:.0} lines/s ({} bytes)", file.len());

    let mut figures =
        json!({ "backend": store.backend_name(), "lines": lines, "parse_lines_per_s": parse_rate });
    let changed = national_file(lines, " (nouveau nom)");
    for (pass, bytes, expected) in [
        ("first", file.as_bytes(), (lines, 0, 0)),
        ("unchanged", file.as_bytes(), (0, 0, lines)),
        (
            "one_in_ten_changed",
            changed.as_bytes(),
            (0, lines.div_ceil(10), lines - lines.div_ceil(10)),
        ),
    ] {
        let parsed = import::parse(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
        let started = Instant::now();
        let report = import::run(store, &academy, parsed, &metadata, || {}).await;
        let elapsed = started.elapsed();
        let got = (report.imported, report.updated, report.unchanged);
        if got != expected || !report.refused.is_empty() {
            bail!(
                "pass {pass}: expected (imported, updated, unchanged) = {expected:?}, got {got:?}, refused {:?}",
                report.refused.first()
            );
        }
        let lines_per_s = rate(lines, elapsed);
        println!(
            "import {pass}: {lines_per_s:.0} lines/s ({:.2} s)",
            elapsed.as_secs_f64()
        );
        figures[format!("import_{pass}_lines_per_s")] = json!(lines_per_s);
        figures[format!("import_{pass}_seconds")] = json!(elapsed.as_secs_f64());
    }
    drop(parsed);
    Ok(figures)
}

/// A national-directory export of `lines` schools of the académie de Toulouse, with
/// valid UAIs; every tenth name gets `suffix`.
pub(crate) fn national_file(lines: usize, suffix: &str) -> String {
    national_file_of(
        lines,
        suffix,
        &["09", "12", "31", "32", "46", "65", "81", "82"],
    )
}

/// [`national_file`] over `departments` (as `DepartmentCode` spells them: `09`, `2A`,
/// `971`), the schools dealt to them in turn; each department's UAIs start with its
/// code (`620`/`720` for Corsica, as the national directory numbers them).
pub(crate) fn national_file_of(lines: usize, suffix: &str, departments: &[&str]) -> String {
    let mut file = String::from(
        "Identifiant_de_l_etablissement;Nom_etablissement;Type_etablissement;Statut_public_prive;\
         Nom_commune;Code_departement;Appartenance_Education_Prioritaire;code_nature;nom_circonscription\n",
    );
    for i in 0..lines {
        let department = departments[i % departments.len()];
        let (prefix, code) = match department {
            "2A" => ("620".to_owned(), "02A".to_owned()),
            "2B" => ("720".to_owned(), "02B".to_owned()),
            d if d.len() == 3 => (d.to_owned(), d.to_owned()),
            d => (format!("0{d}"), format!("0{d}")),
        };
        let digits = format!("{prefix}{:04}", i / departments.len());
        let letter = pharos_events::Uai::check_letter(&digits) as char;
        let (kind, nature, circonscription) = match i % 20 {
            0..=12 => ("Ecole", "151", format!("Circonscription {}", i % 7)),
            13..=16 => ("Collège", "340", String::new()),
            _ => ("Lycée", "306", String::new()),
        };
        let suffix = if i % 10 == 0 { suffix } else { "" };
        let priority = ["", "", "", "REP", "", "REP+"][i % 6];
        let commune = department.trim_start_matches('0');
        file.push_str(&format!(
            "{digits}{letter};{kind} n° {i}{suffix};{kind};Public;Commune {commune};{code};{priority};{nature};{circonscription}\n"
        ));
    }
    file
}

pub async fn eventstore(postgres: bool, url: Option<String>, sizes: Sizes) -> anyhow::Result<()> {
    let scratch = Scratch::new(postgres, url).await?;
    let options = StoreOptions {
        // Enough connections for 32 concurrent callers plus readers.
        max_connections: 40,
        sqlite_synchronous: SqliteSync::Full,
        ..StoreOptions::default()
    };
    let store = EventStore::connect(scratch.url(), options)
        .await
        .context("connexion à la base de mesure")?;
    store.migrate().await?;
    let result = run(&store, sizes).await;
    store.close().await;
    scratch.remove().await;
    let figures = result?;
    println!("{figures}");
    Ok(())
}

async fn run(store: &EventStore, sizes: Sizes) -> anyhow::Result<Value> {
    let backend = store.backend_name();
    eprintln!(
        "bench eventstore — backend {backend}{}, {} events per append workload, {} replayed",
        if backend == "sqlite" {
            " (synchronous=FULL, WAL)"
        } else {
            ""
        },
        sizes.events,
        sizes.replay_events
    );
    create_bench_tables(&store.db()).await?;

    // Replays first, on a log holding exactly the seeded events.
    let started = Instant::now();
    let last = seed(store, sizes.replay_events).await?;
    let seed_rate = rate(sizes.replay_events, started.elapsed());
    println!("seed (batches of {SEED_BATCH}, 8 callers): {seed_rate:.0} events/s");
    // Other transactions of the cluster may still hold the newest events back.
    if !store.wait_readable(last, Duration::from_secs(60)).await? {
        bail!("the seeded events did not become readable within 60 s (a transaction left open?)");
    }
    // A production log has planner statistics; a table loaded a second ago has none yet
    // and may get a sort-based plan for category reads.
    analyze(&store.db()).await?;

    // The store's replay against the floor of a plain ordered SELECT of the same rows,
    // alternated twice each so that neither gets the quieter moment of the machine.
    fill_floor_table(&store.db()).await?;
    let (mut replay_run, mut floor_run) = (Run::default(), Run::default());
    for _ in 0..2 {
        replay_run += replay_to_memory(store, sizes.replay_events).await?;
        floor_run += read_floor(&store.db(), sizes.replay_events).await?;
    }
    let (replay_memory, read_floor) = (replay_run.rate(), floor_run.rate());
    let replay_floor_ratio = replay_memory / read_floor;
    println!("replay_memory: {replay_memory:.0} events/s");
    println!(
        "read_floor (plain ordered SELECT into structs): {read_floor:.0} rows/s — ratio replay_memory/read_floor = {replay_floor_ratio:.2}"
    );
    let replay_table = replay_to_table(store, sizes.replay_events).await?;
    println!("replay_table (checkpointed upsert projection): {replay_table:.0} events/s");

    let append_1 = append(store, 1, sizes.events).await?.rate();
    println!("append_1: {append_1:.0} events/s");
    // append_8 and its raw floor alternate, twice each, so that neither gets the
    // quieter moment of the machine or the smaller table; each figure is the mean rate.
    // On PostgreSQL, a third floor alternates with them: the same INSERTs into a copy of
    // the log's table, its indexes included (`LIKE events INCLUDING ALL`): what the
    // store's guarantees cost in the table (a unique event id, a unique stream version, the
    // category's index), apart from what its code adds to one INSERT.
    let indexed = matches!(store.db(), Db::Postgres(_));
    let (mut store_run, mut raw_run, mut indexed_run) =
        (Run::default(), Run::default(), Run::default());
    for _ in 0..2 {
        store_run += append(store, 8, sizes.events / 2).await?;
        raw_run += raw_inserts(&store.db(), Floor::Raw, 8, sizes.events / 2).await?;
        if indexed {
            indexed_run += raw_inserts(&store.db(), Floor::Indexed, 8, sizes.events / 2).await?;
        }
    }
    let (append_8, raw_8) = (store_run.rate(), raw_run.rate());
    println!("append_8: {append_8:.0} events/s");
    let append_32 = append(store, 32, sizes.events).await?.rate();
    println!("append_32: {append_32:.0} events/s");
    let ratio_8 = append_8 / raw_8;
    println!(
        "raw_8 (plain INSERTs, no checks): {raw_8:.0} events/s — ratio append_8/raw_8 = {ratio_8:.2}"
    );
    let raw_8_indexed = indexed.then(|| indexed_run.rate());
    if let Some(raw_8_indexed) = raw_8_indexed {
        println!(
            "raw_8_indexed (the same INSERTs into a copy of the log's table and indexes): {raw_8_indexed:.0} events/s — \
             ratio append_8/raw_8_indexed = {:.2}, raw_8_indexed/raw_8 = {:.2}",
            append_8 / raw_8_indexed,
            raw_8_indexed / raw_8
        );
    }
    let (hot_stream, hot_p99) = hot_stream(store, 8, sizes.hot_events).await?;
    println!("hot_stream (8 writers, one stream): {hot_stream:.0} appends/s, p99 {hot_p99:.2} ms");

    // The vault's cost: the same 8-caller append with a name and an e-mail sealed in
    // each event, alternated with the plain one on the log as it now is (compared
    // with append_8 above, it would also pay for the events the runs between them added
    // to the indexes), and a replay that unseals them.
    let vault = Arc::new(Vault::open(store, MasterKey::generate()).await?);
    // Sealed, plain, plain, sealed: a machine or a table slowing down steadily weighs on
    // both alike.
    let (mut sealed_run, mut plain_run) = (Run::default(), Run::default());
    sealed_run += sealed_append(store, &vault, 8, sizes.events / 2).await?;
    plain_run += append(store, 8, sizes.events).await?;
    sealed_run += sealed_append(store, &vault, 8, sizes.events / 2).await?;
    let (sealed_8, plain_8) = (sealed_run.rate(), plain_run.rate());
    let sealed_ratio_8 = sealed_8 / plain_8;
    println!(
        "sealed_append_8: {sealed_8:.0} events/s — ratio to the plain append_8 alternated with it ({plain_8:.0} events/s) = {sealed_ratio_8:.2}"
    );
    let (replay_plain, replay_sealed) =
        sealed_replay(store, &vault, sizes.replay_events.min(SEALED_REPLAY)).await?;
    let sealed_replay_ratio = replay_sealed / replay_plain;
    println!(
        "sealed_replay: {replay_sealed:.0} events/s unsealed, {replay_plain:.0} read only — ratio {sealed_replay_ratio:.2}"
    );

    Ok(json!({
        "backend": backend,
        "sealed_append_8": sealed_8.round(),
        "plain_append_8_beside_sealed": plain_8.round(),
        "sealed_ratio_8": (sealed_ratio_8 * 1000.0).round() / 1000.0,
        "sealed_replay": replay_sealed.round(),
        "sealed_replay_ratio": (sealed_replay_ratio * 1000.0).round() / 1000.0,
        "append_1": append_1.round(),
        "append_8": append_8.round(),
        "append_32": append_32.round(),
        "raw_8": raw_8.round(),
        "ratio_8": (ratio_8 * 1000.0).round() / 1000.0,
        "raw_8_indexed": raw_8_indexed.map(f64::round),
        "ratio_8_indexed": raw_8_indexed.map(|r| (append_8 / r * 1000.0).round() / 1000.0),
        "indexes_ratio_8": raw_8_indexed.map(|r| (r / raw_8 * 1000.0).round() / 1000.0),
        "hot_stream": hot_stream.round(),
        "hot_stream_p99_ms": (hot_p99 * 100.0).round() / 100.0,
        "replay_memory": replay_memory.round(),
        "read_floor": read_floor.round(),
        "replay_floor_ratio": (replay_floor_ratio * 1000.0).round() / 1000.0,
        "replay_table": replay_table.round(),
        "events": sizes.events,
        "replay_events": sizes.replay_events,
        "seed_batch_100": seed_rate.round(),
    }))
}

fn rate(events: usize, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn event(i: usize) -> NewEvent {
    NewEvent::new(
        "session_registration_confirmed",
        json!({
            "registration_id": Uuid::now_v7(),
            "person": "a1b2c3d4-0000-7000-8000-000000000000",
            "school_uai": "0310001A",
            "mode": "designated",
            "seq": i,
        }),
    )
}

fn metadata() -> Metadata {
    Metadata {
        actor_id: Some("bench".into()),
        actor_role: Some("pole_manager".into()),
        source_target: Some("bench".into()),
        ..Metadata::default()
    }
}

/// CPU seconds (user + system) spent so far by this process, and by the processes of a
/// PostgreSQL server on this machine (with the children they reaped): what bounds a
/// workload, when set against its wall time. Read from `/proc` (Linux; zero elsewhere).
pub(crate) fn cpu_seconds() -> (f64, f64) {
    // `utime stime cutime cstime`: fields 14 to 17 of `stat`, in USER_HZ (100 on Linux).
    fn ticks(stat: &str, children: bool) -> u64 {
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let wanted = if children { 11..15 } else { 11..13 };
        wanted
            .filter_map(|i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
            .sum()
    }
    let own = std::fs::read_to_string("/proc/self/stat").map_or(0, |s| ticks(&s, false));
    let mut postgres = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let path = entry.path();
        if std::fs::read_to_string(path.join("comm")).is_ok_and(|c| c.trim() == "postgres") {
            postgres += std::fs::read_to_string(path.join("stat")).map_or(0, |s| ticks(&s, true));
        }
    }
    (own as f64 / 100.0, postgres as f64 / 100.0)
}

/// Events written and the time they took.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Run {
    events: usize,
    elapsed: Duration,
}

impl Run {
    pub(crate) fn rate(self) -> f64 {
        rate(self.events, self.elapsed)
    }

    pub(crate) fn elapsed(self) -> Duration {
        self.elapsed
    }
}

impl std::ops::AddAssign for Run {
    fn add_assign(&mut self, other: Self) {
        self.events += other.events;
        self.elapsed += other.elapsed;
    }
}

/// `callers` tasks, each appending single events to its own stream.
pub(crate) async fn append(
    store: &EventStore,
    callers: usize,
    total: usize,
) -> anyhow::Result<Run> {
    let per_caller = total / callers;
    let started = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let stream = StreamId::new("bench", Uuid::now_v7())?;
                let meta = metadata();
                for v in 0..per_caller {
                    store
                        .append(
                            &stream,
                            ExpectedVersion::Exact(v as i64),
                            vec![event(v)],
                            &meta,
                        )
                        .await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(Run {
        events: per_caller * callers,
        elapsed: started.elapsed(),
    })
}

/// Like [`append`], with a display name and an e-mail sealed for the caller's person in
/// every event (one key lookup per event, as a command handler would do).
async fn sealed_append(
    store: &EventStore,
    vault: &Arc<Vault>,
    callers: usize,
    total: usize,
) -> anyhow::Result<Run> {
    let per_caller = total / callers;
    let mut people = Vec::with_capacity(callers);
    for i in 0..callers {
        people.push(
            vault
                .person(&format!("formateur.{i}@ac-toulouse.fr"))
                .await?,
        );
    }
    let started = Instant::now();
    let tasks: Vec<_> = people
        .into_iter()
        .enumerate()
        .map(|(i, person)| {
            let (store, vault) = (store.clone(), vault.clone());
            tokio::spawn(async move {
                let stream = StreamId::new("bench", Uuid::now_v7())?;
                let meta = metadata();
                let email = format!("formateur.{i}@ac-toulouse.fr");
                for v in 0..per_caller {
                    let sealed = vault
                        .seal_all(&[(person, "Camille Formatrice"), (person, &email)])
                        .await?;
                    let mut e = event(v);
                    e.data["person"] = json!({ "display_name": sealed[0], "email": sealed[1] });
                    store
                        .append(&stream, ExpectedVersion::Exact(v as i64), vec![e], &meta)
                        .await?;
                }
                Ok::<_, anyhow::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(Run {
        events: per_caller * callers,
        elapsed: started.elapsed(),
    })
}

/// Seeds `total` events with two sealed fields each (100 people), then replays them
/// twice: reading only, and reading and unsealing every field. Returns both rates.
async fn sealed_replay(
    store: &EventStore,
    vault: &Arc<Vault>,
    total: usize,
) -> anyhow::Result<(f64, f64)> {
    let mut people = Vec::with_capacity(100);
    for i in 0..100 {
        people.push(
            vault
                .person(&format!("personne.{i}@ac-toulouse.fr"))
                .await?,
        );
    }
    let mut last = GlobalPosition::START;
    for (batch, chunk) in (0..total)
        .collect::<Vec<_>>()
        .chunks(SEED_BATCH)
        .enumerate()
    {
        let person = people[batch % people.len()];
        let sealed = vault
            .seal_all(&[
                (person, "Dominique Exemple"),
                (person, "dominique@ac-toulouse.fr"),
            ])
            .await?;
        let events = chunk
            .iter()
            .map(|&i| {
                let mut e = event(i);
                e.data["person"] = json!({ "display_name": sealed[0], "email": sealed[1] });
                e
            })
            .collect();
        let stream = StreamId::new("sealedbench", Uuid::now_v7())?;
        last = store
            .append(&stream, ExpectedVersion::NoStream, events, &metadata())
            .await?
            .position;
    }
    if !store.wait_readable(last, Duration::from_secs(60)).await? {
        bail!("the sealed events did not become readable within 60 s");
    }
    let categories = vec!["sealedbench".to_owned()];
    let started = Instant::now();
    let mut read = 0;
    let mut pages = store.read_ahead(GlobalPosition::START, REPLAY_PAGE, categories.clone());
    while let Some(page) = pages.recv().await {
        read += page?.len();
    }
    let plain = rate(read, started.elapsed());

    let started = Instant::now();
    let mut unsealed = 0;
    let mut pages = store.read_ahead(GlobalPosition::START, REPLAY_PAGE, categories);
    while let Some(page) = pages.recv().await {
        let page = page?;
        let fields: Vec<Sealed> = page
            .iter()
            .flat_map(|e| {
                ["display_name", "email"]
                    .into_iter()
                    .filter_map(|f| serde_json::from_value(e.data["person"][f].clone()).ok())
            })
            .collect();
        let refs: Vec<&Sealed> = fields.iter().collect();
        let values = vault.unseal_all(&refs).await?;
        if values.iter().any(|v| !matches!(v, Personal::Known(_))) {
            bail!("a sealed field did not unseal");
        }
        unsealed += page.len();
    }
    if read != total || unsealed != total {
        bail!("sealed replay read {read} and unsealed {unsealed} events, {total} expected");
    }
    Ok((plain, rate(unsealed, started.elapsed())))
}

/// The table a floor's INSERTs go into.
#[derive(Debug, Clone, Copy)]
enum Floor {
    /// The log's columns, a primary key and nothing else.
    Raw,
    /// PostgreSQL only: a copy of the log's table with its indexes.
    Indexed,
}

impl Floor {
    fn insert(self, db: &Db) -> &'static str {
        match (self, db) {
            (Self::Raw, Db::Postgres(_)) => {
                "INSERT INTO bench_raw (stream_id, category, version, event_id, event_type, \
                 schema_version, data, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8::json)"
            }
            (Self::Indexed, Db::Postgres(_)) => {
                "INSERT INTO bench_raw_indexed (stream_id, category, version, event_id, event_type, \
                 schema_version, data, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8::json)"
            }
            (_, Db::Sqlite(_)) => {
                "INSERT INTO bench_raw (stream_id, category, version, event_id, event_type, \
                 schema_version, data, metadata, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            }
        }
    }
}

/// The floor: single-row INSERTs of the same columns into `floor`'s table, each in its
/// own transaction, from `callers` tasks.
async fn raw_inserts(db: &Db, floor: Floor, callers: usize, total: usize) -> anyhow::Result<Run> {
    let sql = floor.insert(db);
    let per_caller = total / callers;
    let started = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let stream = format!("bench-{}", Uuid::now_v7());
                let meta = serde_json::to_string(&metadata()).unwrap_or_default();
                for v in 0..per_caller {
                    let e = event(v);
                    let data = e.data.to_string();
                    match &db {
                        Db::Postgres(pool) => {
                            sqlx::query(sql)
                                .bind(&stream)
                                .bind("bench")
                                .bind(v as i64 + 1)
                                .bind(e.event_id)
                                .bind(&e.event_type)
                                .bind(e.schema_version)
                                .bind(data)
                                .bind(&meta)
                                .execute(pool)
                                .await?;
                        }
                        Db::Sqlite(pool) => {
                            sqlx::query(sql)
                                .bind(&stream)
                                .bind("bench")
                                .bind(v as i64 + 1)
                                .bind(e.event_id)
                                .bind(&e.event_type)
                                .bind(e.schema_version)
                                .bind(data)
                                .bind(&meta)
                                .bind(chrono::Utc::now())
                                .execute(pool)
                                .await?;
                        }
                    }
                }
                Ok::<_, sqlx::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(Run {
        events: per_caller * callers,
        elapsed: started.elapsed(),
    })
}

/// `writers` tasks on one stream, each reading its version, deciding, appending, and
/// retrying on a wrong expected version. Returns successful appends/s and the p99 of the
/// time from first read to success, in ms.
async fn hot_stream(
    store: &EventStore,
    writers: usize,
    total: usize,
) -> anyhow::Result<(f64, f64)> {
    let stream = StreamId::new("bench", format!("hot-{}", Uuid::now_v7()))?;
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (store, stream, done) = (store.clone(), stream.clone(), done.clone());
            tokio::spawn(async move {
                let meta = metadata();
                let mut latencies = Vec::new();
                while done.fetch_add(1, Ordering::SeqCst) < total {
                    let t0 = Instant::now();
                    loop {
                        let version = store.stream_version(&stream).await?;
                        match store
                            .append(
                                &stream,
                                ExpectedVersion::Exact(version),
                                vec![event(0)],
                                &meta,
                            )
                            .await
                        {
                            Ok(_) => break,
                            Err(StoreError::WrongExpectedVersion { .. }) => continue,
                            Err(e) => return Err(e),
                        }
                    }
                    latencies.push(t0.elapsed());
                }
                Ok::<_, StoreError>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let p99 = latencies
        .get((latencies.len() * 99).div_ceil(100).saturating_sub(1))
        .copied()
        .unwrap_or_default();
    Ok((rate(latencies.len(), elapsed), p99.as_secs_f64() * 1000.0))
}

/// Seeds `total` events in batches of 100 per stream from 8 callers; returns the last
/// position written.
async fn seed(store: &EventStore, total: usize) -> anyhow::Result<GlobalPosition> {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, next) = (store.clone(), next.clone());
            tokio::spawn(async move {
                let meta = metadata();
                let mut last = GlobalPosition::START;
                loop {
                    let start = next.fetch_add(SEED_BATCH, Ordering::SeqCst);
                    if start >= total {
                        return Ok::<_, StoreError>(last);
                    }
                    let events = (start..total.min(start + SEED_BATCH)).map(event).collect();
                    let stream = StreamId::new("bench", Uuid::now_v7())?;
                    let appended = store
                        .append(&stream, ExpectedVersion::NoStream, events, &meta)
                        .await?;
                    last = last.max(appended.position);
                }
            })
        })
        .collect();
    let mut last = GlobalPosition::START;
    for task in tasks {
        last = last.max(task.await??);
    }
    Ok(last)
}

async fn replay_to_memory(store: &EventStore, expected: usize) -> anyhow::Result<Run> {
    let started = Instant::now();
    let mut events: Vec<RecordedEvent> = Vec::with_capacity(expected);
    let mut pages = store.read_ahead(GlobalPosition::START, REPLAY_PAGE, Vec::new());
    while let Some(page) = pages.recv().await {
        events.extend(page?);
    }
    let elapsed = started.elapsed();
    if events.len() != expected {
        bail!("replay read {} events, {expected} expected", events.len());
    }
    // Freed outside the measure.
    drop(events);
    Ok(Run {
        events: expected,
        elapsed,
    })
}

/// A row of the floor table, decoded into the same Rust types as a [`RecordedEvent`].
#[derive(sqlx::FromRow)]
#[allow(dead_code)] // Read only to be decoded.
struct FloorRow {
    position: i64,
    commit_id: i64,
    stream_id: String,
    category: String,
    version: i64,
    event_id: Uuid,
    event_type: String,
    schema_version: i32,
    data: sqlx::types::Json<Value>,
    metadata: sqlx::types::Json<Metadata>,
    recorded_at: chrono::DateTime<chrono::Utc>,
}

const FLOOR_COLUMNS: &str = "position, commit_id, stream_id, category, version, event_id, \
     event_type, schema_version, data, metadata, recorded_at";

/// Copies the seeded log into `bench_floor`: the same rows and columns in a plain table
/// (a primary key on position, no other index, no trigger, no visibility filter).
async fn fill_floor_table(db: &Db) -> anyhow::Result<()> {
    let copy = format!(
        "INSERT INTO bench_floor ({FLOOR_COLUMNS}) SELECT {FLOOR_COLUMNS} FROM events \
         ORDER BY commit_id, position"
    );
    match db {
        Db::Postgres(pool) => {
            sqlx::query(sqlx::AssertSqlSafe(copy)).execute(pool).await?;
            // Both tables vacuumed alike (hint bits set, visibility map), as autovacuum
            // leaves an insert-only table.
            sqlx::query("VACUUM (ANALYZE) bench_floor")
                .execute(pool)
                .await?;
            sqlx::query("VACUUM (ANALYZE) events").execute(pool).await?;
        }
        Db::Sqlite(pool) => {
            sqlx::query(sqlx::AssertSqlSafe(copy)).execute(pool).await?;
            sqlx::query("ANALYZE bench_floor").execute(pool).await?;
        }
    }
    Ok(())
}

/// The floor of a replay: one plain ordered SELECT of the whole floor table, every row
/// decoded by sqlx into a struct of the store's own column types.
async fn read_floor(db: &Db, expected: usize) -> anyhow::Result<Run> {
    let sql = format!("SELECT {FLOOR_COLUMNS} FROM bench_floor ORDER BY position");
    let started = Instant::now();
    let rows: Vec<FloorRow> = on_db!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .fetch_all(pool)
            .await?
    });
    let elapsed = started.elapsed();
    if rows.len() != expected {
        bail!("read_floor read {} rows, {expected} expected", rows.len());
    }
    drop(rows);
    Ok(Run {
        events: expected,
        elapsed,
    })
}

/// Per stream: how many events and the last version, as a dashboard table would keep.
struct StreamStats {
    categories: Vec<String>,
}

impl Projection for StreamStats {
    fn name(&self) -> &str {
        "bench_stream_stats"
    }

    fn categories(&self) -> &[String] {
        &self.categories
    }

    async fn apply(
        &self,
        tx: &mut ProjectionTx<'_>,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let mut stats: HashMap<&str, (i64, i64)> = HashMap::new();
        for e in events {
            let entry = stats.entry(&e.stream_id).or_insert((0, 0));
            entry.0 += 1;
            entry.1 = entry.1.max(e.version);
        }
        match tx {
            ProjectionTx::Postgres(conn) => {
                let (mut ids, mut counts, mut versions) = (vec![], vec![], vec![]);
                for (id, (count, version)) in stats {
                    ids.push(id);
                    counts.push(count);
                    versions.push(version);
                }
                sqlx::query(
                    "INSERT INTO bench_stream_stats (stream_id, events, version) \
                     SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) \
                     ON CONFLICT (stream_id) DO UPDATE SET events = bench_stream_stats.events + excluded.events, \
                     version = greatest(bench_stream_stats.version, excluded.version)",
                )
                .bind(ids)
                .bind(counts)
                .bind(versions)
                .execute(&mut **conn)
                .await?;
            }
            ProjectionTx::Sqlite(conn) => {
                let rows: Vec<_> = stats
                    .into_iter()
                    .map(|(id, (c, v))| json!([id, c, v]))
                    .collect();
                sqlx::query(
                    "INSERT INTO bench_stream_stats (stream_id, events, version) \
                     SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each($1) WHERE true \
                     ON CONFLICT (stream_id) DO UPDATE SET events = events + excluded.events, \
                     version = max(version, excluded.version)",
                )
                .bind(Value::Array(rows).to_string())
                .execute(&mut **conn)
                .await?;
            }
        }
        Ok(())
    }
}

async fn replay_to_table(store: &EventStore, expected: usize) -> anyhow::Result<f64> {
    let projection = StreamStats {
        categories: vec!["bench".into()],
    };
    let started = Instant::now();
    let applied = store.catch_up(&projection, REPLAY_PAGE).await?;
    let elapsed = started.elapsed();
    if applied != expected {
        bail!("projection applied {applied} events, {expected} expected");
    }
    Ok(rate(applied, elapsed))
}

async fn analyze(db: &Db) -> anyhow::Result<()> {
    on_db!(db, |pool| sqlx::query("ANALYZE events")
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

async fn create_bench_tables(db: &Db) -> anyhow::Result<()> {
    match db {
        Db::Postgres(pool) => {
            sqlx::query(
                "CREATE TABLE bench_raw (position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
                 stream_id TEXT NOT NULL, category TEXT NOT NULL, version BIGINT NOT NULL, \
                 event_id UUID NOT NULL, event_type TEXT NOT NULL, schema_version INTEGER NOT NULL, \
                 data JSON NOT NULL, metadata JSON NOT NULL, recorded_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .execute(pool)
            .await?;
            sqlx::query("CREATE TABLE bench_raw_indexed (LIKE events INCLUDING ALL)")
                .execute(pool)
                .await?;
            sqlx::query(
                "CREATE TABLE bench_stream_stats (stream_id TEXT PRIMARY KEY, events BIGINT NOT NULL, version BIGINT NOT NULL)",
            )
            .execute(pool)
            .await?;
            sqlx::query(
                "CREATE TABLE bench_floor (position BIGINT PRIMARY KEY, commit_id BIGINT NOT NULL, \
                 stream_id TEXT NOT NULL, category TEXT NOT NULL, version BIGINT NOT NULL, \
                 event_id UUID NOT NULL, event_type TEXT NOT NULL, schema_version INTEGER NOT NULL, \
                 data JSON NOT NULL, metadata JSON NOT NULL, recorded_at TIMESTAMPTZ NOT NULL)",
            )
            .execute(pool)
            .await?;
        }
        Db::Sqlite(pool) => {
            sqlx::query(
                "CREATE TABLE bench_raw (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, \
                 category TEXT NOT NULL, version INTEGER NOT NULL, event_id BLOB NOT NULL, \
                 event_type TEXT NOT NULL, schema_version INTEGER NOT NULL, data TEXT NOT NULL, \
                 metadata TEXT NOT NULL, recorded_at TEXT NOT NULL)",
            )
            .execute(pool)
            .await?;
            sqlx::query(
                "CREATE TABLE bench_stream_stats (stream_id TEXT PRIMARY KEY, events INTEGER NOT NULL, version INTEGER NOT NULL)",
            )
            .execute(pool)
            .await?;
            sqlx::query(
                "CREATE TABLE bench_floor (position INTEGER PRIMARY KEY, commit_id INTEGER NOT NULL, \
                 stream_id TEXT NOT NULL, category TEXT NOT NULL, version INTEGER NOT NULL, \
                 event_id BLOB NOT NULL, event_type TEXT NOT NULL, schema_version INTEGER NOT NULL, \
                 data TEXT NOT NULL, metadata TEXT NOT NULL, recorded_at TEXT NOT NULL)",
            )
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

/// A database made for one run and removed after it.
pub(crate) enum Scratch {
    Sqlite {
        path: std::path::PathBuf,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl Scratch {
    pub(crate) async fn new(postgres: bool, url: Option<String>) -> anyhow::Result<Self> {
        if !postgres {
            return Ok(Self::sqlite());
        }
        let Some(url) = url else {
            bail!("--backend postgres demande --database-url, PHAROS_DATABASE_URL ou DATABASE_URL");
        };
        Self::postgres(&url).await
    }

    fn sqlite() -> Self {
        let path =
            std::env::temp_dir().join(format!("pharos-bench-{}.db", Uuid::now_v7().simple()));
        let url = format!("sqlite://{}", path.display());
        Self::Sqlite { path, url }
    }

    async fn postgres(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("pharos_bench_{}", Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(admin_url)
            .await
            .context("connexion PostgreSQL")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        Ok(Self::Postgres {
            url: with_database(admin_url, &name),
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    pub(crate) fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    pub(crate) async fn remove(&self) {
        match self {
            Self::Sqlite { path, .. } => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Self::Postgres {
                admin_url, name, ..
            } => {
                if let Ok(mut admin) = PgConnection::connect(admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            }
        }
    }
}

/// `url` pointing at database `name` instead (the name is ours: letters, digits, `_`).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn points_a_url_at_another_database() {
        assert_eq!(
            with_database("postgres://root@127.0.0.1:5432/test", "b"),
            "postgres://root@127.0.0.1:5432/b"
        );
        assert_eq!(with_database("postgres://h", "b"), "postgres://h/b");
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "b"),
            "postgres://u:p@h/b?sslmode=disable"
        );
    }
}

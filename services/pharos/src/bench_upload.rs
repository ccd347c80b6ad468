//! `pharos bench upload`: a generated video of `mib` MiB streamed over real HTTP to a
//! contest entry (`POST /api/v1/entries/{id}/files`: spooled to disk while hashed and
//! capped, typed from its first bytes, its duration read from its container, moved into
//! the content-addressed store), against `cp` of the same file on the same disk in the
//! same run. The process's resident memory is sampled during the upload: it must stay
//! flat whatever the file's size (client and server are this one process).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use pharos::Pharos;
use pharos::config::RawConfig;
use pharos_decider::SystemClock;
use pharos_events::phare::SchoolYear;
use pharos_privacy::MasterKey;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::bench::Scratch;

const ADMIN: &str = "admin@ac-toulouse.fr";
const PASSWORD: &str = "mot-de-passe-de-mesure";
const MIB: u64 = 1024 * 1024;
/// How often the resident memory is read during the upload.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// The client's reads of the file, each one a request body chunk.
const CHUNK: usize = 256 * 1024;

pub async fn upload(postgres: bool, url: Option<String>, mib: u64) -> anyhow::Result<()> {
    let scratch = Scratch::new(postgres, url).await?;
    // The source, the store and the copy on one file system: the temporary directory.
    let work =
        std::env::temp_dir().join(format!("pharos-bench-upload-{}", Uuid::now_v7().simple()));
    let result = serve_and_run(scratch.url(), &work, mib).await;
    scratch.remove().await;
    let _ = std::fs::remove_dir_all(&work);
    let figures = result?;
    println!("{figures}");
    Ok(())
}

/// The application on `database_url`, its files under `work`, measured then stopped.
async fn serve_and_run(database_url: &str, work: &Path, mib: u64) -> anyhow::Result<Value> {
    std::fs::create_dir_all(work).context("répertoire de mesure")?;
    let raw = RawConfig {
        database_url: database_url.to_owned(),
        targets: "directory,contests".into(),
        admin_email: Some(ADMIN.into()),
        admin_password: Some(PASSWORD.into()),
        files_dir: Some(work.join("files").display().to_string()),
        // A key for this run only (PostgreSQL asks for one: no key file beside a database).
        master_key: Some(MasterKey::generate().to_hex().to_string()),
        ..RawConfig::default()
    };
    let config = raw
        .check()
        .map_err(|errors| anyhow::anyhow!("{}", errors.join(" ; ")))?;
    let pharos = pharos::assemble(&config, Arc::new(SystemClock))
        .await
        .context("assemblage de l'application de mesure")?;
    let result = run(&pharos, work, mib).await;
    pharos.stop().await;
    result
}

async fn run(pharos: &Pharos, work: &Path, mib: u64) -> anyhow::Result<Value> {
    let bytes = mib * MIB;
    eprintln!(
        "bench upload: {mib} MiB through HTTP, backend {}, files under {}",
        pharos.store.backend_name(),
        work.display()
    );
    let source = work.join("source.mp4");
    write_video(&source, bytes).await?;

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
    let entry = entry(&client, &base, bytes).await?;

    // The upload: the file streamed from disk as the request's body, memory sampled.
    let memory_before = Memory::read()?;
    let sampling = Arc::new(AtomicBool::new(true));
    let rss_max = Arc::new(AtomicU64::new(memory_before.rss_kib));
    let sampler = tokio::spawn({
        let (sampling, rss_max) = (sampling.clone(), rss_max.clone());
        async move {
            let mut samples = 0u64;
            while sampling.load(Ordering::Relaxed) {
                if let Ok(memory) = Memory::read() {
                    rss_max.fetch_max(memory.rss_kib, Ordering::Relaxed);
                    samples += 1;
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
            samples
        }
    });
    let (token, id) = entry;
    let started = Instant::now();
    let file = tokio::fs::File::open(&source).await?;
    let response = client
        .post(format!("{base}/api/v1/entries/{id}/files?name=clip.mp4"))
        .bearer_auth(&token)
        .header("content-type", "video/mp4")
        .header("content-length", bytes)
        .body(reqwest::Body::wrap_stream(chunks(file)))
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    let upload_time = started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let samples = sampler.await?;
    let memory_after = Memory::read()?;
    if status != reqwest::StatusCode::CREATED {
        bail!("téléversement refusé : {status} {answer}");
    }
    let sha256 = answer["sha256"].as_str().unwrap_or_default();
    let stored = work
        .join("files")
        .join("sha256")
        .join(sha256.get(..2).unwrap_or_default())
        .join(sha256);
    let stored_bytes = std::fs::metadata(&stored).map(|m| m.len()).unwrap_or(0);
    if answer["bytes"] != bytes || stored_bytes != bytes || answer["duration_seconds"] != 60 {
        bail!("fichier mal reçu : {answer}, {stored_bytes} octets stockés");
    }
    let upload_rate = rate(bytes, upload_time);
    println!(
        "upload through HTTP (spool + sha256 + type + duration + fsync + rename): \
         {upload_rate:.0} MiB/s ({:.2} s)",
        upload_time.as_secs_f64()
    );

    // `cp` of the same file, on the same disk, then the same copy synced as the store does.
    let copy = work.join("copy.mp4");
    let started = Instant::now();
    let copied = tokio::process::Command::new("cp")
        .arg(&source)
        .arg(&copy)
        .status()
        .await
        .context("cp")?;
    let cp_time = started.elapsed();
    if !copied.success() {
        bail!("cp : {copied}");
    }
    std::fs::remove_file(&copy)?;
    let started = Instant::now();
    tokio::process::Command::new("cp")
        .arg(&source)
        .arg(&copy)
        .status()
        .await?;
    tokio::fs::File::open(&copy).await?.sync_all().await?;
    let cp_sync_time = started.elapsed();
    let cp_rate = rate(bytes, cp_time);
    let cp_sync_rate = rate(bytes, cp_sync_time);
    let ratio = upload_rate / cp_rate;
    println!(
        "cp of the same file (same disk, same run): {cp_rate:.0} MiB/s — upload/cp ratio {ratio:.2}; \
         cp then fsync: {cp_sync_rate:.0} MiB/s"
    );

    let rss_max = rss_max.load(Ordering::Relaxed);
    let growth = memory_after.hwm_kib.saturating_sub(memory_before.hwm_kib);
    println!(
        "memory: RSS {} KiB before, at most {rss_max} KiB during ({samples} samples every {} ms); \
         peak (VmHWM) {} KiB before, {} KiB after: +{growth} KiB for a {} KiB file",
        memory_before.rss_kib,
        SAMPLE_EVERY.as_millis(),
        memory_before.hwm_kib,
        memory_after.hwm_kib,
        bytes / 1024
    );
    // Flat: the upload raised the peak by far less than the file (a buffered file would
    // raise it by at least its size).
    let flat = growth * 1024 < bytes / 4;
    if !flat {
        bail!("la mémoire a crû de {growth} Kio pendant le téléversement de {mib} Mio");
    }
    Ok(json!({
        "backend": pharos.store.backend_name(),
        "mib": mib,
        "upload_mib_per_s": round(upload_rate),
        "cp_mib_per_s": round(cp_rate),
        "cp_fsync_mib_per_s": round(cp_sync_rate),
        "upload_to_cp_ratio": (ratio * 1000.0).round() / 1000.0,
        "rss_before_kib": memory_before.rss_kib,
        "rss_max_during_kib": rss_max,
        "hwm_before_kib": memory_before.hwm_kib,
        "hwm_after_kib": memory_after.hwm_kib,
        "hwm_growth_kib": growth,
        "rss_samples": samples,
    }))
}

/// An edition open today taking videos of up to `bytes`, a collège, its account, and a
/// draft video entry, all through HTTP: the account's token and the entry's id.
async fn entry(
    client: &reqwest::Client,
    base: &str,
    bytes: u64,
) -> anyhow::Result<(String, String)> {
    let call = |path: &str, token: Option<&str>, body: Value| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await?;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                bail!("{status}: {body}");
            }
            anyhow::Ok(body)
        }
    };
    let login = |email: &'static str| {
        call(
            "/api/v1/auth/login",
            None,
            json!({ "email": email, "password": PASSWORD }),
        )
    };
    let token = |body: Value| body["token"].as_str().unwrap_or_default().to_owned();
    let admin = token(login(ADMIN).await?);
    let digits = "0310001";
    let uai = format!(
        "{digits}{}",
        pharos_events::Uai::check_letter(digits) as char
    );
    let account = |email: &'static str, role: &'static str, scope: Option<&str>| {
        call(
            "/api/v1/users",
            Some(&admin),
            json!({ "email": email, "display_name": email, "role": role, "scope": scope,
                    "password": PASSWORD }),
        )
    };
    account("pole@ac-toulouse.fr", "pole_manager", None).await?;
    let manager = token(login("pole@ac-toulouse.fr").await?);
    call(
        "/api/v1/schools",
        Some(&manager),
        json!({ "uai": uai, "name": "Collège de mesure", "kind": "college", "sector": "public",
                "department": "31", "commune": "Toulouse" }),
    )
    .await?;
    account("college@ac-toulouse.fr", "school", Some(&uai)).await?;
    // Open from the school year's first day to tomorrow evening.
    let today = chrono::Utc::now().date_naive();
    let year = SchoolYear::containing(today);
    let deadline = (today + chrono::Days::new(1)).min(year.last_day());
    let edition = call(
        "/api/v1/contests",
        Some(&manager),
        json!({
            "school_year": year.to_string(),
            "opens_at": year.first_day().to_string(),
            "submission_deadline": format!("{deadline}T23:59"),
            "jury_on": (deadline + chrono::Days::new(1)).to_string(),
            "national_submission_on": (deadline + chrono::Days::new(2)).to_string(),
            "categories": [{"level": "college", "medium": "video"}],
            "rules": {
                "media": ["video"], "max_video_seconds": 120, "max_file_bytes": bytes,
                "file_types": ["mp4", "webm"], "max_entries_per_group": 1,
                "nominees_per_category": 1
            }
        }),
    )
    .await?;
    let contest = edition["id"].as_str().unwrap_or_default();
    let school = token(login("college@ac-toulouse.fr").await?);
    let entry = call(
        &format!("/api/v1/contests/{contest}/entries"),
        Some(&school),
        json!({
            "school_uai": uai, "category": "college_video", "title": "Mesure",
            "group": {"label": "4e A", "levels": ["4e"], "pupil_count": 24, "adult_count": 2},
            "responsible": {"display_name": "Camille Martin", "email": "camille.martin@ac-toulouse.fr"},
            "project_sheet": "Un clip de mesure."
        }),
    )
    .await?;
    let id = entry["id"].as_str().unwrap_or_default().to_owned();
    Ok((school, id))
}

/// An MP4 of 60 s and exactly `bytes` bytes at `path`: an `ftyp`, an `mdat` of
/// pseudo-random bytes (nothing a file system could compress or skip), then the `moov`
/// the duration is read from — at the end, as a camera writes it. Written by chunks of
/// 1 MiB: never held whole.
async fn write_video(path: &Path, bytes: u64) -> anyhow::Result<()> {
    let header = pharos_contests::files::tiny_mp4(60);
    // tiny_mp4: ftyp (24 bytes), an empty mdat (8), moov.
    let (ftyp, moov) = (&header[..24], &header[32..]);
    let payload = bytes
        .checked_sub(header.len() as u64)
        .context("fichier trop petit")?;
    let mdat_size = u32::try_from(8 + payload).context("--mib : 4 Gio au plus")?;
    let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(path).await?);
    file.write_all(ftyp).await?;
    file.write_all(&mdat_size.to_be_bytes()).await?;
    file.write_all(b"mdat").await?;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; MIB as usize];
    let mut left = payload;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = usize::try_from(left.min(MIB)).unwrap_or(chunk.len());
        file.write_all(&chunk[..n]).await?;
        left -= n as u64;
    }
    file.write_all(moov).await?;
    file.flush().await?;
    file.into_inner().sync_all().await?;
    Ok(())
}

/// The file read by chunks of [`CHUNK`] bytes, each read one call to the blocking pool
/// (`reqwest::Body::from(File)` reads 4 KiB at a time: the client would be measured, not
/// the server).
fn chunks(
    file: tokio::fs::File,
) -> impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static {
    futures::stream::try_unfold(file, |mut file| async move {
        let mut chunk = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match file.read(&mut chunk[filled..]).await? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            return Ok(None);
        }
        chunk.truncate(filled);
        Ok(Some((chunk, file)))
    })
}

fn rate(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / MIB as f64 / elapsed.as_secs_f64()
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The process's resident memory (`/proc/self/status`): now, and its peak so far.
#[derive(Debug, Clone, Copy)]
struct Memory {
    rss_kib: u64,
    hwm_kib: u64,
}

impl Memory {
    fn read() -> anyhow::Result<Self> {
        let status = std::fs::read_to_string("/proc/self/status")
            .context("/proc/self/status (Linux seulement)")?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
                .with_context(|| format!("{name} absent de /proc/self/status"))
        };
        Ok(Self {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
        })
    }
}

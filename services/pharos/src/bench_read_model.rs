//! `pharos bench read-model`: the read model at a country's scale. A fresh database gets
//! `schools` schools over the 101 departments (the national-directory import), then about
//! `events` domain events of every category the read model projects (trainings and
//! sessions with registrations and attendance, pHARe deployments and labels, ambassador
//! cohorts, national-day actions, contest editions and entries), built with the event
//! contract's types and appended as the services append them, from a fixed seed. Then:
//! every projection rebuilt from the start of the log (as `pharos rebuild` does), timed;
//! the assembled application served on a local port, and `dashboard` asked over HTTP by
//! `clients` concurrent clients for one department at a time and for the whole set, then
//! a paginated `schools` search; the pole's dashboard page the same way, and its weight;
//! the process's peak memory. Prints one line per figure
//! on stderr, then every figure as JSON on stdout.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use pharos::config::{KeySource, RawConfig};
use pharos_access::SESSION_COOKIE;
use pharos_decider::SystemClock;
use pharos_events::cohort::{ClassLevel, CohortEvent, CohortKind, CohortTraining, Referent};
use pharos_events::contest::{
    self, Attestations, AwardKind, ContestCategory, ContestEvent, ContestLevel, ContestRules,
    Criterion, EditionDates, EntryDetails, EntryEvent, EntryFile, FileType, Group, Medium,
    Responsible,
};
use pharos_events::national_day::{
    ActionDetails, ActionEvent, ActionSchool, ActionType, AudienceLevel, Campaign,
};
use pharos_events::phare::{
    CriterionSpec, DeploymentEvent, DeploymentOwner, LabelEvent, LabelLevel, LevelChecklist,
    MemberDetails, ProtocolBody, SchoolYear, StaffPerson, TeamFunction, TeamMember,
};
use pharos_events::training::{
    AttendanceStatus, Registrant, RegistrationMode, Schedule, SessionEvent, Slot, Topic,
    TrainingEvent,
};
use pharos_events::{
    Academy, DepartmentCode, SchoolKind, Uai, cohort, encode, national_day, phare, training,
};
use pharos_eventstore::{
    EventStore, ExpectedVersion, Metadata, NewEvent, SqliteSync, StoreOptions, StreamId, on_db,
};
use pharos_privacy::{MasterKey, PersonId, Sealed, Vault};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::bench::{Scratch, cpu_seconds};

/// The departments of France, as `DepartmentCode` spells them.
const DEPARTMENTS: [&str; 101] = [
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16",
    "17", "18", "19", "2A", "2B", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
    "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47",
    "48", "49", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63",
    "64", "65", "66", "67", "68", "69", "70", "71", "72", "73", "74", "75", "76", "77", "78", "79",
    "80", "81", "82", "83", "84", "85", "86", "87", "88", "89", "90", "91", "92", "93", "94", "95",
    "971", "972", "973", "974", "976",
];
const SEED: u64 = 0x5048_4152_4f53;
const ADMIN: &str = "admin@bench.education.fr";
const MANAGER: &str = "pole@bench.education.fr";
const PASSWORD: &str = "mot-de-passe-de-mesure";
/// Dashboard requests per client, for one department at a time and for the whole set.
const DEPARTMENT_ROUNDS: usize = 8;
const WHOLE_ROUNDS: usize = 4;
/// Department pages asked by one client alone (each at a day of its own).
const ALONE_PAGES: usize = 64;
/// How long the whole set's page is watched ([`DashboardPage::watched`]): past two turns of
/// the minute its "now" is reused for.
const WATCH: Duration = Duration::from_secs(150);
/// A school registered this often while it is watched: the read model changes.
const CHANGE_EVERY: Duration = Duration::from_secs(30);
/// A watcher reads the page this long before asking it again.
const READING: Duration = Duration::from_secs(1);
/// When the pole first looks at the whole set's page after the server started, nobody
/// having asked anything of the read model before.
const FIRST_LOOK: Duration = Duration::from_secs(20);
/// Pages of one search walked at most.
const SEARCH_PAGES: usize = 20;
const SEARCHES: [&str; 6] = [
    "college",
    "lycee n° 1",
    "ecole n° 2",
    "commune 31",
    "commune 2a",
    "n° 4",
];
/// What Chromium sends.
const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";
/// Concurrent appends while generating (SQLite groups them in one commit).
const APPENDERS: usize = 32;

#[derive(Debug, Clone)]
pub struct Sizes {
    pub schools: usize,
    pub events: usize,
    pub clients: usize,
    /// One rebuild of every projection per value, that many at a time.
    pub rebuild_jobs: Vec<usize>,
}

/// Set: the generated database is kept (its URL printed) for a later run to reuse.
const KEEP: &str = "PHAROS_BENCH_KEEP";
/// The URL of a database a kept run generated: no generation, the rest measured on it.
const REUSE: &str = "PHAROS_BENCH_REUSE";
/// Set with [`REUSE`]: the projections are not rebuilt first.
const NO_REBUILD: &str = "PHAROS_BENCH_NO_REBUILD";

pub async fn read_model(postgres: bool, url: Option<String>, sizes: Sizes) -> anyhow::Result<()> {
    if let Ok(reused) = std::env::var(REUSE) {
        let figures = run(&reused, true, sizes).await?;
        println!("{figures}");
        return Ok(());
    }
    let scratch = Scratch::new(postgres, url).await?;
    let result = run(scratch.url(), false, sizes).await;
    if std::env::var_os(KEEP).is_some() {
        eprintln!("database kept: {REUSE}={}", scratch.url());
    } else {
        scratch.remove().await;
    }
    let figures = result?;
    println!("{figures}");
    Ok(())
}

/// What a kept run generated, stored beside its log for a run reusing it.
async fn keep_generated(
    store: &EventStore,
    key: &MasterKey,
    generated: &Generated,
) -> anyhow::Result<()> {
    let kept = json!({
        "key": key.to_hex().as_str(),
        "figures": generated.figures,
        "year": generated.year.to_string(),
        "sessions_held": generated.sessions_held,
        "entries_submitted": generated.entries_submitted,
        "labels_awarded": generated.labels_awarded,
        "pupils_declared": generated.pupils_declared,
    })
    .to_string();
    on_db!(&store.db(), |pool| {
        sqlx::query("CREATE TABLE bench_generated (kept TEXT NOT NULL)")
            .execute(pool)
            .await?;
        sqlx::query("INSERT INTO bench_generated (kept) VALUES ($1)")
            .bind(&kept)
            .execute(pool)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// What the kept run generated, and its key.
async fn kept_generated(store: &EventStore) -> anyhow::Result<(MasterKey, Generated)> {
    let kept: String = on_db!(&store.db(), |pool| sqlx::query_scalar(
        "SELECT kept FROM bench_generated"
    )
    .fetch_one(pool)
    .await)
    .context("pas de bench_generated : base générée sans PHAROS_BENCH_KEEP ?")?;
    let kept: Value = serde_json::from_str(&kept)?;
    let key = MasterKey::from_hex(kept["key"].as_str().unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let year = SchoolYear::parse(kept["year"].as_str().unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("{}", e.0))?;
    let n = |k: &str| kept[k].as_i64().unwrap_or(0);
    Ok((
        key,
        Generated {
            figures: kept["figures"].clone(),
            year,
            sessions_held: n("sessions_held"),
            entries_submitted: n("entries_submitted"),
            labels_awarded: n("labels_awarded"),
            pupils_declared: n("pupils_declared"),
        },
    ))
}

async fn run(url: &str, reused: bool, sizes: Sizes) -> anyhow::Result<Value> {
    let store = EventStore::connect(
        url,
        StoreOptions {
            max_connections: APPENDERS as u32 + 8,
            // Seeding only: what is measured reads the data, whatever the fsyncs.
            sqlite_synchronous: SqliteSync::Normal,
            ..StoreOptions::default()
        },
    )
    .await
    .context("connexion à la base de mesure")?;
    store.migrate().await?;
    let backend = store.backend_name();
    eprintln!(
        "bench read-model — backend {backend}, {} schools over {} departments, ~{} events, {} clients",
        sizes.schools,
        DEPARTMENTS.len(),
        sizes.events,
        sizes.clients
    );
    let generated = if reused {
        kept_generated(&store).await
    } else {
        let key = MasterKey::generate();
        match generate(&store, &key, &sizes).await {
            Ok(g) if std::env::var_os(KEEP).is_some() => {
                keep_generated(&store, &key, &g).await.map(|()| (key, g))
            }
            Ok(g) => Ok((key, g)),
            Err(e) => Err(e),
        }
    };
    let (key, generated) = match generated {
        Ok(g) => g,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    // Each phase's own peak: the generator is the bench's work, not the product's, and
    // the peak it leaves would hide the rebuild's and the server's under it.
    let hwm_generation = peak_rss_kib();
    let phases_apart = reset_peak_rss();
    // Reusing a database whose projections are built already: the dashboard alone.
    let rebuilt = if reused && std::env::var_os(NO_REBUILD).is_some() {
        Ok(Value::Null)
    } else {
        let mut runs = Vec::new();
        let mut failed = None;
        for &jobs in &sizes.rebuild_jobs {
            match rebuild(&store, jobs).await {
                Ok(run) => runs.push(run),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(rebuild_runs(runs)),
        }
    };
    store.close().await;
    let rebuilt = rebuilt?;
    let hwm_rebuild = peak_rss_kib();
    reset_peak_rss();
    let served = serve_and_query(url, key, sizes.clients, &generated).await?;
    let hwm_served = peak_rss_kib();
    let hwm = hwm_generation.max(hwm_rebuild).max(hwm_served);
    let mib = |kib: u64| kib as f64 / 1024.0;
    if phases_apart {
        eprintln!(
            "peak RSS (VmHWM): {:.0} MiB; each phase's own peak: generation {:.0} MiB, rebuild {:.0} MiB, \
             serving the dashboards {:.0} MiB",
            mib(hwm),
            mib(hwm_generation),
            mib(hwm_rebuild),
            mib(hwm_served)
        );
    } else {
        eprintln!(
            "peak RSS (VmHWM): {:.0} MiB (the peak could not be reset between phases: after generation \
             {:.0} MiB, after rebuild {:.0} MiB)",
            mib(hwm),
            mib(hwm_generation),
            mib(hwm_rebuild)
        );
    }
    Ok(json!({
        "backend": backend,
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "schools": sizes.schools,
        "departments": DEPARTMENTS.len(),
        "clients": sizes.clients,
        "generation": generated.figures,
        "rebuild": rebuilt,
        "http": served,
        "peak_rss_mib": mib(hwm).round(),
        "peak_rss_phases_apart": phases_apart,
        "peak_rss_generation_mib": mib(hwm_generation).round(),
        "peak_rss_rebuild_mib": mib(hwm_rebuild).round(),
        "peak_rss_serving_mib": mib(hwm_served).round(),
    }))
}

/// Starts the process's peak resident memory (`VmHWM`) again from its resident memory now
/// (Linux 4.0 and later: `5` to `clear_refs`), so that a phase's peak is its own; false
/// where it cannot, each peak then holding those before it.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Generation

/// splitmix64: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn range(&mut self, low: u32, high: u32) -> u32 {
        low + (self.next() % u64::from(high - low + 1)) as u32
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

struct School {
    uai: Uai,
    department: usize,
    kind: SchoolKind,
    circonscription: Option<String>,
}

struct Person {
    id: PersonId,
    name: Sealed,
    email: Sealed,
}

struct Training {
    id: Uuid,
    department: Option<usize>,
}

struct Edition {
    id: Uuid,
}

/// Who a deployment belongs to: a school, or a circonscription of a department.
#[derive(Clone)]
enum Owner {
    School(usize),
    Circonscription(usize, String),
}

/// What was generated, and the figures the dashboard must find again.
struct Generated {
    figures: Value,
    year: SchoolYear,
    /// Sessions of the current year held (held, attendance locked, archived).
    sessions_held: i64,
    /// Contest entries of the current year submitted and not withdrawn.
    entries_submitted: i64,
    /// Labels of the current year awarded.
    labels_awarded: i64,
    /// Pupils of the current year's declared cohorts.
    pupils_declared: i64,
}

/// The kinds of units generated, with the share of the events each should take.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Session,
    Deployment,
    Label,
    Cohort,
    Action,
    Entry,
}

const KINDS: [(Kind, f64); 6] = [
    (Kind::Session, 0.50),
    (Kind::Deployment, 0.15),
    (Kind::Label, 0.05),
    (Kind::Cohort, 0.05),
    (Kind::Action, 0.13),
    (Kind::Entry, 0.12),
];

/// One stream's events, appended in one call.
struct Unit {
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    metadata: Metadata,
}

struct World {
    schools: Vec<School>,
    by_department: Vec<Vec<usize>>,
    departments: Vec<DepartmentCode>,
    people: Vec<Person>,
    trainings: Vec<Training>,
    editions: Vec<Edition>,
    /// The year before last, last year, this year.
    years: [SchoolYear; 3],
    today: NaiveDate,
}

struct Generator {
    rng: Rng,
    ids: u64,
    base_ms: u64,
    /// Per year: deployment owners, label schools and cohort schools not used yet.
    owners: Vec<Vec<Owner>>,
    label_schools: Vec<Vec<usize>>,
    cohort_schools: Vec<Vec<usize>>,
    produced: [usize; 6],
    exhausted: [bool; 6],
    /// Admissible entries per edition and category, the first few: the awards.
    admissible: Vec<Vec<(Uuid, String)>>,
    sessions_held: i64,
    entries_submitted: i64,
    labels_awarded: i64,
    pupils_declared: i64,
}

fn metadata(role: &str, target: &str) -> Metadata {
    Metadata {
        actor_id: Some(format!("bench-{role}")),
        actor_role: Some(role.to_owned()),
        source_target: Some(target.to_owned()),
        ..Metadata::default()
    }
}

fn day(year: i32, month: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, d).unwrap_or_default()
}

/// 09:00 (+01:00) on `day`, plus `hours`.
fn at(on: NaiveDate, hours: u32) -> DateTime<FixedOffset> {
    let offset = FixedOffset::east_opt(3600).unwrap_or(chrono::Offset::fix(&chrono::Utc));
    offset
        .from_local_datetime(&on.and_hms_opt(9 + hours, 0, 0).unwrap_or_default())
        .single()
        .unwrap_or_default()
}

impl Generator {
    fn uuid(&mut self) -> Uuid {
        self.ids += 1;
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.rng.next().to_le_bytes());
        random[8..].copy_from_slice(&self.rng.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(self.base_ms + self.ids / 16, &random).into_uuid()
    }

    /// A school year: this one half of the time, else one of the two before.
    fn year_index(&mut self) -> usize {
        match self.rng.below(10) {
            0..=4 => 2,
            5..=7 => 1,
            _ => 0,
        }
    }

    /// A day of `year` up to `today` (from September to June).
    fn day_in(&mut self, w: &World, year: SchoolYear) -> NaiveDate {
        let first = year.first_day() + chrono::Days::new(1);
        let last = (year.first_day() + chrono::Days::new(300)).min(w.today);
        let span = (last - first).num_days().max(1) as usize;
        first + chrono::Days::new(self.rng.below(span) as u64)
    }

    fn person<'w>(&mut self, w: &'w World) -> &'w Person {
        self.rng.pick(&w.people)
    }

    fn school_of(&mut self, w: &World, department: usize) -> usize {
        let schools = &w.by_department[department];
        if schools.is_empty() {
            self.rng.below(w.schools.len())
        } else {
            *self.rng.pick(schools)
        }
    }

    /// The kind furthest behind its share of the events.
    fn next_kind(&self) -> Option<Kind> {
        KINDS
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.exhausted[*i])
            .min_by(|(i, (_, a)), (j, (_, b))| {
                let x = self.produced[*i] as f64 / a;
                let y = self.produced[*j] as f64 / b;
                x.total_cmp(&y)
            })
            .map(|(_, (kind, _))| *kind)
    }

    fn unit(&mut self, w: &World) -> Option<Unit> {
        loop {
            let kind = self.next_kind()?;
            let index = KINDS.iter().position(|(k, _)| *k == kind).unwrap_or(0);
            let unit = match kind {
                Kind::Session => Some(self.session(w)),
                Kind::Deployment => self.deployment(w),
                Kind::Label => self.label(w),
                Kind::Cohort => self.cohort(w),
                Kind::Action => Some(self.action(w)),
                Kind::Entry => Some(self.entry(w)),
            };
            match unit {
                Some(unit) => {
                    self.produced[index] += unit.events.len();
                    return Some(unit);
                }
                None => self.exhausted[index] = true,
            }
        }
    }

    /// A session of a training: planned, opened, registrations (the last ones
    /// waitlisted), then cancelled, still to come, or held with one withdrawal and a
    /// promotion, attendance per slot, locked (and archived in a past year).
    fn session(&mut self, w: &World) -> Unit {
        let training = self.rng.pick(&w.trainings);
        let training_id = training.id;
        let department = training
            .department
            .unwrap_or_else(|| self.rng.below(w.departments.len()));
        let y = self.year_index();
        let year = w.years[y];
        // This year, a quarter of the sessions are still to come.
        let upcoming = y == 2 && self.rng.chance(0.25);
        let on = if upcoming {
            w.today + chrono::Days::new(1 + self.rng.below(150) as u64)
        } else {
            self.day_in(w, year)
        };
        let slots = vec![
            Slot {
                starts_at: at(on, 0),
                ends_at: at(on, 3),
            },
            Slot {
                starts_at: at(on, 5),
                ends_at: at(on, 8),
            },
        ];
        let capacity = self.rng.range(20, 30);
        let mut events = vec![SessionEvent::SessionPlanned {
            training_id,
            department: Some(w.departments[department].clone()),
            schedule: Schedule {
                starts_at: at(on, 0),
                ends_at: at(on, 8),
                slots,
            },
            location: Some(format!("Salle {}", self.rng.range(1, 40))),
            remote_url: None,
            capacity,
            planned_minutes: 360,
            trainers: vec![],
            recorded_after_the_fact: false,
        }];
        events.push(SessionEvent::SessionOpened);
        let cancelled = self.rng.chance(0.07);
        let registrations = if cancelled {
            self.rng.below(capacity as usize)
        } else {
            capacity as usize + self.rng.below(5)
        };
        let mut confirmed = Vec::new();
        let mut waitlisted = Vec::new();
        for k in 0..registrations {
            let registration_id = self.uuid();
            let person = self.person(w);
            let school = self.rng.chance(0.85).then(|| {
                let s = self.school_of(w, department);
                w.schools[s].uai.clone()
            });
            let registrant = Registrant {
                person: person.id,
                display_name: person.name.clone(),
                email: person.email.clone(),
                school_uai: school,
                function: (*self
                    .rng
                    .pick(&["Enseignant", "CPE", "AED", "Infirmier", "Direction"]))
                .to_owned(),
            };
            let mode = if self.rng.chance(0.6) {
                RegistrationMode::Designated
            } else {
                RegistrationMode::Volunteer
            };
            if k < capacity as usize {
                confirmed.push(registration_id);
                events.push(SessionEvent::RegistrationConfirmed {
                    registration_id,
                    registrant,
                    mode,
                });
            } else {
                waitlisted.push(registration_id);
                events.push(SessionEvent::RegistrationWaitlisted {
                    registration_id,
                    registrant,
                    mode,
                });
            }
        }
        if cancelled {
            events.push(SessionEvent::SessionCancelled {
                reason: "Formateur indisponible".into(),
            });
        } else if !upcoming {
            if let (Some(&gone), Some(&next)) = (confirmed.first(), waitlisted.first()) {
                events.push(SessionEvent::RegistrationWithdrawn {
                    registration_id: gone,
                });
                events.push(SessionEvent::RegistrationPromoted {
                    registration_id: next,
                });
                confirmed.remove(0);
                confirmed.push(next);
            }
            events.push(SessionEvent::SessionClosed);
            events.push(SessionEvent::SessionHeld);
            for &registration_id in &confirmed {
                for slot_index in 0..2 {
                    let present = self.rng.chance(0.88);
                    events.push(SessionEvent::AttendanceRecorded {
                        registration_id,
                        slot_index,
                        status: if present {
                            AttendanceStatus::Present
                        } else {
                            AttendanceStatus::Absent
                        },
                        minutes: if present { 180 } else { 0 },
                    });
                }
            }
            events.push(SessionEvent::AttendanceLocked);
            if y < 2 {
                events.push(SessionEvent::SessionArchived);
            }
            if y == 2 {
                self.sessions_held += 1;
            }
        }
        let id = self.uuid();
        unit(
            training::SESSION_CATEGORY,
            id,
            &events,
            metadata("department_referent", "trainings"),
        )
    }

    fn deployment(&mut self, w: &World) -> Option<Unit> {
        let (y, owner) = self.take(|g| &mut g.owners)?;
        let year = w.years[y];
        let start = year.start_year();
        let owner = match owner {
            Owner::School(s) => DeploymentOwner::School {
                uai: w.schools[s].uai.clone(),
                department: w.departments[w.schools[s].department].clone(),
            },
            Owner::Circonscription(d, circonscription) => DeploymentOwner::Circonscription {
                circonscription,
                department: w.departments[d].clone(),
            },
        };
        let primary = matches!(owner, DeploymentOwner::Circonscription { .. });
        let mut events = vec![DeploymentEvent::DeploymentCreated {
            owner,
            school_year: year,
        }];
        if self.rng.chance(0.9) {
            events.push(DeploymentEvent::CharterSigned {
                signed_on: day(start, 6, self.rng.range(10, 30)),
            });
        }
        let mut members = Vec::new();
        for _ in 0..self.rng.range(3, 9) {
            let person = self.person(w);
            let trained = self.rng.chance(0.8);
            let member_id = self.uuid();
            members.push(member_id);
            events.push(DeploymentEvent::TeamMemberAdded(TeamMember {
                member_id,
                person: StaffPerson {
                    display_name: person.name.clone(),
                    email: person.email.clone(),
                },
                function: *self.rng.pick(&[
                    TeamFunction::Enseignant,
                    TeamFunction::Cpe,
                    TeamFunction::Infirmier,
                    TeamFunction::Psyen,
                    TeamFunction::Direction,
                    TeamFunction::AssistantSocial,
                ]),
                trained,
                training_minutes: if trained { 720 } else { 0 },
                mpp_trained: self.rng.chance(0.35),
                school_uai: None,
                function_label: None,
                carried_over: false,
            }));
        }
        if self.rng.chance(0.2)
            && let Some(&member_id) = members.first()
        {
            events.push(DeploymentEvent::TeamMemberUpdated {
                member_id,
                details: MemberDetails {
                    function: TeamFunction::Cpe,
                    function_label: None,
                    trained: true,
                    training_minutes: 720,
                    mpp_trained: true,
                },
            });
        }
        if self.rng.chance(0.85) {
            let person = self.person(w);
            events.push(DeploymentEvent::CoordinatorNamed {
                person: StaffPerson {
                    display_name: person.name.clone(),
                    email: person.email.clone(),
                },
                carried_over: false,
            });
        }
        if self.rng.chance(0.75) {
            events.push(DeploymentEvent::ProtocolRecorded {
                formalised_on: day(start, 9, self.rng.range(10, 28)),
                presented_on: self
                    .rng
                    .chance(0.85)
                    .then(|| day(start, 10, self.rng.range(1, 20))),
                presented_to: if primary {
                    ProtocolBody::ConseilEcole
                } else {
                    ProtocolBody::ConseilAdministration
                },
                carried_over: false,
            });
        }
        if self.rng.chance(0.8) {
            events.push(DeploymentEvent::LearningHoursPlanned {
                planned: true,
                hours: if self.rng.chance(0.8) { 10 } else { 6 },
            });
        }
        for _ in 0..self.rng.below(3) {
            let workshop_id = self.uuid();
            events.push(DeploymentEvent::ParentWorkshopRecorded {
                workshop_id,
                held_on: day(start, 11, self.rng.range(2, 28)),
                participants: Some(self.rng.range(8, 40)),
            });
        }
        let id = self.uuid();
        Some(unit(
            phare::DEPLOYMENT_CATEGORY,
            id,
            &events,
            metadata("school", "phare"),
        ))
    }

    /// A year and an item of `lists` (per year) not used yet; `None` once all are used.
    fn take<T>(&mut self, lists: impl Fn(&mut Self) -> &mut Vec<Vec<T>>) -> Option<(usize, T)> {
        let first = self.year_index();
        for y in [first, 2, 1, 0] {
            if let Some(item) = lists(self)[y].pop() {
                return Some((y, item));
            }
        }
        None
    }

    fn label(&mut self, w: &World) -> Option<Unit> {
        let (y, s) = self.take(|g| &mut g.label_schools)?;
        let school = &w.schools[s];
        let year = w.years[y];
        let target_level = *self.rng.pick(&LabelLevel::ALL);
        let checklists = LabelLevel::ALL
            .iter()
            .map(|level| LevelChecklist {
                level: *level,
                criteria: (1..=5)
                    .map(|n| CriterionSpec {
                        key: format!("{}_{n}", level.as_str()),
                        label: format!("Critère {n} du niveau {}", level.number()),
                        answered_by: Default::default(),
                    })
                    .collect(),
            })
            .collect();
        let mut events = vec![LabelEvent::LabelDrafted {
            school_uai: school.uai.clone(),
            department: w.departments[school.department].clone(),
            school_year: year,
            target_level,
            checklists,
        }];
        for n in 1..=5 {
            events.push(LabelEvent::CriterionAnswered {
                criterion: format!("{}_{n}", target_level.as_str()),
                met: self.rng.chance(0.9),
                evidence: None,
            });
        }
        if !(y == 2 && self.rng.chance(0.15)) {
            events.push(LabelEvent::LabelSubmitted);
            events.push(LabelEvent::LabelReviewStarted);
            match self.rng.below(10) {
                0..=5 => {
                    events.push(LabelEvent::LabelAwarded {
                        level: target_level,
                        reason: "Critères remplis".into(),
                    });
                    if y == 2 {
                        self.labels_awarded += 1;
                    }
                }
                6 | 7 => events.push(LabelEvent::LabelNotAwarded {
                    reason: "Protocole non présenté".into(),
                }),
                _ => events.push(LabelEvent::LabelReturned {
                    reason: "Pièces manquantes".into(),
                }),
            }
        }
        let id = self.uuid();
        Some(unit(
            phare::LABEL_CATEGORY,
            id,
            &events,
            metadata("school", "phare"),
        ))
    }

    fn cohort(&mut self, w: &World) -> Option<Unit> {
        let (y, s) = self.take(|g| &mut g.cohort_schools)?;
        let school = &w.schools[s];
        let year = w.years[y];
        let start = year.start_year();
        let kind = CohortKind::for_school(school.kind)[0];
        let person = self.person(w);
        let mut events = vec![CohortEvent::CohortCreated {
            school_uai: school.uai.clone(),
            department: w.departments[school.department].clone(),
            school_year: year,
            kind,
            referent: Referent {
                display_name: person.name.clone(),
                email: person.email.clone(),
            },
        }];
        let counts: std::collections::BTreeMap<ClassLevel, u32> = kind
            .levels()
            .iter()
            .map(|level| (*level, self.rng.range(2, 6)))
            .collect();
        let total: u32 = counts.values().sum();
        events.push(CohortEvent::CountsSet { counts });
        if self.rng.chance(0.85) {
            events.push(CohortEvent::CohortDeclared {
                declared_on: day(start, 10, self.rng.range(1, 28)),
            });
            if y == 2 && kind.is_pupils() {
                self.pupils_declared += i64::from(total);
            }
            if self.rng.chance(0.6) {
                let entry_id = self.uuid();
                events.push(CohortEvent::TrainingRecorded(CohortTraining {
                    entry_id,
                    session_id: None,
                    held_on: day(start, 11, self.rng.range(2, 20)),
                    minutes: 180,
                    title: "Formation des ambassadeurs".into(),
                    referent_minutes: None,
                }));
            }
            if self.rng.chance(0.5) {
                events.push(CohortEvent::CohortActivated {
                    activated_on: day(start, 11, 25),
                });
            }
        }
        let id = self.uuid();
        Some(unit(
            cohort::CATEGORY,
            id,
            &events,
            metadata("school", "cohorts"),
        ))
    }

    fn action(&mut self, w: &World) -> Unit {
        let y = self.year_index();
        let year = w.years[y];
        let first = self.rng.below(w.schools.len());
        let department = w.schools[first].department;
        let mut schools = vec![first];
        if self.rng.chance(0.1) {
            let other = self.school_of(w, department);
            if other != first {
                schools.push(other);
            }
        }
        let campaign = if self.rng.chance(0.8) {
            Campaign::NationalDay
        } else {
            Campaign::YearRound
        };
        let date = match campaign {
            Campaign::NationalDay => day(year.start_year(), 11, self.rng.range(5, 9)),
            Campaign::YearRound => self.day_in(w, year),
        };
        let mut types: Vec<ActionType> = (0..self.rng.range(1, 3))
            .map(|_| *self.rng.pick(ActionType::ALL))
            .collect();
        types.sort();
        types.dedup();
        let details = ActionDetails {
            schools: schools
                .iter()
                .map(|&s| ActionSchool {
                    uai: w.schools[s].uai.clone(),
                    department: w.departments[department].clone(),
                })
                .collect(),
            date,
            types,
            audience_levels: vec![*self.rng.pick(AudienceLevel::ALL)],
            pupils_reached: self.rng.range(20, 400),
            adults_reached: self.rng.range(0, 30),
            partners: vec![],
            description: "Action de sensibilisation au harcèlement".into(),
            held: self.rng.chance(0.9),
        };
        let mut events = vec![ActionEvent::ActionDeclared {
            school_year: year,
            campaign,
            details,
        }];
        if self.rng.chance(0.9) {
            events.push(ActionEvent::ActionSubmitted);
            if self.rng.chance(0.75) {
                events.push(ActionEvent::ActionValidated);
                if self.rng.chance(0.6) {
                    events.push(ActionEvent::ActionPublished);
                }
            }
        }
        let id = self.uuid();
        unit(
            national_day::ACTION_CATEGORY,
            id,
            &events,
            metadata("school", "national-day"),
        )
    }

    fn entry(&mut self, w: &World) -> Unit {
        let y = self.year_index();
        let edition = &w.editions[y];
        let s = self.rng.below(w.schools.len());
        let school = &w.schools[s];
        let level = ContestLevel::of_school(school.kind);
        let medium = if self.rng.chance(0.6) {
            Medium::Affiche
        } else {
            Medium::Video
        };
        let category = format!("{}_{}", level.as_str(), medium.as_str());
        let person = self.person(w);
        let pupils = self.rng.range(2, 28);
        let mut events = vec![EntryEvent::EntryCreated {
            contest_id: edition.id,
            school_uai: school.uai.clone(),
            department: w.departments[school.department].clone(),
            details: EntryDetails {
                category: category.clone(),
                special_prizes: vec![],
                title: format!("Ensemble contre le harcèlement n° {}", self.ids),
                group: Group {
                    label: "Classe".into(),
                    levels: vec![],
                    pupil_count: pupils,
                    adult_count: self.rng.range(1, 3),
                },
                project_sheet: "Une production réalisée en classe.".into(),
            },
            responsible: Responsible {
                display_name: person.name.clone(),
                email: person.email.clone(),
            },
        }];
        let file_id = self.uuid();
        let file_type = if medium == Medium::Video {
            FileType::Mp4
        } else {
            FileType::Pdf
        };
        events.push(EntryEvent::FileAttached(EntryFile {
            file_id,
            sha256: format!(
                "{:016x}{:016x}{:016x}{:016x}",
                self.rng.next(),
                self.rng.next(),
                self.rng.next(),
                self.rng.next()
            ),
            bytes: self.rng.next() % 50_000_000,
            file_type,
            duration_seconds: (medium == Medium::Video).then(|| self.rng.range(30, 180)),
        }));
        events.push(EntryEvent::Attested(Attestations {
            image_rights: true,
            third_party_rights: true,
            republic_values: true,
            rights_grant: true,
            attested_by: "Responsable du groupe".into(),
        }));
        // A few drafts never submitted, a few entries withdrawn.
        if !self.rng.chance(0.08) {
            events.push(EntryEvent::EntrySubmitted {
                extended_until: None,
            });
            if self.rng.chance(0.03) {
                events.push(EntryEvent::EntryWithdrawn);
            } else {
                if y == 2 {
                    self.entries_submitted += 1;
                }
                if self.rng.chance(0.9) {
                    let admissible = self.rng.chance(0.85);
                    events.push(EntryEvent::AdmissibilityDecided {
                        admissible,
                        reason: (!admissible).then(|| {
                            (*self.rng.pick(&[
                                "Fichier illisible",
                                "Fichier illisible ",
                                "Vidéo trop longue",
                                "Droits à l'image non attestés",
                                "Hors sujet",
                            ]))
                            .to_owned()
                        }),
                    });
                    if admissible {
                        for _ in 0..2 {
                            let juror_id = self.uuid();
                            events.push(EntryEvent::JurorAssigned { juror_id });
                            events.push(EntryEvent::EntryScored {
                                juror_id,
                                scores: [("message", 14u8), ("originalite", 12), ("forme", 15)]
                                    .iter()
                                    .map(|(k, v)| ((*k).to_owned(), *v))
                                    .collect(),
                            });
                        }
                    }
                }
            }
        }
        let id = self.uuid();
        let admissible = events.iter().any(|e| {
            matches!(
                e,
                EntryEvent::AdmissibilityDecided {
                    admissible: true,
                    ..
                }
            )
        });
        if admissible
            && self.admissible[y]
                .iter()
                .filter(|(_, c)| *c == category)
                .count()
                < 3
        {
            self.admissible[y].push((id, category));
        }
        unit(
            contest::ENTRY_CATEGORY,
            id,
            &events,
            metadata("school", "contests"),
        )
    }

    /// The juries' work on the past editions: a laureate and mentions per category, the
    /// results published; the oldest campaign closed.
    fn awards(&mut self, w: &World) -> Vec<Unit> {
        let mut units = Vec::new();
        for (y, edition) in w.editions.iter().enumerate().take(2) {
            let mut events = Vec::new();
            let mut laureate_of = std::collections::HashSet::new();
            for (entry_id, category) in &self.admissible[y] {
                let kind = if laureate_of.insert(category.clone()) {
                    AwardKind::Laureate
                } else {
                    AwardKind::Mention
                };
                events.push(ContestEvent::AwardGranted {
                    entry_id: *entry_id,
                    category: category.clone(),
                    kind,
                });
            }
            events.push(ContestEvent::ResultsPublished { palmares: vec![] });
            if y == 0 {
                events.push(ContestEvent::CampaignClosed);
            }
            units.push(Unit {
                stream: StreamId::new(contest::EDITION_CATEGORY, edition.id)
                    .expect("a valid stream id"),
                expected: ExpectedVersion::Any,
                events: events.iter().map(encode).collect(),
                metadata: metadata("pole_manager", "contests"),
            });
        }
        units
    }
}

fn unit<E: Serialize>(category: &str, id: Uuid, events: &[E], metadata: Metadata) -> Unit {
    Unit {
        stream: StreamId::new(category, id).expect("a valid stream id"),
        expected: ExpectedVersion::NoStream,
        events: events.iter().map(encode).collect(),
        metadata,
    }
}

/// Appends `units`, `APPENDERS` at a time; counts the events in `done`.
struct Appender {
    store: EventStore,
    running: JoinSet<anyhow::Result<()>>,
    done: Arc<AtomicUsize>,
}

impl Appender {
    async fn push(&mut self, unit: Unit) -> anyhow::Result<()> {
        while self.running.len() >= APPENDERS {
            if let Some(finished) = self.running.join_next().await {
                finished??;
            }
        }
        let (store, done) = (self.store.clone(), self.done.clone());
        self.running.spawn(async move {
            let n = unit.events.len();
            store
                .append(&unit.stream, unit.expected, unit.events, &unit.metadata)
                .await
                .with_context(|| format!("ajout au flux {}", unit.stream))?;
            done.fetch_add(n, Ordering::Relaxed);
            Ok(())
        });
        Ok(())
    }

    async fn finish(&mut self) -> anyhow::Result<()> {
        while let Some(finished) = self.running.join_next().await {
            finished??;
        }
        Ok(())
    }
}

async fn generate(store: &EventStore, key: &MasterKey, sizes: &Sizes) -> anyhow::Result<Generated> {
    let started = Instant::now();
    let today = Utc::now()
        .with_timezone(&chrono_offset_paris())
        .date_naive();
    let current = SchoolYear::containing(today);
    let years = [current.previous().previous(), current.previous(), current];

    // Schools, through the national-directory import as the directory imports them.
    let departments: Vec<DepartmentCode> = DEPARTMENTS
        .iter()
        .map(|d| DepartmentCode::parse(d))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let academy = Academy {
        name: "France".into(),
        departments: departments.clone(),
    };
    let file = crate::bench::national_file_of(sizes.schools, "", &DEPARTMENTS);
    let parsed =
        pharos_directory::import::parse(file.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut schools = Vec::with_capacity(sizes.schools);
    for line in &parsed.lines {
        let record = line
            .input
            .clone()
            .map_err(|e| anyhow::anyhow!("ligne {} : {e}", line.number))?
            .check(&academy)
            .map_err(|e| anyhow::anyhow!("ligne {} : {e:?}", line.number))?;
        let department = departments
            .iter()
            .position(|d| *d == record.department)
            .context("département inconnu")?;
        schools.push(School {
            uai: record.uai,
            department,
            kind: record.kind,
            circonscription: record.circonscription,
        });
    }
    let report =
        pharos_directory::import::run(store, &academy, parsed, &pharos::operator("bench"), || {})
            .await;
    if report.imported != sizes.schools {
        bail!(
            "{} établissements importés sur {} (refus : {:?})",
            report.imported,
            sizes.schools,
            report.refused.first()
        );
    }
    let schools_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "schools: {} imported in {schools_seconds:.1} s ({:.0}/s)",
        sizes.schools,
        sizes.schools as f64 / schools_seconds.max(1e-9)
    );
    let mut by_department = vec![Vec::new(); departments.len()];
    for (i, school) in schools.iter().enumerate() {
        by_department[school.department].push(i);
    }

    // People: registrants, team members, referents, each with a key in the vault; their
    // name and address sealed once and carried by every event naming them.
    let started_people = Instant::now();
    let vault = Arc::new(Vault::open(store, key.clone()).await?);
    let people_count = (sizes.events / 200).clamp(100, 50_000);
    let ids: Vec<PersonId> = {
        use futures::StreamExt;
        futures::stream::iter(0..people_count)
            .map(|i| {
                let vault = vault.clone();
                async move {
                    vault
                        .person(&format!("personne.{i}@bench.education.fr"))
                        .await
                }
            })
            .buffered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?
    };
    let mut people = Vec::with_capacity(people_count);
    for chunk in ids.chunks(500) {
        let names: Vec<(String, String)> = chunk
            .iter()
            .enumerate()
            .map(|(i, _)| {
                (
                    format!("Personne {}", people.len() + i),
                    format!("personne.{}@bench.education.fr", people.len() + i),
                )
            })
            .collect();
        let fields: Vec<(PersonId, &str)> = chunk
            .iter()
            .zip(&names)
            .flat_map(|(p, (name, email))| [(*p, name.as_str()), (*p, email.as_str())])
            .collect();
        let sealed = vault.seal_all(&fields).await?;
        for (p, pair) in chunk.iter().zip(sealed.chunks(2)) {
            people.push(Person {
                id: *p,
                name: pair[0].clone(),
                email: pair[1].clone(),
            });
        }
    }
    eprintln!(
        "people: {people_count} in the vault in {:.1} s",
        started_people.elapsed().as_secs_f64()
    );

    let mut g = Generator {
        rng: Rng(SEED),
        ids: 0,
        base_ms: u64::try_from(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .map_or(0, |t| t.timestamp_millis()),
        )
        .unwrap_or(0),
        owners: Vec::new(),
        label_schools: Vec::new(),
        cohort_schools: Vec::new(),
        produced: [0; 6],
        exhausted: [false; 6],
        admissible: vec![Vec::new(); 3],
        sessions_held: 0,
        entries_submitted: 0,
        labels_awarded: 0,
        pupils_declared: 0,
    };
    let mut owners: Vec<Owner> = (0..schools.len()).map(Owner::School).collect();
    let mut circonscriptions: Vec<(usize, String)> = schools
        .iter()
        .filter_map(|s| s.circonscription.clone().map(|c| (s.department, c)))
        .collect();
    circonscriptions.sort();
    circonscriptions.dedup();
    owners.extend(
        circonscriptions
            .into_iter()
            .map(|(d, c)| Owner::Circonscription(d, c)),
    );
    for _ in 0..3 {
        let mut list = owners.clone();
        g.rng.shuffle(&mut list);
        g.owners.push(list);
        let mut list: Vec<usize> = (0..schools.len()).collect();
        g.rng.shuffle(&mut list);
        g.label_schools.push(list);
        let mut list: Vec<usize> = (0..schools.len()).collect();
        g.rng.shuffle(&mut list);
        g.cohort_schools.push(list);
    }

    // Trainings (about 15 sessions each) and the contest's editions come first: sessions
    // read their training's topic, entries their edition's year.
    let sessions_expected = (sizes.events as f64 * KINDS[0].1 / 85.0) as usize;
    let trainings_count = (sessions_expected / 15).max(10);
    let mut trainings = Vec::with_capacity(trainings_count);
    let done = Arc::new(AtomicUsize::new(sizes.schools));
    let mut appender = Appender {
        store: store.clone(),
        running: JoinSet::new(),
        done: done.clone(),
    };
    const TOPICS: [(Topic, &str); 6] = [
        (Topic::Mpp, "Méthode de la préoccupation partagée"),
        (Topic::EquipeRessource, "Formation des équipes ressources"),
        (Topic::TousPersonnels, "Prévenir le harcèlement"),
        (Topic::Ambassadeurs, "Former les ambassadeurs"),
        (Topic::Referents, "Référents harcèlement"),
        (Topic::Parents, "Associer les parents"),
    ];
    for i in 0..trainings_count {
        let id = g.uuid();
        let (topic, title) = TOPICS[i % TOPICS.len()];
        // One in ten academy-wide (its sessions in every department).
        let department = (i % 10 != 0).then(|| g.rng.below(departments.len()));
        trainings.push(Training { id, department });
        appender
            .push(unit(
                training::TRAINING_CATEGORY,
                id,
                &[TrainingEvent::TrainingCreated {
                    title: format!("{title} — groupe {i}"),
                    topic,
                    audience: "Personnels des établissements".into(),
                    department: department.map(|d| departments[d].clone()),
                    description: String::new(),
                    gaia_reference: None,
                }],
                metadata("department_referent", "trainings"),
            ))
            .await?;
    }
    let mut editions = Vec::new();
    for (n, year) in years.iter().enumerate() {
        let id = g.uuid();
        let start = year.start_year();
        let mut listed = Vec::new();
        for level in [
            ContestLevel::Ecole,
            ContestLevel::College,
            ContestLevel::Lycee,
            ContestLevel::Periscolaire,
        ] {
            for medium in [Medium::Affiche, Medium::Video] {
                let category = ContestCategory {
                    level,
                    medium,
                    label: format!("{} — {}", level.label(), medium.as_str()),
                };
                listed.push(category);
            }
        }
        let utc =
            |on: NaiveDate| Utc.from_utc_datetime(&on.and_hms_opt(22, 59, 0).unwrap_or_default());
        appender
            .push(unit(
                contest::EDITION_CATEGORY,
                id,
                &[ContestEvent::EditionCreated {
                    school_year: *year,
                    edition: 13 + n as u32,
                    opens_at: utc(day(start, 9, 15)),
                    submission_deadline: utc(day(start + 1, 3, 15)),
                    dates: EditionDates {
                        jury_on: Some(day(start + 1, 4, 10)),
                        ..EditionDates::default()
                    },
                    categories: listed,
                    special_prizes: vec![],
                    rules: ContestRules {
                        media: vec![Medium::Affiche, Medium::Video],
                        max_video_seconds: 180,
                        max_file_bytes: 200_000_000,
                        file_types: FileType::ALL.to_vec(),
                        max_entries_per_group: 1,
                        nominees_per_category: 2,
                    },
                    criteria: vec![
                        Criterion {
                            key: "message".into(),
                            label: "Message".into(),
                            weight: 2,
                        },
                        Criterion {
                            key: "originalite".into(),
                            label: "Originalité".into(),
                            weight: 1,
                        },
                        Criterion {
                            key: "forme".into(),
                            label: "Forme".into(),
                            weight: 1,
                        },
                    ],
                }],
                metadata("pole_manager", "contests"),
            ))
            .await?;
        editions.push(Edition { id });
    }
    appender.finish().await?;
    let world = World {
        schools,
        by_department,
        departments,
        people,
        trainings,
        editions,
        years,
        today,
    };

    // The rest of the log, with a progress line every few seconds.
    let target = sizes.events;
    let started_units = Instant::now();
    let base = done.load(Ordering::Relaxed);
    let progress = {
        let done = done.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let now = done.load(Ordering::Relaxed);
                let elapsed = started_units.elapsed().as_secs_f64();
                eprintln!(
                    "  generating: {now}/{target} events ({:.0}%), {:.0} events/s",
                    now as f64 * 100.0 / target as f64,
                    (now - base) as f64 / elapsed.max(1e-9)
                );
            }
        })
    };
    let mut queued = base;
    let mut failed = None;
    while queued < target {
        let Some(unit) = g.unit(&world) else { break };
        queued += unit.events.len();
        if let Err(e) = appender.push(unit).await {
            failed = Some(e);
            break;
        }
    }
    if failed.is_none() {
        for unit in g.awards(&world) {
            if let Err(e) = appender.push(unit).await {
                failed = Some(e);
                break;
            }
        }
    }
    let finished = appender.finish().await;
    progress.abort();
    if let Some(e) = failed {
        return Err(e);
    }
    finished?;
    let appended = done.load(Ordering::Relaxed);
    let units_seconds = started_units.elapsed().as_secs_f64();
    // PostgreSQL: every append readable before the rebuild reads the log.
    if !store.settle(Duration::from_secs(60)).await? {
        bail!("les événements ajoutés ne sont pas devenus lisibles en 60 s");
    }
    if store.backend_name() == "postgres" {
        // A production log has planner statistics; one loaded a minute ago has none.
        on_db!(&store.db(), |pool| sqlx::query("ANALYZE events")
            .execute(pool)
            .await
            .map(|_| ()))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let by_kind: serde_json::Map<String, Value> = KINDS
        .iter()
        .zip(g.produced)
        .map(|((kind, _), n)| {
            let name = match kind {
                Kind::Session => "sessions",
                Kind::Deployment => "deployments",
                Kind::Label => "labels",
                Kind::Cohort => "cohorts",
                Kind::Action => "actions",
                Kind::Entry => "entries",
            };
            (name.to_owned(), json!(n))
        })
        .collect();
    let rate = (appended - base) as f64 / units_seconds.max(1e-9);
    eprintln!(
        "generation: {appended} events in {seconds:.1} s (domain events {rate:.0} events/s over {APPENDERS} concurrent appends); \
         current year {current}: {} sessions held, {} entries submitted, {} labels awarded",
        g.sessions_held, g.entries_submitted, g.labels_awarded
    );
    Ok(Generated {
        figures: json!({
            "events": appended,
            "people": people_count,
            "trainings": trainings_count,
            "events_by_kind": by_kind,
            "seconds": seconds,
            "events_per_s": rate.round(),
        }),
        year: current,
        sessions_held: g.sessions_held,
        entries_submitted: g.entries_submitted,
        labels_awarded: g.labels_awarded,
        pupils_declared: g.pupils_declared,
    })
}

/// Paris in winter: the day a bench runs is the academy's (a few hours' error at most
/// around midnight, which moves nothing the bench checks).
fn chrono_offset_paris() -> FixedOffset {
    FixedOffset::east_opt(3600).unwrap_or(chrono::Offset::fix(&chrono::Utc))
}

// ---------------------------------------------------------------------------------------
// Rebuild

/// Every projection rebuilt from the start of the log, `jobs` at a time, as `pharos
/// rebuild --jobs` does; the previous generations dropped at once.
async fn rebuild(store: &EventStore, jobs: usize) -> anyhow::Result<Value> {
    use futures::StreamExt as _;
    let log: i64 = on_db!(&store.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM events"
    )
    .fetch_one(pool)
    .await)?;
    eprintln!("rebuild, {jobs} at a time: {log} events in the log");
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let last = std::sync::Mutex::new(Instant::now());
    let progress =
        |projection: &'static pharos_read_model::Descriptor, applied: usize, total: u64| {
            let mut last = last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.elapsed() >= Duration::from_secs(5) {
                *last = Instant::now();
                eprintln!("  {}: {applied}/{total} events", projection.name);
            }
        };
    let mut projections = serde_json::Map::new();
    let rebuilds = pharos_read_model::rebuild_each(
        store,
        pharos_read_model::tables::all(),
        jobs,
        false,
        &progress,
    )
    .await?;
    let mut rebuilds = std::pin::pin!(rebuilds);
    while let Some((projection, done)) = rebuilds.next().await {
        let name = projection.name;
        let done = done.map_err(|e| anyhow::anyhow!("reconstruction de « {name} » : {e}"))?;
        let seconds = done.elapsed.as_secs_f64();
        let rate = done.events as f64 / seconds.max(1e-9);
        eprintln!(
            "rebuild {name}: {} events in {seconds:.2} s ({rate:.0} events/s)",
            done.events
        );
        projections.insert(
            name.to_owned(),
            json!({ "events": done.events, "seconds": seconds, "events_per_s": rate.round() }),
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = cpu_seconds();
    let (own, postgres) = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
    let rate = log as f64 / seconds.max(1e-9);
    eprintln!(
        "rebuild of every projection, {jobs} at a time: {seconds:.1} s, {rate:.0} events/s (events in the log / seconds); \
         CPU: this process {own:.1} s, PostgreSQL on this machine {postgres:.1} s, \
         {:.2} cores busy of {}",
        (own + postgres) / seconds.max(1e-9),
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    Ok(json!({
        "jobs": jobs,
        "log_events": log,
        "seconds": seconds,
        "events_per_s": rate.round(),
        "cpu_seconds": { "pharos": own, "postgres_local": postgres },
        "projections": projections,
    }))
}

/// One rebuild as it was; several with each one's speed against the first's, measured in
/// the same run.
fn rebuild_runs(mut runs: Vec<Value>) -> Value {
    if runs.len() == 1 {
        return runs.remove(0);
    }
    let first = runs
        .first()
        .and_then(|r| r["seconds"].as_f64())
        .unwrap_or(0.0);
    let first_jobs = runs.first().map(|r| r["jobs"].clone()).unwrap_or_default();
    for run in &mut runs {
        let seconds = run["seconds"].as_f64().unwrap_or(0.0);
        let speedup = first / seconds.max(1e-9);
        eprintln!(
            "rebuild, {} at a time: {speedup:.2}x the speed of {first_jobs} at a time",
            run["jobs"]
        );
        run["speedup_vs_first"] = json!((speedup * 100.0).round() / 100.0);
    }
    Value::Array(runs)
}

// ---------------------------------------------------------------------------------------
// HTTP

pub(crate) const DASHBOARD: &str = "query($y: String!, $d: String, $at: DateTime) {
  dashboard(schoolYear: $y, department: $d, asOf: $at) {
    trainedTeams { definitionVersion schools { value count of byDepartment { key count of } byKind { key count of } } circonscriptions { count of } }
    ambassadors { schools { count of } pupils { total byDepartment { key total } } parents { total } }
    labels { byLevel { level count previousYear change } labelled { value count of byKind { key count of } } }
    phareSteps { charterInForce { count of } protocolPresented { count of } learningHoursPlanned { count of } parentWorkshopHeld { count of byDepartment { key count of } } }
    nationalDay { schoolsWithAction { value count of byDepartment { key count of } } reports { count of } actions pupilsReached actionsByType { key total } }
    contest { entries { total byDepartment { key total } byKind { key total } } participation { count of } inadmissible { total } inadmissibleReasons(first: 5) { reason count } laureates { total } trend { entries entriesChange participation { count of } laureates } }
    trainings { sessionsPlanned sessionsHeld sessionsCancelled minutesDelivered hoursDelivered attendanceRate { value count of } mppTrained schoolCoverage { count of byDepartment { key count of } } }
    overdue { reportDeadline missingReports { count of } undeclaredTeams { count of } undeclaredCirconscriptionTeams { count of } remindersPending remindersFailed unfinishedEntries { total } }
  }
}";

pub(crate) const SCHOOLS: &str = "query($s: String!, $after: String) {
  schools(search: $s, first: 50, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { uai name kind department circonscription }
  }
}";

/// The groups the generator fed: the path of a count in the dashboard, that must not
/// be zero.
const FED: [(&str, &[&str]); 8] = [
    ("trainedTeams", &["trainedTeams", "schools", "count"]),
    ("ambassadors", &["ambassadors", "pupils", "total"]),
    ("labels", &["labels", "labelled", "count"]),
    ("phareSteps", &["phareSteps", "charterInForce", "count"]),
    (
        "nationalDay",
        &["nationalDay", "schoolsWithAction", "count"],
    ),
    ("contest", &["contest", "entries", "total"]),
    ("trainings", &["trainings", "sessionsHeld"]),
    ("trainings.mppTrained", &["trainings", "mppTrained"]),
];

fn count_at(dashboard: &Value, path: &[&str]) -> i64 {
    path.iter()
        .fold(dashboard, |v, k| &v[*k])
        .as_i64()
        .unwrap_or(0)
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    /// A GraphQL request: its `data`, or an error when the answer is not 200 or carries
    /// `errors`.
    async fn graphql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("POST /graphql : {status} {body}");
        }
        if body
            .get("errors")
            .and_then(Value::as_array)
            .is_some_and(|e| !e.is_empty())
        {
            bail!("POST /graphql a répondu des erreurs : {}", body["errors"]);
        }
        Ok(body["data"].clone())
    }
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let rank = ((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1);
        sorted.get(rank).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    fn figures(&self) -> Value {
        let mean = self.0.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0
            / self.0.len().max(1) as f64;
        json!({
            "requests": self.0.len(),
            "p50_ms": (self.quantile(0.50) * 100.0).round() / 100.0,
            "p99_ms": (self.quantile(0.99) * 100.0).round() / 100.0,
            "max_ms": (self.quantile(1.0) * 100.0).round() / 100.0,
            "mean_ms": (mean * 100.0).round() / 100.0,
        })
    }
}

/// Where a phase's work was done, per request: this process (server and clients) and
/// PostgreSQL on this machine, in milliseconds of CPU.
struct CpuPerRequest {
    pharos_ms: f64,
    postgres_ms: f64,
}

impl CpuPerRequest {
    /// Since `before` ([`cpu_seconds`]), over `requests`.
    fn since(before: (f64, f64), requests: usize) -> Self {
        let after = cpu_seconds();
        let per_request = |seconds: f64| seconds * 1000.0 / requests.max(1) as f64;
        Self {
            pharos_ms: per_request(after.0 - before.0),
            postgres_ms: per_request(after.1 - before.1),
        }
    }

    fn figures(&self) -> Value {
        json!({
            "pharos": (self.pharos_ms * 10.0).round() / 10.0,
            "postgres_local": (self.postgres_ms * 10.0).round() / 10.0,
        })
    }
}

/// `total` requests `call(n)` from `clients` concurrent clients: each answer and its time.
async fn concurrently<F, Fut>(
    clients: usize,
    total: usize,
    call: F,
) -> anyhow::Result<(Latencies, Vec<(usize, Value)>)>
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Value>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..clients {
        let (next, call) = (next.clone(), call.clone());
        tasks.spawn(async move {
            let mut found = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(found);
                }
                let t0 = Instant::now();
                let answer = call(n).await?;
                found.push((t0.elapsed(), n, answer));
            }
        });
    }
    let mut latencies = Vec::with_capacity(total);
    let mut answers = Vec::with_capacity(total);
    while let Some(done) = tasks.join_next().await {
        for (elapsed, n, answer) in done?? {
            latencies.push(elapsed);
            answers.push((n, answer));
        }
    }
    Ok((Latencies(latencies), answers))
}

async fn serve_and_query(
    url: &str,
    key: MasterKey,
    clients: usize,
    generated: &Generated,
) -> anyhow::Result<Value> {
    // Bound first: the pages ask the API at this address.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let raw = RawConfig {
        database_url: url.to_owned(),
        targets: "directory,read-model,pages".into(),
        api_url: Some(base.clone()),
        max_connections: (clients as u32 * 2 + 8).min(100),
        admin_email: Some(ADMIN.into()),
        admin_password: Some(PASSWORD.into()),
        academy_name: "France".into(),
        academy_departments: DEPARTMENTS.join(","),
        // PostgreSQL asks for the key in the configuration (every process shares it).
        master_key: Some(key.to_hex().as_str().to_owned()),
        // A slow dashboard is measured, not cut off.
        request_timeout_seconds: 600,
        // As the server reads it: 0 measures the pages without it.
        dashboards_kept_warm: std::env::var("PHAROS_DASHBOARDS_KEPT_WARM")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(RawConfig::default().dashboards_kept_warm),
        ..RawConfig::default()
    };
    let mut config = raw
        .check()
        .map_err(|errors| anyhow::anyhow!("{}", errors.join(" ; ")))?;
    config.master_key = KeySource::Value(key);
    let at_once = pharos_read_model::dashboard::dashboards_at_once(
        config.max_connections as usize,
        config.http.dashboards_at_once,
    );
    eprintln!(
        "dashboards computed at once: {at_once} (dashboards_at_once), pool of {} connections; dashboards kept warm: {} (dashboards_kept_warm)",
        config.max_connections, config.http.dashboards_kept_warm
    );
    let started = Instant::now();
    let pharos = pharos::assemble(&config, Arc::new(SystemClock))
        .await
        .context("assemblage de l'application de mesure")?;
    eprintln!(
        "application assembled (directory, read-model, pages) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let result = query(&pharos, listener, base, clients, generated).await;
    pharos.stop().await;
    result.map(|mut served| {
        served["dashboards_at_once"] = at_once.into();
        served
    })
}

async fn query(
    pharos: &pharos::Pharos,
    listener: tokio::net::TcpListener,
    base: String,
    clients: usize,
    generated: &Generated,
) -> anyhow::Result<Value> {
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
    let http = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut request = http.post(format!("{base}{path}")).json(&body);
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
    let admin = post(
        "/api/v1/auth/login",
        None,
        json!({ "email": ADMIN, "password": PASSWORD }),
    )
    .await?;
    let admin = admin["token"].as_str().unwrap_or_default().to_owned();
    let created = post(
        "/api/v1/users",
        Some(&admin),
        json!({ "email": MANAGER, "display_name": "Pôle", "role": "pole_manager", "password": PASSWORD }),
    )
    .await;
    // A reused database has its pole manager from the first run.
    if let Err(e) = created
        && !e.to_string().starts_with("409")
    {
        return Err(e);
    }
    let login = post(
        "/api/v1/auth/login",
        None,
        json!({ "email": MANAGER, "password": PASSWORD }),
    )
    .await?;
    let client = Client {
        http: http.clone(),
        url: format!("{base}/graphql"),
        token: login["token"]
            .as_str()
            .context("pas de jeton à la connexion du pôle")?
            .to_owned(),
    };
    let year = generated.year.to_string();
    let page = DashboardPage {
        http: http.clone(),
        base: base.clone(),
        cookie: format!("{SESSION_COOKIE}={}", client.token),
        token: client.token.clone(),
        year: year.clone(),
    };
    // The pole's first look after a start, before any other request of the read model:
    // its page finds the academy's dashboard computed only if the server kept it warm
    // by itself.
    tokio::time::sleep(FIRST_LOOK).await;
    let t0 = Instant::now();
    page.get(None).await?;
    let first_look_ms = t0.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "dashboard page, whole set, the pole's first look {} s after the start (nothing asked before): {first_look_ms:.0} ms",
        FIRST_LOOK.as_secs()
    );
    let now = Utc::now();
    let as_of = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // An instant of its own per request (`n` seconds after `now`, past every generated
    // fact): no answer of an earlier request can be reused, each one is computed.
    let own_instant = move |n: usize| {
        (now + chrono::TimeDelta::seconds(i64::try_from(n).unwrap_or(0) + 1))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };

    // The whole set once, checked against what was generated.
    let t0 = Instant::now();
    let first = client
        .graphql(DASHBOARD, json!({ "y": year, "at": as_of }))
        .await?;
    let first_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let board = &first["dashboard"];
    for (group, path) in FED {
        if count_at(board, path) == 0 {
            bail!(
                "le tableau de bord de l'ensemble indique 0 pour « {group} » ({path:?}) : des données ont pourtant été générées pour ce groupe"
            );
        }
    }
    let held_labels: i64 = board["labels"]["byLevel"]
        .as_array()
        .map(|levels| {
            levels
                .iter()
                .map(|l| l["count"].as_i64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    let checks = [
        (
            "trainings.sessionsHeld",
            count_at(board, &["trainings", "sessionsHeld"]),
            generated.sessions_held,
        ),
        (
            "contest.entries.total",
            count_at(board, &["contest", "entries", "total"]),
            generated.entries_submitted,
        ),
        (
            "labels.byLevel (somme)",
            held_labels,
            generated.labels_awarded,
        ),
        (
            "ambassadors.pupils.total (cohortes d'élèves)",
            count_at(board, &["ambassadors", "pupils", "total"]),
            generated.pupils_declared,
        ),
    ];
    for (what, found, expected) in checks {
        if found != expected {
            bail!("tableau de bord de l'ensemble : {what} = {found}, {expected} générés");
        }
    }
    eprintln!(
        "dashboard (whole set, first request): {first_ms:.0} ms — {} sessions held, {} entries, {} labels awarded, {} schools with a national-day action, as generated",
        generated.sessions_held,
        generated.entries_submitted,
        generated.labels_awarded,
        count_at(board, &["nationalDay", "schoolsWithAction", "count"]),
    );

    // One department at a time, every department in turn. Each answer is checked as it
    // comes and only what the check needs is kept: the process's peak memory is the
    // server's, not that of answers the clients would hold.
    let departments: Vec<String> = DEPARTMENTS.iter().map(|d| (*d).to_owned()).collect();
    // First, one burst of a request per client, all at once, at instants of their own: the
    // first departments' dashboards after the start open the pool's connections and plan
    // their statements there (some fifteen statements, a plan each per connection). It is
    // reported apart: counted with the rounds after it, those 16 answers of 128 were the
    // slowest, and the p99 read a server's start, not its steady load.
    let (first_burst, _) = {
        let (client, year, departments) = (client.clone(), year.clone(), departments.clone());
        concurrently(clients, clients, move |n| {
            let (client, year) = (client.clone(), year.clone());
            let at = own_instant(clients * DEPARTMENT_ROUNDS + n);
            let department = departments[(n * 7 + 3) % departments.len()].clone();
            async move {
                client
                    .graphql(DASHBOARD, json!({ "y": year, "d": department, "at": at }))
                    .await?;
                Ok(Value::Null)
            }
        })
        .await?
    };
    eprintln!(
        "dashboard, one department, first burst after the start ({clients} requests at once, \
         on connections and plans not used yet): p50 {:.1} ms, slowest {:.1} ms",
        first_burst.quantile(0.5),
        first_burst.quantile(1.0),
    );
    let cpu_before = cpu_seconds();
    let (by_department, answers) = {
        let (client, year, departments) = (client.clone(), year.clone(), departments.clone());
        concurrently(clients, clients * DEPARTMENT_ROUNDS, move |n| {
            let (client, year, at) = (client.clone(), year.clone(), own_instant(n));
            let department = departments[n % departments.len()].clone();
            async move {
                let answer = client
                    .graphql(DASHBOARD, json!({ "y": year, "d": department, "at": at }))
                    .await?;
                // Which groups it shows something for.
                Ok(Value::from(
                    FED.iter()
                        .map(|(_, path)| count_at(&answer["dashboard"], path) != 0)
                        .collect::<Vec<_>>(),
                ))
            }
        })
        .await?
    };
    for (i, (group, path)) in FED.iter().enumerate() {
        if answers.iter().all(|(_, fed)| fed[i] != Value::Bool(true)) {
            bail!(
                "aucun des tableaux de bord d'un département n'indique autre chose que 0 pour « {group} » ({path:?})"
            );
        }
    }
    // Where a dashboard's work is done: this process (server and clients) and PostgreSQL
    // on this machine, per request, over the requests above.
    let department_cpu = CpuPerRequest::since(cpu_before, by_department.0.len());
    eprintln!(
        "dashboard, one department, computed (an instant per request; {clients} clients, {} requests after the first burst): p50 {:.1} ms, p99 {:.1} ms; \
         CPU per request: this process {:.1} ms, PostgreSQL on this machine {:.1} ms",
        by_department.0.len(),
        by_department.quantile(0.5),
        by_department.quantile(0.99),
        department_cpu.pharos_ms,
        department_cpu.postgres_ms,
    );
    // The whole set's answers are compared with the first as they come.
    let first = Arc::new(first);
    let (computed, answers) = {
        let (client, year, first) = (client.clone(), year.clone(), first.clone());
        concurrently(clients, clients * WHOLE_ROUNDS, move |n| {
            let (client, year, at) = (client.clone(), year.clone(), own_instant(n));
            let first = first.clone();
            async move {
                let answer = client
                    .graphql(DASHBOARD, json!({ "y": year, "at": at }))
                    .await?;
                Ok(Value::Bool(answer == *first))
            }
        })
        .await?
    };
    if answers.iter().any(|(_, same)| same != &Value::Bool(true)) {
        bail!(
            "le tableau de bord de l'ensemble a changé d'un instant à l'autre sans nouvel événement"
        );
    }
    eprintln!(
        "dashboard, whole set, computed (an instant per request; {clients} clients, {} requests): p50 {:.1} ms, p99 {:.1} ms",
        computed.0.len(),
        computed.quantile(0.5),
        computed.quantile(0.99)
    );
    let (whole, answers) = {
        let (client, year, as_of, first) =
            (client.clone(), year.clone(), as_of.clone(), first.clone());
        concurrently(clients, clients * WHOLE_ROUNDS, move |_| {
            let (client, year, as_of) = (client.clone(), year.clone(), as_of.clone());
            let first = first.clone();
            async move {
                let answer = client
                    .graphql(DASHBOARD, json!({ "y": year, "at": as_of }))
                    .await?;
                Ok(Value::Bool(answer == *first))
            }
        })
        .await?
    };
    if answers.iter().any(|(_, same)| same != &Value::Bool(true)) {
        bail!(
            "le tableau de bord de l'ensemble a changé d'une requête à l'autre au même instant asOf"
        );
    }
    eprintln!(
        "dashboard, whole set, same instant (answers reused while the read model is unchanged; {clients} clients, {} requests): p50 {:.1} ms, p99 {:.1} ms",
        whole.0.len(),
        whole.quantile(0.5),
        whole.quantile(0.99)
    );

    // A search walked page after page with the cursors.
    let mut tasks = JoinSet::new();
    for c in 0..clients {
        let client = client.clone();
        tasks.spawn(async move {
            let search = SEARCHES[c % SEARCHES.len()];
            let mut after: Option<String> = None;
            let mut latencies = Vec::new();
            let mut seen = 0;
            let mut total = 0;
            for _ in 0..SEARCH_PAGES {
                let t0 = Instant::now();
                let data = client
                    .graphql(SCHOOLS, json!({ "s": search, "after": after }))
                    .await?;
                latencies.push(t0.elapsed());
                let page = &data["schools"];
                total = page["totalCount"].as_i64().unwrap_or(0);
                seen += page["nodes"].as_array().map_or(0, Vec::len);
                if page["pageInfo"]["hasNextPage"] != Value::Bool(true) {
                    break;
                }
                after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
            }
            if total == 0 || seen == 0 {
                bail!("la recherche « {search} » ne trouve aucun établissement");
            }
            anyhow::Ok(latencies)
        });
    }
    let mut pages = Vec::new();
    while let Some(done) = tasks.join_next().await {
        pages.extend(done??);
    }
    let search = Latencies(pages);
    eprintln!(
        "schools search (first: 50, pages via after, {clients} clients, {} pages): p50 {:.1} ms, p99 {:.1} ms",
        search.0.len(),
        search.quantile(0.5),
        search.quantile(0.99)
    );
    let pages = page.figures(clients).await?;
    Ok(json!({
        "dashboard_page_first_look_ms": first_look_ms.round(),
        "dashboard_first_whole_ms": first_ms.round(),
        "dashboard_department_first_burst": first_burst.figures(),
        "dashboard_department": by_department.figures(),
        "dashboard_department_cpu_ms": department_cpu.figures(),
        "dashboard_whole_computed": computed.figures(),
        "dashboard_whole_reused": whole.figures(),
        "schools_search": search.figures(),
        "dashboard_page": pages,
    }))
}

/// The pole's dashboard page (`GET /tableau-de-bord`) as a signed-in browser asks it.
#[derive(Clone)]
struct DashboardPage {
    http: reqwest::Client,
    base: String,
    /// The session cookie the pages read (the API's token).
    cookie: String,
    /// The same token, for the commands that change the read model while it is watched.
    token: String,
    year: String,
}

impl DashboardPage {
    /// The page of one department (`Some`) or of the whole set, compressed as a browser
    /// takes it: its bytes on the wire.
    async fn get(&self, department: Option<&str>) -> anyhow::Result<usize> {
        self.get_on(department, None).await
    }

    /// [`Self::get`], as of the end of `day` when given (the page's date picker).
    async fn get_on(
        &self,
        department: Option<&str>,
        day: Option<NaiveDate>,
    ) -> anyhow::Result<usize> {
        let mut url = format!("{}/tableau-de-bord?annee={}", self.base, self.year);
        if let Some(d) = department {
            url.push_str(&format!("&departement={d}"));
        }
        if let Some(day) = day {
            url.push_str(&format!("&date={day}"));
        }
        let response = self
            .http
            .get(&url)
            .header(reqwest::header::COOKIE, &self.cookie)
            .header(reqwest::header::ACCEPT_ENCODING, ACCEPT_ENCODING)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        if status != reqwest::StatusCode::OK {
            bail!("GET {url} : {status}");
        }
        Ok(body.len())
    }

    /// Server time of the page (p50/p99 under `clients` concurrent clients, one department
    /// at a time then the whole set), and the weight of the whole set's page: its HTML and
    /// every style sheet and script it links, compressed as Chromium accepts them. Fonts are
    /// not counted here: which faces a browser fetches depends on the text it renders (the
    /// browser walks measure them).
    async fn figures(&self, clients: usize) -> anyhow::Result<Value> {
        let cpu_before = cpu_seconds();
        let (by_department, _) = {
            let page = self.clone();
            concurrently(clients, clients * DEPARTMENT_ROUNDS, move |n| {
                let page = page.clone();
                async move {
                    let department = DEPARTMENTS[n % DEPARTMENTS.len()];
                    page.get(Some(department)).await.map(Value::from)
                }
            })
            .await?
        };
        let department_cpu = CpuPerRequest::since(cpu_before, by_department.0.len());
        eprintln!(
            "dashboard page, one department, now (each department's first page computed; {clients} clients, {} pages): p50 {:.1} ms, p99 {:.1} ms; \
             CPU per page: this process {:.1} ms, PostgreSQL on this machine {:.1} ms",
            by_department.0.len(),
            by_department.quantile(0.5),
            by_department.quantile(0.99),
            department_cpu.pharos_ms,
            department_cpu.postgres_ms,
        );
        let cpu_before = cpu_seconds();
        let (whole, _) = {
            let page = self.clone();
            concurrently(clients, clients * WHOLE_ROUNDS, move |_| {
                let page = page.clone();
                async move { page.get(None).await.map(Value::from) }
            })
            .await?
        };
        let whole_cpu = CpuPerRequest::since(cpu_before, whole.0.len());
        eprintln!(
            "dashboard page, whole set, now (one computation per read-model state and minute, reused by the others; {clients} clients, {} pages): p50 {:.1} ms, p99 {:.1} ms; \
             CPU per page: this process {:.1} ms, PostgreSQL on this machine {:.1} ms",
            whole.0.len(),
            whole.quantile(0.5),
            whole.quantile(0.99),
            whole_cpu.pharos_ms,
            whole_cpu.postgres_ms,
        );
        let watched = self.watched(clients).await?;
        // One department's page as one person asks it, nobody else asking anything: its own
        // server time, where the phases above add the wait for 2 cores shared by 16
        // clients. Each page at a day of its own (yesterday, the day before…), so that
        // each is computed, none reused (UTC's today is Paris's or the day before: every
        // day asked is past in Paris, as the page wants).
        let today = Utc::now().date_naive();
        let cpu_before = cpu_seconds();
        let (alone, _) = {
            let page = self.clone();
            concurrently(1, ALONE_PAGES, move |n| {
                let page = page.clone();
                let day = today - chrono::Days::new(n as u64 + 1);
                async move {
                    let department = DEPARTMENTS[n % DEPARTMENTS.len()];
                    page.get_on(Some(department), Some(day))
                        .await
                        .map(Value::from)
                }
            })
            .await?
        };
        let alone_cpu = CpuPerRequest::since(cpu_before, alone.0.len());
        eprintln!(
            "dashboard page, one department, alone (each at a day of its own, computed; one client, {} pages): p50 {:.1} ms, p99 {:.1} ms; \
             CPU per page: this process {:.1} ms, PostgreSQL on this machine {:.1} ms",
            alone.0.len(),
            alone.quantile(0.5),
            alone.quantile(0.99),
            alone_cpu.pharos_ms,
            alone_cpu.postgres_ms,
        );
        let weight = self.weight().await?;
        Ok(json!({
            "department": by_department.figures(),
            "department_cpu_ms": department_cpu.figures(),
            "whole": whole.figures(),
            "whole_cpu_ms": whole_cpu.figures(),
            "whole_watched": watched,
            "department_alone": alone.figures(),
            "department_alone_cpu_ms": alone_cpu.figures(),
            "weight": weight,
        }))
    }

    /// The whole set's page watched as a pole's team watches it: each of `clients` asks
    /// it, reads it for [`READING`], asks it again, for [`WATCH`], while a school is
    /// registered every [`CHANGE_EVERY`] (each change a new state of the read model to
    /// compute) and "now" turns each minute. Server time p50/p99, and the pages over 300 ms.
    async fn watched(&self, clients: usize) -> anyhow::Result<Value> {
        let end = Instant::now() + WATCH;
        let mut tasks = JoinSet::new();
        for _ in 0..clients {
            let page = self.clone();
            tasks.spawn(async move {
                let mut times = Vec::new();
                while Instant::now() < end {
                    let t0 = Instant::now();
                    page.get(None).await?;
                    times.push(t0.elapsed());
                    tokio::time::sleep(READING).await;
                }
                anyhow::Ok(times)
            });
        }
        let (mut changes, mut number) = (0, 0);
        while Instant::now() + CHANGE_EVERY < end {
            tokio::time::sleep(CHANGE_EVERY).await;
            // Numbers past the generated schools'; a number an earlier run on the same
            // database registered answers 409, and the next is tried.
            loop {
                let digits = format!("0319{number:03}");
                number += 1;
                let uai = format!(
                    "{digits}{}",
                    pharos_events::Uai::check_letter(&digits) as char
                );
                let response = self
                    .http
                    .post(format!("{}/api/v1/schools", self.base))
                    .bearer_auth(&self.token)
                    .json(&json!({
                        "uai": uai, "name": format!("Collège suivi {uai}"), "kind": "college",
                        "sector": "public", "department": "31", "commune": "Toulouse"
                    }))
                    .send()
                    .await?;
                match response.status() {
                    reqwest::StatusCode::CREATED => break,
                    reqwest::StatusCode::CONFLICT if number < 1000 => continue,
                    status => bail!("POST /api/v1/schools ({uai}) : {status}"),
                }
            }
            changes += 1;
        }
        let mut times = Vec::new();
        while let Some(done) = tasks.join_next().await {
            times.extend(done??);
        }
        let over = times
            .iter()
            .filter(|t| **t > Duration::from_millis(300))
            .count();
        let watched = Latencies(times);
        eprintln!(
            "dashboard page, whole set, watched ({clients} clients, each reading a page {} s before the next, for {} s; {changes} schools registered, one every {} s): p50 {:.1} ms, p99 {:.1} ms, {over} of {} pages over 300 ms",
            READING.as_secs(),
            WATCH.as_secs(),
            CHANGE_EVERY.as_secs(),
            watched.quantile(0.5),
            watched.quantile(0.99),
            watched.0.len(),
        );
        let mut figures = watched.figures();
        figures["over_300_ms"] = over.into();
        figures["schools_registered"] = changes.into();
        Ok(figures)
    }

    async fn weight(&self) -> anyhow::Result<Value> {
        let url = format!("{}/tableau-de-bord?annee={}", self.base, self.year);
        let response = self
            .http
            .get(&url)
            .header(reqwest::header::COOKIE, &self.cookie)
            .header(reqwest::header::ACCEPT_ENCODING, ACCEPT_ENCODING)
            .send()
            .await?;
        let encoding = response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .to_owned();
        let packed = response.bytes().await?;
        // The links are read from the plain HTML.
        let plain = self
            .http
            .get(&url)
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await?
            .text()
            .await?;
        let mut assets = 0;
        let mut linked = Vec::new();
        // Each tag's own text: a `nomodule` script is one a module-aware browser skips.
        for tag in plain
            .split('<')
            .filter(|t| t.starts_with("script") || t.starts_with("link"))
        {
            let tag = tag.split('>').next().unwrap_or_default();
            if tag.contains("nomodule") {
                continue;
            }
            for piece in tag.split('"').skip(1).step_by(2) {
                if piece.starts_with("/assets/")
                    && (piece.ends_with(".css") || piece.ends_with(".js"))
                {
                    linked.push(piece.to_owned());
                }
            }
        }
        linked.sort();
        linked.dedup();
        for path in &linked {
            let response = self
                .http
                .get(format!("{}{path}", self.base))
                .header(reqwest::header::ACCEPT_ENCODING, ACCEPT_ENCODING)
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("GET {path} : {}", response.status());
            }
            assets += response.bytes().await?.len();
        }
        eprintln!(
            "dashboard page weight (whole set): HTML {} bytes as {encoding} ({} plain) + {} style sheets and scripts {} bytes = {:.0} KB, fonts not counted",
            packed.len(),
            plain.len(),
            linked.len(),
            assets,
            (packed.len() + assets) as f64 / 1000.0
        );
        Ok(json!({
            "html_bytes": packed.len(),
            "html_encoding": encoding,
            "html_plain_bytes": plain.len(),
            "assets": linked.len(),
            "assets_bytes": assets,
            "total_kb_without_fonts": ((packed.len() + assets) as f64 / 1000.0).round(),
        }))
    }
}

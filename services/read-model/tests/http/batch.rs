//! The projections' writes go out batched (multi-row statements, `src/batch.rs`): tables
//! built from a generated log one event per transaction equal those built in large
//! batches, for every projection, on SQLite and on PostgreSQL. The rebuild's speed is
//! measured by `pharos bench read-model`, not here.

use std::time::Duration;

use pharos_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent, StoreOptions, StreamId};
use pharos_read_model::tables::{self, Generation};
use pharos_test_support::TestDb;
use serde_json::{Value, json};
use uuid::Uuid;

/// A deterministic pseudo-random sequence (xorshift), so that a failure replays.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    fn uuid(&mut self) -> Uuid {
        let hi = u128::from(self.below(u64::MAX));
        let lo = u128::from(self.below(u64::MAX));
        uuid::Builder::from_random_bytes(((hi << 64) | lo).to_be_bytes()).into_uuid()
    }
}

/// A stream and its events (type, data), in order.
type Stream = (String, Vec<(&'static str, Value)>);

fn sealed(person: Uuid) -> Value {
    json!({"person": person.to_string(), "sealed": "AAAA"})
}

/// A national-looking log for `schools` schools: each school's record (some updated
/// twice, a few closed), its pHARe deployment (team members added, updated, removed; the
/// steps), a cohort (trained before or after its declaration), a label application, a
/// partner, a national-day action (edited, validated), a contest entry (files, judged,
/// awarded); a training with a session every ten schools (registrations confirmed,
/// waitlisted, promoted, withdrawn; attendance recorded and corrected); one contest
/// edition, its awards granted and revoked, published, then closed.
fn national(schools: usize, dice: &mut Dice) -> Vec<Stream> {
    let mut streams: Vec<Stream> = Vec::new();
    let mut training = Uuid::nil();
    let edition = dice.uuid();
    let mut edition_events = vec![(
        "edition_created",
        json!({"school_year": "2026-2027", "edition": 14,
               "opens_at": "2026-09-15T00:00:00Z", "submission_deadline": "2027-03-15T22:59:00Z",
               "dates": {"jury_on": "2027-04-10"},
               "categories": [{"level": "college", "medium": "affiche", "label": "Collège — affiche"}],
               "special_prizes": [],
               "rules": {"media": ["affiche"], "max_video_seconds": 180, "max_file_bytes": 200000000,
                         "file_types": ["pdf", "png"], "max_entries_per_group": 1,
                         "nominees_per_category": 2},
               "criteria": [{"key": "message", "label": "Message", "weight": 1}]}),
    )];
    let mut awarded = Vec::new();
    for n in 0..schools {
        let department = format!("{:02}", 1 + (n % 95));
        let number = 1_000 + n;
        let uai = uai(&department, number);
        let record = |name: &str| {
            json!({"uai": uai, "name": name, "kind": "college", "sector": "public",
                   "department": department, "commune": format!("Commune {n}"),
                   "priority_education": "none"})
        };
        let mut school = vec![("school_registered", record(&format!("Collège {n}")))];
        if dice.below(3) == 0 {
            school.push(("school_updated", record(&format!("Collège Émile {n}"))));
            school.push(("school_updated", record(&format!("Collège Émile-Zola {n}"))));
        }
        if dice.below(20) == 0 {
            school.push(("school_closed", json!({"closed_on": "2027-06-30"})));
        }
        streams.push((format!("school-{uai}"), school));

        let deployment = dice.uuid();
        let mut events = vec![(
            "deployment_created",
            json!({"owner": {"kind": "school", "uai": uai, "department": department},
                   "school_year": "2026-2027"}),
        )];
        let mut members = Vec::new();
        for _ in 0..(3 + dice.below(6)) {
            let member = dice.uuid();
            let person = dice.uuid();
            members.push(member);
            events.push((
                "team_member_added",
                json!({"member_id": member, "person": {"display_name": sealed(person), "email": sealed(person)},
                       "function": "cpe", "trained": dice.below(2) == 0, "training_minutes": 60,
                       "mpp_trained": dice.below(2) == 0}),
            ));
        }
        for member in members.iter().take(2) {
            events.push((
                "team_member_updated",
                json!({"member_id": member, "details": {"function": "aed", "trained": true,
                       "training_minutes": 120, "mpp_trained": dice.below(2) == 0}}),
            ));
        }
        if dice.below(4) == 0 {
            events.push(("team_member_removed", json!({"member_id": members[0]})));
        }
        events.push(("charter_signed", json!({"signed_on": "2026-10-01"})));
        events.push((
            "protocol_recorded",
            json!({"formalised_on": "2026-10-10", "presented_on": "2026-11-05",
                   "presented_to": "conseil_administration"}),
        ));
        events.push((
            "learning_hours_planned",
            json!({"planned": true, "hours": 10}),
        ));
        for day in ["2027-01-20", "2026-12-02"] {
            events.push((
                "parent_workshop_recorded",
                json!({"workshop_id": dice.uuid(), "held_on": day}),
            ));
        }
        events.push((
            "coordinator_named",
            json!({"person": {"display_name": sealed(deployment), "email": sealed(deployment)}}),
        ));
        streams.push((format!("phare_deployment-{deployment}"), events));

        let person = dice.uuid();
        streams.push((
            format!("ambassador_cohort-{}", dice.uuid()),
            vec![
                (
                    "cohort_created",
                    json!({"school_uai": uai, "department": department, "school_year": "2026-2027",
                           "kind": "eleves_college",
                           "referent": {"display_name": sealed(person), "email": sealed(person)}}),
                ),
                ("counts_set", json!({"counts": {"6e": 3, "5e": 2}})),
                ("counts_set", json!({"counts": {"6e": 4, "5e": 2}})),
                cohort_training(dice),
                ("cohort_declared", json!({"declared_on": "2026-11-01"})),
                cohort_training(dice),
                ("cohort_activated", json!({"activated_on": "2026-11-15"})),
            ],
        ));
        let person = dice.uuid();
        let mut cohort = vec![(
            "cohort_created",
            json!({"school_uai": uai, "department": department, "school_year": "2026-2027",
                   "kind": "parents",
                   "referent": {"display_name": sealed(person), "email": sealed(person)}}),
        )];
        cohort.push(("cohort_declared", json!({"declared_on": "2026-11-01"})));
        if dice.below(2) == 0 {
            cohort.push(cohort_training(dice));
        }
        streams.push((format!("ambassador_cohort-{}", dice.uuid()), cohort));

        let other = self::uai(&department, 5_000 + n);
        let details = |schools: &[&str], pupils: u32| {
            json!({"schools": schools.iter().map(|s| json!({"uai": s, "department": department}))
                       .collect::<Vec<_>>(),
                   "date": "2026-11-06", "types": ["atelier", "lecture"], "pupils_reached": pupils,
                   "adults_reached": 3, "held": true})
        };
        let mut action = vec![("action_declared", {
            let mut declared = details(&[&uai, &other], 120);
            declared["school_year"] = json!("2026-2027");
            declared["campaign"] = json!("national_day");
            declared
        })];
        if dice.below(2) == 0 {
            action.push(("action_edited", details(&[&uai], 90)));
        }
        action.push(("action_submitted", json!({})));
        action.push(if dice.below(3) == 0 {
            ("action_returned", json!({"reason": "Préciser"}))
        } else {
            ("action_validated", json!({}))
        });
        streams.push((format!("awareness_action-{}", dice.uuid()), action));

        let entry = dice.uuid();
        let responsible = dice.uuid();
        let file = |id: Uuid| {
            json!({"file_id": id, "sha256": format!("{:064}", 0), "bytes": 1000,
                   "file_type": "pdf"})
        };
        let (first, second) = (dice.uuid(), dice.uuid());
        let mut events = vec![
            (
                "entry_created",
                json!({"contest_id": edition, "school_uai": uai, "department": department,
                       "details": {"category": "college_affiche", "special_prizes": [],
                                   "title": format!("Affiche {n}"),
                                   "group": {"label": "Classe", "levels": [], "pupil_count": 20,
                                             "adult_count": 1},
                                   "project_sheet": "Une affiche."},
                       "responsible": {"display_name": sealed(responsible),
                                       "email": sealed(responsible)}}),
            ),
            ("file_attached", file(first)),
            ("file_attached", file(second)),
            ("file_removed", json!({"file_id": second})),
        ];
        match dice.below(4) {
            0 => {}
            1 => {
                events.push(("entry_submitted", json!({})));
                events.push(("entry_withdrawn", json!({})));
            }
            _ => {
                events.push(("entry_submitted", json!({})));
                events.push(("admissibility_decided", json!({"admissible": true})));
                events.push(("juror_assigned", json!({"juror_id": dice.uuid()})));
                awarded.push(entry);
            }
        }
        if dice.below(5) == 0 {
            events.push((
                "files_deleted",
                json!({"file_ids": [first], "purpose": "contest_file_non_laureate"}),
            ));
        }
        streams.push((format!("contest_entry-{entry}"), events));

        streams.push((
            format!("phare_label-{}", dice.uuid()),
            vec![
                (
                    "label_drafted",
                    json!({"school_uai": uai, "department": department, "school_year": "2026-2027",
                           "target_level": "engagement", "checklists": []}),
                ),
                ("label_submitted", json!({})),
                ("label_review_started", json!({})),
                (
                    "label_awarded",
                    json!({"level": "engagement", "reason": "Bien"}),
                ),
            ],
        ));

        let partner = json!({"name": format!("Association {n}"), "kind": "association",
            "scope": "department", "department": department, "description": "Aide",
            "verified_on": "2026-09-01"});
        streams.push((
            format!("partner-{}", dice.uuid()),
            vec![
                ("partner_registered", partner),
                ("partner_archived", json!({"reason": "Fin"})),
                ("partner_unarchived", json!({})),
            ],
        ));

        if n % 10 == 0 {
            training = dice.uuid();
            streams.push((
                format!("training-{training}"),
                vec![(
                    "training_created",
                    json!({"title": format!("MPP {n}"), "topic": "mpp", "audience": "équipes",
                           "department": department}),
                )],
            ));
        }
        if n % 10 == 5 {
            let starts = "2027-01-14T09:00:00+01:00";
            let ends = "2027-01-14T12:00:00+01:00";
            let mut events = vec![
                (
                    "session_planned",
                    json!({"training_id": training, "department": department, "starts_at": starts,
                           "ends_at": ends, "slots": [{"starts_at": starts, "ends_at": ends}],
                           "location": "Canopé", "capacity": 20, "planned_minutes": 180}),
                ),
                ("session_opened", json!({})),
            ];
            let mut registrations = Vec::new();
            for r in 0..25 {
                let id = dice.uuid();
                let person = dice.uuid();
                registrations.push(id);
                let kind = if r < 20 {
                    "registration_confirmed"
                } else {
                    "registration_waitlisted"
                };
                events.push((
                    kind,
                    json!({"registration_id": id, "person": person, "display_name": sealed(person),
                           "email": sealed(person), "school_uai": uai, "function": "CPE",
                           "mode": "designated"}),
                ));
            }
            events.push((
                "registration_withdrawn",
                json!({"registration_id": registrations[0]}),
            ));
            events.push((
                "registration_promoted",
                json!({"registration_id": registrations[20]}),
            ));
            events.push(("session_capacity_changed", json!({"capacity": 22})));
            events.push(("session_held", json!({})));
            for id in &registrations[1..21] {
                let present = dice.below(5) != 0;
                events.push((
                    "attendance_recorded",
                    json!({"registration_id": id, "slot_index": 0,
                           "status": if present { "present" } else { "absent" },
                           "minutes": if present { 180 } else { 0 }}),
                ));
            }
            events.push((
                "attendance_corrected",
                json!({"registration_id": registrations[1], "slot_index": 0, "status": "present",
                       "minutes": 150, "reason": "Retard"}),
            ));
            events.push(("attendance_locked", json!({})));
            streams.push((format!("training_session-{}", dice.uuid()), events));
        }
    }
    for (n, entry) in awarded.iter().enumerate() {
        let kind = ["laureate", "mention", "nominated_national"][n % 3];
        let award = json!({"entry_id": entry, "category": "college_affiche", "kind": kind});
        edition_events.push(("award_granted", award.clone()));
        if n % 4 == 1 {
            edition_events.push(("award_revoked", award));
        }
    }
    edition_events.push(("results_published", json!({"palmares": []})));
    for entry in awarded.iter().step_by(3) {
        edition_events.push((
            "national_result_recorded",
            json!({"entry_id": entry, "awarded": dice.below(2) == 0}),
        ));
    }
    edition_events.push(("campaign_closed", json!({})));
    streams.push((format!("contest-{edition}"), edition_events));
    // The trainings first, so that the interleaving appends each before its sessions (a
    // session of a training the log does not hold yet has no topic: no MPP to count).
    streams.sort_by_key(|(id, _)| !id.starts_with("training-"));
    streams
}

/// A training recorded for a cohort.
fn cohort_training(dice: &mut Dice) -> (&'static str, Value) {
    (
        "training_recorded",
        json!({"entry_id": dice.uuid(), "held_on": "2026-10-20", "minutes": 120,
               "title": "Formation des ambassadeurs"}),
    )
}

/// A UAI with its check letter (the number mod 23).
fn uai(department: &str, number: usize) -> String {
    let digits = format!("{department:0>3}{number:04}");
    let value: u64 = digits.parse().unwrap();
    let letters = "ABCDEFGHJKLMNPRSTUVWXYZ".as_bytes();
    format!("{digits}{}", letters[(value % 23) as usize] as char)
}

/// A stream being appended: its id, the events left, its version.
type Open = (StreamId, std::vec::IntoIter<(&'static str, Value)>, i64);

/// Appends the streams interleaved as a busy platform would: a few events of one
/// stream, then of another.
async fn append(store: &EventStore, streams: Vec<Stream>, dice: &mut Dice) -> usize {
    let mut open: Vec<Open> = streams
        .into_iter()
        .map(|(id, events)| (StreamId::parse(id).unwrap(), events.into_iter(), 0))
        .collect();
    let mut appended = 0;
    let window = 64;
    while !open.is_empty() {
        let at = usize::try_from(dice.below(open.len().min(window) as u64)).unwrap();
        let take = 1 + usize::try_from(dice.below(4)).unwrap();
        let (stream, events, version) = &mut open[at];
        let chunk: Vec<NewEvent> = events
            .by_ref()
            .take(take)
            .map(|(kind, data)| NewEvent::new(kind, data))
            .collect();
        if chunk.is_empty() {
            open.swap_remove(at);
            continue;
        }
        let n = chunk.len();
        let expected = if *version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(*version)
        };
        store
            .append(stream, expected, chunk, &Metadata::default())
            .await
            .unwrap();
        *version += i64::try_from(n).unwrap();
        appended += n;
    }
    appended
}

async fn store(db: &TestDb) -> EventStore {
    let store = EventStore::connect(
        &db.url,
        StoreOptions {
            sqlite_synchronous: pharos_eventstore::SqliteSync::Normal,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store
}

/// Applies the whole log to `generation` of `projection`, `batch` events per transaction.
async fn build(
    store: &EventStore,
    projection: &'static tables::Descriptor,
    generation: Generation,
    batch: usize,
) {
    let db = store.db();
    tables::drop_of(&db, projection, generation).await.unwrap();
    tables::create_of(&db, projection, generation)
        .await
        .unwrap();
    let runner = projection.projection(generation);
    while store.project_batch(&runner, batch).await.unwrap() > 0 {}
}

/// Every projection's tables are the same whether its events were applied one per
/// transaction (each statement on its own, as before batching) or in batches of 7 or of
/// the whole log.
async fn batched_writes_build_the_tables_events_one_by_one_build(db: TestDb) {
    let store = store(&db).await;
    let mut dice = Dice(0x5eed);
    let streams = national(40, &mut dice);
    let events = append(&store, streams, &mut dice).await;
    assert!(events > 1_000, "{events}");
    // PostgreSQL: every append readable before the projections read the log.
    store.settle(Duration::from_secs(10)).await.unwrap();
    for projection in tables::all() {
        build(&store, projection, Generation(101), 1).await;
        let one_by_one = tables::checksums_of(&store.db(), projection, Generation(101))
            .await
            .unwrap();
        for (n, batch) in [(102, 7), (103, 100_000)] {
            build(&store, projection, Generation(n), batch).await;
            let batched = tables::checksums_of(&store.db(), projection, Generation(n))
                .await
                .unwrap();
            assert_eq!(
                one_by_one, batched,
                "{} in batches of {batch}",
                projection.name
            );
        }
        // The log fills the tables it has events for (none left undecoded).
        let filled = [
            "rm_schools",
            "rm_deployments",
            "rm_team_members",
            "rm_cohorts",
            "rm_labels",
            "rm_partners",
            "rm_sessions",
            "rm_registrations",
            "rm_actions",
            "rm_action_schools",
            "rm_entries",
            "rm_contests",
            "rm_ind_teams",
            "rm_ind_cohorts",
            "rm_ind_labels",
            "rm_ind_steps",
            "rm_ind_sessions",
            "rm_ind_attendees",
            "rm_ind_attendance_counts",
            "rm_ind_coverage",
            "rm_ind_mpp_attendances",
            "rm_ind_mpp_trained",
            "rm_ind_actions",
            "rm_ind_action_schools",
        ];
        for (table, _) in &one_by_one {
            assert!(
                !(filled.iter().any(|f| table.starts_with(&format!("{f} ")))
                    && table.contains("(0 lignes)")),
                "{} left {table} empty",
                projection.name
            );
        }
    }
    // What a change reads back from the batch's memory is what the tables hold: the
    // deployment's year (the charter's term depends on it), the earliest workshop (the
    // later one came first), an entry's edition year, a team's members.
    let tables = store.db();
    let built = |table: &str| Generation(103).table(table);
    for (table, column, expected) in [
        ("rm_ind_steps", "first_workshop_on", "2026-12-02"),
        ("rm_ind_steps", "charter_ends_on", "2028-08-31"),
    ] {
        let sql = format!(
            "SELECT DISTINCT COALESCE({column}, '-') FROM {} WHERE valid_to IS NULL",
            built(table)
        );
        let found: Vec<String> = pharos_eventstore::on_db!(&tables, |pool| sqlx::query_scalar(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .fetch_all(pool)
        .await)
        .unwrap();
        assert_eq!(found, [expected], "{table}.{column}");
    }
    // An entry takes its edition's year, none when the log holds it before its edition
    // (the generated log interleaves the edition's stream late). (An entry of department
    // « 20 », no department since 1976, is not decoded: it has no row.)
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM {e} WHERE valid_to IS NULL), \
         (SELECT COUNT(*) FROM events v WHERE v.event_type = 'entry_created' \
         AND v.position < (SELECT position FROM events WHERE event_type = 'edition_created') \
         AND EXISTS (SELECT 1 FROM {e} t WHERE 'contest_entry-' || t.subject = v.stream_id)), \
         (SELECT COUNT(*) FROM {e} WHERE valid_to IS NULL AND school_year = ''), \
         (SELECT COUNT(*) FROM {e} WHERE valid_to IS NULL AND school_year = '2026-2027')",
        e = built("rm_ind_entries"),
    );
    let (entries, before, without, with): (i64, i64, i64, i64) = pharos_eventstore::on_db!(
        &tables,
        |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(pool)
            .await
    )
    .unwrap();
    assert!(
        entries > before && before > 0,
        "{entries} entries, {before} before the edition"
    );
    assert_eq!(
        (without, without + with),
        (before, entries),
        "entries' years"
    );
    let sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN t.trained = (SELECT COUNT(*) FROM {m} m \
         WHERE m.deployment_id = t.subject AND m.trained) AND t.members = (SELECT COUNT(*) \
         FROM {m} m WHERE m.deployment_id = t.subject) THEN 1 ELSE 0 END), 0) \
         FROM {t} t WHERE t.valid_to IS NULL",
        m = built("rm_ind_team_trained"),
        t = built("rm_ind_teams"),
    );
    let (teams, counted): (i64, i64) = pharos_eventstore::on_db!(&tables, |pool| sqlx::query_as(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert!(teams > 0);
    assert_eq!(counted, teams, "teams whose counts are their members'");
    // A school's coverage of a year is its attendees': how many have minutes in a
    // session of that year not cancelled, covered while that is above 0.
    let sql = format!(
        "SELECT COUNT(*), \
         COALESCE(SUM(CASE WHEN k.attendees = (SELECT COUNT(*) FROM {a} a \
         WHERE a.valid_to IS NULL AND a.minutes > 0 AND NOT a.cancelled \
         AND a.school_uai || ' ' || a.school_year = k.subject) \
         AND (SELECT COUNT(*) FROM {c} c WHERE c.subject = k.subject AND c.valid_to IS NULL \
         AND c.covered = (k.attendees > 0)) = 1 THEN 1 ELSE 0 END), 0), \
         CAST(COALESCE(SUM(k.attendees), 0) AS BIGINT), \
         (SELECT COUNT(*) FROM {a} a WHERE a.valid_to IS NULL AND a.minutes > 0 \
         AND NOT a.cancelled AND a.school_uai IS NOT NULL AND a.school_year IS NOT NULL) \
         FROM {k} k",
        a = built("rm_ind_attendees"),
        c = built("rm_ind_coverage"),
        k = built("rm_ind_attendance_counts"),
    );
    tally_agrees(&tables, sql, "schools and years", "attendees").await;
    // A person trained in the MPP in a department: how many of its attendances have
    // minutes in a session of the MPP of that department not cancelled, trained while
    // that is above 0.
    let attended = format!(
        "FROM {a} a JOIN {s} se ON se.subject = a.session_id AND se.valid_to IS NULL \
         WHERE a.valid_to IS NULL AND a.minutes > 0 AND NOT a.cancelled AND se.topic = 'mpp'",
        a = built("rm_ind_attendees"),
        s = built("rm_ind_sessions"),
    );
    let sql = format!(
        "SELECT COUNT(*), \
         COALESCE(SUM(CASE WHEN k.attendees = (SELECT COUNT(*) {attended} \
         AND COALESCE(se.department, '-') || ' ' || a.person = k.subject) \
         AND (SELECT COUNT(*) FROM {m} m WHERE m.subject = k.subject AND m.valid_to IS NULL \
         AND m.trained = (k.attendees > 0)) = 1 THEN 1 ELSE 0 END), 0), \
         CAST(COALESCE(SUM(k.attendees), 0) AS BIGINT), (SELECT COUNT(*) {attended}) \
         FROM {k} k",
        m = built("rm_ind_mpp_trained"),
        k = built("rm_ind_mpp_attendances"),
    );
    tally_agrees(
        &tables,
        sql,
        "people and departments",
        "attendances of the MPP",
    )
    .await;
    store.close().await;
    db.finish().await;
}

/// A tally's check. `sql` reads four counts: its keys, the keys whose count and current
/// period agree with the facts they count, the sum of the counts, and the facts. Every key
/// must agree and every fact be counted once; `keys_are` and `facts_are` name them.
async fn tally_agrees(db: &pharos_eventstore::Db, sql: String, keys_are: &str, facts_are: &str) {
    let (keys, agreeing, counting, facts): (i64, i64, i64, i64) =
        pharos_eventstore::on_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(pool)
            .await)
        .unwrap();
    assert!(
        keys > 0 && facts > 0,
        "{keys} {keys_are}, {facts} {facts_are}"
    );
    assert_eq!(
        agreeing, keys,
        "{keys_are} whose tally is their {facts_are}'"
    );
    assert_eq!(counting, facts, "{facts_are} counted");
}

/// The definition of `index` as the database keeps it (its `CREATE INDEX` statement).
async fn index_definition(db: &pharos_eventstore::Db, index: &str) -> String {
    pharos_eventstore::on_db!(db, |pool| {
        let sql = if matches!(db, pharos_eventstore::Db::Postgres(_)) {
            "SELECT indexdef FROM pg_indexes WHERE indexname = $1"
        } else {
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1"
        };
        sqlx::query_scalar::<_, String>(sql)
            .bind(index)
            .fetch_one(pool)
            .await
    })
    .unwrap()
}

/// An index an earlier release made on other columns is made again on this release's
/// when the tables are opened (as at startup, on the live generation); one made on the
/// right columns is left as it is.
async fn an_index_made_on_other_columns_is_made_again(db: TestDb) {
    let store = store(&db).await;
    let sql_db = store.db();
    let projection = &pharos_read_model::indicators::TRAININGS;
    let generation = Generation(7);
    tables::drop_of(&sql_db, projection, generation)
        .await
        .unwrap();
    tables::create_of(&sql_db, projection, generation)
        .await
        .unwrap();
    let table = generation.table("rm_ind_attendees");
    let index = format!("{table}_idx");
    let right = index_definition(&sql_db, &index).await;
    assert!(right.contains("person"), "{right}");
    // As the release before made it: on a session's attendees by time only.
    let (drop, create) = (
        format!("DROP INDEX {index}"),
        format!("CREATE INDEX {index} ON {table} (session_id, valid_from)"),
    );
    pharos_eventstore::on_db!(&sql_db, |pool| async {
        let mut tx = pool.begin().await?;
        for sql in [&drop, &create] {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
    .await)
    .unwrap();
    assert!(!index_definition(&sql_db, &index).await.contains("person"));
    tables::create_of(&sql_db, projection, generation)
        .await
        .unwrap();
    let made = index_definition(&sql_db, &index).await;
    assert!(
        made.contains("session_id, valid_from, valid_to, minutes, person"),
        "{made}"
    );
    // Right already: kept (on PostgreSQL, the same object).
    if let pharos_eventstore::Db::Postgres(pool) = &sql_db {
        let oid = |pool: sqlx::PgPool, index: String| async move {
            sqlx::query_scalar::<_, i64>("SELECT oid::bigint FROM pg_class WHERE relname = $1")
                .bind(index)
                .fetch_one(&pool)
                .await
                .unwrap()
        };
        let before = oid(pool.clone(), index.clone()).await;
        tables::create_of(&sql_db, projection, generation)
            .await
            .unwrap();
        assert_eq!(oid(pool.clone(), index.clone()).await, before);
    }
    tables::drop_of(&sql_db, projection, generation)
        .await
        .unwrap();
    store.close().await;
    db.finish().await;
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batched_writes_build_the_tables_events_one_by_one_build() {
        super::batched_writes_build_the_tables_events_one_by_one_build(super::TestDb::sqlite(
            "pharos-rm-batch",
        ))
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_index_made_on_other_columns_is_made_again() {
        super::an_index_made_on_other_columns_is_made_again(super::TestDb::sqlite(
            "pharos-rm-index",
        ))
        .await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batched_writes_build_the_tables_events_one_by_one_build() {
        if let Some(db) = super::TestDb::postgres("pharos_rm_batch").await {
            super::batched_writes_build_the_tables_events_one_by_one_build(db).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_index_made_on_other_columns_is_made_again() {
        if let Some(db) = super::TestDb::postgres("pharos_rm_index").await {
            super::an_index_made_on_other_columns_is_made_again(db).await;
        }
    }
}

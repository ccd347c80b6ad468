//! The contests target through the assembled application (beside the directory, for
//! logins, accounts and schools), on a real port, with a real HTTP client, on SQLite and
//! on PostgreSQL: real files uploaded, stored on disk under a scratch `files_dir`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;
use std::path::{Path, PathBuf};

use pharos_eventstore::{GlobalPosition, StreamId, on_db};
use pharos_test_support::{Client, TestApp, TestDb, instant, rule};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "http/webm.rs"]
mod webm;

#[path = "http/erasure.rs"]
mod erasure;

/// The instant the application's clock shows: the submission window is open.
const NOW: &str = "2026-12-01T10:00:00+01:00";
/// The largest file the test edition takes.
const MAX_FILE: usize = 100_000;

/// A valid UAI of `department` (its check letter computed).
fn uai(department: u32, n: u32) -> String {
    let digits = format!("{department:03}{n:04}");
    let letter = pharos_events::Uai::check_letter(&digits) as char;
    format!("{digits}{letter}")
}

/// A PNG (signature and header chunk: what the type is recognised from), made distinct
/// by `salt`.
fn png(salt: u8) -> Vec<u8> {
    let mut bytes =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    bytes.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    bytes.extend(std::iter::repeat_n(salt, 64));
    bytes
}

/// A one-page PDF's opening (what the type is recognised from).
fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF\n"
        .to_vec()
}

/// A JPEG's opening.
fn jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    bytes.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    bytes.extend(std::iter::repeat_n(0u8, 32));
    bytes
}

/// The test edition: 2026-2027, open from 2 November 2026 to 12 February 2027 at 23:59
/// in Paris, posters and videos of collèges, posters in inter-degrés.
fn edition_body() -> Value {
    json!({
        "school_year": "2026-2027",
        "opens_at": "2026-11-02",
        "submission_deadline": "2027-02-12T23:59",
        "jury_on": "2027-03-18",
        "national_submission_on": "2027-03-31",
        "exhibition_from": "2027-05-10",
        "exhibition_to": "2027-05-28",
        "categories": [
            {"level": "college", "medium": "affiche"},
            {"level": "college", "medium": "video"},
            {"level": "inter_degres", "medium": "affiche"}
        ],
        "rules": {
            "media": ["affiche", "video"], "max_video_seconds": 120,
            "max_file_bytes": MAX_FILE, "file_types": ["png", "pdf", "mp4"],
            "max_entries_per_group": 1, "nominees_per_category": 1
        }
    })
}

fn entry_body(school: &str, category: &str, group: &str) -> Value {
    json!({
        "school_uai": school, "category": category, "title": "Briser le silence",
        "special_prizes": ["cyberharcelement"],
        "group": {"label": group, "levels": ["5e", "4e"], "pupil_count": 24, "adult_count": 2},
        "responsible": {"display_name": "Camille Martin", "email": "camille.martin@ac-toulouse.fr"},
        "project_sheet": "Une affiche réalisée en classe de 5e."
    })
}

/// The application serving `contests`, its clock at [`NOW`], its files in a scratch
/// directory, with the places registered and an edition created by a pole manager.
struct Contest {
    app: TestApp,
    manager: Client,
    files: PathBuf,
    college: String,
    other_college: String,
    gers: String,
    ecole: String,
    contest: String,
}

impl Deref for Contest {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Contest {
    async fn start(db: TestDb) -> Self {
        let files = std::env::temp_dir().join(format!(
            "pharos-contests-files-{}",
            uuid::Uuid::now_v7().simple()
        ));
        let dir = files.display().to_string();
        let app = TestApp::builder(db)
            .targets(&["contests"])
            .at(instant(NOW))
            .configure(|raw| raw.files_dir = Some(dir))
            .start()
            .await;
        let manager = app.user("pole_manager", None).await;
        let (college, other_college, gers, ecole) =
            (uai(31, 1), uai(31, 2), uai(32, 1), uai(31, 10));
        for (school, kind, department) in [
            (&college, "college", "31"),
            (&other_college, "college", "31"),
            (&gers, "college", "32"),
            (&ecole, "ecole", "31"),
        ] {
            app.school(school, kind, department).await;
        }
        let (status, body) = manager.post("/api/v1/contests", edition_body()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let contest = body["id"].as_str().unwrap().to_owned();
        Self {
            app,
            manager,
            files,
            college,
            other_college,
            gers,
            ecole,
            contest,
        }
    }

    async fn finish(self) {
        let files = self.files.clone();
        self.app.finish().await;
        let _ = std::fs::remove_dir_all(files);
    }

    /// Files kept in the store, and files left in its spool directory.
    fn on_disk(&self) -> (usize, usize) {
        fn count(dir: &Path) -> usize {
            std::fs::read_dir(dir).map_or(0, |entries| {
                entries
                    .flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            count(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
        }
        (
            count(&self.files.join("sha256")),
            count(&self.files.join("tmp")),
        )
    }

    fn stored(&self, sha256: &str) -> bool {
        self.files
            .join("sha256")
            .join(&sha256[..2])
            .join(sha256)
            .is_file()
    }

    /// Everything stored in events, as text.
    async fn stored_text(&self) -> String {
        let rows: Vec<String> = on_db!(self.store.db(), |pool| sqlx::query_scalar(
            "SELECT CAST(data AS TEXT) FROM events"
        )
        .fetch_all(&pool)
        .await)
        .unwrap();
        rows.join("\n")
    }

    /// Asserts a refusal: its status, its rule, a French fragment of its detail, and that
    /// nothing was appended.
    async fn refused(
        &self,
        (status, body): (StatusCode, Value),
        expected: StatusCode,
        rule_name: &str,
        fragment: &str,
        before: i64,
    ) {
        assert_eq!(status, expected, "{body}");
        assert_eq!(rule(&body), rule_name, "{body}");
        assert!(
            body["detail"].as_str().unwrap_or("").contains(fragment),
            "« {fragment} » not in {body}"
        );
        assert_eq!(self.events().await, before, "nothing appended: {body}");
    }

    async fn entry(&self, client: &Client, school: &str, category: &str, group: &str) -> String {
        let (status, body) = client
            .post(
                &format!("/api/v1/contests/{}/entries", self.contest),
                entry_body(school, category, group),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// An entry with its production uploaded and its rights attested, ready to submit.
    async fn ready(&self, client: &Client, school: &str, group: &str, file: Vec<u8>) -> String {
        let id = self.entry(client, school, "college_affiche", group).await;
        let (status, body) = upload(client, &id, "image/png", Some("affiche.png"), file).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        attest(client, &id).await;
        id
    }
}

async fn upload(
    client: &Client,
    entry: &str,
    content_type: &str,
    name: Option<&str>,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let path = match name {
        Some(name) => format!("/api/v1/entries/{entry}/files?name={name}"),
        None => format!("/api/v1/entries/{entry}/files"),
    };
    let response = client
        .request(Method::POST, &path)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn attest(client: &Client, entry: &str) {
    let (status, body) = client
        .post(
            &format!("/api/v1/entries/{entry}/attestations"),
            json!({"image_rights": true, "third_party_rights": true, "republic_values": true,
                   "rights_grant": true, "attested_by": "Principal du collège"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn post(client: &Client, path: &str, body: Value) -> Value {
    let (status, answer) = client.post(path, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    answer
}

async fn get(client: &Client, path: &str) -> Value {
    let (status, answer) = client.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    answer
}

async fn the_full_path_from_edition_to_palmares(db: TestDb) {
    let app = Contest::start(db).await;
    let manager = app.manager.clone();
    let contest = app.contest.clone();
    let contest_path = format!("/api/v1/contests/{contest}");

    // One edition per year; its number, criteria and prizes by default.
    let before = app.events().await;
    let (status, body) = manager.post("/api/v1/contests", edition_body()).await;
    assert_eq!(body["existing_id"], contest.as_str(), "{body}");
    app.refused(
        (status, body),
        StatusCode::CONFLICT,
        "contest-exists",
        "existe déjà",
        before,
    )
    .await;
    let school = app.user("school", Some(&app.college)).await;
    let edition = get(&school, &contest_path).await;
    assert_eq!(edition["edition"], 14);
    assert_eq!(edition["criteria"].as_array().unwrap().len(), 4);
    assert_eq!(edition["special_prizes"].as_array().unwrap().len(), 3);
    assert_eq!(edition["categories"][1]["key"], "college_video");
    assert_eq!(
        edition["submission_deadline_paris"],
        "12/02/2027 à 23:59 (heure de Paris)"
    );
    let listed = get(&school, "/api/v1/contests?school_year=2026-2027").await;
    assert_eq!(listed["total"], 1);

    // A collège's poster: a PNG and a PDF, the same PNG twice stored once.
    let first = app
        .entry(&school, &app.college, "college_affiche", "5e B")
        .await;
    let files = format!("/api/v1/entries/{first}/files");
    let (status, poster) = upload(&school, &first, "image/png", Some("affiche.png"), png(1)).await;
    assert_eq!(status, StatusCode::CREATED, "{poster}");
    assert_eq!(poster["media"], "affiche");
    assert_eq!(poster["file_type"], "png");
    assert_eq!(poster["bytes"], png(1).len());
    let sha = poster["sha256"].as_str().unwrap().to_owned();
    assert!(app.stored(&sha));
    let (status, again) = upload(&school, &first, "application/octet-stream", None, png(1)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["file_id"], poster["file_id"]);
    let (status, sheet) =
        upload(&school, &first, "application/pdf", Some("fiche.pdf"), pdf()).await;
    assert_eq!(status, StatusCode::CREATED, "{sheet}");
    assert_eq!(app.on_disk(), (2, 0));
    // The file reads back as sent.
    let response = school
        .request(
            Method::GET,
            &format!("{files}/{}", poster["file_id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.bytes().await.unwrap().to_vec(), png(1));

    attest(&school, &first).await;
    post(
        &school,
        &format!("/api/v1/entries/{first}/submit"),
        Value::Null,
    )
    .await;
    let before = app.events().await;
    let answer = school
        .call(
            Method::PATCH,
            &format!("/api/v1/entries/{first}"),
            json!({"title": "Autre titre"}),
        )
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "entry-not-draft",
        "ne se modifie plus",
        before,
    )
    .await;
    let view = get(&school, &format!("/api/v1/entries/{first}")).await;
    assert_eq!(view["status"], "submitted");
    assert_eq!(
        view["responsible"]["email"],
        "camille.martin@ac-toulouse.fr"
    );
    assert_eq!(view["files"].as_array().unwrap().len(), 2);
    assert!(view["scores"].as_array().unwrap().is_empty());

    // Another collège's video (60 s), and a poster of Gers.
    let other = app.user("school", Some(&app.other_college)).await;
    let second = app
        .entry(&other, &app.other_college, "college_video", "4e A")
        .await;
    let mp4 = pharos_contests::files::tiny_mp4(60);
    let (status, video) = upload(&other, &second, "video/mp4", Some("clip.mp4"), mp4).await;
    assert_eq!(status, StatusCode::CREATED, "{video}");
    assert_eq!(
        (video["media"].as_str(), video["duration_seconds"].as_u64()),
        (Some("video"), Some(60))
    );
    attest(&other, &second).await;
    post(
        &other,
        &format!("/api/v1/entries/{second}/submit"),
        Value::Null,
    )
    .await;
    let gers = app.user("school", Some(&app.gers)).await;
    let third = app.ready(&gers, &app.gers, "3e C", png(3)).await;
    post(
        &gers,
        &format!("/api/v1/entries/{third}/submit"),
        Value::Null,
    )
    .await;
    let third_sha = get(&gers, &format!("/api/v1/entries/{third}")).await["files"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();

    // Admissibility: a reason for an inadmissible entry.
    let admissibility = |id: &str| format!("/api/v1/entries/{id}/admissibility");
    let before = app.events().await;
    let answer = manager
        .post(&admissibility(&third), json!({"admissible": false}))
        .await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason-missing",
        "motif",
        before,
    )
    .await;
    post(
        &manager,
        &admissibility(&third),
        json!({"admissible": false, "reason": "Hors sujet"}),
    )
    .await;
    post(
        &manager,
        &admissibility(&first),
        json!({"admissible": true}),
    )
    .await;
    post(
        &manager,
        &admissibility(&second),
        json!({"admissible": true}),
    )
    .await;

    // Jurors: one attached to the first entry's school, one to Gers, one unattached.
    let of_school = app.user("juror", None).await;
    let of_gers = app.user("juror", None).await;
    let free = app.user("juror", None).await;
    let jurors = format!("{contest_path}/jurors");
    post(
        &manager,
        &jurors,
        json!({"user_id": of_school.id, "school_uai": app.college}),
    )
    .await;
    post(
        &manager,
        &jurors,
        json!({"user_id": of_gers.id, "department": "32"}),
    )
    .await;
    post(&manager, &jurors, json!({"user_id": free.id})).await;
    let trainer = app.user("trainer", None).await;
    let before = app.events().await;
    let answer = manager.post(&jurors, json!({"user_id": trainer.id})).await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not-a-juror",
        "rôle juré",
        before,
    )
    .await;
    let assign = |id: &str| format!("/api/v1/entries/{id}/jurors");
    let before = app.events().await;
    let answer = manager
        .post(&assign(&first), json!({"juror_id": of_school.id}))
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "juror-recused",
        "rattaché à l'établissement",
        before,
    )
    .await;
    let answer = manager
        .post(&assign(&third), json!({"juror_id": free.id}))
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "entry-not-admissible",
        "recevable",
        before,
    )
    .await;
    post(
        &manager,
        &assign(&second),
        json!({"juror_id": of_school.id}),
    )
    .await;
    post(&manager, &assign(&first), json!({"juror_id": of_gers.id})).await;
    post(&manager, &assign(&first), json!({"juror_id": free.id})).await;
    post(&manager, &assign(&second), json!({"juror_id": free.id})).await;

    // A juror sees and scores only what is assigned to them.
    let before = app.events().await;
    let (status, body) = of_school.get(&format!("/api/v1/entries/{first}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let marks =
        |m: i64| json!({"scores": {"message": m, "creativite": m, "realisation": m, "valeurs": m}});
    let (status, body) = of_school
        .post(&format!("/api/v1/entries/{first}/scores"), marks(10))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(app.events().await, before);
    let mine = get(&of_school, &format!("{contest_path}/entries")).await;
    assert_eq!(mine["total"], 1, "{mine}");
    assert_eq!(mine["items"][0]["id"], second.as_str());
    let seen = get(&of_school, &format!("/api/v1/entries/{second}")).await;
    assert!(seen["responsible"].is_null(), "{seen}");
    let answer = of_school
        .post(&format!("/api/v1/entries/{second}/scores"), marks(21))
        .await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "score-out-of-range",
        "entre 0 et 20",
        before,
    )
    .await;
    post(
        &of_school,
        &format!("/api/v1/entries/{second}/scores"),
        marks(12),
    )
    .await;
    post(
        &of_gers,
        &format!("/api/v1/entries/{first}/scores"),
        marks(16),
    )
    .await;
    post(&free, &format!("/api/v1/entries/{first}/scores"), marks(14)).await;
    let progress = get(&manager, &format!("{contest_path}/jury-progress")).await;
    let juror_line = |id: &str| {
        progress["jurors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["user_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(juror_line(&free.id)["assigned"], 2);
    assert_eq!(juror_line(&free.id)["scored"], 1);
    assert_eq!(juror_line(&of_school.id)["scored"], 1);
    let first_line = progress["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entry_id"] == first.as_str())
        .cloned()
        .unwrap();
    assert_eq!(first_line["score"], 15.0);
    assert_eq!(first_line["rank"], 1);
    let pole_view = get(&manager, &format!("/api/v1/entries/{first}")).await;
    assert_eq!(pole_view["scores"].as_array().unwrap().len(), 2);
    assert_eq!(
        get(&school, &format!("/api/v1/entries/{first}")).await["scores"],
        json!([])
    );

    // Awards: only admissible entries; one laureate per category.
    let award = |id: &str| format!("/api/v1/entries/{id}/awards");
    let before = app.events().await;
    let answer = manager
        .post(&award(&third), json!({"kind": "laureate"}))
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "award-entry-not-admissible",
        "recevable",
        before,
    )
    .await;
    post(&manager, &award(&first), json!({"kind": "laureate"})).await;
    post(
        &manager,
        &award(&first),
        json!({"kind": "nominated_national"}),
    )
    .await;
    post(&manager, &award(&second), json!({"kind": "mention"})).await;

    // The palmarès: not before it is published, then public and without personal data.
    let anonymous = app.anonymous();
    let palmares = format!("{contest_path}/palmares");
    let (status, body) = anonymous.get(&palmares).await;
    assert_eq!(
        (status, rule(&body)),
        (StatusCode::NOT_FOUND, "palmares-not-published")
    );
    post(
        &manager,
        &format!("{contest_path}/publish-results"),
        Value::Null,
    )
    .await;
    let published = get(&anonymous, &palmares).await;
    let text = published.to_string();
    assert!(!text.contains("camille"), "{text}");
    assert!(!text.contains("Camille"), "{text}");
    let categories = published["categories"].as_array().unwrap();
    assert_eq!(categories.len(), 2, "{published}");
    let poster_line = &categories[0]["entries"][0];
    assert_eq!(poster_line["entry_id"], first.as_str());
    assert_eq!(
        poster_line["awards"],
        json!(["laureate", "nominated_national"])
    );
    assert_eq!(poster_line["pupil_count"], 24);
    assert_eq!(
        poster_line["school_name"],
        format!("Établissement {}", app.college)
    );
    assert_eq!(poster_line["rank"], 1);
    // Frozen.
    let before = app.events().await;
    let answer = free
        .post(&format!("/api/v1/entries/{second}/scores"), marks(20))
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "results-published",
        "figé",
        before,
    )
    .await;
    let answer = manager
        .post(&award(&second), json!({"kind": "coup_de_coeur"}))
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "results-published",
        "figé",
        before,
    )
    .await;
    assert_eq!(
        get(&school, &format!("/api/v1/entries/{first}")).await["awards"],
        json!(["laureate", "nominated_national"])
    );

    // The close deletes the files of entries without an award, keeps the others'.
    let closed = post(&manager, &format!("{contest_path}/close"), Value::Null).await;
    assert_eq!(closed["entries_purged"], 1, "{closed}");
    assert_eq!(closed["files_deleted"], 1, "{closed}");
    assert!(!app.stored(&third_sha));
    assert!(app.stored(&sha));
    let purged = get(&gers, &format!("/api/v1/entries/{third}")).await;
    assert_eq!(purged["files_deleted"], true);
    assert!(purged["files"].as_array().unwrap().is_empty());

    // No responsible adult in clear in the log; each held for the edition.
    let stored = app.stored_text().await;
    assert!(!stored.contains("camille.martin"), "{stored}");
    let holds: i64 = on_db!(app.store.db(), |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM person_holds WHERE purpose = 'contest_responsible'"
    )
    .fetch_one(&pool)
    .await)
    .unwrap();
    assert_eq!(holds, 3);
    app.finish().await;
}

/// Sends `bytes` as a chunked body (no Content-Length: only the stream tells the size),
/// and answers the status and the problem.
async fn upload_chunked(
    app: &Contest,
    client: &Client,
    entry: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/v1/entries/{entry}/files HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/png\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        client.token()
    );
    let (mut reader, mut writer) = stream.split();
    let send = async move {
        writer.write_all(head.as_bytes()).await?;
        for chunk in bytes.chunks(8192) {
            writer
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            writer.write_all(chunk).await?;
            writer.write_all(b"\r\n").await?;
        }
        writer.write_all(b"0\r\n\r\n").await?;
        std::io::Result::Ok(())
    };
    let mut answer = Vec::new();
    let receive = reader.read_to_end(&mut answer);
    let (_, received) = tokio::join!(send, receive);
    received.unwrap();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .and_then(|b| b.find('{').map(|i| &b[i..]))
        .and_then(|b| b.rfind('}').map(|j| &b[..=j]))
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

async fn uploads_are_capped_typed_from_content_and_leave_nothing_behind(db: TestDb) {
    let app = Contest::start(db).await;
    let school = app.user("school", Some(&app.college)).await;
    let entry = app
        .entry(&school, &app.college, "college_affiche", "5e B")
        .await;
    let before = app.events().await;

    // Too large, said by its Content-Length.
    let mut big = png(1);
    big.resize(MAX_FILE + 1, 0);
    let answer = upload(
        &school,
        &entry,
        "image/png",
        Some("affiche.png"),
        big.clone(),
    )
    .await;
    app.refused(
        answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "file-too-large",
        "rien n'a été conservé",
        before,
    )
    .await;
    // Its body unread, the connection is not kept for a next request (which would
    // otherwise go out on a connection the server closes).
    let refused = school
        .request(Method::POST, &format!("/api/v1/entries/{entry}/files"))
        .header("content-type", "image/png")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        refused.headers().get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
    // Too large, found while streaming.
    let mut bigger = png(2);
    bigger.resize(3 * MAX_FILE, 7);
    let (status, body) = upload_chunked(&app, &school, &entry, bigger).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(rule(&body), "file-too-large", "{body}");
    assert_eq!(app.events().await, before);
    assert_eq!(
        app.on_disk(),
        (0, 0),
        "nothing kept, no temporary file left"
    );

    // An extension or a Content-Type lying about the content.
    let answer = upload(
        &school,
        &entry,
        "application/octet-stream",
        Some("affiche.pdf"),
        png(1),
    )
    .await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "file-type-mismatch",
        "son contenu est png",
        before,
    )
    .await;
    let answer = upload(&school, &entry, "image/png", None, pdf()).await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "file-type-mismatch",
        "son contenu est pdf",
        before,
    )
    .await;
    // Content of no known type, or of a type the edition does not take.
    let answer = upload(
        &school,
        &entry,
        "application/octet-stream",
        None,
        b"bonjour".to_vec(),
    )
    .await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "file-type-unknown",
        "aucun type",
        before,
    )
    .await;
    let answer = upload(&school, &entry, "image/jpeg", Some("photo.jpg"), jpeg()).await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "file-type-not-allowed",
        "jpeg",
        before,
    )
    .await;
    let answer = upload(&school, &entry, "text/plain", None, png(1)).await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "file-type-not-allowed",
        "text/plain",
        before,
    )
    .await;
    // A video longer than the rules allow.
    let long = pharos_contests::files::tiny_mp4(121);
    let answer = upload(&school, &entry, "video/mp4", Some("clip.mp4"), long).await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "video-too-long",
        "121 s",
        before,
    )
    .await;
    assert_eq!(app.on_disk(), (0, 0));

    // Nothing changes a submitted entry's files.
    let (status, body) = upload(&school, &entry, "image/png", None, png(1)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    attest(&school, &entry).await;
    post(
        &school,
        &format!("/api/v1/entries/{entry}/submit"),
        Value::Null,
    )
    .await;
    let before = app.events().await;
    let answer = upload(&school, &entry, "image/png", None, png(2)).await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "entry-not-draft",
        "ne se modifie plus",
        before,
    )
    .await;
    assert_eq!(app.on_disk(), (1, 0));
    app.finish().await;
}

async fn submission_is_refused_a_minute_after_the_deadline_in_paris_unless_extended(db: TestDb) {
    let app = Contest::start(db).await;
    let school = app.user("school", Some(&app.college)).await;
    let on_time = app.ready(&school, &app.college, "5e A", png(1)).await;
    let late = app.ready(&school, &app.college, "5e B", png(2)).await;
    let submit = |id: &str| format!("/api/v1/entries/{id}/submit");

    // Before the opening.
    app.set_now(instant("2026-11-01T23:59:00+01:00"));
    let before = app.events().await;
    let answer = school.post(&submit(&on_time), Value::Null).await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "submission-not-open",
        "02/11/2026",
        before,
    )
    .await;
    // At 23:59 in Paris on the last day: accepted.
    app.set_now(instant("2027-02-12T23:59:00+01:00"));
    post(&school, &submit(&on_time), Value::Null).await;
    // One minute later: refused.
    app.set_now(instant("2027-02-13T00:00:00+01:00"));
    let before = app.events().await;
    let answer = school.post(&submit(&late), Value::Null).await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "submission-closed",
        "12/02/2027 à 23:59",
        before,
    )
    .await;
    let answer = school
        .post(&format!("/api/v1/entries/{late}/withdraw"), Value::Null)
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "withdrawal-after-deadline",
        "date limite",
        before,
    )
    .await;

    // Only the pole extends, with a reason, audited.
    let extensions = format!("/api/v1/contests/{}/deadline-extensions", app.contest);
    let extension = |reason: &str| json!({"school_uai": app.college, "until": "2027-02-15T12:00", "reason": reason});
    let (status, body) = school.post(&extensions, extension("Panne")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let answer = app.manager.post(&extensions, extension(" ")).await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason-missing",
        "se motive",
        before,
    )
    .await;
    post(
        &app.manager,
        &extensions,
        extension("Panne du réseau le 12 février"),
    )
    .await;
    let metadata: Vec<String> = on_db!(app.store.db(), |pool| sqlx::query_scalar(
        "SELECT CAST(metadata AS TEXT) FROM events WHERE event_type = 'deadline_extended'"
    )
    .fetch_all(&pool)
    .await)
    .unwrap();
    assert_eq!(metadata.len(), 1);
    assert!(metadata[0].contains(&app.manager.id), "{metadata:?}");
    post(&school, &submit(&late), Value::Null).await;
    let view = get(&school, &format!("/api/v1/entries/{late}")).await;
    assert_eq!(view["status"], "submitted");
    assert_eq!(
        view["submitted_under_extension_until"],
        "2027-02-15T11:00:00Z"
    );
    // Another school has no extension.
    let other = app.user("school", Some(&app.other_college)).await;
    let theirs = app.ready(&other, &app.other_college, "4e A", png(3)).await;
    let before = app.events().await;
    let answer = other.post(&submit(&theirs), Value::Null).await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "submission-closed",
        "prolongation",
        before,
    )
    .await;
    let mine = get(&school, &format!("/api/v1/contests/{}", app.contest)).await;
    assert_eq!(mine["extensions"].as_array().unwrap().len(), 1);
    assert_eq!(
        get(&other, &format!("/api/v1/contests/{}", app.contest)).await["extensions"],
        json!([])
    );
    app.finish().await;
}

async fn entries_are_refused_for_a_single_pupil_a_wrong_level_or_a_full_group(db: TestDb) {
    let app = Contest::start(db).await;
    let school = app.user("school", Some(&app.college)).await;
    let ecole = app.user("school", Some(&app.ecole)).await;
    let path = format!("/api/v1/contests/{}/entries", app.contest);
    let before = app.events().await;
    let mut single = entry_body(&app.college, "college_affiche", "Club");
    single["group"]["pupil_count"] = json!(1);
    let answer = school.post(&path, single).await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "group-too-small",
        "au moins deux élèves",
        before,
    )
    .await;
    let mut primary = entry_body(&app.college, "college_affiche", "Club");
    primary["group"]["levels"] = json!(["cm2"]);
    let answer = school.post(&path, primary).await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "level-mismatch",
        "cm2",
        before,
    )
    .await;
    // An école enters a collège category only in inter-degrés.
    let answer = ecole
        .post(&path, entry_body(&app.ecole, "college_affiche", "CM2"))
        .await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "level-mismatch",
        "école",
        before,
    )
    .await;
    let mut mixed = entry_body(&app.ecole, "inter_degres_affiche", "CM2-6e");
    mixed["group"]["levels"] = json!(["cm2", "6e"]);
    let (status, body) = ecole.post(&path, mixed).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // One entry per group under these rules.
    app.entry(&school, &app.college, "college_affiche", "5e B")
        .await;
    let before = app.events().await;
    let answer = school
        .post(&path, entry_body(&app.college, "college_video", " 5E  b "))
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "group-entries-over-limit",
        "5E  b",
        before,
    )
    .await;
    app.finish().await;
}

async fn every_role_in_and_out_of_scope(db: TestDb) {
    let app = Contest::start(db).await;
    let manager = app.manager.clone();
    let admin = app.admin().await;
    let referent31 = app.user("department_referent", Some("31")).await;
    let referent32 = app.user("department_referent", Some("32")).await;
    let own = app.user("school", Some(&app.college)).await;
    let other = app.user("school", Some(&app.other_college)).await;
    let juror = app.user("juror", None).await;
    let trainer = app.user("trainer", None).await;
    let anonymous = app.anonymous();

    // Editions: the pole only.
    let mut next = edition_body();
    next["school_year"] = json!("2027-2028");
    next["opens_at"] = json!("2027-11-02");
    next["submission_deadline"] = json!("2028-02-11");
    next["jury_on"] = json!("2028-03-16");
    next["national_submission_on"] = json!(null);
    next["exhibition_from"] = json!(null);
    next["exhibition_to"] = json!(null);
    for (who, client, expected) in [
        ("admin", &admin, StatusCode::FORBIDDEN),
        ("referent", &referent31, StatusCode::FORBIDDEN),
        ("school", &own, StatusCode::FORBIDDEN),
        ("juror", &juror, StatusCode::FORBIDDEN),
        ("trainer", &trainer, StatusCode::FORBIDDEN),
        ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
    ] {
        let before = app.events().await;
        let (status, body) = client.post("/api/v1/contests", next.clone()).await;
        assert_eq!(status, expected, "{who}: {body}");
        assert_eq!(app.events().await, before, "{who}");
    }
    let (status, body) = manager.post("/api/v1/contests", next).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Entries of the collège (31): itself, its department's referents, the pole.
    let allowed: [(&str, &Client); 3] = [
        ("pole_manager", &manager),
        ("referent 31", &referent31),
        ("school (own)", &own),
    ];
    let denied: [(&str, &Client, StatusCode); 6] = [
        ("admin", &admin, StatusCode::FORBIDDEN),
        ("referent 32", &referent32, StatusCode::FORBIDDEN),
        ("school (other)", &other, StatusCode::FORBIDDEN),
        ("juror", &juror, StatusCode::FORBIDDEN),
        ("trainer", &trainer, StatusCode::FORBIDDEN),
        ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
    ];
    let mut ids = Vec::new();
    for (n, (who, client)) in allowed.iter().enumerate() {
        let (status, body) = client
            .post(
                &format!("/api/v1/contests/{}/entries", app.contest),
                entry_body(&app.college, "college_affiche", &format!("Groupe {n}")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{who}: {body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let id = &ids[2];
    for (who, client, expected) in denied {
        let before = app.events().await;
        let (status, body) = client
            .post(
                &format!("/api/v1/contests/{}/entries", app.contest),
                entry_body(&app.college, "college_affiche", "Intrus"),
            )
            .await;
        assert_eq!(status, expected, "{who}: {body}");
        let (status, body) = client.get(&format!("/api/v1/entries/{id}")).await;
        assert_eq!(status, expected, "{who}: {body}");
        let (status, body) = upload(client, id, "image/png", None, png(9)).await;
        assert_eq!(status, expected, "{who}: {body}");
        let (status, body) = client
            .post(
                &format!("/api/v1/entries/{id}/attestations"),
                json!({"image_rights": true,
                "third_party_rights": true, "republic_values": true, "rights_grant": true,
                "attested_by": "x"}),
            )
            .await;
        assert_eq!(status, expected, "{who}: {body}");
        assert_eq!(app.events().await, before, "{who}");
        assert_eq!(app.on_disk(), (0, 0), "{who}");
    }
    for (who, client) in allowed {
        let view = get(client, &format!("/api/v1/entries/{id}")).await;
        assert_eq!(view["school_uai"], app.college.as_str(), "{who}");
        let list = get(client, &format!("/api/v1/contests/{}/entries", app.contest)).await;
        assert_eq!(list["total"], 3, "{who}: {list}");
    }
    // Lists show each only their scope.
    for (who, client) in [("referent 32", &referent32), ("school (other)", &other)] {
        let list = get(client, &format!("/api/v1/contests/{}/entries", app.contest)).await;
        assert_eq!(list["total"], 0, "{who}: {list}");
    }
    let (status, body) = trainer
        .get(&format!("/api/v1/contests/{}/entries", app.contest))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // The pole's decisions are the pole's.
    attest(&own, id).await;
    let (status, body) = upload(&own, id, "image/png", None, png(1)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    post(&own, &format!("/api/v1/entries/{id}/submit"), Value::Null).await;
    for (who, client) in [
        ("school", &own),
        ("referent", &referent31),
        ("juror", &juror),
    ] {
        let before = app.events().await;
        let (status, body) = client
            .post(
                &format!("/api/v1/entries/{id}/admissibility"),
                json!({"admissible": true}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        let (status, body) = client
            .post(
                &format!("/api/v1/contests/{}/jurors", app.contest),
                json!({"user_id": juror.id}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        let (status, body) = client
            .get(&format!("/api/v1/contests/{}/jury-progress", app.contest))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        assert_eq!(app.events().await, before, "{who}");
    }
    post(
        &manager,
        &format!("/api/v1/entries/{id}/admissibility"),
        json!({"admissible": true}),
    )
    .await;

    // A juror of the entry's school is recused; the school's account cannot score.
    post(
        &manager,
        &format!("/api/v1/contests/{}/jurors", app.contest),
        json!({"user_id": juror.id, "school_uai": app.college}),
    )
    .await;
    let before = app.events().await;
    let answer = manager
        .post(
            &format!("/api/v1/entries/{id}/jurors"),
            json!({"juror_id": juror.id}),
        )
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "juror-recused",
        &app.college,
        before,
    )
    .await;
    let (status, body) = juror.get(&format!("/api/v1/entries/{id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = own
        .post(
            &format!("/api/v1/entries/{id}/scores"),
            json!({"scores": {"message": 20, "creativite": 20, "realisation": 20, "valeurs": 20}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(app.events().await, before);
    app.finish().await;
}

/// Submits `entries`, then decides their admissibility: admissible but the last, refused
/// for being off topic.
async fn judged(app: &Contest, clients: &[(&Client, &str)]) {
    for (client, id) in clients {
        post(client, &format!("/api/v1/entries/{id}/submit"), Value::Null).await;
    }
    for (n, (_, id)) in clients.iter().enumerate() {
        let decision = if n + 1 == clients.len() {
            json!({"admissible": false, "reason": "Hors sujet"})
        } else {
            json!({"admissible": true})
        };
        post(
            &app.manager,
            &format!("/api/v1/entries/{id}/admissibility"),
            decision,
        )
        .await;
    }
}

async fn awards_are_revoked_until_publication_then_the_national_round_then_the_archive(db: TestDb) {
    let app = Contest::start(db).await;
    let manager = app.manager.clone();
    let contest_path = format!("/api/v1/contests/{}", app.contest);
    let school = app.user("school", Some(&app.college)).await;
    let other = app.user("school", Some(&app.other_college)).await;
    let gers = app.user("school", Some(&app.gers)).await;
    let nominee = app.ready(&school, &app.college, "5e B", png(1)).await;
    let runner = app.ready(&other, &app.other_college, "4e A", png(2)).await;
    let refused = app.ready(&gers, &app.gers, "3e C", png(3)).await;
    judged(
        &app,
        &[(&school, &nominee), (&other, &runner), (&gers, &refused)],
    )
    .await;
    // A draft never submitted.
    let unfinished = app
        .entry(&school, &app.college, "college_affiche", "6e A")
        .await;
    let award = |id: &str| format!("/api/v1/entries/{id}/awards");
    let revoke = |id: &str, kind: &str| format!("/api/v1/entries/{id}/awards/{kind}");
    let national = |id: &str| format!("/api/v1/entries/{id}/national-result");
    let status_of = |client: &Client, id: &str| {
        let (client, path) = (client.clone(), format!("/api/v1/entries/{id}"));
        async move { get(&client, &path).await["status"].clone() }
    };

    // A mistake: the runner made laureate. Only the pole takes it back, naming a known
    // award; taken back, it is audited and frees the category's place.
    post(&manager, &award(&runner), json!({"kind": "laureate"})).await;
    let referent = app.user("department_referent", Some("31")).await;
    let before = app.events().await;
    for (who, client) in [("school", &other), ("referent", &referent)] {
        let (status, body) = client.delete(&revoke(&runner, "laureate")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
    }
    assert_eq!(app.events().await, before);
    let answer = manager.delete(&revoke(&runner, "gagnant")).await;
    app.refused(
        answer,
        StatusCode::NOT_FOUND,
        "award-kind-unknown",
        "« gagnant » n'est pas une distinction",
        before,
    )
    .await;
    let answer = manager.delete(&revoke(&runner, "mention")).await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "award-not-held",
        "rien à retirer",
        before,
    )
    .await;
    let (status, body) = manager.delete(&revoke(&runner, "laureate")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["version"].as_i64().is_some(), "{body}");
    let metadata: Vec<String> = on_db!(app.store.db(), |pool| sqlx::query_scalar(
        "SELECT CAST(metadata AS TEXT) FROM events WHERE event_type = 'award_revoked'"
    )
    .fetch_all(&pool)
    .await)
    .unwrap();
    assert_eq!(metadata.len(), 1);
    assert!(metadata[0].contains(&manager.id), "{metadata:?}");
    let before = app.events().await;
    let answer = manager.delete(&revoke(&runner, "laureate")).await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "award-not-held",
        "« lauréat »",
        before,
    )
    .await;
    assert_eq!(
        get(&manager, &format!("/api/v1/entries/{runner}")).await["awards"],
        json!([])
    );
    post(&manager, &award(&nominee), json!({"kind": "laureate"})).await;
    post(
        &manager,
        &award(&nominee),
        json!({"kind": "nominated_national"}),
    )
    .await;
    post(&manager, &award(&runner), json!({"kind": "mention"})).await;

    // No national result before the palmarès; no outcome shown before it either.
    let before = app.events().await;
    let answer = manager
        .post(&national(&nominee), json!({"awarded": true}))
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "results-not-published",
        "palmarès académique publié",
        before,
    )
    .await;
    assert_eq!(status_of(&manager, &nominee).await, "admissible");
    post(
        &manager,
        &format!("{contest_path}/publish-results"),
        Value::Null,
    )
    .await;

    // Published: the palmarès is frozen, each entry shows its outcome.
    let before = app.events().await;
    let answer = manager.delete(&revoke(&runner, "mention")).await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "results-published",
        "figé",
        before,
    )
    .await;
    assert_eq!(status_of(&school, &nominee).await, "nominated_national");
    assert_eq!(status_of(&other, &runner).await, "mention");
    assert_eq!(status_of(&gers, &refused).await, "inadmissible");
    let listed = get(&manager, &format!("{contest_path}/entries")).await;
    let statuses: Vec<(String, String)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&(runner.clone(), "mention".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&(nominee.clone(), "nominated_national".into())),
        "{statuses:?}"
    );

    // The national round: for the nominee only, by the pole.
    let answer = manager
        .post(&national(&runner), json!({"awarded": true}))
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "entry-not-nominated",
        "pas été sélectionnée pour le concours national",
        before,
    )
    .await;
    let answer = manager
        .post(&national(&nominee), json!({"awarded": "oui"}))
        .await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-body",
        "awarded",
        before,
    )
    .await;
    let (status, body) = school
        .post(&national(&nominee), json!({"awarded": true}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(app.events().await, before);
    post(&manager, &national(&nominee), json!({"awarded": false})).await;
    assert_eq!(status_of(&school, &nominee).await, "not_awarded");
    // Corrected: the later result stands.
    post(&manager, &national(&nominee), json!({"awarded": true})).await;
    let seen = get(&school, &format!("/api/v1/entries/{nominee}")).await;
    assert_eq!(seen["status"], "national_laureate", "{seen}");
    assert_eq!(seen["national_laureate"], true, "{seen}");
    assert!(get(&other, &format!("/api/v1/entries/{runner}")).await["national_laureate"].is_null());

    // The close archives every entry; files go for the entry without an award only.
    let closed = post(&manager, &format!("{contest_path}/close"), Value::Null).await;
    assert_eq!(closed["entries_archived"], 4, "{closed}");
    assert_eq!(closed["entries_purged"], 1, "{closed}");
    assert_eq!(closed["files_deleted"], 1, "{closed}");
    for (client, id) in [
        (&school, &nominee),
        (&other, &runner),
        (&gers, &refused),
        (&school, &unfinished),
    ] {
        assert_eq!(status_of(client, id).await, "archived", "{id}");
    }
    let archived = get(&school, &format!("/api/v1/entries/{nominee}")).await;
    assert_eq!(archived["national_laureate"], true);
    assert_eq!(
        archived["awards"],
        json!(["laureate", "nominated_national"])
    );
    assert_eq!(archived["files"].as_array().unwrap().len(), 1);
    let purged = get(&gers, &format!("/api/v1/entries/{refused}")).await;
    assert_eq!(purged["files_deleted"], true);
    assert!(
        purged["files_deleted_reason"]
            .as_str()
            .unwrap()
            .contains("Clôture de la campagne"),
        "{purged}"
    );
    let before = app.events().await;
    let answer = manager
        .post(&national(&nominee), json!({"awarded": false}))
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "campaign-closed",
        "archivées",
        before,
    )
    .await;
    // An archived draft changes no more, and keeps nothing sent to it.
    let stored = app.on_disk();
    let answer = school
        .call(
            Method::PATCH,
            &format!("/api/v1/entries/{unfinished}"),
            json!({"title": "Trop tard"}),
        )
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "campaign-closed",
        "archivée",
        before,
    )
    .await;
    let answer = upload(&school, &unfinished, "image/png", None, png(9)).await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "campaign-closed",
        "archivée",
        before,
    )
    .await;
    assert_eq!(app.on_disk(), stored);
    app.finish().await;
}

/// Polls `entry` as `client` until `done` holds of it, for at most 20 s: the erasure
/// follower acts on the vault's event after the erasure's answer.
async fn eventually(client: &Client, entry: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let seen = get(client, &format!("/api/v1/entries/{entry}")).await;
        if done(&seen) {
            return seen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never reached: {seen}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn erasing_the_responsible_adult_deletes_their_entries_files(db: TestDb) {
    let app = Contest::start(db).await;
    let school = app.user("school", Some(&app.college)).await;
    let other = app.user("school", Some(&app.other_college)).await;
    // Camille Martin is responsible for two entries, one submitted; another adult's entry
    // holds the same content as the first.
    let first = app.ready(&school, &app.college, "5e B", png(1)).await;
    let second = app.ready(&school, &app.college, "5e C", png(2)).await;
    post(
        &school,
        &format!("/api/v1/entries/{first}/submit"),
        Value::Null,
    )
    .await;
    let mut body = entry_body(&app.other_college, "college_affiche", "4e A");
    body["responsible"] =
        json!({"display_name": "Dominique Petit", "email": "dominique.petit@ac-toulouse.fr"});
    let (status, created) = other
        .post(&format!("/api/v1/contests/{}/entries", app.contest), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let kept = created["id"].as_str().unwrap().to_owned();
    let (status, shared) = upload(&other, &kept, "image/png", None, png(1)).await;
    assert_eq!(status, StatusCode::CREATED, "{shared}");
    let shared_sha = shared["sha256"].as_str().unwrap().to_owned();
    let own_sha = get(&school, &format!("/api/v1/entries/{second}")).await["files"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.on_disk(), (2, 0));

    // The pole erases Camille (the directory's route).
    let erased = post(
        &app.manager,
        "/api/v1/people/erase",
        json!({"email": "camille.martin@ac-toulouse.fr", "reason": "Demande de l'intéressée"}),
    )
    .await;
    assert_eq!(erased["erased"], true, "{erased}");
    for entry in [&first, &second] {
        let seen = eventually(&school, entry, |e| e["files_deleted"] == true).await;
        assert_eq!(seen["files"], json!([]), "{seen}");
        assert_eq!(seen["responsible"]["email"], "donnée effacée", "{seen}");
        assert!(
            seen["files_deleted_reason"]
                .as_str()
                .unwrap()
                .contains("adulte responsable"),
            "{seen}"
        );
    }
    // Camille's own content is gone from disk; the content another entry holds stays.
    assert!(!app.stored(&own_sha));
    assert!(app.stored(&shared_sha));
    assert_eq!(app.on_disk(), (1, 0));
    let untouched = get(&other, &format!("/api/v1/entries/{kept}")).await;
    assert_eq!(untouched["files_deleted"], false);
    assert_eq!(untouched["files"].as_array().unwrap().len(), 1);
    assert_eq!(untouched["responsible"]["display_name"], "Dominique Petit");
    let response = other
        .request(
            Method::GET,
            &format!(
                "/api/v1/entries/{kept}/files/{}",
                shared["file_id"].as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().to_vec(), png(1));

    // Each entry's history shows the deletion, once, caused by the erasure and done in
    // the name of its actor; the follower's checkpoint is past the erasure.
    let erasures = app
        .store
        .read_all(GlobalPosition::START, 100, &["person".to_owned()])
        .await
        .unwrap();
    let erasure = erasures
        .iter()
        .find(|e| e.event_type == "person_erased")
        .unwrap();
    for entry in [&first, &second] {
        let stream = StreamId::new("contest_entry", entry).unwrap();
        let history = app.store.read_stream(&stream, 1).await.unwrap();
        let deletions: Vec<_> = history
            .iter()
            .filter(|e| e.event_type == "files_deleted")
            .collect();
        assert_eq!(deletions.len(), 1, "{history:?}");
        let deletion = deletions[0];
        assert_eq!(deletion.data["purpose"], "person_erased", "{deletion:?}");
        assert_eq!(deletion.data["file_ids"].as_array().unwrap().len(), 1);
        assert_eq!(deletion.metadata.causation_id, Some(erasure.event_id));
        assert_eq!(
            deletion.metadata.actor_id.as_deref(),
            Some(app.manager.id.as_str())
        );
        assert!(deletion.position > erasure.position);
    }
    // The checkpoint moves once the batch's effects are done: polled.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app
        .store
        .checkpoint(pharos_contests::purge::ERASURE_FOLLOWER)
        .await
        .unwrap()
        < erasure.position
    {
        assert!(
            std::time::Instant::now() < deadline,
            "checkpoint never moved"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-contests";
    the_full_path_from_edition_to_palmares,
    uploads_are_capped_typed_from_content_and_leave_nothing_behind,
    submission_is_refused_a_minute_after_the_deadline_in_paris_unless_extended,
    entries_are_refused_for_a_single_pupil_a_wrong_level_or_a_full_group,
    every_role_in_and_out_of_scope,
    awards_are_revoked_until_publication_then_the_national_round_then_the_archive,
    erasing_the_responsible_adult_deletes_their_entries_files,
);

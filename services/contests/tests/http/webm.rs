//! WebM videos through the assembled application, on SQLite and on PostgreSQL: the type
//! recognised from the content, the duration read from the container's `Segment/Info`
//! and checked against the edition's `max_video_seconds`, nothing kept of a refusal.
//!
//! The fixtures are real files made with ffmpeg 5.1 (VP9, no sound):
//! `ffmpeg -f lavfi -i "color=c=0x1e3a8a:s=32x32:r=5:d=2" -c:v libvpx-vp9 -b:v 20k -an clip-2s.webm`
//! `ffmpeg -f lavfi -i "color=c=0x8a1e1e:s=16x16:r=1:d=121" -c:v libvpx-vp9 -b:v 1k -g 1000 -an clip-121s.webm`

use std::path::{Path, PathBuf};

use pharos_test_support::{TestApp, TestDb, instant, rule};
use reqwest::StatusCode;
use serde_json::json;

use super::{NOW, edition_body, entry_body, uai, upload};

/// 734 bytes, 2 s.
const WEBM_2S: &[u8] = include_bytes!("../fixtures/clip-2s.webm");
/// 3,174 bytes, 121 s: one second over the test edition's 120.
const WEBM_121S: &[u8] = include_bytes!("../fixtures/clip-121s.webm");

/// The files under `dir`, however deep.
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

async fn webm_videos_are_timed_from_their_container(db: TestDb) {
    let files: PathBuf = std::env::temp_dir().join(format!(
        "pharos-contests-webm-{}",
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
    let college = uai(31, 1);
    app.school(&college, "college", "31").await;
    let mut edition = edition_body();
    edition["rules"]["file_types"] = json!(["png", "pdf", "mp4", "webm"]);
    let (status, body) = manager.post("/api/v1/contests", edition).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let contest = body["id"].as_str().unwrap().to_owned();
    let school = app.user("school", Some(&college)).await;
    let (status, body) = school
        .post(
            &format!("/api/v1/contests/{contest}/entries"),
            entry_body(&college, "college_video", "4e A"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let entry = body["id"].as_str().unwrap().to_owned();
    let before = app.events().await;

    // 121 s when the rules allow 120: refused, nothing kept.
    let (status, body) = upload(
        &school,
        &entry,
        "video/webm",
        Some("clip.webm"),
        WEBM_121S.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(rule(&body), "video-too-long", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("121 s"), "{body}");
    // No Duration in its Info (the element renamed to one nobody reads): unreadable.
    let mut untimed = WEBM_2S.to_vec();
    let at = untimed
        .windows(3)
        .position(|w| w == [0x44, 0x89, 0x88])
        .expect("the fixture's 8-byte Duration");
    untimed[at + 1] = 0x88;
    let (status, body) = upload(&school, &entry, "video/webm", None, untimed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(rule(&body), "video-duration-unreadable", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("WebM"), "{body}");
    // Named an MP4, its content a WebM.
    let (status, body) = upload(
        &school,
        &entry,
        "application/octet-stream",
        Some("clip.mp4"),
        WEBM_2S.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(rule(&body), "file-type-mismatch", "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("son contenu est webm"),
        "{body}"
    );
    assert_eq!(app.events().await, before, "nothing appended");
    assert_eq!(count(&files.join("sha256")), 0, "nothing stored");
    assert_eq!(count(&files.join("tmp")), 0, "no temporary file left");

    // 2 s, sent without a name or a type: recognised, timed, stored, served back.
    let (status, body) = upload(
        &school,
        &entry,
        "application/octet-stream",
        None,
        WEBM_2S.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["file_type"], "webm", "{body}");
    assert_eq!(body["media"], "video", "{body}");
    assert_eq!(body["duration_seconds"], 2, "{body}");
    assert_eq!(body["bytes"], WEBM_2S.len(), "{body}");
    let sha256 = body["sha256"].as_str().unwrap();
    assert!(
        files
            .join("sha256")
            .join(&sha256[..2])
            .join(sha256)
            .is_file()
    );
    let file_id = body["file_id"].as_str().unwrap();
    let response = school
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/entries/{entry}/files/{file_id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "video/webm"
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), WEBM_2S);
    let (_, shown) = school.get(&format!("/api/v1/entries/{entry}")).await;
    assert_eq!(shown["files"][0]["duration_seconds"], 2, "{shown}");
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

pharos_test_support::on_both_backends!(
    "pharos-contests-webm";
    webm_videos_are_timed_from_their_container,
);

//! A juror in a real browser: the entries assigned, a production shown, the grid.

use pharos_test_support::seed::{CONTEST_NOW, judged_contest};
use pharos_test_support::{PASSWORD, TestApp, TestDb, instant};

use crate::browser::{browser_ready, walk};

#[tokio::test]
async fn a_juror_scores_a_production_seen_in_the_browser() {
    if !browser_ready() {
        return;
    }
    let files = std::env::temp_dir().join(format!("pharos-browser-jury-{}", uuid::Uuid::now_v7()));
    let dir = files.display().to_string();
    let app = TestApp::builder(TestDb::sqlite("browser-jury"))
        .targets(&["all"])
        .at(instant(CONTEST_NOW))
        .configure(|raw| raw.files_dir = Some(dir))
        .start()
        .await;
    let (juror, first, _) = judged_contest(&app).await;
    walk(
        "walk-juror.mjs",
        &[
            ("PHAROS_BASE_URL", app.base.as_str()),
            ("PHAROS_JUROR_EMAIL", juror.email.as_str()),
            ("PHAROS_JUROR_PASSWORD", PASSWORD),
        ],
    )
    .await;
    // What the grid sent is what the contest holds.
    let (_, view) = juror.get(&format!("/api/v1/entries/{first}")).await;
    assert_eq!(view["scores"][0]["scores"]["message"], 16, "{view}");
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

//! The web pages in a real browser: headless Debian Chromium driven by playwright-core
//! (`tests/browser/`, from npm), with axe-core checking every page visited. The
//! application runs here, every target on SQLite; the walk signs in as each role and
//! follows its main path, saving screenshots under `tests/browser/screenshots/`.
//!
//! Needs `/usr/bin/chromium` (Debian `chromium`) and `npm ci --prefix tests/browser`;
//! `.ci/run` installs both. Missing outside CI: the test says so and passes; missing
//! under CI: it fails.

use std::path::{Path, PathBuf};

use calamine::Reader;
use pharos_test_support::{PASSWORD, TestApp, TestDb};
use reqwest::StatusCode;
use serde_json::json;

const COLLEGE_31: &str = "0310001H";
const LYCEE_31: &str = "0310002J";
const COLLEGE_32: &str = "0320001C";

fn walk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Chromium and the npm packages, or why not.
pub(crate) fn browser_ready() -> bool {
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let packages = walk_dir().join("node_modules/playwright-core");
    let missing: Vec<String> = [
        (&chromium, "apt-get install chromium"),
        (&packages, "npm ci --prefix tests/browser"),
    ]
    .into_iter()
    .filter(|(path, _)| !path.exists())
    .map(|(path, how)| format!("{} ({how})", path.display()))
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "missing for the browser tests: {}; .ci/run installs them",
        missing.join(", ")
    );
    eprintln!("missing {}: browser walk skipped", missing.join(", "));
    false
}

/// Runs the walk `script` of `tests/browser/` with `env`; its output, once every step
/// passed.
pub(crate) async fn walk(script: &str, env: &[(&str, &str)]) -> String {
    let output = tokio::process::Command::new("node")
        .arg(script)
        .current_dir(walk_dir())
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser walk {script} failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    stdout
}

#[tokio::test]
async fn the_manager_watches_the_dashboard_change_live_then_reads_it_as_it_was() {
    if !browser_ready() {
        return;
    }
    let app = TestApp::builder(TestDb::sqlite("browser"))
        .targets(&["all"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(LYCEE_31, "lycee_gt", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let year = pharos_events::phare::SchoolYear::containing(today);
    // A team one trained member short of the target: the walk's other session adds the
    // fifth while the manager watches the dashboard.
    let (status, deployment) = manager
        .post(
            "/api/v1/phare/deployments",
            json!({ "school_year": year.to_string(), "school_uai": COLLEGE_31 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deployment}");
    let deployment = deployment["id"].as_str().unwrap().to_owned();
    for n in 0..4 {
        let (status, body) = manager
            .post(
                &format!("/api/v1/phare/deployments/{deployment}/team-members"),
                json!({
                    "person": { "display_name": format!("Membre {n}"), "email": format!("membre{n}@ac-toulouse.fr") },
                    "function": "enseignant", "trained": true, "training_minutes": 720, "mpp_trained": false
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let other_session = app.login(&manager.email, PASSWORD).await;
    let downloads = std::env::temp_dir().join(format!("pharos-browser-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&downloads).unwrap();

    let stdout = walk(
        "walk-manager.mjs",
        &[
            ("PHAROS_BASE_URL", app.base.as_str()),
            ("PHAROS_MANAGER_EMAIL", manager.email.as_str()),
            ("PHAROS_MANAGER_PASSWORD", PASSWORD),
            ("PHAROS_OTHER_TOKEN", other_session.token()),
            ("PHAROS_DEPLOYMENT_ID", deployment.as_str()),
            ("PHAROS_DOWNLOAD_DIR", &downloads.to_string_lossy()),
        ],
    )
    .await;
    assert!(stdout.contains("7 passed, 0 failed"), "{stdout}");

    // The export the manager downloaded is a workbook with the indicators, stamped.
    let xlsx = std::fs::read_dir(&downloads)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .unwrap_or_else(|| panic!("no XLSX downloaded into {}", downloads.display()));
    let mut workbook: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let mut cells: Vec<String> = Vec::new();
    for name in workbook.sheet_names() {
        let range = workbook.worksheet_range(&name).unwrap();
        cells.extend(range.rows().flatten().map(ToString::to_string));
    }
    assert!(
        cells[0].starts_with("Extrait le") && cells[0].contains("indicateurs au"),
        "no stamp: {cells:?}"
    );
    // The trained-teams figure as the manager saw it when she downloaded: 1 of 3.
    let figure = "Collèges et lycées dont l'équipe ressource compte au moins 5 membres formés";
    assert!(
        cells
            .windows(5)
            .any(|w| w[0] == figure && w[1] == "Ensemble" && w[3] == "1" && w[4] == "3"),
        "no trained-teams figure of 1 in 3 in the export: {cells:?}"
    );
    let _ = std::fs::remove_dir_all(&downloads);
    app.finish().await;
}

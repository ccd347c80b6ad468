//! A schema-based fuzz of every documented operation by a tool nobody here wrote
//! (schemathesis, from PyPI), as a pole manager, on both backends: no 5xx, every status
//! and content type documented, every body matching its schema.

use pharos_test_support::{Client, TestApp, TestDb, on_both_backends};
use serde_json::{Value, json};

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// `PHAROS_SCHEMATHESIS`, else the virtual environment `.ci/run` prepares at the root
/// of the workspace (`.venv/bin/schemathesis`). Missing outside CI: the test says so
/// and passes; missing under CI: it fails.
fn schemathesis() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PHAROS_SCHEMATHESIS").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/schemathesis"),
        std::path::PathBuf::from,
    );
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: .ci/run installs schemathesis in .venv",
        path.display()
    );
    eprintln!(
        "{} is missing (python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt): fuzz skipped",
        path.display()
    );
    None
}

async fn every_documented_operation_survives_a_schema_fuzz(db: TestDb) {
    let Some(schemathesis) = schemathesis() else {
        return;
    };
    let app = TestApp::builder(db).targets(&["all"]).start().await;
    let manager = app.user("pole_manager", None).await;
    let config = tempfile_path("schemathesis", "toml");
    std::fs::write(&config, seed(&app, &manager).await).unwrap();
    let report = tempfile_path("schemathesis", "xml");
    let output = tokio::process::Command::new(schemathesis)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", app.base))
        .args(["--checks", CHECKS])
        .args([
            "--header",
            &format!("Authorization: Bearer {}", manager.token()),
        ])
        .args([
            "--max-examples",
            "25",
            "--seed",
            "20261201",
            "--workers",
            "2",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--generation-database", "none", "--no-color"])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(&report)
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let junit = std::fs::read_to_string(&report).unwrap_or_default();
    let _ = std::fs::remove_file(&report);
    let _ = std::fs::remove_file(&config);
    app.finish().await;
    // The summary's last lines say how many operations and failures; all of it on failure.
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(junit.contains("<testsuite"), "no report written:\n{stdout}");
    let tested = junit.matches("<testcase").count();
    assert!(tested >= 50, "only {tested} operations fuzzed:\n{stdout}");
    // Operations answering only 401/403 would mean the session was lost (the account
    // locked itself out) and their answers checked nothing; only the login, fed wrong
    // credentials, answers that way.
    let locked_out: Vec<&str> = stdout
        .lines()
        .skip_while(|line| !line.starts_with("401 Unauthorized ("))
        .skip(1)
        .take_while(|line| line.starts_with("  - "))
        .filter(|line| line.trim() != "- POST /api/v1/auth/login")
        .collect();
    assert!(
        locked_out.is_empty(),
        "operations answered only 401: {locked_out:?}\n{stdout}"
    );
    let summary = stdout.split("SUMMARY").nth(1).unwrap_or(&stdout);
    eprintln!("schemathesis:{summary}");
}

fn tempfile_path(prefix: &str, extension: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "{prefix}-{}.{extension}",
        uuid::Uuid::now_v7().simple()
    ))
}

/// Records one of each resource and answers schemathesis's configuration: each
/// operation's path parameters bound to a resource that exists, so that its fuzzed bodies
/// reach the decisions instead of a 404.
async fn seed(app: &TestApp, manager: &Client) -> String {
    const UAI: &str = "0310001H";
    app.school(UAI, "college", "31").await;
    let created = |(status, body): (reqwest::StatusCode, Value)| {
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    };
    let training = created(
        manager
            .post(
                "/api/v1/trainings",
                json!({
                    "title": "Méthode de la préoccupation partagée", "topic": "mpp",
                    "audience": "équipes ressources", "department": "31", "description": "Deux jours"
                }),
            )
            .await,
    );
    let session = created(
        manager
            .post(
                &format!("/api/v1/trainings/{training}/sessions"),
                json!({
                    "starts_at": "2030-01-15T09:00:00+01:00", "ends_at": "2030-01-15T17:00:00+01:00",
                    "slots": [{"starts_at": "2030-01-15T09:00:00+01:00", "ends_at": "2030-01-15T12:00:00+01:00"}],
                    "location": "Atelier Canopé, Toulouse", "capacity": 30, "planned_minutes": 180,
                    "trainers": []
                }),
            )
            .await,
    );
    let partner = created(
        manager
            .post(
                "/api/v1/partners",
                json!({
                    "name": "Maison des adolescents", "kind": "association", "scope": "department",
                    "department": "31", "description": "Écoute", "phones": ["05 61 00 00 00"]
                }),
            )
            .await,
    );
    let deployment = created(
        manager
            .post(
                "/api/v1/phare/deployments",
                json!({ "school_year": "2026-2027", "school_uai": UAI }),
            )
            .await,
    );
    let label = created(
        manager
            .post(
                "/api/v1/phare/labels",
                json!({ "school_uai": UAI, "school_year": "2026-2027", "target_level": 1 }),
            )
            .await,
    );
    let referent = app.user("department_referent", Some("31")).await;
    let bindings = [
        ("^/api/v1/trainings/[{]id[}]", "path.id", training.as_str()),
        ("^/api/v1/sessions/[{]id[}]", "path.id", session.as_str()),
        ("^/api/v1/partners/[{]id[}]", "path.id", partner.as_str()),
        (
            "^/api/v1/phare/deployments/[{]id[}]",
            "path.id",
            deployment.as_str(),
        ),
        ("^/api/v1/phare/labels/[{]id[}]", "path.id", label.as_str()),
        ("^/api/v1/users/[{]id[}]", "path.id", referent.id.as_str()),
        ("^/api/v1/schools/[{]uai[}]", "path.uai", UAI),
    ];
    bindings
        .iter()
        .map(|(path, parameter, value)| {
            format!(
                "[[operations]]\ninclude-path-regex = \"{path}\"\nparameters = {{ \"{parameter}\" = \"{value}\" }}\n\n"
            )
        })
        .collect()
}

on_both_backends!("fuzz"; every_documented_operation_survives_a_schema_fuzz);

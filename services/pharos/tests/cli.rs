//! The `pharos` binary as users run it: configuration layers and errors, serving every
//! target on the embedded SQLite default, graceful shutdown.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pharos_test_support::Served;

fn pharos(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pharos"));
    command.current_dir(dir).env_remove("PHAROS_DATABASE_URL");
    for (key, _) in std::env::vars() {
        if key.starts_with("PHAROS_") {
            command.env_remove(key);
        }
    }
    command
}

/// A directory of its own per test, removed afterwards.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_dir() -> Scratch {
    let dir = std::env::temp_dir().join(format!("pharos-cli-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

#[test]
fn reports_every_wrong_setting_in_french_and_exits_with_failure() {
    let dir = scratch_dir();
    let out = pharos(&dir)
        .args([
            "serve",
            "--addr",
            "nulle-part",
            "--target",
            "trainings,billing",
        ])
        .env("PHAROS_SQLITE_SYNCHRONOUS", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("configuration invalide"), "{stderr}");
    assert!(stderr.contains("addr : « nulle-part »"), "{stderr}");
    assert!(stderr.contains("cible inconnue « billing »"), "{stderr}");
    assert!(stderr.contains("sqlite_synchronous : « off »"), "{stderr}");
    assert!(
        !dir.join("data").exists(),
        "nothing is created before the settings are valid"
    );
}

#[test]
fn a_missing_config_file_is_an_error() {
    let dir = scratch_dir();
    let out = pharos(&dir)
        .args(["--config", "absent.toml", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("absent.toml"));
}

#[test]
fn settings_come_from_file_then_environment_then_flags() {
    let dir = scratch_dir();
    std::fs::write(
        dir.join("pharos.toml"),
        "database_url = \"sqlite://from-file.db\"\nmax_connections = 3\n",
    )
    .unwrap();
    let migrate = |env: Option<&str>, flag: Option<&str>| {
        let mut command = pharos(&dir);
        command.arg("migrate");
        if let Some(url) = env {
            command.env("PHAROS_DATABASE_URL", url);
        }
        if let Some(url) = flag {
            command.args(["--database-url", url]);
        }
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    migrate(None, None);
    assert!(dir.join("from-file.db").exists());
    migrate(Some("sqlite://from-env.db"), None);
    assert!(dir.join("from-env.db").exists());
    migrate(
        Some("sqlite://from-env-2.db"),
        Some("sqlite://from-flag.db"),
    );
    assert!(dir.join("from-flag.db").exists());
    assert!(!dir.join("from-env-2.db").exists());

    std::fs::write(dir.join("pharos.toml"), "max_connexions = 3\n").unwrap();
    let out = pharos(&dir).arg("migrate").output().unwrap();
    assert!(
        !out.status.success(),
        "an unknown key in the file is refused"
    );
}

#[tokio::test]
async fn serves_every_target_on_embedded_sqlite_and_stops_on_sigterm() {
    let dir = scratch_dir();
    let mut command = pharos(&dir);
    command.args(["serve", "--addr", "127.0.0.1:0"]);
    let served = Served::start(command);
    let base = served.base.clone();
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}")).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let ready: serde_json::Value = get("/readyz").await.unwrap().json().await.unwrap();
    assert_eq!(ready["backend"], "sqlite");
    assert_eq!(ready["targets"].as_array().unwrap().len(), 9);
    for target in [
        "directory",
        "trainings",
        "cohorts",
        "national-day",
        "contests",
        "phare",
        "read-model",
        "reminders",
        "pages",
    ] {
        let status: serde_json::Value = get(&format!("/api/v1/targets/{target}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["target"], target);
    }
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("pharos_http_requests_total"));
    // The pages call the API at the port the system picked (`--addr 127.0.0.1:0`): a
    // sign-in with a wrong password goes through it and comes back refused, in French.
    let form = get("/connexion").await.unwrap();
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    let csrf = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("pharos_csrf=")
        .to_owned();
    let refused = client
        .post(format!("{base}/connexion"))
        .header("cookie", format!("pharos_csrf={csrf}"))
        .form(&[
            ("email", "personne@ac-toulouse.fr"),
            ("password", "pas le bon"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("mot de passe incorrect")
    );
    assert!(
        dir.join("data/pharos.db").exists(),
        "the default database is created on first start"
    );
    served.stop();
}

#[test]
fn a_lost_or_wrong_master_key_stops_the_start_with_a_clear_message() {
    let dir = scratch_dir();
    // First start: the key is created beside the database, with a warning to back it up.
    let mut command = pharos(&dir);
    command.args(["serve", "--addr", "127.0.0.1:0"]);
    Served::start(command).stop();
    let key_file = dir.join("data/master.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.trim().len(), 64);

    std::fs::remove_file(&key_file).unwrap();
    let out = pharos(&dir).args(["privacy", "purge"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("clé maîtresse introuvable"), "{stderr}");
    assert!(!key_file.exists(), "a lost key is never silently replaced");

    std::fs::write(&key_file, "00".repeat(32)).unwrap();
    let out = pharos(&dir).args(["privacy", "purge"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ne correspond pas"), "{stderr}");

    std::fs::write(&key_file, key).unwrap();
    let out = pharos(&dir).args(["privacy", "purge"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Personnes effacées au titre des règles de conservation : 0.")
    );
}

#[test]
fn privacy_commands_answer_in_french_for_unknown_people() {
    let dir = scratch_dir();
    let export = pharos(&dir)
        .args(["privacy", "export", "--email", "inconnu@ac-toulouse.fr"])
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    assert!(String::from_utf8_lossy(&export.stdout).contains("Aucune donnée personnelle"));
    let erase = pharos(&dir)
        .args([
            "privacy",
            "erase",
            "--email",
            "inconnu@ac-toulouse.fr",
            "--reason",
            "test",
        ])
        .output()
        .unwrap();
    assert!(erase.status.success());
    assert!(String::from_utf8_lossy(&erase.stdout).contains("rien à effacer"));
}

#[tokio::test]
async fn serving_the_directory_purges_people_past_their_retention() {
    use pharos_eventstore::{EventStore, StoreOptions};
    use pharos_privacy::{MasterKey, Vault};

    let dir = scratch_dir();
    let url = format!("sqlite://{}", dir.join("data/pharos.db").display());
    let store = EventStore::connect(&url, StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let (key, _) = MasterKey::load_or_create(&dir.join("data/master.key")).unwrap();
    let vault = Vault::open(&store, key).await.unwrap();
    let pupil = vault.person("eleve@college.example").await.unwrap();
    let staff = vault.person("cpe@college.example").await.unwrap();
    let two_years_ago = chrono::Utc::now() - chrono::Duration::days(2 * 366);
    vault
        .hold(pupil, "cohort", "pupil_name", Some(two_years_ago))
        .await
        .unwrap();

    let mut command = pharos(&dir);
    command.args(["serve", "--addr", "127.0.0.1:0", "--target", "directory"]);
    let served = Served::start(command);
    let mut erased = false;
    for _ in 0..100 {
        if vault
            .find_person("eleve@college.example")
            .await
            .unwrap()
            .is_none()
        {
            erased = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    served.stop();
    assert!(erased, "the pupil past retention is erased at start");
    assert_eq!(
        vault.find_person("cpe@college.example").await.unwrap(),
        Some(staff)
    );
    store.close().await;
}

fn stdout_of(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn importing_the_sample_file_then_creating_school_accounts_twice_changes_nothing_the_second_time() {
    let dir = scratch_dir();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/samples/annuaire-toulouse-sample.csv");
    let import = || {
        pharos(&dir)
            .args(["schools", "import"])
            .arg(&sample)
            .output()
            .unwrap()
    };
    let first = stdout_of(&import());
    assert!(
        first.contains("importés : 396 ; mis à jour : 0 ; inchangés : 0 ; refusés : 4"),
        "{first}"
    );
    assert!(first.contains("ligne 59 (0317266E) refusée : établissement privé hors contrat"));
    let second = stdout_of(&import());
    assert!(
        second.contains("importés : 0 ; mis à jour : 0 ; inchangés : 396 ; refusés : 4"),
        "{second}"
    );

    // One account per open school, once.
    let accounts = || {
        pharos(&dir)
            .args(["users", "create-schools"])
            .output()
            .unwrap()
    };
    let created = stdout_of(&accounts());
    assert!(
        created.contains("créés : 396 ; déjà existants : 0 ; refusés : 0"),
        "{created}"
    );
    let again = stdout_of(&accounts());
    assert!(
        again.contains("créés : 0 ; déjà existants : 396 ; refusés : 0"),
        "{again}"
    );

    let missing = pharos(&dir)
        .args(["schools", "import", "absent.csv"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("lecture de absent.csv impossible"));
}

#[tokio::test]
async fn an_account_created_on_the_command_line_logs_in_over_http() {
    use std::io::Write;
    let dir = scratch_dir();
    let mut create = pharos(&dir)
        .args([
            "users",
            "create",
            "--email",
            "Marie.Dupont@ac-toulouse.fr",
            "--role",
            "department_referent",
            "--scope",
            "31",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"un-mot-de-passe-solide\n")
        .unwrap();
    let created = stdout_of(&create.wait_with_output().unwrap());
    assert!(
        created.contains("Compte créé : marie.dupont@ac-toulouse.fr"),
        "{created}"
    );
    let refused = pharos(&dir)
        .args([
            "users",
            "create",
            "--email",
            "x@ac-toulouse.fr",
            "--role",
            "chef",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("« chef » n'est pas un rôle"));

    let mut command = pharos(&dir);
    command.args(["serve", "--addr", "127.0.0.1:0", "--target", "directory"]);
    let served = Served::start(command);
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{}/api/v1/auth/login", served.base))
        .json(&serde_json::json!({
            "email": "marie.dupont@ac-toulouse.fr",
            "password": "un-mot-de-passe-solide"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let body: serde_json::Value = login.json().await.unwrap();
    assert_eq!(body["user"]["scope"], "31");
    served.stop();
}

#[test]
fn the_checked_in_openapi_document_is_the_one_the_code_generates() {
    let dir = scratch_dir();
    let generated = stdout_of(&pharos(&dir).arg("openapi").output().unwrap());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/openapi.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        generated.trim_end() == checked_in.trim_end(),
        "schema/openapi.json is stale: regenerate it with `cargo run -- openapi > schema/openapi.json`"
    );
    let document: serde_json::Value = serde_json::from_str(&generated).unwrap();
    for path in [
        "/api/v1/sessions/{id}/registrations",
        "/api/v1/phare/deployments",
    ] {
        assert!(document["paths"][path].is_object(), "{path} undocumented");
    }
}

#[tokio::test]
async fn the_served_targets_publish_their_openapi_document() {
    let dir = scratch_dir();
    let mut command = pharos(&dir);
    command.args(["serve", "--addr", "127.0.0.1:0", "--target", "trainings"]);
    let served = Served::start(command);
    let document: serde_json::Value = reqwest::get(format!("{}/api/v1/openapi.json", served.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["paths"]["/api/v1/trainings"].is_object());
    assert!(
        document["paths"]["/api/v1/phare/deployments"].is_null(),
        "only the served targets"
    );
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    served.stop();
}

#[test]
fn prints_the_national_day_of_every_known_school_year_in_french() {
    let dir = scratch_dir();
    let out = pharos(&dir)
        .args(["national-day", "dates"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 15, "{stdout}");
    assert_eq!(lines[0], "2015-2016 : jeudi 5 novembre 2015");
    assert_eq!(lines[14], "2029-2030 : jeudi 8 novembre 2029");
    for known in [
        "2021-2022 : jeudi 18 novembre 2021",
        "2022-2023 : jeudi 10 novembre 2022",
        "2023-2024 : jeudi 9 novembre 2023",
        "2024-2025 : jeudi 7 novembre 2024",
        "2025-2026 : jeudi 6 novembre 2025",
    ] {
        assert!(lines.contains(&known), "{known} not in {stdout}");
    }
    assert!(
        !dir.join("data").exists(),
        "printing the dates opens no database"
    );
}

//! `pharos` run as separate processes, as production runs it: the binary, the settings
//! every process of one installation shares, and a login over HTTP.

use std::path::PathBuf;
use std::process::Command;

use crate::Served;

/// The `pharos` binary `cargo nextest run --workspace` builds beside the test binaries.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test>-<hash> → target/<profile>/pharos
    let path = exe.parent().unwrap().parent().unwrap().join("pharos");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p pharos` (cargo nextest run --workspace does)",
        path.display()
    );
    path
}

/// `DATABASE_URL`, which CI must set; elsewhere a PostgreSQL test without it is skipped.
pub fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(std::env::var_os("CI").is_none(), "CI must set DATABASE_URL");
            eprintln!("DATABASE_URL unset: PostgreSQL end-to-end test skipped");
            None
        }
    }
}

/// The master key every process of one installation shares, as production gives it.
pub const MASTER_KEY: &str = "8f1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff0";

pub use crate::{ADMIN, PASSWORD};

/// `pharos serve --target <target>` on a free port of 127.0.0.1, with the shared master
/// key and first administrator ([`ADMIN`], [`PASSWORD`], as in [`crate::TestApp`]); add arguments or environment before [`Served::start`].
/// `target` may be `all`.
pub fn serve_command(target: &str, database_url: &str) -> Command {
    let mut command = Command::new(binary());
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--target", target])
        .args(["--database-url", database_url])
        .env("PHAROS_MASTER_KEY", MASTER_KEY)
        .env("PHAROS_ADMIN_EMAIL", ADMIN)
        .env("PHAROS_ADMIN_PASSWORD", PASSWORD);
    command
}

/// [`serve_command`], started.
pub fn serve(target: &str, database_url: &str) -> Served {
    Served::start(serve_command(target, database_url))
}

/// Logs in over HTTP and returns the bearer token.
pub async fn login(client: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

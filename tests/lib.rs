//! Support for tests that run `pharos` as a separate process; the tests themselves are
//! in `e2e.rs` here and in `services/pharos/tests/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `pharos serve`.
#[derive(Debug)]
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:<port>`, read from the line the server prints once it listens.
    pub base: String,
}

impl Served {
    /// Starts `command` (a `pharos serve ... --addr 127.0.0.1:0`) and waits until it listens.
    pub fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("pharos starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Self { child, base }
    }

    /// Sends SIGTERM and expects a clean exit within 10 s.
    pub fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "pharos exited with {status} on SIGTERM");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child.kill().unwrap();
        panic!("pharos did not stop within 10 s of SIGTERM");
    }
}

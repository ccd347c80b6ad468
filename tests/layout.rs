//! The multi-process layout production runs when one machine is not enough: every target
//! as its own `pharos serve --target X` process on one PostgreSQL database, behind nginx
//! on one public port, routed by deploy/nginx/pharos.conf.template (the template
//! deploy/run.sh, the compose file and the Kubernetes manifests render too).
//!
//! ```ignore
//! let mut layout = Layout::start(&db.url, Some(&smtp.url())).await;
//! client.get(format!("{}/api/v1/targets/contests", layout.base));
//! let log = layout.kill("read-model"); // SIGKILL; nginx answers 502 for its routes
//! layout.restart("read-model").await;  // same port, waits until it answers again
//! layout.stop();                        // SIGTERM everything, clean exits checked
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Served;
use crate::process::{ADMIN, MASTER_KEY, PASSWORD, binary};

/// How long every process (and nginx) has to become ready.
const READY_WITHIN: Duration = Duration::from_secs(90);

/// `n` consecutive ports of 127.0.0.1, free now, below the kernel's ephemeral range
/// (32768-60999 by default), where other tests' outgoing connections would take them.
/// Each is claimed (a lock on a file per port) until this process exits, so that no other
/// test process, nor a later call of this one, picks it before its server binds it.
pub fn free_ports(n: u16) -> u16 {
    use std::hash::BuildHasher;
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (from, to) = (10_000_u16, low.max(10_000 + 2 * n) - n);
    let random = std::collections::hash_map::RandomState::new();
    for attempt in 0_u32..1000 {
        let offset = random.hash_one(attempt) % u64::from(to - from);
        let base = from + u16::try_from(offset).unwrap();
        let Some(claims) = (base..base + n).map(claim).collect::<Option<Vec<_>>>() else {
            continue;
        };
        let free = (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free {
            CLAIMED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(claims);
            return base;
        }
    }
    panic!("no {n} consecutive free ports below {low}");
}

/// The locked files of the ports this process has claimed; the locks go with the process.
static CLAIMED: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());

/// The lock of `port`'s file, when no other claim holds it.
fn claim(port: u16) -> Option<std::fs::File> {
    let dir = std::env::temp_dir().join("pharos-test-ports");
    std::fs::create_dir_all(&dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(port.to_string()))
        .ok()?;
    file.try_lock().ok()?;
    Some(file)
}

/// One free port (see [`free_ports`]).
pub fn free_port() -> u16 {
    free_ports(1)
}

/// The nginx template every deployment shape renders.
pub fn template_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx/pharos.conf.template")
}

/// The template's placeholder for `target`'s address: `UPSTREAM_NATIONAL_DAY`.
pub fn upstream_placeholder(target: &str) -> String {
    format!("UPSTREAM_{}", target.to_uppercase().replace('-', "_"))
}

/// The template with its placeholders filled: `listen` (port or address:port), the access
/// log's file, and each target's `host:port` from `upstream`. Panics on a placeholder left.
pub fn render(listen: &str, access_log: &str, upstream: impl Fn(&str) -> String) -> String {
    let mut text = std::fs::read_to_string(template_path()).unwrap();
    text = text
        .replace("${LISTEN}", listen)
        .replace("${ACCESS_LOG}", access_log);
    for target in pharos::targets::names() {
        text = text.replace(
            &format!("${{{}}}", upstream_placeholder(target)),
            &upstream(target),
        );
    }
    // Comments may name placeholders; directives may not keep one.
    let left: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains("${"))
        .collect();
    assert!(
        left.is_empty(),
        "placeholders left in the template: {left:?}"
    );
    text
}

/// A main nginx configuration for an unprivileged prefix `dir`: pid, logs and temporary
/// files inside it, `server` the rendered template's file (an absolute path).
pub fn main_config(dir: &Path, server: &Path) -> String {
    // As root, nginx would run its workers as `nobody`, who cannot reach a test's files.
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    let d = dir.display();
    format!(
        "{user}worker_processes 2;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n\
         \x20   client_body_temp_path {d}/tmp/body;\n\
         \x20   proxy_temp_path {d}/tmp/proxy;\n\
         \x20   fastcgi_temp_path {d}/tmp/fastcgi;\n\
         \x20   uwsgi_temp_path {d}/tmp/uwsgi;\n\
         \x20   scgi_temp_path {d}/tmp/scgi;\n\
         \x20   include {server};\n\
         }}\n",
        user = if root { "user root;\n" } else { "" },
        server = server.display(),
    )
}

/// nginx (the Debian package's /usr/sbin/nginx, or the first on `PATH`); `None` and a
/// line saying so where it is missing, a failure under `CI`.
pub fn nginx() -> Option<PathBuf> {
    let found = std::iter::once(PathBuf::from("/usr/sbin/nginx"))
        .chain(
            std::env::var_os("PATH")
                .map(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join("nginx"))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        )
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "nginx is missing: CI installs it (apt-get install -y nginx)"
        );
        eprintln!("nginx missing (apt-get install -y nginx): multi-process layout test skipped");
    }
    found
}

/// Every target as its own process, nginx in front. Dropping it kills what still runs.
pub struct Layout {
    /// `http://127.0.0.1:<nginx port>`: the one public address.
    pub base: String,
    /// The database every process shares.
    pub database_url: String,
    /// The scratch directory: nginx's prefix (`nginx/`), `files/`, `outbox/`.
    pub dir: PathBuf,
    ports: BTreeMap<&'static str, u16>,
    processes: BTreeMap<&'static str, Option<Served>>,
    env: Vec<(String, String)>,
    nginx: Option<Child>,
}

impl Layout {
    /// Every target of [`pharos::targets::TARGETS`] as its own process on `database_url`
    /// (PostgreSQL), nginx in front on a free port; mails to `smtp_url` when given (else
    /// to `outbox/`). Returns once each process's `/readyz` and each target's
    /// `/api/v1/targets/<name>` through nginx answer 200. Panics without nginx: check
    /// [`nginx`] first to skip where it is missing.
    pub async fn start(database_url: &str, smtp_url: Option<&str>) -> Layout {
        Self::start_with(database_url, smtp_url, &[]).await
    }

    /// [`Layout::start`] with more `PHAROS_*` settings for every process, e.g.
    /// `("PHAROS_REMINDERS_INTERVAL_SECONDS", "1")`; they override the layout's own
    /// (`PHAROS_MAX_CONNECTIONS` is 4 per process).
    pub async fn start_with(
        database_url: &str,
        smtp_url: Option<&str>,
        env: &[(&str, &str)],
    ) -> Layout {
        let nginx_binary = nginx().expect("nginx is installed");
        let dir = std::env::temp_dir().join(format!("pharos-layout-{}", uuid::Uuid::now_v7()));
        for sub in ["nginx/tmp", "files", "outbox"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let public_port = free_port();
        let base = format!("http://127.0.0.1:{public_port}");
        let ports: BTreeMap<&'static str, u16> = pharos::targets::names()
            .into_iter()
            .map(|t| (t, free_port()))
            .collect();

        let mut all_env = vec![
            // Nine pools of the default 10 would take 90 of PostgreSQL's default 100
            // connections, which other tests share.
            ("PHAROS_MAX_CONNECTIONS".to_owned(), "4".to_owned()),
            ("PHAROS_API_URL".to_owned(), base.clone()),
            ("PHAROS_PUBLIC_URL".to_owned(), base.clone()),
            ("PHAROS_TRUST_FORWARDED_FOR".to_owned(), "true".to_owned()),
            (
                "PHAROS_FILES_DIR".to_owned(),
                dir.join("files").display().to_string(),
            ),
            (
                "PHAROS_OUTBOX_DIR".to_owned(),
                dir.join("outbox").display().to_string(),
            ),
        ];
        if let Some(url) = smtp_url {
            all_env.push(("PHAROS_SMTP_URL".to_owned(), url.to_owned()));
        }
        all_env.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));

        let mut layout = Layout {
            base,
            database_url: database_url.to_owned(),
            dir,
            ports,
            processes: BTreeMap::new(),
            env: all_env,
            nginx: None,
        };
        // directory first: it migrates the database and creates the first administrator;
        // the others then start together.
        let first = pharos::targets::TARGETS[0].name;
        let served = Served::start(layout.command(first));
        layout.processes.insert(first, Some(served));
        let others: Vec<_> = pharos::targets::names()
            .into_iter()
            .skip(1)
            .map(|t| {
                let command = layout.command(t);
                (t, std::thread::spawn(move || Served::start(command)))
            })
            .collect();
        // Every start joined before failing, so that Drop ends those that did start.
        let mut failed = Vec::new();
        for (target, started) in others {
            match started.join() {
                Ok(served) => {
                    layout.processes.insert(target, Some(served));
                }
                Err(_) => failed.push(target),
            }
        }
        assert!(failed.is_empty(), "did not start: {failed:?}");

        let nginx_dir = layout.dir.join("nginx");
        let server = nginx_dir.join("pharos.conf");
        let rendered = render(
            &format!("127.0.0.1:{public_port}"),
            &nginx_dir.join("access.log").display().to_string(),
            |t| format!("127.0.0.1:{}", layout.ports[t]),
        );
        std::fs::write(&server, rendered).unwrap();
        let main = nginx_dir.join("nginx.conf");
        std::fs::write(&main, main_config(&nginx_dir, &server)).unwrap();
        let child = Command::new(nginx_binary)
            .arg("-p")
            .arg(&nginx_dir)
            .arg("-c")
            .arg(&main)
            .arg("-e")
            .arg(nginx_dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        layout.nginx = Some(child);

        let client = reqwest::Client::new();
        for target in pharos::targets::names() {
            layout.wait_ready(&client, target).await;
        }
        layout
    }

    /// The targets, in start order.
    pub fn targets(&self) -> Vec<&'static str> {
        pharos::targets::names()
    }

    /// `target`'s own address, bypassing nginx.
    pub fn direct(&self, target: &str) -> String {
        format!("http://127.0.0.1:{}", self.port(target))
    }

    /// The process of `target` (its pid, its address); panics while it is killed.
    pub fn process(&self, target: &str) -> &Served {
        self.processes
            .get(target)
            .and_then(Option::as_ref)
            .unwrap_or_else(|| panic!("{target} is not running"))
    }

    /// Where mails go without `smtp_url`.
    pub fn outbox_dir(&self) -> PathBuf {
        self.dir.join("outbox")
    }

    /// Where the contest's files are kept (every process shares it).
    pub fn files_dir(&self) -> PathBuf {
        self.dir.join("files")
    }

    /// What nginx logged (errors, and the access log: one line per request with the
    /// upstream's address and the request id).
    pub fn nginx_log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join("nginx").join(f));
        format!(
            "{}{}",
            read("error.log").unwrap_or_default(),
            read("access.log").unwrap_or_default()
        )
    }

    /// SIGKILL `target`'s process, as a crash or the OOM killer does; returns its log.
    /// nginx answers 502 for its routes until [`Layout::restart`].
    pub fn kill(&mut self, target: &str) -> String {
        self.processes
            .get_mut(target)
            .and_then(Option::take)
            .unwrap_or_else(|| panic!("{target} is not running"))
            .kill()
    }

    /// What `targets` logged so far, for a failing test's message: each is SIGKILLed (its
    /// log is complete only once it has exited), so call it just before panicking.
    pub fn logs_of(&mut self, targets: &[&str]) -> String {
        targets
            .iter()
            .map(
                |target| match self.processes.get_mut(*target).and_then(Option::take) {
                    Some(served) => format!("---- {target} ----\n{}", served.kill()),
                    None => format!("---- {target}: not running ----\n"),
                },
            )
            .collect()
    }

    /// Starts `target` again on its port (after [`Layout::kill`], or SIGTERM-stops it
    /// first) and waits until it answers through nginx.
    pub async fn restart(&mut self, target: &str) {
        let name = self.name(target);
        if let Some(running) = self.processes.get_mut(name).and_then(Option::take) {
            running.stop();
        }
        let served = Served::start(self.command(name));
        self.processes.insert(name, Some(served));
        self.wait_ready(&reqwest::Client::new(), name).await;
    }

    /// SIGTERM nginx, then every process (each must exit cleanly, see [`Served::stop`]);
    /// removes the scratch directory.
    pub fn stop(mut self) {
        if let Some(nginx) = self.nginx.take() {
            terminate(nginx, "nginx");
        }
        for target in pharos::targets::names().into_iter().rev() {
            if let Some(served) = self.processes.get_mut(target).and_then(Option::take) {
                served.stop();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn name(&self, target: &str) -> &'static str {
        self.ports
            .keys()
            .find(|t| **t == target)
            .copied()
            .unwrap_or_else(|| panic!("unknown target {target}"))
    }

    fn port(&self, target: &str) -> u16 {
        self.ports[self.name(target)]
    }

    /// `pharos serve --target <target>` on its port of the layout, with the settings every
    /// process shares (as [`crate::process::serve_command`], which listens on port 0).
    fn command(&self, target: &str) -> Command {
        let mut command = Command::new(binary());
        command
            .args(["serve", "--target", target])
            .args(["--addr", &format!("127.0.0.1:{}", self.port(target))])
            .args(["--database-url", &self.database_url])
            .env("PHAROS_MASTER_KEY", MASTER_KEY)
            .env("PHAROS_ADMIN_EMAIL", ADMIN)
            .env("PHAROS_ADMIN_PASSWORD", PASSWORD)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Polls `target`'s `/readyz` and its status route through nginx until both answer 200.
    async fn wait_ready(&mut self, client: &reqwest::Client, target: &str) {
        let deadline = Instant::now() + READY_WITHIN;
        let urls = [
            format!("{}/readyz", self.direct(target)),
            format!("{}/api/v1/targets/{target}", self.base),
        ];
        for url in urls {
            loop {
                let status = client
                    .get(&url)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .map(|r| r.status().as_u16());
                if status.as_ref().is_ok_and(|s| *s == 200) {
                    break;
                }
                if let Some(exit) = self.nginx.as_mut().and_then(|n| n.try_wait().unwrap()) {
                    panic!("nginx exited ({exit}):\n{}", self.nginx_log());
                }
                assert!(
                    Instant::now() < deadline,
                    "{url} not ready within {READY_WITHIN:?} ({status:?}):\n{}",
                    self.nginx_log()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Drop for Layout {
    /// A failed test still ends every process it started.
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master stops its workers (killed, it would orphan them).
        if let Some(mut nginx) = self.nginx.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &nginx.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while nginx.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = nginx.kill();
            let _ = nginx.wait();
        }
        for served in self.processes.values_mut().filter_map(Option::take) {
            let _ = served.kill();
        }
    }
}

/// SIGTERM (nginx: fast shutdown) and a clean exit within 10 s.
fn terminate(mut child: Child, what: &str) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{what} exited with {status} on SIGTERM");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

//! Settings: defaults → TOML file → `PHAROS_*` environment → command-line flags,
//! checked once at start with one French message per wrong setting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use pharos_events::{Academy, DepartmentCode};
use pharos_eventstore::{SqliteSync, StoreOptions};
use pharos_kit::{FirstAdmin, MailSettings, Target};
use pharos_privacy::{MasterKey, PrivacyError, RetentionRules};
use pharos_web::HttpSettings;
use serde::{Deserialize, Serialize};

use crate::targets::TARGETS;

pub const DEFAULT_CONFIG_FILE: &str = "pharos.toml";

/// The settings `PHAROS_<KEY>` may set.
const KEYS: [&str; 29] = [
    "database_url",
    "addr",
    "targets",
    "sqlite_synchronous",
    "max_connections",
    "body_limit_bytes",
    "request_timeout_seconds",
    "dashboards_at_once",
    "dashboards_kept_warm",
    "dashboards_previous_above_ms",
    "log_format",
    "master_key",
    "master_key_file",
    "upload_limit_bytes",
    "token_ttl_minutes",
    "academy_name",
    "academy_departments",
    "secure_cookies",
    "trust_forwarded_for",
    "admin_email",
    "admin_password",
    "retention_file",
    "files_dir",
    "smtp_url",
    "mail_from",
    "public_url",
    "outbox_dir",
    "reminders_interval_seconds",
    "api_url",
];

/// The settings as read, before checking.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    /// `sqlite://FILE` (embedded) or `postgres://...` (production).
    pub database_url: String,
    /// Where the HTTP server listens.
    pub addr: String,
    /// `all`, or targets separated by commas.
    pub targets: String,
    /// `full` (an acknowledged append survives a power cut) or `normal`.
    pub sqlite_synchronous: String,
    pub max_connections: u32,
    pub body_limit_bytes: usize,
    pub request_timeout_seconds: u64,
    /// How many dashboards are computed at once (the others wait their turn); unset:
    /// twice this machine's cores.
    pub dashboards_at_once: Option<u32>,
    /// How many dashboards asked "now" are kept computed ahead of the next request (past
    /// that number, the cheapest to compute goes), besides the academy's of the current
    /// school year; 0: none.
    pub dashboards_kept_warm: u32,
    /// From what cost of computing the academy's dashboard (ms) a request at a state the
    /// warmer is still computing is answered at the last one it computed, a few seconds
    /// older, rather than waiting for it; 0: whatever the cost.
    pub dashboards_previous_above_ms: u64,
    /// `text` or `json`.
    pub log_format: String,
    /// The personal-data vault's master key, 64 hexadecimal characters. Prefer
    /// `master_key_file`; never written back anywhere.
    #[serde(skip_serializing)]
    pub master_key: Option<String>,
    /// File holding the master key. Embedded mode: `master.key` beside the SQLite file,
    /// created on first start. Required with PostgreSQL (every process needs the same key).
    pub master_key_file: Option<String>,
    /// Largest file upload (a school directory CSV).
    pub upload_limit_bytes: usize,
    /// Lifetime of a session token.
    pub token_ttl_minutes: i64,
    /// The academy served: its name and departments (codes separated by commas).
    pub academy_name: String,
    pub academy_departments: String,
    /// Mark the session cookie `Secure` (set it behind HTTPS).
    pub secure_cookies: bool,
    /// Behind a reverse proxy that appends the client's address to `X-Forwarded-For`
    /// (nginx `$proxy_add_x_forwarded_for`): limit failed logins per real client.
    pub trust_forwarded_for: bool,
    /// The first administrator's address, created on a first start.
    pub admin_email: Option<String>,
    /// Its password; without one, a password is generated and printed once.
    #[serde(skip_serializing)]
    pub admin_password: Option<String>,
    /// Retention rules replacing the shipped `retention.json` (same format; every
    /// purpose needs a rule).
    pub retention_file: Option<String>,
    /// Where uploaded files are kept (the contest's productions, content-addressed).
    /// Embedded mode: `files` beside the SQLite file; otherwise `data/files`.
    pub files_dir: Option<String>,
    /// The SMTP server of outgoing mails: `smtp://host:25` (no TLS),
    /// `smtp://host:587?tls=required` (STARTTLS), `smtps://user:password@host:465` (TLS).
    /// Unset: mails are written to `outbox_dir`.
    #[serde(skip_serializing)]
    pub smtp_url: Option<String>,
    /// The sender of outgoing mails.
    pub mail_from: String,
    /// The platform's address as users reach it, for the links in mails.
    pub public_url: String,
    /// Where mails are written without SMTP. Embedded mode: `outbox` beside the SQLite
    /// file; otherwise `data/outbox`.
    pub outbox_dir: Option<String>,
    /// How often the reminder scheduler evaluates its rules; 0: never by itself (only
    /// `pharos reminders run`).
    pub reminders_interval_seconds: u64,
    /// Where the web pages reach the public API (GraphQL and the commands). Unset: this
    /// process's own address (`addr`), which serves it when it runs every target; set
    /// it to the reverse proxy's internal address when the targets run apart.
    pub api_url: Option<String>,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/pharos.db".into(),
            addr: "127.0.0.1:8080".into(),
            targets: "all".into(),
            sqlite_synchronous: "full".into(),
            max_connections: 10,
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout_seconds: 30,
            dashboards_at_once: None,
            dashboards_kept_warm: 8,
            dashboards_previous_above_ms: 200,
            log_format: "text".into(),
            master_key: None,
            master_key_file: None,
            upload_limit_bytes: 20 * 1024 * 1024,
            token_ttl_minutes: 8 * 60,
            academy_name: "Toulouse".into(),
            academy_departments: "09,12,31,32,46,65,81,82".into(),
            secure_cookies: false,
            trust_forwarded_for: false,
            admin_email: None,
            admin_password: None,
            retention_file: None,
            files_dir: None,
            smtp_url: None,
            mail_from: "Pharos <pharos@localhost>".into(),
            public_url: "http://127.0.0.1:8080".into(),
            outbox_dir: None,
            reminders_interval_seconds: 60,
            api_url: None,
        }
    }
}

/// Where the vault's master key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    Value(MasterKey),
    /// `create`: generate it on first start (embedded mode only).
    File {
        path: PathBuf,
        create: bool,
    },
}

/// Settings given on the command line; `None` leaves the lower layers' value.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<String>,
}

/// Checked settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub addr: SocketAddr,
    pub targets: Vec<&'static Target>,
    pub sqlite_synchronous: SqliteSync,
    pub max_connections: u32,
    pub http: HttpSettings,
    pub json_logs: bool,
    pub master_key: KeySource,
    pub token_ttl: chrono::Duration,
    pub academy: Academy,
    pub first_admin: FirstAdmin,
    pub retention: RetentionRules,
    /// Where targets keep uploaded files.
    pub files_dir: PathBuf,
    /// How mails leave the platform.
    pub mail: MailSettings,
    /// Where the web pages reach the public API.
    pub api_url: String,
}

impl Config {
    /// Reads every layer. `file`: the `--config` path (must exist when given); otherwise
    /// `PHAROS_CONFIG`, otherwise `pharos.toml` when present.
    pub fn load(file: Option<PathBuf>, overrides: &Overrides) -> Result<Self, Vec<String>> {
        let explicit = file.or_else(|| std::env::var_os("PHAROS_CONFIG").map(PathBuf::from));
        if let Some(path) = explicit.as_ref().filter(|p| !p.is_file()) {
            return Err(vec![format!(
                "config : le fichier de configuration « {} » est introuvable",
                path.display()
            )]);
        }
        let path = explicit.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
        let raw: RawConfig = Figment::from(Serialized::defaults(RawConfig::default()))
            .merge(Toml::file(&path))
            .merge(Env::prefixed("PHAROS_").only(&KEYS))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|errors| {
                errors
                    .into_iter()
                    .map(|e| {
                        let key = e.path.join(".");
                        let key = if key.is_empty() {
                            "configuration".into()
                        } else {
                            key
                        };
                        format!("{key} : valeur refusée ({})", e.kind)
                    })
                    .collect::<Vec<_>>()
            })?;
        raw.check()
    }
}

impl RawConfig {
    /// Every wrong setting at once, each with what would be right.
    pub fn check(self) -> Result<Config, Vec<String>> {
        let mut errors = Vec::new();
        let addr = self.addr.parse::<SocketAddr>().map_err(|_| {
            errors.push(format!(
                "addr : « {} » n'est pas une adresse IP:port (exemple : 127.0.0.1:8080)",
                self.addr
            ));
        });
        let url = &self.database_url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            errors.push(format!(
                "database_url : « {url} » doit commencer par sqlite:// ou postgres://"
            ));
        }
        let mut targets = Vec::new();
        for name in self
            .targets
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            if name == "all" {
                targets.extend(TARGETS);
            } else if let Some(&t) = TARGETS.iter().find(|t| t.name == name) {
                targets.push(t);
            } else {
                errors.push(format!(
                    "targets : cible inconnue « {name} » (cibles : all, {})",
                    crate::targets::names().join(", ")
                ));
            }
        }
        targets.sort_by_key(|t| TARGETS.iter().position(|x| x.name == t.name));
        targets.dedup_by_key(|t| t.name);
        if targets.is_empty() && errors.is_empty() {
            errors.push("targets : aucune cible choisie".into());
        }
        let sqlite_synchronous = match self.sqlite_synchronous.as_str() {
            "full" => SqliteSync::Full,
            "normal" => SqliteSync::Normal,
            other => {
                errors.push(format!(
                    "sqlite_synchronous : « {other} » n'est pas accepté (full ou normal)"
                ));
                SqliteSync::Full
            }
        };
        // At least 2: a dashboard keeps one connection for its snapshot while it reads the
        // log on a second one.
        if !(2..=1000).contains(&self.max_connections) {
            errors.push(format!(
                "max_connections : {} est hors de l'intervalle 2 à 1000 (un tableau de bord \
                 tient une connexion et en demande une seconde)",
                self.max_connections
            ));
        }
        if self.body_limit_bytes < 1024 {
            errors.push(format!(
                "body_limit_bytes : {} est trop petit (au moins 1024)",
                self.body_limit_bytes
            ));
        }
        if let Some(n) = self.dashboards_at_once
            && !(1..=1000).contains(&n)
        {
            errors.push(format!(
                "dashboards_at_once : {n} est hors de l'intervalle 1 à 1000"
            ));
        }
        if self.dashboards_kept_warm > 100 {
            errors.push(format!(
                "dashboards_kept_warm : {} est hors de l'intervalle 0 à 100",
                self.dashboards_kept_warm
            ));
        }
        if !(1..=3600).contains(&self.request_timeout_seconds) {
            errors.push(format!(
                "request_timeout_seconds : {} est hors de l'intervalle 1 à 3600",
                self.request_timeout_seconds
            ));
        }
        if self.upload_limit_bytes < 1024 {
            errors.push(format!(
                "upload_limit_bytes : {} est trop petit (au moins 1024)",
                self.upload_limit_bytes
            ));
        }
        if !(5..=7 * 24 * 60).contains(&self.token_ttl_minutes) {
            errors.push(format!(
                "token_ttl_minutes : {} est hors de l'intervalle 5 à 10080 (une semaine)",
                self.token_ttl_minutes
            ));
        }
        let mut departments = Vec::new();
        for code in self
            .academy_departments
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            match DepartmentCode::parse(code) {
                Ok(code) => departments.push(code),
                Err(e) => errors.push(format!("academy_departments : {e}")),
            }
        }
        if departments.is_empty() {
            errors.push("academy_departments : au moins un département (ex. 31)".into());
        }
        let academy = Academy {
            name: self.academy_name.trim().to_owned(),
            departments,
        };
        let json_logs = match self.log_format.as_str() {
            "text" => false,
            "json" => true,
            other => {
                errors.push(format!(
                    "log_format : « {other} » n'est pas accepté (text ou json)"
                ));
                false
            }
        };
        let sqlite_dir = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .map(|file| {
                let file = file.split('?').next().unwrap_or_default();
                std::path::Path::new(file)
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_default()
            });
        let master_key = match (&self.master_key, &self.master_key_file) {
            (Some(hex), _) => MasterKey::from_hex(hex)
                .map(KeySource::Value)
                .unwrap_or_else(|_| {
                    errors.push(
                        "master_key : 64 caractères hexadécimaux attendus (32 octets)".into(),
                    );
                    KeySource::Value(MasterKey::generate())
                }),
            (None, Some(file)) => KeySource::File {
                path: PathBuf::from(file),
                create: sqlite_dir.is_some(),
            },
            (None, None) => match &sqlite_dir {
                Some(dir) => KeySource::File {
                    path: dir.join("master.key"),
                    create: true,
                },
                // An invalid URL is reported already.
                None if !url.starts_with("postgres") => KeySource::Value(MasterKey::generate()),
                None => {
                    errors.push(
                        "master_key_file : obligatoire avec PostgreSQL (tous les processus \
                         partagent la même clé maîtresse), ou master_key"
                            .into(),
                    );
                    KeySource::Value(MasterKey::generate())
                }
            },
        };
        let retention = match &self.retention_file {
            None => RetentionRules::shipped(),
            Some(file) => std::fs::read_to_string(file)
                .map_err(|e| PrivacyError::InvalidRules(format!("« {file} » illisible ({e})")))
                .and_then(|json| RetentionRules::from_json(&json)),
        }
        .unwrap_or_else(|e| {
            let reason = match e {
                PrivacyError::InvalidRules(reason) => reason,
                other => other.to_string(),
            };
            errors.push(format!("retention_file : {reason}"));
            RetentionRules::empty()
        });
        let files_dir = match self.files_dir.as_deref().map(str::trim) {
            Some("") => {
                errors.push("files_dir : un répertoire est attendu (ex. data/files)".into());
                PathBuf::new()
            }
            Some(dir) => PathBuf::from(dir),
            None => sqlite_dir
                .as_ref()
                .map_or_else(|| PathBuf::from("data/files"), |dir| dir.join("files")),
        };
        let mail = self.mail_settings(sqlite_dir.as_deref(), &mut errors);
        let api_url = match self.api_url.as_deref().map(str::trim) {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(url.trim_end_matches('/').to_owned())
            }
            Some(url) => {
                errors.push(format!(
                    "api_url : « {url} » doit commencer par http:// ou https:// \
                     (exemple : http://127.0.0.1:8080)"
                ));
                None
            }
            None => None,
        };
        match addr {
            Ok(addr) if errors.is_empty() => Ok(Config {
                api_url: api_url.unwrap_or_else(|| own_url(addr)),
                mail,
                files_dir,
                master_key,
                database_url: self.database_url,
                addr,
                targets,
                sqlite_synchronous,
                max_connections: self.max_connections,
                http: HttpSettings {
                    body_limit_bytes: self.body_limit_bytes,
                    upload_limit_bytes: self.upload_limit_bytes,
                    request_timeout: Duration::from_secs(self.request_timeout_seconds),
                    secure_cookies: self.secure_cookies,
                    trust_forwarded_for: self.trust_forwarded_for,
                    dashboards_at_once: self.dashboards_at_once.map(|n| n as usize),
                    dashboards_kept_warm: self.dashboards_kept_warm as usize,
                    dashboards_previous_above_ms: self.dashboards_previous_above_ms,
                },
                json_logs,
                token_ttl: chrono::Duration::minutes(self.token_ttl_minutes),
                academy,
                first_admin: FirstAdmin {
                    email: self.admin_email,
                    password: self.admin_password,
                },
                retention,
            }),
            _ => Err(errors),
        }
    }
}

impl RawConfig {
    fn mail_settings(
        &self,
        sqlite_dir: Option<&std::path::Path>,
        errors: &mut Vec<String>,
    ) -> MailSettings {
        let smtp_url = self
            .smtp_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        if let Some(Err(reason)) = smtp_url
            .as_deref()
            .map(pharos_reminders::mail::check_smtp_url)
        {
            errors.push(format!("smtp_url : {reason}"));
        }
        if let Err(reason) = pharos_reminders::mail::check_sender(&self.mail_from) {
            errors.push(format!("mail_from : {reason}"));
        }
        let public_url = self.public_url.trim().trim_end_matches('/').to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            errors.push(format!(
                "public_url : « {public_url} » doit commencer par http:// ou https:// \
                 (exemple : https://pharos.ac-toulouse.fr)"
            ));
        }
        let outbox_dir = match self.outbox_dir.as_deref().map(str::trim) {
            Some("") => {
                errors.push("outbox_dir : un répertoire est attendu (ex. data/outbox)".into());
                PathBuf::new()
            }
            Some(dir) => PathBuf::from(dir),
            None => sqlite_dir.map_or_else(|| PathBuf::from("data/outbox"), |d| d.join("outbox")),
        };
        if self.reminders_interval_seconds > 24 * 3600 {
            errors.push(format!(
                "reminders_interval_seconds : {} est hors de l'intervalle 0 à 86400 (un jour)",
                self.reminders_interval_seconds
            ));
        }
        MailSettings {
            smtp_url,
            from: self.mail_from.trim().to_owned(),
            public_url,
            outbox_dir,
            scheduler_interval: (self.reminders_interval_seconds > 0)
                .then(|| Duration::from_secs(self.reminders_interval_seconds)),
        }
    }
}

/// This process's own address, as its pages call it: an unspecified IP (`0.0.0.0`, `::`)
/// is reached on the loopback.
pub fn own_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => std::net::Ipv4Addr::LOCALHOST.into(),
        ip if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

impl Config {
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_connections: self.max_connections,
            sqlite_synchronous: self.sqlite_synchronous,
            ..StoreOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_serve_every_target() {
        let config = RawConfig::default().check().unwrap();
        assert_eq!(
            crate::targets::names_of(&config.targets),
            crate::targets::names()
        );
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, "sqlite://data/pharos.db");
        assert_eq!(config.academy, Academy::toulouse());
        assert!(matches!(
            config.master_key,
            KeySource::File { ref path, create: true } if path == std::path::Path::new("data/master.key")
        ));
        assert_eq!(config.files_dir, PathBuf::from("data/files"));
        let postgres = RawConfig {
            database_url: "postgres://db/pharos".into(),
            master_key_file: Some("/etc/pharos/master.key".into()),
            files_dir: Some("/srv/pharos/files".into()),
            ..RawConfig::default()
        };
        assert_eq!(
            postgres.check().unwrap().files_dir,
            PathBuf::from("/srv/pharos/files")
        );
    }

    #[test]
    fn a_retention_file_replaces_the_shipped_rules_and_must_cover_every_purpose() {
        let dir = std::env::temp_dir().join(format!("pharos-retention-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let shipped = RetentionRules::shipped().unwrap();
        let mut rules: Vec<serde_json::Value> = shipped
            .rules()
            .iter()
            .map(|r| serde_json::to_value(r).unwrap())
            .collect();
        for rule in &mut rules {
            if rule["purpose"] == "session_registrant" {
                rule["rule"] = serde_json::json!({ "school_years_after": 5 });
            }
        }
        let file = dir.join("retention.json");
        std::fs::write(&file, serde_json::to_string(&rules).unwrap()).unwrap();
        let config = RawConfig {
            retention_file: Some(file.display().to_string()),
            ..RawConfig::default()
        }
        .check()
        .unwrap();
        assert_eq!(
            config.retention.rule("session_registrant").unwrap().rule,
            pharos_privacy::Rule::SchoolYearsAfter(5)
        );

        rules.retain(|r| r["purpose"] != "partner_contact");
        std::fs::write(&file, serde_json::to_string(&rules).unwrap()).unwrap();
        let errors = RawConfig {
            retention_file: Some(file.display().to_string()),
            ..RawConfig::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(
            errors,
            vec!["retention_file : aucune règle pour partner_contact".to_owned()]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn postgres_needs_a_master_key_that_is_never_echoed() {
        let raw = RawConfig {
            database_url: "postgres://db/pharos".into(),
            ..RawConfig::default()
        };
        let errors = raw.check().unwrap_err();
        assert!(errors[0].starts_with("master_key_file :"), "{errors:?}");
        let raw = RawConfig {
            database_url: "postgres://db/pharos".into(),
            master_key: Some("c0ffee-secret".into()),
            ..RawConfig::default()
        };
        let errors = raw.check().unwrap_err();
        assert!(errors[0].starts_with("master_key :"), "{errors:?}");
        assert!(!errors[0].contains("c0ffee"), "the value is never shown");
    }

    #[test]
    fn reports_every_wrong_setting_at_once() {
        let raw = RawConfig {
            addr: "localhost".into(),
            database_url: "mysql://x".into(),
            targets: "trainings,billing".into(),
            sqlite_synchronous: "off".into(),
            max_connections: 0,
            dashboards_at_once: Some(0),
            dashboards_kept_warm: 101,
            ..RawConfig::default()
        };
        let errors = raw.check().unwrap_err();
        assert_eq!(errors.len(), 7, "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("dashboards_at_once :")));
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("dashboards_kept_warm :"))
        );
        assert!(errors.iter().any(|e| e.starts_with("addr :")));
        assert!(errors.iter().any(|e| e.contains("billing")));
        assert!(errors.iter().any(|e| e.starts_with("database_url :")));
    }

    #[test]
    fn mail_goes_to_an_outbox_beside_the_database_unless_smtp_is_set() {
        let config = RawConfig::default().check().unwrap();
        assert_eq!(config.mail.smtp_url, None);
        assert_eq!(config.mail.outbox_dir, PathBuf::from("data/outbox"));
        assert!(config.mail.scheduler_interval.is_some());
        let errors = RawConfig {
            smtp_url: Some("imap://mail.example".into()),
            mail_from: "pas une adresse".into(),
            public_url: "pharos.example".into(),
            ..RawConfig::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("smtp_url :"), "{errors:?}");
        let config = RawConfig {
            smtp_url: Some("smtps://pharos:s3cret@smtp.example:465".into()),
            reminders_interval_seconds: 0,
            ..RawConfig::default()
        }
        .check()
        .unwrap();
        assert_eq!(config.mail.scheduler_interval, None);
        assert!(!format!("{:?}", config.mail).contains("s3cret"));
    }

    #[test]
    fn keeps_targets_in_start_order_without_duplicates() {
        let raw = RawConfig {
            targets: "read-model, trainings,read-model".into(),
            ..RawConfig::default()
        };
        assert_eq!(
            crate::targets::names_of(&raw.check().unwrap().targets),
            vec!["trainings", "read-model"]
        );
    }
}

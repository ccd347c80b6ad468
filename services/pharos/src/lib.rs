//! Pharos assembled: the table of targets ([`targets::TARGETS`]), the settings
//! ([`config`]) and [`assemble`], the one function that builds the application from a
//! configuration — used by the `pharos` binary, by every test and by every benchmark.

pub mod config;
pub mod targets;

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use pharos_access::{Access, Reference, TargetState, TokenKeys};
use pharos_decider::Clock;
use pharos_eventstore::{EventStore, Metadata};
use pharos_kit::Context;
use pharos_privacy::{MasterKey, PrivacyError, Vault};
use pharos_web::AppState;
use tokio_util::sync::CancellationToken;
use tokio_util::task::{AbortOnDropHandle, TaskTracker};

use crate::config::{Config, KeySource};

/// How long [`Pharos::stop`] waits for the workers to end their current job.
const WORKERS_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The application built from a configuration: its store, the state every target's
/// handlers reach, and the HTTP router of the targets chosen, their workers running.
#[derive(Debug)]
pub struct Pharos {
    pub store: EventStore,
    pub state: TargetState,
    pub router: Router,
    shutdown: CancellationToken,
    /// The targets' workers: [`Pharos::stop`] lets them end before the store closes.
    workers: TaskTracker,
}

impl Pharos {
    /// Serves the router on `listener` until `signal` resolves, then stops.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let served = axum::serve(
            listener,
            self.router
                .clone()
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .await;
        self.stop().await;
        served.context("le serveur HTTP s'est arrêté sur une erreur")
    }

    /// Stops the workers and followers, waits for them, then closes the store.
    ///
    /// Workers end first: one caught mid-job (a retention purge between two appends)
    /// finishes it while the store still writes, rather than meeting a stopped writer.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.workers.close();
        if tokio::time::timeout(WORKERS_GRACE, self.workers.wait())
            .await
            .is_err()
        {
            tracing::warn!("workers still running after {WORKERS_GRACE:?}; closing the store");
        }
        self.store.close().await;
    }
}

/// Connects, migrates, opens the vault, starts each target of `config` with `clock`
/// (its followers caught up, its workers running) and builds the HTTP application.
pub async fn assemble(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Pharos> {
    let store = connect(config).await?;
    let shutdown = CancellationToken::new();
    let workers = TaskTracker::new();
    let state = target_state(config, &store, &shutdown, clock).await?;
    // The targets catch up side by side, each on a task of its own: each folds some
    // categories of the log into memory before it serves (at ten million events, from
    // a few seconds to nearly two minutes), and one after the other they added up.
    let starting: Vec<_> = config
        .targets
        .iter()
        .map(|target| {
            let context = Context {
                state: state.clone(),
                shutdown: shutdown.clone(),
                first_admin: config.first_admin.clone(),
                files_dir: config.files_dir.clone(),
                mail: config.mail.clone(),
                api_url: config.api_url.clone(),
            };
            let (name, start) = (target.name, target.start);
            AbortOnDropHandle::new(tokio::spawn(async move {
                let began = std::time::Instant::now();
                let started = start(context).await;
                if started.is_ok() {
                    tracing::info!(
                        target = name,
                        seconds = began.elapsed().as_secs_f64(),
                        "target started"
                    );
                }
                started
            }))
        })
        .collect();
    let mut routers = Vec::with_capacity(config.targets.len() + 1);
    for (target, started) in config.targets.iter().zip(starting) {
        // A failure drops the other handles, which stops the targets still starting.
        let started = started
            .await
            .map_err(anyhow::Error::from)
            .and_then(|started| started)
            .with_context(|| format!("démarrage de la cible {} impossible", target.name))?;
        for worker in started.workers {
            tracing::debug!(target = target.name, worker = worker.name, "worker started");
            // Spawned by the store too, so that one still running when it closes stops
            // at its next await instead of meeting a closed pool.
            store.spawn(workers.track_future(worker.task));
        }
        routers.push(started.router);
    }
    let openapi = targets::openapi(config.targets.iter().copied()).to_pretty_json()?;
    routers.push(Router::new().route(
        "/api/v1/openapi.json",
        axum::routing::get(move || {
            let openapi = openapi.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    openapi,
                )
            }
        }),
    ));
    let router = pharos_web::app(state.app.clone(), routers);
    Ok(Pharos {
        store,
        state,
        router,
        shutdown,
        workers,
    })
}

/// Connects and applies pending migrations.
pub async fn connect(config: &Config) -> anyhow::Result<EventStore> {
    let store = EventStore::connect(&config.database_url, config.store_options())
        .await
        .with_context(|| {
            format!(
                "connexion à la base {} impossible",
                redact(&config.database_url)
            )
        })?;
    store
        .migrate()
        .await
        .context("application des migrations impossible")?;
    Ok(store)
}

/// What every target's handlers need: the vault, token keys, the academy and the
/// reference projection of accounts and schools (caught up before this returns).
pub async fn target_state(
    config: &Config,
    store: &EventStore,
    shutdown: &CancellationToken,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<TargetState> {
    // Checked at start: a lost or wrong master key must stop the platform, not surface
    // later as unreadable data.
    let (vault, key) = open_vault(config, store).await?;
    let began = std::time::Instant::now();
    let reference = Reference::start(store.clone(), shutdown.clone())
        .await
        .context("lecture des comptes et des établissements impossible")?;
    tracing::info!(
        seconds = began.elapsed().as_secs_f64(),
        "accounts and schools read"
    );
    Ok(TargetState {
        app: AppState {
            store: store.clone(),
            settings: Arc::new(config.http.clone()),
            targets: config.targets.iter().map(|t| t.name.to_owned()).collect(),
        },
        access: Access {
            tokens: TokenKeys::new(&key, config.token_ttl),
            academy: Arc::new(config.academy.clone()),
            reference,
        },
        vault: Arc::new(vault),
        clock,
    })
}

/// Opens the personal-data vault; a missing or wrong master key stops the start.
pub async fn open_vault(config: &Config, store: &EventStore) -> anyhow::Result<(Vault, MasterKey)> {
    let key = match &config.master_key {
        KeySource::Value(key) => key.clone(),
        KeySource::File { path, create } => match MasterKey::load(path)? {
            Some(key) => key,
            None if *create && !Vault::exists(store).await? => {
                let (key, _) = MasterKey::load_or_create(path)?;
                tracing::warn!(file = %path.display(), "new master key created");
                eprintln!(
                    "ATTENTION : clé maîtresse des données personnelles créée dans {}. \
                     Sauvegardez ce fichier à part : sans lui, les données personnelles sont \
                     définitivement illisibles.",
                    path.display()
                );
                key
            }
            None => anyhow::bail!(
                "clé maîtresse introuvable : {} n'existe pas{}. Restaurez le fichier \
                 sauvegardé (ou donnez master_key) ; les données personnelles ne sont pas \
                 lisibles sans lui.",
                path.display(),
                if Vault::exists(store).await? {
                    ", alors que le coffre a été créé avec une clé"
                } else {
                    ""
                }
            ),
        },
    };
    let vault = Vault::open(store, key.clone()).await.map_err(|e| match e {
        PrivacyError::WrongMasterKey => anyhow::anyhow!(
            "la clé maîtresse ne correspond pas au coffre des données personnelles de cette \
             base : ce n'est pas la clé avec laquelle il a été créé"
        ),
        other => other.into(),
    })?;
    Ok((vault.with_rules(config.retention.clone()), key))
}

/// The platform acting from the command line.
pub fn operator(actor: &str) -> Metadata {
    Metadata {
        actor_id: Some(actor.to_owned()),
        actor_role: Some("admin".into()),
        source_target: Some("cli".into()),
        ..Metadata::default()
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_from_database_urls() {
        assert_eq!(
            redact("postgres://pharos:s3cret@db:5432/pharos"),
            "postgres://pharos:***@db:5432/pharos"
        );
        assert_eq!(
            redact("postgres://root@127.0.0.1/test"),
            "postgres://root@127.0.0.1/test"
        );
        assert_eq!(redact("sqlite://data/pharos.db"), "sqlite://data/pharos.db");
    }
}

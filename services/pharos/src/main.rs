//! `pharos`: one binary, many targets. Wires configuration to the commands; the work is
//! in the crates.

mod bench;
mod config;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use pharos_eventstore::EventStore;
use pharos_web::AppState;

use crate::config::{Config, Overrides};

/// Pharos: programme management for an academic anti-harassment pole.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Pharos : pilotage du pôle académique de lutte contre le harcèlement",
    long_about = None
)]
struct Cli {
    /// Fichier de configuration TOML (par défaut pharos.toml s'il existe ; aussi PHAROS_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// sqlite://FICHIER (embarqué, par défaut sqlite://data/pharos.db) ou postgres://...
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sert l'API HTTP des cibles choisies (toutes par défaut).
    Serve(ServeArgs),
    /// Applique les migrations de la base puis s'arrête.
    Migrate,
    /// Mesure les débits de la plateforme ; la dernière ligne affichée est du JSON.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Cible(s) à servir : all, directory, trainings, cohorts, national-day, contests,
    /// phare, read-model, reminders. Option répétable, ou valeurs séparées par des virgules.
    #[arg(long = "target", value_name = "TARGET", value_delimiter = ',')]
    targets: Vec<String>,
    /// Adresse d'écoute (par défaut 127.0.0.1:8080).
    #[arg(long, value_name = "IP:PORT")]
    addr: Option<String>,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Ajouts (1, 8, 32 appelants), plancher des INSERT bruts, flux disputé, relectures.
    Eventstore(BenchArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    Sqlite,
    Postgres,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// sqlite : un fichier neuf dans le répertoire temporaire ; postgres : une base neuve
    /// créée à côté de --database-url (ou PHAROS_DATABASE_URL / DATABASE_URL), supprimée ensuite.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BackendChoice,
    /// Événements ajoutés par chaque charge d'ajout (1, 8 et 32 appelants, plancher brut).
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Ajouts réussis de la charge « flux disputé » (8 écrivains sur un flux).
    #[arg(long, default_value_t = 2_000)]
    hot_events: usize,
    /// Événements semés puis relus (en mémoire et dans une projection en table).
    #[arg(long, default_value_t = 1_000_000)]
    replay_events: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("erreur : impossible de démarrer le runtime : {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erreur : {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut overrides = Overrides {
        database_url: cli.database_url,
        ..Overrides::default()
    };
    if let Command::Bench(BenchCommand::Eventstore(args)) = &cli.command {
        init_tracing(false);
        let url = overrides
            .database_url
            .or_else(|| std::env::var("PHAROS_DATABASE_URL").ok())
            .or_else(|| std::env::var("DATABASE_URL").ok());
        return bench::eventstore(
            args.backend == BackendChoice::Postgres,
            url,
            bench::Sizes {
                events: args.events.max(32),
                hot_events: args.hot_events.max(8),
                replay_events: args.replay_events.max(1),
            },
        )
        .await;
    }
    if let Command::Serve(args) = &cli.command {
        overrides.addr.clone_from(&args.addr);
        if !args.targets.is_empty() {
            overrides.targets = Some(args.targets.join(","));
        }
    }
    let config = Config::load(cli.config, &overrides).map_err(|errors| {
        anyhow::anyhow!("configuration invalide :\n  - {}", errors.join("\n  - "))
    })?;
    init_tracing(config.json_logs);
    match cli.command {
        Command::Migrate => {
            let store = connect(&config).await?;
            store.close().await;
            println!("migrations appliquées ({})", store.backend_name());
            Ok(())
        }
        Command::Serve(_) => serve(config).await,
        Command::Bench(_) => Ok(()),
    }
}

/// Connects and applies pending migrations.
async fn connect(config: &Config) -> anyhow::Result<EventStore> {
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

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
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

async fn serve(config: Config) -> anyhow::Result<()> {
    let store = connect(&config).await?;
    pharos_web::install_metrics();
    let state = AppState {
        store: store.clone(),
        settings: Arc::new(config.http.clone()),
        targets: config.targets.iter().map(|t| (*t).to_owned()).collect(),
    };
    let routers = config
        .targets
        .iter()
        .map(|target| match *target {
            "directory" => pharos_directory::router(state.clone()),
            "trainings" => pharos_trainings::router(state.clone()),
            "cohorts" => pharos_cohorts::router(state.clone()),
            "national-day" => pharos_national_day::router(state.clone()),
            "contests" => pharos_contests::router(state.clone()),
            "phare" => pharos_phare::router(state.clone()),
            "read-model" => pharos_read_model::router(state.clone()),
            _ => pharos_reminders::router(state.clone()),
        })
        .collect();
    let app = pharos_web::app(state, routers);
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("impossible d'écouter sur {}", config.addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, targets = ?config.targets, backend = store.backend_name(), "pharos is serving");
    println!(
        "Pharos écoute sur http://{addr} (cibles : {} ; base : {})",
        config.targets.join(", "),
        store.backend_name()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(pharos_web::shutdown_signal())
        .await
        .context("le serveur HTTP s'est arrêté sur une erreur")?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PHAROS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
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

    #[test]
    fn command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

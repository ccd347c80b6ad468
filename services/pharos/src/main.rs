//! `pharos`: one binary, many targets. Wires configuration to the commands; the work is
//! in the crates.

mod bench;
mod bench_load;
mod bench_read_model;
mod bench_registrations;
mod bench_reminders;
mod bench_upload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use pharos::config::{Config, Overrides};
use pharos::{connect, open_vault, operator, target_state};
use pharos_decider::SystemClock;
use tokio_util::sync::CancellationToken;

/// mimalloc rather than glibc's malloc: per-thread free lists instead of arenas that keep
/// freed pages (the read model's peak memory under concurrent dashboards), and far less
/// time in allocation and page faults when a replay or a rebuild decodes millions of
/// events (measured by `pharos bench read-model` and `pharos bench eventstore`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Données personnelles : droit d'accès, effacement, purges de conservation.
    #[command(subcommand)]
    Privacy(PrivacyCommand),
    /// Comptes des utilisateurs.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Répertoire des établissements.
    #[command(subcommand)]
    Schools(SchoolsCommand),
    /// Affiche le document OpenAPI de toutes les cibles (copie de référence : schema/openapi.json).
    Openapi,
    /// Affiche le schéma GraphQL du modèle de lecture (copie de référence : schema/schema.graphql).
    GraphqlSchema,
    /// Reconstruit les projections du modèle de lecture (toutes, ou une seule) depuis le
    /// début du journal dans de nouvelles tables, pendant que l'API lit les anciennes, puis
    /// bascule (barre de progression).
    Rebuild {
        /// La projection à reconstruire (`read-model` pour les listes, `indicator-…` pour un
        /// groupe d'indicateurs) ; toutes sans cette option.
        #[arg(long)]
        projection: Option<String>,
        /// Combien de projections reconstruire à la fois (chacune a ses tables : elles
        /// avancent côte à côte, comme le projecteur en service).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
        jobs: u16,
    },
    /// Journée nationale « Non au harcèlement ».
    #[command(subcommand)]
    NationalDay(NationalDayCommand),
    /// Rappels programmés.
    #[command(subcommand)]
    Reminders(RemindersCommand),
}

#[derive(Debug, Subcommand)]
enum RemindersCommand {
    /// Évalue les règles de rappel à un instant et envoie ce qui est dû (une fois ; la cible
    /// reminders le fait en continu), ou, avec --dry-run, affiche chaque décision et pourquoi
    /// sans rien envoyer ni enregistrer.
    Run {
        /// Instant de l'évaluation, ex. 2026-03-15T09:00:00+01:00 (par défaut maintenant).
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// Affiche les décisions sans rien envoyer.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum NationalDayCommand {
    /// Affiche la date de la Journée nationale de chaque année scolaire connue (d'après les
    /// reprises après la Toussaint de shared/domain/toussaint.json).
    Dates,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Crée le compte de chaque établissement ouvert qui n'en a pas (sans mot de passe :
    /// l'établissement le choisira avec un lien émis par `pharos users reset-password` ou
    /// POST /api/v1/users/{id}/password-reset) ; relancée, ne crée rien de plus.
    CreateSchools {
        /// Modèle de l'adresse de chaque compte ; {uai} y est remplacé par l'UAI en minuscules.
        #[arg(long, default_value = pharos_directory::users::bulk::DEFAULT_ADDRESS_PATTERN)]
        address_pattern: String,
    },
    /// Émet un lien de réinitialisation du mot de passe d'un compte actif (à usage unique,
    /// valable 72 heures) et affiche son jeton et son chemin, à transmettre à la personne, qui
    /// choisit son mot de passe par POST /api/v1/password-reset.
    ResetPassword {
        /// Adresse électronique du compte.
        #[arg(long)]
        email: String,
    },
    /// Crée un compte ; sans mot de passe donné, en génère un et l'affiche une fois.
    Create {
        /// Adresse électronique professionnelle (identifiant de connexion).
        #[arg(long)]
        email: String,
        /// admin, pole_manager, department_referent, school, juror ou trainer.
        #[arg(long)]
        role: String,
        /// Périmètre : code du département (department_referent) ou UAI (school).
        #[arg(long)]
        scope: Option<String>,
        /// Nom affiché (par défaut la partie de l'adresse avant @).
        #[arg(long)]
        display_name: Option<String>,
        /// Mot de passe (12 caractères au moins) ; préférez --password-stdin.
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Lit le mot de passe sur l'entrée standard (première ligne).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SchoolsCommand {
    /// Importe un fichier CSV d'établissements (export de l'annuaire de l'éducation, ou
    /// format simple uai,name,kind,sector,department,commune,circonscription,priority_education).
    Import {
        /// Le fichier CSV (UTF-8 ou Latin-1).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum PrivacyCommand {
    /// Affiche en JSON tout ce que Pharos détient sur une personne, déchiffré.
    Export {
        /// Adresse électronique de la personne.
        #[arg(long)]
        email: String,
    },
    /// Efface une personne (sa clé est détruite) et consigne l'effacement.
    Erase {
        /// Adresse électronique de la personne.
        #[arg(long)]
        email: String,
        /// Motif de l'effacement (consigné).
        #[arg(long)]
        reason: String,
        /// Qui demande l'effacement (consigné).
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Efface les personnes dont la durée de conservation est échue.
    Purge {
        /// Instant de référence (par défaut maintenant), ex. 2027-09-01T00:00:00+02:00.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[arg(long = "target", value_name = "TARGET", value_delimiter = ',', help = target_help())]
    targets: Vec<String>,
    /// Adresse d'écoute (par défaut 127.0.0.1:8080).
    #[arg(long, value_name = "IP:PORT")]
    addr: Option<String>,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Ajouts (1, 8, 32 appelants), plancher des INSERT bruts, flux disputé, relectures.
    Eventstore(BenchArgs),
    /// Import d'établissements : un fichier généré importé, réimporté inchangé, puis modifié.
    Import(ImportBenchArgs),
    /// Inscriptions aux sessions de formation par HTTP, comparées aux ajouts bruts du magasin.
    Registrations(RegistrationsBenchArgs),
    /// Dépôt d'une vidéo au concours par HTTP (flux), comparé à `cp` ; mémoire pendant l'envoi.
    Upload(UploadBenchArgs),
    /// Rappels : chaque règle évaluée sur N établissements, puis les courriels dus envoyés
    /// à un serveur SMTP local (secondes par évaluation, courriels par seconde).
    Reminders(RemindersBenchArgs),
    /// Modèle de lecture à l'échelle nationale : journal généré (établissements de 101
    /// départements, formations, pHARe, cohortes, Journée nationale, concours), reconstruction
    /// de chaque projection, puis tableau de bord et recherche d'établissements par HTTP
    /// (latences p50/p99) ; mémoire de pointe.
    ReadModel(ReadModelBenchArgs),
    /// Charge réaliste contre une installation en marche (binaire unique ou un processus
    /// par cible derrière nginx) : 80 % de lectures (GraphQL, pages), 20 % de commandes
    /// (inscriptions) ; débit, p50/p99, erreurs, mémoire de chaque processus.
    Load(LoadBenchArgs),
}

#[derive(Debug, Args)]
struct LoadBenchArgs {
    /// L'adresse publique de l'installation, ex. http://127.0.0.1:8080.
    #[arg(long)]
    url: String,
    /// L'administrateur avec lequel préparer les données (aussi PHAROS_ADMIN_EMAIL).
    #[arg(long, env = "PHAROS_ADMIN_EMAIL")]
    admin_email: String,
    /// Son mot de passe (aussi PHAROS_ADMIN_PASSWORD).
    #[arg(long, env = "PHAROS_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: String,
    /// Durée de la mesure, en secondes.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Clients simultanés.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Le nom de l'installation mesurée dans les résultats.
    #[arg(long, default_value = "installation")]
    label: String,
}

#[derive(Debug, Args)]
struct ReadModelBenchArgs {
    /// sqlite : un fichier neuf ; postgres : une base neuve à côté de --database-url.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BackendChoice,
    /// Établissements générés, répartis sur les 101 départements.
    #[arg(long, default_value_t = 60_000)]
    schools: usize,
    /// Événements du journal généré, environ (établissements compris).
    #[arg(long, default_value_t = 10_000_000)]
    events: usize,
    /// Clients HTTP simultanés interrogeant le tableau de bord.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Projections reconstruites à la fois, comme `pharos rebuild --jobs` ; plusieurs
    /// valeurs (`1,3`) reconstruisent une fois par valeur, dans la même exécution, pour
    /// les comparer.
    #[arg(long, value_delimiter = ',', default_value = "3",
          value_parser = clap::value_parser!(u16).range(1..=16))]
    rebuild_jobs: Vec<u16>,
}

#[derive(Debug, Args)]
struct RemindersBenchArgs {
    /// sqlite : un fichier neuf ; postgres : une base neuve à côté de --database-url.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BackendChoice,
    /// Établissements générés, chacun avec son compte.
    #[arg(long, default_value_t = 60_000)]
    schools: usize,
}

#[derive(Debug, Args)]
struct UploadBenchArgs {
    /// sqlite : un fichier neuf ; postgres : une base neuve à côté de --database-url.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BackendChoice,
    /// Taille du fichier envoyé, en Mio (2048 au plus : la limite d'un fichier).
    #[arg(long, default_value_t = 50)]
    mib: u64,
}

#[derive(Debug, Args)]
struct RegistrationsBenchArgs {
    /// sqlite : un fichier neuf ; postgres : une base neuve à côté de --database-url.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BackendChoice,
    /// Inscriptions envoyées (réparties sur des sessions de 30 places).
    #[arg(long, default_value_t = 4_000)]
    registrations: usize,
    /// Appelants simultanés.
    #[arg(long, default_value_t = 8)]
    callers: usize,
}

#[derive(Debug, Args)]
struct ImportBenchArgs {
    /// sqlite : un fichier neuf ; postgres : une base neuve à côté de --database-url.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BackendChoice,
    /// Lignes (établissements) du fichier généré.
    #[arg(long, default_value_t = 10_000)]
    lines: usize,
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

/// The help of `--target`, naming every target of the table. An unknown name is
/// reported by the configuration check, in French, with the valid ones.
fn target_help() -> String {
    format!(
        "Cibles à servir : all (par défaut), {}. Option répétable, ou valeurs séparées par \
         des virgules.",
        pharos::targets::names().join(", ")
    )
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
    if let Command::NationalDay(NationalDayCommand::Dates) = &cli.command {
        for line in pharos_national_day::national_day_lines() {
            println!("{line}");
        }
        return Ok(());
    }
    if let Command::GraphqlSchema = &cli.command {
        print!("{}", pharos_read_model::graphql::sdl());
        return Ok(());
    }
    if let Command::Openapi = &cli.command {
        println!(
            "{}",
            pharos::targets::openapi(pharos::targets::TARGETS.iter().copied()).to_pretty_json()?
        );
        return Ok(());
    }
    if let Command::Bench(command) = &cli.command {
        init_tracing(false);
        let url = overrides
            .database_url
            .or_else(|| std::env::var("PHAROS_DATABASE_URL").ok())
            .or_else(|| std::env::var("DATABASE_URL").ok());
        let args = match command {
            BenchCommand::Eventstore(args) => args,
            BenchCommand::Load(args) => {
                return bench_load::load(bench_load::LoadArgs {
                    url: args.url.clone(),
                    admin_email: args.admin_email.clone(),
                    admin_password: args.admin_password.clone(),
                    seconds: args.seconds.max(1),
                    clients: args.clients.clamp(1, 256),
                    label: args.label.clone(),
                })
                .await;
            }
            BenchCommand::Registrations(args) => {
                return bench_registrations::registrations(
                    args.backend == BackendChoice::Postgres,
                    url,
                    args.registrations.max(10),
                    args.callers.clamp(1, 64),
                )
                .await;
            }
            BenchCommand::Upload(args) => {
                return bench_upload::upload(
                    args.backend == BackendChoice::Postgres,
                    url,
                    args.mib.clamp(1, 2048),
                )
                .await;
            }
            BenchCommand::Reminders(args) => {
                return bench_reminders::reminders(
                    args.backend == BackendChoice::Postgres,
                    url,
                    args.schools.max(10),
                )
                .await;
            }
            BenchCommand::ReadModel(args) => {
                return bench_read_model::read_model(
                    args.backend == BackendChoice::Postgres,
                    url,
                    bench_read_model::Sizes {
                        schools: args.schools.max(202),
                        events: args.events.max(10_000),
                        clients: args.clients.clamp(1, 64),
                        rebuild_jobs: args.rebuild_jobs.iter().copied().map(usize::from).collect(),
                    },
                )
                .await;
            }
            BenchCommand::Import(args) => {
                return bench::import(
                    args.backend == BackendChoice::Postgres,
                    url,
                    args.lines.max(10),
                )
                .await;
            }
        };
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
        Command::Rebuild { projection, jobs } => {
            rebuild(&config, projection.as_deref(), usize::from(jobs)).await
        }
        Command::Privacy(command) => privacy(&config, command).await,
        Command::Users(command) => users(&config, command).await,
        Command::Schools(SchoolsCommand::Import { file }) => import_schools(&config, &file).await,
        Command::Reminders(RemindersCommand::Run { at, dry_run }) => {
            reminders_run(&config, at, dry_run).await
        }
        Command::Bench(_) | Command::Openapi | Command::GraphqlSchema | Command::NationalDay(_) => {
            Ok(())
        }
    }
}

async fn reminders_run(
    config: &Config,
    at: Option<chrono::DateTime<chrono::FixedOffset>>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let at = at.map_or_else(chrono::Utc::now, |at| at.with_timezone(&chrono::Utc));
    let store = connect(config).await?;
    let workers = CancellationToken::new();
    let state = target_state(config, &store, &workers, Arc::new(SystemClock)).await?;
    let engine = pharos_reminders::start_engine(&state, &config.mail, workers.clone()).await?;
    println!("{}", engine.mailer.describe());
    let lines = pharos_reminders::run_once(&engine, at, dry_run).await;
    workers.cancel();
    store.close().await;
    for line in lines? {
        println!("{line}");
    }
    Ok(())
}

async fn users(config: &Config, command: UsersCommand) -> anyhow::Result<()> {
    let (email, role, scope, display_name, password, password_stdin) = match command {
        UsersCommand::CreateSchools { address_pattern } => {
            return create_school_accounts(config, &address_pattern).await;
        }
        UsersCommand::ResetPassword { email } => return reset_password(config, &email).await,
        UsersCommand::Create {
            email,
            role,
            scope,
            display_name,
            password,
            password_stdin,
        } => (email, role, scope, display_name, password, password_stdin),
    };
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("lecture du mot de passe sur l'entrée standard impossible")?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        password
    };
    let store = connect(config).await?;
    let workers = CancellationToken::new();
    let directory = pharos_directory::Directory::new(
        target_state(config, &store, &workers, Arc::new(SystemClock)).await?,
    );
    let display_name =
        display_name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let created = pharos_directory::users::create(
        &directory,
        None,
        pharos_directory::users::NewUser {
            email: email.clone(),
            display_name,
            role,
            scope,
            password,
        },
        &operator("cli"),
    )
    .await
    .map_err(|p| {
        let fields: Vec<String> = p
            .errors
            .iter()
            .map(|e| format!("{} : {}", e.field, e.message))
            .collect();
        if fields.is_empty() {
            anyhow::anyhow!("{}", p.detail)
        } else {
            anyhow::anyhow!("{}", fields.join(" ; "))
        }
    })?;
    println!(
        "Compte créé : {} (identifiant {}).",
        email.trim().to_lowercase(),
        created.id
    );
    if let Some(password) = created.generated_password {
        println!("Mot de passe généré (affiché une seule fois) : {password}");
    }
    workers.cancel();
    store.close().await;
    Ok(())
}

/// `pharos rebuild [--projection NAME] [--jobs N]`: each projection (or the one named)
/// rebuilt into its next generation of tables, `jobs` at a time, each made live as it
/// ends; the previous ones are dropped a few seconds after the last switch. The others
/// are not touched.
async fn rebuild(config: &Config, projection: Option<&str>, jobs: usize) -> anyhow::Result<()> {
    use futures::StreamExt as _;
    let all = pharos_read_model::tables::all();
    let chosen = match projection {
        None => all,
        Some(name) => match pharos_read_model::tables::find(name) {
            Some(found) => vec![found],
            None => anyhow::bail!(
                "projection inconnue « {name} » (projections : {})",
                all.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
            ),
        },
    };
    let store = connect(config).await?;
    let bars = indicatif::MultiProgress::new();
    let style = indicatif::ProgressStyle::with_template(
        "{prefix:32} {bar:30} {pos}/{len} événements — {per_sec}, reste {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    let bar_of: std::collections::HashMap<&str, indicatif::ProgressBar> = chosen
        .iter()
        .map(|projection| {
            let bar = bars.add(indicatif::ProgressBar::new(0));
            bar.set_style(style.clone());
            bar.set_prefix(projection.name);
            (projection.name, bar)
        })
        .collect();
    let progress =
        |projection: &'static pharos_read_model::Descriptor, applied: usize, total: u64| {
            if let Some(bar) = bar_of.get(projection.name) {
                bar.set_length(total.max(applied as u64));
                bar.set_position(applied as u64);
            }
        };
    // Off a terminal the bars are hidden, and so is what they would print above them:
    // a rebuild run from a script or a job still reports each projection.
    let say = |line: String| {
        if bars.is_hidden() {
            println!("{line}");
        } else {
            let _ = bars.println(line);
        }
    };
    let mut replaced = Vec::new();
    let mut failed = None;
    match pharos_read_model::rebuild_each(&store, chosen, jobs, true, &progress).await {
        Err(e) => failed = Some(anyhow::anyhow!("lecture du journal impossible : {e}")),
        Ok(rebuilds) => {
            let mut rebuilds = std::pin::pin!(rebuilds);
            while let Some((projection, done)) = rebuilds.next().await {
                if let Some(bar) = bar_of.get(projection.name) {
                    bar.finish_and_clear();
                }
                match done {
                    Ok(done) => {
                        let seconds = done.elapsed.as_secs_f64().max(0.001);
                        say(format!(
                            "« {} » (définition {}) reconstruite : {} événements en {:.1} s ({:.0} événements/s) ; les tables de la génération {} sont en service.",
                            projection.name,
                            projection.definition,
                            done.events,
                            seconds,
                            done.events as f64 / seconds,
                            done.live.0,
                        ));
                        replaced.push((projection, done.previous));
                    }
                    Err(e) => {
                        // The others under way stop with the stream; their tables are
                        // started afresh by the next rebuild.
                        failed = Some(anyhow::anyhow!(
                            "reconstruction de « {} » interrompue : {e}",
                            projection.name
                        ));
                        break;
                    }
                }
            }
        }
    }
    bars.clear().ok();
    // Those rebuilt are live even when another failed: their old tables go too. Requests
    // still reading them finish first: one grace for all.
    if !replaced.is_empty() {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
    let db = store.db();
    for (projection, previous) in replaced {
        if let Err(e) = pharos_read_model::tables::drop_of(&db, projection, previous).await {
            failed.get_or_insert(anyhow::anyhow!(
                "les anciennes tables de « {} » (génération {}) n'ont pas pu être supprimées : {e}",
                projection.name,
                previous.0
            ));
        }
    }
    store.close().await;
    match failed {
        Some(e) => Err(e),
        None => {
            println!("Les tables des générations remplacées ont été supprimées.");
            Ok(())
        }
    }
}

async fn reset_password(config: &Config, email: &str) -> anyhow::Result<()> {
    let store = connect(config).await?;
    let workers = CancellationToken::new();
    let state = target_state(config, &store, &workers, Arc::new(SystemClock)).await?;
    let person = state.vault.find_person(email).await;
    let directory = pharos_directory::Directory::new(state);
    let link = match person {
        Ok(Some(person)) => pharos_directory::users::reset::issue(&directory, person.0)
            .await
            .map_err(|p| anyhow::anyhow!("{}", p.detail)),
        Ok(None) => Err(anyhow::anyhow!("aucun compte à l'adresse {}", email.trim())),
        Err(e) => Err(anyhow::anyhow!("lecture du coffre impossible : {e}")),
    };
    workers.cancel();
    store.close().await;
    let link = link?;
    println!(
        "Lien de réinitialisation du mot de passe de {} (à usage unique, valable jusqu'au {}) :",
        email.trim().to_lowercase(),
        link.expires_at.format("%d/%m/%Y %H:%M UTC")
    );
    println!("  chemin : {}", link.reset_path);
    println!("  jeton  : {}", link.token);
    println!(
        "À transmettre à la personne (il n'est pas conservé) : elle choisit son mot de passe par \
         POST /api/v1/password-reset."
    );
    Ok(())
}

async fn create_school_accounts(config: &Config, pattern: &str) -> anyhow::Result<()> {
    let store = connect(config).await?;
    let workers = CancellationToken::new();
    let directory = pharos_directory::Directory::new(
        target_state(config, &store, &workers, Arc::new(SystemClock)).await?,
    );
    let report =
        pharos_directory::users::bulk::create_all(&directory, pattern, &operator("cli")).await;
    workers.cancel();
    store.close().await;
    let report = report.map_err(|p| anyhow::anyhow!("{}", p.detail))?;
    println!(
        "Comptes des établissements — créés : {} ; déjà existants : {} ; refusés : {}.",
        report.created,
        report.existing,
        report.refused.len()
    );
    for refused in &report.refused {
        println!("  {} : {}", refused.uai, refused.reason);
    }
    Ok(())
}

async fn import_schools(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(file).with_context(|| format!("lecture de {} impossible", file.display()))?;
    let parsed = pharos_directory::import::parse(&bytes)
        .map_err(|e| anyhow::anyhow!("{} : aucune ligne importée : {e}", file.display()))?;
    let store = connect(config).await?;
    let workers = CancellationToken::new();
    let state = target_state(config, &store, &workers, Arc::new(SystemClock)).await?;
    let progress = indicatif::ProgressBar::new(parsed.lines.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} lignes ({per_sec}, reste {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let report = pharos_directory::import::run(
        &store,
        &state.access.academy,
        parsed,
        &operator("cli"),
        || progress.inc(1),
    )
    .await;
    progress.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{} — lignes lues : {} en {elapsed:.1} s ({:.0} lignes/s) ; encodage {}",
        file.display(),
        report.lines(),
        report.lines() as f64 / elapsed.max(1e-9),
        report.encoding
    );
    println!(
        "  importés : {} ; mis à jour : {} ; inchangés : {} ; refusés : {}",
        report.imported,
        report.updated,
        report.unchanged,
        report.refused.len()
    );
    for refused in &report.refused {
        println!(
            "  ligne {} ({}) refusée : {}",
            refused.line,
            if refused.uai.is_empty() {
                "UAI absent"
            } else {
                &refused.uai
            },
            refused.reason
        );
    }
    workers.cancel();
    store.close().await;
    Ok(())
}

async fn privacy(config: &Config, command: PrivacyCommand) -> anyhow::Result<()> {
    let store = connect(config).await?;
    let (vault, _) = open_vault(config, &store).await?;
    match command {
        PrivacyCommand::Export { email } => match vault.export(&store, &email).await? {
            Some(export) => println!("{}", serde_json::to_string_pretty(&export)?),
            None => println!(
                "Aucune donnée personnelle n'est détenue pour cette adresse (jamais \
                 enregistrée, ou effacée)."
            ),
        },
        PrivacyCommand::Erase {
            email,
            reason,
            actor,
        } => match vault.find_person(&email).await? {
            Some(person) => {
                vault
                    .erase(&store, person, &reason, &operator(&actor))
                    .await?;
                println!("Personne {person} effacée : ses données sont désormais illisibles.");
            }
            None => println!(
                "Aucune personne n'est connue pour cette adresse (jamais enregistrée, ou déjà \
                 effacée) : rien à effacer."
            ),
        },
        PrivacyCommand::Purge { at } => {
            let now = at.map_or_else(chrono::Utc::now, |at| at.with_timezone(&chrono::Utc));
            let purged = vault.purge(&store, now, &operator("retention-job")).await?;
            for p in &purged {
                println!(
                    "effacé : personne {} ({}, échéance {})",
                    p.person, p.purpose, p.retain_until
                );
            }
            println!(
                "Personnes effacées au titre des règles de conservation : {}.",
                purged.len()
            );
        }
    }
    store.close().await;
    Ok(())
}

async fn serve(mut config: Config) -> anyhow::Result<()> {
    pharos_web::install_metrics();
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("impossible d'écouter sur {}", config.addr))?;
    let addr = listener.local_addr()?;
    // A port the system picked (`:0`) is known only once bound; the pages call it.
    if config.api_url == pharos::config::own_url(config.addr) {
        config.api_url = pharos::config::own_url(addr);
    }
    let pharos = pharos::assemble(&config, Arc::new(SystemClock)).await?;
    let shutdown = pharos_web::shutdown_signal();
    let names = pharos::targets::names_of(&config.targets);
    let backend = pharos.store.backend_name();
    tracing::info!(%addr, targets = ?names, backend, "pharos is serving");
    println!(
        "Pharos écoute sur http://{addr} (cibles : {} ; base : {backend})",
        names.join(", "),
    );
    pharos.serve(listener, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    // PostgreSQL's notices (« table … does not exist, skipping » for each `DROP TABLE IF
    // EXISTS` of a rebuild) say nothing an operator acts on.
    let filter = EnvFilter::try_from_env("PHAROS_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx::postgres::notice=warn"));
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
    fn command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

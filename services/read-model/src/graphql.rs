//! The GraphQL API (`POST /graphql`): lists and records of the read model, scoped to the
//! caller, paginated the Relay way, each record with its history from the log.
//!
//! Limits: `first` from 1 to 100 (20 by default); a query deeper than [`MAX_DEPTH`] or
//! costlier than [`MAX_COMPLEXITY`] (a list costs `first` times its items) is refused
//! before it runs, in French.

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, EmptyMutation, Error, Object, Schema, SimpleObject};
use chrono::{Datelike, NaiveDate};
use pharos_access::{Actor, TargetState};
use pharos_events::phare::SchoolYear;
use pharos_eventstore::StreamId;

use crate::projector::fold;
use crate::scope::Visibility;
use crate::sql::{Filter, count, rows};
use crate::tables::Generation;

/// The deepest query accepted.
pub const MAX_DEPTH: usize = 12;
/// The costliest query accepted (a field costs 1, a list `first` times its items).
pub const MAX_COMPLEXITY: usize = 5_000;
/// The largest page.
pub const MAX_FIRST: i32 = 100;
const DEFAULT_FIRST: i32 = 20;

pub type ReadSchema = Schema<Query, EmptyMutation, crate::subscription::Subscription>;

/// The schema, holding the target's state and the dashboards' answers; each request adds
/// its [`Actor`] and [`Visibility`].
pub fn schema(
    state: TargetState,
    answers: std::sync::Arc<crate::answers::AnswerCache>,
) -> ReadSchema {
    Schema::build(
        Query::default(),
        EmptyMutation,
        crate::subscription::Subscription,
    )
    .data(crate::dashboard::SnapshotSlots::for_db(
        &state.app.store.db(),
        state.app.settings.dashboards_at_once,
    ))
    .data(answers)
    .data(state)
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .finish()
}

/// The SDL, as `schema/schema.graphql` holds it.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        EmptyMutation,
        crate::subscription::Subscription,
    )
    .finish()
    .sdl()
}

/// Errors of the GraphQL engine a person may read, in French.
pub fn french(message: &str) -> Option<String> {
    Some(match message {
        "Query is nested too deep." => {
            format!("Requête trop profonde : {MAX_DEPTH} niveaux d'imbrication au plus.")
        }
        "Query is too complex." => format!(
            "Requête trop coûteuse : réduisez le nombre d'éléments demandés (« first ») ou de champs ; {MAX_COMPLEXITY} au plus."
        ),
        _ => return None,
    })
}

/// Queries parsed already, by their text: the pages and the bench ask the same few
/// queries again and again, and parsing each twice (whether it may be kept warm, then the
/// engine; `pest` parsers) took 9 % of this process's CPU under 16 clients asking
/// departments' dashboards, where a parsed copy is now cloned once. A parse depends on
/// the text alone, so one cache serves every schema; the checks (depth, complexity,
/// validation) still run on each request. Bounded in texts and in each text's length: a
/// caller cannot fill it with large queries.
const PARSED_QUERIES: usize = 128;
const PARSED_QUERY_TEXT: usize = 4 * 1024;

/// `request` with its query parsed, from a copy parsed before where there is one
/// ([`parse_known`]); a query that does not parse, or too long to be kept, is left for
/// the engine to parse and report.
pub(crate) fn parsed(mut request: async_graphql::Request) -> async_graphql::Request {
    if request.query.len() <= PARSED_QUERY_TEXT
        && let Some(document) = parse_known(&request.query)
    {
        request.set_parsed_query(document.as_ref().clone());
    }
    request
}

/// `query` parsed: the copy kept from an earlier parse of the same text, or parsed now
/// (and kept, when short enough); `None` when it does not parse.
pub(crate) fn parse_known(
    query: &str,
) -> Option<std::sync::Arc<async_graphql::parser::types::ExecutableDocument>> {
    type Parsed =
        lru::LruCache<String, std::sync::Arc<async_graphql::parser::types::ExecutableDocument>>;
    static PARSED: std::sync::LazyLock<std::sync::Mutex<Parsed>> = std::sync::LazyLock::new(|| {
        std::sync::Mutex::new(lru::LruCache::new(
            std::num::NonZeroUsize::new(PARSED_QUERIES).unwrap_or(std::num::NonZeroUsize::MIN),
        ))
    });
    let lock = || {
        PARSED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(document) = lock().get(query) {
        return Some(document.clone());
    }
    let document = std::sync::Arc::new(async_graphql::parser::parse_query(query).ok()?);
    if query.len() <= PARSED_QUERY_TEXT {
        lock().put(query.to_owned(), document.clone());
    }
    Some(document)
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "read model query failed");
    Error::new("Le modèle de lecture ne répond pas ; réessayez dans un instant.")
}

/// `(offset, first)` of a page, checked.
pub(crate) fn page(first: Option<i32>, after: Option<String>) -> Result<(usize, usize), Error> {
    let first = first.unwrap_or(DEFAULT_FIRST);
    if !(1..=MAX_FIRST).contains(&first) {
        return Err(Error::new(format!(
            "« first » : entre 1 et {MAX_FIRST} éléments par page ({first} demandés)."
        )));
    }
    let offset = match after {
        None => 0,
        Some(cursor) => {
            usize::decode_cursor(&cursor).map_err(|_| {
                Error::new("« after » : ce curseur ne vient pas d'une page de cette liste.")
            })? + 1
        }
    };
    Ok((offset, first as usize))
}

/// Total number of items of a list.
#[derive(SimpleObject)]
pub struct Total {
    /// Combien d'éléments la liste compte en tout (toutes pages).
    total_count: i64,
}

pub(crate) type Page<T> = Connection<usize, T, Total>;

/// One page of `select … from`, ordered by `order`, as a connection.
pub(crate) async fn connection<R, T>(
    (state, generation): (&TargetState, Generation),
    select: &str,
    from: &str,
    filter: &Filter,
    order: &str,
    (offset, first): (usize, usize),
    node: impl Fn(R) -> T,
) -> Result<Page<T>, Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + Send
        + Unpin,
    T: async_graphql::OutputType,
{
    let db = state.app.store.db();
    let g = generation;
    let condition = filter.sql();
    let total = count(
        &db,
        g,
        &format!("SELECT COUNT(*) FROM {from}{condition}"),
        &filter.binds,
    )
    .await
    .map_err(internal)?;
    // One row more than asked: whether a next page exists.
    let found: Vec<R> = rows(
        &db,
        g,
        &format!(
            "SELECT {select} FROM {from}{condition} ORDER BY {order} LIMIT {} OFFSET {offset}",
            first + 1
        ),
        &filter.binds,
    )
    .await
    .map_err(internal)?;
    let has_next = found.len() > first;
    let mut page =
        Connection::with_additional_fields(offset > 0, has_next, Total { total_count: total });
    page.edges.extend(
        found
            .into_iter()
            .take(first)
            .enumerate()
            .map(|(i, row)| Edge::new(offset + i, node(row))),
    );
    Ok(page)
}

pub(crate) fn visibility<'a>(ctx: &'a Context<'_>) -> Result<&'a Visibility, Error> {
    ctx.data::<Visibility>()
}

pub(crate) fn state<'a>(ctx: &'a Context<'_>) -> Result<&'a TargetState, Error> {
    ctx.data::<TargetState>()
}

/// The state and the generation of tables this request reads.
pub(crate) fn tables<'a>(ctx: &'a Context<'_>) -> Result<(&'a TargetState, Generation), Error> {
    Ok((state(ctx)?, *ctx.data::<Generation>()?))
}

/// 1 September and the next 1 September of a school year, as the tables' text instants.
fn school_year_span(year: &str) -> Result<(String, String), Error> {
    let year =
        SchoolYear::parse(year).map_err(|e| Error::new(format!("« schoolYear » : {}.", e.0)))?;
    let start = year.first_day();
    let end = NaiveDate::from_ymd_opt(start.year() + 1, 9, 1).unwrap_or(start);
    Ok((format!("{start}T00:00:00Z"), format!("{end}T00:00:00Z")))
}

fn year_filter(year: Option<String>) -> Result<Option<String>, Error> {
    year.map(|y| {
        SchoolYear::parse(&y)
            .map(|y| y.to_string())
            .map_err(|e| Error::new(format!("« schoolYear » : {}.", e.0)))
    })
    .transpose()
}

// ---------------------------------------------------------------------------------

/// Une entrée de l'historique d'un enregistrement.
#[derive(SimpleObject, Clone)]
pub struct HistoryEntry {
    /// Numéro de l'événement dans l'historique de l'enregistrement, à partir de 1.
    pub(crate) version: i64,
    /// Quand il a été enregistré (UTC, RFC 3339).
    pub(crate) at: String,
    /// Son type, tel que le journal l'enregistre.
    pub(crate) event_type: String,
    /// Ce qui s'est passé, en français.
    pub(crate) label: String,
    /// Le rôle de qui l'a fait (absent pour un traitement automatique).
    pub(crate) actor_role: Option<String>,
}

/// What happened, in French, for the event types the read model knows.
pub(crate) fn event_label(event_type: &str) -> String {
    let known = match event_type {
        "school_registered" => "Établissement enregistré",
        "school_updated" => "Fiche de l'établissement mise à jour",
        "school_closed" => "Établissement fermé",
        "training_created" => "Formation créée",
        "session_planned" => "Session planifiée",
        "session_opened" => "Inscriptions ouvertes",
        "session_closed" => "Inscriptions closes",
        "session_held" => "Session tenue",
        "attendance_locked" => "Présences verrouillées",
        "session_archived" => "Session archivée",
        "session_cancelled" => "Session annulée",
        "session_rescheduled" => "Session déplacée",
        "session_capacity_changed" => "Nombre de places modifié",
        "session_trainers_changed" => "Formateurs modifiés",
        "registration_confirmed" => "Inscription confirmée",
        "registration_waitlisted" => "Inscription en liste d'attente",
        "registration_promoted" => "Inscription confirmée depuis la liste d'attente",
        "registration_withdrawn" => "Inscription retirée",
        "attendance_recorded" => "Présence saisie",
        "attendance_corrected" => "Présence corrigée",
        "deployment_created" => "Déploiement ouvert",
        "charter_signed" => "Charte signée",
        "team_member_added" => "Membre ajouté à l'équipe ressource",
        "team_member_removed" => "Membre retiré de l'équipe ressource",
        "team_member_updated" => "Membre de l'équipe ressource modifié",
        "coordinator_named" => "Coordonnateur ou coordonnatrice désigné",
        "protocol_recorded" => "Protocole de traitement enregistré",
        "carry_over_confirmed" => "Reprise de l'année précédente confirmée",
        "learning_hours_planned" => "Heures d'apprentissage planifiées",
        "parent_workshop_recorded" => "Atelier des parents enregistré",
        "label_drafted" => "Demande de label commencée",
        "criterion_answered" => "Critère renseigné",
        "label_submitted" => "Demande de label déposée",
        "label_review_started" => "Examen de la demande commencé",
        "label_awarded" => "Label attribué",
        "label_not_awarded" => "Label non attribué",
        "label_returned" => "Demande renvoyée à l'établissement",
        "partner_registered" => "Partenaire enregistré",
        "partner_updated" => "Fiche du partenaire modifiée",
        "partner_verified" => "Fiche du partenaire vérifiée",
        "partner_archived" => "Partenaire archivé",
        "partner_unarchived" => "Partenaire désarchivé",
        "user_created" => "Compte créé",
        "user_role_changed" => "Rôle du compte modifié",
        "user_password_set" => "Mot de passe défini",
        "user_deactivated" => "Compte désactivé",
        "user_grants_changed" => "Rôles supplémentaires modifiés",
        "password_reset_requested" => "Réinitialisation du mot de passe demandée",
        "reminder_rule_defined" => "Règle de rappel définie",
        "reminder_rule_changed" => "Règle de rappel modifiée",
        "reminder_scheduled" => "Rappel programmé",
        "reminder_sent" => "Rappel envoyé",
        "reminder_failed" => "Échec de l'envoi d'un rappel",
        "reminder_retried" => "Nouvel essai d'envoi d'un rappel",
        "reminder_suppressed" => "Rappel écarté",
        "reminder_cancelled" => "Rappel annulé",
        "action_declared" => "Action déclarée",
        "action_edited" => "Action modifiée",
        "action_submitted" => "Action transmise au référent",
        "action_returned" => "Action renvoyée à l'établissement",
        "action_validated" => "Action validée",
        "action_published" => "Action publiée",
        "edition_created" => "Édition du concours créée",
        "deadline_extended" => "Date limite prolongée pour un établissement",
        "juror_appointed" => "Juré nommé",
        "award_granted" => "Distinction attribuée",
        "award_revoked" => "Distinction retirée",
        "results_published" => "Palmarès publié",
        "national_result_recorded" => "Résultat du concours national enregistré",
        "campaign_closed" => "Campagne close",
        other => return other.replace('_', " "),
    };
    known.to_owned()
}

/// A record's history: batched with the other records of the page ([`crate::loaders`]).
pub(crate) async fn history(
    ctx: &Context<'_>,
    category: &str,
    id: &str,
) -> Result<Vec<HistoryEntry>, Error> {
    let stream = StreamId::new(category, id).map_err(internal)?;
    Ok(ctx
        .data::<DataLoader<crate::loaders::HistoryLoader>>()?
        .load_one(stream.as_str().to_owned())
        .await
        .map_err(internal)?
        .unwrap_or_default())
}

// ---------------------------------------------------------------------------------

/// Un établissement du registre.
#[derive(sqlx::FromRow)]
pub struct School {
    uai: String,
    name: String,
    kind: String,
    sector: String,
    department: String,
    commune: String,
    circonscription: Option<String>,
    priority_education: String,
    closed_on: Option<String>,
    successor_uai: Option<String>,
}

const SCHOOL_COLUMNS: &str = "uai, name, kind, sector, department, commune, circonscription, \
     priority_education, closed_on, successor_uai";

/// Un établissement du registre.
#[Object]
impl School {
    async fn uai(&self) -> &str {
        &self.uai
    }
    async fn name(&self) -> &str {
        &self.name
    }
    /// `ecole`, `college`, `lycee_gt`, `lycee_pro`, `lycee_poly`, `erea` ou `periscolaire`.
    async fn kind(&self) -> &str {
        &self.kind
    }
    /// `public` ou `prive_sous_contrat`.
    async fn sector(&self) -> &str {
        &self.sector
    }
    async fn department(&self) -> &str {
        &self.department
    }
    async fn commune(&self) -> &str {
        &self.commune
    }
    /// Premier degré : la circonscription de l'IEN.
    async fn circonscription(&self) -> Option<&str> {
        self.circonscription.as_deref()
    }
    /// `none`, `rep` ou `rep_plus`.
    async fn priority_education(&self) -> &str {
        &self.priority_education
    }
    /// Date de fermeture, pour un établissement fermé.
    async fn closed_on(&self) -> Option<&str> {
        self.closed_on.as_deref()
    }
    /// L'établissement qui lui succède (fusion).
    async fn successor_uai(&self) -> Option<&str> {
        self.successor_uai.as_deref()
    }
    /// Son historique, du plus ancien au plus récent.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<HistoryEntry>, Error> {
        history(ctx, pharos_events::school::CATEGORY, &self.uai).await
    }
}

/// Une formation.
#[derive(sqlx::FromRow)]
pub struct Training {
    id: String,
    title: String,
    topic: String,
    audience: String,
    department: Option<String>,
}

/// Une formation.
#[Object]
impl Training {
    async fn id(&self) -> &str {
        &self.id
    }
    async fn title(&self) -> &str {
        &self.title
    }
    /// `equipe_ressource`, `mpp`, `pilotes`, `ambassadeurs`…
    async fn topic(&self) -> &str {
        &self.topic
    }
    async fn audience(&self) -> &str {
        &self.audience
    }
    /// Absent pour une formation académique.
    async fn department(&self) -> Option<&str> {
        self.department.as_deref()
    }
    /// Ses sessions que l'appelant voit, par date.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(
            desc = "Seulement celles où des personnels de cet établissement (UAI) \
                          sont inscrits ou en liste d'attente (les siens seulement pour \
                          un établissement)."
        )]
        registered_from: Option<String>,
    ) -> Result<Page<Session>, Error> {
        // Batched with the other trainings of the page ([`crate::loaders`]).
        let (offset, first) = page(first, after)?;
        let (found, total) = ctx
            .data::<DataLoader<crate::loaders::SessionsLoader>>()?
            .load_one(crate::loaders::SessionsKey {
                training_id: self.id.clone(),
                offset,
                first,
                registered_from: registered_from.map(|uai| uai.trim().to_uppercase()),
            })
            .await
            .map_err(internal)?
            .unwrap_or_default();
        let has_next = found.len() > first;
        let mut page =
            Connection::with_additional_fields(offset > 0, has_next, Total { total_count: total });
        page.edges.extend(
            found
                .into_iter()
                .take(first)
                .enumerate()
                .map(|(i, session)| Edge::new(offset + i, session)),
        );
        Ok(page)
    }
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<HistoryEntry>, Error> {
        history(ctx, pharos_events::training::TRAINING_CATEGORY, &self.id).await
    }
}

/// Une session de formation.
#[derive(sqlx::FromRow, Clone)]
pub struct Session {
    id: String,
    pub(crate) training_id: String,
    department: Option<String>,
    starts_at: String,
    ends_at: String,
    status: String,
    capacity: i64,
    planned_minutes: i64,
    location: Option<String>,
    recorded_after_the_fact: bool,
    confirmed: i64,
    waitlisted: i64,
}

pub(crate) const SESSION_COLUMNS: &str = "id, training_id, department, starts_at, ends_at, status, capacity, \
     planned_minutes, location, recorded_after_the_fact, \
     (SELECT COUNT(*) FROM rm_registrations r WHERE r.session_id = rm_sessions.id AND r.status = 'confirmed') AS confirmed, \
     (SELECT COUNT(*) FROM rm_registrations r WHERE r.session_id = rm_sessions.id AND r.status = 'waitlisted') AS waitlisted";

/// Une session de formation.
#[Object]
impl Session {
    async fn id(&self) -> &str {
        &self.id
    }
    async fn training_id(&self) -> &str {
        &self.training_id
    }
    /// Département où elle se tient ; absent pour une session académique.
    async fn department(&self) -> Option<&str> {
        self.department.as_deref()
    }
    /// Début (UTC, RFC 3339).
    async fn starts_at(&self) -> &str {
        &self.starts_at
    }
    /// Fin (UTC, RFC 3339).
    async fn ends_at(&self) -> &str {
        &self.ends_at
    }
    /// `planned`, `open`, `closed`, `held`, `attendance_locked`, `archived` ou `cancelled`.
    async fn status(&self) -> &str {
        &self.status
    }
    async fn capacity(&self) -> i64 {
        self.capacity
    }
    async fn planned_minutes(&self) -> i64 {
        self.planned_minutes
    }
    async fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }
    /// Enregistrée après coup (historique d'avant Pharos).
    async fn recorded_after_the_fact(&self) -> bool {
        self.recorded_after_the_fact
    }
    /// Inscriptions confirmées.
    async fn confirmed(&self) -> i64 {
        self.confirmed
    }
    /// Inscriptions en liste d'attente.
    async fn waitlisted(&self) -> i64 {
        self.waitlisted
    }
    /// Les inscrits, nommément : tous pour le pôle et les référents du département de la
    /// session, ses propres personnels pour un établissement, aucun pour les autres.
    /// Chaque personne montrée fait l'objet d'une lecture nominative consignée ; une
    /// personne effacée se lit « donnée effacée ».
    async fn registrants(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::people::SessionRegistrant>, Error> {
        crate::people::registrants(ctx, &self.id, self.department.as_deref()).await
    }
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<HistoryEntry>, Error> {
        history(ctx, pharos_events::training::SESSION_CATEGORY, &self.id).await
    }
}

/// Le déploiement de pHARe d'un établissement ou d'une circonscription pour une année.
#[derive(sqlx::FromRow)]
pub struct Deployment {
    id: String,
    school_year: String,
    school_uai: Option<String>,
    circonscription: Option<String>,
    department: String,
    charter_signed_on: Option<String>,
    coordinator: bool,
    protocol_presented_on: Option<String>,
    learning_hours: Option<i64>,
    parent_workshops: i64,
    team_members: i64,
    trained_members: i64,
}

const DEPLOYMENT_COLUMNS: &str = "id, school_year, school_uai, circonscription, department, \
     charter_signed_on, coordinator, protocol_presented_on, learning_hours, parent_workshops, \
     (SELECT COUNT(*) FROM rm_team_members t WHERE t.deployment_id = rm_deployments.id) AS team_members, \
     (SELECT COUNT(*) FROM rm_team_members t WHERE t.deployment_id = rm_deployments.id AND t.trained) AS trained_members";

/// Le déploiement de pHARe d'un établissement ou d'une circonscription pour une année.
#[Object]
impl Deployment {
    async fn id(&self) -> &str {
        &self.id
    }
    async fn school_year(&self) -> &str {
        &self.school_year
    }
    /// Absent pour une circonscription.
    async fn school_uai(&self) -> Option<&str> {
        self.school_uai.as_deref()
    }
    /// Absente pour un établissement.
    async fn circonscription(&self) -> Option<&str> {
        self.circonscription.as_deref()
    }
    async fn department(&self) -> &str {
        &self.department
    }
    /// Date de signature de la charte en vigueur.
    async fn charter_signed_on(&self) -> Option<&str> {
        self.charter_signed_on.as_deref()
    }
    /// Un coordonnateur ou une coordonnatrice est désigné.
    async fn coordinator(&self) -> bool {
        self.coordinator
    }
    /// Date de présentation du protocole de traitement.
    async fn protocol_presented_on(&self) -> Option<&str> {
        self.protocol_presented_on.as_deref()
    }
    /// Heures d'apprentissage planifiées (absent : non planifiées).
    async fn learning_hours(&self) -> Option<i64> {
        self.learning_hours
    }
    /// Ateliers des parents enregistrés.
    async fn parent_workshops(&self) -> i64 {
        self.parent_workshops
    }
    /// Membres de l'équipe ressource.
    async fn team_members(&self) -> i64 {
        self.team_members
    }
    /// Membres de l'équipe ressource déclarés formés.
    async fn trained_members(&self) -> i64 {
        self.trained_members
    }
    /// L'équipe ressource, nommément (lecture nominative consignée ; « donnée effacée »
    /// pour une personne effacée).
    async fn team(&self, ctx: &Context<'_>) -> Result<Vec<crate::people::TeamMember>, Error> {
        crate::people::team(ctx, &self.id).await
    }
    /// Le coordonnateur ou la coordonnatrice désigné, nommément (lecture nominative
    /// consignée).
    async fn coordinator_person(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::people::Person>, Error> {
        crate::people::one(ctx, crate::people::kind::COORDINATOR, &self.id).await
    }
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<HistoryEntry>, Error> {
        history(ctx, pharos_events::phare::DEPLOYMENT_CATEGORY, &self.id).await
    }
}

/// Une demande de label pHARe.
#[derive(sqlx::FromRow)]
pub struct Label {
    id: String,
    school_uai: String,
    department: String,
    school_year: String,
    target_level: String,
    status: String,
    awarded_level: Option<String>,
}

const LABEL_COLUMNS: &str =
    "id, school_uai, department, school_year, target_level, status, awarded_level";

/// Une demande de label pHARe.
#[Object]
impl Label {
    async fn id(&self) -> &str {
        &self.id
    }
    async fn school_uai(&self) -> &str {
        &self.school_uai
    }
    async fn department(&self) -> &str {
        &self.department
    }
    async fn school_year(&self) -> &str {
        &self.school_year
    }
    /// Niveau visé.
    async fn target_level(&self) -> &str {
        &self.target_level
    }
    /// `draft`, `submitted`, `under_review`, `returned`, `awarded` ou `not_awarded`.
    async fn status(&self) -> &str {
        &self.status
    }
    /// Niveau attribué.
    async fn awarded_level(&self) -> Option<&str> {
        self.awarded_level.as_deref()
    }
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<HistoryEntry>, Error> {
        history(ctx, pharos_events::phare::LABEL_CATEGORY, &self.id).await
    }
}

/// Un partenaire de l'annuaire d'orientation (sans ses personnes à contacter).
#[derive(sqlx::FromRow, SimpleObject)]
pub struct Partner {
    id: String,
    name: String,
    kind: String,
    /// `national`, `department` ou `local`.
    scope: String,
    department: Option<String>,
    commune: Option<String>,
    archived: bool,
}

/// Une cohorte d'ambassadeurs (effectifs, sans noms).
#[derive(sqlx::FromRow, SimpleObject)]
pub struct Cohort {
    id: String,
    school_uai: String,
    department: String,
    school_year: String,
    /// `eleves_college`, `eleves_lycee`, `petits_ambassadeurs` ou `parents`.
    kind: String,
    /// `draft`, `declared`, `trained`, `active` ou `closed`.
    status: String,
    /// Élèves ambassadeurs.
    pupils: i64,
    /// Parents ambassadeurs.
    parents: i64,
    /// Formations suivies enregistrées.
    trainings: i64,
}

/// Une action de sensibilisation ou de prévention.
#[derive(sqlx::FromRow, SimpleObject)]
#[graphql(complex)]
pub struct Action {
    id: String,
    school_year: String,
    /// `national_day` ou `year_round`.
    campaign: String,
    /// L'établissement qui l'a déclarée.
    school_uai: String,
    department: String,
    /// Date de l'action.
    held_on: String,
    /// Ses types, séparés par des virgules (`projection_debat`, `atelier`…).
    types: String,
    pupils_reached: i64,
    adults_reached: i64,
    /// Tenue (et non prévue).
    held: bool,
    /// `draft`, `submitted`, `returned`, `validated` ou `published`.
    status: String,
}

#[async_graphql::ComplexObject]
impl Action {
    /// Son historique : déclarée, transmise, renvoyée, validée, publiée — par qui, quand.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<HistoryEntry>, Error> {
        history(ctx, pharos_events::national_day::ACTION_CATEGORY, &self.id).await
    }
}

/// The columns of [`Action`].
const ACTION_COLUMNS: &str = "id, school_year, campaign, school_uai, department, held_on, types, \
     pupils_reached, adults_reached, held, status";

/// Keeps the actions one of whose schools is in the caller's scope, and, when given, in
/// `department` or of `school_uai`.
fn action_scope(
    filter: &mut Filter,
    seen: &crate::scope::Visibility,
    department: Option<String>,
    school_uai: Option<String>,
) {
    let mut conditions = Vec::new();
    if !seen.all {
        let mut alternatives = Vec::new();
        for (column, values) in [
            ("s.department", &seen.departments),
            ("s.uai", &seen.schools),
        ] {
            if !values.is_empty() {
                let at: Vec<String> = values.iter().map(|v| filter.bind(v.clone())).collect();
                alternatives.push(format!("{column} IN ({})", at.join(", ")));
            }
        }
        conditions.push(if alternatives.is_empty() {
            "1 = 0".to_owned()
        } else {
            format!("({})", alternatives.join(" OR "))
        });
    }
    if let Some(department) = department {
        conditions.push(format!("s.department = {}", filter.bind(department)));
    }
    if let Some(uai) = school_uai {
        conditions.push(format!(
            "s.uai = {}",
            filter.bind(uai.trim().to_uppercase())
        ));
    }
    if !conditions.is_empty() {
        filter.raw(&format!(
            "EXISTS (SELECT 1 FROM rm_action_schools s WHERE s.action_id = rm_actions.id AND {})",
            conditions.join(" AND ")
        ));
    }
}

/// Une participation au concours « Non au harcèlement » (un groupe, en effectifs).
#[derive(sqlx::FromRow, SimpleObject)]
#[graphql(complex)]
pub struct Entry {
    id: String,
    contest_id: String,
    school_uai: String,
    department: String,
    /// Catégorie de l'édition (niveau × support).
    category: String,
    title: String,
    pupil_count: i64,
    adult_count: i64,
    /// Fichiers déposés.
    files: i64,
    /// Où elle en est : `draft`, `submitted`, `withdrawn`, `admissible`, `inadmissible`,
    /// `under_jury` ; une fois le palmarès publié, `laureate`, `mention`, `not_selected` ou
    /// `nominated_national`, puis `national_laureate` ou `not_awarded` ; `archived` à la
    /// clôture de la campagne (la règle du concours, appliquée aux événements de l'édition).
    status: String,
}

#[async_graphql::ComplexObject]
impl Entry {
    /// L'adulte responsable de la participation, nommément (lecture nominative
    /// consignée ; « donnée effacée » pour une personne effacée).
    async fn responsible(&self, ctx: &Context<'_>) -> Result<Option<crate::people::Person>, Error> {
        crate::people::one(ctx, crate::people::kind::RESPONSIBLE, &self.id).await
    }
}

/// L'appelant.
#[derive(SimpleObject)]
pub struct Me {
    id: String,
    /// Son rôle principal.
    role: String,
    /// Son rôle principal, en français.
    role_label: String,
    /// Son périmètre (département, UAI), absent pour un rôle académique.
    scope: Option<String>,
    /// Ses rôles supplémentaires, en français avec leur périmètre.
    grants: Vec<String>,
}

// ---------------------------------------------------------------------------------

/// A list of records owned by a school (deployments, labels, cohorts, entries): those in
/// the caller's scope (its departments or its schools), then the filters asked.
pub(crate) fn school_owned(
    seen: &Visibility,
    school_year: Option<String>,
    department: Option<String>,
    school_uai: Option<String>,
) -> Result<Filter, Error> {
    let mut filter = Filter::default();
    if !seen.all {
        filter.any_of(&[
            ("department", &seen.departments),
            ("school_uai", &seen.schools),
        ]);
    }
    filter.eq("school_year", year_filter(school_year)?);
    filter.eq("department", department);
    filter.eq("school_uai", school_uai.map(|u| u.trim().to_uppercase()));
    Ok(filter)
}

/// Sessions the caller sees: all, or the academy-wide ones and those of its departments.
fn session_scope(filter: &mut Filter, seen: &Visibility) {
    if !seen.all {
        let departments = seen.planning_departments();
        filter.null_or_in("department", &departments);
    }
}

/// The condition "the session `session` (an SQL expression) has registrants of the school
/// `uai`, confirmed or waitlisted". A caller who sees neither the whole academy nor a
/// department asks of their own schools only: another school's gives nothing, as data
/// out of scope is absent.
pub(crate) fn registrants_from(
    filter: &mut Filter,
    seen: &Visibility,
    uai: &str,
    session: &str,
) -> String {
    let uai = uai.trim().to_uppercase();
    if !seen.all && seen.departments.is_empty() && !seen.schools.contains(&uai) {
        return "1 = 0".to_owned();
    }
    let uai = filter.bind(uai);
    format!(
        "EXISTS (SELECT 1 FROM rm_registrations r WHERE r.session_id = {session} \
         AND r.school_uai = {uai} AND r.status IN ('confirmed', 'waitlisted'))"
    )
}

/// The lists and records.
#[derive(Default)]
pub struct ListsQuery;

/// The query root: the lists, and the dashboard ([`crate::dashboard`]).
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(ListsQuery, crate::dashboard::DashboardQuery);

#[Object]
impl ListsQuery {
    /// L'appelant : son rôle et son périmètre.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me, Error> {
        let actor = ctx.data::<Actor>()?;
        Ok(Me {
            id: actor.user_id.to_string(),
            role: actor.role.to_string(),
            role_label: actor.role.label().to_owned(),
            scope: actor.scope.value(),
            grants: actor
                .grants
                .iter()
                .map(|(role, scope)| match scope.value() {
                    Some(scope) => format!("{} ({scope})", role.label()),
                    None => role.label().to_owned(),
                })
                .collect(),
        })
    }

    /// Le journal des événements, du plus récent au plus ancien (pôle académique et
    /// administrateurs) : `category` et `stream` (ex. `school-0310001H`) le filtrent.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    async fn events(
        &self,
        ctx: &Context<'_>,
        category: Option<String>,
        stream: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<
        Connection<
            String,
            crate::audit::LoggedEvent,
            async_graphql::connection::EmptyFields,
            async_graphql::connection::EmptyFields,
        >,
        Error,
    > {
        crate::audit::events(ctx, category, stream, first, after).await
    }

    /// Une édition du concours (ses dates, catégories et règles, et les participations
    /// que l'appelant voit, par statut), si elle existe.
    async fn contest(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> Result<Option<crate::editions::Contest>, Error> {
        crate::editions::contest(ctx, &id).await
    }

    /// La Journée nationale d'une année scolaire : sa date, sa fenêtre de campagne et
    /// l'échéance des comptes rendus (absente si la date ne peut pas être calculée et que
    /// le pôle ne l'a pas fixée).
    async fn national_day(
        &self,
        ctx: &Context<'_>,
        school_year: String,
    ) -> Result<Option<crate::editions::NationalDay>, Error> {
        crate::editions::national_day(ctx, &school_year).await
    }

    /// Les établissements que l'appelant voit, par nom.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn schools(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        department: Option<String>,
        kind: Option<String>,
        sector: Option<String>,
        priority_education: Option<String>,
        circonscription: Option<String>,
        #[graphql(desc = "Texte cherché dans le nom, la commune et l'UAI")] search: Option<String>,
        #[graphql(desc = "Inclure les établissements fermés", default = false)]
        include_closed: bool,
    ) -> Result<Page<School>, Error> {
        let seen = visibility(ctx)?;
        let mut filter = Filter::default();
        if !seen.all {
            filter.any_of(&[("department", &seen.departments), ("uai", &seen.schools)]);
        }
        filter.eq("department", department);
        filter.eq("kind", kind);
        filter.eq("sector", sector);
        filter.eq("priority_education", priority_education);
        filter.eq("circonscription", circonscription);
        filter.contains("search", search.map(|s| fold(&s)));
        if !include_closed {
            filter.raw("closed_on IS NULL");
        }
        connection(
            tables(ctx)?,
            SCHOOL_COLUMNS,
            "rm_schools",
            &filter,
            "name, uai",
            page(first, after)?,
            |s: School| s,
        )
        .await
    }

    /// Un établissement, s'il est dans le périmètre de l'appelant.
    async fn school(&self, ctx: &Context<'_>, uai: String) -> Result<Option<School>, Error> {
        let seen = visibility(ctx)?;
        let mut filter = Filter::default();
        filter.eq("uai", Some(uai.trim().to_uppercase()));
        if !seen.all {
            filter.any_of(&[("department", &seen.departments), ("uai", &seen.schools)]);
        }
        let (state, g) = tables(ctx)?;
        let found: Vec<School> = rows(
            &state.app.store.db(),
            g,
            &format!("SELECT {SCHOOL_COLUMNS} FROM rm_schools{}", filter.sql()),
            &filter.binds,
        )
        .await
        .map_err(internal)?;
        Ok(found.into_iter().next())
    }

    /// Les formations que l'appelant voit (académiques et celles de ses départements),
    /// par titre ; `schoolYear` : celles qui ont une session cette année-là ;
    /// `registeredFrom` (UAI) : celles dont une session compte des personnels de cet
    /// établissement inscrits ou en liste d'attente (les siens seulement pour un
    /// établissement).
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn trainings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        school_year: Option<String>,
        department: Option<String>,
        topic: Option<String>,
        search: Option<String>,
        registered_from: Option<String>,
    ) -> Result<Page<Training>, Error> {
        let seen = visibility(ctx)?;
        let mut filter = Filter::default();
        if !seen.all {
            filter.null_or_in("department", &seen.planning_departments());
        }
        filter.eq("department", department);
        filter.eq("topic", topic);
        filter.contains("search", search.map(|s| fold(&s)));
        // One session must meet both: of the year, with the school's registrants.
        let mut session = Vec::new();
        if let Some(year) = school_year {
            let (from, to) = school_year_span(&year)?;
            let (from, to) = (filter.bind(from), filter.bind(to));
            session.push(format!("s.starts_at >= {from} AND s.starts_at < {to}"));
        }
        if let Some(uai) = registered_from {
            session.push(registrants_from(&mut filter, seen, &uai, "s.id"));
        }
        if !session.is_empty() {
            filter.raw(&format!(
                "EXISTS (SELECT 1 FROM rm_sessions s WHERE s.training_id = rm_trainings.id \
                 AND {})",
                session.join(" AND ")
            ));
        }
        connection(
            tables(ctx)?,
            "id, title, topic, audience, department",
            "rm_trainings",
            &filter,
            "title, id",
            page(first, after)?,
            |t: Training| t,
        )
        .await
    }

    /// Les sessions que l'appelant voit (académiques et celles de ses départements), par
    /// date ; `schoolYear` : celles qui commencent cette année scolaire-là ;
    /// `registeredFrom` (UAI) : celles où des personnels de cet établissement sont
    /// inscrits ou en liste d'attente (les siens seulement pour un établissement).
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        training_id: Option<String>,
        school_year: Option<String>,
        department: Option<String>,
        status: Option<String>,
        registered_from: Option<String>,
    ) -> Result<Page<Session>, Error> {
        let mut filter = Filter::default();
        let seen = visibility(ctx)?;
        session_scope(&mut filter, seen);
        if let Some(uai) = registered_from {
            let clause = registrants_from(&mut filter, seen, &uai, "rm_sessions.id");
            filter.raw(&clause);
        }
        filter.eq(
            "training_id",
            training_id.map(|id| id.trim().to_lowercase()),
        );
        filter.eq("department", department);
        filter.eq("status", status);
        if let Some(year) = school_year {
            let (from, to) = school_year_span(&year)?;
            filter.between("starts_at", from, to);
        }
        connection(
            tables(ctx)?,
            SESSION_COLUMNS,
            "rm_sessions",
            &filter,
            "starts_at, id",
            page(first, after)?,
            |s: Session| s,
        )
        .await
    }

    /// Une action, si l'appelant la voit (l'un de ses établissements est dans son
    /// périmètre).
    async fn action(&self, ctx: &Context<'_>, id: String) -> Result<Option<Action>, Error> {
        let mut filter = Filter::default();
        filter.eq("id", Some(id.trim().to_lowercase()));
        action_scope(&mut filter, visibility(ctx)?, None, None);
        let (state, g) = tables(ctx)?;
        let found: Vec<Action> = rows(
            &state.app.store.db(),
            g,
            &format!("SELECT {ACTION_COLUMNS} FROM rm_actions{}", filter.sql()),
            &filter.binds,
        )
        .await
        .map_err(internal)?;
        Ok(found.into_iter().next())
    }

    /// Une session, si l'appelant la voit.
    async fn session(&self, ctx: &Context<'_>, id: String) -> Result<Option<Session>, Error> {
        let mut filter = Filter::default();
        filter.eq("id", Some(id.trim().to_lowercase()));
        session_scope(&mut filter, visibility(ctx)?);
        let (state, g) = tables(ctx)?;
        let found: Vec<Session> = rows(
            &state.app.store.db(),
            g,
            &format!("SELECT {SESSION_COLUMNS} FROM rm_sessions{}", filter.sql()),
            &filter.binds,
        )
        .await
        .map_err(internal)?;
        Ok(found.into_iter().next())
    }

    /// Les déploiements de pHARe que l'appelant voit.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn deployments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        school_year: Option<String>,
        department: Option<String>,
        school_uai: Option<String>,
        circonscription: Option<String>,
    ) -> Result<Page<Deployment>, Error> {
        let mut filter = school_owned(visibility(ctx)?, school_year, department, school_uai)?;
        filter.eq("circonscription", circonscription);
        connection(
            tables(ctx)?,
            DEPLOYMENT_COLUMNS,
            "rm_deployments",
            &filter,
            "school_year DESC, department, school_uai, circonscription, id",
            page(first, after)?,
            |d: Deployment| d,
        )
        .await
    }

    /// Les demandes de label que l'appelant voit.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn labels(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        school_year: Option<String>,
        department: Option<String>,
        school_uai: Option<String>,
        status: Option<String>,
        #[graphql(
            desc = "Plusieurs statuts : les demandes dans l'un d'eux (aucune pour une \
                          liste vide)"
        )]
        statuses: Option<Vec<String>>,
    ) -> Result<Page<Label>, Error> {
        let mut filter = school_owned(visibility(ctx)?, school_year, department, school_uai)?;
        filter.eq("status", status);
        if let Some(statuses) = statuses {
            filter.any_of(&[("status", &statuses)]);
        }
        connection(
            tables(ctx)?,
            LABEL_COLUMNS,
            "rm_labels",
            &filter,
            "school_year DESC, department, school_uai, id",
            page(first, after)?,
            |l: Label| l,
        )
        .await
    }

    /// Les cohortes d'ambassadeurs que l'appelant voit.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn cohorts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        school_year: Option<String>,
        department: Option<String>,
        school_uai: Option<String>,
        kind: Option<String>,
        status: Option<String>,
    ) -> Result<Page<Cohort>, Error> {
        let mut filter = school_owned(visibility(ctx)?, school_year, department, school_uai)?;
        filter.eq("kind", kind);
        filter.eq("status", status);
        connection(
            tables(ctx)?,
            "id, school_uai, department, school_year, kind, status, pupils, parents, trainings",
            "rm_cohorts",
            &filter,
            "school_year DESC, department, school_uai, kind",
            page(first, after)?,
            |c: Cohort| c,
        )
        .await
    }

    /// Les actions de sensibilisation et de prévention que l'appelant voit (une action de
    /// plusieurs établissements se voit depuis chacun d'eux), par date.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn actions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        school_year: Option<String>,
        department: Option<String>,
        school_uai: Option<String>,
        #[graphql(desc = "`national_day` ou `year_round`")] campaign: Option<String>,
        status: Option<String>,
    ) -> Result<Page<Action>, Error> {
        let seen = visibility(ctx)?;
        let mut filter = Filter::default();
        action_scope(&mut filter, seen, department, school_uai);
        filter.eq("school_year", year_filter(school_year)?);
        filter.eq("campaign", campaign);
        filter.eq("status", status);
        connection(
            tables(ctx)?,
            ACTION_COLUMNS,
            "rm_actions",
            &filter,
            "held_on DESC, id",
            page(first, after)?,
            |a: Action| a,
        )
        .await
    }

    /// Les participations au concours que l'appelant voit (celles de ses établissements ou
    /// de son département ; toutes pour le pôle).
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        contest_id: Option<String>,
        department: Option<String>,
        school_uai: Option<String>,
        category: Option<String>,
        status: Option<String>,
    ) -> Result<Page<Entry>, Error> {
        let mut filter = school_owned(visibility(ctx)?, None, department, school_uai)?;
        filter.eq("contest_id", contest_id.map(|id| id.trim().to_lowercase()));
        filter.eq("category", category);
        filter.eq("status", status);
        connection(
            tables(ctx)?,
            "id, contest_id, school_uai, department, category, title, pupil_count, adult_count, \
             files, status",
            "rm_entries",
            &filter,
            "department, school_uai, title, id",
            page(first, after)?,
            |e: Entry| e,
        )
        .await
    }

    /// Les comptes que l'appelant voit (tous pour le pôle et les administrateurs, ceux
    /// de ses départements pour un référent, les siens pour un établissement), par rôle,
    /// avec le nom et l'adresse de leur titulaire (lecture nominative consignée ;
    /// « donnée effacée » pour une personne effacée).
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        role: Option<String>,
        department: Option<String>,
        #[graphql(desc = "Inclure les comptes désactivés", default = false)] include_inactive: bool,
    ) -> Result<Page<crate::people::Account>, Error> {
        crate::people::accounts(ctx, first, after, role, department, include_inactive).await
    }

    /// Le registre des rappels que l'appelant voit (tous pour le pôle, ceux des
    /// établissements et des sessions de ses départements pour un référent, les siens
    /// pour un établissement), du plus récent au plus ancien : la règle, le destinataire,
    /// l'occurrence, l'état et pourquoi.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn reminders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        rule: Option<String>,
        #[graphql(desc = "`sending`, `sent`, `failing`, `failed`, `suppressed` ou `cancelled`")]
        status: Option<String>,
        target: Option<String>,
        department: Option<String>,
        school_uai: Option<String>,
    ) -> Result<Page<crate::reminders::Reminder>, Error> {
        crate::reminders::list(
            ctx, first, after, rule, status, target, department, school_uai,
        )
        .await
    }

    /// L'annuaire d'orientation : les partenaires nationaux et ceux des départements de
    /// l'appelant (tous pour le pôle), par nom.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn partners(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        department: Option<String>,
        kind: Option<String>,
        search: Option<String>,
        #[graphql(default = false)] include_archived: bool,
    ) -> Result<Page<Partner>, Error> {
        let seen = visibility(ctx)?;
        let mut filter = Filter::default();
        if !seen.all {
            filter.null_or_in("department", &seen.planning_departments());
        }
        filter.eq("department", department);
        filter.eq("kind", kind);
        filter.contains("search", search.map(|s| fold(&s)));
        if !include_archived {
            filter.raw("archived = FALSE");
        }
        connection(
            tables(ctx)?,
            "id, name, kind, scope, department, commune, archived",
            "rm_partners",
            &filter,
            "name, id",
            page(first, after)?,
            |p: Partner| p,
        )
        .await
    }
}

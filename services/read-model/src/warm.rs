//! Dashboards kept warm: the process asks again, by itself, the dashboards people asked
//! lately "now" (no `asOf`), when the read model changes and before their "now" ages out,
//! so that whoever watches them finds their figures computed.
//!
//! A dashboard's statement answers are reused while the read model is unchanged and its
//! "now" is younger than [`NOW_REUSE`] ([`crate::answers`]). Without help, the first
//! request after a change, or after that minute, computes every statement, and every
//! request asked meanwhile waits for it: at the national scale of `pharos bench
//! read-model`, the academy's dashboard is about a second of PostgreSQL work. So:
//!
//! - each `POST /graphql` asking `dashboard` without `asOf`, and nothing but `dashboard`
//!   and `me`, is kept ([`KeptWarm::keep`]) with its caller, each for [`KEEP`] after
//!   someone last asked it, as many as the `dashboards_kept_warm` setting says (8; 0 keeps
//!   none). Past that, the one cheapest to compute goes (the longest it took to answer,
//!   asked or kept warm; the least recently asked of equals): twenty referents watching
//!   their departments' dashboards, tens of milliseconds each, do not push out the
//!   academy's, a second of work, which is where a wait is felt;
//! - a worker ([`keep_warm`]) asks them again as their callers (their scope read again
//!   from the reference each time) after each notice of the read model and every [`TICK`]:
//!   at an unchanged state and "now" every statement is found computed and nothing is
//!   read again; after a change, it computes what the next request would have;
//! - when the "now" in use has less than [`AHEAD`] to live, the worker computes at the
//!   next one ([`AnswerCache::now_ahead`]) while requests keep the current one, then
//!   hands it over ([`AnswerCache::adopt_ahead`]): the minute turns without a wait;
//! - the academy's dashboard of the current school year, every figure of it, as a pole
//!   manager asks it without a filter ([`Standing`]), is kept besides them from the start,
//!   whoever asked it or not, and never goes (unless `dashboards_kept_warm` is 0): the
//!   pole's page is the one whose computation is a wait (a second at national scale), and
//!   its first visit after a start, or after ten minutes unwatched, would pay it;
//! - while it computes a new state of that dashboard, requests at that state are answered
//!   at the last one it computed ([`AnswerCache::previous_for`], where computing it is a
//!   wait: `dashboards_previous_above_ms`); once it has computed the new one, it tells the
//!   subscribers again what the notices since touched, so that a page that read the
//!   previous state on the change's notice reads again and finds it.
//!
//! Its answers are thrown away: it only fills the cache. It keeps no request reading
//! anything else (a person's name asked with a dashboard would write the read log on
//! behalf of someone who did not read it). Its cost is bounded: a pass that took `d` is
//! followed by a rest of [`REST`]` × d`, at most [`REST_AT_MOST`] ([`rest_after`]), so
//! however often the read model changes it takes at most a quarter of one core while its
//! passes take up to 3.3 s (the academy's dashboard alone is some 2.5 s at national scale
//! on 2 cores). A longer pass is mostly one slowed by other work waiting for the same
//! cores; resting three times that long would sleep through the minute's turn and past
//! [`PREVIOUS_AT_MOST`], and leave the requests meanwhile to compute for themselves. A
//! rest is cut short only when a request was answered at the previous state ([`rest`]):
//! the pass that follows computes what that request would otherwise have.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_graphql::parser::types::{
    BaseType, ObjectType, OperationType, Selection, TypeKind, TypeSystemDefinition,
};
use pharos_access::{Actor, Scope, TargetState};
use pharos_events::Role;
use pharos_events::phare::SchoolYear;
use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};
use tokio_util::sync::CancellationToken;

use crate::answers::{AnswerCache, State};
#[cfg(doc)]
use crate::answers::{NOW_REUSE, PREVIOUS_AT_MOST};
use crate::graphql::ReadSchema;
use crate::notice::Notice;
use chrono::{DateTime, Utc};

/// How long a request is kept after someone last asked it.
pub const KEEP: Duration = Duration::from_secs(10 * 60);
/// How often the kept requests are asked again without a notice.
pub const TICK: Duration = Duration::from_secs(5);
/// How long a "now" still has to live when the next one is computed.
pub const AHEAD: Duration = Duration::from_secs(20);
/// The rest after a pass, in multiples of the pass's time.
pub const REST: u32 = 3;
/// The longest rest after a pass, however long it took: with a [`TICK`], below [`AHEAD`],
/// so that the next "now" is computed before the one in use ages out, and below
/// [`PREVIOUS_AT_MOST`]. At national scale a pass that took 31 s while 16 clients computed
/// dashboards (its own work some 3 s) rested 93 s: the pages watched meanwhile computed
/// the academy's dashboard themselves at the minute's turn and after each change, 1.5 to
/// 2 s each.
pub const REST_AT_MOST: Duration = Duration::from_secs(10);

/// The rest after a pass that took `pass`: [`REST`] times as long, at most
/// [`REST_AT_MOST`].
pub fn rest_after(pass: Duration) -> Duration {
    (pass * REST).min(REST_AT_MOST)
}

/// The root fields a kept request may ask.
const KEEPABLE: [&str; 3] = ["dashboard", "me", "__typename"];

/// Set by the `dashboard` resolver when it reads "now" (no `asOf`): the request is one to
/// keep warm.
#[derive(Clone, Default)]
pub struct NowAsked(Arc<AtomicBool>);

impl NowAsked {
    pub fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn asked(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// In a request of the warmer's: the `dashboard` resolver reads "now" ahead
/// ([`AnswerCache::now_ahead`]), and records here the state and instant it computed at.
#[derive(Clone, Default)]
pub struct Warming(Arc<std::sync::Mutex<Option<ComputedAt>>>);

/// The state and instant a dashboard was computed at.
type ComputedAt = (State, DateTime<Utc>);

impl Warming {
    pub fn record(&self, state: &State, at: DateTime<Utc>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((state.clone(), at));
    }

    fn computed_at(&self) -> Option<ComputedAt> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// In a request that may be answered at the warmer's previous state
/// ([`AnswerCache::previous_for`]): a query of dashboards only (asked again when a
/// statement is missing, it reads nothing else twice). Set when one was.
#[derive(Clone, Default)]
pub struct MayAnswerPrevious(Arc<AtomicBool>);

impl MayAnswerPrevious {
    /// The flag a dashboard answered at the previous state sets on a missing statement.
    pub fn missed(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }

    pub fn was_missed(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

struct Kept {
    key: String,
    actor: Actor,
    query: String,
    operation_name: Option<String>,
    variables: async_graphql::Variables,
    last: Instant,
    /// The longest it took to answer, asked or kept warm: what a cold answer costs.
    cost: Duration,
}

/// The requests kept warm, most recently asked first, at most `kept`: past that, the
/// cheapest goes.
pub struct KeptWarm {
    kept: usize,
    requests: std::sync::Mutex<Vec<Kept>>,
}

impl KeptWarm {
    /// Keeping at most `kept` requests (0: none).
    pub fn new(kept: usize) -> Self {
        Self {
            kept,
            requests: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Kept>> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `request`, which `actor` asked and got an answer without errors in `took`,
    /// if it asks nothing but `dashboard` and `me`.
    pub fn keep(
        &self,
        actor: &Actor,
        query: &str,
        operation_name: Option<&str>,
        variables: &async_graphql::Variables,
        took: Duration,
    ) {
        if self.kept == 0 || !keepable(query) {
            return;
        }
        let key = format!(
            "{}\n{}\n{}\n{query}",
            actor.user_id,
            operation_name.unwrap_or_default(),
            serde_json::to_string(variables).unwrap_or_default()
        );
        let mut kept = self.lock();
        let cost = kept
            .iter()
            .find(|k| k.key == key)
            .map_or(took, |k| k.cost.max(took));
        kept.retain(|k| k.key != key);
        kept.insert(
            0,
            Kept {
                key,
                actor: Actor {
                    request_id: None,
                    ..actor.clone()
                },
                query: query.to_owned(),
                operation_name: operation_name.map(str::to_owned),
                variables: variables.clone(),
                last: Instant::now(),
                cost,
            },
        );
        while kept.len() > self.kept {
            // The cheapest, the least recently asked of equals (the list is most recent
            // first): `min_by_key` keeps the first of equals, so search from the end.
            let cheapest = kept
                .iter()
                .enumerate()
                .rev()
                .min_by_key(|(_, k)| k.cost)
                .map_or(0, |(i, _)| i);
            kept.remove(cheapest);
        }
    }

    /// A pass of the worker answered the request kept under `key` in `took`.
    fn took(&self, key: &str, took: Duration) {
        if let Some(k) = self.lock().iter_mut().find(|k| k.key == key) {
            k.cost = k.cost.max(took);
        }
    }

    /// The requests asked within [`KEEP`] (the others are forgotten), most recent first,
    /// each with its key.
    fn recent(&self) -> Vec<(String, Actor, async_graphql::Request)> {
        let mut kept = self.lock();
        kept.retain(|k| k.last.elapsed() < KEEP);
        kept.iter()
            .map(|k| {
                let mut request =
                    async_graphql::Request::new(k.query.clone()).variables(k.variables.clone());
                request.operation_name.clone_from(&k.operation_name);
                (k.key.clone(), k.actor.clone(), request)
            })
            .collect()
    }

    /// How many requests are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `query` is a query whose root fields are all [`KEEPABLE`] (no fragment at the
/// root, which could hide another field).
pub(crate) fn keepable(query: &str) -> bool {
    let Some(document) = crate::graphql::parse_known(query) else {
        return false;
    };
    document.operations.iter().all(|(_, operation)| {
        operation.node.ty == OperationType::Query
            && operation
                .node
                .selection_set
                .node
                .items
                .iter()
                .all(|item| match &item.node {
                    Selection::Field(field) => KEEPABLE.contains(&field.node.name.node.as_str()),
                    Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
                })
    })
}

/// The academy's dashboard of the current school year with every figure, as the pole
/// sees it without a filter: the request kept warm whoever asked it.
pub struct Standing {
    query: String,
    actor: Actor,
}

impl Standing {
    const KEY: &'static str = "academy";

    /// From the schema's SDL: every field of `Dashboard` it declares, so that whatever part
    /// of it a page asks is found computed.
    pub fn new(sdl: &str) -> Self {
        let figures = every_field(sdl, "Dashboard").unwrap_or_else(|| "{ asOf }".to_owned());
        Self {
            query: format!(
                "query StandingDashboard($y: String!) {{ dashboard(schoolYear: $y) {figures} }}"
            ),
            // No account: it is not a person's request (it reads no name and writes no
            // read log), only the pole's scope.
            actor: Actor {
                user_id: uuid::Uuid::nil(),
                role: Role::PoleManager,
                scope: Scope::Academy,
                grants: Vec::new(),
                request_id: None,
            },
        }
    }

    /// The request for `year`.
    fn request(&self, year: SchoolYear) -> (String, Actor, async_graphql::Request) {
        let variables =
            async_graphql::Variables::from_json(serde_json::json!({ "y": year.to_string() }));
        (
            Self::KEY.to_owned(),
            self.actor.clone(),
            async_graphql::Request::new(self.query.clone()).variables(variables),
        )
    }
}

/// A selection of every field of the object type `name` in `sdl`, and of the objects under
/// it (`{ a b { c } }`), arguments left to their defaults. A field with a required
/// argument, or whose type is already being selected above it, is left out. `None` when
/// the SDL does not parse or declares no such object.
fn every_field(sdl: &str, name: &str) -> Option<String> {
    let document = async_graphql::parser::parse_schema(sdl).ok()?;
    let objects: HashMap<&str, &ObjectType> = document
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Type(t) => match &t.node.kind {
                TypeKind::Object(object) => Some((t.node.name.node.as_str(), object)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    fn select<'a>(
        objects: &HashMap<&'a str, &'a ObjectType>,
        name: &'a str,
        above: &mut Vec<&'a str>,
    ) -> String {
        let Some(object) = objects.get(name) else {
            return String::new();
        };
        above.push(name);
        let mut fields = Vec::new();
        for field in &object.fields {
            let field = &field.node;
            let required = field
                .arguments
                .iter()
                .any(|a| !a.node.ty.node.nullable && a.node.default_value.is_none());
            let mut ty = &field.ty.node;
            while let BaseType::List(item) = &ty.base {
                ty = item;
            }
            let BaseType::Named(type_name) = &ty.base else {
                continue;
            };
            if required || above.contains(&type_name.as_str()) {
                continue;
            }
            if objects.contains_key(type_name.as_str()) {
                let under = select(objects, type_name.as_str(), above);
                if !under.is_empty() {
                    fields.push(format!("{} {under}", field.name.node));
                }
            } else {
                fields.push(field.name.node.to_string());
            }
        }
        above.pop();
        if fields.is_empty() {
            String::new()
        } else {
            format!("{{ {} }}", fields.join(" "))
        }
    }
    objects.get(name)?;
    Some(select(&objects, name, &mut Vec::new())).filter(|s| !s.is_empty())
}

/// The worker: asks the kept requests again after each notice and every [`TICK`], as
/// the module says, until `shutdown`.
pub async fn keep_warm(
    state: TargetState,
    schema: ReadSchema,
    kept: Arc<KeptWarm>,
    answers: Arc<AnswerCache>,
    sender: broadcast::Sender<Notice>,
    shutdown: CancellationToken,
) {
    let standing = (kept.kept > 0).then(|| Standing::new(&schema.sdl()));
    let mut notices = sender.subscribe();
    let mut listening = true;
    // What the notices since the academy's dashboard was last computed at a new state
    // touched: told again once it is, if a request was answered at the previous one
    // meanwhile (its subscribers read again, and find the change).
    let mut pending: Option<Notice> = None;
    let everything = || Notice {
        position: 0,
        scopes: vec![(None, None)],
    };
    let heard = |pending: &mut Option<Notice>, notice: Notice| match pending {
        Some(merged) => merged.merge(notice),
        None => *pending = Some(notice),
    };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            received = notices.recv(), if listening => match received {
                Ok(notice) => heard(&mut pending, notice),
                Err(RecvError::Lagged(_)) => heard(&mut pending, everything()),
                Err(RecvError::Closed) => listening = false,
            },
            () = tokio::time::sleep(TICK) => {}
        }
        // Notices come in bursts (each projection commits on its own): one pass for all
        // those already arrived, at the state they lead to.
        loop {
            match notices.try_recv() {
                Ok(notice) => heard(&mut pending, notice),
                Err(TryRecvError::Lagged(_)) => heard(&mut pending, everything()),
                Err(_) => break,
            }
        }
        let mut requests = kept.recent();
        if let Some(standing) = &standing {
            let today = pharos_domain::today_in_france(state.clock.now());
            requests.insert(0, standing.request(SchoolYear::containing(today)));
        }
        metrics::gauge!("pharos_dashboards_kept_warm").set(requests.len() as f64);
        if requests.is_empty() {
            continue;
        }
        let started = Instant::now();
        for (key, actor, request) in requests {
            let asked = Instant::now();
            let warming = Warming::default();
            match crate::execute(&state, &schema, actor, request.data(warming.clone())).await {
                Ok(response) if response.errors.is_empty() => {
                    let took = asked.elapsed();
                    kept.took(&key, took);
                    if key == Standing::KEY
                        && let Some((computed, at)) = warming.computed_at()
                        && answers.computed_at(&computed, at, took)
                    {
                        let notice = pending.take();
                        if answers.take_answered_previous()
                            && let Some(notice) = notice
                        {
                            // No subscriber is not an error.
                            drop(sender.send(notice));
                        }
                    }
                }
                Ok(response) => {
                    tracing::debug!(errors = ?response.errors, "a dashboard kept warm answered errors");
                }
                Err(problem) => {
                    tracing::debug!(?problem, "a dashboard kept warm was not computed");
                }
            }
        }
        answers.adopt_ahead();
        metrics::counter!("pharos_dashboard_warm_passes_total").increment(1);
        if !rest(started.elapsed(), &answers, &shutdown).await {
            return;
        }
    }
}

/// The rest after a pass that took `pass` ([`rest_after`]), cut short when a request is
/// answered at the previous state meanwhile ([`AnswerCache::wanted`]): its reader waits
/// for the new state, which this worker computes next instead of that request, so the
/// wait costs nothing the request would not have. A page that read the previous state on
/// a change's notice otherwise waited out the whole rest (up to [`REST_AT_MOST`]) and
/// the next pass before it was told to read again. False at shutdown.
async fn rest(pass: Duration, answers: &AnswerCache, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(rest_after(pass)) => true,
        () = answers.wanted() => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rest of [`REST_AT_MOST`] (10 s) ends as soon as a request is answered at the
    /// previous state, during it or before it; otherwise it lasts.
    #[tokio::test]
    async fn a_rest_ends_when_a_request_waits_for_the_new_state() {
        let state = |position| State::of(&[("lists-g1".into(), 1, 1, position)]);
        let answers = Arc::new(AnswerCache::new(Duration::ZERO));
        let shutdown = CancellationToken::new();
        let long = Duration::from_secs(10);
        let within =
            |d| tokio::time::timeout(Duration::from_secs(d), rest(long, &answers, &shutdown));
        assert!(within(1).await.is_err(), "nobody waits: the rest lasts");
        answers.computed_at(&state(1), Utc::now(), Duration::from_secs(1));
        let asker = answers.clone();
        let ask = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            asker.previous_for(&state(2))
        });
        assert_eq!(
            within(5).await,
            Ok(true),
            "answered at the previous state meanwhile"
        );
        assert!(ask.await.unwrap().is_some());
        assert!(answers.previous_for(&state(3)).is_some());
        assert_eq!(within(5).await, Ok(true), "answered before the rest began");
        assert!(within(1).await.is_err(), "told once");
        shutdown.cancel();
        assert_eq!(within(5).await, Ok(false), "at shutdown");
    }

    #[test]
    fn a_pass_rests_three_times_its_time_at_most_ten_seconds() {
        let s = Duration::from_secs;
        assert_eq!(
            rest_after(Duration::from_millis(20)),
            Duration::from_millis(60)
        );
        assert_eq!(rest_after(s(2)), s(6));
        assert_eq!(rest_after(s(31)), REST_AT_MOST);
        // The next "now" is computed before the one in use ages out: a pass starts within
        // the longest rest and a tick, with time left before the minute turns.
        assert!(REST_AT_MOST + TICK < AHEAD);
        assert!(REST_AT_MOST + TICK < crate::answers::PREVIOUS_AT_MOST);
    }

    fn actor(n: u128) -> Actor {
        Actor {
            user_id: uuid::Uuid::from_u128(n),
            role: pharos_events::Role::PoleManager,
            scope: pharos_access::Scope::Academy,
            grants: Vec::new(),
            request_id: Some("requete".into()),
        }
    }

    const DASHBOARD: &str = "{ dashboard(schoolYear: \"2026-2027\") { asOf } }";

    fn users(kept: &KeptWarm) -> Vec<u128> {
        kept.recent()
            .iter()
            .map(|(_, a, _)| a.user_id.as_u128())
            .collect()
    }

    #[test]
    fn the_most_recently_asked_are_kept_once_each() {
        let kept = KeptWarm::new(2);
        let none = async_graphql::Variables::default();
        let ms = Duration::from_millis;
        kept.keep(&actor(1), DASHBOARD, None, &none, ms(20));
        kept.keep(&actor(2), DASHBOARD, None, &none, ms(20));
        kept.keep(&actor(1), DASHBOARD, None, &none, ms(5));
        assert_eq!(
            users(&kept),
            vec![1, 2],
            "the same request is kept once, most recent first"
        );
        assert!(kept.recent().iter().all(|(_, a, _)| a.request_id.is_none()));
        kept.keep(&actor(3), DASHBOARD, None, &none, ms(20));
        assert_eq!(
            users(&kept),
            vec![3, 1],
            "at most the setting: of equal costs, the least recently asked goes"
        );
        kept.keep(&actor(3), "{ schools { totalCount } }", None, &none, ms(20));
        assert_eq!(kept.len(), 2, "only dashboards");
        let off = KeptWarm::new(0);
        off.keep(&actor(1), DASHBOARD, None, &none, ms(20));
        assert!(off.is_empty(), "0 keeps none");
    }

    #[test]
    fn the_cheapest_goes_first() {
        let kept = KeptWarm::new(2);
        let none = async_graphql::Variables::default();
        let ms = Duration::from_millis;
        // The academy's dashboard, then departments' dashboards asked after it.
        kept.keep(&actor(1), DASHBOARD, None, &none, ms(1_000));
        kept.keep(&actor(2), DASHBOARD, None, &none, ms(30));
        kept.keep(&actor(3), DASHBOARD, None, &none, ms(40));
        assert_eq!(users(&kept), vec![3, 1], "the academy's stays");
        // Answered from the cache, it costs little: its cold cost is what counts.
        kept.keep(&actor(1), DASHBOARD, None, &none, ms(2));
        kept.keep(&actor(4), DASHBOARD, None, &none, ms(50));
        assert_eq!(users(&kept), vec![4, 1]);
        // A pass of the worker that took longer raises the cost it is kept by.
        let key = |n: u128| {
            kept.recent()
                .into_iter()
                .find(|(_, a, _)| a.user_id.as_u128() == n)
                .map(|(k, _, _)| k)
                .unwrap()
        };
        kept.took(&key(4), ms(2_000));
        kept.keep(&actor(5), DASHBOARD, None, &none, ms(1_500));
        assert_eq!(
            users(&kept),
            vec![5, 4],
            "the academy's is now the cheapest"
        );
    }

    #[test]
    fn every_field_selects_objects_under_objects_with_their_defaults() {
        let sdl = "type Query { a: A }\n\
                   type A { n: Int b: [B!]! c(first: Int! = 5): [B!]! d(key: String!): B self: A }\n\
                   type B { m: String a: A }";
        assert_eq!(
            every_field(sdl, "A").as_deref(),
            Some("{ n b { m } c { m } }"),
            "defaults kept, a required argument or a type above left out"
        );
        assert_eq!(every_field(sdl, "Missing"), None);
        assert_eq!(every_field("type {", "A"), None);
    }

    #[test]
    fn the_standing_request_asks_every_group_of_the_dashboard() {
        let standing = Standing::new(&crate::graphql::sdl());
        assert!(keepable(&standing.query), "{}", standing.query);
        for field in [
            "trainedTeams",
            "byDepartment",
            "byCirconscription",
            "inadmissibleReasons",
            "trend",
            "unfinishedEntries",
            "schoolCoverage",
        ] {
            assert!(
                standing.query.contains(field),
                "{field}: {}",
                standing.query
            );
        }
        let (key, actor, _) = standing.request(SchoolYear::containing(
            chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
        ));
        assert_eq!(key, Standing::KEY);
        assert_eq!(actor.scope, Scope::Academy);
    }

    #[test]
    fn only_dashboards_and_me_are_kept() {
        assert!(keepable(
            "{ dashboard(schoolYear: \"2026-2027\") { schoolYear } }"
        ));
        assert!(keepable(
            "query D($y: String!) { me { id } dashboard(schoolYear: $y) { asOf } }"
        ));
        assert!(!keepable(
            "{ dashboard(schoolYear: \"2026-2027\") { asOf } schools { totalCount } }"
        ));
        assert!(!keepable(
            "{ ... on Query { dashboard(schoolYear: \"x\") { asOf } } }"
        ));
        assert!(!keepable(
            "subscription { dashboardChanged(schoolYear: \"x\") }"
        ));
        assert!(!keepable("{ dashboard("));
    }
}

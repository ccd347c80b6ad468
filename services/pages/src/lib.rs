//! The `pages` target: the web application, server-rendered in French.
//!
//! Pages are minijinja templates (`templates/`, embedded), styled with the French State
//! design system (DSFR) and its charts, with htmx for partial updates; every front-end
//! file is vendored from npm at a pinned version (`assets/`) and embedded in the binary.
//!
//! The pages hold no data of their own: they are a client of the public API — GraphQL for
//! what they show, the commands for what they change — called with the user's own session
//! token ([`api`]), at `api_url` (this process when it serves every target, the reverse
//! proxy otherwise). So a page can show nothing the API would not give the same user.
//!
//! | page | who |
//! |---|---|
//! | `GET /` | anyone: the sign-in page, or the signed-in user's first page |
//! | `GET`, `POST /connexion`; `POST /deconnexion` | anyone |
//! | `GET /tableau-de-bord` (`/tableau-de-bord/indicateurs`: the indicators alone, for live refresh) | the pole, the department referents |
//! | `GET /concours/pole`, `/concours/pole/{contest_id}` (admissibility, jurors, assignments, deadline extensions, history), `…/palmares` (awards, publication, national round) | the pole |
//! | `GET /labels`, `GET /labels/{id}`, `POST …/examen`, `…/renvoi`, `…/decision`, `…/critere` | the pole (decisions), the department referents (reading) |
//! | `GET /retards` (schools lagging behind, with their contacts) | the pole, the department referents |
//! | `GET /jury`, `GET /jury/participations/{id}`, `POST …/notes` | jurors |
//! | `GET /mes-actions`, `GET`, `POST /mes-actions/nouvelle`, `GET /mes-actions/{id}`, `POST …/modifier`, `…/transmettre` | schools |
//! | `GET`, `POST /compte` (password change) | anyone signed in |
//! | `GET`, `POST /mot-de-passe-oublie`, `/reinitialiser-mot-de-passe` (the reset mails' link) | anyone |
//! | `GET /assets/{digest}/{path}` | anyone: the embedded style sheets, scripts, fonts and icons |
//!
//! Security: the session cookie is the API's (`pharos_session`, HttpOnly, SameSite=Strict,
//! Secure behind TLS); every form carries a CSRF token ([`session`]); every page is sent
//! with a content security policy that allows nothing inline and nothing from elsewhere
//! ([`page::CSP`]).

mod account;
mod actions;
mod api;
mod assets;
mod audit;
mod cohorts;
mod common;
mod contest;
mod contest_api;
mod contest_pole;
mod dashboard;
mod departments;
mod home;
mod jury;
mod labels;
mod lagging;
mod page;
mod partners;
mod phare;
mod reminders;
mod school_actions;
mod session;
mod trainings;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use pharos_kit::{OpenApiRouter, Started, Target};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};

/// The name `pharos serve --target` takes.
const NAME: &str = "pages";

/// The `pages` target.
pub static TARGET: Target = Target {
    name: NAME,
    summary: "Pages web : tableau de bord du pôle et des référents, connexion",
    owns: &[],
    openapi: || pharos_kit::openapi_of(OpenApiRouter::<()>::new()),
    start: |context| {
        Box::pin(async move {
            let pages = Pages {
                api: api::Api::new(&context.api_url)?,
                templates: Arc::new(page::Templates::load()?),
                secure_cookies: context.state.app.settings.secure_cookies,
                academy: context.state.access.academy.clone(),
                clock: context.state.clock.clone(),
            };
            let mut started = Started::new(NAME, OpenApiRouter::new(), (), context.state.app);
            started.router = started.router.merge(router(pages));
            Ok(started)
        })
    },
};

/// What every page handler reaches.
#[derive(Clone)]
struct Pages {
    api: api::Api,
    templates: Arc<page::Templates>,
    secure_cookies: bool,
    academy: Arc<pharos_events::Academy>,
    clock: Arc<dyn pharos_decider::Clock>,
}

fn router(pages: Pages) -> Router {
    Router::new()
        .route("/", get(home::home))
        .route("/connexion", get(session::login_form).post(session::login))
        .route("/deconnexion", post(session::logout))
        .route("/tableau-de-bord", get(dashboard::page))
        .route("/tableau-de-bord/indicateurs", get(dashboard::indicators))
        .route("/assets/{digest}/{*path}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .merge(account::routes())
        .merge(actions::routes())
        .merge(contest::routes())
        .merge(contest_pole::routes())
        .merge(jury::routes())
        .merge(labels::routes())
        .merge(lagging::routes())
        .merge(audit::routes())
        .merge(cohorts::routes())
        .merge(partners::routes())
        .merge(phare::routes())
        .merge(reminders::routes())
        .merge(school_actions::routes())
        .merge(trainings::routes())
        .merge(users::routes())
        .with_state(pages)
        .layer(compression())
}

/// The pages' HTML gzipped for the browsers that accept it (most of it is repeated markup:
/// a tenth of its size once compressed). The embedded assets skip it: those that gain come
/// compressed already, and fonts and pictures are.
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().compress_when(
        DefaultPredicate::new()
            .and(NotForContentType::const_new("font/"))
            .and(NotForContentType::const_new("application/pdf"))
            .and(NotForContentType::const_new("video/")),
    )
}

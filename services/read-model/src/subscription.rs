//! Subscriptions over WebSocket at `/graphql/ws` (protocol `graphql-transport-ws`, and
//! the older `graphql-ws`): `dashboardChanged(schoolYear, department)` tells a dashboard
//! to re-read itself after the projector committed something of that year and
//! department ([`crate::notice`]).
//!
//! Authenticated on connect: the `connection_init` payload carries the token
//! (`{"Authorization": "Bearer …"}` or `{"token": "…"}`), or, for a browser page, the
//! session cookie of the upgrade request is used. Without either, or with a bad one, the
//! server closes the connection with a French reason.

use async_graphql::{Context, Data, Error, SimpleObject};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Extension;
use axum::extract::{FromRequestParts, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use pharos_access::{Actor, TargetState};
use pharos_events::phare::SchoolYear;
use pharos_web::Problem;
use tokio::sync::broadcast;

use crate::dashboard::read_position;
use crate::graphql::ReadSchema;
use crate::notice::Notice;
use crate::scope::Visibility;

/// Ce qui a changé dans le tableau de bord suivi.
#[derive(SimpleObject, Clone)]
pub struct DashboardChange {
    /// L'année scolaire suivie.
    school_year: String,
    /// Le département suivi (absent : tous ceux de l'appelant).
    department: Option<String>,
    /// La position dans le journal du dernier événement pris en compte.
    position: i64,
}

#[derive(Default)]
pub struct Subscription;

#[async_graphql::Subscription]
impl Subscription {
    /// Prévient après chaque mise à jour du modèle de lecture qui touche cette année et ce
    /// département (tous ceux de l'appelant s'il n'est pas donné) : relisez alors le
    /// tableau de bord. Une mise à jour dont les événements ne disent pas leur année ou
    /// leur département prévient tout le monde.
    async fn dashboard_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "L'année scolaire suivie, par exemple « 2026-2027 ».")]
        school_year: String,
        #[graphql(desc = "Un département (« 31 ») ; tous ceux de l'appelant sinon.")]
        department: Option<String>,
        #[graphql(
            desc = "La position du tableau de bord déjà lu (son champ `position`) : si le \
                    modèle de lecture est allé plus loin depuis, un premier changement est \
                    annoncé dès l'abonnement (ce qui a changé entre la lecture et \
                    l'abonnement n'est pas perdu)."
        )]
        after: Option<i64>,
    ) -> Result<impl Stream<Item = DashboardChange> + use<>, Error> {
        let year = SchoolYear::parse(&school_year)
            .map_err(|e| Error::new(format!("« schoolYear » : {}.", e.0)))?
            .to_string();
        let seen = ctx.data::<Visibility>()?;
        let mine = seen.planning_departments();
        // The departments heard: the one asked (in scope), or all of the caller's.
        let heard: Option<Vec<String>> = match department.clone() {
            Some(d) if seen.all || mine.contains(&d) => Some(vec![d]),
            Some(d) => {
                return Err(Error::new(format!(
                    "« department » : le département {d} n'est pas dans votre périmètre."
                )));
            }
            None if seen.all => None,
            None => Some(mine),
        };
        let receiver = ctx.data::<broadcast::Sender<Notice>>()?.subscribe();
        // Read after subscribing: a commit in between is both here and in the receiver.
        let caught_up = match after {
            Some(after) => {
                let db = ctx.data::<TargetState>()?.app.store.db();
                let now = read_position(&db).await.map_err(crate::graphql::internal)?;
                (now > after).then(|| DashboardChange {
                    school_year: school_year.clone(),
                    department: department.clone(),
                    position: now,
                })
            }
            None => None,
        };
        let touches = move |notice: &Notice| match &heard {
            None => notice.touches(&year, None),
            Some(departments) => departments
                .iter()
                .any(|d| notice.touches(&year, Some(d.as_str()))),
        };
        let changes = futures::stream::unfold(
            (receiver, school_year, department),
            move |(mut receiver, school_year, department)| {
                let touches = touches.clone();
                async move {
                    loop {
                        let mut position = match receiver.recv().await {
                            Ok(notice) if touches(&notice) => notice.position,
                            Ok(_) => continue,
                            // Notices were missed: something may have changed.
                            Err(broadcast::error::RecvError::Lagged(_)) => 0,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        };
                        // Those already queued behind it (other projections' commits of
                        // the same events): one change, at the latest position.
                        while let Ok(notice) = receiver.try_recv() {
                            if touches(&notice) {
                                position = position.max(notice.position);
                            }
                        }
                        let change = DashboardChange {
                            school_year: school_year.clone(),
                            department: department.clone(),
                            position,
                        };
                        return Some((change, (receiver, school_year, department)));
                    }
                }
            },
        );
        Ok(futures::stream::iter(caught_up).chain(changes))
    }
}

/// The reason a connection is closed with (a WebSocket close reason: 123 bytes at most).
const REFUSED: &str = "Authentification refusée : jeton absent, invalide ou expiré.";

/// The token of a `connection_init` payload.
fn token_of(payload: &serde_json::Value) -> Option<String> {
    for key in ["Authorization", "authorization"] {
        if let Some(value) = payload[key].as_str() {
            return Some(
                value
                    .strip_prefix("Bearer ")
                    .unwrap_or(value)
                    .trim()
                    .to_owned(),
            );
        }
    }
    payload["token"].as_str().map(|t| t.trim().to_owned())
}

/// The caller of a connection: the same checks as every HTTP request's.
async fn authenticate(
    state: &TargetState,
    payload: &serde_json::Value,
    cookie: Option<&header::HeaderValue>,
) -> Result<Actor, Error> {
    let mut request = axum::http::Request::builder();
    match (token_of(payload), cookie) {
        (Some(token), _) => {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        (None, Some(cookie)) => request = request.header(header::COOKIE, cookie),
        (None, None) => return Err(Error::new(REFUSED)),
    }
    let (mut parts, ()) = request
        .body(())
        .map_err(|_| Error::new(REFUSED))?
        .into_parts();
    Actor::from_request_parts(&mut parts, state)
        .await
        .map_err(|_| Error::new(REFUSED))
}

/// `GET /graphql/ws`
#[utoipa::path(get, path = "/graphql/ws", tag = "read-model",
    operation_id = "read_model_graphql_ws",
    summary = "Abonnements GraphQL (WebSocket)",
    description = "Connexion WebSocket (sous-protocole `graphql-transport-ws` ou `graphql-ws`) pour \
        l'abonnement `dashboardChanged(schoolYear, department)`. Le message `connection_init` porte \
        le jeton (`{\"Authorization\": \"Bearer …\"}`) ; à défaut, le cookie de session de la \
        requête d'ouverture est utilisé. Sans l'un ni l'autre, ou avec un jeton invalide, la \
        connexion est fermée (code 1002) avec la raison en français.",
    responses(
        (status = 101, description = "Connexion WebSocket ouverte"),
        (status = 400, description = "Pas une demande d'ouverture WebSocket GraphQL", body = Problem, content_type = "application/problem+json"),
    ),
    security(()))]
pub async fn websocket(
    State(state): State<TargetState>,
    Extension(schema): Extension<ReadSchema>,
    Extension(notices): Extension<broadcast::Sender<Notice>>,
    headers: HeaderMap,
    protocol: Result<GraphQLProtocol, StatusCode>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let (Ok(protocol), Ok(upgrade)) = (protocol, upgrade) else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "not-a-websocket",
            "Connexion WebSocket attendue",
            "Cette adresse attend une connexion WebSocket avec le sous-protocole \
             graphql-transport-ws (ou graphql-ws), en-tête Sec-WebSocket-Protocol.",
        )
        .with_field(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws ou graphql-ws",
        )
        .into_response();
    };
    let cookie = headers.get(header::COOKIE).cloned();
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let mut data = Data::default();
            data.insert(notices);
            GraphQLWebSocket::new(socket, schema, protocol)
                .with_data(data)
                .on_connection_init(move |payload| async move {
                    let actor = authenticate(&state, &payload, cookie.as_ref()).await?;
                    let seen = Visibility::of(&actor, &state.access.reference).await;
                    let mut data = Data::default();
                    data.insert(actor);
                    data.insert(seen);
                    Ok(data)
                })
                .serve()
        })
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_usual_places() {
        let read = |v: serde_json::Value| token_of(&v);
        assert_eq!(
            read(serde_json::json!({"Authorization": "Bearer abc"})),
            Some("abc".into())
        );
        assert_eq!(
            read(serde_json::json!({"authorization": "abc"})),
            Some("abc".into())
        );
        assert_eq!(
            read(serde_json::json!({"token": "abc"})),
            Some("abc".into())
        );
        assert_eq!(read(serde_json::json!({})), None);
        assert!(REFUSED.len() <= 123);
    }
}

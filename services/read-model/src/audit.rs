//! `events(category, stream, first, after)`: the audit log, read from the event store's
//! `events` table itself (not a projection: it is the log), newest first, for pole
//! managers and administrators only.
//!
//! Pages follow the global position (`commit_id`, `position`): a cursor is
//! `<commit_id>.<position>` of the last event of a page, and the next page holds the
//! events before it. No `totalCount`: counting the whole log for every page would cost a
//! scan of the largest table.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Error, SimpleObject};
use chrono::{DateTime, Utc};
use pharos_access::Actor;
use pharos_events::Role;
use pharos_eventstore::on_db;

use crate::graphql::{MAX_FIRST, event_label};

/// Un événement du journal.
#[derive(SimpleObject)]
pub struct LoggedEvent {
    /// Sa position dans le journal (`<commit>.<position>`), qui sert aussi de curseur.
    position: String,
    /// La catégorie de son flux (`school`, `training_session`…).
    category: String,
    /// Son flux : la catégorie et l'identifiant de l'enregistrement.
    stream: String,
    /// Numéro de l'événement dans son flux, à partir de 1.
    version: i64,
    /// Son type, tel que le journal l'enregistre.
    event_type: String,
    /// Ce qui s'est passé, en français.
    label: String,
    /// Quand il a été enregistré (UTC, RFC 3339).
    at: String,
    /// Le rôle de qui l'a fait (absent pour un traitement automatique).
    actor_role: Option<String>,
    /// Le compte de qui l'a fait (absent pour un traitement automatique).
    actor_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    commit_id: i64,
    position: i64,
    stream_id: String,
    category: String,
    version: i64,
    event_type: String,
    metadata: String,
    recorded_at: DateTime<Utc>,
}

fn cursor(commit_id: i64, position: i64) -> String {
    format!("{commit_id}.{position}")
}

fn parse_cursor(text: &str) -> Option<(i64, i64)> {
    let (commit, position) = text.split_once('.')?;
    Some((commit.parse().ok()?, position.parse().ok()?))
}

/// Whether `actor` may read the whole log.
fn may_read(actor: &Actor) -> bool {
    actor.holds(Role::PoleManager) || actor.holds(Role::Admin)
}

/// One page of the log, newest first.
pub async fn events(
    ctx: &Context<'_>,
    category: Option<String>,
    stream: Option<String>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<String, LoggedEvent, EmptyFields, EmptyFields>, Error> {
    if !may_read(ctx.data::<Actor>()?) {
        return Err(Error::new(
            "Le journal des événements est réservé au pôle académique et aux administrateurs.",
        ));
    }
    let first = first.unwrap_or(20);
    if !(1..=MAX_FIRST).contains(&first) {
        return Err(Error::new(format!(
            "« first » : entre 1 et {MAX_FIRST} éléments par page ({first} demandés)."
        )));
    }
    let before = after
        .map(|text| {
            parse_cursor(&text).ok_or_else(|| {
                Error::new("« after » : ce curseur ne vient pas d'une page du journal.")
            })
        })
        .transpose()?;
    // `$1`…`$4` are always bound; an absent filter binds a value that disables its clause.
    let sql = format!(
        "SELECT commit_id, position, stream_id, category, version, event_type, \
         CAST(metadata AS TEXT) AS metadata, recorded_at FROM events \
         WHERE ($1 = '' OR category = $1) AND ($2 = '' OR stream_id = $2) \
         AND ($3 < 0 OR commit_id < $3 OR (commit_id = $3 AND position < $4)) \
         ORDER BY commit_id DESC, position DESC LIMIT {}",
        first + 1
    );
    let category = category.map(|c| c.trim().to_owned()).unwrap_or_default();
    let stream = stream.map(|s| s.trim().to_owned()).unwrap_or_default();
    let (commit, position) = before.unwrap_or((-1, 0));
    let db = ctx.data::<pharos_access::TargetState>()?.app.store.db();
    let found: Vec<Row> = on_db!(&db, |pool| sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(&category)
    .bind(&stream)
    .bind(commit)
    .bind(position)
    .fetch_all(pool)
    .await)
    .map_err(|e| {
        tracing::error!(error = %e, "audit log query failed");
        Error::new("Le journal ne répond pas ; réessayez dans un instant.")
    })?;
    let first = usize::try_from(first).unwrap_or_default();
    let mut page = Connection::new(before.is_some(), found.len() > first);
    page.edges.extend(found.into_iter().take(first).map(|row| {
        let metadata: pharos_eventstore::Metadata =
            serde_json::from_str(&row.metadata).unwrap_or_default();
        let at = cursor(row.commit_id, row.position);
        Edge::new(
            at.clone(),
            LoggedEvent {
                position: at,
                label: event_label(&row.event_type),
                category: row.category,
                stream: row.stream_id,
                version: row.version,
                event_type: row.event_type,
                at: row
                    .recorded_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                actor_role: metadata.actor_role,
                actor_id: metadata.actor_id,
            },
        )
    }));
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back() {
        assert_eq!(parse_cursor(&cursor(7, 42)), Some((7, 42)));
        assert_eq!(parse_cursor("42"), None);
        assert_eq!(parse_cursor("a.b"), None);
    }
}

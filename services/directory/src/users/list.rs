//! `GET /api/v1/users`: the accounts an actor manages, filtered and paginated, with their
//! names and addresses (each row shown is a logged read) and whether they have a password
//! yet (the school accounts created in bulk wait for a reset link).
//!
//! The accounts are folded from the `user` category of the log on each request, like the
//! orientation directory's list: a few thousand accounts at most. Names and addresses are
//! sealed: only the page's rows are unsealed, except with `q`, which unseals every account
//! of the filtered set (one key lookup) to search them — acceptable at that size.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::response::IntoResponse;
use pharos_access::{Action, Actor, Subject};
use pharos_decider::{Decider, Rejection};
use pharos_events::user::{CATEGORY, UserEvent};
use pharos_events::{DepartmentCode, Role, Uai};
use pharos_eventstore::GlobalPosition;
use pharos_privacy::Personal;
use pharos_web::{Problem, Query};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::http::{GrantView, may_manage};
use super::{Account, AccountState};
use crate::labels::{parse_role, sentence};
use crate::partners::http::fold;
use crate::{Directory, NAME};

/// Rows per page unless `limit` says otherwise, and at most.
pub const PAGE_DEFAULT: usize = 50;
pub const PAGE_MAX: usize = 100;

/// The route logged as the reader of each row.
const ROUTE: &str = "/api/v1/users";

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Seulement les comptes qui détiennent ce rôle, principal ou attribué (`admin`,
    /// `pole_manager`, `department_referent`, `school`, `juror`, `trainer`, ou son nom français).
    #[param(example = "school")]
    role: Option<String>,
    /// Un code de département (les référents de ce département et les comptes de ses
    /// établissements) ou une UAI (les comptes de cet établissement).
    #[param(example = "31")]
    scope: Option<String>,
    /// Seulement les comptes actifs (`true`) ou désactivés et effacés (`false`).
    active: Option<bool>,
    /// Texte cherché dans le nom et l'adresse électronique (sans tenir compte des majuscules
    /// ni des accents ; chaque mot doit s'y trouver).
    #[param(example = "0310001h")]
    q: Option<String>,
    /// Nombre de comptes par page : 50 par défaut, 100 au plus.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Nombre de comptes à sauter (pagination).
    offset: Option<u32>,
}

/// Un compte dans la liste (lecture nominative consignée pour chaque ligne montrée).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountSummary {
    id: Uuid,
    display_name: String,
    email: String,
    /// Rôle principal.
    role: Role,
    /// Le rôle principal en français.
    #[schema(example = "établissement")]
    role_label: &'static str,
    /// Périmètre du rôle : code de département (référent) ou UAI (établissement).
    scope: Option<String>,
    /// Attributions supplémentaires : autres rôles détenus, chacun avec son périmètre.
    grants: Vec<GrantView>,
    /// Ni désactivé, ni effacé.
    active: bool,
    /// Faux tant qu'aucun mot de passe n'est défini (comptes des établissements créés en
    /// masse) : le compte attend un lien de réinitialisation.
    has_password: bool,
    version: i64,
}

/// Une page de comptes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountList {
    items: Vec<AccountSummary>,
    /// Comptes correspondant aux filtres, toutes pages confondues.
    total: usize,
    limit: usize,
    offset: usize,
}

/// One account folded from the log.
struct Folded {
    state: AccountState,
    version: i64,
    /// Where its first event is: the creation order.
    first: GlobalPosition,
}

/// What `scope` filters on.
enum ScopeFilter {
    Department(DepartmentCode),
    School(Uai),
}

fn invalid_filter(field: &'static str, message: String) -> Problem {
    Problem::from(Rejection::invalid("invalid-filter", field, message))
}

fn parse_scope(text: &str) -> Result<ScopeFilter, Problem> {
    if let Ok(uai) = Uai::parse(text) {
        return Ok(ScopeFilter::School(uai));
    }
    DepartmentCode::parse(text)
        .map(ScopeFilter::Department)
        .map_err(|_| {
            invalid_filter(
                "scope",
                format!(
                    "« {} » n'est ni un code de département (ex. 31) ni une UAI (ex. 0310001H).",
                    text.trim()
                ),
            )
        })
}

/// Every account of the log, by id.
async fn accounts(directory: &Directory) -> Result<BTreeMap<Uuid, Folded>, Problem> {
    let store = &directory.target.app.store;
    let categories = [CATEGORY.to_owned()];
    let mut accounts: BTreeMap<Uuid, Folded> = BTreeMap::new();
    // What was acknowledged before this request is read (PostgreSQL may withhold it a
    // moment while an older transaction of the cluster is open).
    store.settle(crate::SETTLE).await?;
    let mut after = GlobalPosition::START;
    loop {
        let page = store.read_all(after, 1000, &categories).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in &page {
            let Some(id) = event
                .stream_id
                .get(CATEGORY.len() + 1..)
                .and_then(|id| Uuid::parse_str(id).ok())
            else {
                continue;
            };
            let Some(e) = pharos_events::decode::<UserEvent>(event) else {
                continue;
            };
            let folded = accounts.entry(id).or_insert_with(|| Folded {
                state: AccountState::default(),
                version: 0,
                first: event.position,
            });
            folded.state = Account::evolve(std::mem::take(&mut folded.state), &e);
            folded.version = event.version;
        }
    }
    Ok(accounts)
}

/// `GET /api/v1/users`
#[utoipa::path(operation_id = "directory_users_list", get, path = "/api/v1/users", tag = "directory",
    summary = "Lister les comptes",
    description = "Les comptes que l'acteur gère (l'administrateur : tous ; le pôle académique : tous sauf ceux \
        qui détiennent le rôle administrateur), et le sien, par rôle, puis par périmètre, puis dans l'ordre de \
        création. Filtres combinables : rôle détenu, périmètre (département ou UAI), actif, texte dans le nom ou \
        l'adresse. `has_password` à faux désigne les comptes qui attendent leur lien de réinitialisation \
        (`POST /api/v1/users/{id}/password-reset`). Paginée : 50 par page par défaut, 100 au plus (`limit`, \
        `offset`). La lecture de chaque compte montré est consignée.",
    params(UserFilter),
    responses(
        (status = 200, description = "Une page de comptes", body = AccountList),
        (status = 403, description = "Réservé à qui gère les comptes (administrateur, pôle académique)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Filtre refusé (`invalid-filter`) : rôle inconnu, périmètre qui n'est ni un département ni une UAI", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(directory): State<Directory>,
    actor: Actor,
    Query(filter): Query<UserFilter>,
) -> Result<impl IntoResponse, Problem> {
    // Whoever manages some accounts: the administrator and the pole.
    actor.may(Action::ManageUsers, Subject::Account(Role::School))?;
    let role = match filter.role.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(parse_role(r).map_err(|m| invalid_filter("role", sentence(&m)))?),
    };
    let scope = match filter.scope.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(parse_scope(s)?),
    };
    let words: Vec<String> = filter
        .q
        .as_deref()
        .map(fold)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let limit = filter
        .limit
        .map_or(PAGE_DEFAULT, |l| (l as usize).clamp(1, PAGE_MAX));
    let offset = filter.offset.map_or(0, |o| o as usize);

    let reference = &directory.target.access.reference;
    // The department of every school, for a department scope.
    let departments: HashMap<String, DepartmentCode> = match scope {
        Some(ScopeFilter::Department(_)) => reference
            .schools()
            .into_iter()
            .map(|s| (s.uai.to_string(), s.department))
            .collect(),
        _ => HashMap::new(),
    };
    let in_scope = |role: Role, value: Option<&str>| match (&scope, value) {
        (None, _) => true,
        (Some(ScopeFilter::School(uai)), Some(v)) => role == Role::School && v == uai.as_str(),
        (Some(ScopeFilter::Department(d)), Some(v)) => match role {
            Role::DepartmentReferent => v == d.as_str(),
            Role::School => departments.get(v) == Some(d),
            _ => false,
        },
        (Some(_), None) => false,
    };

    let mut rows = Vec::new();
    for (id, folded) in accounts(&directory).await? {
        let Some(created) = &folded.state.created else {
            continue;
        };
        if id != actor.user_id && may_manage(&actor, &folded.state).is_err() {
            continue;
        }
        if role.is_some_and(|r| !folded.state.roles().contains(&r)) {
            continue;
        }
        let mut held = std::iter::once((created.role, created.scope.as_deref())).chain(
            folded
                .state
                .grants
                .iter()
                .map(|g| (g.role, g.scope.as_deref())),
        );
        if scope.is_some() && !held.any(|(r, s)| in_scope(r, s)) {
            continue;
        }
        let erased = reference.user(id).await?.is_some_and(|u| u.erased);
        let active = !folded.state.deactivated && !erased;
        if filter.active.is_some_and(|wanted| wanted != active) {
            continue;
        }
        rows.push((id, folded, active));
    }
    let rank = |role: Role| Role::ALL.iter().position(|r| *r == role);
    rows.sort_by(|a, b| {
        let (ca, cb) = (a.1.state.created.as_ref(), b.1.state.created.as_ref());
        (
            ca.map(|c| rank(c.role)),
            ca.and_then(|c| c.scope.as_deref()),
            a.1.first,
        )
            .cmp(&(
                cb.map(|c| rank(c.role)),
                cb.and_then(|c| c.scope.as_deref()),
                b.1.first,
            ))
    });

    let vault = &directory.target.vault;
    let identities = |rows: &[(Uuid, Folded, bool)]| {
        rows.iter()
            .filter_map(|(_, f, _)| f.state.created.as_ref())
            .flat_map(|c| [&c.email, &c.display_name])
            .cloned()
            .collect::<Vec<_>>()
    };
    // With `q`, every candidate is unsealed to be searched; else only the page.
    let (total, page, unsealed) = if words.is_empty() {
        let total = rows.len();
        let page: Vec<_> = rows.into_iter().skip(offset).take(limit).collect();
        let sealed = identities(&page);
        let unsealed = vault
            .unseal_all(&sealed.iter().collect::<Vec<_>>())
            .await
            .map_err(Problem::from)?;
        (total, page, unsealed)
    } else {
        let sealed = identities(&rows);
        let unsealed = vault
            .unseal_all(&sealed.iter().collect::<Vec<_>>())
            .await
            .map_err(Problem::from)?;
        let mut matching = Vec::new();
        for (row, pair) in rows.into_iter().zip(unsealed.chunks(2)) {
            let text = pair
                .iter()
                .filter_map(|p| match p {
                    Personal::Known(v) => Some(fold(v)),
                    Personal::Erased => None,
                })
                .collect::<Vec<_>>()
                .join(" ");
            if words.iter().all(|w| text.contains(w.as_str())) {
                matching.push((row, pair.to_vec()));
            }
        }
        let total = matching.len();
        let (page, unsealed): (Vec<_>, Vec<_>) =
            matching.into_iter().skip(offset).take(limit).unzip();
        (total, page, unsealed.concat())
    };

    let metadata = actor.metadata(NAME);
    let mut items = Vec::with_capacity(page.len());
    for ((id, folded, active), pair) in page.into_iter().zip(unsealed.chunks(2)) {
        let Some(created) = folded.state.created else {
            continue;
        };
        // Reading one's own account is not logged (as `GET /api/v1/users/{id}`).
        if id != actor.user_id {
            vault
                .log_read(&metadata, created.email.person, ROUTE, "account")
                .await
                .map_err(Problem::from)?;
        }
        let text = |i: usize| pair.get(i).cloned().unwrap_or(Personal::Erased).to_string();
        items.push(AccountSummary {
            id,
            email: text(0),
            display_name: text(1),
            role: created.role,
            role_label: created.role.label(),
            scope: created.scope,
            grants: GrantView::all(&folded.state.grants),
            active,
            has_password: created.password_hash.is_some(),
            version: folded.version,
        });
    }
    Ok(axum::Json(AccountList {
        items,
        total,
        limit,
        offset,
    }))
}

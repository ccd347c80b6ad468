//! The local reference projection every target keeps of accounts and schools: a [`Projected`] state of the `user`, `school` and `person` categories (a few
//! thousand entries), read through on a miss so that something created a moment ago in
//! another process is found.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use pharos_events::school::{self, SchoolEvent, SchoolRecord};
use pharos_events::user::{self, UserEvent};
use pharos_events::{DepartmentCode, Role, SchoolKind, Uai, decode};
use pharos_eventstore::{EventStore, GlobalPosition, RecordedEvent, StoreError, StreamId};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{Projected, Scope};

/// An account as targets need it to authorise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    /// The primary role and its scope.
    pub role: Role,
    pub scope: Scope,
    /// The roles held besides the primary one, each with its scope.
    pub grants: Vec<(Role, Scope)>,
    pub deactivated: bool,
    /// The person was erased: the account is gone with their data.
    pub erased: bool,
    version: i64,
}

impl UserRef {
    pub fn active(&self) -> bool {
        !self.deactivated && !self.erased
    }

    /// Whether the account holds `role`, as primary role or as a grant.
    pub fn holds(&self, role: Role) -> bool {
        self.role == role || self.grants.iter().any(|(r, _)| *r == role)
    }
}

/// A school as targets need it to authorise and to check references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolRef {
    pub uai: Uai,
    pub name: String,
    pub kind: SchoolKind,
    pub department: DepartmentCode,
    pub circonscription: Option<String>,
    pub closed: bool,
    version: i64,
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<Uuid, UserRef>,
    /// In the order of their UAI: lists of schools read from here keep one order.
    schools: std::collections::BTreeMap<Uai, SchoolRef>,
    erased: std::collections::HashSet<Uuid>,
}

impl State {
    fn apply(&mut self, event: &RecordedEvent) {
        match event.category.as_str() {
            user::CATEGORY => {
                let Ok(id) = Uuid::parse_str(&event.stream_id[user::CATEGORY.len() + 1..]) else {
                    return;
                };
                let Some(e) = decode::<UserEvent>(event) else {
                    return;
                };
                let erased = self.erased.contains(&id);
                match (self.users.get_mut(&id), e) {
                    (None, UserEvent::UserCreated { role, scope, .. }) => {
                        self.users.insert(
                            id,
                            UserRef {
                                role,
                                scope: Scope::of(role, scope.as_deref()),
                                grants: Vec::new(),
                                deactivated: false,
                                erased,
                                version: event.version,
                            },
                        );
                    }
                    // Already folded further by a read-through: the subscription catches up.
                    (Some(u), _) if u.version >= event.version => {}
                    (Some(u), UserEvent::UserRoleChanged { role, scope }) => {
                        u.role = role;
                        u.scope = Scope::of(role, scope.as_deref());
                        u.version = event.version;
                    }
                    (Some(u), UserEvent::UserGrantsChanged { grants }) => {
                        u.grants = grants
                            .into_iter()
                            .map(|g| (g.role, Scope::of(g.role, g.scope.as_deref())))
                            .collect();
                        u.version = event.version;
                    }
                    (Some(u), UserEvent::UserDeactivated { .. }) => {
                        u.deactivated = true;
                        u.version = event.version;
                    }
                    (Some(u), _) => u.version = event.version,
                    (None, _) => {}
                }
            }
            school::CATEGORY => {
                let Some(e) = decode::<SchoolEvent>(event) else {
                    return;
                };
                let uai = &event.stream_id[school::CATEGORY.len() + 1..];
                let Ok(uai) = Uai::parse(uai) else { return };
                let current = self.schools.get(&uai);
                if current.is_some_and(|s| s.version >= event.version) {
                    return;
                }
                match e {
                    SchoolEvent::SchoolRegistered(record) | SchoolEvent::SchoolUpdated(record) => {
                        let closed = current.is_some_and(|s| s.closed);
                        self.schools
                            .insert(uai, school_ref(record, closed, event.version));
                    }
                    SchoolEvent::SchoolClosed { .. } => {
                        if let Some(s) = self.schools.get_mut(&uai) {
                            s.closed = true;
                            s.version = event.version;
                        }
                    }
                }
            }
            pharos_privacy::CATEGORY
                if event.event_type == pharos_privacy::PERSON_ERASED
                    || event.event_type == pharos_privacy::PERSONAL_DATA_PURGED =>
            {
                let Some(person) = event
                    .data
                    .get("person")
                    .and_then(|p| p.as_str())
                    .and_then(|p| Uuid::parse_str(p).ok())
                else {
                    return;
                };
                self.erased.insert(person);
                if let Some(u) = self.users.get_mut(&person) {
                    u.erased = true;
                }
            }
            _ => {}
        }
    }
}

fn school_ref(record: SchoolRecord, closed: bool, version: i64) -> SchoolRef {
    SchoolRef {
        uai: record.uai,
        name: record.name,
        kind: record.kind,
        department: record.department,
        circonscription: record.circonscription,
        closed,
        version,
    }
}

/// How long [`Reference::schools_now`] waits for the projection.
const SCHOOLS_WAIT: Duration = Duration::from_secs(5);

/// The projection, shared by every handler of a process.
#[derive(Debug)]
pub struct Reference {
    store: EventStore,
    projected: Arc<Projected<State>>,
}

impl Reference {
    /// Catches up with the log, then follows it in the background until `shutdown`.
    pub async fn start(
        store: EventStore,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, StoreError> {
        let projected = Projected::start(
            &store,
            &[user::CATEGORY, school::CATEGORY, pharos_privacy::CATEGORY],
            State::apply,
            shutdown,
        )
        .await?;
        Ok(Arc::new(Self { store, projected }))
    }

    /// Waits (at most `timeout`) until the projection has applied `position`: a handler
    /// whose append must be visible to the next request of this process (a deactivation)
    /// waits for it. False on timeout.
    pub async fn wait_for(&self, position: GlobalPosition, timeout: Duration) -> bool {
        self.projected.wait_for(position, timeout).await
    }

    /// The account, read through from the store when not projected yet.
    pub async fn user(&self, id: Uuid) -> Result<Option<UserRef>, StoreError> {
        if let Some(found) = self.read(|s| s.users.get(&id).cloned()) {
            return Ok(Some(found));
        }
        let mut events = self
            .store
            .read_stream(&StreamId::new(pharos_privacy::CATEGORY, id)?, 1)
            .await?;
        events.extend(
            self.store
                .read_stream(&StreamId::new(user::CATEGORY, id)?, 1)
                .await?,
        );
        self.projected.apply_read(&events);
        Ok(self.read(|s| s.users.get(&id).cloned()))
    }

    /// The school, read through from the store when not projected yet.
    pub async fn school(&self, uai: &Uai) -> Result<Option<SchoolRef>, StoreError> {
        if let Some(found) = self.read(|s| s.schools.get(uai).cloned()) {
            return Ok(Some(found));
        }
        let events = self
            .store
            .read_stream(&StreamId::new(school::CATEGORY, uai)?, 1)
            .await?;
        self.projected.apply_read(&events);
        Ok(self.read(|s| s.schools.get(uai).cloned()))
    }

    /// Whether an active account holds this role (as primary role or as a grant).
    pub fn any_active(&self, role: Role) -> bool {
        self.read(|s| s.users.values().any(|u| u.holds(role) && u.active()))
    }

    /// Every projected school (for lists and checks over many schools), in the order of
    /// their UAI.
    pub fn schools(&self) -> Vec<SchoolRef> {
        self.read(|s| s.schools.values().cloned().collect())
    }

    /// Every school, in the order of their UAI, once the projection has applied the last
    /// school event committed before this call: a list that must not miss a school
    /// registered a moment ago (a report's expected schools) reads this instead of folding
    /// the category from the store on each request (60,000 schools: about a second).
    /// Waits at most `SCHOOLS_WAIT`; past it (a transaction left open holds every reader
    /// back on PostgreSQL) it answers with what is projected, as a fold would have.
    pub async fn schools_now(&self) -> Result<Vec<SchoolRef>, StoreError> {
        if let Some(last) = self.store.last_of(school::CATEGORY).await?
            && !self.projected.wait_for(last, SCHOOLS_WAIT).await
        {
            tracing::warn!(
                ?last,
                "schools: the projection did not reach the last school event in time"
            );
        }
        Ok(self.schools())
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        self.projected.read(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_events::user::Grant;
    use pharos_privacy::{PersonId, Sealed};

    fn recorded(id: Uuid, version: i64, event: &UserEvent) -> RecordedEvent {
        let new = pharos_events::encode(event);
        RecordedEvent {
            position: GlobalPosition {
                commit_id: version,
                position: version,
            },
            stream_id: format!("{}-{id}", user::CATEGORY),
            category: user::CATEGORY.into(),
            version,
            event_id: new.event_id,
            event_type: new.event_type,
            schema_version: new.schema_version,
            data: new.data,
            metadata: pharos_eventstore::Metadata::default(),
            recorded_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn an_accounts_grants_follow_its_events_and_a_replay_changes_nothing() {
        let id = Uuid::from_u128(7);
        let sealed = Sealed {
            person: PersonId(id),
            sealed: "x".into(),
        };
        let created = UserEvent::UserCreated {
            email: sealed.clone(),
            display_name: sealed,
            role: Role::DepartmentReferent,
            scope: Some("31".into()),
            password_hash: None,
        };
        let granted = UserEvent::UserGrantsChanged {
            grants: vec![
                Grant {
                    role: Role::DepartmentReferent,
                    scope: Some("82".into()),
                },
                Grant {
                    role: Role::Trainer,
                    scope: None,
                },
            ],
        };
        let removed = UserEvent::UserGrantsChanged { grants: vec![] };
        let mut state = State::default();
        state.apply(&recorded(id, 1, &created));
        state.apply(&recorded(id, 2, &granted));
        let user = &state.users[&id];
        assert_eq!(
            user.grants,
            [
                (
                    Role::DepartmentReferent,
                    Scope::Department(DepartmentCode::parse("82").unwrap())
                ),
                (Role::Trainer, Scope::Assigned),
            ]
        );
        assert!(user.holds(Role::Trainer) && user.holds(Role::DepartmentReferent));
        assert!(!user.holds(Role::School));
        state.apply(&recorded(id, 3, &removed));
        // The subscription delivering an event already read through changes nothing.
        state.apply(&recorded(id, 2, &granted));
        let user = &state.users[&id];
        assert!(user.grants.is_empty());
        assert!(!user.holds(Role::Trainer));
    }
}

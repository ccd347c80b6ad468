//! The local reference projection every target keeps of accounts and schools (DESIGN.md
//! §1): fed by a subscription to the `user`, `school` and `person` categories, held in
//! memory (a few thousand entries), and read through on a miss so that something
//! created a moment ago in another process is found.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use pharos_events::school::{self, SchoolEvent, SchoolRecord};
use pharos_events::user::{self, UserEvent};
use pharos_events::{DepartmentCode, Role, SchoolKind, Uai, decode};
use pharos_eventstore::{EventStore, GlobalPosition, RecordedEvent, StoreError, StreamId};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Scope;

const PAGE: usize = 1000;

/// An account as targets need it to authorise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub role: Role,
    pub scope: Scope,
    pub deactivated: bool,
    /// The person was erased: the account is gone with their data.
    pub erased: bool,
    version: i64,
}

impl UserRef {
    pub fn active(&self) -> bool {
        !self.deactivated && !self.erased
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
    schools: HashMap<Uai, SchoolRef>,
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

/// The projection, shared by every handler of a process.
#[derive(Debug)]
pub struct Reference {
    store: EventStore,
    state: RwLock<State>,
    position: watch::Sender<GlobalPosition>,
}

impl Reference {
    /// Catches up with the log, then follows it in the background until `shutdown`.
    pub async fn start(
        store: EventStore,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, StoreError> {
        let categories = vec![
            user::CATEGORY.to_owned(),
            school::CATEGORY.to_owned(),
            pharos_privacy::CATEGORY.to_owned(),
        ];
        let reference = Arc::new(Self {
            store: store.clone(),
            state: RwLock::new(State::default()),
            position: watch::channel(GlobalPosition::START).0,
        });
        let mut after = GlobalPosition::START;
        loop {
            let page = store.read_all(after, PAGE, &categories).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            reference.apply(&page);
        }
        let follower = reference.clone();
        tokio::spawn(async move {
            let mut after = after;
            loop {
                let mut subscription = follower.store.subscribe(after, categories.clone());
                loop {
                    let batch = tokio::select! {
                        () = shutdown.cancelled() => return,
                        batch = subscription.next_batch() => batch,
                    };
                    match batch {
                        Ok(events) => {
                            if let Some(last) = events.last() {
                                after = last.position;
                            }
                            follower.apply(&events);
                        }
                        Err(StoreError::Closed) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, "reference projection: subscription failed; resuming");
                            break;
                        }
                    }
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
        Ok(reference)
    }

    fn apply(&self, events: &[RecordedEvent]) {
        let Some(last) = events.last() else { return };
        {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            for event in events {
                state.apply(event);
            }
        }
        self.position.send_replace(last.position);
    }

    /// Waits (at most `timeout`) until the projection has applied `position`: a handler
    /// whose append must be visible to the next request of this process (a deactivation)
    /// waits for it. False on timeout.
    pub async fn wait_for(&self, position: GlobalPosition, timeout: Duration) -> bool {
        let mut seen = self.position.subscribe();
        tokio::time::timeout(timeout, seen.wait_for(|p| *p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
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
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        for event in &events {
            state.apply(event);
        }
        Ok(state.users.get(&id).cloned())
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
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        for event in &events {
            state.apply(event);
        }
        Ok(state.schools.get(uai).cloned())
    }

    /// Whether an active account holds this role.
    pub fn any_active(&self, role: Role) -> bool {
        self.read(|s| s.users.values().any(|u| u.role == role && u.active()))
    }

    /// Every projected school (for lists and checks over many schools).
    pub fn schools(&self) -> Vec<SchoolRef> {
        self.read(|s| s.schools.values().cloned().collect())
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|p| p.into_inner()))
    }
}

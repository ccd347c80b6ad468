//! The account decider (category `user`): an account is created once per person, then
//! changes role or password until it is deactivated, after which it never changes.
//! Pure: no I/O, no HTTP; names, e-mails and password hashes arrive sealed.

use chrono::{DateTime, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_events::Role;
use pharos_events::user::{CATEGORY, UserEvent};
use pharos_eventstore::{StoreError, StreamId};
use pharos_privacy::Sealed;
use uuid::Uuid;

/// An account's stream: `user-<person id>`.
pub fn stream(id: Uuid) -> Result<StreamId, StoreError> {
    StreamId::new(CATEGORY, id)
}

/// What an account's history folds to.
#[derive(Debug, Clone, Default)]
pub struct AccountState {
    pub created: Option<Created>,
    pub deactivated: bool,
}

/// The account as created, with its current role and password.
#[derive(Debug, Clone)]
pub struct Created {
    pub email: Sealed,
    pub display_name: Sealed,
    pub role: Role,
    pub scope: Option<String>,
    pub password_hash: Option<Sealed>,
}

#[derive(Debug, Clone)]
pub enum AccountCommand {
    Create(Created),
    ChangeRole { role: Role, scope: Option<String> },
    SetPassword { password_hash: Sealed },
    Deactivate { reason: Option<String> },
}

/// The account aggregate.
#[derive(Debug)]
pub struct Account;

impl Decider for Account {
    type State = AccountState;
    type Command = AccountCommand;
    type Event = UserEvent;

    fn evolve(mut state: AccountState, event: &UserEvent) -> AccountState {
        match event {
            UserEvent::UserCreated {
                email,
                display_name,
                role,
                scope,
                password_hash,
            } => {
                state.created = Some(Created {
                    email: email.clone(),
                    display_name: display_name.clone(),
                    role: *role,
                    scope: scope.clone(),
                    password_hash: password_hash.clone(),
                });
            }
            UserEvent::UserRoleChanged { role, scope } => {
                if let Some(c) = &mut state.created {
                    c.role = *role;
                    c.scope.clone_from(scope);
                }
            }
            UserEvent::UserPasswordSet { password_hash } => {
                if let Some(c) = &mut state.created {
                    c.password_hash = Some(password_hash.clone());
                }
            }
            UserEvent::UserDeactivated { .. } => state.deactivated = true,
        }
        state
    }

    fn decide(
        command: &AccountCommand,
        state: &AccountState,
        _now: DateTime<Utc>,
    ) -> Result<Vec<UserEvent>, Rejection> {
        let Some(current) = &state.created else {
            return match command {
                AccountCommand::Create(c) => Ok(vec![UserEvent::UserCreated {
                    email: c.email.clone(),
                    display_name: c.display_name.clone(),
                    role: c.role,
                    scope: c.scope.clone(),
                    password_hash: c.password_hash.clone(),
                }]),
                _ => Err(Rejection::not_found(
                    "user-unknown",
                    "Ce compte n'existe pas.",
                )),
            };
        };
        match command {
            AccountCommand::Create(_) => Err(Rejection::conflict(
                "user-exists",
                "Un compte existe déjà pour cette adresse électronique.",
            )),
            _ if state.deactivated => Err(Rejection::conflict(
                "user-deactivated",
                "Ce compte est désactivé : il ne peut plus être modifié.",
            )),
            AccountCommand::ChangeRole { role, scope } => {
                if current.role == *role && current.scope == *scope {
                    Ok(vec![])
                } else {
                    Ok(vec![UserEvent::UserRoleChanged {
                        role: *role,
                        scope: scope.clone(),
                    }])
                }
            }
            AccountCommand::SetPassword { password_hash } => Ok(vec![UserEvent::UserPasswordSet {
                password_hash: password_hash.clone(),
            }]),
            AccountCommand::Deactivate { reason } => Ok(vec![UserEvent::UserDeactivated {
                reason: reason.clone(),
            }]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_decider::given;
    use pharos_privacy::PersonId;

    fn sealed(s: &str) -> Sealed {
        Sealed {
            person: PersonId(Uuid::nil()),
            sealed: s.into(),
        }
    }

    fn created() -> Created {
        Created {
            email: sealed("e"),
            display_name: sealed("n"),
            role: Role::School,
            scope: Some("0310001H".into()),
            password_hash: Some(sealed("h")),
        }
    }

    fn user_created() -> UserEvent {
        UserEvent::UserCreated {
            email: sealed("e"),
            display_name: sealed("n"),
            role: Role::School,
            scope: Some("0310001H".into()),
            password_hash: Some(sealed("h")),
        }
    }

    #[test]
    fn one_account_per_person() {
        given::<Account>([])
            .when(&AccountCommand::Create(created()))
            .then(&[user_created()]);
        given::<Account>([user_created()])
            .when(&AccountCommand::Create(created()))
            .then_rejected("user-exists");
    }

    #[test]
    fn a_deactivated_account_cannot_change() {
        let deactivated = given::<Account>([user_created()])
            .when(&AccountCommand::Deactivate { reason: None })
            .events();
        let history = [vec![user_created()], deactivated].concat();
        for command in [
            AccountCommand::Deactivate { reason: None },
            AccountCommand::ChangeRole {
                role: Role::Trainer,
                scope: None,
            },
        ] {
            given::<Account>(history.clone())
                .when(&command)
                .then_rejected("user-deactivated");
        }
    }

    #[test]
    fn a_school_account_is_created_without_a_password_once() {
        let without = Created {
            password_hash: None,
            ..created()
        };
        let event = UserEvent::UserCreated {
            email: sealed("e"),
            display_name: sealed("n"),
            role: Role::School,
            scope: Some("0310001H".into()),
            password_hash: None,
        };
        given::<Account>([])
            .when(&AccountCommand::Create(without.clone()))
            .then(std::slice::from_ref(&event));
        given::<Account>([event])
            .when(&AccountCommand::Create(without))
            .then_rejected("user-exists");
    }

    #[test]
    fn the_same_role_changes_nothing() {
        let same = AccountCommand::ChangeRole {
            role: Role::School,
            scope: Some("0310001H".into()),
        };
        given::<Account>([user_created()]).when(&same).then(&[]);
        given::<Account>([])
            .when(&same)
            .then_rejected("user-unknown");
    }
}

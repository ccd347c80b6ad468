//! The account decider (category `user`): an account is created once per person, then
//! changes role, additional grants or password until it is deactivated, after which it
//! never changes. Pure: no I/O, no HTTP; names, e-mails and password hashes arrive
//! sealed, roles and scopes arrive checked against the academy and the school registry
//! (the decider checks what needs no registry: the shape of a grant's scope, duplicates).

use chrono::{DateTime, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_events::user::{CATEGORY, Grant, UserEvent};
use pharos_events::{DepartmentCode, Role, Uai};
use pharos_eventstore::{StoreError, StreamId};
use pharos_privacy::Sealed;
use uuid::Uuid;

use crate::labels::sentence;

/// An account's stream: `user-<person id>`.
pub fn stream(id: Uuid) -> Result<StreamId, StoreError> {
    StreamId::new(CATEGORY, id)
}

/// The most additional grants an account holds.
pub const MAX_GRANTS: usize = 10;

/// The request fields of the grant at each index: the grant, its role, its scope.
const GRANT_FIELDS: [[&str; 3]; MAX_GRANTS] = [
    ["grants[0]", "grants[0].role", "grants[0].scope"],
    ["grants[1]", "grants[1].role", "grants[1].scope"],
    ["grants[2]", "grants[2].role", "grants[2].scope"],
    ["grants[3]", "grants[3].role", "grants[3].scope"],
    ["grants[4]", "grants[4].role", "grants[4].scope"],
    ["grants[5]", "grants[5].role", "grants[5].scope"],
    ["grants[6]", "grants[6].role", "grants[6].scope"],
    ["grants[7]", "grants[7].role", "grants[7].scope"],
    ["grants[8]", "grants[8].role", "grants[8].scope"],
    ["grants[9]", "grants[9].role", "grants[9].scope"],
];

/// A part of a grant of the request, to name in a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantPart {
    Whole = 0,
    Role = 1,
    Scope = 2,
}

/// The request field of part `part` of the grant at `index` (`grants[1].scope`);
/// `grants` beyond [`MAX_GRANTS`].
pub fn grant_field(index: usize, part: GrantPart) -> &'static str {
    GRANT_FIELDS
        .get(index)
        .map_or("grants", |fields| fields[part as usize])
}

/// The refusal of more than [`MAX_GRANTS`] grants.
pub fn too_many_grants(count: usize) -> Rejection {
    Rejection::invalid(
        "too-many-grants",
        "grants",
        format!(
            "Un compte détient au plus {MAX_GRANTS} attributions en plus de son rôle principal \
             ({count} demandées)."
        ),
    )
}

/// What an account's history folds to.
#[derive(Debug, Clone, Default)]
pub struct AccountState {
    pub created: Option<Created>,
    /// The roles held besides the primary one, each with its scope.
    pub grants: Vec<Grant>,
    pub deactivated: bool,
    /// The last « mot de passe oublié » request recorded (a newer one within
    /// [`RESET_REQUEST_INTERVAL`] records nothing: no mail bombing).
    pub reset_requested_at: Option<DateTime<Utc>>,
}

/// The least time between two recorded password-reset requests of one account.
pub const RESET_REQUEST_INTERVAL: chrono::Duration = chrono::Duration::minutes(15);

impl AccountState {
    /// Every role the account holds: the primary one, then the grants'.
    pub fn roles(&self) -> Vec<Role> {
        self.created
            .iter()
            .map(|c| c.role)
            .chain(self.grants.iter().map(|g| g.role))
            .collect()
    }
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
    /// Changes the primary role and scope; a grant equal to the new primary role and
    /// scope is dropped.
    ChangeRole {
        role: Role,
        scope: Option<String>,
    },
    /// Sets every additional grant (the order is kept; a reordering changes nothing).
    SetGrants {
        grants: Vec<Grant>,
    },
    SetPassword {
        password_hash: Sealed,
    },
    Deactivate {
        reason: Option<String>,
    },
    /// A public « mot de passe oublié » request: recorded (and mailed by `reminders`)
    /// for an active account, at most once per [`RESET_REQUEST_INTERVAL`].
    RequestPasswordReset,
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
            UserEvent::UserGrantsChanged { grants } => state.grants.clone_from(grants),
            UserEvent::UserDeactivated { .. } => state.deactivated = true,
            UserEvent::PasswordResetRequested { requested_at } => {
                state.reset_requested_at = Some(*requested_at);
            }
        }
        state
    }

    fn decide(
        command: &AccountCommand,
        state: &AccountState,
        now: DateTime<Utc>,
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
            // Answered like any other request (nothing tells the account's state).
            AccountCommand::RequestPasswordReset if state.deactivated => Ok(vec![]),
            _ if state.deactivated => Err(Rejection::conflict(
                "user-deactivated",
                "Ce compte est désactivé : il ne peut plus être modifié.",
            )),
            AccountCommand::ChangeRole { role, scope } => {
                if current.role == *role && current.scope == *scope {
                    return Ok(vec![]);
                }
                let mut events = vec![UserEvent::UserRoleChanged {
                    role: *role,
                    scope: scope.clone(),
                }];
                // The new primary role is no longer held besides itself.
                let primary = Grant {
                    role: *role,
                    scope: scope.clone(),
                };
                if state.grants.contains(&primary) {
                    events.push(UserEvent::UserGrantsChanged {
                        grants: state
                            .grants
                            .iter()
                            .filter(|g| **g != primary)
                            .cloned()
                            .collect(),
                    });
                }
                Ok(events)
            }
            AccountCommand::SetGrants { grants } => {
                check_grants(grants, current)?;
                let unchanged = grants.len() == state.grants.len()
                    && grants.iter().all(|g| state.grants.contains(g));
                if unchanged {
                    Ok(vec![])
                } else {
                    Ok(vec![UserEvent::UserGrantsChanged {
                        grants: grants.clone(),
                    }])
                }
            }
            AccountCommand::SetPassword { password_hash } => Ok(vec![UserEvent::UserPasswordSet {
                password_hash: password_hash.clone(),
            }]),
            AccountCommand::Deactivate { reason } => Ok(vec![UserEvent::UserDeactivated {
                reason: reason.clone(),
            }]),
            AccountCommand::RequestPasswordReset => {
                let recent = state
                    .reset_requested_at
                    .is_some_and(|last| now < last + RESET_REQUEST_INTERVAL);
                if recent {
                    Ok(vec![])
                } else {
                    Ok(vec![UserEvent::PasswordResetRequested {
                        requested_at: now,
                    }])
                }
            }
        }
    }
}

/// The grants' rules that need no registry: at most [`MAX_GRANTS`], each scope of the
/// shape its role asks (a department code, a UAI, or none), none twice, none equal to the
/// primary role and scope.
fn check_grants(grants: &[Grant], primary: &Created) -> Result<(), Rejection> {
    if grants.len() > MAX_GRANTS {
        return Err(too_many_grants(grants.len()));
    }
    for (i, grant) in grants.iter().enumerate() {
        check_grant_scope(i, grant)?;
        if grant.role == primary.role && grant.scope == primary.scope {
            return Err(Rejection::invalid(
                "grant-is-primary-role",
                grant_field(i, GrantPart::Whole),
                format!(
                    "L'attribution n° {} ({}) est déjà le rôle principal du compte.",
                    i + 1,
                    describe(grant)
                ),
            ));
        }
        if let Some(first) = grants[..i].iter().position(|g| g == grant) {
            return Err(Rejection::invalid(
                "duplicate-grant",
                grant_field(i, GrantPart::Whole),
                format!(
                    "L'attribution n° {} ({}) répète l'attribution n° {}.",
                    i + 1,
                    describe(grant),
                    first + 1
                ),
            ));
        }
    }
    Ok(())
}

/// The scope of grant `i` has the shape its role asks.
fn check_grant_scope(i: usize, grant: &Grant) -> Result<(), Rejection> {
    let field = grant_field(i, GrantPart::Scope);
    match (grant.role, grant.scope.as_deref()) {
        (Role::DepartmentReferent, Some(s)) => DepartmentCode::parse(s)
            .map(drop)
            .map_err(|e| Rejection::invalid("invalid-scope", field, sentence(&e.0))),
        (Role::School, Some(s)) => Uai::parse(s)
            .map(drop)
            .map_err(|e| Rejection::invalid("invalid-scope", field, sentence(&e.0))),
        (Role::DepartmentReferent | Role::School, None) => Err(Rejection::invalid(
            "scope-required",
            field,
            format!(
                "Le rôle {} demande un périmètre : {}.",
                grant.role.label(),
                if grant.role == Role::School {
                    "l'UAI de l'établissement"
                } else {
                    "le code du département (ex. 31)"
                }
            ),
        )),
        (_, Some(_)) => Err(Rejection::invalid(
            "scope-not-allowed",
            field,
            format!("Le rôle {} ne prend pas de périmètre.", grant.role.label()),
        )),
        (_, None) => Ok(()),
    }
}

/// A grant in a sentence: « référent départemental, département 31 ».
fn describe(grant: &Grant) -> String {
    match (grant.role, grant.scope.as_deref()) {
        (Role::DepartmentReferent, Some(d)) => {
            format!("{}, département {d}", grant.role.label())
        }
        (_, Some(s)) => format!("{} {s}", grant.role.label()),
        (_, None) => grant.role.label().to_owned(),
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
    fn a_reset_request_is_recorded_at_most_once_per_quarter_hour_and_never_when_deactivated() {
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        let first = UserEvent::PasswordResetRequested {
            requested_at: at("2026-03-02T09:00:00Z"),
        };
        given::<Account>([user_created()])
            .at(at("2026-03-02T09:00:00Z"))
            .when(&AccountCommand::RequestPasswordReset)
            .then(std::slice::from_ref(&first));
        given::<Account>([user_created(), first.clone()])
            .at(at("2026-03-02T09:14:59Z"))
            .when(&AccountCommand::RequestPasswordReset)
            .then(&[]);
        given::<Account>([user_created(), first])
            .at(at("2026-03-02T09:15:00Z"))
            .when(&AccountCommand::RequestPasswordReset)
            .then(&[UserEvent::PasswordResetRequested {
                requested_at: at("2026-03-02T09:15:00Z"),
            }]);
        given::<Account>([user_created(), UserEvent::UserDeactivated { reason: None }])
            .when(&AccountCommand::RequestPasswordReset)
            .then(&[]);
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
            AccountCommand::SetGrants {
                grants: vec![trainer()],
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

    fn trainer() -> Grant {
        Grant {
            role: Role::Trainer,
            scope: None,
        }
    }

    fn referent(department: &str) -> Grant {
        Grant {
            role: Role::DepartmentReferent,
            scope: Some(department.into()),
        }
    }

    fn set(grants: &[Grant]) -> AccountCommand {
        AccountCommand::SetGrants {
            grants: grants.to_vec(),
        }
    }

    fn changed(grants: &[Grant]) -> UserEvent {
        UserEvent::UserGrantsChanged {
            grants: grants.to_vec(),
        }
    }

    #[test]
    fn grants_are_set_changed_and_removed_and_unchanged_ones_record_nothing() {
        let now = Utc::now();
        let both = [referent("82"), trainer()];
        given::<Account>([user_created()])
            .at(now)
            .when(&set(&both))
            .then(&[changed(&both)]);
        let history = [user_created(), changed(&both)];
        let state = given::<Account>(history.clone()).state().clone();
        assert_eq!(state.grants, both);
        assert_eq!(
            state.roles(),
            [Role::School, Role::DepartmentReferent, Role::Trainer]
        );
        // The same grants, in any order: nothing to record.
        given::<Account>(history.clone())
            .at(now)
            .when(&set(&both))
            .then(&[]);
        given::<Account>(history.clone())
            .at(now)
            .when(&set(&[trainer(), referent("82")]))
            .then(&[]);
        given::<Account>(history.clone())
            .at(now)
            .when(&set(&[trainer()]))
            .then(&[changed(&[trainer()])]);
        let removed = given::<Account>(history)
            .at(now)
            .when(&set(&[]))
            .state_after();
        assert!(removed.grants.is_empty());
        given::<Account>([user_created()]).when(&set(&[])).then(&[]);
        given::<Account>([])
            .when(&set(&[trainer()]))
            .then_rejected("user-unknown");
    }

    #[test]
    fn grants_are_checked_like_a_role_and_named_by_their_index() {
        let refused = |grants: &[Grant], rule: &str, field: &str| {
            let rejection = given::<Account>([user_created()])
                .when(&set(grants))
                .then_rejected(rule);
            assert_eq!(rejection.kind, pharos_decider::RejectionKind::Invalid);
            assert_eq!(rejection.field, Some(field), "{rejection}");
            assert!(!rejection.message.contains('_'), "{rejection}");
            rejection
        };
        let duplicate = refused(
            &[trainer(), referent("82"), trainer()],
            "duplicate-grant",
            "grants[2]",
        );
        assert_eq!(
            duplicate.message,
            "L'attribution n° 3 (formateur) répète l'attribution n° 1."
        );
        // The primary role and scope (school 0310001H) is not held twice.
        let primary = Grant {
            role: Role::School,
            scope: Some("0310001H".into()),
        };
        refused(&[trainer(), primary], "grant-is-primary-role", "grants[1]");
        // Another school is another grant.
        let other_school = Grant {
            role: Role::School,
            scope: Some("0310002J".into()),
        };
        given::<Account>([user_created()])
            .when(&set(std::slice::from_ref(&other_school)))
            .then(&[changed(&[other_school])]);
        refused(
            &[
                trainer(),
                Grant {
                    role: Role::DepartmentReferent,
                    scope: None,
                },
            ],
            "scope-required",
            "grants[1].scope",
        );
        refused(
            &[Grant {
                role: Role::Juror,
                scope: Some("31".into()),
            }],
            "scope-not-allowed",
            "grants[0].scope",
        );
        refused(&[referent("2x")], "invalid-scope", "grants[0].scope");
        refused(
            &[Grant {
                role: Role::School,
                scope: Some("0310001A".into()),
            }],
            "invalid-scope",
            "grants[0].scope",
        );
        let many: Vec<Grant> = [
            "09", "12", "31", "32", "46", "65", "81", "82", "11", "34", "66",
        ]
        .into_iter()
        .map(referent)
        .collect();
        refused(&many, "too-many-grants", "grants");
        assert_eq!(grant_field(1, GrantPart::Scope), "grants[1].scope");
        assert_eq!(grant_field(MAX_GRANTS, GrantPart::Role), "grants");
    }

    #[test]
    fn a_primary_role_that_was_granted_is_no_longer_held_twice() {
        let history = [user_created(), changed(&[trainer(), referent("82")])];
        given::<Account>(history.clone())
            .when(&AccountCommand::ChangeRole {
                role: Role::DepartmentReferent,
                scope: Some("82".into()),
            })
            .then(&[
                UserEvent::UserRoleChanged {
                    role: Role::DepartmentReferent,
                    scope: Some("82".into()),
                },
                changed(&[trainer()]),
            ]);
        // Another role leaves the grants as they are.
        given::<Account>(history)
            .when(&AccountCommand::ChangeRole {
                role: Role::DepartmentReferent,
                scope: Some("31".into()),
            })
            .then(&[UserEvent::UserRoleChanged {
                role: Role::DepartmentReferent,
                scope: Some("31".into()),
            }]);
    }
}

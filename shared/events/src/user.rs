//! Category `user`, owned by `directory`: one stream per account, `user-<person id>`
//! (an account is a person of the vault, so one e-mail holds at most one account).
//! Names, e-mails and password hashes are sealed in the person's vault entry.

use chrono::{DateTime, Utc};
use pharos_privacy::Sealed;
use serde::{Deserialize, Serialize};

use crate::Role;

pub const CATEGORY: &str = "user";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserEvent {
    UserCreated {
        email: Sealed,
        display_name: Sealed,
        role: Role,
        /// A department code for a department referent, a UAI for a school, else none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// PHC string of an argon2id hash; sealed, so an erasure takes it too.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password_hash: Option<Sealed>,
    },
    UserRoleChanged {
        role: Role,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
    UserPasswordSet {
        password_hash: Sealed,
    },
    /// The account can no longer log in and its tokens stop working.
    UserDeactivated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The account's additional grants, all of them (an empty list removes every one):
    /// each a role with its scope, held besides the primary role and scope (a department
    /// referent who also trains, a referent of two departments).
    UserGrantsChanged {
        grants: Vec<Grant>,
    },
    /// Someone asked for a password-reset link for this account (the public « mot de
    /// passe oublié » request): `reminders` mails the link. Nothing secret is recorded:
    /// the token is minted when the mail is sent. Moving the account's version, it voids
    /// the links issued before it.
    PasswordResetRequested {
        /// On the domain's clock.
        requested_at: DateTime<Utc>,
    },
}

/// A role an account holds besides its primary one, with its scope (a department code
/// for a department referent, a UAI for a school, else none), checked as the primary
/// role and scope are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grant {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

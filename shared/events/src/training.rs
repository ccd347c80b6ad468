//! Categories `training` and `training_session`, owned by `trainings`. A training is
//! what is taught (`training-<uuid>`); a session is one occurrence with its
//! registrations and attendance (`training_session-<uuid>`), so that capacity, the
//! waitlist and attendance are decided on one stream.

use chrono::{DateTime, FixedOffset};
use pharos_privacy::{PersonId, Sealed};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{DepartmentCode, Uai};

pub const TRAINING_CATEGORY: &str = "training";
pub const SESSION_CATEGORY: &str = "training_session";
/// A person's confirmed places (`training_schedule-<person uuid>`), so that the overlap
/// rule is decided on one stream with optimistic concurrency, across processes.
pub const SCHEDULE_CATEGORY: &str = "training_schedule";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    EquipeRessource,
    Mpp,
    Pilotes,
    Ambassadeurs,
    Parents,
    Referents,
    TousPersonnels,
    Partenaires,
    EnLigne,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TrainingEvent {
    TrainingCreated {
        title: String,
        topic: Topic,
        /// Who it is for, as the pole words it (« équipes ressources des collèges »).
        audience: String,
        /// `None`: an academy-wide training.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        department: Option<DepartmentCode>,
        #[serde(default)]
        description: String,
        /// The national training platform's reference, when the training is there.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gaia_reference: Option<String>,
    },
}

/// A half-day (or shorter) part of a session; attendance is recorded per slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Slot {
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
}

impl Slot {
    pub fn minutes(&self) -> i64 {
        (self.ends_at - self.starts_at).num_minutes()
    }
}

/// When a session takes place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
    pub slots: Vec<Slot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// Designated by a head of school or a referent.
    Designated,
    Volunteer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttendanceStatus {
    Present,
    Absent,
    Excused,
}

/// Someone registered: identified by their vault person (one per e-mail, whatever its
/// case), name and e-mail sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registrant {
    pub person: PersonId,
    pub display_name: Sealed,
    pub email: Sealed,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school_uai: Option<Uai>,
    /// What they do (« CPE », « professeure de SVT »): not personal on its own.
    pub function: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionEvent {
    SessionPlanned {
        training_id: Uuid,
        /// Where the session is held, hence who manages it: the training's department
        /// by default, or one chosen for a session of an academy-wide training. Events
        /// recorded before sessions had their own department carried the training's
        /// (absent for an academy-wide training), so a missing field still means the
        /// training's department: `None`, an academy-wide session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        department: Option<DepartmentCode>,
        #[serde(flatten)]
        schedule: Schedule,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remote_url: Option<String>,
        capacity: u32,
        planned_minutes: u32,
        /// Accounts (role `trainer`) who record attendance.
        #[serde(default)]
        trainers: Vec<Uuid>,
        /// Recorded once over, with its registrants and attendance (by a pole manager or
        /// a referent), instead of planned ahead. Absent (false) on sessions planned ahead.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        recorded_after_the_fact: bool,
    },
    SessionOpened,
    /// Registrations closed.
    SessionClosed,
    SessionHeld,
    AttendanceLocked,
    SessionArchived,
    SessionCancelled {
        reason: String,
    },
    SessionRescheduled {
        #[serde(flatten)]
        schedule: Schedule,
    },
    /// The number of places changed after planning (never below the confirmed count);
    /// when raised, the promotions that follow are their own events.
    SessionCapacityChanged {
        capacity: u32,
    },
    /// The accounts who give the session (and record its attendance) changed.
    SessionTrainersChanged {
        trainers: Vec<Uuid>,
    },
    RegistrationConfirmed {
        registration_id: Uuid,
        #[serde(flatten)]
        registrant: Registrant,
        mode: RegistrationMode,
    },
    /// Full: the registration waits its turn (promoted in order).
    RegistrationWaitlisted {
        registration_id: Uuid,
        #[serde(flatten)]
        registrant: Registrant,
        mode: RegistrationMode,
    },
    /// A place freed up: the first waiting registration is confirmed.
    RegistrationPromoted {
        registration_id: Uuid,
    },
    RegistrationWithdrawn {
        registration_id: Uuid,
    },
    AttendanceRecorded {
        registration_id: Uuid,
        slot_index: usize,
        status: AttendanceStatus,
        minutes: u32,
    },
    /// A change after the attendance was locked: audited, with its reason.
    AttendanceCorrected {
        registration_id: Uuid,
        slot_index: usize,
        status: AttendanceStatus,
        minutes: u32,
        reason: String,
    },
}

/// A person's schedule: the time spans of the sessions where they hold (or are about to
/// hold) a confirmed place. A waitlisted registration claims nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScheduleEvent {
    /// A confirmed place in `session_id`, from `starts_at` to `ends_at`.
    SessionTimeClaimed {
        session_id: Uuid,
        starts_at: DateTime<FixedOffset>,
        ends_at: DateTime<FixedOffset>,
    },
    /// The place is no longer held (withdrawn, waitlisted after all, or the
    /// registration failed after the claim).
    SessionTimeReleased { session_id: Uuid },
}

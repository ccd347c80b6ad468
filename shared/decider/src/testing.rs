//! Given/when/then over a [`Decider`], with no database:
//!
//! ```ignore
//! given::<Session>([planned, opened])
//!     .at(now)
//!     .when(&SessionCommand::Register { .. })
//!     .then_rejected("session-full");
//! ```

use std::fmt::Debug;

use chrono::{DateTime, Utc};

use crate::{Decider, Rejection};

/// The aggregate's history before the command.
pub fn given<D: Decider>(history: impl IntoIterator<Item = D::Event>) -> Given<D> {
    Given {
        state: history
            .into_iter()
            .fold(D::State::default(), |s, e| D::evolve(s, &e)),
        now: Utc::now(),
    }
}

/// An aggregate's state, folded from its history, and the instant of the decision.
pub struct Given<D: Decider> {
    state: D::State,
    now: DateTime<Utc>,
}

impl<D: Decider> Given<D> {
    /// The instant the command is decided at (by default, now).
    #[must_use]
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// The state the history folds to.
    pub fn state(&self) -> &D::State {
        &self.state
    }

    /// Decides `command` on that state.
    pub fn when(self, command: &D::Command) -> Then<D> {
        Then {
            outcome: D::decide(command, &self.state, self.now),
            state: self.state,
        }
    }
}

/// The decision, to check.
pub struct Then<D: Decider> {
    state: D::State,
    outcome: Result<Vec<D::Event>, Rejection>,
}

impl<D: Decider> Then<D>
where
    D::Event: Debug,
{
    /// The events decided; panics (with the rejection) when the command was refused.
    #[allow(clippy::panic)]
    pub fn events(self) -> Vec<D::Event> {
        match self.outcome {
            Ok(events) => events,
            Err(rejection) => panic!("expected events, the command was refused: {rejection}"),
        }
    }

    /// Checks the events decided are exactly `expected`.
    pub fn then(self, expected: &[D::Event])
    where
        D::Event: PartialEq,
    {
        assert_eq!(self.events(), expected);
    }

    /// The state after the events decided are applied.
    pub fn state_after(self) -> D::State {
        let state = self.state;
        match self.outcome {
            Ok(events) => events.iter().fold(state, |s, e| D::evolve(s, e)),
            Err(rejection) => {
                panic!("expected events, the command was refused: {rejection}")
            }
        }
    }

    /// The rejection; panics when the command was accepted.
    pub fn rejection(self) -> Rejection {
        match self.outcome {
            Ok(events) => panic!("expected a rejection, the command decided {events:?}"),
            Err(rejection) => rejection,
        }
    }

    /// Checks the command was refused by `rule`, and returns the rejection.
    pub fn then_rejected(self, rule: &str) -> Rejection {
        let rejection = self.rejection();
        assert_eq!(rejection.rule, rule, "refused by another rule: {rejection}");
        rejection
    }
}

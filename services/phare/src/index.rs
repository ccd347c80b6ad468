//! Which deployments and label applications exist, by owner and year: an in-memory
//! projection of their creation events (`DeploymentCreated`, `LabelDrafted`), for the
//! lists by department. A lookup by owner does not need it (stream ids derive from owner
//! and year) and reads the streams themselves.

use std::collections::BTreeMap;
use std::sync::Arc;

use pharos_access::Projected;
use pharos_events::phare::{
    DEPLOYMENT_CATEGORY, DeploymentEvent, DeploymentOwner, LABEL_CATEGORY, LabelEvent, LabelLevel,
    SchoolYear,
};
use pharos_events::{DepartmentCode, Uai};
use pharos_eventstore::RecordedEvent;
use uuid::Uuid;

/// The projection as the handlers hold it (an axum extension).
pub type Index = Arc<Projected<PhareIndex>>;

/// A deployment as the lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentEntry {
    pub owner: DeploymentOwner,
    pub school_year: SchoolYear,
}

/// A label application as the lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelEntry {
    pub school_uai: Uai,
    pub department: DepartmentCode,
    pub school_year: SchoolYear,
    pub target_level: LabelLevel,
}

#[derive(Debug, Default)]
pub struct PhareIndex {
    pub deployments: BTreeMap<Uuid, DeploymentEntry>,
    pub labels: BTreeMap<Uuid, LabelEntry>,
}

/// The id of a stream of `category`.
fn id_in(category: &str, stream_id: &str) -> Option<Uuid> {
    stream_id
        .strip_prefix(category)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|id| Uuid::parse_str(id).ok())
}

impl PhareIndex {
    pub fn apply(&mut self, event: &RecordedEvent) {
        if let Some(id) = id_in(DEPLOYMENT_CATEGORY, &event.stream_id) {
            if let Some(e) = pharos_events::decode::<DeploymentEvent>(event) {
                self.note_deployment(id, &e);
            }
        } else if let Some(id) = id_in(LABEL_CATEGORY, &event.stream_id)
            && let Some(e) = pharos_events::decode::<LabelEvent>(event)
        {
            self.note_label(id, &e);
        }
    }

    /// One event of deployment `id`; applying it twice changes nothing more.
    pub fn note_deployment(&mut self, id: Uuid, event: &DeploymentEvent) {
        if let DeploymentEvent::DeploymentCreated { owner, school_year } = event {
            self.deployments.insert(
                id,
                DeploymentEntry {
                    owner: owner.clone(),
                    school_year: *school_year,
                },
            );
        }
    }

    /// One event of label application `id`; applying it twice changes nothing more.
    pub fn note_label(&mut self, id: Uuid, event: &LabelEvent) {
        if let LabelEvent::LabelDrafted {
            school_uai,
            department,
            school_year,
            target_level,
            ..
        } = event
        {
            self.labels.insert(
                id,
                LabelEntry {
                    school_uai: school_uai.clone(),
                    department: department.clone(),
                    school_year: *school_year,
                    target_level: *target_level,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_creations_once_and_ignores_the_rest() {
        let owner = DeploymentOwner::School {
            uai: Uai::parse("0310001H").unwrap(),
            department: DepartmentCode::parse("31").unwrap(),
        };
        let year = SchoolYear::parse("2026-2027").unwrap();
        let created = DeploymentEvent::DeploymentCreated {
            owner: owner.clone(),
            school_year: year,
        };
        let mut index = PhareIndex::default();
        let id = Uuid::from_u128(1);
        index.note_deployment(id, &created);
        index.note_deployment(id, &created);
        index.note_deployment(
            id,
            &DeploymentEvent::CharterSigned {
                signed_on: "2026-09-20".parse().unwrap(),
            },
        );
        assert_eq!(index.deployments.len(), 1);
        assert_eq!(
            index.deployments[&id],
            DeploymentEntry {
                owner,
                school_year: year
            }
        );
        assert!(index.labels.is_empty());
    }
}

//! Schools as actions need them: found in the access layer's reference projection
//! (read through on a miss), or read whole from the `school` category for the expected
//! reports.

use std::collections::BTreeMap;

use pharos_access::Access;
use pharos_decider::Rejection;
use pharos_events::national_day::ActionSchool;
use pharos_events::school::{CATEGORY as SCHOOL_CATEGORY, SchoolEvent};
use pharos_events::{DepartmentCode, SchoolKind, Uai};
use pharos_eventstore::{EventStore, GlobalPosition, StoreError};
use pharos_web::Problem;

const PAGE: usize = 1000;

/// A school as the reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSchool {
    pub uai: Uai,
    pub name: String,
    pub kind: SchoolKind,
    pub department: DepartmentCode,
    pub closed: bool,
}

/// The school an action names: registered in the directory and still open.
pub async fn open_school(
    access: &Access,
    field: &'static str,
    uai: &Uai,
) -> Result<ActionSchool, Problem> {
    let Some(school) = access.reference.school(uai).await? else {
        return Err(Rejection::invalid(
            "school-unknown",
            field,
            format!(
                "L'établissement {uai} n'est pas enregistré dans le répertoire des établissements."
            ),
        )
        .into());
    };
    if school.closed {
        return Err(Rejection::invalid(
            "school-closed",
            field,
            format!("L'établissement {uai} est fermé : il ne peut plus déclarer d'action."),
        )
        .into());
    }
    Ok(ActionSchool {
        uai: school.uai,
        department: school.department,
    })
}

/// The name of a school, when known.
pub async fn name(access: &Access, uai: &Uai) -> Option<String> {
    access
        .reference
        .school(uai)
        .await
        .ok()
        .flatten()
        .map(|s| s.name)
}

/// Every school of the directory, read from the store (the reports count them all, and
/// must not miss one registered a moment ago).
pub async fn every_school(store: &EventStore) -> Result<Vec<KnownSchool>, StoreError> {
    let mut schools: BTreeMap<Uai, KnownSchool> = BTreeMap::new();
    let categories = [SCHOOL_CATEGORY.to_owned()];
    let mut after = GlobalPosition::START;
    loop {
        let page = store.read_all(after, PAGE, &categories).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in &page {
            match pharos_events::decode::<SchoolEvent>(event) {
                Some(SchoolEvent::SchoolRegistered(r) | SchoolEvent::SchoolUpdated(r)) => {
                    let closed = schools.get(&r.uai).is_some_and(|s| s.closed);
                    schools.insert(
                        r.uai.clone(),
                        KnownSchool {
                            uai: r.uai,
                            name: r.name,
                            kind: r.kind,
                            department: r.department,
                            closed,
                        },
                    );
                }
                Some(SchoolEvent::SchoolClosed { .. }) => {
                    let uai = &event.stream_id[SCHOOL_CATEGORY.len() + 1..];
                    if let Some(s) = Uai::parse(uai).ok().and_then(|u| schools.get_mut(&u)) {
                        s.closed = true;
                    }
                }
                None => {}
            }
        }
    }
    Ok(schools.into_values().collect())
}

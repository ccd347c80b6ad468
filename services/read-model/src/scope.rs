//! What a caller sees of the read model: the union of what every role it holds (its
//! primary role and its grants) reaches. Out-of-scope rows are absent from lists, never
//! an error.

use pharos_access::{Actor, Reference, Scope};
use pharos_events::Role;

/// The departments and schools a caller reaches.
#[derive(Debug, Default, Clone)]
pub struct Visibility {
    /// The whole academy (admins, pole managers).
    pub all: bool,
    /// Departments reached by a referent's scope.
    pub departments: Vec<String>,
    /// Schools reached by a school's scope.
    pub schools: Vec<String>,
    /// The departments of those schools: their plannings (trainings and sessions) and the
    /// orientation directory of their department.
    pub school_departments: Vec<String>,
}

impl Visibility {
    pub async fn of(actor: &Actor, reference: &Reference) -> Self {
        let mut seen = Self::default();
        for (role, scope) in actor.held() {
            match scope {
                Scope::Platform | Scope::Academy => seen.all = true,
                Scope::Department(department) => seen.departments.push(department.to_string()),
                Scope::School(uai) if role == Role::School => {
                    seen.schools.push(uai.to_string());
                    if let Ok(Some(school)) = reference.school(uai).await {
                        seen.school_departments.push(school.department.to_string());
                    }
                }
                _ => {}
            }
        }
        seen
    }

    /// Departments whose plannings and partners the caller sees.
    pub fn planning_departments(&self) -> Vec<String> {
        let mut all = self.departments.clone();
        all.extend(self.school_departments.iter().cloned());
        all.sort();
        all.dedup();
        all
    }
}

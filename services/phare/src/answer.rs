//! Answers shared by deployments and labels: a creation refused because the resource
//! exists (409 with its id and a `Location`), and a bounded page of a list.

use pharos_decider::Rejection;
use pharos_eventstore::StoreError;
use pharos_web::Problem;
use uuid::Uuid;

/// A command's failure: a rule's refusal kept as such (to answer more than a problem),
/// or any other problem.
#[derive(Debug)]
pub enum Failed {
    Rejected(Rejection),
    Problem(Problem),
}

impl From<Rejection> for Failed {
    fn from(rejection: Rejection) -> Self {
        Self::Rejected(rejection)
    }
}

impl From<StoreError> for Failed {
    fn from(error: StoreError) -> Self {
        Self::Problem(error.into())
    }
}

impl From<Problem> for Failed {
    fn from(problem: Problem) -> Self {
        Self::Problem(problem)
    }
}

impl From<Failed> for Problem {
    fn from(failed: Failed) -> Self {
        match failed {
            Failed::Rejected(rejection) => rejection.into(),
            Failed::Problem(problem) => problem,
        }
    }
}

/// The 409 of a creation whose resource exists at `location`, with its id.
pub fn existing(rejection: Rejection, existing_id: Uuid, location: &str) -> Problem {
    Problem::from(rejection).with_existing(existing_id, location)
}

/// Which deployments or labels to list: a school's (`school_uai`), a circonscription's
/// (`circonscription` and `department`) or a department's (`department`); without a
/// filter, all those in the caller's scope. A filter outside the scope is refused (403).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OwnerFilter {
    /// Année scolaire ; toutes par défaut.
    #[param(example = "2026-2027")]
    pub school_year: Option<String>,
    /// UAI de l'établissement.
    #[param(example = "0310001H")]
    pub school_uai: Option<String>,
    /// Circonscription, telle que l'écrit le répertoire (avec `department`) ; pour les
    /// candidatures, celles de ses écoles.
    #[param(example = "Toulouse Nord")]
    pub circonscription: Option<String>,
    /// Département.
    #[param(example = "31")]
    pub department: Option<String>,
    /// Nombre d'éléments par page : 100 par défaut, 500 au plus.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Nombre d'éléments à sauter (pagination).
    pub offset: Option<u32>,
}

/// Lists answer at most this many items per page.
pub const PAGE_MAX: usize = 500;
/// Items per page unless `limit` says otherwise.
pub const PAGE_DEFAULT: usize = 100;

/// The page of `items` from `offset`, `limit` long (at most [`PAGE_MAX`]), with the
/// number of items in all.
pub fn page<T>(items: Vec<T>, limit: Option<u32>, offset: Option<u32>) -> (Vec<T>, usize) {
    let total = items.len();
    let limit = limit.map_or(PAGE_DEFAULT, |l| (l as usize).clamp(1, PAGE_MAX));
    let offset = offset.map_or(0, |o| o as usize);
    (items.into_iter().skip(offset).take(limit).collect(), total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_bounded() {
        let items: Vec<u32> = (0..1000).collect();
        let (first, total) = page(items.clone(), None, None);
        assert_eq!((first.len(), total), (PAGE_DEFAULT, 1000));
        let (big, _) = page(items.clone(), Some(10_000), Some(0));
        assert_eq!(big.len(), PAGE_MAX);
        let (last, _) = page(items, Some(0), Some(999));
        assert_eq!(last, [999]);
    }
}

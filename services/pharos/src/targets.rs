//! The one table of targets. `--target`, `serve`, `/api/v1/openapi.json` and
//! `pharos openapi` all derive from it; adding a target is one line here.

use pharos_kit::Target;

/// Every target, in start order (`directory` first: it creates the first account).
///
/// Statics, here and in the target crates, not consts: a const's closures (each target's
/// `start` with its router, its GraphQL schema, its handlers) are compiled in every crate
/// that uses the const, so this crate and the binary compiled every target again, alone
/// at the end of a cold release build (319 of its 830 s on 2 cores; 97 s with statics). A
/// static's are compiled once, in the target's crate, beside the others.
pub static TARGETS: &[&Target] = &[
    &pharos_directory::TARGET,
    &pharos_trainings::TARGET,
    &pharos_cohorts::TARGET,
    &pharos_national_day::TARGET,
    &pharos_contests::TARGET,
    &pharos_phare::TARGET,
    &pharos_read_model::TARGET,
    &pharos_reminders::TARGET,
    &pharos_pages::TARGET,
];

/// The names of every target.
pub fn names() -> Vec<&'static str> {
    TARGETS.iter().map(|t| t.name).collect()
}

/// The names of `targets`.
pub fn names_of(targets: &[&Target]) -> Vec<&'static str> {
    targets.iter().map(|t| t.name).collect()
}

/// The OpenAPI document of `targets`, with the answers every operation shares.
pub fn openapi<'a>(targets: impl IntoIterator<Item = &'a Target>) -> utoipa::openapi::OpenApi {
    pharos_web::api::merged(targets.into_iter().map(|t| (t.openapi)()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_category_has_one_owner() {
        let mut names = names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TARGETS.len());
        let mut owned: Vec<&str> = TARGETS
            .iter()
            .flat_map(|t| t.owns.iter().copied())
            .collect();
        let count = owned.len();
        owned.sort_unstable();
        owned.dedup();
        assert_eq!(owned.len(), count, "a category owned twice: {owned:?}");
    }

    #[test]
    fn every_target_documents_its_operations_completely() {
        for target in TARGETS {
            let problems = pharos_web::api::incomplete(&(target.openapi)(), target.name);
            assert!(problems.is_empty(), "{}: {problems:#?}", target.name);
        }
    }

    #[test]
    fn every_secured_operation_documents_401_and_every_command_422() {
        let document = openapi(TARGETS.iter().copied());
        let mut checked = 0;
        for (method, path, operation) in pharos_web::api::operations(&document) {
            let answers = &operation.responses.responses;
            let public = serde_json::to_value(&operation.security)
                .is_ok_and(|v| v == serde_json::json!([{}]));
            assert!(public || answers.contains_key("401"), "{method} {path}");
            assert!(
                method == "GET" || answers.contains_key("422"),
                "{method} {path}"
            );
            assert!(answers.contains_key("503"), "{method} {path}");
            checked += 1;
        }
        assert!(checked > 40, "only {checked} operations");
    }
}

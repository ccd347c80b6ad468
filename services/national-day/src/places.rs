//! Schools as actions need them: found in the access layer's reference projection
//! (read through on a miss).

use pharos_access::Access;
use pharos_decider::Rejection;
use pharos_events::Uai;
use pharos_events::national_day::ActionSchool;
use pharos_web::Problem;

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

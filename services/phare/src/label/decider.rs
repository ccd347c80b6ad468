//! The label application as a decider: one application per school and school year,
//! `draft → submitted → under_review → awarded(level) | not_awarded`, and
//! `under_review → returned(reason) → submitted` when the pole sends it back to the school.
//!
//! Criteria answered by the school may change while the application is a draft; the
//! criteria the pole answers (contest participation) may change until the decision.
//! Submitting needs every school criterion of the target level answered; awarding a level
//! needs every criterion of that level met. A decision on a submitted application the
//! pole has not started examining records the review's start and the decision in one
//! batch, so `under_review` is always in the history. No HTTP here.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_domain::compliance::Compliance;
use pharos_events::phare::{
    CriterionAuthority, CriterionSpec, LabelEvent, LabelLevel, LevelChecklist, SchoolYear,
};
use pharos_events::{DepartmentCode, Uai};
use uuid::Uuid;

use crate::check_school_year;

/// Longest evidence text kept with an answer.
pub const MAX_EVIDENCE_CHARS: usize = 2000;

/// Label streams' ids are derived from school and year: one application per school and
/// year, and earlier years' applications are found without a scan.
const NAMESPACE: Uuid = Uuid::from_u128(0x7068_6172_655f_6c61_6265_6c73_5f76_3100);

pub fn label_id(uai: &Uai, year: SchoolYear) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("label:{uai}:{year}").as_bytes())
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelStatus {
    #[default]
    Draft,
    Submitted,
    UnderReview,
    Awarded,
    NotAwarded,
    /// Sent back to the school by the pole, with a reason: the school corrects its
    /// answers and submits again.
    Returned,
}

impl LabelStatus {
    fn decided(self) -> bool {
        matches!(self, Self::Awarded | Self::NotAwarded)
    }

    /// The school may change its answers and submit.
    fn with_the_school(self) -> bool {
        matches!(self, Self::Draft | Self::Returned)
    }
}

/// What was applied for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub school_uai: Uai,
    pub department: DepartmentCode,
    pub school_year: SchoolYear,
    pub target_level: LabelLevel,
    pub checklists: Vec<LevelChecklist>,
}

impl Application {
    pub fn checklist(&self, level: LabelLevel) -> Option<&[CriterionSpec]> {
        self.checklists
            .iter()
            .find(|c| c.level == level)
            .map(|c| c.criteria.as_slice())
    }

    /// A criterion of any level up to the target.
    pub fn criterion(&self, key: &str) -> Option<&CriterionSpec> {
        self.checklists
            .iter()
            .flat_map(|c| &c.criteria)
            .find(|c| c.key == key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub met: bool,
    pub evidence: Option<String>,
}

/// An application as its events leave it.
#[derive(Debug, Clone, Default)]
pub struct LabelState {
    pub application: Option<Application>,
    pub answers: BTreeMap<String, Answer>,
    pub status: LabelStatus,
    pub awarded_level: Option<LabelLevel>,
    pub decision_reason: Option<String>,
    /// Why the pole last returned the application to the school.
    pub return_reason: Option<String>,
}

impl LabelState {
    /// The criteria of `level` not (yet) met, in checklist order: neither answered met
    /// nor among `recorded`, the criteria a recorded fact meets (contest participation).
    pub fn unmet(&self, level: LabelLevel, recorded: &BTreeSet<String>) -> Vec<&CriterionSpec> {
        self.application
            .as_ref()
            .and_then(|a| a.checklist(level))
            .unwrap_or_default()
            .iter()
            .filter(|c| !self.answers.get(&c.key).is_some_and(|a| a.met))
            .filter(|c| !recorded.contains(&c.key))
            .collect()
    }
}

/// What the pole decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Awarded,
    NotAwarded,
}

#[derive(Debug, Clone)]
pub enum LabelCommand {
    /// `earlier_best`: the highest level the school was awarded in an earlier year.
    Draft {
        application: Application,
        earlier_best: Option<LabelLevel>,
        progressive: bool,
    },
    Answer {
        criterion: String,
        met: bool,
        evidence: Option<String>,
    },
    Submit,
    Review,
    /// `level`: for an award, the level awarded (the target when absent). `recorded`:
    /// the criteria a recorded fact meets (contest participation, from the contest's
    /// events), whatever their answer.
    Decide {
        outcome: Outcome,
        level: Option<LabelLevel>,
        reason: String,
        recorded: BTreeSet<String>,
    },
    /// The pole returns the application under review to the school.
    Return {
        reason: String,
    },
}

fn list(criteria: &[&CriterionSpec]) -> String {
    criteria
        .iter()
        .map(|c| format!("« {} »", c.label))
        .collect::<Vec<_>>()
        .join(" ; ")
}

/// The label application's decider.
#[derive(Debug)]
pub struct Label;

impl Decider for Label {
    type State = LabelState;
    type Command = LabelCommand;
    type Event = LabelEvent;

    fn evolve(mut state: LabelState, event: &LabelEvent) -> LabelState {
        match event {
            LabelEvent::LabelDrafted {
                school_uai,
                department,
                school_year,
                target_level,
                checklists,
            } => {
                state.application = Some(Application {
                    school_uai: school_uai.clone(),
                    department: department.clone(),
                    school_year: *school_year,
                    target_level: *target_level,
                    checklists: checklists.clone(),
                });
                state.status = LabelStatus::Draft;
            }
            LabelEvent::CriterionAnswered {
                criterion,
                met,
                evidence,
            } => {
                state.answers.insert(
                    criterion.clone(),
                    Answer {
                        met: *met,
                        evidence: evidence.clone(),
                    },
                );
            }
            LabelEvent::LabelSubmitted => state.status = LabelStatus::Submitted,
            LabelEvent::LabelReviewStarted => state.status = LabelStatus::UnderReview,
            LabelEvent::LabelAwarded { level, reason } => {
                state.status = LabelStatus::Awarded;
                state.awarded_level = Some(*level);
                state.decision_reason = Some(reason.clone());
            }
            LabelEvent::LabelNotAwarded { reason } => {
                state.status = LabelStatus::NotAwarded;
                state.decision_reason = Some(reason.clone());
            }
            LabelEvent::LabelReturned { reason } => {
                state.status = LabelStatus::Returned;
                state.return_reason = Some(reason.clone());
            }
        }
        state
    }

    fn decide(
        command: &LabelCommand,
        state: &LabelState,
        now: DateTime<Utc>,
    ) -> Result<Vec<LabelEvent>, Rejection> {
        if let LabelCommand::Draft {
            application,
            earlier_best,
            progressive,
        } = command
        {
            return draft(state, application, *earlier_best, *progressive, now);
        }
        let Some(application) = &state.application else {
            return Err(Rejection::not_found(
                "label-unknown",
                "Cette candidature au label pHARe n'existe pas.",
            ));
        };
        let decided = || {
            Rejection::conflict(
                "label-decided",
                "Le pôle a déjà rendu sa décision sur cette candidature : elle ne change plus.",
            )
        };
        match command {
            // Decided above, before the application had to exist.
            LabelCommand::Draft { .. } => Ok(vec![]),
            LabelCommand::Answer {
                criterion,
                met,
                evidence,
            } => {
                let Some(spec) = application.criterion(criterion) else {
                    let mut criteria: Vec<&CriterionSpec> = Vec::new();
                    for spec in application.checklists.iter().flat_map(|c| &c.criteria) {
                        if !criteria.iter().any(|c| c.key == spec.key) {
                            criteria.push(spec);
                        }
                    }
                    return Err(Rejection::invalid(
                        "criterion-unknown",
                        "criterion",
                        format!(
                            "« {criterion} » n'est pas un critère du label {} pour {} ; critères : {}.",
                            application.target_level,
                            application.school_year,
                            list(&criteria)
                        ),
                    ));
                };
                if evidence
                    .as_ref()
                    .is_some_and(|e| e.chars().count() > MAX_EVIDENCE_CHARS)
                {
                    return Err(Rejection::invalid(
                        "evidence-too-long",
                        "evidence",
                        format!(
                            "Le justificatif dépasse {MAX_EVIDENCE_CHARS} caractères : résumez-le."
                        ),
                    ));
                }
                match spec.answered_by {
                    CriterionAuthority::School if !state.status.with_the_school() => {
                        return Err(Rejection::conflict(
                            "label-not-draft",
                            "La candidature est déposée : ses critères ne se modifient plus.",
                        ));
                    }
                    CriterionAuthority::Pole if state.status.decided() => return Err(decided()),
                    _ => {}
                }
                let answer = Answer {
                    met: *met,
                    evidence: evidence.clone(),
                };
                if state.answers.get(criterion) == Some(&answer) {
                    return Ok(vec![]);
                }
                Ok(vec![LabelEvent::CriterionAnswered {
                    criterion: criterion.clone(),
                    met: *met,
                    evidence: evidence.clone(),
                }])
            }
            LabelCommand::Submit => {
                if !state.status.with_the_school() {
                    return Err(Rejection::conflict(
                        "label-not-draft",
                        "La candidature est déjà déposée.",
                    ));
                }
                let unanswered: Vec<&CriterionSpec> = application
                    .checklist(application.target_level)
                    .unwrap_or_default()
                    .iter()
                    .filter(|c| c.answered_by == CriterionAuthority::School)
                    .filter(|c| !state.answers.contains_key(&c.key))
                    .collect();
                if !unanswered.is_empty() {
                    return Err(Rejection::conflict(
                        "criteria-unanswered",
                        format!(
                            "Avant de déposer la candidature au label {}, répondez à chaque critère ; \
                             sans réponse : {}.",
                            application.target_level,
                            list(&unanswered)
                        ),
                    ));
                }
                Ok(vec![LabelEvent::LabelSubmitted])
            }
            LabelCommand::Review => match state.status {
                LabelStatus::Submitted => Ok(vec![LabelEvent::LabelReviewStarted]),
                LabelStatus::UnderReview => Ok(vec![]),
                LabelStatus::Draft => Err(not_submitted()),
                LabelStatus::Returned => Err(returned()),
                LabelStatus::Awarded | LabelStatus::NotAwarded => Err(decided()),
            },
            LabelCommand::Return { reason } => {
                let mut events = match state.status {
                    LabelStatus::Draft => return Err(not_submitted()),
                    LabelStatus::Returned => return Err(returned()),
                    LabelStatus::Awarded | LabelStatus::NotAwarded => return Err(decided()),
                    LabelStatus::Submitted => vec![LabelEvent::LabelReviewStarted],
                    LabelStatus::UnderReview => vec![],
                };
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(Rejection::invalid(
                        "return-reason-missing",
                        "reason",
                        "Indiquez pourquoi la candidature est renvoyée : l'établissement \
                         le lira pour corriger ses réponses.",
                    ));
                }
                events.push(LabelEvent::LabelReturned {
                    reason: reason.to_owned(),
                });
                Ok(events)
            }
            LabelCommand::Decide {
                outcome,
                level,
                reason,
                recorded,
            } => {
                let mut events = match state.status {
                    LabelStatus::Draft => return Err(not_submitted()),
                    LabelStatus::Returned => return Err(returned()),
                    LabelStatus::Awarded | LabelStatus::NotAwarded => return Err(decided()),
                    LabelStatus::Submitted => vec![LabelEvent::LabelReviewStarted],
                    LabelStatus::UnderReview => vec![],
                };
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(Rejection::invalid(
                        "decision-reason-missing",
                        "reason",
                        "Motivez la décision : l'établissement la lira.",
                    ));
                }
                match outcome {
                    Outcome::NotAwarded if level.is_some() => Err(Rejection::invalid(
                        "level-without-award",
                        "level",
                        "Un niveau ne s'indique que pour un label attribué.",
                    )),
                    Outcome::NotAwarded => {
                        events.push(LabelEvent::LabelNotAwarded {
                            reason: reason.to_owned(),
                        });
                        Ok(events)
                    }
                    Outcome::Awarded => {
                        let level = level.unwrap_or(application.target_level);
                        if level > application.target_level {
                            return Err(Rejection::invalid(
                                "award-above-target",
                                "level",
                                format!(
                                    "La candidature porte sur le label {} : le {level} ne peut pas être attribué.",
                                    application.target_level
                                ),
                            ));
                        }
                        let unmet = state.unmet(level, recorded);
                        if !unmet.is_empty() {
                            return Err(Rejection::conflict(
                                "criteria-unmet",
                                format!(
                                    "Le label {level} ne peut pas être attribué : critères non remplis : {}.",
                                    list(&unmet)
                                ),
                            ));
                        }
                        events.push(LabelEvent::LabelAwarded {
                            level,
                            reason: reason.to_owned(),
                        });
                        Ok(events)
                    }
                }
            }
        }
    }
}

fn not_submitted() -> Rejection {
    Rejection::conflict(
        "label-not-submitted",
        "La candidature est encore un brouillon : l'établissement doit la déposer avant la décision du pôle.",
    )
}

/// What a deployment's recorded facts suggest for each criterion of the target level the
/// school answers, by key: a suggestion only (the school's own answer is what counts),
/// computed when read. Criteria the pole answers (contest participation) and those no
/// fact records get none.
pub fn suggestions(application: &Application, compliance: &Compliance) -> BTreeMap<String, bool> {
    application
        .checklist(application.target_level)
        .unwrap_or_default()
        .iter()
        .filter(|c| c.answered_by == CriterionAuthority::School)
        .filter_map(|c| {
            compliance
                .label_criterion(&c.key)
                .map(|met| (c.key.clone(), met))
        })
        .collect()
}

fn returned() -> Rejection {
    Rejection::conflict(
        "label-returned",
        "La candidature a été renvoyée à l'établissement : le pôle l'examinera quand \
         l'établissement l'aura déposée à nouveau.",
    )
}

fn draft(
    state: &LabelState,
    application: &Application,
    earlier_best: Option<LabelLevel>,
    progressive: bool,
    now: DateTime<Utc>,
) -> Result<Vec<LabelEvent>, Rejection> {
    if let Some(existing) = &state.application {
        return Err(Rejection::conflict(
            "label-exists",
            format!(
                "L'établissement {} a déjà une candidature au label pour {} : une par année scolaire.",
                existing.school_uai, existing.school_year
            ),
        ));
    }
    check_school_year(application.school_year, pharos_domain::today_in_france(now))?;
    if let Some(missing) = LabelLevel::ALL
        .into_iter()
        .filter(|l| *l <= application.target_level)
        .find(|l| application.checklist(*l).is_none())
    {
        return Err(Rejection::invalid(
            "criteria-not-configured",
            "target_level",
            format!(
                "Aucune liste de critères n'est configurée pour le label {missing} en {} : \
                 adressez-vous au pôle académique.",
                application.school_year
            ),
        ));
    }
    if let Some(below) = application.target_level.below().filter(|_| progressive)
        && earlier_best.is_none_or(|best| best < below)
    {
        return Err(Rejection::conflict(
            "previous-level-missing",
            format!(
                "Les niveaux du label sont progressifs : candidater au {} suppose le {below} \
                 obtenu une année précédente.",
                application.target_level
            ),
        ));
    }
    Ok(vec![LabelEvent::LabelDrafted {
        school_uai: application.school_uai.clone(),
        department: application.department.clone(),
        school_year: application.school_year,
        target_level: application.target_level,
        checklists: application.checklists.clone(),
    }])
}

#[cfg(test)]
mod tests {
    use pharos_decider::testing::Given;

    use super::*;
    use crate::criteria::CriteriaConfig;

    const NOW: &str = "2026-11-15T10:00:00Z";

    /// `history`, decided on at [`NOW`].
    fn given(history: impl IntoIterator<Item = LabelEvent>) -> Given<Label> {
        pharos_decider::given::<Label>(history).at(NOW.parse().unwrap())
    }

    fn year() -> SchoolYear {
        SchoolYear::parse("2026-2027").unwrap()
    }

    fn application(target: LabelLevel) -> Application {
        let config = CriteriaConfig::shipped().unwrap();
        Application {
            school_uai: Uai::parse("0310001H").unwrap(),
            department: DepartmentCode::parse("31").unwrap(),
            school_year: year(),
            target_level: target,
            checklists: config.checklists_up_to(target, year()),
        }
    }

    fn drafted(target: LabelLevel) -> Vec<LabelEvent> {
        let a = application(target);
        vec![LabelEvent::LabelDrafted {
            school_uai: a.school_uai,
            department: a.department,
            school_year: a.school_year,
            target_level: a.target_level,
            checklists: a.checklists,
        }]
    }

    fn draft_command(target: LabelLevel, earlier_best: Option<LabelLevel>) -> LabelCommand {
        LabelCommand::Draft {
            application: application(target),
            earlier_best,
            progressive: true,
        }
    }

    fn answered(key: &str, met: bool) -> LabelEvent {
        LabelEvent::CriterionAnswered {
            criterion: key.into(),
            met,
            evidence: None,
        }
    }

    /// Every criterion the school answers for `target` answered `met`, then submitted.
    fn submitted(target: LabelLevel, met: bool) -> Vec<LabelEvent> {
        let mut history = drafted(target);
        let a = application(target);
        for c in a.checklist(target).unwrap() {
            if c.answered_by == CriterionAuthority::School {
                history.push(answered(&c.key, met));
            }
        }
        history.push(LabelEvent::LabelSubmitted);
        history
    }

    fn decide(outcome: Outcome, level: Option<LabelLevel>, reason: &str) -> LabelCommand {
        LabelCommand::Decide {
            outcome,
            level,
            reason: reason.into(),
            recorded: BTreeSet::new(),
        }
    }

    #[test]
    fn rejects_a_second_application_for_the_same_school_and_year() {
        given(drafted(LabelLevel::Engagement))
            .when(&draft_command(LabelLevel::Engagement, None))
            .then_rejected("label-exists");
        assert_ne!(
            label_id(&Uai::parse("0310001H").unwrap(), year()),
            label_id(&Uai::parse("0310001H").unwrap(), year().next())
        );
    }

    #[test]
    fn rejects_an_application_beyond_next_school_year() {
        let mut command = draft_command(LabelLevel::Engagement, None);
        if let LabelCommand::Draft { application, .. } = &mut command {
            application.school_year = SchoolYear::parse("2030-2031").unwrap();
        }
        given([])
            .when(&command)
            .then_rejected("school-year-out-of-range");
    }

    #[test]
    fn rejects_a_level_two_application_without_level_one_awarded_before() {
        let error = given([])
            .when(&draft_command(LabelLevel::Approfondissement, None))
            .then_rejected("previous-level-missing");
        assert!(
            error.message.contains("suppose le niveau 1 (engagement)"),
            "{}",
            error.message
        );
        given([])
            .when(&draft_command(
                LabelLevel::Approfondissement,
                Some(LabelLevel::Engagement),
            ))
            .events();
        given([])
            .when(&draft_command(
                LabelLevel::Expertise,
                Some(LabelLevel::Engagement),
            ))
            .then_rejected("previous-level-missing");
        let mut free = draft_command(LabelLevel::Expertise, None);
        if let LabelCommand::Draft { progressive, .. } = &mut free {
            *progressive = false;
        }
        // Levels are progressive only when configured so.
        given([]).when(&free).events();
    }

    #[test]
    fn rejects_an_application_for_a_level_without_configured_criteria() {
        let mut command = draft_command(LabelLevel::Engagement, None);
        if let LabelCommand::Draft { application, .. } = &mut command {
            application.checklists.clear();
        }
        given([])
            .when(&command)
            .then_rejected("criteria-not-configured");
    }

    #[test]
    fn rejects_commands_on_an_application_that_does_not_exist() {
        given([])
            .when(&LabelCommand::Submit)
            .then_rejected("label-unknown");
    }

    #[test]
    fn rejects_an_answer_to_a_criterion_not_in_the_checklist() {
        let error = given(drafted(LabelLevel::Engagement))
            .when(&LabelCommand::Answer {
                criterion: "participation_concours".into(),
                met: true,
                evidence: None,
            })
            .then_rejected("criterion-unknown");
        assert_eq!(error.field, Some("criterion"));
        assert!(
            error
                .message
                .contains("« Charte d'engagement signée et en vigueur »"),
            "{}",
            error.message
        );
    }

    #[test]
    fn rejects_an_overlong_evidence() {
        given(drafted(LabelLevel::Engagement))
            .when(&LabelCommand::Answer {
                criterion: "charte_signee".into(),
                met: true,
                evidence: Some("x".repeat(MAX_EVIDENCE_CHARS + 1)),
            })
            .then_rejected("evidence-too-long");
    }

    #[test]
    fn rejects_changing_the_schools_answers_once_submitted() {
        given(submitted(LabelLevel::Engagement, true))
            .when(&LabelCommand::Answer {
                criterion: "charte_signee".into(),
                met: false,
                evidence: None,
            })
            .then_rejected("label-not-draft");
        given(submitted(LabelLevel::Engagement, true))
            .when(&LabelCommand::Submit)
            .then_rejected("label-not-draft");
    }

    #[test]
    fn the_pole_ticks_the_contest_until_its_decision_and_not_after() {
        let mut history = submitted(LabelLevel::Approfondissement, true);
        let tick = LabelCommand::Answer {
            criterion: "participation_concours".into(),
            met: true,
            evidence: Some("Affiche déposée au concours".into()),
        };
        history.extend(given(history.clone()).when(&tick).events());
        history.extend(
            given(history.clone())
                .when(&decide(Outcome::Awarded, None, "Dossier complet"))
                .events(),
        );
        given(history).when(&tick).then_rejected("label-decided");
    }

    #[test]
    fn rejects_submitting_with_unanswered_criteria_and_lists_them() {
        let mut history = drafted(LabelLevel::Engagement);
        history.push(answered("charte_signee", true));
        let error = given(history)
            .when(&LabelCommand::Submit)
            .then_rejected("criteria-unanswered");
        assert!(
            error
                .message
                .contains("« Au moins un atelier parents organisé »"),
            "{}",
            error.message
        );
        assert!(!error.message.contains("Charte"), "{}", error.message);
        // An unmet criterion is an answer: the pole will judge; and the criterion the
        // pole ticks is not the school's to answer.
        let mut history = drafted(LabelLevel::Approfondissement);
        for c in application(LabelLevel::Engagement)
            .checklist(LabelLevel::Engagement)
            .unwrap()
        {
            history.push(answered(&c.key, false));
        }
        given(history)
            .when(&LabelCommand::Submit)
            .then(&[LabelEvent::LabelSubmitted]);
    }

    #[test]
    fn rejects_a_review_or_decision_before_submission() {
        given(drafted(LabelLevel::Engagement))
            .when(&LabelCommand::Review)
            .then_rejected("label-not-submitted");
        given(drafted(LabelLevel::Engagement))
            .when(&decide(Outcome::NotAwarded, None, "Incomplet"))
            .then_rejected("label-not-submitted");
    }

    #[test]
    fn a_decision_on_a_submitted_application_starts_the_review_in_the_same_batch() {
        let history = submitted(LabelLevel::Engagement, true);
        given(history.clone())
            .when(&decide(Outcome::Awarded, None, "Dossier exemplaire"))
            .then(&[
                LabelEvent::LabelReviewStarted,
                LabelEvent::LabelAwarded {
                    level: LabelLevel::Engagement,
                    reason: "Dossier exemplaire".into(),
                },
            ]);
        let mut reviewed = history.clone();
        reviewed.extend(given(history).when(&LabelCommand::Review).events());
        assert_eq!(
            given(reviewed.clone()).state().status,
            LabelStatus::UnderReview
        );
        given(reviewed)
            .when(&decide(Outcome::NotAwarded, None, "Protocole non présenté"))
            .then(&[LabelEvent::LabelNotAwarded {
                reason: "Protocole non présenté".into(),
            }]);
    }

    #[test]
    fn rejects_a_second_decision() {
        let mut history = submitted(LabelLevel::Engagement, true);
        history.extend(
            given(history.clone())
                .when(&decide(Outcome::NotAwarded, None, "Non"))
                .events(),
        );
        given(history.clone())
            .when(&decide(Outcome::Awarded, None, "Finalement oui"))
            .then_rejected("label-decided");
        given(history)
            .when(&LabelCommand::Review)
            .then_rejected("label-decided");
    }

    #[test]
    fn rejects_a_decision_without_a_reason() {
        let error = given(submitted(LabelLevel::Engagement, true))
            .when(&decide(Outcome::Awarded, None, "  "))
            .then_rejected("decision-reason-missing");
        assert_eq!(error.field, Some("reason"));
    }

    #[test]
    fn rejects_a_level_on_a_refusal() {
        given(submitted(LabelLevel::Engagement, true))
            .when(&decide(
                Outcome::NotAwarded,
                Some(LabelLevel::Engagement),
                "Non",
            ))
            .then_rejected("level-without-award");
    }

    #[test]
    fn rejects_awarding_above_the_level_applied_for() {
        given(submitted(LabelLevel::Engagement, true))
            .when(&decide(
                Outcome::Awarded,
                Some(LabelLevel::Approfondissement),
                "Bravo",
            ))
            .then_rejected("award-above-target");
    }

    #[test]
    fn rejects_awarding_a_level_whose_criteria_are_not_met_and_lists_them() {
        let mut history = submitted(LabelLevel::Engagement, true);
        history.insert(history.len() - 1, answered("atelier_parents", false));
        let error = given(history)
            .when(&decide(Outcome::Awarded, None, "Bravo"))
            .then_rejected("criteria-unmet");
        assert!(
            error
                .message
                .contains("critères non remplis : « Au moins un atelier parents organisé »"),
            "{}",
            error.message
        );
        // Applying for level 2 without the contest ticked: level 1 may still be awarded.
        let level2 = submitted(LabelLevel::Approfondissement, true);
        let error = given(level2.clone())
            .when(&decide(Outcome::Awarded, None, "Bravo"))
            .then_rejected("criteria-unmet");
        assert!(error.message.contains("concours"), "{}", error.message);
        // A submitted contest entry meets it without the pole's tick.
        let events = given(level2.clone())
            .when(&LabelCommand::Decide {
                outcome: Outcome::Awarded,
                level: None,
                reason: "Bravo".into(),
                recorded: BTreeSet::from(["participation_concours".to_owned()]),
            })
            .events();
        assert!(matches!(
            events.last(),
            Some(LabelEvent::LabelAwarded {
                level: LabelLevel::Approfondissement,
                ..
            })
        ));
        let events = given(level2)
            .when(&decide(
                Outcome::Awarded,
                Some(LabelLevel::Engagement),
                "Niveau 1",
            ))
            .events();
        assert!(matches!(
            events.last(),
            Some(LabelEvent::LabelAwarded {
                level: LabelLevel::Engagement,
                ..
            })
        ));
    }

    fn return_command(reason: &str) -> LabelCommand {
        LabelCommand::Return {
            reason: reason.into(),
        }
    }

    #[test]
    fn the_pole_returns_an_application_under_review_and_the_school_corrects_and_resubmits() {
        let mut history = submitted(LabelLevel::Engagement, true);
        history.push(LabelEvent::LabelReviewStarted);
        given(history.clone())
            .when(&return_command(
                "  Le protocole n'a pas été présenté au CA.  ",
            ))
            .then(&[LabelEvent::LabelReturned {
                reason: "Le protocole n'a pas été présenté au CA.".into(),
            }]);
        // Returned straight from submitted: the review's start is in the history too.
        given(submitted(LabelLevel::Engagement, true))
            .when(&return_command("À compléter"))
            .then(&[
                LabelEvent::LabelReviewStarted,
                LabelEvent::LabelReturned {
                    reason: "À compléter".into(),
                },
            ]);
        history.push(LabelEvent::LabelReturned {
            reason: "À compléter".into(),
        });
        let state = given(history.clone()).state().clone();
        assert_eq!(state.status, LabelStatus::Returned);
        assert_eq!(state.return_reason.as_deref(), Some("À compléter"));
        // The school changes its answers, then submits again.
        given(history.clone())
            .when(&LabelCommand::Answer {
                criterion: "atelier_parents".into(),
                met: true,
                evidence: Some("Atelier du 10 novembre".into()),
            })
            .then(&[LabelEvent::CriterionAnswered {
                criterion: "atelier_parents".into(),
                met: true,
                evidence: Some("Atelier du 10 novembre".into()),
            }]);
        given(history)
            .when(&LabelCommand::Submit)
            .then(&[LabelEvent::LabelSubmitted]);
    }

    #[test]
    fn rejects_returning_without_a_reason_or_in_the_wrong_state() {
        let mut under_review = submitted(LabelLevel::Engagement, true);
        under_review.push(LabelEvent::LabelReviewStarted);
        let error = given(under_review.clone())
            .when(&return_command("   "))
            .then_rejected("return-reason-missing");
        assert!(error.message.contains("renvoyée"), "{}", error.message);
        given(drafted(LabelLevel::Engagement))
            .when(&return_command("Non"))
            .then_rejected("label-not-submitted");
        let mut returned = under_review.clone();
        returned.push(LabelEvent::LabelReturned {
            reason: "À compléter".into(),
        });
        for command in [
            return_command("Encore"),
            LabelCommand::Review,
            decide(Outcome::NotAwarded, None, "Non"),
        ] {
            let error = given(returned.clone())
                .when(&command)
                .then_rejected("label-returned");
            assert!(error.message.contains("renvoyée"), "{}", error.message);
        }
        let mut decided = under_review;
        decided.push(LabelEvent::LabelNotAwarded {
            reason: "Non".into(),
        });
        given(decided)
            .when(&return_command("Trop tard"))
            .then_rejected("label-decided");
    }

    #[test]
    fn the_deployments_facts_suggest_the_schools_criteria_but_not_the_poles() {
        use pharos_domain::compliance::DeploymentFacts;
        let facts = DeploymentFacts {
            charter_signed_on: Some("2026-09-20".parse().unwrap()),
            school_year: Some(year()),
            trained_members: 3,
            coordinator_named: true,
            ..DeploymentFacts::default()
        };
        let compliance = Compliance::of(&facts, "2026-11-15".parse().unwrap());
        let suggested = suggestions(&application(LabelLevel::Expertise), &compliance);
        let expected: BTreeMap<String, bool> = [
            ("charte_signee", true),
            ("equipe_ressource_formee", false),
            ("coordonnateur_designe", true),
            ("protocole_formalise_presente", false),
            ("dix_heures_planifiees", false),
            ("atelier_parents", false),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        // Neither the contest (the pole's tick) nor the ambassadors (no fact).
        assert_eq!(suggested, expected);
    }

    /// A refusal reads as a French sentence: no field name, no code, no « (s) ».
    fn readable(message: &str) -> &str {
        assert!(
            message.starts_with(|c: char| c.is_uppercase() || c == '«'),
            "{message}"
        );
        assert!(message.ends_with('.'), "{message}");
        for token in ["_", "(s)", "(e)", "`", "{", "[", ": true", "reason"] {
            assert!(!message.contains(token), "{token} in {message}");
        }
        message
    }

    #[test]
    fn refusals_read_as_french_sentences() {
        use crate::deployment::decider::{
            Deployment, DeploymentCommand, LearningHours, Workshop, check_function,
        };
        use pharos_events::phare::{DeploymentEvent, DeploymentOwner, TeamFunction};

        let history = submitted(LabelLevel::Engagement, true);
        let refused =
            |command: &LabelCommand| given(history.clone()).when(command).rejection().message;
        assert_eq!(
            readable(&refused(&LabelCommand::Return { reason: " ".into() })),
            "Indiquez pourquoi la candidature est renvoyée : l'établissement le lira pour \
             corriger ses réponses."
        );
        assert_eq!(
            readable(&refused(&decide(Outcome::Awarded, None, " "))),
            "Motivez la décision : l'établissement la lira."
        );
        assert_eq!(
            readable(&refused(&decide(
                Outcome::NotAwarded,
                Some(LabelLevel::Engagement),
                "Non"
            ))),
            "Un niveau ne s'indique que pour un label attribué."
        );
        let unknown = given(drafted(LabelLevel::Engagement))
            .when(&LabelCommand::Answer {
                criterion: "inconnu".into(),
                met: true,
                evidence: None,
            })
            .rejection()
            .message;
        assert!(
            readable(&unknown)
                .contains("critères : « Charte d'engagement signée et en vigueur » ; "),
            "{unknown}"
        );

        assert_eq!(
            readable(
                &check_function(TeamFunction::Autre, None)
                    .unwrap_err()
                    .message
            ),
            "Pour la fonction « autre », précisez son libellé (ex. « Éducateur spécialisé »)."
        );
        let created = DeploymentEvent::DeploymentCreated {
            owner: DeploymentOwner::School {
                uai: Uai::parse("0310001H").unwrap(),
                department: DepartmentCode::parse("31").unwrap(),
            },
            school_year: year(),
        };
        let deployment_refuses = |command: &DeploymentCommand| {
            pharos_decider::given::<Deployment>([created.clone()])
                .at(NOW.parse().unwrap())
                .when(command)
                .rejection()
                .message
        };
        let hours = |planned, hours| {
            deployment_refuses(&DeploymentCommand::PlanLearningHours(LearningHours {
                planned,
                hours,
            }))
        };
        assert_eq!(
            readable(&hours(false, 10)),
            "Des heures d'apprentissage non planifiées ne se comptent pas : indiquez qu'elles \
             sont planifiées, ou 0 heure."
        );
        assert_eq!(
            readable(&hours(true, 500)),
            "Le plan compte 500 heures d'apprentissage dans l'année : au-delà de 200, c'est \
             sans doute une erreur de saisie (10 heures attendues)."
        );
        assert_eq!(
            readable(&deployment_refuses(
                &DeploymentCommand::RecordParentWorkshop(Workshop {
                    workshop_id: Uuid::nil(),
                    held_on: "2026-06-15".parse().unwrap(),
                    participants: None,
                })
            )),
            "Un atelier parents du 15/06/2026 n'appartient pas à l'année scolaire 2026-2027 de \
             ce déploiement (du 01/09/2026 au 31/08/2027)."
        );

        let options = [("cpe", 1), ("aed", 2)];
        assert_eq!(
            crate::input::choice("invalid-function", "function", "chef", &options)
                .unwrap_err()
                .message,
            "« chef » n'est pas une valeur acceptée ; valeurs acceptées : cpe, aed."
        );
        assert_eq!(
            readable(
                &crate::input::uai("school_uai", "0310001A")
                    .unwrap_err()
                    .message
            ),
            "UAI 0310001A : la lettre de contrôle devrait être H (clé des 7 chiffres)."
        );
        assert_eq!(
            crate::input::level("target_level", &serde_json::Value::from("or"))
                .unwrap_err()
                .message,
            "« or » n'est pas un niveau de label : 1 (engagement), 2 (approfondissement) ou 3 \
             (expertise)."
        );
    }
}

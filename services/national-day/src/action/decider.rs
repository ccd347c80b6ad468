//! An awareness action as a decider: declared by a school (or for it) as a draft,
//! `draft → submitted → validated | returned(reason) → published`; a returned action is
//! edited and submitted again. Its details change only while it is a draft or returned.
//!
//! The details are checked whole at each declaration and edit: at least one school and
//! one type, counts not negative, a date in the school year, within the national day's
//! window for a national-day action (the window is given with the command, read from
//! the year's national day), and not in the future for an action reported as held. No
//! HTTP here.

use chrono::{DateTime, NaiveDate, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_domain::today_in_france;
use pharos_events::national_day::{
    ActionDetails, ActionEvent, ActionPartner, ActionSchool, ActionType, AudienceLevel, Campaign,
};
use pharos_events::phare::SchoolYear;

use crate::date::short_date;
use crate::day::Edition;

/// Longest description kept.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Longest reason for a return.
pub const MAX_REASON_CHARS: usize = 2000;
/// Longest free partner name.
pub const MAX_PARTNER_NAME_CHARS: usize = 200;
/// More people than this reached by one action is a typing error.
pub const MAX_REACHED: i64 = 100_000;

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub enum ActionStatus {
    #[default]
    Draft,
    Submitted,
    Returned,
    Validated,
    Published,
}

impl ActionStatus {
    pub const ALL: [Self; 5] = [
        Self::Draft,
        Self::Submitted,
        Self::Returned,
        Self::Validated,
        Self::Published,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Returned => "returned",
            Self::Validated => "validated",
            Self::Published => "published",
        }
    }

    /// The school may change the details and submit.
    pub fn with_the_school(self) -> bool {
        matches!(self, Self::Draft | Self::Returned)
    }

    /// Counts as a report received: submitted, validated or published. A returned action
    /// is back with the school until it submits it again.
    pub fn received(self) -> bool {
        matches!(self, Self::Submitted | Self::Validated | Self::Published)
    }

    fn french(self) -> &'static str {
        match self {
            Self::Draft => "un brouillon",
            Self::Submitted => "déposée",
            Self::Returned => "renvoyée à l'établissement",
            Self::Validated => "validée",
            Self::Published => "publiée",
        }
    }
}

/// The details of an action as typed (counts as given, possibly negative), to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub schools: Vec<ActionSchool>,
    pub date: NaiveDate,
    pub types: Vec<ActionType>,
    pub audience_levels: Vec<AudienceLevel>,
    pub pupils_reached: i64,
    pub adults_reached: i64,
    pub partners: Vec<ActionPartner>,
    pub description: String,
    pub held: bool,
}

impl Draft {
    /// The draft of recorded details (to change some of them).
    pub fn of(details: &ActionDetails) -> Self {
        Self {
            schools: details.schools.clone(),
            date: details.date,
            types: details.types.clone(),
            audience_levels: details.audience_levels.clone(),
            pupils_reached: i64::from(details.pupils_reached),
            adults_reached: i64::from(details.adults_reached),
            partners: details.partners.clone(),
            description: details.description.clone(),
            held: details.held,
        }
    }
}

/// The action as its events leave it.
#[derive(Debug, Clone, Default)]
pub struct ActionState {
    pub school_year: Option<SchoolYear>,
    pub campaign: Campaign,
    pub details: Option<ActionDetails>,
    pub status: ActionStatus,
    /// Why the action was last returned to the school.
    pub return_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub enum ActionCommand {
    /// `window`: the year's national day, for a national-day action.
    Declare {
        school_year: SchoolYear,
        campaign: Campaign,
        draft: Draft,
        window: Option<Edition>,
    },
    Edit {
        draft: Draft,
        window: Option<Edition>,
    },
    Submit,
    Return {
        reason: String,
    },
    Validate,
    Publish,
}

#[derive(Debug)]
pub struct Action;

fn unknown() -> Rejection {
    Rejection::not_found("action-unknown", "Cette action n'existe pas.")
}

fn count(field: &'static str, who: &str, value: i64) -> Result<u32, Rejection> {
    if value < 0 {
        return Err(Rejection::invalid(
            "negative-count",
            field,
            format!("Le nombre {who} touchés ne peut pas être négatif ({value})."),
        ));
    }
    if value > MAX_REACHED {
        return Err(Rejection::invalid(
            "count-too-large",
            field,
            format!(
                "{value} {} touchés par une seule action : au-delà de {MAX_REACHED}, c'est sans \
                 doute une erreur de saisie.",
                who.trim_start_matches("d'").trim_start_matches("de ")
            ),
        ));
    }
    u32::try_from(value)
        .map_err(|_| Rejection::invalid("count-too-large", field, "Nombre trop grand."))
}

fn dedup<T: PartialEq + Clone>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

/// The details a draft gives, or the first rule it breaks.
pub fn check(
    draft: &Draft,
    school_year: SchoolYear,
    campaign: Campaign,
    window: Option<&Edition>,
    now: DateTime<Utc>,
) -> Result<ActionDetails, Rejection> {
    let mut schools: Vec<ActionSchool> = Vec::new();
    for school in &draft.schools {
        if !schools.iter().any(|s| s.uai == school.uai) {
            schools.push(school.clone());
        }
    }
    if schools.is_empty() {
        return Err(Rejection::invalid(
            "action-school-missing",
            "school_uai",
            "Indiquez l'établissement de l'action (son UAI), ou ses établissements pour une \
             action commune.",
        ));
    }
    let types = dedup(&draft.types);
    if types.is_empty() {
        return Err(Rejection::invalid(
            "action-type-missing",
            "types",
            format!(
                "Indiquez au moins un type d'action ; types possibles : {}.",
                ActionType::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let pupils_reached = count("pupils_reached", "d'élèves", draft.pupils_reached)?;
    let adults_reached = count("adults_reached", "d'adultes", draft.adults_reached)?;
    let date = draft.date;
    if !school_year.contains(date) {
        return Err(Rejection::invalid(
            "action-outside-school-year",
            "date",
            format!(
                "Une action du {} n'appartient pas à l'année scolaire {school_year} (du {} au {}).",
                short_date(date),
                short_date(school_year.first_day()),
                short_date(school_year.last_day())
            ),
        ));
    }
    if campaign == Campaign::NationalDay
        && let Some(edition) = window
        && !(edition.window_start..=edition.window_end).contains(&date)
    {
        return Err(Rejection::invalid(
            "action-outside-window",
            "date",
            format!(
                "Une action du {} est hors de la fenêtre de la Journée nationale {school_year} \
                 (le {}) : {}. Hors de cette fenêtre, déclarez-la comme action de prévention \
                 pendant l'année.",
                short_date(date),
                short_date(edition.date),
                edition.window_text()
            ),
        ));
    }
    if draft.held && date > today_in_france(now) {
        return Err(Rejection::invalid(
            "held-action-in-future",
            "date",
            format!(
                "Une action du {} ne peut pas être déclarée réalisée avant d'avoir eu lieu : \
                 déclarez-la comme prévue, puis comme réalisée une fois passée.",
                short_date(date)
            ),
        ));
    }
    let description = draft.description.trim().to_owned();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Rejection::invalid(
            "description-too-long",
            "description",
            format!("La description dépasse {MAX_DESCRIPTION_CHARS} caractères : résumez-la."),
        ));
    }
    if types.contains(&ActionType::Autre) && description.is_empty() {
        return Err(Rejection::invalid(
            "other-type-undescribed",
            "description",
            "Pour une action de type « autre », décrivez-la.",
        ));
    }
    let mut partners: Vec<ActionPartner> = Vec::new();
    for partner in &draft.partners {
        let partner = match partner {
            ActionPartner::Named { name } => {
                let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
                if name.is_empty() || name.chars().count() > MAX_PARTNER_NAME_CHARS {
                    return Err(Rejection::invalid(
                        "invalid-partner-name",
                        "partners",
                        format!(
                            "Le nom d'un partenaire est obligatoire ({MAX_PARTNER_NAME_CHARS} \
                             caractères au plus)."
                        ),
                    ));
                }
                ActionPartner::Named { name }
            }
            directory @ ActionPartner::Directory { .. } => directory.clone(),
        };
        if !partners.contains(&partner) {
            partners.push(partner);
        }
    }
    let mut audience_levels = dedup(&draft.audience_levels);
    audience_levels.sort();
    Ok(ActionDetails {
        schools,
        date,
        types,
        audience_levels,
        pupils_reached,
        adults_reached,
        partners,
        description,
        held: draft.held,
    })
}

impl Decider for Action {
    type State = ActionState;
    type Command = ActionCommand;
    type Event = ActionEvent;

    fn evolve(mut state: ActionState, event: &ActionEvent) -> ActionState {
        match event {
            ActionEvent::ActionDeclared {
                school_year,
                campaign,
                details,
            } => {
                state.school_year = Some(*school_year);
                state.campaign = *campaign;
                state.details = Some(details.clone());
                state.status = ActionStatus::Draft;
            }
            ActionEvent::ActionEdited { details } => state.details = Some(details.clone()),
            ActionEvent::ActionSubmitted => state.status = ActionStatus::Submitted,
            ActionEvent::ActionReturned { reason } => {
                state.status = ActionStatus::Returned;
                state.return_reason = Some(reason.clone());
            }
            ActionEvent::ActionValidated => state.status = ActionStatus::Validated,
            ActionEvent::ActionPublished => state.status = ActionStatus::Published,
        }
        state
    }

    fn decide(
        command: &ActionCommand,
        state: &ActionState,
        now: DateTime<Utc>,
    ) -> Result<Vec<ActionEvent>, Rejection> {
        if let ActionCommand::Declare {
            school_year,
            campaign,
            draft,
            window,
        } = command
        {
            if state.school_year.is_some() {
                return Err(Rejection::conflict(
                    "action-exists",
                    "Cette action est déjà déclarée.",
                ));
            }
            let details = check(draft, *school_year, *campaign, window.as_ref(), now)?;
            return Ok(vec![ActionEvent::ActionDeclared {
                school_year: *school_year,
                campaign: *campaign,
                details,
            }]);
        }
        let (Some(school_year), Some(current)) = (state.school_year, &state.details) else {
            return Err(unknown());
        };
        let not_with_the_school = || {
            Rejection::conflict(
                "action-not-editable",
                format!(
                    "L'action est {} : elle ne se modifie et ne se dépose qu'en brouillon ou \
                     renvoyée à l'établissement.",
                    state.status.french()
                ),
            )
        };
        let not_submitted = || {
            Rejection::conflict(
                "action-not-submitted",
                format!(
                    "L'action est {} : seule une action déposée se valide ou se renvoie.",
                    state.status.french()
                ),
            )
        };
        match command {
            ActionCommand::Declare { .. } => Ok(vec![]),
            ActionCommand::Edit { draft, window } => {
                if !state.status.with_the_school() {
                    return Err(not_with_the_school());
                }
                let details = check(draft, school_year, state.campaign, window.as_ref(), now)?;
                if &details == current {
                    return Ok(vec![]);
                }
                Ok(vec![ActionEvent::ActionEdited { details }])
            }
            ActionCommand::Submit => {
                if !state.status.with_the_school() {
                    return Err(not_with_the_school());
                }
                Ok(vec![ActionEvent::ActionSubmitted])
            }
            ActionCommand::Return { reason } => {
                if state.status != ActionStatus::Submitted {
                    return Err(not_submitted());
                }
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
                    return Err(Rejection::invalid(
                        "return-reason-missing",
                        "reason",
                        format!(
                            "Indiquez pourquoi l'action est renvoyée ({MAX_REASON_CHARS} \
                             caractères au plus) : l'établissement le lira pour la corriger."
                        ),
                    ));
                }
                Ok(vec![ActionEvent::ActionReturned {
                    reason: reason.to_owned(),
                }])
            }
            ActionCommand::Validate => {
                if state.status != ActionStatus::Submitted {
                    return Err(not_submitted());
                }
                Ok(vec![ActionEvent::ActionValidated])
            }
            ActionCommand::Publish => match state.status {
                ActionStatus::Validated => Ok(vec![ActionEvent::ActionPublished]),
                ActionStatus::Published => Ok(vec![]),
                _ => Err(Rejection::conflict(
                    "action-not-validated",
                    format!(
                        "L'action est {} : seule une action validée se publie.",
                        state.status.french()
                    ),
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::day::Overrides;
    use pharos_decider::given;
    use pharos_events::{DepartmentCode, Uai};
    use uuid::Uuid;

    const NOW: &str = "2025-11-20T10:00:00Z";

    fn now() -> DateTime<Utc> {
        NOW.parse().unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn year() -> SchoolYear {
        SchoolYear::parse("2025-2026").unwrap()
    }

    fn school(uai: &str) -> ActionSchool {
        ActionSchool {
            uai: Uai::parse(uai).unwrap(),
            department: DepartmentCode::parse("31").unwrap(),
        }
    }

    fn edition() -> Edition {
        Edition::of(year(), &Overrides::default()).unwrap()
    }

    fn draft() -> Draft {
        Draft {
            schools: vec![school("0310001H")],
            date: day("2025-11-06"),
            types: vec![ActionType::ProjectionDebat, ActionType::ProjectionDebat],
            audience_levels: vec![AudienceLevel::Cinquieme, AudienceLevel::Sixieme],
            pupils_reached: 120,
            adults_reached: 6,
            partners: vec![
                ActionPartner::Named {
                    name: "  Association  Les Amis ".into(),
                },
                ActionPartner::Directory {
                    partner_id: Uuid::from_u128(1),
                    name: "Maison des adolescents".into(),
                },
            ],
            description: " Projection du film puis débat. ".into(),
            held: true,
        }
    }

    fn declare(draft: Draft, campaign: Campaign) -> ActionCommand {
        ActionCommand::Declare {
            school_year: year(),
            campaign,
            draft,
            window: Some(edition()),
        }
    }

    fn declared() -> Vec<ActionEvent> {
        given::<Action>([])
            .at(now())
            .when(&declare(draft(), Campaign::NationalDay))
            .events()
    }

    fn refused(draft: Draft, campaign: Campaign, rule: &str) -> Rejection {
        given::<Action>([])
            .at(now())
            .when(&declare(draft, campaign))
            .then_rejected(rule)
    }

    #[test]
    fn a_declaration_is_checked_and_normalised() {
        let events = declared();
        let [
            ActionEvent::ActionDeclared {
                details, campaign, ..
            },
        ] = events.as_slice()
        else {
            panic!("{events:?}");
        };
        assert_eq!(*campaign, Campaign::NationalDay);
        assert_eq!(details.types, [ActionType::ProjectionDebat]);
        assert_eq!(
            details.audience_levels,
            [AudienceLevel::Sixieme, AudienceLevel::Cinquieme]
        );
        assert_eq!(details.partners[0].name(), "Association Les Amis");
        assert_eq!(details.description, "Projection du film puis débat.");
        assert_eq!((details.pupils_reached, details.adults_reached), (120, 6));
    }

    #[test]
    fn the_lifecycle_goes_from_draft_to_published_through_a_return() {
        let mut history = declared();
        let mut step = |command: ActionCommand| {
            let events = given::<Action>(history.clone())
                .at(now())
                .when(&command)
                .events();
            history.extend(events.clone());
            events
        };
        assert_eq!(step(ActionCommand::Submit), [ActionEvent::ActionSubmitted]);
        assert_eq!(
            step(ActionCommand::Return {
                reason: "  Précisez les niveaux.  ".into()
            }),
            [ActionEvent::ActionReturned {
                reason: "Précisez les niveaux.".into()
            }]
        );
        let mut fixed = draft();
        fixed.audience_levels.push(AudienceLevel::Quatrieme);
        assert!(matches!(
            step(ActionCommand::Edit {
                draft: fixed.clone(),
                window: Some(edition())
            })
            .as_slice(),
            [ActionEvent::ActionEdited { .. }]
        ));
        // The same details again change nothing.
        assert!(
            step(ActionCommand::Edit {
                draft: fixed,
                window: Some(edition())
            })
            .is_empty()
        );
        assert_eq!(step(ActionCommand::Submit), [ActionEvent::ActionSubmitted]);
        assert_eq!(
            step(ActionCommand::Validate),
            [ActionEvent::ActionValidated]
        );
        assert_eq!(step(ActionCommand::Publish), [ActionEvent::ActionPublished]);
        assert!(step(ActionCommand::Publish).is_empty());
        let state = given::<Action>(history).state().clone();
        assert_eq!(state.status, ActionStatus::Published);
        assert_eq!(
            state.return_reason.as_deref(),
            Some("Précisez les niveaux.")
        );
    }

    #[test]
    fn rejects_a_national_day_action_outside_the_window_naming_it() {
        let mut late = draft();
        late.date = day("2025-12-08");
        late.held = false;
        let error = refused(late.clone(), Campaign::NationalDay, "action-outside-window");
        assert_eq!(error.field, Some("date"));
        assert!(
            error.message.contains("du 07/10/2025 au 06/12/2025"),
            "{}",
            error.message
        );
        // Year-round, no window applies.
        assert!(
            given::<Action>([])
                .at(now())
                .when(&declare(late, Campaign::YearRound))
                .events()
                .len()
                == 1
        );
    }

    #[test]
    fn rejects_a_date_outside_the_school_year_whatever_the_campaign() {
        let mut draft = draft();
        draft.date = day("2025-08-30");
        for campaign in Campaign::ALL {
            refused(draft.clone(), campaign, "action-outside-school-year");
        }
    }

    #[test]
    fn rejects_an_action_reported_as_held_with_a_future_date() {
        let mut future = draft();
        future.date = day("2025-11-21");
        let error = refused(
            future.clone(),
            Campaign::NationalDay,
            "held-action-in-future",
        );
        assert!(error.message.contains("21/11/2025"), "{}", error.message);
        // Just after midnight in France, the day that starts there is not the future.
        let mut today = draft();
        today.date = day("2025-11-21");
        given::<Action>([])
            .at("2025-11-20T23:30:00Z".parse().unwrap())
            .when(&declare(today, Campaign::NationalDay))
            .events();
        future.held = false;
        given::<Action>([])
            .at(now())
            .when(&declare(future, Campaign::NationalDay))
            .events();
    }

    #[test]
    fn rejects_an_action_without_a_type_or_a_school() {
        let mut none = draft();
        none.types.clear();
        let error = refused(none, Campaign::NationalDay, "action-type-missing");
        assert!(
            error.message.contains("projection_debat"),
            "{}",
            error.message
        );
        let mut nowhere = draft();
        nowhere.schools.clear();
        refused(nowhere, Campaign::YearRound, "action-school-missing");
    }

    #[test]
    fn rejects_negative_or_absurd_counts_naming_the_field() {
        let mut pupils = draft();
        pupils.pupils_reached = -1;
        let error = refused(pupils, Campaign::NationalDay, "negative-count");
        assert_eq!(error.field, Some("pupils_reached"));
        assert!(error.message.contains("d'élèves"), "{}", error.message);
        let mut adults = draft();
        adults.adults_reached = -4;
        let error = refused(adults, Campaign::NationalDay, "negative-count");
        assert_eq!(error.field, Some("adults_reached"));
        let mut many = draft();
        many.pupils_reached = 1_000_000;
        refused(many, Campaign::NationalDay, "count-too-large");
    }

    #[test]
    fn rejects_an_undescribed_other_type_a_long_description_or_an_empty_partner() {
        let mut other = draft();
        other.types = vec![ActionType::Autre];
        other.description = "  ".into();
        refused(other, Campaign::NationalDay, "other-type-undescribed");
        let mut long = draft();
        long.description = "x".repeat(MAX_DESCRIPTION_CHARS + 1);
        refused(long, Campaign::NationalDay, "description-too-long");
        let mut partner = draft();
        partner.partners = vec![ActionPartner::Named { name: " ".into() }];
        refused(partner, Campaign::NationalDay, "invalid-partner-name");
    }

    #[test]
    fn changes_outside_draft_or_returned_are_conflicts() {
        let mut submitted = declared();
        submitted.push(ActionEvent::ActionSubmitted);
        for command in [
            ActionCommand::Edit {
                draft: draft(),
                window: Some(edition()),
            },
            ActionCommand::Submit,
        ] {
            given::<Action>(submitted.clone())
                .at(now())
                .when(&command)
                .then_rejected("action-not-editable");
        }
        let mut validated = submitted.clone();
        validated.push(ActionEvent::ActionValidated);
        for command in [
            ActionCommand::Edit {
                draft: draft(),
                window: Some(edition()),
            },
            ActionCommand::Submit,
        ] {
            given::<Action>(validated.clone())
                .at(now())
                .when(&command)
                .then_rejected("action-not-editable");
        }
        for command in [
            ActionCommand::Validate,
            ActionCommand::Return {
                reason: "Non".into(),
            },
        ] {
            given::<Action>(declared())
                .when(&command)
                .then_rejected("action-not-submitted");
            given::<Action>(validated.clone())
                .when(&command)
                .then_rejected("action-not-submitted");
        }
        given::<Action>(submitted.clone())
            .when(&ActionCommand::Publish)
            .then_rejected("action-not-validated");
        given::<Action>(submitted)
            .when(&ActionCommand::Return {
                reason: "   ".into(),
            })
            .then_rejected("return-reason-missing");
        given::<Action>([])
            .when(&ActionCommand::Submit)
            .then_rejected("action-unknown");
        given::<Action>(declared())
            .at(now())
            .when(&declare(draft(), Campaign::NationalDay))
            .then_rejected("action-exists");
    }
}

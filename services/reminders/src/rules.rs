//! Reminder rules as data: the shipped defaults of DOMAIN.md §6, what the pole changed
//! (`reminder-rule.<key>` streams), the checks a rule passes before it is saved, and the
//! decider that records a change.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Europe::Paris;
use pharos_decider::{Decider, Rejection};
use pharos_events::reminder::{Audience, Condition, RuleDefinition, RuleEvent, Templates, Trigger};

use crate::templates;

/// When a reminder goes by default: 08:00 in Paris, every day.
pub const DEFAULT_SCHEDULE: &str = "0 0 8 * * *";

/// 08:00 in Paris on weekdays: the attendance reminder waits for a working day.
pub const WEEKDAYS_SCHEDULE: &str = "0 0 8 * * Mon-Fri";

/// Whether a rule's reminders go as digests: to department referents about schools, one
/// mail per (rule, referent, occurrence) listing every school concerned, each school
/// still a reminder of its own in the ledger.
pub fn digests(rule: &RuleDefinition) -> bool {
    rule.audience == Audience::DepartmentReferents
        && matches!(
            rule.trigger,
            Trigger::NationalDay
                | Trigger::ContestOpening
                | Trigger::ContestDeadline
                | Trigger::CharterEnd
                | Trigger::SchoolYearStart
                | Trigger::SchoolYearEnd
        )
}

/// A rule's schedule, parsed.
#[derive(Debug, Clone)]
pub struct Schedule(cron::Schedule);

impl Schedule {
    pub fn parse(text: &str) -> Result<Self, Rejection> {
        cron::Schedule::from_str(text.trim())
            .map(Self)
            .map_err(|e| {
                Rejection::invalid(
                    "invalid-schedule",
                    "schedule",
                    format!(
                        "L'expression cron « {} » est invalide ({e}) : six champs attendus, les \
                     secondes d'abord, par exemple « 0 0 8 * * * » (tous les jours à 8 h) ou \
                     « 0 30 7 * * Mon-Fri » (en semaine à 7 h 30), à l'heure de Paris.",
                        text.trim()
                    ),
                )
            })
    }

    /// The first instant the schedule matches on or after the start of `day` in Paris:
    /// when a reminder due that day goes. `None` when it never matches again.
    pub fn first_on_or_after(&self, day: NaiveDate) -> Option<DateTime<Utc>> {
        let midnight = day.and_hms_opt(0, 0, 0)?;
        // Just before midnight, so that a schedule matching 00:00:00 matches that day;
        // on a daylight-saving change the earliest valid local instant is taken.
        let start = midnight.and_local_timezone(Paris).earliest().or_else(|| {
            (midnight + Duration::hours(1))
                .and_local_timezone(Paris)
                .earliest()
        })? - Duration::seconds(1);
        self.0.after(&start).next().map(|t| t.with_timezone(&Utc))
    }
}

fn rule(
    label: &str,
    trigger: Trigger,
    offset_days: i32,
    audience: Audience,
    condition: Condition,
    subject: &str,
    body: &str,
) -> RuleDefinition {
    let text = format!(
        "Bonjour,\n\n{body}\n\nLien : {{{{ link }}}}\n\n-- \nPharos, pôle académique de lutte contre le harcèlement\n"
    );
    let html = format!(
        "<p>Bonjour,</p>\n<p>{}</p>\n<p><a href=\"{{{{ link }}}}\">Ouvrir Pharos</a></p>\n<p>— Pharos, pôle académique de lutte contre le harcèlement</p>\n",
        body.replace("\n\n", "</p>\n<p>")
    );
    RuleDefinition {
        label: label.into(),
        enabled: true,
        trigger,
        offset_days,
        audience,
        condition,
        schedule: DEFAULT_SCHEDULE.into(),
        catch_up_days: 1,
        templates: Templates {
            subject: subject.into(),
            text,
            html,
        },
    }
}

/// A department referent's digest rule: `intro` then the list of the schools concerned,
/// each with what it has not done and its link.
fn digest(
    label: &str,
    trigger: Trigger,
    offset_days: i32,
    condition: Condition,
    subject: &str,
    intro: &str,
) -> RuleDefinition {
    let text = format!(
        "Bonjour,\n\n{intro}\n\n{{% for s in schools %}}- {{{{ s.name }}}} ({{{{ s.uai }}}}) : {{{{ s.missing }}}}\n  {{{{ s.link }}}}\n{{% endfor %}}\nVous recevez ce récapitulatif en tant que référent(e) départemental(e) ; chaque établissement reçoit aussi son propre rappel.\n\n-- \nPharos, pôle académique de lutte contre le harcèlement\n"
    );
    let html = format!(
        "<p>Bonjour,</p>\n<p>{intro}</p>\n<ul>\n{{% for s in schools %}}<li><a href=\"{{{{ s.link }}}}\">{{{{ s.name }}}}</a> ({{{{ s.uai }}}}) : {{{{ s.missing }}}}</li>\n{{% endfor %}}</ul>\n<p>Vous recevez ce récapitulatif en tant que référent(e) départemental(e) ; chaque établissement reçoit aussi son propre rappel.</p>\n<p>— Pharos, pôle académique de lutte contre le harcèlement</p>\n"
    );
    RuleDefinition {
        templates: Templates {
            subject: subject.into(),
            text,
            html,
        },
        ..rule(
            label,
            trigger,
            offset_days,
            Audience::DepartmentReferents,
            condition,
            subject,
            "",
        )
    }
}

/// The rules Pharos ships (DOMAIN.md §6), each editable by the pole.
pub fn defaults() -> Vec<(&'static str, RuleDefinition)> {
    use Audience::*;
    use Condition::{AttendanceNotEntered, DraftContestEntry, NoSubmittedAction};
    use Trigger::*;
    const NONE: Condition = Condition::None;
    let nd = "la Journée nationale « Non au harcèlement » du {{ national_day.date }}";
    let nd_first = "La Journée nationale « Non au harcèlement » du {{ national_day.date }}";
    vec![
        (
            "national_day_prepare_j30",
            rule(
                "Journée nationale : préparer (J−30)",
                NationalDay,
                -30,
                Schools,
                NONE,
                "Journée nationale « Non au harcèlement » : préparez vos actions",
                &format!(
                    "{nd_first} approche. Déclarez dès maintenant les actions prévues par {{{{ school.name }}}} ({{{{ school.uai }}}})."
                ),
            ),
        ),
        (
            "national_day_j7",
            rule(
                "Journée nationale : J−7",
                NationalDay,
                -7,
                Schools,
                NONE,
                "Journée nationale « Non au harcèlement » dans une semaine",
                &format!(
                    "{nd_first} a lieu dans une semaine. Pensez à déclarer les actions de {{{{ school.name }}}}."
                ),
            ),
        ),
        (
            "national_day_report_j7",
            rule(
                "Journée nationale : bilan des actions (J+7)",
                NationalDay,
                7,
                Schools,
                NoSubmittedAction,
                "Journée nationale : transmettez le bilan de vos actions",
                &format!(
                    "{nd_first} est passée et {{{{ school.name }}}} n'a encore transmis aucune action. Le bilan est attendu au plus tard le {{{{ national_day.report_deadline }}}}."
                ),
            ),
        ),
        (
            "national_day_report_j7_referents",
            digest(
                "Journée nationale : établissements sans bilan (J+7, référents)",
                NationalDay,
                7,
                NoSubmittedAction,
                "Journée nationale : {{ schools|length }} établissement(s) sans action transmise",
                &format!(
                    "{nd_first} est passée. Voici les établissements de votre département qui n'ont encore transmis aucune action ; le bilan est attendu au plus tard le {{{{ national_day.report_deadline }}}}."
                ),
            ),
        ),
        (
            "national_day_last_call_j21",
            rule(
                "Journée nationale : dernier rappel (J+21)",
                NationalDay,
                21,
                Schools,
                NoSubmittedAction,
                "Dernier rappel : bilan de la Journée nationale « Non au harcèlement »",
                &format!(
                    "Aucune action de {{{{ school.name }}}} n'est transmise pour {nd}. C'est le dernier rappel."
                ),
            ),
        ),
        (
            "contest_opening",
            rule(
                "Concours : ouverture",
                ContestOpening,
                0,
                Schools,
                NONE,
                "Le concours « Non au harcèlement » est ouvert",
                "La {{ contest.edition }}e édition du concours « Non au harcèlement » est ouverte. Les productions sont attendues au plus tard le {{ contest.deadline }}.",
            ),
        ),
        (
            "contest_deadline_j30",
            rule(
                "Concours : date limite J−30",
                ContestDeadline,
                -30,
                Schools,
                DraftContestEntry,
                "Concours « Non au harcèlement » : un mois avant la date limite",
                "{{ school.name }} a une participation au concours encore en brouillon. La date limite de dépôt est le {{ contest.deadline }}.",
            ),
        ),
        (
            "contest_deadline_j7",
            rule(
                "Concours : date limite J−7",
                ContestDeadline,
                -7,
                Schools,
                DraftContestEntry,
                "Concours « Non au harcèlement » : plus qu'une semaine",
                "{{ school.name }} a une participation au concours encore en brouillon. La date limite de dépôt est le {{ contest.deadline }}.",
            ),
        ),
        (
            "contest_deadline_j7_referents",
            digest(
                "Concours : participations en brouillon J−7 (référents)",
                ContestDeadline,
                -7,
                DraftContestEntry,
                "Concours « Non au harcèlement » : {{ schools|length }} participation(s) encore en brouillon",
                "La date limite de dépôt du concours « Non au harcèlement » approche. Voici les établissements de votre département dont une participation est encore en brouillon.",
            ),
        ),
        (
            "contest_deadline_j1",
            rule(
                "Concours : date limite J−1",
                ContestDeadline,
                -1,
                Schools,
                DraftContestEntry,
                "Concours « Non au harcèlement » : dernier jour demain",
                "{{ school.name }} a une participation au concours encore en brouillon : elle doit être déposée au plus tard le {{ contest.deadline }}.",
            ),
        ),
        (
            "contest_jury_j14",
            rule(
                "Concours : convocation du jury (J−14)",
                JuryDate,
                -14,
                Jurors,
                NONE,
                "Convocation au jury académique du concours « Non au harcèlement »",
                "Le jury académique de la {{ contest.edition }}e édition se réunit le {{ trigger_date }}. Les productions qui vous sont attribuées sont à noter sur Pharos.",
            ),
        ),
        (
            "session_convocation_j14",
            rule(
                "Formation : convocation (J−14)",
                SessionStart,
                -14,
                Registrants,
                NONE,
                "Convocation : {{ session.training_title }}, {{ session.starts_at }}",
                "Vous êtes inscrit(e) à la session « {{ session.training_title }} » du {{ session.starts_at }} au {{ session.ends_at }}{% if session.location %}, lieu : {{ session.location }}{% endif %}{% if session.remote_url %}, à distance : {{ session.remote_url }}{% endif %}. L'invitation à ajouter à votre agenda est jointe.",
            ),
        ),
        (
            "session_convocation_j2",
            rule(
                "Formation : rappel de convocation (J−2)",
                SessionStart,
                -2,
                Registrants,
                NONE,
                "Rappel : {{ session.training_title }}, {{ session.starts_at }}",
                "La session « {{ session.training_title }} » a lieu le {{ session.starts_at }}{% if session.location %}, lieu : {{ session.location }}{% endif %}{% if session.remote_url %}, à distance : {{ session.remote_url }}{% endif %}. L'invitation à ajouter à votre agenda est jointe.",
            ),
        ),
        (
            "session_registration_convocation",
            rule(
                "Formation : convocation dès l'inscription confirmée",
                RegistrationConfirmed,
                0,
                Registrants,
                NONE,
                "Inscription confirmée : {{ session.training_title }}, {{ session.starts_at }}",
                "Votre inscription à la session « {{ session.training_title }} » du {{ session.starts_at }} au {{ session.ends_at }} est confirmée{% if session.location %}, lieu : {{ session.location }}{% endif %}{% if session.remote_url %}, à distance : {{ session.remote_url }}{% endif %}. L'invitation à ajouter à votre agenda est jointe ; elle sera mise à jour si la session change.",
            ),
        ),
        (
            "session_cancellation_notice",
            rule(
                "Formation : avis d'annulation",
                SessionCancelled,
                0,
                Registrants,
                NONE,
                "Annulation : {{ session.training_title }}, {{ session.starts_at }}",
                "La session « {{ session.training_title }} » prévue le {{ session.starts_at }} est annulée. Motif : {{ session.cancellation_reason }}. L'invitation jointe la retire de votre agenda.",
            ),
        ),
        (
            "session_attendance_j2",
            RuleDefinition {
                schedule: WEEKDAYS_SCHEDULE.into(),
                ..rule(
                    "Formation : présences non saisies (J+2)",
                    SessionEnd,
                    2,
                    Trainers,
                    AttendanceNotEntered,
                    "Présences à saisir : {{ session.training_title }}",
                    "La session « {{ session.training_title }} » du {{ session.starts_at }} est terminée et ses présences ne sont pas encore saisies : saisissez-les pour chaque demi-journée, puis verrouillez-les.",
                )
            },
        ),
        (
            "charter_renewal_j60",
            rule(
                "pHARe : renouvellement de la charte (J−60)",
                CharterEnd,
                -60,
                Schools,
                NONE,
                "pHARe : votre charte d'engagement arrive à échéance",
                "La charte d'engagement pHARe de {{ school.name }} arrive à échéance le {{ trigger_date }}. Pensez à la renouveler.",
            ),
        ),
        (
            "phare_september_declarations",
            rule(
                "pHARe : déclarations de rentrée",
                SchoolYearStart,
                14,
                Schools,
                NONE,
                "pHARe : équipe ressource et élèves ambassadeurs de l'année",
                "L'année scolaire commence : déclarez l'équipe ressource et les élèves ambassadeurs de {{ school.name }}.",
            ),
        ),
        (
            "phare_june_report",
            rule(
                "pHARe : auto-évaluation et bilan annuel",
                SchoolYearEnd,
                0,
                Schools,
                NONE,
                "pHARe : auto-évaluation du label et bilan de l'année",
                "L'année scolaire s'achève : complétez l'auto-évaluation du label pHARe et le bilan annuel de {{ school.name }}.",
            ),
        ),
        (
            "account_invitation",
            transactional(
                "Compte : invitation et choix du mot de passe",
                AccountCreated,
                7,
                "Votre compte Pharos est ouvert",
                "Un compte Pharos ({{ account.role }}{% if account.scope %}, {{ account.scope }}{% endif %}) a été ouvert à cette adresse pour la plateforme du pôle académique de lutte contre le harcèlement.\n\nChoisissez votre mot de passe avec ce lien, à usage unique, valable jusqu'au {{ account.link_expires_at }} :",
                "Passé ce délai, demandez un nouveau lien depuis la page de connexion (« mot de passe oublié »).",
            ),
        ),
        (
            "password_reset",
            transactional(
                "Compte : lien de réinitialisation du mot de passe",
                PasswordResetRequested,
                1,
                "Réinitialisation de votre mot de passe Pharos",
                "Une réinitialisation du mot de passe de votre compte Pharos a été demandée.\n\nChoisissez un nouveau mot de passe avec ce lien, à usage unique, valable jusqu'au {{ account.link_expires_at }} :",
                "Si vous n'êtes pas à l'origine de cette demande, ignorez ce courriel : votre mot de passe reste inchangé.",
            ),
        ),
    ]
}

/// A transactional mail's rule: sent at the next evaluation after its event, within
/// `catch_up_days`, to the account itself; `link` is the set-password link.
fn transactional(
    label: &str,
    trigger: Trigger,
    catch_up_days: u32,
    subject: &str,
    before: &str,
    after: &str,
) -> RuleDefinition {
    let text = format!(
        "Bonjour,\n\n{before}\n{{{{ link }}}}\n\n{after}\n\n-- \nPharos, pôle académique de lutte contre le harcèlement\n"
    );
    let html = format!(
        "<p>Bonjour,</p>\n<p>{}</p>\n<p><a href=\"{{{{ link }}}}\">Choisir mon mot de passe</a></p>\n<p>{after}</p>\n<p>— Pharos, pôle académique de lutte contre le harcèlement</p>\n",
        before.replace("\n\n", "</p>\n<p>")
    );
    RuleDefinition {
        label: label.into(),
        enabled: true,
        trigger,
        offset_days: 0,
        audience: Audience::Account,
        condition: Condition::None,
        // Unused: these mails go at the first evaluation after their event.
        schedule: DEFAULT_SCHEDULE.into(),
        catch_up_days,
        templates: Templates {
            subject: subject.into(),
            text,
            html,
        },
    }
}

/// The shipped default of `key`.
pub fn default_of(key: &str) -> Option<RuleDefinition> {
    defaults()
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, r)| r)
}

/// A rule key: lower-case letters, digits and `_`, 3 to 60 of them.
pub fn check_key(key: &str) -> Result<(), Rejection> {
    let ok = (3..=60).contains(&key.len())
        && key.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Rejection::invalid(
            "invalid-rule-key",
            "key",
            format!(
                "La clé de règle « {key} » est invalide : de 3 à 60 lettres minuscules, chiffres \
                 ou _, en commençant par une lettre (ex. session_convocation_j2)."
            ),
        ))
    }
}

/// Every check a rule passes before it is saved; the first refusal names its field.
pub fn check(rule: &RuleDefinition) -> Result<(), Rejection> {
    if rule.label.trim().is_empty() || rule.label.chars().count() > 200 {
        return Err(Rejection::invalid(
            "invalid-label",
            "label",
            "Le libellé de la règle est obligatoire (200 caractères au plus).",
        ));
    }
    Schedule::parse(&rule.schedule)?;
    if !(-366..=366).contains(&rule.offset_days) {
        return Err(Rejection::invalid(
            "offset-out-of-range",
            "offset_days",
            format!(
                "Le décalage de {} jours est hors de l'intervalle −366 à 366.",
                rule.offset_days
            ),
        ));
    }
    if !(1..=60).contains(&rule.catch_up_days) {
        return Err(Rejection::invalid(
            "catch-up-out-of-range",
            "catch_up_days",
            format!(
                "Le rattrapage de {} jours est hors de l'intervalle 1 à 60 : un rappel plus \
                 ancien n'est jamais envoyé.",
                rule.catch_up_days
            ),
        ));
    }
    let fits = match rule.condition {
        Condition::None => true,
        Condition::NoSubmittedAction => rule.trigger == Trigger::NationalDay,
        Condition::DraftContestEntry => {
            matches!(
                rule.trigger,
                Trigger::ContestOpening | Trigger::ContestDeadline
            )
        }
        Condition::AttendanceNotEntered => rule.trigger == Trigger::SessionEnd,
    };
    if !fits {
        return Err(Rejection::invalid(
            "condition-does-not-fit-trigger",
            "condition",
            "Cette condition ne s'applique pas à ce déclencheur : no_submitted_action va avec \
             national_day, draft_contest_entry avec contest_opening ou contest_deadline, \
             attendance_not_entered avec session_end.",
        ));
    }
    let audience_fits = match rule.trigger {
        Trigger::SessionStart => {
            matches!(rule.audience, Audience::Registrants | Audience::Trainers)
        }
        // The attendance is the trainers' to enter, or the department's referents'.
        Trigger::SessionEnd => matches!(
            rule.audience,
            Audience::Registrants | Audience::Trainers | Audience::DepartmentReferents
        ),
        Trigger::SessionCancelled | Trigger::RegistrationConfirmed => {
            rule.audience == Audience::Registrants
        }
        Trigger::JuryDate => rule.audience == Audience::Jurors,
        Trigger::AccountCreated | Trigger::PasswordResetRequested => {
            rule.audience == Audience::Account
        }
        _ => matches!(
            rule.audience,
            Audience::Schools | Audience::DepartmentReferents
        ),
    };
    if !audience_fits {
        return Err(Rejection::invalid(
            "audience-does-not-fit-trigger",
            "audience",
            "Ces destinataires ne s'appliquent pas à ce déclencheur : registrants ou trainers \
             pour une session (registrants seuls pour une annulation ; department_referents aussi \
             pour la fin d'une session), jurors pour le jury, account \
             pour la création d'un compte et le mot de passe oublié, schools ou \
             department_referents sinon.",
        ));
    }
    templates::check(&rule.templates, rule.trigger, digests(rule))
        .map_err(|e| Rejection::invalid("invalid-template", e.field, e.message))
}

/// A rule's stream folded.
#[derive(Debug, Clone, Default)]
pub struct RuleState {
    pub rule: Option<RuleDefinition>,
}

#[derive(Debug, Clone)]
pub struct PutRule {
    pub key: String,
    /// The rule as it should be after the command.
    pub rule: RuleDefinition,
    /// The shipped default of the key, if any.
    pub default: Option<RuleDefinition>,
}

/// A rule: defined once (a new key), then changed by the pole.
#[derive(Debug)]
pub struct RuleDecider;

impl Decider for RuleDecider {
    type State = RuleState;
    type Command = PutRule;
    type Event = RuleEvent;

    fn evolve(_: RuleState, event: &RuleEvent) -> RuleState {
        match event {
            RuleEvent::ReminderRuleDefined { rule, .. }
            | RuleEvent::ReminderRuleChanged { rule, .. } => RuleState {
                rule: Some(rule.clone()),
            },
        }
    }

    fn decide(
        command: &PutRule,
        state: &RuleState,
        _now: DateTime<Utc>,
    ) -> Result<Vec<RuleEvent>, Rejection> {
        check(&command.rule)?;
        let Some(current) = state.rule.as_ref().or(command.default.as_ref()) else {
            return Ok(vec![RuleEvent::ReminderRuleDefined {
                key: command.key.clone(),
                rule: command.rule.clone(),
            }]);
        };
        let changed = changed_fields(current, &command.rule);
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![RuleEvent::ReminderRuleChanged {
            rule: command.rule.clone(),
            changed,
        }])
    }
}

fn changed_fields(a: &RuleDefinition, b: &RuleDefinition) -> Vec<String> {
    let mut changed = Vec::new();
    let mut note = |name: &str, differs: bool| {
        if differs {
            changed.push(name.to_owned());
        }
    };
    note("label", a.label != b.label);
    note("enabled", a.enabled != b.enabled);
    note("trigger", a.trigger != b.trigger);
    note("offset_days", a.offset_days != b.offset_days);
    note("audience", a.audience != b.audience);
    note("condition", a.condition != b.condition);
    note("schedule", a.schedule != b.schedule);
    note("catch_up_days", a.catch_up_days != b.catch_up_days);
    note("subject", a.templates.subject != b.templates.subject);
    note("text", a.templates.text != b.templates.text);
    note("html", a.templates.html != b.templates.html);
    changed
}

#[cfg(test)]
mod tests {
    use pharos_decider::given;

    use super::*;

    #[test]
    fn every_default_rule_is_valid_and_its_key_too() {
        for (key, rule) in defaults() {
            check_key(key).unwrap();
            check(&rule).unwrap_or_else(|e| panic!("{key}: {e}"));
        }
    }

    #[test]
    fn a_schedule_goes_on_its_first_match_of_the_due_day_in_paris() {
        let daily = Schedule::parse(DEFAULT_SCHEDULE).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
        // 08:00 in Paris, winter time.
        assert_eq!(
            daily.first_on_or_after(day).unwrap().to_rfc3339(),
            "2026-03-15T07:00:00+00:00"
        );
        // Summer time after the last Sunday of March.
        let summer = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        assert_eq!(
            daily.first_on_or_after(summer).unwrap().to_rfc3339(),
            "2026-03-29T06:00:00+00:00"
        );
        let weekdays = Schedule::parse("0 30 7 * * Mon-Fri").unwrap();
        // Sunday 15 March: the next Monday.
        assert_eq!(
            weekdays.first_on_or_after(day).unwrap().to_rfc3339(),
            "2026-03-16T06:30:00+00:00"
        );
    }

    #[test]
    fn refuses_an_invalid_cron_expression_naming_schedule() {
        let mut rule = default_of("session_convocation_j2").unwrap();
        rule.schedule = "every morning".into();
        let rejection = check(&rule).unwrap_err();
        assert_eq!(rejection.field, Some("schedule"));
        assert!(rejection.message.contains("cron"), "{rejection}");
    }

    #[test]
    fn records_only_what_changed_and_defines_new_keys() {
        let default = default_of("national_day_j7").unwrap();
        let mut edited = default.clone();
        edited.offset_days = -10;
        edited.enabled = false;
        let events = given::<RuleDecider>([])
            .when(&PutRule {
                key: "national_day_j7".into(),
                rule: edited.clone(),
                default: Some(default.clone()),
            })
            .events();
        assert_eq!(
            events,
            vec![RuleEvent::ReminderRuleChanged {
                rule: edited.clone(),
                changed: vec!["enabled".into(), "offset_days".into()],
            }]
        );
        let unchanged = given::<RuleDecider>(events)
            .when(&PutRule {
                key: "national_day_j7".into(),
                rule: edited,
                default: Some(default.clone()),
            })
            .events();
        assert!(unchanged.is_empty());
        let defined = given::<RuleDecider>([])
            .when(&PutRule {
                key: "custom".into(),
                rule: default,
                default: None,
            })
            .events();
        assert!(matches!(defined[0], RuleEvent::ReminderRuleDefined { .. }));
    }
}

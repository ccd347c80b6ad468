//! The French mails of the rules: minijinja templates (subject, plain text, HTML)
//! rendered against the facts of one reminder. A template is checked when its rule is
//! saved, against a sample of every value its trigger offers, with undefined values
//! refused: a mistake is the pole's to fix at save time, never a failure at send time.

use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use chrono_tz::Europe::Paris;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use pharos_events::reminder::{Templates, Trigger};
use serde::Serialize;

/// The values a template may use. Absent ones are those the trigger does not offer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MailContext {
    /// The rule's label.
    pub rule: String,
    /// The trigger date, in words (« mardi 17 mars 2026 »).
    pub trigger_date: String,
    /// Days from the sending day to the trigger date (negative once past).
    pub days_left: i64,
    /// Where to act on the platform.
    pub link: String,
    pub platform_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub school: Option<SchoolFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub national_day: Option<NationalDayFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contest: Option<ContestFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountFacts>,
    /// A department referent's digest: every school concerned, by UAI (`school` is then
    /// absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schools: Option<Vec<SchoolLine>>,
}

/// One school of a referent's digest: who, what is missing, where to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchoolLine {
    pub uai: String,
    pub name: String,
    /// What the school has not done yet, in French (« aucune action transmise »).
    pub missing: String,
    pub link: String,
}

/// An account's invitation or reset link: `link` is then the set-password link, minted
/// when the mail is built.
#[derive(Debug, Clone, Serialize)]
pub struct AccountFacts {
    /// The account's role, in French (« établissement », « référent départemental »).
    pub role: String,
    /// Its scope (a department code, a UAI), empty if none.
    pub scope: String,
    /// When the link expires (« vendredi 6 mars 2026 à 10 h 00 »).
    pub link_expires_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionFacts {
    pub training_title: String,
    /// « mardi 17 mars 2026 à 09 h 00 ».
    pub starts_at: String,
    pub ends_at: String,
    pub location: String,
    pub remote_url: String,
    /// A cancelled session's reason (empty otherwise).
    pub cancellation_reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SchoolFacts {
    pub name: String,
    pub uai: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NationalDayFacts {
    pub school_year: String,
    pub date: String,
    pub report_deadline: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContestFacts {
    pub school_year: String,
    pub edition: u32,
    pub opens_at: String,
    pub deadline: String,
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Which template failed, and why (in French).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub field: &'static str,
    pub message: String,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // The HTML body escapes what it inserts; subject and text are plain.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    // minijinja's HTML escaping also escapes `/`, which spoils links; `&<>"'` suffice
    // inside text and quoted attributes.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(text) if matches!(state.auto_escape(), AutoEscape::Html) && !value.is_safe() => {
            Ok(out.write_str(&escape_html(text))?)
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    env
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Renders the three templates; the first failure names its field.
pub fn render(templates: &Templates, context: &MailContext) -> Result<Rendered, TemplateError> {
    let env = environment();
    let context = Value::from(minijinja::value::Serde(context));
    let one = |field: &'static str, name: &str, source: &str| {
        env.template_from_named_str(name, source)
            .and_then(|t| t.render(context.clone()))
            .map_err(|e| TemplateError {
                field,
                message: describe(field, &e),
            })
    };
    let subject = one("subject", "subject.txt", &templates.subject)?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    if subject.is_empty() {
        return Err(TemplateError {
            field: "subject",
            message: "L'objet du courriel est vide une fois rendu.".into(),
        });
    }
    Ok(Rendered {
        subject,
        text: one("text", "text.txt", &templates.text)?,
        html: one("html", "body.html", &templates.html)?,
    })
}

fn describe(field: &str, error: &minijinja::Error) -> String {
    let what = match field {
        "subject" => "L'objet",
        "text" => "Le texte",
        _ => "Le HTML",
    };
    let detail = error
        .detail()
        .map_or_else(String::new, |d| format!(" : {d}"));
    let line = error
        .line()
        .map_or_else(String::new, |l| format!(" (ligne {l})"));
    let reason = match error.kind() {
        minijinja::ErrorKind::UndefinedError => "une variable inconnue pour ce déclencheur",
        minijinja::ErrorKind::SyntaxError => "une erreur de syntaxe",
        minijinja::ErrorKind::UnknownFilter => "un filtre inconnu",
        minijinja::ErrorKind::UnknownFunction => "une fonction inconnue",
        _ => "une erreur",
    };
    format!("{what} du modèle contient {reason}{line}{detail}.")
}

/// Checks the templates against a sample of what `trigger` offers, as one school's mail
/// or, for `digest`, as a referent's digest of schools.
pub fn check(templates: &Templates, trigger: Trigger, digest: bool) -> Result<(), TemplateError> {
    let mut context = sample(trigger);
    if digest {
        context = digest_of(
            context,
            vec![
                SchoolLine {
                    uai: "0310001A".into(),
                    name: "Collège Exemple".into(),
                    missing: "aucune action transmise".into(),
                    link: "https://pharos.example/national-days/2025-2026?school=0310001A".into(),
                },
                SchoolLine {
                    uai: "0310002B".into(),
                    name: "Lycée Exemple".into(),
                    missing: "aucune action transmise".into(),
                    link: "https://pharos.example/national-days/2025-2026?school=0310002B".into(),
                },
            ],
        );
    }
    render(templates, &context).map(|_| ())
}

/// A digest's context: the values of one of its reminders, its school replaced by the
/// list of every school it covers.
pub fn digest_of(mut context: MailContext, mut schools: Vec<SchoolLine>) -> MailContext {
    schools.sort_by(|a, b| a.uai.cmp(&b.uai));
    context.school = None;
    context.schools = Some(schools);
    context
}

/// Every value a trigger offers, with plausible content.
pub fn sample(trigger: Trigger) -> MailContext {
    let mut context = MailContext {
        rule: "Exemple".into(),
        trigger_date: "jeudi 6 novembre 2025".into(),
        days_left: 7,
        link: "https://pharos.example/".into(),
        platform_url: "https://pharos.example".into(),
        ..MailContext::default()
    };
    let school = SchoolFacts {
        name: "Collège Exemple".into(),
        uai: "0310001A".into(),
    };
    match trigger {
        Trigger::SessionStart
        | Trigger::SessionEnd
        | Trigger::SessionCancelled
        | Trigger::RegistrationConfirmed => {
            context.session = Some(SessionFacts {
                training_title: "Méthode de la préoccupation partagée".into(),
                starts_at: "mardi 17 mars 2026 à 09 h 00".into(),
                ends_at: "mardi 17 mars 2026 à 17 h 00".into(),
                location: "Canopé, Toulouse".into(),
                remote_url: String::new(),
                cancellation_reason: if trigger == Trigger::SessionCancelled {
                    "formateur indisponible".into()
                } else {
                    String::new()
                },
            });
        }
        Trigger::NationalDay => {
            context.school = Some(school);
            context.national_day = Some(NationalDayFacts {
                school_year: "2025-2026".into(),
                date: "jeudi 6 novembre 2025".into(),
                report_deadline: "jeudi 27 novembre 2025".into(),
            });
        }
        Trigger::ContestOpening | Trigger::ContestDeadline | Trigger::JuryDate => {
            // The jury's convocation goes to jurors, not about a school.
            if trigger != Trigger::JuryDate {
                context.school = Some(school);
            }
            context.contest = Some(ContestFacts {
                school_year: "2025-2026".into(),
                edition: 13,
                opens_at: "lundi 1 décembre 2025".into(),
                deadline: "vendredi 13 mars 2026".into(),
            });
        }
        Trigger::CharterEnd | Trigger::SchoolYearStart | Trigger::SchoolYearEnd => {
            context.school = Some(school);
        }
        Trigger::AccountCreated | Trigger::PasswordResetRequested => {
            context.link =
                "https://pharos.example/reinitialiser-mot-de-passe#jeton=eyJ0eXAiOiJKV1Qi".into();
            context.account = Some(AccountFacts {
                role: "établissement".into(),
                scope: "0310001A".into(),
                link_expires_at: "vendredi 6 mars 2026 à 10 h 00".into(),
            });
        }
    }
    context
}

const DAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// « mardi 17 mars 2026 ».
pub fn long_date(date: NaiveDate) -> String {
    format!(
        "{} {} {} {}",
        DAYS[date.weekday().num_days_from_monday() as usize],
        date.day(),
        MONTHS[date.month0() as usize],
        date.year()
    )
}

/// « mardi 17 mars 2026 à 09 h 00 », in Paris time.
pub fn long_instant<Tz: chrono::TimeZone>(instant: &DateTime<Tz>) -> String {
    let local = instant.with_timezone(&Paris);
    format!(
        "{} à {:02} h {:02}",
        long_date(local.date_naive()),
        local.hour(),
        local.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates(subject: &str) -> Templates {
        Templates {
            subject: subject.into(),
            text: "Bonjour, {{ session.training_title }}".into(),
            html: "<p>{{ session.training_title }}</p>".into(),
        }
    }

    #[test]
    fn renders_french_dates() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 17).unwrap();
        assert_eq!(long_date(date), "mardi 17 mars 2026");
        let instant: DateTime<chrono::Utc> = "2026-03-17T08:00:00Z".parse().unwrap();
        assert_eq!(long_instant(&instant), "mardi 17 mars 2026 à 09 h 00");
    }

    #[test]
    fn refuses_an_unknown_variable_and_a_syntax_error_naming_the_field() {
        let error = check(
            &templates("Convocation {{ sesion.starts_at }}"),
            Trigger::SessionStart,
            false,
        )
        .unwrap_err();
        assert_eq!(error.field, "subject");
        assert!(error.message.contains("variable inconnue"), "{error:?}");
        let error = check(&templates("{% if %}"), Trigger::SessionStart, false).unwrap_err();
        assert!(error.message.contains("syntaxe"), "{error:?}");
        // A session's values are not a national day's.
        assert!(check(&templates("Rappel"), Trigger::NationalDay, false).is_err());
        assert!(check(&templates("Rappel"), Trigger::SessionStart, false).is_ok());
    }

    #[test]
    fn a_digest_lists_schools_and_has_no_single_school() {
        let digest = Templates {
            subject: "{{ schools|length }} établissements".into(),
            text: "{% for s in schools %}{{ s.uai }} {{ s.name }} : {{ s.missing }} {{ s.link }}\n{% endfor %}"
                .into(),
            html: "<ul>{% for s in schools %}<li>{{ s.name }}</li>{% endfor %}</ul>".into(),
        };
        assert!(check(&digest, Trigger::NationalDay, true).is_ok());
        // A single school's values are not a digest's, nor the reverse.
        assert!(check(&digest, Trigger::NationalDay, false).is_err());
        let single = Templates {
            subject: "{{ school.name }}".into(),
            text: String::new(),
            html: String::new(),
        };
        let error = check(&single, Trigger::NationalDay, true).unwrap_err();
        assert_eq!(error.field, "subject");
        let rendered = render(
            &digest,
            &digest_of(
                sample(Trigger::NationalDay),
                vec![
                    SchoolLine {
                        uai: "0310002J".into(),
                        name: "B".into(),
                        missing: "rien".into(),
                        link: "l2".into(),
                    },
                    SchoolLine {
                        uai: "0310001H".into(),
                        name: "A".into(),
                        missing: "rien".into(),
                        link: "l1".into(),
                    },
                ],
            ),
        )
        .unwrap();
        assert_eq!(rendered.subject, "2 établissements");
        assert_eq!(
            rendered.text,
            "0310001H A : rien l1\n0310002J B : rien l2\n"
        );
    }

    #[test]
    fn escapes_html_but_not_the_text() {
        let mut context = sample(Trigger::SessionStart);
        if let Some(s) = context.session.as_mut() {
            s.training_title = "Élèves & parents <atelier>".into();
        }
        let rendered = render(&templates("Convocation"), &context).unwrap();
        assert_eq!(rendered.text, "Bonjour, Élèves & parents <atelier>");
        assert_eq!(rendered.html, "<p>Élèves &amp; parents &lt;atelier&gt;</p>");
    }
}

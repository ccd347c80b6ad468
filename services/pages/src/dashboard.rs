//! `GET /tableau-de-bord`: the eight indicator groups of a school year for the pole (the
//! whole academy or one department) and for a department's referents (their department),
//! with filters, a reading date (time travel), the departments on the map of France,
//! live refresh while the figures are today's, and the exports.
//!
//! The figures are the read model's `dashboard` query, asked with the user's token: a
//! referent asking for another department gets the API's refusal, not its figures.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Pages;
use crate::common::{asked_year, department_label, recent_years};
use crate::home::Me;
use crate::session::Session;

/// The URL's parameters, in French as users read them in the address bar.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default)]
    annee: String,
    #[serde(default)]
    departement: String,
    #[serde(default)]
    secteur: String,
    #[serde(default)]
    education_prioritaire: String,
    /// A day (`AAAA-MM-JJ`): the figures as they were at its end, Paris time.
    #[serde(default)]
    date: String,
}

/// The filters once checked, as the API takes them.
#[derive(Debug, Clone, Serialize)]
struct Chosen {
    school_year: String,
    department: Option<String>,
    sector: Option<String>,
    priority_education: Option<String>,
    /// `None`: now (and the page refreshes itself).
    as_of: Option<DateTime<Utc>>,
    day: Option<NaiveDate>,
}

/// A wrong filter: the field and what is expected.
#[derive(Debug, Default, Serialize)]
struct FieldErrors {
    annee: Option<String>,
    departement: Option<String>,
    secteur: Option<String>,
    education_prioritaire: Option<String>,
    date: Option<String>,
}

impl FieldErrors {
    fn any(&self) -> bool {
        self.annee.is_some()
            || self.departement.is_some()
            || self.secteur.is_some()
            || self.education_prioritaire.is_some()
            || self.date.is_some()
    }
}

pub const SECTORS: [(&str, &str); 2] = [
    ("public", "Public"),
    ("prive_sous_contrat", "Privé sous contrat"),
];
pub const PRIORITY_EDUCATION: [(&str, &str); 3] = [
    ("none", "Hors éducation prioritaire"),
    ("rep", "REP"),
    ("rep_plus", "REP+"),
];
const KINDS: [(&str, &str); 7] = [
    ("ecole", "Écoles"),
    ("college", "Collèges"),
    ("lycee_gt", "Lycées généraux et technologiques"),
    ("lycee_pro", "Lycées professionnels"),
    ("lycee_poly", "Lycées polyvalents"),
    ("erea", "EREA"),
    ("periscolaire", "Structures périscolaires"),
];

fn check(filters: &Filters, today: NaiveDate, departments: &[String]) -> (Chosen, FieldErrors) {
    let mut errors = FieldErrors::default();
    let (school_year, annee) = asked_year(&filters.annee, today);
    errors.annee = annee;
    let department = match filters.departement.trim() {
        "" => None,
        code if departments.iter().any(|d| d == code) => Some(code.to_owned()),
        code => {
            errors.departement = Some(format!(
                "« {code} » n'est pas un département de l'académie ({}).",
                departments.join(", ")
            ));
            None
        }
    };
    let sector = pick(
        &filters.secteur,
        &SECTORS,
        &mut errors.secteur,
        "un secteur",
    );
    let priority_education = pick(
        &filters.education_prioritaire,
        &PRIORITY_EDUCATION,
        &mut errors.education_prioritaire,
        "un classement d'éducation prioritaire",
    );
    let day = match filters.date.trim() {
        "" => None,
        text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) if day > today => {
                errors.date = Some(
                    "Cette date est dans le futur : choisissez aujourd'hui ou un jour passé."
                        .into(),
                );
                None
            }
            // Today's figures are the live ones.
            Ok(day) if day == today => None,
            Ok(day) => Some(day),
            Err(_) => {
                errors.date = Some(format!(
                    "« {text} » n'est pas une date (format attendu : AAAA-MM-JJ)."
                ));
                None
            }
        },
    };
    let as_of = day.and_then(end_of_day);
    (
        Chosen {
            school_year,
            department,
            sector,
            priority_education,
            as_of,
            day,
        },
        errors,
    )
}

fn pick(
    value: &str,
    allowed: &[(&str, &str)],
    error: &mut Option<String>,
    what: &str,
) -> Option<String> {
    match value.trim() {
        "" => None,
        v if allowed.iter().any(|(key, _)| *key == v) => Some(v.to_owned()),
        v => {
            *error = Some(format!(
                "« {v} » n'est pas {what} reconnu ({}).",
                allowed
                    .iter()
                    .map(|(_, label)| *label)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            None
        }
    }
}

/// The last second of `day` in Paris (in UTC). A day the clocks skip through still
/// ends at 23:59:59.
fn end_of_day(day: NaiveDate) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(23, 59, 59)?;
    Paris
        .from_local_datetime(&day.and_time(time))
        .latest()
        .map(|t| t.with_timezone(&Utc))
}

const QUERY: &str = r"
query Dashboard($schoolYear: String!, $department: String, $asOf: DateTime,
                $sector: String, $priorityEducation: String) {
  me { id role roleLabel scope }
  dashboard(schoolYear: $schoolYear, department: $department, asOf: $asOf,
            sector: $sector, priorityEducation: $priorityEducation) {
    schoolYear department asOf previousAsOf position
    trainedTeams { definitionVersion schools { ...share } circonscriptions { ...share } }
    ambassadors { definitionVersion schools { ...share } pupils { ...total } parents { ...total } }
    labels { definitionVersion labelled { ...share }
             byLevel { level number count previousYear change } }
    phareSteps { definitionVersion charterInForce { ...share } protocolPresented { ...share }
                 learningHoursPlanned { ...share } parentWorkshopHeld { ...share } }
    nationalDay { definitionVersion schoolsWithAction { ...share } reports { ...share }
                  actions pupilsReached actionsByType { key total } }
    contest { definitionVersion entries { ...total } participation { ...share }
              inadmissible { total } inadmissibleReasons(first: 5) { reason count }
              laureates { total } trend { schoolYear entries entriesChange participationChange } }
    trainings { definitionVersion sessionsPlanned sessionsHeld sessionsCancelled hoursDelivered
                attendanceRate { value count of } mppTrained schoolCoverage { ...share } }
    overdue { reportDeadline missingReports { ...share } undeclaredTeams { ...share }
              undeclaredCirconscriptionTeams { ...share } remindersPending remindersFailed
              unfinishedEntries { total } }
  }
}
fragment share on IndicatorShare {
  value count of
  byDepartment { key value count of }
  byKind { key value count of }
}
fragment total on IndicatorTotal { total byDepartment { key total } }
";

/// A figure of a group: a share (with its bar) or a count.
#[derive(Debug, Serialize)]
struct Figure {
    label: String,
    /// A share: `count / of`, `None` when `of` is 0.
    value: Option<f64>,
    count: i64,
    of: Option<i64>,
    /// What the share is measured against, when DOMAIN sets a target.
    note: Option<String>,
}

/// A breakdown table: one row per department or school kind.
#[derive(Debug, Serialize)]
struct Breakdown {
    caption: String,
    /// `share` (part, count, of) or `total`.
    shape: &'static str,
    rows: Vec<Row>,
}

#[derive(Debug, Serialize)]
struct Row {
    label: String,
    value: Option<f64>,
    count: i64,
    of: i64,
}

/// One of the eight groups of DOMAIN's indicators.
#[derive(Debug, Serialize)]
struct Group {
    id: &'static str,
    number: u8,
    title: &'static str,
    definition_version: Option<i64>,
    figures: Vec<Figure>,
    breakdowns: Vec<Breakdown>,
    /// Free lines (trend, deadlines).
    notes: Vec<String>,
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn share(label: &str, v: &Value, note: Option<&str>) -> Figure {
    Figure {
        label: label.to_owned(),
        value: v["value"].as_f64(),
        count: int(&v["count"]),
        of: Some(int(&v["of"])),
        note: note.map(str::to_owned),
    }
}

fn count(label: &str, n: i64) -> Figure {
    Figure {
        label: label.to_owned(),
        value: None,
        count: n,
        of: None,
        note: None,
    }
}

fn label_of(key: &str, labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .find(|(k, _)| *k == key)
        .map_or_else(|| key.to_owned(), |(_, l)| (*l).to_owned())
}

fn share_rows(parts: &Value, label: impl Fn(&str) -> String) -> Vec<Row> {
    parts
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Row {
            label: label(p["key"].as_str().unwrap_or_default()),
            value: p["value"].as_f64(),
            count: int(&p["count"]),
            of: int(&p["of"]),
        })
        .collect()
}

fn total_rows(parts: &Value, label: impl Fn(&str) -> String) -> Vec<Row> {
    parts
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Row {
            label: label(p["key"].as_str().unwrap_or_default()),
            value: None,
            count: int(&p["total"]),
            of: 0,
        })
        .collect()
}

fn by_department(caption: &str, v: &Value) -> Breakdown {
    Breakdown {
        caption: caption.to_owned(),
        shape: "share",
        rows: share_rows(&v["byDepartment"], department_label),
    }
}

fn by_kind(caption: &str, v: &Value) -> Breakdown {
    Breakdown {
        caption: caption.to_owned(),
        shape: "share",
        rows: share_rows(&v["byKind"], |k| label_of(k, &KINDS)),
    }
}

fn version(v: &Value) -> Option<i64> {
    v["definitionVersion"].as_i64()
}

fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// The eight groups, in DOMAIN's order, from the `dashboard` answer.
fn groups(d: &Value) -> Vec<Group> {
    let teams = &d["trainedTeams"];
    let amb = &d["ambassadors"];
    let labels = &d["labels"];
    let steps = &d["phareSteps"];
    let day = &d["nationalDay"];
    let contest = &d["contest"];
    let trainings = &d["trainings"];
    let overdue = &d["overdue"];
    let trend = &contest["trend"];
    vec![
        Group {
            id: "equipes",
            number: 1,
            title: "Équipes ressources formées",
            definition_version: version(teams),
            figures: vec![
                share(
                    "Collèges et lycées dont l'équipe compte au moins 5 membres formés",
                    &teams["schools"],
                    Some("objectif : 5 membres formés par équipe"),
                ),
                share(
                    "Circonscriptions dont l'équipe compte au moins 5 membres formés",
                    &teams["circonscriptions"],
                    Some("objectif : 5 membres formés par équipe"),
                ),
            ],
            breakdowns: vec![
                by_department("Collèges et lycées, par département", &teams["schools"]),
                by_kind("Collèges et lycées, par type", &teams["schools"]),
            ],
            notes: Vec::new(),
        },
        Group {
            id: "ambassadeurs",
            number: 2,
            title: "Élèves et parents ambassadeurs",
            definition_version: version(amb),
            figures: vec![
                share(
                    "Collèges et lycées comptant au moins 10 élèves ambassadeurs",
                    &amb["schools"],
                    Some("objectif : 10 ambassadeurs par établissement"),
                ),
                count("Élèves ambassadeurs", int(&amb["pupils"]["total"])),
                count("Parents ambassadeurs", int(&amb["parents"]["total"])),
            ],
            breakdowns: vec![by_department(
                "Établissements à 10 ambassadeurs, par département",
                &amb["schools"],
            )],
            notes: Vec::new(),
        },
        Group {
            id: "labels",
            number: 3,
            title: "Labels pHARe",
            definition_version: version(labels),
            figures: std::iter::once(share(
                "Établissements labellisés (tout niveau)",
                &labels["labelled"],
                None,
            ))
            .chain(
                labels["byLevel"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|l| Figure {
                        label: format!(
                            "Niveau {} ({})",
                            int(&l["number"]),
                            l["level"].as_str().unwrap_or_default()
                        ),
                        value: None,
                        count: int(&l["count"]),
                        of: None,
                        note: Some(format!(
                            "{} sur un an (l'an dernier : {})",
                            signed(int(&l["change"])),
                            int(&l["previousYear"])
                        )),
                    }),
            )
            .collect(),
            breakdowns: vec![by_department(
                "Établissements labellisés, par département",
                &labels["labelled"],
            )],
            notes: Vec::new(),
        },
        Group {
            id: "phare",
            number: 4,
            title: "Étapes du programme pHARe",
            definition_version: version(steps),
            figures: vec![
                share(
                    "Charte d'engagement en vigueur",
                    &steps["charterInForce"],
                    None,
                ),
                share(
                    "Protocole de traitement présenté",
                    &steps["protocolPresented"],
                    None,
                ),
                share(
                    "10 heures d'apprentissage planifiées",
                    &steps["learningHoursPlanned"],
                    None,
                ),
                share("Atelier parents tenu", &steps["parentWorkshopHeld"], None),
            ],
            breakdowns: vec![by_department(
                "Charte en vigueur, par département",
                &steps["charterInForce"],
            )],
            notes: Vec::new(),
        },
        Group {
            id: "journee-nationale",
            number: 5,
            title: "Journée nationale « Non au harcèlement »",
            definition_version: version(day),
            figures: vec![
                share(
                    "Établissements ayant mené une action",
                    &day["schoolsWithAction"],
                    None,
                ),
                share("Bilans reçus", &day["reports"], None),
                count("Actions transmises", int(&day["actions"])),
                count("Élèves touchés", int(&day["pupilsReached"])),
            ],
            breakdowns: vec![
                Breakdown {
                    caption: "Actions par type".into(),
                    shape: "total",
                    rows: total_rows(&day["actionsByType"], str::to_owned),
                },
                by_department(
                    "Établissements ayant mené une action, par département",
                    &day["schoolsWithAction"],
                ),
            ],
            notes: Vec::new(),
        },
        Group {
            id: "concours",
            number: 6,
            title: "Concours « Non au harcèlement »",
            definition_version: version(contest),
            figures: vec![
                count("Participations déposées", int(&contest["entries"]["total"])),
                share("Taux de participation", &contest["participation"], None),
                count(
                    "Participations irrecevables",
                    int(&contest["inadmissible"]["total"]),
                ),
                count(
                    "Participations lauréates",
                    int(&contest["laureates"]["total"]),
                ),
            ],
            breakdowns: vec![
                Breakdown {
                    caption: "Participations déposées, par département".into(),
                    shape: "total",
                    rows: total_rows(&contest["entries"]["byDepartment"], department_label),
                },
                Breakdown {
                    caption: "Motifs d'irrecevabilité les plus fréquents".into(),
                    shape: "total",
                    rows: contest["inadmissibleReasons"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| Row {
                            label: r["reason"].as_str().unwrap_or_default().to_owned(),
                            value: None,
                            count: int(&r["count"]),
                            of: 0,
                        })
                        .collect(),
                },
            ],
            notes: vec![format!(
                "Sur un an : {} participations ({} par rapport à {}).",
                int(&trend["entries"]),
                signed(int(&contest["entries"]["total"]) - int(&trend["entries"])),
                trend["schoolYear"].as_str().unwrap_or_default()
            )],
        },
        Group {
            id: "formations",
            number: 7,
            title: "Formations",
            definition_version: version(trainings),
            figures: vec![
                count("Sessions prévues", int(&trainings["sessionsPlanned"])),
                count("Sessions tenues", int(&trainings["sessionsHeld"])),
                count("Sessions annulées", int(&trainings["sessionsCancelled"])),
                Figure {
                    label: "Heures de formation délivrées".into(),
                    value: None,
                    count: trainings["hoursDelivered"].as_f64().unwrap_or(0.0).round() as i64,
                    of: None,
                    note: None,
                },
                share(
                    "Assiduité des sessions tenues",
                    &trainings["attendanceRate"],
                    None,
                ),
                count(
                    "Personnes formées à la méthode de la préoccupation partagée",
                    int(&trainings["mppTrained"]),
                ),
                share(
                    "Établissements ayant au moins une personne formée",
                    &trainings["schoolCoverage"],
                    None,
                ),
            ],
            breakdowns: vec![by_department(
                "Couverture, par département",
                &trainings["schoolCoverage"],
            )],
            notes: Vec::new(),
        },
        Group {
            id: "retards",
            number: 8,
            title: "Retards",
            definition_version: None,
            figures: vec![
                share(
                    "Bilans de la Journée nationale manquants",
                    &overdue["missingReports"],
                    None,
                ),
                share(
                    "Collèges et lycées sans équipe ressource déclarée",
                    &overdue["undeclaredTeams"],
                    None,
                ),
                share(
                    "Circonscriptions sans équipe ressource déclarée",
                    &overdue["undeclaredCirconscriptionTeams"],
                    None,
                ),
                count(
                    "Participations au concours restées en brouillon",
                    int(&overdue["unfinishedEntries"]["total"]),
                ),
                count("Rappels en attente", int(&overdue["remindersPending"])),
                count("Rappels en échec", int(&overdue["remindersFailed"])),
            ],
            breakdowns: vec![by_department(
                "Collèges et lycées sans équipe ressource, par département",
                &overdue["undeclaredTeams"],
            )],
            notes: overdue["reportDeadline"]
                .as_str()
                .map(|d| format!("Échéance des bilans de la Journée nationale : {d}."))
                .into_iter()
                .collect(),
        },
    ]
}

/// The map of France: each department's share of collèges and lycées with a trained
/// team, in percent (`{"31": 42.5, …}`), as the DSFR map chart takes it.
fn map_values(d: &Value) -> String {
    let values: serde_json::Map<String, Value> = d["trainedTeams"]["schools"]["byDepartment"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let key = p["key"].as_str()?.to_owned();
            let percent = (p["value"].as_f64()? * 1000.0).round() / 10.0;
            Some((key, json!(percent)))
        })
        .collect();
    Value::Object(values).to_string()
}

/// The URL parameters of the exports: the API's names for the same filters.
fn export_query(chosen: &Chosen) -> String {
    let mut pairs = vec![("school_year", chosen.school_year.clone())];
    if let Some(d) = &chosen.department {
        pairs.push(("department", d.clone()));
    }
    if let Some(s) = &chosen.sector {
        pairs.push(("sector", s.clone()));
    }
    if let Some(p) = &chosen.priority_education {
        pairs.push(("priority_education", p.clone()));
    }
    if let Some(t) = chosen.as_of {
        pairs.push(("as_of", t.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
    }
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The page's own parameters, for the indicators' refresh URL.
fn page_query(filters: &Filters) -> String {
    [
        ("annee", &filters.annee),
        ("departement", &filters.departement),
        ("secteur", &filters.secteur),
        ("education_prioritaire", &filters.education_prioritaire),
        ("date", &filters.date),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| format!("{k}={}", v.trim()))
    .collect::<Vec<_>>()
    .join("&")
}

/// `GET /tableau-de-bord`: the whole page.
pub async fn page(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(filters): Query<Filters>,
) -> Response {
    render(&pages, &jar, filters, "dashboard.html").await
}

/// `GET /tableau-de-bord/indicateurs`: the indicators alone, for the live refresh.
pub async fn indicators(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(filters): Query<Filters>,
) -> Response {
    render(&pages, &jar, filters, "dashboard_indicators.html").await
}

async fn render(pages: &Pages, jar: &CookieJar, filters: Filters, template: &str) -> Response {
    let query = page_query(&filters);
    let here = crate::common::with_query("/tableau-de-bord", &query);
    let Some(session) = Session::of(jar) else {
        return crate::session::to_login(&here);
    };
    let today = pharos_domain::today_in_france(pages.clock.now());
    let departments: Vec<String> = pages
        .academy
        .departments
        .iter()
        .map(|d| d.as_str().to_owned())
        .collect();
    let (chosen, errors) = check(&filters, today, &departments);
    let variables = json!({
        "schoolYear": chosen.school_year,
        "department": chosen.department,
        "asOf": chosen.as_of,
        "sector": chosen.sector,
        "priorityEducation": chosen.priority_education,
    });
    #[derive(Deserialize)]
    struct Data {
        me: Me,
        dashboard: Value,
    }
    // A wrong filter shows the form with its error, and no figures.
    let (me, dashboard) = if errors.any() {
        #[derive(Deserialize)]
        struct MeOnly {
            me: Me,
        }
        match pages
            .api
            .graphql::<MeOnly>(&session.token, &format!("{{ {} }}", Me::FIELDS), json!({}))
            .await
        {
            Ok(data) => (data.me, None),
            Err(error) => return pages.templates.api_error(error, &here),
        }
    } else {
        match pages
            .api
            .graphql::<Data>(&session.token, QUERY, variables)
            .await
        {
            Ok(data) => (data.me, Some(data.dashboard)),
            Err(error) => return pages.templates.api_error(error, &here),
        }
    };
    if !me.sees_dashboard() {
        return pages.templates.error(
            StatusCode::FORBIDDEN,
            "Tableau de bord réservé",
            "Le tableau de bord est celui du pôle académique et des référents \
             départementaux. Revenez à l'accueil pour les pages de votre espace.",
        );
    }
    // The API answers a referent's question about another department with nothing in
    // her scope; the page says plainly that it is not hers.
    if me.role == "department_referent"
        && chosen
            .department
            .as_ref()
            .is_some_and(|d| me.scope.as_ref() != Some(d))
    {
        return pages.templates.error(
            StatusCode::FORBIDDEN,
            "Département hors de votre périmètre",
            "Vous suivez les indicateurs de votre département seulement. Revenez au \
             tableau de bord pour les voir.",
        );
    }
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let years = recent_years(today, 0);
    let scope_label = match (&chosen.department, me.role.as_str()) {
        (Some(d), _) => department_label(d),
        (None, "department_referent") => me
            .scope
            .as_deref()
            .map_or_else(|| "Votre département".to_owned(), department_label),
        (None, _) => format!("Académie de {}", pages.academy.name),
    };
    pages.templates.render(
        status,
        template,
        minijinja::context! {
            title => "Tableau de bord",
            me => Serde(&me),
            csrf => session.csrf(),
            filters => Serde(&filters),
            errors => Serde(&errors),
            chosen => Serde(&chosen),
            scope_label,
            years,
            departments => crate::common::departments(pages),
            pole => me.role != "department_referent",
            sectors => Serde(SECTORS),
            priority_education => Serde(PRIORITY_EDUCATION),
            live => chosen.as_of.is_none(),
            as_of_label => chosen.day.map(|d| d.format("%d/%m/%Y").to_string()),
            groups => dashboard.as_ref().map(|d| Serde(groups(d))),
            map_values => dashboard.as_ref().map(map_values),
            map_value => dashboard.as_ref().and_then(|d| d["trainedTeams"]["schools"]["value"].as_f64()).map(|v| (v * 1000.0).round() / 10.0),
            exports => export_query(&chosen),
            refresh_url => format!("/tableau-de-bord/indicateurs?{query}"),
            // What the figures shown took in: a change between this reading and the
            // subscription is announced as soon as the page subscribes.
            subscription => json!({
                "schoolYear": chosen.school_year,
                "department": chosen.department,
                "after": dashboard.as_ref().and_then(|d| d["position"].as_i64()),
            }).to_string(),
            today => today.format("%Y-%m-%d").to_string(),
            today_label => today.format("%d/%m/%Y").to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 3, 15).unwrap_or_default()
    }

    fn departments() -> Vec<String> {
        vec!["31".into(), "32".into()]
    }

    #[test]
    fn empty_filters_read_the_current_year_now() {
        let (chosen, errors) = check(&Filters::default(), today(), &departments());
        assert!(!errors.any());
        assert_eq!(chosen.school_year, "2026-2027");
        assert!(chosen.as_of.is_none());
    }

    #[test]
    fn a_past_day_reads_the_figures_at_its_end_in_paris() {
        let filters = Filters {
            date: "2027-01-10".into(),
            ..Filters::default()
        };
        let (chosen, errors) = check(&filters, today(), &departments());
        assert!(!errors.any());
        // 23:59:59 in Paris in winter is 22:59:59 UTC.
        assert_eq!(
            chosen.as_of.map(|t| t.to_rfc3339()),
            Some("2027-01-10T22:59:59+00:00".to_owned())
        );
    }

    #[test]
    fn wrong_filters_name_their_field() {
        let filters = Filters {
            annee: "2026-2028".into(),
            departement: "75".into(),
            secteur: "prive".into(),
            education_prioritaire: "rep++".into(),
            date: "2027-04-01".into(),
        };
        let (_, errors) = check(&filters, today(), &departments());
        assert!(errors.annee.is_some_and(|e| e.contains("2026-2027")));
        assert!(errors.departement.is_some_and(|e| e.contains("31, 32")));
        assert!(errors.secteur.is_some());
        assert!(errors.education_prioritaire.is_some());
        assert!(errors.date.is_some_and(|e| e.contains("futur")));
    }
}

//! Exports: `GET /api/v1/exports/{name}.{csv|xlsx}`, every list of the read model and
//! the dashboard's tables.
//!
//! - Lists ([`EXPORTS`]): `schools.csv`, `labels.xlsx`…, with the list's filters as
//!   query parameters in snake_case (`?department=31&school_year=2026-2027`). An export
//!   runs the list's GraphQL query as the caller, page after page (100 at a time).
//! - The dashboard ([`DASHBOARD`]): `dashboard-<group>.{csv|xlsx}` one group's table
//!   (`dashboard-trained-teams`, `dashboard-ambassadors`, `dashboard-labels`,
//!   `dashboard-phare-steps`, `dashboard-national-day`, `dashboard-contest`,
//!   `dashboard-trainings`, `dashboard-overdue`), `dashboard.{csv|xlsx}` every group: in
//!   XLSX a sheet per group, in CSV one table whose first column names the group. The
//!   parameters are the `dashboard` query's (`school_year`, the current one by default,
//!   `department`, `as_of`, `sector`, `priority_education`). A table is long: one row per
//!   figure and per value of each of its breakdowns (« Indicateur ; Ventilation ;
//!   Modalité ; Valeur ; Sur ; Taux »); every group of one file is read in one request,
//!   hence one snapshot ([`crate::dashboard::Snapshot`]).
//!
//! Both go through the same path as `POST /graphql` ([`crate::execute`]): their filters
//! and scope are the query's, and cannot drift from them.
//!
//! - CSV: UTF-8 with a byte-order mark, `;` between values, CRLF line ends, decimals with
//!   a comma (as French spreadsheets open it); a first line stamping the extraction
//!   (« Extrait le … (heure de Paris), filtres : … », and for the dashboard the instant
//!   its figures are read at), then the French column headers, then the rows. A text
//!   beginning with `=`, `+`, `-` or `@` is prefixed with `'` so that no spreadsheet runs
//!   it as a formula.
//! - XLSX (`rust_xlsxwriter`): the same stamp in the first row, headers in bold in the
//!   second (frozen), then the rows; numbers as numbers, rates as percentages.

use std::collections::BTreeMap;

use async_graphql::Variables;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use pharos_access::{Actor, TargetState};
use pharos_events::phare::SchoolYear;
use pharos_web::Problem;
use serde_json::Value;

use crate::graphql::ReadSchema;

/// One exported list: its GraphQL field, which is also its name in the path.
#[derive(Debug)]
pub struct Export {
    /// The name in the path and the GraphQL field (`schools`).
    pub name: &'static str,
    /// Its text filters: GraphQL arguments (`schoolYear`), given in the URL in snake_case
    /// (`school_year`).
    filters: &'static [&'static str],
    /// Its true-or-false filters, likewise (`includeClosed`).
    flags: &'static [&'static str],
    /// Columns: French header, node field.
    columns: &'static [(&'static str, &'static str)],
}

/// Every export.
pub const EXPORTS: &[Export] = &[
    Export {
        name: "schools",
        filters: &[
            "department",
            "kind",
            "sector",
            "priorityEducation",
            "circonscription",
            "search",
        ],
        flags: &["includeClosed"],
        columns: &[
            ("UAI", "uai"),
            ("Nom", "name"),
            ("Type", "kind"),
            ("Secteur", "sector"),
            ("Département", "department"),
            ("Commune", "commune"),
            ("Circonscription", "circonscription"),
            ("Éducation prioritaire", "priorityEducation"),
            ("Fermé le", "closedOn"),
            ("Successeur", "successorUai"),
        ],
    },
    Export {
        name: "trainings",
        filters: &["schoolYear", "department", "topic", "search"],
        flags: &[],
        columns: &[
            ("Identifiant", "id"),
            ("Titre", "title"),
            ("Thème", "topic"),
            ("Public", "audience"),
            ("Département", "department"),
        ],
    },
    Export {
        name: "sessions",
        filters: &["trainingId", "schoolYear", "department", "status"],
        flags: &[],
        columns: &[
            ("Identifiant", "id"),
            ("Formation", "trainingId"),
            ("Département", "department"),
            ("Début (UTC)", "startsAt"),
            ("Fin (UTC)", "endsAt"),
            ("Statut", "status"),
            ("Places", "capacity"),
            ("Durée prévue (min)", "plannedMinutes"),
            ("Lieu", "location"),
            ("Inscriptions confirmées", "confirmed"),
            ("Liste d'attente", "waitlisted"),
            ("Saisie après coup", "recordedAfterTheFact"),
        ],
    },
    Export {
        name: "deployments",
        filters: &["schoolYear", "department", "schoolUai", "circonscription"],
        flags: &[],
        columns: &[
            ("Identifiant", "id"),
            ("Année scolaire", "schoolYear"),
            ("UAI", "schoolUai"),
            ("Circonscription", "circonscription"),
            ("Département", "department"),
            ("Charte signée le", "charterSignedOn"),
            ("Coordination désignée", "coordinator"),
            ("Protocole présenté le", "protocolPresentedOn"),
            ("Heures d'apprentissage", "learningHours"),
            ("Ateliers des parents", "parentWorkshops"),
            ("Membres de l'équipe", "teamMembers"),
            ("Membres formés", "trainedMembers"),
        ],
    },
    Export {
        name: "labels",
        filters: &["schoolYear", "department", "schoolUai", "status"],
        flags: &[],
        columns: &[
            ("Identifiant", "id"),
            ("UAI", "schoolUai"),
            ("Département", "department"),
            ("Année scolaire", "schoolYear"),
            ("Niveau visé", "targetLevel"),
            ("Statut", "status"),
            ("Niveau attribué", "awardedLevel"),
        ],
    },
    // The ledger without the recipients' names: a file leaves the platform, the read
    // log would not follow it.
    Export {
        name: "reminders",
        filters: &["rule", "status", "target", "department", "schoolUai"],
        flags: &[],
        columns: &[
            ("Identifiant", "id"),
            ("Règle", "rule"),
            ("Cible", "target"),
            ("UAI", "schoolUai"),
            ("Session", "sessionId"),
            ("Département", "department"),
            ("Occurrence", "occurrence"),
            ("Dû le (UTC)", "dueAt"),
            ("État", "statusLabel"),
            ("Raison", "reason"),
            ("Tentatives", "attempts"),
            ("Nouvelle tentative (UTC)", "retryAt"),
            ("Programmé le (UTC)", "scheduledAt"),
            ("Mis à jour le (UTC)", "updatedAt"),
        ],
    },
    Export {
        name: "partners",
        filters: &["department", "kind", "search"],
        flags: &["includeArchived"],
        columns: &[
            ("Identifiant", "id"),
            ("Nom", "name"),
            ("Type", "kind"),
            ("Portée", "scope"),
            ("Département", "department"),
            ("Commune", "commune"),
            ("Archivé", "archived"),
        ],
    },
    Export {
        name: "cohorts",
        filters: &["schoolYear", "department", "schoolUai", "kind", "status"],
        flags: &[],
        columns: &[
            ("Identifiant", "id"),
            ("UAI", "schoolUai"),
            ("Département", "department"),
            ("Année scolaire", "schoolYear"),
            ("Type", "kind"),
            ("Statut", "status"),
            ("Élèves ambassadeurs", "pupils"),
            ("Parents ambassadeurs", "parents"),
            ("Formations suivies", "trainings"),
        ],
    },
    Export {
        name: "actions",
        filters: &[
            "schoolYear",
            "department",
            "schoolUai",
            "campaign",
            "status",
        ],
        flags: &[],
        columns: &[
            ("Identifiant", "id"),
            ("Année scolaire", "schoolYear"),
            ("Campagne", "campaign"),
            ("UAI déclarant", "schoolUai"),
            ("Département", "department"),
            ("Date", "heldOn"),
            ("Types", "types"),
            ("Élèves touchés", "pupilsReached"),
            ("Adultes touchés", "adultsReached"),
            ("Tenue", "held"),
            ("Statut", "status"),
        ],
    },
    Export {
        name: "entries",
        filters: &["contestId", "department", "schoolUai", "category", "status"],
        flags: &[],
        columns: &[
            ("Identifiant", "id"),
            ("Édition", "contestId"),
            ("UAI", "schoolUai"),
            ("Département", "department"),
            ("Catégorie", "category"),
            ("Titre", "title"),
            ("Élèves", "pupilCount"),
            ("Adultes", "adultCount"),
            ("Fichiers", "files"),
            ("Statut", "status"),
        ],
    },
];

/// How a dashboard figure reads (its GraphQL selection) and the rows it gives.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `IndicatorShare`: the whole, then each value of each breakdown.
    Share,
    /// `IndicatorTotal`, likewise.
    Total,
    /// `IndicatorRatio`: `count` over `of`.
    Ratio,
    /// A number.
    Number,
    /// A text (a date, a school year, an instant).
    Text,
    /// `[IndicatorTotalPart]`, broken down by what it names.
    Parts(&'static str),
    /// The labels by level, with the previous year's and the change.
    Levels,
    /// The contest's inadmissibility reasons (all of them, up to 50).
    Reasons,
}

/// One figure of a dashboard table: its path under the group's field, its French name.
#[derive(Debug)]
struct Figure(&'static str, &'static str, Shape);

/// One dashboard table: a group of the `dashboard` query.
#[derive(Debug)]
pub struct DashboardTable {
    /// The name in the path, after `dashboard-`.
    pub name: &'static str,
    /// The group's GraphQL field.
    field: &'static str,
    /// Its sheet's name (31 characters at most).
    title: &'static str,
    figures: &'static [Figure],
}

const VERSION: Figure = Figure(
    "definitionVersion",
    "Version de la définition",
    Shape::Number,
);

/// Every dashboard table, in the dashboard's order.
pub const DASHBOARD: &[DashboardTable] = &[
    DashboardTable {
        name: "trained-teams",
        field: "trainedTeams",
        title: "Équipes formées",
        figures: &[
            VERSION,
            Figure(
                "schools",
                "Collèges et lycées dont l'équipe ressource compte au moins 5 membres formés",
                Shape::Share,
            ),
            Figure(
                "circonscriptions",
                "Circonscriptions dont l'équipe ressource compte au moins 5 membres formés",
                Shape::Share,
            ),
        ],
    },
    DashboardTable {
        name: "ambassadors",
        field: "ambassadors",
        title: "Ambassadeurs",
        figures: &[
            VERSION,
            Figure(
                "schools",
                "Collèges et lycées comptant au moins 10 élèves ambassadeurs",
                Shape::Share,
            ),
            Figure("pupils", "Élèves ambassadeurs", Shape::Total),
            Figure("parents", "Parents ambassadeurs", Shape::Total),
        ],
    },
    DashboardTable {
        name: "labels",
        field: "labels",
        title: "Labels",
        figures: &[
            VERSION,
            Figure("byLevel", "Labels décernés", Shape::Levels),
            Figure(
                "labelled",
                "Écoles, collèges et lycées labellisés",
                Shape::Share,
            ),
        ],
    },
    DashboardTable {
        name: "phare-steps",
        field: "phareSteps",
        title: "Étapes pHARe",
        figures: &[
            VERSION,
            Figure(
                "charterInForce",
                "Charte d'engagement en vigueur",
                Shape::Share,
            ),
            Figure(
                "protocolPresented",
                "Protocole de traitement présenté",
                Shape::Share,
            ),
            Figure(
                "learningHoursPlanned",
                "10 heures d'apprentissage planifiées",
                Shape::Share,
            ),
            Figure("parentWorkshopHeld", "Atelier parents tenu", Shape::Share),
        ],
    },
    DashboardTable {
        name: "national-day",
        field: "nationalDay",
        title: "Journée nationale",
        figures: &[
            VERSION,
            Figure(
                "schoolsWithAction",
                "Établissements ayant mené au moins une action",
                Shape::Share,
            ),
            Figure("reports", "Bilans reçus sur bilans attendus", Shape::Share),
            Figure("actions", "Actions transmises", Shape::Number),
            Figure("pupilsReached", "Élèves touchés", Shape::Number),
            Figure(
                "actionsByType",
                "Actions transmises par type",
                Shape::Parts("Type d'action"),
            ),
        ],
    },
    DashboardTable {
        name: "contest",
        field: "contest",
        title: "Concours",
        figures: &[
            VERSION,
            Figure("entries", "Participations déposées", Shape::Total),
            Figure("participation", "Taux de participation", Shape::Share),
            Figure("inadmissible", "Participations irrecevables", Shape::Total),
            Figure(
                "inadmissibleReasons",
                "Motifs d'irrecevabilité",
                Shape::Reasons,
            ),
            Figure("laureates", "Participations lauréates", Shape::Total),
            Figure("trend.schoolYear", "Année précédente", Shape::Text),
            Figure(
                "trend.asOf",
                "Année précédente lue à l'instant (UTC)",
                Shape::Text,
            ),
            Figure(
                "trend.entries",
                "Participations déposées l'année précédente",
                Shape::Number,
            ),
            Figure(
                "trend.entriesChange",
                "Évolution des participations déposées",
                Shape::Number,
            ),
            Figure(
                "trend.participation",
                "Taux de participation de l'année précédente",
                Shape::Ratio,
            ),
            Figure(
                "trend.participationChange",
                "Évolution du taux de participation",
                Shape::Number,
            ),
            Figure(
                "trend.inadmissible",
                "Participations irrecevables l'année précédente",
                Shape::Number,
            ),
            Figure(
                "trend.laureates",
                "Participations lauréates l'année précédente",
                Shape::Number,
            ),
            Figure(
                "trend.laureatesChange",
                "Évolution des participations lauréates",
                Shape::Number,
            ),
        ],
    },
    DashboardTable {
        name: "trainings",
        field: "trainings",
        title: "Formations",
        figures: &[
            VERSION,
            Figure("sessionsPlanned", "Sessions prévues", Shape::Number),
            Figure("sessionsHeld", "Sessions tenues", Shape::Number),
            Figure("sessionsCancelled", "Sessions annulées", Shape::Number),
            Figure(
                "minutesDelivered",
                "Minutes de formation délivrées",
                Shape::Number,
            ),
            Figure(
                "hoursDelivered",
                "Heures de formation délivrées",
                Shape::Number,
            ),
            Figure(
                "attendanceRate",
                "Assiduité des sessions tenues",
                Shape::Ratio,
            ),
            Figure(
                "mppTrained",
                "Personnes formées à la méthode de la préoccupation partagée (cumul)",
                Shape::Number,
            ),
            Figure(
                "schoolCoverage",
                "Établissements dont au moins une personne a suivi une session",
                Shape::Share,
            ),
        ],
    },
    DashboardTable {
        name: "overdue",
        field: "overdue",
        title: "Retards",
        figures: &[
            Figure(
                "reportDeadline",
                "Échéance des bilans de la Journée nationale",
                Shape::Text,
            ),
            Figure(
                "missingReports",
                "Bilans de la Journée nationale manquants",
                Shape::Share,
            ),
            Figure(
                "undeclaredTeams",
                "Collèges et lycées sans équipe ressource déclarée",
                Shape::Share,
            ),
            Figure(
                "undeclaredCirconscriptionTeams",
                "Circonscriptions sans équipe ressource déclarée",
                Shape::Share,
            ),
            Figure(
                "unfinishedEntries",
                "Participations au concours en brouillon après la date limite",
                Shape::Total,
            ),
            Figure("remindersPending", "Rappels en attente", Shape::Number),
            Figure(
                "remindersFailed",
                "Rappels en échec définitif",
                Shape::Number,
            ),
        ],
    },
];

/// The `dashboard` query's arguments: URL parameter, GraphQL argument and type.
const DASHBOARD_FILTERS: &[(&str, &str, &str)] = &[
    ("school_year", "schoolYear", "String!"),
    ("department", "department", "String"),
    ("as_of", "asOf", "DateTime"),
    ("sector", "sector", "String"),
    ("priority_education", "priorityEducation", "String"),
];

/// The columns of a dashboard table.
const DASHBOARD_COLUMNS: &[&str] = &[
    "Indicateur",
    "Ventilation",
    "Modalité",
    "Valeur",
    "Sur",
    "Taux",
];
/// The column of rates (a percentage in XLSX).
const RATE: usize = 5;

/// The breakdowns of a share or a total: GraphQL field, French name.
const BREAKDOWNS: &[(&str, &str)] = &[
    ("byDepartment", "Département"),
    ("byCirconscription", "Circonscription"),
    ("byKind", "Type d'établissement"),
    ("bySector", "Secteur"),
    ("byPriorityEducation", "Éducation prioritaire"),
];

/// What the whole of a figure is called in « Ventilation ».
const WHOLE: &str = "Ensemble";

impl Shape {
    /// Its selection set (after the field's name).
    fn selection(self) -> String {
        let parts = |fields: &str| {
            BREAKDOWNS
                .iter()
                .map(|(field, _)| format!("{field} {{ key {fields} }}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        match self {
            Self::Share => format!("{{ value count of {} }}", parts("value count of")),
            Self::Total => format!("{{ total {} }}", parts("total")),
            Self::Ratio => "{ value count of }".to_owned(),
            Self::Number | Self::Text => String::new(),
            Self::Parts(_) => "{ key total }".to_owned(),
            Self::Levels => "{ level count previousYear change }".to_owned(),
            Self::Reasons => "(first: 50) { reason count }".to_owned(),
        }
    }

    /// The rows of `value` (the figure's answer), named `label`.
    fn rows(self, label: &str, value: &Value) -> Vec<Vec<Value>> {
        let row = |ventilation: &str, modality: &Value, v: &Value, of: &Value, rate: &Value| {
            vec![
                Value::from(label),
                Value::from(ventilation),
                modality.clone(),
                v.clone(),
                of.clone(),
                rate.clone(),
            ]
        };
        let null = &Value::Null;
        let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
        let mut rows = Vec::new();
        match self {
            Self::Share | Self::Ratio => {
                rows.push(row(
                    WHOLE,
                    null,
                    &value["count"],
                    &value["of"],
                    &value["value"],
                ));
                if matches!(self, Self::Share) {
                    for (field, name) in BREAKDOWNS {
                        for part in list(&value[*field]) {
                            rows.push(row(
                                name,
                                &part["key"],
                                &part["count"],
                                &part["of"],
                                &part["value"],
                            ));
                        }
                    }
                }
            }
            Self::Total => {
                rows.push(row(WHOLE, null, &value["total"], null, null));
                for (field, name) in BREAKDOWNS {
                    for part in list(&value[*field]) {
                        rows.push(row(name, &part["key"], &part["total"], null, null));
                    }
                }
            }
            Self::Number | Self::Text => rows.push(row(WHOLE, null, value, null, null)),
            Self::Parts(name) => {
                for part in list(value) {
                    rows.push(row(name, &part["key"], &part["total"], null, null));
                }
            }
            Self::Levels => {
                for (field, label) in [
                    ("count", label.to_owned()),
                    ("previousYear", format!("{label} l'année précédente")),
                    ("change", format!("Évolution des {}", label.to_lowercase())),
                ] {
                    for level in list(value) {
                        let mut r = row("Niveau", &level["level"], &level[field], null, null);
                        r[0] = Value::from(label.as_str());
                        rows.push(r);
                    }
                }
            }
            Self::Reasons => {
                for reason in list(value) {
                    rows.push(row(
                        "Motif",
                        &reason["reason"],
                        &reason["count"],
                        null,
                        null,
                    ));
                }
            }
        }
        rows
    }
}

impl DashboardTable {
    /// Its selection under `dashboard`, aliased `g{n}`; each figure aliased `f{i}`.
    fn selection(&self, n: usize) -> String {
        let figures: Vec<String> = self
            .figures
            .iter()
            .enumerate()
            .map(|(i, Figure(path, _, shape))| {
                let mut steps = path.split('.').rev();
                let last = steps.next().unwrap_or_default();
                let mut selection = format!("{last}{}", shape.selection());
                for step in steps {
                    selection = format!("{step} {{ {selection} }}");
                }
                format!("f{i}: {selection}")
            })
            .collect();
        format!("g{n}: {} {{ {} }}", self.field, figures.join(" "))
    }

    /// Its rows, from its group's answer (aliased as [`DashboardTable::selection`] did).
    fn rows(&self, group: &Value) -> Vec<Vec<Value>> {
        let mut rows = Vec::new();
        for (i, Figure(path, label, shape)) in self.figures.iter().enumerate() {
            let mut steps = path.split('.');
            steps.next();
            let value = steps.fold(&group[format!("f{i}")], |v, step| &v[step]);
            rows.extend(shape.rows(label, value));
        }
        rows
    }
}

/// Rows per GraphQL page (the lists' largest).
const PAGE: i32 = crate::graphql::MAX_FIRST;
/// The most rows an export holds (the registry of schools is the largest list, a few
/// thousand rows).
const MAX_ROWS: usize = 100_000;

const CSV: &str = "text/csv; charset=utf-8";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `schoolYear` → `school_year`: a GraphQL argument as a URL parameter.
fn snake(argument: &str) -> String {
    let mut out = String::new();
    for c in argument.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn unknown(file: &str) -> Problem {
    let lists: Vec<&str> = EXPORTS.iter().map(|e| e.name).collect();
    let tables: Vec<String> = std::iter::once("dashboard".to_owned())
        .chain(DASHBOARD.iter().map(|t| format!("dashboard-{}", t.name)))
        .collect();
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown-export",
        "Export inconnu",
        format!(
            "« {file} » n'est pas un export : demandez <nom>.csv ou <nom>.xlsx, le nom étant \
             une liste ({}) ou un tableau du tableau de bord ({}).",
            lists.join(", "),
            tables.join(", ")
        ),
    )
}

fn unknown_filter(export: &str, parameter: &str, valid: &[String]) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "unknown-filter",
        "Filtre inconnu",
        format!(
            "« {parameter} » ne filtre pas l'export {export} ; filtres possibles : {}.",
            valid.join(", ")
        ),
    )
    .with_field(parameter.to_owned(), "filtre inconnu pour cet export")
}

/// The GraphQL query of one page of a list, and its variables.
fn request(
    export: &Export,
    filters: &BTreeMap<String, String>,
    after: Option<&str>,
) -> Result<async_graphql::Request, Problem> {
    let mut definitions = vec!["$first: Int".to_owned(), "$after: String".to_owned()];
    let mut arguments = vec!["first: $first".to_owned(), "after: $after".to_owned()];
    let mut variables = serde_json::Map::new();
    variables.insert("first".into(), PAGE.into());
    variables.insert("after".into(), after.map_or(Value::Null, Value::from));
    let known = export
        .filters
        .iter()
        .map(|a| (*a, false))
        .chain(export.flags.iter().map(|a| (*a, true)));
    let known: Vec<(&str, bool, String)> = known.map(|(a, flag)| (a, flag, snake(a))).collect();
    for (parameter, value) in filters {
        let Some((argument, flag, _)) = known.iter().find(|(_, _, p)| p == parameter) else {
            let valid: Vec<String> = known.iter().map(|(_, _, p)| p.clone()).collect();
            return Err(unknown_filter(export.name, parameter, &valid));
        };
        let (graphql_type, value) = if *flag {
            match value.as_str() {
                "true" | "1" | "oui" => ("Boolean", Value::Bool(true)),
                "false" | "0" | "non" => ("Boolean", Value::Bool(false)),
                _ => {
                    return Err(Problem::new(
                        StatusCode::BAD_REQUEST,
                        "invalid-filter",
                        "Filtre invalide",
                        format!("« {parameter} » vaut true ou false ({value} reçu)."),
                    )
                    .with_field(parameter.clone(), "true ou false"));
                }
            }
        } else {
            ("String", Value::from(value.clone()))
        };
        definitions.push(format!("${argument}: {graphql_type}"));
        arguments.push(format!("{argument}: ${argument}"));
        variables.insert((*argument).to_owned(), value);
    }
    let fields: Vec<&str> = export.columns.iter().map(|(_, f)| *f).collect();
    let query = format!(
        "query Export({}) {{ {}({}) {{ pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {} }} }} }} }}",
        definitions.join(", "),
        export.name,
        arguments.join(", "),
        fields.join(" ")
    );
    Ok(
        async_graphql::Request::new(query)
            .variables(Variables::from_json(Value::Object(variables))),
    )
}

/// Runs `request` as the caller: its data, or its first error as a refused filter.
async fn data(
    state: &TargetState,
    schema: &ReadSchema,
    actor: &Actor,
    request: async_graphql::Request,
) -> Result<Value, Problem> {
    let response = crate::execute(state, schema, actor.clone(), request).await?;
    if let Some(error) = response.errors.first() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-filter",
            "Filtre invalide",
            error.message.clone(),
        ));
    }
    response.data.into_json().map_err(|e| {
        tracing::error!(error = %e, "export: unreadable GraphQL answer");
        Problem::internal()
    })
}

/// Every row of the list, as the caller sees it.
async fn list_rows(
    state: &TargetState,
    schema: &ReadSchema,
    actor: &Actor,
    export: &Export,
    filters: &BTreeMap<String, String>,
) -> Result<Vec<Vec<Value>>, Problem> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = request(export, filters, after.as_deref())?;
        let data = data(state, schema, actor, page).await?;
        let list = &data[export.name];
        for edge in list["edges"].as_array().into_iter().flatten() {
            let node = &edge["node"];
            all.push(
                export
                    .columns
                    .iter()
                    .map(|(_, field)| node[*field].clone())
                    .collect(),
            );
        }
        if all.len() > MAX_ROWS {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "export-too-large",
                "Export trop volumineux",
                format!("Plus de {MAX_ROWS} lignes : ajoutez des filtres."),
            ));
        }
        match (
            list["pageInfo"]["hasNextPage"].as_bool(),
            list["pageInfo"]["endCursor"].as_str(),
        ) {
            (Some(true), Some(cursor)) => after = Some(cursor.to_owned()),
            _ => return Ok(all),
        }
    }
}

/// The dashboard's `tables`, read in one request (one snapshot), as the caller sees them;
/// the instant they were read at.
async fn dashboard_rows(
    state: &TargetState,
    schema: &ReadSchema,
    actor: &Actor,
    tables: &[&DashboardTable],
    filters: &BTreeMap<String, String>,
) -> Result<(Vec<Vec<Vec<Value>>>, Option<DateTime<Utc>>), Problem> {
    let mut definitions = Vec::new();
    let mut arguments = Vec::new();
    let mut variables = serde_json::Map::new();
    for (parameter, value) in filters {
        let Some((_, argument, graphql_type)) = DASHBOARD_FILTERS
            .iter()
            .find(|(p, _, _)| *p == parameter.as_str())
        else {
            let valid: Vec<String> = DASHBOARD_FILTERS
                .iter()
                .map(|(p, _, _)| (*p).to_owned())
                .collect();
            return Err(unknown_filter("dashboard", parameter, &valid));
        };
        definitions.push(format!("${argument}: {graphql_type}"));
        arguments.push(format!("{argument}: ${argument}"));
        variables.insert((*argument).to_owned(), Value::from(value.clone()));
    }
    let groups: Vec<String> = tables
        .iter()
        .enumerate()
        .map(|(n, table)| table.selection(n))
        .collect();
    let query = format!(
        "query Export({}) {{ dashboard({}) {{ asOf {} }} }}",
        definitions.join(", "),
        arguments.join(", "),
        groups.join(" ")
    );
    let request = async_graphql::Request::new(query)
        .variables(Variables::from_json(Value::Object(variables)));
    let data = data(state, schema, actor, request).await?;
    let dashboard = &data["dashboard"];
    let at = dashboard["asOf"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let rows = tables
        .iter()
        .enumerate()
        .map(|(n, table)| table.rows(&dashboard[format!("g{n}")]))
        .collect();
    Ok((rows, at))
}

/// « Extrait le 01/12/2026 à 21:14 (heure de Paris), filtres : department = 31 »; for the
/// dashboard, the instant its figures are read at too.
fn stamp(
    at: DateTime<Utc>,
    as_of: Option<DateTime<Utc>>,
    filters: &BTreeMap<String, String>,
) -> String {
    let paris = |t: DateTime<Utc>, format: &str| {
        t.with_timezone(&chrono_tz::Europe::Paris)
            .format(format)
            .to_string()
    };
    let filters = if filters.is_empty() {
        "aucun".to_owned()
    } else {
        filters
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let read = as_of.map_or(String::new(), |t| {
        format!(", indicateurs au {}", paris(t, "%d/%m/%Y à %H:%M:%S"))
    });
    format!(
        "Extrait le {} (heure de Paris, Europe/Paris){read}, filtres : {filters}",
        paris(at, "%d/%m/%Y à %H:%M")
    )
}

/// A cell as text: booleans in French, decimals with a comma, nothing for null.
fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(true) => "oui".to_owned(),
        Value::Bool(false) => "non".to_owned(),
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => {
            let decimal = format!("{:.4}", n.as_f64().unwrap_or_default());
            let decimal = decimal.trim_end_matches('0').trim_end_matches('.');
            decimal.replace('.', ",")
        }
        other => other.to_string(),
    }
}

/// A CSV field: a would-be formula defused, quoted when it holds `;`, `"` or a line end.
fn csv_field(value: &Value) -> String {
    let mut text = text(value);
    if value.is_string() && text.starts_with(['=', '+', '-', '@']) {
        text.insert(0, '\'');
    }
    if text.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// One table of a file: its sheet's name, its headers, its rows, which column holds
/// rates.
struct Table<'a> {
    sheet: &'a str,
    headers: Vec<&'a str>,
    rows: Vec<Vec<Value>>,
    rate: Option<usize>,
}

fn csv(stamp: &str, table: &Table<'_>) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    let line = |cells: Vec<String>| cells.join(";") + "\r\n";
    out.push_str(&line(vec![csv_field(&Value::from(stamp))]));
    out.push_str(&line(
        table
            .headers
            .iter()
            .map(|h| csv_field(&Value::from(*h)))
            .collect(),
    ));
    for row in &table.rows {
        out.push_str(&line(row.iter().map(csv_field).collect()));
    }
    out.into_bytes()
}

fn xlsx(stamp: &str, tables: &[Table<'_>]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let percent = rust_xlsxwriter::Format::new().set_num_format("0.0%");
    for table in tables {
        let sheet = book.add_worksheet();
        sheet.set_name(table.sheet)?;
        sheet.write_string(0, 0, stamp)?;
        for (col, header) in (0u16..).zip(&table.headers) {
            sheet.write_string_with_format(1, col, *header, &bold)?;
        }
        for (row, cells) in (2u32..).zip(&table.rows) {
            for (col, value) in (0u16..).zip(cells) {
                match value {
                    Value::Number(n) if table.rate == Some(usize::from(col)) => {
                        sheet.write_number_with_format(
                            row,
                            col,
                            n.as_f64().unwrap_or_default(),
                            &percent,
                        )?;
                    }
                    Value::Number(n) => {
                        sheet.write_number(row, col, n.as_f64().unwrap_or_default())?;
                    }
                    Value::Null => {}
                    other => {
                        sheet.write_string(row, col, text(other))?;
                    }
                }
            }
        }
        sheet.set_freeze_panes(2, 0)?;
        sheet.autofit();
    }
    book.save_to_buffer()
}

/// `GET /api/v1/exports/{file}`
#[utoipa::path(get, path = "/api/v1/exports/{file}", tag = "read-model",
    operation_id = "read_model_export",
    summary = "Exporter une liste ou le tableau de bord (CSV ou XLSX)",
    description = "Une liste du modèle de lecture, filtrée et limitée au périmètre de l'appelant \
        exactement comme la requête GraphQL du même nom : `schools`, `trainings`, `sessions`, \
        `deployments`, `labels`, `partners`, `cohorts`, `actions`, `entries`, suivie de `.csv` \
        (UTF-8 avec BOM, séparateur `;`) ou `.xlsx`. Les filtres de la liste se donnent en \
        paramètres (`?department=31&school_year=2026-2027`, noms en snake_case : `school_year`, \
        `department`, `school_uai`, `kind`, `status`, `search`, `include_closed`…).\n\n\
        Le tableau de bord, comme la requête `dashboard` : `dashboard-<groupe>` pour un groupe \
        d'indicateurs (`trained-teams`, `ambassadors`, `labels`, `phare-steps`, `national-day`, \
        `contest`, `trainings`, `overdue`), `dashboard` pour tous (en XLSX une feuille par groupe, \
        en CSV un seul tableau dont la première colonne nomme le groupe), avec les paramètres \
        `school_year` (l'année en cours par défaut), `department`, `as_of` (RFC 3339, maintenant par \
        défaut), `sector` et `priority_education`. Une ligne par indicateur et par modalité de chaque \
        ventilation : Indicateur, Ventilation, Modalité, Valeur, Sur, Taux. Tous les groupes d'un \
        fichier sont lus dans un même instantané.\n\n\
        La première ligne indique l'instant de l'extraction (heure de Paris), pour le tableau de bord \
        l'instant auquel les indicateurs sont lus, et les filtres ; la deuxième les intitulés des \
        colonnes.",
    params(
        ("file" = String, Path, description = "`<liste>.csv`, `<liste>.xlsx`, `dashboard.xlsx`, \
            `dashboard-<groupe>.csv`…, ex. `schools.csv`, `dashboard-contest.xlsx`"),
        ("filters" = Option<BTreeMap<String, String>>, Query, style = Form, explode,
            description = "Les filtres de la liste (ex. `department=31`) ou du tableau de bord \
            (ex. `school_year=2026-2027&sector=public`)"),
    ),
    responses(
        (status = 200, description = "Le fichier", content(
            ("text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "Filtre inconnu pour cet export, ou valeur mal formée", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Non authentifié", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Export inconnu : la réponse nomme ceux qui existent", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur de filtre refusée (ex. année scolaire, instant, secteur)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn export(
    State(state): State<TargetState>,
    Extension(schema): Extension<ReadSchema>,
    actor: Actor,
    Path(file): Path<String>,
    Query(filters): Query<BTreeMap<String, String>>,
) -> Result<Response, Problem> {
    let Some((name, extension)) = file.rsplit_once('.') else {
        return Err(unknown(&file));
    };
    if !matches!(extension, "csv" | "xlsx") {
        return Err(unknown(&file));
    }
    let mut filters: BTreeMap<String, String> = filters
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let at = state.clock.now();
    let (stamp, tables, grouped) = if let Some(export) = EXPORTS.iter().find(|e| e.name == name) {
        let rows = list_rows(&state, &schema, &actor, export, &filters).await?;
        let table = Table {
            sheet: export.name,
            headers: export.columns.iter().map(|(h, _)| *h).collect(),
            rows,
            rate: None,
        };
        (stamp(at, None, &filters), vec![table], false)
    } else {
        let chosen: Vec<&DashboardTable> = match name.strip_prefix("dashboard") {
            Some("") => DASHBOARD.iter().collect(),
            Some(group) => match DASHBOARD
                .iter()
                .find(|t| group.strip_prefix('-') == Some(t.name))
            {
                Some(table) => vec![table],
                None => return Err(unknown(&file)),
            },
            None => return Err(unknown(&file)),
        };
        if !filters.contains_key("school_year") {
            // The year of the instant asked (now by default), as the pole means it.
            let day = filters
                .get("as_of")
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map_or(Utc::now(), |t| t.with_timezone(&Utc))
                .with_timezone(&chrono_tz::Europe::Paris)
                .date_naive();
            filters.insert(
                "school_year".to_owned(),
                SchoolYear::containing(day).to_string(),
            );
        }
        let (rows, as_of) = dashboard_rows(&state, &schema, &actor, &chosen, &filters).await?;
        let tables = chosen
            .iter()
            .zip(rows)
            .map(|(table, rows)| Table {
                sheet: table.title,
                headers: DASHBOARD_COLUMNS.to_vec(),
                rows,
                rate: Some(RATE),
            })
            .collect();
        (stamp(at, as_of, &filters), tables, chosen.len() > 1)
    };
    let (content_type, bytes) = if extension == "xlsx" {
        let bytes = xlsx(&stamp, &tables).map_err(|e| {
            tracing::error!(error = %e, "export: XLSX not written");
            Problem::internal()
        })?;
        (XLSX, bytes)
    } else if grouped {
        // Every group in one CSV table: the group first on each row.
        let mut all = Table {
            sheet: "dashboard",
            headers: std::iter::once("Groupe")
                .chain(DASHBOARD_COLUMNS.iter().copied())
                .collect(),
            rows: Vec::new(),
            rate: Some(RATE + 1),
        };
        for table in tables {
            for row in table.rows {
                all.rows.push(
                    std::iter::once(Value::from(table.sheet))
                        .chain(row)
                        .collect(),
                );
            }
        }
        (CSV, csv(&stamp, &all))
    } else {
        (
            CSV,
            tables.first().map(|t| csv(&stamp, t)).unwrap_or_default(),
        )
    };
    let disposition = format!(
        "attachment; filename=\"pharos-{name}-{}.{extension}\"",
        at.with_timezone(&chrono_tz::Europe::Paris)
            .format("%Y-%m-%d")
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field(&Value::from("a;b")), "\"a;b\"");
        assert_eq!(csv_field(&Value::from("dit \"x\"")), "\"dit \"\"x\"\"\"");
        assert_eq!(csv_field(&Value::from("=1+1")), "'=1+1");
        assert_eq!(csv_field(&Value::from(12)), "12");
        assert_eq!(csv_field(&Value::from(-3)), "-3");
        assert_eq!(csv_field(&Value::from(1.0 / 3.0)), "0,3333");
        assert_eq!(csv_field(&Value::from(6.0)), "6");
        assert_eq!(csv_field(&Value::Bool(true)), "oui");
        assert_eq!(csv_field(&Value::Null), "");
    }

    #[test]
    fn the_stamp_is_in_paris_time() {
        let at = "2026-12-01T20:14:00Z".parse().unwrap_or_default();
        let filters = BTreeMap::from([("department".to_owned(), "31".to_owned())]);
        assert_eq!(
            stamp(at, None, &filters),
            "Extrait le 01/12/2026 à 21:14 (heure de Paris, Europe/Paris), filtres : department = 31"
        );
        let as_of = "2026-06-30T22:00:05Z".parse().unwrap_or_default();
        assert_eq!(
            stamp(at, Some(as_of), &filters),
            "Extrait le 01/12/2026 à 21:14 (heure de Paris, Europe/Paris), indicateurs au \
             01/07/2026 à 00:00:05, filtres : department = 31"
        );
    }

    #[test]
    fn url_parameters_are_the_arguments_in_snake_case() {
        assert_eq!(snake("schoolYear"), "school_year");
        assert_eq!(snake("priorityEducation"), "priority_education");
        assert_eq!(snake("department"), "department");
    }

    #[test]
    fn every_export_names_distinct_filters_and_columns() {
        for export in EXPORTS {
            let mut filters: Vec<&str> =
                export.filters.iter().chain(export.flags).copied().collect();
            let n = filters.len();
            filters.sort_unstable();
            filters.dedup();
            assert_eq!(filters.len(), n, "{}", export.name);
            assert!(!export.columns.is_empty(), "{}", export.name);
        }
        for table in DASHBOARD {
            assert!(table.title.chars().count() <= 31, "{}", table.name);
            assert!(!table.figures.is_empty(), "{}", table.name);
        }
    }

    #[test]
    fn a_share_gives_its_whole_then_each_breakdown() {
        let share = serde_json::json!({
            "value": 0.5, "count": 1, "of": 2,
            "byDepartment": [{"key": "31", "value": 0.5, "count": 1, "of": 2}],
            "byCirconscription": [], "byKind": [], "bySector": [],
            "byPriorityEducation": [{"key": "rep", "value": null, "count": 0, "of": 0}]
        });
        let rows = Shape::Share.rows("Part", &share);
        assert_eq!(
            rows,
            vec![
                vec![
                    Value::from("Part"),
                    Value::from(WHOLE),
                    Value::Null,
                    1.into(),
                    2.into(),
                    0.5.into()
                ],
                vec![
                    Value::from("Part"),
                    Value::from("Département"),
                    "31".into(),
                    1.into(),
                    2.into(),
                    0.5.into()
                ],
                vec![
                    Value::from("Part"),
                    Value::from("Éducation prioritaire"),
                    "rep".into(),
                    0.into(),
                    0.into(),
                    Value::Null
                ],
            ]
        );
        let table = &DASHBOARD[5];
        assert!(
            table.selection(0).contains("f6: trend { schoolYear }"),
            "{}",
            table.selection(0)
        );
    }
}

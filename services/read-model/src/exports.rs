//! Exports: `GET /api/v1/exports/{name}.{csv|xlsx}` for every list of the read model,
//! with the list's filters as query parameters (`?department=31&school_year=2026-2027`).
//!
//! An export runs the list's GraphQL query as the caller, page after page (100 at a
//! time), through the same path as `POST /graphql` ([`crate::execute`]): its filters and
//! its scope are the query's, and cannot drift from them.
//!
//! - CSV: UTF-8 with a byte-order mark, `;` between values, CRLF line ends (as French
//!   spreadsheets open it); a first line stamping the extraction (« Extrait le … (heure
//!   de Paris), filtres : … »), then the French column headers, then the rows. A text
//!   beginning with `=`, `+`, `-` or `@` is prefixed with `'` so that no spreadsheet
//!   runs it as a formula.
//! - XLSX (`rust_xlsxwriter`): the same stamp in the first row, headers in bold in the
//!   second (frozen), then the rows; numbers as numbers.
//!
//! Dashboard tables: add an [`Export`] whose `list` is the dashboard table's GraphQL
//! field once the dashboard answers its tables as connections (`edges { node }`,
//! `pageInfo`); anything else (a table that is not paginated) needs its own reading of
//! the response in [`rows`].

use std::collections::BTreeMap;

use async_graphql::Variables;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use pharos_access::{Actor, TargetState};
use pharos_web::Problem;
use serde_json::Value;

use crate::graphql::ReadSchema;

/// A filter's type, as GraphQL takes it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Flag,
}

/// One exported list.
#[derive(Debug)]
pub struct Export {
    /// The name in the path (`schools`).
    pub name: &'static str,
    /// Its GraphQL field.
    list: &'static str,
    /// Query parameters: name in the URL, GraphQL argument, type.
    filters: &'static [(&'static str, &'static str, Kind)],
    /// Columns: French header, node field.
    columns: &'static [(&'static str, &'static str)],
}

const T: Kind = Kind::Text;

/// Every export.
pub const EXPORTS: &[Export] = &[
    Export {
        name: "schools",
        list: "schools",
        filters: &[
            ("department", "department", T),
            ("kind", "kind", T),
            ("sector", "sector", T),
            ("priority_education", "priorityEducation", T),
            ("circonscription", "circonscription", T),
            ("search", "search", T),
            ("include_closed", "includeClosed", Kind::Flag),
        ],
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
        list: "trainings",
        filters: &[
            ("school_year", "schoolYear", T),
            ("department", "department", T),
            ("topic", "topic", T),
            ("search", "search", T),
        ],
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
        list: "sessions",
        filters: &[
            ("training_id", "trainingId", T),
            ("school_year", "schoolYear", T),
            ("department", "department", T),
            ("status", "status", T),
        ],
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
        list: "deployments",
        filters: &[
            ("school_year", "schoolYear", T),
            ("department", "department", T),
            ("school_uai", "schoolUai", T),
            ("circonscription", "circonscription", T),
        ],
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
        list: "labels",
        filters: &[
            ("school_year", "schoolYear", T),
            ("department", "department", T),
            ("school_uai", "schoolUai", T),
            ("status", "status", T),
        ],
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
    Export {
        name: "partners",
        list: "partners",
        filters: &[
            ("department", "department", T),
            ("kind", "kind", T),
            ("search", "search", T),
            ("include_archived", "includeArchived", Kind::Flag),
        ],
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
        list: "cohorts",
        filters: &[
            ("school_year", "schoolYear", T),
            ("department", "department", T),
            ("school_uai", "schoolUai", T),
            ("kind", "kind", T),
            ("status", "status", T),
        ],
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
        list: "actions",
        filters: &[
            ("school_year", "schoolYear", T),
            ("department", "department", T),
            ("school_uai", "schoolUai", T),
            ("campaign", "campaign", T),
            ("status", "status", T),
        ],
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
        list: "entries",
        filters: &[
            ("contest_id", "contestId", T),
            ("department", "department", T),
            ("school_uai", "schoolUai", T),
            ("category", "category", T),
            ("status", "status", T),
        ],
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

/// Rows per GraphQL page (the lists' largest).
const PAGE: i32 = crate::graphql::MAX_FIRST;
/// The most rows an export holds (the registry of schools is the largest list, a few
/// thousand rows).
const MAX_ROWS: usize = 100_000;

const CSV: &str = "text/csv; charset=utf-8";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn names() -> String {
    EXPORTS
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown(file: &str) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown-export",
        "Export inconnu",
        format!(
            "« {file} » n'est pas un export : demandez <liste>.csv ou <liste>.xlsx, la liste étant \
             l'une de : {}.",
            names()
        ),
    )
}

/// The GraphQL query of one page, and its variables.
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
    for (parameter, value) in filters {
        let Some((_, argument, kind)) = export.filters.iter().find(|(p, _, _)| p == parameter)
        else {
            let valid: Vec<&str> = export.filters.iter().map(|(p, _, _)| *p).collect();
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "unknown-filter",
                "Filtre inconnu",
                format!(
                    "« {parameter} » ne filtre pas l'export {} ; filtres possibles : {}.",
                    export.name,
                    valid.join(", ")
                ),
            )
            .with_field(parameter.clone(), "filtre inconnu pour cet export"));
        };
        let (graphql_type, value) = match kind {
            Kind::Text => ("String", Value::from(value.clone())),
            Kind::Flag => match value.as_str() {
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
            },
        };
        definitions.push(format!("${argument}: {graphql_type}"));
        arguments.push(format!("{argument}: ${argument}"));
        variables.insert((*argument).to_owned(), value);
    }
    let fields: Vec<&str> = export.columns.iter().map(|(_, f)| *f).collect();
    let query = format!(
        "query Export({}) {{ {}({}) {{ pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {} }} }} }} }}",
        definitions.join(", "),
        export.list,
        arguments.join(", "),
        fields.join(" ")
    );
    Ok(
        async_graphql::Request::new(query)
            .variables(Variables::from_json(Value::Object(variables))),
    )
}

/// Every row of the list, as the caller sees it.
async fn rows(
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
        let response = crate::execute(state, schema, actor.clone(), page).await?;
        if let Some(error) = response.errors.first() {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-filter",
                "Filtre invalide",
                error.message.clone(),
            ));
        }
        let data = response.data.into_json().map_err(|e| {
            tracing::error!(error = %e, "export: unreadable GraphQL answer");
            Problem::internal()
        })?;
        let list = &data[export.list];
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

/// « Extrait le 01/12/2026 à 21:14 (heure de Paris), filtres : department = 31 ».
fn stamp(at: DateTime<Utc>, filters: &BTreeMap<String, String>) -> String {
    let paris = at.with_timezone(&chrono_tz::Europe::Paris);
    let filters = if filters.is_empty() {
        "aucun".to_owned()
    } else {
        filters
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "Extrait le {} (heure de Paris, Europe/Paris), filtres : {filters}",
        paris.format("%d/%m/%Y à %H:%M")
    )
}

/// A cell as text: booleans in French, nothing for null.
fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(true) => "oui".to_owned(),
        Value::Bool(false) => "non".to_owned(),
        Value::String(s) => s.clone(),
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

fn csv(stamp: &str, export: &Export, rows: &[Vec<Value>]) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    let line = |cells: Vec<String>| cells.join(";") + "\r\n";
    out.push_str(&line(vec![csv_field(&Value::from(stamp))]));
    out.push_str(&line(
        export
            .columns
            .iter()
            .map(|(h, _)| csv_field(&Value::from(*h)))
            .collect(),
    ));
    for row in rows {
        out.push_str(&line(row.iter().map(csv_field).collect()));
    }
    out.into_bytes()
}

fn xlsx(
    stamp: &str,
    export: &Export,
    rows: &[Vec<Value>],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(export.name)?;
    sheet.write_string(0, 0, stamp)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (col, (header, _)) in (0u16..).zip(export.columns) {
        sheet.write_string_with_format(1, col, *header, &bold)?;
    }
    for (row, cells) in (2u32..).zip(rows) {
        for (col, value) in (0u16..).zip(cells) {
            match value {
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
    book.save_to_buffer()
}

/// `GET /api/v1/exports/{file}`
#[utoipa::path(get, path = "/api/v1/exports/{file}", tag = "read-model",
    operation_id = "read_model_export",
    summary = "Exporter une liste (CSV ou XLSX)",
    description = "Une liste du modèle de lecture, filtrée et limitée au périmètre de l'appelant \
        exactement comme la requête GraphQL du même nom : `schools`, `trainings`, `sessions`, \
        `deployments`, `labels`, `partners`, `cohorts`, `actions`, `entries`, suivie de `.csv` \
        (UTF-8 avec BOM, séparateur `;`) ou `.xlsx`. Les filtres de la liste se donnent en \
        paramètres (`?department=31&school_year=2026-2027`, noms en snake_case : `school_year`, \
        `department`, `school_uai`, `kind`, `status`, `search`, `include_closed`…). La première \
        ligne indique l'instant de l'extraction (heure de Paris) et les filtres, la deuxième les \
        intitulés des colonnes.",
    params(
        ("file" = String, Path, description = "`<liste>.csv` ou `<liste>.xlsx`, ex. `schools.csv`"),
        ("filters" = Option<BTreeMap<String, String>>, Query, style = Form, explode,
            description = "Les filtres de la liste (ex. `department=31`)"),
    ),
    responses(
        (status = 200, description = "Le fichier", content(
            ("text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "Filtre inconnu pour cette liste, ou valeur mal formée", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Non authentifié", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Export inconnu : la réponse nomme ceux qui existent", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur de filtre refusée (ex. année scolaire)", body = Problem, content_type = "application/problem+json"),
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
    let Some(export) = EXPORTS.iter().find(|e| e.name == name) else {
        return Err(unknown(&file));
    };
    if !matches!(extension, "csv" | "xlsx") {
        return Err(unknown(&file));
    }
    let filters: BTreeMap<String, String> = filters
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let at = state.clock.now();
    let rows = rows(&state, &schema, &actor, export, &filters).await?;
    let stamp = stamp(at, &filters);
    let (content_type, bytes) = if extension == "csv" {
        (CSV, csv(&stamp, export, &rows))
    } else {
        let bytes = xlsx(&stamp, export, &rows).map_err(|e| {
            tracing::error!(error = %e, "export: XLSX not written");
            Problem::internal()
        })?;
        (XLSX, bytes)
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
        assert_eq!(csv_field(&Value::Bool(true)), "oui");
        assert_eq!(csv_field(&Value::Null), "");
    }

    #[test]
    fn the_stamp_is_in_paris_time() {
        let at = "2026-12-01T20:14:00Z".parse().unwrap_or_default();
        let filters = BTreeMap::from([("department".to_owned(), "31".to_owned())]);
        assert_eq!(
            stamp(at, &filters),
            "Extrait le 01/12/2026 à 21:14 (heure de Paris, Europe/Paris), filtres : department = 31"
        );
    }

    #[test]
    fn every_export_names_distinct_filters_and_columns() {
        for export in EXPORTS {
            let mut filters: Vec<&str> = export.filters.iter().map(|f| f.0).collect();
            filters.sort_unstable();
            filters.dedup();
            assert_eq!(filters.len(), export.filters.len(), "{}", export.name);
            assert!(!export.columns.is_empty(), "{}", export.name);
        }
    }
}

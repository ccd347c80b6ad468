//! Importing schools from a CSV file: the national directory's open-data export
//! (« Annuaire de l'éducation », semicolon-separated, French headers, often Latin-1)
//! or the simple comma-separated format of the README. Line by line: a refused line is
//! reported with its number, UAI and reason and never stops the others; a line equal to
//! the registry appends nothing; a changed line appends an update.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use futures::StreamExt;
use pharos_access::{Action, Actor, Subject};
use pharos_decider::execute;
use pharos_events::school::SchoolEvent;
use pharos_events::{Academy, Uai};
use pharos_eventstore::{EventStore, Metadata};
use pharos_web::Problem;
use serde::Serialize;

use crate::schools::{School, SchoolCommand, SchoolInput, stream};
use crate::{Directory, NAME};

/// Lines decided and appended at once (appends of different schools share commits).
const CONCURRENCY: usize = 16;

/// A file that cannot be read as a school list at all: nothing is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnreadableFile(pub String);

/// Which of the two accepted layouts a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// The national directory's export.
    National,
    /// `uai,name,kind,sector,department,commune,circonscription,priority_education`.
    Simple,
}

/// One data line, checked.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based line number in the file (the header is line 1).
    pub number: u64,
    pub uai: String,
    pub input: Result<SchoolInput, String>,
}

#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub layout: Layout,
    /// `utf-8` or `windows-1252` (Latin-1).
    pub encoding: &'static str,
    pub lines: Vec<Line>,
}

/// Une ligne refusée.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = ImportRefusedLine)]
pub struct Refused {
    /// Numéro de la ligne dans le fichier (l'en-tête est la ligne 1).
    pub line: u64,
    pub uai: String,
    /// Motif du refus, en français.
    pub reason: String,
}

/// Ce qu'un import a fait, ligne à ligne.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = ImportReport)]
pub struct Report {
    /// Établissements nouveaux.
    pub imported: usize,
    /// Établissements modifiés.
    pub updated: usize,
    /// Lignes identiques au registre : rien n'est ajouté.
    pub unchanged: usize,
    /// Lignes refusées, par numéro de ligne.
    pub refused: Vec<Refused>,
    /// Encodage lu : `utf-8` ou `windows-1252`.
    #[schema(example = "utf-8")]
    pub encoding: String,
}

impl Report {
    pub fn lines(&self) -> usize {
        self.imported + self.updated + self.unchanged + self.refused.len()
    }
}

/// Decodes and splits a file. UTF-8 (with or without BOM) is read as such; anything
/// else is read as Windows-1252, the superset of Latin-1 those exports use.
pub fn parse(bytes: &[u8]) -> Result<ParsedFile, UnreadableFile> {
    if bytes.contains(&0) {
        return Err(UnreadableFile(
            "le fichier n'est pas un fichier texte CSV (octets nuls) : exportez-le au format CSV"
                .into(),
        ));
    }
    let (text, encoding) = match std::str::from_utf8(bytes) {
        Ok(text) => (text.trim_start_matches('\u{feff}').to_owned(), "utf-8"),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (text.into_owned(), "windows-1252")
        }
    };
    let first = text.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        return Err(UnreadableFile(
            "le fichier est vide : la première ligne doit nommer les colonnes".into(),
        ));
    }
    let delimiter = if first.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|_| {
            UnreadableFile(
                "la ligne d'en-tête est illisible (guillemets non refermés ?)".to_owned(),
            )
        })?
        .iter()
        .map(fold)
        .collect();
    let columns = Columns::find(&headers)?;
    let mut lines = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let number = index as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let number = e.position().map_or(number, csv::Position::line);
                lines.push(Line {
                    number,
                    uai: String::new(),
                    input: Err(csv_line_error(&e)),
                });
                continue;
            }
        };
        let number = record.position().map_or(number, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let uai = columns.get(&record, columns.uai).to_owned();
        lines.push(Line {
            number,
            uai,
            input: columns.input(&record),
        });
    }
    Ok(ParsedFile {
        layout: columns.layout,
        encoding,
        lines,
    })
}

/// A line the CSV reader could not split, in French (the reader's own text is English).
fn csv_line_error(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "ligne mal formée : caractères illisibles (encodage)".to_owned()
        }
        _ => "ligne mal formée : guillemets ou séparateurs incohérents".to_owned(),
    }
}

/// Lower-case ASCII without accents, for matching headers and labels.
fn fold(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' => 'e',
            'î' | 'ï' | 'Î' => 'i',
            'ô' | 'ö' | 'Ô' => 'o',
            'ù' | 'û' | 'ü' | 'Û' => 'u',
            'ç' | 'Ç' => 'c',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

struct Columns {
    layout: Layout,
    uai: usize,
    name: usize,
    kind: usize,
    sector: usize,
    department: usize,
    commune: usize,
    circonscription: Option<usize>,
    priority: Option<usize>,
    // National export only.
    nature_code: Option<usize>,
    nature_label: Option<usize>,
    private_contract: Option<usize>,
}

impl Columns {
    fn find(headers: &[String]) -> Result<Self, UnreadableFile> {
        let at = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| headers.iter().position(|h| h == n))
        };
        let national = at(&["identifiant_de_l_etablissement"]).is_some();
        let (layout, required): (Layout, [(&str, &[&str]); 6]) = if national {
            (
                Layout::National,
                [
                    (
                        "Identifiant_de_l_etablissement",
                        &["identifiant_de_l_etablissement"],
                    ),
                    ("Nom_etablissement", &["nom_etablissement"]),
                    ("Type_etablissement", &["type_etablissement"]),
                    ("Statut_public_prive", &["statut_public_prive"]),
                    ("Code_departement", &["code_departement"]),
                    ("Nom_commune", &["nom_commune"]),
                ],
            )
        } else {
            (
                Layout::Simple,
                [
                    ("uai", &["uai"]),
                    ("name", &["name"]),
                    ("kind", &["kind"]),
                    ("sector", &["sector"]),
                    ("department", &["department"]),
                    ("commune", &["commune"]),
                ],
            )
        };
        let mut found = [0; 6];
        let mut missing = Vec::new();
        for (i, (label, names)) in required.iter().enumerate() {
            match at(names) {
                Some(index) => found[i] = index,
                None => missing.push(*label),
            }
        }
        if !missing.is_empty() {
            return Err(UnreadableFile(format!(
                "colonnes manquantes : {}. Attendu : l'export de l'annuaire de l'éducation \
                 (séparateur point-virgule) ou le format simple dont la première ligne est \
                 « uai,name,kind,sector,department,commune,circonscription,priority_education »",
                missing
                    .iter()
                    .map(|m| format!("« {m} »"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(Self {
            layout,
            uai: found[0],
            name: found[1],
            kind: found[2],
            sector: found[3],
            department: found[4],
            commune: found[5],
            circonscription: if national {
                at(&["nom_circonscription", "code_circonscription"])
            } else {
                at(&["circonscription"])
            },
            priority: if national {
                at(&["appartenance_education_prioritaire"])
            } else {
                at(&["priority_education"])
            },
            nature_code: at(&["code_nature"]),
            nature_label: at(&["libelle_nature"]),
            private_contract: at(&["type_contrat_prive"]),
        })
    }

    fn get<'r>(&self, record: &'r csv::StringRecord, index: usize) -> &'r str {
        record.get(index).unwrap_or("")
    }

    fn optional<'r>(&self, record: &'r csv::StringRecord, index: Option<usize>) -> Option<&'r str> {
        index.and_then(|i| record.get(i)).filter(|v| !v.is_empty())
    }

    fn input(&self, record: &csv::StringRecord) -> Result<SchoolInput, String> {
        if record.len() <= self.commune.max(self.department).max(self.uai) {
            return Err(match record.len() {
                1 => "un seul champ, moins que les colonnes annoncées par l'en-tête".to_owned(),
                n => format!("{n} champs, moins que les colonnes annoncées par l'en-tête"),
            });
        }
        let mut input = SchoolInput {
            uai: self.get(record, self.uai).to_owned(),
            name: self.get(record, self.name).to_owned(),
            kind: self.get(record, self.kind).to_owned(),
            sector: self.get(record, self.sector).to_owned(),
            department: self.get(record, self.department).to_owned(),
            commune: self.get(record, self.commune).to_owned(),
            circonscription: self
                .optional(record, self.circonscription)
                .map(str::to_owned),
            priority_education: self.optional(record, self.priority).map(str::to_owned),
        };
        if self.layout == Layout::National {
            input.kind = self.national_kind(record)?.to_owned();
            input.sector = self.national_sector(record)?.to_owned();
            input.priority_education = Some(
                match input.priority_education.as_deref().map(fold).as_deref() {
                    Some("rep+") | Some("rep +") => "rep_plus",
                    Some("rep") => "rep",
                    _ => "none",
                }
                .to_owned(),
            );
        }
        Ok(input)
    }

    fn national_kind(&self, record: &csv::StringRecord) -> Result<&'static str, String> {
        let label = self.get(record, self.kind);
        let nature = self.optional(record, self.nature_code).unwrap_or("");
        let nature_label = fold(self.optional(record, self.nature_label).unwrap_or(""));
        match fold(label).as_str() {
            "ecole" => Ok("ecole"),
            "college" => Ok("college"),
            "erea" => Ok("erea"),
            "lycee" => Ok(match nature {
                "320" => "lycee_pro",
                "306" => "lycee_poly",
                "300" | "301" | "302" => "lycee_gt",
                _ if nature_label.contains("professionnel") => "lycee_pro",
                _ if nature_label.contains("polyvalent") => "lycee_poly",
                _ => "lycee_gt",
            }),
            _ => Err(format!(
                "type d'établissement « {label} » hors du champ du pôle (écoles, collèges, lycées, EREA)"
            )),
        }
    }

    fn national_sector(&self, record: &csv::StringRecord) -> Result<&'static str, String> {
        let status = self.get(record, self.sector);
        match fold(status).as_str() {
            "public" => Ok("public"),
            "prive" => {
                let contract = fold(self.optional(record, self.private_contract).unwrap_or(""));
                if contract.contains("hors contrat") {
                    Err("établissement privé hors contrat : hors du champ du pôle".into())
                } else {
                    Ok("prive_sous_contrat")
                }
            }
            _ => Err(format!(
                "statut « {status} » inconnu (attendu : Public ou Privé)"
            )),
        }
    }
}

/// Applies every line of `file`, `CONCURRENCY` at a time; `progress` is called once
/// per line done. Lines are independent: a refused line never stops the others.
pub async fn run(
    store: &EventStore,
    academy: &Academy,
    file: ParsedFile,
    metadata: &Metadata,
    progress: impl Fn(),
) -> Report {
    let mut report = Report {
        encoding: file.encoding.to_owned(),
        ..Report::default()
    };
    // Duplicates are refused before anything runs, so the outcome does not depend on
    // which line the concurrent appends happen to take first.
    let mut first_seen: HashMap<String, u64> = HashMap::new();
    let mut work = Vec::new();
    for line in file.lines {
        let checked = line.input.and_then(|input| {
            input.check(academy).map_err(|errors| {
                errors
                    .into_iter()
                    .map(|(_, m)| m)
                    .collect::<Vec<_>>()
                    .join(" ; ")
            })
        });
        match checked {
            Ok(record) => match first_seen.get(record.uai.as_str()) {
                Some(first) => {
                    report.refused.push(Refused {
                        line: line.number,
                        uai: line.uai,
                        reason: format!("UAI en double dans le fichier (déjà ligne {first})"),
                    });
                    progress();
                }
                None => {
                    first_seen.insert(record.uai.to_string(), line.number);
                    work.push((line.number, record));
                }
            },
            Err(reason) => {
                report.refused.push(Refused {
                    line: line.number,
                    uai: line.uai,
                    reason,
                });
                progress();
            }
        }
    }
    let now = chrono::Utc::now();
    let mut outcomes = futures::stream::iter(work)
        .map(|(number, record)| async move {
            let uai: Uai = record.uai.clone();
            let outcome = match stream(&uai) {
                Ok(stream) => execute::<School, Problem>(
                    store,
                    &stream,
                    &SchoolCommand::Import(record),
                    now,
                    None,
                    metadata,
                )
                .await
                .map_err(|p| p.detail),
                Err(e) => Err(Problem::from(e).detail),
            };
            (number, uai, outcome)
        })
        .buffer_unordered(CONCURRENCY);
    while let Some((number, uai, outcome)) = outcomes.next().await {
        match outcome {
            Ok(done) => match done.events.first() {
                None => report.unchanged += 1,
                Some(SchoolEvent::SchoolRegistered(_)) => report.imported += 1,
                Some(_) => report.updated += 1,
            },
            Err(reason) => report.refused.push(Refused {
                line: number,
                uai: uai.to_string(),
                reason,
            }),
        }
        progress();
    }
    report.refused.sort_by_key(|r| r.line);
    report
}

/// `POST /api/v1/schools/import` with the CSV file as the body.
#[utoipa::path(operation_id = "directory_import_handler", post, path = "/api/v1/schools/import", tag = "directory",
    summary = "Importer des établissements (CSV)",
    description = "L'export « Annuaire de l'éducation » (séparateur `;`, en-têtes français, UTF-8 ou Latin-1) \
        ou le format simple `uai,name,kind,sector,department,commune,circonscription,priority_education`. \
        Ligne à ligne : une ligne refusée est signalée avec son numéro, son UAI et son motif sans arrêter les autres ; \
        une ligne identique au registre n'ajoute rien. La taille du fichier est limitée (`upload_limit_bytes`).",
    request_body(content = String, content_type = "text/csv", description = "Le fichier CSV, tel quel"),
    responses(
        (status = 200, description = "Compte rendu de l'import, ligne à ligne", body = Report),
        (status = 400, description = "Fichier non reçu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Réservé à qui gère les établissements de toute l'académie", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Fichier trop volumineux : rien n'est importé", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Fichier illisible (vide, binaire, colonnes manquantes) : rien n'est importé", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn handler(
    State(directory): State<Directory>,
    actor: Actor,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageSchools, Subject::Academy)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::payload_too_large(directory.target.app.settings.upload_limit_bytes)
        } else {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Requête invalide",
                "Le fichier n'a pas pu être reçu en entier : envoyez-le de nouveau.",
            )
        }
    })?;
    let file = parse(&body).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable-csv",
            "Fichier illisible",
            format!("Aucune ligne importée : {e}."),
        )
    })?;
    let report = run(
        &directory.target.app.store,
        &directory.target.access.academy,
        file,
        &actor.metadata(NAME),
        || {},
    )
    .await;
    tracing::info!(
        imported = report.imported,
        updated = report.updated,
        unchanged = report.unchanged,
        refused = report.refused.len(),
        "schools import"
    );
    Ok(axum::Json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NATIONAL: &str = "Identifiant_de_l_etablissement;Nom_etablissement;Type_etablissement;Statut_public_prive;Code_postal;Nom_commune;Code_departement;Appartenance_Education_Prioritaire;code_nature;libelle_nature;Type_contrat_prive;nom_circonscription\n\
        0310001H;Collège Jean Moulin;Collège;Public;31000;Toulouse;031;REP+;340;COLLEGE;;\n\
        0310002J;Lycée Déodat de Séverac;Lycée;Public;31000;Toulouse;031;;320;LYCEE PROFESSIONNEL;;\n\
        0310003K;École Jules Ferry;Ecole;Privé;31000;Toulouse;031;;151;ECOLE ELEMENTAIRE;SOUS CONTRAT;Toulouse Centre\n\
        0310004L;CIO Toulouse;Information et orientation;Public;31000;Toulouse;031;;;;;\n";

    #[test]
    fn reads_the_national_export_and_maps_its_labels() {
        let file = parse(NATIONAL.as_bytes()).unwrap();
        assert_eq!((file.layout, file.encoding), (Layout::National, "utf-8"));
        let inputs: Vec<_> = file.lines.iter().map(|l| l.input.clone()).collect();
        let college = inputs[0].as_ref().unwrap();
        assert_eq!(
            (college.kind.as_str(), college.sector.as_str()),
            ("college", "public")
        );
        assert_eq!(college.priority_education.as_deref(), Some("rep_plus"));
        assert_eq!(college.department, "031");
        assert_eq!(inputs[1].as_ref().unwrap().kind, "lycee_pro");
        let ecole = inputs[2].as_ref().unwrap();
        assert_eq!(ecole.sector, "prive_sous_contrat");
        assert_eq!(ecole.circonscription.as_deref(), Some("Toulouse Centre"));
        assert!(inputs[3].as_ref().unwrap_err().contains("hors du champ"));
        assert_eq!(file.lines[3].number, 5);
    }

    #[test]
    fn reads_latin_1_files() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(NATIONAL);
        let file = parse(&bytes).unwrap();
        assert_eq!(file.encoding, "windows-1252");
        assert_eq!(
            file.lines[1].input.as_ref().unwrap().name,
            "Lycée Déodat de Séverac"
        );
    }

    #[test]
    fn names_the_missing_columns_of_an_unknown_layout() {
        let error = parse(b"code;nom\n0310001H;X\n").unwrap_err();
        assert!(error.0.contains("« uai », « name », « kind »"), "{error}");
        assert!(parse(b"").is_err());
        assert!(parse(b"\x00\x01PK").is_err());
    }

    #[test]
    fn reports_short_lines_with_their_number() {
        let file = parse(
            b"uai,name,kind,sector,department,commune\n0310001H,A,college,public,31,Toulouse\n0310002J,B\n",
        )
        .unwrap();
        assert!(file.lines[0].input.is_ok());
        assert_eq!(file.lines[1].number, 3);
        assert!(file.lines[1].input.as_ref().unwrap_err().contains("champ"));
    }
}

//! The dashboard's tables exported: one group or all of them, in CSV for French
//! spreadsheets and in XLSX, stamped with the instant the figures are read at and the
//! filters, scoped and filtered as the `dashboard` query.

use pharos_test_support::{Client, TestApp, TestDb};
use reqwest::StatusCode;
use serde_json::json;

use super::dashboard::{figure, school_of, team, today};
use super::{COLLEGE_31, COLLEGE_32, until};

/// Status, content type and body of a GET.
async fn get(client: &Client, path: &str) -> (StatusCode, String, Vec<u8>) {
    let response = client
        .request(reqwest::Method::GET, path)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// The lines of a CSV export (its BOM checked and dropped).
fn lines(bytes: &[u8]) -> Vec<String> {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "no BOM");
    String::from_utf8(bytes[3..].to_vec())
        .unwrap()
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

const TEAMS: &str = "Collèges et lycées dont l'équipe ressource compte au moins 5 membres formés";

async fn the_dashboard_tables_export_in_scope(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["read-model", "phare"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    let private = super::surface::uai(31, 700);
    app.school(COLLEGE_31, "college", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    school_of(&app, &private, "31", "prive_sous_contrat", "rep").await;
    let (_, year) = today();
    team(&manager, year, json!({"school_uai": COLLEGE_31}), 5).await;
    team(&manager, year, json!({"school_uai": COLLEGE_32}), 5).await;
    until(
        &manager,
        &format!(
            "{{ dashboard(schoolYear: \"{year}\") {{ trainedTeams {{ schools {{ count }} }} }} }}"
        ),
        |b| figure(b, "trainedTeams.schools.count") == 2,
    )
    .await;

    // One group, as a referent of Haute-Garonne sees it: its department only.
    let referent = app.user("department_referent", Some("31")).await;
    let (status, content_type, bytes) =
        get(&referent, "/api/v1/exports/dashboard-trained-teams.csv").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let csv = lines(&bytes);
    assert!(csv[0].starts_with("Extrait le "), "{csv:?}");
    assert!(csv[0].contains(", indicateurs au "), "{csv:?}");
    assert!(
        csv[0].ends_with(&format!("filtres : school_year = {year}")),
        "{csv:?}"
    );
    assert_eq!(csv[1], "Indicateur;Ventilation;Modalité;Valeur;Sur;Taux");
    assert!(
        csv.iter()
            .any(|l| l.starts_with("Version de la définition;Ensemble;;")),
        "{csv:?}"
    );
    for line in [
        format!("{TEAMS};Ensemble;;1;2;0,5"),
        format!("{TEAMS};Département;31;1;2;0,5"),
        format!("{TEAMS};Type d'établissement;college;1;2;0,5"),
        format!("{TEAMS};Secteur;prive_sous_contrat;0;1;0"),
        format!("{TEAMS};Secteur;public;1;1;1"),
        format!("{TEAMS};Éducation prioritaire;none;1;1;1"),
        format!("{TEAMS};Éducation prioritaire;rep;0;1;0"),
    ] {
        assert!(csv.contains(&line), "{line} not in {csv:?}");
    }
    assert!(
        !csv.iter().any(|l| l.contains(";Département;32;")),
        "{csv:?}"
    );

    // Filtered as the query: the public schools of the academy, for the pole.
    let (status, _, bytes) = get(
        &manager,
        &format!("/api/v1/exports/dashboard-trained-teams.csv?sector=public&school_year={year}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csv = lines(&bytes);
    assert!(
        csv[0].ends_with(&format!("filtres : school_year = {year}, sector = public")),
        "{csv:?}"
    );
    assert!(csv.contains(&format!("{TEAMS};Ensemble;;2;2;1")), "{csv:?}");

    // As of long ago: nothing yet, and the stamp says when.
    let (status, _, bytes) = get(
        &manager,
        &format!("/api/v1/exports/dashboard-trained-teams.csv?as_of=2020-01-15T10:00:00%2B01:00&school_year={year}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csv = lines(&bytes);
    assert!(
        csv[0].contains("indicateurs au 15/01/2020 à 10:00:00"),
        "{csv:?}"
    );
    assert!(csv.contains(&format!("{TEAMS};Ensemble;;0;3;0")), "{csv:?}");

    // Every group: in CSV one table, the group first.
    let (status, _, bytes) = get(&manager, "/api/v1/exports/dashboard.csv").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let csv = lines(&bytes);
    assert_eq!(
        csv[1],
        "Groupe;Indicateur;Ventilation;Modalité;Valeur;Sur;Taux"
    );
    for group in [
        "Équipes formées",
        "Ambassadeurs",
        "Labels",
        "Étapes pHARe",
        "Journée nationale",
        "Concours",
        "Formations",
        "Retards",
    ] {
        assert!(
            csv.iter().any(|l| l.starts_with(&format!("{group};"))),
            "{group} missing: {csv:?}"
        );
    }
    assert!(
        csv.contains(&format!("Équipes formées;{TEAMS};Ensemble;;2;3;0,6667")),
        "{csv:?}"
    );
    assert!(
        csv.contains(&"Labels;Labels décernés;Niveau;engagement;0;;".to_owned()),
        "{csv:?}"
    );

    // In XLSX a sheet per group; numbers as numbers.
    let (status, content_type, bytes) = get(&manager, "/api/v1/exports/dashboard.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        [
            "Équipes formées",
            "Ambassadeurs",
            "Labels",
            "Étapes pHARe",
            "Journée nationale",
            "Concours",
            "Formations",
            "Retards"
        ]
    );
    let sheet = book.worksheet_range("Équipes formées").unwrap();
    assert!(
        sheet
            .get_value((0, 0))
            .unwrap()
            .to_string()
            .contains("indicateurs au ")
    );
    assert_eq!(sheet.get_value((1, 5)).unwrap().to_string(), "Taux");
    let row = (2..sheet.height() as u32)
        .find(|r| sheet.get_value((*r, 0)).map(ToString::to_string).as_deref() == Some(TEAMS))
        .unwrap();
    assert_eq!(sheet.get_value((row, 3)), Some(&calamine::Data::Float(2.0)));
    assert_eq!(sheet.get_value((row, 4)), Some(&calamine::Data::Float(3.0)));
    // One group alone: its one sheet.
    let (status, _, bytes) = get(&referent, "/api/v1/exports/dashboard-contest.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    let book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["Concours"]);

    // Refusals, in French.
    let (status, problem) = manager.get("/api/v1/exports/dashboard-teams.csv").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("dashboard, dashboard-trained-teams"),
        "{problem}"
    );
    let (status, problem) = manager
        .get("/api/v1/exports/dashboard.csv?kind=college")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("priority_education"),
        "{problem}"
    );
    let (status, problem) = manager
        .get("/api/v1/exports/dashboard-labels.csv?sector=prive")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("« sector »"),
        "{problem}"
    );
    let (status, _) = app.anonymous().get("/api/v1/exports/dashboard.csv").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-read-model-dashboard-exports";
    the_dashboard_tables_export_in_scope,
);

//! `/annuaire`: the orientation directory in the referent's scope, its filters, the
//! « à revérifier » badge; `/annuaire/fiche/{department}`: the sheet to print.

use pharos_test_support::{Client, TestApp, TestDb, on_both_backends};
use reqwest::StatusCode;
use reqwest::header;
use serde_json::{Value, json};

use super::{Browser, Page, assert_strict_page, created};

/// A partner of the directory, registered by the pole.
async fn partner(manager: &Client, body: Value) -> String {
    created(manager, "/api/v1/partners", body).await
}

struct Seeded {
    app: TestApp,
    /// The Maison des adolescents of Haute-Garonne, checked recently.
    mda: String,
    /// A local cell of Haute-Garonne, last checked two years ago.
    cell: String,
    /// A partner of Gers.
    gers: String,
}

async fn seed(db: TestDb) -> Seeded {
    let app = TestApp::builder(db).targets(&["all"]).start().await;
    let manager = app.user("pole_manager", None).await;
    let mda = partner(
        &manager,
        json!({
            "name": "Maison des adolescents de Haute-Garonne", "kind": "maison_des_adolescents",
            "scope": "department", "department": "31", "commune": "Toulouse",
            "phones": ["05 61 00 00 01"], "emails": ["accueil@mda31.example"],
            "website": "https://mda31.example/", "hours": "Du lundi au vendredi, de 13 h à 19 h",
            "description": "Accueil, écoute et orientation des 11-25 ans."
        }),
    )
    .await;
    let cell = partner(
        &manager,
        json!({
            "name": "Cellule d'écoute de Muret", "kind": "local_cell", "scope": "local",
            "department": "31", "commune": "Muret", "phones": ["05 61 00 00 02"],
            "last_verified_on": "2024-01-15"
        }),
    )
    .await;
    let gers = partner(
        &manager,
        json!({
            "name": "Point accueil écoute jeunes d'Auch", "kind": "association",
            "scope": "department", "department": "32", "commune": "Auch",
            "phones": ["05 62 00 00 03"]
        }),
    )
    .await;
    Seeded {
        app,
        mda,
        cell,
        gers,
    }
}

/// The headers every page gets (the directory itself shows partners' `https://` sites).
fn assert_strict_headers(page: &Page) {
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    assert!(!page.body.contains("<script>") && !page.body.contains(" style=\""));
}

async fn a_referent_finds_her_departments_partners_with_their_numbers(db: TestDb) {
    let s = seed(db).await;
    let referent = s.app.user("department_referent", Some("31")).await;
    let mut browser = Browser::new(&s.app);
    browser.sign_in(&referent.email).await;

    let page = browser.get("/annuaire").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_headers(&page);
    assert!(page.body.contains("<h1>Annuaire d'orientation</h1>"));
    assert!(
        page.body
            .contains("Maison des adolescents de Haute-Garonne")
    );
    assert!(
        page.body
            .contains("href=\"tel:0561000001\">05 61 00 00 01</a>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("href=\"mailto:accueil@mda31.example\""));
    assert!(page.body.contains("Du lundi au vendredi, de 13 h à 19 h"));
    assert!(page.body.contains("href=\"https://mda31.example/\""));
    // The national lines, first.
    let national = page.body.find("href=\"tel:3018\"").unwrap();
    assert!(national < page.body.find(&s.mda).unwrap());
    // The cell checked two years ago is to be checked again.
    let cell = page
        .body
        .find(&format!("id=\"partenaire-{}\"", s.cell))
        .unwrap();
    let flag = cell + page.body[cell..].find("À revérifier").unwrap();
    let mda = page
        .body
        .find(&format!("id=\"partenaire-{}\"", s.mda))
        .unwrap();
    assert!(cell < flag && flag < mda, "{}", page.body);
    assert_eq!(page.body.matches("À revérifier</p>").count(), 1);
    // Gers is not hers, and she is offered no department filter but her sheet.
    assert!(!page.body.contains(&s.gers) && !page.body.contains("Auch"));
    assert!(!page.body.contains("id=\"departement\""));
    assert!(page.body.contains("href=\"/annuaire/fiche/31\""));
    assert!(!page.body.contains("href=\"/annuaire/fiche/32\""));

    // Filters: a kind, a commune, the entries to check again, a text that finds nothing.
    let page = browser.get("/annuaire?type=local_cell").await;
    assert!(page.body.contains(&s.cell) && !page.body.contains(&s.mda));
    let page = browser.get("/annuaire?commune=toulouse").await;
    assert!(page.body.contains(&s.mda) && !page.body.contains(&s.cell));
    let page = browser.get("/annuaire?a_revoir=oui").await;
    assert!(page.body.contains(&s.cell) && !page.body.contains(&s.mda));
    let page = browser.get("/annuaire?q=introuvable").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Aucun partenaire ne correspond"),
        "{}",
        page.body
    );
    // A wrong kind is named next to its field; another department is not hers.
    let page = browser.get("/annuaire?type=magicien").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"type-erreur\""));
    let page = browser.get("/annuaire?departement=32").await;
    assert!(!page.body.contains(&s.gers));

    // The pole sees every department, and filters by one.
    let manager = s.app.user("pole_manager", None).await;
    let mut pole = Browser::new(&s.app);
    pole.sign_in(&manager.email).await;
    let page = pole.get("/annuaire").await;
    assert!(page.body.contains(&s.gers) && page.body.contains(&s.mda));
    let page = pole.get("/annuaire?departement=32").await;
    assert!(page.body.contains(&s.gers) && !page.body.contains(&s.mda));
    assert!(
        page.body
            .contains("href=\"/api/v1/exports/partners.csv?department=32\"")
    );

    // A juror has no such page; a visitor is sent to sign in.
    let juror = s.app.user("juror", None).await;
    let mut juror = {
        let mut browser = Browser::new(&s.app);
        browser.sign_in(&juror.email).await;
        browser
    };
    assert_eq!(juror.get("/annuaire").await.status, StatusCode::FORBIDDEN);
    let page = Browser::new(&s.app).get("/annuaire?type=police").await;
    assert_eq!(
        page.location(),
        "/connexion?suite=/annuaire%3Ftype%3Dpolice"
    );
    s.app.finish().await;
}

async fn the_printable_sheet_lists_the_national_lines_then_the_departments(db: TestDb) {
    let s = seed(db).await;
    let referent = s.app.user("department_referent", Some("31")).await;
    let mut browser = Browser::new(&s.app);
    browser.sign_in(&referent.email).await;

    let page = browser.get("/annuaire/fiche/31").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(page.body.contains("/pharos/partners.css\""));
    assert!(page.body.contains("31 – Haute-Garonne"));
    // 3018 first, then 119, then the department's partner and its local cell.
    let at = |text: &str| {
        page.body
            .find(text)
            .unwrap_or_else(|| panic!("{text} missing from {}", page.body))
    };
    assert!(at("href=\"tel:3018\"") < at("href=\"tel:119\""));
    assert!(at("href=\"tel:119\"") < at("Maison des adolescents de Haute-Garonne"));
    assert!(at("Maison des adolescents de Haute-Garonne") < at("Cellule d&#x27;écoute de Muret"));
    assert!(page.body.contains(">05 61 00 00 01</a>"));
    assert!(
        !page.body.contains("Auch"),
        "Gers is not on Haute-Garonne's sheet"
    );

    // The style sheet prints the sheet alone, on one A4 page.
    let href = {
        let end = at("/pharos/partners.css\"") + "/pharos/partners.css".len();
        let start = page.body[..end].rfind('"').unwrap() + 1;
        page.body[start..end].to_owned()
    };
    let css = reqwest::get(format!("{}{href}", s.app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        css.contains("@media print") && css.contains("size: A4"),
        "{css}"
    );

    // Another department's sheet is not hers; a department outside the academy is none.
    assert_eq!(
        browser.get("/annuaire/fiche/32").await.status,
        StatusCode::FORBIDDEN
    );
    let manager = s.app.user("pole_manager", None).await;
    let mut pole = Browser::new(&s.app);
    pole.sign_in(&manager.email).await;
    let page = pole.get("/annuaire/fiche/32").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("Point accueil écoute jeunes d&#x27;Auch")
    );
    assert_eq!(
        pole.get("/annuaire/fiche/75").await.status,
        StatusCode::NOT_FOUND
    );
    s.app.finish().await;
}

on_both_backends!(
    "partners";
    a_referent_finds_her_departments_partners_with_their_numbers,
    the_printable_sheet_lists_the_national_lines_then_the_departments,
);

//! The school's contest pages: the open edition and its deadline, the draft form with the
//! API's field errors, an entry's page (upload as `upload.js` sends it, and as the form
//! posts it without JavaScript; attestations, submission), the refusals.

use pharos_test_support::{TestApp, TestDb, instant, on_both_backends};
use reqwest::StatusCode;
use reqwest::header;
use serde_json::json;

use super::{Browser, COLLEGE_31, assert_strict_page};

/// The application's clock: the 2026-2027 submission window is open.
const NOW: &str = "2026-12-01T10:00:00+01:00";

/// A PNG's opening (what the API recognises the type from).
fn png() -> Vec<u8> {
    let mut bytes =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    bytes.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    bytes
}

/// Every target, the clock at [`NOW`], the files in a scratch directory, a collège and
/// the 2026-2027 edition (open from 2 November 2026 to 12 February 2027, 23:59 in Paris).
async fn start(db: TestDb) -> (TestApp, String, std::path::PathBuf) {
    let files = std::env::temp_dir().join(format!(
        "pharos-pages-contest-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let dir = files.display().to_string();
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(NOW))
        .configure(|raw| raw.files_dir = Some(dir))
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    let (status, body) = manager
        .post(
            "/api/v1/contests",
            json!({
                "school_year": "2026-2027",
                "opens_at": "2026-11-02",
                "submission_deadline": "2027-02-12T23:59",
                "jury_on": "2027-03-18",
                "national_submission_on": "2027-03-31",
                "exhibition_from": "2027-05-10",
                "exhibition_to": "2027-05-28",
                "categories": [
                    {"level": "college", "medium": "affiche"},
                    {"level": "college", "medium": "video"}
                ],
                "rules": {
                    "media": ["affiche", "video"], "max_video_seconds": 120,
                    "max_file_bytes": 100_000, "file_types": ["png", "pdf", "mp4"],
                    "max_entries_per_group": 1, "nominees_per_category": 1
                }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (app, body["id"].as_str().unwrap().to_owned(), files)
}

fn draft<'a>(csrf: &'a str, title: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("category", "college_affiche"),
        ("title", title),
        ("group_label", "5e B"),
        ("levels", "5e"),
        ("levels", "4e"),
        ("pupil_count", "24"),
        ("adult_count", "2"),
        ("responsible_name", "Camille Martin"),
        ("responsible_email", "camille.martin@ac-toulouse.fr"),
        ("project_sheet", "Une affiche réalisée en classe."),
    ]
}

async fn a_school_creates_uploads_attests_and_submits_its_entry(db: TestDb) {
    let (app, contest, files) = start(db).await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&school.email).await;

    // The open edition, its deadline in Paris time, and nothing entered yet.
    let list = browser.get("/concours").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_strict_page(&list);
    assert!(
        list.body
            .contains("<h1>Concours « Non au harcèlement »</h1>")
    );
    assert!(
        list.body.contains(
            "Date limite de dépôt : vendredi 12 février 2027 à 23 h 59 (heure de Paris), dans 73 jours."
        ),
        "{}",
        list.body
    );
    assert!(
        list.body
            .contains("Aucune participation pour l&#x27;instant")
            || list.body.contains("Aucune participation pour l'instant")
    );
    let new = format!("/concours/{contest}/participations/nouvelle");
    assert!(
        list.body.contains(&format!("href=\"{new}\"")),
        "{}",
        list.body
    );

    // The form: the edition's categories.
    let form = browser.get(&new).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert_strict_page(&form);
    assert!(form.body.contains("value=\"college_affiche\""));
    assert!(form.body.contains("value=\"college_video\""));
    let csrf = form.hidden("csrf");

    // A title missing: the API's message next to the field, the rest kept, nothing appended.
    let before = app.events().await;
    let refused = browser.post_form(&new, &draft(&csrf, "  ")).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("id=\"title-erreur\">Le titre de la production est obligatoire"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"Camille Martin\""));
    assert!(
        refused
            .body
            .contains("id=\"niveau-5e\" name=\"levels\" value=\"5e\" checked")
    );
    // A group of one pupil: named next to its field by the pages, before the API.
    let mut one = draft(&csrf, "Briser le silence");
    one.retain(|(k, _)| *k != "pupil_count");
    one.push(("pupil_count", "un"));
    let refused = browser.post_form(&new, &one).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("id=\"pupil_count-erreur\">Saisissez un nombre entier, au moins 2.")
    );
    assert_eq!(app.events().await, before, "nothing appended");

    // Created: to its page.
    let created = browser
        .post_form(&new, &draft(&csrf, "Briser le silence"))
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let location = created.location().to_owned();
    assert!(
        location.starts_with("/concours/participations/") && location.ends_with("?cree=1"),
        "{location}"
    );
    let here = location.trim_end_matches("?cree=1").to_owned();
    let id = here
        .trim_start_matches("/concours/participations/")
        .to_owned();
    let page = browser.get(&location).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(page.body.contains("<h1>Briser le silence</h1>"));
    assert!(page.body.contains("Participation créée"));
    assert!(page.body.contains(">brouillon</p>"), "{}", page.body);
    // The rules' types (slashes escaped by the template engine: the browser reads them back).
    assert!(
        page.body
            .contains("accept=\"image/png,.png,application/pdf,.pdf,video/mp4,.mp4\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("Formats acceptés : PNG, PDF, MP4"));
    assert!(page.body.contains("Taille maximale : 100\u{a0}Ko"));
    assert!(
        page.body
            .contains(&format!("data-upload-url=\"/api/v1/entries/{id}/files\""))
    );
    assert!(page.body.contains("/pharos/upload.js\""));

    // Submitted too early: the API's French reason, as an alert.
    let csrf = page.hidden("csrf");
    let early = browser
        .post_form(&format!("{here}/depot"), &[("csrf", &csrf)])
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(
        early
            .body
            .contains("La participation n&#x27;a pas été déposée")
            || early.body.contains("La participation n'a pas été déposée")
    );
    assert!(
        early
            .body
            .contains("Attestations manquantes avant le dépôt"),
        "{}",
        early.body
    );

    // The file, as upload.js sends it: the raw body, its type, the cookie, same origin.
    let request = browser
        .http
        .post(format!(
            "{}/api/v1/entries/{id}/files?name=affiche.png",
            browser.base
        ))
        .header(header::ORIGIN, browser.base.clone())
        .header(header::CONTENT_TYPE, "image/png")
        .body(png());
    let uploaded = browser.send(request).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    let page = browser.get(&format!("{here}?fichier=1")).await;
    assert!(page.body.contains("Fichier déposé."));
    assert!(page.body.contains("<ul id=\"fichiers\">"), "{}", page.body);
    assert!(page.body.contains("PNG, "));

    // Attested: the function missing is named next to its field; then recorded.
    let refused = browser
        .post_form(
            &format!("{here}/attestations"),
            &[
                ("csrf", &csrf),
                ("image_rights", "oui"),
                ("attested_by", ""),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("id=\"attested_by-erreur\">"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("id=\"image_rights\" name=\"image_rights\" value=\"oui\" checked")
    );
    let attested = browser
        .post_form(
            &format!("{here}/attestations"),
            &[
                ("csrf", &csrf),
                ("image_rights", "oui"),
                ("third_party_rights", "oui"),
                ("republic_values", "oui"),
                ("rights_grant", "oui"),
                ("attested_by", "Principal du collège"),
            ],
        )
        .await;
    assert_eq!(attested.status, StatusCode::SEE_OTHER, "{}", attested.body);
    assert_eq!(attested.location(), format!("{here}?atteste=1"));

    // Submitted: no form any more, the status says so, and the list too.
    let submitted = browser
        .post_form(&format!("{here}/depot"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    let page = browser.get(submitted.location()).await;
    assert!(page.body.contains(">déposée</p>"), "{}", page.body);
    assert!(page.body.contains("Participation déposée"));
    assert!(!page.body.contains("id=\"televersement\""));
    assert!(page.body.contains("Attestées par : Principal du collège."));
    let list = browser.get("/concours").await;
    assert!(
        list.body.contains(&format!(
            "href=\"/concours/participations/{id}\">Briser le silence</a>"
        )),
        "{}",
        list.body
    );
    assert!(list.body.contains(">déposée</p>"));
    assert!(list.body.contains("Affiche") || list.body.contains("affiche"));
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

async fn forms_without_their_token_other_roles_and_late_entries_are_refused(db: TestDb) {
    let (app, contest, files) = start(db).await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&school.email).await;
    let new = format!("/concours/{contest}/participations/nouvelle");

    // Without the session's CSRF token: refused, nothing appended.
    let before = app.events().await;
    let forged = browser
        .post_form(&new, &draft("pas-le-bon", "Briser le silence"))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(forged.body.contains("Formulaire refusé"));
    assert_eq!(app.events().await, before);

    // A signed-out visitor is sent to sign in.
    let mut visitor = Browser::new(&app);
    let away = visitor.get("/concours").await;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
    assert_eq!(away.location(), "/connexion?suite=/concours");

    // The department's referent: these pages are the school's.
    let referent = app.user("department_referent", Some("31")).await;
    let mut theirs = Browser::new(&app);
    theirs.sign_in(&referent.email).await;
    let page = theirs.get("/concours").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains("Pages réservées aux établissements"));

    // A draft, then the deadline passes: the notice says so and submission is refused.
    let csrf = browser.get(&new).await.hidden("csrf");
    let created = browser
        .post_form(&new, &draft(&csrf, "Briser le silence"))
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let here = created.location().trim_end_matches("?cree=1").to_owned();
    app.set_now(instant("2027-02-13T09:00:00+01:00"));
    let list = browser.get("/concours").await;
    assert!(
        list.body.contains(
            "La date limite est passée : vendredi 12 février 2027 à 23 h 59 (heure de Paris)."
        ),
        "{}",
        list.body
    );
    assert!(!list.body.contains(&format!("href=\"{new}\"")));
    let late = browser
        .post_form(&format!("{here}/depot"), &[("csrf", &csrf)])
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    assert!(
        late.body.contains("La date limite de dépôt est passée"),
        "{}",
        late.body
    );
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

/// The file form as a browser without JavaScript posts it: multipart, the CSRF token
/// first, then the file.
async fn post_file(
    browser: &mut Browser,
    path: &str,
    csrf: &str,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> super::Page {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .part("fichier", part);
    let request = browser
        .http
        .post(format!("{}{path}", browser.base))
        .header(header::ORIGIN, browser.base.clone())
        .multipart(form);
    browser.send(request).await
}

/// A PNG of `size` bytes: its opening, then padding.
fn png_of(size: usize) -> Vec<u8> {
    let mut bytes = png();
    bytes.resize(size, 7);
    bytes
}

async fn without_javascript_the_file_form_posts_the_file_through_the_pages(db: TestDb) {
    let (app, contest, files) = start(db).await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&school.email).await;
    let new = format!("/concours/{contest}/participations/nouvelle");
    let csrf = browser.get(&new).await.hidden("csrf");
    let created = browser
        .post_form(&new, &draft(&csrf, "Briser le silence"))
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let here = created.location().trim_end_matches("?cree=1").to_owned();
    let id = here
        .trim_start_matches("/concours/participations/")
        .to_owned();
    let post = format!("{here}/fichier");

    // The form works without the script: a multipart post to the pages, its token first.
    let page = browser.get(&here).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(&format!(
            "method=\"post\" action=\"{post}\" enctype=\"multipart/form-data\""
        )),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<noscript>"), "{}", page.body);
    let form = &page.body[page.body.find("id=\"televersement\"").unwrap()..];
    assert!(
        form.find("name=\"csrf\"").unwrap() < form.find("name=\"fichier\"").unwrap(),
        "the token before the file"
    );
    let csrf = page.hidden("csrf");

    // Without the session's token: refused, nothing appended.
    let before = app.events().await;
    let forged = post_file(
        &mut browser,
        &post,
        "pas-le-bon",
        "affiche.png",
        "image/png",
        png(),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(forged.body.contains("Formulaire refusé"));
    assert_eq!(app.events().await, before, "nothing appended");

    // A type the rules do not take: the API's French reason next to the field.
    let wrong = post_file(
        &mut browser,
        &post,
        &csrf,
        "notes.txt",
        "text/plain",
        b"Quelques notes".to_vec(),
    )
    .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert!(
        wrong.body.contains("fr-upload-group--error"),
        "{}",
        wrong.body
    );
    assert!(
        wrong
            .body
            .contains("<p class=\"fr-error-text\" id=\"fichier-erreur\">"),
        "{}",
        wrong.body
    );
    assert!(
        wrong
            .body
            .contains("aria-describedby=\"fichier-erreur envoi-etat\"")
    );
    assert!(
        wrong.body.contains("n&#x27;est pas accepté") || wrong.body.contains("n'est pas accepté"),
        "{}",
        wrong.body
    );
    // Content that says it is a PNG and is not: refused from its bytes.
    let fake = post_file(
        &mut browser,
        &post,
        &csrf,
        "affiche.png",
        "image/png",
        b"not a picture at all".to_vec(),
    )
    .await;
    assert_eq!(
        fake.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        fake.body
    );
    assert!(
        fake.body.contains(
            "id=\"fichier-erreur\">Le contenu du fichier n&#x27;est d&#x27;aucun type reconnu"
        ),
        "{}",
        fake.body
    );
    // Over the edition's 100 Ko: refused while it is forwarded (its form's length is
    // within the slack), and before it is read when the form says it is longer.
    for size in [150_000, 400_000] {
        let big = post_file(
            &mut browser,
            &post,
            &csrf,
            "affiche.png",
            "image/png",
            png_of(size),
        )
        .await;
        assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", big.body);
        assert!(
            big.body.contains(
                "id=\"fichier-erreur\">Le fichier dépasse la taille maximale du règlement \
                 (100\u{a0}Ko) : rien n&#x27;a été conservé."
            ),
            "{}",
            big.body
        );
    }
    // No file chosen: the browser sends an empty part without a name.
    let none = post_file(
        &mut browser,
        &post,
        &csrf,
        "",
        "application/octet-stream",
        Vec::new(),
    )
    .await;
    assert_eq!(
        none.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        none.body
    );
    assert!(
        none.body
            .contains("id=\"fichier-erreur\">Choisissez d&#x27;abord un fichier.</p>"),
        "{}",
        none.body
    );
    assert_eq!(app.events().await, before, "nothing appended");

    // The file: stored, back to the entry with the success.
    let uploaded = post_file(
        &mut browser,
        &post,
        &csrf,
        "affiche.png",
        "image/png",
        png_of(60_000),
    )
    .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    assert_eq!(uploaded.location(), format!("{here}?fichier=1"));
    let page = browser.get(uploaded.location()).await;
    assert!(page.body.contains("Fichier déposé."));
    assert!(page.body.contains("<ul id=\"fichiers\">"), "{}", page.body);
    assert!(page.body.contains("PNG, 60\u{a0}Ko"), "{}", page.body);
    let (status, entry) = school.get(&format!("/api/v1/entries/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(entry["files"].as_array().map(Vec::len), Some(1), "{entry}");
    assert_eq!(entry["files"][0]["bytes"], 60_000, "{entry}");

    // Once the entry is submitted, the API refuses any file: said on the page.
    let attested = browser
        .post_form(
            &format!("{here}/attestations"),
            &[
                ("csrf", &csrf),
                ("image_rights", "oui"),
                ("third_party_rights", "oui"),
                ("republic_values", "oui"),
                ("rights_grant", "oui"),
                ("attested_by", "Principal du collège"),
            ],
        )
        .await;
    assert_eq!(attested.status, StatusCode::SEE_OTHER, "{}", attested.body);
    let submitted = browser
        .post_form(&format!("{here}/depot"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    let late = post_file(
        &mut browser,
        &post,
        &csrf,
        "affiche.png",
        "image/png",
        png_of(2_000),
    )
    .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    assert!(
        late.body.contains("Le fichier n'a pas été déposé"),
        "{}",
        late.body
    );
    assert!(
        late.body.contains("elle ne se modifie plus"),
        "{}",
        late.body
    );
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

on_both_backends!(
    "pages_contest";
    a_school_creates_uploads_attests_and_submits_its_entry,
    forms_without_their_token_other_roles_and_late_entries_are_refused,
    without_javascript_the_file_form_posts_the_file_through_the_pages,
);

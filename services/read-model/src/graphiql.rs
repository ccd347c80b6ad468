//! GraphiQL on `GET /graphql`: a French page and its scripts and styles, served from
//! bytes embedded in the binary (`assets/`, pinned by its `package-lock.json`), so that
//! nothing loads from a CDN and the page works offline on the académie's network.
//!
//! Asset paths carry a digest of the embedded bytes (`/graphql/assets/<digest>/<file>`):
//! browsers may keep them for a year, and a release with other bytes changes the path.
//! Any digest is answered with today's bytes, so a page still open across a release works.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pharos_web::Problem;

/// An embedded file: name, content type, bytes.
type Asset = (&'static str, &'static str, &'static [u8]);

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The files the page loads, in the order it loads them.
pub const ASSETS: [Asset; 5] = [
    (
        "graphiql.min.css",
        CSS,
        include_bytes!("../assets/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        JS,
        include_bytes!("../assets/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        JS,
        include_bytes!("../assets/react-dom.production.min.js"),
    ),
    (
        "graphiql.min.js",
        JS,
        include_bytes!("../assets/graphiql.min.js"),
    ),
    (
        "pharos-graphiql.js",
        JS,
        include_bytes!("../assets/pharos-graphiql.js"),
    ),
];

/// The first 12 hex digits of the SHA-256 of every asset.
static DIGEST: LazyLock<String> = LazyLock::new(|| {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for (name, _, bytes) in ASSETS {
        hash.update(name.as_bytes());
        hash.update(bytes);
    }
    format!("{:x}", hash.finalize())[..12].to_owned()
});

/// The page: French where it speaks, local assets only.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let at = |file: &str| format!("/graphql/assets/{}/{file}", *DIGEST);
    let styles = format!(
        r#"<link rel="stylesheet" href="{}">"#,
        at("graphiql.min.css")
    );
    let scripts: String = ASSETS
        .iter()
        .filter(|(name, _, _)| name.ends_with(".js"))
        .map(|(name, _, _)| format!(r#"<script src="{}" defer></script>"#, at(name)))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        r#"<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pharos — explorateur GraphQL</title>
{styles}
<style>
  body {{ margin: 0; height: 100vh; display: flex; flex-direction: column; font-family: system-ui, sans-serif; }}
  header {{ padding: .4rem 1rem; background: #000091; color: #fff; display: flex; gap: 1rem; align-items: baseline; }}
  header h1 {{ font-size: 1rem; margin: 0; }}
  #graphiql {{ flex: 1; min-height: 0; }}
  #connexion {{ max-width: 24rem; margin: 2rem auto; display: flex; flex-direction: column; gap: .5rem; }}
  #connexion[hidden] {{ display: none; }}
  #message {{ color: #ce0500; text-align: center; }}
</style>
</head>
<body>
<header><h1>Pharos — explorateur GraphQL du modèle de lecture</h1><span id="qui"></span></header>
<noscript><p>Cette page a besoin de JavaScript.</p></noscript>
<form id="connexion" hidden>
  <p>Connectez-vous pour interroger le modèle de lecture : chaque réponse est limitée à votre périmètre.</p>
  <label for="email">Adresse électronique</label>
  <input id="email" type="email" autocomplete="username" required>
  <label for="password">Mot de passe</label>
  <input id="password" type="password" autocomplete="current-password" required>
  <button type="submit">Se connecter</button>
</form>
<p id="message" role="alert"></p>
<div id="graphiql"></div>
{scripts}
</body>
</html>
"#
    )
});

/// `GET /graphql`
#[utoipa::path(get, path = "/graphql", tag = "read-model",
    operation_id = "read_model_graphiql",
    summary = "Explorateur GraphQL (GraphiQL)",
    description = "Page HTML de GraphiQL, servie avec ses scripts par Pharos (aucun CDN). Elle \
        interroge `POST /graphql` avec le cookie de session du navigateur (un formulaire de \
        connexion s'affiche sans session) ou un jeton saisi dans l'onglet des en-têtes.",
    responses((status = 200, description = "La page", content_type = "text/html")),
    security(()))]
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE.as_str(),
    )
        .into_response()
}

/// `GET /graphql/assets/{digest}/{file}`
#[utoipa::path(get, path = "/graphql/assets/{digest}/{file}", tag = "read-model",
    operation_id = "read_model_graphiql_asset",
    summary = "Script ou feuille de style de l'explorateur GraphQL",
    params(
        ("digest" = String, Path, description = "Empreinte des fichiers (toute valeur est servie avec les fichiers actuels)"),
        ("file" = String, Path, description = "Nom du fichier"),
    ),
    responses(
        (status = 200, description = "Le fichier, à garder en cache un an"),
        (status = 404, description = "Fichier inconnu", body = Problem, content_type = "application/problem+json"),
    ),
    security(()))]
pub async fn asset(Path((_digest, file)): Path<(String, String)>) -> Response {
    let Some((_, content_type, bytes)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        let known: Vec<&str> = ASSETS.iter().map(|(name, _, _)| *name).collect();
        return Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Fichier inconnu",
            format!(
                "« {file} » n'est pas un fichier de l'explorateur GraphQL ; fichiers servis : {}.",
                known.join(", ")
            ),
        )
        .into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        *bytes,
    )
        .into_response()
}

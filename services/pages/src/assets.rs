//! The front-end files, embedded in the binary: the vendored npm bundles (`assets/vendor/`,
//! pinned by `assets/package-lock.json`) and Pharos's own style sheet and script
//! (`assets/pharos/`), served under `/assets/<digest>/`.
//!
//! The digest covers every embedded byte: browsers keep the files for a year, and a
//! release with other bytes changes every path. Any digest is answered with today's
//! bytes, so a page still open across a release keeps working.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::{EmbeddedFile, RustEmbed};

#[derive(RustEmbed)]
#[folder = "assets/vendor/"]
struct Vendor;

#[derive(RustEmbed)]
#[folder = "assets/pharos/"]
struct Own;

/// Pharos's own files are under `pharos/`, the vendored ones under their package's name.
fn get(path: &str) -> Option<EmbeddedFile> {
    match path.strip_prefix("pharos/") {
        Some(own) => Own::get(own),
        None => Vendor::get(path),
    }
}

static DIGEST: LazyLock<String> = LazyLock::new(|| {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    let files = Vendor::iter()
        .map(|p| (p.to_string(), Vendor::get(&p)))
        .chain(Own::iter().map(|p| (format!("pharos/{p}"), Own::get(&p))));
    for (path, file) in files {
        hash.update(path.as_bytes());
        if let Some(file) = file {
            hash.update(file.metadata.sha256_hash());
        }
    }
    format!("{:x}", hash.finalize())[..12].to_owned()
});

/// `/assets/<digest>`: where templates point their links.
pub fn root() -> String {
    format!("/assets/{}", *DIGEST)
}

/// `GET /assets/{digest}/{path}`.
pub async fn serve(Path((_digest, path)): Path<(String, String)>) -> Response {
    file(&path)
}

/// `GET /favicon.ico`, which browsers ask for whatever the page says.
pub async fn favicon() -> Response {
    file("dsfr/favicon/favicon.ico")
}

fn file(path: &str) -> Response {
    let Some(file) = get(path) else {
        return (StatusCode::NOT_FOUND, "Fichier introuvable").into_response();
    };
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_a_template_links_is_embedded() {
        for path in [
            "dsfr/dsfr.min.css",
            "dsfr/dsfr.module.min.js",
            "dsfr/dsfr.nomodule.min.js",
            "htmx.min.js",
            "pharos/pharos.css",
            "pharos/pharos.js",
        ] {
            assert!(get(path).is_some(), "{path} is not embedded");
        }
        assert_eq!(root().len(), "/assets/".len() + 12);
    }
}

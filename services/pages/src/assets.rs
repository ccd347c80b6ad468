//! The front-end files, embedded in the binary: the vendored npm bundles (`assets/vendor/`,
//! pinned by `assets/package-lock.json`) and Pharos's own style sheet and script
//! (`assets/pharos/`), served under `/assets/<digest>/`.
//!
//! The digest covers every embedded byte: browsers keep the files for a year, and a
//! release with other bytes changes every path. Any digest is answered with today's
//! bytes, so a page still open across a release keeps working.
//!
//! The vendored style sheets and scripts are also embedded brotli-compressed at its best
//! quality (`<file>.br`, written by `assets/refresh.sh`): a browser that accepts `br` gets
//! those bytes, a quarter or less of the plain ones, with no compression per request.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
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
pub async fn serve(Path((_digest, path)): Path<(String, String)>, headers: HeaderMap) -> Response {
    file(&path, accepts_brotli(&headers))
}

/// `GET /favicon.ico`, which browsers ask for whatever the page says.
pub async fn favicon() -> Response {
    file("dsfr/favicon/favicon.ico", false)
}

/// Whether `Accept-Encoding` names `br` without refusing it (`br;q=0`).
fn accepts_brotli(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            parts
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case("br"))
                && !parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                })
        })
}

fn file(path: &str, brotli: bool) -> Response {
    let Some(file) = get(path) else {
        return (StatusCode::NOT_FOUND, "Fichier introuvable").into_response();
    };
    let packed = if brotli && !path.ends_with(".br") {
        get(&format!("{path}.br"))
    } else {
        None
    };
    let encoded = packed.is_some();
    let body = packed.map_or_else(|| file.data.clone(), |packed| packed.data);
    let mut response = body.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    if encoded {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    }
    // Caches keep the plain and the compressed bytes apart.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
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

    #[test]
    fn every_compressed_file_holds_the_bytes_of_its_plain_one() {
        let mut checked = 0;
        for path in Vendor::iter() {
            let Some(plain_path) = path.strip_suffix(".br") else {
                let big_text = (path.ends_with(".css") || path.ends_with(".js"))
                    && Vendor::get(&path).is_some_and(|f| f.data.len() >= 1024);
                assert!(
                    !big_text || Vendor::get(&format!("{path}.br")).is_some(),
                    "{path} has no .br: run assets/refresh.sh"
                );
                continue;
            };
            let (Some(plain), Some(packed)) = (Vendor::get(plain_path), Vendor::get(&path)) else {
                panic!("{path} has no plain file beside it");
            };
            let mut unpacked = Vec::new();
            brotli_decompressor::BrotliDecompress(&mut &packed.data[..], &mut unpacked)
                .expect("valid brotli");
            assert!(
                unpacked[..] == plain.data[..],
                "{path} is stale: run assets/compress.mjs"
            );
            checked += 1;
        }
        assert!(checked >= 5, "only {checked} compressed files");
    }

    #[test]
    fn brotli_goes_to_the_browsers_that_accept_it() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            accepts_brotli(&headers)
        };
        assert!(with("gzip, deflate, br, zstd"));
        assert!(with("br;q=0.8, gzip"));
        assert!(!with("gzip, deflate"));
        assert!(!with("br;q=0, gzip"));
        assert!(!accepts_brotli(&HeaderMap::new()));

        let plain = file("dsfr/dsfr.min.css", false);
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let packed = file("dsfr/dsfr.min.css", true);
        assert_eq!(packed.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(packed.headers()[header::CONTENT_TYPE], "text/css");
        // Nothing smaller to send for a picture.
        let icon = file("dsfr/favicon/favicon.ico", true);
        assert!(icon.headers().get(header::CONTENT_ENCODING).is_none());
    }
}

//! What every response owes a browser, and the one request a browser must not be trusted
//! with: an unsafe request carrying the session cookie sent by another site's page.
//!
//! The session cookie is `SameSite=Strict`, so a cross-site form cannot carry it in a
//! current browser; the `Origin` check below holds even where `SameSite` does not (an
//! old browser, a sibling sub-domain counted as the same site).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Problem;

/// The cookie a browser carries its session token in (`pharos_access::SESSION_COOKIE`;
/// repeated here because this crate sits below the access crate).
const SESSION_COOKIE: &str = "pharos_session";

/// Sets the headers every response carries, unless the handler set its own: no MIME
/// sniffing, no framing by another site, no full URL leaked to other sites.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("frame-ancestors 'none'"));
    headers
        .entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    response
}

/// Refuses (403) an unsafe request that carries the session cookie and comes from
/// another origin than the one it is addressed to: the `Origin` header, or failing it
/// `Sec-Fetch-Site: cross-site`, says where the page that sent it was loaded from.
/// A request with a bearer token is left alone: no browser adds one by itself.
pub async fn same_origin_for_cookies(request: Request, next: Next) -> Response {
    if is_unsafe(request.method())
        && carries_session_cookie(request.headers())
        && !request.headers().contains_key(header::AUTHORIZATION)
        && is_foreign(request.headers())
    {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "foreign-origin",
            "Requête d'un autre site refusée",
            "Cette requête porte le cookie de session mais vient d'une page d'un autre site \
             (en-tête Origin) : elle est refusée. Agissez depuis les pages de Pharos.",
        )
        .into_response();
    }
    next.run(request).await
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn carries_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| {
            pair.trim()
                .split_once('=')
                .is_some_and(|(name, value)| name == SESSION_COOKIE && !value.is_empty())
        })
}

/// Whether the request says it was sent by another origin's page. The origin's host
/// and port are compared with `Host` (a reverse proxy must pass `Host` through).
fn is_foreign(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match headers.get(header::ORIGIN).map(HeaderValue::to_str) {
        Some(Ok(origin)) => {
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            match (authority, host) {
                (Some(authority), Some(host)) => !authority.eq_ignore_ascii_case(host),
                // `Origin: null` (a sandboxed frame, a data: page) or no Host: refuse.
                _ => true,
            }
        }
        Some(Err(_)) => true,
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn an_origin_is_foreign_unless_it_names_the_host() {
        assert!(!is_foreign(&headers(&[
            ("host", "pharos.ac-toulouse.fr"),
            ("origin", "https://pharos.ac-toulouse.fr")
        ])));
        assert!(!is_foreign(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(is_foreign(&headers(&[
            ("host", "pharos.ac-toulouse.fr"),
            ("origin", "https://evil.example")
        ])));
        assert!(is_foreign(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8081")
        ])));
        assert!(is_foreign(&headers(&[
            ("host", "pharos.ac-toulouse.fr"),
            ("origin", "null")
        ])));
        assert!(is_foreign(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_foreign(&headers(&[("sec-fetch-site", "same-origin")])));
        // curl and scripts send neither.
        assert!(!is_foreign(&headers(&[("host", "pharos.ac-toulouse.fr")])));
    }

    #[test]
    fn only_a_non_empty_session_cookie_counts() {
        assert!(carries_session_cookie(&headers(&[(
            "cookie",
            "a=1; pharos_session=abc"
        )])));
        assert!(!carries_session_cookie(&headers(&[(
            "cookie",
            "pharos_session=; b=2"
        )])));
        assert!(!carries_session_cookie(&headers(&[(
            "cookie",
            "pharos_sessions=abc"
        )])));
    }
}

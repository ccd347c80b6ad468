//! Rendering: the embedded templates, the French number and date filters, and the headers
//! every page is sent with.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{AutoEscape, Environment, Value};
use rust_embed::RustEmbed;
use serde::Serialize;

use crate::api::ApiError;

/// Nothing inline, nothing from elsewhere: scripts, styles, fonts and images come from
/// Pharos itself (the DSFR's inline SVG icons are `data:` images). `connect-src 'self'`
/// also admits the GraphQL subscription's WebSocket on the same host.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[derive(RustEmbed)]
#[folder = "templates/"]
struct Sources;

/// Every template, parsed once at start.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn load() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        for name in Sources::iter() {
            let Some(file) = Sources::get(&name) else {
                continue;
            };
            let source = String::from_utf8(file.data.into_owned())?;
            env.add_template_owned(name.into_owned(), source)?;
        }
        env.set_formatter(|out, state, value| {
            // HTML text as a browser needs it: minijinja's escaper also spells `/` as
            // `&#x2f;`, which makes every URL of a page unreadable in its source.
            match value.as_str() {
                Some(text)
                    if matches!(state.auto_escape(), AutoEscape::Html) && !value.is_safe() =>
                {
                    Ok(out.write_str(&escape_html(text))?)
                }
                _ => minijinja::escape_formatter(out, state, value),
            }
        });
        env.add_filter("percent", percent);
        env.add_filter("number", number);
        env.add_global("asset_root", crate::assets::root());
        Ok(Self { env })
    }

    /// The page `name` with `context`, sent with `status`.
    pub fn render(&self, status: StatusCode, name: &str, context: impl Serialize) -> Response {
        let rendered = self
            .env
            .get_template(name)
            .and_then(|t| t.render(minijinja::value::Serde(context)));
        match rendered {
            Ok(html) => html_response(status, html),
            Err(error) => {
                // A template that does not render is a defect of Pharos, not of the request.
                tracing::error!(template = name, error = %error, "page template failed");
                html_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><html lang=\"fr\"><title>Erreur</title>\
                     <p>Cette page n'a pas pu être affichée. L'incident est consigné ; \
                     réessayez plus tard.</p></html>"
                        .to_owned(),
                )
            }
        }
    }

    /// The error page: `title` and what the user can do.
    pub fn error(&self, status: StatusCode, title: &str, detail: &str) -> Response {
        self.render(
            status,
            "error.html",
            serde_json::json!({ "title": title, "detail": detail, "status": status.as_u16() }),
        )
    }

    /// What a page shows when the API gave no answer it can use; signed out: the
    /// sign-in page, coming back to `here` afterwards.
    pub fn api_error(&self, error: ApiError, here: &str) -> Response {
        match error {
            ApiError::SignedOut => crate::session::to_login(here),
            ApiError::Refused { status, detail, .. } => {
                let status = if status.is_client_error() {
                    status
                } else {
                    StatusCode::BAD_GATEWAY
                };
                self.error(status, "Demande refusée", &detail)
            }
            ApiError::Unavailable => self.error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service momentanément indisponible",
                "Les données de Pharos ne répondent pas pour le moment. Réessayez dans \
                 quelques instants ; si cela dure, prévenez le pôle académique.",
            ),
        }
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // Pages show personal and scoped data: never kept by a shared cache or the
    // back button of a signed-out browser.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `&`, `<`, `>`, `"` and `'` as entities: what text and attribute values need.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `0.425` → `42,5 %`; none (a share of nothing) → `—`.
fn percent(value: Value) -> String {
    match f64::try_from(value) {
        Ok(v) if v.is_finite() => {
            let tenths = (v * 1000.0).round() / 10.0;
            let text = if tenths.fract() == 0.0 {
                format!("{tenths:.0}")
            } else {
                format!("{tenths:.1}").replace('.', ",")
            };
            format!("{text}\u{a0}%")
        }
        _ => "—".to_owned(),
    }
}

/// `12345` → `12 345` (a narrow no-break space groups thousands, as in French).
fn number(value: Value) -> String {
    let Ok(n) = i64::try_from(value.clone()) else {
        return f64::try_from(value)
            .map(|v| format!("{v:.1}").replace('.', ","))
            .unwrap_or_default();
    };
    let digits = n.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('\u{202f}');
        }
        grouped.push(c);
    }
    if n < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_the_french_way() {
        assert_eq!(percent(Value::from(0.425)), "42,5\u{a0}%");
        assert_eq!(percent(Value::from(1.0)), "100\u{a0}%");
        assert_eq!(percent(Value::from(())), "—");
        assert_eq!(number(Value::from(1_234_567)), "1\u{202f}234\u{202f}567");
        assert_eq!(number(Value::from(-12)), "-12");
        assert_eq!(number(Value::from(999)), "999");
        assert_eq!(number(Value::from(12.5)), "12,5");
    }
}

//! How a status answer goes out: validators and `304`, caching, the gzip form when accepted, and
//! the security headers of every public answer.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::live::Rendered;

/// Shared caches and browsers may keep an answer 30 s, and serve it a minute longer while they
/// fetch the next: a crowd after a news report mostly hits caches.
pub(super) const CACHE_CONTROL: &str = "public, max-age=30, stale-while-revalidate=60";

/// No script at all, styles and images from kabar only, forms post only to kabar, never framed.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every status answer (errors too).
pub(super) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(text.trim(), "%a, %d %b %Y %H:%M:%S GMT").ok().map(|t| t.and_utc())
}

/// Whether the client's copy is current: `If-None-Match` decides when present (RFC 9110
/// §13.2.2), `If-Modified-Since` otherwise.
fn not_modified(rendered: &Rendered, request: &HeaderMap) -> bool {
    if let Some(tags) = request.get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok()) {
        return tags
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == rendered.etag);
    }
    request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_http_date)
        .is_some_and(|since| rendered.last_modified.timestamp() <= since.timestamp())
}

fn accepts_gzip(request: &HeaderMap) -> bool {
    request.get_all(header::ACCEPT_ENCODING).iter().filter_map(|value| value.to_str().ok()).any(|value| {
        value.split(',').any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
    })
}

/// The answer for a cached rendering: `304` when the client has it, else the body (gzip when
/// accepted) with its validators.
pub(super) fn cached(status: StatusCode, rendered: &Rendered, request: &HeaderMap) -> Response {
    let mut response = if status == StatusCode::OK && not_modified(rendered, request) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(request) {
        let mut response = (status, Body::from(rendered.gzip().clone())).into_response();
        response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        (status, Body::from(rendered.body.clone())).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(rendered.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language, Accept-Encoding"));
    if let Ok(etag) = HeaderValue::from_str(&rendered.etag) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(date) = HeaderValue::from_str(&http_date(rendered.last_modified)) {
        headers.insert(header::LAST_MODIFIED, date);
    }
    response
}

/// An answer rendered for this request alone (a search, an error): not kept by kabar; a search
/// result may be cached like any page, an error is not.
pub(super) fn uncached(status: StatusCode, body: String, content_type: &'static str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let caching = if status == StatusCode::OK { CACHE_CONTROL } else { "no-store" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_round_trip() {
        let at = DateTime::parse_from_rfc3339("2024-06-20T03:04:05Z").unwrap().to_utc();
        assert_eq!(http_date(at), "Thu, 20 Jun 2024 03:04:05 GMT");
        assert_eq!(parse_http_date(&http_date(at)), Some(at));
    }

    #[test]
    fn gzip_unless_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, "br, gzip;q=0.5".parse().unwrap());
        assert!(accepts_gzip(&headers));
        headers.insert(header::ACCEPT_ENCODING, "gzip;q=0, br".parse().unwrap());
        assert!(!accepts_gzip(&headers));
    }
}

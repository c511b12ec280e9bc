//! The language of a public answer: `?lang=id|en` first, then `Accept-Language`, Bahasa Indonesia
//! by default.

use axum::http::{header, HeaderMap};
use serde::Deserialize;

use crate::domain::Language;

/// The query of every status route: the language chosen by a link, and the index's search.
#[derive(Debug, Default, Deserialize)]
pub(super) struct StatusQuery {
    pub lang: Option<String>,
    pub q: Option<String>,
}

/// The language asked for: a recognised `lang` parameter wins; otherwise the preferred of `id`
/// (also the older `in`) and `en` in `Accept-Language`, by quality; otherwise Indonesian.
pub fn negotiate(lang: Option<&str>, headers: &HeaderMap) -> Language {
    if let Some(language) = lang.and_then(|lang| lang.parse::<Language>().ok()) {
        return language;
    }
    let Some(accept) = headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()) else {
        return Language::Id;
    };
    let mut best: Option<(f32, Language)> = None;
    for (position, item) in accept.split(',').enumerate().take(20) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let primary = tag.split('-').next().unwrap_or_default();
        let language = match primary {
            "id" | "in" => Language::Id,
            "en" => Language::En,
            _ => continue,
        };
        let quality = parts
            .find_map(|part| part.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
            .unwrap_or(1.0);
        // Earlier entries win ties: the list is in the user's order.
        let quality = quality - position as f32 * 1e-4;
        if quality > 0.0 && best.is_none_or(|(seen, _)| quality > seen) {
            best = Some((quality, language));
        }
    }
    best.map_or(Language::Id, |(_, language)| language)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, value.parse().unwrap());
        headers
    }

    #[test]
    fn the_parameter_then_the_header_then_indonesian() {
        assert_eq!(negotiate(Some("en"), &accept("id")), Language::En);
        assert_eq!(negotiate(Some("fr"), &accept("en-GB,en;q=0.8")), Language::En);
        assert_eq!(negotiate(None, &accept("fr, en;q=0.5, id;q=0.9")), Language::Id);
        assert_eq!(negotiate(None, &accept("en-US,id;q=0.9")), Language::En);
        assert_eq!(negotiate(None, &accept("fr, de")), Language::Id);
        assert_eq!(negotiate(None, &HeaderMap::new()), Language::Id);
    }
}

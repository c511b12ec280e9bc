//! `/status/{office}/badge.svg`: a small flat badge an office's website embeds, naming the office
//! code and its overall state, with a text alternative for screen readers.

use super::{OfficeStatus, Overall};
use crate::domain::Language;

/// A width for `text` at 11 px Verdana-like type: about 7 px a character, plus padding. Badges
/// need no exact metrics; the text never overflows at this rate.
fn width(text: &str) -> usize {
    text.chars().count() * 7 + 12
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The badge of an office.
pub fn badge(office: &OfficeStatus, language: Language) -> String {
    let label = format!("{} status", office.office.code.as_str());
    let (value, color) = match (office.overall, language) {
        (Overall::Normal, Language::Id) => ("normal", "#1a7f37"),
        (Overall::Normal, Language::En) => ("normal", "#1a7f37"),
        (Overall::Disrupted, Language::Id) => ("terganggu", "#9a6700"),
        (Overall::Disrupted, Language::En) => ("disrupted", "#9a6700"),
        (Overall::Unavailable, Language::Id) => ("tidak tersedia", "#cf222e"),
        (Overall::Unavailable, Language::En) => ("unavailable", "#cf222e"),
    };
    let (left, right) = (width(&label), width(value));
    let total = left + right;
    let title = escape(&format!("{}: {value}", office.office.name));
    let label = escape(&label);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{title}"><title>{title}</title><rect width="{left}" height="20" fill="#444"/><rect x="{left}" width="{right}" height="20" fill="{color}"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle"><text x="{lx}" y="14">{label}</text><text x="{rx}" y="14">{value}</text></g></svg>"##,
        lx = left / 2,
        rx = left + right / 2,
    )
}

//! What the page templates read: every text already in the page's language, every time in the
//! office's zone with its WIB/WITA/WIT label. Templates escape it all.

use serde::Serialize;

use crate::domain::{Language, ServiceState, TimeZone};
use crate::render::{format_day, format_long_date};
use crate::status::words::{meaning, overall_label, service_title, state_label};
use crate::status::{Incident, OfficeStatus, Overall, Snapshot};

pub(super) use super::words::{words, Words};

/// The frame every page shares.
#[derive(Serialize)]
pub(super) struct Frame {
    pub lang: &'static str,
    pub title: String,
    pub t: Words,
    /// The same page in the other language.
    pub other_url: String,
    pub other_lang: &'static str,
    pub other_name: &'static str,
    pub feed_url: String,
    pub css: &'static str,
}

pub(super) fn frame(language: Language, title: String, path: &str, feed_url: String) -> Frame {
    let (other_lang, other_name) = match language {
        Language::Id => ("en", "English"),
        Language::En => ("id", "Bahasa Indonesia"),
    };
    Frame {
        lang: language.as_str(),
        title,
        t: words(language),
        other_url: format!("{path}?lang={other_lang}"),
        other_lang,
        other_name,
        feed_url,
        css: super::pages::STYLESHEET_PATH.as_str(),
    }
}

fn state_class(state: ServiceState) -> &'static str {
    match state {
        ServiceState::Operational => "ok",
        ServiceState::Degraded => "degraded",
        ServiceState::Unavailable => "down",
    }
}

fn overall_class(overall: Overall) -> &'static str {
    match overall {
        Overall::Normal => "ok",
        Overall::Disrupted => "degraded",
        Overall::Unavailable => "down",
    }
}

#[derive(Serialize)]
pub(super) struct OfficeLine {
    code: String,
    name: String,
    url: String,
    class: &'static str,
    label: &'static str,
}

#[derive(Serialize)]
pub(super) struct Region {
    name: String,
    id: String,
    offices: Vec<OfficeLine>,
}

#[derive(Serialize)]
pub(super) struct UpdateView {
    at: String,
    text: String,
}

#[derive(Serialize)]
pub(super) struct IncidentView {
    title: String,
    class: &'static str,
    opened: String,
    resolved: Option<String>,
    updates: Vec<UpdateView>,
}

fn incident_view(
    incident: &Incident,
    place: Option<&str>,
    zone: TimeZone,
    language: Language,
) -> IncidentView {
    let services: Vec<&str> = incident.services.iter().map(|s| service_title(*s, language)).collect();
    let title = match place {
        Some(place) => format!("{place}: {}", services.join(", ")),
        None => services.join(", "),
    };
    let updates = incident
        .updates
        .iter()
        .map(|update| {
            let mut text = format!(
                "{}: {}. {}",
                service_title(update.service, language),
                state_label(update.to, language),
                meaning(update.service, update.to, language)
            );
            if let Some(reason) = &update.reason {
                text.push(' ');
                text.push_str(reason);
            }
            if let (Some(expected), true) = (update.expected_at, update.to != ServiceState::Operational) {
                text.push_str(&format!(
                    " — {}: {}",
                    words(language).expected,
                    format_long_date(expected, zone, language)
                ));
            }
            if update.offices > 1 {
                text.push_str(&match language {
                    Language::Id => format!(" ({} kantor)", update.offices),
                    Language::En => format!(" ({} offices)", update.offices),
                });
            }
            UpdateView { at: format_long_date(update.at, zone, language), text }
        })
        .collect();
    IncidentView {
        title,
        class: state_class(incident.worst()),
        opened: format_long_date(incident.opened_at, zone, language),
        resolved: incident.resolved_at.map(|at| format_long_date(at, zone, language)),
        updates,
    }
}

#[derive(Serialize)]
pub(super) struct Index {
    #[serde(flatten)]
    pub frame: Frame,
    pub query: String,
    pub national: Vec<IncidentView>,
    pub regions: Vec<Region>,
    pub searched: bool,
}

/// `/status`, optionally only the offices matching `query` (name, code, region or address).
pub(super) fn index(snapshot: &Snapshot, language: Language, query: &str) -> Index {
    let wib: TimeZone = "Asia/Jakarta".parse().expect("a known zone");
    let needle = query.trim().to_lowercase();
    let mut regions: Vec<Region> = Vec::new();
    for status in &snapshot.offices {
        let office = &status.office;
        let haystack = format!(
            "{} {} {} {}",
            office.name,
            office.code.as_str(),
            office.region,
            office.contact.address.as_deref().unwrap_or_default()
        )
        .to_lowercase();
        if !needle.is_empty() && !haystack.contains(&needle) {
            continue;
        }
        let line = OfficeLine {
            code: office.code.as_str().to_owned(),
            name: office.name.clone(),
            url: format!("/status/{}?lang={}", office.code.as_str(), language.as_str()),
            class: overall_class(status.overall),
            label: overall_label(status.overall, language),
        };
        match regions.last_mut() {
            Some(region) if region.name == office.region => region.offices.push(line),
            _ => regions.push(Region {
                id: format!("region-{}", regions.len() + 1),
                name: office.region.clone(),
                offices: vec![line],
            }),
        }
    }
    let national = snapshot
        .national
        .iter()
        .filter(|incident| incident.is_open())
        .map(|incident| incident_view(incident, None, wib, language))
        .collect();
    let title = words(language).site.to_owned();
    Index {
        frame: frame(language, title, "/status", "/status/feed.atom".into()),
        query: query.trim().to_owned(),
        national,
        regions,
        searched: !needle.is_empty(),
    }
}

#[derive(Serialize)]
pub(super) struct DayView {
    class: &'static str,
    title: String,
}

#[derive(Serialize)]
pub(super) struct ServiceView {
    id: &'static str,
    title: &'static str,
    class: &'static str,
    label: &'static str,
    meaning: &'static str,
    /// An open proposal of automatic detection about this service.
    detected: Option<&'static str>,
    reason: Option<String>,
    since: Option<String>,
    expected: Option<String>,
    days: Vec<DayView>,
    disrupted_days: Vec<String>,
    history_label: String,
}

#[derive(Serialize)]
pub(super) struct OfficePage {
    #[serde(flatten)]
    pub frame: Frame,
    code: String,
    name: String,
    class: &'static str,
    overall: &'static str,
    services: Vec<ServiceView>,
    incidents: Vec<IncidentView>,
    index_url: String,
    feed: String,
    summary: String,
    badge: String,
}

fn duration(minutes: u32, language: Language) -> String {
    let (hours, minutes) = (minutes / 60, minutes % 60);
    match (language, hours) {
        (Language::Id, 0) => format!("{minutes} menit"),
        (Language::Id, _) => format!("{hours} jam {minutes} menit"),
        (Language::En, 0) => format!("{minutes} min"),
        (Language::En, _) => format!("{hours} h {minutes} min"),
    }
}

/// The notice of an open proposal of automatic detection.
fn detected(kind: crate::detect::ProposalKind, language: Language) -> &'static str {
    use crate::detect::ProposalKind::{Outage, Recovery};
    match (kind, language) {
        (Outage, Language::Id) => "Gangguan terdeteksi otomatis; sedang dikonfirmasi oleh petugas.",
        (Outage, Language::En) => "A disruption was detected automatically and is being confirmed by staff.",
        (Recovery, Language::Id) => "Pemulihan terdeteksi otomatis; sedang dikonfirmasi oleh petugas.",
        (Recovery, Language::En) => "A recovery was detected automatically and is being confirmed by staff.",
    }
}

/// `/status/{office}`.
pub(super) fn office(status: &OfficeStatus, language: Language) -> OfficePage {
    let office = &status.office;
    let zone = office.timezone;
    let code = office.code.as_str();
    let t = words(language);
    let services = status
        .services
        .iter()
        .map(|service| {
            let days: Vec<DayView> = service
                .history
                .iter()
                .map(|day| {
                    let mut title =
                        format!("{}: {}", format_day(day.date, language), state_label(day.worst, language));
                    if day.disrupted_minutes > 0 {
                        title.push_str(&format!(" ({})", duration(day.disrupted_minutes, language)));
                    }
                    DayView { class: state_class(day.worst), title }
                })
                .collect();
            let disrupted_days: Vec<String> = days
                .iter()
                .zip(&service.history)
                .filter(|(_, day)| day.worst != ServiceState::Operational)
                .map(|(view, _)| view.title.clone())
                .collect();
            let history_label = format!("{}: {} {}", t.history, disrupted_days.len(), t.history_days);
            ServiceView {
                id: service.service.as_str(),
                title: service_title(service.service, language),
                class: state_class(service.state),
                label: state_label(service.state, language),
                meaning: meaning(service.service, service.state, language),
                detected: service.detected.map(|kind| detected(kind, language)),
                reason: service.reason.clone(),
                since: service
                    .since
                    .filter(|_| service.state != ServiceState::Operational)
                    .map(|at| format_long_date(at, zone, language)),
                expected: service.expected_at.map(|at| format_long_date(at, zone, language)),
                days,
                disrupted_days,
                history_label,
            }
        })
        .collect();
    let path = format!("/status/{code}");
    OfficePage {
        frame: frame(language, office.name.clone(), &path, format!("{path}/feed.atom")),
        code: code.to_owned(),
        name: office.name.clone(),
        class: overall_class(status.overall),
        overall: overall_label(status.overall, language),
        services,
        incidents: status
            .incidents
            .iter()
            .map(|incident| incident_view(incident, None, zone, language))
            .collect(),
        index_url: format!("/status?lang={}", language.as_str()),
        feed: format!("{path}/feed.atom?lang={}", language.as_str()),
        summary: format!("{path}/api/v2/summary.json?lang={}", language.as_str()),
        badge: format!("{path}/badge.svg?lang={}", language.as_str()),
    }
}

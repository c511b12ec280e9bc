//! Atom feeds (RFC 4287) of the status pages: one entry per state change, with stable ids, so a
//! reader shows each change once.

use atom_syndication::{Entry, EntryBuilder, Feed, FeedBuilder, LinkBuilder, PersonBuilder, Text};
use chrono::{DateTime, Utc};

use super::words::{meaning, service_title, state_label};
use super::{OfficeStatus, Snapshot};
use crate::domain::{Language, ServiceState, TimeZone};
use crate::render::format_long_date;
use crate::store::PublicChange;

fn fixed(at: DateTime<Utc>) -> atom_syndication::FixedDateTime {
    at.fixed_offset()
}

fn restoration(expected: Option<DateTime<Utc>>, zone: TimeZone, language: Language) -> String {
    match (expected, language) {
        (Some(at), Language::Id) => format!(" Perkiraan pulih: {}.", format_long_date(at, zone, language)),
        (Some(at), Language::En) => format!(" Expected back: {}.", format_long_date(at, zone, language)),
        (None, _) => String::new(),
    }
}

fn feed(id: String, title: String, link: String, updated: DateTime<Utc>, entries: Vec<Entry>) -> Feed {
    FeedBuilder::default()
        .id(id)
        .title(Text::plain(title))
        .updated(fixed(updated))
        .authors(vec![PersonBuilder::default().name("kabar").build()])
        .links(vec![
            LinkBuilder::default()
                .href(link.clone())
                .rel("alternate")
                .mime_type(Some("text/html".into()))
                .build(),
            LinkBuilder::default().href(format!("{link}/feed.atom")).rel("self").build(),
        ])
        .entries(entries)
        .build()
}

/// The entry of one change at one office.
fn change_entry(office: &OfficeStatus, change: &PublicChange, link: &str, language: Language) -> Entry {
    let zone = office.office.timezone;
    let title = format!(
        "{}: {} — {}",
        office.office.name,
        service_title(change.service, language),
        state_label(change.to, language)
    );
    let mut summary = meaning(change.service, change.to, language).to_owned();
    if let Some(reason) = &change.reason {
        summary.push(' ');
        summary.push_str(reason);
        if !reason.ends_with('.') {
            summary.push('.');
        }
    }
    if change.to != ServiceState::Operational {
        summary.push_str(&restoration(change.expected_at, zone, language));
    }
    EntryBuilder::default()
        .id(format!("urn:kabar:status:change:{}", change.id))
        .title(Text::plain(title))
        .updated(fixed(change.at))
        .published(Some(fixed(change.at)))
        .links(vec![LinkBuilder::default().href(link.to_owned()).rel("alternate").build()])
        .summary(Some(Text::plain(summary)))
        .build()
}

/// `/status/{office}/feed.atom`: the office's changes, newest first.
pub fn office_feed(office: &OfficeStatus, base: &str, language: Language) -> Feed {
    let link = format!("{base}/status/{}", office.office.code.as_str());
    let entries = office.changes.iter().map(|change| change_entry(office, change, &link, language)).collect();
    let title = match language {
        Language::Id => format!("Status layanan {}", office.office.name),
        Language::En => format!("Service status of {}", office.office.name),
    };
    feed(
        format!("urn:kabar:status:feed:{}", office.office.code.as_str()),
        title,
        link,
        office.updated_at.unwrap_or(DateTime::UNIX_EPOCH),
        entries,
    )
}

/// `/status/feed.atom`: every change, one entry per change recorded together (a national change
/// is one entry naming how many offices it concerns).
pub fn national_feed(snapshot: &Snapshot, base: &str, language: Language) -> Feed {
    let link = format!("{base}/status");
    let entries = snapshot
        .groups
        .iter()
        .filter_map(|group| {
            if let [code] = group.offices.as_slice() {
                let office = snapshot.office(code)?;
                let change = office.changes.iter().find(|change| change.id == group.id)?;
                return Some(change_entry(office, change, &format!("{link}/{}", code.as_str()), language));
            }
            let whom = match (group.national, language) {
                (true, Language::Id) => "semua kantor imigrasi".to_owned(),
                (true, Language::En) => "every immigration office".to_owned(),
                (false, Language::Id) => format!("{} kantor imigrasi", group.offices.len()),
                (false, Language::En) => format!("{} immigration offices", group.offices.len()),
            };
            let title = format!(
                "{} — {} ({whom})",
                service_title(group.service, language),
                state_label(group.to, language)
            );
            let mut summary = meaning(group.service, group.to, language).to_owned();
            if let Some(reason) = &group.reason {
                summary.push(' ');
                summary.push_str(reason);
            }
            let codes: Vec<&str> = group.offices.iter().map(|code| code.as_str()).collect();
            summary.push_str(&format!(" ({})", codes.join(", ")));
            Some(
                EntryBuilder::default()
                    .id(format!("urn:kabar:status:national:{}", group.id))
                    .title(Text::plain(title))
                    .updated(fixed(group.at))
                    .published(Some(fixed(group.at)))
                    .links(vec![LinkBuilder::default().href(link.clone()).rel("alternate").build()])
                    .summary(Some(Text::plain(summary)))
                    .build(),
            )
        })
        .collect();
    let title = match language {
        Language::Id => "Status layanan kantor imigrasi",
        Language::En => "Immigration office service status",
    };
    feed("urn:kabar:status:feed:national".into(), title.into(), link, snapshot.updated_at, entries)
}

//! Every console page renders with sample data, in both languages, as well-formed HTML with its
//! `lang`, every word present, and staff-written text escaped.

use chrono::{TimeZone as _, Utc};
use serde_json::{json, Value};

use super::pages::{words, Frame, Viewer};
use super::{board, change};
use crate::domain::{Contact, Language, Office, OfficeClass, Service, ServiceState};
use crate::staff::{Role, Scope};
use crate::state::{OfficeStatus, ServiceStatus, StateChange, Target};
use crate::store::{AppliedChange, OfficeDirectory, StateChangeRecord};

const HOSTILE: &str = "<script>alert('x')</script> & \"quotes\"";

fn office(code: &str, name: &str, zone: &str, region: &str) -> Office {
    Office {
        code: code.parse().unwrap(),
        name: name.into(),
        timezone: zone.parse().unwrap(),
        class: OfficeClass::I,
        tpi: true,
        region: region.into(),
        contact: Contact { phone: Some("(0711) 410 123".into()), ..Contact::default() },
    }
}

fn directory() -> OfficeDirectory {
    OfficeDirectory::from_lists(
        vec![
            office("PLG", "Kantor Imigrasi Kelas I TPI Palembang", "Asia/Jakarta", "Sumatera Selatan"),
            office("GTO", "Kantor Imigrasi Kelas I TPI Gorontalo", "Asia/Makassar", "Gorontalo"),
        ],
        Vec::new(),
    )
}

fn statuses() -> Vec<OfficeStatus> {
    let since = Utc.with_ymd_and_hms(2024, 6, 20, 3, 0, 0).unwrap();
    directory()
        .offices()
        .map(|office| OfficeStatus {
            services: Service::ALL
                .iter()
                .map(|&service| {
                    let down = service == Service::Printing;
                    ServiceStatus {
                        service,
                        state: if down { ServiceState::Unavailable } else { ServiceState::Operational },
                        reason: down.then(|| HOSTILE.to_owned()),
                        since: down.then_some(since),
                        until: down.then(|| since + chrono::Duration::days(4)),
                    }
                })
                .collect(),
            incident_since: (office.code.as_str() == "PLG").then_some(since),
            incident_id: (office.code.as_str() == "PLG").then_some(7),
            office: office.clone(),
        })
        .collect()
}

fn frame(language: Language) -> Frame {
    Frame {
        language,
        viewer: Some(Viewer { name: "Budi Santoso".into(), role: Role::Supervisor, csrf: "t0k3n".into() }),
    }
}

fn sample_change() -> (StateChange, Vec<StateChangeRecord>, Vec<AppliedChange>) {
    let at = Utc.with_ymd_and_hms(2024, 6, 20, 3, 0, 0).unwrap();
    let change = StateChange {
        target: Target::Offices(vec!["PLG".parse().unwrap()]),
        service: Service::Printing,
        state: ServiceState::Unavailable,
        reason: Some("Gangguan Pusat Data Nasional".into()),
        until: Some("2024-06-24T09:00".into()),
        actor: "staff:budi".into(),
        at,
    };
    let record = StateChangeRecord {
        office: "PLG".parse().unwrap(),
        service: Service::Printing,
        state: ServiceState::Unavailable,
        reason: change.reason.clone(),
        expected_at: Some(Utc.with_ymd_and_hms(2024, 6, 24, 2, 0, 0).unwrap()),
        actor: change.actor.clone(),
        at,
    };
    let applied = AppliedChange {
        office: record.office.clone(),
        service: Service::Printing,
        from: ServiceState::Operational,
        to: ServiceState::Unavailable,
        changed: true,
        updated: false,
        expected_at: record.expected_at,
        change_id: None,
    };
    (change, vec![record], vec![applied])
}

/// Who a change would reach: two applicants by WhatsApp, one unreachable.
fn sample_audience() -> crate::plan::WhoWouldHear {
    let at: chrono::DateTime<Utc> = "2024-06-20T03:02:00Z".parse().unwrap();
    crate::plan::WhoWouldHear {
        applicants: 3,
        bookings: 4,
        offices: vec![crate::plan::preview::OfficeAudience {
            office: "PLG".parse().unwrap(),
            applicants: 3,
            bookings: 4,
            first_send_at: Some(at),
            first_send_local: Some("2024-06-20 10:02 WIB".into()),
            groups: Vec::new(),
        }],
        by_channel: [("whatsapp".to_owned(), 2), ("unreachable".to_owned(), 1)].into_iter().collect(),
        by_kind: [("appointment_unchanged".to_owned(), 3)].into_iter().collect(),
        sms_segments: 0,
        estimated_cost: crate::plan::preview::Cost { amount: 700.0, currency: "IDR".into() },
        first_send_at: Some(at),
        planned_at: at,
    }
}

/// An open outage proposal whose detail is hostile text.
fn sample_proposal() -> crate::detect::Proposal {
    crate::detect::Proposal {
        id: 3,
        system: "simkim".into(),
        episode: 1,
        kind: crate::detect::ProposalKind::Outage,
        offices: "all".into(),
        services: vec![Service::Printing, Service::Pickup],
        reason: "Gangguan sistem pusat (simkim)".into(),
        detail: HOSTILE.into(),
        status: crate::detect::ProposalStatus::Open,
        created_at: "2024-06-20T03:00:00Z".parse().unwrap(),
        apply_at: Some("2024-06-20T03:30:00Z".parse().unwrap()),
        decided_at: None,
        decided_by: None,
        note: None,
    }
}

/// Every page, with its sample data, in `language`.
fn pages(language: Language) -> Vec<(&'static str, String)> {
    let frame = frame(language);
    let offices = statuses();
    let directory = directory();
    let form = change::ChangeForm {
        offices: vec!["PLG".into()],
        service: "printing".into(),
        state: "unavailable".into(),
        reason: HOSTILE.into(),
        until: "2024-06-24T09:00".into(),
    };
    let (change, records, applied) = sample_change();
    let result = json!({
        "heading": "Status diubah", "outcome": "done",
        "changes": [{"code": "PLG", "service": "Pencetakan paspor", "state": "unavailable", "state_name": "Tidak tersedia"}],
        "undo": {"until": "2024-06-20 10:02 WIB", "changes": ["7"]},
    });
    let error = json!({"heading": "Akses ditolak", "text": HOSTILE, "offices": "GTO", "back": "/console"});
    let render = |name: &'static str, data: Value| (name, frame.render(name, "title", data).0);
    vec![
        (
            "login",
            Frame::anonymous(language)
                .render("login", "title", json!({"error": HOSTILE, "username": HOSTILE}))
                .0,
        ),
        render("board", board::board_data(language, &offices)),
        render("board", {
            let mut data = board::board_data(language, &offices);
            data["proposals"] = json!([super::proposals::banner_row(language, &sample_proposal())]);
            data
        }),
        render("national", board::national_data(language, &offices, None, None)),
        render(
            "national",
            board::national_data(
                language,
                &offices,
                Some(Service::Printing),
                Some(ServiceState::Operational),
            ),
        ),
        render("change", change::form_data(language, &directory, &Scope::all(), &form, Some(HOSTILE.into()))),
        render("confirm", {
            let mut data =
                change::confirm_data(language, &directory, &change, &records, &applied, &form, 120);
            data["audience"] = change::audience_data(language, &sample_audience());
            data
        }),
        render("result", result),
        render("error", error),
    ]
}

#[test]
fn every_page_renders_with_sample_data_in_both_languages() {
    for language in [Language::Id, Language::En] {
        for (name, html) in pages(language) {
            let document = scraper::Html::parse_document(&html);
            assert!(document.errors.is_empty(), "{name} ({language}): {:?}\n{html}", document.errors);
            assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\""), "{name}");
            assert!(html.contains(&format!("<html lang=\"{}\">", language.as_str())), "{name}");
            assert!(!html.contains("<script"), "{name}: staff text must be escaped\n{html}");
            assert!(!html.contains("style="), "{name}: no inline style (the CSP refuses it)");
        }
    }
}

#[test]
fn pages_show_what_they_are_for() {
    let pages = pages(Language::Id);
    let page =
        |wanted: &str| pages.iter().find(|(name, _)| *name == wanted).map(|(_, html)| html.clone()).unwrap();
    let board = page("board");
    assert!(board.contains("Pencetakan paspor") && board.contains("Tidak tersedia"), "{board}");
    assert!(board.contains("2024-06-20 10:00 WIB"), "PLG's since, in WIB: {board}");
    assert!(board.contains("2024-06-24 11:00 WITA"), "GTO's until, in WITA: {board}");
    assert!(board.contains("Insiden terbuka sejak 2024-06-20 10:00 WIB"));
    assert!(board.contains("&lt;script&gt;"), "the reason is escaped, not dropped");
    let national = page("national");
    assert!(national.contains("Sumatera Selatan") && national.contains("Gorontalo"));
    assert!(
        !national.contains("data-service=\"visa\""),
        "unfiltered: only services that are not operational"
    );
    let confirm = page("confirm");
    assert!(confirm.contains("id=\"who-will-hear\""), "the who-will-hear counts");
    assert!(confirm.contains("2024-06-20 10:02 WIB") && confirm.contains("IDR 700"), "{confirm}");
    assert!(confirm.contains("Kanim Palembang"), "the SMS as applicants read it names the office: {confirm}");
    assert!(confirm.contains("lang=\"en\""), "the English SMS beside the Indonesian one");
    assert!(confirm.contains("name=\"csrf\" value=\"t0k3n\""), "every form carries the token");
    let change = page("change");
    assert!(change.contains("type=\"datetime-local\"") && change.contains("value=\"2024-06-24T09:00\""));
    assert!(page("result").contains("name=\"change\" value=\"7\""), "the undo form names the change");
    assert!(page("error").contains("GTO"));
    let english = pages_of(Language::En, "board");
    assert!(english.contains("Passport printing") && english.contains("Unavailable"));
}

fn pages_of(language: Language, wanted: &str) -> String {
    pages(language).into_iter().find(|(name, _)| *name == wanted).unwrap().1
}

fn keys(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, value) in fields {
                keys(value, &format!("{prefix}.{key}"), out);
            }
        }
        Value::String(text) => {
            assert!(!text.trim().is_empty(), "{prefix} is empty");
            out.push(prefix.to_owned());
        }
        other => panic!("{prefix}: {other} is not a word"),
    }
}

#[test]
fn both_languages_have_every_word() {
    let (mut id, mut en) = (Vec::new(), Vec::new());
    keys(words(Language::Id), "", &mut id);
    keys(words(Language::En), "", &mut en);
    assert_eq!(id, en);
    for service in Service::ALL {
        assert!(id.contains(&format!(".services.{}", service.as_str())), "{service}");
    }
}

mod admin;
mod broadcasts;
mod incident;

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

// The incident pages and the call list (issue 14, page 4).

fn sample_timeline(kind: &'static str) -> crate::http::api::incidents::TimelineView {
    let at: chrono::DateTime<Utc> = "2024-06-20T03:00:00Z".parse().unwrap();
    let change = kind == "change";
    crate::http::api::incidents::TimelineView {
        kind,
        at,
        at_local: "2024-06-20 10:00 WIB".into(),
        change_id: change.then_some(7),
        service: change.then(|| "printing".into()),
        from: change.then(|| "operational".into()),
        to: change.then(|| "unavailable".into()),
        reason: change.then(|| HOSTILE.into()),
        until: None,
        until_local: change.then(|| "2024-06-24 09:00 WIB".into()),
        planned_at: None,
        slot: None,
        update_id: (kind == "staff_update").then_some(2),
        broadcast_id: (kind == "staff_update").then_some(3),
        text: (kind == "staff_update").then(|| HOSTILE.into()),
        text_en: (kind == "staff_update").then(|| "Printing resumes tomorrow.".into()),
        by: Some("staff:budi".into()),
    }
}

fn sample_incident(open: bool) -> crate::http::api::incidents::IncidentDetail {
    use crate::http::api::incidents::{IncidentDetail, IncidentView, ProgressView};
    let at: chrono::DateTime<Utc> = "2024-06-20T03:00:00Z".parse().unwrap();
    let progress = |channel: Option<&str>, planned, sent, unreachable| ProgressView {
        channel: channel.map(str::to_owned),
        planned,
        held_for_quiet_hours: 0,
        queued: 0,
        sending: 0,
        sent,
        delivered: 0,
        failed: 0,
        unreachable,
        cancelled: 0,
    };
    IncidentDetail {
        incident: IncidentView {
            id: 7,
            office: "PLG".into(),
            open,
            opened_at: at,
            opened_local: "2024-06-20 10:00 WIB".into(),
            resolved_at: (!open).then_some(at),
            resolved_local: (!open).then(|| "2024-06-21 08:00 WIB".into()),
        },
        timeline: vec![
            sample_timeline("change"),
            sample_timeline("staff_update"),
            sample_timeline("restored"),
        ],
        progress: vec![progress(Some("sms"), 2, 1, 0), progress(None, 1, 0, 1)],
    }
}

fn sample_call_list(full_phone: bool) -> crate::http::api::call_list::CallListView {
    use crate::http::api::call_list::{
        CallBookingView, CallEntryView, CallListView, MissedView, OutcomeView,
    };
    let at: chrono::DateTime<Utc> = "2024-06-21T02:00:00Z".parse().unwrap();
    let entry = |name: &str, code: &str, outcome: Option<&str>| CallEntryView {
        office: "PLG".into(),
        name: name.into(),
        mobile: if full_phone { "+6281210000003".into() } else { "+62812****0003".into() },
        bookings: vec![CallBookingView {
            code: code.into(),
            holder_name: name.into(),
            appointment_at: at,
            appointment_local: "2024-06-21 09:00 WIB".into(),
        }],
        missed: vec![MissedView { kind: "issuance_delayed".into(), at, why: "no usable channel".into() }],
        last_call: outcome.map(|outcome| OutcomeView {
            id: 1,
            booking_code: code.into(),
            office: "PLG".into(),
            outcome: outcome.into(),
            note: Some(HOSTILE.into()),
            by: "staff:budi".into(),
            at,
            at_local: "2024-06-21 09:30 WIB".into(),
        }),
    };
    CallListView {
        incident_id: 7,
        full_phone,
        to_call: vec![entry(HOSTILE, "PLG-0003", None), entry("Eko", "PLG-0004", Some("no_answer"))],
        reached: vec![entry("Fajar", "PLG-0005", Some("reached"))],
    }
}

/// The incident pages, with their sample data, in `language`.
fn incident_pages(language: Language) -> Vec<(&'static str, String)> {
    use super::incident::{incident_data, list_data, PageExtras};
    let frame = frame(language);
    let render = |name: &'static str, data: Value| (name, frame.render(name, "title", data).0);
    let open = sample_incident(true);
    let closed = sample_incident(false);
    let extras = |officer: bool, error: Option<String>| PageExtras {
        office_name: HOSTILE.into(),
        down: vec![Service::Printing],
        officer,
        done: Some("update".into()),
        error,
        text: HOSTILE.into(),
        text_en: String::new(),
    };
    let mut list = list_data(&[open.incident], &[closed.incident], &directory());
    list["show_open"] = json!(true);
    list["show_closed"] = json!(true);
    vec![
        render("incidents", list),
        render("incidents", json!({"show_open": true, "show_closed": true})),
        render(
            "incident",
            incident_data(language, &sample_incident(true), &extras(true, Some(HOSTILE.into()))),
        ),
        render("incident", incident_data(language, &sample_incident(true), &extras(false, None))),
        render("incident", incident_data(language, &sample_incident(false), &extras(true, None))),
        render("call_list", super::calls::call_list_data(language, &sample_call_list(true), true)),
        render("call_list", super::calls::call_list_data(language, &sample_call_list(false), false)),
    ]
}

#[test]
fn the_incident_pages_render_with_sample_data_in_both_languages() {
    for language in [Language::Id, Language::En] {
        for (name, html) in incident_pages(language) {
            let document = scraper::Html::parse_document(&html);
            assert!(document.errors.is_empty(), "{name} ({language}): {:?}\n{html}", document.errors);
            assert!(html.contains(&format!("<html lang=\"{}\">", language.as_str())), "{name}");
            assert!(!html.contains("<script"), "{name}: staff text must be escaped\n{html}");
            assert!(!html.contains("style="), "{name}: no inline style (the CSP refuses it)");
        }
    }
    let pages = incident_pages(Language::Id);
    let (list, incident, viewer, closed, calls, masked) =
        (&pages[0].1, &pages[2].1, &pages[3].1, &pages[4].1, &pages[5].1, &pages[6].1);
    assert!(
        list.contains("href=\"/console/incidents/7\"") && list.contains("2024-06-20 10:00 WIB"),
        "{list}"
    );
    assert!(incident.contains("Pencetakan paspor") && incident.contains("Tidak tersedia"), "{incident}");
    assert!(incident.contains("<progress max=\"2\" value=\"1\""), "the SMS bar: {incident}");
    assert!(incident.contains("data-channel=\"unreachable\""), "the unreachable row");
    assert!(
        incident.contains("action=\"/console/incidents/7/updates\"") && incident.contains("value=\"t0k3n\"")
    );
    assert!(
        incident.contains("action=\"/console/incidents/7/restore\"")
            && incident.contains("value=\"printing\"")
    );
    assert!(incident.contains("messages.csv?full_phone=true"), "officers may ask for whole numbers");
    assert!(incident.contains("&lt;script&gt;"), "staff text escaped, not dropped");
    assert!(!viewer.contains("/updates\"") && !viewer.contains("full_phone=true"), "a viewer only reads");
    assert!(!closed.contains("/restore\"") && closed.contains("2024-06-21 08:00 WIB"), "closed: no forms");
    // To call: the one never called; called: the no-answer (callable again) and the reached one.
    let to_call = &calls[calls.find("id=\"to-call\"").unwrap()..calls.find("id=\"called\"").unwrap()];
    assert!(to_call.contains("PLG-0003") && !to_call.contains("PLG-0004"), "{to_call}");
    let called = &calls[calls.find("id=\"called\"").unwrap()..];
    assert!(called.contains("Tidak dijawab") && called.contains("Terhubung"), "{called}");
    assert_eq!(calls.matches("name=\"outcome\"").count(), 2, "a form for the uncalled and the unanswered");
    assert!(calls.contains("+6281210000003"));
    assert!(
        masked.contains("+62812****0003") && !masked.contains("name=\"outcome\""),
        "a viewer: masked, no form"
    );
    assert!(pages_of_incident(Language::En).contains("Message delivery by channel"));
}

fn pages_of_incident(language: Language) -> String {
    incident_pages(language).into_iter().find(|(name, _)| *name == "incident").unwrap().1
}

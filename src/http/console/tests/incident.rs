//! The incident pages and the call list render with sample data, in both languages: the
//! progress bar, the forms officers get and viewers do not, "to call" and "called".

use chrono::Utc;
use serde_json::{json, Value};

use super::{directory, frame, HOSTILE};
use crate::domain::{Language, Service};

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
    use super::super::incident::{incident_data, list_data, PageExtras};
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
        render("call_list", super::super::calls::call_list_data(language, &sample_call_list(true), true)),
        render("call_list", super::super::calls::call_list_data(language, &sample_call_list(false), false)),
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

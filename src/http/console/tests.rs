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

/// The admin pages, with sample data (hostile names, field errors, a broken chain), in `language`.
fn admin_pages(language: Language) -> Vec<(&'static str, String)> {
    use super::admin::{audit, staff, tokens, FieldErrors};
    use crate::audit::{AuditProblem, AuditRecord, AuditVerification};
    let frame = Frame {
        language,
        viewer: Some(Viewer { name: "Adi".into(), role: Role::Admin, csrf: "t0k3n".into() }),
    };
    let at = Utc.with_ymd_and_hms(2024, 6, 20, 3, 0, 0).unwrap();
    let account = crate::staff::StaffAccount {
        username: "ani".parse().unwrap(),
        display_name: HOSTILE.into(),
        role: Role::Officer,
        scope: "PLG".parse().unwrap(),
        disabled: true,
        created_at: at,
        last_login_at: Some(at),
    };
    let token = crate::staff::TokenRecord {
        id: 1,
        name: "mpaspor-sync".parse().unwrap(),
        prefix: "kbr_abcd".into(),
        role: Role::Viewer,
        scope: "PLG".parse().unwrap(),
        created_by: "staff:adi".into(),
        created_at: at,
        expires_at: Some(Utc.with_ymd_and_hms(2099, 1, 1, 3, 0, 0).unwrap()),
        last_used_at: None,
        revoked_at: None,
    };
    let mut errors = FieldErrors::default();
    errors.add(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "offices", HOSTILE);
    errors.add(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "password_again", "differ");
    let add = staff::AddForm {
        username: HOSTILE.into(),
        name: String::new(),
        role: "admin".into(),
        offices: "GTO".into(),
    };
    let record = |id: i64, offices: &[&str]| AuditRecord {
        id,
        at,
        actor: "staff:adi".into(),
        action: "staff.add".into(),
        target: HOSTILE.into(),
        offices: offices.iter().map(|code| code.to_string()).collect(),
        request_id: None,
        client: Some("127.0.0.1".into()),
        summary: json!({"after": HOSTILE}),
        prev_hash: String::new(),
        hash: String::new(),
    };
    let rows = vec![record(9, &["GTO"]), record(8, &["PLG", "GTO"]), record(7, &[])];
    let broken = AuditVerification { rows: 4, head: 9, problem: Some(AuditProblem::Altered { id: 5 }) };
    let intact = AuditVerification { rows: 9, head: 9, problem: None };
    let form = audit::AuditForm { actor: HOSTILE.into(), from: "2024-06-20".into(), ..Default::default() };
    let render = |name: &'static str, data: Value| (name, frame.render(name, "title", data).0);
    let none = FieldErrors::default();
    vec![
        render(
            "admin_staff",
            staff::list_data(language, std::slice::from_ref(&account), &add, &errors, Some("added")),
        ),
        render(
            "admin_account",
            staff::account_data(language, &account, Some(("root", "all")), &errors, None),
        ),
        render(
            "admin_tokens",
            tokens::list_data(language, std::slice::from_ref(&token), &Default::default(), &errors, None),
        ),
        render(
            "admin_token_created",
            tokens::created_data(language, &token, &"kbr_s3cr3t".to_owned().into()),
        ),
        render(
            "admin_audit",
            audit::log_data(language, &directory(), &rows, Some(7), &form, &none, Some(&broken)),
        ),
        render(
            "admin_audit",
            audit::log_data(language, &directory(), &[], None, &form, &errors, Some(&intact)),
        ),
    ]
}

#[test]
fn the_admin_pages_render_with_sample_data_in_both_languages() {
    for language in [Language::Id, Language::En] {
        for (name, html) in admin_pages(language) {
            let document = scraper::Html::parse_document(&html);
            assert!(document.errors.is_empty(), "{name} ({language}): {:?}\n{html}", document.errors);
            assert!(html.contains(&format!("<html lang=\"{}\">", language.as_str())), "{name}");
            assert!(!html.contains("<script"), "{name}: staff text must be escaped\n{html}");
            assert!(!html.contains("style="), "{name}: no inline style");
            assert!(html.contains("id=\"nav-admin\""), "{name}: the admin's nav link");
        }
    }
    let pages = admin_pages(Language::Id);
    let staff = &pages[0].1;
    assert!(staff.contains("data-username=\"ani\"") && staff.contains("Nonaktif"), "{staff}");
    assert!(staff.contains("id=\"offices-error\"") && staff.contains("id=\"password_again-error\""));
    assert!(staff.matches("autocomplete=\"new-password\"").count() == 2, "both password fields");
    assert!(staff.contains("2024-06-20 10:00 WIB"), "the last login, in WIB");
    let account = &pages[1].1;
    assert!(account.contains("value=\"all\"") && account.contains("/console/admin/staff/ani/enable"));
    let tokens = &pages[2].1;
    assert!(tokens.contains("id=\"revoke-mpaspor-sync\"") && tokens.contains("2099-01-01 10:00 WIB"));
    let created = &pages[3].1;
    assert!(created.contains("kbr_s3cr3t") && created.contains("tidak akan ditampilkan lagi"));
    let audit = &pages[4].1;
    assert!(audit.contains("2024-06-20 11:00 WITA"), "a GTO row in WITA: {audit}");
    assert!(audit.contains("2024-06-20 10:00 WIB"), "rows of several or no offices in WIB");
    assert!(audit.contains("data-intact=\"false\"") && audit.contains("#5"), "{audit}");
    assert!(audit.contains("id=\"older\"") && audit.contains("before"), "{audit}");
    assert!(pages[5].1.contains("data-intact=\"true\"") && pages[5].1.contains("id=\"no-rows\""));
}

/// A broadcast of PLG and GTO whose staff-written parts are hostile text.
fn sample_broadcast(status: &str, author: &str) -> crate::http::api::broadcast_views::BroadcastView {
    let at: chrono::DateTime<Utc> = "2024-06-20T03:00:00Z".parse().unwrap();
    let progress = crate::http::api::broadcast_views::Progress::of(vec![
        ("queued".into(), Some(crate::domain::Channel::Whatsapp), 2),
        ("delivered".into(), Some(crate::domain::Channel::Sms), 1),
        ("failed".into(), Some(crate::domain::Channel::Sms), 1),
    ]);
    crate::http::api::broadcast_views::BroadcastView {
        id: 12,
        title: HOSTILE.into(),
        status: status.into(),
        awaiting_approval: status == "submitted",
        kind: "broadcast".into(),
        offices: vec!["GTO".into(), "PLG".into()],
        filter: json!({"offices": "GTO,PLG"}),
        text: Some(HOSTILE.into()),
        text_en: Some("Counter open on Saturday".into()),
        sender: None,
        pickup: None,
        channels: vec!["whatsapp".into(), "sms".into()],
        send_at: at,
        send_at_local: vec!["2024-06-20 11:00 WITA".into(), "2024-06-20 10:00 WIB".into()],
        author: author.into(),
        created_at: at,
        reach: Some(1500),
        submitted_by: Some(author.into()),
        submitted_at: Some(at),
        approved_by: (status == "planned").then(|| "staff:rina".into()),
        approved_at: (status == "planned").then_some(at),
        rejected_by: (status == "rejected").then(|| "staff:rina".into()),
        rejected_at: (status == "rejected").then_some(at),
        rejection_reason: (status == "rejected").then(|| HOSTILE.into()),
        cancelled_by: None,
        cancelled_at: None,
        planned_at: (status == "planned").then_some(at),
        progress: Some(progress),
    }
}

fn sample_preview() -> crate::http::api::broadcast_views::PreviewAnswer {
    use crate::domain::Channel;
    use crate::render::{Rendered, SmsMessage, WhatsappMessage};
    let sms = SmsMessage {
        text: format!("Kanim Palembang: {HOSTILE}"),
        encoding: crate::render::Encoding::Gsm7,
        segments: 2,
        units: 200,
        characters: 200,
    };
    let whatsapp = WhatsappMessage {
        template: "kabar_broadcast".into(),
        language: "en".into(),
        params: vec![],
        text: HOSTILE.into(),
    };
    let sample = |channel, language, rendered| crate::plan::broadcast::Sample {
        channel,
        language,
        office: "PLG".into(),
        rendered,
    };
    crate::http::api::broadcast_views::PreviewAnswer {
        offices: 2,
        applicants: 3,
        by_channel: [("sms".to_owned(), 1), ("whatsapp".to_owned(), 2)].into_iter().collect(),
        unreachable: 1,
        sms_segments: 2,
        estimated_cost: crate::http::api::broadcast_views::CostEstimate {
            currency: "IDR".into(),
            total: 1200.0,
            by_channel: Default::default(),
        },
        needs_approval: true,
        samples: vec![
            sample(Channel::Sms, Language::Id, Rendered::Sms(sms)),
            sample(Channel::Whatsapp, Language::En, Rendered::Whatsapp(whatsapp)),
        ],
    }
}

/// The broadcast pages, with sample data, in `language`.
fn broadcast_pages(language: Language) -> Vec<(&'static str, String)> {
    use super::{approvals, broadcast_form, broadcasts};
    let frame = frame(language);
    let directory = directory();
    let render = |name: &'static str, data: Value| (name, frame.render(name, "title", data).0);
    let form = broadcast_form::ComposeForm {
        title: HOSTILE.into(),
        offices: vec!["PLG".into(), "GTO".into()],
        stages: vec!["ready".into()],
        express: "no".into(),
        appointment_from: "2024-06-20".into(),
        text: HOSTILE.into(),
        when: "later".into(),
        send_at: "2024-06-22T08:00".into(),
        zone: "Asia/Makassar".into(),
        ..Default::default()
    };
    let error =
        broadcast_form::FormError { field: Some("filter.appointment_from".into()), detail: HOSTILE.into() };
    let mut other = sample_broadcast("submitted", "staff:budi");
    other.id = 13;
    let submitted = [sample_broadcast("submitted", "staff:sari"), other];
    let refused = approvals::Refused { id: 12, reason: HOSTILE.into(), detail: HOSTILE.into() };
    vec![
        render(
            "broadcasts",
            broadcasts::list_data(
                language,
                &[sample_broadcast("planned", "staff:sari"), sample_broadcast("rejected", "staff:budi")],
                &directory,
                Some("12".into()),
                true,
            ),
        ),
        render("broadcasts", broadcasts::list_data(language, &[], &directory, None, false)),
        render("compose", broadcast_form::compose_data(language, &directory, &Scope::all(), &form, None)),
        render("compose", {
            let mut data = broadcast_form::compose_data(language, &directory, &Scope::all(), &form, None);
            data["preview"] = broadcast_form::preview_data(language, &sample_preview());
            data
        }),
        render(
            "compose",
            broadcast_form::compose_data(language, &directory, &Scope::all(), &form, Some(&error)),
        ),
        render(
            "broadcast",
            json!({"broadcast": broadcasts::broadcast_data(language, &sample_broadcast("planned", "staff:sari"), &directory), "cancellable": true}),
        ),
        render(
            "broadcast",
            json!({"broadcast": broadcasts::broadcast_data(language, &sample_broadcast("rejected", "staff:sari"), &directory), "cancellable": false}),
        ),
        render(
            "approvals",
            approvals::inbox_data(language, &submitted, &directory, "staff:sari", Some(&refused)),
        ),
        render("approvals", approvals::inbox_data(language, &[], &directory, "staff:sari", None)),
    ]
}

#[test]
fn broadcast_pages_render_in_both_languages_and_show_what_they_are_for() {
    for language in [Language::Id, Language::En] {
        for (name, html) in broadcast_pages(language) {
            let document = scraper::Html::parse_document(&html);
            assert!(document.errors.is_empty(), "{name} ({language}): {:?}\n{html}", document.errors);
            assert!(html.contains(&format!("<html lang=\"{}\">", language.as_str())), "{name}");
            assert!(!html.contains("<script"), "{name}: staff text must be escaped\n{html}");
            assert!(!html.contains("style="), "{name}: no inline style (the CSP refuses it)");
            assert!(html.contains("href=\"/console/broadcasts\""), "{name}: the nav's link");
        }
    }
    let pages = broadcast_pages(Language::Id);
    let nth = |wanted: &str, n: usize| {
        pages.iter().filter(|(name, _)| *name == wanted).nth(n).map(|(_, html)| html.clone()).unwrap()
    };
    let list = nth("broadcasts", 0);
    assert!(
        list.contains("Direncanakan") && list.contains("Ditolak") && list.contains("staff:sari"),
        "{list}"
    );
    assert!(list.contains("1 / 4 terkirim") && list.contains("1 gagal"), "progress in the list: {list}");
    assert!(list.contains("GTO, PLG") && list.contains("1500") && list.contains("?after=12"), "{list}");
    assert!(list.contains("&lt;script&gt;"), "the title is escaped, not dropped");
    assert!(nth("broadcasts", 1).contains("Belum ada siaran"));
    let compose = nth("compose", 0);
    assert!(compose.contains("type=\"datetime-local\"") && compose.contains("value=\"2024-06-22T08:00\""));
    assert!(compose.contains("id=\"office-GTO\" name=\"office\" value=\"GTO\" checked"), "{compose}");
    assert!(
        compose.contains("value=\"ready\" checked")
            && compose.contains("id=\"express-no\" name=\"express\" value=\"no\" checked")
    );
    assert!(compose.contains("value=\"Asia/Makassar\" selected"), "{compose}");
    assert!(
        compose.contains("formaction=\"/console/broadcasts\"")
            && compose.contains("name=\"csrf\" value=\"t0k3n\"")
    );
    assert!(!compose.contains("id=\"preview\""), "no preview before one is asked for");
    let preview = nth("compose", 1);
    assert!(preview.contains("<strong id=\"preview-applicants\">3</strong>"), "{preview}");
    assert!(preview.contains("data-channel=\"whatsapp\">WhatsApp: <strong>2</strong>"), "{preview}");
    assert!(
        preview.contains("IDR 1200")
            && preview.contains("2 segmen")
            && preview.contains("id=\"needs-approval\"")
    );
    assert!(
        preview.contains("data-channel=\"sms\" data-lang=\"id\"") && preview.contains("<pre lang=\"en\">")
    );
    let invalid = nth("compose", 2);
    assert!(invalid.contains("id=\"form-error\"") && invalid.contains("(Kedatangan dari)"), "{invalid}");
    let planned = nth("broadcast", 0);
    assert!(planned.contains("data-channel=\"sms\"") && planned.contains("id=\"cancel\""), "{planned}");
    assert!(
        planned.contains("2024-06-20 11:00 WITA") && planned.contains("staff:rina"),
        "times in the office's zone"
    );
    assert!(planned.contains("action=\"/console/broadcasts/12/cancel\""));
    let rejected = nth("broadcast", 1);
    assert!(
        rejected.contains("id=\"rejection-reason\"") && !rejected.contains("id=\"cancel\""),
        "{rejected}"
    );
    let inbox = nth("approvals", 0);
    assert!(inbox.contains("id=\"own-12\""), "the author's own: no approve button, said so: {inbox}");
    assert_eq!(inbox.matches("/approve\"").count(), 1, "only budi's has an approve form: {inbox}");
    assert!(inbox.contains("id=\"reject-error-12\""), "the refused reason is shown on its broadcast");
    assert!(nth("approvals", 1).contains("id=\"inbox-empty\""));
}
// The incident pages and the call list (issue 14, page 4).
mod incident;

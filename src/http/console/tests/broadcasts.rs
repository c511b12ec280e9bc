//! The broadcast pages render with sample data in both languages and show what they are for.

use chrono::Utc;
use serde_json::{json, Value};

use super::{directory, frame, HOSTILE};
use crate::domain::Language;
use crate::staff::Scope;

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
    use crate::http::console::{approvals, broadcast_form, broadcasts};
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
            assert!(!html.contains("<script>alert"), "{name}: staff text must be escaped\n{html}");
            // The one script is the server's own file, never inline (the CSP refuses inline).
            let scripts = html.matches("<script").count();
            let own = html.matches("<script src=\"/console/assets/compose.js\" defer></script>").count();
            assert_eq!(scripts, own, "{name}: no inline script");
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

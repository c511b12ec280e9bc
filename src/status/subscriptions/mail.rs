//! A subscriber's mails: the confirmation, and an update about one state change of the office.
//! Bilingual (the language chosen on the form), every time in the office's zone with its
//! WIB/WITA/WIT label, and only what the public status page says (no applicant, no staff name).
//! Plain text and HTML from handlebars templates; the HTML part escapes every value.

use std::sync::LazyLock;

use handlebars::Handlebars;
use serde::Serialize;

use crate::domain::{Language, Office, ServiceState};
use crate::render::{format_long_date, EmailMessage, ListUnsubscribe};
use crate::status::words::{meaning, service_title, state_label};
use crate::store::PublicChange;

/// What a subscriber's mail is about.
#[derive(Debug, Clone, Copy)]
pub enum About<'a> {
    /// The double opt-in: the link that confirms.
    Confirm { confirm_url: &'a url::Url, expires_at: chrono::DateTime<chrono::Utc> },
    /// A state change of one of the office's services (a restoration too).
    Update(&'a PublicChange),
}

/// Why a mail could not be written.
#[derive(Debug, thiserror::Error)]
#[error("status subscription mail: {0}")]
pub struct MailError(String);

const TEXT: &str = "\
{{greeting}}

{{#each lines}}{{this}}
{{/each}}
{{#if confirm_url}}{{confirm_url}}

{{ignore}}
{{/if}}
{{page_label}}: {{page_url}}

--
{{why}}
{{unsubscribe_label}}: {{unsubscribe_url}}
";

const HTML: &str = "<!DOCTYPE html>
<html lang=\"{{lang}}\"><head><meta charset=\"utf-8\"><title>{{subject}}</title></head>
<body>
<p>{{greeting}}</p>
{{#each lines}}<p>{{this}}</p>
{{/each}}
{{#if confirm_url}}<p><a href=\"{{confirm_url}}\">{{confirm_button}}</a></p>
<p>{{ignore}}</p>
{{/if}}
<p><a href=\"{{page_url}}\">{{page_label}}</a></p>
<hr>
<p><small>{{why}} <a href=\"{{unsubscribe_url}}\">{{unsubscribe_label}}</a></small></p>
</body></html>
";

static TEMPLATES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut templates = Handlebars::new();
    templates.set_strict_mode(true);
    templates.register_template_string("html", HTML).expect("the subscription HTML template parses");
    templates
});

/// The text part: nothing is escaped.
static TEXT_TEMPLATES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut templates = Handlebars::new();
    templates.set_strict_mode(true);
    templates.register_escape_fn(handlebars::no_escape);
    templates.register_template_string("text", TEXT).expect("the subscription text template parses");
    templates
});

#[derive(Serialize)]
struct View {
    lang: &'static str,
    subject: String,
    greeting: &'static str,
    lines: Vec<String>,
    confirm_url: Option<String>,
    confirm_button: &'static str,
    ignore: &'static str,
    page_label: &'static str,
    page_url: String,
    why: String,
    unsubscribe_label: &'static str,
    unsubscribe_url: String,
}

struct Words {
    greeting: &'static str,
    confirm_subject: &'static str,
    confirm_text: &'static str,
    confirm_within: &'static str,
    confirm_button: &'static str,
    ignore: &'static str,
    reason: &'static str,
    since: &'static str,
    expected: &'static str,
    page_label: &'static str,
    why: &'static str,
    unsubscribe_label: &'static str,
}

fn words(language: Language) -> Words {
    match language {
        Language::Id => Words {
            greeting: "Halo,",
            confirm_subject: "Konfirmasi langganan status",
            confirm_text:
                "Ada permintaan untuk mengirim kabar status layanan kantor ini ke alamat email ini.",
            confirm_within: "Untuk mulai berlangganan, buka tautan di bawah ini sebelum {until}:",
            confirm_button: "Ya, kirimi saya kabar status",
            ignore:
                "Bukan Anda yang meminta? Abaikan email ini: Anda tidak akan menerima email lain dari kami.",
            reason: "Keterangan",
            since: "Sejak",
            expected: "Perkiraan pulih",
            page_label: "Status terkini",
            why: "Anda menerima email ini karena berlangganan kabar status {office}.",
            unsubscribe_label: "Berhenti berlangganan",
        },
        Language::En => Words {
            greeting: "Hello,",
            confirm_subject: "Confirm your status subscription",
            confirm_text:
                "Someone asked for this office's service status updates to be sent to this email address.",
            confirm_within: "To start your subscription, open the link below before {until}:",
            confirm_button: "Yes, send me status updates",
            ignore: "Did not ask for this? Ignore this email: you will not get any other email from us.",
            reason: "Reason",
            since: "Since",
            expected: "Expected back",
            page_label: "Current status",
            why: "You receive this email because you subscribed to status updates of {office}.",
            unsubscribe_label: "Unsubscribe",
        },
    }
}

/// Writes the mail `about` for a subscriber of `office` in `language`, linking the office's
/// status page and the one-click unsubscribe URL (also in the `List-Unsubscribe` headers).
pub fn write(
    office: &Office,
    language: Language,
    about: About<'_>,
    page_url: &url::Url,
    unsubscribe_url: &url::Url,
) -> Result<EmailMessage, MailError> {
    let w = words(language);
    let zone = office.timezone;
    let (subject, lines, confirm_url) = match about {
        About::Confirm { confirm_url, expires_at } => (
            format!("{}: {}", w.confirm_subject, office.name),
            vec![
                format!("{}: {}", office.name, w.confirm_text),
                w.confirm_within.replace("{until}", &format_long_date(expires_at, zone, language)),
            ],
            Some(confirm_url.to_string()),
        ),
        About::Update(change) => {
            let (service, state) =
                (service_title(change.service, language), state_label(change.to, language));
            let mut lines =
                vec![format!("{service}: {state}. {}", meaning(change.service, change.to, language))];
            if let Some(reason) = &change.reason {
                lines.push(format!("{}: {reason}", w.reason));
            }
            lines.push(format!("{}: {}", w.since, format_long_date(change.at, zone, language)));
            if let (Some(expected), true) = (change.expected_at, change.to != ServiceState::Operational) {
                lines.push(format!("{}: {}", w.expected, format_long_date(expected, zone, language)));
            }
            (format!("{}: {service} — {state}", office.name), lines, None)
        }
    };
    let view = View {
        lang: language.as_str(),
        subject,
        greeting: w.greeting,
        lines,
        confirm_url,
        confirm_button: w.confirm_button,
        ignore: w.ignore,
        page_label: w.page_label,
        page_url: page_url.to_string(),
        why: w.why.replace("{office}", &office.name),
        unsubscribe_label: w.unsubscribe_label,
        unsubscribe_url: unsubscribe_url.to_string(),
    };
    let text = TEXT_TEMPLATES.render("text", &view).map_err(|err| MailError(err.to_string()))?;
    let html = TEMPLATES.render("html", &view).map_err(|err| MailError(err.to_string()))?;
    Ok(EmailMessage {
        subject: view.subject,
        text,
        html,
        list_unsubscribe: Some(ListUnsubscribe {
            url: unsubscribe_url.to_string(),
            header: format!("<{unsubscribe_url}>"),
            post: "List-Unsubscribe=One-Click".to_owned(),
        }),
    })
}

/// The public links of subscriptions under the server's public URL `base`.
pub mod links {
    /// `…/status/{office}?lang=…`
    pub fn page(base: &url::Url, office: &str, language: crate::domain::Language) -> Option<url::Url> {
        let mut url = under(base, &["status", office])?;
        url.query_pairs_mut().append_pair("lang", language.as_str());
        Some(url)
    }

    /// `…/status/subscriptions/confirm/{token}?lang=…`
    pub fn confirm(base: &url::Url, token: &str, language: crate::domain::Language) -> Option<url::Url> {
        let mut url = under(base, &["status", "subscriptions", "confirm", token])?;
        url.query_pairs_mut().append_pair("lang", language.as_str());
        Some(url)
    }

    /// `…/status/subscriptions/unsubscribe/{token}?lang=…`
    pub fn unsubscribe(base: &url::Url, token: &str, language: crate::domain::Language) -> Option<url::Url> {
        let mut url = under(base, &["status", "subscriptions", "unsubscribe", token])?;
        url.query_pairs_mut().append_pair("lang", language.as_str());
        Some(url)
    }

    fn under(base: &url::Url, segments: &[&str]) -> Option<url::Url> {
        let mut url = base.clone();
        url.path_segments_mut().ok()?.pop_if_empty().extend(segments);
        Some(url)
    }
}

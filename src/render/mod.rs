//! Messages: from a notice kind, a channel, a language and the facts of one applicant's bookings
//! to the words on their phone.
//!
//! The planner decides who hears what and fills a [`NoticeContext`]; [`render`] turns it into a
//! [`Rendered`] SMS, WhatsApp template call or email using the [`Catalogue`] of handlebars
//! templates (built in under `templates/`, overridable file by file). [`check`] validates a whole
//! catalogue against sample data and [`preview`] shows one rendering, for `kabar templates`.
//!
//! Choices made here:
//!
//! - **`service_restored` is one kind**, with the restored service as the `service` variable and
//!   the sentence that differs ("your appointment will be rescheduled", "you can collect your
//!   passport") chosen in the template by `service_id`. The planner sends it to exactly the people
//!   who heard the outage notice, and the message has the same shape whichever service came back:
//!   good news, what it means for their booking, what to do. One kind keeps that shape in one place
//!   per channel and language, and needs one WhatsApp template approval per language instead of
//!   five (Meta reviews each template, which takes days: too slow to add one mid-incident).
//! - **SMS uses the office's short name** (`Kanim Soekarno-Hatta`, see [`short_office_name`]), short
//!   dates (`Sen 24 Jun 09.00 WIB`) and booking codes without holder names, and names no applicant:
//!   the full name of a Kelas I TPI office alone is 67 characters. The full names are in WhatsApp
//!   and email. Every built-in SMS fits two GSM-7 segments with the longest realistic values
//!   ([`check`] enforces it on the sample data in [`samples`]).
//! - **The opt-out instruction** is per channel. "Reply STOP" (`opt_out`) ends every WhatsApp
//!   message and the SMS of the kinds the applicant did not ask for (`status_update`,
//!   `broadcast`); the other SMS carry news about the applicant's own booking and spend their
//!   characters on it. An email ends with its one-click unsubscribe link instead, so rendering an
//!   email without `unsubscribe_url` fails, and `opt_out` is not even in an email's variables.
//! - **Dates are pre-formatted variables** (`when`, `when_short`, `expected_restoration`) rather
//!   than a helper, so a template cannot print a time in the wrong zone.

mod catalogue;
mod check;
mod context;
mod dates;
mod engine;
mod error;
mod kind;
mod preview;
pub mod samples;
pub mod sms;
mod view;
mod whatsapp;

use std::fmt;

use handlebars::Context;
use serde::Serialize;
use serde_json::Value;

pub use catalogue::{expected_files, file_key, layout_key, Catalogue, Origin, Part};
pub use check::{check, SMS_SEGMENT_BUDGET};
pub use context::{
    short_office_name, BookingLine, BroadcastText, Localized, NoticeContext, OfficeContact, PickupHours,
};
pub use dates::{day as format_day, long as format_long_date, short as format_short_date};
pub use error::{Problem, RenderError};
pub use kind::NoticeKind;
pub use preview::{preview, Preview};
pub use sms::{segment_cost, Encoding};

use crate::domain::{Channel, Language};

/// A notice ready for a provider.
///
/// The words name the applicant, their family and their bookings: personal data under UU 27/2022,
/// which must never reach a log. `Debug` therefore shows only the shape of a message (template,
/// lengths, segments), never its text; print the fields themselves only where the text is meant
/// to be seen (`kabar templates preview`, the provider call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Rendered {
    Sms(SmsMessage),
    Whatsapp(WhatsappMessage),
    Email(EmailMessage),
}

/// An SMS as it will be sent (typographic punctuation already replaced) and what it costs.
/// `Debug` leaves the text out.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct SmsMessage {
    pub text: String,
    pub encoding: Encoding,
    pub segments: usize,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    pub characters: usize,
}

/// A WhatsApp template call, and the text the applicant will see. `Debug` leaves the parameters
/// and the text out.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct WhatsappMessage {
    /// The approved template's name, e.g. `kabar_appointment_postponed`.
    pub template: String,
    /// The template's language code at Meta, e.g. `id` or `en`.
    pub language: String,
    /// The body parameters, in order (`{{1}}`, `{{2}}`, …).
    pub params: Vec<String>,
    /// The body with the parameters put in: what the applicant sees, for previews. Never log it.
    pub text: String,
}

/// An email with both parts. `Debug` leaves the subject, the bodies and the unsubscribe link out.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct EmailMessage {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub list_unsubscribe: Option<ListUnsubscribe>,
}

/// The headers of RFC 2369 and RFC 8058 one-click unsubscribe. The URL identifies the recipient
/// (anyone holding it can unsubscribe them), so `Debug` leaves it out.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ListUnsubscribe {
    pub url: String,
    /// The `List-Unsubscribe` value: `<https://…>`.
    pub header: String,
    /// The `List-Unsubscribe-Post` value.
    pub post: String,
}

impl ListUnsubscribe {
    fn new(url: &url::Url) -> Self {
        Self {
            url: url.to_string(),
            header: format!("<{url}>"),
            post: "List-Unsubscribe=One-Click".to_owned(),
        }
    }
}

/// `<redacted: N characters>`, standing in for a text in `Debug` output.
struct Redacted(usize);

impl Redacted {
    fn of(text: &str) -> Self {
        Redacted(text.chars().count())
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted: {} characters>", self.0)
    }
}

impl fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsMessage")
            .field("text", &Redacted::of(&self.text))
            .field("encoding", &self.encoding)
            .field("segments", &self.segments)
            .field("units", &self.units)
            .field("characters", &self.characters)
            .finish()
    }
}

impl fmt::Debug for WhatsappMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<Redacted> = self.params.iter().map(|p| Redacted::of(p)).collect();
        f.debug_struct("WhatsappMessage")
            .field("template", &self.template)
            .field("language", &self.language)
            .field("params", &params)
            .field("text", &Redacted::of(&self.text))
            .finish()
    }
}

impl fmt::Debug for EmailMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailMessage")
            .field("subject", &Redacted::of(&self.subject))
            .field("text", &Redacted::of(&self.text))
            .field("html", &Redacted::of(&self.html))
            .field("list_unsubscribe", &self.list_unsubscribe)
            .finish()
    }
}

impl fmt::Debug for ListUnsubscribe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListUnsubscribe")
            .field("url", &Redacted::of(&self.url))
            .field("post", &self.post)
            .finish_non_exhaustive()
    }
}

/// Renders `kind` for one applicant on one channel in one language.
pub fn render(
    catalogue: &Catalogue,
    kind: NoticeKind,
    channel: Channel,
    language: Language,
    context: &NoticeContext,
) -> Result<Rendered, RenderError> {
    if channel == Channel::Email && context.unsubscribe_url.is_none() {
        return Err(RenderError::NoUnsubscribeLink);
    }
    let view = view::build(context, language, channel);
    match channel {
        Channel::Sms => {
            let raw = catalogue.render_text(&file_key(language, kind, Part::Sms), &Context::from(view))?;
            let text = sms::normalise(raw.trim()).into_owned();
            let cost = sms::segment(&text);
            Ok(Rendered::Sms(SmsMessage {
                text,
                encoding: cost.encoding,
                segments: cost.segments,
                units: cost.units,
                characters: cost.characters,
            }))
        }
        Channel::Whatsapp => {
            let key = file_key(language, kind, Part::Whatsapp);
            let spec = catalogue.whatsapp(&key)?;
            let mut view = view;
            for staff_written in ["broadcast_text", "sender"] {
                if let Some(Value::String(text)) = view.get_mut(staff_written) {
                    *text = whatsapp::one_line(text);
                }
            }
            let view = Context::from(view);
            let params = (0..spec.params.len())
                .map(|index| {
                    let value = catalogue.render_text(&catalogue::param_name(&key, index), &view)?;
                    Ok(value.trim().to_owned())
                })
                .collect::<Result<Vec<_>, RenderError>>()?;
            let text = whatsapp::fill(&spec.body, &params);
            // The same rules `check` applies to the samples, applied to every real message:
            // Meta would refuse it anyway, later and with a less useful error.
            if let Some((line, message)) = whatsapp::message_problem(spec, &params, &text) {
                return Err(RenderError::Unsendable(Problem::new(catalogue.display(&key), line, message)));
            }
            Ok(Rendered::Whatsapp(WhatsappMessage {
                template: spec.name.clone(),
                language: spec.language.clone(),
                text,
                params,
            }))
        }
        Channel::Email => {
            let (view, wrapped) = (view.clone(), Context::from(view));
            let subject = catalogue.render_text(&file_key(language, kind, Part::EmailSubject), &wrapped)?;
            // A header: one line, whatever the template's line breaks.
            let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
            let text_body = catalogue.render_text(&file_key(language, kind, Part::EmailText), &wrapped)?;
            let html_body = catalogue.render_html(&file_key(language, kind, Part::EmailHtml), &wrapped)?;
            let text = catalogue.render_text(
                &layout_key(language, false),
                &with_content(&view, &subject, text_body.trim()),
            )?;
            let html = catalogue
                .render_html(&layout_key(language, true), &with_content(&view, &subject, html_body.trim()))?;
            Ok(Rendered::Email(EmailMessage {
                subject,
                text: text.trim().to_owned() + "\n",
                html,
                list_unsubscribe: context.unsubscribe_url.as_ref().map(ListUnsubscribe::new),
            }))
        }
    }
}

fn with_content(view: &Value, subject: &str, content: &str) -> Context {
    let mut view = view.clone();
    view["subject"] = subject.into();
    view["content"] = content.into();
    Context::from(view)
}

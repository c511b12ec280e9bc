//! `kabar templates preview KIND --channel … --lang … [--json]`.

use std::fmt;

use serde::Serialize;

use super::catalogue::Catalogue;
use super::error::RenderError;
use super::kind::NoticeKind;
use super::{render, samples, Rendered};
use crate::domain::{Channel, Language};

/// One rendering of the sample data; `Serialize` for `--json`, `Display` for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    pub kind: NoticeKind,
    pub language: Language,
    #[serde(flatten)]
    pub rendered: Rendered,
}

/// Renders `kind` with the sample context of [`samples::context`].
pub fn preview(
    catalogue: &Catalogue,
    kind: NoticeKind,
    channel: Channel,
    language: Language,
) -> Result<Preview, RenderError> {
    let rendered = render(catalogue, kind, channel, language, &samples::context(kind))?;
    Ok(Preview { kind, language, rendered })
}

impl fmt::Display for Preview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, language) = (self.kind, self.language);
        match &self.rendered {
            Rendered::Sms(sms) => {
                writeln!(
                    f,
                    "{kind} · SMS · {language} · {} · {} characters ({} units)",
                    super::segment_cost(sms.encoding, sms.segments),
                    sms.characters,
                    sms.units
                )?;
                writeln!(f)?;
                writeln!(f, "{}", sms.text)
            }
            Rendered::Whatsapp(wa) => {
                writeln!(f, "{kind} · WhatsApp · template {} · language {}", wa.template, wa.language)?;
                for (index, param) in wa.params.iter().enumerate() {
                    writeln!(f, "  {{{{{}}}}} = {param}", index + 1)?;
                }
                writeln!(f)?;
                writeln!(f, "{}", wa.text)
            }
            Rendered::Email(email) => {
                writeln!(f, "{kind} · email · {language}")?;
                writeln!(f, "Subject: {}", email.subject)?;
                if let Some(unsubscribe) = &email.list_unsubscribe {
                    writeln!(f, "List-Unsubscribe: {}", unsubscribe.header)?;
                    writeln!(f, "List-Unsubscribe-Post: {}", unsubscribe.post)?;
                }
                writeln!(f, "\n--- text/plain ---\n{}", email.text)?;
                writeln!(f, "--- text/html ---\n{}", email.html)
            }
        }
    }
}

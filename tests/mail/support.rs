//! Messages to send, as the renderer would make them.

use kabar::deliver::{Destination, Outgoing};
use kabar::domain::Msisdn;
use kabar::render::{sms, EmailMessage, ListUnsubscribe, Rendered, SmsMessage, WhatsappMessage};

pub const UNSUBSCRIBE_URL: &str = "https://kabar.imigrasi.go.id/berhenti?t=8f3a9c";

pub fn mobile() -> Msisdn {
    "0812-3456-7890".parse().expect("a valid number")
}

pub fn email_to(address: &str, name: &str) -> Destination {
    Destination::Email { address: address.parse().expect("a valid address"), name: name.to_owned() }
}

/// An email like the renderer's, with a subject outside ASCII and a line that starts with a dot.
pub fn email(message_id: i64) -> Outgoing {
    Outgoing {
        at: chrono::Utc::now(),
        message_id,
        to: email_to("budi.santoso@example.com", "Budi Santoso"),
        content: Rendered::Email(EmailMessage {
            subject: "Layanan paspor dibuka kembali – Kanim Jakarta Selatan".into(),
            text: "Yth. Budi Santoso,\n\nLayanan paspor sudah dibuka kembali.\n.Baris ini diawali titik.\n\n\
                   Berhenti: https://kabar.imigrasi.go.id/berhenti?t=8f3a9c\n"
                .into(),
            html: "<html><body><p>Yth. Budi Santoso,</p><p>Layanan paspor sudah dibuka kembali.</p></body></html>"
                .into(),
            list_unsubscribe: Some(list_unsubscribe()),
        }),
    }
}

pub fn list_unsubscribe() -> ListUnsubscribe {
    ListUnsubscribe {
        url: UNSUBSCRIBE_URL.into(),
        header: format!("<{UNSUBSCRIBE_URL}>"),
        post: "List-Unsubscribe=One-Click".into(),
    }
}

pub fn sms(message_id: i64, text: &str) -> Outgoing {
    let cost = sms::segment(text);
    Outgoing {
        at: chrono::Utc::now(),
        message_id,
        to: Destination::Phone(mobile()),
        content: Rendered::Sms(SmsMessage {
            text: text.to_owned(),
            encoding: cost.encoding,
            segments: cost.segments,
            units: cost.units,
            characters: cost.characters,
        }),
    }
}

pub fn whatsapp(message_id: i64) -> Outgoing {
    Outgoing {
        at: chrono::Utc::now(),
        message_id,
        to: Destination::Phone(mobile()),
        content: Rendered::Whatsapp(WhatsappMessage {
            template: "kabar_service_restored".into(),
            language: "id".into(),
            params: vec!["Budi Santoso".into(), "Kanim Jakarta Selatan".into()],
            text: "Halo Budi Santoso, layanan di Kanim Jakarta Selatan sudah dibuka kembali.".into(),
        }),
    }
}

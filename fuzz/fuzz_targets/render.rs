//! Any names, office names, reasons and broadcast texts through every notice, channel and
//! language: rendered or refused, never a panic.
#![no_main]

use std::sync::LazyLock;

use kabar::domain::{Channel, Language};
use kabar::render::{self, samples, short_office_name, Catalogue, Localized, NoticeKind};
use libfuzzer_sys::fuzz_target;

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(Catalogue::builtin);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{1F}');
    let mut next = || parts.next().unwrap_or("Budi").to_owned();
    let kind = NoticeKind::ALL[data.first().map_or(0, |b| *b as usize) % NoticeKind::ALL.len()];
    let mut context = samples::context(kind);
    context.applicant_name = next();
    context.office.name = next();
    context.office.short_name = short_office_name(&context.office.name);
    let (holder, unit) = (next(), next());
    for booking in &mut context.bookings {
        booking.holder_name = holder.clone();
        booking.unit_name = unit.clone();
    }
    context.reason = Some(Localized::new(next(), next()));
    if let Some(broadcast) = &mut context.broadcast {
        broadcast.text = Localized::id_only(next());
        broadcast.sender = Some(next());
    }
    for channel in [Channel::Sms, Channel::Whatsapp, Channel::Email] {
        for language in [Language::Id, Language::En] {
            let _ = render::render(&CATALOGUE, kind, channel, language, &context);
        }
    }
});

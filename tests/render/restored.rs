//! Restoration and contact wording (issue 12, items 3 and 4): what a restored service says to an
//! applicant depends on where the application stands; an office without a phone is not given
//! one; a broadcast names its office once.

#[allow(unused_imports)]
use crate::support::*;

/// Phrases that only fit an application already in process (past the interview).
const IN_PROCESS_ONLY: &[&str] = &["kembali diproses", "diproses lagi", "processed again"];
/// Phrases that only fit an appointment still ahead.
const AHEAD_ONLY: &[&str] =
    &["silakan datang sesuai jadwal", "please come as booked", "jadwal tetap", "appointment stands"];

fn rendered_text(context: &NoticeContext, kind: NoticeKind, channel: Channel, language: Language) -> String {
    let catalogue = Catalogue::builtin();
    let rendered = render(&catalogue, kind, channel, language, context)
        .unwrap_or_else(|err| panic!("{kind} {channel} {language}: {err}"));
    visible_text(&rendered)
}

#[test]
fn a_restoration_tells_a_booked_applicant_the_appointment_stands_not_that_it_is_processed_again() {
    for service in [Service::Printing, Service::Epassport, Service::Express] {
        for stage in [Stage::Booked, Stage::Attended, Stage::Paid, Stage::Printing] {
            let mut context = nunukan_family();
            context.service = Some(service);
            for booking in &mut context.bookings {
                booking.stage = stage;
            }
            for &language in Language::ALL {
                for &channel in Channel::ALL {
                    let what = format!("{service} {stage} {channel} {language}");
                    let text = rendered_text(&context, NoticeKind::ServiceRestored, channel, language);
                    let lower = text.to_lowercase();
                    let never = if stage == Stage::Booked { IN_PROCESS_ONLY } else { AHEAD_ONLY };
                    for phrase in never {
                        assert!(!lower.contains(phrase), "{what}: {phrase:?} in\n{text}");
                    }
                    if stage == Stage::Booked && service != Service::Express {
                        let stands = match language {
                            Language::Id => "tetap",
                            Language::En => "stands",
                        };
                        assert!(lower.contains(stands), "{what}: no {stands:?} in\n{text}");
                        if channel != Channel::Sms {
                            // The date, time and place of the appointment that stands.
                            let date = match language {
                                Language::Id => "25 Juni 2024 pukul 09.00 WITA, Kantor Imigrasi Nunukan",
                                Language::En => "25 June 2024 at 09:00 WITA, Kantor Imigrasi Nunukan",
                            };
                            assert!(text.contains(date), "{what}: no {date:?} in\n{text}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn an_office_without_a_phone_is_not_given_one() {
    let mut context = nunukan_family();
    context.service = Some(Service::Printing);
    context.office.phone = None;
    context.office.website = None;
    for &language in Language::ALL {
        let (phone_label, info) = match language {
            Language::Id => ("Telepon:", "Informasi: www.imigrasi.go.id"),
            Language::En => ("Phone:", "Information: www.imigrasi.go.id"),
        };
        for &kind in NoticeKind::ALL {
            let email = rendered_text(&context, kind, Channel::Email, language);
            assert!(!email.contains(phone_label), "{kind} {language}: {phone_label} in\n{email}");
            assert!(email.contains(info), "{kind} {language}: no {info:?} in\n{email}");
            let whatsapp = rendered_text(&context, kind, Channel::Whatsapp, language);
            assert!(
                !whatsapp.contains("call www") && !whatsapp.contains("hubungi www"),
                "{kind}:\n{whatsapp}"
            );
        }
        // With a website, the website line is the contact.
        let mut with_site = context.clone();
        with_site.office.website = Some("kanimnunukan.imigrasi.go.id".into());
        let email = rendered_text(&with_site, NoticeKind::ServiceRestored, Channel::Email, language);
        assert!(!email.contains(phone_label) && !email.contains(info), "{language}:\n{email}");
    }
    let mut phoned = context.clone();
    phoned.office.phone = Some("(0556) 21 000".into());
    let email = rendered_text(&phoned, NoticeKind::ServiceRestored, Channel::Email, Language::Id);
    assert!(email.contains("Telepon: (0556) 21 000"), "{email}");
    let whatsapp = rendered_text(&phoned, NoticeKind::ServiceRestored, Channel::Whatsapp, Language::En);
    assert!(whatsapp.contains("Questions: call (0556) 21 000."), "{whatsapp}");
}

#[test]
fn a_broadcast_without_a_sender_names_its_office_once() {
    let mut context = nunukan_family();
    if let Some(broadcast) = &mut context.broadcast {
        broadcast.sender = None;
    }
    let name = context.office.name.clone();
    for &language in Language::ALL {
        for &channel in Channel::ALL {
            let catalogue = Catalogue::builtin();
            let rendered = render(&catalogue, NoticeKind::Broadcast, channel, language, &context).unwrap();
            let body = match &rendered {
                Rendered::Sms(sms) => sms.text.clone(),
                Rendered::Whatsapp(wa) => wa.text.clone(),
                // The letter's header and signature name the office; the announcement line once.
                Rendered::Email(email) => email
                    .text
                    .lines()
                    .find(|line| line.contains(':') && line.contains(&name))
                    .unwrap()
                    .to_owned(),
            };
            assert_eq!(
                body.matches(&name).count(),
                if channel == Channel::Sms { 0 } else { 1 },
                "{channel} {language}:\n{body}"
            );
            assert!(!body.contains(&format!("{name}, {name}")), "{body}");
        }
    }
    let sms = rendered_text(&context, NoticeKind::Broadcast, Channel::Sms, Language::Id);
    assert!(!sms.contains('(') || !sms.contains(&name), "{sms}");
}

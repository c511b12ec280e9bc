//! What the messages say: advice that matches the applicant's situation, wording, channel rules.

#[allow(unused_imports)]
use crate::support::*;

/// The words a status update uses for "come as booked" and "no need to come", per language.
fn come_and_stay_away(language: Language) -> (&'static str, &'static str) {
    match language {
        Language::Id => ("silakan datang", "tidak perlu datang"),
        Language::En => ("please come", "no need to come"),
    }
}

#[test]
fn status_updates_after_the_interview_do_not_ask_the_applicant_to_come() {
    let catalogue = Catalogue::builtin();
    for service in [Service::Printing, Service::Epassport, Service::Express] {
        for stage in [Stage::Booked, Stage::Attended, Stage::Printing] {
            let mut context = nunukan_family();
            context.service = Some(service);
            for booking in &mut context.bookings {
                booking.stage = stage;
            }
            for &language in Language::ALL {
                let (come, stay_away) = come_and_stay_away(language);
                for &channel in Channel::ALL {
                    let what = format!("{service} {stage} {channel} {language}");
                    let rendered = render(&catalogue, NoticeKind::StatusUpdate, channel, language, &context)
                        .unwrap_or_else(|err| panic!("{what}: {err}"));
                    let text = visible_text(&rendered).to_lowercase();
                    let (say, never) =
                        if stage == Stage::Booked { (come, stay_away) } else { (stay_away, come) };
                    assert!(text.contains(say), "{what}: no {say:?} in\n{text}");
                    assert!(!text.contains(never), "{what}: {never:?} in\n{text}");
                }
            }
        }
    }
}

#[test]
fn a_status_update_for_a_family_at_two_stages_tells_each_booking_its_own_advice() {
    let catalogue = Catalogue::builtin();
    let mut context = nunukan_family();
    context.service = Some(Service::Printing);
    context.bookings[0].stage = Stage::Printing;
    let Rendered::Sms(sms) =
        render(&catalogue, NoticeKind::StatusUpdate, Channel::Sms, Language::Id, &context).unwrap()
    else {
        panic!("not an SMS");
    };
    assert!(
        sms.text.contains("silakan datang: NNK24062502B.")
            && sms.text.contains("Paspor NNK24062501A terbit lebih lambat, tidak perlu datang."),
        "{}",
        sms.text
    );
}

/// The first word written twice in a row ("Layanan layanan", "service service"), ignoring case
/// and markup; a word followed by punctuation ("visa, visa") is not a doubling.
fn doubled_word(text: &str) -> Option<String> {
    let mut plain = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let words: Vec<String> = plain.split_whitespace().map(str::to_lowercase).collect();
    words.windows(2).find_map(|pair| {
        let bare = pair[1].trim_end_matches(|c: char| !c.is_alphanumeric());
        let is_word = !pair[0].is_empty() && pair[0].chars().all(char::is_alphabetic);
        (is_word && pair[0] == bare).then(|| format!("{} {}", pair[0], pair[1]))
    })
}

#[test]
fn no_message_says_a_word_twice() {
    assert_eq!(doubled_word("<p>Layanan</p> layanan izin"), Some("layanan layanan".into()));
    assert_eq!(doubled_word("the visa, visa"), None);
    let catalogue = Catalogue::builtin();
    for &kind in NoticeKind::ALL {
        let mut contexts: Vec<(String, NoticeContext)> = samples::variants(kind);
        for &service in Service::ALL {
            let mut context = nunukan_family();
            context.service = Some(service);
            contexts.push((format!("Nunukan, service {service}"), context));
        }
        for (label, context) in &contexts {
            for &language in Language::ALL {
                for &channel in Channel::ALL {
                    let what = format!("{kind} {channel} {language} ({label})");
                    let text = visible_text(
                        &render(&catalogue, kind, channel, language, context)
                            .unwrap_or_else(|err| panic!("{what}: {err}")),
                    );
                    if let Some(doubled) = doubled_word(&text) {
                        panic!("{what}: {doubled:?} in\n{text}");
                    }
                }
            }
        }
    }
}

#[test]
fn express_suspension_never_promises_a_same_day_passport_by_rebooking() {
    let catalogue = Catalogue::builtin();
    for (label, context) in samples::variants(NoticeKind::ExpressSuspended) {
        let awaiting = context.bookings.iter().any(|booking| booking.stage == Stage::Booked);
        let interviewed = context.bookings.iter().any(|booking| booking.stage != Stage::Booked);
        for &language in Language::ALL {
            // Rebooking is advice for an appointment still ahead; an application past the
            // interview simply continues as a regular one, and nobody is promised a same-day
            // passport.
            let (wrong, always, rebook, continues): (&[&str], &[&str], &str, &str) = match language {
                Language::Id => (
                    &["hari yang sama", "harus cepat"],
                    &["percepatan", "abari"],
                    "ke tanggal setelah",
                    "tidak perlu datang",
                ),
                Language::En => (
                    &["on the same day", "need it fast"],
                    &["express", "tell you"],
                    " move ",
                    "need not come",
                ),
            };
            for &channel in Channel::ALL {
                let what = format!("{channel} {language} ({label})");
                let text = visible_text(
                    &render(&catalogue, NoticeKind::ExpressSuspended, channel, language, &context).unwrap(),
                )
                .to_lowercase();
                for phrase in wrong {
                    assert!(!text.contains(phrase), "{what}: {phrase:?} in\n{text}");
                }
                for phrase in always {
                    assert!(text.contains(phrase), "{what}: no {phrase:?} in\n{text}");
                }
                assert_eq!(
                    text.contains(rebook),
                    awaiting,
                    "{what}: rebooking advice ({rebook:?}) in\n{text}"
                );
                assert_eq!(text.contains(continues), interviewed, "{what}: {continues:?} in\n{text}");
            }
        }
    }
}

#[test]
fn staff_text_is_put_on_one_line_for_whatsapp() {
    let catalogue = Catalogue::builtin();
    let context = with_broadcast(
        "Pengambilan paspor dibuka Sabtu.\n\nBawa bukti bayar.\tTerima kasih.     Salam.",
        "Seksi\nLalu Lintas",
    );
    let Rendered::Whatsapp(wa) =
        render(&catalogue, NoticeKind::Broadcast, Channel::Whatsapp, Language::Id, &context).unwrap()
    else {
        panic!("not WhatsApp");
    };
    assert_eq!(wa.params[1], "Seksi Lalu Lintas, Kantor Imigrasi Kelas II TPI Nunukan");
    assert_eq!(wa.params[2], "Pengambilan paspor dibuka Sabtu. Bawa bukti bayar. Terima kasih. Salam.");
    // SMS and email keep the staff's line breaks.
    let Rendered::Email(email) =
        render(&catalogue, NoticeKind::Broadcast, Channel::Email, Language::Id, &context).unwrap()
    else {
        panic!("not an email");
    };
    assert!(email.text.contains("Sabtu.\n\nBawa"), "{}", email.text);
}

#[test]
fn a_whatsapp_body_over_1024_characters_is_refused_at_render_time() {
    let catalogue = Catalogue::builtin();
    let mut context = nunukan_family();
    context.broadcast = Some(BroadcastText {
        text: Localized::id_only("Pengumuman penting. ".repeat(50)),
        sender: Some("Kepala Kantor".to_owned()),
    });
    let err =
        render(&catalogue, NoticeKind::Broadcast, Channel::Whatsapp, Language::Id, &context).unwrap_err();
    let RenderError::Unsendable(problem) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(problem.file, "templates/id/broadcast/whatsapp.toml");
    assert!(problem.message.contains("WhatsApp allows 1024"), "{err}");
    // The SMS and email channels have no such limit here.
    assert!(render(&catalogue, NoticeKind::Broadcast, Channel::Email, Language::Id, &context).is_ok());
}

#[test]
fn a_family_of_four_gets_a_compact_sms_within_budget() {
    let catalogue = Catalogue::builtin();
    let mut context = nunukan_family();
    let zone = context.office.timezone;
    let mut more = context.bookings.clone();
    for (booking, code) in more.iter_mut().zip(["NNK24062503C", "NNK24062504D"]) {
        booking.code = code.parse().unwrap();
    }
    context.bookings.extend(more);
    for booking in &mut context.bookings {
        booking.rescheduled_to = Some(parse_local_datetime("2024-07-02 13:00", zone).unwrap());
    }
    for &kind in NoticeKind::ALL {
        let services = match kind {
            NoticeKind::ServiceRestored | NoticeKind::StatusUpdate => {
                vec![Service::Biometrics, Service::Printing, Service::Pickup]
            }
            _ => vec![service_for(kind).unwrap_or(Service::Printing)],
        };
        for service in services {
            context.service = Some(service);
            for &language in Language::ALL {
                let what = format!("{kind} {service} {language}");
                let Rendered::Sms(sms) = render(&catalogue, kind, Channel::Sms, language, &context)
                    .unwrap_or_else(|err| panic!("{what}: {err}"))
                else {
                    panic!("not an SMS");
                };
                assert!(
                    sms.segments <= SMS_SEGMENT_BUDGET,
                    "{what}: {} segments\n{}",
                    sms.segments,
                    sms.text
                );
                if kind != NoticeKind::Broadcast {
                    for code in ["NNK24062501A", "NNK24062504D"] {
                        assert!(sms.text.contains(code), "{what}: no {code}\n{}", sms.text);
                    }
                }
            }
        }
    }
    // `check` renders a four-booking sample of every kind.
    for &kind in NoticeKind::ALL {
        assert!(samples::variants(kind).iter().any(|(_, context)| context.bookings.len() == 4), "{kind}");
    }
}

#[test]
fn emails_offer_the_unsubscribe_link_never_reply_stop() {
    let catalogue = Catalogue::builtin();
    for &kind in NoticeKind::ALL {
        for (label, context) in samples::variants(kind) {
            for &language in Language::ALL {
                let what = format!("{kind} {language} ({label})");
                let Rendered::Email(email) = render(&catalogue, kind, Channel::Email, language, &context)
                    .unwrap_or_else(|err| panic!("{what}: {err}"))
                else {
                    panic!("not an email");
                };
                let url = context.unsubscribe_url.as_ref().unwrap().as_str();
                for part in [&email.text, &email.html] {
                    assert!(part.contains(url), "{what}: no link in\n{part}");
                    for reply in ["STOP", "Balas", "Reply", "BERHENTI"] {
                        assert!(!part.contains(reply), "{what}: {reply:?} in\n{part}");
                    }
                }
            }
        }
    }
    // SMS and WhatsApp keep the reply instruction.
    let context = nunukan_family();
    let sms = render(
        &catalogue,
        NoticeKind::StatusUpdate,
        Channel::Sms,
        Language::Id,
        &samples::context(NoticeKind::StatusUpdate),
    )
    .unwrap();
    assert!(visible_text(&sms).contains("Balas STOP"));

    let mut without_link = context;
    without_link.unsubscribe_url = None;
    let err = render(&catalogue, NoticeKind::ReadyForPickup, Channel::Email, Language::En, &without_link)
        .unwrap_err();
    assert!(matches!(err, RenderError::NoUnsubscribeLink), "{err}");
    assert!(render(&catalogue, NoticeKind::ReadyForPickup, Channel::Whatsapp, Language::En, &without_link,)
        .is_ok());
}

/// The whole local text of one WhatsApp template per language, so that parameters put in the
/// wrong placeholder (or a placeholder dropped from the body) fail.
#[test]
fn whatsapp_parameters_fill_their_own_placeholders() {
    let catalogue = Catalogue::builtin();
    let mut context = nunukan_family();
    context.service = Some(Service::Pickup);
    let expected = [
        (
            Language::Id,
            "Halo Siti Rahmawati,\n\n\
             Kantor Imigrasi Kelas II TPI Nunukan memberitahukan bahwa pengambilan paspor \
             dihentikan sementara karena gangguan Pusat Data Nasional. Paspor Anda aman di kantor \
             kami: NNK24062501A atas nama Siti Rahmawati; NNK24062502B atas nama Ahmad Fauzan.\n\n\
             Mohon *jangan datang* untuk mengambil paspor sampai kami mengabari Anda. Layanan \
             diperkirakan pulih Senin, 1 Juli 2024 pukul 08.00 WITA. Kami akan mengirim kabar lagi \
             saat pengambilan dibuka.\n\n\
             Informasi: hubungi (0556) 21 000.\n\n\
             _Balas STOP untuk berhenti._",
        ),
        (
            Language::En,
            "Hello Siti Rahmawati,\n\n\
             Kantor Imigrasi Kelas II TPI Nunukan informs you that passport pickup is suspended \
             because of an outage at the National Data Centre. Your passport is safe with us: \
             NNK24062501A for Siti Rahmawati; NNK24062502B for Ahmad Fauzan.\n\n\
             Please *do not come* to collect it until we tell you. We expect the service back by \
             Monday 1 July 2024 at 08:00 WITA. We will write again when pickup reopens.\n\n\
             Questions: call (0556) 21 000.\n\n\
             _Reply STOP to opt out._",
        ),
    ];
    for (language, text) in expected {
        let Rendered::Whatsapp(wa) =
            render(&catalogue, NoticeKind::PickupSuspended, Channel::Whatsapp, language, &context).unwrap()
        else {
            panic!("not WhatsApp");
        };
        assert_eq!(wa.text, text, "{language}");
    }
}

#[test]
fn samples_for_an_e_passport_outage_hold_e_passport_applications_only() {
    let catalogue = Catalogue::builtin();
    for &kind in NoticeKind::ALL {
        for (label, context) in samples::variants(kind) {
            match context.service {
                Some(Service::Epassport) => {
                    assert!(
                        context.bookings.iter().all(|b| b.product == Product::Epassport),
                        "{kind} ({label})"
                    );
                    for &language in Language::ALL {
                        let email = render(&catalogue, kind, Channel::Email, language, &context).unwrap();
                        let text = visible_text(&email);
                        for regular in ["paspor biasa", "regular passport"] {
                            assert!(!text.contains(regular), "{kind} ({label}): {regular}");
                        }
                    }
                }
                Some(Service::Express) => {
                    assert!(context.bookings.iter().all(|b| b.express), "{kind} ({label})")
                }
                _ => {}
            }
        }
    }
}

#[test]
fn debug_output_of_a_message_never_holds_its_words() {
    let catalogue = Catalogue::builtin();
    let mut context = nunukan_family();
    context.service = Some(Service::Biometrics);
    for &channel in Channel::ALL {
        let rendered =
            render(&catalogue, NoticeKind::AppointmentPostponed, channel, Language::Id, &context).unwrap();
        let debug = format!("{rendered:?} {:#?}", rendered);
        for secret in ["Siti Rahmawati", "Ahmad Fauzan", "NNK24062501A", "Nunukan", "abc123", "STOP"] {
            assert!(!debug.contains(secret), "{channel}: {secret:?} in {debug}");
        }
        assert!(debug.contains("<redacted: "), "{debug}");
        if let Rendered::Sms(sms) = &rendered {
            assert!(debug.contains(&format!("segments: {}", sms.segments)), "{debug}");
        }
        if let Rendered::Whatsapp(wa) = &rendered {
            assert!(debug.contains(&wa.template), "{debug}");
        }
    }
}

#[test]
fn the_reviewed_wording_is_used_everywhere() {
    let retired = [
        "Mohon belum datang",
        "yang memilih percepatan",
        "Pertanyaan: telepon",
        "has stopped",
        "is processed again",
        "can be chosen again",
    ];
    let mut wanted = vec![
        ("Mohon jangan datang dulu", false),
        ("Permohonan Anda dengan layanan percepatan", false),
        ("Informasi: hubungi", false),
        ("is suspended", false),
        ("is being processed again", false),
        ("Express service is available again", false),
    ];
    let catalogue = Catalogue::builtin();
    for &kind in NoticeKind::ALL {
        for (label, context) in samples::variants(kind) {
            for &language in Language::ALL {
                for &channel in Channel::ALL {
                    let text = visible_text(&render(&catalogue, kind, channel, language, &context).unwrap());
                    for phrase in retired {
                        assert!(
                            !text.contains(phrase),
                            "{kind} {channel} {language} ({label}): {phrase:?}\n{text}"
                        );
                    }
                    for (phrase, seen) in &mut wanted {
                        *seen |= text.contains(*phrase);
                    }
                }
            }
        }
    }
    let missing: Vec<&str> = wanted.iter().filter(|(_, seen)| !seen).map(|(p, _)| *p).collect();
    assert!(missing.is_empty(), "never said: {missing:?}");
}

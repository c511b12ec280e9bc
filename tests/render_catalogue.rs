//! The message catalogue as the planner and `kabar templates` use it: every kind, channel and
//! language rendered with realistic data, `check` on the built-in and on broken overrides.

use kabar::domain::{parse_local_datetime, Channel, Language, Product, Service, Stage, TimeZone};
use kabar::render::{
    check, preview, render, samples, short_office_name, BookingLine, BroadcastText, Catalogue, Encoding,
    Localized, NoticeContext, NoticeKind, OfficeContact, PickupHours, Problem, RenderError, Rendered,
    SMS_SEGMENT_BUDGET,
};

/// Nunukan is in WITA: a date printed in WIB (the server's habit) would be an hour early.
fn nunukan_family() -> NoticeContext {
    let zone: TimeZone = "Asia/Makassar".parse().unwrap();
    let at = |local: &str| parse_local_datetime(local, zone).unwrap();
    let name = "Kantor Imigrasi Kelas II TPI Nunukan";
    NoticeContext {
        applicant_name: "Siti Rahmawati".to_owned(),
        office: OfficeContact {
            name: name.to_owned(),
            short_name: short_office_name(name),
            timezone: zone,
            phone: "(0556) 21 000".to_owned(),
            address: "Jl. Ujang Dewa, Nunukan, Kalimantan Utara".to_owned(),
            website: Some("kanimnunukan.imigrasi.go.id".to_owned()),
            instagram: Some("kanim_nunukan".to_owned()),
        },
        bookings: vec![
            BookingLine {
                code: "NNK24062501A".parse().unwrap(),
                holder_name: "Siti Rahmawati".to_owned(),
                unit_name: "Kantor Imigrasi Nunukan".to_owned(),
                appointment_at: at("2024-06-25 09:00"),
                product: Product::Epassport,
                express: true,
                stage: Stage::Booked,
                rescheduled_to: None,
            },
            BookingLine {
                code: "NNK24062502B".parse().unwrap(),
                holder_name: "Ahmad Fauzan".to_owned(),
                unit_name: "Kantor Imigrasi Nunukan".to_owned(),
                appointment_at: at("2024-06-25 10:30"),
                product: Product::Regular,
                express: false,
                stage: Stage::Booked,
                rescheduled_to: None,
            },
        ],
        service: None,
        reason: Some(Localized::new("gangguan Pusat Data Nasional", "an outage at the National Data Centre")),
        expected_restoration: Some(at("2024-07-01 08:00")),
        pickup: Some(PickupHours {
            hours: Localized::new("Senin-Jumat 08.00-15.00 WITA", "Monday-Friday 08:00-15:00 WITA"),
            extra_days: Some(Localized::new(
                "Sabtu 29 Juni 08.00-12.00 WITA",
                "Saturday 29 June 08:00-12:00 WITA",
            )),
        }),
        broadcast: Some(BroadcastText {
            text: Localized::new(
                "Pendaftaran M-Paspor baru dibuka kembali mulai Senin 1 Juli.",
                "New M-Paspor registrations reopen on Monday 1 July.",
            ),
            sender: "Kepala Kantor Imigrasi Nunukan".to_owned(),
        }),
        opt_out: Localized::new("Balas STOP untuk berhenti.", "Reply STOP to opt out."),
        unsubscribe_url: Some("https://kabar.example.id/u/abc123".parse().unwrap()),
    }
}

fn service_for(kind: NoticeKind) -> Option<Service> {
    match kind {
        NoticeKind::AppointmentPostponed => Some(Service::Biometrics),
        NoticeKind::AppointmentUnchanged | NoticeKind::IssuanceDelayed => Some(Service::Epassport),
        NoticeKind::ExpressSuspended => Some(Service::Express),
        NoticeKind::PickupSuspended | NoticeKind::ServiceRestored => Some(Service::Pickup),
        NoticeKind::StatusUpdate => Some(Service::Printing),
        NoticeKind::ReadyForPickup | NoticeKind::Broadcast => None,
    }
}

/// Every text a rendering puts in front of the applicant, joined.
fn visible_text(rendered: &Rendered) -> String {
    match rendered {
        Rendered::Sms(sms) => sms.text.clone(),
        Rendered::Whatsapp(wa) => wa.text.clone(),
        Rendered::Email(email) => format!("{}\n{}\n{}", email.subject, email.text, email.html),
    }
}

/// Whether `kind` on `channel` states the appointment times.
fn shows_appointments(kind: NoticeKind, channel: Channel) -> bool {
    use NoticeKind::*;
    match channel {
        Channel::Sms => matches!(kind, AppointmentPostponed | AppointmentUnchanged | ExpressSuspended),
        _ => matches!(
            kind,
            AppointmentPostponed | AppointmentUnchanged | IssuanceDelayed | ExpressSuspended | StatusUpdate
        ),
    }
}

#[test]
fn every_kind_channel_and_language_states_the_key_facts() {
    let catalogue = Catalogue::builtin();
    for &kind in NoticeKind::ALL {
        let mut context = nunukan_family();
        context.service = service_for(kind);
        for &language in Language::ALL {
            for &channel in Channel::ALL {
                let what = format!("{kind} {channel} {language}");
                let rendered = render(&catalogue, kind, channel, language, &context)
                    .unwrap_or_else(|err| panic!("{what}: {err}"));
                let text = visible_text(&rendered);

                let office = if channel == Channel::Sms {
                    "Kanim Nunukan"
                } else {
                    "Kantor Imigrasi Kelas II TPI Nunukan"
                };
                assert!(text.contains(office), "{what}: no office name in\n{text}");

                // A broadcast is the staff's words; every other notice is about these bookings.
                if kind != NoticeKind::Broadcast || channel == Channel::Email {
                    for code in ["NNK24062501A", "NNK24062502B"] {
                        assert!(text.contains(code), "{what}: no {code} in\n{text}");
                    }
                }
                if shows_appointments(kind, channel) {
                    let expected = match (channel, language) {
                        (Channel::Sms, Language::Id) => ["Sel 25 Jun 09.00 WITA", "Sel 25 Jun 10.30 WITA"],
                        (Channel::Sms, Language::En) => ["Tue 25 Jun 09:00 WITA", "Tue 25 Jun 10:30 WITA"],
                        (_, Language::Id) => {
                            ["Selasa, 25 Juni 2024 pukul 09.00 WITA", "Selasa, 25 Juni 2024 pukul 10.30 WITA"]
                        }
                        (_, Language::En) => {
                            ["Tuesday 25 June 2024 at 09:00 WITA", "Tuesday 25 June 2024 at 10:30 WITA"]
                        }
                    };
                    for date in expected {
                        assert!(text.contains(date), "{what}: no {date:?} in\n{text}");
                    }
                }
                assert!(!text.contains(" WIB"), "{what}: a WIB time for a WITA office\n{text}");

                match &rendered {
                    Rendered::Sms(sms) => {
                        assert_eq!(sms.encoding, Encoding::Gsm7, "{what}\n{}", sms.text);
                        assert!(sms.segments <= SMS_SEGMENT_BUDGET, "{what}: {} segments", sms.segments);
                    }
                    Rendered::Whatsapp(wa) => {
                        assert_eq!(wa.template, format!("kabar_{kind}"));
                        assert_eq!(wa.language, language.as_str());
                        assert!(wa.params.iter().all(|p| !p.is_empty() && !p.contains('\n')));
                        // Each parameter where its placeholder is: {{1}} first, then {{2}}, ...
                        // (the bodies number their placeholders in reading order).
                        let mut from = 0;
                        for (index, param) in wa.params.iter().enumerate() {
                            let at = wa.text[from..].find(param.as_str()).unwrap_or_else(|| {
                                panic!(
                                    "{what}: {{{{{}}}}} = {param:?} not in order in\n{}",
                                    index + 1,
                                    wa.text
                                )
                            });
                            from += at + param.len();
                        }
                        // And the parameters every kind has, at the words that introduce them:
                        // a list swapped against the body's meaning fails here.
                        let (greeting, call, opt_out) = match language {
                            Language::Id => (
                                "Halo Siti Rahmawati,\n",
                                "Informasi: hubungi (0556) 21 000.",
                                "\n_Balas STOP untuk berhenti._",
                            ),
                            Language::En => (
                                "Hello Siti Rahmawati,\n",
                                "call (0556) 21 000.",
                                "\n_Reply STOP to opt out._",
                            ),
                        };
                        assert!(wa.text.starts_with(greeting), "{what}\n{}", wa.text);
                        assert!(wa.text.contains(call), "{what}\n{}", wa.text);
                        assert!(wa.text.ends_with(opt_out), "{what}\n{}", wa.text);
                    }
                    Rendered::Email(email) => {
                        assert!(!email.subject.contains('\n'));
                        assert!(email.html.starts_with("<!DOCTYPE html>"), "{what}");
                        let unsubscribe = email.list_unsubscribe.as_ref().expect("an unsubscribe URL");
                        assert_eq!(unsubscribe.header, "<https://kabar.example.id/u/abc123>");
                    }
                }
            }
        }
    }
}

#[test]
fn an_applicant_with_two_bookings_gets_one_message_listing_both() {
    let catalogue = Catalogue::builtin();
    let mut context = nunukan_family();
    context.service = Some(Service::Biometrics);
    context.bookings[1].rescheduled_to =
        Some(parse_local_datetime("2024-07-02 13:00", context.office.timezone).unwrap());
    let Rendered::Sms(sms) =
        render(&catalogue, NoticeKind::AppointmentPostponed, Channel::Sms, Language::Id, &context).unwrap()
    else {
        panic!("not an SMS");
    };
    assert_eq!(
        sms.text,
        "Kanim Nunukan: layanan foto & wawancara terhenti. Mohon JANGAN datang pada jadwal ini:\n\
         NNK24062501A Sel 25 Jun 09.00 WITA, jadwal baru menyusul via SMS\n\
         NNK24062502B Sel 25 Jun 10.30 WITA, jadwal baru Sel 2 Jul 13.00 WITA\n\
         Info (0556) 21 000"
    );
    let Rendered::Whatsapp(wa) =
        render(&catalogue, NoticeKind::AppointmentPostponed, Channel::Whatsapp, Language::En, &context)
            .unwrap()
    else {
        panic!("not WhatsApp");
    };
    assert_eq!(
        wa.params[4],
        "NNK24062501A for Siti Rahmawati, Tuesday 25 June 2024 at 09:00 WITA; NNK24062502B for \
         Ahmad Fauzan, Tuesday 25 June 2024 at 10:30 WITA (new slot: Tuesday 2 July 2024 at 13:00 WITA)"
    );
}

#[test]
fn the_builtin_catalogue_passes_check() {
    let problems = check(&Catalogue::builtin());
    let listed: Vec<String> = problems.iter().map(Problem::to_string).collect();
    assert!(problems.is_empty(), "{}", listed.join("\n"));
}

#[test]
fn print_every_indonesian_sms_with_its_segments() {
    let catalogue = Catalogue::builtin();
    for &kind in NoticeKind::ALL {
        let shown = preview(&catalogue, kind, Channel::Sms, Language::Id).unwrap();
        let Rendered::Sms(sms) = &shown.rendered else {
            panic!("not an SMS");
        };
        println!(
            "--- {kind}: {} {} segment(s), {} characters\n{}\n",
            sms.encoding, sms.segments, sms.characters, sms.text
        );
        assert!(sms.segments <= SMS_SEGMENT_BUDGET && sms.encoding == Encoding::Gsm7, "{kind}");
    }
}

#[test]
fn email_html_is_escaped_and_text_is_not() {
    let catalogue = Catalogue::builtin();
    let mut context = nunukan_family();
    context.applicant_name = "Budi <b>\"Ayah\"</b> & Ani".to_owned();
    let Rendered::Email(email) =
        render(&catalogue, NoticeKind::ReadyForPickup, Channel::Email, Language::Id, &context).unwrap()
    else {
        panic!("not an email");
    };
    assert!(email.text.contains("Yth. Budi <b>\"Ayah\"</b> & Ani,"), "{}", email.text);
    assert!(
        email.html.contains("Yth. Budi &lt;b&gt;&quot;Ayah&quot;&lt;/b&gt; &amp; Ani,"),
        "{}",
        email.html
    );
    assert!(email.html.contains("Sabtu 29 Juni 08.00-12.00 WITA"));
}

#[test]
fn typographic_punctuation_in_staff_text_stays_gsm() {
    let catalogue = Catalogue::builtin();
    let mut context = nunukan_family();
    context.broadcast = Some(BroadcastText {
        text: Localized::id_only(
            "Pengambilan dibuka \u{201C}Sabtu\u{201D} 08.00\u{2013}12.00\u{00A0}WITA\u{2026}",
        ),
        sender: "Kepala Kantor".to_owned(),
    });
    let Rendered::Sms(sms) =
        render(&catalogue, NoticeKind::Broadcast, Channel::Sms, Language::En, &context).unwrap()
    else {
        panic!("not an SMS");
    };
    assert_eq!(sms.encoding, Encoding::Gsm7);
    assert!(sms.text.contains("\"Sabtu\" 08.00-12.00 WITA..."), "{}", sms.text);
}

#[test]
fn preview_serialises_for_json_and_prints_for_people() {
    let catalogue = Catalogue::builtin();
    let sms = preview(&catalogue, NoticeKind::ReadyForPickup, Channel::Sms, Language::Id).unwrap();
    let json = serde_json::to_value(&sms).unwrap();
    assert_eq!(json["kind"], "ready_for_pickup");
    assert_eq!(json["language"], "id");
    assert_eq!(json["channel"], "sms");
    assert_eq!(json["encoding"], "GSM-7");
    assert!(json["segments"].as_u64().unwrap() <= 2);
    assert!(json["text"].as_str().unwrap().contains("Kanim Soekarno-Hatta"));
    assert!(sms.to_string().contains("GSM-7 ·"), "{sms}");

    let wa = preview(&catalogue, NoticeKind::AppointmentPostponed, Channel::Whatsapp, Language::En).unwrap();
    let json = serde_json::to_value(&wa).unwrap();
    assert_eq!(json["template"], "kabar_appointment_postponed");
    assert_eq!(json["params"].as_array().unwrap().len(), 8);
    assert!(wa.to_string().contains("{{5}} = MP2406SHX7K29QA"), "{wa}");

    let email = preview(&catalogue, NoticeKind::StatusUpdate, Channel::Email, Language::Id).unwrap();
    let json = serde_json::to_value(&email).unwrap();
    assert!(json["subject"].as_str().unwrap().starts_with("Kabar terbaru"));
    assert_eq!(json["list_unsubscribe"]["post"], "List-Unsubscribe=One-Click");
}

#[test]
fn a_catalogue_can_be_shared_between_tasks() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Catalogue>();
}

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
        for &language in Language::ALL {
            let (wrong, right): (&[&str], &[&str]) = match language {
                Language::Id => (
                    &["hari yang sama", "harus cepat"],
                    &["jadwal", "ke tanggal setelah", "percepatan dibuka", "abari"],
                ),
                Language::En => {
                    (&["on the same day", "need it fast"], &["move", "after", "reopens", "tell you"])
                }
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
                for phrase in right {
                    assert!(text.contains(phrase), "{what}: no {phrase:?} in\n{text}");
                }
            }
        }
    }
}

#[test]
fn staff_text_is_put_on_one_line_for_whatsapp() {
    let catalogue = Catalogue::builtin();
    let mut context = nunukan_family();
    context.broadcast = Some(BroadcastText {
        text: Localized::id_only(
            "Pengambilan paspor dibuka Sabtu.\n\nBawa bukti bayar.\tTerima kasih.     Salam.",
        ),
        sender: "Seksi\nLalu Lintas".to_owned(),
    });
    let Rendered::Whatsapp(wa) =
        render(&catalogue, NoticeKind::Broadcast, Channel::Whatsapp, Language::Id, &context).unwrap()
    else {
        panic!("not WhatsApp");
    };
    assert_eq!(wa.params[1], "Seksi Lalu Lintas");
    assert_eq!(wa.params[3], "Pengambilan paspor dibuka Sabtu. Bawa bukti bayar. Terima kasih. Salam.");
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
        sender: "Kepala Kantor".to_owned(),
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
        ("Jadwal Anda dengan layanan percepatan", false),
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

//! Every notice kind renders with the key facts, on every channel and language.

#[allow(unused_imports)]
use crate::support::*;
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
fn every_indonesian_sms_preview_is_gsm_7_within_two_segments() {
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
    let context = with_broadcast(
        "Pengambilan dibuka \u{201C}Sabtu\u{201D} 08.00\u{2013}12.00\u{00A0}WITA\u{2026}",
        "Kepala Kantor",
    );
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
    let segments = json["segments"].as_u64().unwrap();
    let form = if segments == 1 {
        "GSM-7, 1 segment ·".to_owned()
    } else {
        format!("GSM-7, {segments} segments ·")
    };
    assert!(sms.to_string().contains(&form), "{sms}");

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

//! Rendering with arbitrary names, office names, reasons and broadcast texts: never a panic; an
//! SMS is valid GSM-7 or UCS-2 as the renderer says and costs what the standard says; a WhatsApp
//! message is one Meta accepts or a clear refusal; an email's HTML is well-formed, shaped as with
//! sample data, and shows every value as text (escaped, never markup).

use kabar::domain::{Channel, Language};
use kabar::render::{
    self, samples, short_office_name, Catalogue, Localized, NoticeKind, RenderError, Rendered,
};
use proptest::prelude::*;

use crate::sms_model;

/// Text as the import and the command line accept it: anything printable, markup and
/// template syntax included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[\\PC&&[^\u{2028}\u{2029}\u{200E}\u{200F}\u{202A}-\u{202E}\u{2066}-\u{2069}\u{FEFF}]]{1,60}",
        1 => proptest::sample::select(vec![
            "<script>alert(1)</script>", "Budi & Ani \"Santoso\" 'Jr'", "{{applicant_name}} {{{content}}}",
            "</p></div></body>", "&amp; &lt;b&gt;", "Ṣàlḯḥ 🇮🇩 😀", "محمد", "a     b", "  ", "€[]{}|^~\\",
            "<!-- x", "]]>", "javascript:alert(1)",
        ]).prop_map(str::to_owned),
    ]
    .prop_filter("not blank", |text| !text.trim().is_empty())
}

#[derive(Debug, Clone)]
struct Values {
    applicant: String,
    office: String,
    holder: String,
    unit: String,
    reason: String,
    broadcast: String,
    sender: String,
}

fn values() -> impl Strategy<Value = Values> {
    (text(), text(), text(), text(), text(), text(), text()).prop_map(
        |(applicant, office, holder, unit, reason, broadcast, sender)| Values {
            applicant,
            office,
            holder,
            unit,
            reason,
            broadcast,
            sender,
        },
    )
}

static CATALOGUE: std::sync::LazyLock<Catalogue> = std::sync::LazyLock::new(Catalogue::builtin);

fn context(kind: NoticeKind, values: &Values) -> render::NoticeContext {
    let mut context = samples::context(kind);
    context.applicant_name = values.applicant.clone();
    context.office.name = values.office.clone();
    context.office.short_name = short_office_name(&values.office);
    for booking in &mut context.bookings {
        booking.holder_name = values.holder.clone();
        booking.unit_name = values.unit.clone();
    }
    if context.reason.is_some() {
        context.reason = Some(Localized::new(values.reason.clone(), values.reason.clone()));
    }
    if let Some(broadcast) = &mut context.broadcast {
        broadcast.text = Localized::id_only(values.broadcast.clone());
        broadcast.sender = Some(values.sender.clone());
    }
    context
}

/// The element names of a document in order, and how many parse errors it has.
fn shape(html: &str) -> (Vec<String>, usize) {
    let document = scraper::Html::parse_document(html);
    let names = document
        .root_element()
        .descendants()
        .filter_map(|node| node.value().as_element().map(|e| e.name().to_owned()))
        .collect();
    (names, document.errors.len())
}

fn text_of(html: &str) -> String {
    scraper::Html::parse_document(html).root_element().text().collect()
}

proptest! {
    #![proptest_config(crate::cases(32))]

    #[test]
    fn any_names_render_validly(values in values(), kind in proptest::sample::select(NoticeKind::ALL.to_vec()), english in any::<bool>()) {
        let catalogue = &*CATALOGUE;
        let language = if english { Language::En } else { Language::Id };
        let context = context(kind, &values);
        let render = |channel| render::render(catalogue, kind, channel, language, &context);

        let Rendered::Sms(sms) = render(Channel::Sms).unwrap() else { panic!("not an SMS") };
        let (gsm7, units, segments) = sms_model::model(&sms.text);
        prop_assert_eq!(sms.encoding == render::Encoding::Gsm7, gsm7, "{:?}", sms.text);
        prop_assert_eq!((sms.units, sms.segments), (units, segments));

        match render(Channel::Whatsapp) {
            Ok(Rendered::Whatsapp(message)) => {
                for param in &message.params {
                    prop_assert!(!param.trim().is_empty() && !param.contains(['\n', '\r', '\t']) && !param.contains("     "), "{:?}", param);
                }
            }
            Ok(_) => panic!("not a WhatsApp message"),
            // Meta would refuse it (five spaces in a name, say): a visible failure, not a panic.
            Err(RenderError::Unsendable(_)) => {}
            Err(err) => return Err(TestCaseError::fail(format!("WhatsApp: {err}"))),
        }

        let Rendered::Email(email) = render(Channel::Email).unwrap() else { panic!("not an email") };
        prop_assert!(!email.subject.contains(['\n', '\r']));
        let baseline = match render::render(catalogue, kind, Channel::Email, language, &samples::context(kind)).unwrap() {
            Rendered::Email(email) => email,
            _ => unreachable!(),
        };
        let (names, errors) = shape(&email.html);
        let (baseline_names, baseline_errors) = shape(&baseline.html);
        prop_assert_eq!(errors, baseline_errors, "parse errors in\n{}", email.html);
        prop_assert_eq!(names, baseline_names, "the values changed the markup:\n{}", email.html);
        let shown = text_of(&email.html);
        prop_assert!(shown.contains(values.applicant.as_str()), "the name is not shown as text");
        prop_assert!(shown.contains(values.office.as_str()));
    }
}

#[test]
fn sample_emails_are_well_formed_html() {
    let catalogue = Catalogue::builtin();
    for kind in NoticeKind::ALL {
        for language in [Language::Id, Language::En] {
            let Rendered::Email(email) =
                render::render(&catalogue, *kind, Channel::Email, language, &samples::context(*kind))
                    .unwrap()
            else {
                unreachable!()
            };
            let document = scraper::Html::parse_document(&email.html);
            assert!(document.errors.is_empty(), "{kind} {language:?}: {:?}", document.errors);
        }
    }
}

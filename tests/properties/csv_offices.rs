//! The office list parser: official class forms and the TPI column, and no input panics.

use kabar::domain::OfficeClass;
use kabar::import::{parse_offices, OFFICE_COLUMNS};
use kabar::store::OfficeDirectory;
use proptest::prelude::*;

/// A class as written, the class, and what the text says of TPI.
fn class() -> impl Strategy<Value = (String, OfficeClass, Option<bool>)> {
    let forms = vec![
        ("Kelas I TPI", OfficeClass::I, Some(true)),
        ("Kelas I Non TPI", OfficeClass::I, Some(false)),
        ("Kelas I Khusus TPI", OfficeClass::I, Some(true)),
        ("Kelas I Khusus Non TPI", OfficeClass::I, Some(false)),
        ("Kelas II TPI", OfficeClass::II, Some(true)),
        ("Kelas II Non TPI", OfficeClass::II, Some(false)),
        ("Kelas III", OfficeClass::III, None),
        ("I", OfficeClass::I, None),
        ("II", OfficeClass::II, None),
        ("III", OfficeClass::III, None),
        ("2", OfficeClass::II, None),
    ];
    (proptest::sample::select(forms), any::<bool>(), any::<bool>()).prop_map(
        |((text, class, tpi), upper, spaced)| {
            let mut text = if upper { text.to_uppercase() } else { text.to_lowercase() };
            if spaced {
                text = format!("  {}  ", text.replace(' ', "  "));
            }
            (text, class, tpi)
        },
    )
}

proptest! {
    #![proptest_config(crate::cases(128))]

    #[test]
    fn official_classes_and_the_tpi_column_agree_or_are_reported(
        (text, class, says) in class(), cell in proptest::option::of(any::<bool>())
    ) {
        let tpi = match cell { Some(true) => "yes", Some(false) => "no", None => "" };
        let file = format!(
            "code,name,timezone,kind,parent_code,class,region,tpi\n\
             ABC,Kantor Imigrasi Abc,Asia/Jakarta,office,,\"{text}\",Jambi,{tpi}\n"
        );
        let parsed = parse_offices(file.as_bytes(), "offices.csv", &OfficeDirectory::default()).unwrap();
        match (says, cell) {
            (Some(class_tpi), Some(cell_tpi)) if class_tpi != cell_tpi => {
                prop_assert_eq!(parsed.report.errors.len(), 1);
                prop_assert_eq!(parsed.report.errors[0].column.as_deref(), Some("tpi"));
                prop_assert!(parsed.offices.is_empty());
            }
            (None, None) => {
                prop_assert_eq!(parsed.report.errors.len(), 1, "{}", parsed.report);
                prop_assert!(parsed.report.errors[0].message.starts_with("is empty"));
            }
            _ => {
                prop_assert!(parsed.report.is_clean(), "{}", parsed.report);
                prop_assert_eq!(parsed.offices[0].class, class);
                prop_assert_eq!(parsed.offices[0].tpi, cell.or(says).unwrap());
            }
        }
    }

    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), header in any::<bool>()) {
        let mut input = Vec::new();
        if header {
            input.extend_from_slice(OFFICE_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(",").as_bytes());
            input.push(b'\n');
        }
        input.extend_from_slice(&bytes);
        let _ = parse_offices(input.as_slice(), "offices.csv", &OfficeDirectory::default());
    }
}

//! The reference office list and the synthetic booking generator behind `kabar demo seed`.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, Timelike, Weekday};
use kabar::demo::{
    bookings, reference_offices, reference_offices_csv, synthetic_offices, write_bookings_csv, SeedOffice,
    SeedSpec, BOOKINGS_CSV_HEADER,
};
use kabar::domain::{
    parse_date, parse_flag, parse_local_datetime, Booking, Language, Msisdn, OfficeClass, OfficeCode,
    Product, Stage, TimeZone,
};

fn today() -> NaiveDate {
    // The day the national data centre failed: a Thursday.
    NaiveDate::from_ymd_opt(2024, 6, 20).unwrap()
}

fn seed_offices() -> Vec<SeedOffice> {
    let mut offices = reference_offices().expect("the reference list parses");
    offices.extend(synthetic_offices(40, 1));
    SeedOffice::from_list(&offices)
}

fn generate(count: usize, seed: u64) -> Vec<Booking> {
    bookings(&SeedSpec::new(count, seed, today()), &seed_offices()).collect()
}

/// The zone each province keeps its clocks on.
fn province_zone(province: &str) -> &'static str {
    match province {
        "Kalimantan Barat" | "Kalimantan Tengah" => "Asia/Pontianak",
        "Bali"
        | "Nusa Tenggara Barat"
        | "Nusa Tenggara Timur"
        | "Kalimantan Selatan"
        | "Kalimantan Timur"
        | "Kalimantan Utara"
        | "Gorontalo" => "Asia/Makassar",
        p if p.starts_with("Sulawesi") => "Asia/Makassar",
        p if p.starts_with("Maluku") || p.starts_with("Papua") => "Asia/Jayapura",
        "Aceh"
        | "Riau"
        | "Kepulauan Riau"
        | "Jambi"
        | "Bengkulu"
        | "Kepulauan Bangka Belitung"
        | "Lampung"
        | "Banten"
        | "DKI Jakarta"
        | "DI Yogyakarta" => "Asia/Jakarta",
        p if p.starts_with("Sumatera") || p.starts_with("Jawa") => "Asia/Jakarta",
        other => panic!("unknown province {other:?}"),
    }
}

#[test]
fn every_reference_row_parses_with_consistent_codes_zones_and_classes() {
    let mut reader = csv::Reader::from_reader(reference_offices_csv().as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["code", "name", "timezone", "kind", "parent_code", "class", "region", "tpi"]
    );
    let mut offices: HashMap<String, String> = HashMap::new(); // code -> region
    let mut codes = HashSet::new();
    let mut units = 0;
    for (index, record) in reader.records().enumerate() {
        let row = record.unwrap();
        let line = index + 2;
        let code: OfficeCode = row[0].parse().unwrap_or_else(|e| panic!("line {line}: {e}"));
        assert_eq!(code.as_str(), &row[0], "line {line}: code not upper-case");
        assert!(codes.insert(row[0].to_owned()), "line {line}: duplicate");
        let (name, region) = (&row[1], &row[6]);
        match &row[3] {
            "office" => {
                assert!(
                    row[0].len() == 3 && row[0].chars().all(|c| c.is_ascii_uppercase()),
                    "line {line}: office codes are three letters"
                );
                let zone: TimeZone = row[2].parse().unwrap_or_else(|e| panic!("line {line}: {e}"));
                assert_eq!(zone.name(), province_zone(region), "line {line}: {name}");
                let class: OfficeClass = row[5].parse().unwrap();
                assert!(matches!(&row[7], "yes" | "no"), "line {line}");
                let tpi = &row[7] == "yes";
                let roman = format!("Kantor Imigrasi Kelas {} ", class.as_str().to_uppercase());
                assert!(name.starts_with(&roman), "line {line}: {name} vs {roman}");
                assert_eq!(name.contains("Non TPI"), !tpi, "line {line}: {name}");
                assert!(name.contains("TPI"), "line {line}: {name}");
                assert!(row[4].is_empty(), "line {line}: an office has no parent");
                offices.insert(row[0].to_owned(), region.to_owned());
            }
            "unit" => {
                units += 1;
                let parent = &row[4];
                let parent_region = offices
                    .get(parent)
                    .unwrap_or_else(|| panic!("line {line}: parent {parent} not listed before"));
                assert!(row[0].starts_with(&format!("{parent}-")), "line {line}");
                assert_eq!(region, parent_region, "line {line}");
                assert!(name.starts_with("Unit "), "line {line}: {name}");
            }
            other => panic!("line {line}: kind {other:?}"),
        }
    }
    assert!(offices.len() >= 60, "{} offices", offices.len());
    assert!(units >= 15, "{units} units");

    let parsed = reference_offices().unwrap();
    assert_eq!(parsed.len(), offices.len());
    assert_eq!(parsed.iter().map(|(_, u)| u.len()).sum::<usize>(), units);
}

#[test]
fn the_scenario_offices_are_listed_with_the_right_zone_class_and_checkpoint() {
    let offices = reference_offices().unwrap();
    for (code, zone, class, tpi, place) in [
        ("GTO", "Asia/Makassar", OfficeClass::I, true, "Gorontalo"),
        ("PLG", "Asia/Jakarta", OfficeClass::I, true, "Palembang"),
        ("NNK", "Asia/Makassar", OfficeClass::II, true, "Nunukan"),
        ("TNG", "Asia/Jakarta", OfficeClass::I, false, "Tangerang"),
        ("PSB", "Asia/Pontianak", OfficeClass::II, true, "Putussibau"),
        ("CGK", "Asia/Jakarta", OfficeClass::I, true, "Soekarno-Hatta"),
    ] {
        let (office, _) = offices
            .iter()
            .find(|(office, _)| office.code.as_str() == code)
            .unwrap_or_else(|| panic!("{code} missing"));
        assert_eq!(office.timezone.name(), zone, "{code}");
        assert_eq!((office.class, office.tpi), (class, tpi), "{code}");
        assert!(office.name.ends_with(place), "{}", office.name);
    }
    let tangerang = &offices.iter().find(|(o, _)| o.code.as_str() == "TNG").unwrap().1;
    assert!(tangerang.len() >= 2, "Tangerang's mall and MPP counters");
}

#[test]
fn synthetic_offices_are_deterministic_and_never_collide_with_reference_codes() {
    let reference: HashSet<String> = reference_offices()
        .unwrap()
        .iter()
        .flat_map(|(o, units)| {
            std::iter::once(o.code.to_string()).chain(units.iter().map(|u| u.code.to_string()))
        })
        .collect();
    let synthetic = synthetic_offices(200, 9);
    assert_eq!(synthetic, synthetic_offices(200, 9));
    assert_ne!(synthetic, synthetic_offices(200, 10));
    assert_eq!(synthetic.len(), 200);
    let mut codes = HashSet::new();
    let mut zones: HashMap<&str, usize> = HashMap::new();
    for (office, units) in &synthetic {
        assert!(!reference.contains(office.code.as_str()), "{}", office.code);
        assert!(codes.insert(office.code.clone()), "{}", office.code);
        assert_eq!(office.timezone.name(), province_zone(&office.region));
        *zones.entry(office.timezone.name()).or_default() += 1;
        for unit in units {
            assert_eq!(unit.office, office.code);
            assert!(codes.insert(unit.code.clone()), "{}", unit.code);
        }
    }
    assert!(
        zones["Asia/Jakarta"] > zones["Asia/Makassar"]
            && zones["Asia/Makassar"] > zones["Asia/Jayapura"]
            && zones["Asia/Pontianak"] > 0,
        "{zones:?}"
    );
    assert_eq!(synthetic[0].0.code.as_str(), "S001");
}

#[test]
fn generation_is_deterministic_for_a_seed_and_differs_between_seeds() {
    let first = generate(1_000, 42);
    assert_eq!(first.len(), 1_000);
    let longer: Vec<Booking> =
        bookings(&SeedSpec::new(5_000, 42, today()), &seed_offices()).take(1_000).collect();
    assert_eq!(first, longer);
    let other = generate(1_000, 43);
    let same = first.iter().zip(&other).filter(|(a, b)| a == b).count();
    assert_eq!(same, 0);
    assert!(first.iter().zip(&other).all(|(a, b)| a.code != b.code));
}

#[test]
fn the_iterator_reports_its_length_and_needs_offices() {
    let spec = SeedSpec::new(10, 1, today());
    assert_eq!(bookings(&spec, &seed_offices()).len(), 10);
    assert_eq!(bookings(&spec, &[]).count(), 0);
}

#[test]
fn every_generated_number_is_a_valid_mobile_number_across_operators() {
    let mut prefixes = HashSet::new();
    for booking in generate(20_000, 3) {
        let mobile = &booking.applicant.mobile;
        let reparsed: Msisdn = mobile.e164().parse().unwrap_or_else(|e| panic!("{}: {e}", mobile.e164()));
        assert_eq!(&reparsed, mobile);
        if let Some(whatsapp) = &booking.applicant.whatsapp {
            assert_eq!(&whatsapp.e164().parse::<Msisdn>().unwrap(), whatsapp);
        }
        prefixes.insert(mobile.e164()[3..6].to_owned());
    }
    // Telkomsel, Indosat, XL, Axis, Tri, Smartfren.
    for prefix in ["812", "856", "817", "838", "896", "881"] {
        assert!(prefixes.contains(prefix), "no {prefix} number");
    }
    assert!(prefixes.len() >= 35, "{} prefixes", prefixes.len());
}

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole as f64
}

fn assert_near(what: &str, actual: f64, expected: f64, tolerance: f64) {
    assert!((actual - expected).abs() <= tolerance, "{what}: {actual:.4}, expected {expected} ± {tolerance}");
}

#[test]
fn shares_match_the_offices_figures() {
    let all = generate(50_000, 5);
    let n = all.len();
    let count = |f: &dyn Fn(&Booking) -> bool| all.iter().filter(|b| f(b)).count();
    assert_near("e-passport", share(count(&|b| b.product == Product::Epassport), n), 0.55, 0.015);
    assert_near("express", share(count(&|b| b.express), n), 0.08, 0.01);
    assert_near("booked", share(count(&|b| b.stage == Stage::Booked), n), 0.62, 0.02);
    for stage in Stage::ALL {
        assert!(count(&|b| b.stage == *stage) > 0, "no {stage}");
    }

    let mut applicants: HashMap<&str, Vec<&Booking>> = HashMap::new();
    for booking in &all {
        applicants.entry(booking.applicant.mobile.e164()).or_default().push(booking);
    }
    let people = applicants.len();
    let per_applicant =
        |f: &dyn Fn(&Booking) -> bool| share(applicants.values().filter(|b| f(b[0])).count(), people);
    assert_near("without email", per_applicant(&|b| b.applicant.email.is_none()), 0.20, 0.015);
    assert_near("English", per_applicant(&|b| b.applicant.language == Some(Language::En)), 0.03, 0.007);
    assert_near("separate WhatsApp", per_applicant(&|b| b.applicant.whatsapp.is_some()), 0.05, 0.008);
    let pairs = applicants.values().filter(|b| b.len() == 2).count();
    assert_near("two bookings", share(pairs, people), 0.10, 0.015);
    assert!(applicants.values().all(|b| b.len() <= 2));
    let at_units = count(&|b| b.unit.is_some());
    assert!(at_units > n / 50, "{at_units} bookings at units");
}

#[test]
fn appointments_fall_in_office_hours_in_the_office_zone() {
    let offices = seed_offices();
    let zones: HashMap<&OfficeCode, &SeedOffice> = offices.iter().map(|o| (&o.code, o)).collect();
    let horizon = today() + Duration::days(21);
    for booking in generate(20_000, 6) {
        let office = zones[&booking.office];
        if let Some(unit) = &booking.unit {
            assert!(office.units.contains(unit), "{unit} is not {}'s", office.code);
        }
        let local = booking.appointment_at.with_timezone(&office.timezone.0);
        let day = local.date_naive();
        assert!(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun));
        let minutes = local.hour() * 60 + local.minute();
        assert!((8 * 60..15 * 60).contains(&minutes), "{local}");
        assert!(local.hour() != 12 && minutes % 15 == 0, "{local}");
        match booking.stage {
            Stage::Booked => assert!(day >= today() && day < horizon, "{local}"),
            Stage::Cancelled => {}
            _ => assert!(day < today(), "{} on {local}", booking.stage),
        }
        let applied = !matches!(booking.stage, Stage::Booked | Stage::Cancelled | Stage::NoShow);
        assert_eq!(booking.applied_on, applied.then_some(day), "{}", booking.code);
    }
}

#[test]
fn two_bookings_on_one_phone_are_a_family_at_one_office() {
    let offices = seed_offices();
    let zones: HashMap<&OfficeCode, &SeedOffice> = offices.iter().map(|o| (&o.code, o)).collect();
    let all = generate(5_000, 8);
    let pairs: Vec<(&Booking, &Booking)> = all
        .windows(2)
        .map(|w| (&w[0], &w[1]))
        .filter(|(a, b)| a.applicant.mobile == b.applicant.mobile)
        .collect();
    assert!(pairs.len() > 300, "{} pairs", pairs.len());
    for (a, b) in pairs {
        assert_eq!(a.office, b.office);
        assert_eq!(a.applicant, b.applicant);
        assert_ne!(a.holder_name, b.holder_name);
        assert_eq!(a.holder_name, a.applicant.name);
        // Adjacent slots on the same day, perhaps either side of the lunch break.
        let apart = (a.appointment_at - b.appointment_at).num_minutes().abs();
        assert!((15..=90).contains(&apart), "{apart} minutes apart");
        let zone = zones[&a.office].timezone.0;
        assert_eq!(
            a.appointment_at.with_timezone(&zone).date_naive(),
            b.appointment_at.with_timezone(&zone).date_naive()
        );
    }
}

#[test]
fn booking_codes_are_unique() {
    let offices = seed_offices();
    let mut codes = HashSet::new();
    for booking in bookings(&SeedSpec::new(200_000, 11, today()), &offices) {
        assert!(codes.insert(booking.code.clone()), "{}", booking.code);
    }
    assert_eq!(codes.len(), 200_000);
}

#[test]
fn the_csv_export_round_trips_with_the_exact_header() {
    let offices = seed_offices();
    let generated = generate(3_000, 12);
    let mut out = Vec::new();
    let written = write_bookings_csv(generated.clone(), &offices, &mut out).unwrap();
    assert_eq!(written, 3_000);

    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header = reader.headers().unwrap().clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>().join(","),
        "booking_code,office_code,unit_code,name,phone,email,whatsapp,language,\
         appointment_at,product,express,stage,applied_at"
    );
    assert_eq!(header.iter().collect::<Vec<_>>(), BOOKINGS_CSV_HEADER);
    let zones: HashMap<&str, TimeZone> = offices.iter().map(|o| (o.code.as_str(), o.timezone)).collect();
    let mut spellings = HashSet::new();
    let mut rows = 0;
    for (record, booking) in reader.records().zip(&generated) {
        let row = record.unwrap();
        rows += 1;
        assert_eq!(&row[0], booking.code.as_str());
        assert_eq!(&row[1], booking.office.as_str());
        assert_eq!(&row[2], booking.unit.as_ref().map_or("", |u| u.as_str()));
        assert_eq!(&row[3], booking.holder_name);
        assert_eq!(&row[4].parse::<Msisdn>().unwrap(), &booking.applicant.mobile);
        spellings.insert(row[4].chars().take(4).collect::<String>());
        let email = booking.applicant.email.as_ref();
        assert_eq!(&row[5], email.map_or("", |e| e.as_str()));
        let whatsapp = (!row[6].is_empty()).then(|| row[6].parse::<Msisdn>().unwrap());
        assert_eq!(whatsapp, booking.applicant.whatsapp);
        assert_eq!(&row[7], booking.applicant.language.map_or("", |l| l.as_str()));
        let zone = zones[booking.office.as_str()];
        assert_eq!(row[8].len(), "2024-06-24 09:00".len(), "{}", &row[8]);
        assert_eq!(parse_local_datetime(&row[8], zone).unwrap(), booking.appointment_at);
        assert_eq!(row[9].parse::<Product>().unwrap(), booking.product);
        assert_eq!(parse_flag(&row[10]).unwrap(), booking.express);
        assert_eq!(row[11].parse::<Stage>().unwrap(), booking.stage);
        let applied = (!row[12].is_empty()).then(|| parse_date(&row[12]).unwrap());
        assert_eq!(applied, booking.applied_on);
    }
    assert_eq!(rows, 3_000);
    // Local (0812-…), international (+62 8…, +628…) and bare country code (628…).
    for start in ["08", "+62 ", "+628", "628"] {
        assert!(
            spellings.iter().any(|s| s.starts_with(start)),
            "no phone written as {start}…: {spellings:?}"
        );
    }
}

#[test]
fn the_csv_export_refuses_a_booking_of_an_unknown_office() {
    let generated = generate(10, 13);
    let err = write_bookings_csv(generated, &[], Vec::new()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not in the office list"), "{err}");
}

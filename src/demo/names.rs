//! Indonesian names and the email addresses people make from them.
//!
//! The lists mix the country's naming traditions: Javanese and Sundanese second names, Muslim
//! and Christian given names, Batak, Minang, Minahasa, Moluccan, Papuan, Timorese, Arab- and
//! Chinese-Indonesian family names, and Balinese birth-order names. They are drawn at random, so a
//! Batak family name may follow a Javanese given name; realistic enough for a demo and a benchmark.

use rand::Rng;

const MALE: &[&str] = &[
    "Agus",
    "Ahmad",
    "Andi",
    "Arif",
    "Bambang",
    "Budi",
    "Dedi",
    "Dimas",
    "Eko",
    "Fajar",
    "Fauzan",
    "Hendra",
    "Hadi",
    "Ilham",
    "Imam",
    "Joko",
    "Muhammad",
    "Rizky",
    "Rudi",
    "Slamet",
    "Sugeng",
    "Taufik",
    "Teguh",
    "Wahyu",
    "Yusuf",
    "Yohanes",
    "Stefanus",
    "Fransiskus",
    "Daniel",
    "Samuel",
    "Gregorius",
    "Reza",
    "Irfan",
    "Hasan",
    "Ridwan",
    "Syahrul",
    "Zulkifli",
    "Bayu",
    "Gilang",
    "Hendrik",
    "Yosef",
    "Aditya",
    "Rahmat",
    "Sutrisno",
    "Hamid",
    "Umar",
    "Dodi",
    "Asep",
    "Ujang",
    "Kevin",
];

const FEMALE: &[&str] = &[
    "Ayu",
    "Dewi",
    "Fitri",
    "Indah",
    "Intan",
    "Kartika",
    "Lestari",
    "Maria",
    "Nur",
    "Putri",
    "Ratna",
    "Rina",
    "Sari",
    "Siti",
    "Sri",
    "Wulan",
    "Yuni",
    "Anisa",
    "Aisyah",
    "Nabila",
    "Citra",
    "Dian",
    "Eka",
    "Fatimah",
    "Hana",
    "Lia",
    "Mega",
    "Novita",
    "Puspita",
    "Ratih",
    "Tiara",
    "Wati",
    "Yanti",
    "Agustina",
    "Theresia",
    "Veronika",
    "Margaretha",
    "Grace",
    "Natalia",
    "Melati",
    "Nurul",
    "Zahra",
    "Khadijah",
    "Salsabila",
    "Cut",
    "Rosmawati",
    "Elisabeth",
    "Lina",
    "Susanti",
    "Nining",
];

const FAMILY: &[&str] = &[
    "Saputra",
    "Pratama",
    "Wibowo",
    "Santoso",
    "Prasetyo",
    "Nugroho",
    "Setiawan",
    "Hidayat",
    "Kurniawan",
    "Susanto",
    "Hartono",
    "Gunawan",
    "Purnomo",
    "Utomo",
    "Wijaya",
    "Halim",
    "Tanoto",
    "Kusuma",
    "Tanuwidjaja",
    "Salim",
    "Siregar",
    "Nasution",
    "Lubis",
    "Harahap",
    "Simanjuntak",
    "Hutapea",
    "Sitompul",
    "Panjaitan",
    "Sinaga",
    "Simatupang",
    "Manurung",
    "Pardede",
    "Sembiring",
    "Ginting",
    "Tarigan",
    "Damanik",
    "Wowor",
    "Lumentut",
    "Sondakh",
    "Rondonuwu",
    "Mandagi",
    "Tumbelaka",
    "Pangemanan",
    "Latuconsina",
    "Tuhumury",
    "Pattinama",
    "Sahetapy",
    "Pelupessy",
    "Alatas",
    "Assegaf",
    "Shihab",
    "Baswedan",
    "Alkaff",
    "Matondang",
    "Rangkuti",
    "Tanjung",
    "Chaniago",
    "Koto",
    "Piliang",
    "Sikumbang",
    "Daulay",
    "Pohan",
    "Batubara",
    "Nainggolan",
    "Situmorang",
    "Sihombing",
    "Hasibuan",
    "Mokodompit",
    "Paputungan",
    "Lasut",
    "Rumagit",
    "Rumbiak",
    "Wanggai",
    "Kaisiepo",
    "Mandacan",
    "Manafe",
    "Amalo",
    "Bria",
    "Maulana",
    "Ramadhan",
    "Firmansyah",
    "Kusnadi",
    "Sutisna",
    "Permana",
    "Sudrajat",
    "Suryadi",
    "Syahputra",
    "Rahman",
    "Hakim",
    "Iskandar",
    "Sulaiman",
    "Effendi",
    "Anwar",
    "Syamsuddin",
    "Hamzah",
    "Sitorus",
    "Marpaung",
    "Napitupulu",
    "Pasaribu",
    "Tambunan",
];

/// Balinese names start with the child's place in the birth order.
const BALINESE_ORDER: &[&str] = &["Wayan", "Putu", "Gede", "Made", "Kadek", "Nyoman", "Komang", "Ketut"];

/// Domains reserved for examples (RFC 2606): demo addresses can never reach a real inbox.
const MAIL_DOMAINS: &[(&str, u32)] = &[("example.com", 60), ("example.net", 25), ("example.org", 15)];

/// A full name. `family` is kept so a child booked by a parent can carry it on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameParts {
    pub given: &'static str,
    pub family: Option<&'static str>,
}

/// Appends a random full name to `out` and returns its parts.
pub(crate) fn person(rng: &mut impl Rng, out: &mut String) -> NameParts {
    let female = rng.gen_bool(0.5);
    let given_list = if female { FEMALE } else { MALE };
    let given = pick(rng, given_list);
    match rng.gen_range(0..100u32) {
        // A single name, still common among older Javanese.
        0..=4 => {
            out.push_str(given);
            NameParts { given, family: None }
        }
        // Balinese: I/Ni, birth-order name, given name.
        5..=9 => {
            out.push_str(if female { "Ni " } else { "I " });
            out.push_str(pick(rng, BALINESE_ORDER));
            out.push(' ');
            out.push_str(given);
            NameParts { given, family: None }
        }
        // Three parts: two given names and a family or second name.
        10..=29 => {
            out.push_str(given);
            out.push(' ');
            out.push_str(pick(rng, given_list));
            let family = pick(rng, FAMILY);
            out.push(' ');
            out.push_str(family);
            NameParts { given, family: Some(family) }
        }
        _ => {
            let family = pick(rng, FAMILY);
            out.push_str(given);
            out.push(' ');
            out.push_str(family);
            NameParts { given, family: Some(family) }
        }
    }
}

/// Appends the name of a relative booked on the same phone: a new given name and, where the
/// family has one, the same family name.
pub(crate) fn relative(rng: &mut impl Rng, of: NameParts, out: &mut String) {
    let given_list = if rng.gen_bool(0.5) { FEMALE } else { MALE };
    let mut given = pick(rng, given_list);
    if given == of.given {
        given = pick(rng, given_list);
    }
    out.push_str(given);
    out.push(' ');
    out.push_str(of.family.unwrap_or_else(|| pick(rng, FAMILY)));
}

/// Appends an email address made the way people make them, on a reserved domain:
/// `budi.santoso87@example.com`, `siti_hartono@example.net`. ASCII only, valid by construction.
pub(crate) fn email(rng: &mut impl Rng, name: NameParts, out: &mut String) {
    push_lower(out, name.given);
    let family = name.family.unwrap_or_else(|| pick(rng, FAMILY));
    match rng.gen_range(0..4u32) {
        0 => {
            out.push('.');
            push_lower(out, family);
        }
        1 => {
            out.push('_');
            push_lower(out, family);
        }
        2 => push_lower(out, family),
        _ => {}
    }
    match rng.gen_range(0..3u32) {
        0 => push_number(out, rng.gen_range(1..100)),
        1 => push_number(out, rng.gen_range(1965..2010)),
        _ => {}
    }
    out.push('@');
    out.push_str(weighted(rng, MAIL_DOMAINS));
}

fn pick<T: Copy>(rng: &mut impl Rng, list: &[T]) -> T {
    list[rng.gen_range(0..list.len())]
}

/// Picks from a small `(value, weight)` table.
pub(crate) fn weighted<T: Copy>(rng: &mut impl Rng, table: &[(T, u32)]) -> T {
    let total: u32 = table.iter().map(|(_, weight)| weight).sum();
    let mut ticket = rng.gen_range(0..total);
    for &(value, weight) in table {
        if ticket < weight {
            return value;
        }
        ticket -= weight;
    }
    unreachable!("the ticket is below the total weight")
}

fn push_lower(out: &mut String, word: &str) {
    out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
}

fn push_number(out: &mut String, number: u32) {
    use std::fmt::Write as _;
    let _ = write!(out, "{number}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn lists_are_ascii_single_words_without_duplicates() {
        for list in [MALE, FEMALE, FAMILY, BALINESE_ORDER] {
            let mut seen = std::collections::HashSet::new();
            for word in list {
                assert!(word.chars().all(|c| c.is_ascii_alphabetic()), "{word}");
                assert!(seen.insert(*word), "duplicate {word}");
            }
        }
        assert!(MALE.len() + FEMALE.len() >= 100 && FAMILY.len() >= 100);
    }

    #[test]
    fn emails_parse_and_relatives_share_the_family_name() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..2_000 {
            let mut name = String::new();
            let parts = person(&mut rng, &mut name);
            let mut address = String::new();
            email(&mut rng, parts, &mut address);
            address.parse::<crate::domain::Email>().unwrap_or_else(|e| panic!("{address}: {e}"));
            let mut child = String::new();
            relative(&mut rng, parts, &mut child);
            if let Some(family) = parts.family {
                assert!(child.ends_with(family), "{child} / {name}");
            }
        }
    }
}

//! The reference list of Kantor Imigrasi shipped in `data/offices.csv`, and synthetic offices for
//! benchmarks that need more of them.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::{Contact, Office, OfficeClass, OfficeCode, ParseError, TimeZone, Unit};
use crate::import::parse_offices;
use crate::store::OfficeDirectory;

/// The reference office list, `code,name,timezone,kind,parent_code,class,region,tpi`, in the format
/// `kabar import offices` reads.
pub fn reference_offices_csv() -> &'static str {
    include_str!("../../data/offices.csv")
}
/// The reference offices as domain values, each with its units, in code order. The embedded file
/// goes through the importer's own parser, so it is held to the rules a user's file is.
pub fn reference_offices() -> Result<Vec<(Office, Vec<Unit>)>, ParseError> {
    let label = "data/offices.csv";
    let parsed = parse_offices(reference_offices_csv().as_bytes(), label, &OfficeDirectory::default())
        .map_err(|err| ParseError(err.to_string()))?;
    if !parsed.report.is_clean() {
        return Err(ParseError(format!("{label}: {}", parsed.report)));
    }
    let mut units = parsed.units;
    Ok(parsed
        .offices
        .into_iter()
        .map(|office| {
            let (own, rest): (Vec<Unit>, Vec<Unit>) =
                units.drain(..).partition(|unit| unit.office == office.code);
            units = rest;
            (office, own)
        })
        .collect())
}

/// Towns without an office in the reference list, with their province and zone. The mix follows
/// where Indonesians live: mostly WIB (Sumatra, Java), then WITA, then WIT.
const TOWNS: &[(&str, &str, &str)] = &[
    ("Bireuen", "Aceh", JKT),
    ("Sigli", "Aceh", JKT),
    ("Tapaktuan", "Aceh", JKT),
    ("Kabanjahe", "Sumatera Utara", JKT),
    ("Rantau Prapat", "Sumatera Utara", JKT),
    ("Padang Sidempuan", "Sumatera Utara", JKT),
    ("Tebing Tinggi", "Sumatera Utara", JKT),
    ("Kisaran", "Sumatera Utara", JKT),
    ("Balige", "Sumatera Utara", JKT),
    ("Gunungsitoli", "Sumatera Utara", JKT),
    ("Bukittinggi", "Sumatera Barat", JKT),
    ("Payakumbuh", "Sumatera Barat", JKT),
    ("Solok", "Sumatera Barat", JKT),
    ("Bangkinang", "Riau", JKT),
    ("Rengat", "Riau", JKT),
    ("Muara Bungo", "Jambi", JKT),
    ("Kuala Tungkal", "Jambi", JKT),
    ("Lubuklinggau", "Sumatera Selatan", JKT),
    ("Prabumulih", "Sumatera Selatan", JKT),
    ("Lahat", "Sumatera Selatan", JKT),
    ("Baturaja", "Sumatera Selatan", JKT),
    ("Muara Enim", "Sumatera Selatan", JKT),
    ("Curup", "Bengkulu", JKT),
    ("Muntok", "Kepulauan Bangka Belitung", JKT),
    ("Metro", "Lampung", JKT),
    ("Kalianda", "Lampung", JKT),
    ("Pringsewu", "Lampung", JKT),
    ("Serang", "Banten", JKT),
    ("Pandeglang", "Banten", JKT),
    ("Rangkasbitung", "Banten", JKT),
    ("Cianjur", "Jawa Barat", JKT),
    ("Garut", "Jawa Barat", JKT),
    ("Sumedang", "Jawa Barat", JKT),
    ("Kuningan", "Jawa Barat", JKT),
    ("Indramayu", "Jawa Barat", JKT),
    ("Subang", "Jawa Barat", JKT),
    ("Purwakarta", "Jawa Barat", JKT),
    ("Majalengka", "Jawa Barat", JKT),
    ("Banjar", "Jawa Barat", JKT),
    ("Purwokerto", "Jawa Tengah", JKT),
    ("Tegal", "Jawa Tengah", JKT),
    ("Kudus", "Jawa Tengah", JKT),
    ("Magelang", "Jawa Tengah", JKT),
    ("Klaten", "Jawa Tengah", JKT),
    ("Kebumen", "Jawa Tengah", JKT),
    ("Jepara", "Jawa Tengah", JKT),
    ("Rembang", "Jawa Tengah", JKT),
    ("Boyolali", "Jawa Tengah", JKT),
    ("Salatiga", "Jawa Tengah", JKT),
    ("Pekalongan", "Jawa Tengah", JKT),
    ("Brebes", "Jawa Tengah", JKT),
    ("Wonosari", "DI Yogyakarta", JKT),
    ("Wates", "DI Yogyakarta", JKT),
    ("Banyuwangi", "Jawa Timur", JKT),
    ("Probolinggo", "Jawa Timur", JKT),
    ("Pasuruan", "Jawa Timur", JKT),
    ("Mojokerto", "Jawa Timur", JKT),
    ("Tuban", "Jawa Timur", JKT),
    ("Lamongan", "Jawa Timur", JKT),
    ("Bojonegoro", "Jawa Timur", JKT),
    ("Sidoarjo", "Jawa Timur", JKT),
    ("Gresik", "Jawa Timur", JKT),
    ("Lumajang", "Jawa Timur", JKT),
    ("Sumenep", "Jawa Timur", JKT),
    ("Situbondo", "Jawa Timur", JKT),
    ("Tulungagung", "Jawa Timur", JKT),
    ("Ngawi", "Jawa Timur", JKT),
    ("Sanggau", "Kalimantan Barat", PNK),
    ("Sintang", "Kalimantan Barat", PNK),
    ("Mempawah", "Kalimantan Barat", PNK),
    ("Nanga Pinoh", "Kalimantan Barat", PNK),
    ("Kuala Kapuas", "Kalimantan Tengah", PNK),
    ("Pangkalan Bun", "Kalimantan Tengah", PNK),
    ("Muara Teweh", "Kalimantan Tengah", PNK),
    ("Gianyar", "Bali", MKS),
    ("Tabanan", "Bali", MKS),
    ("Negara", "Bali", MKS),
    ("Amlapura", "Bali", MKS),
    ("Bima", "Nusa Tenggara Barat", MKS),
    ("Dompu", "Nusa Tenggara Barat", MKS),
    ("Selong", "Nusa Tenggara Barat", MKS),
    ("Praya", "Nusa Tenggara Barat", MKS),
    ("Ende", "Nusa Tenggara Timur", MKS),
    ("Ruteng", "Nusa Tenggara Timur", MKS),
    ("Waingapu", "Nusa Tenggara Timur", MKS),
    ("Larantuka", "Nusa Tenggara Timur", MKS),
    ("Kalabahi", "Nusa Tenggara Timur", MKS),
    ("Soe", "Nusa Tenggara Timur", MKS),
    ("Martapura", "Kalimantan Selatan", MKS),
    ("Barabai", "Kalimantan Selatan", MKS),
    ("Batulicin", "Kalimantan Selatan", MKS),
    ("Bontang", "Kalimantan Timur", MKS),
    ("Tenggarong", "Kalimantan Timur", MKS),
    ("Sangatta", "Kalimantan Timur", MKS),
    ("Tanjung Selor", "Kalimantan Utara", MKS),
    ("Malinau", "Kalimantan Utara", MKS),
    ("Tomohon", "Sulawesi Utara", MKS),
    ("Kotamobagu", "Sulawesi Utara", MKS),
    ("Tondano", "Sulawesi Utara", MKS),
    ("Limboto", "Gorontalo", MKS),
    ("Marisa", "Gorontalo", MKS),
    ("Luwuk", "Sulawesi Tengah", MKS),
    ("Poso", "Sulawesi Tengah", MKS),
    ("Tolitoli", "Sulawesi Tengah", MKS),
    ("Watampone", "Sulawesi Selatan", MKS),
    ("Bulukumba", "Sulawesi Selatan", MKS),
    ("Sengkang", "Sulawesi Selatan", MKS),
    ("Pinrang", "Sulawesi Selatan", MKS),
    ("Maros", "Sulawesi Selatan", MKS),
    ("Sinjai", "Sulawesi Selatan", MKS),
    ("Mamuju", "Sulawesi Barat", MKS),
    ("Majene", "Sulawesi Barat", MKS),
    ("Kolaka", "Sulawesi Tenggara", MKS),
    ("Raha", "Sulawesi Tenggara", MKS),
    ("Masohi", "Maluku", JAP),
    ("Saumlaki", "Maluku", JAP),
    ("Namlea", "Maluku", JAP),
    ("Dobo", "Maluku", JAP),
    ("Tobelo", "Maluku Utara", JAP),
    ("Sofifi", "Maluku Utara", JAP),
    ("Labuha", "Maluku Utara", JAP),
    ("Sentani", "Papua", JAP),
    ("Serui", "Papua", JAP),
    ("Nabire", "Papua Tengah", JAP),
    ("Wamena", "Papua Pegunungan", JAP),
    ("Fakfak", "Papua Barat", JAP),
    ("Kaimana", "Papua Barat", JAP),
    ("Bintuni", "Papua Barat", JAP),
    ("Waisai", "Papua Barat Daya", JAP),
    ("Agats", "Papua Selatan", JAP),
];

const JKT: &str = "Asia/Jakarta";
const PNK: &str = "Asia/Pontianak";
const MKS: &str = "Asia/Makassar";
const JAP: &str = "Asia/Jayapura";

/// `count` made-up offices named after real towns that have none, deterministic for `seed`.
///
/// Codes are `S001`, `S002`, … (four characters or more), so they never collide with the
/// three-letter reference codes. About a quarter have a unit in a public service mall (`S001-MPP`)
/// and some a passport unit (`S001-ULP`). Past the list of towns, names repeat with a number.
pub fn synthetic_offices(count: usize, seed: u64) -> Vec<(Office, Vec<Unit>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0FF1_CE00);
    let mut towns: Vec<&(&str, &str, &str)> = TOWNS.iter().collect();
    towns.shuffle(&mut rng);
    let width = count.to_string().len().max(3);
    (0..count)
        .map(|index| {
            let (town, province, zone) = *towns[index % towns.len()];
            let round = index / towns.len();
            let place = if round == 0 { town.to_owned() } else { format!("{town} {}", round + 1) };
            let class = match rng.gen_range(0..100u32) {
                0..=19 => OfficeClass::I,
                20..=84 => OfficeClass::II,
                _ => OfficeClass::III,
            };
            let tpi = match class {
                OfficeClass::I => rng.gen_bool(0.7),
                OfficeClass::II => rng.gen_bool(0.5),
                OfficeClass::III => false,
            };
            let code = format!("S{:0width$}", index + 1);
            let office = Office {
                code: parse_code(&code),
                name: format!("Kantor Imigrasi {} {place}", class.title(tpi)),
                timezone: TimeZone(zone.parse().expect("the town table holds IANA names")),
                class,
                tpi,
                region: province.to_owned(),
                contact: Contact::default(),
            };
            let mut units = Vec::new();
            if rng.gen_ratio(25, 100) {
                units.push(Unit {
                    code: parse_code(&format!("{code}-MPP")),
                    office: office.code.clone(),
                    name: format!("Unit Layanan Paspor Mal Pelayanan Publik {place}"),
                });
            }
            if rng.gen_ratio(10, 100) {
                units.push(Unit {
                    code: parse_code(&format!("{code}-ULP")),
                    office: office.code.clone(),
                    name: format!("Unit Layanan Paspor {place}"),
                });
            }
            (office, units)
        })
        .collect()
}

fn parse_code(code: &str) -> OfficeCode {
    code.parse().expect("synthetic codes are letters, digits and dashes")
}

//! Lazily generated M-Paspor bookings: constant memory, deterministic for a seed.

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::calendar::{local_to_utc, past_weekdays, slots_per_day, upcoming_weekdays};
use super::{names, phones};
use crate::domain::{
    Applicant, Booking, BookingCode, Email, Language, Msisdn, Office, OfficeClass, OfficeCode, Product,
    Stage, TimeZone, Unit,
};

/// Booking codes are unique up to this many bookings per seed.
pub const MAX_BOOKINGS: usize = 100_000_000;

/// Every demo booking code starts with this.
pub const DEMO_CODE_PREFIX: &str = "DEMO";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSpec {
    pub bookings: usize,
    pub seed: u64,
    /// Open bookings have appointments from this day on; applications further along had theirs
    /// on the weekdays before it.
    pub today: NaiveDate,
    /// How many calendar days ahead open bookings reach (M-Paspor opens slots about three weeks
    /// ahead).
    pub horizon_days: u32,
    /// Per mille of the bookings drawn as finished history from the half year before (picked
    /// up, and some no-shows and cancellations), as a long M-Paspor export holds them. 0 (the
    /// default) gives only the live weeks around `today`.
    pub history_per_mille: u32,
}

impl SeedSpec {
    pub fn new(bookings: usize, seed: u64, today: NaiveDate) -> Self {
        Self { bookings, seed, today, horizon_days: 21, history_per_mille: 0 }
    }
}

/// What the generator needs to know about an office.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedOffice {
    pub code: OfficeCode,
    pub timezone: TimeZone,
    pub units: Vec<OfficeCode>,
    /// Relative share of the bookings (at least 1); big offices take more.
    pub weight: u32,
}

impl SeedOffice {
    /// Weighs an office by its class: Kelas I offices serve far more applicants than Kelas III.
    pub fn new(office: &Office, units: &[Unit]) -> Self {
        Self {
            code: office.code.clone(),
            timezone: office.timezone,
            units: units.iter().map(|unit| unit.code.clone()).collect(),
            weight: match office.class {
                OfficeClass::I => 6,
                OfficeClass::II => 3,
                OfficeClass::III => 1,
            },
        }
    }

    pub fn from_list(offices: &[(Office, Vec<Unit>)]) -> Vec<Self> {
        offices.iter().map(|(office, units)| Self::new(office, units)).collect()
    }
}

/// Bookings for `spec`, spread over `offices` by weight. With no offices it yields nothing.
///
/// The stream depends only on the seed, `today` and the offices: a longer run starts with the
/// bookings of a shorter one.
///
/// # Panics
/// When `spec.bookings` exceeds [`MAX_BOOKINGS`].
pub fn bookings(spec: &SeedSpec, offices: &[SeedOffice]) -> Bookings {
    assert!(spec.bookings <= MAX_BOOKINGS, "at most {MAX_BOOKINGS} bookings per seed");
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut total = 0u64;
    let offices: Vec<Prepared> = offices
        .iter()
        .enumerate()
        .map(|(index, office)| {
            total += u64::from(office.weight.max(1));
            Prepared {
                office: office.clone(),
                until: total,
                slot_minutes: if index % 3 == 0 { 30 } else { 15 },
            }
        })
        .collect();
    let remaining = if offices.is_empty() { 0 } else { spec.bookings };
    Bookings {
        code_tag: rng.gen_range(0..10_000),
        code_offset: rng.gen_range(0..CODE_SPACE),
        phone_offset: rng.gen_range(0..u64::from(phones::CORES)),
        upcoming: upcoming_weekdays(spec.today, spec.horizon_days),
        past: past_weekdays(spec.today, if spec.history_per_mille > 0 { 180 } else { 45 }),
        history_per_mille: spec.history_per_mille,
        rng,
        total_weight: total,
        offices,
        remaining,
        booking_number: 0,
        applicant_number: 0,
        pending: None,
    }
}

/// The iterator [`bookings`] returns.
pub struct Bookings {
    rng: ChaCha8Rng,
    offices: Vec<Prepared>,
    total_weight: u64,
    upcoming: Vec<NaiveDate>,
    /// Weekdays before today, most recent first.
    past: Vec<NaiveDate>,
    history_per_mille: u32,
    remaining: usize,
    booking_number: u64,
    applicant_number: u64,
    code_tag: u32,
    code_offset: u64,
    phone_offset: u64,
    /// The second booking of an applicant who booked for two people.
    pending: Option<Booking>,
}

struct Prepared {
    office: SeedOffice,
    /// Cumulative weight up to and including this office.
    until: u64,
    slot_minutes: u32,
}

const CODE_SPACE: u64 = 100_000_000;
// Multipliers coprime with 10^8 make `n * m + c mod 10^8` a bijection: unique, random-looking.
const CODE_MULTIPLIER: u64 = 61_803_399;
const PHONE_MULTIPLIER: u64 = 27_182_817;

/// Stage shares in per mille: most bookings are still ahead of their appointment.
const STAGES: &[(Stage, u32)] = &[
    (Stage::Booked, 620),
    (Stage::Attended, 50),
    (Stage::Paid, 50),
    (Stage::Printing, 90),
    (Stage::Printed, 40),
    (Stage::Ready, 60),
    (Stage::PickedUp, 40),
    (Stage::Cancelled, 20),
    (Stage::NoShow, 30),
];

/// Stage shares of finished history, in per mille.
const HISTORY: &[(Stage, u32)] = &[(Stage::PickedUp, 900), (Stage::NoShow, 60), (Stage::Cancelled, 40)];

impl Iterator for Bookings {
    type Item = Booking;

    fn next(&mut self) -> Option<Booking> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        if let Some(second) = self.pending.take() {
            return Some(second);
        }
        Some(self.applicant())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Bookings {}

impl Bookings {
    /// Draws one applicant and their booking; one in ten also booked for a relative, whose booking
    /// is kept for the next call.
    fn applicant(&mut self) -> Booking {
        let rng = &mut self.rng;
        let ticket = rng.gen_range(0..self.total_weight);
        let office_index = self.offices.partition_point(|office| office.until <= ticket);
        let prepared = &self.offices[office_index];
        let office = &prepared.office;

        let history = self.history_per_mille > 0 && rng.gen_range(0..1000) < self.history_per_mille;
        let stage = if history { names::weighted(rng, HISTORY) } else { names::weighted(rng, STAGES) };
        let day = match stage {
            _ if history => pick(rng, &self.past[30..]),
            Stage::Booked => pick(rng, &self.upcoming),
            Stage::Attended => pick(rng, &self.past[..2]),
            Stage::Paid => pick(rng, &self.past[..5]),
            Stage::Printing => pick(rng, &self.past[1..10]),
            Stage::Printed => pick(rng, &self.past[2..12]),
            Stage::Ready => pick(rng, &self.past[3..20]),
            Stage::PickedUp => pick(rng, &self.past[5..30]),
            Stage::NoShow => pick(rng, &self.past[..15]),
            Stage::Cancelled if rng.gen_bool(0.5) => pick(rng, &self.upcoming),
            Stage::Cancelled => pick(rng, &self.past[..10]),
        };
        let slots = slots_per_day(prepared.slot_minutes);
        let slot = rng.gen_range(0..slots);
        let product = if rng.gen_ratio(55, 100) { Product::Epassport } else { Product::Regular };
        let express = rng.gen_ratio(8, 100);
        let unit = match office.units.len() {
            0 => None,
            n if rng.gen_ratio(40, 100) => Some(office.units[rng.gen_range(0..n)].clone()),
            _ => None,
        };

        let mut name = String::with_capacity(40);
        let parts = names::person(rng, &mut name);
        let mut mobile = String::with_capacity(16);
        let core = (self.applicant_number * PHONE_MULTIPLIER + self.phone_offset) % u64::from(phones::CORES);
        phones::mobile(rng, core as u32, &mut mobile);
        let email = rng.gen_ratio(80, 100).then(|| {
            let mut address = String::with_capacity(40);
            names::email(rng, parts, &mut address);
            address.parse::<Email>().expect("generated addresses are valid by construction")
        });
        let whatsapp = rng.gen_ratio(5, 100).then(|| {
            let mut number = String::with_capacity(16);
            let core = rng.gen_range(0..phones::CORES);
            phones::mobile(rng, core, &mut number);
            Msisdn::from_trusted(number)
        });
        let language = match rng.gen_range(0..100u32) {
            0..=2 => Some(Language::En),
            3..=69 => Some(Language::Id),
            _ => None,
        };
        let two_bookings = rng.gen_ratio(10, 100);
        let second_product = if rng.gen_ratio(80, 100) { product } else { flip(product) };
        let mut relative = String::new();
        if two_bookings {
            names::relative(rng, parts, &mut relative);
        }
        self.applicant_number += 1;

        let applicant =
            Applicant { name: name.clone(), mobile: Msisdn::from_trusted(mobile), email, whatsapp, language };
        let applied_on = match stage {
            Stage::Attended
            | Stage::Paid
            | Stage::Printing
            | Stage::Printed
            | Stage::Ready
            | Stage::PickedUp => Some(day),
            Stage::Booked | Stage::Cancelled | Stage::NoShow => None,
        };
        let zone = office.timezone;
        let slot_minutes = prepared.slot_minutes;
        let office_code = office.code.clone();
        let first = Booking {
            code: self.next_code(),
            office: office_code.clone(),
            unit: unit.clone(),
            holder_name: name,
            applicant: applicant.clone(),
            appointment_at: local_to_utc(zone, day, slot, slot_minutes),
            product,
            express,
            stage,
            applied_on,
        };
        if two_bookings {
            // Families book adjacent slots on the same day.
            let next_slot = if slot + 1 < slots { slot + 1 } else { slot - 1 };
            self.pending = Some(Booking {
                code: self.next_code(),
                office: office_code,
                unit,
                holder_name: relative,
                applicant,
                appointment_at: local_to_utc(zone, day, next_slot, slot_minutes),
                product: second_product,
                express,
                stage,
                applied_on,
            });
        }
        first
    }

    /// `DEMO` + four digits fixed by the seed + eight digits unique per booking: demo bookings
    /// are recognisable wherever they end up.
    fn next_code(&mut self) -> BookingCode {
        let number = (self.booking_number * CODE_MULTIPLIER + self.code_offset) % CODE_SPACE;
        self.booking_number += 1;
        let mut code = String::with_capacity(16);
        code.push_str(DEMO_CODE_PREFIX);
        phones::push_digits(&mut code, self.code_tag, 4);
        phones::push_digits(&mut code, number as u32, 8);
        code.parse().expect("DEMO and twelve digits is a booking code")
    }
}

fn flip(product: Product) -> Product {
    match product {
        Product::Regular => Product::Epassport,
        Product::Epassport => Product::Regular,
    }
}

fn pick(rng: &mut impl Rng, days: &[NaiveDate]) -> NaiveDate {
    days[rng.gen_range(0..days.len())]
}

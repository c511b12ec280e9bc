//! Reference and synthetic data: the real Kantor Imigrasi list, made-up offices for benchmarks, and
//! realistic, deterministic M-Paspor bookings (for `kabar demo seed`, demos and load tests).
//!
//! Everything random comes from a ChaCha8 stream seeded by the caller, so a seed names one data
//! set on every machine. Generated values are valid by construction (the tests prove it), so the
//! generator never runs the parsers in its hot path, except for email addresses.

mod bookings;
mod calendar;
mod export;
mod load;
mod names;
mod offices;
mod phones;
mod replay;

pub use bookings::{bookings, Bookings, SeedOffice, SeedSpec, DEMO_CODE_PREFIX, MAX_BOOKINGS};
pub use export::{write_bookings_csv, BOOKINGS_CSV_HEADER};
pub use load::{load_offices, real_bookings, seed_bookings, SeedReport};
pub use offices::{reference_offices, reference_offices_csv, synthetic_offices};
pub use replay::{june_2024, replay, ReplayError, ReplayStep, ReplaySummary};

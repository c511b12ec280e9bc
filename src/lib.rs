//! kabar: tells M-Paspor applicants, by WhatsApp, SMS or email, when a service of their
//! immigration office changes state, and staff broadcasts to a filtered audience.
//!
//! The modules follow the data: [`import`] brings offices and bookings in, [`state`] records
//! service state changes, the store ([`store`]) keeps everything on SQLite or PostgreSQL.
#![forbid(unsafe_code)]

pub mod domain;
pub mod render;

//! kabar: tells M-Paspor applicants, by WhatsApp, SMS or email, when a service of their
//! immigration office changes state, and staff broadcasts to a filtered audience.
//!
//! The modules follow the data: [`import`] brings offices and bookings in, [`state`] records
//! service state changes, [`plan`] decides who hears what, [`render`] turns a notice into the text of each channel, and the store
//! ([`store`]) keeps everything on SQLite or PostgreSQL. [`demo`] makes realistic test data.
//! [`http`] is the one HTTP server of `kabar serve` (receipts, health, readiness, metrics), and
//! [`observe`] its logs and metrics. [`staff`] holds the accounts, roles and tokens of the staff API.
//! [`status`] is the public view (status pages, feeds) built from state changes alone.
#![forbid(unsafe_code)]

pub mod audit;
pub mod cli;
pub mod config;
pub mod deliver;
pub mod demo;
pub mod detect;
pub mod domain;
pub mod http;
pub mod import;
pub mod observe;
pub mod plan;
pub mod privacy;
pub mod receipts;
pub mod render;
pub mod report;
pub mod staff;
pub mod state;
pub mod status;
pub mod store;

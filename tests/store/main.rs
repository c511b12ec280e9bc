//! The store test suite: every test runs on SQLite and on PostgreSQL.

mod fixtures;
mod harness;

mod audience_index;
mod audit;
mod bookings;
mod broadcast_approval;
mod broadcasts;
mod changes;
mod concurrency;
mod console;
mod demo;
mod detect;
mod import_files;
mod import_initial;
mod import_rows;
mod offices;
mod plan;
mod privacy;
mod receipts;
mod reports;
mod scenario;
mod staff;
mod states;
mod subscriptions;

//! The outbox worker end to end: planned messages claimed from the store (SQLite and PostgreSQL),
//! sent over real HTTP to the fake providers and over TCP to a real SMTP server, and every outcome
//! read back from the database.

#[path = "../fakes/mod.rs"]
mod fakes;
// The store tests' fixtures hold more than these tests use.
#[allow(dead_code)]
#[path = "../store/fixtures.rs"]
mod fixtures;
#[path = "../store/harness.rs"]
mod harness;
// Only part of the test SMTP server is needed here.
#[allow(dead_code)]
#[path = "../fakes/smtp.rs"]
mod smtp_server;

mod support;

mod backpressure;
mod channels;
mod detection;
mod failover;
mod leases;
mod process;
mod registry;
mod retries;
mod shutdown;

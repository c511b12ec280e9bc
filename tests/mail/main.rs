//! Email through a real SMTP server, the demo log file, and choosing between SMS providers.

#[path = "../fakes/smtp.rs"]
mod smtp_server;

mod failover;
mod log_file;
mod smtp;
mod smtp_failures;
mod support;

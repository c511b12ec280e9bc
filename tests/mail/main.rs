//! Email through a real SMTP server (plain, STARTTLS and implicit TLS), the demo log file, and
//! choosing between SMS providers.

#[path = "../fakes/smtp.rs"]
mod smtp_server;

mod failover;
mod log_file;
mod smtp;
mod smtp_failures;
mod smtp_tls;
mod support;

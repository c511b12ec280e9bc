//! kabar's one HTTP server end to end: real HTTP on 127.0.0.1 port 0, a fresh database of each
//! engine per test, requests signed as each provider signs them.

mod api_support;
#[path = "../store/harness.rs"]
mod harness;
#[path = "../common/log_capture.rs"]
mod log_capture;
mod support;

mod api;
mod console;
mod console_admin;
mod console_support;
mod incidents;
mod matrix;
mod schema;
// Broadcasts and the booking sync (issue 13 part B).
mod bookings;
mod broadcasts;

mod console_broadcasts;
mod health;
mod logs;
mod metrics;
mod replies;
mod status;
mod subscriptions;
// The console's incident pages and call list (issue 14, page 4).
mod console_incident;
mod console_matrix;

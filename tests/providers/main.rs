//! The HTTP providers against fake Twilio, Infobip and WhatsApp Cloud API servers over real HTTP:
//! what each sends, and how each classifies what comes back.

#[path = "../fakes/mod.rs"]
mod fakes;
#[path = "../common/log_capture.rs"]
mod log_capture;

mod infobip;
mod provider;
mod rate;
mod support;
mod twilio;
mod whatsapp;

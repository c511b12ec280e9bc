//! The receipts server end to end: real HTTP on 127.0.0.1, a real SQLite store, requests signed
//! as each provider signs them. (The store suite covers the same queries on PostgreSQL.)

mod support;

mod infobip;
mod twilio;
mod unsubscribe;
mod whatsapp;

//! Email through a real SMTP server, the demo log file, and choosing between SMS providers.

mod failover;

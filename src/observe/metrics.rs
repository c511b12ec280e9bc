//! Prometheus metrics. Every metric is named `kabar_…`; the names are constants here so the code
//! that records a metric and the dashboard (`docs/grafana-kabar.json`) cannot drift apart.
//!
//! Two kinds:
//! - **Recorded as things happen**, through the `metrics` facade into the process's recorder
//!   ([`install`]): sends, their latency, rate-limiter waits (recorded by the worker and the rate
//!   limiter), receipts and replies (the receipts handlers), the SMS breakers (the failover
//!   router). Without [`install`] these calls cost nothing and record nothing.
//! - **Computed at scrape time** from the store ([`render_store`]): the queue and the planner.
//!   They describe one database at one instant, so each scrape renders them afresh into a
//!   recorder of its own instead of the process's: two servers (or two tests) in one process never
//!   overwrite each other's values, and a label pair that empties shows 0, not a stale value.

use std::sync::OnceLock;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::deliver::providers::failover::Breaker;
use crate::store::{QueueGauges, ReceiptReport};

/// Counter `{provider, channel, outcome}`: each try handed to a provider (`accepted`,
/// `transient`, `permanent`, `technical`). Recorded by the worker.
pub const SENDS_TOTAL: &str = "kabar_sends_total";
/// Histogram `{provider}`: how long a provider took to answer a send, in seconds. Recorded by the
/// worker.
pub const SEND_DURATION_SECONDS: &str = "kabar_send_duration_seconds";
/// Histogram `{provider}`: how long a send waited for the provider account's rate limit, in
/// seconds. Recorded by the rate limiter.
pub const RATE_LIMITER_WAIT_SECONDS: &str = "kabar_rate_limiter_wait_seconds";
/// Counter `{provider, result}`: receipts by what they did (`applied`, `stale`, `unknown`).
pub const RECEIPTS_TOTAL: &str = "kabar_receipts_total";
/// Counter `{provider, reason}`: webhook requests refused (`unauthorized`, `malformed`,
/// `store_error`).
pub const WEBHOOKS_REFUSED_TOTAL: &str = "kabar_webhooks_refused_total";
/// Counter `{provider, channel, action}`: inbound replies (`opt_out`, `no_match`, `replayed`,
/// `ignored` for a reply that is not an opt-out keyword).
pub const INBOUND_REPLIES_TOTAL: &str = "kabar_inbound_replies_total";
/// Gauge `{provider}`: the SMS failover router's circuit breaker: 0 closed, 1 half-open (on
/// trial), 2 open (out of rotation).
pub const SMS_BREAKER_STATE: &str = "kabar_sms_breaker_state";
/// Gauge `{status, channel}`: queued and sending messages.
pub const QUEUE_MESSAGES: &str = "kabar_queue_messages";
/// Gauge: queued messages due now.
pub const QUEUE_DUE_MESSAGES: &str = "kabar_queue_due_messages";
/// Gauge: seconds the longest-due queued message has been due.
pub const QUEUE_OLDEST_DUE_SECONDS: &str = "kabar_queue_oldest_due_seconds";
/// Gauge: claims whose lease ran out (their worker stopped mid-send).
pub const QUEUE_EXPIRED_LEASES: &str = "kabar_queue_expired_leases";
/// Gauge: seconds the oldest settled state change or due broadcast has waited to be planned.
pub const PLANNER_LAG_SECONDS: &str = "kabar_planner_lag_seconds";
/// Gauge: 1 when the scrape could read the store, else 0 (and no queue gauges).
pub const STORE_UP: &str = "kabar_store_up";
/// Gauge: 1 while automatic detection believes an upstream system is down, by system.
pub const DETECT_SYSTEM_DOWN: &str = "kabar_detect_system_down";

/// Every metric kabar exposes.
pub const ALL: &[&str] = &[
    SENDS_TOTAL,
    SEND_DURATION_SECONDS,
    RATE_LIMITER_WAIT_SECONDS,
    RECEIPTS_TOTAL,
    WEBHOOKS_REFUSED_TOTAL,
    INBOUND_REPLIES_TOTAL,
    SMS_BREAKER_STATE,
    QUEUE_MESSAGES,
    QUEUE_DUE_MESSAGES,
    QUEUE_OLDEST_DUE_SECONDS,
    QUEUE_EXPIRED_LEASES,
    PLANNER_LAG_SECONDS,
    STORE_UP,
    DETECT_SYSTEM_DOWN,
];

/// Buckets of [`SEND_DURATION_SECONDS`]: a provider's API answers in tens of milliseconds when
/// healthy and kabar gives up on it after its time-out (10 s by default).
pub const SEND_DURATION_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Buckets of [`RATE_LIMITER_WAIT_SECONDS`]: from no wait at all to a long `Retry-After`.
pub const RATE_LIMITER_WAIT_BUCKETS: &[f64] =
    &[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The exporter's settings: histograms with the buckets above instead of summaries.
fn builder() -> PrometheusBuilder {
    let buckets = [
        (SEND_DURATION_SECONDS, SEND_DURATION_BUCKETS),
        (RATE_LIMITER_WAIT_SECONDS, RATE_LIMITER_WAIT_BUCKETS),
    ];
    buckets.into_iter().fold(PrometheusBuilder::new(), |builder, (name, buckets)| {
        builder
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
            .expect("the bucket lists are not empty")
    })
}

/// Installs the process's Prometheus recorder, once; later calls return the same handle. If
/// another `metrics` recorder was installed first (an embedding program's), kabar's metrics go to
/// that one and this handle renders nothing of them.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = builder().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed: /metrics shows only the store gauges");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(SENDS_TOTAL, "Tries handed to a provider, by outcome");
    describe_histogram!(SEND_DURATION_SECONDS, Unit::Seconds, "How long a provider took to answer a send");
    describe_histogram!(
        RATE_LIMITER_WAIT_SECONDS,
        Unit::Seconds,
        "How long a send waited for the provider account's rate limit"
    );
    describe_counter!(RECEIPTS_TOTAL, "Delivery receipts by what they did to a message");
    describe_counter!(WEBHOOKS_REFUSED_TOTAL, "Webhook requests refused");
    describe_counter!(INBOUND_REPLIES_TOTAL, "Replies from applicants, by what kabar did");
    describe_gauge!(SMS_BREAKER_STATE, "SMS provider circuit breaker: 0 closed, 1 half-open, 2 open");
    describe_gauge!(DETECT_SYSTEM_DOWN, "1 while automatic detection believes the upstream system is down");
}

/// Counts what a batch of receipts did.
pub fn receipts(provider: &'static str, report: &ReceiptReport) {
    for (result, count) in [("applied", report.applied), ("stale", report.stale), ("unknown", report.unknown)]
    {
        if count > 0 {
            counter!(RECEIPTS_TOTAL, "provider" => provider, "result" => result).increment(count);
        }
    }
}

/// Counts a refused webhook request.
pub fn webhook_refused(provider: &'static str, reason: &'static str) {
    counter!(WEBHOOKS_REFUSED_TOTAL, "provider" => provider, "reason" => reason).increment(1);
}

/// Counts an inbound reply.
pub fn inbound_reply(provider: &'static str, channel: &'static str, action: &'static str) {
    counter!(INBOUND_REPLIES_TOTAL, "provider" => provider, "channel" => channel, "action" => action)
        .increment(1);
}

/// Sets a probed system's gauge: 1 while kabar believes it is down.
pub fn detect_system(system: &str, health: crate::detect::Health) {
    let down = if health == crate::detect::Health::Down { 1.0 } else { 0.0 };
    gauge!(DETECT_SYSTEM_DOWN, "system" => system.to_owned()).set(down);
}

/// Sets a provider's breaker gauge.
pub fn sms_breaker(provider: &str, breaker: Breaker) {
    let value = match breaker {
        Breaker::Closed => 0.0,
        Breaker::HalfOpen => 1.0,
        Breaker::Open => 2.0,
    };
    gauge!(SMS_BREAKER_STATE, "provider" => provider.to_owned()).set(value);
}

/// The scrape-time gauges in Prometheus text; `None` (the store could not be read) renders only
/// `kabar_store_up 0`.
pub fn render_store(gauges: Option<&QueueGauges>) -> String {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        describe_gauge!(STORE_UP, "1 when this scrape could read the database");
        gauge!(STORE_UP).set(if gauges.is_some() { 1.0 } else { 0.0 });
        let Some(gauges) = gauges else { return };
        describe_gauge!(QUEUE_MESSAGES, "Messages waiting to leave, by status and channel");
        for (status, channel, count) in &gauges.messages {
            gauge!(QUEUE_MESSAGES, "status" => status.as_str(), "channel" => channel.as_str())
                .set(*count as f64);
        }
        describe_gauge!(QUEUE_DUE_MESSAGES, "Queued messages due now");
        gauge!(QUEUE_DUE_MESSAGES).set(gauges.due as f64);
        describe_gauge!(
            QUEUE_OLDEST_DUE_SECONDS,
            Unit::Seconds,
            "How long the longest-due queued message has been due"
        );
        gauge!(QUEUE_OLDEST_DUE_SECONDS).set(gauges.oldest_due_seconds as f64);
        describe_gauge!(QUEUE_EXPIRED_LEASES, "Claims whose lease ran out: their worker stopped mid-send");
        gauge!(QUEUE_EXPIRED_LEASES).set(gauges.expired_leases as f64);
        describe_gauge!(
            PLANNER_LAG_SECONDS,
            Unit::Seconds,
            "How long the oldest settled state change or due broadcast has waited to be planned"
        );
        gauge!(PLANNER_LAG_SECONDS).set(gauges.planner_lag_seconds as f64);
    });
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;
    use crate::store::MessageStatus;

    #[test]
    fn store_gauges_render_as_prometheus_text() {
        let gauges = QueueGauges {
            messages: vec![
                (MessageStatus::Queued, Channel::Sms, 3),
                (MessageStatus::Sending, Channel::Email, 0),
            ],
            due: 2,
            oldest_due_seconds: 75,
            expired_leases: 0,
            planner_lag_seconds: 4,
        };
        let text = render_store(Some(&gauges));
        for line in [
            "kabar_store_up 1",
            "kabar_queue_messages{status=\"queued\",channel=\"sms\"} 3",
            "kabar_queue_messages{status=\"sending\",channel=\"email\"} 0",
            "kabar_queue_due_messages 2",
            "kabar_queue_oldest_due_seconds 75",
            "kabar_planner_lag_seconds 4",
            "# TYPE kabar_queue_messages gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} missing from\n{text}");
        }
        let down = render_store(None);
        assert!(text
            .lines()
            .all(|line| !line.contains("kabar_") || ALL.iter().any(|name| line.contains(name))));
        assert!(down.lines().any(|l| l == "kabar_store_up 0"), "{down}");
        assert!(!down.contains("kabar_queue"), "{down}");
    }

    #[test]
    fn the_dashboard_shows_every_metric_and_no_other() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/grafana-kabar.json")).expect("valid JSON");
        let mut used = std::collections::BTreeSet::new();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = target["expr"].as_str().unwrap();
                for (start, _) in expr.match_indices("kabar_") {
                    let name: String = expr[start..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let base = ["_bucket", "_count", "_sum"]
                        .iter()
                        .fold(name.as_str(), |n, s| n.strip_suffix(s).unwrap_or(n));
                    assert!(ALL.contains(&base), "the dashboard uses {name}, which kabar does not expose");
                    used.insert(base.to_owned());
                }
            }
        }
        for name in ALL {
            assert!(used.contains(*name), "the dashboard does not show {name}");
        }
    }
}

//! Infobip SMS delivery reports, and the shared secret that protects them.
//!
//! Infobip documents no signature for its delivery-report webhook, and the `notifyUrl` it calls
//! cannot carry custom headers, so the endpoint is protected by a long random secret as the last
//! segment of the URL kabar gives Infobip: `POST {public_base_url}/infobip/reports/<secret>`.
//! Anything else gets 401. (The secret then appears in Infobip's request logs and any proxy's
//! access log: keep the proxy from logging paths of `/infobip/`, and rotate it by changing both.)

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{Receipt, ReceiptStatus, WebhookError};
use crate::observe::Untrusted;

pub const PROVIDER: &str = "infobip";

/// Whether `given` is the configured secret, compared in constant time.
pub fn secret_matches(secret: &SecretString, given: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(secret.expose_secret().as_bytes()))
}

#[derive(Deserialize)]
struct Reports {
    results: Vec<Report>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    message_id: String,
    status: Status,
    #[serde(default)]
    error: Option<ReportError>,
    #[serde(default)]
    done_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    group_id: i64,
    #[serde(default)]
    group_name: Option<String>,
    #[serde(default)]
    id: Option<i64>,
}

#[derive(Deserialize)]
struct ReportError {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    permanent: bool,
}

/// Status id 2 of the DELIVERED group, `DELIVERED_TO_OPERATOR`: the operator has it, the handset
/// has not confirmed (id 5, `DELIVERED_TO_HANDSET`, is final).
const DELIVERED_TO_OPERATOR: i64 = 2;

/// Parses a bucket of delivery reports. Branches on `status.groupId` (names are informational):
/// 1 PENDING is not news; 3 DELIVERED is delivered (sent, while only the operator has it);
/// 2 UNDELIVERABLE, 4 EXPIRED and 5 REJECTED are failures, permanent when `error.permanent` says
/// a retry can never succeed. Reports are dated by `doneAt`, else `now`.
pub fn parse_reports(body: &[u8], now: DateTime<Utc>) -> Result<Vec<Receipt>, WebhookError> {
    let reports: Reports =
        serde_json::from_slice(body).map_err(|err| WebhookError::malformed(format!("JSON: {err}")))?;
    let mut receipts = Vec::with_capacity(reports.results.len());
    for report in reports.results {
        let status = match report.status.group_id {
            1 => continue,
            3 if report.status.id == Some(DELIVERED_TO_OPERATOR) => ReceiptStatus::Sent,
            3 => ReceiptStatus::Delivered,
            2 | 4 | 5 => {
                // Infobip's own words end up in reports and log lines: escaped.
                let group = Untrusted(report.status.group_name.as_deref().unwrap_or("UNDELIVERED"));
                let error = report.error.as_ref();
                let name = error.and_then(|error| error.name.as_deref()).map(Untrusted);
                ReceiptStatus::Failed {
                    permanent: error.is_some_and(|error| error.permanent),
                    code: error.and_then(|error| error.id).map(|id| id.to_string()),
                    reason: match name {
                        Some(name) => format!("Infobip: {group} ({name})"),
                        None => format!("Infobip: {group}"),
                    },
                }
            }
            other => return Err(WebhookError::malformed(format!("unknown status groupId {other}"))),
        };
        let at = match &report.done_at {
            Some(text) => DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
                .map_err(|_| WebhookError::malformed(format!("doneAt {text:?} is not a timestamp")))?
                .with_timezone(&Utc),
            None => now,
        };
        receipts.push(Receipt { provider: PROVIDER, provider_message_id: report.message_id, status, at });
    }
    Ok(receipts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_report_and_each_status_group() {
        let body = br#"{"results":[
          {"bulkId":"b","messageId":"m-delivered","to":"41793026727","sentAt":"2019-11-09T16:00:00.000+0000",
           "doneAt":"2019-11-09T16:00:00.000+0000","smsCount":1,"price":{"pricePerMessage":0.01,"currency":"EUR"},
           "status":{"groupId":3,"groupName":"DELIVERED","id":5,"name":"DELIVERED_TO_HANDSET","description":"Message delivered to handset"},
           "error":{"groupId":0,"groupName":"Ok","id":0,"name":"NO_ERROR","description":"No Error","permanent":false}},
          {"messageId":"m-pending","status":{"groupId":1,"groupName":"PENDING","id":26}},
          {"messageId":"m-operator","status":{"groupId":3,"id":2,"name":"DELIVERED_TO_OPERATOR"}},
          {"messageId":"m-absent","status":{"groupId":2,"groupName":"UNDELIVERABLE","id":9},
           "error":{"groupId":1,"id":27,"name":"EC_ABSENT_SUBSCRIBER","permanent":false}},
          {"messageId":"m-rejected","status":{"groupId":5,"groupName":"REJECTED","id":6},
           "error":{"groupId":2,"id":1,"name":"EC_UNKNOWN_SUBSCRIBER","permanent":true}}]}"#;
        let now = Utc::now();
        let receipts = parse_reports(body, now).unwrap();
        let summary: Vec<_> =
            receipts.iter().map(|r| (r.provider_message_id.as_str(), r.status.clone())).collect();
        assert_eq!(summary[0], ("m-delivered", ReceiptStatus::Delivered));
        assert_eq!(receipts[0].at.to_rfc3339(), "2019-11-09T16:00:00+00:00");
        assert_eq!(summary[1], ("m-operator", ReceiptStatus::Sent));
        assert_eq!(receipts[1].at, now, "no doneAt");
        assert_eq!(
            summary[2].1,
            ReceiptStatus::Failed {
                permanent: false,
                code: Some("27".into()),
                reason: "Infobip: UNDELIVERABLE (EC_ABSENT_SUBSCRIBER)".into()
            }
        );
        assert!(matches!(summary[3].1, ReceiptStatus::Failed { permanent: true, .. }));
        assert_eq!(receipts.len(), 4, "PENDING is not news");
    }

    #[test]
    fn malformed_reports_are_refused() {
        for body in [
            &b"[]"[..],
            br#"{"results":[{"status":{"groupId":3}}]}"#,
            br#"{"results":[{"messageId":"m","status":{"groupId":9}}]}"#,
            br#"{"results":[{"messageId":"m","status":{"groupId":3},"doneAt":"yesterday"}]}"#,
        ] {
            assert!(parse_reports(body, Utc::now()).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn the_secret_must_match_exactly() {
        let secret = SecretString::from("s3cret-s3cret");
        assert!(secret_matches(&secret, "s3cret-s3cret"));
        assert!(!secret_matches(&secret, "s3cret-s3cre"));
        assert!(!secret_matches(&secret, ""));
    }
}

//! The three webhook parsers: documented payloads built from generated values read back as the
//! receipts they describe, whatever else they carry; any body is refused or read, never a panic.

use chrono::{DateTime, Utc};
use kabar::receipts::{infobip, twilio, whatsapp, ReceiptStatus};
use proptest::prelude::*;
use serde_json::json;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_719_000_000, 0).unwrap()
}

/// Parameters Twilio adds that kabar does not read.
fn extra_params() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(("(Api|Account|To|From|SmsStatus)?[A-Z][a-z]{1,8}", "\\PC{0,12}"), 0..5)
        .prop_map(|pairs| {
            pairs
                .into_iter()
                .filter(|(name, _)| {
                    !name.starts_with("Message") && !name.starts_with("Sms") && name != "ErrorCode"
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(crate::cases(128))]

    #[test]
    fn twilio_status_callbacks_read_back(
        sid in "SM[0-9a-f]{32}",
        status in proptest::sample::select(vec!["queued", "sent", "delivered", "read", "undelivered", "failed"]),
        code in proptest::option::of(proptest::sample::select(vec!["30003", "30008", "21610", "21211"])),
        extra in extra_params(),
        shuffle in any::<bool>(),
    ) {
        let mut params: Vec<(String, String)> = vec![("MessageSid".into(), sid.clone()), ("MessageStatus".into(), status.into())];
        if let Some(code) = code {
            params.push(("ErrorCode".into(), code.into()));
        }
        params.extend(extra);
        if shuffle {
            params.reverse();
        }
        let body = serde_urlencoded::to_string(&params).unwrap();
        let decoded = twilio::parse_form(body.as_bytes()).unwrap();
        prop_assert_eq!(&decoded, &params);
        let receipt = twilio::parse_status(&decoded, now()).unwrap();
        match status {
            "queued" => prop_assert!(receipt.is_none()),
            "sent" | "delivered" | "read" => {
                let receipt = receipt.unwrap();
                prop_assert_eq!(&receipt.provider_message_id, &sid);
                let failed = matches!(receipt.status, ReceiptStatus::Failed { .. });
                prop_assert!(!failed);
            }
            _ => {
                let receipt = receipt.unwrap();
                let permanent_code = matches!(code, Some("30003" | "21610" | "21211"));
                let as_expected = matches!(&receipt.status, ReceiptStatus::Failed { permanent, .. } if *permanent == permanent_code);
                prop_assert!(as_expected, "{:?}", receipt.status);
            }
        }
    }

    #[test]
    fn twilio_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), text in "\\PC{0,40}") {
        if let Ok(params) = twilio::parse_form(&body) {
            let _ = twilio::parse_status(&params, now());
            let _ = twilio::parse_inbound(&params);
        }
        let params = vec![("From".to_owned(), text.clone()), ("Body".to_owned(), text.clone()), ("MessageSid".to_owned(), text.clone()), ("MessageStatus".to_owned(), text)];
        let _ = twilio::parse_status(&params, now());
        let _ = twilio::parse_inbound(&params);
    }

    #[test]
    fn whatsapp_webhooks_read_back(
        statuses in proptest::collection::vec(("wamid\\.[A-Za-z0-9=]{8,30}", proptest::sample::select(vec!["sent", "delivered", "read", "failed", "played"]), 1_600_000_000i64..1_900_000_000), 0..4),
        replies in proptest::collection::vec(("62812[0-9]{8}", proptest::sample::select(vec!["STOP", "berhenti!", "terima kasih", ""])), 0..3),
        other_fields in 0..3usize,
    ) {
        let status_values: Vec<_> = statuses.iter().map(|(id, status, at)| {
            let mut value = json!({"id": id, "status": status, "timestamp": at.to_string(), "recipient_id": "6281234567890"});
            if *status == "failed" {
                value["errors"] = json!([{"code": 131026, "title": "Message undeliverable"}]);
            }
            value
        }).collect();
        let messages: Vec<_> = replies.iter().map(|(from, text)| json!({"from": from, "id": "wamid.x", "timestamp": "1719000000", "type": "text", "text": {"body": text}})).collect();
        let mut changes = vec![json!({"field": "messages", "value": {"messaging_product": "whatsapp", "statuses": status_values, "messages": messages}})];
        for _ in 0..other_fields {
            changes.push(json!({"field": "message_template_status_update", "value": {"event": "APPROVED"}}));
        }
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": changes}]});
        let events = whatsapp::parse_events(body.to_string().as_bytes()).unwrap();
        let tracked: Vec<_> = statuses.iter().filter(|(_, status, _)| *status != "played").collect();
        prop_assert_eq!(events.receipts.len(), tracked.len());
        for (receipt, (id, status, at)) in events.receipts.iter().zip(tracked) {
            prop_assert_eq!(&receipt.provider_message_id, id);
            prop_assert_eq!(receipt.at.timestamp(), *at);
            prop_assert_eq!(matches!(receipt.status, ReceiptStatus::Failed { permanent: true, .. }), *status == "failed");
        }
        prop_assert_eq!(events.replies.len(), replies.len());
        for (reply, (from, text)) in events.replies.iter().zip(&replies) {
            prop_assert_eq!(reply.from.e164(), format!("+{from}"));
            prop_assert_eq!(reply.opt_out, text.to_uppercase().starts_with("STOP") || text.starts_with("berhenti"));
        }
    }

    #[test]
    fn whatsapp_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), from in "\\PC{0,30}", timestamp in "\\PC{0,25}") {
        let _ = whatsapp::parse_events(&body);
        let json = json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
            "statuses": [{"id": from, "status": "failed", "timestamp": timestamp, "errors": [{"code": -1}]}],
            "messages": [{"from": from, "button": {"text": timestamp}}]}}]}]});
        let _ = whatsapp::parse_events(json.to_string().as_bytes());
    }

    #[test]
    fn infobip_reports_read_back(
        reports in proptest::collection::vec(("[a-z0-9-]{1,36}", 1i64..6, proptest::option::of(1i64..10), any::<bool>(), proptest::option::of(0i64..2_000_000_000)), 0..5),
    ) {
        let results: Vec<_> = reports.iter().map(|(id, group, status_id, permanent, done)| {
            let mut report = json!({"messageId": id, "status": {"groupId": group, "id": status_id, "groupName": "X"},
                                    "error": {"id": 27, "name": "EC", "permanent": permanent}, "smsCount": 1});
            if let Some(done) = done {
                let at = DateTime::from_timestamp(*done, 0).unwrap().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
                report["doneAt"] = json!(at);
            }
            report
        }).collect();
        let body = json!({"results": results}).to_string();
        let receipts = infobip::parse_reports(body.as_bytes(), now()).unwrap();
        let news: Vec<_> = reports.iter().filter(|(_, group, ..)| *group != 1).collect();
        prop_assert_eq!(receipts.len(), news.len());
        for (receipt, (id, group, status_id, permanent, done)) in receipts.iter().zip(news) {
            prop_assert_eq!(&receipt.provider_message_id, id);
            prop_assert_eq!(receipt.at.timestamp(), done.unwrap_or(now().timestamp()));
            let expected_failed = matches!(group, 2 | 4 | 5);
            prop_assert_eq!(matches!(&receipt.status, ReceiptStatus::Failed { permanent: p, .. } if p == permanent), expected_failed);
            if *group == 3 {
                prop_assert_eq!(receipt.status.clone(), if *status_id == Some(2) { ReceiptStatus::Sent } else { ReceiptStatus::Delivered });
            }
        }
    }

    #[test]
    fn infobip_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), done in "\\PC{0,30}", group in any::<i64>()) {
        let _ = infobip::parse_reports(&body, now());
        let json = json!({"results": [{"messageId": done, "status": {"groupId": group}, "doneAt": done}]});
        let _ = infobip::parse_reports(json.to_string().as_bytes(), now());
    }
}

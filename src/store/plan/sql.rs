//! The planner's statements, built from the audience rules: one `INSERT … SELECT` per event,
//! computed in the database; each message lists its bookings' ids, aggregated by the same
//! `GROUP BY` that makes one message per applicant.

use crate::domain::Channel;
use crate::plan::Rule;
use crate::store::Dialect;

fn quoted(values: impl IntoIterator<Item = &'static str>) -> String {
    let list: Vec<String> = values.into_iter().map(|value| format!("'{value}'")).collect();
    list.join(", ")
}

/// `CASE WHEN <rule 1 matches b> THEN 1 WHEN … END`: the priority of the first rule a booking
/// matches, NULL when none does. Identifiers are inlined from the closed enums; the window's
/// bounds are the placeholders `start` and `end`.
pub(in crate::store) fn rank_sql(rules: &[Rule], start: &str, end: &str) -> String {
    let mut sql = String::from("CASE");
    for (rank, rule) in rules.iter().enumerate() {
        let mut condition =
            format!("b.stage IN ({})", quoted(rule.stages.iter().map(|stage| stage.as_str())));
        if rule.epassport_only {
            condition.push_str(" AND b.product = 'epassport'");
        }
        if rule.express_only {
            condition.push_str(" AND b.express = TRUE");
        }
        if rule.upcoming_only {
            condition.push_str(&format!(" AND b.appointment_at >= {start} AND b.appointment_at < {end}"));
        }
        sql.push_str(&format!(" WHEN {condition} THEN {}", rank + 1));
    }
    sql.push_str(" END");
    sql
}

/// `CASE s.rank WHEN 1 THEN 'appointment_unchanged' … END`.
pub(super) fn kind_sql(rules: &[Rule]) -> String {
    let arms: String = rules
        .iter()
        .enumerate()
        .map(|(rank, rule)| format!(" WHEN {} THEN '{}'", rank + 1, rule.kind.as_str()))
        .collect();
    format!("CASE s.rank{arms} END")
}

/// The applicant's first usable channel in preference order, NULL when none is.
pub(in crate::store) fn channel_sql(channels: &[Channel]) -> String {
    let mut sql = String::from("CASE");
    for channel in channels {
        let usable = match channel {
            Channel::Whatsapp => "NOT a.whatsapp_opted_out",
            Channel::Sms => "NOT a.sms_opted_out",
            Channel::Email => "a.email IS NOT NULL AND NOT a.email_opted_out",
        };
        sql.push_str(&format!(" WHEN {usable} THEN '{}'", channel.as_str()));
    }
    sql.push_str(" END");
    sql
}

/// The columns every planning statement inserts ([`MESSAGE_COLUMNS`]), from a sub-select `s` with
/// `applicant_id`, `next_at` (the applicant's next appointment, if any) and `booking_ids`, a kind
/// expression and an office expression. $1 = event (or broadcast) id, $2 = now, $4 = end of quiet hours (= now
/// outside them), $5 = the margin.
pub(in crate::store) fn message_columns(kind: &str, office: &str, channels: &[Channel]) -> String {
    let channel = channel_sql(channels);
    format!(
        "$1, {office}, s.applicant_id, s.booking_ids, {kind}, COALESCE(a.language, 'id'), {channel},
         CASE WHEN ({channel}) IS NULL THEN 'unreachable' ELSE 'queued' END,
         {not_before},
         $2",
        not_before = not_before_sql(&channel),
    )
}

/// When a message on `channel` may first be sent: WhatsApp and SMS wait for the end of the quiet
/// hours ($4, = now $2 outside them) unless the applicant's next appointment (`s.next_at`) comes
/// sooner than that plus the margin ($5).
pub(in crate::store) fn not_before_sql(channel: &str) -> String {
    format!(
        "CASE WHEN ({channel}) IN ('whatsapp', 'sms') AND $4 > $2
                   AND (s.next_at IS NULL OR s.next_at >= $4 + $5)
              THEN $4 ELSE $2 END"
    )
}

/// The columns of `messages` a planning statement fills, after the event or broadcast id.
pub(in crate::store) const MESSAGE_COLUMNS: &str =
    "office_code, applicant_id, booking_ids, kind, language, channel, status, not_before, created_at";

/// The stages of a finished application, which hears nothing more.
pub(crate) const CLOSED_STAGES: &str = "('picked_up', 'cancelled', 'no_show')";

/// The applicants the rules match at an office, one row each: the priority of their first
/// matching rule (`rank`), their next appointment in the window (`next_at`), how many of their
/// bookings match (`bookings`) and, `with_ids`, those bookings' ids (`booking_ids`). Planning
/// inserts a message per row; a dry run counts the rows ([`super::count`]). $2 now, $3 end of the
/// window, $6 office, $7 start of the window.
pub(super) fn bookings_audience_sql(dialect: Dialect, rules: &[Rule], with_ids: bool) -> String {
    let rank = rank_sql(rules, "$7", "$3");
    let stages: Vec<&'static str> =
        rules.iter().flat_map(|rule| rule.stages.iter().map(|stage| stage.as_str())).collect();
    let stages = quoted(stages);
    let booking_ids =
        if with_ids { format!(", {} AS booking_ids", (dialect.id_array)("r.id")) } else { String::new() };
    format!(
        "SELECT r.applicant_id, MIN(r.rank) AS rank, COUNT(*) AS bookings{booking_ids},
                MIN(CASE WHEN r.appointment_at >= $2 AND r.appointment_at < $3 THEN r.appointment_at END) AS next_at
         FROM (SELECT b.id, b.applicant_id, b.appointment_at, {rank} AS rank
               FROM bookings b
               WHERE b.office_code = $6 AND b.stage IN ({stages})) r
         WHERE r.rank IS NOT NULL
         GROUP BY r.applicant_id"
    )
}

pub(super) fn plan_bookings_sql(dialect: Dialect, rules: &[Rule], channels: &[Channel]) -> String {
    // $1 event, $2 now, $3 end of the window, $4 end of quiet hours, $5 margin, $6 office,
    // $7 start of the window.
    format!(
        "INSERT INTO messages (event_id, {MESSAGE_COLUMNS})
         SELECT {columns}
         FROM ({audience}) s
         JOIN applicants a ON a.id = s.applicant_id
         WHERE TRUE
         ON CONFLICT (event_id, applicant_id) DO NOTHING",
        audience = bookings_audience_sql(dialect, rules, true),
        columns = message_columns(&kind_sql(rules), "$6", channels),
    )
}

/// ` AND NOT (<booking b matches a rule of a service still down>)`, or nothing.
fn not_held_up_sql(still_down: &[&[Rule]], start: &str, end: &str) -> String {
    if still_down.is_empty() {
        return String::new();
    }
    let held: Vec<String> =
        still_down.iter().map(|rules| format!("({}) IS NOT NULL", rank_sql(rules, start, end))).collect();
    format!(" AND NOT ({})", held.join(" OR "))
}

/// The placeholders a [`told_sql`] sub-select reads.
pub(super) struct Told<'a> {
    pub event: &'a str,
    pub now: &'a str,
    pub incident: &'a str,
    pub service: &'a str,
    /// The restoration kind, whose messages tell of no disruption.
    pub restoration: &'a str,
    /// The end of the window of the services still down (used only when there are some).
    pub window_end: &'a str,
}

/// The applicants told of a disruption of a service in an incident, one row each: their
/// bookings that are still open and not held up by a service still down (`booking_ids`), their
/// next appointment (`next_at`), whether a message of theirs about it may have reached them
/// (`heard`: 0 when every one is still queued and never handed to a provider, e.g. held for quiet
/// hours), and the kind of their first notice about it (`first_kind`).
pub(super) fn told_sql(dialect: Dialect, still_down: &[&[Rule]], p: &Told<'_>) -> String {
    let held_up = not_held_up_sql(still_down, p.now, p.window_end);
    let told = (dialect.unnest_ids)("m.booking_ids", "t");
    let booking_ids = (dialect.id_array)("DISTINCT b.id");
    format!(
        "SELECT m.applicant_id, {booking_ids} AS booking_ids,
                MIN(CASE WHEN b.appointment_at >= {now} THEN b.appointment_at END) AS next_at,
                COUNT(DISTINCT b.id) AS bookings,
                MAX(CASE WHEN m.status = 'queued' AND m.attempts = 0 THEN 0 ELSE 1 END) AS heard,
                MIN(CASE WHEN m.kind = '{update}' THEN NULL ELSE m.kind END) AS first_kind
         FROM notice_events e
         JOIN messages m ON m.event_id = e.id
         CROSS JOIN {told}
         JOIN bookings b ON b.id = t.value
         WHERE e.incident_id = {incident} AND e.service = {service} AND e.id <> {event}
           AND m.kind <> {restoration}
           AND m.status <> 'cancelled' AND b.stage NOT IN {CLOSED_STAGES}{held_up}
         GROUP BY m.applicant_id",
        now = p.now,
        update = crate::render::NoticeKind::StatusUpdate.as_str(),
        incident = p.incident,
        service = p.service,
        event = p.event,
        restoration = p.restoration,
    )
}

/// $1 event, $2 now, $3 incident, $4 end of quiet hours, $5 margin, $6 service, $7 the
/// restoration kind, $8 end of the window of the services still down (bound only when there are
/// some).
pub(super) const TOLD: Told<'static> =
    Told { event: "$1", now: "$2", incident: "$3", service: "$6", restoration: "$7", window_end: "$8" };

pub(super) fn plan_restoration_sql(dialect: Dialect, channels: &[Channel], still_down: &[&[Rule]]) -> String {
    format!(
        "INSERT INTO messages (event_id, {MESSAGE_COLUMNS})
         SELECT {columns}
         FROM ({told}) s
         JOIN applicants a ON a.id = s.applicant_id
         WHERE TRUE
         ON CONFLICT (event_id, applicant_id) DO NOTHING",
        told = told_sql(dialect, still_down, &TOLD),
        columns = message_columns("$7", "(SELECT office_code FROM incidents WHERE id = $3)", channels),
    )
}

/// An update (the state stands, with a new reason or expected restoration): one `status_update`
/// to each applicant told of the disruption, about their bookings still open. One whose notice
/// has not left yet (held for quiet hours) gets that notice again instead, written from the
/// update's facts; the held one is then superseded ([`supersede_sql`]). Bound as
/// [`plan_restoration_sql`] without $8.
pub(super) fn plan_update_sql(dialect: Dialect, channels: &[Channel]) -> String {
    format!(
        "INSERT INTO messages (event_id, {MESSAGE_COLUMNS})
         SELECT {columns}
         FROM ({told}) s
         JOIN applicants a ON a.id = s.applicant_id
         WHERE TRUE
         ON CONFLICT (event_id, applicant_id) DO NOTHING",
        told = told_sql(dialect, &[], &TOLD),
        columns = message_columns(
            &update_kind_sql(),
            "(SELECT office_code FROM incidents WHERE id = $3)",
            channels
        ),
    )
}

/// The kind of an update's message: `status_update` for one who heard of the disruption, their
/// first notice again for one whose notice never left.
pub(super) fn update_kind_sql() -> String {
    let update = crate::render::NoticeKind::StatusUpdate.as_str();
    format!("CASE WHEN s.heard = 1 THEN '{update}' ELSE COALESCE(s.first_kind, '{update}') END")
}

/// Cancels, with the reason `superseded`, the messages never handed to a provider (`queued`
/// with no attempt, e.g. held for quiet hours) of the earlier events about the same service at
/// the office, for the applicants `who` selects: the newer notice replaces them. A message
/// waiting for a retry is left alone: the provider may have delivered it after all. $1 event,
/// $2 now, $3 office, $4 service.
pub(super) fn supersede_sql(who: &str) -> String {
    format!(
        "UPDATE messages SET status = 'cancelled', failure_reason = '{SUPERSEDED}', failed_at = $2
         WHERE status = 'queued' AND attempts = 0
           AND event_id IN (SELECT id FROM notice_events WHERE office_code = $3 AND service = $4 AND id <> $1)
           AND applicant_id IN ({who})"
    )
}

/// The failure reason of a message a newer notice replaced before it was sent.
pub const SUPERSEDED: &str = "superseded";

/// The applicants of the event being planned.
pub(super) const EVENT_APPLICANTS: &str = "SELECT applicant_id FROM messages WHERE event_id = $1";

/// Before a restoration: the applicants told of the disruption (as the restoration would select
/// them), so that a notice of theirs still held is superseded and, when it was their only one,
/// they hear no restoration either. $1 event, $2 now, $3 office, $4 service, $5 incident,
/// $6 restoration kind, $7 end of the window of the services still down (bound only when there
/// are some).
pub(super) fn restoration_applicants_sql(dialect: Dialect, still_down: &[&[Rule]]) -> String {
    let told =
        Told { event: "$1", now: "$2", incident: "$5", service: "$4", restoration: "$6", window_end: "$7" };
    format!("SELECT s.applicant_id FROM ({}) s", told_sql(dialect, still_down, &told))
}

//! `kabar state set --dry-run`: who a change would reach, counted exactly as the API's dry run and
//! the console's confirmation page count it ([`crate::plan::who_would_hear`]); nothing is written.

use chrono::Utc;

use crate::config::Config;
use crate::plan::WhoWouldHear;
use crate::state::StateChange;
use crate::store::Store;

/// Counts and prints who `change` would reach.
pub(super) async fn dry_run(
    store: &Store,
    config: &Config,
    change: &StateChange,
    json: bool,
) -> anyhow::Result<()> {
    let audience =
        crate::plan::who_would_hear(store, None, change, &config.planner, &config.costs, Utc::now()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&audience)?);
    } else {
        println!("{}", summary(&audience));
    }
    Ok(())
}

fn counts(counts: &std::collections::BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts.iter().map(|(name, count)| format!("{name} {count}")).collect::<Vec<_>>().join(", ")
}

/// The dry run as a person reads it: totals, the split, the cost, and each office's share.
fn summary(audience: &WhoWouldHear) -> String {
    let mut lines = vec![
        "dry run: nothing was changed and nothing will be sent".to_owned(),
        format!(
            "would tell {} applicants about {} bookings at {} offices (planned at {} UTC, after the settle window)",
            audience.applicants,
            audience.bookings,
            audience.offices.iter().filter(|office| office.applicants > 0).count(),
            audience.planned_at.format("%Y-%m-%d %H:%M:%S"),
        ),
        format!("  by channel: {} (unreachable: the call list)", counts(&audience.by_channel)),
        format!("  by notice: {}", counts(&audience.by_kind)),
        format!(
            "  SMS segments {}; estimated cost {} {:.2}",
            audience.sms_segments, audience.estimated_cost.currency, audience.estimated_cost.amount
        ),
    ];
    for office in audience.offices.iter().filter(|office| office.applicants > 0) {
        let first = office.first_send_local.as_deref().unwrap_or("nothing is sent (no usable channel)");
        lines.push(format!(
            "  {}: {} applicants, {} bookings, first message {first}",
            office.office, office.applicants, office.bookings
        ));
    }
    lines.join("\n")
}

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;

use crate::domain::{format_short, OfficeCode, Service, ServiceState};
use crate::store::{BoardRow, OfficeDirectory};

/// The state board as a table. For one office: every service, with the state, since when, why,
/// the expected restoration and who changed it. For all offices: every service that is not
/// operational, one row each, then how many offices run normally.
pub fn board_table(offices: &OfficeDirectory, rows: &[BoardRow], office: Option<&OfficeCode>) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(["office", "service", "state", "since", "reason", "expected back", "by"]);
    let zone_of = |code: &OfficeCode| offices.office(code).map(|office| office.timezone);
    let add = |table: &mut Table, row: &BoardRow| {
        let zone = zone_of(&row.office);
        let when = |instant| zone.map(|zone| format_short(instant, zone)).unwrap_or_default();
        table.add_row([
            row.office.to_string(),
            row.service.to_string(),
            row.state.to_string(),
            when(row.changed_at),
            row.reason.clone().unwrap_or_default(),
            row.expected_at.map(when).unwrap_or_default(),
            row.actor.clone(),
        ]);
    };
    match office {
        Some(code) => {
            for service in Service::ALL {
                match rows.iter().find(|row| row.office == *code && row.service == *service) {
                    Some(row) => add(&mut table, row),
                    None => {
                        table.add_row([code.as_str(), service.as_str(), "operational", "", "", "", ""]);
                    }
                }
            }
            table.to_string()
        }
        None => {
            let disrupted: Vec<&BoardRow> =
                rows.iter().filter(|row| row.state != ServiceState::Operational).collect();
            for row in &disrupted {
                add(&mut table, row);
            }
            let total = offices.offices().count();
            let affected: std::collections::BTreeSet<&OfficeCode> =
                disrupted.iter().map(|row| &row.office).collect();
            let normal = format!("{} of {} offices: all services operational", total - affected.len(), total);
            if disrupted.is_empty() {
                normal
            } else {
                format!("{table}\n{normal}")
            }
        }
    }
}

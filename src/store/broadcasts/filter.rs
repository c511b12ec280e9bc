//! A broadcast's audience at one office as SQL: every condition staff gave, over bookings `b`.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{Product, Stage};
use crate::plan::Rule;
use crate::store::epoch;
use crate::store::plan::sql::rank_sql;

/// Which bookings of one office a broadcast is for; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BookingFilter {
    /// Empty: every open stage (not picked up, cancelled or no-show).
    pub stages: Vec<Stage>,
    /// Empty: both products.
    pub products: Vec<Product>,
    pub express: Option<bool>,
    /// Bookings a disruption of any of these services would touch (its audience rules).
    pub services: Vec<&'static [Rule]>,
    /// Appointments from `.0` (inclusive) to `.1` (exclusive).
    pub appointments: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Applications made on these days (inclusive), as M-Paspor records them.
    pub applied_from: Option<NaiveDate>,
    pub applied_to: Option<NaiveDate>,
}

impl BookingFilter {
    /// The filter as SQL over bookings `b`. Every value is inlined from a closed enum, a date or
    /// an integer, never from free text.
    pub(super) fn sql(&self, now: DateTime<Utc>, horizon_end: DateTime<Utc>) -> String {
        let list = |values: Vec<&'static str>| {
            values.iter().map(|value| format!("'{value}'")).collect::<Vec<_>>().join(", ")
        };
        let mut conditions = Vec::new();
        let stages: Vec<&'static str> = if self.stages.is_empty() {
            Stage::ALL.iter().filter(|stage| !stage.is_closed()).map(|stage| stage.as_str()).collect()
        } else {
            self.stages.iter().map(|stage| stage.as_str()).collect()
        };
        conditions.push(format!("b.stage IN ({})", list(stages)));
        if !self.products.is_empty() {
            conditions.push(format!(
                "b.product IN ({})",
                list(self.products.iter().map(|product| product.as_str()).collect())
            ));
        }
        if let Some(express) = self.express {
            conditions.push(format!("b.express = {}", if express { "TRUE" } else { "FALSE" }));
        }
        if !self.services.is_empty() {
            let (start, end) = (epoch(now).to_string(), epoch(horizon_end).to_string());
            let touched: Vec<String> = self
                .services
                .iter()
                .map(|rules| format!("({}) IS NOT NULL", rank_sql(rules, &start, &end)))
                .collect();
            conditions.push(format!("({})", touched.join(" OR ")));
        }
        if let Some((from, to)) = self.appointments {
            conditions.push(format!(
                "b.appointment_at >= {} AND b.appointment_at < {}",
                epoch(from),
                epoch(to)
            ));
        }
        if let Some(from) = self.applied_from {
            conditions.push(format!("b.applied_on >= '{}'", from.format("%Y-%m-%d")));
        }
        if let Some(to) = self.applied_to {
            conditions.push(format!("b.applied_on <= '{}'", to.format("%Y-%m-%d")));
        }
        conditions.join(" AND ")
    }
}

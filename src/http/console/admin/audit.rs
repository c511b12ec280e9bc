//! `/console/admin/audit`: the audit log, newest first, filtered by a GET form (actor, office,
//! action, dates from and to in WIB), paged with an "older" cursor, and for admins the verdict of
//! the hash chain. Rows are read through [`crate::http::api::audit::visible_records`], so an
//! officer or supervisor sees exactly the rows `GET /api/v1/audit` gives them.

use std::collections::VecDeque;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{in_wib, wib, FieldErrors};
use crate::audit::{AuditRecord, AuditVerification};
use crate::domain::{parse_date, Language, OfficeCode};
use crate::http::api::audit::{audit_filter, verify, visible_records};
use crate::http::api::ApiError;
use crate::http::console::error::ConsoleError;
use crate::http::console::form::Staff;
use crate::http::console::pages::{local, word};
use crate::http::console::ConsoleState;
use crate::staff::Role;
use crate::store::OfficeDirectory;

/// Rows on a page.
const PAGE: usize = 50;

/// The filter form, as typed (and as the "older" link repeats it).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(in crate::http::console) struct AuditForm {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub office: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// Only rows before this id: the cursor of the "older" link.
    #[serde(default, skip_serializing)]
    pub before: String,
}

/// The start of `date` in WIB.
fn wib_midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0)
        .and_then(|start| start.and_local_timezone(wib().0).single())
        .map(|start| start.to_utc())
        .unwrap_or_default()
}

/// What the form asks, parsed; a wrong field gets its message.
struct Wanted {
    filter: crate::audit::AuditFilter,
    action: Option<String>,
    until: Option<DateTime<Utc>>,
    before: Option<i64>,
}

fn parse(form: &AuditForm, errors: &mut FieldErrors) -> Option<Wanted> {
    let mut date = |field: &str, text: &str| -> Option<NaiveDate> {
        if text.is_empty() {
            return None;
        }
        parse_date(text).map_err(|err| errors.add(StatusCode::UNPROCESSABLE_ENTITY, field, err.0)).ok()
    };
    let since = date("from", &form.from).map(wib_midnight);
    let until = date("to", &form.to).and_then(|day| day.succ_opt()).map(wib_midnight);
    let actor = Some(form.actor.clone()).filter(|actor| !actor.is_empty());
    let office = Some(form.office.as_str()).filter(|office| !office.is_empty());
    let filter = match audit_filter(since, actor, office) {
        Ok(filter) => Some(filter),
        Err(ApiError::Invalid { field, detail }) => {
            errors.add(StatusCode::UNPROCESSABLE_ENTITY, field.as_deref().unwrap_or("office"), detail);
            None
        }
        Err(_) => None,
    };
    let before = match form.before.as_str() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add(StatusCode::UNPROCESSABLE_ENTITY, "before", format!("{text:?} is not a row id"));
                None
            }
        },
    };
    let action = Some(form.action.clone()).filter(|action| !action.is_empty());
    Some(Wanted { filter: filter?, action, until, before }).filter(|_| errors.is_empty())
}

/// An action filter: the whole action (`staff.add`), or every action of a noun (`staff.`).
fn action_matches(wanted: &str, action: &str) -> bool {
    if wanted.ends_with('.') {
        action.starts_with(wanted)
    } else {
        action == wanted
    }
}

fn row(offices: &OfficeDirectory, record: &AuditRecord) -> Value {
    // One office: its zone; none or several: WIB (the page says so).
    let zone = match record.offices.as_slice() {
        [one] => one.parse::<OfficeCode>().ok().and_then(|code| offices.office(&code)).map(|o| o.timezone),
        _ => None,
    };
    let at = match zone {
        Some(zone) => local(Some(record.at), zone),
        None => in_wib(Some(record.at)),
    };
    json!({
        "id": record.id,
        "at": at,
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "offices": record.offices.join(", "),
        "client": record.client,
        "summary": record.summary.to_string(),
    })
}

/// The verdict in words: "chain intact, N rows" or the first row at fault.
fn verdict(language: Language, verification: &AuditVerification) -> Value {
    match &verification.problem {
        None => json!({
            "intact": true,
            "text": format!("{} {}", word(language, "admin_audit", "intact"), verification.rows),
        }),
        Some(problem) => json!({
            "intact": false,
            "text": format!("{} #{}", word(language, "admin_audit", "broken"), problem.id()),
            "detail": problem.to_string(),
        }),
    }
}

/// The page's data: the rows (newest first), the next cursor, the form, the verdict.
pub(in crate::http::console) fn log_data(
    language: Language,
    offices: &OfficeDirectory,
    rows: &[AuditRecord],
    older: Option<i64>,
    form: &AuditForm,
    errors: &FieldErrors,
    verification: Option<&AuditVerification>,
) -> Value {
    let older = older.map(|before| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("actor", &form.actor),
            ("office", &form.office),
            ("action", &form.action),
            ("from", &form.from),
            ("to", &form.to),
        ] {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
        query.append_pair("before", &before.to_string());
        format!("/console/admin/audit?{}", query.finish())
    });
    json!({
        "rows": rows.iter().map(|record| row(offices, record)).collect::<Vec<_>>(),
        "older": older,
        "form": form,
        "errors": errors.to_value(),
        "verification": verification.map(|verification| verdict(language, verification)),
    })
}

/// `GET /console/admin/audit?actor=…&office=…&action=…&from=…&to=…&before=…`: officers and up.
pub(in crate::http::console) async fn log(
    State(state): State<ConsoleState>,
    staff: Staff,
    Query(form): Query<AuditForm>,
) -> Result<Response, ConsoleError> {
    let authed = staff.authed();
    authed.require(Role::Officer).map_err(staff.deny())?;
    let language = staff.language();
    let mut errors = FieldErrors::default();
    let mut rows: VecDeque<AuditRecord> = VecDeque::new();
    let mut older = None;
    if let Some(wanted) = parse(&form, &mut errors) {
        // The newest PAGE rows before the cursor, and whether an older one exists.
        visible_records(&state.api, authed, &wanted.filter, |record| {
            let wanted_row = wanted.before.is_none_or(|before| record.id < before)
                && wanted.until.is_none_or(|until| record.at < until)
                && wanted.action.as_deref().is_none_or(|action| action_matches(action, &record.action));
            if wanted_row {
                rows.push_back(record);
                if rows.len() > PAGE {
                    rows.pop_front();
                    older = Some(());
                }
            }
        })
        .await
        .map_err(staff.deny())?;
    }
    let rows: Vec<AuditRecord> = rows.into_iter().rev().collect();
    let older = older.and(rows.last().map(|row| row.id));
    let verification = if authed.caller.role >= Role::Admin {
        Some(verify(&state.api, authed).await.map_err(staff.deny())?)
    } else {
        None
    };
    let offices = state.api.store.office_directory().await?;
    let data = log_data(language, &offices, &rows, older, &form, &errors, verification.as_ref());
    let title = word(language, "admin_audit", "title");
    Ok(staff.frame().page(errors.status(), "admin_audit", &title, data))
}

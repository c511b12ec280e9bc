//! Changing a service's state: the form, the confirmation page (what will change, checked by
//! [`state::check_state_change`] as the API's dry run checks it, and the message applicants will
//! read), the change itself ([`state::set_state_by`], audited), and its undo while it settles
//! ([`crate::store::Store::undo_changes`]: nothing has been sent before the settle time ends).

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Value};

use super::error::ConsoleError;
use super::form::{Posted, Staff, StaffPost};
use super::pages::{local, service_name, state_name, word, words};
use super::ConsoleState;
use crate::domain::{Channel, Language, OfficeCode, Service, ServiceState};
use crate::http::api::ApiError;
use crate::render::{Catalogue, Localized, Rendered};
use crate::staff::Role;
use crate::state::{self, StateChange, StateError, Target};
use crate::store::{OfficeDirectory, StateChangeRecord, UndoOutcome};

/// The change as the form gives it, kept as typed so the form can be shown again.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(super) struct ChangeForm {
    pub offices: Vec<String>,
    pub service: String,
    pub state: String,
    pub reason: String,
    /// `YYYY-MM-DDTHH:MM` from `<input type=datetime-local>`, in each office's own time.
    pub until: String,
}

impl ChangeForm {
    fn from_posted(form: &Posted) -> ChangeForm {
        ChangeForm {
            offices: form.all("office"),
            service: form.get("service"),
            state: form.get("state"),
            reason: form.get("reason"),
            until: form.get("until"),
        }
    }

    /// The change, or the field at fault.
    fn parse(&self, actor: &str) -> Result<StateChange, ApiError> {
        let field = |name: &str, err: crate::domain::ParseError| ApiError::invalid(name, err.0);
        if self.offices.is_empty() {
            return Err(ApiError::invalid("office", "choose at least one office"));
        }
        let codes = self.offices.iter().map(|code| code.parse::<OfficeCode>()).collect::<Result<Vec<_>, _>>();
        Ok(StateChange {
            target: Target::Offices(codes.map_err(|err| field("office", err))?),
            service: self.service.parse().map_err(|err| field("service", err))?,
            state: self.state.parse().map_err(|err| field("state", err))?,
            reason: Some(self.reason.clone()).filter(|reason| !reason.is_empty()),
            until: Some(self.until.clone()).filter(|until| !until.is_empty()),
            actor: actor.to_owned(),
            at: Utc::now(),
        })
    }
}

/// The form's data: the offices in scope (those chosen checked), services, states, values.
pub(super) fn form_data(
    language: Language,
    offices: &OfficeDirectory,
    staff_scope: &crate::staff::Scope,
    form: &ChangeForm,
    error: Option<String>,
) -> Value {
    let offices = super::pages::office_choices(offices, staff_scope, &form.offices);
    let service = if form.service.is_empty() { "printing" } else { form.service.as_str() };
    let wanted = if form.state.is_empty() { "unavailable" } else { form.state.as_str() };
    let services: Vec<Value> = Service::ALL
        .iter()
        .map(|s| json!({"key": s.as_str(), "name": service_name(language, *s), "selected": s.as_str() == service}))
        .collect();
    let states: Vec<Value> = [ServiceState::Unavailable, ServiceState::Degraded, ServiceState::Operational]
        .iter()
        .map(|s| json!({"key": s.as_str(), "name": state_name(language, *s), "selected": s.as_str() == wanted}))
        .collect();
    json!({
        "offices": offices,
        "services": services,
        "states": states,
        "reason": form.reason,
        "until": form.until,
        "error": error,
    })
}

async fn form_page(
    state: &ConsoleState,
    staff: &Staff,
    form: &ChangeForm,
    error: Option<(StatusCode, String)>,
) -> Result<Response, ConsoleError> {
    let offices = state.api.store.office_directory().await?;
    let language = staff.language();
    let (status, error) = match error {
        Some((status, error)) => (status, Some(error)),
        None => (StatusCode::OK, None),
    };
    let data = form_data(language, &offices, &staff.authed().caller.scope, form, error);
    Ok(staff.frame().page(status, "change", &word(language, "change", "title"), data))
}

/// `GET /console/change`.
pub(super) async fn form(State(state): State<ConsoleState>, staff: Staff) -> Result<Response, ConsoleError> {
    staff.authed().require(Role::Officer).map_err(staff.deny())?;
    form_page(&state, &staff, &ChangeForm::default(), None).await
}

/// `POST /console/change/edit`: the form again, as filled.
pub(super) async fn edit(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    post.staff.authed().require(Role::Officer).map_err(post.staff.deny())?;
    form_page(&state, &post.staff, &ChangeForm::from_posted(&post.form), None).await
}

/// What went wrong with a form, for the form page: a field problem is shown beside the form; a
/// refusal (role, scope) or our failure is a page of its own.
enum Checked {
    Ready(StateChange, Vec<StateChangeRecord>),
    Again(StatusCode, String),
}

/// Parses and authorises the change exactly as `POST /api/v1/state-changes` does: officer, every
/// office in scope, then validated by the service that makes it.
async fn check(state: &ConsoleState, staff: &Staff, form: &ChangeForm) -> Result<Checked, ConsoleError> {
    let authed = staff.authed();
    authed.require(Role::Officer).map_err(staff.deny())?;
    let change = match form.parse(authed.caller.actor.as_str()) {
        Ok(change) => change,
        Err(err) => return Ok(Checked::Again(StatusCode::UNPROCESSABLE_ENTITY, err.to_string())),
    };
    let offices = state.api.store.office_directory().await?;
    let codes = match state::resolve_target(&change.target, change.service, &offices) {
        Ok(codes) => codes,
        Err(StateError::Store(err)) => return Err(err.into()),
        Err(err) => return Ok(Checked::Again(StatusCode::UNPROCESSABLE_ENTITY, err.to_string())),
    };
    // Before any validation message: an office outside the scope must not be probed.
    authed.require_offices(Role::Officer, &codes, &offices).map_err(staff.deny())?;
    match state::check_state_change(&state.api.store, &change).await {
        Ok(records) => Ok(Checked::Ready(change, records)),
        Err(StateError::Store(err)) => Err(err.into()),
        Err(err) => {
            let text = err.to_string().replace("--until", "until").replace("--reason", "reason");
            Ok(Checked::Again(StatusCode::UNPROCESSABLE_ENTITY, text))
        }
    }
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(Catalogue::builtin);

/// The notice the first rule of this change would send, rendered as an SMS in both languages
/// with this office's name, the reason and the expected restoration: what applicants read.
pub(super) fn previews(
    offices: &OfficeDirectory,
    change: &StateChange,
    record: &StateChangeRecord,
    language: Language,
) -> Vec<Value> {
    let kind = match change.state {
        ServiceState::Operational => Some(crate::plan::restoration_kind(change.service)),
        state => crate::plan::rules(change.service, state).first().map(|rule| rule.kind),
    };
    let (Some(kind), Some(office)) = (kind, offices.office(&record.office)) else {
        return Vec::new();
    };
    let mut context = crate::render::samples::context(kind);
    context.office.name = office.name.clone();
    context.office.short_name = crate::render::short_office_name(&office.name);
    context.office.timezone = office.timezone;
    context.office.phone = office.contact.phone.clone();
    context.service = Some(change.service);
    context.reason = record.reason.clone().map(Localized::id_only);
    context.expected_restoration = record.expected_at;
    [(Language::Id, "sms_id"), (Language::En, "sms_en")]
        .into_iter()
        .filter_map(|(reader, label)| {
            match crate::render::render(&CATALOGUE, kind, Channel::Sms, reader, &context) {
                Ok(Rendered::Sms(sms)) => Some(json!({
                    "label": word(language, "confirm", label),
                    "lang": reader.as_str(),
                    "text": sms.text,
                    "segments": sms.segments,
                })),
                Ok(_) => None,
                Err(err) => {
                    tracing::warn!(%kind, error = %err, "console preview failed to render");
                    None
                }
            }
        })
        .collect()
}

/// `POST /console/change/confirm`: what will change and what applicants will read; nothing is
/// written.
pub(super) async fn confirm(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    let form = ChangeForm::from_posted(&post.form);
    let (change, records) = match check(&state, staff, &form).await? {
        Checked::Ready(change, records) => (change, records),
        Checked::Again(status, error) => return form_page(&state, staff, &form, Some((status, error))).await,
    };
    let offices = state.api.store.office_directory().await?;
    let applied = state::preview_change(&state.api.store, &records).await?;
    let language = staff.language();
    let mut data =
        confirm_data(language, &offices, &change, &records, &applied, &form, state.settle_seconds());
    // The same counts as the API's dry run, from the planner's own statements.
    let settings = &state.api.settings;
    let audience = crate::plan::who_would_hear(
        &state.api.store,
        Some(&state.api.audience),
        &change,
        &settings.planner,
        &settings.costs,
        change.at,
    );
    data["audience"] = audience_data(language, &audience.await.map_err(|err| staff.deny()(err.into()))?);
    Ok(staff.frame().page(StatusCode::OK, "confirm", &word(language, "confirm", "title"), data))
}

/// The who-will-hear block of the confirmation page.
pub(super) fn audience_data(language: Language, audience: &crate::plan::WhoWouldHear) -> Value {
    let named = |group: &str, counts: &std::collections::BTreeMap<String, u64>| {
        counts
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|(key, count)| {
                let name = words(language)[group][key.as_str()].as_str().unwrap_or(key.as_str()).to_owned();
                json!({"key": key, "name": name, "count": count})
            })
            .collect::<Vec<_>>()
    };
    json!({
        "applicants": audience.applicants,
        "bookings": audience.bookings,
        "channels": named("channels", &audience.by_channel),
        "kinds": named("kinds", &audience.by_kind),
        "sms_segments": audience.sms_segments,
        "cost": format!("{} {:.0}", audience.estimated_cost.currency, audience.estimated_cost.amount),
        "offices": audience.offices.iter().filter(|office| office.applicants > 0).map(|office| json!({
            "code": office.office.as_str(),
            "applicants": office.applicants,
            "bookings": office.bookings,
            "first_send": office.first_send_local,
        })).collect::<Vec<_>>(),
    })
}

/// The confirmation page's data.
pub(super) fn confirm_data(
    language: Language,
    offices: &OfficeDirectory,
    change: &StateChange,
    records: &[StateChangeRecord],
    applied: &[crate::store::AppliedChange],
    form: &ChangeForm,
    settle_seconds: u64,
) -> Value {
    let changes: Vec<Value> = applied
        .iter()
        .zip(records)
        .map(|(applied, record)| {
            let zone =
                offices.office(&applied.office).map_or(crate::domain::DEFAULT_ZONE, |office| office.timezone);
            json!({
                "code": applied.office.as_str(),
                "from": applied.from.as_str(),
                "from_name": state_name(language, applied.from),
                "to": applied.to.as_str(),
                "to_name": state_name(language, applied.to),
                "changed": applied.changed,
                "reason": record.reason,
                "until": local(record.expected_at, zone),
            })
        })
        .collect();
    let previews =
        records.first().map(|record| previews(offices, change, record, language)).unwrap_or_default();
    let minutes = settle_seconds.div_ceil(60);
    json!({
        "service_name": service_name(language, change.service),
        "changes": changes,
        "previews": previews,
        "settle_note": word(language, "confirm", "settle").replace("{{minutes}}", &minutes.to_string()),
        "form": form,
    })
}

/// `POST /console/change/apply`: the change, made as `kabar state set` makes it and audited
/// with this staff member, their address and the request id.
pub(super) async fn apply(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    let form = ChangeForm::from_posted(&post.form);
    let change = match check(&state, staff, &form).await? {
        Checked::Ready(change, _) => change,
        Checked::Again(status, error) => return form_page(&state, staff, &form, Some((status, error))).await,
    };
    let applied = match state::set_state_by(&state.api.store, &change, Some(&staff.authed().origin)).await {
        Ok(applied) => applied,
        Err(StateError::Store(err)) => return Err(err.into()),
        Err(err) => {
            return form_page(&state, staff, &form, Some((StatusCode::UNPROCESSABLE_ENTITY, err.to_string())))
                .await
        }
    };
    let changed: Vec<OfficeCode> = applied.iter().filter(|a| a.changed).map(|a| a.office.clone()).collect();
    let ids = state.api.store.current_change_ids(&changed, change.service).await?;
    let offices = state.api.store.office_directory().await?;
    let language = staff.language();
    let zone = changed
        .first()
        .and_then(|code| offices.office(code))
        .map_or(crate::domain::DEFAULT_ZONE, |o| o.timezone);
    let settle = chrono::Duration::seconds(i64::try_from(state.settle_seconds()).unwrap_or(i64::MAX / 2));
    let undo = (!ids.is_empty()).then(|| {
        json!({
            "until": local(Some(change.at + settle), zone),
            "changes": ids.iter().map(|(_, id)| id.to_string()).collect::<Vec<_>>(),
        })
    });
    let outcome = if changed.is_empty() {
        word(language, "result", "nothing")
    } else {
        word(language, "result", "done")
    };
    // An office's open incident, for its page (a new one opens when the planner tells of it).
    let incidents = state.api.store.open_incidents().await?;
    let rows: Vec<Value> = applied
        .iter()
        .map(|a| {
            json!({
                "code": a.office.as_str(),
                "service": service_name(language, a.service),
                "state": a.to.as_str(),
                "state_name": state_name(language, a.to),
                "incident": incidents.iter().find(|incident| incident.office == a.office).map(|incident| incident.id),
            })
        })
        .collect();
    let heading = word(language, "result", "title");
    let kind = if changed.is_empty() { "unchanged" } else { "done" };
    let data = json!({"heading": heading, "kind": kind, "outcome": outcome, "changes": rows, "undo": undo});
    Ok(staff.frame().page(StatusCode::OK, "result", &heading, data))
}

/// `POST /console/change/undo`: every change of the form reverted, or none (too late).
pub(super) async fn undo(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    let language = staff.language();
    let ids: Vec<i64> = post.form.all("change").iter().filter_map(|id| id.parse().ok()).collect();
    if ids.is_empty() {
        return Err(ConsoleError::Api(ApiError::invalid("change", "no change to undo"), language));
    }
    let found = state.api.store.change_offices(&ids).await?;
    if found.len() != ids.len() {
        return Err(ConsoleError::Api(ApiError::NotFound("no such change".into()), language));
    }
    let offices = state.api.store.office_directory().await?;
    let codes: Vec<OfficeCode> = found.into_iter().map(|(_, code)| code).collect();
    staff.authed().require_offices(Role::Officer, &codes, &offices).map_err(staff.deny())?;
    let now = Utc::now();
    let settle = chrono::Duration::seconds(i64::try_from(state.settle_seconds()).unwrap_or(i64::MAX / 2));
    let authed = staff.authed();
    let outcome = state
        .api
        .store
        .undo_changes(&ids, now - settle, authed.caller.actor.as_str(), now, &authed.origin)
        .await?;
    let (status, kind, heading, text, rows) = match outcome {
        UndoOutcome::Undone(rows) => (
            StatusCode::OK,
            "undone",
            word(language, "result", "undone_title"),
            word(language, "result", "undone"),
            rows.iter()
                .map(|(office, service, back)| {
                    json!({
                        "code": office.as_str(),
                        "service": service_name(language, *service),
                        "state": back.as_str(),
                        "state_name": state_name(language, *back),
                    })
                })
                .collect::<Vec<_>>(),
        ),
        UndoOutcome::TooLate(_) => (
            StatusCode::CONFLICT,
            "too_late",
            word(language, "result", "undo"),
            word(language, "result", "too_late"),
            Vec::new(),
        ),
    };
    let data = json!({"heading": heading, "kind": kind, "outcome": text, "changes": rows});
    Ok(staff.frame().page(status, "result", &heading, data))
}

//! The broadcast composer's form: what staff fill in, kept as typed so the form can be shown
//! again, turned into the API's own [`BroadcastBody`] (so the console and `POST
//! /api/v1/broadcasts` read a broadcast the same way), and the composer page's data, with the
//! API's preview when one was asked for.

use serde_json::{json, Value};

use super::pages::{service_name, word, words, zone_label};
use crate::domain::{Language, OfficeCode, Product, Service, Stage, TimeZone, TypedTime};
use crate::http::api::broadcast_views::{BroadcastBody, PreviewAnswer};
use crate::http::api::ApiError;
use crate::plan::broadcast::BroadcastFilter;
use crate::render::Rendered;
use crate::staff::Scope;
use crate::store::OfficeDirectory;

use super::form::Posted;

/// The zones a scheduled time may be read in; empty: the zone of the broadcast's offices.
const ZONES: &[&str] = &["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"];

/// The composer as filled in.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(super) struct ComposeForm {
    pub title: String,
    pub offices: Vec<String>,
    pub stages: Vec<String>,
    pub services: Vec<String>,
    pub products: Vec<String>,
    /// `yes`, `no`, or empty (either).
    pub express: String,
    /// Appointment days, `YYYY-MM-DD`, in each office's own time.
    pub appointment_from: String,
    pub appointment_to: String,
    pub text: String,
    pub text_en: String,
    /// `now` or `later`.
    pub when: String,
    /// `YYYY-MM-DDTHH:MM` from `<input type=datetime-local>`.
    pub send_at: String,
    /// A zone name of [`ZONES`], or empty: the offices' own zone.
    pub zone: String,
}

/// A field the form got wrong, or a broadcast the services refused as given.
#[derive(Debug, Clone)]
pub(super) struct FormError {
    pub field: Option<String>,
    pub detail: String,
}

impl FormError {
    /// The form's own problem, or `None` for a refusal that is a page of its own (role, scope,
    /// our failure).
    pub fn of(err: &ApiError) -> Option<FormError> {
        match err {
            ApiError::Invalid { field, detail } => {
                Some(FormError { field: field.clone(), detail: detail.clone() })
            }
            ApiError::Malformed(detail) => Some(FormError { field: None, detail: detail.clone() }),
            _ => None,
        }
    }
}

fn invalid(field: &str, err: crate::domain::ParseError) -> ApiError {
    ApiError::invalid(field, err.0)
}

fn parse_all<T: std::str::FromStr<Err = crate::domain::ParseError>>(
    values: &[String],
    field: &str,
) -> Result<Vec<T>, ApiError> {
    values.iter().map(|value| value.parse::<T>().map_err(|err| invalid(field, err))).collect()
}

fn optional(value: &str) -> Option<String> {
    Some(value.to_owned()).filter(|value| !value.is_empty())
}

impl ComposeForm {
    pub fn from_posted(form: &Posted) -> ComposeForm {
        ComposeForm {
            title: form.get("title"),
            offices: form.all("office"),
            stages: form.all("stage"),
            services: form.all("service"),
            products: form.all("product"),
            express: form.get("express"),
            appointment_from: form.get("appointment_from"),
            appointment_to: form.get("appointment_to"),
            // A message keeps its line breaks; only the ends are trimmed.
            text: form.raw("text").trim().replace("\r\n", "\n"),
            text_en: form.raw("text_en").trim().replace("\r\n", "\n"),
            when: form.get("when"),
            send_at: form.get("send_at"),
            zone: form.get("zone"),
        }
    }

    /// The broadcast as the API reads it, or the field at fault.
    pub fn body(&self) -> Result<BroadcastBody, ApiError> {
        if self.offices.is_empty() {
            return Err(ApiError::invalid("office", "choose at least one office"));
        }
        let codes: Vec<OfficeCode> = parse_all(&self.offices, "office")?;
        let date = |text: &str, field: &str| match text {
            "" => Ok(None),
            text => crate::domain::parse_date(text).map(Some).map_err(|err| invalid(field, err)),
        };
        let express = match self.express.as_str() {
            "" => None,
            text => Some(crate::domain::parse_flag(text).map_err(|err| invalid("express", err))?),
        };
        let filter = BroadcastFilter {
            offices: codes.iter().map(OfficeCode::as_str).collect::<Vec<_>>().join(","),
            services: parse_all::<Service>(&self.services, "service")?,
            stages: parse_all::<Stage>(&self.stages, "stage")?,
            products: parse_all::<Product>(&self.products, "product")?,
            express,
            appointment_from: date(&self.appointment_from, "appointment_from")?,
            appointment_to: date(&self.appointment_to, "appointment_to")?,
            applied_from: None,
            applied_to: None,
        };
        Ok(BroadcastBody {
            title: optional(&self.title),
            filter,
            template: None,
            text: optional(&self.text),
            text_en: optional(&self.text_en),
            sender: None,
            pickup: None,
            channels: None,
            send_at: self.send_at()?,
        })
    }

    /// When to send: `None` now; a time typed in a chosen zone becomes an instant with its
    /// offset, one typed without a zone is read by the API in the offices' own zone.
    fn send_at(&self) -> Result<Option<String>, ApiError> {
        if self.when != "later" {
            return Ok(None);
        }
        if self.send_at.is_empty() {
            return Err(ApiError::invalid("send_at", "choose the date and time to send, or send now"));
        }
        if self.zone.is_empty() {
            return Ok(Some(self.send_at.clone()));
        }
        let zone: TimeZone = self.zone.parse().map_err(|err| invalid("zone", err))?;
        let typed: TypedTime = self.send_at.parse().map_err(|err| invalid("send_at", err))?;
        let at = typed.in_zone(zone).map_err(|err| invalid("send_at", err))?;
        Ok(Some(at.with_timezone(&zone.0).to_rfc3339()))
    }
}

fn choices<T: Copy>(
    all: &[T],
    chosen: &[String],
    key: impl Fn(T) -> &'static str,
    name: impl Fn(T) -> String,
) -> Vec<Value> {
    all.iter()
        .map(|&value| {
            let key = key(value);
            json!({"key": key, "name": name(value), "checked": chosen.iter().any(|c| c == key)})
        })
        .collect()
}

/// The composer's data: the offices in scope, the filter's choices as filled in, the error.
pub(super) fn compose_data(
    language: Language,
    directory: &OfficeDirectory,
    scope: &Scope,
    form: &ComposeForm,
    error: Option<&FormError>,
) -> Value {
    let offices = super::pages::office_choices(directory, scope, &form.offices);
    let open: Vec<Stage> = Stage::ALL.iter().copied().filter(|stage| !stage.is_closed()).collect();
    let stages = choices(&open, &form.stages, Stage::as_str, |s| word(language, "bstages", s.as_str()));
    let services = choices(Service::ALL, &form.services, Service::as_str, |s| service_name(language, s));
    let products =
        choices(Product::ALL, &form.products, Product::as_str, |p| word(language, "bproducts", p.as_str()));
    let zones: Vec<Value> = ZONES
        .iter()
        .filter_map(|name| name.parse::<TimeZone>().ok())
        .map(|zone| json!({"key": zone.name(), "name": zone_label(zone), "selected": form.zone == zone.name()}))
        .collect();
    let error = error.map(|error| {
        let field = error.field.as_deref().map(|field| {
            let key = field.trim_start_matches("filter.");
            words(language)["compose"]["fields"][key].as_str().unwrap_or(key).to_owned()
        });
        json!({"field": field, "detail": error.detail})
    });
    json!({
        "offices": offices,
        "stages": stages,
        "services": services,
        "products": products,
        "zones": zones,
        "express_any": form.express.is_empty(),
        "express_yes": form.express == "yes",
        "express_no": form.express == "no",
        "later": form.when == "later",
        "form": form,
        "error": error,
    })
}

/// The preview block: who it reaches by channel, the cost, and each sample as applicants read it.
pub(super) fn preview_data(language: Language, preview: &PreviewAnswer) -> Value {
    let channel_name = |key: &str| words(language)["channels"][key].as_str().unwrap_or(key).to_owned();
    let channels: Vec<Value> = preview
        .by_channel
        .iter()
        .map(|(key, count)| json!({"key": key, "name": channel_name(key), "count": count}))
        .collect();
    let samples: Vec<Value> = preview
        .samples
        .iter()
        .map(|sample| {
            let (subject, text, segments) = match &sample.rendered {
                Rendered::Sms(sms) => (None, sms.text.clone(), Some(sms.segments)),
                Rendered::Whatsapp(message) => (None, message.text.clone(), None),
                Rendered::Email(email) => (Some(email.subject.clone()), email.text.clone(), None),
            };
            let language_name = word(language, "compose", &format!("lang_{}", sample.language.as_str()));
            json!({
                "channel": sample.channel.as_str(),
                "label": format!("{} · {language_name}", channel_name(sample.channel.as_str())),
                "lang": sample.language.as_str(),
                "subject": subject,
                "text": text,
                "segments": segments,
            })
        })
        .collect();
    let cost = &preview.estimated_cost;
    json!({
        "applicants": preview.applicants,
        "offices": preview.offices,
        "channels": channels,
        "unreachable": preview.unreachable,
        "sms_segments": preview.sms_segments,
        "cost": format!("{} {:.0}", cost.currency, cost.total),
        "needs_approval": preview.needs_approval,
        "samples": samples,
    })
}

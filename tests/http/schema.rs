//! Answers checked against the served OpenAPI document: the status must be documented for the
//! route, the content type must be one the document names for it, and a JSON body must match the
//! documented schema (JSON Schema 2020-12, the dialect of OpenAPI 3.1).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

pub struct Contract {
    document: Value,
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

impl Contract {
    pub fn new(document: Value) -> Contract {
        Contract { document, validators: Mutex::new(HashMap::new()) }
    }

    /// Whether the answer `status`, `content_type`, `body` to `route` (`GET /api/v1/me`) is one
    /// the document describes; the mismatch otherwise.
    pub fn check(
        &self,
        route: &str,
        status: u16,
        content_type: Option<&str>,
        body: &Value,
    ) -> Result<(), String> {
        let (method, path) = route.split_once(' ').expect("METHOD path");
        let responses = &self.document["paths"][path][method.to_lowercase()]["responses"];
        let status_key = status.to_string();
        let response = match (responses.get(&status_key), responses.get("default")) {
            (Some(response), _) | (None, Some(response)) => response,
            (None, None) => return Err(format!("status {status} is not documented")),
        };
        let response = self.resolve(response);
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            let empty = body.is_null() || body.as_str() == Some("");
            return if empty {
                Ok(())
            } else {
                Err(format!("status {status} is documented without a body: {body}"))
            };
        };
        let media = content_type.map(|value| value.split(';').next().unwrap_or(value).trim()).unwrap_or("");
        let Some(documented) = content.get(media) else {
            let names: Vec<&String> = content.keys().collect();
            return Err(format!(
                "content type {media:?} is not documented for {status} (documented: {names:?})"
            ));
        };
        if !media.ends_with("json") {
            // CSV and JSON lines: the document names the type; rows are checked by the report tests.
            return Ok(());
        }
        let Some(schema) = documented.get("schema") else { return Ok(()) };
        let key = format!("{route} {status} {media}");
        let validator = {
            let mut validators = self.validators.lock().unwrap();
            match validators.get(&key) {
                Some(validator) => validator.clone(),
                None => {
                    // The response's schema as the root, with the document's components beside
                    // it, so `#/components/schemas/…` references resolve.
                    let mut root = schema.clone();
                    if let Value::Object(fields) = &mut root {
                        fields.insert("components".into(), self.document["components"].clone());
                    }
                    let validator = jsonschema::draft202012::new(&root)
                        .map_err(|err| format!("the documented schema does not compile: {err}"))?;
                    let validator = std::sync::Arc::new(validator);
                    validators.insert(key, validator.clone());
                    validator
                }
            }
        };
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|error| format!("at {:?}: {error}", error.instance_path().to_string()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("the body does not match the documented schema: {}; body: {body}", errors.join("; ")))
        }
    }

    /// A response given by `$ref` (`#/components/responses/…`), followed.
    fn resolve<'a>(&'a self, response: &'a Value) -> &'a Value {
        match response.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference.trim_start_matches('#');
                self.document.pointer(pointer).unwrap_or(response)
            }
            None => response,
        }
    }
}

/// The contract of the server `api` serves.
pub async fn served(api: &crate::api_support::Api) -> Contract {
    let response = api.http.get(format!("{}/api/v1/openapi.json", api.base)).send().await.unwrap();
    Contract::new(response.json().await.unwrap())
}

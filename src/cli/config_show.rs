//! `kabar config`: every section by its TOML name, with the effective value of each key, where
//! it came from (default, the file, the environment, a flag) and every secret masked. Sections
//! left at their defaults or not configured are shown too, so an operator sees what exists.

use std::path::{Path, PathBuf};

use figment::Figment;
use serde_json::{Map, Value};

use crate::config::{Config, Overrides};

/// Sections shown even when nothing in them is set (the providers and receipts are off unless
/// configured, and are not serialised because they hold secrets).
const ALWAYS: &[&str] = &[
    "http",
    "import",
    "templates",
    "planner",
    "notices",
    "delivery",
    "delivery.twilio",
    "delivery.infobip",
    "delivery.whatsapp",
    "delivery.smtp",
    "delivery.log",
    "receipts",
    "retention",
];

/// Key names whose values are never printed.
fn is_secret(key: &str) -> bool {
    ["token", "secret", "password", "api_key", "auth", "unsubscribe_key"]
        .iter()
        .any(|word| key.contains(word))
}

/// The layers a value may come from, highest first.
struct Sources {
    flags: Value,
    env: Value,
    file: Option<(PathBuf, Value)>,
}

fn as_json(figment: &Figment) -> Value {
    figment.extract::<Value>().unwrap_or(Value::Object(Map::new()))
}

fn lookup<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(*key)).filter(|value| !value.is_null())
}

impl Sources {
    fn of(&self, path: &[&str]) -> String {
        if lookup(&self.flags, path).is_some() {
            return "command line".into();
        }
        if lookup(&self.env, path).is_some() {
            let name = path.iter().map(|key| key.to_ascii_uppercase()).collect::<Vec<_>>().join("__");
            return format!("environment KABAR_{name}");
        }
        match &self.file {
            Some((file, value)) if lookup(value, path).is_some() => format!("file {}", file.display()),
            _ => "default".into(),
        }
    }

    /// What the user layers set, merged (for sections kabar does not serialise).
    fn merged(&self) -> Value {
        let mut merged = Value::Object(Map::new());
        for layer in [self.file.as_ref().map(|(_, value)| value), Some(&self.env), Some(&self.flags)]
            .into_iter()
            .flatten()
        {
            merge(&mut merged, layer);
        }
        merged
    }
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                merge(into.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (into, from) => *into = from.clone(),
    }
}

/// The whole display.
pub fn show(config: &Config, file: Option<&Path>, overrides: &Overrides) -> String {
    let (file, env, flags) = Config::layers(file, overrides);
    let sources = Sources {
        flags: as_json(&flags),
        env: as_json(&env),
        file: file.map(|(path, figment)| (path, as_json(&figment))),
    };
    let mut effective = serde_json::to_value(config).unwrap_or(Value::Object(Map::new()));
    // The URL as kabar prints it: a password is masked.
    effective["database_url"] = Value::String(config.database_url.to_string());
    let mut user = sources.merged();
    merge(&mut user, &effective);
    let mut out = vec![format!(
        "# the effective configuration: defaults, then {}, then KABAR_* variables, then flags;\n\
         # each value says where it came from, secrets are masked",
        match &sources.file {
            Some((path, _)) => format!("the file {}", path.display()),
            None => "no configuration file".to_owned(),
        }
    )];
    let root = user.as_object().cloned().unwrap_or_default();
    for (key, value) in &root {
        if !value.is_object() {
            out.push(line(key, value, &[key.as_str()], &sources));
        }
    }
    let mut sections: Vec<String> = ALWAYS.iter().map(|name| (*name).to_owned()).collect();
    collect_tables(&user, "", &mut sections);
    // Each nested table right after its own section; sections added since (not in ALWAYS) last.
    let rank = |name: &String| {
        let top = name.split('.').next().unwrap_or_default();
        ALWAYS.iter().position(|known| *known == top).unwrap_or(ALWAYS.len())
    };
    sections.sort_by_key(rank);
    for section in sections {
        let path: Vec<&str> = section.split('.').collect();
        out.push(format!("\n[{section}]"));
        let table = lookup(&user, &path).and_then(Value::as_object);
        let scalars: Vec<_> = table
            .map(|table| table.iter().filter(|(_, value)| !value.is_object()).collect())
            .unwrap_or_default();
        if scalars.is_empty() && table.is_none_or(|table| table.is_empty()) {
            out.push("# not configured".into());
        }
        for (key, value) in scalars {
            let mut at = path.clone();
            at.push(key);
            out.push(line(key, value, &at, &sources));
        }
    }
    out.join("\n")
}

/// Every nested table's dotted name, after the ones already listed.
fn collect_tables(value: &Value, prefix: &str, into: &mut Vec<String>) {
    let Some(table) = value.as_object() else { return };
    for (key, value) in table {
        if value.is_object() {
            let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            if !into.contains(&name) {
                into.push(name.clone());
            }
            collect_tables(value, &name, into);
        }
    }
}

fn line(key: &str, value: &Value, path: &[&str], sources: &Sources) -> String {
    let shown = if value.is_null() {
        return format!("# {key} is not set  # {}", sources.of(path));
    } else if is_secret(key) {
        "\"********\"".to_owned()
    } else {
        toml::Value::try_from(value).map(|value| value.to_string()).unwrap_or_else(|_| value.to_string())
    };
    format!("{key} = {shown}  # {}", sources.of(path))
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment's own error type
mod tests {
    use super::*;

    #[test]
    fn every_section_is_shown_with_its_source_and_secrets_masked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "kabar.toml",
                "[http]\nmetrics_token = \"metrics-s3cret-metrics-s3cret\"\n[delivery.twilio]\naccount_sid = \"AC123\"\nauth_token = \"tw-s3cret\"\nfrom = \"+15005550006\"\n",
            )?;
            jail.set_env("KABAR_IMPORT__BATCH_SIZE", "500");
            let overrides = Overrides { log: Some("debug".into()), ..Overrides::default() };
            let config = Config::load(None, &overrides).map_err(|err| err.to_string())?;
            let shown = show(&config, None, &overrides);
            for section in ALWAYS {
                assert!(shown.contains(&format!("\n[{section}]\n")), "[{section}] missing:\n{shown}");
            }
            for expected in [
                "log = \"debug\"  # command line",
                "batch_size = 500  # environment KABAR_IMPORT__BATCH_SIZE",
                "metrics_token = \"********\"  # file kabar.toml",
                "auth_token = \"********\"  # file kabar.toml",
                "account_sid = \"AC123\"  # file kabar.toml",
                "settle_seconds = 120  # default",
                "[delivery.smtp]\n# not configured",
                "[receipts]\n# not configured",
            ] {
                assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
            }
            assert!(!shown.contains("s3cret"), "{shown}");
            Ok(())
        });
    }
}

use std::fmt;
use std::str::FromStr;

/// Where the store lives: a SQLite file (the embedded default) or a PostgreSQL server. `Display`
/// and `Debug` never show a password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite database file, created on first use.
    Sqlite(String),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(url::Url),
}

/// What was wrong with a database URL.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DatabaseUrlError(String);

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;
    fn from_str(input: &str) -> Result<Self, DatabaseUrlError> {
        let text = input.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let url = url::Url::parse(text).map_err(|err| {
                DatabaseUrlError(format!(
                    "not a valid PostgreSQL URL ({err}); expected postgres://user@host:5432/database"
                ))
            })?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(DatabaseUrlError("the PostgreSQL URL has no host".into()));
            }
            return Ok(DatabaseUrl::Postgres(url));
        }
        let path = text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")).unwrap_or(text);
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(DatabaseUrlError(
                "empty database URL; give a SQLite file (kabar.db, sqlite://kabar.db) or postgres://…".into(),
            ));
        }
        if text.contains("://") && !text.starts_with("sqlite://") {
            return Err(DatabaseUrlError(format!(
                "unsupported database URL scheme {:?}; use a SQLite file path or postgres://…",
                text.split("://").next().unwrap_or_default()
            )));
        }
        Ok(DatabaseUrl::Sqlite(path.to_owned()))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{path}"),
            DatabaseUrl::Postgres(url) => {
                let mut shown = url.clone();
                if shown.password().is_some() {
                    // set_password only fails for URLs that cannot have one, which a parsed
                    // postgres:// URL always can.
                    let _ = shown.set_password(Some("********"));
                }
                write!(f, "{shown}")
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

impl<'de> serde::Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for DatabaseUrl {
    /// Serialises the full URL: only configuration layering uses this, never output.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DatabaseUrl::Sqlite(path) => serializer.serialize_str(&format!("sqlite://{path}")),
            DatabaseUrl::Postgres(url) => serializer.serialize_str(url.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_in_every_spelling() {
        for text in ["kabar.db", "sqlite:kabar.db", "sqlite://kabar.db", "sqlite://kabar.db?mode=rwc"] {
            assert_eq!(text.parse::<DatabaseUrl>().unwrap(), DatabaseUrl::Sqlite("kabar.db".into()));
        }
    }

    #[test]
    fn postgres_passwords_are_never_shown() {
        let url: DatabaseUrl = "postgres://kabar:s3cret@db.example:5432/kabar".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://kabar:********@db.example:5432/kabar");
        assert!(!format!("{url:?}").contains("s3cret"));
    }

    #[test]
    fn unknown_schemes_are_refused() {
        let err = "mysql://root@localhost/kabar".parse::<DatabaseUrl>().unwrap_err();
        assert!(err.to_string().contains("unsupported database URL scheme \"mysql\""), "{err}");
        assert!("".parse::<DatabaseUrl>().is_err());
    }
}

//! The staff console's sessions and each staff member's console language. Only the SHA-256 of a
//! session id is stored; the id itself lives in the browser's cookie. Logins and logouts are
//! audited in the same transaction; a session's `last_seen_at` is bookkeeping, as a token's
//! `last_used_at` is.

use chrono::{DateTime, Utc};

use super::{epoch, from_epoch, on_reader, on_writer, parse_stored, AuditLog, Store, StoreError, WritePool};
use crate::audit::Origin;
use crate::domain::Language;
use crate::staff::{Role, Scope, StaffAccount, Username};

/// A live session, with the account it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleSession {
    pub account: StaffAccount,
    pub language: Language,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

type SessionRow = (String, String, String, String, bool, i64, Option<i64>, String, i64, i64);

impl Store {
    /// Opens a session for `username` and ends the one it replaces (the id rotates at login), in
    /// one transaction; sessions past `expired_before` (their last request) are forgotten too.
    pub async fn open_console_session(
        &self,
        id_hash: &str,
        replaces: Option<&str>,
        username: &Username,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM console_sessions WHERE last_seen_at < $1 OR id_hash = $2")
                .bind(epoch(expired_before))
                .bind(replaces.unwrap_or(""))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO console_sessions (id_hash, username, created_at, last_seen_at)
                 VALUES ($1, $2, $3, $3)",
            )
            .bind(id_hash)
            .bind(username.as_str())
            .bind(epoch(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The session with this id hash and its account, whatever its age: the caller applies the
    /// timeouts (they are configuration, not data).
    pub async fn console_session(&self, id_hash: &str) -> Result<Option<ConsoleSession>, StoreError> {
        let row: Option<SessionRow> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT s.username, s.display_name, s.role, s.scope, s.disabled, s.created_at, s.last_login_at,
                        s.language, c.created_at, c.last_seen_at
                 FROM console_sessions c JOIN staff s ON s.username = c.username
                 WHERE c.id_hash = $1",
            )
            .bind(id_hash)
            .fetch_optional(pool)
            .await?
        });
        let Some((
            username,
            display_name,
            role,
            scope,
            disabled,
            created,
            last_login,
            language,
            opened,
            seen,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(ConsoleSession {
            account: StaffAccount {
                username: parse_stored("staff.username", &username)?,
                display_name,
                role: parse_stored::<Role>("staff.role", &role)?,
                scope: parse_stored::<Scope>("staff.scope", &scope)?,
                disabled,
                created_at: from_epoch(created)?,
                last_login_at: last_login.map(from_epoch).transpose()?,
            },
            language: parse_stored("staff.language", &language)?,
            created_at: from_epoch(opened)?,
            last_seen_at: from_epoch(seen)?,
        }))
    }

    /// Notes a request of the session (bookkeeping for the idle timeout, not audited).
    pub async fn touch_console_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            sqlx::query("UPDATE console_sessions SET last_seen_at = $2 WHERE id_hash = $1")
                .bind(id_hash)
                .bind(epoch(now))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Ends a session. With an origin (a logout), the end is audited; a session that timed out
    /// is simply forgotten. `false` when there was no such session.
    pub async fn close_console_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        origin: Option<&Origin>,
    ) -> Result<bool, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let username: Option<String> =
                sqlx::query_scalar("DELETE FROM console_sessions WHERE id_hash = $1 RETURNING username")
                    .bind(id_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let (Some(origin), Some(username)) = (origin, &username) {
                tx.append_audit(origin.entry(now, "staff.logout", format!("staff:{username}"))).await?;
            }
            tx.commit().await?;
            Ok(username.is_some())
        })
    }

    /// Sets the language the console speaks to `username` (audited); `false` when there is no
    /// such account.
    pub async fn set_staff_language(
        &self,
        username: &Username,
        language: Language,
        now: DateTime<Utc>,
        origin: &Origin,
    ) -> Result<bool, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let updated = sqlx::query("UPDATE staff SET language = $2 WHERE username = $1")
                .bind(username.as_str())
                .bind(language.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if updated {
                let entry = origin
                    .entry(now, "staff.language", format!("staff:{username}"))
                    .with_summary(serde_json::json!({"language": language.as_str()}));
                tx.append_audit(entry).await?;
            }
            tx.commit().await?;
            Ok(updated)
        })
    }
}

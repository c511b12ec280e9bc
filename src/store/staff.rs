//! Staff accounts, API tokens and idempotency keys. Every write appends its audit row in the same
//! transaction.

use chrono::{DateTime, Utc};

use super::{epoch, from_epoch, on_reader, on_writer, parse_stored, AuditLog, Store, StoreError, WritePool};
use crate::audit::Origin;
use crate::staff::{Role, Scope, StaffAccount, TokenName, TokenRecord, Username};

const STAFF_COLUMNS: &str = "username, display_name, role, scope, disabled, created_at, last_login_at";
const TOKEN_COLUMNS: &str =
    "id, name, prefix, role, scope, created_by, created_at, expires_at, last_used_at, revoked_at";

type StaffRow = (String, String, String, String, bool, i64, Option<i64>);
type TokenRow = (i64, String, String, String, String, String, i64, Option<i64>, Option<i64>, Option<i64>);
type StaffRowAndHash = (String, String, String, String, bool, i64, Option<i64>, String);
type TokenRowAndHash =
    (i64, String, String, String, String, String, i64, Option<i64>, Option<i64>, Option<i64>, String);

fn staff_account(
    (username, display_name, role, scope, disabled, created_at, last_login_at): StaffRow,
) -> Result<StaffAccount, StoreError> {
    Ok(StaffAccount {
        username: parse_stored("staff.username", &username)?,
        display_name,
        role: parse_stored::<Role>("staff.role", &role)?,
        scope: parse_stored::<Scope>("staff.scope", &scope)?,
        disabled,
        created_at: from_epoch(created_at)?,
        last_login_at: last_login_at.map(from_epoch).transpose()?,
    })
}

fn token_record(
    (id, name, prefix, role, scope, created_by, created_at, expires_at, last_used_at, revoked_at): TokenRow,
) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id,
        name: parse_stored("api_tokens.name", &name)?,
        prefix,
        role: parse_stored::<Role>("api_tokens.role", &role)?,
        scope: parse_stored::<Scope>("api_tokens.scope", &scope)?,
        created_by,
        created_at: from_epoch(created_at)?,
        expires_at: expires_at.map(from_epoch).transpose()?,
        last_used_at: last_used_at.map(from_epoch).transpose()?,
        revoked_at: revoked_at.map(from_epoch).transpose()?,
    })
}

/// What an account looks like in an audit summary: no hash, no password.
fn summary(account: &StaffAccount) -> serde_json::Value {
    serde_json::json!({
        "role": account.role,
        "scope": account.scope.to_string(),
        "disabled": account.disabled,
    })
}

/// The first answer to an idempotent request, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotentStart {
    /// First time: answer, then [`Store::finish_idempotent`].
    New,
    /// Answered before: the stored status, content type and body.
    Replay { status: u16, content_type: Option<String>, body: String },
    /// The key was used for another request.
    Mismatch,
    /// The first request with this key is still being answered.
    InProgress,
}

impl Store {
    /// Adds an account; `false` when the username is taken (nothing written).
    pub async fn insert_staff(
        &self,
        account: &StaffAccount,
        password_hash: &str,
        origin: &Origin,
    ) -> Result<bool, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO staff (username, display_name, role, scope, disabled, password_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (username) DO NOTHING",
            )
            .bind(account.username.as_str())
            .bind(&account.display_name)
            .bind(account.role.as_str())
            .bind(account.scope.to_string())
            .bind(account.disabled)
            .bind(password_hash)
            .bind(epoch(account.created_at))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted {
                let entry = origin
                    .entry(account.created_at, "staff.add", format!("staff:{}", account.username))
                    .with_summary(serde_json::json!({"after": summary(account)}));
                tx.append_audit(entry).await?;
            }
            tx.commit().await?;
            Ok(inserted)
        })
    }

    pub async fn staff_accounts(&self) -> Result<Vec<StaffAccount>, StoreError> {
        let rows: Vec<StaffRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY username"))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(staff_account).collect()
    }

    /// An account and its password hash.
    pub async fn staff_account(
        &self,
        username: &Username,
    ) -> Result<Option<(StaffAccount, String)>, StoreError> {
        let row: Option<StaffRowAndHash> = on_reader!(self, pool => {
            sqlx::query_as(&format!("SELECT {STAFF_COLUMNS}, password_hash FROM staff WHERE username = $1"))
                .bind(username.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(|(u, d, r, s, dis, c, l, hash)| Ok((staff_account((u, d, r, s, dis, c, l))?, hash)))
            .transpose()
    }

    /// Replaces an account's role, scope, disabled flag, name or password hash (each `None` keeps
    /// it); `None` when there is no such account. The audit row holds the before and after.
    pub async fn update_staff(
        &self,
        username: &Username,
        change: &crate::staff::StaffChange,
        password_hash: Option<&str>,
        at: DateTime<Utc>,
        origin: &Origin,
    ) -> Result<Option<StaffAccount>, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<StaffRow> =
                sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE username = $1"))
                    .bind(username.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(row) = row else { return Ok(None) };
            let before = staff_account(row)?;
            let mut after = before.clone();
            if let Some(role) = change.role {
                after.role = role;
            }
            if let Some(scope) = &change.scope {
                after.scope = scope.clone();
            }
            if let Some(disabled) = change.disabled {
                after.disabled = disabled;
            }
            if let Some(name) = &change.display_name {
                after.display_name = name.clone();
            }
            sqlx::query(
                "UPDATE staff SET role = $2, scope = $3, disabled = $4, display_name = $5,
                                  password_hash = COALESCE($6, password_hash)
                 WHERE username = $1",
            )
            .bind(username.as_str())
            .bind(after.role.as_str())
            .bind(after.scope.to_string())
            .bind(after.disabled)
            .bind(&after.display_name)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
            let mut summary = serde_json::json!({"before": summary(&before), "after": summary(&after)});
            if password_hash.is_some() {
                summary["password"] = serde_json::json!("reset");
            }
            let entry = origin.entry(at, change.action(password_hash.is_some()), format!("staff:{username}"))
                .with_summary(summary);
            tx.append_audit(entry).await?;
            tx.commit().await?;
            Ok(Some(after))
        })
    }

    /// Records a successful login (and audits it).
    pub async fn record_login(
        &self,
        username: &Username,
        at: DateTime<Utc>,
        origin: &Origin,
    ) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE staff SET last_login_at = $2 WHERE username = $1")
                .bind(username.as_str())
                .bind(epoch(at))
                .execute(&mut *tx)
                .await?;
            tx.append_audit(origin.entry(at, "staff.login", format!("staff:{username}"))).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Adds a token; `false` when the name (or, very rarely, the prefix) is taken.
    pub async fn insert_token(
        &self,
        token: &TokenRecord,
        hash: &str,
        origin: &Origin,
    ) -> Result<bool, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO api_tokens (name, prefix, token_hash, role, scope, created_by, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT DO NOTHING",
            )
            .bind(token.name.as_str())
            .bind(&token.prefix)
            .bind(hash)
            .bind(token.role.as_str())
            .bind(token.scope.to_string())
            .bind(&token.created_by)
            .bind(epoch(token.created_at))
            .bind(token.expires_at.map(epoch))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted {
                let entry = origin.entry(token.created_at, "token.create", format!("token:{}", token.name))
                    .with_summary(serde_json::json!({
                        "prefix": token.prefix,
                        "role": token.role,
                        "scope": token.scope.to_string(),
                        "expires_at": token.expires_at,
                    }));
                tx.append_audit(entry).await?;
            }
            tx.commit().await?;
            Ok(inserted)
        })
    }

    pub async fn api_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows: Vec<TokenRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY name"))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(token_record).collect()
    }

    /// The token with this stored prefix, and its hash.
    pub async fn token_by_prefix(&self, prefix: &str) -> Result<Option<(TokenRecord, String)>, StoreError> {
        let row: Option<TokenRowAndHash> = on_reader!(self, pool => {
            sqlx::query_as(&format!("SELECT {TOKEN_COLUMNS}, token_hash FROM api_tokens WHERE prefix = $1"))
                .bind(prefix)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(i, n, p, r, s, c, ca, e, l, rv, hash)| {
            Ok((token_record((i, n, p, r, s, c, ca, e, l, rv))?, hash))
        })
        .transpose()
    }

    /// Revokes a token; `None` when there is no such token, and `false` beside the record when it
    /// already was revoked (nothing written then).
    pub async fn revoke_token(
        &self,
        name: &TokenName,
        at: DateTime<Utc>,
        origin: &Origin,
    ) -> Result<Option<(TokenRecord, bool)>, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let revoked = sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL")
                .bind(name.as_str())
                .bind(epoch(at))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            let row: Option<TokenRow> =
                sqlx::query_as(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE name = $1"))
                    .bind(name.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let record = row.map(token_record).transpose()?;
            if revoked {
                if let Some(record) = &record {
                    let entry = origin.entry(at, "token.revoke", format!("token:{name}"))
                        .with_summary(serde_json::json!({"prefix": record.prefix}));
                    tx.append_audit(entry).await?;
                }
            }
            tx.commit().await?;
            Ok(record.map(|record| (record, revoked)))
        })
    }

    /// Notes that a token was used (bookkeeping, not audited).
    pub async fn touch_token(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(id)
                .bind(epoch(at))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Claims an idempotency key for `actor`, or says what became of it. Keys older than
    /// `ttl_seconds` are forgotten first.
    pub async fn begin_idempotent(
        &self,
        actor: &str,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
        ttl_seconds: i64,
    ) -> Result<IdempotentStart, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(epoch(now) - ttl_seconds)
                .execute(&mut *tx)
                .await?;
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (actor, idem_key, request_hash, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (actor, idem_key) DO NOTHING",
            )
            .bind(actor)
            .bind(key)
            .bind(request_hash)
            .bind(epoch(now))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let start = if inserted {
                IdempotentStart::New
            } else {
                let (hash, status, content_type, body): (String, Option<i64>, Option<String>, Option<String>) =
                    sqlx::query_as(
                        "SELECT request_hash, status, content_type, body FROM idempotency_keys
                         WHERE actor = $1 AND idem_key = $2",
                    )
                    .bind(actor)
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
                match status {
                    _ if hash != request_hash => IdempotentStart::Mismatch,
                    None => IdempotentStart::InProgress,
                    Some(status) => IdempotentStart::Replay {
                        status: u16::try_from(status).map_err(|_| StoreError::Corrupt(format!("idempotency status {status}")))?,
                        content_type,
                        body: body.unwrap_or_default(),
                    },
                }
            };
            tx.commit().await?;
            Ok(start)
        })
    }

    /// Stores the answer to a claimed key; `None` forgets the key (the request failed on our side
    /// and may be tried again).
    pub async fn finish_idempotent(
        &self,
        actor: &str,
        key: &str,
        answer: Option<(u16, Option<&str>, &str)>,
    ) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            match answer {
                Some((status, content_type, body)) => {
                    sqlx::query(
                        "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5
                         WHERE actor = $1 AND idem_key = $2",
                    )
                    .bind(actor)
                    .bind(key)
                    .bind(i64::from(status))
                    .bind(content_type)
                    .bind(body)
                    .execute(pool)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM idempotency_keys WHERE actor = $1 AND idem_key = $2")
                        .bind(actor)
                        .bind(key)
                        .execute(pool)
                        .await?;
                }
            }
        });
        Ok(())
    }
}

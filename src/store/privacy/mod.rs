//! The statements of the retention policy and of erasure (see [`crate::privacy`]).
//!
//! An anonymised message keeps its office, notice, channel, status and times, and loses what
//! leads to a person: `applicant_id` becomes the message's own id negated (unique, as the
//! message's unique keys need, and never an applicant's), `booking_ids` becomes `[]`, and the
//! provider's id and error text are wiped, here and on every try.

mod person;
mod purge;

/// Wipes the error text of every try of the messages `condition` selects (on `messages`, not yet
/// anonymised). Run before [`anonymise_sql`], which changes what the condition sees.
fn wipe_attempts_sql(condition: &str) -> String {
    format!(
        "UPDATE message_attempts SET error = NULL
         WHERE error IS NOT NULL
           AND message_id IN (SELECT id FROM messages WHERE applicant_id >= 0 AND ({condition}))"
    )
}

/// Anonymises the messages `condition` selects.
fn anonymise_sql(condition: &str) -> String {
    format!(
        "UPDATE messages
         SET applicant_id = -id, booking_ids = '[]', provider_message_id = NULL, failure_reason = NULL
         WHERE applicant_id >= 0 AND ({condition})"
    )
}

/// Masks the numbers of the replies `condition` selects (on `inbound_replies`) and returns how
/// many; the few STOP replies are masked one by one, by the same rule as every masked number.
macro_rules! mask_replies {
    ($tx:expr, $condition:expr, $($bind:expr),*) => {{
        let sql = format!("SELECT id, mobile FROM inbound_replies WHERE mobile NOT LIKE '%*%' AND ({})", $condition);
        let replies: Vec<(i64, String)> = sqlx::query_as(&sql)$(.bind($bind))*.fetch_all(&mut *$tx).await?;
        for (id, mobile) in &replies {
            sqlx::query("UPDATE inbound_replies SET mobile = $1 WHERE id = $2")
                .bind($crate::domain::mask_number(mobile))
                .bind(id)
                .execute(&mut *$tx)
                .await?;
        }
        replies.len() as u64
    }};
}
use mask_replies;

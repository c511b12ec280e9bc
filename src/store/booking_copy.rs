//! PostgreSQL's way in for a batch of bookings: `COPY` into two temporary tables, then two
//! set-based upserts with the same conflict rules as the multi-row statements SQLite runs: a
//! batch of 25,000 rows is two statements to plan and a few round trips, instead of 250
//! statements of 100 rows bound value by value.

use std::fmt::Write as _;

use sqlx::PgConnection;

use super::booking_writes::{
    distinct_applicants, distinct_bookings, stored_whatsapp, APPLICANT_COLUMNS, BOOKING_COLUMNS,
    ON_APPLICANT_CONFLICT, ON_BOOKING_CONFLICT,
};
use super::StoreError;
use crate::domain::Booking;

/// The staging tables, one pair per connection, emptied at each commit and at each batch.
const STAGE: [&str; 2] = [
    "CREATE TEMPORARY TABLE kabar_import_applicants (
         mobile TEXT NOT NULL, name TEXT NOT NULL, email TEXT, whatsapp TEXT, language TEXT
     ) ON COMMIT DELETE ROWS",
    "CREATE TEMPORARY TABLE kabar_import_bookings (
         ord BIGINT NOT NULL, code TEXT NOT NULL, mobile TEXT NOT NULL, office_code TEXT NOT NULL,
         unit_code TEXT, holder_name TEXT NOT NULL, appointment_at BIGINT NOT NULL,
         product TEXT NOT NULL, express BOOLEAN NOT NULL, stage TEXT NOT NULL, applied_on TEXT
     ) ON COMMIT DELETE ROWS",
];

/// Writes one batch inside the open transaction `conn`; returns the booking rows written
/// (inserted or changed).
pub(super) async fn upsert_batch(
    conn: &mut PgConnection,
    batch: &[Booking],
    at: i64,
) -> Result<u64, StoreError> {
    let staged: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('pg_temp.kabar_import_bookings')::text")
            .fetch_one(&mut *conn)
            .await?;
    // A whole-file transaction (`--strict`, an initial load) runs several batches before its
    // commit empties the tables.
    let statements = match staged {
        None => &STAGE[..],
        Some(_) => &["TRUNCATE kabar_import_applicants, kabar_import_bookings"][..],
    };
    for statement in statements {
        sqlx::query(statement).execute(&mut *conn).await?;
    }

    let mut rows = String::with_capacity(batch.len() * 64);
    for applicant in distinct_applicants(batch) {
        field(&mut rows, Some(applicant.mobile.e164()));
        field(&mut rows, Some(&applicant.name));
        field(&mut rows, applicant.email.as_ref().map(|email| email.as_str()));
        field(&mut rows, stored_whatsapp(&applicant));
        field(&mut rows, applicant.language.map(|language| language.as_str()));
        end_row(&mut rows);
    }
    copy(conn, "kabar_import_applicants (mobile, name, email, whatsapp, language)", &rows).await?;

    rows.clear();
    for (ord, booking) in distinct_bookings(batch).into_iter().enumerate() {
        let _ = write!(rows, "{ord}\t");
        field(&mut rows, Some(booking.code.as_str()));
        field(&mut rows, Some(booking.applicant.mobile.e164()));
        field(&mut rows, Some(booking.office.as_str()));
        field(&mut rows, booking.unit.as_ref().map(|unit| unit.as_str()));
        field(&mut rows, Some(&booking.holder_name));
        let _ = write!(rows, "{}\t", booking.appointment_at.timestamp());
        field(&mut rows, Some(booking.product.as_str()));
        field(&mut rows, Some(if booking.express { "t" } else { "f" }));
        field(&mut rows, Some(booking.stage.as_str()));
        field(&mut rows, booking.applied_on.map(|date| date.to_string()).as_deref());
        end_row(&mut rows);
    }
    let columns = "kabar_import_bookings (ord, code, mobile, office_code, unit_code, holder_name, \
                   appointment_at, product, express, stage, applied_on)";
    copy(conn, columns, &rows).await?;

    sqlx::query(&format!(
        "INSERT INTO applicants ({APPLICANT_COLUMNS})
         SELECT mobile, name, email, whatsapp, language, $1, $1 FROM kabar_import_applicants
         {ON_APPLICANT_CONFLICT}"
    ))
    .bind(at)
    .execute(&mut *conn)
    .await?;
    // In file order, so booking ids follow the export as they do on SQLite.
    let written = sqlx::query(&format!(
        "INSERT INTO bookings ({BOOKING_COLUMNS})
         SELECT s.code, a.id, s.office_code, s.unit_code, s.holder_name, s.appointment_at,
                s.product, s.express, s.stage, s.applied_on, $1
         FROM kabar_import_bookings s JOIN applicants a ON a.mobile = s.mobile
         ORDER BY s.ord
         {ON_BOOKING_CONFLICT}"
    ))
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(written)
}

async fn copy(conn: &mut PgConnection, table: &str, rows: &str) -> Result<(), StoreError> {
    let mut copy = conn.copy_in_raw(&format!("COPY {table} FROM STDIN")).await?;
    copy.send(rows.as_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// Appends one value of `COPY`'s text format and its tab: `\N` for NULL, and the backslash,
/// tab, newline and carriage return escaped, so a value can never start another column or row.
fn field(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("\\N"),
        Some(text) => {
            for c in text.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
    out.push('\t');
}

/// Ends a row: its last tab becomes the newline.
fn end_row(out: &mut String) {
    out.pop();
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_break_out_of_their_column_or_row() {
        let mut rows = String::new();
        field(&mut rows, Some("Siti\tNur\\\r\nbaris"));
        field(&mut rows, None);
        field(&mut rows, Some(""));
        end_row(&mut rows);
        assert_eq!(rows, "Siti\\tNur\\\\\\r\\nbaris\t\\N\t\n");
        assert_eq!(rows.matches('\n').count(), 1);
        assert_eq!(rows.matches('\t').count(), 2);
    }
}

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{epoch, on_reader, on_writer, parse_stored, Store, StoreError, UpsertCounts, WritePool};
use crate::domain::{Contact, Office, OfficeCode, Unit};

type OfficeRow = (
    String,
    String,
    String,
    String,
    bool,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Every office and unit, loaded once: there are a few hundred at most.
#[derive(Debug, Clone, Default)]
pub struct OfficeDirectory {
    offices: BTreeMap<OfficeCode, Office>,
    units: BTreeMap<OfficeCode, Unit>,
}

impl OfficeDirectory {
    /// A directory of these offices and units, as the store would load it; for tests and fuzzing,
    /// which check booking files without a database.
    #[doc(hidden)]
    pub fn from_lists(offices: Vec<Office>, units: Vec<Unit>) -> Self {
        OfficeDirectory {
            offices: offices.into_iter().map(|office| (office.code.clone(), office)).collect(),
            units: units.into_iter().map(|unit| (unit.code.clone(), unit)).collect(),
        }
    }

    pub fn office(&self, code: &OfficeCode) -> Option<&Office> {
        self.offices.get(code)
    }

    pub fn unit(&self, code: &OfficeCode) -> Option<&Unit> {
        self.units.get(code)
    }

    /// Offices in code order.
    pub fn offices(&self) -> impl Iterator<Item = &Office> {
        self.offices.values()
    }

    /// Units in code order.
    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    pub fn is_empty(&self) -> bool {
        self.offices.is_empty()
    }
}

const UPSERT_OFFICE: &str = "
    INSERT INTO offices (code, name, timezone, class, tpi, region, phone, address, website, instagram, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (code) DO UPDATE SET
        name = excluded.name, timezone = excluded.timezone, class = excluded.class,
        tpi = excluded.tpi, region = excluded.region, phone = excluded.phone,
        address = excluded.address, website = excluded.website, instagram = excluded.instagram,
        updated_at = excluded.updated_at
    WHERE offices.name IS DISTINCT FROM excluded.name
       OR offices.timezone IS DISTINCT FROM excluded.timezone
       OR offices.class IS DISTINCT FROM excluded.class
       OR offices.tpi IS DISTINCT FROM excluded.tpi
       OR offices.region IS DISTINCT FROM excluded.region
       OR offices.phone IS DISTINCT FROM excluded.phone
       OR offices.address IS DISTINCT FROM excluded.address
       OR offices.website IS DISTINCT FROM excluded.website
       OR offices.instagram IS DISTINCT FROM excluded.instagram";

const UPSERT_UNIT: &str = "
    INSERT INTO units (code, office_code, name, updated_at)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (code) DO UPDATE SET
        office_code = excluded.office_code, name = excluded.name, updated_at = excluded.updated_at
    WHERE units.office_code IS DISTINCT FROM excluded.office_code
       OR units.name IS DISTINCT FROM excluded.name";

const COUNT_OFFICES_AND_UNITS: &str = "SELECT (SELECT COUNT(*) FROM offices) + (SELECT COUNT(*) FROM units)";

impl Store {
    /// Inserts or updates offices and then units, in one transaction; unchanged rows are not
    /// touched.
    pub async fn upsert_offices(
        &self,
        offices: &[Office],
        units: &[Unit],
        at: DateTime<Utc>,
    ) -> Result<UpsertCounts, StoreError> {
        let at = epoch(at);
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let before: i64 = sqlx::query_scalar(COUNT_OFFICES_AND_UNITS).fetch_one(&mut *tx).await?;
            let mut affected = 0;
            for office in offices {
                affected += sqlx::query(UPSERT_OFFICE)
                    .bind(office.code.as_str())
                    .bind(&office.name)
                    .bind(office.timezone.name())
                    .bind(office.class.as_str())
                    .bind(office.tpi)
                    .bind(&office.region)
                    .bind(&office.contact.phone)
                    .bind(&office.contact.address)
                    .bind(&office.contact.website)
                    .bind(&office.contact.instagram)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            for unit in units {
                affected += sqlx::query(UPSERT_UNIT)
                    .bind(unit.code.as_str())
                    .bind(unit.office.as_str())
                    .bind(&unit.name)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            let after: i64 = sqlx::query_scalar(COUNT_OFFICES_AND_UNITS).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(UpsertCounts::from_affected((offices.len() + units.len()) as u64, affected, (after - before) as u64))
        })
    }

    /// Loads every office and unit.
    pub async fn office_directory(&self) -> Result<OfficeDirectory, StoreError> {
        let (office_rows, unit_rows) = on_reader!(self, pool => {
            let offices: Vec<OfficeRow> = sqlx::query_as(
                "SELECT code, name, timezone, class, tpi, region, phone, address, website, instagram
                 FROM offices ORDER BY code",
            )
            .fetch_all(pool)
            .await?;
            let units: Vec<(String, String, String)> =
                sqlx::query_as("SELECT code, office_code, name FROM units ORDER BY code")
                    .fetch_all(pool)
                    .await?;
            (offices, units)
        });
        let mut directory = OfficeDirectory::default();
        for (code, name, timezone, class, tpi, region, phone, address, website, instagram) in office_rows {
            let office = Office {
                code: parse_stored("offices.code", &code)?,
                name,
                timezone: parse_stored("offices.timezone", &timezone)?,
                class: parse_stored("offices.class", &class)?,
                tpi,
                region,
                contact: Contact { phone, address, website, instagram },
            };
            directory.offices.insert(office.code.clone(), office);
        }
        for (code, office, name) in unit_rows {
            let unit = Unit {
                code: parse_stored("units.code", &code)?,
                office: parse_stored("units.office_code", &office)?,
                name,
            };
            directory.units.insert(unit.code.clone(), unit);
        }
        Ok(directory)
    }
}

//! Postgres keeps events in one partition per UTC day of their timestamp (`events_pYYYYMMDD`, see
//! migration 0011), so that retention drops a whole day at once. The server creates the coming days'
//! partitions ahead of time; anything outside every partition lands in `events_default`, which retention
//! empties row by row. On SQLite, which has no partitions, these are no-ops.

use crate::domain::ProjectId;

use super::storage::{remove_stored, Stored};
use super::{Db, StoreError, Tx};

pub const DAY_MS: i64 = 86_400_000;
const PREFIX: &str = "events_p";

/// One day's partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayPartition {
    pub name: String,
    pub start_ms: i64,
}

impl DayPartition {
    /// The partition holding the instant `ms`.
    pub fn of(ms: i64) -> DayPartition {
        let start_ms = ms.div_euclid(DAY_MS) * DAY_MS;
        let day = time::OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(start_ms);
        let name = format!("{PREFIX}{:04}{:02}{:02}", day.year(), u8::from(day.month()), day.day());
        DayPartition { name, start_ms }
    }

    /// The day a partition's name stands for; `None` for any other table.
    fn parse(name: &str) -> Option<DayPartition> {
        let digits = name.strip_prefix(PREFIX).filter(|d| d.len() == 8)?;
        let year: i32 = digits[..4].parse().ok()?;
        let month = time::Month::try_from(digits[4..6].parse::<u8>().ok()?).ok()?;
        let day: u8 = digits[6..].parse().ok()?;
        let date = time::Date::from_calendar_date(year, month, day).ok()?;
        let start_ms = date.midnight().assume_utc().unix_timestamp() * 1000;
        Some(DayPartition {
            name: name.to_owned(),
            start_ms,
        })
    }

    pub fn end_ms(&self) -> i64 {
        self.start_ms + DAY_MS
    }
}

/// Creates the missing day partitions from `from_ms` to `to_ms`. A day whose rows already sit in the
/// default partition cannot get its own; it is skipped (its events expire row by row) and logged.
pub async fn ensure(db: &Db, from_ms: i64, to_ms: i64) -> Result<(), StoreError> {
    let Db::Postgres(pool) = db else { return Ok(()) };
    let mut day = DayPartition::of(from_ms);
    while day.start_ms <= to_ms {
        // The name is ours (digits only), so formatting it into the statement is safe.
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF events FOR VALUES FROM ({}) TO ({})",
            day.name,
            day.start_ms,
            day.end_ms()
        );
        if let Err(error) = sqlx::query(&sql).execute(pool).await {
            tracing::warn!(partition = %day.name, %error, "could not create an events partition");
        }
        day = DayPartition::of(day.end_ms());
    }
    Ok(())
}

/// The day partitions that exist, oldest first.
pub async fn list(db: &Db) -> Result<Vec<DayPartition>, StoreError> {
    let Db::Postgres(pool) = db else { return Ok(Vec::new()) };
    let sql = "SELECT c.relname::TEXT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
               JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'";
    let names: Vec<String> = sqlx::query_scalar(sql).fetch_all(pool).await?;
    let mut days: Vec<DayPartition> = names.iter().filter_map(|n| DayPartition::parse(n)).collect();
    days.sort_by_key(|d| d.start_ms);
    Ok(days)
}

/// Drops a day's partition, taking its events off their projects' totals in the same transaction;
/// returns how many events went.
pub async fn drop_day(db: &Db, day: &DayPartition) -> Result<i64, StoreError> {
    let mut tx = Tx::begin(db).await?;
    let Tx::Postgres(conn) = &mut tx else { return Ok(0) };
    let sql = format!(
        "SELECT project_id, COUNT(*), CAST(COALESCE(SUM(LENGTH(payload)), 0) AS BIGINT) FROM {} GROUP BY project_id",
        day.name
    );
    let per_project: Vec<(ProjectId, i64, i64)> = sqlx::query_as(&sql).fetch_all(&mut **conn).await?;
    sqlx::query(&format!("DROP TABLE {}", day.name))
        .execute(&mut **conn)
        .await?;
    let mut dropped = 0;
    for (project_id, events, bytes) in per_project {
        remove_stored(&mut tx, project_id, Stored { events, bytes }).await?;
        dropped += events;
    }
    tx.commit().await?;
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_named_by_its_utc_date_and_read_back() {
        let day = DayPartition::of(1_764_806_400_000 + 5_000); // 2025-12-04T00:00:05Z
        assert_eq!(day.name, "events_p20251204");
        assert_eq!(day.start_ms, 1_764_806_400_000);
        assert_eq!(DayPartition::parse(&day.name), Some(day.clone()));
        assert_eq!(DayPartition::of(day.end_ms()).name, "events_p20251205");
        assert_eq!(DayPartition::parse("events_default"), None);
    }
}

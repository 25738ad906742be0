//! Cron monitor set-up shared by the monitor tests: moving a monitor's clock state into the past, as if the
//! server had been down, so the clock has something to mark without the test waiting minutes.

use faultline::store::Db;

use super::TestApp;

/// Moves a monitor's next expected check-in, and the times of its runs (when they started and time out),
/// `minutes` into the past.
pub async fn rewind(app: &TestApp, slug: &str, minutes: i64) {
    let shift = minutes * 60_000;
    let statements = [
        "UPDATE monitors SET next_expected_at = next_expected_at - $1 WHERE slug = $2",
        "UPDATE monitor_check_ins SET timeout_at = timeout_at - $1, created_at = created_at - $1 \
         WHERE monitor_id IN (SELECT id FROM monitors WHERE slug = $2)",
    ];
    for sql in statements {
        match &app.db {
            Db::Sqlite(pool, _) => sqlx::query(sql)
                .bind(shift)
                .bind(slug)
                .execute(pool)
                .await
                .unwrap()
                .rows_affected(),
            Db::Postgres(pool) => sqlx::query(sql)
                .bind(shift)
                .bind(slug)
                .execute(pool)
                .await
                .unwrap()
                .rows_affected(),
        };
    }
}

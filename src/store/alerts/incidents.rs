//! The PagerDuty incidents Faultline opened for issues: remembered when a trigger is queued (and again when
//! it is sent), and turned into resolve deliveries, in the outbox and in the resolving transaction, when the
//! issue is resolved. An issue that was never paged sends no resolve.

use sqlx::QueryBuilder;

use super::super::{on_tx, Db, StoreError, Tx};
use super::outbox::{insert_delivery, Target};
use crate::domain::short_id::encode_short_id;
use crate::domain::{ChannelId, IssueId, ProjectId};

/// Remembers that the issues of `message_id` are being paged through `channel_id` (dispatch: the same
/// transaction that makes the trigger's delivery, so a resolution committed after it always finds it).
pub(super) async fn remember_for_message(
    tx: &mut Tx,
    message_id: i64,
    channel_id: ChannelId,
    now_ms: i64,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO pagerduty_incidents (issue_id, channel_id, created_at) \
               SELECT DISTINCT issue_id, $1, $2 FROM alert_fires WHERE message_id = $3 AND issue_id IS NOT NULL \
               ON CONFLICT (issue_id, channel_id) DO NOTHING";
    on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(channel_id)
        .bind(now_ms)
        .bind(message_id)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Remembers, just before a trigger goes out, that these issues are paged through `channel_id`: an issue
/// resolved and regressed while its trigger waited for a retry is open again and needs its row back.
pub async fn remember_incidents(
    db: &Db,
    channel_id: ChannelId,
    issue_ids: &[IssueId],
    now_ms: i64,
) -> Result<(), StoreError> {
    if issue_ids.is_empty() {
        return Ok(());
    }
    let mut tx = Tx::begin(db).await?;
    on_tx!(&mut tx, conn, Backend => {
        let mut qb = QueryBuilder::<Backend>::new("INSERT INTO pagerduty_incidents (issue_id, channel_id, created_at) ");
        qb.push_values(issue_ids, |mut row, issue_id| {
            row.push_bind(*issue_id).push_bind(channel_id).push_bind(now_ms);
        });
        qb.push(" ON CONFLICT (issue_id, channel_id) DO NOTHING");
        qb.build().execute(&mut *conn).await?;
    });
    tx.commit().await
}

#[derive(sqlx::FromRow)]
struct OpenIncident {
    channel_id: ChannelId,
    channel_name: String,
    settings: String,
    project_id: ProjectId,
    project_slug: String,
    short_id: i64,
}

/// Inside the transaction that resolves `issue_id`: one message with a resolve delivery to every channel
/// that paged the issue, and the incidents forgotten. Returns how many deliveries it queued.
pub async fn queue_incident_resolves(tx: &mut Tx, issue_id: IssueId, now_ms: i64) -> Result<usize, StoreError> {
    let open = "SELECT pi.channel_id, c.name AS channel_name, c.settings, i.project_id, p.slug AS project_slug, \
                i.short_id FROM pagerduty_incidents pi JOIN channels c ON c.id = pi.channel_id \
                JOIN issues i ON i.id = pi.issue_id JOIN projects p ON p.id = i.project_id \
                WHERE pi.issue_id = $1 ORDER BY pi.channel_id";
    let open: Vec<OpenIncident> =
        on_tx!(tx, conn, Backend => sqlx::query_as(open).bind(issue_id).fetch_all(&mut *conn).await?);
    let Some(first) = open.first() else {
        return Ok(0);
    };
    let insert = "INSERT INTO alert_messages (rule_id, project_id, created_at, resolved_issue_id) \
                  VALUES (NULL, $1, $2, $3) RETURNING id";
    let message_id: i64 = on_tx!(tx, conn, Backend => sqlx::query_scalar(insert)
        .bind(first.project_id)
        .bind(now_ms)
        .bind(issue_id)
        .fetch_one(&mut *conn)
        .await?);
    // The delivery log's "rule" column says what happened: `WEB-3 resolved`.
    let what = format!(
        "{} resolved",
        encode_short_id(&first.project_slug, first.short_id as u64)
    );
    for incident in &open {
        let target = Target {
            channel_id: incident.channel_id,
            channel_name: incident.channel_name.clone(),
            settings: incident.settings.clone(),
            rule_name: what.clone(),
            project_id: incident.project_id,
        };
        insert_delivery(tx, message_id, &target, None, now_ms).await?;
    }
    let forget = "DELETE FROM pagerduty_incidents WHERE issue_id = $1";
    on_tx!(tx, conn, Backend => sqlx::query(forget).bind(issue_id).execute(&mut *conn).await?.rows_affected());
    Ok(open.len())
}

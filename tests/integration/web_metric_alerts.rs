//! Metric alerts in the web UI, on both databases: created from the form (prefilled from a transaction
//! link), listed with their condition on the rules page, edited and deleted; bad input comes back with the
//! reason as a sentence and what was typed; a transaction name is escaped; members may only look.

use crate::common;

use common::{Backend, TestApp};
use faultline::domain::accounts::Role;
use faultline::domain::alerts::metric::Metric;
use faultline::store::{alerts, organizations};

const ALERTS: &str = "/organizations/default/projects/default/alerts/";

async fn builtin_channel(app: &TestApp) -> String {
    let org = organizations::find_organization(&app.db, "default")
        .await
        .unwrap()
        .unwrap();
    let channels = alerts::list_channels(&app.db, org.id).await.unwrap();
    channels.iter().find(|c| c.builtin).unwrap().id.to_string()
}

async fn a_metric_alert_is_made_listed_edited_and_deleted_through_the_forms(backend: Backend) {
    // The server evaluates only at start, so the new rule shows as not evaluated yet.
    let app = TestApp::spawn_with(backend, |config| config.metric_alert_every_ms = 3_600_000).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    let channel = builtin_channel(&app).await;
    let new = format!("{ALERTS}metric/new");
    let prefilled = admin
        .get(&format!("{new}?transaction=%2Fcheckout%2F"))
        .await
        .expect(200);
    assert!(prefilled.body.contains("value=\"/checkout/\""), "{}", prefilled.body);

    let fields = [
        ("name", "Slow checkout"),
        ("metric", "p95"),
        ("transaction", "/checkout/<b>"),
        ("threshold", "800"),
        ("window_minutes", "10"),
        ("min_count", "5"),
        ("environment", "production"),
        ("cooldown_minutes", "15"),
        ("channel", channel.as_str()),
        ("enabled", "true"),
    ];
    admin.submit(&new, &new, &fields).await.expect(303);
    let rule = alerts::list_metric_rules(&app.db, app.project_id)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(rule.condition.transaction, "/checkout/<b>");
    assert_eq!((rule.condition.metric, rule.condition.threshold), (Metric::P95, 800.0));
    assert_eq!((rule.condition.window_minutes, rule.condition.min_count), (10, 5));
    assert_eq!(rule.condition.environment.as_deref(), Some("production"));
    assert!(
        alerts::list_rules(&app.db, app.project_id)
            .await
            .unwrap()
            .iter()
            .all(|r| r.name != "Slow checkout"),
        "a metric rule is not an issue rule"
    );

    let list = admin.get(ALERTS).await.expect(200);
    assert!(list.body.contains("Metric alerts"));
    assert!(list.body.contains("not evaluated yet"));
    assert!(!list.body.contains("/checkout/<b>"), "the name is escaped");
    assert!(
        list.body
            .contains("p95 duration of /checkout/&#60;b&#62; above 800 ms over 10 min")
            || list
                .body
                .contains("p95 duration of /checkout/&lt;b&gt; above 800 ms over 10 min"),
        "{}",
        list.body
    );
    assert!(list
        .body
        .contains("performance/transaction/?name=%2Fcheckout%2F%3Cb%3E"));

    let edit = format!("{ALERTS}metric/{}/", rule.id);
    let mut changed = fields;
    changed[1] = ("metric", "failure_rate");
    changed[3] = ("threshold", "12.5");
    admin.submit(&edit, &edit, &changed).await.expect(303);
    let rule = alerts::get_metric_rule(&app.db, app.project_id, rule.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (rule.condition.metric, rule.condition.threshold),
        (Metric::FailureRate, 12.5)
    );
    assert!(admin.get(&edit).await.expect(200).body.contains("value=\"12.5\""));

    admin.submit(ALERTS, &format!("{edit}delete"), &[]).await.expect(303);
    assert!(alerts::list_metric_rules(&app.db, app.project_id)
        .await
        .unwrap()
        .is_empty());
    app.stop().await;
}

async fn bad_metric_alerts_are_refused_with_a_sentence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    let channel = builtin_channel(&app).await;
    let new = format!("{ALERTS}metric/new");
    let refused = |changes: Vec<(&'static str, &'static str)>| {
        let mut fields = vec![
            ("name", "Slow checkout"),
            ("metric", "p95"),
            ("transaction", "/checkout/"),
            ("threshold", "800"),
            ("window_minutes", "10"),
            ("channel", channel.as_str()),
        ];
        for (key, value) in changes {
            fields.retain(|(k, _)| *k != key);
            if !value.is_empty() || key != "channel" {
                fields.push((key, value));
            }
        }
        let (admin, new) = (&admin, &new);
        async move { admin.submit(new, new, &fields).await.expect(400).body }
    };
    let body = refused(vec![("threshold", "0")]).await;
    assert!(
        body.contains("The p95 threshold must be a number of milliseconds above 0 and at most 10000000."),
        "{body}"
    );
    assert!(body.contains("value=\"Slow checkout\""), "what was typed comes back");
    let body = refused(vec![("threshold", "fast")]).await;
    assert!(body.contains("value=\"fast\""));
    let body = refused(vec![("metric", "failure_rate"), ("threshold", "150")]).await;
    assert!(
        body.contains("The failure-rate threshold must be a percentage from 0 up to (not including) 100."),
        "{body}"
    );
    let body = refused(vec![("window_minutes", "2000")]).await;
    assert!(body.contains("The window must be 1 to 1440 minutes (a day)."), "{body}");
    let body = refused(vec![("transaction", "  ")]).await;
    assert!(body.contains("A metric alert needs the transaction"), "{body}");
    let body = refused(vec![("channel", "")]).await;
    assert!(body.contains("A rule needs at least one channel."), "{body}");
    assert!(alerts::list_metric_rules(&app.db, app.project_id)
        .await
        .unwrap()
        .is_empty());

    let member = app.signed_in("dev@example.com", None, Role::Member).await;
    member.get(&new).await.expect(403);
    assert!(member.get(ALERTS).await.expect(200).body.contains("Metric alerts"));
    app.stop().await;
}

on_both_databases!(
    a_metric_alert_is_made_listed_edited_and_deleted_through_the_forms,
    bad_metric_alerts_are_refused_with_a_sentence,
);

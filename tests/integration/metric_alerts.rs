//! Metric alerts end to end, on both databases: transactions sent over HTTP are rolled up, an evaluation
//! makes a rule over them fire once per crossing and resolve when the metric comes back, and the notifier
//! delivers each crossing to a real webhook receiver; the evaluator's state survives a restart, one process
//! holds its lease, and a rule of another project never fires for this project's transactions.

use crate::common;

use std::time::Duration;

use common::alerts::{alert_app, channel, PUBLIC_URL};
use common::receiver::{ReceivedRequest, Receiver};
use common::{new_event_id, operator_core, Backend, TestApp};
use faultline::core::metric_alerts::{evaluate, evaluate_if_leader, Round};
use faultline::domain::alerts::channel::{ChannelConfig, SignedHookSettings};
use faultline::domain::alerts::metric::{Metric, MetricCondition, MetricRuleSpec};
use faultline::domain::{ChannelId, ProjectId};
use faultline::store::{alerts, now_ms, projects};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(15);
const CHECKOUT: &str = "/checkout/{id}/";

/// A Django-like request to `name` that took `ms` milliseconds and ended now.
fn transaction(name: &str, ms: f64, status: &str) -> Value {
    let end = now_ms() as f64 / 1000.0;
    json!({
        "type": "transaction", "transaction": name, "transaction_info": {"source": "route"},
        "start_timestamp": end - ms / 1000.0, "timestamp": end, "environment": "production",
        "contexts": {"trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
                               "op": "http.server", "status": status}},
        "spans": [],
    })
}

/// Sends `count` transactions of `ms` milliseconds to `name`, a few at a time.
async fn send(app: &TestApp, name: &str, ms: f64, status: &str, count: usize) {
    for chunk in (0..count).collect::<Vec<_>>().chunks(20) {
        let posts = chunk.iter().map(|_| {
            let body = common::item_envelope("transaction", &new_event_id(), &transaction(name, ms, status));
            app.post_envelope(body)
        });
        for response in futures::future::join_all(posts).await {
            assert_eq!(response.status(), 200);
        }
    }
}

/// An app whose own evaluator runs only at start: the test evaluates when it wants to.
async fn app_evaluated_by_the_test(backend: Backend) -> TestApp {
    alert_app(backend, None, |config| config.metric_alert_every_ms = 3_600_000).await
}

async fn webhook(app: &TestApp, receiver: &Receiver) -> ChannelId {
    let hook = SignedHookSettings {
        url: receiver.url("/hook"),
        secret: "metric-secret".into(),
    };
    channel(&app.db, "hook", ChannelConfig::Webhook(hook)).await
}

async fn metric_rule(app: &TestApp, project: ProjectId, metric: Metric, threshold: f64, cooldown: i64, to: ChannelId) {
    let spec = MetricRuleSpec {
        name: format!("{} of checkout", metric.label()),
        enabled: true,
        condition: MetricCondition {
            transaction: CHECKOUT.into(),
            environment: None,
            metric,
            threshold,
            window_minutes: 5,
            min_count: 1,
        },
        cooldown_minutes: cooldown,
        channel_ids: vec![to],
    };
    alerts::create_metric_rule(&app.db, project, &spec.validate().unwrap())
        .await
        .unwrap();
}

async fn evaluate_now(app: &TestApp) -> Round {
    evaluate(&operator_core(&app.db), now_ms()).await.unwrap()
}

/// Waits for the `count`-th request, then a little longer to see that no other follows.
async fn exactly(receiver: &Receiver, count: usize) -> Vec<ReceivedRequest> {
    receiver.wait_for(count, WAIT).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let requests = receiver.requests();
    assert_eq!(
        requests.len(),
        count,
        "{:?}",
        requests.iter().map(|r| r.json()).collect::<Vec<_>>()
    );
    requests
}

async fn a_slow_transaction_fires_once_resolves_and_fires_again(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = app_evaluated_by_the_test(backend).await;
    let hook = webhook(&app, &receiver).await;
    metric_rule(&app, app.project_id, Metric::P95, 500.0, 0, hook).await;
    send(&app, CHECKOUT, 2000.0, "ok", 5).await;
    send(&app, "/elsewhere/", 3000.0, "ok", 5).await;

    assert_eq!(evaluate_now(&app).await.fired, 1);
    let fired = exactly(&receiver, 1).await[0].json();
    assert_eq!(fired["kind"], "metric_alert");
    assert_eq!(fired["project"]["slug"], "default");
    let metric = &fired["metric"];
    assert_eq!(
        (metric["name"].as_str(), metric["state"].as_str()),
        (Some("p95"), Some("firing"))
    );
    assert_eq!(metric["transaction"], CHECKOUT);
    let value = metric["value"].as_f64().unwrap();
    assert!((2000.0..2300.0).contains(&value), "the p95 of 2 s requests: {value}");
    assert_eq!(
        (metric["threshold"].as_f64(), metric["count"].as_i64()),
        (Some(500.0), Some(5))
    );
    assert_eq!(
        metric["url"],
        format!("{PUBLIC_URL}organizations/default/projects/default/performance/transaction/?name=%2Fcheckout%2F%7Bid%7D%2F")
    );

    assert_eq!(
        evaluate_now(&app).await,
        Round {
            evaluated: 1,
            fired: 0,
            resolved: 0
        }
    );
    exactly(&receiver, 1).await;

    // A hundred fast requests push the five slow ones out of the 95th percentile.
    send(&app, CHECKOUT, 20.0, "ok", 100).await;
    assert_eq!(evaluate_now(&app).await.resolved, 1);
    let resolved = exactly(&receiver, 2).await[1].json();
    assert_eq!(resolved["kind"], "metric_resolved");
    assert_eq!(resolved["metric"]["state"], "resolved");
    assert!(resolved["metric"]["value"].as_f64().unwrap() < 500.0, "{resolved}");
    assert_eq!(evaluate_now(&app).await.resolved, 0, "resolved once");

    send(&app, CHECKOUT, 2000.0, "ok", 10).await;
    assert_eq!(evaluate_now(&app).await.fired, 1, "a new crossing fires again");
    let again = exactly(&receiver, 3).await[2].json();
    assert_eq!(again["kind"], "metric_alert");
    let log = alerts::list_deliveries(&app.db, app.project_id, 10).await.unwrap();
    assert_eq!(log.len(), 3);
    assert!(log
        .iter()
        .all(|d| d.rule_name == "p95 duration of checkout" && d.status == "sent"));
    app.stop().await;
}

async fn the_failure_rate_fires_by_itself_and_keeps_its_cooldown(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = alert_app(backend, None, |config| config.metric_alert_every_ms = 200).await;
    let hook = webhook(&app, &receiver).await;
    app.create_project(None, "other").await;
    let other = projects::find_project_by_slug(&app.db, "other").await.unwrap().unwrap();
    metric_rule(&app, other.id, Metric::FailureRate, 20.0, 30, hook).await;
    // The traffic first, then the rule: the server's evaluator (every 200 ms) sees all four at once.
    send(&app, CHECKOUT, 50.0, "ok", 2).await;
    send(&app, CHECKOUT, 50.0, "internal_error", 2).await;
    metric_rule(&app, app.project_id, Metric::FailureRate, 20.0, 30, hook).await;
    let fired = exactly(&receiver, 1).await[0].json();
    assert_eq!(fired["project"]["slug"], "default", "only this project's rule: {fired}");
    let metric = &fired["metric"];
    assert_eq!(
        (metric["name"].as_str(), metric["unit"].as_str()),
        (Some("failure_rate"), Some("%"))
    );
    assert_eq!(
        (metric["value"].as_f64(), metric["count"].as_i64()),
        (Some(50.0), Some(4))
    );

    send(&app, CHECKOUT, 50.0, "ok", 20).await;
    let resolved = exactly(&receiver, 2).await[1].json();
    assert_eq!(resolved["kind"], "metric_resolved");

    // Above again, but the rule fired less than its 30 minutes of cooldown ago.
    send(&app, CHECKOUT, 50.0, "internal_error", 10).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    exactly(&receiver, 2).await;
    let rule = alerts::list_metric_rules(&app.db, app.project_id)
        .await
        .unwrap()
        .remove(0);
    assert!(
        !rule.state.firing && rule.state.last_value.unwrap() > 20.0,
        "{:?}",
        rule.state
    );
    let other_rule = alerts::list_metric_rules(&app.db, other.id).await.unwrap().remove(0);
    assert!(
        other_rule.state.evaluated_at.is_some(),
        "the other project's rule was evaluated"
    );
    assert_eq!(other_rule.state.last_fired_at, None, "and never fired");
    app.stop().await;
}

async fn a_restart_neither_repeats_nor_forgets_a_crossing(backend: Backend) {
    let receiver = Receiver::start().await;
    let mut app = app_evaluated_by_the_test(backend).await;
    let hook = webhook(&app, &receiver).await;
    metric_rule(&app, app.project_id, Metric::P95, 500.0, 0, hook).await;
    send(&app, CHECKOUT, 2000.0, "ok", 3).await;
    assert_eq!(evaluate_now(&app).await.fired, 1);
    exactly(&receiver, 1).await;

    app.restart_with(|config| {
        common::alerts::fast_alerts(config, None);
        config.metric_alert_every_ms = 3_600_000;
    })
    .await;
    assert_eq!(
        evaluate_now(&app).await.fired,
        0,
        "still above: announced before the restart"
    );
    // Whoever took the evaluator's lease first (the restarted server, or process-a), process-b waits.
    let core = operator_core(&app.db);
    evaluate_if_leader(&core, "process-a", 60_000).await.unwrap();
    assert_eq!(evaluate_if_leader(&core, "process-b", 60_000).await.unwrap(), None);
    send(&app, CHECKOUT, 20.0, "ok", 100).await;
    assert_eq!(evaluate_now(&app).await.resolved, 1);
    let requests = exactly(&receiver, 2).await;
    assert_eq!(requests[1].json()["kind"], "metric_resolved");
    app.stop().await;
}

/// A `sessions` aggregate of release `shop@1.0` started now: `exited` healthy sessions and `crashed` ones.
async fn sessions(app: &TestApp, exited: i64, crashed: i64) {
    let started = time::OffsetDateTime::from_unix_timestamp(now_ms() / 1000).unwrap();
    let started = started.format(&time::format_description::well_known::Rfc3339).unwrap();
    let item = json!({"attrs": {"release": "shop@1.0"},
                      "aggregates": [{"started": started, "exited": exited, "crashed": crashed}]});
    let body = common::item_envelope("sessions", &new_event_id(), &item);
    assert_eq!(app.post_envelope(body).await.status(), 200);
}

async fn crash_free_sessions_below_the_threshold_fire_and_resolve(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = app_evaluated_by_the_test(backend).await;
    let hook = webhook(&app, &receiver).await;
    let spec = MetricRuleSpec {
        name: "shop crashes".into(),
        enabled: true,
        condition: MetricCondition {
            transaction: "shop@1.0".into(),
            environment: None,
            metric: Metric::CrashFreeSessions,
            threshold: 95.0,
            window_minutes: 60,
            min_count: 10,
        },
        cooldown_minutes: 0,
        channel_ids: vec![hook],
    };
    let spec = spec.validate().unwrap();
    assert_eq!(
        spec.condition.describe(),
        "crash-free sessions of shop@1.0 below 95 % over 60 min (at least 10 sessions)"
    );
    alerts::create_metric_rule(&app.db, app.project_id, &spec)
        .await
        .unwrap();
    sessions(&app, 5, 1).await;
    assert_eq!(evaluate_now(&app).await.fired, 0, "6 sessions: too few to judge");
    sessions(&app, 3, 1).await;
    assert_eq!(
        evaluate_now(&app).await.fired,
        1,
        "10 sessions, 2 crashed: 80 % crash-free"
    );
    let fired = exactly(&receiver, 1).await[0].json();
    assert_eq!(fired["metric"]["name"], "crash_free_sessions");
    assert_eq!(fired["metric"]["value"].as_f64(), Some(80.0));
    assert_eq!(
        fired["metric"]["url"],
        format!("{PUBLIC_URL}organizations/default/projects/default/releases/")
    );
    sessions(&app, 90, 0).await;
    assert_eq!(evaluate_now(&app).await.resolved, 1, "100 sessions, 2 crashed: 98 %");
    let resolved = exactly(&receiver, 2).await[1].json();
    assert_eq!(resolved["metric"]["state"], "resolved");
    app.stop().await;
}

on_both_databases!(
    crash_free_sessions_below_the_threshold_fire_and_resolve,
    a_slow_transaction_fires_once_resolves_and_fires_again,
    the_failure_rate_fires_by_itself_and_keeps_its_cooldown,
    a_restart_neither_repeats_nor_forgets_a_crossing,
);

//! Alerting set-up shared by the delivery tests: an app whose notifier works fast and may reach the test's
//! own receivers on 127.0.0.1, and rules and channels made through the store before the first event.

use faultline::domain::ChannelId;
use std::time::Duration;

use faultline::config::Config;
use faultline::domain::alerts::channel::{ChannelConfig, TlsMode};
use faultline::domain::alerts::{Conditions, RuleSpec, Triggers};
use faultline::store::{alerts, organizations, Db};

use super::{envelope, exception_event, new_event_id, Backend, TestApp};

pub const PUBLIC_URL: &str = "https://faultline.example.com/";

/// Notifier settings for tests: polls every 50 ms, retries after 200 ms, digests off unless set.
pub fn fast_alerts(config: &mut Config, smtp_port: Option<u16>) {
    config.public_url = PUBLIC_URL.parse().unwrap();
    config.webhook_allow_private = true;
    config.notify_poll_ms = 50;
    config.notify_retry_base_ms = 200;
    config.alert_digest_secs = 0;
    if let Some(port) = smtp_port {
        config.smtp_host = Some("127.0.0.1".into());
        config.smtp_port = port;
        config.smtp_tls = TlsMode::None;
    }
}

pub async fn alert_app(backend: Backend, smtp_port: Option<u16>, adjust: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(backend, |config| {
        fast_alerts(config, smtp_port);
        adjust(config);
    })
    .await
}

pub async fn default_organization(db: &Db) -> organizations::Organization {
    organizations::find_organization(db, "default").await.unwrap().unwrap()
}

pub async fn channel(db: &Db, name: &str, config: ChannelConfig) -> ChannelId {
    let org = default_organization(db).await;
    alerts::create_channel(db, org.id, name, &config).await.unwrap().id
}

/// Replaces the project's rules with this one (the default rule would fire as well otherwise).
pub async fn only_rule(app: &TestApp, triggers: Triggers, cooldown_minutes: i64, channel_ids: Vec<ChannelId>) {
    for rule in alerts::list_rules(&app.db, app.project_id).await.unwrap() {
        alerts::delete_rule(&app.db, app.project_id, rule.id).await.unwrap();
    }
    let spec = RuleSpec {
        name: "Test rule".into(),
        enabled: true,
        triggers,
        conditions: Conditions::default(),
        cooldown_minutes,
        channel_ids,
    };
    alerts::create_rule(&app.db, app.project_id, &spec).await.unwrap();
}

/// Posts a Python-style error whose type names its issue; returns its event id.
pub async fn send_error(app: &TestApp, error_type: &str) -> String {
    let id = new_event_id();
    let event = exception_event(error_type, "it broke", "shop.cart", "add_item", 12);
    let response = app.post_envelope(envelope(&id, &event)).await;
    assert_eq!(response.status(), 200);
    id
}

/// Waits until the project's delivery log shows `status` for every delivery, or panics.
pub async fn wait_for_log(app: &TestApp, count: usize, status: &str) -> Vec<alerts::DeliveryRecord> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let log = alerts::list_deliveries(&app.db, app.project_id, 100).await.unwrap();
        if log.len() >= count && log.iter().all(|d| d.status == status) {
            return log;
        }
        assert!(std::time::Instant::now() < deadline, "delivery log stuck at {log:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

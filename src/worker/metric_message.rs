//! A metric rule's message as channels render it: its recorded crossings, with links to the transaction's
//! page and the project's Performance page made from the public URL.

use crate::domain::alerts::metric::{Metric, Transition};
use crate::notify::{MetricChange, MetricMessage};
use crate::store::alerts::{MessageContent, MessageMetric};

/// `None` when none of its crossings can be read (written by a newer version, say).
pub fn metric_message(content: &MessageContent, public_url: &url::Url) -> Option<MetricMessage> {
    let changes: Vec<MetricChange> = content.metrics.iter().filter_map(change).collect();
    let latest = changes.last()?;
    let header = &content.header;
    let performance = format!(
        "organizations/{}/projects/{}/performance/",
        header.organization_slug, header.project_slug
    );
    let name: String = url::form_urlencoded::byte_serialize(latest.transaction.as_bytes()).collect();
    let link = |path: String| public_url.join(&path).map(String::from).unwrap_or(path);
    // A crash-free rule watches a release: its link is the project's Releases page.
    let (url, project_url) = if latest.metric == Metric::CrashFreeSessions {
        let releases = format!(
            "organizations/{}/projects/{}/releases/",
            header.organization_slug, header.project_slug
        );
        (link(releases.clone()), link(releases))
    } else {
        (
            link(format!("{performance}transaction/?name={name}")),
            link(performance),
        )
    };
    Some(MetricMessage {
        rule_id: header.rule_id,
        rule_name: header.rule_name.clone(),
        organization_slug: header.organization_slug.clone(),
        project_slug: header.project_slug.clone(),
        project_name: header.project_name.clone(),
        url,
        project_url,
        changes,
    })
}

fn change(fire: &MessageMetric) -> Option<MetricChange> {
    Some(MetricChange {
        transition: Transition::parse(&fire.reason)?,
        metric: Metric::parse(&fire.metric)?,
        transaction: fire.transaction_name.clone(),
        environment: fire.environment.clone(),
        value: fire.metric_value,
        threshold: fire.metric_threshold,
        count: fire.metric_count,
        window_minutes: fire.window_minutes,
        at_ms: fire.created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrganizationId, ProjectId};
    use crate::store::alerts::MessageHeader;

    #[test]
    fn the_link_names_the_transaction_url_encoded() {
        let content = MessageContent {
            header: MessageHeader {
                rule_id: None,
                rule_name: "Slow checkout".into(),
                project_id: ProjectId(1),
                project_slug: "web".into(),
                project_name: "Web".into(),
                organization_id: OrganizationId(1),
                organization_slug: "acme".into(),
                resolved_issue_id: None,
            },
            issues: Vec::new(),
            metrics: vec![MessageMetric {
                reason: "metric_fired".into(),
                metric: "p95".into(),
                transaction_name: "/cart/{id}/ & more".into(),
                environment: None,
                metric_value: Some(900.0),
                metric_threshold: 500.0,
                metric_count: 3,
                window_minutes: 5,
                created_at: 0,
            }],
        };
        let message = metric_message(&content, &"https://f.example/".parse().unwrap()).unwrap();
        assert_eq!(
            message.url,
            "https://f.example/organizations/acme/projects/web/performance/transaction/?name=%2Fcart%2F%7Bid%7D%2F+%26+more"
        );
        assert_eq!(
            message.project_url,
            "https://f.example/organizations/acme/projects/web/performance/"
        );
    }
}

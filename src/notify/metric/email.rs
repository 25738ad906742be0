//! A metric alert's email: a text + HTML pair rendered from `templates/email/metric_alert.{txt,html}`
//! (askama escapes the HTML one; transaction names come from SDKs).

use askama::Template;

use super::super::email::Mail;
use super::super::summary::Fact;
use super::{earlier_line, headline, MetricMessage};

pub struct MetricEmailView<'a> {
    pub lead: &'static str,
    pub headline: String,
    pub rule_name: &'a str,
    pub project_name: &'a str,
    pub project_url: &'a str,
    pub url: &'a str,
    pub facts: Vec<Fact>,
    pub earlier: Vec<String>,
}

#[derive(Template)]
#[template(path = "email/metric_alert.txt")]
struct MetricText<'a> {
    view: &'a MetricEmailView<'a>,
}

#[derive(Template)]
#[template(path = "email/metric_alert.html")]
struct MetricHtml<'a> {
    view: &'a MetricEmailView<'a>,
}

pub fn mail(message: &MetricMessage) -> Mail {
    let view = MetricEmailView {
        lead: message.lead(),
        headline: headline(message.latest()),
        rule_name: &message.rule_name,
        project_name: &message.project_name,
        project_url: &message.project_url,
        url: &message.url,
        facts: message.facts(),
        earlier: message.earlier().iter().map(earlier_line).collect(),
    };
    Mail {
        subject: message.subject(),
        text: MetricText { view: &view }.render().expect("the text template renders"),
        html: MetricHtml { view: &view }.render().expect("the HTML template renders"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::{change, fired, message};
    use super::*;
    use crate::domain::alerts::metric::Transition;

    #[test]
    fn both_bodies_carry_the_value_threshold_and_link() {
        let mail = mail(&fired());
        for body in [&mail.text, &mail.html] {
            for expected in [
                "2239 ms",
                "above 500 ms",
                "production",
                "last 10 min, 42 transactions",
                "Slow checkout",
            ] {
                assert!(body.contains(expected), "{expected} missing from {body}");
            }
        }
        assert!(mail
            .text
            .contains("/performance/transaction/?name=%2Fcheckout%2F%7Bid%7D%2F"));
        assert!(mail.html.contains("href=\"https://faultline.example.com/organizations/acme/projects/web/performance/transaction/?name=%2Fcheckout%2F%7Bid%7D%2F\""));
    }

    #[test]
    fn the_html_body_escapes_a_hostile_transaction_name() {
        let mut hostile = change(Transition::Fire, Some(900.0));
        hostile.transaction = "<script>alert(1)</script>".to_owned();
        let mail = mail(&message(vec![hostile]));
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(mail.text.contains("<script>alert(1)</script>"));
    }
}

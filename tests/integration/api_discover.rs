//! The API for tools, as Grafana's Sentry data source calls it: Discover tables (`events/`) and series
//! (`events-stats/`) over real transactions and errors, with the query strings the plugin builds (keys in
//! alphabetical order, `+` for spaces, naive `start`/`end` for tables and zoned ones for series), the 400s
//! for what is not supported, and the picker lists (teams, team projects, tags, projects, issues) with the
//! types the plugin decodes. Both databases.

use crate::common;

use common::api::{error_detail, json_body, Token};
use common::{envelope, exception_event, item_envelope, new_event_id, Backend, TestApp};
use faultline::store::now_ms;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A Django request of `ms` milliseconds that ended a second ago.
fn transaction(name: &str, ms: f64, status: &str) -> Value {
    let end = now_ms() as f64 / 1000.0 - 1.0;
    json!({
        "type": "transaction", "transaction": name, "transaction_info": {"source": "route"},
        "start_timestamp": end - ms / 1000.0, "timestamp": end,
        "release": "shop@2.0", "environment": "production",
        "contexts": {"trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
                               "op": "http.server", "status": status}},
    })
}

/// Seven transactions (`/api/cart` four times, one failing and slow; `/api/users` twice; `/health`) and
/// three errors (two `KeyError`s from two users, one `ZeroDivisionError`), all in release `shop@2.0`.
async fn send_traffic(app: &TestApp) {
    let requests = [
        ("/api/cart", 40.0, "ok"),
        ("/api/cart", 45.0, "ok"),
        ("/api/cart", 50.0, "ok"),
        ("/api/cart", 900.0, "internal_error"),
        ("/api/users", 20.0, "ok"),
        ("/api/users", 25.0, "ok"),
        ("/health", 2.0, "ok"),
    ];
    for (name, ms, status) in requests {
        let body = item_envelope("transaction", &new_event_id(), &transaction(name, ms, status));
        assert_eq!(app.post_envelope(body).await.status(), 200);
    }
    for (ty, user) in [("KeyError", "u1"), ("KeyError", "u2"), ("ZeroDivisionError", "u1")] {
        let mut event = exception_event(ty, "boom", "shop.views", "index", 7);
        event["release"] = json!("shop@2.0");
        event["environment"] = json!("production");
        event["transaction"] = json!("/api/cart");
        event["user"] = json!({"id": user});
        event["tags"] = json!({"browser": "Firefox"});
        assert_eq!(app.post_envelope(envelope(&new_event_id(), &event)).await.status(), 200);
    }
}

/// A query string as Go's `url.Values.Encode` writes it: keys sorted (repeats in the order added),
/// everything but `A-Za-z0-9-_.~` escaped, spaces as `+`.
fn go_query(pairs: &[(&str, &str)]) -> String {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                other => format!("%{other:02X}"),
            })
            .collect()
    };
    let mut sorted: Vec<&(&str, &str)> = pairs.iter().collect();
    sorted.sort_by_key(|(key, _)| *key);
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Grafana's `TimeRange` formatted as the plugin formats it: naive for tables, with the zone for series.
fn time_range(zoned: bool) -> (String, String) {
    let format = |ms: i64| {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
        let text = at.format(&Rfc3339).unwrap();
        let seconds = &text[..19];
        if zoned {
            format!("{seconds}Z")
        } else {
            seconds.to_owned()
        }
    };
    let now = now_ms();
    (format(now - 3_600_000), format(now + 120_000))
}

async fn events(app: &TestApp, token: &Token, pairs: &[(&str, &str)]) -> common::api::ApiResponse {
    let (start, end) = time_range(false);
    let mut all = pairs.to_vec();
    all.extend([("start", start.as_str()), ("end", end.as_str()), ("per_page", "100")]);
    let path = format!("/api/0/organizations/default/events/?{}", go_query(&all));
    app.get_json(token, &path).await
}

fn rows(body: &Value) -> &Vec<Value> {
    body["data"].as_array().expect("data")
}

fn row<'a>(body: &'a Value, key: &str, value: &str) -> &'a Value {
    rows(body)
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("a row with {key} = {value} in {body}"))
}

async fn grafana_event_tables_read_errors_and_transactions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    send_traffic(&app).await;

    // The plugin's default fields, scoped to errors, newest first.
    let defaults = [
        "id",
        "title",
        "project",
        "project.id",
        "release",
        "count()",
        "epm()",
        "last_seen()",
        "level",
        "event.type",
        "platform",
    ];
    let mut pairs: Vec<(&str, &str)> = defaults.iter().map(|f| ("field", *f)).collect();
    pairs.extend([
        ("query", "event.type:error"),
        ("sort", "-last_seen()"),
        ("environment", "production"),
    ]);
    let project_id = app.project_id.to_string();
    pairs.push(("project", &project_id));
    let response = events(&app, &token, &pairs).await;
    let (_, _, more) = response.link_entry("next");
    assert!(!more, "one page");
    let table = json_body(response, 200);
    assert_eq!(rows(&table).len(), 3, "a row per event: {table}");
    let first = &rows(&table)[0];
    assert_eq!(first["id"].as_str().unwrap().len(), 32);
    assert_eq!(
        (
            &first["project"],
            &first["project.id"],
            &first["release"],
            &first["count()"]
        ),
        (
            &json!("default"),
            &json!(app.project_id.get()),
            &json!("shop@2.0"),
            &json!(1)
        )
    );
    assert_eq!(
        (&first["level"], &first["event.type"], &first["platform"]),
        (&json!("error"), &json!("error"), &json!("python"))
    );
    assert!(first["epm()"].is_number());
    OffsetDateTime::parse(first["last_seen()"].as_str().unwrap(), &Rfc3339).expect("an RFC 3339 date");
    let newest = rows(&table)
        .iter()
        .map(|r| r["last_seen()"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert!(newest.windows(2).all(|w| w[0] >= w[1]), "newest first: {newest:?}");
    assert_eq!(table["meta"]["fields"]["count()"], "integer");
    assert_eq!(table["meta"]["fields"]["last_seen()"], "date");
    assert_eq!(table["meta"]["units"]["epm()"], "1/minute");
    assert_eq!(table["meta"]["units"]["title"], Value::Null);

    // Transactions under /api/, busiest first, with their rollup figures.
    let fields = [
        "transaction",
        "count()",
        "p95(transaction.duration)",
        "failure_rate()",
        "apdex()",
        "tpm()",
    ];
    let mut pairs: Vec<(&str, &str)> = fields.iter().map(|f| ("field", *f)).collect();
    pairs.extend([
        ("query", "event.type:transaction transaction:/api/*"),
        ("sort", "-count()"),
    ]);
    let table = json_body(events(&app, &token, &pairs).await, 200);
    let names: Vec<&str> = rows(&table)
        .iter()
        .map(|r| r["transaction"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["/api/cart", "/api/users"], "{table}");
    let cart = row(&table, "transaction", "/api/cart");
    assert_eq!(cart["count()"], 4);
    assert_eq!(cart["failure_rate()"], 0.25);
    assert_eq!(cart["apdex()"], 0.875, "three satisfied, one tolerated");
    let p95 = cart["p95(transaction.duration)"].as_f64().unwrap();
    assert!(
        (900.0..900.0 * 1.13).contains(&p95),
        "within one histogram bucket: {p95}"
    );
    assert_eq!(table["meta"]["units"]["p95(transaction.duration)"], "millisecond");
    assert_eq!(row(&table, "transaction", "/api/users")["failure_rate()"], 0.0);

    // Negation with a wildcard, and a quoted value.
    let pairs = [
        ("field", "transaction"),
        ("field", "count()"),
        (
            "query",
            "event.type:transaction !transaction:/api/* release:\"shop@2.0\"",
        ),
    ];
    let table = json_body(events(&app, &token, &pairs).await, 200);
    assert_eq!(rows(&table).len(), 1);
    assert_eq!(
        (&rows(&table)[0]["transaction"], &rows(&table)[0]["count()"]),
        (&json!("/health"), &json!(1))
    );

    // Errors grouped by issue, with distinct users; the issue is its short id.
    let pairs = [
        ("field", "title"),
        ("field", "issue"),
        ("field", "count()"),
        ("field", "count_unique(user)"),
        ("query", "event.type:error"),
        ("sort", "-count()"),
    ];
    let table = json_body(events(&app, &token, &pairs).await, 200);
    let key_error = &rows(&table)[0];
    assert_eq!(
        (
            &key_error["title"],
            &key_error["count()"],
            &key_error["count_unique(user)"]
        ),
        (&json!("KeyError: boom"), &json!(2), &json!(2))
    );
    let short_id = key_error["issue"].as_str().unwrap();
    let issue = app
        .get_json(&token, &format!("/api/0/organizations/default/issues/{short_id}/"))
        .await
        .expect(200);
    assert_eq!(issue["title"], "KeyError: boom");

    // Grouped by event id, each row is one event: its user counts once.
    let pairs = [
        ("field", "id"),
        ("field", "count_unique(user)"),
        ("query", "event.type:error"),
    ];
    let table = json_body(events(&app, &token, &pairs).await, 200);
    let users: Vec<&Value> = rows(&table).iter().map(|r| &r["count_unique(user)"]).collect();
    assert_eq!(users, [&json!(1); 3]);

    // With no event.type, errors and transactions are counted together.
    let table = json_body(
        events(&app, &token, &[("field", "project"), ("field", "count()")]).await,
        200,
    );
    assert_eq!(rows(&table).len(), 1);
    assert_eq!(
        rows(&table)[0]["count()"],
        10,
        "seven transactions and three errors: {table}"
    );
    assert!(rows(&table)[0].get("project.id").is_none(), "only asked fields");

    // Paging by offset cursors.
    let pairs = [
        ("field", "id"),
        ("field", "title"),
        ("per_page", "2"),
        ("query", "event.type:error"),
    ];
    let path = format!("/api/0/organizations/default/events/?{}", go_query(&pairs));
    let page = app.get_json(&token, &path).await;
    let (next, cursor, more) = page.link_entry("next");
    assert!(more && cursor == "0:2:0", "{next}");
    assert_eq!(rows(&page.expect(200)).len(), 2);
    let rest = app.get_json(&token, &format!("{path}&cursor={cursor}")).await;
    assert!(!rest.link_entry("next").2);
    assert_eq!(rows(&rest.expect(200)).len(), 1);
    app.stop().await;
}

async fn unsupported_fields_and_keys_are_a_400_naming_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    for (pairs, named) in [
        (vec![("field", "foo()")], "foo is not a valid function"),
        (vec![("field", "tags[browser]"), ("field", "count()")], "tags[browser]"),
        (
            vec![("field", "count()"), ("query", "transaction.duration:>5000")],
            "transaction.duration",
        ),
        (
            vec![("field", "count()"), ("sort", "-p95()")],
            "Cannot sort by a field that is not selected.",
        ),
        (vec![("field", "id"), ("field", "p95()")], "errors cannot answer p95()"),
        (
            vec![("field", "span.op"), ("dataset", "spans"), ("useRpc", "1")],
            "dataset must be one of",
        ),
    ] {
        let detail = error_detail(events(&app, &token, &pairs).await, 400);
        assert!(detail.contains(named), "{pairs:?}: {detail}");
    }
    let stats = format!(
        "/api/0/organizations/default/events-stats/?{}",
        go_query(&[("topEvents", "11"), ("yAxis", "count()")])
    );
    assert_eq!(
        error_detail(app.get_json(&token, &stats).await, 400),
        "Can only get up to 10 top events"
    );
    // A project outside the organization: Sentry's empty answer with a tip.
    let body = json_body(
        events(&app, &token, &[("field", "count()"), ("project", "999999")]).await,
        200,
    );
    assert_eq!(body["data"], json!([]));
    assert_eq!(
        body["meta"]["tips"]["query"],
        "Need at least one valid project to query."
    );
    app.stop().await;
}

async fn stats(app: &TestApp, token: &Token, pairs: &[(&str, &str)]) -> Value {
    let (start, end) = time_range(true);
    let mut all = pairs.to_vec();
    all.extend([
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("partial", "1"),
        ("interval", "5m"),
    ]);
    let path = format!("/api/0/organizations/default/events-stats/?{}", go_query(&all));
    json_body(app.get_json(token, &path).await, 200)
}

/// The counts of a series object, checking Grafana's bucket shape on the way.
fn counts(series: &Value) -> Vec<f64> {
    let data = series["data"].as_array().unwrap_or_else(|| panic!("data in {series}"));
    let times: Vec<i64> = data.iter().map(|b| b[0].as_i64().expect("epoch seconds")).collect();
    assert!(
        times.windows(2).all(|w| w[1] - w[0] == 300),
        "5 minute buckets: {times:?}"
    );
    data.iter()
        .map(|bucket| {
            let items = bucket[1].as_array().expect("[ts, [...]]");
            assert_eq!(items.len(), 1, "exactly one count per bucket: {bucket}");
            items[0]["count"].as_f64().expect("a number")
        })
        .collect()
}

async fn grafana_series_come_zero_filled_in_sentrys_shapes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    send_traffic(&app).await;
    // What the plugin always sends (besides times, interval and partial), for transactions unless told.
    let grafana = |extra: Vec<(&'static str, &'static str)>| {
        let mut pairs = vec![("excludeOther", "1"), ("topEvents", "10")];
        if !extra.iter().any(|(key, _)| *key == "query") {
            pairs.push(("query", "event.type:transaction"));
        }
        pairs.extend(extra);
        pairs
    };

    // One y axis, no group-by: the series is named "".
    let body = stats(&app, &token, &grafana(vec![("field", "count()"), ("yAxis", "count()")])).await;
    let total = counts(&body[""]);
    assert!(total.len() >= 12, "an hour in 5 minute buckets: {}", total.len());
    assert_eq!(total.iter().sum::<f64>(), 7.0);
    assert!(
        total.iter().filter(|c| **c == 0.0).count() >= total.len() - 2,
        "zero-filled"
    );
    let buckets = total.len();

    // Several y axes: one series per y axis, under "".
    let pairs = grafana(vec![
        ("field", "count()"),
        ("field", "p95(transaction.duration)"),
        ("yAxis", "count()"),
        ("yAxis", "p95(transaction.duration)"),
    ]);
    let body = stats(&app, &token, &pairs).await;
    assert_eq!(counts(&body[""]["count()"]).len(), buckets);
    let p95 = counts(&body[""]["p95(transaction.duration)"]);
    assert_eq!(p95.len(), buckets);
    assert!(p95.iter().any(|p| *p >= 900.0), "{p95:?}");

    // Top events by transaction: a series each, ranked by count.
    let body = stats(
        &app,
        &token,
        &grafana(vec![
            ("field", "count()"),
            ("field", "transaction"),
            ("yAxis", "count()"),
            ("sort", "-count()"),
        ]),
    )
    .await;
    for (name, total, order) in [("/api/cart", 4.0, 0), ("/api/users", 2.0, 1), ("/health", 1.0, 2)] {
        let series = counts(&body[name]);
        assert_eq!(
            (series.len(), series.iter().sum::<f64>(), &body[name]["order"]),
            (buckets, total, &json!(order)),
            "{name}"
        );
    }
    assert!(body.get("Other").is_none(), "excludeOther=1");

    // The rest as "Other" when asked; several y axes per group.
    let pairs = vec![
        ("excludeOther", "0"),
        ("topEvents", "1"),
        ("query", "event.type:transaction"),
        ("field", "count()"),
        ("field", "failure_rate()"),
        ("field", "transaction"),
        ("yAxis", "count()"),
        ("yAxis", "failure_rate()"),
    ];
    let body = stats(&app, &token, &pairs).await;
    assert_eq!(counts(&body["/api/cart"]["count()"]).iter().sum::<f64>(), 4.0);
    assert_eq!(counts(&body["Other"]["count()"]).iter().sum::<f64>(), 3.0);
    assert_eq!(body["Other"]["order"], 1);
    assert_eq!(counts(&body["Other"]["failure_rate()"]).len(), buckets);

    // Errors without topEvents: the plain shape.
    let body = stats(&app, &token, &[("query", "event.type:error"), ("yAxis", "count()")]).await;
    assert_eq!(counts(&body).iter().sum::<f64>(), 3.0);

    // No top event found: the plain zero-filled series.
    let body = stats(
        &app,
        &token,
        &grafana(vec![
            ("field", "count()"),
            ("field", "release"),
            ("yAxis", "count()"),
            ("query", "event.type:transaction release:none"),
        ]),
    )
    .await;
    let zeros = counts(&body);
    assert!(zeros.len() >= 12 && zeros.iter().all(|c| *c == 0.0), "{body}");
    app.stop().await;
}

async fn the_pickers_list_teams_team_projects_tags_and_typed_projects_and_issues(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    send_traffic(&app).await;
    let rfc3339 = |value: &Value| OffsetDateTime::parse(value.as_str().expect("a date string"), &Rfc3339).is_ok();

    let teams = json_body(app.get_json(&token, "/api/0/organizations/default/teams/").await, 200);
    let team = &teams[0];
    assert_eq!((&team["slug"], team["id"].is_string()), (&json!("default"), true));
    assert!(team["memberCount"].as_i64().is_some_and(|n| n >= 1), "{team}");
    assert!(rfc3339(&team["dateCreated"]) && team["projects"].is_array(), "{team}");

    let owned = json_body(
        app.get_json(&token, "/api/0/teams/default/default/projects/").await,
        200,
    );
    assert_eq!(owned[0]["slug"], "default");
    assert_eq!(owned[0]["environments"], json!(["production"]));
    assert_eq!(
        app.get_json(&token, "/api/0/teams/default/nope/projects/").await.status,
        404
    );

    let tags = json_body(app.get_json(&token, "/api/0/organizations/default/tags/").await, 200);
    let browser = tags
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "browser")
        .expect("browser");
    assert_eq!(
        (&browser["name"], &browser["totalValues"]),
        (&json!("Browser"), &json!(3))
    );

    let projects = json_body(
        app.get_json(&token, "/api/0/organizations/default/projects/").await,
        200,
    );
    assert!(projects[0]["id"].is_string() && rfc3339(&projects[0]["dateCreated"]));
    assert_eq!(projects[0]["team"]["slug"], "default");

    let (start, end) = time_range(false);
    let pairs = [
        ("end", end.as_str()),
        ("limit", "10000"),
        ("query", "is:unresolved"),
        ("sort", "priority"),
        ("start", start.as_str()),
    ];
    let issues = app
        .get_json(
            &token,
            &format!("/api/0/organizations/default/issues/?{}", go_query(&pairs)),
        )
        .await;
    let link = issues.link.clone().expect("a Link header");
    for entry in link.split(", ") {
        assert!(entry.starts_with('<') && entry.contains(">; rel=\""), "{link}");
        assert!(
            entry.split("; ").skip(1).all(|param| param.ends_with('"')),
            "every value quoted: {link}"
        );
    }
    assert!(!issues.link_entry("next").2, "results=\"false\" on the last page");
    let issues = json_body(issues, 200);
    let issue = &issues[0];
    assert!(issue["id"].is_string() && issue["count"].is_string() && issue["project"]["id"].is_string());
    assert!(rfc3339(&issue["firstSeen"]) && rfc3339(&issue["lastSeen"]) && issue["userCount"].is_i64());
    app.stop().await;
}

on_both_databases!(
    grafana_event_tables_read_errors_and_transactions,
    unsupported_fields_and_keys_are_a_400_naming_them,
    grafana_series_come_zero_filled_in_sentrys_shapes,
    the_pickers_list_teams_team_projects_tags_and_typed_projects_and_issues,
);

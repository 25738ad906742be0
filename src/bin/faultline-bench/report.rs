//! The printed report: a block per stream (errors, transactions), what the server's counters did, the peak RSS,
//! and `RESULT` lines of `key=value` pairs for scripts (`RESULT` for the first stream, `RESULT_TX` for the
//! transactions sent beside errors); unknown values print as `n/a`.

use super::corpus::Kind;
use super::send::SendStats;
use super::{Args, Outcome, StreamOutcome, Target};

pub fn print_report(args: &Args, target: &Target, outcome: &Outcome) {
    println!("\n== faultline-bench ==");
    println!(
        "target          {} (metrics {})",
        target.envelope_url, target.metrics_url
    );
    println!(
        "parameters      events={} concurrency={} rate={} duration={}",
        args.events,
        args.concurrency,
        or_na(args.rate, 0),
        or_na(args.duration, 0)
    );
    println!("elapsed         {:.3} s", outcome.elapsed.as_secs_f64());
    for (index, stream) in outcome.streams.iter().enumerate() {
        // The first stream's lines start at the margin, as scripts (bench/lifecycle.sh) read them.
        print_stream(stream, outcome, if index == 0 { "" } else { "  " });
    }
    let progress = outcome.progress.as_ref();
    println!(
        "stored          {} events ({}/s), {} transactions rolled up ({}/s)",
        or_na(progress.map(|p| p.events.delta), 0),
        or_na(progress.map(|p| p.events.per_second), 1),
        or_na(progress.map(|p| p.transactions.delta), 0),
        or_na(progress.map(|p| p.transactions.per_second), 1),
    );
    println!("peak RSS        {} MB", peak_rss_mb(outcome));
    if let Some(messages) = outcome.alert_messages {
        println!("alert messages  {messages} received by the sink");
    }
    for (index, stream) in outcome.streams.iter().enumerate() {
        print_result_line(if index == 0 { "RESULT" } else { "RESULT_TX" }, stream, outcome);
    }
}

fn print_stream(stream: &StreamOutcome, outcome: &Outcome, indent: &str) {
    let stats = &stream.stats;
    let corpus = stream.stream.corpus.as_deref().map_or_else(
        || stream.stream.kind.embedded_name().to_owned(),
        |dir| dir.display().to_string(),
    );
    let first_error = stats
        .first_error
        .as_deref()
        .map_or(String::new(), |e| format!(" (first: {e})"));
    let latency = |fraction| or_na(stats.latency_ms(fraction), 2);
    println!(
        "-- {}: corpus {corpus}, {} bodies, rate {}, concurrency {}",
        stream.stream.kind.label(),
        stream.stream.events,
        or_na(stream.stream.rate, 0),
        stream.stream.concurrency
    );
    println!("{indent}sent            {}", stats.sent());
    println!("{indent}acknowledged    {} (2xx)", stats.acked);
    println!("{indent}rejected (429)  {}", stats.rejected_429);
    println!("{indent}other statuses  {:?}", stats.other_statuses);
    println!("{indent}errors          {}{first_error}", stats.errors);
    println!("{indent}acked/s         {:.1}", acked_per_s(stats, outcome));
    println!(
        "{indent}latency (2xx)   p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        latency(0.5),
        latency(0.9),
        latency(0.99),
        latency(1.0)
    );
}

/// One line for scripts. `stored_per_s` is what the stream's kind is measured by: error events stored, or
/// transactions rolled up; both counters follow in full.
fn print_result_line(label: &str, stream: &StreamOutcome, outcome: &Outcome) {
    let stats = &stream.stats;
    let latency = |fraction| or_na(stats.latency_ms(fraction), 2);
    let progress = outcome.progress.as_ref();
    let events = progress.map(|p| &p.events);
    let transactions = progress.map(|p| &p.transactions);
    let stored_per_s = match stream.stream.kind {
        Kind::Errors => events.map(|e| e.per_second),
        Kind::Transactions => transactions.map(|t| t.per_second),
    };
    println!(
        "{label} acked_per_s={:.1} stored_per_s={} p50_ms={} p90_ms={} p99_ms={} max_ms={} peak_rss_mb={} \
         sent={} acked={} rejected_429={} other={} errors={} events_stored={} events_stored_per_s={} \
         tx_rolled_up={} tx_rolled_up_per_s={}",
        acked_per_s(stats, outcome),
        or_na(stored_per_s, 1),
        latency(0.5),
        latency(0.9),
        latency(0.99),
        latency(1.0),
        peak_rss_mb(outcome),
        stats.sent(),
        stats.acked,
        stats.rejected_429,
        stats.other_statuses.values().sum::<u64>(),
        stats.errors,
        or_na(events.map(|e| e.delta), 0),
        or_na(events.map(|e| e.per_second), 1),
        or_na(transactions.map(|t| t.delta), 0),
        or_na(transactions.map(|t| t.per_second), 1),
    );
}

fn acked_per_s(stats: &SendStats, outcome: &Outcome) -> f64 {
    stats.acked as f64 / outcome.elapsed.as_secs_f64()
}

fn peak_rss_mb(outcome: &Outcome) -> String {
    or_na(outcome.peak_rss_kb.map(|kb| kb as f64 / 1024.0), 1)
}

/// Unknown values print as `n/a`, also in the RESULT lines.
fn or_na(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "n/a".to_owned(), |value| format!("{value:.decimals$}"))
}

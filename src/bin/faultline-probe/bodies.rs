//! Scenario `bodies`: many clients each pushing a body just under the size cap as fast as they can,
//! with no credentials or a wrong key. A server that buffers the body before checking the key holds
//! all of them in memory at once, for nobody.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::report::{spread, tally, Ending};

/// Written repeatedly to make up the body; its content does not matter to a server that checks the key first.
static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];
/// How much of a refusal's body is kept as its reason.
const REASON_CHARS: usize = 120;

/// One upload: where to send it and with which credentials.
pub struct Upload {
    pub address: SocketAddr,
    /// Request line and headers up to (not including) the blank line; Content-Length is added.
    pub head: String,
    pub body_bytes: usize,
    pub timeout: Duration,
}

/// How one upload ended, and how much of the body had gone out by then.
pub struct UploadOutcome {
    pub ending: Ending,
    pub sent_bytes: usize,
    pub elapsed: Duration,
    /// The start of the answer's body, which says why the upload was refused.
    pub reason: Option<String>,
}

/// Request head for `path`, with `auth` as `X-Sentry-Auth` when given.
pub fn upload_head(path: &str, host: &str, auth: Option<&str>) -> String {
    let auth = auth.map_or(String::new(), |auth| format!("X-Sentry-Auth: {auth}\r\n"));
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-sentry-envelope\r\n{auth}Connection: close\r\n"
    )
}

/// Runs `sockets` uploads at once and waits for all of them (each bounded by the upload's timeout).
pub async fn upload_all(upload: Arc<Upload>, sockets: usize) -> Vec<UploadOutcome> {
    let mut tasks = JoinSet::new();
    for _ in 0..sockets {
        let upload = upload.clone();
        tasks.spawn(async move {
            let started = Instant::now();
            match tokio::time::timeout(upload.timeout, TcpStream::connect(upload.address)).await {
                Ok(Ok(stream)) => send_and_listen(stream, &upload, started).await,
                _ => UploadOutcome {
                    ending: Ending::ConnectFailed,
                    sent_bytes: 0,
                    elapsed: started.elapsed(),
                    reason: None,
                },
            }
        });
    }
    tasks.join_all().await
}

/// Writes the body while listening: the upload ends at the server's status line or when it closes.
async fn send_and_listen(stream: TcpStream, upload: &Upload, started: Instant) -> UploadOutcome {
    let (mut reader, mut writer) = stream.into_split();
    let head = format!("{}Content-Length: {}\r\n\r\n", upload.head, upload.body_bytes);
    let mut sent_bytes = 0;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::sleep(upload.timeout.saturating_sub(started.elapsed()));
    tokio::pin!(deadline);
    let mut writing = writer.write_all(head.as_bytes()).await.is_ok();
    let ending = loop {
        let remaining = upload.body_bytes - sent_bytes;
        tokio::select! {
            read = reader.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break status_of(&answer).map_or(Ending::Closed, Ending::Status),
                Ok(count) => {
                    answer.extend_from_slice(&buffer[..count]);
                    if let Some(status) = status_of(&answer).filter(|_| answer_is_readable(&answer)) {
                        break Ending::Status(status);
                    }
                }
            },
            // `write` is cancel-safe: when the read wins, nothing of this chunk was sent.
            written = writer.write(&CHUNK[..remaining.min(CHUNK.len())]), if writing && remaining > 0 => {
                match written {
                    Ok(count) if count > 0 => sent_bytes += count,
                    _ => writing = false,
                }
            }
            () = &mut deadline => break Ending::TimedOut,
        }
    };
    UploadOutcome {
        ending,
        sent_bytes,
        elapsed: started.elapsed(),
        reason: answer_body(&answer),
    }
}

/// The status code once the whole status line has arrived.
fn status_of(answer: &[u8]) -> Option<u16> {
    let line_end = find(answer, b"\r\n")?;
    let line = std::str::from_utf8(&answer[..line_end]).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Enough of the answer has arrived to say why: the head and the start of the body (or all of a short one).
fn answer_is_readable(answer: &[u8]) -> bool {
    let Some(head_end) = find(answer, b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&answer[..head_end]).to_ascii_lowercase();
    let content_length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    answer.len() - (head_end + 4) >= content_length.min(REASON_CHARS)
}

fn answer_body(answer: &[u8]) -> Option<String> {
    let body_start = find(answer, b"\r\n\r\n")? + 4;
    let body = String::from_utf8_lossy(&answer[body_start..]);
    Some(body.chars().take(REASON_CHARS).collect()).filter(|reason: &String| !reason.is_empty())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// `401×100 in 0.01/0.02/0.30 s, body sent 0.1/0.1/2.0 MiB`.
pub fn describe_uploads(outcomes: &[UploadOutcome]) -> String {
    let mut sent_mib: Vec<f64> = outcomes
        .iter()
        .map(|outcome| outcome.sent_bytes as f64 / 1048576.0)
        .collect();
    sent_mib.sort_by(f64::total_cmp);
    let sent = match sent_mib.as_slice() {
        [] => "-".to_owned(),
        [first, .., last] => format!("{first:.1}/{:.1}/{last:.1}", sent_mib[sent_mib.len() / 2]),
        [only] => format!("{only:.1}"),
    };
    let reason = outcomes.iter().find_map(|outcome| outcome.reason.as_deref());
    format!(
        "{} in {}, sent {sent} MiB{}",
        tally(outcomes.iter().map(|outcome| outcome.ending.clone())),
        spread(outcomes.iter().map(|outcome| outcome.elapsed).collect()),
        reason.map_or(String::new(), |reason| format!(" \"{reason}\""))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_read_from_a_complete_status_line_only() {
        assert_eq!(status_of(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0"), Some(401));
        assert_eq!(status_of(b"HTTP/1.1 40"), None);
    }

    #[test]
    fn answer_is_readable_once_its_head_and_short_body_have_arrived() {
        let answer = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nbad";
        assert!(!answer_is_readable(answer));
        let answer = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nbad!!";
        assert!(answer_is_readable(answer));
        assert_eq!(answer_body(answer).as_deref(), Some("bad!!"));
        assert!(answer_is_readable(b"HTTP/1.1 401 Unauthorized\r\n\r\n"));
    }

    #[test]
    fn head_carries_auth_only_when_given() {
        let with_auth = upload_head("/api/1/envelope/", "h:1", Some("Sentry sentry_key=k"));
        assert!(with_auth.contains("X-Sentry-Auth: Sentry sentry_key=k\r\n"));
        assert!(!upload_head("/api/1/envelope/", "h:1", None).contains("X-Sentry-Auth"));
    }

    #[tokio::test]
    async fn an_early_answer_ends_the_upload_before_the_body_is_sent() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let upload = Arc::new(Upload {
            address: listener.local_addr().expect("address"),
            head: upload_head("/", "h", None),
            body_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(10),
        });
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let answer = b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 9\r\n\r\nno key!!!";
            socket.write_all(answer).await.expect("answer");
            // Keep the socket open (unread) until the client has seen the answer.
            tokio::time::sleep(Duration::from_millis(500)).await;
        });
        let outcomes = upload_all(upload, 1).await;
        assert_eq!(outcomes[0].ending, Ending::Status(401));
        assert_eq!(outcomes[0].reason.as_deref(), Some("no key!!!"));
        assert!(outcomes[0].sent_bytes < 64 * 1024 * 1024);
        server.await.expect("server");
    }
}

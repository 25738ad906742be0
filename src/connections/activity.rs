//! What a connection's watchdog knows: whether a request is in flight, since when the connection has
//! been idle, and since when a request's headers have been arriving. Reads pass through [`TrackedIo`],
//! requests through [`Activity::request_started`].

use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::ConnectionLimits;

#[derive(Debug)]
struct State {
    in_flight: usize,
    /// When the last request finished (or the connection opened).
    idle_since: Instant,
    /// When the first byte of the next request arrived, while no request is in flight.
    head_started: Option<Instant>,
    /// No request has started yet: the first one must begin within the header-read timeout.
    fresh: bool,
}

/// Shared by a connection's reader, its request handler and its watchdog.
#[derive(Debug)]
pub struct Activity {
    state: Mutex<State>,
    /// Wakes the watchdog when a deadline moves earlier (the first byte of a request arrived).
    pub changed: Notify,
}

/// The watchdog's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Close the connection; the reason is a metrics label.
    Close(&'static str),
}

/// Marks a request as finished when dropped.
pub struct InFlight<'a>(&'a Activity);

impl Activity {
    pub fn new() -> Activity {
        Activity::starting_at(Instant::now())
    }

    fn starting_at(now: Instant) -> Activity {
        Activity {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: now,
                head_started: None,
                fresh: true,
            }),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn request_started(&self) -> InFlight<'_> {
        let mut state = self.state();
        state.in_flight += 1;
        state.head_started = None;
        state.fresh = false;
        InFlight(self)
    }

    fn bytes_received(&self, now: Instant) {
        let mut state = self.state();
        if state.in_flight == 0 && state.head_started.is_none() {
            state.head_started = Some(now);
            drop(state);
            self.changed.notify_one();
        }
    }

    /// When the verdict could next change.
    pub fn next_check(&self, limits: &ConnectionLimits) -> Instant {
        let state = self.state();
        let now = Instant::now();
        if state.in_flight > 0 {
            return now + limits.header_read_timeout;
        }
        let head_deadline = state
            .head_started
            .or(state.fresh.then_some(state.idle_since))
            .map(|since| since + limits.header_read_timeout);
        let idle_deadline = state.idle_since + limits.idle_timeout;
        head_deadline.map_or(idle_deadline, |head| head.min(idle_deadline))
    }

    pub fn verdict(&self, limits: &ConnectionLimits) -> Verdict {
        self.verdict_at(limits, Instant::now())
    }

    fn verdict_at(&self, limits: &ConnectionLimits, now: Instant) -> Verdict {
        let state = self.state();
        if state.in_flight > 0 {
            return Verdict::Keep;
        }
        let head_since = state.head_started.or(state.fresh.then_some(state.idle_since));
        if head_since.is_some_and(|since| now.duration_since(since) >= limits.header_read_timeout) {
            return Verdict::Close("header_timeout");
        }
        if now.duration_since(state.idle_since) >= limits.idle_timeout {
            return Verdict::Close("idle_timeout");
        }
        Verdict::Keep
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            state.head_started = None;
        }
    }
}

/// The connection's socket, reporting every read to its [`Activity`].
pub struct TrackedIo {
    stream: TcpStream,
    activity: std::sync::Arc<Activity>,
}

impl TrackedIo {
    pub fn new(stream: TcpStream, activity: std::sync::Arc<Activity>) -> TrackedIo {
        TrackedIo { stream, activity }
    }
}

impl AsyncRead for TrackedIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_received(Instant::now());
        }
        result
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const LIMITS: ConnectionLimits = ConnectionLimits {
        max_connections: 10,
        header_read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
    };

    #[test]
    fn a_new_connection_must_start_its_first_request_within_the_header_timeout() {
        let start = Instant::now();
        let activity = Activity::starting_at(start);
        assert_eq!(
            activity.verdict_at(&LIMITS, start + Duration::from_secs(9)),
            Verdict::Keep
        );
        assert_eq!(
            activity.verdict_at(&LIMITS, start + Duration::from_secs(10)),
            Verdict::Close("header_timeout")
        );
    }

    #[test]
    fn a_request_in_flight_is_never_cut_by_the_watchdog() {
        let start = Instant::now();
        let activity = Activity::starting_at(start);
        let _request = activity.request_started();
        assert_eq!(
            activity.verdict_at(&LIMITS, start + Duration::from_secs(600)),
            Verdict::Keep
        );
    }

    #[test]
    fn an_idle_keep_alive_connection_lasts_the_idle_timeout() {
        let start = Instant::now();
        let activity = Activity::starting_at(start);
        drop(activity.request_started());
        let finished = activity.state().idle_since;
        assert_eq!(
            activity.verdict_at(&LIMITS, finished + Duration::from_secs(59)),
            Verdict::Keep
        );
        assert_eq!(
            activity.verdict_at(&LIMITS, finished + Duration::from_secs(60)),
            Verdict::Close("idle_timeout")
        );
    }

    #[test]
    fn a_slow_header_is_cut_at_the_header_timeout_after_its_first_byte() {
        let start = Instant::now();
        let activity = Activity::starting_at(start);
        drop(activity.request_started());
        let first_byte = Instant::now() + Duration::from_secs(30);
        activity.bytes_received(first_byte);
        assert_eq!(
            activity.verdict_at(&LIMITS, first_byte + Duration::from_secs(9)),
            Verdict::Keep
        );
        assert_eq!(
            activity.verdict_at(&LIMITS, first_byte + Duration::from_secs(10)),
            Verdict::Close("header_timeout")
        );
    }
}

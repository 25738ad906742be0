//! Scenarios `slowloris` and `idle`: a crowd of sockets that hold connections open (dribbling a header
//! byte a second, or sending nothing), and when the server lets go of them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Connects in flight at once: more would overflow the server's accept backlog and measure that instead.
const CONCURRENT_CONNECTS: usize = 256;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DRIBBLE_INTERVAL: Duration = Duration::from_secs(1);

/// How a crowd's sockets fared; shared by all their tasks.
pub struct Crowd {
    started: Instant,
    connected: AtomicUsize,
    connect_failed: AtomicUsize,
    /// Sockets on which the server sent something (e.g. a 408) before closing.
    answered: AtomicUsize,
    closed_at: Mutex<Vec<Duration>>,
}

/// The crowd at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Census {
    pub at: Duration,
    pub connected: usize,
    pub connect_failed: usize,
    pub open: usize,
    /// Connections the server's side holds, by the kernel's count; fewer than `open` when some
    /// connects only ever completed in the listen queue.
    pub server_side: Option<usize>,
    pub answered: usize,
}

/// What each socket does once connected.
#[derive(Clone)]
pub enum Behaviour {
    /// Sends nothing and waits.
    Idle,
    /// Sends this request prefix, then one more header byte every second.
    Slowloris { request_head: Arc<Vec<u8>> },
}

impl Crowd {
    /// Starts `sockets` connections to `address`; they live until the returned set is shut down.
    pub fn gather(address: SocketAddr, sockets: usize, behaviour: Behaviour) -> (Arc<Crowd>, JoinSet<()>) {
        let crowd = Arc::new(Crowd {
            started: Instant::now(),
            connected: AtomicUsize::new(0),
            connect_failed: AtomicUsize::new(0),
            answered: AtomicUsize::new(0),
            closed_at: Mutex::new(Vec::new()),
        });
        let connects = Arc::new(Semaphore::new(CONCURRENT_CONNECTS));
        let mut tasks = JoinSet::new();
        for _ in 0..sockets {
            let (crowd, connects, behaviour) = (crowd.clone(), connects.clone(), behaviour.clone());
            tasks.spawn(async move {
                let permit = connects.acquire_owned().await;
                let connected = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await;
                drop(permit);
                match connected {
                    Ok(Ok(stream)) => {
                        crowd.connected.fetch_add(1, Ordering::Relaxed);
                        crowd.hold(stream, behaviour).await;
                    }
                    _ => {
                        crowd.connect_failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        (crowd, tasks)
    }

    pub fn census(&self, server_side: Option<usize>) -> Census {
        let at = self.started.elapsed();
        let closed = self.closed_at.lock().expect("closure log").len();
        let connected = self.connected.load(Ordering::Relaxed);
        Census {
            at,
            connected,
            connect_failed: self.connect_failed.load(Ordering::Relaxed),
            open: connected - closed,
            server_side,
            answered: self.answered.load(Ordering::Relaxed),
        }
    }

    /// When the server closed sockets, from the crowd's start: first and last.
    pub fn closure_span(&self) -> Option<(Duration, Duration)> {
        let closed_at = self.closed_at.lock().expect("closure log");
        Some((*closed_at.iter().min()?, *closed_at.iter().max()?))
    }

    /// Holds the connection until the server closes it (or the task is aborted).
    async fn hold(&self, stream: TcpStream, behaviour: Behaviour) {
        let (mut reader, mut writer) = stream.into_split();
        let mut dribble = match behaviour {
            Behaviour::Idle => None,
            Behaviour::Slowloris { request_head } => match writer.write_all(&request_head).await {
                Ok(()) => Some(tokio::time::interval(DRIBBLE_INTERVAL)),
                Err(_) => return self.record_closure(),
            },
        };
        let mut buffer = [0u8; 4096];
        loop {
            tokio::select! {
                read = reader.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => return self.record_closure(),
                    // Whatever the server says (a 408, a 400), the socket counts as open until it closes.
                    Ok(_) => self.note_answer(),
                },
                _ = tick(&mut dribble) => {
                    if writer.write_all(b"a").await.is_err() {
                        return self.record_closure();
                    }
                }
            }
        }
    }

    fn note_answer(&self) {
        // Counted per read, not per socket; a socket's answer almost always arrives in one read.
        self.answered.fetch_add(1, Ordering::Relaxed);
    }

    fn record_closure(&self) {
        self.closed_at.lock().expect("closure log").push(self.started.elapsed());
    }
}

/// The next dribble tick, or never for an idle socket.
async fn tick(dribble: &mut Option<tokio::time::Interval>) {
    match dribble {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// `POST` line, Host and the name of the header whose value then grows by a byte a second.
pub fn slowloris_head(envelope_path: &str, host: &str) -> Vec<u8> {
    format!("POST {envelope_path} HTTP/1.1\r\nHost: {host}\r\nX-Slow: ").into_bytes()
}

/// `open@5/15/30s 500/500/0 (server 500/480/0)`.
pub fn describe_censuses(censuses: &[Census]) -> String {
    let join = |value: &dyn Fn(&Census) -> String| censuses.iter().map(value).collect::<Vec<_>>().join("/");
    format!(
        "open@{}s {} (server {})",
        join(&|census| census.at.as_secs().to_string()),
        join(&|census| census.open.to_string()),
        join(&|census| census.server_side.map_or("?".to_owned(), |count| count.to_string()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn crowd_notices_when_the_server_closes_its_sockets() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (crowd, mut tasks) = Crowd::gather(address, 3, Behaviour::Idle);
        for _ in 0..3 {
            let (socket, _) = listener.accept().await.expect("accept");
            drop(socket);
        }
        while tasks.join_next().await.is_some() {}
        let census = crowd.census(None);
        assert_eq!((census.connected, census.open, census.connect_failed), (3, 0, 0));
        assert!(crowd.closure_span().is_some());
    }

    #[test]
    fn censuses_read_as_open_counts_per_moment() {
        let census = |secs: u64, open| Census {
            at: Duration::from_millis(secs * 1000 + 3),
            connected: 500,
            connect_failed: 0,
            open,
            server_side: Some(open / 2),
            answered: 0,
        };
        let described = describe_censuses(&[census(5, 500), census(15, 0)]);
        assert_eq!(described, "open@5/15s 500/0 (server 250/0)");
    }
}

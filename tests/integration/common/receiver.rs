//! A real HTTP receiver for tests (axum on 127.0.0.1): records every request and answers from a script.
//!
//! ```ignore
//! let receiver = Receiver::with_statuses(vec![500, 200]).await; // then 200 for every further request
//! let url = receiver.url("/hooks/secret-token");
//! // ... send to `url` ...
//! let requests = receiver.wait_for(2, Duration::from_secs(10)).await;
//! let body: serde_json::Value = requests[0].json();
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: Method,
    /// The path with its query string, if any.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl ReceivedRequest {
    /// A header's value as text; `None` when absent or not UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The body parsed as JSON; panics when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    location: Option<String>,
    body: ReplyBody,
}

#[derive(Debug, Clone)]
enum ReplyBody {
    Text(String),
    /// Bytes for as long as the client keeps reading.
    Endless,
}

impl Reply {
    /// This status with a short text body.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            location: None,
            body: ReplyBody::Text(format!("status {status}")),
        }
    }

    /// This status with this body.
    pub fn with_body(status: u16, body: &str) -> Reply {
        Reply {
            status,
            location: None,
            body: ReplyBody::Text(body.to_owned()),
        }
    }

    /// A `302 Found` pointing at `location`.
    pub fn redirect(location: &str) -> Reply {
        Reply {
            status: 302,
            location: Some(location.to_owned()),
            body: ReplyBody::Text(String::new()),
        }
    }

    /// This status with a body that never ends (to prove a client stops reading).
    pub fn endless(status: u16) -> Reply {
        Reply {
            status,
            location: None,
            body: ReplyBody::Endless,
        }
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).expect("a valid status code");
        let body = match self.body {
            ReplyBody::Text(text) => Body::from(text),
            ReplyBody::Endless => {
                let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
                Body::from_stream(futures::stream::repeat_with(move || {
                    Ok::<_, std::io::Error>(chunk.clone())
                }))
            }
        };
        let mut response = (status, body).into_response();
        if let Some(location) = self.location {
            response
                .headers_mut()
                .insert("location", location.parse().expect("a valid Location header"));
        }
        response
    }
}

struct Shared {
    requests: Mutex<Vec<ReceivedRequest>>,
    script: Mutex<VecDeque<Reply>>,
}

/// The receiver; stops when dropped.
pub struct Receiver {
    port: u16,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Answers `200 OK` to everything.
    pub async fn start() -> Receiver {
        Receiver::with_replies(Vec::new()).await
    }

    /// Answers the i-th request with `statuses[i]`, then `200 OK` once the list is used up.
    pub async fn with_statuses(statuses: Vec<u16>) -> Receiver {
        Receiver::with_replies(statuses.into_iter().map(Reply::status).collect()).await
    }

    /// Answers the i-th request with `replies[i]`, then `200 OK` once the list is used up.
    pub async fn with_replies(replies: Vec<Reply>) -> Receiver {
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(replies.into()),
        });
        let app = axum::Router::new().fallback(record).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let port = listener.local_addr().expect("local addr").port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { port, shared, task }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:{port}{path}`; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived and returns them all; panics after `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if requests.len() >= count {
                return requests;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "receiver got {} requests, expected {count} within {timeout:?}",
                    requests.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    shared.requests.lock().unwrap().push(ReceivedRequest {
        method: parts.method,
        path,
        headers: parts.headers,
        body,
    });
    let reply = shared.script.lock().unwrap().pop_front();
    reply.unwrap_or_else(|| Reply::status(200)).into_response()
}

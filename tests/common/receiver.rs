//! A real HTTP receiver for webhook tests: answers every POST with a fixed status and keeps what came.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;

/// One request as the receiver got it: its path and body.
pub type Received = Arc<Mutex<Vec<(String, String)>>>;

pub struct Receiver {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base: String,
    pub received: Received,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(status: u16) -> Receiver {
        let received: Received = Arc::default();
        let kept = received.clone();
        let status = StatusCode::from_u16(status).expect("a status code");
        let app = Router::new().route(
            "/{*path}",
            post(move |uri: axum::http::Uri, body: String| {
                let kept = kept.clone();
                async move {
                    kept.lock().unwrap().push((uri.path().to_owned(), body));
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver serves");
        });
        Receiver { base, received, task }
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

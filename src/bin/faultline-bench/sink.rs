//! A webhook sink for alert rules (`--sink`): answers every request with 200 and counts them, so a run with
//! rules (`faultline bench-rules`) sends its alert messages somewhere real and reports how many arrived.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::routing::any;
use axum::Router;

pub struct Sink {
    received: Arc<AtomicUsize>,
}

impl Sink {
    pub async fn start(address: SocketAddr) -> Result<Sink> {
        let received = Arc::new(AtomicUsize::new(0));
        let counter = received.clone();
        let app = Router::new().fallback(any(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async { "ok" }
        }));
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} for --sink"))?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Sink { received })
    }

    pub fn received(&self) -> usize {
        self.received.load(Ordering::Relaxed)
    }
}

//! Reading a request body under a size cap so that the client still hears why it was refused.
//!
//! If a server answers 413 and closes the connection while the client is still writing, the client's
//! socket is reset and it usually loses the answer (it sees "connection reset", not "too large"). So a
//! body over the cap is read on and discarded, up to [`DRAIN_BYTES`] more, before the refusal is sent.
//! Past that the connection is simply closed: nobody sends 16 MiB more than a documented limit by mistake.

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

/// How much of an oversized body is read and thrown away so the client gets its 413.
pub const DRAIN_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyReadError {
    /// The body is longer than the cap.
    TooLarge,
    /// The connection failed or the client stopped sending mid-body.
    Unreadable,
}

/// Collects the body if it is at most `limit` bytes long.
pub async fn read_capped(body: Body, limit: usize) -> Result<Bytes, BodyReadError> {
    let mut body = body;
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyReadError::Unreadable)?;
        let Ok(data) = frame.into_data() else { continue };
        if collected.len() + data.len() > limit {
            drain(body, collected.len() + data.len() - limit).await;
            return Err(BodyReadError::TooLarge);
        }
        collected.extend_from_slice(&data);
    }
    Ok(collected.freeze())
}

async fn drain(mut body: Body, mut discarded: usize) {
    while discarded <= DRAIN_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => discarded += frame.data_ref().map_or(0, |data| data.len()),
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_at_the_cap_is_read_whole() {
        let body = Body::from(vec![7u8; 100]);
        assert_eq!(read_capped(body, 100).await.unwrap().len(), 100);
    }

    #[tokio::test]
    async fn a_body_one_byte_over_the_cap_is_refused() {
        let body = Body::from(vec![7u8; 101]);
        assert_eq!(read_capped(body, 100).await, Err(BodyReadError::TooLarge));
    }
}

//! Reading a request body under a size cap so that the client still hears why it was refused.
//!
//! If a server answers 413 and closes the connection while the client is still writing, the client's
//! socket is reset and it usually loses the answer (it sees "connection reset", not "too large"). So a
//! body over the cap is read on and discarded, up to [`DRAIN_BYTES`] more, before the refusal is sent.
//! Past that the connection is simply closed: nobody sends 16 MiB more than a documented limit by mistake.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use prometheus::IntGauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

pub(crate) async fn drain(mut body: Body, mut discarded: usize) {
    while discarded <= DRAIN_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => discarded += frame.data_ref().map_or(0, |data| data.len()),
            _ => return,
        }
    }
}

/// One memory budget shared by every body in flight, so that many large or slow bodies at once cannot
/// grow the process without bound. A request reserves room as its bytes arrive (and as they are
/// decoded) and gives it back when it ends.
#[derive(Clone)]
pub struct BodyBudget {
    room: Arc<Semaphore>,
    total: usize,
    /// How long a body waits for room before it is refused.
    wait: Duration,
    in_flight: IntGauge,
}

/// There was no room in the budget within the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many request bodies are in flight")]
pub struct BudgetExhausted;

impl BodyBudget {
    pub fn new(total: usize, wait: Duration, in_flight: IntGauge) -> BodyBudget {
        let total = total.clamp(1, Semaphore::MAX_PERMITS);
        BodyBudget {
            room: Arc::new(Semaphore::new(total)),
            total,
            wait,
            in_flight,
        }
    }

    /// An empty reservation that grows as the request's body does.
    pub fn reservation(&self) -> BodyReservation {
        BodyReservation {
            budget: self.clone(),
            held: None,
            bytes: 0,
        }
    }
}

/// The room one request holds; released when dropped.
pub struct BodyReservation {
    budget: BodyBudget,
    held: Option<OwnedSemaphorePermit>,
    bytes: usize,
}

impl BodyReservation {
    /// The budget this reservation draws on.
    pub fn budget(&self) -> &BodyBudget {
        &self.budget
    }

    /// Adds room for `bytes` more, waiting up to the budget's wait.
    pub async fn grow(&mut self, bytes: usize) -> Result<(), BudgetExhausted> {
        let wanted = self.permits_for(bytes)?;
        let acquire = self.budget.room.clone().acquire_many_owned(wanted);
        let permit = tokio::time::timeout(self.budget.wait, acquire)
            .await
            .map_err(|_| BudgetExhausted)?
            .map_err(|_| BudgetExhausted)?;
        self.keep(permit, bytes);
        Ok(())
    }

    /// Adds room for `bytes` more if there is some now (for synchronous work such as decoding).
    pub fn try_grow(&mut self, bytes: usize) -> Result<(), BudgetExhausted> {
        let wanted = self.permits_for(bytes)?;
        let permit = self
            .budget
            .room
            .clone()
            .try_acquire_many_owned(wanted)
            .map_err(|_| BudgetExhausted)?;
        self.keep(permit, bytes);
        Ok(())
    }

    fn permits_for(&self, bytes: usize) -> Result<u32, BudgetExhausted> {
        if self.bytes + bytes > self.budget.total {
            return Err(BudgetExhausted);
        }
        u32::try_from(bytes).map_err(|_| BudgetExhausted)
    }

    fn keep(&mut self, permit: OwnedSemaphorePermit, bytes: usize) {
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        self.bytes += bytes;
        self.budget.in_flight.add(bytes as i64);
    }
}

impl Drop for BodyReservation {
    fn drop(&mut self) {
        self.budget.in_flight.sub(self.bytes as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(total: usize) -> BodyBudget {
        BodyBudget::new(
            total,
            Duration::from_millis(20),
            IntGauge::new("test_bytes", "test").unwrap(),
        )
    }

    #[tokio::test]
    async fn reservations_share_one_budget_and_give_it_back_when_dropped() {
        let budget = budget(1000);
        let mut first = budget.reservation();
        first.grow(600).await.unwrap();
        let mut second = budget.reservation();
        assert_eq!(second.grow(600).await, Err(BudgetExhausted));
        assert_eq!(second.try_grow(400), Ok(()));
        assert_eq!(budget.in_flight.get(), 1000);
        drop(first);
        assert_eq!(budget.in_flight.get(), 400);
        assert_eq!(second.grow(600).await, Ok(()));
    }

    #[tokio::test]
    #[allow(clippy::disallowed_methods)] // the test awaits its task
    async fn a_waiting_body_gets_room_freed_within_its_wait() {
        let budget = BodyBudget::new(100, Duration::from_secs(5), IntGauge::new("b", "b").unwrap());
        let mut first = budget.reservation();
        first.grow(100).await.unwrap();
        let mut second = budget.reservation();
        let waiter = tokio::spawn(async move { second.grow(50).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        assert_eq!(waiter.await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn a_body_larger_than_the_whole_budget_is_refused_at_once() {
        let budget = budget(100);
        assert_eq!(budget.reservation().grow(101).await, Err(BudgetExhausted));
    }

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

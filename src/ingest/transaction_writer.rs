//! The group-commit writer of transactions: handlers queue a transaction with a reply channel; one task
//! folds whatever is waiting into the rollups in one database transaction, then answers every handler, so a
//! 2xx means the transaction is counted. It is its own queue: a burst of transactions, which apps send
//! ten or more times as often as errors, never delays an error's batch.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::core::performance::record_transactions;
use crate::domain::performance::Transaction;
use crate::domain::ProjectId;
use crate::store::{Db, Outage, StoreError};

use super::writer::{SubmitError, WriteFailed};

/// A batch that takes longer is abandoned and answered 503 (as the event writer's).
const BATCH_TIMEOUT: Duration = Duration::from_secs(15);

type Reply = oneshot::Sender<Result<(), WriteFailed>>;

struct Job {
    project_id: ProjectId,
    transaction: Transaction,
    reply: Reply,
}

/// The handlers' side of the queue.
#[derive(Clone)]
pub struct TransactionQueue {
    queue: mpsc::Sender<Job>,
}

impl TransactionQueue {
    /// Queues a transaction and waits until its batch is committed. A full queue is refused at once.
    pub async fn write(
        &self,
        project_id: ProjectId,
        transaction: Transaction,
    ) -> Result<Result<(), WriteFailed>, SubmitError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            project_id,
            transaction,
            reply,
        };
        self.queue.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
        })?;
        answer.await.map_err(|_| SubmitError::Stopped)
    }
}

/// Starts the transaction writer. It ends once every queue handle is dropped and the queue is drained.
pub fn spawn_transaction_writer(
    db: Db,
    capacity: usize,
    batch_size: usize,
) -> (TransactionQueue, tokio::task::JoinHandle<()>) {
    let (queue, jobs) = mpsc::channel(capacity.max(1));
    // The caller owns the handle and awaits it at shutdown, after the router is gone.
    #[allow(clippy::disallowed_methods)]
    let task = tokio::spawn(run(db, jobs, batch_size.max(1)));
    (TransactionQueue { queue }, task)
}

async fn run(db: Db, mut jobs: mpsc::Receiver<Job>, batch_size: usize) {
    let mut waiting = Vec::with_capacity(batch_size);
    while jobs.recv_many(&mut waiting, batch_size).await > 0 {
        let (batch, replies): (Vec<_>, Vec<_>) = std::mem::take(&mut waiting)
            .into_iter()
            .map(|job| ((job.project_id, job.transaction), job.reply))
            .unzip();
        let result = match tokio::time::timeout(BATCH_TIMEOUT, record_transactions(&db, &batch)).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::TimedOut(BATCH_TIMEOUT)),
        };
        let answer = match result {
            Ok(()) => Ok(()),
            Err(error) => {
                tracing::error!(%error, transactions = batch.len(), "transactions could not be stored");
                Err(error.outage())
            }
        };
        for reply in replies {
            // The handler may have gone (client disconnected); the batch is committed all the same.
            let _ = reply.send(answer.map_err(|outage: Option<Outage>| WriteFailed { outage }));
        }
    }
    tracing::info!("transaction writer drained and stopped");
}

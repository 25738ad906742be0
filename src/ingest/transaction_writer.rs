//! The group-commit writer of transactions: handlers queue a transaction with a reply channel; one task
//! folds whatever is waiting into the rollups in one database transaction, then answers every handler, so a
//! 2xx means the transaction is counted. It is its own queue: a burst of transactions, which apps send
//! ten or more times as often as errors, never delays an error's batch.

use std::time::Duration;

use prometheus::IntCounter;
use tokio::sync::{mpsc, oneshot};

use crate::core::performance::record_transactions;
use crate::core::transaction_bodies::IncomingTransaction;
use crate::domain::performance::SamplingRules;
use crate::store::{Db, Outage, StoreError};

use super::writer::{SubmitError, WriteFailed};

/// A batch that takes longer is abandoned and answered 503 (as the event writer's).
const BATCH_TIMEOUT: Duration = Duration::from_secs(15);

type Reply = oneshot::Sender<Result<(), WriteFailed>>;

struct Job {
    transaction: IncomingTransaction,
    reply: Reply,
}

/// The handlers' side of the queue.
#[derive(Clone)]
pub struct TransactionQueue {
    queue: mpsc::Sender<Job>,
}

impl TransactionQueue {
    /// Queues a transaction and waits until its batch is committed. A full queue is refused at once.
    pub async fn write(&self, transaction: IncomingTransaction) -> Result<Result<(), WriteFailed>, SubmitError> {
        let (reply, answer) = oneshot::channel();
        let job = Job { transaction, reply };
        self.queue.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
        })?;
        answer.await.map_err(|_| SubmitError::Stopped)
    }
}

/// How the transaction writer works: its batch size, the bodies it keeps, and the counter of transactions
/// it has committed (`faultline_transactions_rolled_up_total`).
pub struct TransactionWriterSettings {
    pub batch_size: usize,
    pub rules: SamplingRules,
    pub rolled_up: IntCounter,
}

/// Starts the transaction writer. It ends once every queue handle is dropped and the queue is drained.
pub fn spawn_transaction_writer(
    db: Db,
    capacity: usize,
    settings: TransactionWriterSettings,
) -> (TransactionQueue, tokio::task::JoinHandle<()>) {
    let (queue, jobs) = mpsc::channel(capacity.max(1));
    // The caller owns the handle and awaits it at shutdown, after the router is gone.
    #[allow(clippy::disallowed_methods)]
    let task = tokio::spawn(run(db, jobs, settings));
    (TransactionQueue { queue }, task)
}

async fn run(db: Db, mut jobs: mpsc::Receiver<Job>, settings: TransactionWriterSettings) {
    let TransactionWriterSettings {
        batch_size,
        rules,
        rolled_up,
    } = settings;
    let batch_size = batch_size.max(1);
    let mut waiting = Vec::with_capacity(batch_size);
    while jobs.recv_many(&mut waiting, batch_size).await > 0 {
        let (batch, replies): (Vec<_>, Vec<_>) = std::mem::take(&mut waiting)
            .into_iter()
            .map(|job| (job.transaction, job.reply))
            .unzip();
        let recorded = record_transactions(&db, &batch, &rules);
        let result = match tokio::time::timeout(BATCH_TIMEOUT, recorded).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::TimedOut(BATCH_TIMEOUT)),
        };
        let answer = match result {
            Ok(()) => {
                rolled_up.inc_by(batch.len() as u64);
                Ok(())
            }
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

//! Hears the changes other processes announce (`core::changes`) and forgets this process's copy of what
//! changed, so a key disabled or a rule deleted anywhere holds here within a second. On SQLite there is one
//! process and nothing to hear.

use std::time::Duration;

use tokio::sync::watch;

use crate::core::changes::Change;
use crate::core::Core;
use crate::store::changes::{ChangeListener, Heard};

/// Wait before listening again after the connection failed.
const RETRY: Duration = Duration::from_secs(1);

pub async fn run_change_feed(core: Core, mut stop: watch::Receiver<bool>) {
    loop {
        let listener = tokio::select! {
            started = ChangeListener::start(&core.db) => started,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        match listener {
            Ok(None) => return,
            Ok(Some(mut listener)) => {
                // Whatever changed while nobody listened is read again.
                core.forget_all();
                tokio::select! {
                    () = hear(&core, &mut listener) => {}
                    _ = stop.wait_for(|stopped| *stopped) => return,
                }
            }
            Err(error) => tracing::warn!(%error, "listening for other processes' changes failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// Forgets what each announcement names, until the listener fails.
async fn hear(core: &Core, listener: &mut ChangeListener) {
    loop {
        match listener.next().await {
            Ok(Heard::Changed(name)) => match Change::parse(&name) {
                Some(change) => core.forget(change),
                None => tracing::warn!(name, "an unknown change was announced"),
            },
            Ok(Heard::Reconnected) => core.forget_all(),
            Err(error) => {
                tracing::warn!(%error, "the change listener lost its connection; listening again");
                return;
            }
        }
    }
}

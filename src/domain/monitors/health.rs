//! A monitor's health between check-ins: failures and successes in a row, and whether an incident is open.
//! An incident opens when `failure_threshold` failures (error, missed, timeout) come in a row and closes
//! when `recovery_threshold` successes do; every failure while it is open is another occurrence of it.

use super::check_in::CheckInStatus;
use super::schedule::MonitorConfig;
use crate::domain::Timestamp;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Health {
    pub failures_in_row: u32,
    pub successes_in_row: u32,
    pub incident_open: bool,
}

/// What a finished check-in did to the monitor's incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentChange {
    None,
    /// Enough failures in a row: an incident opens (an occurrence of the monitor's issue).
    Opened,
    /// Another failure while the incident is open: another occurrence.
    Failed,
    /// Enough successes in a row: the incident closes (the monitor's issue is resolved).
    Recovered,
}

impl IncidentChange {
    /// Whether the check-in becomes an occurrence of the monitor's issue.
    pub fn is_occurrence(self) -> bool {
        matches!(self, IncidentChange::Opened | IncidentChange::Failed)
    }
}

impl Health {
    /// The health after a check-in of `status` (in-progress check-ins change nothing).
    pub fn after(self, status: CheckInStatus, config: &MonitorConfig) -> (Health, IncidentChange) {
        let mut next = self;
        if status == CheckInStatus::InProgress {
            return (next, IncidentChange::None);
        }
        if status.is_failure() {
            next.failures_in_row = next.failures_in_row.saturating_add(1);
            next.successes_in_row = 0;
            if next.incident_open {
                return (next, IncidentChange::Failed);
            }
            if next.failures_in_row >= config.failure_threshold {
                next.incident_open = true;
                return (next, IncidentChange::Opened);
            }
            return (next, IncidentChange::None);
        }
        next.successes_in_row = next.successes_in_row.saturating_add(1);
        next.failures_in_row = 0;
        if next.incident_open && next.successes_in_row >= config.recovery_threshold {
            next.incident_open = false;
            return (next, IncidentChange::Recovered);
        }
        (next, IncidentChange::None)
    }
}

/// The expected times the clock marks missed now, oldest first, at most `most`, and the time expected
/// after them. A check-in was due at `expected` and is missed once `now` is past `expected` plus the margin.
/// After a long stop every slot that passed is marked, `most` per tick, so none is skipped.
pub fn missed_slots(
    expected: Timestamp,
    now: Timestamp,
    config: &MonitorConfig,
    most: usize,
) -> (Vec<Timestamp>, Timestamp) {
    let mut missed = Vec::new();
    let mut next = expected;
    while missed.len() < most && next.as_millis() + config.margin_ms() < now.as_millis() {
        missed.push(next);
        match config.next_after(next) {
            Some(after) if after > next => next = after,
            // Past the calendar: nothing is expected any more.
            _ => return (missed, Timestamp::from_millis(i64::MAX)),
        }
    }
    (missed, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::monitors::schedule::Schedule;

    fn config(failures: u32, recoveries: u32) -> MonitorConfig {
        let mut config = MonitorConfig::with_schedule(Schedule::crontab("* * * * *").unwrap());
        config.failure_threshold = failures;
        config.recovery_threshold = recoveries;
        config
    }

    fn run(statuses: &[CheckInStatus], config: &MonitorConfig) -> Vec<IncidentChange> {
        let mut health = Health::default();
        statuses
            .iter()
            .map(|&status| {
                let (next, change) = health.after(status, config);
                health = next;
                change
            })
            .collect()
    }

    #[test]
    fn an_incident_opens_at_the_threshold_and_closes_after_enough_successes() {
        use CheckInStatus::*;
        use IncidentChange as C;
        let changes = run(&[Error, Ok, Missed, Timeout, Error, Ok, InProgress, Ok], &config(2, 2));
        assert_eq!(
            changes,
            [
                C::None,
                C::None,
                C::None,
                C::Opened,
                C::Failed,
                C::None,
                C::None,
                C::Recovered
            ]
        );
    }

    #[test]
    fn with_thresholds_of_one_every_failure_opens_and_every_success_closes() {
        use CheckInStatus::*;
        use IncidentChange as C;
        assert_eq!(
            run(&[Ok, Error, Ok, Error], &config(1, 1)),
            [C::None, C::Opened, C::Recovered, C::Opened]
        );
    }

    #[test]
    fn every_slot_passed_is_missed_in_order_and_at_most_so_many_at_once() {
        let config = config(1, 1); // every minute, one minute of margin
        let start = Timestamp::from_millis(60_000 * 1000);
        let now = Timestamp::from_millis(start.as_millis() + 10 * 60_000 + 1);
        let (missed, next) = missed_slots(start, now, &config, 100);
        assert_eq!(
            missed.len(),
            10,
            "due at +0 … +9 minutes, each past its minute of margin"
        );
        assert_eq!(missed[1].as_millis() - missed[0].as_millis(), 60_000);
        assert_eq!(next.as_millis(), start.as_millis() + 10 * 60_000);
        let (first, after) = missed_slots(start, now, &config, 4);
        assert_eq!(first.len(), 4);
        let (rest, _) = missed_slots(after, now, &config, 100);
        assert_eq!(rest.len(), 6);
        let (none, same) = missed_slots(start, Timestamp::from_millis(start.as_millis() + 60_000), &config, 100);
        assert!(none.is_empty() && same == start, "within the margin nothing is missed");
    }
}

//! The storage budget's rules: how much space stored events take, when to evict, and which events go
//! first. Eviction thins issues from the middle: an issue's first and latest stored events always stay
//! (so an issue never loses its only event), and each pass over an issue removes every second event
//! between them, oldest first, so what remains is an evenly spread sample of its history. Issues with
//! the most stored events are thinned first: one of their events is worth less than one of a rare issue.

use std::collections::BinaryHeap;

use super::ids::IssueId;

/// Disk bytes a stored event takes beyond its payload: the row's other columns, its index entries
/// and its `event_ids` entry: measured with 50,000 corpus events, about 1,120 bytes on SQLite and 870 on
/// Postgres (README, "Storage budget").
pub const EVENT_OVERHEAD_BYTES: i64 = 1_000;

/// Disk bytes a kept transaction body takes beyond its payload: its row's other columns (ids, name,
/// times) and its five index entries: measured with 20,000 bodies on Postgres, about 490 bytes (SQLite's
/// pages are counted as they are).
pub const BODY_OVERHEAD_BYTES: i64 = 500;

/// Eviction starts when stored events take more than this share of the budget…
const HIGH_WATER_PERCENT: i64 = 95;
/// …and frees space down to this share, so that it runs in batches rather than after every write.
const LOW_WATER_PERCENT: i64 = 85;

/// The space events take, as the budget counts it.
pub fn stored_bytes(events: i64, payload_bytes: i64) -> i64 {
    payload_bytes + events * EVENT_OVERHEAD_BYTES
}

/// The space kept transaction bodies take, as the budget counts it.
pub fn stored_body_bytes(bodies: i64, payload_bytes: i64) -> i64 {
    payload_bytes + bodies * BODY_OVERHEAD_BYTES
}

/// Bytes to free now: `None` below the high-water mark, else the way down to the low-water mark.
pub fn bytes_to_free(stored: i64, budget: i64) -> Option<i64> {
    if budget <= 0 || stored * 100 <= budget * HIGH_WATER_PERCENT {
        return None;
    }
    Some(stored - budget * LOW_WATER_PERCENT / 100)
}

/// How many events one thinning pass removes from an issue holding `stored` events: those at even
/// positions strictly between the first and the last (none for an issue of one or two events).
pub fn thinnable(stored: i64) -> i64 {
    if stored < 3 {
        0
    } else {
        (stored - 1) / 2
    }
}

/// The order in which issues are thinned: always the one holding the most stored events next.
#[derive(Debug, Default)]
pub struct EvictionQueue {
    heap: BinaryHeap<(i64, IssueId)>,
}

impl EvictionQueue {
    /// Issues with how many events each stores; those that cannot be thinned are left out.
    pub fn new(counts: impl IntoIterator<Item = (IssueId, i64)>) -> EvictionQueue {
        let heap = counts
            .into_iter()
            .filter(|&(_, stored)| thinnable(stored) > 0)
            .map(|(issue, stored)| (stored, issue))
            .collect();
        EvictionQueue { heap }
    }

    /// The next issue to thin and how many events it stores.
    pub fn pop_biggest(&mut self) -> Option<(IssueId, i64)> {
        self.heap.pop().map(|(stored, issue)| (issue, stored))
    }

    /// Puts an issue back after a pass removed some of its events.
    pub fn requeue(&mut self, issue: IssueId, stored: i64) {
        if thinnable(stored) > 0 {
            self.heap.push((stored, issue));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_starts_above_the_high_mark_and_goes_down_to_the_low_one() {
        assert_eq!(bytes_to_free(950, 1000), None);
        assert_eq!(bytes_to_free(951, 1000), Some(101));
        assert_eq!(bytes_to_free(2000, 1000), Some(1150));
        assert_eq!(bytes_to_free(5000, 0), None, "no budget, no eviction");
    }

    #[test]
    fn an_issue_keeps_its_first_and_latest_event() {
        assert_eq!(thinnable(1), 0, "an only event is never evicted");
        assert_eq!(thinnable(2), 0);
        assert_eq!(thinnable(3), 1);
        assert_eq!(thinnable(4), 1, "positions 2 of 1..4");
        assert_eq!(thinnable(5), 2, "positions 2 and 4 of 1..5");
        assert_eq!(thinnable(1001), 500);
    }

    #[test]
    fn the_issue_with_most_events_is_thinned_first() {
        let mut queue = EvictionQueue::new([(IssueId(1), 10), (IssueId(2), 2), (IssueId(3), 40)]);
        assert_eq!(queue.pop_biggest(), Some((IssueId(3), 40)));
        queue.requeue(IssueId(3), 21);
        assert_eq!(queue.pop_biggest(), Some((IssueId(3), 21)));
        queue.requeue(IssueId(3), 2);
        assert_eq!(queue.pop_biggest(), Some((IssueId(1), 10)));
        assert_eq!(queue.pop_biggest(), None, "an issue of two events is never thinned");
    }
}

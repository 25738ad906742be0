//! How often a performance issue's occurrences become stored events. An N+1 view makes one occurrence per
//! request; storing each as a full event made a busy endpoint cost an error's price per request (it was
//! two thirds of the transaction benchmark's work) and filled the storage budget with copies of one query.
//! So each issue gets a window of its own: its first occurrence is stored at once (its issue, alerts and
//! regressions exactly as before), the next one is held, and the rest of the window's occurrences only
//! raise the held one's weight. When the window ends the held event is stored carrying that weight, so
//! the issue's count still counts every occurrence; at most two events per issue and window are stored.

use std::collections::HashMap;

/// Windows open at once; past this an occurrence of a new issue is stored on its own (weight 1), as with
/// no window, rather than growing the map without bound.
pub const MAX_OPEN_WINDOWS: usize = 10_000;

/// An issue's window: when it ends, and the event held for its end with the occurrences it stands for.
#[derive(Debug)]
struct Window<T> {
    ends_at_ms: i64,
    held: Option<(T, i64)>,
}

/// The open windows, by issue (the problem's fingerprint).
#[derive(Debug)]
pub struct OccurrenceWindows<T> {
    length_ms: i64,
    open: HashMap<String, Window<T>>,
}

/// What to do with an occurrence.
#[derive(Debug, PartialEq)]
pub enum Occurrence<T> {
    /// Store this event now, standing for this many occurrences (1 unless a held one is folded in).
    Store(Vec<(T, i64)>),
    /// Counted in the window's held event; nothing to store now.
    Folded,
}

impl<T> OccurrenceWindows<T> {
    /// Windows `length_ms` long; 0 stores every occurrence.
    pub fn new(length_ms: i64) -> OccurrenceWindows<T> {
        OccurrenceWindows {
            length_ms: length_ms.max(0),
            open: HashMap::new(),
        }
    }

    /// Decides about an occurrence of issue `key` at `now_ms`; `event` builds its event, and is called only
    /// when the event is stored or held (most occurrences of a busy issue are neither).
    pub fn occur(&mut self, key: &str, now_ms: i64, event: impl FnOnce() -> T) -> Occurrence<T> {
        let mut due = Vec::new();
        match self.open.get_mut(key) {
            Some(window) if window.ends_at_ms > now_ms => {
                match &mut window.held {
                    Some((_, weight)) => *weight += 1,
                    None => window.held = Some((event(), 1)),
                }
                return Occurrence::Folded;
            }
            Some(_) => due.extend(self.open.remove(key).and_then(|window| window.held)),
            None => {}
        }
        if self.length_ms > 0 && self.open.len() < MAX_OPEN_WINDOWS {
            let window = Window {
                ends_at_ms: now_ms + self.length_ms,
                held: None,
            };
            self.open.insert(key.to_owned(), window);
        }
        due.push((event(), 1));
        Occurrence::Store(due)
    }

    /// The held events of the windows ended by `now_ms`, with their weights; those windows close.
    pub fn take_ended(&mut self, now_ms: i64) -> Vec<(T, i64)> {
        self.take_where(|window| window.ends_at_ms <= now_ms)
    }

    /// Every held event, ended or not (at shutdown); every window closes.
    pub fn take_all(&mut self) -> Vec<(T, i64)> {
        self.take_where(|_| true)
    }

    fn take_where(&mut self, ended: impl Fn(&Window<T>) -> bool) -> Vec<(T, i64)> {
        let keys: Vec<String> = self
            .open
            .iter()
            .filter(|(_, window)| ended(window))
            .map(|(key, _)| key.clone())
            .collect();
        keys.iter()
            .filter_map(|key| self.open.remove(key).and_then(|window| window.held))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(occurrence: Occurrence<&'static str>) -> Vec<(&'static str, i64)> {
        match occurrence {
            Occurrence::Store(events) => events,
            Occurrence::Folded => Vec::new(),
        }
    }

    #[test]
    fn the_first_occurrence_is_stored_at_once_and_the_rest_of_the_window_is_one_weighted_event() {
        let mut windows = OccurrenceWindows::new(60_000);
        assert_eq!(stored(windows.occur("n+1", 0, || "first")), vec![("first", 1)]);
        assert_eq!(windows.occur("n+1", 1_000, || "second"), Occurrence::Folded);
        for at in 2_000..2_005 {
            assert_eq!(
                windows.occur("n+1", at, || panic!("a folded occurrence builds no event")),
                Occurrence::Folded
            );
        }
        assert!(windows.take_ended(59_999).is_empty(), "the window is still open");
        assert_eq!(windows.take_ended(60_000), vec![("second", 6)]);
        assert_eq!(
            stored(windows.occur("n+1", 60_001, || "next")),
            vec![("next", 1)],
            "a new window"
        );
    }

    #[test]
    fn an_occurrence_after_its_window_ended_brings_the_held_event_with_it() {
        let mut windows = OccurrenceWindows::new(10_000);
        windows.occur("slow", 0, || "a");
        windows.occur("slow", 5, || "b");
        windows.occur("slow", 6, || "c");
        assert_eq!(stored(windows.occur("slow", 10_000, || "d")), vec![("b", 2), ("d", 1)]);
        assert!(windows.take_all().is_empty());
    }

    #[test]
    fn issues_have_windows_of_their_own() {
        let mut windows = OccurrenceWindows::new(60_000);
        assert_eq!(stored(windows.occur("one", 0, || "one")), vec![("one", 1)]);
        assert_eq!(stored(windows.occur("two", 1, || "two")), vec![("two", 1)]);
        windows.occur("one", 2, || "one again");
        assert_eq!(windows.take_all(), vec![("one again", 1)]);
    }

    #[test]
    fn a_window_of_zero_stores_every_occurrence() {
        let mut windows = OccurrenceWindows::new(0);
        for at in 0..3 {
            assert_eq!(stored(windows.occur("n+1", at, || "each")), vec![("each", 1)]);
        }
        assert!(windows.take_all().is_empty());
    }

    #[test]
    fn past_the_open_window_cap_occurrences_are_stored_on_their_own() {
        let mut windows = OccurrenceWindows::new(60_000);
        for i in 0..MAX_OPEN_WINDOWS {
            windows.occur(&i.to_string(), 0, || "opened");
        }
        for _ in 0..2 {
            assert_eq!(stored(windows.occur("one more", 1, || "alone")), vec![("alone", 1)]);
        }
    }
}

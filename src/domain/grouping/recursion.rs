//! Recursion collapsing (§8.1, §8.4 step 3): how deep a recursion went must not split an issue,
//! whether a frame calls itself directly or a block of 2–3 frames calls itself in a cycle.

use super::frames::FrameKey;
use crate::domain::event::Frame;

/// Cycles longer than this are rare and too easily confused with ordinary call chains.
const MAX_CYCLE_LEN: usize = 3;

/// Direct recursion repeats the very same frame, line included (Sentry's rule, §8.1).
pub fn is_direct_recursion(previous: &Frame, frame: &Frame) -> bool {
    previous.abs_path == frame.abs_path
        && previous.package == frame.package
        && previous.module == frame.module
        && previous.filename == frame.filename
        && previous.function == frame.function
        && previous.lineno == frame.lineno
        && previous.colno == frame.colno
}

/// Keeps one copy of every block of 2–3 contributing frames that repeats back-to-back
/// (`A B A B A B` → `A B`). Frames compare by what they contribute, so line numbers
/// cannot stop a cycle from collapsing.
pub fn collapse_cycles(keys: Vec<FrameKey>) -> Vec<FrameKey> {
    let mut collapsed: Vec<FrameKey> = Vec::with_capacity(keys.len());
    for key in keys {
        collapsed.push(key);
        // Dropping a repeat can expose another one at the new end, e.g. after a shorter cycle.
        while let Some(len) = (2..=MAX_CYCLE_LEN).find(|&len| ends_with_repeat(&collapsed, len)) {
            collapsed.truncate(collapsed.len() - len);
        }
    }
    collapsed
}

/// Whether the last `len` keys repeat the `len` keys right before them.
fn ends_with_repeat(keys: &[FrameKey], len: usize) -> bool {
    let Some(start) = keys.len().checked_sub(2 * len) else {
        return false;
    };
    let (earlier, latest) = keys[start..].split_at(len);
    earlier == latest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(function: &str) -> FrameKey {
        FrameKey {
            location: Some("app.tree".into()),
            function: Some(function.into()),
            context_line: None,
        }
    }

    fn keys(functions: &str) -> Vec<FrameKey> {
        functions.split_whitespace().map(key).collect()
    }

    #[track_caller]
    fn assert_collapses(functions: &str, expected: &str) {
        assert_eq!(collapse_cycles(keys(functions)), keys(expected), "{functions}");
    }

    #[test]
    fn a_repeated_pair_of_frames_keeps_one_copy() {
        assert_collapses("main A B A B A B", "main A B");
        assert_collapses("main A B A B A B A crash", "main A B A crash");
    }

    #[test]
    fn a_repeated_triple_of_frames_keeps_one_copy() {
        assert_collapses("A B C A B C A B C D", "A B C D");
    }

    #[test]
    fn repeats_that_are_not_back_to_back_are_kept() {
        assert_collapses("A B X A B", "A B X A B");
        assert_collapses("A B C D A B C D", "A B C D A B C D");
    }

    #[test]
    fn a_single_repeated_key_is_left_to_the_direct_recursion_rule() {
        assert_collapses("A A A", "A A A");
    }

    #[test]
    fn frames_differing_in_context_line_break_a_cycle() {
        let mut frames = keys("A B A B");
        frames[3].context_line = Some("return other()".into());
        assert_eq!(collapse_cycles(frames.clone()), frames);
    }

    #[test]
    fn direct_recursion_requires_the_same_line() {
        let frame = Frame {
            module: Some("app.tree".into()),
            function: Some("walk".into()),
            lineno: Some(3),
            ..Frame::default()
        };
        let moved = Frame {
            lineno: Some(4),
            ..frame.clone()
        };
        assert!(is_direct_recursion(&frame, &frame));
        assert!(!is_direct_recursion(&frame, &moved));
    }
}

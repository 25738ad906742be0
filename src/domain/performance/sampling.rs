//! Which transactions are kept whole (their body, with its spans): every transaction of a trace that has an
//! error, the slowest few of each name and hour, and a uniform sample decided by the trace id, so that
//! every service's part of a sampled trace is kept together. The rollups count every transaction; these
//! rules only choose what can be looked at afterwards. Pure: the writer feeds in what the store knows
//! (the traces with an error, the current slowest of each name and hour) and writes what comes out.

use std::collections::{HashMap, HashSet};

use crate::domain::ProjectId;

/// The share of traces kept by the uniform sample when no setting says otherwise.
pub const DEFAULT_SAMPLE_RATE: f64 = 0.05;
/// The slowest transactions kept per project, name and hour when no setting says otherwise.
pub const DEFAULT_SLOWEST_PER_HOUR: usize = 3;
/// Days a kept body stays when no setting says otherwise.
pub const DEFAULT_BODY_RETENTION_DAYS: i64 = 14;

const HOUR_MS: i64 = 3_600_000;

/// The sampling settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingRules {
    /// Share of traces kept whatever they hold, 0 to 1.
    pub sample_rate: f64,
    /// The slowest transactions kept per project, name and hour.
    pub slowest_per_hour: usize,
}

impl Default for SamplingRules {
    fn default() -> SamplingRules {
        SamplingRules {
            sample_rate: DEFAULT_SAMPLE_RATE,
            slowest_per_hour: DEFAULT_SLOWEST_PER_HOUR,
        }
    }
}

/// Why a body is kept; with none of them it is not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepReasons {
    /// Its trace has an error event.
    pub for_error: bool,
    /// It is among the slowest of its name and hour.
    pub slowest: bool,
    /// The uniform sample took its trace.
    pub sampled: bool,
}

impl KeepReasons {
    pub fn any(self) -> bool {
        self.for_error || self.slowest || self.sampled
    }
}

/// The start (epoch ms) of the hour a time in Unix seconds falls in.
pub fn hour_of(seconds: f64) -> i64 {
    let ms = (seconds * 1000.0) as i64;
    ms - ms.rem_euclid(HOUR_MS)
}

/// Whether the uniform sample takes a trace. The trace id decides (hashed to a number in [0, 1)), so a
/// trace is kept or dropped as a whole across services and writers; `fallback` (the event id) decides for
/// a transaction without a trace id.
pub fn in_uniform_sample(trace_id: &str, fallback: &str, rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    if rate >= 1.0 {
        return true;
    }
    let id = if trace_id.is_empty() { fallback } else { trace_id };
    unit_fraction(id) < rate
}

/// FNV-1a over the id, its top 53 bits as a fraction: stable across processes and versions.
fn unit_fraction(id: &str) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// The slowest `k` of one name and hour: whatever the store holds, then each offered transaction in turn.
#[derive(Debug, Clone)]
pub struct Slowest<T> {
    k: usize,
    kept: Vec<(f64, T)>,
}

/// What offering a transaction to [`Slowest`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Offer<T> {
    /// Not slower than the fastest of a full set.
    Rejected,
    /// Kept; in a full set the fastest member made room and is returned.
    Kept { displaced: Option<T> },
}

impl<T> Slowest<T> {
    /// The set as stored (two writers racing may have left more than `k`; the fastest go first).
    pub fn new(k: usize, current: Vec<(f64, T)>) -> Slowest<T> {
        Slowest { k, kept: current }
    }

    /// Offers a transaction of `duration_ms`: kept while the set is not full, else only when strictly
    /// slower than its fastest member, which it replaces.
    pub fn offer(&mut self, duration_ms: f64, member: T) -> Offer<T> {
        if self.k == 0 {
            return Offer::Rejected;
        }
        if self.kept.len() < self.k {
            self.kept.push((duration_ms, member));
            return Offer::Kept { displaced: None };
        }
        let fastest = self
            .kept
            .iter()
            .enumerate()
            .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
            .map(|(i, _)| i);
        match fastest {
            Some(i) if duration_ms > self.kept[i].0 => {
                let (_, displaced) = std::mem::replace(&mut self.kept[i], (duration_ms, member));
                Offer::Kept {
                    displaced: Some(displaced),
                }
            }
            _ => Offer::Rejected,
        }
    }
}

/// A transaction of the batch, as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate<'a> {
    pub project_id: ProjectId,
    pub name: &'a str,
    pub hour: i64,
    pub duration_ms: f64,
    /// Empty when the transaction has none.
    pub trace_id: &'a str,
    pub event_id: &'a str,
}

/// A body the store keeps among the slowest of its name and hour.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSlowest {
    pub id: i64,
    pub project_id: ProjectId,
    pub name: String,
    pub hour: i64,
    pub duration_ms: f64,
    pub trace_id: String,
    pub for_error: bool,
    pub sampled: bool,
}

/// What to write for a batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BodyPlan {
    /// Per candidate, why its body is kept (none: it is not).
    pub new: Vec<KeepReasons>,
    /// Stored bodies no longer among the slowest, with the reasons they keep (none: deleted).
    pub displaced: Vec<(i64, KeepReasons)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Member {
    Stored(usize),
    New(usize),
}

/// Decides which bodies of a batch are kept and which stored ones stop being among the slowest.
/// `error_traces` holds the `(project, trace id)` pairs that have an error event, for the batch's traces
/// and the stored slowest ones' alike.
pub fn plan_bodies(
    candidates: &[Candidate],
    stored: &[StoredSlowest],
    error_traces: &HashSet<(ProjectId, String)>,
    rules: &SamplingRules,
) -> BodyPlan {
    let has_error = |project_id: ProjectId, trace_id: &str| {
        !trace_id.is_empty() && error_traces.contains(&(project_id, trace_id.to_owned()))
    };
    let mut sets: HashMap<(ProjectId, &str, i64), Slowest<Member>> = HashMap::new();
    for (i, body) in stored.iter().enumerate() {
        sets.entry((body.project_id, body.name.as_str(), body.hour))
            .or_insert_with(|| Slowest::new(rules.slowest_per_hour, Vec::new()))
            .kept
            .push((body.duration_ms, Member::Stored(i)));
    }
    let mut new: Vec<KeepReasons> = candidates
        .iter()
        .map(|c| KeepReasons {
            for_error: has_error(c.project_id, c.trace_id),
            slowest: false,
            sampled: in_uniform_sample(c.trace_id, c.event_id, rules.sample_rate),
        })
        .collect();
    let mut displaced = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        let set = sets
            .entry((c.project_id, c.name, c.hour))
            .or_insert_with(|| Slowest::new(rules.slowest_per_hour, Vec::new()));
        if let Offer::Kept { displaced: out } = set.offer(c.duration_ms, Member::New(i)) {
            new[i].slowest = true;
            match out {
                Some(Member::New(j)) => new[j].slowest = false,
                Some(Member::Stored(s)) => displaced.push(s),
                None => {}
            }
        }
    }
    let displaced = displaced
        .into_iter()
        .map(|s| {
            let body = &stored[s];
            let reasons = KeepReasons {
                for_error: body.for_error || has_error(body.project_id, &body.trace_id),
                slowest: false,
                sampled: body.sampled,
            };
            (body.id, reasons)
        })
        .collect();
    BodyPlan { new, displaced }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR_MS;

    fn candidate<'a>(name: &'a str, ms: f64, trace_id: &'a str) -> Candidate<'a> {
        Candidate {
            project_id: ProjectId(1),
            name,
            hour: HOUR,
            duration_ms: ms,
            trace_id,
            event_id: trace_id,
        }
    }

    fn no_sample(k: usize) -> SamplingRules {
        SamplingRules {
            sample_rate: 0.0,
            slowest_per_hour: k,
        }
    }

    fn slowest_kept(plan: &BodyPlan) -> Vec<usize> {
        (0..plan.new.len()).filter(|&i| plan.new[i].slowest).collect()
    }

    #[test]
    fn the_slowest_three_of_a_name_and_hour_are_kept() {
        let durations = [50.0, 400.0, 20.0, 300.0, 90.0, 1_000.0, 10.0];
        let ids: Vec<String> = (0..durations.len()).map(|i| format!("t{i}")).collect();
        let batch: Vec<Candidate> = durations
            .iter()
            .zip(&ids)
            .map(|(&ms, id)| candidate("/cart", ms, id))
            .collect();
        let plan = plan_bodies(&batch, &[], &HashSet::new(), &no_sample(3));
        assert_eq!(slowest_kept(&plan), vec![1, 3, 5], "400, 300 and 1,000 ms");
        assert!(plan.displaced.is_empty());
    }

    #[test]
    fn each_name_and_hour_has_its_own_slowest() {
        let mut other_hour = candidate("/cart", 5.0, "c");
        other_hour.hour += HOUR_MS;
        let batch = [candidate("/cart", 500.0, "a"), candidate("/pay", 1.0, "b"), other_hour];
        let plan = plan_bodies(&batch, &[], &HashSet::new(), &no_sample(1));
        assert_eq!(slowest_kept(&plan), vec![0, 1, 2]);
    }

    #[test]
    fn a_slower_transaction_replaces_the_fastest_stored_one() {
        let stored = |id: i64, ms: f64, sampled: bool| StoredSlowest {
            id,
            project_id: ProjectId(1),
            name: "/cart".into(),
            hour: HOUR,
            duration_ms: ms,
            trace_id: format!("s{id}"),
            for_error: false,
            sampled,
        };
        let current = [stored(7, 100.0, false), stored(8, 200.0, true)];
        let faster = [candidate("/cart", 90.0, "x")];
        let plan = plan_bodies(&faster, &current, &HashSet::new(), &no_sample(2));
        assert_eq!(
            plan.new,
            vec![KeepReasons::default()],
            "not slower than the fastest kept"
        );
        let (slower, equal) = (candidate("/cart", 150.0, "y"), candidate("/cart", 150.0, "z"));
        let plan = plan_bodies(&[slower, equal], &current, &HashSet::new(), &no_sample(2));
        assert_eq!(slowest_kept(&plan), vec![0], "a tie is not slower");
        assert_eq!(
            plan.displaced,
            vec![(7, KeepReasons::default())],
            "the 100 ms body goes"
        );
        let slowest = candidate("/cart", 900.0, "w");
        let errors = HashSet::from([(ProjectId(1), "s8".to_owned())]);
        let plan = plan_bodies(&[slowest.clone(), slowest], &current, &errors, &no_sample(2));
        let kept_for_error_and_sample = KeepReasons {
            for_error: true,
            slowest: false,
            sampled: true,
        };
        assert_eq!(
            plan.displaced,
            vec![(7, KeepReasons::default()), (8, kept_for_error_and_sample)],
            "a displaced body keeps its other reasons, an error that came since among them"
        );
    }

    #[test]
    fn a_transaction_displaced_within_its_batch_loses_only_that_reason() {
        let batch = [candidate("/cart", 10.0, "a"), candidate("/cart", 20.0, "b")];
        let errors = HashSet::from([(ProjectId(1), "a".to_owned())]);
        let plan = plan_bodies(&batch, &[], &errors, &no_sample(1));
        assert_eq!(
            plan.new,
            vec![
                KeepReasons {
                    for_error: true,
                    ..KeepReasons::default()
                },
                KeepReasons {
                    slowest: true,
                    ..KeepReasons::default()
                },
            ]
        );
    }

    #[test]
    fn every_transaction_of_a_trace_with_an_error_is_kept() {
        let errors = HashSet::from([(ProjectId(1), "abc".to_owned())]);
        let batch = [
            candidate("/a", 1.0, "abc"),
            candidate("/b", 1.0, "abc"),
            candidate("/c", 1.0, ""),
        ];
        let plan = plan_bodies(&batch, &[], &errors, &no_sample(0));
        let for_error: Vec<bool> = plan.new.iter().map(|r| r.for_error).collect();
        assert_eq!(for_error, vec![true, true, false], "no trace id, no error trace");
        assert!(plan.new.iter().all(|r| !r.slowest), "k = 0 keeps none as the slowest");
        let mut elsewhere = candidate("/a", 1.0, "abc");
        elsewhere.project_id = ProjectId(2);
        assert!(!plan_bodies(&[elsewhere], &[], &errors, &no_sample(0)).new[0].any());
    }

    #[test]
    fn the_uniform_sample_keeps_its_share_of_traces() {
        let ids: Vec<String> = (0..20_000).map(|i| format!("{:032x}", i * 7_919)).collect();
        let taken = ids.iter().filter(|id| in_uniform_sample(id, "", 0.05)).count();
        assert!((800..1_200).contains(&taken), "{taken} of 20,000 at 5 %");
        assert!(
            ids.iter().all(|id| !in_uniform_sample(id, "", 0.0)),
            "rate 0 keeps none"
        );
        assert!(ids.iter().all(|id| in_uniform_sample(id, "", 1.0)), "rate 1 keeps all");
    }

    #[test]
    fn a_trace_is_sampled_as_a_whole() {
        for id in ["4bf92f3577b34da6a3ce929d0e0e4736", "0af7651916cd43dd8448eb211c80319c"] {
            let first = in_uniform_sample(id, "event-1", 0.5);
            assert_eq!(
                first,
                in_uniform_sample(id, "event-2", 0.5),
                "same trace, same decision"
            );
        }
        let by_event = |event: &str| in_uniform_sample("", event, 0.5);
        assert!((0..64).any(|i| by_event(&format!("e{i}"))));
        assert!((0..64).any(|i| !by_event(&format!("e{i}"))));
    }

    #[test]
    fn hours_start_on_the_hour() {
        assert_eq!(hour_of(1_700_000_000.5), 1_699_999_200_000);
        assert_eq!(hour_of(3_600.0), 3_600_000);
    }
}

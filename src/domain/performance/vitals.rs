//! Web vitals: the `measurements` a browser SDK attaches to its pageload and navigation transactions
//! (`{"lcp": {"value": 1234.5, "unit": "millisecond"}, "cls": {"value": 0.04, "unit": ""}, …}`), read
//! into the few vitals rolled up. They share the durations' log-scale histogram (`histogram`): the timed
//! ones in milliseconds, CLS (a unitless score, mostly 0 to 1) in thousandths so that it spreads over
//! the same buckets. Every other measurement (mobile app starts, frame counts, `fp`, …) is left out.

use serde_json::Value;

/// A web vital Faultline rolls up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Vital {
    Lcp,
    Fcp,
    Cls,
    Ttfb,
    Inp,
    Fid,
}

/// How many thousandths of CLS one histogram unit holds: CLS 0.1 is stored as 100.
const CLS_SCALE: f64 = 1000.0;

impl Vital {
    /// In the order a page shows them.
    pub const ALL: [Vital; 6] = [Vital::Lcp, Vital::Fcp, Vital::Cls, Vital::Ttfb, Vital::Inp, Vital::Fid];

    /// The measurement's key as SDKs send it, and as it is stored.
    pub fn key(self) -> &'static str {
        match self {
            Vital::Lcp => "lcp",
            Vital::Fcp => "fcp",
            Vital::Cls => "cls",
            Vital::Ttfb => "ttfb",
            Vital::Inp => "inp",
            Vital::Fid => "fid",
        }
    }

    /// Its usual abbreviation, as people know it.
    pub fn label(self) -> &'static str {
        match self {
            Vital::Lcp => "LCP",
            Vital::Fcp => "FCP",
            Vital::Cls => "CLS",
            Vital::Ttfb => "TTFB",
            Vital::Inp => "INP",
            Vital::Fid => "FID",
        }
    }

    pub fn from_key(key: &str) -> Option<Vital> {
        Vital::ALL.into_iter().find(|vital| vital.key() == key)
    }

    /// CLS is a score; the others are times in milliseconds.
    pub fn is_unitless(self) -> bool {
        self == Vital::Cls
    }

    /// A stored (histogram) value back in the vital's own unit: milliseconds, or the CLS score.
    pub fn natural(self, stored: f64) -> f64 {
        if self.is_unitless() {
            stored / CLS_SCALE
        } else {
            stored
        }
    }
}

/// The vitals of a transaction event, each as stored: milliseconds, CLS in thousandths. A measurement
/// with no number, a negative or non-finite one, or a time in a unit that is not a time is left out.
pub fn read_vitals(event: &Value) -> Vec<(Vital, f64)> {
    let Some(measurements) = event.get("measurements").and_then(Value::as_object) else {
        return Vec::new();
    };
    Vital::ALL
        .into_iter()
        .filter_map(|vital| {
            let measurement = measurements.get(vital.key())?;
            let value = measurement.get("value")?.as_f64()?;
            if !value.is_finite() || value < 0.0 {
                return None;
            }
            let unit = measurement.get("unit").and_then(Value::as_str).unwrap_or("");
            let stored = if vital.is_unitless() {
                value * CLS_SCALE
            } else {
                value * millis_per(unit)?
            };
            Some((vital, stored))
        })
        .collect()
}

/// Milliseconds in one `unit`; the SDKs send `millisecond` (older ones no unit at all).
fn millis_per(unit: &str) -> Option<f64> {
    match unit {
        "" | "millisecond" => Some(1.0),
        "second" => Some(1_000.0),
        "microsecond" => Some(0.001),
        "nanosecond" => Some(0.000_001),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pageload_reads_its_vitals_in_milliseconds_and_cls_in_thousandths() {
        let pageload = json!({"measurements": {
            "lcp": {"value": 1234.5, "unit": "millisecond"},
            "fcp": {"value": 0.8, "unit": "second"},
            "cls": {"value": 0.125, "unit": ""},
            "ttfb": {"value": 120},
            "fp": {"value": 700, "unit": "millisecond"},
            "connection.rtt": {"value": 50, "unit": "millisecond"}
        }});
        let vitals = read_vitals(&pageload);
        assert_eq!(
            vitals,
            vec![
                (Vital::Lcp, 1234.5),
                (Vital::Fcp, 800.0),
                (Vital::Cls, 125.0),
                (Vital::Ttfb, 120.0)
            ],
            "fp and the connection's round trip are not rolled up"
        );
        assert!((Vital::Cls.natural(125.0) - 0.125).abs() < 1e-12);
        assert_eq!(Vital::Lcp.natural(1234.5), 1234.5);
    }

    #[test]
    fn broken_measurements_are_left_out() {
        let odd = json!({"measurements": {
            "lcp": {"value": -5, "unit": "millisecond"},
            "fcp": {"value": "fast", "unit": "millisecond"},
            "ttfb": {"value": 10, "unit": "byte"},
            "inp": {"unit": "millisecond"},
            "fid": {"value": 3.5, "unit": "millisecond"}
        }});
        assert_eq!(read_vitals(&odd), vec![(Vital::Fid, 3.5)]);
        assert!(read_vitals(&json!({"measurements": [1, 2]})).is_empty());
        assert!(read_vitals(&json!({})).is_empty());
    }

    #[test]
    fn keys_and_labels_round_trip() {
        for vital in Vital::ALL {
            assert_eq!(Vital::from_key(vital.key()), Some(vital));
            assert_eq!(vital.label(), vital.key().to_uppercase());
        }
        assert_eq!(Vital::from_key("LCP"), None, "stored keys are lowercase");
    }
}

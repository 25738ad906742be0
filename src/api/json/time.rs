//! Dates as the Sentry web API writes them (§11.1): ISO 8601 in UTC with microseconds and a `Z`,
//! e.g. `2025-01-01T12:00:00.123000Z`.

use ::time::{OffsetDateTime, PrimitiveDateTime};

use crate::domain::Timestamp;

const NANOS_PER_MILLI: i128 = 1_000_000;
const NANOS_PER_MICRO: i128 = 1_000;
const MICROS_PER_SECOND: f64 = 1_000_000.0;

/// Formats Unix milliseconds (the store's integer timestamps).
pub fn iso8601_ms(epoch_ms: i64) -> String {
    format_nanos(i128::from(epoch_ms) * NANOS_PER_MILLI)
}

/// Formats an instant.
pub fn iso8601(at: Timestamp) -> String {
    iso8601_ms(at.as_millis())
}

/// Formats Unix seconds (the event's own `f64` timestamps), rounded to the microsecond.
pub fn iso8601_secs(epoch_seconds: f64) -> String {
    // `as` saturates (and maps NaN to 0), so no input can panic here.
    let micros = (epoch_seconds * MICROS_PER_SECOND).round() as i128;
    format_nanos(micros.saturating_mul(NANOS_PER_MICRO))
}

fn format_nanos(nanos: i128) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or_else(|_| out_of_range(nanos));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// Beyond year ±9999 a date is nonsense anyway; the nearest representable one keeps the output
/// well-formed instead of failing a whole API response.
fn out_of_range(nanos: i128) -> OffsetDateTime {
    if nanos < 0 {
        PrimitiveDateTime::MIN.assume_utc()
    } else {
        PrimitiveDateTime::MAX.assume_utc()
    }
}

#[cfg(test)]
mod tests;

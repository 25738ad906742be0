use super::*;

#[test]
fn milliseconds_render_as_utc_with_six_fraction_digits() {
    assert_eq!(iso8601_ms(1_735_732_800_123), "2025-01-01T12:00:00.123000Z");
}

#[test]
fn whole_seconds_keep_an_explicit_zero_fraction() {
    assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000000Z");
    assert_eq!(iso8601_secs(1_704_067_200.0), "2024-01-01T00:00:00.000000Z");
}

#[test]
fn fractional_seconds_keep_microsecond_precision() {
    assert_eq!(iso8601_secs(1_704_067_200.5), "2024-01-01T00:00:00.500000Z");
    assert_eq!(iso8601_secs(1_795_256_899.134_74), "2026-11-21T10:28:19.134740Z");
}

#[test]
fn instants_before_the_epoch_count_backwards() {
    assert_eq!(iso8601_ms(-1), "1969-12-31T23:59:59.999000Z");
}

#[test]
fn unrepresentable_instants_clamp_instead_of_failing() {
    assert_eq!(iso8601_ms(i64::MAX), "9999-12-31T23:59:59.999999Z");
    assert_eq!(iso8601_secs(f64::NEG_INFINITY), "-9999-01-01T00:00:00.000000Z");
    assert_eq!(iso8601_secs(f64::NAN), "1970-01-01T00:00:00.000000Z");
}

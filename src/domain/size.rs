//! Sizes people write in settings: `500MB`, `10GB`, `1.5GiB`, `4096`. Decimal units (kB, MB, GB, TB) are
//! powers of 1000 and binary ones (KiB, MiB, GiB, TiB) of 1024, as disk vendors and `df -H` / `df -h` do.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size {0:?} (expected a number and a unit such as 500MB, 10GB or 2GiB)")]
pub struct InvalidSize(pub String);

/// Bytes of a size; units are case-insensitive, a bare number is bytes.
pub fn parse_byte_size(text: &str) -> Result<u64, InvalidSize> {
    let invalid = || InvalidSize(text.to_owned());
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(invalid()),
    };
    let bytes = number * factor;
    // Up to an exabyte: anything larger is a typo, not a disk.
    if !bytes.is_finite() || !(0.0..=1e18).contains(&bytes) {
        return Err(invalid());
    }
    Ok(bytes.round() as u64)
}

/// A size for people: `1.5 GB`, `250 MB`, `12 kB`, `900 B` (decimal, one decimal place).
pub fn format_byte_size(bytes: u64) -> String {
    let units = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")];
    for (factor, unit) in units {
        if bytes as f64 >= factor {
            let value = bytes as f64 / factor;
            return if value >= 100.0 {
                format!("{value:.0} {unit}")
            } else {
                format!("{value:.1} {unit}")
            };
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_decimal_and_binary_units() {
        assert_eq!(parse_byte_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_byte_size("10 GB"), Ok(10_000_000_000));
        assert_eq!(parse_byte_size("2GiB"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_byte_size("1.5gb"), Ok(1_500_000_000));
        assert_eq!(parse_byte_size("4096"), Ok(4096));
    }

    #[test]
    fn words_negative_and_absurd_sizes_are_refused_with_the_text() {
        for bad in ["ten gigs", "-1GB", "10XB", "", "1e30", "99999999999TB"] {
            let error = parse_byte_size(bad).unwrap_err();
            assert!(error.to_string().contains("expected a number and a unit"), "{bad}");
        }
    }

    #[test]
    fn sizes_print_for_people() {
        assert_eq!(format_byte_size(256_000_000), "256 MB");
        assert_eq!(format_byte_size(1_500_000_000), "1.5 GB");
        assert_eq!(format_byte_size(900), "900 B");
    }
}

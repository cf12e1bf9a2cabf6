//! Byte counts for people. Option values (sizes, durations, compression, fsync, policy)
//! are parsed and printed by core (`streamq::ByteSize`, `streamq::parse_duration` …), so
//! that one spelling means one thing in every front end; this module only formats
//! figures for reading.

/// Formats a byte count for people (`900.0 KiB`, `26.4 MiB`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(900 * 1024), "900.0 KiB");
        assert_eq!(human_bytes(256 << 20), "256.0 MiB");
    }
}

//! Parsing of human-friendly sizes and durations.
//!
//! Sizes: a plain number of bytes, or a number with a unit: `B`; binary `K`/`KiB`,
//! `M`/`MiB`, `G`/`GiB`, `T`/`TiB` (powers of 1024; `k`, `m`, `g` are accepted too);
//! decimal `KB`/`kB`, `MB`, `GB`, `TB` (powers of 1000). Fractions are allowed
//! (`1.5MiB`).
//!
//! Durations: a number with a unit `ns`, `us`, `ms`, `s`, `m` (minutes), `h`; a plain
//! number means seconds. Fractions are allowed (`0.5s`).

use std::time::Duration;

fn split_number(s: &str) -> Result<(f64, &str), String> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    let num: String = num.chars().filter(|&c| c != '_').collect();
    if num.is_empty() {
        return Err(format!("'{s}' does not start with a number"));
    }
    let v: f64 = num.parse().map_err(|_| format!("'{s}' is not a valid number"))?;
    if !v.is_finite() {
        return Err(format!("'{s}' is not a finite number"));
    }
    Ok((v, unit.trim()))
}

/// Parses a size in bytes (`900KiB`, `256MiB`, `1GiB`, `1.5MB`, `4096`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (v, unit) = split_number(s)?;
    let mult: f64 = match unit {
        "" | "B" | "b" => 1.0,
        "K" | "k" | "KiB" | "kiB" | "Ki" => 1024.0,
        "KB" | "kB" | "kb" => 1e3,
        "M" | "m" | "MiB" | "Mi" => 1024.0 * 1024.0,
        "MB" | "mb" => 1e6,
        "G" | "g" | "GiB" | "Gi" => 1024.0 * 1024.0 * 1024.0,
        "GB" | "gb" => 1e9,
        "T" | "t" | "TiB" | "Ti" => 1024.0f64.powi(4),
        "TB" | "tb" => 1e12,
        other => {
            return Err(format!(
                "unknown size unit '{other}' in '{}' (use B, KiB, MiB, GiB, KB, MB, GB)",
                s.trim()
            ));
        }
    };
    let bytes = (v * mult).round();
    if bytes > u64::MAX as f64 {
        return Err(format!("size '{}' is too large", s.trim()));
    }
    Ok(bytes as u64)
}

/// The unit of a duration string, if it has a time unit (`ms`, `s` …).
fn duration_mult(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "" | "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    })
}

/// Parses a duration (`10s`, `500ms`, `2m`, `1.5s`, `30` = 30 s).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (v, unit) = split_number(s)?;
    let mult = duration_mult(unit).ok_or_else(|| {
        format!(
            "unknown duration unit '{unit}' in '{}' (use ns, us, ms, s, m, h)",
            s.trim()
        )
    })?;
    let secs = v * mult;
    if secs > 1e12 {
        return Err(format!("duration '{}' is too long", s.trim()));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Whether `s` is written as a duration with an explicit time unit (`20ms`, `1s`).
pub fn has_time_unit(s: &str) -> bool {
    match split_number(s) {
        Ok((_, unit)) => !unit.is_empty() && duration_mult(unit).is_some(),
        Err(_) => false,
    }
}

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
    fn sizes() {
        assert_eq!(parse_size("900KiB"), Ok(900 * 1024));
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1.5MB"), Ok(1_500_000));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("3 fortnights").is_err());
        assert!(has_time_unit("20ms"));
        assert!(!has_time_unit("64MiB"));
        assert!(!has_time_unit("4096"));
    }
}

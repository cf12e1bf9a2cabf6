//! The text form of option values, parsed and printed in one place so one spelling means
//! one thing in Rust, C, Python and the command line.
//!
//! | option | text | value |
//! |---|---|---|
//! | sizes ([`ByteSize`]) | `4096`, `900KiB`, `256MiB`, `1.5MB` | bytes: binary units `K`/`KiB`, `M`/`MiB`, `G`/`GiB`, `T`/`TiB` are powers of 1024, decimal `KB`, `MB`, `GB`, `TB` powers of 1000 |
//! | durations ([`parse_duration`]) | `500ms`, `10s`, `2m`, `1h`, `30` (seconds) | units `ns`, `us`, `ms`, `s`, `m`, `h` |
//! | [`Compression`] | `none`, `zstd` (level 1), `zstd:LEVEL` (1–22) | |
//! | [`FsyncPolicy`] | `close` (also `never`, `on-close`), `always`, `every:SIZE`, `every:DURATION` (a bare size or duration is accepted too) | |
//! | [`OverflowPolicy`] | `block`, `fail-fast` (also `fail`), `drop-newest`, `drop-oldest` (`_` for `-` accepted) | |
//!
//! Every type prints ([`Display`](std::fmt::Display)) in the canonical form its parser
//! reads back: `zstd:3`, `every:64MiB`, `drop-oldest`, `256MiB`.
//!
//! ```
//! use streamq::{ByteSize, Compression, FsyncPolicy, OverflowPolicy};
//!
//! let c: Compression = "zstd:3".parse()?;
//! assert_eq!(c, Compression::Zstd { level: 3 });
//! let f: FsyncPolicy = "every:64MiB".parse()?;
//! assert_eq!(f, FsyncPolicy::EveryBytes(64 << 20));
//! assert_eq!("drop-oldest".parse::<OverflowPolicy>()?, OverflowPolicy::DropOldest);
//! assert_eq!("256MiB".parse::<ByteSize>()?.bytes(), 256 << 20);
//! assert_eq!(f.to_string(), "every:64MiB");
//! # Ok::<(), streamq::OptionTextError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::queue::config::{DropReason, OverflowPolicy};

/// An option value whose text could not be read; the message names the option, the
/// text and the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionTextError {
    message: String,
}

impl OptionTextError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        OptionTextError {
            message: message.into(),
        }
    }
}

impl fmt::Display for OptionTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OptionTextError {}

fn split_number(s: &str) -> Result<(f64, &str), OptionTextError> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    let num: String = num.chars().filter(|&c| c != '_').collect();
    if num.is_empty() {
        return Err(OptionTextError::new(format!(
            "'{s}' does not start with a number"
        )));
    }
    let v: f64 = num
        .parse()
        .map_err(|_| OptionTextError::new(format!("'{s}' is not a valid number")))?;
    if !v.is_finite() {
        return Err(OptionTextError::new(format!("'{s}' is not a finite number")));
    }
    Ok((v, unit.trim()))
}

/// A size in bytes, read from `4096`, `900KiB`, `256MiB`, `1.5MB` …; printed with the
/// largest binary unit that divides it exactly (`256MiB`, `900KiB`, `1000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = OptionTextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
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
                return Err(OptionTextError::new(format!(
                    "unknown size unit '{other}' in '{}' (use B, KiB, MiB, GiB, KB, MB, GB)",
                    s.trim()
                )));
            }
        };
        let bytes = (v * mult).round();
        if bytes >= u64::MAX as f64 {
            return Err(OptionTextError::new(format!("size '{}' is too large", s.trim())));
        }
        Ok(ByteSize(bytes as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u32); 4] = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
        for (unit, shift) in UNITS {
            if self.0 != 0 && self.0.is_multiple_of(1u64 << shift) {
                return write!(f, "{}{unit}", self.0 >> shift);
            }
        }
        write!(f, "{}", self.0)
    }
}

/// The seconds in one unit of a duration, if `unit` is a time unit (`ms`, `s` …; empty
/// means seconds).
fn duration_unit(unit: &str) -> Option<f64> {
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

/// Reads a duration: `10s`, `500ms`, `2m`, `1.5s`, `30` (seconds).
pub fn parse_duration(s: &str) -> Result<Duration, OptionTextError> {
    let (v, unit) = split_number(s)?;
    let mult = duration_unit(unit).ok_or_else(|| {
        OptionTextError::new(format!(
            "unknown duration unit '{unit}' in '{}' (use ns, us, ms, s, m, h)",
            s.trim()
        ))
    })?;
    let secs = v * mult;
    if secs > 1e12 {
        return Err(OptionTextError::new(format!(
            "duration '{}' is too long",
            s.trim()
        )));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Prints a duration in the unit that states it exactly (`20ms`, `2s`, `1500us`).
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    for (unit, per) in [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if ns != 0 && ns.is_multiple_of(per) {
            return format!("{}{unit}", ns / per);
        }
    }
    format!("{ns}ns")
}

/// Whether `s` is written as a duration with an explicit time unit (`20ms`, `1s`).
pub fn has_time_unit(s: &str) -> bool {
    match split_number(s) {
        Ok((_, unit)) => !unit.is_empty() && duration_unit(unit).is_some(),
        Err(_) => false,
    }
}

/// How a writer compresses frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Frames are stored as pushed.
    #[default]
    None,
    /// Each frame is compressed with zstd at this level (1–22; 1–3 keep up with a
    /// camera), on the writer's pool of workers.
    Zstd {
        /// The zstd level.
        level: i32,
    },
}

impl Compression {
    /// The zstd level `zstd` alone means: 1, the fastest, which keeps up with a depth
    /// camera on one core.
    pub const DEFAULT_ZSTD_LEVEL: i32 = 1;

    /// The zstd level, if compressing.
    pub fn zstd_level(self) -> Option<i32> {
        match self {
            Compression::None => None,
            Compression::Zstd { level } => Some(level),
        }
    }
}

impl FromStr for Compression {
    type Err = OptionTextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "none" | "off" => Ok(Compression::None),
            "zstd" => Ok(Compression::Zstd {
                level: Self::DEFAULT_ZSTD_LEVEL,
            }),
            _ => match t.strip_prefix("zstd:") {
                Some(l) => match l.parse::<i32>() {
                    Ok(level) if (1..=22).contains(&level) => Ok(Compression::Zstd { level }),
                    _ => Err(OptionTextError::new(format!(
                        "zstd level must be 1..=22, got '{l}'"
                    ))),
                },
                None => Err(OptionTextError::new(format!(
                    "unknown compression '{}' (use none, zstd or zstd:LEVEL)",
                    s.trim()
                ))),
            },
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compression::None => f.write_str("none"),
            Compression::Zstd { level } => write!(f, "zstd:{level}"),
        }
    }
}

/// When the writer calls `fdatasync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FsyncPolicy {
    /// Never (the OS writes back when it likes); `close()` still syncs.
    #[default]
    OnClose,
    /// After at least this many bytes since the last sync.
    EveryBytes(u64),
    /// At least this often while data is being written.
    Every(Duration),
    /// After every write call (slow; for small, precious streams).
    Always,
}

impl FromStr for FsyncPolicy {
    type Err = OptionTextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "never" | "close" | "on-close" | "on_close" => return Ok(FsyncPolicy::OnClose),
            "always" => return Ok(FsyncPolicy::Always),
            _ => {}
        }
        let interval = t.strip_prefix("every:").unwrap_or(t);
        let bad = |m: String| {
            OptionTextError::new(format!(
                "{m} (fsync takes close, always, every:SIZE or every:DURATION, e.g. every:64MiB, every:20ms)"
            ))
        };
        if has_time_unit(interval) {
            let d = parse_duration(interval).map_err(|e| bad(e.to_string()))?;
            if d.is_zero() {
                return Err(bad("fsync interval must be positive".into()));
            }
            Ok(FsyncPolicy::Every(d))
        } else {
            match interval.parse::<ByteSize>().map_err(|e| bad(e.to_string()))? {
                ByteSize(0) => Err(bad("fsync byte interval must be positive".into())),
                ByteSize(n) => Ok(FsyncPolicy::EveryBytes(n)),
            }
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsyncPolicy::OnClose => f.write_str("close"),
            FsyncPolicy::Always => f.write_str("always"),
            FsyncPolicy::EveryBytes(n) => write!(f, "every:{}", ByteSize(*n)),
            FsyncPolicy::Every(d) => write!(f, "every:{}", format_duration(*d)),
        }
    }
}

impl FromStr for OverflowPolicy {
    type Err = OptionTextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "block" => Ok(OverflowPolicy::Block),
            "fail-fast" | "fail" | "failfast" => Ok(OverflowPolicy::FailFast),
            "drop-newest" => Ok(OverflowPolicy::DropNewest),
            "drop-oldest" => Ok(OverflowPolicy::DropOldest),
            _ => Err(OptionTextError::new(format!(
                "unknown overflow policy '{}' (use block, fail-fast, drop-newest or drop-oldest)",
                s.trim()
            ))),
        }
    }
}

impl fmt::Display for OverflowPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OverflowPolicy::Block => "block",
            OverflowPolicy::FailFast => "fail-fast",
            OverflowPolicy::DropNewest => "drop-newest",
            OverflowPolicy::DropOldest => "drop-oldest",
        })
    }
}

/// Why frames are missing, in the words of the policy that dropped them: `drop-newest`,
/// `drop-oldest`, `write-error`, `unknown-N` (a code from a newer writer).
impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Newest => f.write_str("drop-newest"),
            DropReason::Oldest => f.write_str("drop-oldest"),
            DropReason::WriteError => f.write_str("write-error"),
            DropReason::Unknown(code) => write!(f, "unknown-{code}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_print_back() {
        for (text, bytes, canonical) in [
            ("900KiB", 900 * 1024, "900KiB"),
            ("256MiB", 256 << 20, "256MiB"),
            ("1GiB", 1 << 30, "1GiB"),
            ("4096", 4096, "4KiB"),
            ("1.5MB", 1_500_000, "1500000"),
            ("64k", 65536, "64KiB"),
        ] {
            let s: ByteSize = text.parse().unwrap();
            assert_eq!(s.bytes(), bytes, "{text}");
            assert_eq!(s.to_string(), canonical, "{text}");
            assert_eq!(canonical.parse::<ByteSize>().unwrap(), s);
        }
        for bad in ["12 parsecs", "", "MiB", "inf"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_read_and_print_back() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("3 fortnights").is_err());
        assert_eq!(format_duration(Duration::from_millis(20)), "20ms");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert!(has_time_unit("20ms"));
        assert!(!has_time_unit("64MiB"));
        assert!(!has_time_unit("4096"));
    }

    #[test]
    fn every_option_prints_what_it_reads() {
        for text in ["none", "zstd:1", "zstd:22"] {
            assert_eq!(text.parse::<Compression>().unwrap().to_string(), text);
        }
        assert_eq!(
            "zstd".parse::<Compression>().unwrap(),
            Compression::Zstd { level: 1 }
        );
        for bad in ["zstd:0", "zstd:23", "lz4", "zstd:x"] {
            assert!(bad.parse::<Compression>().is_err(), "{bad}");
        }
        for text in ["close", "always", "every:64MiB", "every:20ms", "every:2s"] {
            assert_eq!(text.parse::<FsyncPolicy>().unwrap().to_string(), text);
        }
        assert_eq!(
            "64MiB".parse::<FsyncPolicy>().unwrap(),
            FsyncPolicy::EveryBytes(64 << 20)
        );
        assert_eq!(
            "20ms".parse::<FsyncPolicy>().unwrap(),
            FsyncPolicy::Every(Duration::from_millis(20))
        );
        for bad in ["every:0", "0ms", "sometimes"] {
            assert!(bad.parse::<FsyncPolicy>().is_err(), "{bad}");
        }
        for text in ["block", "fail-fast", "drop-newest", "drop-oldest"] {
            assert_eq!(text.parse::<OverflowPolicy>().unwrap().to_string(), text);
        }
        assert_eq!(
            "fail".parse::<OverflowPolicy>().unwrap(),
            OverflowPolicy::FailFast
        );
        assert_eq!(
            "drop_oldest".parse::<OverflowPolicy>().unwrap(),
            OverflowPolicy::DropOldest
        );
        assert!("leaky".parse::<OverflowPolicy>().is_err());
        assert_eq!(DropReason::Newest.to_string(), "drop-newest");
        assert_eq!(DropReason::from_code(9).to_string(), "unknown-9");
    }
}

//! Options from Python, read by the engine's own parsers.
//!
//! Text is parsed with core's `FromStr` (`ByteSize`, `Compression`, `FsyncPolicy`,
//! `OverflowPolicy`) and `parse_duration`, so one spelling means one thing in Python, C,
//! Rust and on the command line (`"zstd"` is zstd level 1, as for the CLI). Python
//! conveniences are mapped onto that text, not parsed here: sizes may be an int (bytes)
//! or text (`"256MiB"`), durations a number of seconds or text (`"20ms"`), and `fsync`
//! an int (every that many bytes) or a float (every that many seconds). Whether an
//! option applies to a sink, and every range check, is the engine's business
//! (`Writer::start` refuses with one message shape, passed through as ValueError).
//!
//! The option names are the canonical ones (`docs/OPTIONS.md`). Older Python names are
//! accepted as deprecated aliases ([`alias`]). The effective configuration is shown as
//! a dict of the engine's `describe()` ([`describe`]).

use std::time::Duration;

use pyo3::exceptions::{PyDeprecationWarning, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};

use streamq::{
    ByteSize, Compression, FsyncPolicy, OverflowPolicy, QueueConfig, WriterConfig, parse_duration,
};

use crate::errors;

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A size in bytes: an int, or text read by the engine's `ByteSize` ("900KiB", "256MiB").
pub fn size(name: &str, v: &Bound<'_, PyAny>) -> PyResult<u64> {
    if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("{name} must be a size, not a bool")));
    }
    if v.is_instance_of::<PyInt>() {
        return v.extract::<u64>();
    }
    if let Ok(s) = v.cast::<PyString>() {
        return s
            .to_str()?
            .parse::<ByteSize>()
            .map(ByteSize::bytes)
            .map_err(|e| errors::option(name, &e));
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be a number of bytes (int) or a size such as \"256MiB\", not {}",
        type_name(v)
    )))
}

/// As [`size`], for sizes held in a `usize`.
pub fn size_usize(name: &str, v: &Bound<'_, PyAny>) -> PyResult<usize> {
    let n = size(name, v)?;
    usize::try_from(n).map_err(|_| pyo3::exceptions::PyOverflowError::new_err(format!("{name} is too large")))
}

/// The text form of a number of seconds, for the engine's parsers.
fn seconds_text(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a duration, not a bool"
        )));
    }
    if v.is_instance_of::<PyInt>() {
        return Ok(Some(v.extract::<i128>()?.to_string()));
    }
    if v.is_instance_of::<PyFloat>() {
        // Rust prints the shortest text that reads back as the same float; a negative,
        // NaN or infinite value is refused by the parser.
        return Ok(Some(v.extract::<f64>()?.to_string()));
    }
    Ok(None)
}

/// A duration: a number of seconds, or text read by the engine ("20ms", "10s", "2m").
pub fn duration(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let text = match seconds_text(name, v)? {
        Some(t) => t,
        None => match v.cast::<PyString>() {
            Ok(s) => s.to_str()?.to_string(),
            Err(_) => {
                return Err(PyTypeError::new_err(format!(
                    "{name} must be a number of seconds or a duration such as \"20ms\", not {}",
                    type_name(v)
                )));
            }
        },
    };
    parse_duration(&text).map_err(|e| errors::option(name, &e))
}

/// A compression: "none", "zstd" (level 1), "zstd:LEVEL".
pub fn compression(name: &str, v: &str) -> PyResult<Compression> {
    v.parse::<Compression>().map_err(|e| errors::option(name, &e))
}

/// An overflow policy: "block", "fail-fast" ("fail"), "drop-newest", "drop-oldest"
/// ("_" for "-" accepted).
pub fn policy(name: &str, v: &str) -> PyResult<OverflowPolicy> {
    v.parse::<OverflowPolicy>().map_err(|e| errors::option(name, &e))
}

/// An fsync policy: text ("close", "always", "every:64MiB", "every:20ms"), an int (every
/// that many bytes) or a float (every that many seconds).
pub fn fsync(v: &Bound<'_, PyAny>) -> PyResult<FsyncPolicy> {
    let text = if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "fsync must be text (\"close\", \"always\", \"every:64MiB\", \"every:20ms\"), an int \
             (bytes) or a float (seconds), not a bool",
        ));
    } else if v.is_instance_of::<PyInt>() {
        format!("every:{}", v.extract::<i128>()?)
    } else if v.is_instance_of::<PyFloat>() {
        format!("every:{}s", v.extract::<f64>()?)
    } else if let Ok(s) = v.cast::<PyString>() {
        s.to_str()?.to_string()
    } else {
        return Err(PyTypeError::new_err(format!(
            "fsync must be text (\"close\", \"always\", \"every:64MiB\", \"every:20ms\"), an int \
             (bytes) or a float (seconds), not {}",
            type_name(v)
        )));
    };
    text.parse::<FsyncPolicy>()
        .map_err(|e| errors::option("fsync", &e))
}

/// A canonical option given under its deprecated Python name too: the value to use.
/// Both at once is a TypeError; the old name alone warns (DeprecationWarning).
pub fn alias<'py, T>(
    py: Python<'py>,
    name: &str,
    value: Option<T>,
    old: &str,
    old_value: Option<T>,
) -> PyResult<Option<T>> {
    match (value, old_value) {
        (Some(_), Some(_)) => Err(PyTypeError::new_err(format!(
            "give {name} or its deprecated alias {old}, not both"
        ))),
        (Some(v), None) => Ok(Some(v)),
        (None, Some(v)) => {
            deprecated(py, &format!("{old}= is deprecated: use {name}="))?;
            Ok(Some(v))
        }
        (None, None) => Ok(None),
    }
}

/// Emits a DeprecationWarning pointing at the caller's line.
pub fn deprecated(py: Python<'_>, message: &str) -> PyResult<()> {
    let cat = py.get_type::<PyDeprecationWarning>();
    PyErr::warn(py, &cat, &std::ffi::CString::new(message)?, 1)
}

/// The engine's `describe()` as a dict (option name -> canonical text).
pub fn describe<'py>(py: Python<'py>, items: &[(&'static str, String)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in items {
        d.set_item(*k, v)?;
    }
    Ok(d)
}

/// `metadata={...}` as text pairs (values through `str()`).
pub fn metadata_pairs(md: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Some(md) = md {
        for (k, v) in md.iter() {
            out.push((k.str()?.to_string(), v.str()?.to_string()));
        }
    }
    Ok(out)
}

/// The queue options of a `Queue` or of a writer stream (canonical names).
#[derive(Default)]
pub struct QueueArgs<'a, 'py> {
    pub capacity: Option<&'a Bound<'py, PyAny>>,
    pub policy: Option<&'a str>,
    pub high_water: Option<&'a Bound<'py, PyAny>>,
    pub low_water: Option<&'a Bound<'py, PyAny>>,
    pub max_frames: Option<usize>,
    pub block_timeout: Option<&'a Bound<'py, PyAny>>,
    pub prefault: Option<bool>,
}

/// A queue configuration and the two settings the binding itself needs (the engine's
/// config has no getters).
pub struct QueueSettings {
    pub config: QueueConfig,
    /// The capacity asked for (the ring is this rounded up to whole pages).
    pub capacity: usize,
    pub policy: OverflowPolicy,
    /// What a push's `timeout=None` means.
    pub block_timeout: Option<Duration>,
}

impl QueueArgs<'_, '_> {
    /// The engine's queue configuration; `capacity` and `policy` default to the given
    /// ones.
    pub fn settings(&self, capacity: usize, policy: OverflowPolicy) -> PyResult<QueueSettings> {
        let capacity = match self.capacity {
            Some(c) => size_usize("capacity", c)?,
            None => capacity,
        };
        let policy = match self.policy {
            Some(p) => self::policy("policy", p)?,
            None => policy,
        };
        let mut c = QueueConfig::new(capacity).policy(policy);
        if let Some(h) = self.high_water {
            c = c.high_water(size_usize("high_water", h)?);
        }
        if let Some(l) = self.low_water {
            c = c.low_water(size_usize("low_water", l)?);
        }
        if let Some(m) = self.max_frames {
            c = c.max_frames(m);
        }
        let block_timeout = match self.block_timeout {
            Some(t) => Some(duration("block_timeout", t)?),
            None => None,
        };
        c = c.block_timeout(block_timeout);
        if let Some(p) = self.prefault {
            c = c.prefault(p);
        }
        Ok(QueueSettings {
            config: c,
            capacity,
            policy,
            block_timeout,
        })
    }
}

/// The writer options (canonical names; deprecated aliases already folded in), applied
/// to a configuration whose sink is chosen. Only options given are set: the engine
/// refuses the ones the sink does not use.
#[derive(Default)]
pub struct WriterArgs<'a, 'py> {
    pub compression: Option<&'a str>,
    pub compress_workers: Option<usize>,
    pub raw_when_behind: Option<bool>,
    pub io_workers: Option<usize>,
    pub writes_in_flight: Option<usize>,
    pub max_write_bytes: Option<&'a Bound<'py, PyAny>>,
    pub max_write_rate: Option<&'a Bound<'py, PyAny>>,
    pub fsync: Option<&'a Bound<'py, PyAny>>,
    pub preallocate: Option<&'a Bound<'py, PyAny>>,
    pub direct_io: Option<bool>,
    pub segment_bytes: Option<&'a Bound<'py, PyAny>>,
    pub segment_duration: Option<&'a Bound<'py, PyAny>>,
    pub index_interval: Option<&'a Bound<'py, PyAny>>,
    pub max_streams: Option<u16>,
    pub linger: Option<&'a Bound<'py, PyAny>>,
    pub metadata: Vec<(String, String)>,
}

impl WriterArgs<'_, '_> {
    /// Sets the given options on `c`.
    pub fn apply(&self, mut c: WriterConfig) -> PyResult<WriterConfig> {
        if let Some(v) = self.compression {
            c = c.compression(compression("compression", v)?);
        }
        if let Some(n) = self.compress_workers {
            c = c.compress_workers(n);
        }
        if let Some(b) = self.raw_when_behind {
            c = c.raw_when_behind(b);
        }
        if let Some(n) = self.io_workers {
            c = c.io_workers(n);
        }
        if let Some(n) = self.writes_in_flight {
            c = c.writes_in_flight(n);
        }
        if let Some(v) = self.max_write_bytes {
            c = c.max_write_bytes(size_usize("max_write_bytes", v)?);
        }
        if let Some(v) = self.max_write_rate {
            c = c.max_write_rate(size("max_write_rate", v)?);
        }
        if let Some(v) = self.fsync {
            c = c.fsync(fsync(v)?);
        }
        if let Some(v) = self.preallocate {
            c = c.preallocate(size("preallocate", v)?);
        }
        if let Some(b) = self.direct_io {
            c = c.direct_io(b);
        }
        if let Some(v) = self.segment_bytes {
            c = c.segment_bytes(size("segment_bytes", v)?);
        }
        if let Some(v) = self.segment_duration {
            c = c.segment_duration(duration("segment_duration", v)?);
        }
        if let Some(v) = self.index_interval {
            c = c.index_interval(size("index_interval", v)?);
        }
        if let Some(n) = self.max_streams {
            c = c.max_streams(n);
        }
        if let Some(v) = self.linger {
            c = c.linger(duration("linger", v)?);
        }
        for (k, v) in &self.metadata {
            c = c.metadata(k.clone(), v.clone());
        }
        Ok(c)
    }
}

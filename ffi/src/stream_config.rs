//! One writer stream's configuration: `streamq_stream_config` (init, set/get by option
//! name) and its conversion to the engine's `StreamConfig`.
//!
//! Contract of the exports here (the `SAFETY` comments refer to it): a config pointer is
//! NULL or points to a `streamq_stream_config` of at least its `struct_size` bytes
//! (`sized.rs`), filled by `streamq_stream_config_init`, whose `name` and `media_type`
//! are NULL or NUL-terminated and whose `metadata` is NULL or `metadata_len` valid
//! `streamq_kv`; `name` and `value` arguments are NUL-terminated; `buf` is NULL or `len`
//! writable bytes; other outputs NULL or valid for a write of their type.

use std::ffi::c_char;

use streamq_core::StreamConfig;

use crate::args::{kv_list, string, string_or};
use crate::option_text as text;
use crate::panic::call;
use crate::queue::{queue_config, set_queue_option, streamq_queue_config};
use crate::result::{Res, streamq_result};
use crate::sized::{Input, init_input, read_input, update_input, versioned};
use crate::writer_config::{Purpose, streamq_kv};

/// Settings for one stream of a capture: its name, media type, metadata and queue. Fill
/// it with `streamq_stream_config_init` (or `STREAMQ_STREAM_CONFIG_INIT`), set `name`,
/// then change fields or set options by name with `streamq_stream_config_set`.
///
/// Growth: `queue` is the last member and this struct grows only through it (its own
/// `struct_size` covers the embedded queue config; the embedded `queue.struct_size` is
/// set by the init function and not read).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_stream_config {
    /// `sizeof(streamq_stream_config)` as the caller's header declares it (set by the
    /// init function).
    pub struct_size: usize,
    /// Option `name`: the stream name, e.g. "depth". Required, unique in the writer.
    pub name: *const c_char,
    /// Option `media_type`: media type / encoding, e.g. "depth/u16" (NULL:
    /// "application/octet-stream").
    pub media_type: *const c_char,
    /// Stream metadata (width, height, pixel format, units …), copied by
    /// `streamq_writer_add_stream`; may be NULL if `metadata_len` is 0.
    pub metadata: *const streamq_kv,
    /// Number of `metadata` entries.
    pub metadata_len: usize,
    /// The stream's own ring budget, overflow policy, water marks (default: 256 MiB,
    /// block).
    pub queue: streamq_queue_config,
}

versioned!(streamq_stream_config);

impl Input for streamq_stream_config {
    fn defaults() -> Self {
        streamq_stream_config {
            struct_size: size_of::<Self>(),
            name: std::ptr::null(),
            media_type: std::ptr::null(),
            metadata: std::ptr::null(),
            metadata_len: 0,
            queue: streamq_queue_config {
                capacity: 256 << 20,
                ..streamq_queue_config::defaults()
            },
        }
    }
}

/// Fills `*config` (`struct_size` bytes: pass `sizeof *config`, or use
/// `STREAMQ_STREAM_CONFIG_INIT(config)`) with the defaults: no name,
/// "application/octet-stream", no metadata, a 256 MiB blocking queue.
///
/// # Safety
/// `config` is NULL or points to `struct_size` writable bytes aligned for the struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_config_init(
    config: *mut streamq_stream_config,
    struct_size: usize,
) -> streamq_result {
    call("streamq_stream_config_init", || {
        // SAFETY: the caller's contract, as `init_input` needs it.
        unsafe { init_input(config, struct_size, "config") }?;
        // SAFETY: `init_input` checked `config` and wrote `struct_size` bytes; the
        // embedded queue config's own size is what of it the caller's struct holds.
        unsafe {
            let size = struct_size.min(size_of::<streamq_stream_config>());
            let at = std::mem::offset_of!(streamq_stream_config, queue);
            if size >= at + size_of::<usize>() {
                config
                    .cast::<u8>()
                    .add(at)
                    .cast::<usize>()
                    .write(struct_size - at);
            }
        }
        Ok(())
    })
}

/// The engine's config for the C one.
///
/// # Safety
/// `c`'s pointers satisfy the module contract.
pub(crate) unsafe fn stream_config(c: &streamq_stream_config, purpose: Purpose) -> Res<StreamConfig> {
    let name = match (c.name.is_null(), purpose) {
        (true, Purpose::Describe) => "",
        // SAFETY: NULL or NUL-terminated (contract).
        _ => unsafe { string(c.name, "config->name") }?,
    };
    // SAFETY: as above.
    let media = unsafe { string_or(c.media_type, "application/octet-stream", "config->media_type") }?;
    let mut sc = StreamConfig::new(name, media).queue_config(queue_config(&c.queue)?);
    if purpose == Purpose::Start {
        // SAFETY: NULL with 0, or `metadata_len` valid pairs (contract).
        for (k, v) in unsafe { kv_list(c.metadata, c.metadata_len, "config->metadata") }? {
            sc = sc.metadata(k, v);
        }
    }
    Ok(sc)
}

/// Sets stream option `name` from its text: the queue options of
/// `streamq_queue_config_set` (`capacity`, `policy`, `high_water`, `low_water`,
/// `max_frames`, `block_timeout`, `prefault`), applied to `config->queue`. `name` and
/// `media_type` are pointers: assign those fields. Errors as
/// `streamq_queue_config_set`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_config_set(
    config: *mut streamq_stream_config,
    name: *const c_char,
    value: *const c_char,
) -> streamq_result {
    call("streamq_stream_config_set", || {
        // SAFETY: the module contract.
        let (n, v) = unsafe { (string(name, "name")?, string(value, "value")?) };
        // SAFETY: the module contract.
        unsafe {
            update_input(config, "config", |c| {
                if n == "name" || n == "media_type" {
                    return Err(text::pointer_field(n, n));
                }
                match set_queue_option(&mut c.queue, n, v)? {
                    Some(end) => Ok(std::mem::offset_of!(streamq_stream_config, queue) + end),
                    // SAFETY: the config's pointers satisfy the contract.
                    None => Err(text::unknown(
                        "stream",
                        n,
                        &stream_config(c, Purpose::Describe)?.describe(),
                    )),
                }
            })
        }
    })
}

/// The canonical text of stream option `name` (`name`, `media_type` and the queue
/// options, as the engine's `describe()` prints them) into `buf`; as
/// `streamq_queue_config_get`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_config_get(
    config: *const streamq_stream_config,
    name: *const c_char,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> streamq_result {
    call("streamq_stream_config_get", || {
        // SAFETY: the module contract.
        let c = unsafe { read_input(config, "config") }?;
        // SAFETY: the module contract.
        let n = unsafe { string(name, "name") }?;
        // SAFETY: the module contract (the config's pointers).
        let described = unsafe { stream_config(&c, Purpose::Describe) }?.describe();
        // SAFETY: the module contract on `buf` and `len_out`.
        unsafe { text::get("stream", &described, n, buf, len, len_out) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C defaults are the engine's defaults, option for option.
    #[test]
    fn c_defaults_describe_as_the_engines() {
        let mut c = streamq_stream_config::defaults();
        c.name = c"depth".as_ptr();
        // SAFETY: `name` is a static C string, no metadata.
        let ours = unsafe { stream_config(&c, Purpose::Describe) }
            .unwrap()
            .describe();
        assert_eq!(
            ours,
            StreamConfig::new("depth", "application/octet-stream").describe()
        );
    }
}

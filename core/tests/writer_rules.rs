//! The writer's rules live in the engine, once, with the messages every front end shows:
//! options a sink does not use are refused, stream names are unique, events carry stream
//! names, a writer stream's producer is the queue's producer (water marks included),
//! and close is idempotent with its report kept.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use streamq::{
    AddStreamError, ByteSize, Compression, FlushError, FsyncPolicy, OverflowPolicy, Producer, PushOptions,
    StartError, StreamConfig, Wait, Writer, WriterConfig,
};

fn describe(v: Vec<(&'static str, String)>, key: &str) -> String {
    v.into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no option {key}"))
}

#[test]
fn options_a_sink_does_not_use_are_refused_with_one_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(WriterConfig, &str)> = vec![
        (
            WriterConfig::directory(dir.path().join("d")).zstd(3),
            "compression applies to the capture_file sink only (this writer's sink is directory)",
        ),
        (
            WriterConfig::callback(|_| Ok(())).segment_bytes(1 << 20),
            "segment_bytes applies to the capture_file sink only (this writer's sink is callback)",
        ),
        (
            WriterConfig::capture_file(dir.path().join("c.sqcap")).io_workers(2),
            "io_workers applies to the directory sink only (this writer's sink is capture_file)",
        ),
        (
            WriterConfig::callback(|_| Ok(())).metadata("sensor", "k4a"),
            "metadata applies to the capture_file sink only (this writer's sink is callback)",
        ),
        (
            WriterConfig::directory(dir.path().join("d2")).max_write_rate(1 << 20),
            "max_write_rate applies to the capture_file sink only (this writer's sink is directory)",
        ),
    ];
    for (config, message) in cases {
        match Writer::start(config) {
            Err(StartError::InvalidConfig(m)) => assert_eq!(m, message),
            other => panic!("expected InvalidConfig({message}), got {:?}", other.map(|_| ())),
        }
    }
    // The same options on the sink that uses them are accepted.
    let w = Writer::start(WriterConfig::directory(dir.path().join("d3")).io_workers(2)).unwrap();
    w.close().unwrap();
}

#[test]
fn stream_names_are_unique_and_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let w = Writer::start(WriterConfig::capture_file(dir.path().join("c.sqcap"))).unwrap();
    let a = w
        .add_stream(StreamConfig::new("depth", "raw").capacity(1 << 20))
        .unwrap();
    assert_eq!(a.stream_id(), Some(0));
    match w.add_stream(StreamConfig::new("depth", "raw").capacity(1 << 20)) {
        Err(AddStreamError::DuplicateName(n)) => assert_eq!(n, "depth"),
        other => panic!("expected DuplicateName, got {:?}", other.map(|_| ())),
    }
    assert!(matches!(
        w.add_stream(StreamConfig::new("", "raw")),
        Err(AddStreamError::InvalidConfig(_))
    ));
    let b = w
        .add_stream(StreamConfig::new("color", "raw").capacity(1 << 20))
        .unwrap();
    assert_eq!(b.stream_id(), Some(1));
    assert_eq!(w.stream_names(), ["depth", "color"]);
    drop((a, b));
    w.close().unwrap();
}

#[test]
fn close_is_idempotent_and_keeps_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let w = Writer::start(WriterConfig::capture_file(dir.path().join("c.sqcap"))).unwrap();
    let mut p = w
        .add_stream(StreamConfig::new("s", "raw").capacity(1 << 20))
        .unwrap();
    for _ in 0..10 {
        assert!(p.push(&[1u8; 100]).unwrap().is_queued());
    }
    assert!(!w.is_closed());
    let first = w.close().unwrap();
    assert!(w.is_closed());
    let second = w.close().unwrap();
    assert_eq!(first.frames_written, 10);
    assert_eq!(second.frames_written, first.frames_written);
    assert_eq!(second.bytes_written, first.bytes_written);
    assert!(matches!(w.flush(), Err(FlushError::Closed)));
    assert!(matches!(
        w.add_stream(StreamConfig::new("t", "raw")),
        Err(AddStreamError::Closed)
    ));
    assert!(p.is_closed(), "the stream's producer sees the close");
    assert_eq!(p.push(&[1]), Err(streamq::PushError::Closed));
}

#[test]
fn a_writer_stream_is_a_queue_producer_with_water_marks() {
    let dir = tempfile::tempdir().unwrap();
    let w = Writer::start(
        WriterConfig::capture_file(dir.path().join("c.sqcap"))
            .max_write_rate(256 << 10)
            .direct_io(false),
    )
    .unwrap();
    // The same type a bare queue gives.
    let mut p: Producer = w
        .add_stream(StreamConfig::new("s", "raw").capacity(256 << 10))
        .unwrap();
    let (queue_producer, _c) = streamq::queue(streamq::QueueConfig::new(1 << 20)).unwrap();
    assert_eq!(queue_producer.stream_id(), None);
    assert!(p.water_mark_fd().is_some());
    // Fill past high water (3/4 of 256 KiB) faster than the limited disk drains it.
    let opts = PushOptions::new().wait(Wait::Forever);
    while !p.is_above_high_water() {
        assert!(p.push_with(&[3u8; 16 << 10], &opts).unwrap().is_queued());
    }
    // The writer drains it below low water.
    assert_eq!(
        p.wait_below_low(Wait::Timeout(Duration::from_secs(30)), None),
        Ok(())
    );
    assert!(!p.is_above_high_water());
    drop(p);
    w.close().unwrap();
}

#[test]
fn events_and_durable_marks_carry_the_stream_name() {
    let dir = tempfile::tempdir().unwrap();
    let durable = Arc::new(Mutex::new(Vec::new()));
    let d2 = Arc::clone(&durable);
    let w = Writer::start(
        WriterConfig::capture_file(dir.path().join("c.sqcap"))
            .fsync(FsyncPolicy::Always)
            .on_durable(move |d| {
                d2.lock()
                    .unwrap()
                    .push((d.stream_id, d.stream.to_string(), d.seq))
            }),
    )
    .unwrap();
    let mut p = w
        .add_stream(StreamConfig::new("imu", "raw").capacity(1 << 20))
        .unwrap();
    assert!(p.push(&[9u8; 64]).unwrap().is_queued());
    w.flush().unwrap();
    drop(p);
    w.close().unwrap();
    let marks = durable.lock().unwrap();
    assert!(marks.contains(&(0, "imu".to_string(), 0)), "{marks:?}");
}

/// The Rust front end of the option-string check: the same strings the CLI, C and
/// Python take give this configuration, printed back canonically.
#[test]
fn option_strings_give_one_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = WriterConfig::capture_file(dir.path().join("c.sqcap"))
        .compression("zstd:3".parse::<Compression>().unwrap())
        .fsync("every:64MiB".parse::<FsyncPolicy>().unwrap());
    let d = config.describe();
    assert_eq!(describe(d.clone(), "compression"), "zstd:3");
    assert_eq!(describe(d, "fsync"), "every:64MiB");
    let stream = StreamConfig::new("depth", "depth/u16")
        .capacity("256MiB".parse::<ByteSize>().unwrap().bytes() as usize)
        .policy("drop-oldest".parse::<OverflowPolicy>().unwrap());
    let s = stream.describe();
    assert_eq!(describe(s.clone(), "capacity"), "256MiB");
    assert_eq!(describe(s, "policy"), "drop-oldest");
    // Older spellings read to the same values.
    assert_eq!("zstd".parse::<Compression>().unwrap().to_string(), "zstd:1");
    assert_eq!("64MiB".parse::<FsyncPolicy>().unwrap().to_string(), "every:64MiB");
    assert_eq!("fail".parse::<OverflowPolicy>().unwrap().to_string(), "fail-fast");
    // And the configuration starts.
    let w = Writer::start(config).unwrap();
    drop(w.add_stream(stream.capacity(1 << 20)).unwrap());
    w.close().unwrap();
}

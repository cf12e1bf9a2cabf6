//! kinect_capture: a Kinect-style depth capture through the Rust API.
//!
//! A "camera" thread delivers 30 frames/s of 900 KiB for N seconds. Like a camera SDK
//! callback, it writes each frame straight into ring space reserved in the writer's depth
//! stream (`reserve_with` → fill → `commit`): no copy, no I/O on the camera's thread. The
//! writer thread lands the frames in a capture file. At the end the program prints the
//! writer's figures and reads the file back.
//!
//! `cargo run --release -p streamq --example kinect_capture -- [--seconds N] [--out PATH] [--compression none|zstd|zstd:LEVEL]`

use std::time::{Duration, Instant};

use streamq::reader::{Cursor, CursorOrder, Reader};
use streamq::{Compression, PushOptions, ReserveError, StreamConfig, Wait, Writer, WriterConfig};

const FPS: u64 = 30;
const WIDTH: usize = 640;
const HEIGHT: usize = 720;
const FRAME_BYTES: usize = WIDTH * HEIGHT * 2; // 900 KiB of u16 depth

/// The "sensor": a depth ramp that moves with the frame number, written in place, with
/// the frame number in the first 8 bytes.
fn fill_depth(dst: &mut [u8], n: u64) {
    for (i, px) in dst.chunks_exact_mut(2).enumerate() {
        let (x, y) = (i % WIDTH, i / WIDTH);
        let d = 500 + ((x + y + n as usize) & 0x3ff) as u16;
        px.copy_from_slice(&d.to_le_bytes());
    }
    dst[..8].copy_from_slice(&n.to_le_bytes());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut seconds = 2.0f64;
    let mut out = std::env::temp_dir().join("kinect_capture.sqcap");
    let mut compression = Compression::None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--seconds" => seconds = value()?.parse()?,
            "--out" => out = value()?.into(),
            "--compression" => compression = value()?.parse()?,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }

    let writer = Writer::start(
        WriterConfig::capture_file(&out)
            .compression(compression)
            .metadata("sensor", "kinect-style"),
    )?;
    let depth = writer.add_stream(
        StreamConfig::new("depth", "depth/u16")
            .capacity(64 << 20)
            .metadata("width", WIDTH.to_string())
            .metadata("height", HEIGHT.to_string())
            .metadata("pixel_format", "u16"),
    )?;

    let frames = (seconds * FPS as f64) as u64;
    let camera = std::thread::spawn(move || -> Result<u64, ReserveError> {
        let mut depth = depth;
        let start = Instant::now();
        for n in 0..frames {
            let due = start + Duration::from_nanos(n * 1_000_000_000 / FPS);
            std::thread::sleep(due.saturating_duration_since(Instant::now())); // the camera's pace
            // The device timestamp travels with the reservation; a full ring waits at most
            // one frame period, then the frame is reported lost by the camera.
            let opts = PushOptions::new()
                .device_ts_ns(n * 1_000_000_000 / FPS)
                .wait(Wait::Timeout(Duration::from_millis(1000 / FPS)));
            let mut slot = depth.reserve_with(FRAME_BYTES, &opts)?;
            fill_depth(&mut slot, n);
            slot.commit();
        }
        Ok(frames)
    });
    let pushed = camera.join().expect("camera thread panicked")?;
    let report = writer.close()?;
    println!(
        "kinect_capture: {pushed} frames pushed, {} written ({:.1} MiB), {} dropped, {} failed; {} writes, {} syncs -> {}",
        report.frames_written,
        report.bytes_written as f64 / (1 << 20) as f64,
        report.frames_dropped(),
        report.frames_failed,
        report.writes,
        report.syncs,
        out.display()
    );

    // Read it back: every frame in order, intact.
    let reader = std::sync::Arc::new(Reader::open(&out)?);
    let mut cursor = Cursor::new(reader, CursorOrder::Stream(0));
    let mut n = 0u64;
    while let Some(frame) = cursor.next_frame() {
        let data = frame.data()?;
        assert_eq!(
            u64::from_le_bytes(data[..8].try_into()?),
            n,
            "frames come back in order"
        );
        assert_eq!(data.len(), FRAME_BYTES);
        n += 1;
    }
    assert_eq!(n, report.frames_written);
    println!("kinect_capture: read back {n} frames, in order");
    Ok(())
}

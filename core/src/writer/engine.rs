//! The writer thread: sleeps on the doorbell shared by every stream queue, claims
//! frames in place from all streams into the pipeline (`pipeline.rs`: gaps in place,
//! zstd on the workers while this thread writes), writes the pipeline's finished front
//! to the sink in one call at a time, releases the ring space, syncs, rotates, and
//! answers flush and close.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::format::StreamDef;
use crate::option_text::FsyncPolicy;
use crate::queue::Claimed;
use crate::queue::QueueShared;
use crate::queue::stats::new_latency_histogram;
use crate::signal::Signal;
use crate::writer::config::{Durable, DurableCallback, ErrorCallback, SegmentCallback};
use crate::writer::error::WriterError;
use crate::writer::pipeline::Pipeline;
use crate::writer::report::FinishedSegment;
use crate::writer::sink::{Item, Sink};
use crate::{Consumer, FrameInfo};

/// Per-stream progress, as the writer thread publishes it.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamProgress {
    pub(crate) frames_written: u64,
    pub(crate) bytes_written: u64,
    pub(crate) frames_failed: u64,
    pub(crate) last_seq: Option<u64>,
    pub(crate) durable_seq: Option<u64>,
}

/// State shared by the `Writer` handle and its thread, under one mutex.
#[derive(Default)]
pub(crate) struct Control {
    pub(crate) new_streams: Vec<(StreamDef, Consumer)>,
    /// Flush generations: requested by callers, completed by the thread.
    pub(crate) flush_requested: u64,
    pub(crate) flush_targets: Vec<(u64, Vec<u64>)>,
    pub(crate) flush_done: u64,
    pub(crate) closing: bool,
    pub(crate) finished: bool,
    pub(crate) error: Option<WriterError>,
    pub(crate) progress: Vec<StreamProgress>,
    pub(crate) stored_bytes: u64,
    pub(crate) frames_compressed: u64,
    pub(crate) frames_stored_raw: u64,
    pub(crate) compressed_raw_bytes: u64,
    pub(crate) compressed_stored_bytes: u64,
    pub(crate) writes: u64,
    pub(crate) syncs: u64,
    pub(crate) segments: Vec<FinishedSegment>,
    pub(crate) write_latency: Option<Histogram<u64>>,
}

pub(crate) struct EngineShared {
    pub(crate) doorbell: Arc<Signal>,
    pub(crate) control: Mutex<Control>,
    pub(crate) changed: Condvar,
    /// Set whenever `control` holds something for the thread (new stream, flush, close).
    pub(crate) pending: AtomicBool,
}

impl EngineShared {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn poke(&self) {
        self.pending.store(true, Ordering::Release);
        self.doorbell.notify();
    }
}

pub(crate) struct EngineSettings {
    pub(crate) compression: Option<i32>,
    pub(crate) compress_workers: usize,
    pub(crate) raw_when_behind: bool,
    pub(crate) max_write_bytes: usize,
    pub(crate) fsync: FsyncPolicy,
    pub(crate) linger: std::time::Duration,
    pub(crate) on_segment: Option<SegmentCallback>,
    pub(crate) on_error: Option<ErrorCallback>,
    pub(crate) on_durable: Option<DurableCallback>,
}

struct StreamState {
    id: u16,
    name: Arc<str>,
    shared: Arc<QueueShared>,
    ended: bool,
    /// DropOldest: copy batches out of the ring instead of holding them during writes.
    copy_out: bool,
    /// Frames handed to the sink in accepted writes (what `flush` waits for).
    handed: u64,
}

/// Frames of one DropOldest batch copied into the staging buffer (ranges into it).
type StagedFrames = Vec<(FrameInfo, std::ops::Range<usize>)>;

/// Frames taken from one stream for one write.
const MAX_FRAMES_PER_BATCH: usize = 4096;

/// What one accepted write holds, counted once the sink confirms it is stored (a sink
/// with writes in flight accepts before the disk has them).
struct Unconfirmed {
    /// Its number among the sink's `write` calls.
    no: u64,
    /// (stream index, frames, payload bytes, last seq).
    per_stream: Vec<(usize, u64, u64, u64)>,
    frames_compressed: u64,
    compressed_raw_bytes: u64,
    compressed_stored_bytes: u64,
    frames_stored_raw: u64,
}

/// Accepted writes not yet confirmed, and how many writes the sink has accepted.
#[derive(Default)]
struct InFlight {
    accepted: u64,
    writes: VecDeque<Unconfirmed>,
}

impl InFlight {
    /// Records a write the sink accepted (its frames handed over), to be counted as
    /// written once the sink confirms it.
    fn accept(&mut self, streams: &mut [StreamState], summary: crate::writer::pipeline::WriteSummary) {
        for (i, n, _, _) in &summary.per_stream {
            streams[*i].handed += n;
        }
        self.writes.push_back(Unconfirmed {
            no: self.accepted,
            per_stream: summary.per_stream,
            frames_compressed: summary.frames_compressed,
            compressed_raw_bytes: summary.compressed_raw_bytes,
            compressed_stored_bytes: summary.compressed_stored_bytes,
            frames_stored_raw: summary.frames_stored_raw,
        });
        self.accepted += 1;
    }
}

pub(crate) fn run(engine: Arc<EngineShared>, mut sink: Box<dyn Sink>, settings: EngineSettings) {
    let mut consumers: Vec<Consumer> = Vec::new();
    let mut streams: Vec<StreamState> = Vec::new();
    let mut hist = new_latency_histogram();
    let mut unsynced_bytes = 0u64;
    let mut last_sync = Instant::now();
    // Whether the writer already napped since its last productive round.
    let mut lingered = true;
    let mut in_flight = InFlight::default();
    // The pipeline's budget: a write's worth of raw frames per compression worker, so
    // every worker has frames queued while the writer thread writes.
    let budget = match settings.compression {
        Some(_) => settings
            .max_write_bytes
            .saturating_mul(settings.compress_workers.max(1)),
        None => settings.max_write_bytes,
    };
    // Declared after `consumers`, so it is dropped first: its `Drop` waits until no
    // worker reads ring memory.
    let mut pipe = match Pipeline::new(
        settings.compression,
        settings.compress_workers,
        budget,
        Arc::clone(&engine.doorbell),
    ) {
        Ok(p) => p,
        Err(e) => {
            fail(
                &engine,
                &settings,
                WriterError::io("start compression workers for", std::path::Path::new("-"), &e),
                &mut [],
                &mut InFlight::default(),
                None,
                sink.as_mut(),
            );
            return;
        }
    };
    // Every error stops the writer the same way: `fail`, then the thread ends.
    macro_rules! or_fail {
        ($result:expr) => {
            match $result {
                Ok(v) => v,
                Err(e) => {
                    fail(
                        &engine,
                        &settings,
                        e,
                        &mut consumers,
                        &mut in_flight,
                        Some(&mut pipe),
                        sink.as_mut(),
                    );
                    return;
                }
            }
        };
    }
    // The stream whose claim comes first in the next round (round robin, so one busy
    // stream cannot take the whole budget round after round).
    let mut first_stream = 0usize;
    let mut claimed: Vec<Claimed> = Vec::new();
    let mut copied: StagedFrames = Vec::new();

    loop {
        // 1. Adopt streams added since the last round.
        if engine.pending.swap(false, Ordering::AcqRel) {
            let new: Vec<(StreamDef, Consumer)> = std::mem::take(&mut engine.lock().new_streams);
            for (def, consumer) in new {
                let shared = Arc::clone(consumer.shared());
                // Held before the sink can fail, so a failure closes this queue too.
                consumers.push(consumer);
                or_fail!(sink.add_stream(&def));
                let copy_out = shared.policy == crate::OverflowPolicy::DropOldest;
                streams.push(StreamState {
                    id: def.id,
                    name: Arc::from(def.name.as_str()),
                    shared,
                    ended: false,
                    copy_out,
                    handed: 0,
                });
                engine.lock().progress.push(StreamProgress::default());
            }
        }

        // 2. Whatever the compression workers have finished.
        let answered = or_fail!(pipe.collect());

        // 3. Claim what the streams have queued, while the pipeline has room. Frames
        //    stay in the ring until written (the workers and the sink read them there),
        //    except for DropOldest streams: their frames are copied out one at a time
        //    and released at once, since while the writer holds frames in place nothing
        //    behind them can be evicted, so a long hold (a slow write, or just this
        //    thread being preempted) would turn drop-oldest into drop-newest. The
        //    copies count against the pipeline's budget like frames held in place.
        let mut took = false;
        let n_streams = consumers.len();
        for k in 0..n_streams {
            let room = pipe.room();
            if room == 0 {
                break;
            }
            let i = (first_stream + k) % n_streams;
            if streams[i].ended {
                continue;
            }
            // While the stream's queue is above high water the compressors are behind:
            // store its frames raw rather than let the queue fill.
            let compress = !(settings.raw_when_behind && streams[i].shared.marks.is_above());
            let c = &mut consumers[i];
            if streams[i].copy_out {
                let mut buf = pipe.copy_buffer();
                copied.clear();
                let mut left = room;
                while left > 0 {
                    match c.try_peek() {
                        Ok(f) => {
                            let at = buf.len();
                            buf.extend_from_slice(f.data());
                            left = left.saturating_sub(f.data().len());
                            copied.push((f.info(), at..buf.len()));
                        }
                        Err(crate::TryPopError::Empty) => break,
                        Err(crate::TryPopError::Disconnected) => {
                            streams[i].ended = true;
                            break;
                        }
                    }
                }
                match copied.last() {
                    Some((last, _)) => {
                        let gaps = c.take_gaps(last.seq);
                        pipe.admit_copies(i, streams[i].id, gaps, &copied, buf, compress);
                        took = true;
                    }
                    None => pipe.give_back(buf),
                }
                continue;
            }
            claimed.clear();
            match c.claim_detached(MAX_FRAMES_PER_BATCH, room, &mut claimed) {
                Ok(()) => {
                    let last = claimed.last().map_or(0, |f| f.info.seq);
                    let gaps = c.take_gaps(last);
                    pipe.admit_claimed(i, streams[i].id, gaps, &claimed, compress);
                    took = true;
                }
                Err(crate::TryPopError::Empty) => {}
                Err(crate::TryPopError::Disconnected) => streams[i].ended = true,
            }
        }
        if n_streams > 0 {
            first_stream = (first_stream + 1) % n_streams;
        }

        // 4. Write the front of the pipeline that is done, in one call.
        let ready = pipe.ready(settings.max_write_bytes);
        if ready == 0 {
            if took || answered {
                lingered = false;
                continue;
            }
            let deadline = match settings.fsync {
                FsyncPolicy::Every(d) if unsynced_bytes > 0 => Some(last_sync + d),
                _ => None,
            };
            if deadline.is_some_and(|d| Instant::now() >= d) {
                or_fail!(sync(
                    &engine,
                    &settings,
                    &streams,
                    sink.as_mut(),
                    &mut unsynced_bytes,
                    &mut last_sync,
                    &mut in_flight,
                ));
                continue;
            }
            if !pipe.is_empty() {
                // The front is being compressed. With room to claim, wake for new
                // frames too (workers ring the doorbell after each job); with none,
                // only a worker's answer can move things on.
                if pipe.room() > 0 {
                    let shareds: Vec<(Arc<QueueShared>, bool)> =
                        streams.iter().map(|s| (Arc::clone(&s.shared), s.ended)).collect();
                    let eng = Arc::clone(&engine);
                    let pipe_ref = &pipe;
                    engine.doorbell.wait_until(deadline, || {
                        pipe_ref.has_replies()
                            || eng.pending.load(Ordering::Acquire)
                            || shareds.iter().any(|(s, ended)| {
                                !ended && (s.has_unclaimed() || s.producers_closed.load(Ordering::Acquire))
                            })
                    });
                } else {
                    or_fail!(pipe.wait_reply(deadline));
                }
                continue;
            }
            // Nothing queued: trailing gaps, writes in flight out, flush answers, the
            // end, or sleep.
            or_fail!(write_trailing_gaps(
                &mut consumers,
                &mut streams,
                sink.as_mut(),
                &mut in_flight
            ));
            or_fail!(confirm(&engine, sink.as_mut(), &mut in_flight, true));
            or_fail!(answer_flushes(
                &engine,
                &settings,
                &streams,
                sink.as_mut(),
                &mut unsynced_bytes,
                &mut last_sync,
                &mut in_flight,
            ));
            let closing = engine.lock().closing;
            if closing && !engine.pending.load(Ordering::Acquire) && streams.iter().all(|s| s.ended) {
                finish(
                    &engine,
                    &settings,
                    sink.as_mut(),
                    &mut consumers,
                    &streams,
                    hist,
                    &mut in_flight,
                );
                return;
            }
            if !lingered && !settings.linger.is_zero() && !closing {
                // Batching, not synchronisation: nap unregistered so producers publish
                // without a wake-up syscall; then look again, and sleep for real if idle.
                lingered = true;
                std::thread::sleep(settings.linger);
                continue;
            }
            let shareds: Vec<(Arc<QueueShared>, bool)> =
                streams.iter().map(|s| (Arc::clone(&s.shared), s.ended)).collect();
            let eng = Arc::clone(&engine);
            engine.doorbell.wait_until(deadline, || {
                eng.pending.load(Ordering::Acquire)
                    || shareds.iter().any(|(s, ended)| {
                        s.has_unclaimed() || (!ended && s.producers_closed.load(Ordering::Acquire))
                    })
            });
            continue;
        }

        lingered = false;
        let summary = pipe.summary(ready);
        let items = pipe.items(ready);
        let t0 = Instant::now();
        let result = sink.write(&items);
        let _ = hist.record(t0.elapsed().as_nanos().max(1) as u64);
        drop(items);
        match result {
            Ok(stored) => {
                // The sink holds its own copy now (staged or on file): release the
                // ring space to the producers. The frames count as written once the
                // sink confirms them.
                pipe.remove(ready, &mut consumers);
                unsynced_bytes += stored;
                {
                    let mut c = engine.lock();
                    c.writes += 1;
                    c.stored_bytes += stored;
                }
                in_flight.accept(&mut streams, summary);
                or_fail!(confirm(&engine, sink.as_mut(), &mut in_flight, false));
            }
            Err(e) => {
                // A sink that stores item by item (the callback sink) may have stored a
                // prefix of this write: those frames are written (counted by `fail`,
                // through `in_flight`), the rest failed.
                let stored = sink.items_stored_before_error().min(ready);
                let part = pipe.summary(stored);
                {
                    let mut c = engine.lock();
                    for (i, n, _, _) in &summary.per_stream {
                        let done = part.per_stream.iter().find(|p| p.0 == *i).map_or(0, |p| p.1);
                        c.progress[*i].frames_failed += n - done;
                    }
                }
                if !part.per_stream.is_empty() {
                    in_flight.accept(&mut streams, part);
                }
                pipe.remove(ready, &mut consumers);
                or_fail!(Err(e));
            }
        }

        // 5. Sync cadence, rotation, flushes.
        let sync_due = match settings.fsync {
            FsyncPolicy::OnClose => false,
            FsyncPolicy::Always => true,
            FsyncPolicy::EveryBytes(n) => unsynced_bytes >= n,
            FsyncPolicy::Every(d) => last_sync.elapsed() >= d,
        };
        if sync_due {
            or_fail!(sync(
                &engine,
                &settings,
                &streams,
                sink.as_mut(),
                &mut unsynced_bytes,
                &mut last_sync,
                &mut in_flight,
            ));
        }
        if sink.rotation_due()
            && let Some(seg) = or_fail!(sink.rotate())
        {
            // The finished segment is complete on file: all it holds is written.
            or_fail!(confirm(&engine, sink.as_mut(), &mut in_flight, false));
            mark_durable_all(&engine, &settings, &streams);
            if let Some(cb) = &settings.on_segment {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(&seg)));
            }
            engine.lock().segments.push(seg);
        }
        or_fail!(answer_flushes(
            &engine,
            &settings,
            &streams,
            sink.as_mut(),
            &mut unsynced_bytes,
            &mut last_sync,
            &mut in_flight,
        ));
        let mut c = engine.lock();
        if let Some(h) = c.write_latency.as_mut() {
            let _ = h.add(&hist);
        } else {
            c.write_latency = Some(hist.clone());
        }
        hist.reset();
    }
}

/// Drop records after the last frame of a stream that has gone quiet.
fn write_trailing_gaps(
    consumers: &mut [Consumer],
    streams: &mut [StreamState],
    sink: &mut dyn Sink,
    in_flight: &mut InFlight,
) -> Result<(), WriterError> {
    let mut items = Vec::new();
    for (c, s) in consumers.iter_mut().zip(streams.iter()) {
        // Only once the stream has ended: then no frame can follow these gaps, so the
        // file keeps each stream's records in sequence order.
        if s.ended {
            for g in c.take_gaps(u64::MAX) {
                items.push(Item::Gap(s.id, g));
            }
        }
    }
    if items.is_empty() {
        return Ok(());
    }
    sink.write(&items)?;
    in_flight.accepted += 1;
    Ok(())
}

/// Counts the writes the sink confirms as stored (after waiting for all of them if
/// `settle`): frames written, bytes, compression figures, last sequence per stream.
fn confirm(
    engine: &EngineShared,
    sink: &mut dyn Sink,
    in_flight: &mut InFlight,
    settle: bool,
) -> Result<(), WriterError> {
    if in_flight.writes.is_empty() {
        return Ok(());
    }
    if settle {
        sink.settle()?;
    }
    count_confirmed(engine, sink, in_flight);
    match sink.take_error() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn count_confirmed(engine: &EngineShared, sink: &mut dyn Sink, in_flight: &mut InFlight) {
    if in_flight.writes.is_empty() {
        return;
    }
    let upto = sink.confirmed_writes();
    let mut c = engine.lock();
    while let Some(w) = in_flight.writes.front() {
        if upto.is_some_and(|u| w.no >= u) {
            break;
        }
        let w = in_flight.writes.pop_front().expect("front exists");
        c.frames_compressed += w.frames_compressed;
        c.compressed_raw_bytes += w.compressed_raw_bytes;
        c.compressed_stored_bytes += w.compressed_stored_bytes;
        c.frames_stored_raw += w.frames_stored_raw;
        for (i, n, bytes, last) in w.per_stream {
            let p = &mut c.progress[i];
            p.frames_written += n;
            p.bytes_written += bytes;
            p.last_seq = Some(last);
        }
    }
}

fn mark_durable_all(engine: &EngineShared, settings: &EngineSettings, streams: &[StreamState]) {
    let mut marks = Vec::new();
    {
        let mut c = engine.lock();
        for (i, s) in streams.iter().enumerate() {
            let p = &mut c.progress[i];
            if p.last_seq.is_some() && p.durable_seq != p.last_seq {
                p.durable_seq = p.last_seq;
                marks.push((s.id, Arc::clone(&s.name), p.last_seq.unwrap_or(0)));
            }
        }
    }
    if let Some(cb) = &settings.on_durable {
        for (stream_id, stream, seq) in marks {
            let mark = Durable {
                stream_id,
                stream: &stream,
                seq,
            };
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(&mark)));
        }
    }
}

fn sync(
    engine: &EngineShared,
    settings: &EngineSettings,
    streams: &[StreamState],
    sink: &mut dyn Sink,
    unsynced: &mut u64,
    last_sync: &mut Instant,
    in_flight: &mut InFlight,
) -> Result<(), WriterError> {
    sink.sync()?;
    // sync settles: every accepted write is stored, and durable now.
    confirm(engine, sink, in_flight, false)?;
    *unsynced = 0;
    *last_sync = Instant::now();
    engine.lock().syncs += 1;
    mark_durable_all(engine, settings, streams);
    Ok(())
}

/// Completes every flush whose targets (frames pushed when it was asked) are all
/// handed to the sink or dropped, and stored (settling first), syncing first unless the
/// policy is "on close". Frames taken from a ring but still in the pipeline (in the
/// compressors, or done and not yet written) do not count: they are not handed yet.
fn answer_flushes(
    engine: &EngineShared,
    settings: &EngineSettings,
    streams: &[StreamState],
    sink: &mut dyn Sink,
    unsynced: &mut u64,
    last_sync: &mut Instant,
    in_flight: &mut InFlight,
) -> Result<(), WriterError> {
    let ready_gen = {
        let c = engine.lock();
        let mut ready = None;
        for (generation, targets) in &c.flush_targets {
            let reached = targets.iter().zip(streams).all(|(t, s)| {
                let st = s.shared.stats();
                s.handed + st.frames_dropped() + st.frames_discarded >= *t
            }) && targets.len() <= streams.len();
            if reached {
                ready = Some(*generation);
            } else {
                break;
            }
        }
        ready
    };
    if let Some(generation) = ready_gen {
        // The targets count frames handed to the sink; wait until they are stored.
        confirm(engine, sink, in_flight, true)?;
        if settings.fsync != FsyncPolicy::OnClose && *unsynced > 0 {
            sync(engine, settings, streams, sink, unsynced, last_sync, in_flight)?;
        }
        let mut c = engine.lock();
        c.flush_targets.retain(|(g, _)| *g > generation);
        c.flush_done = c.flush_done.max(generation);
        drop(c);
        engine.changed.notify_all();
    }
    Ok(())
}

fn finish(
    engine: &EngineShared,
    settings: &EngineSettings,
    sink: &mut dyn Sink,
    consumers: &mut [Consumer],
    streams: &[StreamState],
    hist: Histogram<u64>,
    in_flight: &mut InFlight,
) {
    // Called with the pipeline empty: a failure here has no frame of it to account for.
    match sink.finish() {
        Ok(seg) => {
            if let Err(e) = confirm(engine, sink, in_flight, false) {
                fail(engine, settings, e, consumers, in_flight, None, sink);
                return;
            }
            mark_durable_all(engine, settings, streams);
            // The callback runs without the control lock: it may call stats() or
            // durable_seq(), which take it.
            if let (Some(seg), Some(cb)) = (&seg, &settings.on_segment) {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(seg)));
            }
            let mut c = engine.lock();
            c.syncs += 1;
            if let Some(seg) = seg {
                c.segments.push(seg);
            }
            if let Some(h) = c.write_latency.as_mut() {
                let _ = h.add(&hist);
            } else {
                c.write_latency = Some(hist);
            }
            c.finished = true;
            c.flush_done = c.flush_requested;
            c.flush_targets.clear();
            drop(c);
            for con in consumers.iter_mut() {
                con.close();
            }
            engine.changed.notify_all();
        }
        Err(e) => fail(engine, settings, e, consumers, in_flight, None, sink),
    }
}

/// Stops for good: producers see `Failed` on their next push, queued frames are
/// counted as discarded, frames of unconfirmed writes and frames still in the pipeline
/// as failed, waiters wake, the error callback runs once.
fn fail(
    engine: &EngineShared,
    settings: &EngineSettings,
    e: WriterError,
    consumers: &mut [Consumer],
    in_flight: &mut InFlight,
    pipe: Option<&mut Pipeline>,
    sink: &mut dyn Sink,
) {
    // Frames in the pipeline will not be written: wait until no worker reads them,
    // give their ring space back and count them as failed.
    let abandoned = pipe.map(|p| p.abandon(consumers)).unwrap_or_default();
    // What did reach the storage before the failure is written.
    count_confirmed(engine, sink, in_flight);
    for c in consumers.iter_mut() {
        c.close_failed();
    }
    {
        let mut c = engine.lock();
        for w in in_flight.writes.drain(..) {
            for (i, n, _, _) in w.per_stream {
                c.progress[i].frames_failed += n;
            }
        }
        for (i, n) in abandoned {
            c.progress[i].frames_failed += n;
        }
        if c.error.is_none() {
            c.error = Some(e.clone());
        }
        c.finished = true;
    }
    engine.changed.notify_all();
    if let Some(cb) = &settings.on_error {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(&e)));
    }
}

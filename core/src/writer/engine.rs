//! The writer thread: sleeps on the doorbell shared by every stream queue, claims
//! batches in place from all streams, records gaps, compresses on the pool, hands the
//! items to the sink in one write, releases the ring space, syncs, rotates, and answers
//! flush and close.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::format::StreamDef;
use crate::queue::QueueShared;
use crate::signal::Signal;
use crate::stats::new_latency_histogram;
use crate::writer::config::FsyncPolicy;
use crate::writer::config::{DurableCallback, ErrorCallback, SegmentCallback};
use crate::writer::error::WriterError;
use crate::writer::pool::{Output, Pool, Task};
use crate::writer::report::SegmentInfo;
use crate::writer::sink::{Item, OutFrame, Sink};
use crate::{Consumer, FrameInfo, Gap};

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
    pub(crate) segments: Vec<SegmentInfo>,
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
    shared: Arc<QueueShared>,
    ended: bool,
    /// DropOldest: copy batches out of the ring instead of holding them during writes.
    copy_out: bool,
}

/// Frames of one DropOldest batch copied into the staging buffer (ranges into it).
type StagedFrames = Vec<(FrameInfo, std::ops::Range<usize>)>;
/// One stream's frames for this write: (stream index, frames).
type Round<'a> = (usize, Vec<(FrameInfo, &'a [u8])>);

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

pub(crate) fn run(engine: Arc<EngineShared>, mut sink: Box<dyn Sink>, settings: EngineSettings) {
    let pool = match settings.compression {
        Some(_) => match Pool::new(settings.compress_workers, "zstd") {
            Ok(p) => Some(p),
            Err(e) => {
                fail(
                    &engine,
                    &settings,
                    WriterError::io("start compression workers for", std::path::Path::new("-"), &e),
                    &mut [],
                    &mut InFlight::default(),
                    sink.as_mut(),
                );
                return;
            }
        },
        None => None,
    };
    let mut consumers: Vec<Consumer> = Vec::new();
    let mut streams: Vec<StreamState> = Vec::new();
    let mut hist = new_latency_histogram();
    let mut unsynced_bytes = 0u64;
    let mut last_sync = Instant::now();
    let mut staging: Vec<u8> = Vec::new();
    // Whether the writer already napped since its last productive round.
    let mut lingered = true;
    let mut in_flight = InFlight::default();
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
                        sink.as_mut(),
                    );
                    return;
                }
            }
        };
    }

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
                    shared,
                    ended: false,
                    copy_out,
                });
                engine.lock().progress.push(StreamProgress::default());
            }
        }

        // 2. Claim what every stream has queued, up to one write's worth. DropOldest
        //    streams are copied out one frame at a time and released at once: while
        //    the writer holds frames in place nothing behind them can be evicted, so a
        //    long hold (a slow write, or just this thread being preempted) would turn
        //    drop-oldest into drop-newest. The copies live in `staging`, at most one
        //    write's worth (the "writes in flight" part of the budget).
        // Compressing, each worker gets a write's worth: the pool waits for a whole
        // batch, so a batch of a few frames would leave workers idle at its end.
        let mut budget = match settings.compression {
            Some(_) => settings
                .max_write_bytes
                .saturating_mul(settings.compress_workers.max(1)),
            None => settings.max_write_bytes,
        };
        let mut batches = Vec::new();
        let mut staged: Vec<(usize, Vec<Gap>, StagedFrames)> = Vec::new();
        staging.clear();
        for (i, c) in consumers.iter_mut().enumerate() {
            if budget == 0 {
                break;
            }
            if streams[i].copy_out {
                let mut list: StagedFrames = Vec::new();
                while budget > 0 {
                    match c.try_peek() {
                        Ok(f) => {
                            let at = staging.len();
                            staging.extend_from_slice(f.data());
                            budget = budget.saturating_sub(f.data().len());
                            list.push((f.info(), at..staging.len()));
                        }
                        Err(crate::TryPopError::Empty) => break,
                        Err(crate::TryPopError::Disconnected) => {
                            streams[i].ended = true;
                            break;
                        }
                    }
                }
                if let Some((last, _)) = list.last() {
                    let gaps = c.take_gaps(last.seq);
                    staged.push((i, gaps, list));
                }
                continue;
            }
            match c.try_peek_batch(MAX_FRAMES_PER_BATCH, budget) {
                Ok(b) => {
                    budget = budget.saturating_sub(b.payload_bytes() as usize);
                    batches.push((i, b));
                }
                Err(crate::TryPopError::Empty) => {}
                Err(crate::TryPopError::Disconnected) => streams[i].ended = true,
            }
        }

        if batches.is_empty() && staged.is_empty() {
            // Nothing queued: trailing gaps, writes in flight out, flush answers, the
            // end, or sleep.
            drop(batches);
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

        // 3. Gaps of the batches held in place: every drop record up to their last frame.
        let mut held = Vec::with_capacity(batches.len());
        let mut gaps: Vec<Vec<Gap>> = Vec::with_capacity(batches.len() + staged.len());
        for (i, mut b) in batches.drain(..) {
            let last = b.get(b.len() - 1).map_or(0, |(info, _)| info.seq);
            gaps.push(b.take_gaps(last));
            held.push((i, b));
        }
        drop(batches);
        for (_, g, _) in staged.iter_mut() {
            gaps.push(std::mem::take(g));
        }
        let rounds: Vec<Round<'_>> = held
            .iter()
            .map(|(i, b)| (*i, b.iter().collect()))
            .chain(staged.iter().map(|(i, _, list)| {
                (
                    *i,
                    list.iter()
                        .map(|(info, r)| (*info, &staging[r.clone()]))
                        .collect(),
                )
            }))
            .collect();

        // 4. Compression on the pool (raw while the stream's queue is above high water:
        //    the compressors are behind, so store rather than drop).
        let mut packed: Vec<Option<Vec<u8>>> = Vec::new();
        let mut stored_raw = 0u64;
        if let (Some(level), Some(pool)) = (settings.compression, &pool) {
            let mut plan: Vec<(&[u8], bool)> = Vec::new();
            for (i, frames) in &rounds {
                let behind = settings.raw_when_behind && streams[*i].shared.marks.is_above();
                for (_, data) in frames {
                    plan.push((data, !behind && data.len() >= 64));
                }
            }
            let to_compress = plan
                .iter()
                .filter(|(_, c)| *c)
                .map(|(d, _)| (*d, Task::Compress(level)));
            let mut results = pool.run(to_compress).into_iter();
            for (_, compress) in &plan {
                let p = if *compress {
                    match results.next() {
                        Some(Ok(Output::Compressed(p))) => p,
                        _ => None,
                    }
                } else {
                    None
                };
                if p.is_none() {
                    stored_raw += 1;
                }
                packed.push(p);
            }
        }

        // 5. Items in order: each stream's gaps before the frames that follow them.
        let mut items: Vec<Item<'_>> = Vec::new();
        let mut k = 0;
        let mut per_stream: Vec<(usize, u64, u64, u64)> = Vec::new(); // (stream idx, frames, bytes, last seq)
        let (mut c_raw, mut c_stored, mut c_frames) = (0u64, 0u64, 0u64);
        for ((i, frames), gs) in rounds.iter().zip(&gaps) {
            let id = streams[*i].id;
            let mut gi = 0;
            let (mut n, mut bytes, mut last) = (0u64, 0u64, 0u64);
            for &(info, data) in frames {
                while gi < gs.len() && gs[gi].first_seq < info.seq {
                    items.push(Item::Gap(id, gs[gi]));
                    gi += 1;
                }
                let p = packed.get(k).and_then(|p| p.as_deref());
                if let Some(p) = p {
                    c_frames += 1;
                    c_raw += data.len() as u64;
                    c_stored += p.len() as u64;
                }
                k += 1;
                items.push(Item::Frame(OutFrame {
                    stream: id,
                    info,
                    data,
                    packed: p,
                }));
                n += 1;
                bytes += data.len() as u64;
                last = info.seq;
            }
            per_stream.push((*i, n, bytes, last));
        }

        // 6. One write for everything.
        let t0 = Instant::now();
        let result = sink.write(&items);
        let _ = hist.record(t0.elapsed().as_nanos().max(1) as u64);
        drop(items);
        match result {
            Ok(stored) => {
                // The sink holds its own copy now (staged or on file): release the
                // ring space to the producers. The frames count as written once the
                // sink confirms them.
                drop(rounds);
                drop(held);
                unsynced_bytes += stored;
                {
                    let mut c = engine.lock();
                    c.writes += 1;
                    c.stored_bytes += stored;
                }
                in_flight.writes.push_back(Unconfirmed {
                    no: in_flight.accepted,
                    per_stream,
                    frames_compressed: c_frames,
                    compressed_raw_bytes: c_raw,
                    compressed_stored_bytes: c_stored,
                    frames_stored_raw: stored_raw,
                });
                in_flight.accepted += 1;
                or_fail!(confirm(&engine, sink.as_mut(), &mut in_flight, false));
            }
            Err(e) => {
                {
                    let mut c = engine.lock();
                    for (i, n, _, _) in &per_stream {
                        c.progress[*i].frames_failed += n;
                    }
                }
                drop(rounds);
                drop(held);
                or_fail!(Err(e));
            }
        }

        // 7. Sync cadence, rotation, flushes.
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
                marks.push((s.id, p.last_seq.unwrap_or(0)));
            }
        }
    }
    if let Some(cb) = &settings.on_durable {
        for (id, seq) in marks {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(id, seq)));
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
/// written or dropped, syncing first unless the policy is "on close".
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
                st.frames_popped + st.frames_dropped() + st.frames_discarded >= *t
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
        // The targets count frames taken from the rings; wait until they are stored.
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
    match sink.finish() {
        Ok(seg) => {
            if let Err(e) = confirm(engine, sink, in_flight, false) {
                fail(engine, settings, e, consumers, in_flight, sink);
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
        Err(e) => fail(engine, settings, e, consumers, in_flight, sink),
    }
}

/// Stops for good: producers see `Failed` on their next push, queued frames are
/// counted as discarded, frames of unconfirmed writes as failed, waiters wake, the
/// error callback runs once.
fn fail(
    engine: &EngineShared,
    settings: &EngineSettings,
    e: WriterError,
    consumers: &mut [Consumer],
    in_flight: &mut InFlight,
    sink: &mut dyn Sink,
) {
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

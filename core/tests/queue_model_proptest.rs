//! Model-based property test: random single-thread sequences of producer and consumer
//! operations, under every overflow policy and small rings (optionally a frame cap),
//! checked after every step against a plain `VecDeque` model that charges each frame its
//! real slot size (32-byte header + payload rounded up to 8).
//!
//! After each step: the ring level equals the model's and never exceeds the capacity;
//! every popped / peeked frame is the model's front (bytes, sequence, timestamp), in
//! FIFO order; every counter matches and the books balance; every refusal is the
//! documented error; each dropped sequence number is reported by `take_gaps` with its
//! reason; water-mark transitions alternate and respect the marks.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use streamq::PushOptions;

use proptest::prelude::*;
use streamq::{
    CommitError, Consumer, DropReason, FrameInfo, OverflowPolicy, PopError, Producer, PushError, Pushed,
    QueueConfig, ReserveError, TryPopError, WaterMarkEvent, queue,
};

/// Ring bytes of a frame of `len` payload bytes.
fn slot(len: usize) -> u64 {
    32 + (len as u64).div_ceil(8) * 8
}

/// Deterministic, per-frame-distinct content.
fn content(id: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (id.wrapping_mul(131).wrapping_add(i as u64 * 7) ^ (i as u64 >> 8)) as u8)
        .collect()
}

/// One producer-side admission request, as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    Room,
    Dropped(u64),
    WouldBlock,
    TooLarge,
}

/// How a frame is offered.
#[derive(Debug, Clone, Copy)]
enum PushKind {
    /// `push` (`try_push` under Block, so the single thread never waits).
    Push,
    /// `try_push`.
    TryPush,
    /// `push_at` with a device timestamp.
    PushAt,
    /// reserve, fill, `commit`.
    Commit,
    /// reserve, fill, `commit_len(len - shorter)`.
    CommitShorter(usize),
    /// reserve, then `commit_len(len + 1)`: refused, the reservation is given back.
    CommitTooLong,
    /// reserve, then drop it.
    Abort,
}

#[derive(Debug, Clone)]
enum Op {
    Offer(PushKind, usize),
    TryPop,
    /// `try_peek`, keep the view across an offer, check it is intact, drop it.
    PeekHeldAcrossOffer(PushKind, usize),
    /// `try_peek_batch`, keep it across an offer, check it is intact, drop it.
    BatchHeldAcrossOffer(usize, usize, PushKind, usize),
    PopBatch(usize, usize),
    PeekBatch(usize, usize),
}

#[derive(Debug, Clone, Copy)]
enum Ending {
    /// The consumer closes: later offers are `Closed`, queued frames are discarded.
    ConsumerCloses,
    /// The producer goes: the consumer drains the rest with `pop`, then end of stream.
    ProducerDrops,
}

#[derive(Debug, Clone)]
struct Setup {
    policy: OverflowPolicy,
    capacity: usize,
    max_frames: Option<usize>,
    /// High mark in eighths of the capacity; low mark in quarters of the high mark.
    high_eighths: usize,
    low_quarters: usize,
}

struct ModelFrame {
    seq: u64,
    data: Vec<u8>,
    ts: Option<u64>,
}

struct Model {
    policy: OverflowPolicy,
    cap: u64,
    max_frame_len: usize,
    max_frames: u64,
    high: u64,
    low: u64,
    q: VecDeque<ModelFrame>,
    /// Frames claimed by a view the consumer still holds (still in the ring).
    held: usize,
    held_bytes: u64,
    bytes: u64,
    next_seq: u64,
    next_id: u64,
    dropped: BTreeMap<u64, DropReason>,
    reported: BTreeMap<u64, DropReason>,
    last_seq: Option<u64>,
    pushed: u64,
    popped: u64,
    dropped_newest: u64,
    dropped_oldest: u64,
    refused: u64,
    bytes_pushed: u64,
    bytes_popped: u64,
    bytes_dropped: u64,
    peak: u64,
}

impl Model {
    fn queued(&self) -> u64 {
        (self.q.len() + self.held) as u64
    }

    fn level(&self) -> u64 {
        self.bytes + self.held_bytes
    }

    fn drop_newest(&mut self, len: usize) -> Admit {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.dropped.insert(seq, DropReason::Newest);
        self.dropped_newest += 1;
        self.pushed += 1;
        self.bytes_pushed += len as u64;
        self.bytes_dropped += len as u64;
        Admit::Dropped(seq)
    }

    /// What asking for room for a `len`-byte frame does (evictions included).
    fn admit(&mut self, len: usize) -> Admit {
        if len > self.max_frame_len {
            return Admit::TooLarge;
        }
        let need = slot(len);
        let fits = |m: &Model| m.level() + need <= m.cap && m.queued() < m.max_frames;
        if fits(self) {
            return Admit::Room;
        }
        match self.policy {
            OverflowPolicy::Block | OverflowPolicy::FailFast => {
                self.refused += 1;
                Admit::WouldBlock
            }
            OverflowPolicy::DropNewest => self.drop_newest(len),
            OverflowPolicy::DropOldest => {
                if self.held > 0 {
                    return self.drop_newest(len);
                }
                while !fits(self) {
                    let f = self
                        .q
                        .pop_front()
                        .expect("an empty ring always has room for a legal frame");
                    self.bytes -= slot(f.data.len());
                    self.dropped.insert(f.seq, DropReason::Oldest);
                    self.dropped_oldest += 1;
                    self.bytes_dropped += f.data.len() as u64;
                }
                Admit::Room
            }
        }
    }

    fn publish(&mut self, data: Vec<u8>, ts: Option<u64>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += slot(data.len());
        self.pushed += 1;
        self.bytes_pushed += data.len() as u64;
        self.q.push_back(ModelFrame { seq, data, ts });
        self.peak = self.peak.max(self.level());
        seq
    }

    /// Takes the frames a batch claim would take (the first whatever its size).
    fn claim(&mut self, max_frames: usize, max_bytes: usize) -> Vec<ModelFrame> {
        let mut out: Vec<ModelFrame> = Vec::new();
        let mut bytes = 0usize;
        while out.len() < max_frames {
            let Some(f) = self.q.front() else { break };
            if !out.is_empty() && bytes + f.data.len() > max_bytes {
                break;
            }
            bytes += f.data.len();
            let f = self.q.pop_front().unwrap();
            self.bytes -= slot(f.data.len());
            self.held += 1;
            self.held_bytes += slot(f.data.len());
            out.push(f);
        }
        out
    }

    fn release(&mut self, frames: &[ModelFrame]) {
        for f in frames {
            self.held -= 1;
            self.held_bytes -= slot(f.data.len());
            self.popped += 1;
            self.bytes_popped += f.data.len() as u64;
        }
    }
}

/// The queue under test, with the water-mark events it reported.
struct Harness {
    tx: Producer,
    rx: Consumer,
    m: Model,
    events: Arc<Mutex<Vec<WaterMarkEvent>>>,
    events_seen: usize,
    above: bool,
}

fn check_frame(
    info: FrameInfo,
    data: &[u8],
    want: &ModelFrame,
    last: &mut Option<u64>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(info.seq, want.seq, "FIFO order / sequence");
    prop_assert_eq!(data, &want.data[..], "content of frame {}", want.seq);
    match want.ts {
        Some(ts) => prop_assert_eq!(info.device_ts_ns, ts),
        None => prop_assert_eq!(info.device_ts_ns, info.host_ts_ns),
    }
    if let Some(l) = *last {
        prop_assert!(info.seq > l, "sequence went from {} to {}", l, info.seq);
    }
    *last = Some(info.seq);
    Ok(())
}

impl Harness {
    fn new(s: &Setup) -> Harness {
        let cap = QueueConfig::new(s.capacity).effective_capacity();
        let high = cap / 8 * s.high_eighths;
        let low = high / 4 * s.low_quarters;
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = Arc::clone(&events);
        let mut cfg = QueueConfig::new(s.capacity)
            .policy(s.policy)
            .high_water(high)
            .low_water(low)
            .record_latency(false)
            .prefault(false)
            .on_water_mark(move |e| ev.lock().unwrap().push(e));
        if let Some(n) = s.max_frames {
            cfg = cfg.max_frames(n);
        }
        let (tx, rx) = queue(cfg).unwrap();
        let m = Model {
            policy: s.policy,
            cap: cap as u64,
            max_frame_len: tx.max_frame_len(),
            max_frames: s.max_frames.map_or(u64::MAX, |n| n as u64),
            high: high as u64,
            low: low as u64,
            q: VecDeque::new(),
            held: 0,
            held_bytes: 0,
            bytes: 0,
            next_seq: 0,
            next_id: 0,
            dropped: BTreeMap::new(),
            reported: BTreeMap::new(),
            last_seq: None,
            pushed: 0,
            popped: 0,
            dropped_newest: 0,
            dropped_oldest: 0,
            refused: 0,
            bytes_pushed: 0,
            bytes_popped: 0,
            bytes_dropped: 0,
            peak: 0,
        };
        assert_eq!(m.max_frame_len as u64, m.cap - 32);
        Harness {
            tx,
            rx,
            m,
            events,
            events_seen: 0,
            above: false,
        }
    }

    /// Offers a frame through `tx` while the consumer may hold `held` frames.
    /// Returns whether a frame was published.
    fn offer(tx: &mut Producer, m: &mut Model, kind: PushKind, len: usize) -> Result<bool, TestCaseError> {
        let block = m.policy == OverflowPolicy::Block;
        let id = m.next_id;
        m.next_id += 1;
        let data = content(id, len);
        let max = m.max_frame_len;
        let published_before = m.pushed - m.dropped_newest;
        match kind {
            PushKind::Push | PushKind::TryPush | PushKind::PushAt => {
                let ts = matches!(kind, PushKind::PushAt).then_some(id * 1000 + 7);
                let r = match kind {
                    PushKind::TryPush => tx.try_push(&data),
                    PushKind::Push if block => tx.try_push(&data),
                    PushKind::Push => tx.push(&data),
                    PushKind::PushAt if block => tx.try_push(&data), // no try_push_at: host time
                    _ => tx.push_with(&data, &PushOptions::new().device_ts_ns(ts.unwrap())),
                };
                let ts = if block { None } else { ts };
                match m.admit(len) {
                    Admit::Room => {
                        let seq = m.publish(data, ts);
                        prop_assert_eq!(r, Ok(Pushed::Queued { seq }));
                    }
                    Admit::Dropped(seq) => prop_assert_eq!(r, Ok(Pushed::Dropped { seq })),
                    Admit::WouldBlock => prop_assert_eq!(r, Err(PushError::WouldBlock)),
                    Admit::TooLarge => prop_assert_eq!(r, Err(PushError::TooLarge { len, max })),
                }
            }
            PushKind::Commit | PushKind::CommitShorter(_) | PushKind::CommitTooLong | PushKind::Abort => {
                let r = if block {
                    tx.try_reserve(len)
                } else {
                    tx.reserve(len)
                };
                match m.admit(len) {
                    Admit::Room => {
                        let mut res = match r {
                            Ok(res) => res,
                            Err(e) => {
                                return Err(TestCaseError::fail(format!(
                                    "reserve({len}) = {e:?}, want room"
                                )));
                            }
                        };
                        prop_assert_eq!(res.len(), len);
                        res.copy_from_slice(&data);
                        match kind {
                            PushKind::Commit => {
                                let got = res.commit();
                                let seq = m.publish(data, None);
                                prop_assert_eq!(got, seq);
                            }
                            PushKind::CommitShorter(k) => {
                                let n = len - k.min(len);
                                let got = res.commit_len(n, None);
                                let seq = m.publish(data[..n].to_vec(), None);
                                prop_assert_eq!(got, Ok(seq));
                            }
                            PushKind::CommitTooLong => {
                                let got = res.commit_len(len + 1, None);
                                prop_assert_eq!(
                                    got,
                                    Err(CommitError::TooLong {
                                        len: len + 1,
                                        reserved: len
                                    })
                                );
                            }
                            _ => res.abort(),
                        }
                    }
                    Admit::Dropped(seq) => prop_assert_eq!(r.err(), Some(ReserveError::Dropped { seq })),
                    Admit::WouldBlock => prop_assert_eq!(r.err(), Some(ReserveError::WouldBlock)),
                    Admit::TooLarge => prop_assert_eq!(r.err(), Some(ReserveError::TooLarge { len, max })),
                }
            }
        }
        Ok(m.pushed - m.dropped_newest > published_before)
    }

    /// Water-mark bookkeeping after a publish (`published`) or a release.
    fn check_marks(&mut self, after_publish: bool, after_release: bool) -> Result<(), TestCaseError> {
        let level = self.m.level();
        let above = self.tx.is_above_high_water();
        if after_publish && self.m.high > 0 && level >= self.m.high {
            prop_assert!(
                above,
                "level {} >= high {} after a publish but not above",
                level,
                self.m.high
            );
        }
        if after_release && level <= self.m.low {
            prop_assert!(
                !above,
                "level {} <= low {} after a release but still above",
                level,
                self.m.low
            );
        }
        let events = self.events.lock().unwrap().clone();
        for e in &events[self.events_seen..] {
            match *e {
                WaterMarkEvent::AboveHigh { level } => {
                    prop_assert!(!self.above, "two AboveHigh in a row: {:?}", events);
                    prop_assert!(level as u64 >= self.m.high);
                    self.above = true;
                }
                WaterMarkEvent::BelowLow { level } => {
                    prop_assert!(self.above, "BelowLow without AboveHigh: {:?}", events);
                    prop_assert!(level as u64 <= self.m.low);
                    self.above = false;
                }
            }
        }
        self.events_seen = events.len();
        prop_assert_eq!(above, self.above, "is_above_high_water vs callback events");
        Ok(())
    }

    fn check_stats(&mut self) -> Result<(), TestCaseError> {
        let s = self.tx.stats();
        let m = &self.m;
        prop_assert!(
            s.level_bytes <= s.capacity_bytes,
            "level {} > capacity {}",
            s.level_bytes,
            s.capacity_bytes
        );
        prop_assert_eq!(s.capacity_bytes, m.cap);
        prop_assert_eq!(s.level_bytes, m.level(), "ring level");
        prop_assert_eq!(s.frames_pushed, m.pushed, "frames_pushed");
        prop_assert_eq!(s.frames_popped, m.popped, "frames_popped");
        prop_assert_eq!(s.frames_dropped_newest, m.dropped_newest, "frames_dropped_newest");
        prop_assert_eq!(s.frames_dropped_oldest, m.dropped_oldest, "frames_dropped_oldest");
        prop_assert_eq!(s.frames_queued, m.queued(), "frames_queued");
        prop_assert_eq!(s.frames_discarded, 0);
        prop_assert_eq!(
            s.frames_pushed,
            s.frames_popped + s.frames_dropped_newest + s.frames_dropped_oldest + s.frames_queued,
            "books balance"
        );
        prop_assert_eq!(s.bytes_pushed, m.bytes_pushed, "bytes_pushed");
        prop_assert_eq!(s.bytes_popped, m.bytes_popped, "bytes_popped");
        prop_assert_eq!(s.bytes_dropped, m.bytes_dropped, "bytes_dropped");
        prop_assert_eq!(s.pushes_refused, m.refused, "pushes_refused");
        prop_assert_eq!(s.peak_level_bytes, m.peak, "peak_level_bytes");
        prop_assert_eq!(
            s.water_mark_transitions as usize,
            self.events_seen,
            "transitions vs callback"
        );
        if m.policy != OverflowPolicy::DropOldest {
            prop_assert_eq!(s.frames_dropped_oldest, 0);
        }
        if !matches!(m.policy, OverflowPolicy::DropOldest | OverflowPolicy::DropNewest) {
            prop_assert_eq!(s.frames_dropped_newest, 0);
        }
        Ok(())
    }

    /// After the consumer took frames up to sequence `before`: the gaps below it.
    fn check_gaps(&mut self, before: u64) -> Result<(), TestCaseError> {
        for g in self.rx.take_gaps(before) {
            prop_assert!(g.first_seq < before, "take_gaps({}) returned {:?}", before, g);
            prop_assert!(g.count > 0);
            for s in g.first_seq..g.first_seq + g.count {
                prop_assert_eq!(
                    self.m.dropped.get(&s),
                    Some(&g.reason),
                    "gap {:?}: seq {} was not dropped so",
                    g,
                    s
                );
                prop_assert!(
                    self.m.reported.insert(s, g.reason).is_none(),
                    "seq {} reported twice",
                    s
                );
            }
        }
        // Every drop below `before` happened before frame `before` was published (a
        // refused frame) or before it was taken (an evicted, older frame): all reported.
        let missing: Vec<u64> = self
            .m
            .dropped
            .range(..before)
            .map(|(s, _)| *s)
            .filter(|s| !self.m.reported.contains_key(s))
            .collect();
        prop_assert!(
            missing.is_empty(),
            "take_gaps({}) withheld dropped seqs {:?} (all drops: {:?})",
            before,
            missing,
            self.m.dropped
        );
        Ok(())
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Offer(kind, len) => {
                let published = Harness::offer(&mut self.tx, &mut self.m, kind, len)?;
                self.check_marks(published, false)?;
            }
            Op::TryPop => {
                let r = self.rx.try_pop();
                let want = self.m.claim(1, 0);
                match r {
                    Ok(f) => {
                        prop_assert_eq!(want.len(), 1, "popped a frame from an empty model");
                        check_frame(f.info, &f.data, &want[0], &mut self.m.last_seq)?;
                        self.m.release(&want);
                        self.check_gaps(f.info.seq)?;
                    }
                    Err(e) => {
                        prop_assert!(want.is_empty(), "try_pop = {:?} with {} queued", e, want.len());
                        prop_assert_eq!(e, TryPopError::Empty);
                    }
                }
                self.check_marks(false, !want.is_empty())?;
            }
            Op::PopBatch(max_frames, max_bytes) => {
                let r = self.rx.pop_batch(max_frames, max_bytes);
                let want = self.m.claim(max_frames, max_bytes);
                match r {
                    Ok(frames) => {
                        prop_assert_eq!(frames.len(), want.len(), "batch size");
                        for (f, w) in frames.iter().zip(&want) {
                            check_frame(f.info, &f.data, w, &mut self.m.last_seq)?;
                        }
                        self.m.release(&want);
                        self.check_gaps(frames.last().unwrap().info.seq)?;
                    }
                    Err(e) => {
                        prop_assert!(want.is_empty(), "pop_batch = {:?} with frames queued", e);
                        prop_assert_eq!(e, TryPopError::Empty);
                    }
                }
                self.check_marks(false, !want.is_empty())?;
            }
            Op::PeekBatch(max_frames, max_bytes) => {
                let want = self.m.claim(max_frames, max_bytes);
                let last = match self.rx.try_peek_batch(max_frames, max_bytes) {
                    Ok(b) => {
                        prop_assert_eq!(b.len(), want.len(), "batch size");
                        prop_assert_eq!(
                            b.payload_bytes(),
                            want.iter().map(|w| w.data.len() as u64).sum::<u64>()
                        );
                        for ((info, data), w) in b.iter().zip(&want) {
                            check_frame(info, data, w, &mut self.m.last_seq)?;
                        }
                        self.m.last_seq
                    }
                    Err(e) => {
                        prop_assert!(want.is_empty(), "try_peek_batch = {:?} with frames queued", e);
                        prop_assert_eq!(e, TryPopError::Empty);
                        None
                    }
                };
                self.m.release(&want);
                if let Some(s) = last {
                    self.check_gaps(s)?;
                }
                self.check_marks(false, !want.is_empty())?;
            }
            Op::PeekHeldAcrossOffer(kind, len) => {
                let want = self.m.claim(1, 0);
                let Harness { tx, rx, m, .. } = self;
                let last = match rx.try_peek() {
                    Ok(view) => {
                        prop_assert_eq!(want.len(), 1, "peeked a frame from an empty model");
                        check_frame(view.info(), view.data(), &want[0], &mut m.last_seq)?;
                        let _ = Harness::offer(tx, m, kind, len)?;
                        // The offer must not have touched the frame being read.
                        let mut again = None;
                        check_frame(view.info(), view.data(), &want[0], &mut again)?;
                        drop(view);
                        m.last_seq
                    }
                    Err(e) => {
                        prop_assert!(want.is_empty(), "try_peek = {:?} with frames queued", e);
                        prop_assert_eq!(e, TryPopError::Empty);
                        let _ = Harness::offer(tx, m, kind, len)?;
                        None
                    }
                };
                self.m.release(&want);
                if let Some(s) = last {
                    self.check_gaps(s)?;
                }
                self.check_marks(false, !want.is_empty())?;
            }
            Op::BatchHeldAcrossOffer(max_frames, max_bytes, kind, len) => {
                let want = self.m.claim(max_frames, max_bytes);
                let Harness { tx, rx, m, .. } = self;
                let last = match rx.try_peek_batch(max_frames, max_bytes) {
                    Ok(b) => {
                        prop_assert_eq!(b.len(), want.len(), "batch size");
                        for ((info, data), w) in b.iter().zip(&want) {
                            check_frame(info, data, w, &mut m.last_seq)?;
                        }
                        let _ = Harness::offer(tx, m, kind, len)?;
                        let mut again = None;
                        for ((info, data), w) in b.iter().zip(&want) {
                            check_frame(info, data, w, &mut again)?;
                        }
                        drop(b);
                        m.last_seq
                    }
                    Err(e) => {
                        prop_assert!(want.is_empty(), "try_peek_batch = {:?} with frames queued", e);
                        prop_assert_eq!(e, TryPopError::Empty);
                        let _ = Harness::offer(tx, m, kind, len)?;
                        None
                    }
                };
                self.m.release(&want);
                if let Some(s) = last {
                    self.check_gaps(s)?;
                }
                self.check_marks(false, !want.is_empty())?;
            }
        }
        self.check_stats()
    }

    fn finish(mut self, ending: Ending) -> Result<(), TestCaseError> {
        match ending {
            Ending::ConsumerCloses => {
                let queued = self.m.queued();
                self.rx.close();
                prop_assert_eq!(self.tx.try_push(b"late"), Err(PushError::Closed));
                prop_assert_eq!(self.tx.push(b"late"), Err(PushError::Closed));
                prop_assert_eq!(self.tx.try_reserve(1).err(), Some(ReserveError::Closed));
                prop_assert!(self.tx.is_closed());
                prop_assert_eq!(self.rx.try_pop(), Err(TryPopError::Disconnected));
                let s = self.tx.stats();
                prop_assert_eq!(s.frames_discarded, queued);
                prop_assert_eq!(s.frames_queued, 0);
                prop_assert_eq!(
                    s.frames_pushed,
                    s.frames_popped + s.frames_dropped() + s.frames_discarded + s.frames_queued
                );
            }
            Ending::ProducerDrops => {
                drop(self.tx);
                while let Some(want) = self.m.q.pop_front() {
                    let f = self.rx.pop();
                    prop_assert!(f.is_ok(), "pop after producer drop: {:?} with frames queued", f);
                    let f = f.unwrap();
                    check_frame(f.info, &f.data, &want, &mut self.m.last_seq)?;
                }
                prop_assert_eq!(self.rx.pop(), Err(PopError));
                prop_assert_eq!(self.rx.try_pop(), Err(TryPopError::Disconnected));
                prop_assert!(self.rx.is_finished());
                prop_assert_eq!(self.rx.stats().level_bytes, 0);
            }
        }
        // Every drop is reported exactly once, with its reason.
        let before = u64::MAX;
        for g in self.rx.take_gaps(before) {
            for s in g.first_seq..g.first_seq + g.count {
                prop_assert_eq!(self.m.dropped.get(&s), Some(&g.reason));
                prop_assert!(
                    self.m.reported.insert(s, g.reason).is_none(),
                    "seq {} reported twice",
                    s
                );
            }
        }
        prop_assert_eq!(&self.m.reported, &self.m.dropped, "gaps reported vs drops");
        Ok(())
    }
}

fn run(setup: Setup, ops: Vec<Op>, ending: Ending) -> Result<(), TestCaseError> {
    let mut h = Harness::new(&setup);
    for (i, op) in ops.iter().enumerate() {
        h.step(op)
            .map_err(|e| TestCaseError::fail(format!("step {i} {op:?}: {e}")))?;
    }
    h.finish(ending)
}

fn policy() -> impl Strategy<Value = OverflowPolicy> {
    prop_oneof![
        Just(OverflowPolicy::Block),
        Just(OverflowPolicy::FailFast),
        Just(OverflowPolicy::DropNewest),
        Just(OverflowPolicy::DropOldest),
    ]
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        policy(),
        4096usize..=16384,
        prop::option::weighted(0.3, 1usize..12),
        0usize..=8,
        0usize..=4,
    )
        .prop_map(
            |(policy, capacity, max_frames, high_eighths, low_quarters)| Setup {
                policy,
                capacity,
                max_frames,
                high_eighths,
                low_quarters,
            },
        )
}

/// Mostly frames a ring holds a few of; sometimes empty, the largest legal, or too large.
fn frame_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        12 => 0usize..3000,
        2 => 0usize..64,
        1 => Just(0usize),
        1 => 3000usize..20000,
        1 => (0usize..4).prop_map(|k| [4064, 4065, 16352, 16353][k]),
    ]
}

fn push_kind() -> impl Strategy<Value = PushKind> {
    prop_oneof![
        4 => Just(PushKind::Push),
        2 => Just(PushKind::TryPush),
        1 => Just(PushKind::PushAt),
        2 => Just(PushKind::Commit),
        1 => (0usize..200).prop_map(PushKind::CommitShorter),
        1 => Just(PushKind::CommitTooLong),
        1 => Just(PushKind::Abort),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let batch = (
        0usize..6,
        prop_oneof![Just(0usize), 0usize..6000, Just(usize::MAX)],
    );
    prop_oneof![
        10 => (push_kind(), frame_len()).prop_map(|(k, l)| Op::Offer(k, l)),
        5 => Just(Op::TryPop),
        2 => (push_kind(), frame_len()).prop_map(|(k, l)| Op::PeekHeldAcrossOffer(k, l)),
        1 => (batch.clone(), push_kind(), frame_len()).prop_map(|((f, b), k, l)| Op::BatchHeldAcrossOffer(f, b, k, l)),
        2 => batch.clone().prop_map(|(f, b)| Op::PopBatch(f, b)),
        1 => batch.prop_map(|(f, b)| Op::PeekBatch(f, b)),
    ]
}

fn ending() -> impl Strategy<Value = Ending> {
    prop_oneof![Just(Ending::ConsumerCloses), Just(Ending::ProducerDrops)]
}

fn config() -> ProptestConfig {
    // No regression file is written next to this test; failures print their minimal case.
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_operation_sequences_match_the_model_under_every_policy(
        setup in setup(),
        ops in prop::collection::vec(op(), 1..200),
        ending in ending(),
    ) {
        run(setup, ops, ending)?;
    }
}

/// DropOldest: a frame refused while the consumer reads (gap "Newest", seq 3) is logged
/// before a later eviction of an older frame (gap "Oldest", seq 1). After popping seq 2,
/// `take_gaps(2)` must report seq 1 (a log kept in arrival order, scanned front to back,
/// would stop at the Newest entry and withhold it).
#[test]
fn take_gaps_returns_an_eviction_recorded_after_a_newer_drop_newest() {
    let (mut tx, mut rx) = queue(QueueConfig::new(4096).policy(OverflowPolicy::DropOldest)).unwrap();
    for _ in 0..3 {
        assert!(tx.push(&[1u8; 1000]).unwrap().is_queued()); // seqs 0, 1, 2: 3096 ring bytes
    }
    let view = rx.try_peek().unwrap(); // the consumer reads seq 0
    assert_eq!(tx.push(&[2u8; 1000]).unwrap(), Pushed::Dropped { seq: 3 });
    drop(view); // seq 0 popped
    assert!(tx.push(&[3u8; 2100]).unwrap().is_queued()); // evicts seq 1, queued as seq 4
    let f = rx.try_pop().unwrap();
    assert_eq!(f.info.seq, 2);
    let gaps: Vec<(u64, u64, DropReason)> = rx
        .take_gaps(f.info.seq)
        .iter()
        .map(|g| (g.first_seq, g.count, g.reason))
        .collect();
    assert_eq!(
        gaps,
        [(1, 1, DropReason::Oldest)],
        "the drop below seq 2 must be reported"
    );
}

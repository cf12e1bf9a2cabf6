"""Writer: write/flush/close and the report, compression, fsync, segments, durability,
metadata, per-stream policies (drop_oldest beside block)."""

import os
import threading
import time

import numpy as np
import pytest

import streamq


def frames(n, size=50_000, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, size, dtype=np.uint8) for _ in range(n)]


def test_write_close_report_and_read_back(capture):
    data = frames(20)
    with streamq.Writer(capture) as w:
        seqs = [w.push(d, timestamp=1000 + i) for i, d in enumerate(data)]
        assert seqs == list(range(20))
    r = w.close()  # after the with block: the same report again
    assert r.frames_written == 20 and r.frames_dropped == 0 and r.frames_failed == 0
    assert r.bytes_written == sum(d.nbytes for d in data)
    assert r.stored_bytes > r.bytes_written and r.seconds > 0 and r.mb_per_s > 0
    assert r.error is None and r.syncs >= 1
    assert [s.name for s in r.streams] == ["frames"]
    assert r.streams[0].last_seq == 19 and r.streams[0].durable_seq == 19
    assert r.to_dict()["streams"][0]["queue"]["frames_pushed"] == 20
    got = list(streamq.Reader(capture))
    assert [f.seq for f in got] == list(range(20))
    assert [f.timestamp for f in got] == [1000 + i for i in range(20)]
    assert all(np.array_equal(np.frombuffer(f.data, np.uint8), d) for f, d in zip(got, data))
    assert all(f.stream == "frames" for f in got)


def test_flush_makes_frames_visible(capture):
    w = streamq.Writer(capture, fsync="always")
    for d in frames(5):
        w.push(d)
    w.flush()
    s = w.stats
    assert s.frames_written == 5 and s.syncs >= 1
    assert w.durable_seq == 4
    assert w.durable_seqs == {"frames": 4}
    # The file is readable while still being written (scanned up to the last record).
    r = streamq.Reader(capture)
    assert len(r) == 5 and not r.is_clean
    r.close()
    w.close()
    assert streamq.Reader(capture).is_clean


@pytest.mark.parametrize("compress", ["zstd", "zstd:1", "zstd:19"])
def test_compression(capture, compress):
    image = (np.arange(640 * 576) % 1024).astype(np.uint16)  # compressible
    with streamq.Writer(capture, compression=compress, compress_workers=2) as w:
        for i in range(10):
            w.push(image)
    r = w.stats
    assert r.frames_compressed + r.frames_stored_raw == 10
    assert r.frames_compressed > 0 and r.compression_ratio > 2
    assert r.stored_bytes < r.bytes_written
    for f in streamq.Reader(capture):
        assert np.array_equal(np.frombuffer(f.data, np.uint16), image)


@pytest.mark.parametrize("fsync", ["close", "always", 100_000, 0.01])
def test_fsync_policies(capture, fsync):
    with streamq.Writer(capture, fsync=fsync) as w:
        for d in frames(10, 20_000):
            w.push(d)
        w.flush()
        if fsync != "close":
            assert w.durable_seq == 9
    assert w.stats.frames_written == 10


def test_segments_and_on_segment(tmp_path):
    seen = []
    path = tmp_path / "cap.sqcap"
    with streamq.Writer(path, segment_bytes=200_000, on_segment=seen.append) as w:
        for i, d in enumerate(frames(20, 50_000)):
            w.push(d)
            if i % 5 == 4:
                w.flush()  # rotation is checked per write call; queued frames coalesce
    report = w.stats
    assert len(report.segments) >= 3
    assert [s.index for s in seen] == list(range(len(seen)))
    assert [s.path for s in seen] == [s.path for s in report.segments]
    paths = [s.path for s in report.segments]
    assert all(os.path.exists(p) for p in paths)
    r = streamq.Reader(paths)
    assert r.segment_count == len(paths) and len(r) == 20
    assert [f.seq for f in r] == list(range(20))
    covered = sorted((a, b) for s in seen for (_, a, b) in s.frame_ranges)
    assert covered[0][0] == 0 and covered[-1][1] == 19


def test_segment_seconds(tmp_path):
    with streamq.Writer(tmp_path / "t.sqcap", segment_duration=0.05) as w:
        for d in frames(6, 1000):
            w.push(d)
            time.sleep(0.03)
    assert len(w.stats.segments) >= 2


def test_metadata_and_streams(capture):
    with streamq.Writer(capture, metadata={"sensor": "kinect", "serial": 42}) as w:
        depth = w.add_stream("depth", "depth/u16", metadata={"width": 640, "height": 576})
        imu = w.add_stream("imu", "imu/f32x6", capacity=1 << 20, policy="drop_newest")
        assert (depth.stream_id, imu.stream_id) == (0, 1)
        assert depth.name == "depth" and depth.media_type == "depth/u16"
        assert depth.metadata == {"width": "640", "height": "576"}
        assert imu.policy == "drop-newest" and depth.policy == "block"
        assert [s.name for s in w.streams] == ["depth", "imu"]
        depth.push(bytes(1000))
        imu.push(bytes(24))
        w.push(b"default")  # the default stream is created on first use
        assert [s.name for s in w.streams] == ["depth", "imu", "frames"]
    infos = {s.name: s for s in streamq.Reader(capture).streams}
    assert infos["depth"].metadata == {"width": "640", "height": "576"}
    assert infos["depth"].media_type == "depth/u16"
    assert infos["imu"].frames == 1 and infos["frames"].frames == 1


def test_add_stream_while_recording(capture):
    with streamq.Writer(capture) as w:
        a = w.add_stream("a")
        for i in range(10):
            a.push(bytes([i]) * 100)
        w.flush()
        b = w.add_stream("b")
        for i in range(10):
            b.push(bytes([i]) * 10)
    r = streamq.Reader(capture, stream="b")
    assert [bytes(f.data) for f in r] == [bytes([i]) * 10 for i in range(10)]


def test_drop_oldest_stream_beside_block_stream(capture):
    # Issue 7: with a sink too slow for both, the blocking stream loses nothing and the
    # dropping stream's gap records equal its drop counter. The sink is made slow by
    # stalling the writer in on_segment.
    stall = threading.Event()
    release = threading.Event()

    def on_segment(_):
        if not release.is_set():
            stall.set()
            release.wait(20)

    with streamq.Writer(capture, segment_bytes=300_000, on_segment=on_segment) as w:
        keep = w.add_stream("keep", capacity=4 << 20, policy="block")
        preview = w.add_stream("preview", capacity=256 * 1024, policy="drop_oldest")
        i = 0
        while not stall.is_set() or i < 60:
            keep.push(i.to_bytes(4, "little") * 1000)
            preview.push(i.to_bytes(4, "little") * 10_000)
            i += 1
        release.set()
    report = w.stats
    k, p = report.streams
    assert k.frames_dropped == 0 and k.frames_written == i
    assert p.frames_dropped_oldest > 0
    assert p.frames_written + p.frames_dropped == i
    r = streamq.Reader(report.segments[0].path if len(report.segments) == 1 else [s.path for s in report.segments])
    gaps = [g for g in r.gaps if g.stream == "preview"]
    assert sum(g.count for g in gaps) == p.frames_dropped
    # Evicted unread frames are "drop-oldest"; a new frame refused while the writer
    # holds every queued frame is "drop-newest". Either way, counted and recorded.
    assert {g.reason for g in gaps} <= {"drop-oldest", "drop-newest"}
    assert [s.dropped for s in r.streams if s.name == "preview"] == [p.frames_dropped]
    assert r.verify().ok


def test_stream_reserve_in_place(capture):
    with streamq.Writer(capture) as w:
        s = w.add_stream("depth")
        r = s.reserve(8, timestamp=9)
        with r as buf:
            buf[:] = b"in-place"
        assert r.seq == 0
    f = next(iter(streamq.Reader(capture)))
    assert bytes(f.data) == b"in-place" and f.timestamp == 9


def test_stats_while_recording(capture):
    with streamq.Writer(capture) as w:
        s = w.add_stream("s")
        for d in frames(5, 1000):
            s.push(d)
        st = s.stats
        assert st.frames_pushed == 5 and st.push_latency.count == 5
        w.flush()
        assert w.stats.frames_written == 5
        assert w.stats.streams[0].queue.push_latency.count == 5
        assert "streamq.Writer" in repr(w) and "streamq.Producer" in repr(s)


@pytest.mark.parametrize("in_flight", [0, 1, 4])
def test_writes_in_flight_round_trip(capture, in_flight):
    data = frames(30, size=300_000, seed=in_flight)
    with streamq.Writer(capture, writes_in_flight=in_flight) as w:
        for d in data:
            w.push(d)
        w.flush()
        assert w.stats.frames_written == 30  # flush waits for writes in flight
    got = list(streamq.Reader(capture))
    assert len(got) == 30
    assert all(np.array_equal(np.frombuffer(f.data, np.uint8), d) for f, d in zip(got, data))


def test_raw_when_behind_false_compresses_every_frame(capture):
    # A small ring the producer outruns: by default frames above high water are stored
    # raw; with raw_when_behind=False every frame is compressed.
    data = [np.full(200_000, i % 7, dtype=np.uint8) for i in range(60)]
    with streamq.Writer(capture, compression="zstd", capacity=1 << 20, raw_when_behind=False) as w:
        for d in data:
            w.push(d)
    r = w.close()
    assert r.frames_written == 60 and r.frames_stored_raw == 0 and r.frames_compressed == 60
    assert [bytes(f.data) for f in streamq.Reader(capture)] == [d.tobytes() for d in data]

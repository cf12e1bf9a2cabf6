"""Reader: iteration orders, stream selection, seek, verify, gaps, segments, recovery."""

import shutil

import pytest

import streamq


@pytest.fixture
def two_streams(capture):
    with streamq.Writer(capture) as w:
        a = w.add_stream("a", "test/a", metadata={"k": "v"})
        b = w.add_stream("b", "test/b")
        for i in range(20):
            a.push(b"a%03d" % i, timestamp=1000 + 10 * i)
            if i % 2 == 0:
                b.push(b"b%03d" % i, timestamp=1005 + 10 * i)
    return capture


def test_merged_iteration_in_timestamp_order(two_streams):
    r = streamq.Reader(two_streams)
    ts = [f.timestamp for f in r]
    assert ts == sorted(ts) and len(ts) == 30 == len(r)
    names = [f.stream for f in r]
    assert names.count("a") == 20 and names.count("b") == 10


def test_one_stream_by_name_or_id(two_streams):
    rb = streamq.Reader(two_streams, stream="b")
    assert rb.stream == "b" and len(rb) == 10
    assert [bytes(f.data) for f in rb] == [b"b%03d" % i for i in range(0, 20, 2)]
    assert [f.seq for f in rb] == list(range(10))
    assert [f.stream_id for f in streamq.Reader(two_streams, stream=0)] == [0] * 20
    with pytest.raises(ValueError, match='no stream named "c".*a, b'):
        streamq.Reader(two_streams, stream="c")
    with pytest.raises(ValueError):
        streamq.Reader(two_streams, stream=7)


def test_streams_listing(two_streams):
    a, b = streamq.Reader(two_streams).streams
    assert (a.id, a.name, a.media_type, a.metadata) == (0, "a", "test/a", {"k": "v"})
    assert (a.frames, a.first_seq, a.last_seq, a.dropped) == (20, 0, 19, 0)
    assert (a.first_timestamp, a.last_timestamp) == (1000, 1190)
    assert (b.frames, b.bytes) == (10, 40)


def test_seek(two_streams):
    ra = streamq.Reader(two_streams, stream="a")
    assert [f.seq for f in ra.seek(seq=15)] == [15, 16, 17, 18, 19]
    assert [f.seq for f in ra.seek(timestamp=1175)] == [18, 19]
    r = streamq.Reader(two_streams)
    assert [f.timestamp for f in r.seek(timestamp=1170)] == [1170, 1180, 1185, 1190]
    with pytest.raises(ValueError, match="stream"):
        r.seek(seq=3)  # two streams: which one?
    with pytest.raises(ValueError):
        r.seek()
    it = r.seek(timestamp=0)
    assert iter(it) is it
    assert next(it).timestamp == 1000


def test_file_order(two_streams):
    r = streamq.Reader(two_streams)
    order = [(f.stream, f.seq) for f in r.file_order()]
    assert len(order) == 30
    assert [s for s, _ in order if s == "a"] == ["a"] * 20
    offsets = [f.offset for f in r.file_order()]
    assert offsets == sorted(offsets)


def test_verify_clean(two_streams):
    v = streamq.Reader(two_streams).verify()
    assert v.ok and v.clean_close and v.frames == 30 and v.errors == []
    assert [s.name for s in v.per_stream] == ["a", "b"]
    assert v.to_dict()["per_stream"][1]["frames"] == 10


def test_truncated_file_reads_up_to_last_record_and_recovers(two_streams, tmp_path):
    torn = tmp_path / "torn.sqcap"
    shutil.copy(two_streams, torn)
    data = torn.read_bytes()
    offsets = sorted(f.offset for f in streamq.Reader(two_streams).file_order())
    # Cut inside the fifth-last frame record, as a crash would (trailer and index gone).
    torn.write_bytes(data[: offsets[-5] + 30])
    r = streamq.Reader(torn)
    assert not r.is_clean and len(r) == 25
    n = len(r)
    v = r.verify()
    assert not v.ok and not v.clean_close
    r.close()
    rep = streamq.recover(torn)
    assert not rep.already_clean and rep.frames == n and rep.truncated_bytes > 0
    r = streamq.Reader(torn)
    assert r.is_clean and len(r) == n and r.verify().ok is True
    assert streamq.recover(torn).already_clean


def test_damaged_payload_raises_corrupt_on_data(capture):
    with streamq.Writer(capture) as w:
        w.push(b"A" * 1000)
        w.push(b"B" * 1000)
    raw = bytearray(capture.read_bytes())
    i = raw.find(b"B" * 1000)
    raw[i + 10] ^= 0xFF
    capture.write_bytes(bytes(raw))
    frames = list(streamq.Reader(capture))
    assert bytes(frames[0].data) == b"A" * 1000
    with pytest.raises(streamq.CorruptFileError, match="corrupt"):
        frames[1].data
    assert not streamq.Reader(capture).verify().ok


def test_gap_records(capture):
    with streamq.Writer(capture) as w:
        s = w.add_stream("s", capacity=64 * 1024, policy="drop_newest")
        results = [s.push(bytes(10_000)) for _ in range(50)]
    dropped = results.count(None)
    r = streamq.Reader(capture)
    assert sum(g.count for g in r.gaps) == dropped == r.streams[0].dropped
    assert all(g.reason == "drop-newest" for g in r.gaps)
    # Sequence numbers of written frames skip exactly the dropped ones.
    assert [f.seq for f in r] == [i for i, x in enumerate(results) if x is not None]

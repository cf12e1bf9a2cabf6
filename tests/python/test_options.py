"""Options are read by the engine's parsers and shown as the engine describes them; the
engine's rules (options a sink does not use, unique stream names) reach Python with the
engine's words; deprecated Python names still work, with a warning; the package exports
only public names, none of them shadowing a builtin."""

import builtins
import warnings

import pytest

import streamq


def test_option_text_means_what_core_says(tmp_path):
    # The same strings the CLI and C take; read back in their canonical form.
    with streamq.Writer(
        tmp_path / "c.sqcap", compression="zstd:3", fsync="every:64MiB", segment_bytes="256MiB",
        segment_duration="10s", max_write_rate="100MB", preallocate="1GiB", capacity="256MiB",
        policy="drop-oldest",
    ) as w:
        o = w.options
        assert (o["compression"], o["fsync"], o["segment_bytes"], o["segment_duration"]) == (
            "zstd:3", "every:64MiB", "256MiB", "10s",
        )
        assert (o["max_write_rate"], o["preallocate"], o["sink"]) == ("100000000", "1GiB", "capture_file")
        s = w.add_stream("depth", "depth/u16")  # the writer's stream defaults
        assert (s.options["capacity"], s.options["policy"]) == ("256MiB", "drop-oldest")
        assert (s.options["name"], s.options["media_type"]) == ("depth", "depth/u16")
        assert s.policy == "drop-oldest" and s.capacity >= 256 << 20
        t = w.add_stream("imu", capacity=900 * 1024, policy="block", high_water="600KiB", block_timeout="20ms")
        assert (t.options["capacity"], t.options["policy"], t.options["high_water"], t.options["block_timeout"]) == (
            "900KiB", "block", "600KiB", "20ms",
        )
    q = streamq.Queue("256MiB", policy="drop-oldest", low_water=4096, max_frames=10)
    assert (q.options["capacity"], q.options["policy"], q.options["low_water"], q.options["max_frames"]) == (
        "256MiB", "drop-oldest", "4KiB", "10",
    )
    assert q.producer.options == q.options


@pytest.mark.parametrize(
    "kwargs, option, canonical",
    [
        ({"compression": "zstd"}, "compression", "zstd:1"),  # as the CLI: zstd is level 1
        ({"compression": "ZSTD:19"}, "compression", "zstd:19"),
        ({"compression": "none"}, "compression", "none"),
        ({"fsync": "close"}, "fsync", "close"),
        ({"fsync": "always"}, "fsync", "always"),
        ({"fsync": "64MiB"}, "fsync", "every:64MiB"),
        ({"fsync": 64 << 20}, "fsync", "every:64MiB"),  # an int: bytes
        ({"fsync": 0.02}, "fsync", "every:20ms"),  # a float: seconds
        ({"fsync": "every:20ms"}, "fsync", "every:20ms"),
        ({"segment_bytes": 1 << 30}, "segment_bytes", "1GiB"),
        ({"segment_duration": 0.5}, "segment_duration", "500ms"),
        ({"linger": "2ms"}, "linger", "2ms"),
        ({"max_write_bytes": "4MiB"}, "max_write_bytes", "4MiB"),
    ],
)
def test_canonical_forms(tmp_path, kwargs, option, canonical):
    with streamq.Writer(tmp_path / "c.sqcap", **kwargs) as w:
        assert w.options[option] == canonical


@pytest.mark.parametrize("text", ["drop-oldest", "drop_oldest", "DROP-OLDEST", "Drop_Oldest"])
def test_policy_spellings(text):
    assert streamq.Queue(4096, policy=text).policy == "drop-oldest"


def test_policy_fail_is_fail_fast():
    assert streamq.Queue(4096, policy="fail").options["policy"] == "fail-fast"


def test_bad_option_text_gives_the_engines_message_with_the_option_name(tmp_path):
    with pytest.raises(ValueError, match=r"capacity: unknown size unit 'parsecs'"):
        streamq.Queue("12 parsecs")
    with pytest.raises(ValueError, match=r"compression: unknown compression 'lz4'"):
        streamq.Writer(tmp_path / "c.sqcap", compression="lz4")
    with pytest.raises(ValueError, match=r"fsync: .*fsync takes close, always"):
        streamq.Writer(tmp_path / "c.sqcap", fsync="sometimes")
    with pytest.raises(ValueError, match="fsync"):
        streamq.Writer(tmp_path / "c.sqcap", fsync=0)
    with pytest.raises(ValueError, match="segment_duration"):
        streamq.Writer(tmp_path / "c.sqcap", segment_duration="3 fortnights")
    with pytest.raises(ValueError, match="policy: unknown overflow policy 'leaky'"):
        streamq.Queue(4096, policy="leaky")
    with pytest.raises(TypeError, match="capacity"):
        streamq.Queue([4096])
    with pytest.raises(TypeError, match="bool"):
        streamq.Queue(True)


def test_engine_refuses_options_the_sink_does_not_use(tmp_path):
    # The engine's one message shape, passed through unchanged.
    cases = [
        (dict(path=tmp_path / "d", sink="directory", compression="zstd:3"),
         "compression applies to the capture_file sink only (this writer's sink is directory)"),
        (dict(sink=lambda ev: None, segment_bytes="1MiB"),
         "segment_bytes applies to the capture_file sink only (this writer's sink is callback)"),
        (dict(path=tmp_path / "c.sqcap", io_workers=2),
         "io_workers applies to the directory sink only (this writer's sink is capture_file)"),
        (dict(path=tmp_path / "d", sink="directory", max_write_rate="10MB"),
         "max_write_rate applies to the capture_file sink only (this writer's sink is directory)"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError) as e:
            streamq.Writer(**kwargs)
        assert str(e.value) == message


def test_duplicate_stream_name_is_the_engines_error(tmp_path):
    with streamq.Writer(tmp_path / "c.sqcap") as w:
        w.add_stream("depth")
        with pytest.raises(ValueError) as e:
            w.add_stream("depth")
        assert str(e.value) == "the writer already has a stream named 'depth'"
        with pytest.raises(ValueError, match="needs a name"):
            w.add_stream("")
        assert [s.name for s in w.streams] == ["depth"]


# ---- deprecated names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old, new, value, canonical",
    [
        ("compress", "compression", "zstd:3", "zstd:3"),
        ("workers", "compress_workers", 3, "3"),
        ("segment_size", "segment_bytes", 1 << 20, "1MiB"),
        ("segment_seconds", "segment_duration", 0.25, "250ms"),
    ],
)
def test_deprecated_writer_option_names(tmp_path, old, new, value, canonical):
    with pytest.warns(DeprecationWarning, match=f"{old}= is deprecated: use {new}="):
        w = streamq.Writer(tmp_path / "c.sqcap", **{old: value})
    with w:
        assert w.options[new] == canonical
    with pytest.raises(TypeError, match="not both"):
        streamq.Writer(tmp_path / "d.sqcap", **{old: value, new: value})
    # An alias of an option the sink does not use is refused like the option.
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match=f"{new} applies to the capture_file"):
        streamq.Writer(sink=lambda ev: None, **{old: value})


def test_old_compress_zstd_now_means_level_1(tmp_path):
    with pytest.warns(DeprecationWarning):
        w = streamq.Writer(tmp_path / "c.sqcap", compress="zstd")
    with w:
        assert w.options["compression"] == "zstd:1"


def test_deprecated_write_and_id_still_work(tmp_path):
    with streamq.Writer(tmp_path / "c.sqcap") as w:
        s = w.add_stream("s")
        with pytest.warns(DeprecationWarning, match="push"):
            assert s.write(b"a", 5) == 0  # old positional order: frame, timestamp, timeout
        with pytest.warns(DeprecationWarning, match="push"):
            assert w.write(b"b") == 0
        with pytest.warns(DeprecationWarning, match="stream_id"):
            assert s.id == 0
    frames = list(streamq.Reader(tmp_path / "c.sqcap", stream="s"))
    assert [(bytes(f.data), f.timestamp) for f in frames] == [(b"a", 5)]


@pytest.mark.parametrize("old, new", [("TimeoutError", "Timeout"), ("IOError", "IOFailure"), ("Stream", "Producer")])
def test_deprecated_package_names(old, new):
    with pytest.warns(DeprecationWarning, match=f"streamq.{old} is deprecated: use streamq.{new}"):
        value = getattr(streamq, old)
    assert value is getattr(streamq, new)
    assert old not in streamq.__all__


# ---- the package's names ---------------------------------------------------------------------


def test_all_is_public_and_shadows_no_builtin():
    for name in streamq.__all__:
        assert not name.startswith("_"), name
        assert not hasattr(builtins, name), f"streamq.{name} shadows a builtin"
        assert hasattr(streamq, name), name
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a star import touches no deprecated name
        exec("from streamq import *", namespace)
    assert "TimeoutError" not in namespace and "IOError" not in namespace


def test_no_internals_in_the_compiled_module():
    for name in ("_shutdown", "WAIT_SLICE_SECONDS", "SMALL_FRAME_BYTES", "TimeoutError", "IOError", "Stream"):
        assert not hasattr(streamq._streamq, name), name
    public = [n for n in dir(streamq._streamq) if not n.startswith("_")]
    assert all(not hasattr(builtins, n) for n in public), [n for n in public if hasattr(builtins, n)]


def test_exception_hierarchy():
    assert issubclass(streamq.Timeout, TimeoutError) and issubclass(streamq.Timeout, streamq.Error)
    assert issubclass(streamq.IOFailure, OSError) and issubclass(streamq.IOFailure, streamq.Error)
    assert issubclass(streamq.WriterIOError, streamq.WriterError)
    assert issubclass(streamq.WriterIOError, streamq.IOFailure)
    assert issubclass(streamq.EndOfStream, streamq.ClosedError)
    assert issubclass(streamq.FrameTooLargeError, ValueError)
    for name in streamq.__all__:
        obj = getattr(streamq, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, streamq.Error), name
            assert obj.__module__ == "streamq", name

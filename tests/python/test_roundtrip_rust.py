"""Round trip with the Rust side: a capture written from Python is verified and
extracted bit-exact by the Rust CLI; one recorded by the CLI is read from Python and
matches what the CLI extracts."""

import json
import subprocess

import numpy as np

import streamq


def run(cli, *args):
    p = subprocess.run([*cli, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_python_written_capture_reads_bit_exact_in_rust(cli, capture, tmp_path):
    rng = np.random.default_rng(7)
    depth = [rng.integers(0, 4096, (576, 640), dtype=np.uint16) for _ in range(8)]
    imu = [rng.standard_normal(6).astype(np.float32) for _ in range(100)]
    with streamq.Writer(capture, compression="zstd:3") as w:
        d = w.add_stream("depth", "depth/u16", metadata={"width": 640, "height": 576})
        i = w.add_stream("imu", "imu/f32x6")
        for k, a in enumerate(depth):
            d.push(a, timestamp=1_000_000 * k)
        for k, a in enumerate(imu):
            i.push(a, timestamp=80_000 * k)
    report = json.loads(run(cli, "verify", capture, "--json").strip().splitlines()[-1])
    assert report["ok"] is True and report["frames"] == 108
    assert {s["name"]: s["frames"] for s in report["streams"]} == {"depth": 8, "imu": 100}

    out = tmp_path / "extracted"
    run(cli, "extract", capture, out)
    for k, a in enumerate(depth):
        assert (out / "depth" / f"frame-{k:06d}.raw").read_bytes() == a.tobytes()
    for k, a in enumerate(imu):
        assert (out / "imu" / f"frame-{k:06d}.raw").read_bytes() == a.tobytes()


def test_rust_recorded_capture_reads_in_python(cli, capture, tmp_path):
    run(cli, "record", capture, "--rate", "max", "--duration", "1s", "--streams", "depth,imu",
        "--frame-size", "100KiB", "--compress", "zstd:1", "--quiet")
    r = streamq.Reader(capture)
    assert r.is_clean and r.verify().ok
    names = [s.name for s in r.streams]
    assert names == ["depth", "imu"]
    out = tmp_path / "extracted"
    run(cli, "extract", capture, out)
    n = 0
    for f in r.file_order():
        expected = (out / f.stream / f"frame-{f.seq:06d}.raw").read_bytes()
        assert bytes(f.data) == expected
        n += 1
    assert n == len(r) == sum(s.frames for s in r.streams) > 30


def test_same_option_text_gives_the_same_configuration_as_the_cli(cli, tmp_path):
    # One spelling, one meaning: the CLI and Python hand the same strings to the engine's
    # parsers and print back the engine's description of the result.
    out = run(cli, "record", tmp_path / "cli.sqcap", "--rate", "max", "--duration", "0.1s",
              "--streams", "depth", "--frame-size", "100KiB", "--compress", "zstd:3",
              "--fsync", "every:64MiB", "--segment-size", "256MiB", "--capacity", "256MiB",
              "--policy", "drop-oldest", "--json", "--quiet")
    summary = json.loads(out.strip().splitlines()[-1])
    with streamq.Writer(tmp_path / "py.sqcap", compression="zstd:3", fsync="every:64MiB",
                        segment_bytes="256MiB") as w:
        depth = w.add_stream("depth", "depth/u16", capacity="256MiB", policy="drop-oldest")
        writer_options, stream_options = w.options, depth.options
    cli_options = dict(summary["options"])
    assert cli_options.pop("path") != writer_options.pop("path")
    assert writer_options == cli_options
    assert stream_options == summary["streams"][0]["options"]
    assert (writer_options["compression"], writer_options["fsync"], writer_options["segment_bytes"]) == (
        "zstd:3", "every:64MiB", "256MiB")
    assert (stream_options["capacity"], stream_options["policy"]) == ("256MiB", "drop-oldest")

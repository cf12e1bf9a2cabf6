#!/usr/bin/env python3
"""Bench peer: the MCAP writer from PyPI (`mcap`), the robotics recording format.

Setup, and why it is the idiomatic one: what the MCAP docs show — `mcap.writer.Writer` on a
file opened "wb", `start()`, one schema and one channel registered, then
`add_message(channel_id, log_time, data, publish_time, sequence)` per frame on the capture
thread, and `finish()`. The writer's defaults are kept (1 MiB chunks, chunk/message
indexes, statistics, CRCs), except the compression, which is the knob under test:
`--zstd` = CompressionType.ZSTD (the library's default, level 3 via `zstandard.compress`),
without it CompressionType.NONE. The writer is synchronous: chunk building, compression and
write(2) all happen inside `add_message` on the producer's thread. The run ends durably:
`finish()`, `flush()`, `os.fsync()`.
"""

from __future__ import annotations

import os
import time

from mcap.writer import CompressionType, Writer

from peer_common import Clock, load_pool, parser, report


def main() -> None:
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument("--zstd", action="store_true", help="zstd-compressed chunks")
    args = ap.parse_args()
    pool = load_pool(args.pool, args.frame_size)
    k = len(pool)
    f = open(args.out, "wb")
    w = Writer(f, compression=CompressionType.ZSTD if args.zstd else CompressionType.NONE)
    w.start(profile="", library="streamq-bench")
    schema = w.register_schema(name="depth_u16", encoding="", data=b"")
    channel = w.register_channel(topic="/camera/depth", message_encoding="depth/u16",
                                 schema_id=schema, metadata={"width": "640", "height": "720"})
    clock = Clock(args.fps, args.frames)
    now, add, wait_due, rec = time.perf_counter_ns, w.add_message, clock.wait_due, clock.record
    for n in range(args.frames):
        frame = pool[n % k]
        wait_due(n)
        t0 = now()
        ts = time.time_ns()
        add(channel, log_time=ts, data=frame, publish_time=ts, sequence=n)
        rec(n, t0, now())
    w.finish()
    f.flush()
    os.fsync(f.fileno())
    f.close()
    stored = os.path.getsize(args.out)
    report("python_mcap_zstd" if args.zstd else "python_mcap", clock, args.frame_size, args,
           stored_bytes=stored)


if __name__ == "__main__":
    main()

'use strict';
// Bench peer: the concurrency-limited write queue Node users write for the camera case
// (the p-limit / "N writes in flight" pattern), with fs.promises FileHandles.
//
// Setup, and why it is the idiomatic one: after a plain `fs.writeFile` per frame exhausts
// memory (unbounded in-flight writes, failure mode F5), users cap the writes in flight at N:
// the capture loop awaits a free slot, then starts the next write without awaiting it.
// N defaults to 4 = libuv's default thread pool size (UV_THREADPOOL_SIZE), where Node's
// file I/O runs; more slots would only queue inside libuv. `--in-flight N` overrides it.
//   --mode per-frame  one file per frame in directory --out (frame-00000042.raw):
//                     fs.promises.open(w) -> fh.write(frame) -> fh.close() per frame.
//                     Durable end: every file is fsynced once (reopened) and so is the
//                     directory - cheaper than an fsync per write, and streamq does not
//                     fsync per frame either.
//   --mode single     one file, one FileHandle, positional writes fh.write(frame, 0, len,
//                     offset) so N may be in flight without reordering; fh.sync() and
//                     fh.close() at the end.
// Frames are written as they come (Buffers, no copy: a camera binding hands over a fresh
// Buffer per frame). The clock stops once everything is synced and closed.

const fs = require('fs');
const fsp = require('fs/promises');
const path = require('path');
const { parseArgs, loadPool, Clock, report } = require('./node_common');

async function main() {
  const opts = parseArgs({ inFlight: 4, mode: 'single' });
  if (!['single', 'per-frame'].includes(opts.mode)) throw new Error(`--mode must be single or per-frame`);
  const pool = loadPool(opts.pool, opts.frameSize);
  const N = Math.max(1, opts.inFlight);

  let fh = null;
  const names = [];
  if (opts.mode === 'single') {
    fh = await fsp.open(opts.out, 'w');
  } else {
    fs.mkdirSync(opts.out, { recursive: true });
  }

  const inFlight = new Set();
  let failed = null;
  const startWrite = (n, frame) => {
    let p;
    if (fh) {
      p = fh.write(frame, 0, frame.length, n * opts.frameSize);
    } else {
      const name = path.join(opts.out, `frame-${String(n).padStart(8, '0')}.raw`);
      names.push(name);
      p = (async () => {
        const f = await fsp.open(name, 'w');
        try { await f.write(frame); } finally { await f.close(); }
      })();
    }
    const tracked = p.catch((e) => { failed = failed || e; }).finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  const clock = new Clock(opts.fps, opts.frames);
  for (let n = 0; n < opts.frames && !failed; n++) {
    const frame = pool[n % pool.length];
    await clock.waitDue(n);
    const t0 = process.hrtime.bigint();
    while (inFlight.size >= N) await Promise.race(inFlight);
    startWrite(n, frame);
    clock.record(n, t0, process.hrtime.bigint());
  }
  await Promise.all(inFlight);
  if (fh) {
    await fh.sync();
    await fh.close();
  } else {
    // fsync every file (N at a time, same limit), then the directory entries.
    for (let i = 0; i < names.length; i += N) {
      await Promise.all(names.slice(i, i + N).map(async (name) => {
        const f = await fsp.open(name, 'r+');
        try { await f.sync(); } finally { await f.close(); }
      }));
    }
    const d = await fsp.open(opts.out, 'r');
    try { await d.sync(); } finally { await d.close(); }
  }
  if (failed) throw failed;
  report(opts.mode === 'single' ? 'node_write_queue_single' : 'node_write_queue_per_frame',
    clock, opts.frameSize, opts, { in_flight: N, files: fh ? 1 : names.length });
}

main().catch((e) => { console.error(`node_write_queue: ${e.stack || e}`); process.exit(1); });

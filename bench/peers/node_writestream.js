'use strict';
// Bench peer: Node.js fs.WriteStream honouring 'drain'.
//
// Setup, and why it is the idiomatic one: what the Node docs teach for writing a stream of
// buffers to a file — fs.createWriteStream(path), stream.write(frame) per frame and, when
// write() returns false, wait for 'drain' before the next write (back-pressure; ignoring it
// is failure mode F2). Default options: highWaterMark 16 KiB (so every 900 KiB frame waits
// for 'drain'; chunks buffered meanwhile are coalesced by the stream's writev), except
// `flush: true` (Node >= 20.10), which fsyncs the file before it closes, so the run ends
// durably like `streamq record`. Frames are written as they come (Buffers, no copy: a camera
// binding hands over a fresh Buffer per frame). The clock stops on 'close'.
// `--high-water-mark BYTES` overrides the default for experiments (not used by the bench).

const fs = require('fs');
const { once } = require('events');
const { parseArgs, loadPool, Clock, report } = require('./node_common');

async function main() {
  const opts = parseArgs({ highWaterMark: 0 });
  const pool = loadPool(opts.pool, opts.frameSize);
  const streamOpts = { flush: true };
  if (opts.highWaterMark > 0) streamOpts.highWaterMark = opts.highWaterMark;
  const ws = fs.createWriteStream(opts.out, streamOpts);
  let failed = null;
  ws.on('error', (e) => { failed = e; });
  const clock = new Clock(opts.fps, opts.frames);
  for (let n = 0; n < opts.frames && !failed; n++) {
    const frame = pool[n % pool.length];
    await clock.waitDue(n);
    const t0 = process.hrtime.bigint();
    if (!ws.write(frame)) await once(ws, 'drain');
    clock.record(n, t0, process.hrtime.bigint());
  }
  ws.end();
  await once(ws, 'close');
  if (failed) throw failed;
  report('node_writestream', clock, opts.frameSize, opts, { high_water_mark: ws.writableHighWaterMark });
}

main().catch((e) => { console.error(`node_writestream: ${e.stack || e}`); process.exit(1); });

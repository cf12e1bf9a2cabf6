'use strict';
// Shared plumbing of the Node.js bench peers: the common CLI, the camera clock, the report.
// Same contract as peer_common.py: the last stdout line is one JSON object
// {peer, frames, bytes, seconds, mb_per_s, push_us: {p50, p99, p999, max}, late_frames, drops}.
// push latency = time the producer spends handing one frame over, including any wait for
// 'drain' or a free write slot (process.hrtime.bigint, monotonic). late_frames: hand-over
// ended after the next frame was due (--fps > 0). seconds: until everything is written,
// fsynced and closed. --latencies-out FILE: every push latency as little-endian float64 ns.

const fs = require('fs');

function parseArgs(extra = {}) {
  const opts = { pool: null, frameSize: 0, frames: 0, fps: 0, out: null, latenciesOut: null, ...extra };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const key = flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in opts)) throw new Error(`unknown option ${flag}`);
    const v = argv[++i];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    opts[key] = typeof opts[key] === 'number' ? Number(v) : v;
  }
  for (const k of ['pool', 'out']) if (!opts[k]) throw new Error(`--${k} is required`);
  if (!(opts.frameSize > 0)) throw new Error('--frame-size is required');
  return opts;
}

function loadPool(path, frameSize) {
  const data = fs.readFileSync(path);
  const pool = [];
  for (let off = 0; off + frameSize <= data.length; off += frameSize) pool.push(data.subarray(off, off + frameSize));
  if (pool.length === 0) throw new Error(`${path}: shorter than one frame`);
  return pool;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Clock {
  constructor(fps, frames) {
    this.periodNs = fps > 0 ? 1e9 / fps : 0;
    this.lat = new Float64Array(frames);
    this.count = 0;
    this.late = 0;
    this.start = process.hrtime.bigint();
  }
  sinceStartNs() { return Number(process.hrtime.bigint() - this.start); }
  async waitDue(n) {
    if (!this.periodNs) return;
    const delayNs = n * this.periodNs - this.sinceStartNs();
    if (delayNs > 0) await sleep(delayNs / 1e6);
  }
  record(n, t0, t1) {
    this.lat[this.count++] = Number(t1 - t0);
    if (this.periodNs && Number(t1 - this.start) > (n + 1) * this.periodNs) this.late++;
  }
}

function pct(sorted, q) {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

function report(peer, clock, frameSize, opts, extra = {}) {
  const seconds = clock.sinceStartNs() / 1e9;
  const lat = clock.lat.subarray(0, clock.count);
  if (opts.latenciesOut) fs.writeFileSync(opts.latenciesOut, Buffer.from(lat.buffer, lat.byteOffset, lat.byteLength));
  const s = Float64Array.from(lat).sort();
  const us = (ns) => Math.round(ns) / 1e3;
  const bytes = clock.count * frameSize;
  console.log(JSON.stringify({
    peer, frames: clock.count, bytes, seconds: Math.round(seconds * 1e3) / 1e3,
    mb_per_s: seconds > 0 ? Math.round((bytes / 1e6 / seconds) * 1e3) / 1e3 : 0,
    push_us: { p50: us(pct(s, 0.5)), p99: us(pct(s, 0.99)), p999: us(pct(s, 0.999)), max: us(s.length ? s[s.length - 1] : 0) },
    late_frames: clock.late, drops: 0, ...extra,
  }));
}

module.exports = { parseArgs, loadPool, Clock, report };

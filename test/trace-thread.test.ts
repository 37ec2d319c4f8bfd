// The trace writer's writer thread (traces/ring.ts): the file it writes is the in-thread writer's,
// byte for byte, for full and thinned traces, a cell rectangle and an interrupted run; a tiny ring
// makes the caller wait (back-pressure) and still gives the same bytes, records larger than the ring
// go through it in parts; a writer thread that never starts is taken over at close. Images on worker
// threads (--workers) give the same bytes, and a stop mid-run keeps what one thread wrote up to there.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../sim/config.js';
import { buildChip } from '../sim/chip.js';
import { newDtmModel, generate, type DtmJob } from '../sim/dtm.js';
import { runJobs } from '../sim/pool.js';
import { openTraceWriter, type TraceOptions, type TraceThreadOptions, type TraceWriter } from '../traces/writer.js';
import { BATCH_FIELDS, TRACE_FORMAT, TRACE_VERSION, type TraceHeader, type TraceSink } from '../traces/types.js';
import { traceWorkerUrl } from '../traces/ring.js';
import { Interrupted } from '../fabric/errors.js';
import { readTrace } from '../traces/reader.js';

const dir = mkdtempSync(join(tmpdir(), 'dtca-trace-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const chip = buildChip(resolveConfig('dtca-paper', { ideal: true, sets: ['fabric.L=16', 'fabric.rules=G8', 'seed=3', 'cell.weight_bits=8'] }));
const dtm = newDtmModel({ T: 3, L: 16, rules: 'G8', boundary: 'open', visible: 40, weights: { random: 0.2 }, seed: 4 });

/**
 * A traced generation; `stopAt` stops it there (the writer then ends the trace as interrupted). With
 * `workers` the images run on worker threads; `stopAfterStage` then stops the run once the trace
 * has the first stage's stage_end.
 */
async function traced(
  opts: TraceOptions,
  how: TraceThreadOptions,
  stopAt?: { stage: number; sweep: number },
  workers = 1,
  stopAfterStage = false,
): Promise<{ bytes: Buffer; w: TraceWriter; threaded: boolean }> {
  const path = join(dir, `t${n++}.dtct`);
  const w = openTraceWriter(path, opts, how);
  // a run this small would otherwise end before the thread starts (close() then takes the ring over)
  const threaded = how.thread ? await w.threadStarted() : w.threaded;
  const header = w.header.bind(w);
  w.header = (h: TraceHeader) => header({ ...h, created: '2026-01-01T00:00:00.000Z', dtca_version: 'thread-test' });
  // asked once per sweep of a batch of chains (here all four): stops before that sweep
  const shouldStop = stopAt ? (at: { stage: number; sweep: number }) => at.stage === stopAt.stage && at.sweep === stopAt.sweep : undefined;
  let stop: (reason: string) => void = () => {};
  const stopped = new Promise<string>((res) => (stop = res));
  if (stopAfterStage) {
    const stageEnd = w.stageEnd.bind(w);
    w.stageEnd = (r) => (stageEnd(r), stop('SIGINT'));
  }
  try {
    await generate(chip, dtm, { images: 4, sweeps: 9, sink: w, engine: 'batch', shouldStop, workers, stopped });
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    w.interrupt({ reason: 'SIGINT', at: e.at });
  }
  await w.close();
  return { bytes: readFileSync(path), w, threaded };
}

const available = traceWorkerUrl() !== null;

describe.skipIf(!available)('the writer thread', () => {
  const cases: [string, TraceOptions, { stage: number; sweep: number }?][] = [
    ['full', {}],
    ['every 4', { every: 4 }],
    ['stages and chains', { stages: [0, 2], chains: [1, 3] }],
    ['a cell rectangle', { cells: [2, 3, 9, 7] }],
    ['all thinnings at once', { every: 2, stages: [1], chains: [0, 2], cells: [0, 0, 15, 1] }],
    ['interrupted mid-stage', {}, { stage: 1, sweep: 5 }],
    ['interrupted, thinned', { every: 3, chains: [2] }, { stage: 0, sweep: 1 }],
  ];
  for (const [name, opts, stop] of cases) {
    it(`writes the in-thread writer's bytes: ${name}`, async () => {
      const here = await traced(opts, { thread: false }, stop);
      const there = await traced(opts, { thread: true }, stop);
      const tiny = await traced(opts, { thread: true, ringBytes: 4096 }, stop);
      expect(here.threaded).toBe(false);
      expect(there.threaded).toBe(true);
      expect(tiny.threaded).toBe(true);
      expect(there.bytes.equals(here.bytes)).toBe(true);
      expect(tiny.bytes.equals(here.bytes)).toBe(true);
      expect(there.w.ringStats?.takenOver).toBe(false);
      if (stop) {
        const recs: { type: string; status?: string }[] = [];
        for await (const r of readTrace(join(dir, `t${n - 1}.dtct`))) recs.push(r as { type: string; status?: string });
        expect(recs.at(-1)).toMatchObject({ type: 'end', status: 'interrupted' });
      }
    });
  }

  it('settle(): every record handed over is in the file when it returns, before any flush would have written it', async () => {
    const wholePath = join(dir, `t${n}.dtct`);
    await traced({}, { thread: true });
    const path = join(dir, `t${n++}.dtct`);
    const w = openTraceWriter(path, {}, { thread: true });
    expect(await w.threadStarted()).toBe(true);
    const header = w.header.bind(w);
    w.header = (h: TraceHeader) => header({ ...h, created: '2026-01-01T00:00:00.000Z', dtca_version: 'thread-test' });
    // no stage ends and no end record: nothing after the header asks the writer thread to write
    // (it writes when its buffer fills or a second has passed)
    w.stageEnd = () => {};
    w.end = () => {};
    await generate(chip, dtm, { images: 4, sweeps: 9, sink: w, engine: 'batch' });
    w.settle();
    const settled = readFileSync(path);
    await w.close();
    const count = async (file: string) => {
      const reader = readTrace(file);
      const types: string[] = [];
      for await (const r of reader) types.push((r as { type: string }).type);
      return { sweeps: types.filter((t) => t === 'sweep').length, truncated: reader.truncated };
    };
    const cut = join(dir, `t${n++}.dtct`);
    writeFileSync(cut, settled);
    const all = await count(wholePath);
    expect(all.sweeps).toBe(4 * 3 * 9);
    expect(await count(cut)).toEqual({ sweeps: all.sweeps, truncated: false });
  });

  // images on worker threads: each range's records reach the writer in the order one thread writes them
  const thinnings = cases.filter((c) => c[2] === undefined);
  for (const [name, opts] of thinnings) {
    it(`writes one thread's bytes for images on 2 and 4 worker threads: ${name}`, async () => {
      const one = await traced(opts, { thread: true });
      for (const workers of [2, 4]) expect((await traced(opts, { thread: true }, undefined, workers)).bytes.equals(one.bytes)).toBe(true);
    });
  }

  it('images on worker threads stopped mid-run: the records one thread wrote up to there, then an interrupted end', async () => {
    const whole: { type: string; status?: string }[] = [];
    const one = await traced({}, { thread: true });
    for await (const r of readTrace(join(dir, `t${n - 1}.dtct`))) whole.push(r as { type: string });
    // four images over two workers, three stages: stopped once the first stage is in the trace
    await traced({}, { thread: true }, undefined, 2, true);
    const cut: { type: string; status?: string }[] = [];
    for await (const r of readTrace(join(dir, `t${n - 1}.dtct`))) cut.push(r as { type: string });
    expect(one.bytes.length).toBeGreaterThan(0);
    expect(cut.at(-1)).toMatchObject({ type: 'end', status: 'interrupted' });
    const kept = cut.slice(0, -1);
    // at least the first stage whole (its stage_end), never the whole run
    expect(kept.filter((r) => r.type === 'stage_end').length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(whole.length - 1);
    expect(kept).toEqual(whole.slice(0, kept.length));
  });

  it('a sink without sweeps() gets the same records, spins and energies from images on worker threads', async () => {
    const seen = async (workers: number) => {
      const out: string[] = [];
      const sink: TraceSink = {
        header: () => {},
        wantsSweep: () => true,
        sweep: (r) => {
          let up = 0;
          for (let i = 0; i < chip.fabric.N; i++) up += r.spins[i] > 0 ? 1 : 0;
          const e = r.energy ? r.energy.values[r.energy.at] : r.energy_j!.total;
          out.push(`${r.chain} ${r.stage} ${r.sweep} ${r.cycle} ${r.toggles} ${up} ${e}`);
        },
        stageBegin: (r) => void out.push(`begin ${r.stage} ${r.cycle}`),
        stageEnd: (r) => void out.push(`end ${r.stage} ${r.cycle} ${r.energy_j.total}`),
        end: () => {},
        close: async () => {},
      };
      await generate(chip, dtm, { images: 4, sweeps: 9, sink, engine: 'batch', workers });
      return out;
    };
    const one = await seen(1);
    expect(one.length).toBe(3 * (2 + 4 * 9));
    expect(await seen(2)).toEqual(one);
  });

  it('a traced range on a worker thread runs at most one stage ahead of what the trace has written', async () => {
    // the gate never says a stage is written: the job finishes two stages (it may run the second while the
    // first waits to be written), then waits; once the gate is closed it runs to its end
    const gate = new SharedArrayBuffer(8);
    const g = new Int32Array(gate);
    const stages: number[] = [];
    const job: DtmJob = {
      config: chip.config,
      model: dtm,
      opts: { images: 4, sweeps: 9, engine: 'batch' },
      from: 2,
      to: 4,
      trace: { thinning: {}, sweeps: 9, gate },
    };
    const done = runJobs([{ name: 'images', data: job }], {
      onMessage: (_, m) => {
        const msg = m as { t: string; stage: number };
        if (msg.t === 'stage') stages.push(msg.stage);
      },
    });
    const until = Date.now() + 60_000;
    while (stages.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    // a stage of this tiny run takes milliseconds: half a second is many stages' time
    await new Promise((r) => setTimeout(r, 500));
    expect(stages).toEqual([2, 1]);
    Atomics.store(g, 1, 1);
    Atomics.notify(g, 0);
    await done;
    expect(stages).toEqual([2, 1, 0]);
  });

  it('is the same on every run, whatever the threads do (five runs with a tiny ring)', async () => {
    const ref = (await traced({}, { thread: false })).bytes;
    for (let k = 0; k < 5; k++) expect((await traced({ every: 1 }, { thread: true, ringBytes: 4096 })).bytes.equals(ref)).toBe(true);
  });

  /** The header of a synthetic trace: `chains` chains of one stage of `sweeps` sweeps over N cells (N a square). */
  function syntheticHeader(w: TraceWriter, note: string, N: number, chains: number, sweeps: number): void {
    const L = Math.sqrt(N);
    w.header({
      format: TRACE_FORMAT,
      version: TRACE_VERSION,
      dtca_version: 'thread-test',
      created: '2026-01-01T00:00:00.000Z',
      config: { note },
      model: {},
      layout: { L, N, colour: new Uint8Array(N), visible: new Int32Array(0), image: new Int32Array(0), label: new Int32Array(0), label_copies: 1 },
      run: { chains, stages: 1, sweeps, clock_hz: 1e9, mapping: 'test' },
    });
  }

  /** A writer fed directly: `count` sweeps of one chain over `N` cells, states from a counter. */
  async function synthetic(how: TraceThreadOptions, N: number, count: number): Promise<{ bytes: Buffer; w: TraceWriter }> {
    const path = join(dir, `s${n++}.dtct`);
    const w = openTraceWriter(path, {}, how);
    if (how.thread && !how.workerUrl) expect(await w.threadStarted()).toBe(true);
    syntheticHeader(w, 'synthetic', N, 1, count);
    w.stageBegin({ stage: 0, cycle: 0, time_s: 0, energy_j: { total: 0 } });
    const packed = new Uint8Array(N >> 3);
    for (let s = 0; s < count; s++) {
      for (let i = 0; i < packed.length; i++) packed[i] = (i * 31 + s * 7) & 255;
      const energy: Record<string, number> = s % 50 === 49 ? { total: s * 1e-12, extra: 1 } : { total: s * 1e-12, rng: s * 3e-13, wires: -0 };
      w.sweep({
        chain: 0,
        stage: 0,
        sweep: s,
        cycle: (s + 1) * 2 ** 31,
        time_s: s * 1e-6,
        spins: new Float64Array(0),
        packed,
        toggles: s * 13,
        energy_j: energy,
      });
    }
    w.stageEnd({ stage: 0, cycle: count * 2 ** 31, time_s: count * 1e-6, energy_j: { total: 1 } });
    w.end({ cycle: count * 2 ** 31, time_s: count * 1e-6, energy_j: { total: 1 }, cell_updates: count * N, toggles: 5 });
    await w.close();
    return { bytes: readFileSync(path), w };
  }

  it('back-pressure: a ring far smaller than the trace makes the caller wait, the bytes stay the same', async () => {
    const here = await synthetic({ thread: false }, 256 * 256, 600);
    const there = await synthetic({ thread: true, ringBytes: 1 << 16 }, 256 * 256, 600);
    expect(there.bytes.length).toBeGreaterThan(600 * 8192);
    expect(there.bytes.equals(here.bytes)).toBe(true);
    expect(there.w.ringStats?.waits).toBeGreaterThan(0);
    expect(there.w.ringStats?.takenOver).toBe(false);
  });

  it('records larger than the ring (header, sweeps) go through it in parts', async () => {
    const here = await synthetic({ thread: false }, 512 * 512, 40);
    const there = await synthetic({ thread: true, ringBytes: 4096 }, 512 * 512, 40);
    expect(there.bytes.equals(here.bytes)).toBe(true);
  });

  it('a writer thread that never starts is taken over: the caller writes the same bytes', async () => {
    const idle = new URL('data:text/javascript,export {}');
    const here = await synthetic({ thread: false }, 64 * 64, 300);
    const there = await synthetic({ thread: true, workerUrl: idle }, 64 * 64, 300);
    expect(there.bytes.equals(here.bytes)).toBe(true);
    expect(there.w.ringStats?.takenOver).toBe(true);
  });

  it('abort() before the header removes the file; the thread stops', async () => {
    const path = join(dir, 'aborted.dtct');
    const w = openTraceWriter(path, {}, { thread: true });
    expect(w.threaded).toBe(true);
    w.abort();
    expect(() => readFileSync(path)).toThrow(/ENOENT/);
  });

  /**
   * Chains 0..n-1 of stage 0, `slots` sweeps each, over N cells: written one record at a time
   * (sweep()), or as one batch (sweeps()), with the same values.
   */
  async function batched(how: TraceThreadOptions, opts: TraceOptions, N: number, chains: number, slots: number, asBatch: boolean): Promise<Buffer> {
    const path = join(dir, `b${n++}.dtct`);
    const w = openTraceWriter(path, opts, how);
    if (how.thread) expect(await w.threadStarted()).toBe(true);
    syntheticHeader(w, 'synthetic batch', N, chains, 2 * slots);
    w.stageBegin({ stage: 0, cycle: 0, time_s: 0, energy_j: { total: 0 } });
    const names = ['total', 'rng', 'wires'];
    const per = BATCH_FIELDS + names.length;
    const bytes = N >> 3;
    const fields = new Float64Array(chains * slots * per);
    const packed = new Uint8Array(slots * chains * bytes);
    for (let k = 0; k < chains; k++) {
      for (let j = 0; j < slots; j++) {
        const o = (k * slots + j) * per;
        const sweep = 2 * j + 1; // every other sweep, the last included
        fields.set([sweep, (k * 100 + sweep + 1) * 2 ** 31, (k * 100 + sweep) * 1e-6, k * 7 + j * 13, (k + j) * 1e-12, j * 3e-13, k % 2 ? -0 : 0.5], o);
        for (let i = 0; i < bytes; i++) packed[(j * chains + k) * bytes + i] = (i * 31 + j * 7 + k * 101) & 255;
      }
    }
    if (asBatch) w.sweeps({ stage: 0, first: 0, n: chains, slots, names, fields, packed, bytes });
    else {
      const spins = new Float64Array(N);
      for (let k = 0; k < chains; k++) {
        for (let j = 0; j < slots; j++) {
          const o = (k * slots + j) * per;
          const p = packed.subarray((j * chains + k) * bytes, (j * chains + k + 1) * bytes);
          for (let i = 0; i < N; i++) spins[i] = (p[i >> 3] >> (i & 7)) & 1 ? 1 : -1;
          const energy_j = Object.fromEntries(names.map((x, q) => [x, fields[o + BATCH_FIELDS + q]]));
          w.sweep({ chain: k, stage: 0, sweep: fields[o], cycle: fields[o + 1], time_s: fields[o + 2], spins, toggles: fields[o + 3], energy_j });
        }
      }
    }
    w.stageEnd({ stage: 0, cycle: 1, time_s: 1e-9, energy_j: { total: 1 } });
    w.end({ cycle: 1, time_s: 1e-9, energy_j: { total: 1 }, cell_updates: N, toggles: 5 });
    await w.close();
    return readFileSync(path);
  }

  it('a batch of sweep records (sweeps()) writes the bytes of the same records one by one, however the ring splits it', async () => {
    const ref = await batched({ thread: false }, {}, 256, 5, 7, false);
    expect(ref.length).toBeGreaterThan(5 * 7 * 32);
    // in this thread; through the ring whole; one chain per entry (a 4 KiB ring's entries hold
    // 1 KiB: 7 records of 32 + 56 bytes each); one entry per chain of a larger ring
    for (const how of [{ thread: false }, { thread: true }, { thread: true, ringBytes: 4096 }, { thread: true, ringBytes: 8192 }])
      expect((await batched(how, {}, 256, 5, 7, true)).equals(ref)).toBe(true);
    // a chain's records larger than an entry go record by record (and each in parts)
    const big = await batched({ thread: false }, {}, 128 * 128, 3, 2, false);
    expect((await batched({ thread: true, ringBytes: 4096 }, {}, 128 * 128, 3, 2, true)).equals(big)).toBe(true);
    // thinned (chains, every other recorded sweep, a cell rectangle): the records the options keep, the same either way
    for (const opts of [{ chains: [1, 3] }, { every: 4 }, { cells: [1, 2, 9, 5] as [number, number, number, number] }]) {
      const one = await batched({ thread: false }, opts, 256, 5, 7, false);
      expect((await batched({ thread: true }, opts, 256, 5, 7, true)).equals(one)).toBe(true);
      expect((await batched({ thread: false }, opts, 256, 5, 7, true)).equals(one)).toBe(true);
    }
  });
});

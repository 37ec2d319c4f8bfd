/**
 * What `dtca bench` measures: cell updates per wall nanosecond of the latch engines on L x L grids
 * of G12 cells with the default random workload (weights U(-0.25, 0.25), biases U(-0.1, 0.1)).
 *
 * A row runs in its own process (clean JIT state, its own peak memory). Each thread of the row
 * builds the chip, programs the stage, loads its chains into one engine, runs sweeps until the
 * generated code is warm, then times sweeps only (at least `sweeps` and at least `minTimeS`).
 * With two workers both threads start timing together (a shared barrier) and time the same span;
 * the row's rate is their updates over that span. One chain with two workers is one chain split by
 * bands of rows over two threads (cells/wasm/tiles.ts). Traced rows write every chain's every sweep to
 * a trace file, as `dtca run --trace` does: buffered and written in chain order every TRACE_CHUNK
 * sweeps (a DTM stage's default length), and timed in whole chunks.
 */
import { runJobs } from './pool.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type ResolvedConfig } from './config.js';
import { buildChip, programStage } from './chip.js';
import { randomModel } from './model.js';
import { initialSpins, initKey, latchKey, addSweepEvents, engineReport, ViewBuffer, traceSweeps, type EngineReport } from './run.js';
import { ExactEvents } from '../power/events.js';
import { createEngine } from '../cells/select.js';
import { newTally, resetTally, type EngineChoice } from '../cells/engine.js';
import { openTraceWriter } from '../traces/writer.js';
import { TRACE_FORMAT, traceVersion } from '../traces/types.js';
import { VERSION } from './io/output.js';
import { recordedTime } from '../fabric/stamp.js';

/** sweeps a traced row buffers before writing them in chain order: a DTM stage's default (K = 250) */
export const TRACE_CHUNK = 250;

/** ideal: no relaxation, mismatch or latency, the chip's 8-bit weights; exact: ideal with exact weights; cycle: the paper preset */
export type BenchPhysics = 'ideal' | 'exact' | 'cycle';

export interface RowSpec {
  physics: BenchPhysics;
  L: number;
  rules: string;
  chains: number;
  workers: number;
  trace: boolean;
  engine: EngineChoice;
  /** timed sweeps at least */
  sweeps: number;
  /** warm up at least this long, then time at least minTimeS */
  warmupS: number;
  minTimeS: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  arch: string;
}

export interface RowResult extends RowSpec {
  cells: number;
  cell_updates: number;
  wall_s: number;
  updates_per_ns: number;
  /** wall microseconds per sweep of all the row's chains */
  us_per_sweep: number;
  /** process start of the row to its first timed sweep: config, fabric, model, engine, first sweeps */
  setup_s: number;
  rss_peak_bytes: number;
  /** the engine that ran (and what auto passed over) */
  engine_used: EngineReport['used'];
  engine_refused: EngineReport['refused'];
  /** threads the one chain was split over (cells/wasm/tiles.ts); 1 when not split */
  engine_tiles: number;
}

export function machine(): Machine {
  const c = cpus();
  return { cpu: c[0]?.model.trim() ?? 'unknown', cores: c.length, node: process.version, arch: process.arch };
}

export function benchConfig(spec: Pick<RowSpec, 'physics' | 'L' | 'rules'>): ResolvedConfig {
  const sets = [`fabric.L=${spec.L}`, `fabric.rules="${spec.rules}"`];
  if (spec.physics === 'ideal') sets.push('cell.weight_bits=8');
  return resolveConfig(undefined, { ideal: spec.physics !== 'cycle', sets });
}

interface ThreadResult {
  updates: number;
  seconds: number;
  sweeps: number;
  setupS: number;
  engine: EngineReport;
}

/**
 * One thread's share of a row, set up and ready to sweep: chains [first, first + count) loaded into
 * one engine, a trace writer open when the row is traced. `step()` runs one sweep (its records
 * buffered, and written in chain order every TRACE_CHUNK sweeps), `slice(ms)` times sweeps for at
 * least `ms` (a traced row in whole chunks), `close()` ends the engine and the trace.
 */
interface OpenRow {
  /** set-up so far: building the chip and the model, loading the engine (the first sweep adds to it) */
  readonly t0: number;
  step(): void;
  /** the buffered sweeps handed to the writer */
  flush(): void;
  /** every record handed to the writer so far written (a traced row); not timed */
  settle(): void;
  /** sweeps for at least `ms` of wall time and at least `sweeps` sweeps (a traced row: until its last chunk is handed over) */
  slice(ms: number, sweeps?: number): { updates: number; seconds: number; sweeps: number };
  engine: EngineReport;
  close(): Promise<void>;
}

function openRow(spec: RowSpec, first: number, count: number, tiles?: number): OpenRow {
  const t0 = performance.now();
  const cfg = benchConfig(spec);
  const chip = buildChip(cfg);
  const model = randomModel(chip.fabric, cfg.seed, 0.25, 0.1);
  const prog = programStage(chip, model, 0);
  const N = chip.fabric.N;
  const sel = createEngine(chip.spec, { choice: spec.engine, chains: count, weightBits: cfg.cell.weight_bits, tiles });
  const engine = sel.engine;
  if (engine.capacity < count) throw new Error(`bench: the ${engine.kind} engine holds ${engine.capacity} chains, the row needs ${count}`);
  engine.program(prog.planes);
  engine.begin(first, count);
  const st0 = model.stages[0];
  for (let k = 0; k < count; k++) {
    engine.load(
      k,
      initialSpins(N, prog.planes.bias, prog.planes.unit, st0.clampIdx, st0.clampVal, initKey(chip, first + k, 0), 'hinton', model.beta),
      model.beta,
    );
  }
  const tmp = spec.trace ? mkdtempSync(join(tmpdir(), 'dtca-bench-trace-')) : null;
  const sink = tmp ? openTraceWriter(join(tmp, 'bench.dtct'), {}) : null;
  if (sink) {
    sink.header({
      format: TRACE_FORMAT,
      version: traceVersion('bench'),
      dtca_version: VERSION,
      created: recordedTime(),
      config: cfg,
      model: { source: model.source },
      layout: {
        L: chip.fabric.L,
        N,
        colour: chip.fabric.colour,
        visible: new Int32Array(0),
        image: new Int32Array(0),
        label: new Int32Array(0),
        label_copies: 1,
      },
      run: { chains: count, stages: 1, sweeps: 2 ** 31, clock_hz: chip.timing.clockHz, mapping: 'bench' },
    });
  }
  const t0t = newTally();
  const t1t = newTally();
  const per0 = sink ? Array.from({ length: count }, newTally) : null;
  const per1 = sink ? Array.from({ length: count }, newTally) : null;
  const ev = new ExactEvents();
  const ph = chip.timing.phaseCycles;
  // traced: every sweep's views buffered and written in chain order every TRACE_CHUNK sweeps, as a
  // DTM stage's runStage does after its sweeps (ViewBuffer), through one record object, as its observer does
  const views = sink ? new ViewBuffer(chip, 0) : null;
  views?.begin(first, count, TRACE_CHUNK);
  const all = () => true;
  const observe = sink ? traceSweeps(sink, 0, chip.timing.clockHz, (v) => v.cycle) : () => {};
  const flush = () => views?.replay(all, observe);
  let sweep = 0;
  const step = () => {
    const key = latchKey(chip, 0, sweep);
    resetTally(t0t);
    resetTally(t1t);
    if (per0 && per1) for (let k = 0; k < count; k++) (resetTally(per0[k]), resetTally(per1[k]));
    engine.latch({ colour: 0, seg1Cycles: sweep === 0 ? 0 : ph, ownCycles: ph, beta: model.beta, key }, t0t, per0);
    engine.latch({ colour: 1, seg1Cycles: ph, ownCycles: ph, beta: model.beta, key }, t1t, per1);
    addSweepEvents(ev, chip, t0t, t1t, sweep, count);
    if (views && per0 && per1) {
      views.record(sweep, engine, per0, per1, all);
      if (views.size === TRACE_CHUNK) flush();
    }
    sweep++;
  };
  const slice = (ms: number, sweeps = 0) => {
    const first0 = sweep;
    const latches0 = Number(ev.get('latches'));
    const t1 = performance.now();
    const until = t1 + ms;
    // traced rows time whole chunks: the last ends with its sweeps handed to the writer
    while (sweep - first0 < sweeps || performance.now() < until || (views !== null && views.size > 0)) step();
    return { updates: Number(ev.get('latches')) - latches0, seconds: (performance.now() - t1) / 1000, sweeps: sweep - first0 };
  };
  return {
    t0,
    step,
    flush,
    settle: () => sink?.settle(),
    slice,
    get engine() {
      return engineReport(sel);
    },
    close: async () => {
      try {
        engine.dispose();
        if (sink) await sink.close();
      } finally {
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      }
    },
  };
}

/**
 * One thread's share: chains [first, first + count). `barrier` (two workers): after warm-up the
 * thread counts itself in and waits for the others; then every thread times `span` seconds.
 */
export async function measureThread(
  spec: RowSpec,
  first: number,
  count: number,
  barrier?: { sab: SharedArrayBuffer; parties: number },
  tiles?: number,
): Promise<ThreadResult> {
  const row = openRow(spec, first, count, tiles);
  try {
    row.step(); // the first sweep compiles the kernels
    // set-up: building the chip and the model, loading the engine and the first sweep (not the warm-up below)
    const setupS = (performance.now() - row.t0) / 1000;
    // V8 moves a hot WebAssembly function to its optimising compiler in the background: time the steady state
    const warmUntil = performance.now() + 1000 * spec.warmupS;
    while (performance.now() < warmUntil) row.step();
    row.flush(); // the warm-up's buffered sweeps are written before the timing starts
    if (barrier) {
      const flag = new Int32Array(barrier.sab);
      Atomics.add(flag, 0, 1);
      Atomics.notify(flag, 0);
      while (Atomics.load(flag, 0) < barrier.parties) Atomics.wait(flag, 0, Atomics.load(flag, 0), 50);
    }
    const r = row.slice(1000 * spec.minTimeS, spec.sweeps);
    return { ...r, setupS, engine: row.engine };
  } finally {
    await row.close();
  }
}

/** Two rows alternated in this process (alternatedRatio): each round's µs per sweep of a and of b, and b over a. */
export interface AlternatedRatio {
  a_us: number[];
  b_us: number[];
  ratios: number[];
  /** the median of the rounds' ratios */
  median: number;
}

/**
 * Row b against row a in this process: both set up and warmed up once, then `rounds` rounds of a
 * slice of a and a slice of b (each at least `sliceS` seconds of sweeps, a traced row's in whole
 * chunks), b's µs per sweep over a's per round, and the median. On this kind of host the speed
 * drifts by ±20 % within a minute; slices a fraction of a second apart share the
 * host's state far better than whole rows measured one after the other (each with its own set-up
 * and warm-up, as until 7 December). After a traced slice the writer thread is let finish the
 * records handed to it (untimed), so none of its work spills into the next slice: a traced slice
 * holds the writer's work beside the engine (and the engine's waits for a full ring), as a long
 * traced run does in its steady state. One thread each.
 */
export async function alternatedRatio(a: RowSpec, b: RowSpec, rounds: number, sliceS: number): Promise<AlternatedRatio> {
  const out: AlternatedRatio = { a_us: [], b_us: [], ratios: [], median: NaN };
  const ra = openRow(a, 0, a.chains);
  try {
    const rb = openRow(b, 0, b.chains);
    try {
      for (const r of [ra, rb]) {
        r.step();
        const warmUntil = performance.now() + 1000 * Math.max(a.warmupS, b.warmupS);
        while (performance.now() < warmUntil) r.step();
        r.flush();
        r.settle();
      }
      const us = (r: { seconds: number; sweeps: number }) => (r.seconds * 1e6) / r.sweeps;
      for (let i = 0; i < rounds; i++) {
        const x = us(ra.slice(1000 * sliceS));
        ra.settle();
        const y = us(rb.slice(1000 * sliceS));
        rb.settle();
        out.a_us.push(x);
        out.b_us.push(y);
        out.ratios.push(y / x);
      }
    } finally {
      await rb.close();
    }
  } finally {
    await ra.close();
  }
  const sorted = [...out.ratios].sort((p, q) => p - q);
  out.median = sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return out;
}

/** One thread of a bench row (a pool job, sim/jobs.ts). */
export interface BenchJob {
  spec: RowSpec;
  first: number;
  count: number;
  sab: SharedArrayBuffer;
  parties: number;
}

/** Measure a row in this process (threads for workers > 1). */
export async function measureRow(spec: RowSpec): Promise<RowResult> {
  let parts: ThreadResult[];
  if (spec.workers <= 1) parts = [await measureThread(spec, 0, spec.chains)];
  // one chain on several workers: the chain split by bands of rows (cells/wasm/tiles.ts), this thread one of them
  else if (spec.chains === 1) parts = [await measureThread(spec, 0, 1, undefined, spec.workers)];
  else {
    const sab = new SharedArrayBuffer(4);
    const per = Math.ceil(spec.chains / spec.workers);
    const jobs: BenchJob[] = [];
    for (let w = 0; w < spec.workers; w++) {
      const first = w * per;
      jobs.push({ spec, first, count: Math.min(per, spec.chains - first), sab, parties: spec.workers });
    }
    // every thread at once: they start timing together at a shared barrier
    parts = await runJobs<ThreadResult>(jobs.map((data) => ({ name: 'bench', data })));
  }
  const updates = parts.reduce((a, p) => a + p.updates, 0);
  const seconds = Math.max(...parts.map((p) => p.seconds));
  const sweeps = Math.min(...parts.map((p) => p.sweeps));
  return {
    ...spec,
    cells: spec.L * spec.L,
    cell_updates: updates,
    wall_s: seconds,
    updates_per_ns: updates / (seconds * 1e9),
    us_per_sweep: (seconds * 1e6) / sweeps,
    setup_s: Math.max(...parts.map((p) => p.setupS)),
    rss_peak_bytes: process.resourceUsage().maxRSS * 1024,
    engine_used: parts[0].engine.used,
    engine_refused: parts[0].engine.refused,
    engine_tiles: parts[0].engine.stats.tiles ?? 1,
  };
}

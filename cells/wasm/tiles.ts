/**
 * One chain over several threads: the single-chain WebAssembly engine (cells/wasm/engine.ts) split
 * by bands of rows. Band b of B latches rows [floor(b L / B), floor((b + 1) L / B)) of every
 * half-sweep; thread t of T hosts bands [floor(t B / T), floor((t + 1) B / T)) (B = T unless the
 * model asks for more bands); thread 0 is the calling thread, threads 1 .. T-1 are worker threads
 * of the engine's own (cells/wasm/tile-worker.ts, built as dist/tile-worker.js). Every band is a
 * complete WasmEngine instance with its own memory (its own ABI slots, constants and scratch: the
 * generated code reads its parameters at fixed addresses, so two kernels cannot share one memory)
 * holding a full copy of the chain; only the band's cells are latched (setBand: a slice of the
 * kernel's row table, the same generated code).
 *
 * The exchange, through one SharedArrayBuffer:
 *   - after latching colour c, a band copies the rows of its own that another band reads (those
 *     within R rows of the band's edge, R = the rules' largest |dy|, cyclically on a torus) of its
 *     colour-c spin plane and previous-spin plane into the next slot of colour c's ring;
 *   - the caller waits until every thread is done (an Atomics counter: the barrier of the half-sweep);
 *   - at the start of its next command each band copies in the rows within R of its band that other
 *     bands own, from the slot of `lag` latches earlier (TileModel; 0: the latch just made), and
 *     refreshes its torus wrap copies.
 * A ring has lag + 2 slots, so a band never reads a slot another band is writing. The draws are
 * counter-based per (key, chain, cell) and the tallies are integers, so with lag 0 the result is
 * bit-identical to one engine latching every row, for any bands and threads (test/tiles.test.ts);
 * with a lag (a late chip boundary) the bands are part of the model and the threads are not.
 *
 * Commands other than latch (program, begin, biases, load, the gather of every band for a read)
 * travel as messages on a MessagePort that the worker takes synchronously (receiveMessageOnPort);
 * a latch travels only through the shared control words. Waiting spins (an adaptive budget), then
 * Atomics.wait.
 *
 * Why not the worker pool (sim/pool.ts): a pool job runs asynchronously to its end and returns a
 * result; a band must stay resident with the chain's state for the whole run and answer thousands
 * of synchronous half-sweeps a second from an engine whose latch() is synchronous (the stage
 * runner's interface), possibly itself inside a pool job. And cells/ may not import sim/.
 */
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { loadavg, availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { WasmEngine, wasmSupported } from './engine.js';
import type { Planes } from '../planes.js';
import {
  EngineRefusal,
  keepByReload,
  newTally,
  addTally,
  type EngineSpec,
  type EngineStats,
  type HalfSweep,
  type LatchEngine,
  type MomentSums,
  type Tally,
} from '../engine.js';

// control words (Int32 slots of the shared buffer)
const SEQ = 0; // command number, raised by the caller
const DONE = 1; // commands finished, summed over the worker tiles
const OP = 2;
const H_COLOUR = 3;
const H_SEG1 = 4;
const H_OWN = 5;
const H_KEY = 6;
const ERR = 7;
const READY = 9; // worker threads that started their loop
const OP_LATCH = 1;
const OP_MSG = 2;
const OP_EXIT = 3;
// f64 slots: beta at 8, the tiles' tallies from 16 (8 per tile)
const F_BETA = 8;
const F_TALLY = 16;
const TALLY_SLOTS = 8;
/** how long a command waits for worker threads that have not started before giving up */
const START_TIMEOUT_MS = 60_000;
/** bounds of a waiter's spin budget (loads of the control word before sleeping on it) */
const SPIN_MIN = 64;
const SPIN_MAX = 1 << 16;

/** a sleep this short means the awaited thread was running and a longer spin would have caught it */
const SHORT_SLEEP_MS = 0.5;
/** how often a waiter looks at the machine's load average (ms) */
const LOAD_CHECK_MS = 250;

/**
 * Waits for a control word to change: spins up to its budget, then sleeps (Atomics.wait). The
 * budget adapts: it doubles when spinning saw the change; after a sleep it doubles too if the
 * change came within SHORT_SLEEP_MS (the awaited thread was running: a longer spin would have
 * caught it) and the machine is not loaded (its 1-minute load average, looked at every
 * LOAD_CHECK_MS, below its cores + 1.5: the average stays above the cores for a minute after
 * another two-thread job), else it halves. On a quiet machine the budget settles high and no
 * half-sweep pays a futex wake-up; on a loaded one spinning would hold a core the awaited thread
 * needs, and the budget falls to almost nothing. Measured (L = 256, two tiles / one thread):
 * halving after every sleep (the rule before 6 December) gave 1.13-1.33x on a quiet host where a
 * fixed maximal spin gave 1.75x and this rule 1.77-1.91x (scripts/tiles-ratio.ts), 0.92-1.05x
 * against 1.44x in `dtca bench --quick`; with four busy processes beside it the two rules are
 * alike (0.91-0.98x), doubling after every short sleep without the load check 0.64x (earlier: a
 * fixed 20,000-load spin 0.76x at a load of 6, no spin 1.17x).
 */
export class Waiter {
  private budget = 1024;
  private loadAt = -Infinity;
  private quiet = true;

  /** whether the machine's load leaves the awaited thread a core of its own (checked every LOAD_CHECK_MS) */
  private machineQuiet(now: number): boolean {
    if (now - this.loadAt >= LOAD_CHECK_MS) {
      this.loadAt = now;
      this.quiet = loadavg()[0] < availableParallelism() + 1.5;
    }
    return this.quiet;
  }

  /** Return once i32[at] !== from (true), or false after `timeoutMs` of sleeping. */
  change(i32: Int32Array, at: number, from: number, timeoutMs = Infinity): boolean {
    if (Atomics.load(i32, at) !== from) return true;
    for (let k = 0; k < this.budget; k++) {
      if (Atomics.load(i32, at) !== from) {
        this.budget = Math.min(SPIN_MAX, this.budget * 2);
        return true;
      }
    }
    const start = performance.now();
    const until = start + timeoutMs;
    while (Atomics.load(i32, at) === from) {
      if (performance.now() > until) return false;
      Atomics.wait(i32, at, from, Math.min(1000, timeoutMs));
    }
    const now = performance.now();
    this.budget = now - start < SHORT_SLEEP_MS && this.machineQuiet(now) ? Math.min(SPIN_MAX, this.budget * 2) : Math.max(SPIN_MIN, this.budget >> 1);
    return true;
  }
}

export type TileMessage =
  | { op: 'program'; planes: Planes }
  | { op: 'begin'; first: number }
  | { op: 'setBias'; bias: Float64Array }
  | { op: 'setBiasAt'; cells: Int32Array; values: Float64Array }
  | { op: 'load'; spins: Float64Array; beta: number }
  | { op: 'gather' };

/** The bands of a split chain and how late the other bands' rows arrive. */
export interface TileModel {
  /** bands of rows (chips, or one chip's tiles): at least the threads */
  bands: number;
  /**
   * sweeps by which a band's view of the other bands' rows lags (0: the half-sweep before, as on
   * one chip; k: the rows as they were k sweeps earlier, a boundary link between chips that
   * delivers late). 0 is bit-identical to one engine for any number of bands.
   */
  lag: number;
}

export interface TileWorkerData {
  spec: EngineSpec;
  model: TileModel;
  /** the bands this thread latches */
  first: number;
  count: number;
  /** the thread (its tally slot) */
  thread: number;
  threads: number;
  sab: SharedArrayBuffer;
  port: MessagePort;
}

/** Rows of band t of T over L rows. */
export function bandOf(L: number, T: number, t: number): [number, number] {
  return [Math.floor((t * L) / T), Math.floor(((t + 1) * L) / T)];
}

/** The rows band [y0, y1) must send (read by other bands) and receive (read by it, owned by others). */
export function haloRows(L: number, R: number, torus: boolean, y0: number, y1: number): { send: number[]; recv: number[] } {
  const send = new Set<number>();
  const recv = new Set<number>();
  for (let y = y0; y < y1; y++) {
    for (let dy = -R; dy <= R; dy++) {
      let z = y + dy;
      if (torus) z = ((z % L) + L) % L;
      else if (z < 0 || z >= L) continue;
      if (z >= y0 && z < y1) continue;
      send.add(y);
      recv.add(z);
    }
  }
  return { send: [...send].sort((a, b) => a - b), recv: [...recv].sort((a, b) => a - b) };
}

/** Slots of the exchange ring per colour: the rows of lag + 2 latches (one being written, one read, the lag between). */
const ringSlots = (lag: number) => lag + 2;

/** Bytes of the shared buffer: control, per colour a ring of (s, sPrev) plane pairs, the gather's four planes. */
function layoutOf(planeF64: number, threads: number, lag: number) {
  const ctlBytes = 8 * (F_TALLY + TALLY_SLOTS * threads);
  const exch = ctlBytes;
  const gather = exch + 2 * ringSlots(lag) * 2 * planeF64 * 8;
  return { ctlBytes, exch, gather, bytes: gather + 4 * planeF64 * 8 };
}

/** The bands thread t of T hosts: [first, first + count). */
export function bandsOfThread(bands: number, threads: number, t: number): { first: number; count: number } {
  const [first, end] = bandOf(bands, threads, t);
  return { first, count: end - first };
}

/**
 * What every band does, on whichever thread: its engine, its rows, the halo exchange. The calling
 * thread's bands and each worker's bands are the same code.
 */
export class TileCore {
  readonly engine: WasmEngine;
  readonly band: [number, number];
  private readonly send: number[];
  private readonly recv: number[];
  private readonly MW: number;
  private readonly R: number;
  private readonly L: number;
  /** per colour, ring slot q: [(c * slots + q) * 2 + (0 s, 1 sPrev)] */
  private readonly exch: Float64Array[] = [];
  /** [which * 2 + colour] */
  private readonly gatherPlanes: Float64Array[] = [];
  /** latches of each colour since load() */
  private readonly latched: [number, number] = [0, 0];
  /** the colour whose halo arrives at the start of the next command */
  private pending: 0 | 1 | null = null;
  readonly tally = newTally();
  private readonly planeF64: number;
  private readonly slots: number;

  constructor(
    spec: EngineSpec,
    readonly tile: number,
    readonly model: TileModel,
    private readonly threads: number,
  ) {
    this.engine = new WasmEngine(spec, 1);
    const { R, MW, L } = this.engine.planeRows();
    this.R = R;
    this.MW = MW;
    this.L = L;
    this.band = bandOf(L, model.bands, tile);
    this.engine.setBand(this.band[0], this.band[1]);
    const h = haloRows(L, R, spec.layout.boundary === 'torus', this.band[0], this.band[1]);
    this.send = h.send;
    this.recv = h.recv;
    this.planeF64 = (L + 2 * R) * MW;
    this.slots = ringSlots(model.lag);
  }

  /** Bytes of the shared buffer the bands of this chain exchange through. */
  sharedBytes(): number {
    return layoutOf(this.planeF64, this.threads, this.model.lag).bytes;
  }

  /** The shared buffer (every band of the chain the same one). */
  attach(sab: SharedArrayBuffer): void {
    const n = this.planeF64;
    const lay = layoutOf(n, this.threads, this.model.lag);
    for (let q = 0; q < 4 * this.slots; q++) this.exch.push(new Float64Array(sab, lay.exch + q * n * 8, n));
    for (let q = 0; q < 4; q++) this.gatherPlanes.push(new Float64Array(sab, lay.gather + q * n * 8, n));
  }

  private copyRows(rows: number[], from: Float64Array, to: Float64Array): void {
    const { MW, R } = this;
    for (const y of rows) {
      const at = (y + R) * MW;
      to.set(from.subarray(at, at + MW), at);
    }
  }

  private ring(c: 0 | 1, n: number, which: 0 | 1): Float64Array {
    const q = ((n % this.slots) + this.slots) % this.slots;
    return this.exch[(c * this.slots + q) * 2 + which];
  }

  /** The rows others read, of colour c, into ring slot n. */
  private sendRows(c: 0 | 1, n: number): void {
    this.copyRows(this.send, this.engine.planeView(0, 's', c), this.ring(c, n, 0));
    this.copyRows(this.send, this.engine.planeView(0, 'sPrev', c), this.ring(c, n, 1));
  }

  /**
   * Take the halo the other bands sent (the start of every command): after the n-th latch of
   * colour c, the rows of latch n - lag (before the first: the loaded spins, in every slot).
   */
  applyPending(): void {
    const c = this.pending;
    if (c === null) return;
    this.pending = null;
    if (this.recv.length === 0) return;
    const n = this.latched[c] - 1 - this.model.lag;
    this.copyRows(this.recv, this.ring(c, n, 0), this.engine.planeView(0, 's', c));
    this.copyRows(this.recv, this.ring(c, n, 1), this.engine.planeView(0, 'sPrev', c));
    this.engine.refreshPlanePads(0, c);
  }

  /** Latch the band; send the rows others read; the tallies in this.tally. */
  latch(hs: HalfSweep): void {
    const t = this.tally;
    t.latches = t.toggles = t.wireQ = t.linkToggles = t.dividerQ = 0;
    this.engine.latch(hs, t);
    if (this.model.bands === 1) return;
    this.sendRows(hs.colour, this.latched[hs.colour]);
    this.latched[hs.colour]++;
    this.pending = hs.colour;
  }

  /** Every row of the band, both colours and both planes, into the gather planes. */
  gatherOut(): void {
    const rows: number[] = [];
    for (let y = this.band[0]; y < this.band[1]; y++) rows.push(y);
    for (const c of [0, 1] as const) {
      this.copyRows(rows, this.engine.planeView(0, 's', c), this.gatherPlanes[c]);
      this.copyRows(rows, this.engine.planeView(0, 'sPrev', c), this.gatherPlanes[2 + c]);
    }
  }

  /**
   * Chain 0's spins as every band holds its own rows (after every band's gatherOut), read through
   * this band's engine: its other rows are replaced for the read and put back after it (with a
   * lag they are older than the gathered ones).
   */
  readGathered(read: (e: WasmEngine) => void): void {
    if (this.model.bands === 1) return read(this.engine);
    const rows: number[] = [];
    for (let y = 0; y < this.L; y++) if (y < this.band[0] || y >= this.band[1]) rows.push(y);
    const keep = this.model.lag > 0 ? [0, 1, 2, 3].map((q) => this.engine.planeView(0, q < 2 ? 's' : 'sPrev', (q & 1) as 0 | 1).slice()) : null;
    for (const c of [0, 1] as const) {
      this.copyRows(rows, this.gatherPlanes[c], this.engine.planeView(0, 's', c));
      this.copyRows(rows, this.gatherPlanes[2 + c], this.engine.planeView(0, 'sPrev', c));
      this.engine.refreshPlanePads(0, c);
    }
    try {
      read(this.engine);
    } finally {
      if (keep) for (let q = 0; q < 4; q++) this.engine.planeView(0, q < 2 ? 's' : 'sPrev', (q & 1) as 0 | 1).set(keep[q]);
    }
  }

  /** A message command on this band's engine. */
  run(m: TileMessage): void {
    const e = this.engine;
    switch (m.op) {
      case 'program':
        e.program(m.planes);
        break;
      case 'begin':
        e.begin(m.first, 1);
        break;
      case 'setBias':
        e.setBias(0, m.bias);
        break;
      case 'setBiasAt':
        e.setBiasAt(0, m.cells, m.values);
        break;
      case 'load':
        e.load(0, m.spins, m.beta);
        // the late rows before the first latches are the loaded ones
        this.latched[0] = this.latched[1] = 0;
        this.pending = null;
        if (this.model.bands > 1) for (const c of [0, 1] as const) for (let q = 0; q < this.slots; q++) this.sendRows(c, q);
        break;
      case 'gather':
        this.gatherOut();
        break;
    }
  }
}

/** The bands one thread hosts, run one after another for each command. */
export class TileHost {
  readonly cores: TileCore[] = [];
  readonly tally = newTally();
  exact = 0;

  constructor(spec: EngineSpec, model: TileModel, first: number, count: number, threads: number) {
    for (let b = first; b < first + count; b++) this.cores.push(new TileCore(spec, b, model, threads));
  }

  attach(sab: SharedArrayBuffer): void {
    for (const c of this.cores) c.attach(sab);
  }

  applyPending(): void {
    for (const c of this.cores) c.applyPending();
  }

  latch(hs: HalfSweep): void {
    const t = this.tally;
    t.latches = t.toggles = t.wireQ = t.linkToggles = t.dividerQ = 0;
    let exact = 0;
    for (const c of this.cores) {
      c.latch(hs);
      addTally(t, c.tally);
      exact += c.engine.stats().exact_decisions;
    }
    this.exact = exact;
  }

  run(m: TileMessage): void {
    for (const c of this.cores) c.run(m);
  }

  dispose(): void {
    for (const c of this.cores) c.engine.dispose();
  }
}

/** The control words a worker tile reads and writes. */
export function tileControl(sab: SharedArrayBuffer): { i32: Int32Array; f64: Float64Array } {
  return { i32: new Int32Array(sab, 0, 2 * F_TALLY), f64: new Float64Array(sab) };
}

/** The loop of a worker thread (cells/wasm/tile-worker.ts): commands until OP_EXIT. */
export function tileWorkerLoop(d: TileWorkerData): void {
  const { i32, f64 } = tileControl(d.sab);
  Atomics.add(i32, READY, 1);
  let host: TileHost | null = null;
  let err: unknown = null;
  try {
    host = new TileHost(d.spec, d.model, d.first, d.count, d.threads);
    host.attach(d.sab);
  } catch (e) {
    err = e;
  }
  let seen = 0;
  const waiter = new Waiter();
  for (;;) {
    waiter.change(i32, SEQ, seen);
    seen++;
    const op = Atomics.load(i32, OP);
    if (op === OP_EXIT) break;
    try {
      let msg: TileMessage | null = null;
      if (op === OP_MSG) {
        let got = receiveMessageOnPort(d.port);
        while (!got) got = receiveMessageOnPort(d.port);
        msg = got.message as TileMessage;
      }
      if (err) throw err;
      const h = host!;
      h.applyPending();
      if (op === OP_LATCH) {
        h.latch({ colour: i32[H_COLOUR] as 0 | 1, seg1Cycles: i32[H_SEG1], ownCycles: i32[H_OWN], key: i32[H_KEY], beta: f64[F_BETA] });
        const t = h.tally;
        const at = F_TALLY + TALLY_SLOTS * d.thread;
        f64[at] = t.latches;
        f64[at + 1] = t.toggles;
        f64[at + 2] = t.wireQ;
        f64[at + 3] = t.linkToggles;
        f64[at + 4] = t.dividerQ;
        f64[at + 5] = h.exact;
      } else if (msg) h.run(msg);
    } catch (e) {
      Atomics.store(i32, ERR, 1);
      d.port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
    Atomics.add(i32, DONE, 1);
    Atomics.notify(i32, DONE);
  }
  host?.dispose();
  Atomics.add(i32, DONE, 1);
  Atomics.notify(i32, DONE);
}

/** dist/tile-worker.js: beside the bundle that runs, or the built copy when running from sources (tests). */
export function tileWorkerUrl(): URL | null {
  for (const u of [new URL('./tile-worker.js', import.meta.url), new URL('../../dist/tile-worker.js', import.meta.url)]) {
    if (u.protocol === 'file:' && existsSync(fileURLToPath(u))) return u;
  }
  return null;
}

/** Why one chain cannot be split over `threads` threads into `model`'s bands here ('' when it can). */
export function tilesRefusal(spec: EngineSpec, threads: number, chains: number, model: Partial<TileModel> = {}): string {
  if (!wasmSupported()) return 'this Node has no WebAssembly SIMD with shared memory';
  if (chains !== 1) return `tiles split one chain, the run holds ${chains} at once`;
  if (!(Number.isInteger(threads) && threads >= 1)) return `${threads} threads`;
  const bands = model.bands ?? threads;
  const lag = model.lag ?? 0;
  if (!(Number.isInteger(bands) && bands >= threads)) return `${bands} bands for ${threads} threads (at least one band each)`;
  if (bands > spec.layout.L) return `${bands} tiles for ${spec.layout.L} rows`;
  if (!(Number.isInteger(lag) && lag >= 0)) return `a boundary lag of ${lag} sweeps`;
  if (threads > 1 && !tileWorkerUrl()) return 'no dist/tile-worker.js (npm run build)';
  return '';
}

/**
 * One chain latched by `threads` threads in `model.bands` bands of rows (default: one per thread).
 * With lag 0 bit-identical to one WasmEngine for any bands and threads; with a lag, the same for
 * any threads (the bands are the model).
 */
export class TiledEngine implements LatchEngine {
  readonly kind = 'wasm' as const;
  readonly capacity = 1;
  readonly model: TileModel;
  private readonly host: TileHost;
  private readonly sab: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private seq = 0;
  private count = 0;
  private cellUpdates = 0;
  private latchCalls = 0;
  private exact = 0;
  private disposed = false;
  private readonly waiter = new Waiter();

  constructor(
    private readonly spec: EngineSpec,
    readonly threads: number,
    model: Partial<TileModel> = {},
  ) {
    const why = tilesRefusal(spec, threads, 1, model);
    if (why) throw new EngineRefusal(why);
    this.model = { bands: model.bands ?? threads, lag: model.lag ?? 0 };
    const mine = bandsOfThread(this.model.bands, threads, 0);
    this.host = new TileHost(spec, this.model, mine.first, mine.count, threads);
    this.sab = new SharedArrayBuffer(this.model.bands > 1 ? this.host.cores[0].sharedBytes() : 8 * (F_TALLY + TALLY_SLOTS));
    if (this.model.bands > 1) this.host.attach(this.sab);
    const ctl = tileControl(this.sab);
    this.i32 = ctl.i32;
    this.f64 = ctl.f64;
    if (threads > 1) {
      const url = tileWorkerUrl()!;
      for (let t = 1; t < threads; t++) {
        const ch = new MessageChannel();
        const data: TileWorkerData = {
          spec,
          model: this.model,
          ...bandsOfThread(this.model.bands, threads, t),
          thread: t,
          threads,
          sab: this.sab,
          port: ch.port2,
        };
        const w = new Worker(url, { workerData: data, transferList: [ch.port2] });
        w.unref();
        ch.port1.unref();
        this.workers.push(w);
        this.ports.push(ch.port1);
      }
    }
  }

  /** Start command `op` on the worker threads (with `msg` for each), run `mine` on this thread's bands, wait for all. */
  private command(op: number, msg: TileMessage | null, mine: () => void): void {
    if (this.disposed) throw new Error('engine: used after dispose()');
    const helpers = this.threads - 1;
    this.seq++;
    if (helpers > 0) {
      if (msg) for (const p of this.ports) p.postMessage(msg);
      Atomics.store(this.i32, OP, op);
      Atomics.store(this.i32, SEQ, this.seq);
      Atomics.notify(this.i32, SEQ);
    }
    let failure: unknown = null;
    try {
      this.host.applyPending();
      mine();
    } catch (e) {
      failure = e;
    }
    if (helpers > 0) {
      const want = this.seq * helpers;
      for (;;) {
        const d = Atomics.load(this.i32, DONE);
        if (d >= want) break;
        // a worker that never started its loop (its bundle failed to load) would be waited for forever
        if (!this.waiter.change(this.i32, DONE, d, START_TIMEOUT_MS) && Atomics.load(this.i32, READY) < helpers) {
          this.dispose();
          throw new Error(`engine: a tile worker did not start within ${START_TIMEOUT_MS / 1000} s (dist/tile-worker.js)`);
        }
      }
      if (Atomics.load(this.i32, ERR)) {
        const why: string[] = [];
        for (const p of this.ports) {
          const got = receiveMessageOnPort(p);
          if (got) why.push((got.message as { error: string }).error);
        }
        this.dispose();
        throw new Error(`engine: a tile worker failed: ${why.join('; ')}`);
      }
    }
    if (failure) throw failure;
  }

  private broadcast(msg: TileMessage): void {
    this.command(OP_MSG, msg, () => this.host.run(msg));
  }

  program(planes: Planes): void {
    this.broadcast({ op: 'program', planes });
  }

  programClamp(planes: Planes): void {
    this.program(planes);
  }

  begin(first: number, count: number): void {
    if (!(Number.isInteger(count) && count >= 0 && count <= 1)) throw new RangeError(`engine: ${count} chains, capacity 1`);
    this.count = count;
    this.broadcast({ op: 'begin', first });
  }

  setBias(k: number, bias: Float64Array): void {
    this.checkChain(k);
    this.broadcast({ op: 'setBias', bias });
  }

  setBiasAt(k: number, cells: Int32Array, values: Float64Array): void {
    this.checkChain(k);
    this.broadcast({ op: 'setBiasAt', cells, values });
  }

  load(k: number, spins: ArrayLike<number>, beta: number): void {
    this.checkChain(k);
    this.broadcast({ op: 'load', spins: Float64Array.from(spins), beta });
  }

  keep(k: number, beta: number): void {
    keepByReload(this, this.spec.layout.N, k, beta);
  }

  private checkChain(k: number): void {
    if (k !== 0) throw new RangeError(`engine: chain ${k}, capacity 1`);
  }

  latch(hs: HalfSweep, sum: Tally, perChain?: Tally[] | null, energy = true): void {
    if (this.count === 0) return;
    const i32 = this.i32;
    i32[H_COLOUR] = hs.colour;
    i32[H_SEG1] = hs.seg1Cycles;
    i32[H_OWN] = hs.ownCycles;
    i32[H_KEY] = hs.key | 0;
    this.f64[F_BETA] = hs.beta;
    this.command(OP_LATCH, null, () => this.host.latch(hs));
    // integer tallies: the sum is exact in any order
    const t = newTally();
    addTally(t, this.host.tally);
    let exact = this.host.exact;
    for (let w = 1; w < this.threads; w++) {
      const at = F_TALLY + TALLY_SLOTS * w;
      const f = this.f64;
      t.latches += f[at];
      t.toggles += f[at + 1];
      t.wireQ += f[at + 2];
      t.linkToggles += f[at + 3];
      t.dividerQ += f[at + 4];
      exact += f[at + 5];
    }
    if (!energy) t.dividerQ = 0;
    addTally(sum, t);
    if (perChain) addTally(perChain[0], t);
    this.cellUpdates += t.latches;
    this.latchCalls++;
    this.exact = exact;
  }

  /** Every band's rows into the gather planes, then `read` on this thread's first band's engine holding them. */
  private read(read: (e: WasmEngine) => void): void {
    if (this.model.bands > 1) this.command(OP_MSG, { op: 'gather' }, () => this.host.run({ op: 'gather' }));
    this.host.cores[0].readGathered(read);
  }

  readSpins(k: number, out: Int8Array | Float64Array): void {
    this.checkChain(k);
    this.read((e) => e.readSpins(0, out));
  }

  accumulateMoments(m: MomentSums): void {
    if (this.count === 0) return;
    this.read((e) => e.accumulateMoments(m));
  }

  momentSums(): MomentSums {
    return this.host.cores[0].engine.momentSums();
  }

  stats(): EngineStats {
    const s = this.host.cores[0].engine.stats();
    return { ...s, capacity: 1, latch_calls: this.latchCalls, cell_updates: this.cellUpdates, exact_decisions: this.exact, tiles: this.threads };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.threads > 1) {
      this.seq++;
      Atomics.store(this.i32, OP, OP_EXIT);
      Atomics.store(this.i32, SEQ, this.seq);
      Atomics.notify(this.i32, SEQ);
      for (const w of this.workers) void w.terminate();
      for (const p of this.ports) p.close();
    }
    this.host.dispose();
  }
}

/**
 * One chain over several threads: the single-chain WebAssembly engine (cells/wasm/engine.ts) split
 * by bands of rows. Tile t latches rows [floor(t L / T), floor((t + 1) L / T)) of every half-sweep;
 * tile 0 runs on the calling thread, tiles 1 .. T-1 on worker threads of their own
 * (cells/wasm/tile-worker.ts, built as dist/tile-worker.js). Every tile is a complete WasmEngine
 * instance with its own memory (its own ABI slots, constants and scratch: the generated code reads
 * its parameters at fixed addresses, so two kernels cannot share one memory) holding a full copy
 * of the chain; only the band's cells are latched (setBand: a slice of the kernel's row table, the
 * same generated code).
 *
 * The exchange, through one SharedArrayBuffer:
 *   - after latching colour c, a tile copies the rows of its band that another band reads (those
 *     within R rows of the band's edge, R = the rules' largest |dy|, cyclically on a torus) of its
 *     colour-c spin plane and previous-spin plane into a shared plane pair;
 *   - the caller waits until every tile is done (an Atomics counter: the barrier of the half-sweep);
 *   - at the start of its next command each tile copies in the rows within R of its band that other
 *     bands own, and refreshes its torus wrap copies.
 * The shared planes alternate with the command's parity, so a tile never reads a plane another tile
 * is writing. The draws are counter-based per (key, chain, cell) and the tallies are integers, so
 * the result is bit-identical to one engine latching every row (test/tiles.test.ts).
 *
 * Commands other than latch (program, begin, biases, load, the gather of every band for a read)
 * travel as messages on a MessagePort that the worker takes synchronously (receiveMessageOnPort);
 * a latch travels only through the shared control words. Waiting spins briefly, then Atomics.wait.
 *
 * Why not the worker pool (sim/pool.ts): a pool job runs asynchronously to its end and returns a
 * result; a tile must stay resident with the chain's state for the whole run and answer thousands
 * of synchronous half-sweeps a second from an engine whose latch() is synchronous (the stage
 * runner's interface), possibly itself inside a pool job. And cells/ may not import sim/.
 */
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WasmEngine, wasmSupported } from './engine.js';
import type { Planes } from '../planes.js';
import {
  EngineRefusal,
  keepByReload,
  newTally,
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
const OP_LATCH = 1;
const OP_MSG = 2;
const OP_EXIT = 3;
// f64 slots: beta at 8, the tiles' tallies from 16 (8 per tile)
const F_BETA = 8;
const F_TALLY = 16;
const TALLY_SLOTS = 8;
/** bounds of a waiter's spin budget (loads of the control word before sleeping on it) */
const SPIN_MIN = 64;
const SPIN_MAX = 1 << 16;

/**
 * Waits for a control word to change: spins up to its budget, then sleeps (Atomics.wait). The
 * budget adapts: it doubles when spinning saw the change and halves when it had to sleep. On a
 * quiet machine the other thread answers within the spin and no half-sweep pays a futex wake-up;
 * on a loaded one spinning would hold a core the awaited thread needs, and the budget falls to
 * almost nothing (measured: a fixed 20,000-load spin made two threads 0.76x one at a load of 6,
 * no spin 1.17x).
 */
export class Waiter {
  private budget = 1024;

  /** Return once i32[at] !== from. */
  change(i32: Int32Array, at: number, from: number): void {
    if (Atomics.load(i32, at) !== from) return;
    for (let k = 0; k < this.budget; k++) {
      if (Atomics.load(i32, at) !== from) {
        this.budget = Math.min(SPIN_MAX, this.budget * 2);
        return;
      }
    }
    this.budget = Math.max(SPIN_MIN, this.budget >> 1);
    while (Atomics.load(i32, at) === from) Atomics.wait(i32, at, from, 1000);
  }
}

export type TileMessage =
  | { op: 'program'; planes: Planes }
  | { op: 'begin'; first: number }
  | { op: 'setBias'; bias: Float64Array }
  | { op: 'setBiasAt'; cells: Int32Array; values: Float64Array }
  | { op: 'load'; spins: Float64Array; beta: number }
  | { op: 'gather' };

export interface TileWorkerData {
  spec: EngineSpec;
  tile: number;
  tiles: number;
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

/** Bytes of the shared buffer: control, two parities x (s, sPrev) planes, the gather's four planes. */
function layoutOf(planeF64: number, tiles: number) {
  const ctlBytes = 8 * (F_TALLY + TALLY_SLOTS * tiles);
  const exch = ctlBytes;
  const gather = exch + 4 * planeF64 * 8;
  return { ctlBytes, exch, gather, bytes: gather + 4 * planeF64 * 8 };
}

/**
 * What every tile does, on whichever thread: its engine, its band, the halo exchange. The calling
 * thread's tile and each worker's tile are the same code.
 */
export class TileCore {
  readonly engine: WasmEngine;
  readonly band: [number, number];
  private readonly send: number[];
  private readonly recv: number[];
  private readonly MW: number;
  private readonly R: number;
  private readonly L: number;
  /** [parity * 2 + (0 s, 1 sPrev)] */
  private readonly exch: Float64Array[];
  /** [which * 2 + colour] */
  private readonly gatherPlanes: Float64Array[];
  /** the colour and parity of the shared planes holding this tile's halo from the last latch */
  private pending: { c: 0 | 1; parity: number } | null = null;
  readonly tally = newTally();

  private readonly planeF64: number;

  constructor(
    spec: EngineSpec,
    readonly tile: number,
    readonly tiles: number,
  ) {
    this.engine = new WasmEngine(spec, 1);
    const { R, MW, L } = this.engine.planeRows();
    this.R = R;
    this.MW = MW;
    this.L = L;
    this.band = bandOf(L, tiles, tile);
    this.engine.setBand(this.band[0], this.band[1]);
    const h = haloRows(L, R, spec.layout.boundary === 'torus', this.band[0], this.band[1]);
    this.send = h.send;
    this.recv = h.recv;
    this.planeF64 = (L + 2 * R) * MW;
    this.exch = [];
    this.gatherPlanes = [];
  }

  /** Bytes of the shared buffer the tiles of this chain exchange through. */
  sharedBytes(): number {
    return layoutOf(this.planeF64, this.tiles).bytes;
  }

  /** The shared buffer (every tile of the chain the same one). */
  attach(sab: SharedArrayBuffer): void {
    const n = this.planeF64;
    const lay = layoutOf(n, this.tiles);
    for (let q = 0; q < 4; q++) this.exch.push(new Float64Array(sab, lay.exch + q * n * 8, n));
    for (let q = 0; q < 4; q++) this.gatherPlanes.push(new Float64Array(sab, lay.gather + q * n * 8, n));
  }

  private copyRows(rows: number[], from: Float64Array, to: Float64Array): void {
    const { MW, R } = this;
    for (const y of rows) {
      const at = (y + R) * MW;
      to.set(from.subarray(at, at + MW), at);
    }
  }

  /** Take the halo the other tiles sent after the last latch (the start of every command). */
  applyPending(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    if (this.recv.length === 0) return;
    this.copyRows(this.recv, this.exch[p.parity * 2], this.engine.planeView(0, 's', p.c));
    this.copyRows(this.recv, this.exch[p.parity * 2 + 1], this.engine.planeView(0, 'sPrev', p.c));
    this.engine.refreshPlanePads(0, p.c);
  }

  /** Latch the band; send the rows others read; the tallies in this.tally. */
  latch(hs: HalfSweep, seq: number): void {
    const t = this.tally;
    t.latches = t.toggles = t.wireQ = t.linkToggles = t.dividerQ = 0;
    this.engine.latch(hs, t);
    if (this.tiles === 1) return;
    const parity = seq & 1;
    this.copyRows(this.send, this.engine.planeView(0, 's', hs.colour), this.exch[parity * 2]);
    this.copyRows(this.send, this.engine.planeView(0, 'sPrev', hs.colour), this.exch[parity * 2 + 1]);
    this.pending = { c: hs.colour, parity };
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

  /** Every row outside the band from the gather planes (the caller's tile, after the others' gatherOut). */
  gatherIn(): void {
    const rows: number[] = [];
    for (let y = 0; y < this.L; y++) if (y < this.band[0] || y >= this.band[1]) rows.push(y);
    for (const c of [0, 1] as const) {
      this.copyRows(rows, this.gatherPlanes[c], this.engine.planeView(0, 's', c));
      this.copyRows(rows, this.gatherPlanes[2 + c], this.engine.planeView(0, 'sPrev', c));
      this.engine.refreshPlanePads(0, c);
    }
  }

  /** A message command on this tile's engine. */
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
        break;
      case 'gather':
        this.gatherOut();
        break;
    }
  }
}

/** The control words a worker tile reads and writes. */
export function tileControl(sab: SharedArrayBuffer): { i32: Int32Array; f64: Float64Array } {
  return { i32: new Int32Array(sab, 0, 2 * F_TALLY), f64: new Float64Array(sab) };
}

/** The loop of a worker tile (cells/wasm/tile-worker.ts): commands until OP_EXIT. */
export function tileWorkerLoop(d: TileWorkerData): void {
  const { i32, f64 } = tileControl(d.sab);
  let core: TileCore | null = null;
  let err: unknown = null;
  try {
    core = new TileCore(d.spec, d.tile, d.tiles);
    core.attach(d.sab);
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
      const c = core!;
      c.applyPending();
      if (op === OP_LATCH) {
        c.latch({ colour: i32[H_COLOUR] as 0 | 1, seg1Cycles: i32[H_SEG1], ownCycles: i32[H_OWN], key: i32[H_KEY], beta: f64[F_BETA] }, seen);
        const t = c.tally;
        const at = F_TALLY + TALLY_SLOTS * d.tile;
        f64[at] = t.latches;
        f64[at + 1] = t.toggles;
        f64[at + 2] = t.wireQ;
        f64[at + 3] = t.linkToggles;
        f64[at + 4] = t.dividerQ;
        f64[at + 5] = c.engine.stats().exact_decisions;
      } else if (msg) c.run(msg);
    } catch (e) {
      Atomics.store(i32, ERR, 1);
      d.port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
    Atomics.add(i32, DONE, 1);
    Atomics.notify(i32, DONE);
  }
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

/** Why one chain cannot be split into `tiles` bands here ('' when it can). */
export function tilesRefusal(spec: EngineSpec, tiles: number, chains: number): string {
  if (!wasmSupported()) return 'this Node has no WebAssembly SIMD with shared memory';
  if (chains !== 1) return `tiles split one chain, the run holds ${chains} at once`;
  if (!(Number.isInteger(tiles) && tiles >= 1)) return `${tiles} tiles`;
  if (tiles > spec.layout.L) return `${tiles} tiles for ${spec.layout.L} rows`;
  if (tiles > 1 && !tileWorkerUrl()) return 'no dist/tile-worker.js (npm run build)';
  return '';
}

/** One chain latched by `tiles` threads, bit-identical to one WasmEngine. */
export class TiledEngine implements LatchEngine {
  readonly kind = 'wasm' as const;
  readonly capacity = 1;
  private readonly core: TileCore;
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
    readonly tiles: number,
  ) {
    const why = tilesRefusal(spec, tiles, 1);
    if (why) throw new EngineRefusal(why);
    this.core = new TileCore(spec, 0, tiles);
    this.sab = new SharedArrayBuffer(tiles > 1 ? this.core.sharedBytes() : 8 * (F_TALLY + TALLY_SLOTS));
    if (tiles > 1) this.core.attach(this.sab);
    const ctl = tileControl(this.sab);
    this.i32 = ctl.i32;
    this.f64 = ctl.f64;
    if (tiles > 1) {
      const url = tileWorkerUrl()!;
      for (let t = 1; t < tiles; t++) {
        const ch = new MessageChannel();
        const data: TileWorkerData = { spec, tile: t, tiles, sab: this.sab, port: ch.port2 };
        const w = new Worker(url, { workerData: data, transferList: [ch.port2] });
        w.unref();
        ch.port1.unref();
        this.workers.push(w);
        this.ports.push(ch.port1);
      }
    }
  }

  /** Start command `op` on the worker tiles (with `msg` for each), run `mine` on this tile, wait for all. */
  private command(op: number, msg: TileMessage | null, mine: () => void): void {
    if (this.disposed) throw new Error('engine: used after dispose()');
    const helpers = this.tiles - 1;
    this.seq++;
    if (helpers > 0) {
      if (msg) for (const p of this.ports) p.postMessage(msg);
      Atomics.store(this.i32, OP, op);
      Atomics.store(this.i32, SEQ, this.seq);
      Atomics.notify(this.i32, SEQ);
    }
    let failure: unknown = null;
    try {
      this.core.applyPending();
      mine();
    } catch (e) {
      failure = e;
    }
    if (helpers > 0) {
      const want = this.seq * helpers;
      for (;;) {
        const d = Atomics.load(this.i32, DONE);
        if (d >= want) break;
        this.waiter.change(this.i32, DONE, d);
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
    this.command(OP_MSG, msg, () => this.core.run(msg));
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

  latch(hs: HalfSweep, sum: Tally, perChain?: Tally[] | null): void {
    if (this.count === 0) return;
    const i32 = this.i32;
    i32[H_COLOUR] = hs.colour;
    i32[H_SEG1] = hs.seg1Cycles;
    i32[H_OWN] = hs.ownCycles;
    i32[H_KEY] = hs.key | 0;
    this.f64[F_BETA] = hs.beta;
    const seq = this.seq + 1;
    this.command(OP_LATCH, null, () => this.core.latch(hs, seq));
    // integer tallies: the sum is exact in any order
    const t = newTally();
    const mine = this.core.tally;
    t.latches = mine.latches;
    t.toggles = mine.toggles;
    t.wireQ = mine.wireQ;
    t.linkToggles = mine.linkToggles;
    t.dividerQ = mine.dividerQ;
    let exact = 0;
    for (let w = 1; w < this.tiles; w++) {
      const at = F_TALLY + TALLY_SLOTS * w;
      const f = this.f64;
      t.latches += f[at];
      t.toggles += f[at + 1];
      t.wireQ += f[at + 2];
      t.linkToggles += f[at + 3];
      t.dividerQ += f[at + 4];
      exact += f[at + 5];
    }
    for (const x of perChain ? [sum, perChain[0]] : [sum]) {
      x.latches += t.latches;
      x.toggles += t.toggles;
      x.wireQ += t.wireQ;
      x.linkToggles += t.linkToggles;
      x.dividerQ += t.dividerQ;
    }
    this.cellUpdates += t.latches;
    this.latchCalls++;
    this.exact = exact;
  }

  /** Every band's rows into this thread's engine (before reading the chain). */
  private gather(): void {
    if (this.tiles === 1) return;
    this.command(OP_MSG, { op: 'gather' }, () => {});
    this.core.gatherIn();
  }

  readSpins(k: number, out: Int8Array | Float64Array): void {
    this.checkChain(k);
    this.gather();
    this.core.engine.readSpins(0, out);
  }

  accumulateMoments(m: MomentSums): void {
    if (this.count === 0) return;
    this.gather();
    this.core.engine.accumulateMoments(m);
  }

  momentSums(): MomentSums {
    return this.core.engine.momentSums();
  }

  stats(): EngineStats {
    const s = this.core.engine.stats();
    return {
      ...s,
      capacity: 1,
      latch_calls: this.latchCalls,
      cell_updates: this.cellUpdates,
      exact_decisions: s.exact_decisions + this.exact,
      tiles: this.tiles,
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.tiles > 1) {
      this.seq++;
      Atomics.store(this.i32, OP, OP_EXIT);
      Atomics.store(this.i32, SEQ, this.seq);
      Atomics.notify(this.i32, SEQ);
      for (const w of this.workers) void w.terminate();
      for (const p of this.ports) p.close();
    }
    this.core.engine.dispose();
  }
}

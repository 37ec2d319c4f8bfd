/**
 * Running chains on the chip: the clock (integer cycles, colour phases, sweeps), initialisation,
 * observers, moments and event counting, over a latch engine (cells/engine.ts), and the spread of
 * chains over worker threads. One runner serves Boltzmann-machine runs, DTM generation, training
 * and the benchmark.
 *
 * Every random draw is a function of (seed, chip, chain, stage, sweep, cell); event counts are
 * exact integers (power/events.ts ExactEvents); observers see chains in chain order, sweeps in
 * order. So outputs are byte-identical for any engine, batch size or worker count.
 */
import { overRanges } from './pool.js';
import { runThrough, runPaced, type Steps } from '../fabric/pause.js';
import { streamKey, uniform, draw32, TWO_POW_32, Purpose } from '../rng/counter.js';
import { sigmoid, WIRE_Q, DIVIDER_Q } from '../cells/physics.js';
import { createEngine, type EngineSelection } from '../cells/select.js';
import {
  newTally,
  resetTally,
  addTally,
  newMomentSums,
  type LatchEngine,
  type Tally,
  type HalfSweep,
  type MomentSums,
  ENGINE_CHOICES,
  type EngineChoice,
  type EngineStats,
  type EngineKind,
} from '../cells/engine.js';
import type { Planes } from '../cells/planes.js';
import type { TileModel } from '../cells/wasm/tiles.js';
import { ExactEvents, EVENT_KEYS, type EventCounts } from '../power/events.js';
import { energyOf, energyInto, energyIntoValues, ENERGY_REPORT_KEYS, type EnergyReport } from '../power/energy.js';
import { buildChip, programStage, chipEvents, type Chip } from './chip.js';
import { wireDirection } from '../fabric/fabric.js';
import { shown } from '../fabric/rules.js';
import { packStates, unpackSpins } from '../traces/pack.js';
import { BATCH_FIELDS, type TraceSink, type SweepInfo } from '../traces/types.js';
import type { Model } from './model.js';
import type { ResolvedConfig } from './config.js';
import { Interrupted, OptionError, wholeOption } from '../fabric/errors.js';

export type InitMode = 'hinton' | 'random' | 'up' | 'down';
export const INIT_MODES: InitMode[] = ['hinton', 'random', 'up', 'down'];

/**
 * One chain's sweep as an observer (StagePlan.view, RunOptions.onSweep) sees it: one object rewritten
 * for every record, valid during the call only (copy what you keep).
 */
export interface SweepView {
  chain: number;
  stage: number;
  sweep: number;
  /** chip cycle at the end of this sweep, counted from the chain's start */
  cycle: number;
  /** spins +-1 (length N+1; the last entry is the pad, 0); read only, valid during the call */
  readonly s: Float64Array;
  /** the same spins bit-packed (cell i at byte i >> 3, bit i & 7, 1 = +1: the trace's packing); read only */
  packed: Uint8Array;
  /** this chain's tallies of this sweep (both colours) */
  tally: Tally;
  /** this chain's events of this sweep, leakage over the sweep included (SI units) */
  readonly events: EventCounts;
  /**
   * energyOf(events, the chip's table)'s values in ENERGY_REPORT_KEYS' order (power/energy.ts), in
   * an array valid until the next call (traces: no objects per record)
   */
  energy(): Float64Array;
}

/**
 * Which engine a run used, what it asked for and what it passed over. A run on worker threads
 * chooses an engine per thread (auto: the many-chain engine for a thread given several chains,
 * the single-chain one for a thread given one), so `used` and `stats.kind` are an EngineKind, or
 * several joined by '+' in thread order when the threads chose differently (`batch+wasm`).
 */
export interface EngineReport {
  requested: EngineChoice;
  used: string;
  refused: { engine: EngineKind; reason: string }[];
  stats: Omit<EngineStats, 'kind'> & { kind: string };
}

export function engineReport(sel: EngineSelection): EngineReport {
  return { requested: sel.requested, used: sel.engine.kind, refused: sel.refused, stats: sel.engine.stats() };
}

/** One stage's chains through an engine. */
export interface StagePlan {
  stage: number;
  /** sweeps in all (warm-up included) */
  sweeps: number;
  betaAt: (sweep: number) => number;
  /** chain c's biases (plane units), or null for the programmed ones */
  biasOf?: (chain: number) => Float64Array | null;
  /**
   * For chains biasOf leaves to the programmed biases: the cells where chain c's biases differ
   * from them and their values (plane units; the engines' setBiasAt), or null. spinsOf is then
   * given the programmed biases.
   */
  inputOf?: (chain: number) => { cells: Int32Array; values: Float64Array } | null;
  /** chain c's initial spins (+-1, clamped cells at their values), given its biases */
  spinsOf: (chain: number, bias: Float64Array) => ArrayLike<number>;
  /** per-sweep observer of chosen (chain, sweep) pairs, called in chain order, sweeps in order */
  view?: { wants: (chain: number, sweep: number) => boolean; onSweep: (v: SweepView) => void };
  /** moments of every chain's spins after sweeps from, from + every, ... (every: default 1) */
  moments?: { from: number; every?: number; sums: MomentSums };
  /** after each batch */
  onBatchDone?: (done: number) => void;
  /** most bytes the per-sweep views of one batch may buffer (default 256 MiB) */
  viewBufferBytes?: number;
  /**
   * the chains start where the engine's chains stopped (engine.keep: a chain continues its slot's
   * last state), not from spinsOf; only for a run of at most the engine's capacity (one batch)
   */
  keep?: boolean;
  /** read every chain's final spins (default true) */
  finals?: boolean;
  /** with finals: chain c's final spins into finalsInto[c - first] (N entries) instead of new arrays */
  finalsInto?: Int8Array[];
  /**
   * Asked once per sweep (before it, for the whole batch) with where the run is; true stops the
   * run there: the views of the sweeps already run are delivered, then runStage throws Interrupted
   * (fabric/errors.ts) with the batch's first chain.
   */
  shouldStop?: (at: { stage: number; chain: number; sweep: number }) => boolean;
  /** false: nothing reads the stage's energy (training): the engines leave the divider terms out (LatchEngine.latch) */
  energy?: boolean;
}

export function latchKey(chip: Chip, stage: number, sweep: number): number {
  return streamKey(chip.config.seed, chip.config.chip_id, stage, sweep, Purpose.latch);
}

export function initKey(chip: Chip, chain: number, stage: number): number {
  return streamKey(chip.config.seed, chip.config.chip_id, chain, stage, Purpose.init);
}

/**
 * Initial spins of a chain: by the init mode (hinton: P(+1) = sigma(beta b_i), b in model units),
 * then the clamped cells at their values.
 */
export function initialSpins(
  N: number,
  bias: Float64Array,
  unit: number,
  clampIdx: ArrayLike<number>,
  clampVal: ArrayLike<number>,
  key: number,
  mode: InitMode,
  beta: number,
): Int8Array {
  const s = new Int8Array(N);
  for (let i = 0; i < N; i++) {
    let up: boolean;
    if (mode === 'up') up = true;
    else if (mode === 'down') up = false;
    else if (mode === 'random') up = uniform(key, i) < 0.5;
    else up = uniform(key, i) < hintonP(bias[i], unit, beta);
    s[i] = up ? 1 : -1;
  }
  for (let n = 0; n < clampIdx.length; n++) s[clampIdx[n]] = clampVal[n];
  return s;
}

/**
 * The Hinton initialisation's P(+1) of a cell with bias b (plane units): sigma(beta b unit). A cell
 * starts at +1 when uniform(key, i) < this (initialSpins); callers that initialise many chains
 * over the same biases compute it once per distinct bias (as hintonThreshold) and draw with
 * hintonSpin.
 */
export function hintonP(b: number, unit: number, beta: number): number {
  return sigmoid(beta * (b * unit));
}

/** hintonP scaled to the 32-bit draws: uniform(key, i) < hintonP exactly when draw32(key, i) < this */
export function hintonThreshold(b: number, unit: number, beta: number): number {
  return hintonP(b, unit, beta) * TWO_POW_32;
}

/** cell i's Hinton draw in the chain whose init key is `key`, given its hintonThreshold: +1 or -1, as initialSpins draws it */
export function hintonSpin(key: number, i: number, threshold: number): number {
  // +(bool) * 2 - 1: no branch on a coin flip
  return +(draw32(key, i) < threshold) * 2 - 1;
}

/** The events of one sweep of `chains` chains whose tallies per colour are t0, t1. */
export function addSweepEvents(ev: ExactEvents, chip: Chip, t0: Tally, t1: Tally, sweep: number, chains: number): void {
  const t = chip.timing;
  const seg0 = sweep === 0 ? 0 : t.phaseCycles;
  const int0 = seg0 + t.phaseCycles; // colour 0's latch interval (cycles); its first is its own phase only
  const int1 = 2 * t.phaseCycles;
  ev.add('cycles', t.sweepCycles * chains);
  ev.add('cell_cycles', t.sweepCycles * chip.fabric.N * chains);
  ev.add('latches', t0.latches + t1.latches);
  ev.add('toggles', t0.toggles + t1.toggles);
  ev.add('wire_q', t0.wireQ + t1.wireQ);
  ev.add('link_toggles', t0.linkToggles + t1.linkToggles);
  ev.add('divider_q_cycles', t0.dividerQ * int0 + t1.dividerQ * int1);
  ev.add('rng_latch_cycles', t0.latches * int0 + t1.latches * int1);
}

/**
 * One chain's events of one sweep, leakage over the sweep included, in SI units: what
 * ExactEvents gives for addSweepEvents(ev, chip, t0, t1, sweep, 1) and the sweep's leakage,
 * computed directly (a trace asks for it per chain and sweep). Every count is one integer below
 * 2^52, which ExactEvents holds as that number, so the values are the same bits; a count that is
 * not (never for one chain's sweep) takes the ExactEvents path.
 */
export function sweepEventsOf(chip: Chip, t0: Tally, t1: Tally, sweep: number): EventCounts {
  return sweepEventsInto(chip, t0, t1, sweep, {} as EventCounts);
}

/**
 * One chain's energy of one sweep: energyOf(sweepEventsOf(chip, t0, t1, sweep), chip.table)'s values
 * in ENERGY_REPORT_KEYS' order into out[at ..], through one scratch events record (a trace takes
 * one per chain and sweep).
 */
export function sweepEnergyInto(chip: Chip, t0: Tally, t1: Tally, sweep: number, out: Float64Array, at: number): void {
  if (sweepEventValues(chip, t0, t1, sweep, scratchValues)) energyIntoValues(scratchValues, chip.table, out, at);
  else energyInto(sweepEventsInto(chip, t0, t1, sweep, {} as EventCounts), chip.table, out, at);
}
/** EVENT_KEYS' positions of the events sweepEventValues writes */
const EV = Object.fromEntries(EVENT_KEYS.map((k, i) => [k, i])) as Record<keyof EventCounts, number>;
const scratchValues = new Float64Array(EVENT_KEYS.length);

/** sweepEventsOf's counts written into `out` (every key; returned) */
function sweepEventsInto(chip: Chip, t0: Tally, t1: Tally, sweep: number, out: EventCounts): EventCounts {
  const v = new Float64Array(EVENT_KEYS.length);
  if (sweepEventValues(chip, t0, t1, sweep, v)) {
    for (let i = 0; i < EVENT_KEYS.length; i++) out[EVENT_KEYS[i]] = v[i];
    return out;
  }
  const ev = new ExactEvents();
  addSweepEvents(ev, chip, t0, t1, sweep, 1);
  ev.add('leak_cell_cycles', chip.fabric.N * chip.timing.sweepCycles);
  return Object.assign(out, chipEvents(chip, ev));
}

/**
 * One chain's events of one sweep into `v` by position (EVENT_KEYS' order), computed directly;
 * false (v unspecified) when a count is not one integer below 2^52: the caller takes the
 * ExactEvents path.
 */
function sweepEventValues(chip: Chip, t0: Tally, t1: Tally, sweep: number, v: Float64Array): boolean {
  const t = chip.timing;
  const N = chip.fabric.N;
  const int0 = (sweep === 0 ? 0 : t.phaseCycles) + t.phaseCycles;
  const int1 = 2 * t.phaseCycles;
  const latches = t0.latches + t1.latches;
  const toggles = t0.toggles + t1.toggles;
  const wire = t0.wireQ + t1.wireQ;
  const links = t0.linkToggles + t1.linkToggles;
  const div = t0.dividerQ * int0 + t1.dividerQ * int1;
  const rng = t0.latches * int0 + t1.latches * int1;
  const leak = N * t.sweepCycles;
  const cellCycles = t.sweepCycles * N;
  if (!(
    exactCount(latches) &&
    exactCount(toggles) &&
    exactCount(wire) &&
    exactCount(links) &&
    exactCount(div) &&
    exactCount(rng) &&
    exactCount(leak) &&
    exactCount(cellCycles)
  ))
    return false;
  const hz = t.clockHz;
  v[EV.cycles] = t.sweepCycles;
  v[EV.cell_cycles] = cellCycles;
  v[EV.latches] = latches;
  v[EV.toggles] = toggles;
  v[EV.wire_toggle_pitches] = wire / WIRE_Q;
  v[EV.link_toggles] = links;
  v[EV.divider_s] = div / DIVIDER_Q / hz;
  v[EV.rng_cell_s] = rng / hz;
  v[EV.leak_cell_s] = leak / hz;
  v[EV.weight_bits_written] = 0;
  v[EV.cells_initialised] = 0;
  v[EV.cells_read] = 0;
  return true;
}

/** a count ExactEvents holds as this very number: an integer in [0, 2^52) */
const exactCount = (v: number) => Number.isInteger(v) && v >= 0 && v < 2 ** 52;

/** the numbers of a Tally, as a view buffers them */
const TALLY_FIELDS = 5;
function tallyInto(a: Float64Array, at: number, t: Tally): void {
  a[at] = t.latches;
  a[at + 1] = t.toggles;
  a[at + 2] = t.wireQ;
  a[at + 3] = t.linkToggles;
  a[at + 4] = t.dividerQ;
}
function tallyFrom(t: Tally, a: Float64Array, at: number): void {
  t.latches = a[at];
  t.toggles = a[at + 1];
  t.wireQ = a[at + 2];
  t.linkToggles = a[at + 3];
  t.dividerQ = a[at + 4];
}

/** the sweeps of a stage some chain of [first, first + n) wants to view, in order */
function viewSlots(plan: StagePlan, first: number, n: number): number[] {
  const out: number[] = [];
  if (!plan.view) return out;
  for (let s = 0; s < plan.sweeps; s++) {
    for (let k = 0; k < n; k++) {
      if (plan.view.wants(first + k, s)) {
        out.push(s);
        break;
      }
    }
  }
  return out;
}

/**
 * The views of a batch of chains, buffered and handed to an observer in chain order (a trace is
 * chain-major: every sweep of a chain, then the next chain), as runStage does after each batch and
 * `dtca bench`'s traced rows do: per viewed sweep (a slot) every chain's packed spins, read by the
 * engine straight into place, and its two colours' tallies, in flat arrays; replayed through one
 * SweepView rewritten per record.
 */
export class ViewBuffer {
  private packed = new Uint8Array(0);
  private tallies = new Float64Array(0);
  private readonly sweeps: number[] = [];
  private first = 0;
  private n = 0;
  private readonly bytes: number;
  private readonly one: Int8Array;
  private readonly spins: Float64Array;
  private readonly t0v = newTally();
  private readonly t1v = newTally();
  /** whether view.s holds the current record's spins */
  private readonly st = { unpacked: false };
  /** every chain wanted every sweep buffered since begin() or the last replay */
  private allWanted = true;
  /** a batch's record values (traceSweeps' sink.sweeps) */
  private fields = new Float64Array(0);
  private readonly energyScratch = new Float64Array(ENERGY_REPORT_KEYS.length);
  private readonly view: SweepView;

  constructor(
    private readonly chip: Chip,
    stage: number,
  ) {
    const N = chip.fabric.N;
    this.bytes = (N + 7) >> 3;
    this.one = new Int8Array(N);
    this.spins = new Float64Array(N + 1);
    const { t0v, t1v, spins, energyScratch, st } = this;
    const view: SweepView = {
      chain: 0,
      stage,
      sweep: 0,
      cycle: 0,
      // unpacked only for observers that read it
      get s() {
        if (!st.unpacked) {
          unpackSpins(view.packed, N, spins);
          st.unpacked = true;
        }
        return spins;
      },
      packed: new Uint8Array(0),
      tally: newTally(),
      get events() {
        return sweepEventsOf(chip, t0v, t1v, view.sweep);
      },
      energy: () => (sweepEnergyInto(chip, t0v, t1v, view.sweep, energyScratch, 0), energyScratch),
    };
    this.view = view;
  }

  /** A batch of n chains from `first`, with room for `slots` viewed sweeps; empties the buffer. */
  begin(first: number, n: number, slots: number): void {
    this.first = first;
    this.n = n;
    this.sweeps.length = 0;
    this.allWanted = true;
    if (this.packed.length < slots * n * this.bytes) this.packed = new Uint8Array(slots * n * this.bytes);
    if (this.tallies.length < slots * n * 2 * TALLY_FIELDS) this.tallies = new Float64Array(slots * n * 2 * TALLY_FIELDS);
  }

  /** sweeps buffered since begin() or the last replay */
  get size(): number {
    return this.sweeps.length;
  }

  /** After a sweep some chain wants: every chain's packed spins and the tallies of the chains that want it. */
  record(sweep: number, engine: LatchEngine, per0: Tally[], per1: Tally[], wants: (chain: number, sweep: number) => boolean): void {
    const { n, bytes } = this;
    const j = this.sweeps.length;
    if ((j + 1) * n * bytes > this.packed.length) throw new RangeError(`ViewBuffer: more than ${j} sweeps buffered`);
    this.sweeps.push(sweep);
    const at = j * n * bytes;
    if (engine.readPacked) engine.readPacked(this.packed.subarray(at, at + n * bytes), bytes);
    for (let k = 0; k < n; k++) {
      if (!wants(this.first + k, sweep)) {
        this.allWanted = false;
        continue;
      }
      if (!engine.readPacked) {
        engine.readSpins(k, this.one);
        this.packed.set(packStates(this.one, null, this.chip.fabric.N), at + k * bytes);
      }
      tallyInto(this.tallies, 2 * TALLY_FIELDS * (j * n + k), per0[k]);
      tallyInto(this.tallies, 2 * TALLY_FIELDS * (j * n + k) + TALLY_FIELDS, per1[k]);
    }
  }

  /**
   * The buffered views to `onSweep`, chain by chain, each chain's sweeps in order; empties the
   * buffer. A trace observer (traceSweeps) of a batch every chain of which wanted every sweep gets
   * the batch's records at once (its sink's sweeps()), with the same values.
   */
  replay(wants: (chain: number, sweep: number) => boolean, onSweep: (v: SweepView) => void): void {
    const { n, bytes, view, t0v, t1v } = this;
    const sweepCycles = this.chip.timing.sweepCycles;
    const batch = (onSweep as TraceObserver).traceBatch;
    if (batch?.sink.sweeps && this.allWanted && this.sweeps.length > 0) {
      const slots = this.sweeps.length;
      const per = BATCH_FIELDS + ENERGY_REPORT_KEYS.length;
      if (this.fields.length < n * slots * per) this.fields = new Float64Array(n * slots * per);
      const fields = this.fields;
      for (let k = 0; k < n; k++) {
        view.chain = this.first + k;
        for (let j = 0; j < slots; j++) {
          const sweep = this.sweeps[j];
          const r = j * n + k;
          tallyFrom(t0v, this.tallies, 2 * TALLY_FIELDS * r);
          tallyFrom(t1v, this.tallies, 2 * TALLY_FIELDS * r + TALLY_FIELDS);
          view.sweep = sweep;
          view.cycle = (sweep + 1) * sweepCycles;
          const cycle = batch.cycleOf(view);
          const o = (k * slots + j) * per;
          fields[o] = sweep;
          fields[o + 1] = cycle;
          fields[o + 2] = cycle / batch.clockHz;
          fields[o + 3] = t0v.toggles + t1v.toggles;
          sweepEnergyInto(this.chip, t0v, t1v, sweep, fields, o + BATCH_FIELDS);
        }
      }
      batch.sink.sweeps({ stage: batch.stage, first: this.first, n, slots, names: ENERGY_REPORT_KEYS, fields, packed: this.packed, bytes });
      this.sweeps.length = 0;
      return;
    }
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < this.sweeps.length; j++) {
        const sweep = this.sweeps[j];
        if (!wants(this.first + k, sweep)) continue;
        const r = j * n + k;
        tallyFrom(t0v, this.tallies, 2 * TALLY_FIELDS * r);
        tallyFrom(t1v, this.tallies, 2 * TALLY_FIELDS * r + TALLY_FIELDS);
        tallyFrom(view.tally, this.tallies, 2 * TALLY_FIELDS * r);
        addTally(view.tally, t1v);
        view.chain = this.first + k;
        view.sweep = sweep;
        view.cycle = (sweep + 1) * sweepCycles;
        view.packed = this.packed.subarray(r * bytes, (r + 1) * bytes);
        this.st.unpacked = false;
        onSweep(view);
      }
    }
    this.sweeps.length = 0;
  }
}

/**
 * An observer that writes every view it is given to `sink` as a trace sweep record of `stage`, at
 * the absolute chip cycle cycleOf(view) (time: cycle / clockHz), through one record object
 * rewritten per call (the sink reads it during the call and keeps nothing).
 */
export function traceSweeps(sink: TraceSink, stage: number, clockHz: number, cycleOf: (v: SweepView) => number): TraceObserver {
  let cur: SweepView | null = null;
  const energy: { names: readonly string[]; values: Float64Array; at: number } = { names: ENERGY_REPORT_KEYS, values: new Float64Array(0), at: 0 };
  const rec: SweepInfo = {
    chain: 0,
    stage,
    sweep: 0,
    cycle: 0,
    time_s: 0,
    get spins() {
      return cur!.s;
    },
    packed: undefined,
    toggles: 0,
    energy,
  };
  const observe: TraceObserver = (v: SweepView) => {
    const cycle = cycleOf(v);
    cur = v;
    rec.chain = v.chain;
    rec.sweep = v.sweep;
    rec.cycle = cycle;
    rec.time_s = cycle / clockHz;
    rec.packed = v.packed;
    rec.toggles = v.tally.toggles;
    energy.values = v.energy();
    sink.sweep(rec);
    cur = null;
  };
  observe.traceBatch = { sink, stage, clockHz, cycleOf };
  return observe;
}

/** traceSweeps' observer: what ViewBuffer needs to hand it a batch of records at once */
export type TraceObserver = ((v: SweepView) => void) & {
  traceBatch?: { sink: TraceSink; stage: number; clockHz: number; cycleOf: (v: SweepView) => number };
};

/**
 * Run chains [first, first + count) of one stage on a programmed engine, in batches of the
 * engine's capacity. Adds the sweeps' events to `ev`; returns every chain's final spins.
 */
export function runStage(chip: Chip, engine: LatchEngine, planes: Planes, first: number, count: number, plan: StagePlan, ev: ExactEvents): Int8Array[] {
  return runThrough((due) => stageSteps(chip, engine, planes, first, count, plan, ev, due));
}

/** runStage as work that may pause before a sweep when `due()` (fabric/pause.ts: runPaced gives the event loop a turn there). */
export function* stageSteps(
  chip: Chip,
  engine: LatchEngine,
  planes: Planes,
  first: number,
  count: number,
  plan: StagePlan,
  ev: ExactEvents,
  due: () => boolean,
): Steps<Int8Array[]> {
  const { N } = chip.fabric;
  const t = chip.timing;
  const finals: Int8Array[] = [];
  let batch = engine.capacity;
  if (plan.view) {
    // views are replayed in chain order after each batch, which buffers every chain's spins and
    // tallies of each sweep some chain wants (a slot): bound what one batch buffers
    const slots = viewSlots(plan, first, count).length;
    const per = slots * (((N + 7) >> 3) + 2 * 8 * TALLY_FIELDS);
    if (per > 0) batch = Math.max(1, Math.min(batch, Math.floor((plan.viewBufferBytes ?? 256 * 2 ** 20) / per)));
  }
  if (plan.keep && batch < count) throw new RangeError(`runStage: keep needs one batch (${count} chains, batches of ${batch})`);
  const t0 = newTally();
  const t1 = newTally();
  const views = plan.view ? new ViewBuffer(chip, plan.stage) : null;
  for (let b0 = first; b0 < first + count; b0 += batch) {
    const n = Math.min(batch, first + count - b0);
    engine.begin(b0, n);
    const beta0 = plan.betaAt(0);
    for (let k = 0; k < n; k++) {
      if (due()) yield; // loading many chains of a large grid takes seconds
      const own = plan.biasOf?.(b0 + k) ?? null;
      if (own) engine.setBias(k, own);
      else if (plan.inputOf) {
        const input = plan.inputOf(b0 + k);
        if (input) engine.setBiasAt(k, input.cells, input.values);
      }
      if (plan.keep) engine.keep(k, beta0);
      else engine.load(k, plan.spinsOf(b0 + k, own ?? planes.bias), beta0);
    }
    // the two half-sweeps' parameters, rewritten every sweep (engines read them during latch() only)
    const hs0: HalfSweep = { colour: 0, seg1Cycles: 0, ownCycles: t.phaseCycles, beta: beta0, key: 0 };
    const hs1: HalfSweep = { colour: 1, seg1Cycles: t.phaseCycles, ownCycles: t.phaseCycles, beta: beta0, key: 0 };
    const mFrom = plan.moments ? plan.moments.from : Infinity;
    const mEvery = plan.moments?.every ?? 1;
    const per0 = plan.view ? Array.from({ length: n }, newTally) : null;
    const per1 = plan.view ? Array.from({ length: n }, newTally) : null;
    if (views) views.begin(b0, n, viewSlots(plan, b0, n).length);
    for (let sweep = 0; sweep < plan.sweeps; sweep++) {
      if (due()) yield; // a signal handler on this thread runs here, before shouldStop is asked
      if (plan.shouldStop?.({ stage: plan.stage, chain: b0, sweep })) {
        if (views && plan.view) views.replay(plan.view.wants, plan.view.onSweep);
        throw new Interrupted({ stage: plan.stage, chain: b0, sweep });
      }
      const beta = plan.betaAt(sweep);
      const key = latchKey(chip, plan.stage, sweep);
      resetTally(t0);
      resetTally(t1);
      // per-chain tallies only in sweeps some chain's view wants
      let viewed = false;
      if (plan.view) for (let k = 0; k < n && !viewed; k++) viewed = plan.view.wants(b0 + k, sweep);
      if (viewed && per0 && per1) for (let k = 0; k < n; k++) (resetTally(per0[k]), resetTally(per1[k]));
      // colour 0's first interval is its own phase only; afterwards every interval is a whole sweep
      hs0.seg1Cycles = sweep === 0 ? 0 : t.phaseCycles;
      hs0.beta = hs1.beta = beta;
      hs0.key = hs1.key = key;
      engine.latch(hs0, t0, viewed ? per0 : null, plan.energy);
      engine.latch(hs1, t1, viewed ? per1 : null, plan.energy);
      addSweepEvents(ev, chip, t0, t1, sweep, n);
      if (sweep >= mFrom && (sweep - mFrom) % mEvery === 0) engine.accumulateMoments(plan.moments!.sums);
      if (viewed && views && plan.view && per0 && per1) views.record(sweep, engine, per0, per1, plan.view.wants);
    }
    if (views && plan.view) views.replay(plan.view.wants, plan.view.onSweep);
    if (plan.finals !== false) {
      for (let k = 0; k < n; k++) {
        const f = plan.finalsInto ? plan.finalsInto[b0 + k - first] : new Int8Array(N);
        engine.readSpins(k, f);
        finals.push(f);
      }
    }
    plan.onBatchDone?.(b0 + n - first);
  }
  return finals;
}

// ---------------------------------------------------------------------------------------------
// Boltzmann-machine runs

/** beta: a constant, or a linear ramp from `start` at the first sweep to `end` at the last */
export type BetaSpec = number | { start: number; end: number };

/** beta at sweep `sweep` of `total` (0-based): the one place a ramp is interpolated */
export function betaAt(b: BetaSpec, sweep: number, total: number): number {
  if (typeof b === 'number') return b;
  return total <= 1 ? b.end : b.start + ((b.end - b.start) * sweep) / (total - 1);
}

/**
 * The knobs runModel and generate share, checked as the command line's flags are (a library caller
 * has no yargs in front): threads and batch sizes are integers >= 1, the engine one of
 * ENGINE_CHOICES, beta a positive number or ramp.
 */
export function checkRunKnobs(o: {
  workers?: number;
  tiles?: number;
  batch?: number;
  engine?: unknown;
  beta?: unknown;
  shouldStop?: unknown;
  stopped?: unknown;
}): void {
  checkFunctions(o, ['shouldStop']);
  const st = o.stopped;
  if (st !== undefined && !(st !== null && typeof st === 'object' && typeof (st as { then?: unknown }).then === 'function')) {
    throw new OptionError('stopped', shown(st), 'must be a promise');
  }
  for (const k of ['workers', 'tiles', 'batch'] as const) wholeOption(k, o[k], 1);
  if (o.engine !== undefined && !ENGINE_CHOICES.includes(o.engine as EngineChoice)) {
    throw new OptionError('engine', o.engine, `must be one of ${ENGINE_CHOICES.join(', ')}`);
  }
  const b = o.beta;
  const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;
  if (
    b !== undefined &&
    typeof b !== 'function' &&
    !positive(b) &&
    !(typeof b === 'object' && b !== null && positive((b as { start?: unknown }).start) && positive((b as { end?: unknown }).end))
  ) {
    throw new OptionError('beta', b, 'must be a positive number or { start, end } of positive numbers', typeof b !== 'object');
  }
}

/** callback options: a function or nothing (a JavaScript caller's truthy non-function would throw a TypeError mid-run) */
export function checkFunctions(o: object, keys: readonly string[]): void {
  for (const k of keys) {
    const v = (o as Record<string, unknown>)[k];
    if (v !== undefined && typeof v !== 'function') throw new OptionError(k, shown(v), 'must be a function');
  }
}

/** RunOptions.tileModel: whole bands and a whole lag (a NaN or negative lag would otherwise pass as no lag) */
function checkTileModel(m: unknown): void {
  if (m === undefined) return;
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new OptionError('tileModel', m, 'must be an object { bands, lag }');
  const { bands, lag } = m as { bands?: unknown; lag?: unknown };
  wholeOption('tileModel.bands', bands, 1);
  wholeOption('tileModel.lag', lag, 0);
}

/** How a caller stops a run (runModel's and generate's options; the CLI answers from a signal flag, cli/signals.ts). */
export interface StopOptions {
  /**
   * Asked once per sweep (before it) with where the run is: true stops the run there by throwing
   * Interrupted (fabric/errors.ts).
   */
  shouldStop?: (at: { stage: number; chain: number; sweep: number }) => boolean;
  /** settles with a reason when the run must stop: chains or images on worker threads (which do not ask shouldStop) then end at once with Interrupted */
  stopped?: Promise<string>;
}

export interface RunOptions extends StopOptions {
  chains: number;
  sweeps: number;
  warmup: number;
  stage?: number;
  init?: InitMode;
  /** constant beta (default: the model's), a ramp over all warm-up and measured sweeps, or a schedule */
  beta?: BetaSpec | ((sweep: number, total: number) => number);
  moments?: boolean;
  workers?: number;
  /**
   * one chain split by bands of rows over this many threads (cells/wasm/tiles.ts; bit-identical to
   * one). Default: `workers` when the run has one chain (the threads have no other chain to run).
   */
  tiles?: number;
  /** the split chain's bands and their boundary lag in sweeps (a model of chips whose links deliver late; cells/wasm/tiles.ts) */
  tileModel?: Partial<TileModel>;
  engine?: EngineChoice;
  /** most chains one engine holds at a time (default: all of a thread's chains) */
  batch?: number;
  onSweep?: (v: SweepView) => void;
  /** progress callback: chains finished so far */
  onChainDone?: (done: number, total: number) => void;
}

export interface RunResult {
  chains: number;
  sweeps: number;
  warmup: number;
  events: EventCounts;
  energy: EnergyReport;
  cycles: number;
  simTimeS: number;
  cellUpdates: number;
  wallS: number;
  updatesPerNs: number;
  moments: { mean_spin: number[]; edge_corr: number[] } | null;
  finals: Int8Array[];
  program: { bits: number; clipped: number; cycles: number };
  engine: EngineReport;
}

function betaAtFn(opts: RunOptions, model: Model): (sweep: number) => number {
  const b = opts.beta;
  if (b === undefined) return () => model.beta;
  if (typeof b === 'function') return (sweep) => b(sweep, opts.warmup + opts.sweeps);
  return (sweep) => betaAt(b, sweep, opts.warmup + opts.sweeps);
}

/** What a range of chains of a Boltzmann-machine run gives back (also across threads). */
export interface ChainsPart {
  events: ReturnType<ExactEvents['toJSON']>;
  finals: Int8Array[];
  spin: Float64Array | null;
  pair: Float64Array | null;
  samples: number;
  engine: EngineReport;
}

/** Threads to split one chain over (undefined: none): opts.tiles, else the workers of a one-chain run. */
export function runTiles(opts: { tiles?: number; workers?: number }, chains: number): number | undefined {
  if (chains !== 1) return undefined;
  if (opts.tiles !== undefined) return opts.tiles;
  return (opts.workers ?? 1) > 1 ? opts.workers : undefined;
}

/** Run chains [from, to) in this thread. */
export function runChainRange(chip: Chip, model: Model, opts: RunOptions, from: number, to: number): ChainsPart {
  return runThrough((due) => chainRangeSteps(chip, model, opts, from, to, due));
}

/** runChainRange as work that may pause between sweeps (fabric/pause.ts). */
function* chainRangeSteps(chip: Chip, model: Model, opts: RunOptions, from: number, to: number, due: () => boolean): Steps<ChainsPart> {
  const stage = opts.stage ?? 0;
  const prog = programStage(chip, model, stage);
  const st0 = model.stages[stage];
  const N = chip.fabric.N;
  const chains = Math.min(opts.batch ?? Infinity, to - from);
  const sel = createEngine(chip.spec, {
    choice: opts.engine ?? 'auto',
    chains,
    weightBits: chip.config.cell.weight_bits,
    tiles: runTiles(opts, to - from),
    tileModel: opts.tileModel,
  });
  const engine = sel.engine;
  try {
    if (due()) yield;
    engine.program(prog.planes);
    const betaAt = betaAtFn(opts, model);
    const ev = new ExactEvents();
    const sums = opts.moments ? newMomentSums(chip.spec.layout) : null;
    const finals = yield* stageSteps(
      chip,
      engine,
      prog.planes,
      from,
      to - from,
      {
        stage,
        sweeps: opts.warmup + opts.sweeps,
        betaAt,
        spinsOf: (c, bias) => initialSpins(N, bias, prog.planes.unit, st0.clampIdx, st0.clampVal, initKey(chip, c, stage), opts.init ?? 'hinton', betaAt(0)),
        view: opts.onSweep ? { wants: () => true, onSweep: opts.onSweep } : undefined,
        moments: sums ? { from: opts.warmup, sums } : undefined,
        onBatchDone: (done) => opts.onChainDone?.(from + done, opts.chains),
        shouldStop: opts.shouldStop,
      },
      ev,
      due,
    );
    let active = 0;
    for (let i = 0; i < N; i++) if (!prog.planes.clamp[i]) active++;
    ev.add('cells_initialised', active * (to - from));
    return { events: ev.toJSON(), finals, spin: sums?.spin ?? null, pair: sums?.pair ?? null, samples: sums?.samples ?? 0, engine: engineReport(sel) };
  } finally {
    engine.dispose();
  }
}

export interface WorkerJob {
  config: ResolvedConfig;
  model: Model;
  opts: Omit<RunOptions, 'onSweep' | 'onChainDone' | 'beta' | 'workers' | 'shouldStop' | 'stopped'> & { beta?: BetaSpec };
  from: number;
  to: number;
}

/** Moments of model edges from wire sums indexed (colour-0 cell, direction). */
function edgeMoments(chip: Chip, model: Model, stage: number, spin: Float64Array, pair: Float64Array, samples: number) {
  const f = chip.fabric;
  const st = model.stages[stage];
  const pos0 = new Int32Array(f.N).fill(-1);
  f.colourCells[0].forEach((i, n) => (pos0[i] = n));
  const corr: number[] = new Array(st.ei.length);
  for (let e = 0; e < st.ei.length; e++) {
    let i = st.ei[e];
    let j = st.ej[e];
    if (f.colour[i] !== 0) [i, j] = [j, i];
    corr[e] = pair[pos0[i] * f.D + wireDirection(f, i, j)] / samples;
  }
  return { mean_spin: Array.from(spin, (v) => v / samples), edge_corr: corr };
}

/** Run C chains of a model on the chip and gather stats, energy and moments. */
export async function runModel(chip: Chip, model: Model, opts: RunOptions): Promise<RunResult> {
  const t0 = performance.now();
  const C = opts.chains;
  if (!Number.isInteger(C) || C < 1) throw new OptionError('chains', C, 'must be an integer >= 1');
  if (!Number.isInteger(opts.sweeps) || opts.sweeps < 1) throw new OptionError('sweeps', opts.sweeps, 'must be an integer >= 1');
  if (!Number.isInteger(opts.warmup) || opts.warmup < 0) throw new OptionError('warmup', opts.warmup, 'must be an integer >= 0');
  const stage = opts.stage ?? 0;
  if (!Number.isInteger(stage) || stage < 0 || stage >= model.stages.length) {
    throw new OptionError('stage', stage, `the model has stages 0..${model.stages.length - 1}`);
  }
  checkRunKnobs(opts);
  if (opts.init !== undefined && !INIT_MODES.includes(opts.init)) throw new OptionError('init', opts.init, `must be one of ${INIT_MODES.join(', ')}`);
  checkTileModel(opts.tileModel);
  // a truthy 'no' or 0 would otherwise be taken as asked for (or not)
  if (opts.moments !== undefined && typeof opts.moments !== 'boolean') throw new OptionError('moments', shown(opts.moments), 'must be true or false');
  checkFunctions(opts, ['onSweep', 'onChainDone']);
  const prog = programStage(chip, model, stage); // validates the model against the fabric up front
  const workers = Math.max(1, Math.min(opts.workers ?? 1, C));
  let parts: ChainsPart[];
  if (workers > 1 && !opts.onSweep && typeof opts.beta !== 'function') {
    let done = 0;
    const jobOpts: WorkerJob['opts'] = {
      chains: C,
      sweeps: opts.sweeps,
      warmup: opts.warmup,
      stage,
      init: opts.init,
      moments: opts.moments,
      beta: opts.beta,
      engine: opts.engine,
      batch: opts.batch,
    };
    parts = await overRanges<ChainsPart>('chains', C, workers, (from, to): WorkerJob => ({ config: chip.config, model, opts: jobOpts, from, to }), {
      onDone: (n) => opts.onChainDone?.((done += n), C),
      stopped: opts.stopped,
    });
  } else {
    // in this thread, giving the event loop a turn every 50 ms (a signal handler sets what shouldStop reads)
    parts = [await runPaced((due) => chainRangeSteps(chip, model, opts, 0, C, due))];
  }
  const { N } = chip.fabric;
  const io = chip.config.io;
  const ev = new ExactEvents();
  for (const p of parts) ev.addAll(ExactEvents.fromJSON(p.events));
  const programCycles = Math.ceil(prog.bits / io.program_bits_per_cycle);
  const readoutCycles = Math.ceil(N / io.readout_bits_per_cycle);
  const initCycles = 1;
  const sweepCycles = Number(ev.get('cycles'));
  const cycles = programCycles + C * (initCycles + readoutCycles) + sweepCycles;
  ev.add('weight_bits_written', prog.bits);
  ev.add('cells_read', C * N);
  ev.add('leak_cell_cycles', N * cycles);
  const events = chipEvents(chip, ev);
  const simTimeS = cycles / chip.timing.clockHz;
  const energy = energyOf(events, chip.table);
  let moments: RunResult['moments'] = null;
  if (opts.moments) {
    const spin = new Float64Array(N);
    const pair = new Float64Array(chip.fabric.colourCells[0].length * chip.fabric.D);
    let samples = 0;
    for (const p of parts) {
      for (let i = 0; i < N; i++) spin[i] += p.spin![i];
      for (let k = 0; k < pair.length; k++) pair[k] += p.pair![k];
      samples += p.samples;
    }
    moments = edgeMoments(chip, model, stage, spin, pair, samples);
  }
  const wallS = (performance.now() - t0) / 1000;
  return {
    chains: C,
    sweeps: opts.sweeps,
    warmup: opts.warmup,
    events,
    energy,
    cycles,
    simTimeS,
    cellUpdates: events.latches,
    wallS,
    updatesPerNs: events.latches / (wallS * 1e9),
    moments,
    finals: parts.flatMap((p) => p.finals),
    program: { bits: prog.bits, clipped: prog.clipped, cycles: programCycles },
    engine: mergeEngineReports(parts.map((p) => p.engine)),
  };
}

/**
 * One report for the engines of several threads: every engine a thread used (in thread order,
 * once each: a thread given one chain of a many-chain run takes the single-chain engine), every
 * engine a thread passed over (once per reason), the stats summed (capacity: the largest).
 */
export function mergeEngineReports(rs: EngineReport[]): EngineReport {
  const used = [...new Set(rs.map((r) => r.used))].join('+');
  const refused: EngineReport['refused'] = [];
  for (const r of rs) for (const x of r.refused) if (!refused.some((y) => y.engine === x.engine && y.reason === x.reason)) refused.push(x);
  const out: EngineReport = { requested: rs[0].requested, used, refused, stats: { ...rs[0].stats, kind: used } };
  for (const r of rs.slice(1)) {
    for (const k of ['latch_calls', 'cell_updates', 'exact_decisions', 'compiles', 'memory_bytes'] as const) out.stats[k] += r.stats[k];
    out.stats.capacity = Math.max(out.stats.capacity, r.stats.capacity);
  }
  return out;
}

/** Convenience for tests and the worker: config -> chip -> run. */
export async function runConfig(config: ResolvedConfig, model: Model, opts: RunOptions): Promise<RunResult> {
  return runModel(buildChip(config), model, opts);
}

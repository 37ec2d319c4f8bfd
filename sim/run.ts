/**
 * Running Boltzmann-machine chains on the chip: the clock (integer cycles, colour phases, sweeps),
 * initialisation, observers, moments, event counting, and the spread of chains over worker
 * threads. Every random draw is a function of (seed, chip, chain, stage, sweep, cell), and chain
 * results are merged in chain order, so outputs are byte-identical for any worker count.
 */
import { overWorkers } from './workers.js';
import { streamKey, uniform, Purpose } from '../rng/counter.js';
import { sigmoid } from '../rng/telegraph.js';
import { latchColour, newState, field, spinsForReading, type ChainState, type Tally, type Planes } from '../cells/kernel.js';
import { zeroEvents, addEvents, type EventCounts } from '../power/events.js';
import { energyOf, type EnergyReport } from '../power/energy.js';
import { buildChip, programStage, type Chip, type Program } from './chip.js';
import type { Model } from './model.js';
import type { ResolvedConfig } from './config.js';
import { UserError, Interrupted } from '../fabric/errors.js';

export type InitMode = 'hinton' | 'random' | 'up' | 'down';
export const INIT_MODES: InitMode[] = ['hinton', 'random', 'up', 'down'];

export interface SweepView {
  chain: number;
  stage: number;
  sweep: number;
  /** chip cycle at the end of this sweep, counted from the chain's start */
  cycle: number;
  /** spins +-1 (length N+1; the last entry is the pad); read only */
  s: Float64Array;
  /** events of this sweep */
  tally: Tally;
}

export interface RunOptions {
  chains: number;
  sweeps: number;
  warmup: number;
  stage?: number;
  init?: InitMode;
  /** constant beta (default: the model's), or a schedule over sweeps */
  beta?: number | ((sweep: number, total: number) => number);
  moments?: boolean;
  workers?: number;
  onSweep?: (v: SweepView) => void;
  /** progress callback: chains finished so far */
  onChainDone?: (done: number, total: number) => void;
  /**
   * Asked once per sweep (before it) with where the run is: true stops the run there by throwing
   * Interrupted (fabric/errors.ts). The CLI answers from a signal flag (sim/signals.ts).
   */
  shouldStop?: (at: { stage: number; chain: number; sweep: number }) => boolean;
}

export interface ChainResult {
  chain: number;
  events: EventCounts;
  sumS: Float64Array | null;
  sumSS: Float64Array | null;
  /** final spins as +-1 */
  final: Int8Array;
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
}

function betaAt(opts: RunOptions, model: Model, sweep: number): number {
  const b = opts.beta;
  if (b === undefined) return model.beta;
  if (typeof b === 'number') return b;
  return b(sweep, opts.warmup + opts.sweeps);
}

/**
 * Initialise a chain: spins by the init mode (hinton: P(+1) = sigma(beta b_i) with the planes'
 * bias), clamped cells set, every bias node settled to its field at t = 0.
 */
export function initChain(
  chip: Chip,
  pl: Planes,
  clampIdx: ArrayLike<number>,
  clampVal: ArrayLike<number>,
  key: number,
  mode: InitMode,
  beta: number,
): ChainState {
  const { N } = chip.fabric;
  const st = newState(N);
  for (let i = 0; i < N; i++) {
    let up: boolean;
    if (mode === 'up') up = true;
    else if (mode === 'down') up = false;
    else if (mode === 'random') up = uniform(key, i) < 0.5;
    else up = uniform(key, i) < sigmoid(beta * pl.bias[i]);
    st.s[i] = up ? 1 : -1;
  }
  for (let n = 0; n < clampIdx.length; n++) st.s[clampIdx[n]] = clampVal[n];
  st.s[N] = 0;
  st.sPrev.set(st.s);
  for (let i = 0; i < N; i++) {
    const h = 2 * beta * field(chip.kc, pl, st.s, i);
    st.node[i] = h;
    st.target[i] = h;
  }
  return st;
}

export function newTally(): Tally {
  return { latches: 0, toggles: 0, wirePitches: 0, linkToggles: 0, divider: 0 };
}

/**
 * One sweep on the clock: colour 0 latches at the end of phase A, colour 1 at the end of phase B.
 * `tally` is reset to this sweep's counts; `ev` accumulates the run's events.
 */
export function sweepOnce(chip: Chip, pl: Planes, st: ChainState, sweep: number, beta: number, key: number, tally: Tally, ev: EventCounts): void {
  const t = chip.timing;
  const N = chip.fabric.N;
  const [cells0, cells1] = chip.fabric.colourCells;
  tally.latches = tally.toggles = tally.wirePitches = tally.linkToggles = tally.divider = 0;
  // colour 0's first interval is its own phase only; afterwards every interval is a whole sweep
  const seg0 = sweep === 0 ? 0 : t.phaseCycles;
  latchColour(chip.kc, pl, st, { cells: cells0, seg1Cycles: seg0, ownCycles: t.phaseCycles, beta, key }, tally);
  const lat0 = tally.latches;
  const div0 = tally.divider;
  latchColour(chip.kc, pl, st, { cells: cells1, seg1Cycles: t.phaseCycles, ownCycles: t.phaseCycles, beta, key }, tally);
  const int0 = (seg0 + t.phaseCycles) / t.clockHz;
  const int1 = (2 * t.phaseCycles) / t.clockHz;
  ev.cycles += t.sweepCycles;
  ev.cell_cycles += t.sweepCycles * N;
  ev.latches += tally.latches;
  ev.toggles += tally.toggles;
  ev.wire_toggle_pitches += tally.wirePitches;
  ev.link_toggles += tally.linkToggles;
  ev.divider_s += div0 * int0 + (tally.divider - div0) * int1;
  ev.rng_cell_s += lat0 * int0 + (tally.latches - lat0) * int1;
}

export function latchKey(chip: Chip, chain: number, stage: number, sweep: number): number {
  return streamKey(chip.config.seed, chip.config.chip_id, chain, stage, sweep, Purpose.latch);
}

export function initKey(chip: Chip, chain: number, stage: number): number {
  return streamKey(chip.config.seed, chip.config.chip_id, chain, stage, Purpose.init);
}

/** Run chains [from, to) in this thread (with the stage already programmed, or programming it). */
export function runChainRange(chip: Chip, model: Model, opts: RunOptions, from: number, to: number, programmed?: Program): ChainResult[] {
  const stage = opts.stage ?? 0;
  const prog = programmed ?? programStage(chip, model, stage);
  const { N } = chip.fabric;
  const st0 = model.stages[stage];
  const E = st0.ei.length;
  const t = chip.timing;
  const total = opts.warmup + opts.sweeps;
  const out: ChainResult[] = [];
  let active = 0;
  for (let i = 0; i < N; i++) if (!prog.planes.clamp[i]) active++;
  for (let chain = from; chain < to; chain++) {
    const ev = zeroEvents();
    const sumS = opts.moments ? new Float64Array(N) : null;
    const sumSS = opts.moments ? new Float64Array(E) : null;
    const st = initChain(chip, prog.planes, st0.clampIdx, st0.clampVal, initKey(chip, chain, stage), opts.init ?? 'hinton', betaAt(opts, model, 0));
    ev.cells_initialised += active;
    const tally = newTally();
    for (let sweep = 0; sweep < total; sweep++) {
      if (opts.shouldStop?.({ stage, chain, sweep })) throw new Interrupted({ stage, chain, sweep });
      const beta = betaAt(opts, model, sweep);
      sweepOnce(chip, prog.planes, st, sweep, beta, latchKey(chip, chain, stage, sweep), tally, ev);
      if (sumS && sumSS && sweep >= opts.warmup) {
        const s = spinsForReading(st);
        for (let i = 0; i < N; i++) sumS[i] += s[i];
        for (let e = 0; e < E; e++) sumSS[e] += s[st0.ei[e]] * s[st0.ej[e]];
      }
      if (opts.onSweep) opts.onSweep({ chain, stage, sweep, cycle: (sweep + 1) * t.sweepCycles, s: spinsForReading(st), tally });
    }
    const final = new Int8Array(N);
    const sEnd = spinsForReading(st);
    for (let i = 0; i < N; i++) final[i] = sEnd[i];
    out.push({ chain, events: ev, sumS, sumSS, final });
    opts.onChainDone?.(chain + 1, opts.chains);
  }
  return out;
}

export interface WorkerJob {
  config: ResolvedConfig;
  model: Model;
  opts: Omit<RunOptions, 'onSweep' | 'onChainDone' | 'beta' | 'workers' | 'shouldStop'> & { beta?: number };
  from: number;
  to: number;
}

/** Run C chains of a model on the chip and gather stats, energy and moments. */
export async function runModel(chip: Chip, model: Model, opts: RunOptions): Promise<RunResult> {
  const t0 = performance.now();
  const C = opts.chains;
  if (!Number.isInteger(C) || C < 1) throw new UserError(`--chains ${C}: must be an integer >= 1`);
  if (!Number.isInteger(opts.sweeps) || opts.sweeps < 1) throw new UserError(`--sweeps ${opts.sweeps}: must be an integer >= 1`);
  if (!Number.isInteger(opts.warmup) || opts.warmup < 0) throw new UserError(`--warmup ${opts.warmup}: must be an integer >= 0`);
  const stage = opts.stage ?? 0;
  if (!Number.isInteger(stage) || stage < 0 || stage >= model.stages.length) {
    throw new UserError(`--stage ${stage}: the model has stages 0..${model.stages.length - 1}`);
  }
  const prog = programStage(chip, model, stage); // validates the model against the fabric up front
  const workers = Math.max(1, Math.min(opts.workers ?? 1, C));
  let results: ChainResult[];
  if (workers > 1 && !opts.onSweep && typeof opts.beta !== 'function') {
    let done = 0;
    const jobOpts: WorkerJob['opts'] = { chains: C, sweeps: opts.sweeps, warmup: opts.warmup, stage, init: opts.init, moments: opts.moments, beta: opts.beta };
    const parts = await overWorkers<WorkerJob, ChainResult[]>(
      C,
      workers,
      (from, to) => ({ config: chip.config, model, opts: jobOpts, from, to }),
      (n) => opts.onChainDone?.((done += n), C),
    );
    results = parts.flat();
  } else {
    results = runChainRange(chip, model, opts, 0, C, prog);
  }
  results.sort((a, b) => a.chain - b.chain);
  const { N } = chip.fabric;
  const io = chip.config.io;
  const ev = zeroEvents();
  for (const r of results) addEvents(ev, r.events);
  const programCycles = Math.ceil(prog.bits / io.program_bits_per_cycle);
  const readoutCycles = Math.ceil(N / io.readout_bits_per_cycle);
  const initCycles = 1;
  const cycles = programCycles + C * (initCycles + readoutCycles) + ev.cycles;
  const simTimeS = cycles / chip.timing.clockHz;
  ev.weight_bits_written += prog.bits;
  ev.cells_read += C * N;
  ev.leak_cell_s += N * simTimeS;
  const energy = energyOf(ev, chip.table);
  let moments: RunResult['moments'] = null;
  if (opts.moments) {
    const E = model.stages[stage].ei.length;
    const mS = new Float64Array(N);
    const mSS = new Float64Array(E);
    for (const r of results) {
      for (let i = 0; i < N; i++) mS[i] += r.sumS![i];
      for (let e = 0; e < E; e++) mSS[e] += r.sumSS![e];
    }
    const n = C * opts.sweeps;
    moments = { mean_spin: Array.from(mS, (v) => v / n), edge_corr: Array.from(mSS, (v) => v / n) };
  }
  const wallS = (performance.now() - t0) / 1000;
  return {
    chains: C,
    sweeps: opts.sweeps,
    warmup: opts.warmup,
    events: ev,
    energy,
    cycles,
    simTimeS,
    cellUpdates: ev.latches,
    wallS,
    updatesPerNs: ev.latches / (wallS * 1e9),
    moments,
    finals: results.map((r) => r.final),
    program: { bits: prog.bits, clipped: prog.clipped, cycles: programCycles },
  };
}

/** Convenience for tests and the worker: config -> chip -> run. */
export async function runConfig(config: ResolvedConfig, model: Model, opts: RunOptions): Promise<RunResult> {
  return runModel(buildChip(config), model, opts);
}

/**
 * What a run will need, estimated before it starts: memory (refused with the estimate when it
 * cannot fit in the machine's memory; --force tries anyway), wall time (logged; a long run is
 * announced), the trace's size on disk, and the limits of the counters (a run whose cycles or
 * cell updates would pass 2^53, or whose sweep and chain indices would pass 2^31 - 1 (the trace's
 * and the .npy export's int32 columns), is refused: those counts would no longer be exact).
 *
 * One function, estimateRun(), takes the run's shape (cells, wire directions, chains, workers,
 * stages held, model edges, trace records) and applies the per-structure byte counts below. They
 * are named constants so an engine change updates them in one place. Measured with /usr/bin/time
 * (peak RSS) on Node 20.20 with the latch engines of cells/ (engine auto), the cycle-accurate
 * physics, G12 (D = 12), 5 sweeps: the random Boltzmann machine with 1 chain took 302 MB at
 * L = 512 and 827 MB at L = 1024, with 64 chains at L = 512 798 MB, with 256 chains at L = 256
 * 673 MB (about 30 bytes per cell for each chain an engine holds); the random-weight DTM (8 stages,
 * programmed one at a time) with 1 image 558 MB at L = 512 and 1.72 GB at L = 1024, with 32 images
 * at L = 256 335 MB. With the constants below the estimates are 323, 889, 851, 716, 558, 1,829 and
 * 305 MB: from 9 % under to 8 % over, which the margin in MEMORY_MARGIN covers.
 */
import { availableParallelism, freemem, totalmem } from 'node:os';
import { UserError } from '../fabric/errors.js';
import { resolveRules, shown } from '../fabric/rules.js';
import type { ResolvedConfig } from './config.js';
import { MAX_SUBSTEPS } from '../cells/engine.js';

/** Bytes per structure. */
export const BYTES = {
  /** the process before any chip: Node, V8, the loaded modules */
  base: 128 * 2 ** 20,
  /** per cell: colour, tile, wire length, colour lists, fabrication (gain, offset), bias and clamp planes, the engine's state */
  chipPerCell: 140,
  /** per cell and wire direction: neighbour index, crossing flag, and the kernel's weight planes */
  chipPerCellDirection: 25,
  /** per model edge and stage held: i, j (int32) and w (float64), and the stage's coupling lists */
  modelPerEdge: 20,
  /** per cell and stage held: the stage's biases (float64) */
  modelPerCellStage: 8,
  /** per cell and direction: the weight planes of the stage programmed (one stage at a time) */
  programPerCellDirectionStage: 10,
  /** per cell and chain (or image) kept until the end: final spins, moments, visible outputs */
  perChainCell: 2,
  /** per cell and chain (or image) an engine holds at once (--batch): spins, bias-node and RNG state */
  enginePerChainCell: 30,
  /** a worker thread before its chip: its own V8 heap and modules */
  workerBase: 40 * 2 ** 20,
  /** the trace writer's buffer */
  traceBuffer: 2 ** 20,
  /**
   * per trace record beyond its states: fields, energy by component, CRC. Measured 7 December: the
   * default `dtca run --ideal --trace` wrote 18,307,559 bytes for 20,000 records of 613 bytes of
   * states, 302 bytes beside each (260 here had the estimate 4.5 % low)
   */
  traceRecordOverhead: 302,
};

/**
 * CPU time per cell update and per cell of set-up, one thread. Which engine runs a thread's chains
 * sets the rate: the many-chain engine (chains in SIMD lanes: quantised weights and at least two
 * chains a thread), the one-chain engine, or the reference engine (asked for, or the only one that
 * takes a latch interval beyond MAX_SUBSTEPS analog substeps). The cycle physics replays each
 * cell's analog history in clock.analog_substeps steps per cycle over two phases of
 * clock.phase_cycles; the WebAssembly kernels' fast path makes that nearly free of the substep
 * count (7.2-8.0 ns per update from 2 to 32 substep-cycles at 32 images), the reference engine pays
 * per substep. Measured 5 December 2026 with scripts/time-constants.ts (DTM generation on the
 * paper chip, shipped model, medians of 3 repeats of CPU time, load average 4-5 on the 2-core
 * machine): many-chain 3.1 ns ideal (8-bit weights), 7.0-8.0 cycle; one-chain 15.5 ideal
 * (--ideal keeps exact weights, so it runs one-chain), 26-33 cycle; the reference engine about
 * 80 ns per substep-cycle (phase 1000 x 60 substeps, L = 12). On a quiet machine wall time is
 * this CPU time divided by the threads at work.
 */
export const TIME = {
  manyIdealNsPerUpdate: 3,
  manyCycleNsPerUpdate: 7.5,
  oneIdealNsPerUpdate: 15,
  oneCycleNsPerUpdate: 30,
  /** the reference engine: ns per cell update (ideal), and per analog substep-cycle of a cycle-accurate update */
  refIdealNsPerUpdate: 60,
  refNsPerSubstep: 80,
  /** set-up per cell (fabric, fabrication) and per cell and stage (model, programming) */
  setupNsPerCell: 1000,
  setupNsPerCellStage: 7000,
};

/** The estimate is compared with memory after this margin for what it does not count. */
export const MEMORY_MARGIN = 1.1;

/** Counters and indices stay exact below these. */
export const MAX_EXACT = Number.MAX_SAFE_INTEGER; // 2^53 - 1: cycles, cell updates, toggles
export const MAX_INDEX = 2 ** 31 - 1; // sweep, chain, stage indices: int32 in traces and .npy exports

/** Worker threads: at most this many per core (more only costs memory and start-up). */
export const WORKERS_PER_CORE = 4;

export function maxWorkers(): number {
  return WORKERS_PER_CORE * Math.max(1, availableParallelism());
}

/**
 * A sweep's jobs at most: each is a worker thread with its own heap, so more than this is a typo
 * (--jobs 1e6), not a machine. The same bound on every machine, so a plan file or options.json
 * written on one is read alike on another.
 */
export const MAX_JOBS = 1024;

/**
 * A sweep's jobs (points or stages run at once), wherever they come from (--jobs, a plan file, a
 * sweep's options.json; `what` names it): --jobs's bounds, an integer in 1..MAX_JOBS. More jobs
 * than tasks start no more threads; the sweep's memory check sums over them (checkSweepMemory).
 */
export function checkJobs(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new UserError(`${what} ${typeof v === 'string' ? shown(JSON.stringify(v)) : shown(v)}: must be an integer >= 1`);
  if (v > MAX_JOBS) throw new UserError(`${what} ${v}: must be an integer <= ${MAX_JOBS} (points or stages run at once; results do not depend on it)`);
  return v;
}

export interface RunShape {
  /** cells on the chip (L * L) */
  cells: number;
  /** wire directions per cell (4 x rules) */
  directions: number;
  /** chains (BM) or images (DTM) */
  chains: number;
  /** most chains an engine holds at once (--batch; default all) */
  batch?: number;
  /** worker threads (1 = this thread only) */
  workers: number;
  /** model stages held in memory, and edges per stage */
  stages: number;
  edgesPerStage: number;
  /** stages programmed into planes during the run (DTM: every stage; BM: one) */
  stagesProgrammed: number;
  /** cell updates of the whole run (the cells that latch x sweeps x chains [x stages]) */
  cellUpdates: number;
  /** cycles of the whole run */
  cycles: number;
  /** largest sweep index + 1 (warm-up included) */
  sweeps: number;
  engine: 'ideal' | 'cycle';
  /** the weights are quantised (cell.weight_bits is a number), which the many-chain engine needs (default true) */
  quantised?: boolean;
  /** the engine asked for (default auto: the many-chain engine where it can run) */
  engineChoice?: 'auto' | 'reference' | 'wasm' | 'batch';
  analogSubsteps: number;
  phaseCycles: number;
  /** trace: sweep records and traced cells (0 records: no trace) */
  traceRecords?: number;
  tracedCells?: number;
  /** trace: the sweeps of a stage recorded per chain (at most) */
  traceSweepsPerStage?: number;
}

export interface Estimate {
  bytes: number;
  /** by structure, for the message */
  parts: Record<string, number>;
  seconds: number;
  traceFileBytes: number;
}

export function estimateRun(s: RunShape): Estimate {
  const N = s.cells;
  const D = s.directions;
  const chip = N * (BYTES.chipPerCell + D * BYTES.chipPerCellDirection);
  const model = s.stages * (s.edgesPerStage * BYTES.modelPerEdge + N * BYTES.modelPerCellStage);
  // the engine holds one stage's planes at a time (a DTM re-programs it stage by stage)
  const program = Math.min(1, s.stagesProgrammed) * N * D * BYTES.programPerCellDirectionStage;
  const chains = s.chains * N * BYTES.perChainCell + Math.min(s.chains, s.batch ?? s.chains) * N * BYTES.enginePerChainCell;
  // each extra worker builds its own chip, holds a copy of the model and programs its stages
  const extra = Math.max(0, s.workers - 1);
  const workers = s.workers > 1 ? s.workers * (BYTES.workerBase + chip + model + program) : 0;
  const threads = Math.max(1, Math.min(s.workers, s.chains));
  const perThread = Math.min(Math.ceil(s.chains / threads), s.batch ?? Infinity);
  // a traced stage's views are held per batch until the batch ends (sim/run.ts ViewBuffer: every
  // cell's packed spins and the record's values); on worker threads the main thread also holds up to
  // two stages of each range but the first until the trace's order reaches them (sim/dtm.ts
  // TraceMerge), and a batch is copied in transit
  const views = s.traceRecords
    ? perThread * (s.traceSweepsPerStage ?? 0) * (Math.ceil(N / 8) + BYTES.traceRecordOverhead) * (threads > 1 ? 3 * threads - 1 : 1)
    : 0;
  const trace = s.traceRecords ? BYTES.traceBuffer + views : 0;
  const parts = { base: BYTES.base, chip, model, program, chains, workers, trace };
  const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
  const substeps = s.analogSubsteps * 2 * s.phaseCycles;
  const parallel = Math.max(1, Math.min(s.workers, s.chains, availableParallelism()));
  // the engine a thread runs (cells/select.ts): chains in lanes when it holds two or more and the
  // weights are quantised; the reference engine when asked, or for a latch interval the kernels refuse
  const choice = s.engineChoice ?? 'auto';
  const tooLong = s.engine === 'cycle' && substeps > MAX_SUBSTEPS;
  const reference = choice === 'reference' || tooLong;
  const many = !reference && (s.quantised ?? true) && perThread >= 2 && (choice === 'auto' || choice === 'batch');
  const perUpdate = reference
    ? s.engine === 'ideal'
      ? TIME.refIdealNsPerUpdate
      : TIME.refNsPerSubstep * substeps
    : s.engine === 'ideal'
      ? many
        ? TIME.manyIdealNsPerUpdate
        : TIME.oneIdealNsPerUpdate
      : many
        ? TIME.manyCycleNsPerUpdate
        : TIME.oneCycleNsPerUpdate;
  const seconds = (s.cellUpdates * perUpdate) / parallel / 1e9 + (N * (TIME.setupNsPerCell + s.stages * TIME.setupNsPerCellStage) * (1 + extra)) / 1e9;
  const traceFileBytes = s.traceRecords ? s.traceRecords * (Math.ceil((s.tracedCells ?? N) / 8) + BYTES.traceRecordOverhead) : 0;
  return { bytes, parts, seconds, traceFileBytes };
}

/** "1.23 GiB" */
export function formatBytes(b: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = b;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toPrecision(3)} ${u[i]}`;
}

/** "3.2 s", "4.1 min", "2.0 h", "3.5 days", "1.2e9 years" */
export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toPrecision(2)} s`;
  if (s < 3600) return `${(s / 60).toPrecision(2)} min`;
  if (s < 86400 * 2) return `${(s / 3600).toPrecision(2)} h`;
  if (s < 86400 * 365 * 2) return `${(s / 86400).toPrecision(2)} days`;
  return `${(s / (86400 * 365)).toPrecision(2)} years`;
}

/** The machine's memory for one process: physical memory, or a cgroup's limit when lower. */
export function machineMemory(): number {
  const total = totalmem();
  const limited = (process as unknown as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  return limited && limited > 0 && limited < total ? limited : total;
}

export function freeMemory(): number {
  const avail = (process as unknown as { availableMemory?: () => number }).availableMemory?.();
  return avail && avail > 0 ? avail : freemem();
}

/** What makes each part of a memory estimate smaller, for the refusal's advice. */
const REMEDY: Record<string, string> = {
  chains: 'fewer chains or images',
  workers: 'fewer workers',
  model: 'fewer stages',
  trace: 'a thinner trace (--trace-every, --trace-stages, --trace-chains, --trace-cells)',
  chip: 'a smaller grid',
  program: 'a smaller grid',
};

/**
 * Refuse a run whose memory estimate does not fit in the machine's memory (unless force), and
 * a run whose counters would not be exact. Returns warnings to log (memory beyond what is free
 * now, a long run).
 */
export function checkResources(s: RunShape, est: Estimate, o: { force?: boolean; canForce?: boolean; what?: string } = {}): string[] {
  const what = o.what ?? 'this run';
  if (!(s.cycles <= MAX_EXACT) || !(s.cellUpdates <= MAX_EXACT)) {
    throw new UserError(
      `${what} would count ${s.cellUpdates.toExponential(3)} cell updates over ${s.cycles.toExponential(3)} cycles; counts past 2^53 (${MAX_EXACT.toExponential(3)}) are not exact: use fewer sweeps, chains or images, or a smaller grid`,
    );
  }
  if (s.sweeps > MAX_INDEX) throw new UserError(`${s.sweeps} sweeps per chain: at most ${MAX_INDEX} (sweep indices are 32-bit in traces and exports)`);
  if (s.chains > MAX_INDEX) throw new UserError(`${s.chains} chains or images: at most ${MAX_INDEX} (chain indices are 32-bit in traces and exports)`);
  const need = est.bytes * MEMORY_MARGIN;
  const have = machineMemory();
  const largest = Object.entries(est.parts)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3);
  const parts = largest.map(([k, v]) => `${k} ${formatBytes(v)}`).join(', ');
  if (need > have && !o.force) {
    // the remedies of the largest parts first, so that a run of many images is told to run fewer
    const remedies = [...new Set([...largest.map(([k]) => REMEDY[k]).filter((r): r is string => Boolean(r)), 'a smaller grid'])];
    throw new UserError(
      `${what} needs about ${formatBytes(est.bytes)} of memory (${parts}); the machine has ${formatBytes(have)}. Use ${remedies.join(', ')}${o.canForce === false ? '' : ', or --force to try anyway'}`,
    );
  }
  const warnings: string[] = [];
  if (need > have) warnings.push(`running anyway (--force): about ${formatBytes(est.bytes)} of memory on a machine with ${formatBytes(have)}`);
  else if (need > freeMemory()) warnings.push(`about ${formatBytes(est.bytes)} of memory; only ${formatBytes(freeMemory())} is free now`);
  if (est.seconds > 3600) warnings.push(`estimated wall time ${formatSeconds(est.seconds)} (Ctrl-C stops it cleanly, keeping what was done)`);
  return warnings;
}

/**
 * A sweep runs up to `jobs` points at once, each in a worker thread of one process: the process
 * base once, and for each job its point's run without that base plus a worker's own heap. The
 * `jobs` largest points must fit together (a point that fits alone was checked when planned).
 * Refused with the largest --jobs that fits; returns the bytes the check counted.
 */
export function checkSweepMemory(pointBytes: number[], jobs: number, have = machineMemory()): number {
  const each = pointBytes.map((b) => Math.max(0, b - BYTES.base) + BYTES.workerBase).sort((a, b) => b - a);
  const together = (j: number) => BYTES.base + each.slice(0, j).reduce((a, b) => a + b, 0);
  const J = Math.max(1, Math.min(jobs, each.length));
  const need = together(J);
  if (need * MEMORY_MARGIN > have) {
    let fits = J - 1;
    while (fits > 1 && together(fits) * MEMORY_MARGIN > have) fits--;
    throw new UserError(
      `--jobs ${jobs}: the ${J} largest points run at once need about ${formatBytes(need)} of memory together; the machine has ${formatBytes(have)}. ${fits >= 1 && together(fits) * MEMORY_MARGIN <= have ? `Use --jobs ${fits}` : 'Run fewer points at once'} (results do not depend on it)`,
    );
  }
  return need;
}

/** The parts of a run's shape that follow from its config. */
export function configShape(c: ResolvedConfig): Pick<RunShape, 'cells' | 'directions' | 'engine' | 'quantised' | 'analogSubsteps' | 'phaseCycles'> {
  const ideal =
    c.rng.tau_rng_s === 0 &&
    c.cell.node_capacitance_f === 0 &&
    c.rng.v_off_sigma_v === 0 &&
    c.rng.v_s_sigma_rel === 0 &&
    c.fabric.tile.link_latency_cycles === 0;
  return {
    cells: c.fabric.L * c.fabric.L,
    directions: 4 * resolveRules(c.fabric.rules).length,
    engine: ideal ? 'ideal' : 'cycle',
    quantised: c.cell.weight_bits !== 'exact',
    analogSubsteps: c.clock.analog_substeps,
    phaseCycles: c.clock.phase_cycles,
  };
}

/**
 * The shape of a Boltzmann-machine run: `chains` chains of `sweeps` sweeps (warm-up included) of
 * one stage, on one thread or `workers`; the model held has `stages` stages of `edges` edges
 * (default: one stage on every wire).
 */
export function bmShape(c: ResolvedConfig, o: { chains: number; sweeps: number; workers?: number; stages?: number; edges?: number }): RunShape {
  const cs = configShape(c);
  const wires = (cs.cells * cs.directions) / 2;
  return {
    ...cs,
    chains: o.chains,
    workers: o.workers ?? 1,
    stages: o.stages ?? 1,
    edgesPerStage: o.edges ?? wires,
    stagesProgrammed: 1,
    cellUpdates: o.chains * o.sweeps * cs.cells,
    cycles: o.chains * (o.sweeps * 2 * c.clock.phase_cycles + 2 + cs.cells) + wires * 32,
    sweeps: o.sweeps,
  };
}

/**
 * The shape of a DTM generation run: `images` images through `stages` stages of `sweeps` sweeps
 * each, every stage programmed in turn; the model held has `stages` stages of `edges` edges
 * (default: every wire). The same counts as `dtca run` uses for its own check.
 */
export function dtmShape(c: ResolvedConfig, o: { images: number; sweeps: number; stages: number; workers?: number; edges?: number }): RunShape {
  const cs = configShape(c);
  const wires = (cs.cells * cs.directions) / 2;
  return {
    ...cs,
    chains: o.images,
    workers: o.workers ?? 1,
    stages: o.stages,
    edgesPerStage: o.edges ?? wires,
    stagesProgrammed: o.stages,
    cellUpdates: o.images * o.stages * o.sweeps * cs.cells,
    cycles: o.stages * (o.images * (o.sweeps * 2 * c.clock.phase_cycles + 2 + cs.cells) + wires * 32),
    sweeps: o.sweeps,
  };
}

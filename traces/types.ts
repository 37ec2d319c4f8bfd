/**
 * What the simulator hands a trace sink. The run loop (sim/) calls these methods in this order:
 *   header, then per stage: stageBegin, sweep* (only where wantsSweep says so), stageEnd, and
 *   finally end, then close. In a DTM run the order is stage-major: for each stage (noisiest
 *   first), for each chain, its sweeps. Every record the sink writes must be self-contained.
 *
 * Spins arrive as +-1 doubles (length >= N); the sink packs them (bit i of cell i: byte i>>3,
 * bit i&7, little-endian bit order, 1 = spin +1). Energies are joules by component (the keys of
 * power/energy.ts ENERGY_COMPONENTS) plus `total`.
 */

export const TRACE_FORMAT = 'dtca-trace';
/**
 * The newest trace format version this dtca reads and writes. Version 1: one array, one clock
 * through the run (every trace of the `reprogram` mapping, and every trace dtca wrote before
 * version 2). Version 2: a DTM `pipeline` (header run.mapping 'pipeline', run.arrays = T): stage k
 * runs on array k, every array's clock starts at cycle 0 together, and each record's cycle and
 * time_s are its stage's array's; records still come stage by stage (noisiest first), so time
 * never goes back within a stage and goes back between stages. A version 1 pipeline trace (written
 * before version 2) counted its cycles as if one array ran the stages in turn, all but its end
 * record. The writer writes the lowest version that describes the trace (traceVersion), so a
 * `reprogram` trace reads in every dtca that reads version 1.
 */
export const TRACE_VERSION = 2;

/** The format version of a trace of this mapping: 2 for a DTM pipeline (per-array timeline), else 1. */
export function traceVersion(mapping: string | undefined): 1 | 2 {
  return mapping === 'pipeline' ? 2 : 1;
}

export type EnergyByComponent = Record<string, number>;

export interface TraceLayout {
  L: number;
  N: number;
  /** colour (0/1) per cell */
  colour: Uint8Array;
  /** visible cells (image pixels then label cells), cell indices */
  visible: Int32Array;
  /** image pixel p lives at cell image[p]; label class c copy r at cell label[c * copies + r] */
  image: Int32Array;
  label: Int32Array;
  label_copies: number;
}

export interface TraceHeader {
  format: typeof TRACE_FORMAT;
  /** traceVersion(run.mapping): what the writer writes, whatever is given here */
  version: number;
  dtca_version: string;
  /** SOURCE_DATE_EPOCH's time (ISO 8601), or '' when it was unset: the run's manifest.json records when it ran (fabric/stamp.ts) */
  created: string;
  /** the fully resolved config (plain JSON) */
  config: unknown;
  /** model summary: source, T, beta schedule, lambdas, couplings J_c per stage, ... (plain JSON) */
  model: Record<string, unknown>;
  layout: TraceLayout;
  /** arrays: a `pipeline`'s T (stage k on array k; version 2), absent for one array */
  run: { chains: number; stages: number; sweeps: number; clock_hz: number; mapping: string; arrays?: number };
}

export interface SweepInfo {
  chain: number;
  stage: number;
  sweep: number;
  /** absolute chip cycle at the end of this sweep (a pipeline's: on its stage's array), and the same in seconds */
  cycle: number;
  time_s: number;
  spins: Float64Array;
  /** optional: every cell's spin already bit-packed in the trace's packing (used when all cells are traced) */
  packed?: Uint8Array;
  toggles: number;
  /** this sweep's energy by component; or, read instead when given, `energy` */
  energy_j?: EnergyByComponent;
  /** the same as names (in energy_j's key order) and their values at values[at ..]: no object per record */
  energy?: { names: readonly string[]; values: Float64Array; at: number };
}

/**
 * Sweep records of chains first .. first + n - 1 of one stage at the same `slots` sweeps, handed
 * over at once (a DTM stage's batch, buffered): written chain by chain, each chain's sweeps in
 * slot order, exactly as the same records one by one through TraceSink.sweep.
 */
export interface SweepBatch {
  stage: number;
  first: number;
  n: number;
  slots: number;
  /** the energy components' names (the order of each record's values) */
  names: readonly string[];
  /**
   * Record r = k * slots + j (chain first + k, slot j): BATCH_FIELDS + names.length values from
   * r * (BATCH_FIELDS + names.length): sweep, cycle, time_s, toggles, then the energy values.
   */
  fields: Float64Array;
  /** every cell's spin, bit-packed in the trace's packing: chain first + k at slot j from (j * n + k) * bytes */
  packed: Uint8Array;
  bytes: number;
}

export { BATCH_FIELDS } from './sweep-record.js';

export interface StageInfo {
  stage: number;
  cycle: number;
  time_s: number;
  /** stage_begin: programming of the stage; stage_end: the stage's totals incl. readout */
  energy_j: EnergyByComponent;
  toggles?: number;
  cycles?: number;
}

export interface EndInfo {
  cycle: number;
  time_s: number;
  energy_j: EnergyByComponent;
  cell_updates: number;
  toggles: number;
}

/** Which records a trace keeps (traces/writer.ts describes the thinning). */
export interface TraceOptions {
  /** record every Nth sweep (always including the last sweep of each stage); default 1 */
  every?: number;
  /** only these stages */
  stages?: number[];
  /** inclusive rectangle [x0, y0, x1, y1]: only those cells' states */
  cells?: [number, number, number, number];
  /** only these chains */
  chains?: number[];
}

export interface TraceSink {
  /**
   * The thinning the sink applies (TraceWriter: its options), for a worker thread that relays its
   * records to the sink (traces/relay.ts) to pack only those; absent: every record is relayed.
   */
  readonly thinning?: TraceOptions;
  header(h: TraceHeader): void;
  /** thinning: whether this sweep of this chain and stage is recorded */
  wantsSweep(chain: number, stage: number, sweep: number): boolean;
  sweep(r: SweepInfo): void;
  /** optional: many sweep records at once (the same bytes as each through sweep()) */
  sweeps?(b: SweepBatch): void;
  stageBegin(r: StageInfo): void;
  stageEnd(r: StageInfo): void;
  end(r: EndInfo): void;
  /** flush and close; resolves when every record is on disk */
  close(): Promise<void>;
}

/**
 * The TypeScript trace reader (format: traces/pack.ts and traces/writer.ts).
 *
 *   for await (const rec of readTrace('run.trace')) { if (rec.type === 'sweep') unpackStates(rec, n) }
 *
 * readTrace streams the file in 1 MiB chunks (a trace may be larger than memory), checks every
 * record's CRC and shape, and yields records with typed arrays restored (Uint8Array, Int32Array, ...,
 * over copies of the bytes); records on one clock come in order, a pipeline's (format version 2,
 * timelineOf) in order on each stage's array. After iteration the reader says whether the file was cut short:
 * `truncated` and `truncatedAt` (the byte where the last whole record ends). A cut tail is what a
 * crash or Ctrl-C leaves and is not an error; the records before it are all returned.
 *
 * Errors (UserError, with the byte offset): a file that is not a dtca trace (its first record is not
 * a header with format 'dtca-trace'), a newer format version, and damage in the middle (a record
 * that does not decode, fails its CRC, or lacks its fields, with whole records after it). The
 * iterator yields every record before the damage, then throws. inspectTrace reports the records it
 * could read and the error (it throws only when not even the header reads).
 */
import { open, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { notRegular } from '../fabric/read.js';
import { UserError } from '../fabric/errors.js';
import { shown } from '../fabric/rules.js';
import { msgpackDuplicateKey } from '../fabric/json.js';
import { noteInput } from '../fabric/files.js';
import { crcMatches, fromTypedDict, isTypedDict, makeUnpackr, MAX_RECORD_BYTES, restoreTyped, unpackBits, type SweepFields } from './pack.js';
import { TRACE_FORMAT, TRACE_VERSION, type EnergyByComponent, type StageInfo } from './types.js';

export interface HeaderRecord {
  type: 'header';
  format: typeof TRACE_FORMAT;
  version: number;
  dtca_version: string;
  created: string;
  config: unknown;
  model: Record<string, unknown>;
  layout: { L: number; N: number; colour: Uint8Array; visible: Int32Array; image: Int32Array; label: Int32Array; label_copies: number };
  /** arrays: a pipeline's (version 2), one per stage: stage k's records are array k's time */
  run: { chains: number; stages: number; sweeps: number; clock_hz: number; mapping: string; arrays?: number };
  thinning: { every: number; stages: number[] | null; chains: number[] | null; cells: [number, number, number, number] | null };
  traced_cells: Int32Array;
  n_traced: number;
  state_packing: string;
  crc32: number;
}

export interface StageRecord extends StageInfo {
  type: 'stage_begin' | 'stage_end';
  crc32: number;
}

/** states are bit-packed: bit k of traced cell k at byte k>>3, bit k&7; 1 = spin +1 (see unpackStates) */
export interface SweepRecord extends SweepFields {
  type: 'sweep';
  crc32: number;
}

/**
 * The last record. status 'complete' (or absent, in traces written before statuses): the run's
 * totals. status 'interrupted': the run was stopped (reason, e.g. 'SIGINT'; at: where), with the
 * last cycle and time written and no totals.
 */
export interface EndRecord {
  type: 'end';
  status?: 'complete' | 'interrupted';
  reason?: string;
  at?: { stage?: number; chain?: number; sweep?: number };
  cycle: number;
  time_s: number;
  /** complete runs only */
  cell_updates?: number;
  toggles?: number;
  energy_j?: EnergyByComponent;
  /** records and sweep records written before this one */
  records: number;
  sweep_records: number;
  crc32: number;
}

export type TraceRecord = HeaderRecord | StageRecord | SweepRecord | EndRecord;

/** 0/1 per traced cell (1 = spin +1) from a sweep record; nCells defaults to the record's n_cells. */
export function unpackStates(rec: SweepRecord, nCells: number = rec.n_cells): Uint8Array {
  try {
    return unpackBits(rec.states, nCells);
  } catch (e) {
    throw new UserError(`sweep record (chain ${rec.chain}, stage ${rec.stage}, sweep ${rec.sweep}): ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// incremental decoding

class Damage extends Error {}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** a count: an integer from 0 to 2^53 - 1 (a count beyond it is no longer exact: damage) */
const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);

/** A decoded value in a message: JSON, control and direction-changing characters escaped, at most 80 characters. */
const js = (v: unknown): string => (v === undefined ? 'missing' : shown(typeof v === 'string' ? JSON.stringify(v) : v, 80));

/**
 * What an energy component may be called: its name becomes a CSV column (`energy_<c>_j`) and a
 * file name (`energy_<c>_j.npy`) in `trace export`, so a slash, a comma or a newline is damage.
 */
const COMPONENT = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * An energy is never below 0, and a `total` is its components' sum (the writer adds them; 1e-9 of
 * slack for a sum in another order): a record that passes its CRC with a negative component or a
 * total of 1e300 over picojoule components was exported and inspected as it stood.
 */
export const ENERGY_SUM_TOLERANCE = 1e-9;

function checkEnergy(v: unknown): void {
  if (!isObj(v) || !Object.values(v).every(isNum)) throw new Damage('energy_j is not a map of finite numbers');
  for (const k of Object.keys(v)) if (!COMPONENT.test(k)) throw new Damage(`energy_j: ${js(k)} is not a component name`);
  let sum = 0;
  let parts = 0;
  for (const [k, e] of Object.entries(v as Record<string, number>)) {
    if (e < 0) throw new Damage(`energy_j: ${k} is ${e}, below 0`);
    if (k !== 'total') {
      sum += e;
      parts++;
    }
  }
  const total = (v as Record<string, number>).total;
  if (total !== undefined && parts > 0 && Math.abs(total - sum) > ENERGY_SUM_TOLERANCE * Math.max(total, sum))
    throw new Damage(`energy_j: total ${total} is not the sum of its components (${sum})`);
}

/** a time: a finite number >= 0 */
const isTime = (v: unknown): v is number => isNum(v) && v >= 0;

function need(rec: Record<string, unknown>, keys: string[], test: (v: unknown) => boolean, what: string): void {
  for (const k of keys) if (!test(rec[k])) throw new Damage(`${rec.type} record: ${k} is ${js(rec[k])}, expected ${what}`);
}

function validate(rec: Record<string, unknown>): TraceRecord {
  switch (rec.type) {
    case 'sweep': {
      need(rec, ['chain', 'stage', 'sweep', 'n_cells', 'cycle', 'toggles'], isInt, 'an integer >= 0');
      need(rec, ['time_s'], isTime, 'a number >= 0');
      checkEnergy(rec.energy_j);
      const s = rec.states;
      if (!isTypedDict(s) || s.dtype !== 'uint8') throw new Damage('sweep record: states is not a uint8 array');
      const states = fromTypedDict(s) as Uint8Array;
      if (states.length !== ((rec.n_cells as number) + 7) >> 3) throw new Damage(`sweep record: ${states.length} state bytes for ${rec.n_cells} cells`);
      rec.states = states;
      return rec as unknown as SweepRecord;
    }
    case 'stage_begin':
    case 'stage_end':
      need(rec, ['stage', 'cycle'], isInt, 'an integer >= 0');
      need(rec, ['time_s'], isTime, 'a number >= 0');
      checkEnergy(rec.energy_j);
      return rec as unknown as StageRecord;
    case 'end':
      need(rec, ['records', 'sweep_records', 'cycle'], isInt, 'an integer >= 0');
      if (rec.status === 'interrupted') {
        need(rec, ['time_s'], isTime, 'a number >= 0');
        return rec as unknown as EndRecord;
      }
      if (rec.status !== undefined && rec.status !== 'complete') throw new Damage(`end record: status ${js(rec.status)}`);
      need(rec, ['cell_updates', 'toggles'], isInt, 'an integer >= 0');
      need(rec, ['time_s'], isTime, 'a number >= 0');
      checkEnergy(rec.energy_j);
      return rec as unknown as EndRecord;
    case 'header':
      throw new Damage('a second header record');
    default:
      throw new Damage(`unknown record type ${js(rec.type)}`);
  }
}

/**
 * What a header's counts and clock may be: what dtca itself writes. A run's chains, stages and
 * sweeps number their records' indices, which are int32 in the exports (sim/resources.ts refuses a
 * run beyond them; dtca bench's header declares 2^31 sweeps); the clock is the config schema's
 * clock.clock_hz; the grid's side the config's fabric.L (2..MAX_L).
 */
export const HEADER_MAX_COUNT = 2 ** 31;
export const HEADER_CLOCK_HZ: readonly [number, number] = [1e-3, 1e15];
export const HEADER_MAX_L = 46340;

/** a map (not an array, nor a typed array, nor a typed array's {dtype, shape, data}: the Python reader turns those into arrays) */
const isMap = (v: unknown): v is Record<string, unknown> =>
  isObj(v) && !ArrayBuffer.isView(v) && !(typeof v.dtype === 'string' && Array.isArray(v.shape) && ArrayBuffer.isView(v.data));

/** an integer from lo to hi */
const isIntIn = (v: unknown, lo: number, hi: number): v is number => isInt(v) && v >= lo && v <= hi;

/**
 * Are these the cells a header's traced_cells must list: the grid's, or thinning.cells' rectangle
 * (y outer, x inner), as the writer lists them? Compared in place (the grid's list is not built).
 */
function tracedAsWritten(tc: Int32Array, L: number, rect: number[] | null): boolean {
  if (rect === null) return tc.length === L * L && tc.every((c, k) => c === k);
  const [x0, y0, x1, y1] = rect;
  const w = x1 - x0 + 1;
  if (tc.length !== w * (y1 - y0 + 1)) return false;
  return tc.every((c, k) => c === (y0 + Math.floor(k / w)) * L + x0 + (k % w));
}

/**
 * The header's fields, each checked against what dtca writes (the Python reader, dtca_trace, makes
 * the same checks in the same order, so both readers call the same headers damaged): a field of the
 * wrong kind or out of range is damage naming the field.
 */
function validateHeader(rec: Record<string, unknown>): HeaderRecord {
  restoreTyped(rec);
  for (const k of ['dtca_version', 'created', 'state_packing']) {
    if (typeof rec[k] !== 'string') throw new Damage(`header: ${k} is ${js(rec[k])}, expected a string`);
  }
  const lay = rec.layout as Record<string, unknown> | undefined;
  if (!isMap(lay) || !isInt(lay.L) || !isInt(lay.N)) throw new Damage('header: layout.L / layout.N missing');
  if (!(lay.colour instanceof Uint8Array)) throw new Damage('header: layout.colour is not a uint8 array');
  for (const k of ['visible', 'image', 'label']) if (!(lay[k] instanceof Int32Array)) throw new Damage(`header: layout.${k} is not an int32 array`);
  const run = rec.run as Record<string, unknown> | undefined;
  if (!isMap(run)) throw new Damage(`header: run is ${js(run)}, expected a map {chains, stages, sweeps, clock_hz, mapping}`);
  for (const k of ['chains', 'stages', 'sweeps']) {
    if (!isIntIn(run[k], 1, HEADER_MAX_COUNT)) throw new Damage(`header: run.${k} is ${js(run[k])}, expected an integer from 1 to ${HEADER_MAX_COUNT}`);
  }
  const [hzMin, hzMax] = HEADER_CLOCK_HZ;
  if (!(isNum(run.clock_hz) && run.clock_hz >= hzMin && run.clock_hz <= hzMax))
    throw new Damage(`header: run.clock_hz is ${js(run.clock_hz)}, expected a number from 1e-3 to 1e15 (Hz)`);
  if (Object.hasOwn(run, 'mapping') && typeof run.mapping !== 'string') throw new Damage(`header: run.mapping is ${js(run.mapping)}, expected a string`);
  if (!(rec.traced_cells instanceof Int32Array) || rec.n_traced !== rec.traced_cells.length) throw new Damage('header: traced_cells / n_traced inconsistent');
  // the thinning and model summary inspect, export and the VCD read (null for either was a TypeError)
  const th = rec.thinning;
  const ints = (v: unknown, n?: number) => v === null || (Array.isArray(v) && v.every(isInt) && (n === undefined || v.length === n));
  if (!isMap(th) || !isInt(th.every) || th.every < 1 || !ints(th.stages) || !ints(th.chains) || !ints(th.cells, 4))
    throw new Damage('header: thinning is not {every, stages, chains, cells}');
  for (const [k, n] of [
    ['stages', run.stages as number],
    ['chains', run.chains as number],
  ] as const) {
    const bad = ((th[k] as number[] | null) ?? []).find((v) => v >= n);
    if (bad !== undefined) throw new Damage(`header: thinning.${k} holds ${bad}, outside the run's 0..${n - 1}`);
  }
  if (!isMap(rec.model)) throw new Damage('header: model is not a map');
  if (!isMap(rec.config)) throw new Damage('header: config is not a map');
  // a pipeline (version 2): one array per stage, and each record on its stage's; only a pipeline has arrays
  if ((((rec.version as number) >= 2 && run.mapping === 'pipeline') || Object.hasOwn(run, 'arrays')) && run.arrays !== run.stages)
    throw new Damage(`header: a pipeline's run.arrays is ${js(run.arrays)}, expected its ${js(run.stages)} stages`);
  // the layout is the grid's: every array an export sizes or indexes by it agrees with it (a
  // declared N of 2^31 is never allocated unless the header carries its N colours)
  const { L, N } = lay;
  if (L < 2 || L > HEADER_MAX_L) throw new Damage(`header: layout.L is ${js(L)}, expected an integer from 2 to ${HEADER_MAX_L}`);
  if (N !== L * L) throw new Damage(`header: layout.N ${js(N)} is not layout.L squared (L = ${js(L)})`);
  if (lay.colour.length !== N) throw new Damage(`header: layout.colour holds ${lay.colour.length} cells, the grid ${N}`);
  const cells: [string, Int32Array][] = [
    ['layout.visible', lay.visible as Int32Array],
    ['layout.image', lay.image as Int32Array],
    ['layout.label', lay.label as Int32Array],
    ['traced_cells', rec.traced_cells],
  ];
  for (const [k, a] of cells) {
    for (const c of a) if (c < 0 || c >= N) throw new Damage(`header: ${k} holds cell ${c}, outside the grid's 0..${N - 1}`);
  }
  const copies = lay.label_copies;
  const labels = (lay.label as Int32Array).length;
  if (!isIntIn(copies, 1, HEADER_MAX_COUNT) || labels % copies !== 0)
    throw new Damage(`header: layout.label_copies is ${js(copies)}, expected a positive integer dividing the ${labels} label cells`);
  // the traced cells are the grid's or the thinning's rectangle, as the writer lists them: a grid
  // of another side than the records' (their n_cells is n_traced) does not pass for theirs
  const rect = th.cells as number[] | null;
  if (rect !== null && !(rect[0] <= rect[2] && rect[2] < L && rect[1] <= rect[3] && rect[3] < L))
    throw new Damage(`header: thinning.cells ${rect.join(',')} is not a rectangle x0,y0,x1,y1 inside the ${L}x${L} grid`);
  const tc = rec.traced_cells;
  if (!tracedAsWritten(tc, L, rect)) {
    const want = rect === null ? `the ${L * L} cells of the ${L}x${L} grid` : `the cells of thinning.cells ${rect.join(',')}`;
    throw new Damage(`header: traced_cells (${tc.length} cells) are not ${want}`);
  }
  // the config in the header is the run's, resolved: its clock and grid are the run's and the layout's
  const cfg = rec.config;
  const clock = cfg.clock;
  if (isMap(clock) && Object.hasOwn(clock, 'clock_hz') && clock.clock_hz !== run.clock_hz)
    throw new Damage(`header: run.clock_hz ${js(run.clock_hz)} is not the config's clock.clock_hz ${js(clock.clock_hz)}`);
  const fabric = cfg.fabric;
  if (isMap(fabric) && Object.hasOwn(fabric, 'L') && fabric.L !== L) throw new Damage(`header: layout.L ${js(L)} is not the config's fabric.L ${js(fabric.L)}`);
  return rec as unknown as HeaderRecord;
}

/**
 * Whose clock a trace's cycles are on: 'one' (one array, one clock through the run), 'arrays' (a
 * version 2 pipeline: stage k's records on array k, every array from cycle 0) or 'serial' (a
 * version 1 pipeline, written before version 2: its stage and sweep records count cycles as if one
 * array ran the stages in turn, while its end record holds the pipeline's cycles).
 */
export type Timeline = 'one' | 'arrays' | 'serial';

export function timelineOf(h: Pick<HeaderRecord, 'version' | 'run'>): Timeline {
  if (h.run.mapping !== 'pipeline') return 'one';
  return h.version >= 2 ? 'arrays' : 'serial';
}

/** The bytes a trace starts with after its map marker: "type": "header", "format": "dtca-trace". */
const HEADER_KEYS = Buffer.from('\xa4type\xa6header\xa6format\xaadtca-trace', 'latin1');

/** Does a record at `start` begin as a trace header (a msgpack map whose first entries are type and format)? */
export function startsLikeHeader(buf: Uint8Array, start: number): boolean {
  const b = buf[start];
  const at = b >= 0x80 && b <= 0x8f ? start + 1 : b === 0xde ? start + 3 : -1;
  if (at < 0 || buf.length < at + HEADER_KEYS.length) return false;
  return Buffer.from(buf.buffer, buf.byteOffset + at, HEADER_KEYS.length).equals(HEADER_KEYS);
}

/** What the incremental decoder hands back for one push. */
interface Decoded {
  records: TraceRecord[];
  ends: number[];
}

/**
 * Decodes a trace from consecutive chunks. push() returns the whole records completed so far;
 * finish() (at end of file) decides between a clean end, a cut tail and damage. After an error,
 * `error` is set and further pushes return nothing.
 */
export class TraceDecoder {
  private readonly unpackr = makeUnpackr();
  private pending: Buffer = Buffer.alloc(0);
  /** file offset of pending[0] = end of the last whole record */
  base = 0;
  count = 0;
  header: HeaderRecord | null = null;
  error: UserError | null = null;
  truncated = false;
  /** an end record was read (nothing may follow it) */
  ended = false;
  /** sweep records read, and the last cycle (records come in order: cycles never decrease on one clock) */
  private sweeps = 0;
  private lastCycle = -Infinity;
  /** the latest cycle of any record (a complete end record's cycle is the run's: at or after it) */
  private maxCycle = -Infinity;
  /**
   * whose clock the records' cycles are (timelineOf): one array's through the run; a pipeline's
   * arrays, one per stage (version 2: each stage's records on its own clock); or a version 1
   * pipeline's count as if one array ran the stages in turn (its end record holds the pipeline's)
   */
  private timeline: Timeline = 'one';
  /** the pipeline stage (array) whose records are being read (timeline 'arrays'), -1 before the first */
  private array = -1;

  constructor(private readonly name: string) {}

  private fail(at: number, what: string): UserError {
    const before = this.count === 0 ? 'no record before it' : this.count === 1 ? 'the header before it reads' : `the ${this.count} records before it read`;
    this.error = new UserError(`${this.name}: corrupt at byte ${at} (record ${this.count}): ${what}; ${before}`);
    return this.error;
  }

  private notATrace(what: string): UserError {
    this.error = new UserError(`${this.name}: not a dtca trace (${what})`);
    return this.error;
  }

  private accept(value: unknown, buf: Buffer, start: number, end: number): TraceRecord {
    const at = this.base + start;
    if (this.count === 0) {
      // a trace is recognised by its first bytes (not by decoded values, which damage can bend
      // differently in different decoders): what follows is judged as damage
      if (!startsLikeHeader(buf, start)) {
        const got = isObj(value) ? `first record has type ${js(value.type)}, format ${js(value.format)}` : 'it does not start with a msgpack map';
        throw this.notATrace(got);
      }
      if (!isObj(value)) throw this.fail(at, 'the header is not a map');
      if (typeof value.version !== 'number' || !Number.isInteger(value.version) || value.version < 1) {
        throw this.fail(at, `header version ${js(value.version)} is not a format version`);
      }
      if (value.version > TRACE_VERSION) {
        throw (this.error = new UserError(
          `${this.name}: trace format version ${value.version} is newer than this dtca reads (version ${TRACE_VERSION}); use a newer dtca`,
        ));
      }
    }
    // nothing is written after the end record: whatever follows is damage (not a cut tail)
    if (this.ended) throw this.fail(at, 'data after the end record');
    if (!isObj(value) || typeof value.type !== 'string') throw this.fail(at, 'not a record (a map with a type)');
    if (!crcMatches(buf, start, end, value.crc32)) throw this.fail(at, `${value.type} record fails its CRC check`);
    // msgpackr keeps a key's last value silently: a record that gives one twice is not one dtca wrote
    const twice = msgpackDuplicateKey(buf, start, end);
    if (twice) throw this.fail(at, `"${shown(twice.path)}" is given twice in one record`);
    try {
      if (this.ended) throw new Damage(`a ${String(value.type)} record after the end record`);
      const rec = this.count === 0 ? validateHeader(value) : validate(value);
      if (rec.type === 'header') {
        this.header = rec;
        this.timeline = timelineOf(rec);
      } else if (rec.type === 'end') {
        // the end record counts what was written before it: a record lost or repeated shows here
        if (rec.records !== this.count || rec.sweep_records !== this.sweeps) {
          throw new Damage(
            `the end record counts ${rec.records} records (${rec.sweep_records} sweep records) before it, ${this.count} (${this.sweeps}) were read: records are missing or repeated`,
          );
        }
        // the run ends when its last record's work does (an interrupted run: at its last record's cycle)
        const floor = rec.status === 'interrupted' ? this.lastCycle : this.maxCycle;
        if (this.timeline !== 'serial' && rec.cycle < floor) {
          throw new Damage(`end record at cycle ${rec.cycle}, before the cycle ${floor} a record before it reached`);
        }
        this.ended = true;
      } else {
        this.checkAgainstHeader(rec);
        if (this.timeline === 'arrays') this.checkArray(rec);
        // one clock through the run (a pipeline: through each array): a record out of order (or repeated) goes back in time
        if (rec.cycle < this.lastCycle || (rec.type === 'sweep' && rec.cycle === this.lastCycle)) {
          throw new Damage(`${rec.type} record at cycle ${rec.cycle} after cycle ${this.lastCycle}: records out of order or repeated`);
        }
        this.lastCycle = rec.cycle;
        this.maxCycle = Math.max(this.maxCycle, rec.cycle);
        if (rec.type === 'sweep') this.sweeps++;
      }
      this.count++;
      return rec;
    } catch (e) {
      if (e instanceof Damage) throw this.fail(at, e.message);
      throw this.fail(at, (e as Error).message);
    }
  }

  /**
   * A pipeline trace (version 2): each stage's records on its own array's clock, stage after stage
   * from the noisiest. A stage_begin starts its array's records (its clock starts again: every
   * array starts at cycle 0); a sweep or stage_end record belongs to the stage begun last.
   */
  private checkArray(rec: Exclude<TraceRecord, HeaderRecord | EndRecord>): void {
    if (rec.type === 'stage_begin') {
      if (this.array >= 0 && rec.stage >= this.array) {
        throw new Damage(`stage_begin record of stage ${rec.stage} after stage ${this.array}'s records: stages out of order or repeated`);
      }
      this.array = rec.stage;
      this.lastCycle = -Infinity;
    } else if (rec.stage !== this.array) {
      throw new Damage(
        this.array < 0
          ? `${rec.type} record of stage ${rec.stage} before any stage_begin record`
          : `${rec.type} record of stage ${rec.stage} among stage ${this.array}'s records: records out of order`,
      );
    }
  }

  /**
   * Fields that decode, pass the CRC and have the right types can still be impossible: a sweep
   * record must hold the header's number of traced cells, and its chain, stage and sweep must lie
   * within the run the header declares (a chain index of 2^40 must not become 0 in chain.npy).
   */
  private checkAgainstHeader(rec: TraceRecord): void {
    const h = this.header;
    if (!h) return;
    const within = (what: string, v: number, n: number) => {
      if (v >= n) throw new Damage(`${rec.type} record: ${what} ${v} outside the run's 0..${n - 1}`);
    };
    if (rec.type === 'sweep') {
      if (rec.n_cells !== h.n_traced) throw new Damage(`sweep record: n_cells ${rec.n_cells}, the header traces ${h.n_traced} cells`);
      within('chain', rec.chain, h.run.chains);
      within('stage', rec.stage, h.run.stages);
      within('sweep', rec.sweep, h.run.sweeps);
    } else if (rec.type === 'stage_begin' || rec.type === 'stage_end') {
      within('stage', rec.stage, h.run.stages);
    }
  }

  push(chunk: Buffer): Decoded {
    const out: Decoded = { records: [], ends: [] };
    if (this.error) return out;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const buf = this.pending;
    let consumed = 0;
    try {
      this.unpackr.unpackMultiple(buf, (value: unknown, start?: number, end?: number) => {
        out.records.push(this.accept(value, buf, start as number, end as number));
        consumed = end as number;
        out.ends.push(this.base + consumed);
      });
    } catch (e) {
      // the decoder's own words ("Unknown extension 212", "Invalid property type for record") say
      // nothing to the reader of the line: what is damaged and where is said instead
      if (!this.error && !(e as { incomplete?: boolean }).incomplete) {
        if (this.count === 0 && !startsLikeHeader(buf, 0)) this.notATrace('it does not decode as msgpack');
        else if (this.count === 0) this.fail(this.base, 'the header is damaged (its bytes do not decode as msgpack)');
        else this.fail(this.base + consumed, 'not valid msgpack');
      }
    }
    this.pending = buf.subarray(consumed);
    this.base += consumed;
    if (!this.error && this.pending.length > MAX_RECORD_BYTES) {
      this.fail(this.base, `a record longer than ${MAX_RECORD_BYTES} bytes (a damaged length)`);
    }
    return out;
  }

  /** End of file: a tail that is the start of a record is a cut; one with whole records after it is damage. */
  finish(): void {
    if (this.error) return;
    const tail = this.pending;
    if (tail.length === 0) {
      if (this.count === 0) this.notATrace('the file is empty');
      return;
    }
    if (this.ended) {
      // nothing is written after the end record: bytes there are damage, not a cut
      this.fail(this.base, `data after the end record (${tail.length} bytes)`);
      return;
    }
    const next = this.findRecord(tail);
    if (next >= 0) {
      this.fail(this.base, `a damaged record (a whole record follows at byte ${this.base + next})`);
    } else if (this.count === 0) {
      this.notATrace(`no whole record in ${tail.length} bytes: not a trace, or cut short before its header was written`);
    } else {
      this.truncated = true;
    }
  }

  /** The offset in buf (> 0) of a record that decodes and passes its CRC, or -1. */
  private findRecord(buf: Buffer): number {
    const needle = Buffer.from([0xa4, 0x74, 0x79, 0x70, 0x65]); // fixstr "type"
    const probe = makeUnpackr();
    for (let h = buf.indexOf(needle, 1); h >= 0; h = buf.indexOf(needle, h + 1)) {
      for (const s of [h - 1, h - 3]) {
        if (s < 1) continue;
        const b = buf[s];
        if (!((s === h - 1 && b >= 0x81 && b <= 0x8f) || (s === h - 3 && b === 0xde))) continue;
        const sub = buf.subarray(s);
        let ok = false;
        try {
          probe.unpackMultiple(sub, (v: unknown, st?: number, en?: number) => {
            ok = isObj(v) && typeof v.type === 'string' && crcMatches(sub, st as number, en as number, v.crc32);
            return false;
          });
        } catch {
          ok = false;
        }
        if (ok) return s;
      }
    }
    return -1;
  }
}

// ---------------------------------------------------------------------------------------------
// file reading

const CHUNK = 1 << 20;

export interface ReadOptions {
  /** throw a UserError when the file was cut short (default: report it in `truncated`) */
  strict?: boolean;
}

/**
 * The records of a trace file, streamed. Iterate once with `for await`; afterwards `truncated`,
 * `truncatedAt`, `complete` (an end record was read) and `bytes` describe the file. `position` is
 * the file offset where the last yielded record ends.
 */
export class TraceReader implements AsyncIterable<TraceRecord> {
  truncated = false;
  truncatedAt: number | undefined;
  complete = false;
  bytes = 0;
  position = 0;
  records = 0;
  header: HeaderRecord | null = null;

  constructor(
    readonly path: string,
    private readonly opts: ReadOptions = {},
  ) {
    noteInput(path); // no output of this command may replace it
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<TraceRecord, void, undefined> {
    let fh;
    try {
      fh = await open(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserError(`${this.path}: cannot read (${code === 'ENOENT' ? 'no such file' : (code ?? String(e))})`);
    }
    try {
      const st = await fh.stat();
      const odd = notRegular(st);
      if (odd) throw new UserError(`${this.path}: ${odd}, not a trace file (a trace must be a regular file)`);
      const dec = new TraceDecoder(this.path);
      for (;;) {
        const chunk = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await fh.read(chunk, 0, CHUNK, null);
        this.bytes += bytesRead;
        if (bytesRead === 0) dec.finish();
        else {
          const got = dec.push(chunk.subarray(0, bytesRead));
          for (let i = 0; i < got.records.length; i++) {
            const r = got.records[i];
            this.records++;
            this.position = got.ends[i];
            if (r.type === 'header') this.header = r;
            if (r.type === 'end') this.complete = true;
            yield r;
          }
        }
        if (dec.error) throw dec.error;
        if (bytesRead === 0) break;
      }
      if (dec.truncated) {
        this.truncated = true;
        this.truncatedAt = dec.base;
        if (this.opts.strict) {
          throw new UserError(
            `${this.path}: cut short at byte ${dec.base} of ${this.bytes} (${this.bytes - dec.base} bytes of a partial record after the last whole one)`,
          );
        }
      }
    } finally {
      await fh.close();
    }
  }
}

/** Streams the records of a trace file (see TraceReader). */
export function readTrace(path: string, opts: ReadOptions = {}): TraceReader {
  return new TraceReader(path, opts);
}

// ---------------------------------------------------------------------------------------------
// summary

export interface TraceSummary {
  path: string;
  format: string;
  version: number;
  dtca_version: string;
  created: string;
  bytes: number;
  L: number;
  N: number;
  n_traced: number;
  /** what the run declared */
  run: HeaderRecord['run'];
  thinning: HeaderRecord['thinning'];
  records: number;
  by_type: Record<string, number>;
  sweep_records: number;
  /** distinct stages / chains / sweep indices seen in the records */
  stages: number;
  chains: number;
  sweeps: number;
  stage_list: number[];
  chain_list: number[];
  sweep_range: [number, number] | null;
  /**
   * whose clock the records' cycles are (Timeline): 'one' array's; 'arrays' (a pipeline, version 2:
   * stage k's records on array k's, every array from cycle 0); 'serial' (a version 1 pipeline: as if
   * one array ran the stages in turn, but the end record)
   */
  timeline: Timeline;
  /** last cycle and simulated time seen (a pipeline's, version 2: the latest any record reached) */
  cycle: number;
  time_s: number;
  /** run totals: from the end record, else summed from the stage records and sweep increments read */
  energy_j: EnergyByComponent;
  energy_source: 'end' | 'partial';
  /** an end record was read (status 'complete' or 'interrupted') */
  complete: boolean;
  /**
   * complete: the run finished; interrupted: the run was stopped and the trace closed (see
   * `interrupted`); truncated: the file ends inside a record (a crash, a full disk); incomplete: no
   * end record but whole records to the end (the writer stopped between records); damaged: see error.
   */
  status: 'complete' | 'interrupted' | 'truncated' | 'incomplete' | 'damaged';
  /** where and why an interrupted run stopped */
  interrupted?: { reason: string; at: { stage?: number; chain?: number; sweep?: number } };
  truncated: boolean;
  truncated_at_byte?: number;
  error?: string;
}

function addEnergy(acc: EnergyByComponent, e: EnergyByComponent): void {
  for (const [k, v] of Object.entries(e)) acc[k] = (acc[k] ?? 0) + v;
}

/**
 * Reads a whole trace and summarises it. Damage after the header is reported in `error` with the
 * counts of what read before it; a file that is not a dtca trace, a newer version or a file that
 * cannot be opened throws a UserError.
 */
export async function inspectTrace(path: string): Promise<TraceSummary> {
  const reader = readTrace(path);
  const byType: Record<string, number> = {};
  const stages = new Set<number>();
  const chains = new Set<number>();
  const sweeps = new Set<number>();
  let sweepMin = Infinity;
  let sweepMax = -Infinity;
  let cycle = 0;
  let time = 0;
  let end: EndRecord | null = null;
  const stageEnd = new Map<number, EnergyByComponent>();
  const stagePartial = new Map<number, EnergyByComponent>();
  const partial = (s: number) => {
    let e = stagePartial.get(s);
    if (!e) stagePartial.set(s, (e = {}));
    return e;
  };
  let error: string | undefined;
  try {
    for await (const r of reader) {
      byType[r.type] = (byType[r.type] ?? 0) + 1;
      if (r.type === 'header') continue;
      // a pipeline's arrays each run on their own clock: the latest any record reached
      if (!(r.cycle < cycle && reader.header && timelineOf(reader.header) === 'arrays')) {
        cycle = r.cycle;
        time = r.time_s;
      }
      if (r.type === 'sweep') {
        stages.add(r.stage);
        chains.add(r.chain);
        sweeps.add(r.sweep);
        sweepMin = Math.min(sweepMin, r.sweep);
        sweepMax = Math.max(sweepMax, r.sweep);
        addEnergy(partial(r.stage), r.energy_j);
      } else if (r.type === 'stage_begin') {
        stages.add(r.stage);
        addEnergy(partial(r.stage), r.energy_j);
      } else if (r.type === 'stage_end') {
        stages.add(r.stage);
        stageEnd.set(r.stage, r.energy_j);
      } else if (r.type === 'end') {
        end = r;
      }
    }
  } catch (e) {
    if (!(e instanceof UserError) || !reader.header) throw e;
    error = e.message;
  }
  const h = reader.header as HeaderRecord;
  let energy: EnergyByComponent;
  const finished = end !== null && (end as EndRecord).status !== 'interrupted' && (end as EndRecord).energy_j !== undefined;
  if (finished) energy = { ...(end as unknown as EndRecord).energy_j };
  else {
    energy = {};
    for (const s of new Set([...stageEnd.keys(), ...stagePartial.keys()])) addEnergy(energy, stageEnd.get(s) ?? stagePartial.get(s) ?? {});
  }
  const sweepRecords = byType.sweep ?? 0;
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
  const out: TraceSummary = {
    path,
    format: h.format,
    version: h.version,
    dtca_version: h.dtca_version,
    created: h.created,
    bytes: (await stat(path)).size,
    L: h.layout.L,
    N: h.layout.N,
    n_traced: h.n_traced,
    run: h.run,
    thinning: h.thinning,
    records: reader.records,
    by_type: byType,
    sweep_records: sweepRecords,
    stages: stages.size,
    chains: chains.size,
    sweeps: sweeps.size,
    stage_list: sorted(stages),
    chain_list: sorted(chains),
    sweep_range: sweeps.size ? [sweepMin, sweepMax] : null,
    timeline: timelineOf(h),
    cycle,
    time_s: time,
    energy_j: energy,
    energy_source: finished ? 'end' : 'partial',
    complete: end !== null,
    status:
      error !== undefined
        ? 'damaged'
        : reader.truncated
          ? 'truncated'
          : end === null
            ? 'incomplete'
            : (end as EndRecord).status === 'interrupted'
              ? 'interrupted'
              : 'complete',
    truncated: reader.truncated,
  };
  if (end !== null && (end as EndRecord).status === 'interrupted')
    out.interrupted = { reason: String((end as EndRecord).reason ?? 'unknown'), at: (end as EndRecord).at ?? {} };
  if (reader.truncated) out.truncated_at_byte = reader.truncatedAt;
  if (error !== undefined) out.error = error;
  return out;
}

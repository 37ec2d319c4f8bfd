/**
 * The binary trace writer: a TraceSink (traces/types.ts) that streams msgpack records to a file.
 *
 * Records (every one a top-level msgpack map; `type` first, `crc32` last, see traces/pack.ts):
 *   header       type, format ('dtca-trace'), version (traceVersion: 2 for a pipeline, else 1),
 *                dtca_version, created, config, model,
 *                layout {L, N, colour u8[N], visible i32, image i32, label i32, label_copies},
 *                run {chains, stages, sweeps, clock_hz, mapping, [arrays] (a pipeline's T)},
 *                thinning {every, stages|null, chains|null, cells [x0,y0,x1,y1]|null},
 *                traced_cells i32[n] (cell index of traced cell k), n_traced, state_packing, crc32
 *   stage_begin  type, stage, cycle, time_s, energy_j {component: J, total} (programming), [toggles], [cycles], crc32
 *   sweep        type, chain, stage, sweep, cycle, time_s, toggles, n_cells, states u8[ceil(n/8)],
 *                energy_j {component: J, total} (this sweep's increment), crc32
 *   stage_end    type, stage, cycle, time_s, energy_j (the stage's totals), [toggles], [cycles], crc32
 *   end          type, status 'complete', cycle, time_s, cell_updates, toggles, energy_j (run totals),
 *                records, sweep_records (written before it), crc32
 *                or, when the run was stopped: type, status 'interrupted', reason (e.g. 'SIGINT'),
 *                at {stage, chain, sweep} (where it stopped), cycle, time_s (the last written),
 *                records, sweep_records, crc32 (no run totals: the run did not finish)
 *
 * Time: every record's cycle and time_s are chip time from the run's start. One array (version 1):
 * one clock, never going back. A pipeline (version 2): stage k's records are array k's time (all
 * arrays start at cycle 0 together), never going back within a stage; a complete end record's cycle
 * is the run's (the last stage_end's), at or after every record's.
 *
 * Thinning (TraceOptions):
 *   every N   records sweeps N-1, 2N-1, ... of each chain and stage (sweep indices start at 0) and
 *             always the stage's last sweep (run.sweeps - 1); every 1 (the default) records all.
 *   stages    only these stages: their stage_begin, sweep and stage_end records (header and end are
 *             always written).
 *   chains    only these chains' sweep records.
 *   cells     inclusive rectangle [x0, y0, x1, y1]: only those cells' states are stored, row-major
 *             (y outer, x inner); header.traced_cells lists their cell indices (y*L + x).
 *
 * Durability: records go into a ~1 MiB buffer that is written to the file (every write checked for
 * a short count) when it fills, when a second has passed since the last write, after the header
 * and after each stage, and on process exit. A new trace is created at its own name, exclusively
 * (O_EXCL: nothing else writes it), and written in place, so a process killed outright (SIGKILL,
 * a crash, a power cut) leaves NAME readable up to its last whole record, and readers report the
 * cut. close() writes the end record and fsyncs; interrupt() writes an end record with status
 * "interrupted"; fail() after a write error (a full disk) keeps what reached the file. Only a
 * trace that replaces an existing trace is written under a temporary name (NAME.tmp-PID-N) and
 * renamed over it at the end, so the old trace stays whole until then. A writer that is dropped
 * before its header (a refused run) removes its file: abort().
 *
 * Threads: by default the records are encoded and written on a writer thread (traces/ring.ts says
 * how, and how each rule above holds across it); this thread keeps the thinning, the counts and
 * the file's life, and copies each sweep's fields into a ring. The bytes are the same either way.
 */
import { UserError, OptionError } from '../fabric/errors.js';
import { shown } from '../fabric/rules.js';
import { SafeFile } from '../fabric/files.js';
import { counter, encodeRecord, makePackr, packStates, toPlain, typedDict, unpackSpins } from './pack.js';
import { RecordBuffer, RingProducer, traceWorkerUrl } from './ring.js';
import { newSweepFields, putBatchRecords, type BatchLayout } from './sweep-record.js';
import {
  TRACE_FORMAT,
  traceVersion,
  type EndInfo,
  type EnergyByComponent,
  BATCH_FIELDS,
  type StageInfo,
  type SweepBatch,
  type SweepInfo,
  type TraceHeader,
  type TraceOptions,
  type TraceSink,
} from './types.js';

export type { TraceOptions } from './types.js';

/** Where the records are encoded and written (not part of the trace: the file is the same either way). */
export interface TraceThreadOptions {
  /**
   * true (the default): on a writer thread (traces/ring.ts) when dist/trace-worker.js is there, the
   * caller only copying each sweep's fields into a ring; false: in the caller's thread. The
   * environment variable DTCA_TRACE_THREAD=0 makes the default false.
   */
  thread?: boolean;
  /** the ring's size in bytes (a power of two >= 4096; tests use a tiny one) */
  ringBytes?: number;
  /** the writer thread's entry (tests: one that never starts); default dist/trace-worker.js */
  workerUrl?: URL;
  /** how messages about the file name it: by default the path argument, 'path "run/t.dtct"'; dtca run's is its flag, --trace */
  label?: string;
}

export const STATE_PACKING = 'bit k of traced cell k at byte k>>3, bit k&7 (little-endian bit order); 1 = spin +1';

function intList(name: string, v: unknown): number[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new OptionError(name, shown(v), 'must be a non-empty list of integers >= 0');
  }
  return [...new Set(v as number[])].sort((a, b) => a - b);
}

/** Checks trace options that do not depend on the run (the rest is checked when the header arrives). */
export function checkTraceOptions(opts: TraceOptions): void {
  if (opts.every !== undefined && (!Number.isInteger(opts.every) || opts.every < 1)) {
    throw new OptionError('every', opts.every, 'must be an integer >= 1');
  }
  intList('stages', opts.stages);
  intList('chains', opts.chains);
  if (opts.cells !== undefined) {
    const c = opts.cells;
    if (!Array.isArray(c) || c.length !== 4 || !c.every((x) => Number.isInteger(x) && x >= 0)) {
      throw new OptionError('cells', shown(c), 'must be four integers [x0, y0, x1, y1] >= 0');
    }
    if (c[2] < c[0] || c[3] < c[1]) throw new OptionError('cells', JSON.stringify(c), 'need x0 <= x1 and y0 <= y1');
  }
}

/**
 * Which sweep records the thinning options keep (the writer's rule, and a worker thread's that relays
 * its records to it: traces/relay.ts): only `stages`, only `chains`, and of each chain and stage every
 * Nth sweep and always the last (`sweeps` per stage).
 */
export class SweepFilter {
  readonly every: number;
  readonly stageSet: Set<number> | null;
  readonly chainSet: Set<number> | null;
  private lastSweep: number;

  constructor(opts: TraceOptions, sweeps = 0) {
    checkTraceOptions(opts);
    this.every = opts.every ?? 1;
    const st = intList('stages', opts.stages);
    const ch = intList('chains', opts.chains);
    this.stageSet = st && new Set(st);
    this.chainSet = ch && new Set(ch);
    this.lastSweep = sweeps - 1;
  }

  /** the sweeps per stage (the header's run.sweeps) */
  set sweeps(n: number) {
    this.lastSweep = n - 1;
  }

  wants(chain: number, stage: number, sweep: number): boolean {
    if (this.stageSet && !this.stageSet.has(stage)) return false;
    if (this.chainSet && !this.chainSet.has(chain)) return false;
    return (sweep + 1) % this.every === 0 || sweep === this.lastSweep;
  }

  /** whether a stage's stage_begin and stage_end records are kept */
  wantsStage(stage: number): boolean {
    return !this.stageSet || this.stageSet.has(stage);
  }
}

/** "x0,y0,x1,y1" -> the rectangle (for CLI flags). */
export function parseCellRect(s: string, flag?: string): [number, number, number, number] {
  const parts = s.split(',').map((p) => p.trim());
  const v = parts.map(Number);
  // a flag's value is named as typed (--trace-cells 3,3,1,1: ...), as parseIndexList names its flag
  const what = flag === undefined ? `trace cells '${s}'` : `${flag} ${s}`;
  if (parts.length !== 4 || parts.some((p) => p === '') || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new UserError(`${what}: expected x0,y0,x1,y1 (four integers >= 0)`);
  }
  const r = v as [number, number, number, number];
  if (r[2] < r[0] || r[3] < r[1]) throw new UserError(`${what}: need x0 <= x1 and y0 <= y1 (the corners x0,y0,x1,y1 of the rectangle)`);
  checkTraceOptions({ cells: r });
  return r;
}

/** "0,2,5" or "0-3,7" -> sorted unique integers (for CLI flags). */
/** the largest index an index list may name (an i32), and how many it may name in all */
export const MAX_INDEX = 2 ** 31 - 1;
export const MAX_INDICES = 2 ** 22;

export function parseIndexList(name: string, s: string): number[] {
  const out: number[] = [];
  let count = 0;
  for (const part of s.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UserError(`${name} '${shown(s)}': expected integers and ranges like 0,2,5-7`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new UserError(`${name} '${shown(s)}': range ${part} runs backwards`);
    // counted before anything is expanded: 0-99999999999 is a typo, not a list to build
    if (b > MAX_INDEX) throw new UserError(`${name} '${shown(s)}': index ${m[2] ?? m[1]} is too large (at most ${MAX_INDEX})`);
    count += b - a + 1;
    if (count > MAX_INDICES) throw new UserError(`${name} '${shown(s)}': more than ${MAX_INDICES} indices`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return [...new Set(out)].sort((x, y) => x - y);
}

function energyPlain(e: EnergyByComponent): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(e)) out[k] = v;
  return out;
}

function stageRecord(type: 'stage_begin' | 'stage_end', r: StageInfo): Record<string, unknown> {
  const rec: Record<string, unknown> = {
    type,
    stage: r.stage,
    cycle: counter(r.cycle),
    time_s: r.time_s,
    energy_j: energyPlain(r.energy_j),
  };
  if (r.toggles !== undefined) rec.toggles = counter(r.toggles);
  if (r.cycles !== undefined) rec.cycles = counter(r.cycles);
  return rec;
}

/** Where a run stopped, for the end record of an interrupted trace. */
export interface InterruptInfo {
  /** what stopped it, e.g. 'SIGINT' */
  reason: string;
  /** the last position reached, as far as the run knows it */
  at?: { stage?: number; chain?: number; sweep?: number };
}

export class TraceWriter implements TraceSink {
  private file: SafeFile | null;
  private readonly packr = makePackr();
  /** the records' output: a writer thread's ring, or a buffer in this thread */
  private readonly ring: RingProducer | null = null;
  private readonly out: RecordBuffer | null = null;
  private readonly filter: SweepFilter;
  private cells: Int32Array | null = null;
  private nTraced = 0;
  /** the grid's cells (header), and their spins unpacked from a batch's bytes when only some are traced */
  private N = 0;
  private spinsScratch = new Float64Array(0);
  private records = 0;
  private sweepRecords = 0;
  private haveHeader = false;
  private ended = false;
  /** the last cycle and time written (for an interrupted end record) */
  private lastCycle = 0;
  private lastTime = 0;
  private lastStage: number | undefined;
  private lastChain: number | undefined;
  private lastSweepAt: number | undefined;
  private readonly onExit = () => this.flushQuietly();

  constructor(
    readonly path: string,
    private readonly opts: TraceOptions,
    how: TraceThreadOptions = {},
  ) {
    this.filter = new SweepFilter(opts);
    const file = new SafeFile(path, { label: how.label ?? `path ${JSON.stringify(path)}`, kind: 'trace', inPlace: true });
    this.file = file;
    this.finalPath = file.finalPath;
    const url = (how.thread ?? process.env.DTCA_TRACE_THREAD !== '0') ? (how.workerUrl ?? traceWorkerUrl()) : null;
    try {
      if (url) this.ring = new RingProducer(file, url, { ringBytes: how.ringBytes });
      else this.out = new RecordBuffer((b, n) => file.write(b, 0, n));
    } catch (e) {
      file.abort();
      throw e;
    }
    process.on('exit', this.onExit);
  }

  /** the thinning options (TraceSink.thinning) */
  get thinning(): TraceOptions {
    return this.opts;
  }

  /** Whether a writer thread encodes and writes the records (false: this thread does). */
  get threaded(): boolean {
    return this.ring?.threaded ?? false;
  }

  /** Resolves true once the writer thread runs (false without one, or when it did not start in time). */
  async threadStarted(): Promise<boolean> {
    return this.ring ? this.ring.whenStarted() : false;
  }

  /** Who encoded and wrote the records: the writer thread, or this thread (no writer thread, or one taken over before it started). */
  get writtenBy(): 'writer thread' | 'calling thread' {
    return this.ring && !this.ring.stats.takenOver ? 'writer thread' : 'calling thread';
  }

  /** How often this thread waited for room in the ring (back-pressure), and whether it took the ring over; null without a ring. */
  get ringStats(): { waits: number; takenOver: boolean } | null {
    return this.ring ? this.ring.stats : null;
  }

  /** The final path of the trace (written in place, or under a temporary name when it replaces a trace). */
  readonly finalPath: string;

  header(h: TraceHeader): void {
    if (this.haveHeader) throw new Error('trace writer: header written twice');
    const { L, N } = h.layout;
    this.N = N;
    const c = this.opts.cells;
    if (c) {
      if (c[2] >= L || c[3] >= L) throw new UserError(`trace cells ${c.join(',')}: outside the ${L}x${L} grid`);
      const w = c[2] - c[0] + 1;
      const cells = new Int32Array(w * (c[3] - c[1] + 1));
      let k = 0;
      for (let y = c[1]; y <= c[3]; y++) for (let x = c[0]; x <= c[2]; x++) cells[k++] = y * L + x;
      this.cells = cells;
      this.nTraced = cells.length;
    } else {
      this.nTraced = N;
    }
    const { stageSet, chainSet, every } = this.filter;
    for (const s of stageSet ?? []) {
      if (s >= h.run.stages) throw new UserError(`trace stages: stage ${s} does not exist (the run has ${h.run.stages})`);
    }
    for (const s of chainSet ?? []) {
      if (s >= h.run.chains) throw new UserError(`trace chains: chain ${s} does not exist (the run has ${h.run.chains})`);
    }
    this.filter.sweeps = h.run.sweeps;
    const traced = this.cells ?? Int32Array.from({ length: N }, (_, i) => i);
    this.haveHeader = true;
    this.put(
      {
        type: 'header',
        format: TRACE_FORMAT,
        version: traceVersion(h.run.mapping),
        dtca_version: h.dtca_version,
        created: h.created,
        config: toPlain(h.config),
        model: toPlain(h.model),
        layout: {
          L,
          N,
          colour: typedDict(h.layout.colour),
          visible: typedDict(h.layout.visible),
          image: typedDict(h.layout.image),
          label: typedDict(h.layout.label),
          label_copies: h.layout.label_copies,
        },
        run: { ...h.run },
        thinning: {
          every,
          stages: stageSet ? [...stageSet] : null,
          chains: chainSet ? [...chainSet] : null,
          cells: c ? [...c] : null,
        },
        traced_cells: typedDict(traced),
        n_traced: this.nTraced,
        state_packing: STATE_PACKING,
      },
      true,
    );
  }

  wantsSweep(chain: number, stage: number, sweep: number): boolean {
    return this.filter.wants(chain, stage, sweep);
  }

  sweep(r: SweepInfo): void {
    this.need('sweep');
    if (!this.wantsSweep(r.chain, r.stage, r.sweep)) return;
    const states = r.packed && this.cells === null ? r.packed : packStates(r.spins, this.cells, this.nTraced);
    this.sweepRecords++;
    this.lastCycle = r.cycle;
    this.lastTime = r.time_s;
    this.lastStage = r.stage;
    this.lastChain = r.chain;
    this.lastSweepAt = r.sweep;
    // the same bytes encodeRecord makes of {type: 'sweep', chain, ..., energy_j}, encoded straight into the buffer (here or on the writer thread)
    const f = this.fields;
    f.chain = r.chain;
    f.stage = r.stage;
    f.sweep = r.sweep;
    f.cycle = r.cycle;
    f.time_s = r.time_s;
    f.toggles = r.toggles;
    f.n_cells = this.nTraced;
    f.states = states;
    if (r.energy) {
      f.energyNames = r.energy.names as string[];
      f.energyValues = r.energy.values;
      f.energyAt = r.energy.at;
    } else {
      if (!r.energy_j) throw new Error('trace sweep record: no energy_j or energy');
      f.energy_j = r.energy_j;
      f.energyValues = undefined;
    }
    this.records++;
    if (this.ring) this.ring.sweep(f);
    else (this.out as RecordBuffer).putSweep(f);
  }

  /**
   * Many sweep records at once: the records sweep() would write for them, one by one, in the same
   * order. Every cell traced and every record wanted: handed to the writer thread whole (one copy
   * per batch, the records encoded there); otherwise record by record through sweep().
   */
  sweeps(b: SweepBatch): void {
    this.need('sweep');
    const { n, slots, names, fields, packed, bytes } = b;
    const per = BATCH_FIELDS + names.length;
    let whole = this.cells === null && bytes === (this.nTraced + 7) >> 3;
    for (let k = 0; k < n && whole; k++) for (let j = 0; j < slots && whole; j++) whole = this.wantsSweep(b.first + k, b.stage, fields[(k * slots + j) * per]);
    const layout: BatchLayout = { stage: b.stage, first: b.first, n, slots, n_cells: this.nTraced, names: names as string[], bytes };
    if (!whole) {
      // record by record through sweep(), which keeps what the options keep
      const energy = { names, values: fields, at: 0 };
      const r: SweepInfo = { chain: 0, stage: b.stage, sweep: 0, cycle: 0, time_s: 0, spins: new Float64Array(0), packed: undefined, toggles: 0, energy };
      putBatchRecords(newSweepFields(), layout, fields, 0, packed, 0, 0, n, (f) => {
        r.chain = f.chain;
        r.sweep = f.sweep;
        r.cycle = f.cycle;
        r.time_s = f.time_s;
        r.toggles = f.toggles;
        energy.at = f.energyAt!;
        r.packed = f.states;
        if (this.cells !== null) r.spins = this.unpacked(f.states);
        this.sweep(r);
      });
      return;
    }
    if (n === 0 || slots === 0) return;
    const last = ((n - 1) * slots + slots - 1) * per;
    this.sweepRecords += n * slots;
    this.records += n * slots;
    this.lastCycle = fields[last + 1];
    this.lastTime = fields[last + 2];
    this.lastStage = b.stage;
    this.lastChain = b.first + n - 1;
    this.lastSweepAt = fields[last];
    if (this.ring) this.ring.sweepBatch(layout, fields, packed);
    else putBatchRecords(this.fields, layout, fields, 0, packed, 0, 0, n, (f) => (this.out as RecordBuffer).putSweep(f));
  }

  /** every cell's spin (+-1) of packed bytes, in one scratch array */
  private unpacked(p: Uint8Array): Float64Array {
    if (this.spinsScratch.length !== this.N) this.spinsScratch = new Float64Array(this.N);
    return unpackSpins(p, this.N, this.spinsScratch);
  }

  /** the sweep record's fields, reused (the encoder reads them and keeps nothing) */
  private readonly fields = newSweepFields();

  stageBegin(r: StageInfo): void {
    this.need('stage_begin');
    if (!this.filter.wantsStage(r.stage)) return;
    this.lastCycle = r.cycle;
    this.lastTime = r.time_s;
    this.put(stageRecord('stage_begin', r));
  }

  stageEnd(r: StageInfo): void {
    this.need('stage_end');
    if (!this.filter.wantsStage(r.stage)) return;
    this.lastCycle = r.cycle;
    this.lastTime = r.time_s;
    this.put(stageRecord('stage_end', r), true);
  }

  end(r: EndInfo): void {
    this.need('end');
    this.ended = true;
    this.put({
      type: 'end',
      status: 'complete',
      cycle: counter(r.cycle),
      time_s: r.time_s,
      cell_updates: counter(r.cell_updates),
      toggles: counter(r.toggles),
      energy_j: energyPlain(r.energy_j),
      records: this.records,
      sweep_records: this.sweepRecords,
    });
  }

  /**
   * The run was stopped (a signal): write an end record with status "interrupted", the reason and
   * where the run was, the last cycle and time written, and the records written so far; then
   * close (the caller still calls close(), which renames the file into place).
   */
  interrupt(info: InterruptInfo): void {
    if (this.file === null || !this.file.open || this.ended) return;
    if (!this.haveHeader) return;
    this.ended = true;
    this.put({
      type: 'end',
      status: 'interrupted',
      reason: info.reason,
      at: { ...this.lastAtOf(), ...(info.at ?? {}) },
      cycle: counter(this.lastCycle),
      time_s: this.lastTime,
      records: this.records,
      sweep_records: this.sweepRecords,
    });
  }

  /**
   * Every record handed over so far written to the file before this returns (the writer thread's
   * sync; no fsync): for a caller that times its own work between records (dtca bench --ratios).
   * A writer thread's error (a full disk) is thrown.
   */
  settle(): void {
    if (this.file === null) return;
    if (this.ring) {
      this.ring.syncFlush();
      this.ring.check();
    } else this.out?.flush();
  }

  /** Flush, fsync, close and rename the trace into place (a writer that never wrote its header: abort()). */
  async close(): Promise<void> {
    const f = this.file;
    if (f === null) return;
    if (!this.haveHeader) {
      this.abort();
      return;
    }
    process.off('exit', this.onExit);
    try {
      if (this.ring) this.ring.finish();
      else (this.out as RecordBuffer).flush();
      f.commit();
    } catch (e) {
      this.fail();
      throw e;
    } finally {
      this.file = null;
    }
  }

  /**
   * After an error: keep what reached the file (renamed into place, it reads to its last whole
   * record), or remove the file when not even the header was written (a refused run).
   */
  fail(): void {
    const f = this.file;
    if (f === null) return;
    process.off('exit', this.onExit);
    this.file = null;
    // what is left in the buffer (or the ring) did not fit on the disk; the writer thread stops before the file is touched
    this.ring?.halt();
    this.out?.drop();
    try {
      if (!this.haveHeader || f.bytes === 0) {
        f.abort();
        return;
      }
      f.commit();
    } catch {
      /* it stays under its temporary name, readable the same way */
    }
  }

  /** Drop the trace: remove the temporary file (nothing is left at the final path). */
  abort(): void {
    const f = this.file;
    if (f === null) return;
    process.off('exit', this.onExit);
    this.file = null;
    this.ring?.halt();
    f.abort();
  }

  /** where the last sweep record was ({} before any) */
  private lastAtOf(): InterruptInfo['at'] {
    return this.lastChain === undefined ? {} : { stage: this.lastStage, chain: this.lastChain, sweep: this.lastSweepAt };
  }

  /** Sweep records written so far. */
  get sweepRecordsWritten(): number {
    return this.sweepRecords;
  }

  private need(what: string): void {
    if (!this.haveHeader) throw new Error(`trace writer: ${what} before header`);
    if (this.ended) throw new Error(`trace writer: ${what} after end`);
    if (this.file === null) throw new Error(`trace writer: ${what} after close`);
  }

  /** One record (encoded here: records other than sweeps are few) to the output, flushed after it when asked. */
  private put(rec: Record<string, unknown>, flush = false): void {
    if (this.file === null) throw new Error('trace writer: write after close');
    const b = encodeRecord(this.packr, rec);
    this.records++;
    if (this.ring) this.ring.bytes(b, flush);
    else {
      const out = this.out as RecordBuffer;
      out.putBytes(b);
      if (flush) out.flush();
    }
  }

  private flushQuietly(): void {
    try {
      if (this.file === null) return;
      if (this.ring) this.ring.syncFlush();
      else this.out?.flush();
    } catch {
      /* process is exiting; nothing more to do */
    }
  }
}

/**
 * A trace writer for `path`: checks the path (fabric/files.ts: never over an input, a device, a
 * FIFO, a directory, or a file that is not a dtca trace) and opens a temporary file beside it.
 */
export function openTraceWriter(path: string, opts: TraceOptions = {}, how: TraceThreadOptions = {}): TraceWriter {
  return new TraceWriter(path, opts, how);
}

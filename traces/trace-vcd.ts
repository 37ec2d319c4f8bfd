/**
 * A trace as waveforms: `dtca trace export FILE --vcd OUT.vcd` (traces/vcd.ts writes the VCD).
 *
 * Signals (scope dtca):
 *   clk       the chip clock: rising edge at the start of every cycle, high for the first half
 *   phase     the colour being sampled: 0 during colour 0's phase of a sweep, 1 during colour 1's,
 *             z (not driven) outside sweeps (programming, clamping, initialisation, readout)
 *   stage     the DTM stage on the array, from its stage records (from the end of the previous
 *             traced stage, or from the end of its programming), z outside traced stages
 * A pipeline trace (version 2) is drawn one array at a time (pipelineArray: --stages K): the
 * signals are array K's, on its own clock, from cycle 0 (every array is programmed at once) to the
 * run's end; the stage signal holds K from cycle 0 to the stage's end.
 *   chain     the image (chain) on the array, from its initialisation cycle to the end of its
 *             readout, for traced chains
 *   sweep     the sweep index during each sweep of a traced chain and stage, z between sweeps
 *   cells.xX_yY  the chosen cells' spins (1 = +1, 0 = -1), cell y*L + x (see CELLS_SCOPE)
 * Timing, from the trace header: the clock is run.clock_hz (the clock the run used; the readers
 * refuse a header whose config names another), a sweep is 2 x the config's clock.phase_cycles cycles; a sweep
 * record's cycle is the end of its sweep; colour 0's cells latch at the rising edge that ends
 * colour 0's phase, colour 1's at the edge that ends the sweep (the record's cycle). The timescale
 * is the coarsest VCD unit in which half a clock period is a whole number of ticks.
 *
 * A cell's value is known from its latch in a recorded sweep to its next latch; with a thinned
 * trace (--trace-every N) the sweeps in between show x (unknown) for the spins while the clock,
 * phase and sweep counter still run. After a chain's last sweep its spins hold through the readout.
 * Before writing, the exporter estimates the file size from a first pass over the trace (sweep
 * records, cycles, and the toggle rate of the chosen cells in the first records) and refuses,
 * naming the size and how to thin it, when the estimate exceeds the limit.
 */
import { UserError, Interrupted } from '../fabric/errors.js';
import { shown } from '../fabric/rules.js';
import { cellXY } from '../fabric/fabric.js';
import { readTrace, timelineOf, unpackStates, type HeaderRecord, type SweepRecord } from './reader.js';
import { chooseTimescale, formatTimescale, idCode, VcdWriter, type Timescale, type VcdVar } from './vcd.js';

/**
 * Where a cell's signals go in a dtca VCD, the same in `trace export --vcd` and `dtca probe`, so a
 * cell reads alike in both files: scope dtca.cells, and the cell named by its grid position,
 * x<column>_y<row> (fabric/fabric.ts cellXY). The trace export's spin is the variable
 * dtca.cells.x3_y5; the probe's spin, node voltage and RNG P(1) are variables of the scope
 * dtca.cells.x3_y5 (spin, v_node, rng_p1).
 */
export const CELLS_SCOPE: readonly string[] = ['dtca', 'cells'];

/** A cell's name in CELLS_SCOPE: "x3_y5" for cell 5L + 3 of an L x L grid. */
export function cellVcdName(i: number, L: number): string {
  const { x, y } = cellXY(i, L);
  return `x${x}_y${y}`;
}

export interface VcdExportOptions {
  /** cell indices (y*L + x) to show; default every traced cell */
  cells?: number[];
  /** 'visible': the traced visible cells */
  visible?: boolean;
  stages?: number[];
  chains?: number[];
  /** write the clock (default true); without it the file is much smaller for long runs */
  clock?: boolean;
  /** refuse when the estimate exceeds this (default 256 MiB) */
  maxBytes?: number;
  /** $date text (default: the trace header's creation time) */
  date?: string;
  version?: string;
  /** how messages name the output (default: its path), e.g. "--vcd out.vcd" */
  label?: string;
  /**
   * asked before every record of both passes (the reads between chunks give the event loop its
   * turns, where a signal handler runs): once true, the export ends with an Interrupted and its
   * temporary file removed; nothing is written
   */
  stop?: () => boolean;
}

/** the export stopped by its `stop` option */
function stopped(): Interrupted {
  return new Interrupted({}, 'stop requested');
}

export interface VcdExportResult {
  path: string;
  bytes: number;
  estimate: number;
  cells: number;
  records: number;
  cycles: number;
  timescale: Timescale;
  /** the trace was cut short: where its whole records end, of its bytes (null: whole) */
  truncated: { at: number | undefined; bytes: number } | null;
}

export const DEFAULT_VCD_MAX_BYTES = 256 * 1024 * 1024;

const bitsFor = (n: number) => Math.max(1, Math.ceil(Math.log2(Math.max(2, n))));

function mb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

interface Plan {
  header: HeaderRecord;
  /** a pipeline trace (version 2): the one stage (array) drawn, on its own clock; null: one array's trace */
  array: number | null;
  /** columns of the chosen cells in the packed states, and their cell indices */
  cols: number[];
  cellIdx: number[];
  colour: number[];
  K: number;
  phaseCycles: number;
  readCycles: number;
  clockHz: number;
  lastCycle: number;
  records: number;
  segments: number;
  estimate: number;
  toggleRate: number;
}

function cfgNumber(config: unknown, path: string): number | undefined {
  let v: unknown = config;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

const wantRec = (o: VcdExportOptions, r: { stage: number; chain: number }) =>
  (!o.stages || o.stages.includes(r.stage)) && (!o.chains || o.chains.includes(r.chain));

/**
 * A pipeline trace's one stage to draw, or null for a trace on one clock. A version 2 pipeline's
 * stages run at once on T arrays, each stage's records on its array's clock (every array from
 * cycle 0): one VCD timeline holds one array, chosen by --stages (or the trace's only traced
 * stage); anything else is refused, as is a version 1 pipeline trace, whose records count cycles
 * as if one array ran the stages in turn (a timeline the run did not have).
 */
function pipelineArray(file: string, h: HeaderRecord, o: VcdExportOptions): number | null {
  const timeline = timelineOf(h);
  if (timeline === 'one') return null;
  const T = h.run.stages;
  if (timeline === 'serial') {
    throw new UserError(
      `trace export --vcd: ${file} is a version 1 pipeline trace, whose stage and sweep records count cycles as if one array ran the ${T} stages in turn (the run took fewer): no true timeline to draw; trace the run again with this dtca, or use --csv / --npy`,
    );
  }
  const traced = h.thinning.stages ?? Array.from({ length: T }, (_, k) => k);
  const chosen = o.stages ? traced.filter((k) => o.stages!.includes(k)) : traced;
  if (chosen.length === 1) return chosen[0];
  // none chosen: the usual "no sweep record for stages ..." follows
  if (chosen.length === 0) return o.stages?.[0] ?? 0;
  throw new UserError(
    `trace export --vcd: ${file} is a pipeline trace: its stages run at once on ${T} arrays (stage k on array k, each on its own clock), and one VCD timeline draws one array: choose it with --stages K (one of ${chosen.join(',')}), or use --csv / --npy for every stage`,
  );
}

/** Pass 1: header, the chosen cells, the counts and a size estimate. */
async function plan(file: string, o: VcdExportOptions): Promise<Plan> {
  const reader = readTrace(file);
  let header: HeaderRecord | null = null;
  let cols: number[] = [];
  let cellIdx: number[] = [];
  let array: number | null = null;
  let lastCycle = 0;
  let records = 0;
  let segments = 0;
  let prevKey = '';
  let prevSweep = -2;
  let sampled = 0;
  let flips = 0;
  let compared = 0;
  let prevStates: Uint8Array | null = null;
  for await (const r of reader) {
    if (o.stop?.()) throw stopped();
    if (r.type === 'header') {
      header = r;
      const traced = Array.from(r.traced_cells);
      const colOf = new Map<number, number>();
      traced.forEach((c, k) => colOf.set(c, k));
      let want: number[];
      if (o.visible) want = Array.from(r.layout.visible).filter((c) => colOf.has(c));
      else if (o.cells) {
        want = o.cells;
        for (const c of want) {
          if (c >= r.layout.N) throw new UserError(`--cells: cell ${c} is outside the grid (0..${r.layout.N - 1}, index = y*L + x with L = ${r.layout.L})`);
          if (!colOf.has(c))
            throw new UserError(
              `--cells: cell ${c} (x=${c % r.layout.L}, y=${Math.floor(c / r.layout.L)}) is not in the trace (it traces ${traced.length} cells${r.thinning.cells ? `, the rectangle ${r.thinning.cells.join(',')}` : ''})`,
            );
        }
      } else want = traced;
      if (want.length === 0) throw new UserError('--cells: no cell to show');
      cellIdx = [...new Set(want)].sort((a, b) => a - b);
      cols = cellIdx.map((c) => colOf.get(c)!);
      array = pipelineArray(file, r, o);
      continue;
    }
    // the end of the drawing: the run's (the end record's), or where the last record drawn ends;
    // a pipeline's other arrays run on their own clocks
    if (array === null || r.type === 'end' || r.stage === array) lastCycle = Math.max(lastCycle, r.cycle);
    if (r.type !== 'sweep' || !wantRec(o, r)) continue;
    records++;
    const key = `${r.chain}/${r.stage}`;
    const contiguous = key === prevKey && r.sweep === prevSweep + 1;
    if (!contiguous) segments++;
    if (sampled < 256) {
      const st = unpackStates(r);
      if (contiguous && prevStates) {
        for (const k of cols) if (st[k] !== prevStates[k]) flips++;
        compared += cols.length;
      }
      prevStates = st;
      sampled++;
    }
    prevKey = key;
    prevSweep = r.sweep;
  }
  if (!header) throw new UserError(`${file}: no header record`);
  const config = header.config;
  const phaseCycles = cfgNumber(config, 'clock.phase_cycles');
  // the clock the run used: the header's run.clock_hz (the readers refuse a header whose config
  // names another: both are written from the run's resolved config)
  const clockHz = header.run.clock_hz;
  if (phaseCycles === undefined) throw new UserError(`${file}: the trace header's config has no clock.phase_cycles`);
  // the timing comes from the header: values no config could hold would make times that are not
  // VCD times (#5e+297) or a clock that never ticks; the ranges are the config schema's
  const inRange = (what: string, v: unknown, min: number, max: number, integer: boolean) => {
    if (typeof v !== 'number' || !(v >= min && v <= max) || (integer && !Number.isInteger(v))) {
      throw new UserError(
        `${file}: the trace header's ${what} is ${shown(v)}, not ${integer ? 'an integer' : 'a number'} from ${min} to ${max}; is the trace damaged?`,
      );
    }
  };
  inRange('clock.phase_cycles', phaseCycles, 1, 1e6, true);
  inRange('run.clock_hz', clockHz, 1e-3, 1e15, false);
  const readBits = cfgNumber(config, 'io.readout_bits_per_cycle');
  if (readBits !== undefined) inRange('io.readout_bits_per_cycle', readBits, 1, 2 ** 31, true);
  const readCycles = readBits ? Math.ceil(header.layout.visible.length / readBits) : 0;
  const n = cols.length;
  const toggleRate = compared > 0 ? flips / compared : 0.5;
  const idLen = idCode(n + 8).length;
  const { ticks } = chooseTimescale(1 / (2 * clockHz));
  const tickDigits = String(lastCycle * 2 * ticks).length + 2;
  const line = idLen + 2;
  const clock = o.clock === false ? 0 : 2 * lastCycle * (tickDigits + line);
  // per record: up to 3 time stamps (2 latch edges, the sweep end) with phase and sweep changes;
  // the spins that change; per segment the spins going to x and back
  const perRecord = 3 * tickDigits + 4 * (line + 12) + n * toggleRate * line;
  const estimate = Math.round(120 * (n + 8) + clock + records * perRecord + segments * 2 * n * line);
  return {
    header,
    array,
    cols,
    cellIdx,
    colour: cellIdx.map((c) => header!.layout.colour[c]),
    K: header.run.sweeps,
    phaseCycles,
    readCycles,
    clockHz,
    lastCycle,
    records,
    segments,
    estimate,
    toggleRate,
  };
}

/** Writes a trace's waveforms as VCD; refuses (UserError) when the estimated size exceeds the limit. */
export async function exportVcd(file: string, out: string, o: VcdExportOptions = {}): Promise<VcdExportResult> {
  const p = await plan(file, o);
  const maxBytes = o.maxBytes ?? DEFAULT_VCD_MAX_BYTES;
  const h = p.header;
  if (p.records === 0) {
    const what = [o.stages ? `stages ${o.stages.join(',')}` : '', o.chains ? `chains ${o.chains.join(',')}` : ''].filter(Boolean).join(', ');
    throw new UserError(`${file}: no sweep record${what ? ` for ${what}` : ''} to export`);
  }
  if (p.estimate > maxBytes) {
    throw new UserError(
      `trace export --vcd: the VCD would be about ${mb(p.estimate)} (${p.cols.length.toLocaleString('en-US')} cells x ${p.records.toLocaleString('en-US')} sweep records, ` +
        `${p.lastCycle.toLocaleString('en-US')} clock cycles), over the limit of ${Number((maxBytes / 1048576).toPrecision(4))} MiB (--max-mb); thin it: fewer cells (--cells 0-63 or --cells visible), ` +
        `stages (--stages 0), chains (--chains 0), no clock (--no-clock), or raise --max-mb`,
    );
  }
  const { timescale, ticks: half, exact } = chooseTimescale(1 / (2 * p.clockHz));
  // half a period in whole ticks: rounded to 1 fs (a VCD's finest) it must stay within 1e-4, or every
  // time in the file is stretched (at 1e15 Hz, half of 1 fs became 1 fs: the clock drawn at half its rate)
  const halfS = 1 / (2 * p.clockHz);
  if (!exact && Math.abs(half * 1e-15 - halfS) > 1e-4 * halfS)
    throw new UserError(
      `trace export --vcd: clock.clock_hz = ${p.clockHz} has a half period of ${Number((halfS / 1e-15).toPrecision(4))} fs, which a VCD (whole ticks of at least 1 fs) cannot time within 0.01 %; the trace's cycles and time_s (--csv or --npy) hold its timing`,
    );
  const P = 2 * half; // ticks per cycle
  const pc = p.phaseCycles;
  const SW = 2 * pc;
  const L = h.layout.L;
  const w = new VcdWriter(out, {
    timescale,
    // the trace's creation time, so exporting one trace twice gives the same bytes
    date: o.date ?? (h.created ? `${h.created} (trace created)` : 'not recorded (the trace records no creation time)'),
    version: o.version ?? `dtca (trace format ${h.format} v${h.version}, written by dtca ${h.dtca_version})`,
    comment:
      `from ${file}: ${h.run.chains} chains x ${h.run.stages} stages x ${h.run.sweeps} sweeps at ${p.clockHz} Hz, ${pc} cycle(s) per colour phase; spins 1 = +1` +
      (p.array === null ? '' : `; a pipeline of ${h.run.stages} arrays: array ${p.array} (stage ${p.array}), on its own clock from cycle 0 to the run's end`),
    maxBytes: 2 * maxBytes + (1 << 20),
    label: o.label,
  });
  try {
    const clk = o.clock === false ? null : w.declare({ scope: ['dtca'], name: 'clk', type: 'wire', initial: 0 });
    const phase = w.declare({ scope: ['dtca'], name: 'phase', type: 'wire', initial: 'z' });
    const stage = w.declare({ scope: ['dtca'], name: 'stage', type: 'reg', width: bitsFor(h.run.stages), initial: 'z' });
    const chain = w.declare({ scope: ['dtca'], name: 'chain', type: 'reg', width: bitsFor(h.run.chains), initial: 'z' });
    const sweep = w.declare({ scope: ['dtca'], name: 'sweep', type: 'reg', width: bitsFor(h.run.sweeps), initial: 'z' });
    const cells: VcdVar[] = p.cellIdx.map((c) => w.declare({ scope: [...CELLS_SCOPE], name: cellVcdName(c, L), type: 'wire' }));
    const n = cells.length;
    const lastTick = p.lastCycle * P;
    let clockNext = 0; // tick of the next clock edge
    let clockLevel = 1;
    const upTo = (t: number) => {
      if (!clk) return;
      const end = Math.min(t, lastTick - 1); // the last cycle ends at lastTick
      while (clockNext <= end) {
        w.change(clockNext, clk, clockLevel);
        clockNext += half;
        clockLevel ^= 1;
      }
    };
    // a batch of events by cycle; flushed in time order, events at one cycle in the order given
    type Val = number | 'x' | 'z';
    let batch = new Map<number, { vars: VcdVar[]; vals: Val[] }>();
    const push = (cyc: number, v: VcdVar, val: Val) => {
      let b = batch.get(cyc);
      if (!b) batch.set(cyc, (b = { vars: [], vals: [] }));
      b.vars.push(v);
      b.vals.push(val);
    };
    let floor = 0; // never emit before what was emitted
    const flush = () => {
      const times = [...batch.keys()].sort((a, b) => a - b);
      for (const cyc of times) {
        const b = batch.get(cyc)!;
        const t = Math.max(cyc * P, floor);
        upTo(t);
        for (let i = 0; i < b.vars.length; i++) w.change(t, b.vars[i], b.vals[i]);
        floor = t;
      }
      batch = new Map();
    };
    // the open chain-stage segment
    let seg: { chain: number; stage: number; start0: number; next: number; lastSweep: number; lastEnd: number } | null = null;
    let lastStageEnd: number | null = null;
    const sweepControl = (s: number, start: number) => {
      push(start, phase, 0);
      push(start, sweep, s);
      push(start + pc, phase, 1);
      push(start + SW, phase, 'z');
      push(start + SW, sweep, 'z');
    };
    /** the spins after the last known record of the segment become unknown at their next latch */
    const forget = (afterSweep: number, end: number) => {
      if (afterSweep >= p.K - 1) {
        const t = end + p.readCycles;
        for (let k = 0; k < n; k++) push(t, cells[k], 'x');
      } else {
        for (let k = 0; k < n; k++) push(p.colour[k] === 0 ? end + pc : end + SW, cells[k], 'x');
      }
    };
    const closeSegment = (extend: boolean) => {
      if (!seg) return;
      if (extend) for (let s = seg.next; s < p.K; s++) sweepControl(s, seg.start0 + s * SW);
      forget(seg.lastSweep, seg.lastEnd);
      if (extend) push(seg.start0 + p.K * SW + p.readCycles, chain, 'z');
      seg = null;
      flush();
    };
    const onSweep = (r: SweepRecord) => {
      const end = r.cycle;
      const start = end - SW;
      const same = seg && seg.chain === r.chain && seg.stage === r.stage && r.sweep > seg.lastSweep;
      if (!same) {
        closeSegment(true);
        const start0 = start - r.sweep * SW;
        seg = { chain: r.chain, stage: r.stage, start0, next: 0, lastSweep: -1, lastEnd: start0 };
        push(start0 - 1, chain, r.chain);
        for (let k = 0; k < n; k++) push(start0 - 1, cells[k], 'x');
      }
      const g = seg!;
      if (g.lastSweep >= 0 && r.sweep !== g.lastSweep + 1) forget(g.lastSweep, g.lastEnd);
      for (let s = g.next; s <= r.sweep; s++) sweepControl(s, g.start0 + s * SW);
      g.next = r.sweep + 1;
      const st = unpackStates(r);
      for (let k = 0; k < n; k++) push(p.colour[k] === 0 ? start + pc : end, cells[k], st[p.cols[k]]);
      g.lastSweep = r.sweep;
      g.lastEnd = end;
      flush();
    };
    const reader = readTrace(file);
    let records = 0;
    for await (const r of reader) {
      if (o.stop?.()) throw stopped();
      if (r.type === 'header') continue;
      // a pipeline: only the chosen array's records (the others' are on their own clocks)
      if (p.array !== null && r.type !== 'end' && r.stage !== p.array) continue;
      if (r.type === 'sweep') {
        if (!wantRec(o, r)) continue;
        records++;
        onSweep(r);
        continue;
      }
      closeSegment(true);
      if (r.type === 'stage_begin' && (!o.stages || o.stages.includes(r.stage))) {
        // a stage starts where the previous one ended; the run's first stage (the noisiest) at cycle 0,
        // as does a pipeline's every array (all are programmed at once)
        const begin = p.array !== null ? 0 : (lastStageEnd ?? (r.stage === h.run.stages - 1 ? 0 : r.cycle));
        push(begin, stage, r.stage);
      } else if (r.type === 'stage_end') {
        lastStageEnd = r.cycle;
        push(r.cycle, stage, 'z');
      }
      flush();
    }
    // a trace cut short stops at its last whole record: do not invent the sweeps after it
    closeSegment(reader.complete);
    upTo(lastTick);
    w.close(lastTick);
    const truncated = reader.truncated ? { at: reader.truncatedAt, bytes: reader.bytes } : null;
    return { path: out, bytes: w.bytes, estimate: p.estimate, cells: n, records, cycles: p.lastCycle, timescale, truncated };
  } catch (e) {
    w.abort();
    throw e;
  }
}

export { formatTimescale };

/**
 * A Value Change Dump (VCD, IEEE 1364-2005 section 18) writer, streaming to a file.
 *
 *   const w = new VcdWriter(path, { timescale: { magnitude: 10, unit: 'ns' } });
 *   const clk = w.declare({ scope: ['dtca'], name: 'clk', type: 'wire' });
 *   const v = w.declare({ scope: ['dtca', 'analog'], name: 'v_bias', type: 'real' });
 *   w.change(0, clk, 1); w.change(5, clk, 0); w.change(5, v, 0.1487);
 *   w.close();                     // renames the temporary file into place
 *
 * Times are integer ticks of the timescale and must not decrease. Several changes of one variable
 * at the same tick: the last one wins (so a caller may write "idle" at the end of an interval and
 * let the next interval's value at the same tick replace it). Only changes are written: a value
 * equal to the variable's current one is dropped. Values: 0/1 or an unsigned integer for wire,
 * reg and integer variables (vectors are written in binary), a finite number for `real`
 * variables, or 'x' (unknown) / 'z' (not driven). Every variable starts as x (wire, reg, integer)
 * or 0 (real) in $dumpvars unless `initial` says otherwise.
 *
 * The file is written the safe way (fabric/files.ts: a temporary name in the same directory,
 * short-write checks, fsync, renamed by close(); never over an input, a device or a file that is
 * not a dtca VCD); abort() (or any error) removes it, so no reader sees half a file. `writeVcdSignals` is the one-call form
 * for named signals given as sample arrays (for example analog samples from a short run).
 */
import { UserError } from '../fabric/errors.js';
import { SafeFile } from '../fabric/files.js';
import { recordedTime } from '../fabric/stamp.js';

export type VcdVarType = 'wire' | 'reg' | 'integer' | 'real';
export type VcdValue = number | 'x' | 'z';
export type VcdUnit = 's' | 'ms' | 'us' | 'ns' | 'ps' | 'fs';

export interface Timescale {
  magnitude: 1 | 10 | 100;
  unit: VcdUnit;
}

export interface VcdVarSpec {
  /** module scopes from the outside in, e.g. ['dtca', 'cells'] */
  scope: string[];
  /** the reference name: letters, digits, _ and $ (no spaces or brackets) */
  name: string;
  type: VcdVarType;
  /** bits (wire/reg: default 1; integer: 32; real: 64) */
  width?: number;
  /** the value at time 0 (default x, or 0 for real) */
  initial?: VcdValue;
}

export interface VcdVar {
  readonly id: string;
  readonly spec: Required<Omit<VcdVarSpec, 'initial'>> & { initial: VcdValue };
  /** position in its writer */
  readonly index: number;
}

export interface VcdOptions {
  timescale: Timescale;
  /** $date text (default: SOURCE_DATE_EPOCH's time, ISO 8601, or 'not recorded': the same bytes from the same run) */
  date?: string;
  version?: string;
  comment?: string;
  /** stop with a UserError once this many bytes have been written (a safety net behind estimates) */
  maxBytes?: number;
  /** how messages name the output (default: its path), e.g. "--vcd out.vcd" */
  label?: string;
}

const UNIT_SECONDS: Record<VcdUnit, number> = { s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9, ps: 1e-12, fs: 1e-15 };

export function timescaleSeconds(t: Timescale): number {
  return t.magnitude * UNIT_SECONDS[t.unit];
}

export function formatTimescale(t: Timescale): string {
  return `${t.magnitude} ${t.unit}`;
}

/**
 * The coarsest VCD timescale in which `step` seconds is a whole number of ticks (within 1e-9
 * relative), or 1 fs when none is (then `exact` is false and callers round).
 */
export function chooseTimescale(stepS: number): { timescale: Timescale; ticks: number; exact: boolean } {
  if (!(stepS > 0) || !Number.isFinite(stepS)) throw new UserError(`VCD timescale: step ${stepS} s must be a positive number`);
  const units: VcdUnit[] = ['s', 'ms', 'us', 'ns', 'ps', 'fs'];
  for (const unit of units) {
    for (const magnitude of [100, 10, 1] as const) {
      const u = magnitude * UNIT_SECONDS[unit];
      const r = stepS / u;
      const n = Math.round(r);
      if (n >= 1 && Math.abs(r - n) <= 1e-9 * r) return { timescale: { magnitude, unit }, ticks: n, exact: true };
    }
  }
  return { timescale: { magnitude: 1, unit: 'fs' }, ticks: Math.max(1, Math.round(stepS / 1e-15)), exact: false };
}

/**
 * Text for a $date, $version or $comment section, which ends at the first `$end`: a `$end` in it
 * (a trace header's `created` or `dtca_version`, a file name) would end the section and let what
 * follows be read as declarations, so it becomes `$ end`; control characters become `?` (newlines
 * only in a comment).
 */
export function vcdText(t: string, newlines = false): string {
  return t.replace(/\$end/g, '$ end').replace(newlines ? /[\x00-\x09\x0b-\x1f\x7f-\x9f]/g : /[\x00-\x1f\x7f-\x9f]/g, '?');
}

/** Identifier codes: printable ASCII ! (33) .. ~ (126), shortest first. */
export function idCode(n: number): string {
  let s = '';
  let k = n;
  do {
    s += String.fromCharCode(33 + (k % 94));
    k = Math.floor(k / 94) - 1;
  } while (k >= 0);
  return s;
}

const NAME_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const BUFFER_CHARS = 1 << 20;

export class VcdWriter {
  readonly path: string;
  private file: SafeFile | null;
  private readonly vars: VcdVar[] = [];
  private readonly current: VcdValue[] = [];
  /** changes at the current tick (last one wins): values by variable index, and which are set */
  private pendingVal: VcdValue[] = [];
  private pendingSet: Uint8Array = new Uint8Array(0);
  private pendingList: number[] = [];
  private time = 0;
  private started = false;
  private dumped = false;
  private parts: string[] = [];
  private chars = 0;
  bytes = 0;

  constructor(
    path: string,
    private readonly opts: VcdOptions,
  ) {
    this.file = new SafeFile(path, { label: opts.label ?? path, kind: 'vcd' });
    this.path = this.file.finalPath;
  }

  declare(spec: VcdVarSpec): VcdVar {
    if (this.started) throw new Error('VcdWriter: declare() after the first change');
    if (!NAME_RE.test(spec.name)) throw new UserError(`VCD variable name "${spec.name}": use letters, digits, _ and $`);
    for (const s of spec.scope) if (!NAME_RE.test(s)) throw new UserError(`VCD scope name "${s}": use letters, digits, _ and $`);
    const width = spec.width ?? (spec.type === 'integer' ? 32 : spec.type === 'real' ? 64 : 1);
    if (!Number.isInteger(width) || width < 1) throw new UserError(`VCD variable ${spec.name}: width ${width} must be a positive integer`);
    const initial = spec.initial ?? (spec.type === 'real' ? 0 : 'x');
    const v: VcdVar = {
      id: idCode(this.vars.length),
      spec: { scope: [...spec.scope], name: spec.name, type: spec.type, width, initial },
      index: this.vars.length,
    };
    this.vars.push(v);
    this.current.push(initial);
    return v;
  }

  private index(v: VcdVar): number {
    const i = v.index;
    if (this.vars[i] !== v) throw new Error(`VcdWriter: ${v.spec.name} was not declared by this writer`);
    return i;
  }

  private out(s: string): void {
    this.parts.push(s);
    this.chars += s.length;
    if (this.chars >= BUFFER_CHARS) this.flushBuffer();
  }

  private flushBuffer(): void {
    if (this.parts.length === 0 || this.file === null) return;
    const buf = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.chars = 0;
    try {
      this.file.write(buf);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.bytes += buf.length;
    if (this.opts.maxBytes !== undefined && this.bytes > this.opts.maxBytes) {
      this.abort();
      throw new UserError(`${this.path}: the VCD grew past ${this.opts.maxBytes} bytes (the size limit); nothing was written`);
    }
  }

  private formatValue(v: VcdVar, value: VcdValue): string {
    const { type, width } = v.spec;
    if (type === 'real') {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new UserError(`VCD real ${v.spec.name}: ${String(value)} is not a finite number`);
      return `r${value} ${v.id}\n`;
    }
    if (value === 'x' || value === 'z') return width === 1 ? `${value}${v.id}\n` : `b${value} ${v.id}\n`;
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** width) {
      throw new UserError(`VCD ${type} ${v.spec.name}: ${value} does not fit ${width} unsigned bit${width === 1 ? '' : 's'}`);
    }
    return width === 1 ? `${value}${v.id}\n` : `b${value.toString(2)} ${v.id}\n`;
  }

  private header(): void {
    const o = this.opts;
    this.out(`$date\n  ${vcdText(o.date ?? (recordedTime() || 'not recorded'))}\n$end\n`);
    this.out(`$version\n  ${vcdText(o.version ?? 'dtca')}\n$end\n`);
    if (o.comment) this.out(`$comment\n  ${vcdText(o.comment, true)}\n$end\n`);
    this.out(`$timescale ${formatTimescale(o.timescale)} $end\n`);
    // scopes as a tree, variables in declaration order within each scope
    interface Node {
      name: string;
      vars: VcdVar[];
      kids: Map<string, Node>;
    }
    const root: Node = { name: '', vars: [], kids: new Map() };
    for (const v of this.vars) {
      let n = root;
      for (const s of v.spec.scope) {
        let k = n.kids.get(s);
        if (!k) n.kids.set(s, (k = { name: s, vars: [], kids: new Map() }));
        n = k;
      }
      n.vars.push(v);
    }
    const emit = (n: Node) => {
      for (const v of n.vars) this.out(`$var ${v.spec.type} ${v.spec.width} ${v.id} ${v.spec.name} $end\n`);
      for (const k of n.kids.values()) {
        this.out(`$scope module ${k.name} $end\n`);
        emit(k);
        this.out(`$upscope $end\n`);
      }
    };
    if (root.vars.length) throw new UserError(`VCD variable ${root.vars[0].spec.name}: needs a scope`);
    emit(root);
    this.out(`$enddefinitions $end\n`);
  }

  private start(): void {
    this.started = true;
    this.pendingSet = new Uint8Array(this.vars.length);
    this.pendingVal = new Array<VcdValue>(this.vars.length).fill(0);
    this.header();
  }

  private flushTick(): void {
    if (!this.dumped) {
      // $dumpvars: the values at tick 0 (the initial ones, overridden by changes at tick 0)
      for (const i of this.pendingList) {
        this.current[i] = this.pendingVal[i];
        this.pendingSet[i] = 0;
      }
      this.pendingList.length = 0;
      this.out(`#0\n$dumpvars\n`);
      this.vars.forEach((v, i) => this.out(this.formatValue(v, this.current[i])));
      this.out(`$end\n`);
      this.dumped = true;
      return;
    }
    let wrote = false;
    for (const i of this.pendingList) {
      this.pendingSet[i] = 0;
      const value = this.pendingVal[i];
      if (value === this.current[i]) continue;
      if (!wrote) {
        this.out(`#${this.time}\n`);
        wrote = true;
      }
      this.out(this.formatValue(this.vars[i], value));
      this.current[i] = value;
    }
    this.pendingList.length = 0;
  }

  /** Value of v from tick t on (t >= the last tick given; at the same tick the last call wins). */
  change(t: number, v: VcdVar, value: VcdValue): void {
    if (this.file === null) throw new Error('VcdWriter: closed');
    if (!this.started) this.start();
    if (!Number.isInteger(t) || t < 0) throw new Error(`VcdWriter: time ${t} is not a non-negative integer tick`);
    if (t < this.time) throw new Error(`VcdWriter: time ${t} is before the current time ${this.time}`);
    const i = this.index(v);
    // check the value now, not at the flush (the common case, a 1-bit 0/1, needs no check)
    if (!(v.spec.width === 1 && v.spec.type !== 'real' && (value === 0 || value === 1))) this.formatValue(v, value);
    if (t > this.time) {
      this.flushTick();
      this.time = t;
    }
    if (!this.pendingSet[i]) {
      this.pendingSet[i] = 1;
      this.pendingList.push(i);
    }
    this.pendingVal[i] = value;
  }

  /** The current time in ticks (the last tick given). */
  get now(): number {
    return this.time;
  }

  /** Write the last tick (and, when `endTick` is given, a final time stamp), rename into place. */
  close(endTick?: number): void {
    if (this.file === null) return;
    if (!this.started) this.start();
    this.flushTick();
    if (endTick !== undefined && endTick > this.time) this.out(`#${endTick}\n`);
    this.flushBuffer();
    const f = this.file;
    try {
      f.commit();
    } catch (e) {
      this.abort();
      throw e;
    }
    this.file = null;
  }

  abort(): void {
    this.file?.abort();
    this.file = null;
  }
}

/** A named signal as samples: value[k] holds from time_s[k] on (times non-decreasing). */
export interface VcdSignal {
  scope: string[];
  name: string;
  type: VcdVarType;
  width?: number;
  /** sample times in seconds */
  time_s: ArrayLike<number>;
  values: ArrayLike<number> | VcdValue[];
}

export interface VcdSignalsOptions {
  /** the time resolution to represent, in seconds (default: the smallest step between samples) */
  resolution_s?: number;
  /** timescale to use instead of one chosen from the resolution */
  timescale?: Timescale;
  date?: string;
  version?: string;
  comment?: string;
  /** simulated time at which the dump ends (a final time stamp) */
  end_s?: number;
  /** how errors name the file (`--vcd out.vcd`); default its path */
  label?: string;
}

/**
 * Writes named signals, each given as (time, value) samples, as one VCD: for example a chip's
 * clock next to per-cell analog `real` signals (bias-node voltage, RNG state) from a short
 * cycle-accurate run. Times are rounded to the timescale's ticks (chosen so the resolution is a
 * whole number of ticks); samples of all signals are merged in time order.
 */
export function writeVcdSignals(path: string, signals: VcdSignal[], opts: VcdSignalsOptions = {}): { timescale: Timescale; bytes: number } {
  let resolution = opts.resolution_s;
  if (resolution === undefined) {
    resolution = Infinity;
    for (const s of signals) {
      for (let k = 1; k < s.time_s.length; k++) {
        const d = s.time_s[k] - s.time_s[k - 1];
        if (d > 0 && d < resolution) resolution = d;
      }
      if (s.time_s.length && s.time_s[0] > 0 && s.time_s[0] < resolution) resolution = s.time_s[0];
    }
    if (resolution === Infinity) resolution = 1e-9;
  }
  const timescale = opts.timescale ?? chooseTimescale(resolution).timescale;
  const unit = timescaleSeconds(timescale);
  const w = new VcdWriter(path, { timescale, date: opts.date, version: opts.version, comment: opts.comment, label: opts.label });
  try {
    const vars = signals.map((s) => {
      if (s.time_s.length !== s.values.length) throw new UserError(`VCD signal ${s.name}: ${s.time_s.length} times but ${s.values.length} values`);
      for (let k = 1; k < s.time_s.length; k++) {
        if (!(s.time_s[k] >= s.time_s[k - 1])) throw new UserError(`VCD signal ${s.name}: time_s[${k}] = ${s.time_s[k]} is before time_s[${k - 1}]`);
      }
      return w.declare({ scope: s.scope, name: s.name, type: s.type, width: s.width });
    });
    // k-way merge by time; ties keep signal order, so output does not depend on anything else
    const pos = new Array<number>(signals.length).fill(0);
    const tick = (s: number, k: number) => Math.round(signals[s].time_s[k] / unit);
    for (;;) {
      let best = -1;
      let bt = Infinity;
      for (let s = 0; s < signals.length; s++) {
        if (pos[s] >= signals[s].time_s.length) continue;
        const t = tick(s, pos[s]);
        if (t < bt) ((bt = t), (best = s));
      }
      if (best < 0) break;
      w.change(bt, vars[best], signals[best].values[pos[best]] as VcdValue);
      pos[best]++;
    }
    w.close(opts.end_s === undefined ? undefined : Math.round(opts.end_s / unit));
  } catch (e) {
    w.abort();
    throw e;
  }
  return { timescale, bytes: w.bytes };
}

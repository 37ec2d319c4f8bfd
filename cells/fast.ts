/**
 * The fast path of the latch kernel: the same model as the reference kernel in cells/kernel.ts,
 * run as generated WebAssembly SIMD code (cells/wasm/gen.ts explains why the results are the same
 * bits). This file prepares what the generated code reads and writes, all in one WebAssembly
 * memory per thread (cells/wasm/arena.ts):
 *
 *   geometry (per KernelConst): row tables, the torus wrap lists and the compiled modules. A
 *     colour's spins live in a zero-padded "plane" with its cells in row order, so the neighbour
 *     of every cell in direction d is at a fixed offset (per row parity) in the other colour's
 *     plane: one 128-bit load serves two cells, and open edges read the zero padding.
 *   records (per geometry and Planes object): per group of four same-colour cells, bias, clamp
 *     masks, the weights of every direction, the wire length and link count the cells drive,
 *     their mismatch gain and offset and (with delayed links) the tile-crossing masks.
 *   chain state: KernelState (below) keeps s and sPrev in planes and node and target by group
 *     while the fast kernel runs it; its natural-order arrays (st.s, ...) are brought up to date
 *     when someone reads them, and read back in when they may have been written.
 *
 * Records are copies of the Planes' arrays. They are checked against them (bias, clamp, weights)
 * whenever another chain state or another Planes object comes in; a caller that rewrites a plane
 * in place in the middle of a chain must call planesChanged(pl).
 */
import { Arena, roundUp } from './wasm/arena.js';
import { REGIONS, RESERVED, TAB_BITS, I32 as PI, F64 as PF, OUT, KC } from './wasm/abi.js';
import { recLayout, type GeomSpec, type Variant } from './wasm/layout.js';
import { BUF_REC } from './wasm/emit/context.js';
import { generateKernel } from './wasm/emit/kernel.js';
import { generateAux } from './wasm/emit/aux.js';
import { writeStaticConstants } from './wasm/emit/constants.js';

const MEM = { PI: REGIONS.I32.at, PF: REGIONS.F64.at, OUT: REGIONS.OUT.at, TAB: REGIONS.TAB.at, TAB_BITS, CONST: REGIONS.CONST.at, RESERVED };
import type { KernelConst, Planes, ChainState, HalfSweep, Tally } from './kernel.js';

interface RowInfo {
  i0: number;
  count: number;
  groupStart: number;
}

interface Geometry {
  N: number;
  D: number;
  L: number;
  lat: boolean;
  REC: number;
  groups: [number, number];
  rows: [RowInfo[], RowInfo[]];
  rowTab: [number, number];
  /** bytes of one spin plane, one group array (the larger colour's) */
  planeBytes: number;
  groupBytes: number;
  pads: [number, number];
  nPads: [number, number];
  stage: number;
  /** per-row scratch of the kernels */
  buf: number;
  spec: GeomSpec;
  kernels: Map<string, Record<string, () => void>>;
  lastCycle?: { n1: number; nMid: number; n2: number; fn: Record<string, () => void> };
  xfer: () => void;
  padFn: () => void;
  records: WeakMap<Planes, Records>;
  recordList: Records[];
  /** identity of the kc arrays this geometry was compiled from */
  src: unknown[];
  blocks: number[];
  /** the chain state and Planes the records were last checked for */
  lastState: KernelState | null;
  lastPlanes: Planes | null;
  /** evicted: its memory is given back, it must not be used again */
  dropped?: boolean;
}

interface Records {
  pl: WeakRef<Planes>;
  arrays: [Float64Array, Uint8Array, Float64Array];
  addr: [number, number];
  blocks: number[];
}

let arena: Arena | null = null;
const geometries = new WeakMap<KernelConst, Geometry>();
const geometryList: Geometry[] = [];
let available: boolean | null = null;
/** counters for the benchmark and the tests */
export const fastStats = { calls: 0, fallbacks: 0, cells: 0, compiles: 0, checks: 0, imports: 0, exports: 0, refused: '' as string };

/** bound on |sigma~ - sigma| of the generated single-precision sigmoid (gen.ts), with 5x to spare */
const SIGMA_ERR = 1e-5;
/** constant slop of the single-precision estimate of P (u and bPow rounding, exact-path rounding) */
const EST_SLOP = 1e-5;
/** slop per unit of |gain * target| + |offset| + |x| (rounding of the estimate's inputs) */
const EST_SLOP_REL = 2e-7;
/** logit margin of the ideal decision table */
const MARGIN = 1e-6;

function wasmSupported(): boolean {
  try {
    // a module using v128, and a shared memory
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 17, 11]);
    return WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

/** Whether the fast path may run at all in this process (DTCA_KERNEL=js turns it off). */
export function fastAvailable(): boolean {
  if (available === null) {
    const env = typeof process !== 'undefined' ? process.env.DTCA_KERNEL : undefined;
    available = env !== 'js' && env !== 'reference' && wasmSupported();
  }
  return available;
}

/** Tests and benchmarks: force the fast path off (false), on where supported (true) or back to the default (null). */
export function setFastEnabled(on: boolean | null): void {
  available = on === null ? null : on && wasmSupported();
}

function theArena(): Arena {
  if (arena) return arena;
  const a = new Arena(MEM.RESERVED);
  // decision table of the ideal engine: per bin of u, logit bounds widened by MARGIN
  const B = MEM.TAB_BITS;
  const nb = 1 << B;
  const logit = (q: number) => Math.log(q) - Math.log1p(-q);
  for (let b = 0; b < nb; b++) {
    a.f64[MEM.TAB / 8 + 2 * b] = b === 0 ? -Infinity : logit(b / nb) - MARGIN;
    a.f64[MEM.TAB / 8 + 2 * b + 1] = b === nb - 1 ? Infinity : logit((b + 1) / nb) + MARGIN;
  }
  writeStaticConstants(a.memory.buffer as unknown as ArrayBuffer);
  arena = a;
  return a;
}

/** the cycle engine's constants last written to the arena (they stay until changed) */
const lastCycleConsts = { n1: -1, nMid: -1, n2: -1, aB: NaN, aR: NaN, arena: null as Arena | null };

/** per-call constant slots (gen.ts KC) */
function constF64(a: Arena, slot: number, x: number): void {
  const e = (MEM.CONST + 16 * slot) / 8;
  a.f64[e] = x;
  a.f64[e + 1] = x;
}
function constI32(a: Arena, slot: number, x: number): void {
  a.i32.fill(x, (MEM.CONST + 16 * slot) / 4, (MEM.CONST + 16 * slot) / 4 + 4);
}
let f32view: Float32Array | null = null;
function constF32(a: Arena, slot: number, x: number): void {
  if (!f32view || f32view.buffer !== a.memory.buffer) f32view = new Float32Array(a.memory.buffer as unknown as ArrayBuffer, 0, MEM.RESERVED / 4);
  f32view.fill(x, (MEM.CONST + 16 * slot) / 4, (MEM.CONST + 16 * slot) / 4 + 4);
}

// ---------------------------------------------------------------------------------------------
// chain state

type Key = 's' | 'sPrev' | 'node' | 'target';
const KEYS: Key[] = ['s', 'sPrev', 'node', 'target'];

interface Attachment {
  geom: Geometry;
  addr: number;
  bytes: number;
  lastUse: number;
  /** the cycle engine's sigmoid cache holds the current targets' values (per colour) */
  sigmaValid: [boolean, boolean];
}

const attached: KernelState[] = [];
let attachClock = 0;
const MAX_ATTACHED = 32;
const MAX_ATTACHED_BYTES = 512 * 2 ** 20;

/**
 * One chain's state (cells/kernel.ts ChainState). Its four arrays are ordinary Float64Arrays in
 * cell order; while the fast kernel runs the chain it keeps its own colour-split copy, and the
 * accessors keep the two consistent: reading st.s (or any of the four) first brings the array up
 * to date, and an array handed out may be written, so the kernel reads it back before its next
 * latch. Replacing an array (st.s = other) is allowed too.
 */
export class KernelState implements ChainState {
  private nat: Record<Key, Float64Array>;
  /** the natural array holds the latest values */
  readonly fresh: Record<Key, boolean> = { s: true, sPrev: true, node: true, target: true };
  /** the natural array may have been written since the split copy was taken */
  readonly ext: Record<Key, boolean> = { s: true, sPrev: true, node: true, target: true };
  att: Attachment | null = null;

  constructor(N: number) {
    this.nat = { s: new Float64Array(N + 1), sPrev: new Float64Array(N + 1), node: new Float64Array(N), target: new Float64Array(N) };
  }

  get s(): Float64Array {
    return this.expose('s');
  }
  set s(v: Float64Array) {
    this.replace('s', v);
  }
  get sPrev(): Float64Array {
    return this.expose('sPrev');
  }
  set sPrev(v: Float64Array) {
    this.replace('sPrev', v);
  }
  get node(): Float64Array {
    return this.expose('node');
  }
  set node(v: Float64Array) {
    this.replace('node', v);
  }
  get target(): Float64Array {
    return this.expose('target');
  }
  set target(v: Float64Array) {
    this.replace('target', v);
  }

  private expose(k: Key): Float64Array {
    if (!this.fresh[k]) exportArray(this, k);
    this.ext[k] = true;
    return this.nat[k];
  }

  private replace(k: Key, v: Float64Array): void {
    if (!this.fresh[k]) exportArray(this, k); // keep the others consistent; this one is replaced
    this.nat[k] = v;
    this.fresh[k] = true;
    this.ext[k] = true;
  }

  /**
   * The array brought up to date for reading only: unlike the accessors it is not marked as
   * possibly written, so the kernel need not read it back before its next latch (observers).
   */
  readOnly(k: Key): Float64Array {
    if (!this.fresh[k]) exportArray(this, k);
    return this.nat[k];
  }

  /** the natural array without marking it handed out (the kernel's own use) */
  raw(k: Key): Float64Array {
    return this.nat[k];
  }
}

function stateAddr(st: KernelState, k: Key): number {
  const att = st.att!;
  const g = att.geom;
  return k === 's' || k === 'sPrev' ? att.addr + (k === 's' ? 0 : 2 * g.planeBytes) : att.addr + 4 * g.planeBytes + (k === 'node' ? 0 : g.groupBytes);
}

/** node values of colour c by group; targets and the sigmoid cache follow at +groupBytes, +2 groupBytes */
function groupBase(st: KernelState, c: number): number {
  const g = st.att!.geom;
  return st.att!.addr + 4 * g.planeBytes + c * 3 * g.groupBytes;
}

/** copy one array between the natural form and the split form (dir 0: in, 1: out) */
function xferArray(st: KernelState, k: Key, dir: 0 | 1): void {
  const a = theArena();
  const g = st.att!.geom;
  const N = g.N;
  const I = a.i32;
  const pi = MEM.PI / 4;
  const plane = k === 's' || k === 'sPrev';
  const base = stateAddr(st, k);
  const stage = a.f64View(g.stage, N);
  if (dir === 0) stage.set(st.raw(k).subarray(0, N));
  I[pi + PI.xdir] = dir;
  I[pi + PI.xkind] = plane ? 0 : 1;
  I[pi + PI.stage] = g.stage;
  I[pi + PI.split0] = base;
  I[pi + PI.split1] = base + (plane ? g.planeBytes : 3 * g.groupBytes);
  I[pi + PI.rowTab0] = g.rowTab[0];
  I[pi + PI.rowTab1] = g.rowTab[1];
  I[pi + PI.nRows] = g.L;
  g.xfer();
  if (dir === 1) st.raw(k).set(stage);
  else if (plane && g.nPads[0] + g.nPads[1] > 0) {
    refreshPads(g, base, 0);
    refreshPads(g, base + g.planeBytes, 1);
  }
}

function refreshPads(g: Geometry, plane: number, c: number): void {
  const I = theArena().i32;
  const pi = MEM.PI / 4;
  I[pi + PI.plane] = plane;
  I[pi + PI.pads] = g.pads[c];
  I[pi + PI.nPads] = g.nPads[c];
  g.padFn();
}

function exportArray(st: KernelState, k: Key): void {
  st.fresh[k] = true;
  if (!st.att) return;
  fastStats.exports++;
  xferArray(st, k, 1);
}

function detach(st: KernelState): void {
  const att = st.att;
  if (!att) return;
  for (const k of KEYS) if (!st.fresh[k]) exportArray(st, k);
  for (const k of KEYS) st.ext[k] = true;
  st.att = null;
  arena?.release(att.addr);
  const n = attached.indexOf(st);
  if (n >= 0) attached.splice(n, 1);
}

/** Make st's split copy for geometry g current. Returns false if it cannot be (memory, pad cell). */
function attach(st: KernelState, g: Geometry): boolean {
  if (st.att && st.att.geom !== g) detach(st);
  if (!st.att) {
    const bytes = 4 * g.planeBytes + 6 * g.groupBytes;
    let total = bytes;
    for (const s of attached) total += s.att!.bytes;
    while (attached.length > 0 && (attached.length >= MAX_ATTACHED || total > MAX_ATTACHED_BYTES)) {
      const old = oldest();
      total -= old.att!.bytes;
      detach(old);
    }
    let addr = theArena().alloc(bytes);
    while (addr < 0 && attached.length > 0) {
      detach(oldest());
      addr = theArena().alloc(bytes);
    }
    if (addr < 0) return false;
    st.att = { geom: g, addr, bytes, lastUse: 0, sigmaValid: [false, false] };
    attached.push(st);
    for (const k of KEYS) {
      st.ext[k] = true;
      st.fresh[k] = true;
    }
  }
  st.att.lastUse = ++attachClock;
  // the pad cell of s must read 0 (it stands for the missing neighbours of open edges)
  if (st.ext.s && st.raw('s')[g.N] !== 0) return false;
  for (const k of KEYS) {
    if (st.ext[k]) {
      fastStats.imports++;
      xferArray(st, k, 0);
      if (k === 'target') st.att.sigmaValid = [false, false];
      st.ext[k] = false;
      st.fresh[k] = true;
    }
  }
  return true;
}

function oldest(): KernelState {
  let k = 0;
  for (let n = 1; n < attached.length; n++) if (attached[n].att!.lastUse < attached[k].att!.lastUse) k = n;
  return attached[k];
}

// ---------------------------------------------------------------------------------------------
// geometry

/** Drop every compiled geometry and split state (tests). */
export function resetFast(): void {
  while (attached.length) detach(attached[0]);
  for (const g of geometryList.splice(0)) dropGeometry(g);
}

function dropGeometry(g: Geometry): void {
  if (g.dropped) return;
  g.dropped = true;
  for (const st of attached.slice()) if (st.att?.geom === g) detach(st);
  for (const r of g.recordList.splice(0)) for (const b of r.blocks) arena!.release(b);
  for (const b of g.blocks) arena!.release(b);
}

function colourOf(k: KernelConst, cells: Int32Array): number {
  const cc = k.colourCells;
  if (!cc) return -1;
  if (cells === cc[0]) return 0;
  if (cells === cc[1]) return 1;
  return -1;
}

function instantiate(bytes: Uint8Array): Record<string, () => void> {
  const mod = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const inst = new WebAssembly.Instance(mod, { e: { m: theArena().memory, exp: Math.exp } });
  fastStats.compiles++;
  return inst.exports as Record<string, () => void>;
}

/** The geometry the kernel's neighbour table describes, or a reason it cannot be used. */
function buildGeometry(k: KernelConst): Geometry | string {
  const L = k.L;
  const dirs = k.dirs;
  const boundary = k.boundary;
  if (L === undefined || !dirs || !boundary || !k.colourCells) return 'kernel constants carry no grid layout';
  const N = L * L;
  const D = dirs.length;
  if (k.N !== N || k.D !== D || k.nbr.length !== N * D) return 'layout does not match N, D';
  // the neighbour table must be exactly the rule offsets on this grid (pad N off an open edge)
  for (let y = 0; y < L; y++) {
    for (let x = 0; x < L; x++) {
      const i = y * L + x;
      for (let d = 0; d < D; d++) {
        let nx = x + dirs[d][0];
        let ny = y + dirs[d][1];
        let j: number;
        if (boundary === 'torus') {
          nx = ((nx % L) + L) % L;
          ny = ((ny % L) + L) % L;
          j = ny * L + nx;
        } else j = nx < 0 || ny < 0 || nx >= L || ny >= L ? N : ny * L + nx;
        if (k.nbr[i * D + d] !== j) return 'neighbour table is not the rule offsets';
        if (j < N && ((nx + ny) & 1) === ((x + y) & 1)) return 'a wire joins cells of one colour';
      }
    }
  }
  for (const c of [0, 1]) {
    const cells = k.colourCells[c];
    let n = 0;
    for (let i = 0; i < N; i++) if ((((i % L) + Math.floor(i / L)) & 1) === c && cells[n++] !== i) return 'colour lists are not in cell order';
    if (n !== cells.length) return 'colour lists are not the checkerboard';
  }
  const a = theArena();
  const lat = k.latency > 0;
  let R = 0;
  let minH = 0;
  let maxH = 0;
  for (const [dx, dy] of dirs) {
    R = Math.max(R, Math.abs(dy));
    for (const p of [0, 1]) {
      minH = Math.min(minH, (p + dx) >> 1);
      maxH = Math.max(maxH, (p + dx) >> 1);
    }
  }
  const W = Math.ceil(L / 2);
  const PL = Math.max(1, -minH);
  const MW = PL + W + Math.max(maxH + 1, 4);
  const MH = L + 2 * R;
  const offs = [0, 1].map((p) => dirs.map(([dx, dy]) => dy * MW + ((p + dx) >> 1)));
  const minOff = Math.min(...offs.flat());
  const imm = offs.map((row) => row.map((v) => v - minOff)) as [number[], number[]];
  const planeBytes = roundUp((MH * MW + MW + 16) * 8, 64);
  const blocks: number[] = [];
  const alloc = (bytes: number): number => {
    const addr = a.alloc(bytes);
    if (addr < 0) throw new RangeError('wasm memory');
    blocks.push(addr);
    return addr;
  };
  try {
    const rows: [RowInfo[], RowInfo[]] = [[], []];
    const groups: [number, number] = [0, 0];
    const rowTab: [number, number] = [0, 0];
    for (const c of [0, 1]) {
      const tab = alloc(L * 32);
      rowTab[c] = tab;
      let gs = 0;
      for (let y = 0; y < L; y++) {
        const x0 = (y + c) & 1;
        const count = Math.ceil((L - x0) / 2);
        const i0 = y * L + x0;
        rows[c].push({ i0, count, groupStart: gs });
        const e = tab / 4 + y * 8;
        a.i32[e] = i0;
        a.i32[e + 1] = count;
        a.i32[e + 2] = gs;
        a.i32[e + 3] = (y + R) * MW + PL + minOff;
        a.i32[e + 4] = x0;
        gs += Math.ceil(count / 4);
      }
      groups[c] = gs;
    }
    // torus: plane positions outside the grid that some cell reads, with the wrapped source
    const pads: [number, number] = [0, 0];
    const nPads: [number, number] = [0, 0];
    if (boundary === 'torus') {
      for (const c of [0, 1]) {
        const reader = 1 - c; // cells of the other colour read plane c
        const need = new Map<number, number>();
        for (let y = 0; y < L; y++) {
          const p = (y + reader) & 1;
          for (let x = p; x < L; x += 2) {
            const m = (x - p) >> 1;
            dirs.forEach(([dx, dy], d) => {
              const X = x + dx;
              const Y = y + dy;
              if (X >= 0 && Y >= 0 && X < L && Y < L) return;
              const pos = (y + R) * MW + PL + m + offs[p][d];
              const xs = ((X % L) + L) % L;
              const ys = ((Y % L) + L) % L;
              need.set(pos, (ys + R) * MW + PL + (xs >> 1));
            });
          }
        }
        const list = alloc(Math.max(1, need.size) * 8);
        let n = 0;
        for (const [pos, src] of need) {
          a.i32[list / 4 + 2 * n] = pos;
          a.i32[list / 4 + 2 * n + 1] = src;
          n++;
        }
        pads[c] = list;
        nPads[c] = n;
      }
    }
    const groupBytes = roundUp(Math.max(groups[0], groups[1]) * 32 + 64, 64);
    const stage = alloc((N + 8) * 8);
    const buf = alloc(Math.ceil(W / 4) * BUF_REC + 64);
    const { REC } = recLayout(D, lat);
    const spec: GeomSpec = { D, imm, minOff, PREV: 2 * planeBytes, TGOFF: groupBytes, SGOFF: 2 * groupBytes, lat };
    const aux = instantiate(generateAux(spec));
    return {
      N,
      D,
      L,
      lat,
      REC,
      groups,
      rows,
      rowTab,
      planeBytes,
      groupBytes,
      pads,
      nPads,
      stage,
      buf,
      spec,
      kernels: new Map(),
      xfer: aux.xfer,
      padFn: aux.pads,
      records: new WeakMap(),
      recordList: [],
      src: [k.nbr, k.cross, k.crossCount, k.cellWireLen, k.gain, k.offset, k.latency, k.colourCells],
      blocks,
      lastState: null,
      lastPlanes: null,
    };
  } catch (e) {
    for (const b of blocks) a.release(b);
    if (e instanceof RangeError) return 'not enough WebAssembly memory';
    throw e;
  }
}

function kernelFor(g: Geometry, variant: Variant): Record<string, () => void> {
  const key = variant.cycle ? `cycle:${variant.n1},${variant.nMid},${variant.n2}` : 'ideal';
  let fn = g.kernels.get(key);
  if (!fn) {
    fn = instantiate(generateKernel(g.spec, variant));
    g.kernels.set(key, fn);
  }
  return fn;
}

function sameSrc(g: Geometry, k: KernelConst): boolean {
  const s = g.src;
  return (
    s[0] === k.nbr && s[1] === k.cross && s[2] === k.crossCount && s[3] === k.cellWireLen && s[4] === k.gain && s[5] === k.offset && s[6] === k.latency && s[7] === k.colourCells
  );
}

function geometryFor(k: KernelConst): Geometry | null {
  let g = geometries.get(k);
  if (g && !g.dropped && sameSrc(g, k)) return g;
  if (g) {
    dropGeometry(g);
    const n = geometryList.indexOf(g);
    if (n >= 0) geometryList.splice(n, 1);
    geometries.delete(k);
  }
  const built = buildGeometry(k);
  if (typeof built === 'string') {
    fastStats.refused = built;
    return null;
  }
  geometries.set(k, built);
  geometryList.push(built);
  while (geometryList.length > 4) dropGeometry(geometryList.shift()!);
  return built;
}

// ---------------------------------------------------------------------------------------------
// records

/** Write the group records of one Planes object (both colours). */
function buildRecords(g: Geometry, k: KernelConst, pl: Planes): Records | null {
  const a = theArena();
  const D = g.D;
  const Lr = recLayout(D, g.lat);
  const blocks: number[] = [];
  const addr: [number, number] = [0, 0];
  const { bias, clamp, w } = pl;
  for (const c of [0, 1]) {
    const base = a.alloc(g.groups[c] * Lr.REC);
    if (base < 0) {
      for (const b of blocks) a.release(b);
      return null;
    }
    blocks.push(base);
    addr[c] = base;
    const F = a.f64;
    const I = a.i32;
    const F32 = new Float32Array(a.memory.buffer as unknown as ArrayBuffer);
    for (const row of g.rows[c]) {
      const nG = Math.ceil(row.count / 4);
      for (let m = 0; m < 4 * nG; m++) {
        const gi = row.groupStart + (m >> 2);
        const lane = m & 3;
        const rb = base + gi * Lr.REC;
        const r8 = rb / 8;
        const setMask = (on: boolean) => {
          I[(rb + Lr.CLAMP + 8 * lane) / 4] = on ? -1 : 0;
          I[(rb + Lr.CLAMP + 8 * lane) / 4 + 1] = on ? -1 : 0;
          if (on) I[(rb + Lr.FLAGS) / 4] = 1;
        };
        if (m >= row.count) {
          setMask(true); // invalid lane: never latched, never written
          continue;
        }
        const i = row.i0 + 2 * m;
        F[r8 + Lr.BIAS / 8 + lane] = bias[i];
        setMask(clamp[i] !== 0);
        for (let d = 0; d < D; d++) F[r8 + Lr.W / 8 + d * 4 + lane] = w[i * D + d];
        F[r8 + Lr.CWL / 8 + lane] = k.cellWireLen[i];
        F[r8 + Lr.CC / 8 + lane] = k.crossCount[i];
        F[r8 + Lr.GAIN64 / 8 + lane] = k.gain ? k.gain[i] : 1;
        F[r8 + Lr.OFF64 / 8 + lane] = k.offset ? k.offset[i] : 0;
        F32[(rb + Lr.GAIN) / 4 + lane] = k.gain ? k.gain[i] : 1;
        F32[(rb + Lr.OFF) / 4 + lane] = k.offset ? k.offset[i] : 0;
        if (g.lat) {
          for (let d = 0; d < D; d++) {
            const e = (rb + Lr.CROSS + d * 32 + lane * 8) / 4;
            const v = k.cross[i * D + d] ? -1 : 0;
            I[e] = v;
            I[e + 1] = v;
          }
        }
      }
    }
  }
  return { pl: new WeakRef(pl), arrays: [bias, clamp, w], addr, blocks };
}

/** Do the records still hold the Planes' values? */
function recordsMatch(g: Geometry, r: Records, pl: Planes): boolean {
  if (pl.bias !== r.arrays[0] || pl.clamp !== r.arrays[1] || pl.w !== r.arrays[2]) return false;
  fastStats.checks++;
  const a = theArena();
  const F = a.f64;
  const I = a.i32;
  const D = g.D;
  const Lr = recLayout(D, g.lat);
  const { bias, clamp, w } = pl;
  for (const c of [0, 1]) {
    for (const row of g.rows[c]) {
      for (let m = 0; m < row.count; m++) {
        const rb = r.addr[c] + (row.groupStart + (m >> 2)) * Lr.REC;
        const lane = m & 3;
        const r8 = rb / 8 + lane;
        const i = row.i0 + 2 * m;
        if (!Object.is(F[r8 + Lr.BIAS / 8], bias[i])) return false;
        if ((I[(rb + Lr.CLAMP + 8 * lane) / 4] !== 0) !== (clamp[i] !== 0)) return false;
        const wi = i * D;
        for (let d = 0; d < D; d++) if (!Object.is(F[r8 + Lr.W / 8 + d * 4], w[wi + d])) return false;
      }
    }
  }
  return true;
}

function recordsFor(g: Geometry, k: KernelConst, pl: Planes, st: KernelState): Records | null {
  let r = g.records.get(pl);
  if (r && (g.lastState !== st || g.lastPlanes !== pl) && !recordsMatch(g, r, pl)) {
    dropRecords(g, r);
    r = undefined;
  }
  if (!r) {
    const built = buildRecords(g, k, pl);
    if (!built) return null;
    r = built;
    g.records.set(pl, r);
    g.recordList.push(r);
    while (g.recordList.length > 2) dropRecords(g, g.recordList[0]);
  }
  g.lastState = st;
  g.lastPlanes = pl;
  return r;
}

function dropRecords(g: Geometry, r: Records): void {
  const k = g.recordList.indexOf(r);
  if (k >= 0) g.recordList.splice(k, 1);
  const pl = r.pl.deref();
  if (pl && g.records.get(pl) === r) g.records.delete(pl);
  for (const b of r.blocks) arena!.release(b);
}

/** Forget compiled copies of this Planes object (call after rewriting it in place mid-chain). */
export function planesChanged(pl: Planes): void {
  for (const g of geometryList) {
    const r = g.records.get(pl);
    if (r) dropRecords(g, r);
  }
}

/** Per-segment constants of the cycle engine's expansion (see gen.ts): C0, C1, C2/2, C3/48 per segment. */
export function segmentConstants(nSeg: number[], aB: number, aR: number, out: Float64Array, at: number): void {
  const total = nSeg[0] + nSeg[1] + nSeg[2];
  let n = 0;
  for (let s = 0; s < 3; s++) {
    let C0 = 0;
    let C1 = 0;
    let C2 = 0;
    let C3 = 0;
    for (let q = 0; q < nSeg[s]; q++, n++) {
      const c = (1 - aR) * Math.pow(aR, total - 1 - n);
      const e = Math.pow(aB, q + 1);
      C0 += c;
      C1 += c * e;
      C2 += c * e * e;
      C3 += c * e * e * e;
    }
    out[at + 4 * s] = C0;
    out[at + 4 * s + 1] = C1;
    out[at + 4 * s + 2] = C2 / 2;
    out[at + 4 * s + 3] = C3 / 48;
  }
}

/**
 * Latch the colour of hs.cells with the generated kernel. Returns false (having changed nothing
 * the reference kernel could notice) when this call cannot take the fast path.
 */
export function latchFast(k: KernelConst, pl: Planes, st: ChainState, hs: HalfSweep, t: Tally, ideal: boolean): boolean {
  if (!fastAvailable() || !(st instanceof KernelState)) return false;
  const c = colourOf(k, hs.cells);
  if (c < 0) return false;
  const g = geometryFor(k);
  if (!g) return false;
  const N = g.N;
  if (st.raw('s').length !== N + 1 || st.raw('sPrev').length !== N + 1 || st.raw('node').length !== N || st.raw('target').length !== N) return false;
  if (pl.bias.length !== N || pl.clamp.length !== N || pl.w.length !== N * g.D) return false;
  let n1 = 0;
  let nMid = 0;
  let n2 = 0;
  if (!ideal) {
    const S = k.substeps;
    n1 = hs.seg1Cycles * S;
    nMid = k.latency * S;
    n2 = (hs.ownCycles - k.latency) * S;
    if (!(Number.isInteger(n1) && Number.isInteger(nMid) && Number.isInteger(n2) && n1 >= 0 && nMid >= 0 && n2 >= 0 && n1 + nMid + n2 <= 100000)) return false;
  }
  const rec = recordsFor(g, k, pl, st);
  if (!rec) return false;
  if (!attach(st, g)) return false;
  const a = theArena();
  const I = a.i32;
  const F = a.f64;
  const pi = MEM.PI / 4;
  const base = st.att!.addr;
  I[pi + PI.own] = base + c * g.planeBytes;
  I[pi + PI.other] = base + (1 - c) * g.planeBytes;
  I[pi + PI.groups] = groupBase(st, c);
  I[pi + PI.rec] = rec.addr[c];
  I[pi + PI.rowTab] = g.rowTab[c];
  I[pi + PI.nRows] = g.L;
  I[pi + PI.buf] = g.buf;
  const pf = MEM.PF / 8;
  constF64(a, KC.TB, 2 * hs.beta);
  constF64(a, KC.VSV, k.vsOverVdd);
  constI32(a, KC.KEY, hs.key | 0);
  if (ideal) {
    kernelFor(g, { cycle: false }).latch();
  } else {
    const aB = k.aBias;
    const aR = k.aRng;
    const lc = lastCycleConsts;
    if (lc.n1 !== n1 || lc.nMid !== nMid || lc.n2 !== n2 || lc.aB !== aB || lc.aR !== aR || lc.arena !== a) {
      const bPow = Math.pow(aR, n1 + nMid + n2);
      F[pf + PF.aB] = aB;
      F[pf + PF.aR] = aR;
      F[pf + PF.bPow] = bPow;
      constF64(a, KC.AB, aB);
      constF32(a, KC.BPOW, bPow);
      constF32(a, KC.EE, SIGMA_ERR);
      constF32(a, KC.K0, EST_SLOP);
      constF32(a, KC.SK, EST_SLOP_REL);
      const seg = new Float64Array(12);
      segmentConstants([n1, nMid, n2], aB, aR, seg, 0);
      for (let q = 0; q < 12; q++) constF32(a, KC.C + q, seg[q]);
      Object.assign(lc, { n1, nMid, n2, aB, aR, arena: a });
    }
    let fn = g.lastCycle?.n1 === n1 && g.lastCycle.nMid === nMid && g.lastCycle.n2 === n2 ? g.lastCycle.fn : null;
    if (!fn) {
      fn = kernelFor(g, { cycle: true, n1, nMid, n2 });
      g.lastCycle = { n1, nMid, n2, fn };
    }
    if (!st.att!.sigmaValid[c]) {
      fn.fill();
      st.att!.sigmaValid[c] = true;
    }
    fn.latch();
  }
  if (g.nPads[c] > 0) {
    refreshPads(g, base + c * g.planeBytes, c);
    refreshPads(g, base + 2 * g.planeBytes + c * g.planeBytes, c);
  }
  for (const key of KEYS) st.fresh[key] = false;
  const o = MEM.OUT / 8;
  t.latches += F[o + OUT.latches];
  t.toggles += F[o + OUT.toggles];
  t.wirePitches += F[o + OUT.wire];
  t.linkToggles += F[o + OUT.link];
  t.divider += F[o + OUT.divider];
  fastStats.calls++;
  fastStats.fallbacks += F[o + OUT.fallbacks];
  fastStats.cells += hs.cells.length;
  return true;
}

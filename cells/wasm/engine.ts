/**
 * The single-chain fast engine: the reference engine's model (cells/reference.ts) run as
 * generated WebAssembly SIMD code, four cells of one chain per vector (emit/kernel.ts explains why
 * the results are the same bits). The instance owns everything it uses: one WebAssembly memory
 * (its arena), the fabric tables, the compiled modules, the records of the programmed stage and
 * the state of each chain it holds. Nothing is shared between instances or kept at module level.
 *
 * Memory (arena addresses):
 *   reserved   the ABI slots (abi.ts), the ideal decision table and constants
 *   geometry   row tables and torus wrap lists (geometry.ts), a staging array for copies
 *   records    per colour, per group of four cells: clamp masks, weights of every direction, wire
 *              length and link count, mismatch gain and offset, tile-crossing masks (layout.ts)
 *   chains     per chain: four spin planes (s and sPrev per colour) and per colour four group
 *              arrays (node, target, sigmoid cache, the chain's biases)
 */
import { Arena } from './arena.js';
import { REGIONS, RESERVED, TAB_BITS, I32, F64, OUT, KC, i32Addr, f64Addr, outAddr, constAddr } from './abi.js';
import { chainRec, type ChainRec } from './layout.js';
import { BUF } from './emit/context.js';
import { generateKernel } from './emit/kernel.js';
import { generateAux } from './emit/aux.js';
import { writeStaticConstants } from './emit/constants.js';
import { buildGeometry, chainMemory, type Geometry } from './geometry.js';
import { CHAIN_STRIDE } from '../../rng/counter.js';
import { powers32, drive32, rngMemory32 } from '../physics.js';
import type { Planes } from '../planes.js';
import {
  EngineRefusal,
  isIdealPhysics,
  intervalRefusal,
  MAX_SUBSTEPS,
  biasWith,
  addChainMoments,
  keepByReload,
  newMomentSums,
  type EngineSpec,
  type EngineStats,
  type HalfSweep,
  type LatchEngine,
  type MomentSums,
  type Tally,
} from '../engine.js';

/** bound on |sigma~ - sigma| of the generated single-precision sigmoid (emit/sigmoid.ts), with 5x to spare */
export const SIGMA_ERR = 1e-5;
/** constant slop of the single-precision estimate of P (u and bPow rounding) */
export const EST_SLOP = 1e-5;
/** slop per unit of |gain * target| + |offset| + |x| (rounding of the estimate's inputs) */
export const EST_SLOP_REL = 2e-7;
/** the unit roundoff of single precision, 2^-24 */
const EPS32 = 2 ** -24;

/**
 * The slop of the estimate against the exact cell (cells/physics.ts cycleLatchP), which is itself
 * computed in single precision: [constant, per unit of SL] (SL = |offset| + sum of |x| + |gain T|
 * over the segments, an upper bound on |u|). Per substep the exact path rounds u (<= 4 eps SL, so
 * p by <= eps SL), the sigmoid (<= 3 eps) and the telegraph update (<= 3 eps); an error in A decays
 * by a_rng per substep, so over n substeps the sum is at most (6 eps + eps SL) min(n, 1 / (1 - a_rng)),
 * plus eps for the final f(A + bPow). Taken twice over.
 */
export function estimateSlop(n: number, aRng: number): [number, number] {
  const aR = Math.fround(aRng);
  const Kn = aR < 1 ? Math.min(n, 1 / (1 - aR)) : n;
  return [EST_SLOP + 2 * EPS32 * (6 * Kn + 1), EST_SLOP_REL + 2 * EPS32 * 2 * Kn];
}
/** logit margin of the ideal decision table */
const MARGIN = 1e-6;

type Exports = Record<string, () => void>;

/** Whether this Node runs WebAssembly SIMD with shared memory. */
export function wasmSupported(): boolean {
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 17, 11]);
    return WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

/**
 * Per-segment constants of the cycle engine's expansion (see emit/estimate.ts): C0, C1, C2/2, C3/48
 * per segment, for the cell's own f32 constants: pw = powers32(a_bias, >= max segment), a_rng
 * rounded to f32 here.
 */
export function segmentConstants(nSeg: number[], pw: Float32Array, aRng: number, out: Float64Array, at: number): void {
  const total = nSeg[0] + nSeg[1] + nSeg[2];
  const aR = Math.fround(aRng);
  let n = 0;
  for (let s = 0; s < 3; s++) {
    let C0 = 0;
    let C1 = 0;
    let C2 = 0;
    let C3 = 0;
    for (let q = 0; q < nSeg[s]; q++, n++) {
      const c = (1 - aR) * Math.pow(aR, total - 1 - n);
      const e = pw[q + 1];
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

interface ChainSlot {
  /** arena address of the chain's planes and groups */
  addr: number;
  /** the chain's biases in cell order (plane units) */
  bias: Float64Array;
  /** the sigmoid caches hold the current targets' values (cycle engine), per colour */
  sigmaValid: [boolean, boolean];
}

export class WasmEngine implements LatchEngine {
  readonly kind = 'wasm' as const;
  readonly capacity: number;
  private readonly a: Arena;
  private readonly g: Geometry;
  private readonly L: ChainRec;
  private readonly ideal: boolean;
  private readonly aux: Exports;
  private readonly kernels = new Map<string, Exports>();
  private readonly stage: number;
  private readonly buf: number;
  private readonly slots: ChainSlot[] = [];
  private readonly chainBytes: number;
  /** the layout of a chain's memory (geometry.ts chainMemory) */
  private readonly mem: ReturnType<typeof chainMemory>;
  private rec: [number, number] | null = null;
  private planes: Planes | null = null;
  private first = 0;
  private count = 0;
  private lastCycle = '';
  /** the rows this instance latches (a tile of a chain split over workers, cells/wasm/tiles.ts) */
  private band: [number, number];
  private readonly st: EngineStats;
  private readonly f32: Float32Array;
  private readonly natural: Float64Array;

  constructor(
    private readonly spec: EngineSpec,
    chains: number,
  ) {
    if (!wasmSupported()) throw new EngineRefusal('this Node has no WebAssembly SIMD with shared memory');
    const long = intervalRefusal(spec.physics);
    if (long) throw new EngineRefusal(long);
    const ph = spec.physics;
    this.ideal = isIdealPhysics(ph);
    this.a = new Arena(RESERVED);
    const a = this.a;
    this.g = buildGeometry(spec.layout, a, ph.latency > 0);
    this.L = chainRec(this.g.D, this.g.spec.lat);
    const N = this.g.N;
    // the ideal decision table: per bin of u, logit bounds widened by MARGIN
    const nb = 1 << TAB_BITS;
    const logit = (q: number) => Math.log(q) - Math.log1p(-q);
    for (let b = 0; b < nb; b++) {
      a.f64[REGIONS.TAB.at / 8 + 2 * b] = b === 0 ? -Infinity : logit(b / nb) - MARGIN;
      a.f64[REGIONS.TAB.at / 8 + 2 * b + 1] = b === nb - 1 ? Infinity : logit((b + 1) / nb) + MARGIN;
    }
    writeStaticConstants(a.memory.buffer as unknown as ArrayBuffer);
    this.f32 = new Float32Array(a.memory.buffer as unknown as ArrayBuffer, 0, RESERVED / 4);
    this.stage = this.alloc((N + 8) * 8, 'a staging array');
    this.buf = this.alloc(Math.ceil(Math.ceil(this.g.L / 2) / 4) * BUF.stride + 64, 'the row buffer');
    this.aux = this.instantiate(generateAux(this.g.spec));
    this.natural = new Float64Array(N);
    this.mem = chainMemory(this.g.planeBytes, this.g.groupBytes);
    this.chainBytes = this.mem.stride;
    const n = Math.max(1, Math.min(chains, Math.floor(2 ** 31 / this.chainBytes)));
    for (let k = 0; k < n; k++) {
      const addr = a.alloc(this.chainBytes);
      if (addr < 0) break;
      this.slots.push({ addr, bias: new Float64Array(N), sigmaValid: [false, false] });
    }
    if (this.slots.length === 0) throw new EngineRefusal('not enough WebAssembly memory for one chain');
    this.capacity = this.slots.length;
    this.band = [0, this.g.L];
    this.st = { kind: 'wasm', capacity: this.capacity, latch_calls: 0, cell_updates: 0, exact_decisions: 0, compiles: 1, memory_bytes: a.bytes };
  }

  private alloc(bytes: number, what: string): number {
    const addr = this.a.alloc(bytes);
    if (addr < 0) throw new EngineRefusal(`not enough WebAssembly memory for ${what}`);
    return addr;
  }

  private instantiate(bytes: Uint8Array): Exports {
    const mod = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    const inst = new WebAssembly.Instance(mod, { e: { m: this.a.memory, exp: Math.exp } });
    if (this.st) this.st.compiles++;
    return inst.exports as Exports;
  }

  // ---- parameters ----
  private setI32(name: keyof typeof I32, v: number): void {
    this.a.i32[i32Addr(name) / 4] = v;
  }
  private setF64(name: keyof typeof F64, v: number): void {
    this.a.f64[f64Addr(name) / 8] = v;
  }
  private constF64(slot: number, x: number): void {
    const e = constAddr(slot) / 8;
    this.a.f64[e] = x;
    this.a.f64[e + 1] = x;
  }
  private constI32(slot: number, x: number): void {
    this.a.i32.fill(x, constAddr(slot) / 4, constAddr(slot) / 4 + 4);
  }
  private constF32(slot: number, x: number): void {
    this.f32.fill(x, constAddr(slot) / 4, constAddr(slot) / 4 + 4);
  }
  private out(name: keyof typeof OUT): number {
    return this.a.f64[outAddr(name) / 8];
  }

  // ---- chain memory ----
  private planeAddr(k: number, which: 's' | 'sPrev', c: number): number {
    const m = this.mem.off;
    return this.slots[k].addr + (which === 's' ? (c ? m.S1 : m.S0) : c ? m.PREV1 : m.PREV0);
  }
  /** group arrays of colour c: node (+0), target (+groupBytes), sigmoid cache (+2), biases (+3) (chainMemory) */
  private groupAddr(k: number, c: number): number {
    return this.slots[k].addr + (c ? this.mem.off.NODE1 : this.mem.off.NODE0);
  }

  /** copy the staging array (natural order) into split arrays (dir 0) or back (dir 1) */
  private xfer(dir: 0 | 1, plane: boolean, split0: number, split1: number): void {
    const g = this.g;
    this.setI32('xdir', dir);
    this.setI32('xkind', plane ? 0 : 1);
    this.setI32('stage', this.stage);
    this.setI32('split0', split0);
    this.setI32('split1', split1);
    this.setI32('rowTab0', g.rowTab[0]);
    this.setI32('rowTab1', g.rowTab[1]);
    this.setI32('nRows', g.L);
    this.aux.xfer();
  }

  private toPlanes(k: number, which: 's' | 'sPrev', values: Float64Array): void {
    this.a.f64View(this.stage, this.g.N).set(values);
    this.xfer(0, true, this.planeAddr(k, which, 0), this.planeAddr(k, which, 1));
    for (const c of [0, 1]) this.refreshPads(this.planeAddr(k, which, c), c);
  }

  /** values in cell order into the group arrays of both colours (chainMemory): nodes, targets or biases */
  private toGroups(k: number, arr: 'NODE' | 'TARGET' | 'BIAS', values: Float64Array): void {
    this.a.f64View(this.stage, this.g.N).set(values);
    const m = this.mem.off;
    const at = this.slots[k].addr;
    this.xfer(0, false, at + m[`${arr}0`], at + m[`${arr}1`]);
  }

  private refreshPads(plane: number, c: number): void {
    const g = this.g;
    if (g.nPads[c] === 0) return;
    this.setI32('plane', plane);
    this.setI32('pads', g.pads[c]);
    this.setI32('nPads', g.nPads[c]);
    this.aux.pads();
  }

  // ---- the interface ----
  program(planes: Planes): void {
    const { N, D } = this.g;
    if (planes.bias.length !== N || planes.clamp.length !== N || planes.w.length !== N * D) throw new RangeError('engine: planes do not match the fabric');
    this.planes = planes;
    const a = this.a;
    const Lr = this.L;
    const g = this.g;
    const lay = this.spec.layout;
    const ph = this.spec.physics;
    if (this.rec) for (const b of this.rec) a.release(b);
    this.rec = null;
    const addr: [number, number] = [0, 0];
    const { CLAMP, FLAGS, W, CWL, CC, GAIN, OFF, GAIN64, OFF64, CROSS } = Lr.f;
    for (const c of [0, 1]) {
      const base = this.alloc(g.groups[c] * Lr.stride, 'the stage records');
      Lr.checkBase(base);
      addr[c] = base;
      for (const row of g.rows[c]) {
        const nG = Math.ceil(row.count / 4);
        for (let m = 0; m < 4 * nG; m++) {
          const rb = base + (row.groupStart + (m >> 2)) * Lr.stride;
          const lane = m & 3;
          const setMask = (on: boolean) => {
            CLAMP.set(a, rb, on ? -1 : 0, lane);
            if (on) FLAGS.set(a, rb, 1);
          };
          if (m >= row.count) {
            setMask(true); // invalid lane: never latched, never written
            continue;
          }
          const i = row.i0 + 2 * m;
          setMask(planes.clamp[i] !== 0);
          for (let d = 0; d < D; d++) W.set(a, rb, planes.w[i * D + d], d * 4 + lane);
          CWL.set(a, rb, lay.wireQ[i], lane);
          CC.set(a, rb, lay.crossCount[i], lane);
          GAIN64.set(a, rb, ph.gain ? ph.gain[i] : 1, lane);
          OFF64.set(a, rb, ph.offset ? ph.offset[i] : 0, lane);
          GAIN.set(a, rb, ph.gain ? ph.gain[i] : 1, lane);
          OFF.set(a, rb, ph.offset ? ph.offset[i] : 0, lane);
          if (g.spec.lat) for (let d = 0; d < D; d++) CROSS.set(a, rb, lay.cross[i * D + d] ? -1 : 0, d * 4 + lane);
        }
      }
    }
    this.rec = addr;
    this.st.memory_bytes = a.bytes;
  }

  begin(first: number, count: number): void {
    if (!this.planes) throw new Error('engine: begin() before program()');
    if (!(Number.isInteger(count) && count >= 0 && count <= this.capacity)) throw new RangeError(`engine: ${count} chains, capacity ${this.capacity}`);
    this.first = first;
    this.count = count;
    for (let k = 0; k < count; k++) this.setBias(k, this.planes.bias);
  }

  setBias(k: number, bias: Float64Array): void {
    this.slots[k].bias.set(bias);
    this.toGroups(k, 'BIAS', this.slots[k].bias);
  }

  setBiasAt(k: number, cells: Int32Array, values: Float64Array): void {
    this.setBias(k, biasWith(this.planes!.bias, cells, values));
  }

  programClamp(planes: Planes): void {
    this.program(planes);
  }

  load(k: number, spins: ArrayLike<number>, beta: number): void {
    const { N, D } = this.g;
    const nbr = this.spec.layout.nbr;
    const pl = this.planes!;
    const s = new Float64Array(N + 1);
    for (let i = 0; i < N; i++) s[i] = spins[i] > 0 ? 1 : -1;
    this.toPlanes(k, 's', s.subarray(0, N));
    this.toPlanes(k, 'sPrev', s.subarray(0, N));
    // every node settles to its field: h = G hScale, the reference's operations
    const bias = this.slots[k].bias;
    const hScale = 2 * beta * pl.unit;
    const h = this.natural;
    for (let i = 0; i < N; i++) {
      const base = i * D;
      let G = bias[i];
      for (let d = 0; d < D; d++) G += pl.w[base + d] * s[nbr[base + d]];
      h[i] = this.ideal ? G * hScale : drive32(G, hScale);
    }
    this.toGroups(k, 'NODE', h);
    this.toGroups(k, 'TARGET', h);
    this.slots[k].sigmaValid = [false, false];
  }

  private cycleKernel(n1: number, nMid: number, n2: number): Exports {
    const key = `${n1},${nMid},${n2}`;
    let fn = this.kernels.get(key);
    if (!fn) {
      fn = this.instantiate(generateKernel(this.g.spec, { cycle: true, n1, nMid, n2 }));
      this.kernels.set(key, fn);
    }
    if (this.lastCycle !== key) {
      const ph = this.spec.physics;
      const bPow = rngMemory32(ph.aRng, n1 + nMid + n2);
      this.setF64('aB', ph.aBias);
      this.setF64('aR', ph.aRng);
      this.setF64('bPow', bPow);
      this.constF32(KC.BPOW, bPow);
      this.constF32(KC.EE, SIGMA_ERR);
      const [k0, sk] = estimateSlop(n1 + nMid + n2, ph.aRng);
      this.constF32(KC.K0, k0);
      this.constF32(KC.SK, sk);
      const pw = powers32(ph.aBias, Math.max(n1, nMid, n2));
      this.constF64(KC.PW1, pw[n1]);
      this.constF64(KC.PWM, pw[nMid]);
      this.constF64(KC.PW2, pw[n2]);
      const seg = new Float64Array(12);
      segmentConstants([n1, nMid, n2], pw, ph.aRng, seg, 0);
      for (let q = 0; q < 12; q++) this.constF32(KC.C + q, seg[q]);
      this.lastCycle = key;
    }
    return fn;
  }

  latch(hs: HalfSweep, sum: Tally, perChain?: Tally[] | null, energy = true): void {
    const g = this.g;
    const c = hs.colour;
    const ph = this.spec.physics;
    let fn: Exports;
    if (this.ideal) {
      fn = this.kernels.get('ideal') ?? this.instantiate(generateKernel(g.spec, { cycle: false }));
      this.kernels.set('ideal', fn);
    } else {
      const S = ph.substeps;
      const n1 = hs.seg1Cycles * S;
      const nMid = ph.latency * S;
      const n2 = (hs.ownCycles - ph.latency) * S;
      if (!(n1 >= 0 && n2 >= 0 && n1 + nMid + n2 <= MAX_SUBSTEPS)) throw new RangeError(`engine: a latch interval of ${n1 + nMid + n2} substeps`);
      fn = this.cycleKernel(n1, nMid, n2);
    }
    const hScale = 2 * hs.beta * this.planes!.unit;
    this.constF64(KC.TB, this.ideal ? hScale : Math.fround(hScale));
    this.constF64(KC.VSV, ph.vsOverVdd);
    this.constF64(KC.DV64, 256 * Math.fround(ph.vsOverVdd));
    this.constI32(KC.KEY, hs.key | 0);
    this.setI32('rec', this.rec![c]);
    // the row table's entries are absolute (plane base, group start): a band is a slice of it
    this.setI32('rowTab', g.rowTab[c] + 32 * this.band[0]);
    this.setI32('nRows', this.band[1] - this.band[0]);
    this.setI32('buf', this.buf);
    for (let k = 0; k < this.count; k++) {
      this.constI32(KC.CHAIN, Math.imul(this.first + k, CHAIN_STRIDE));
      this.setI32('own', this.planeAddr(k, 's', c));
      this.setI32('other', this.planeAddr(k, 's', 1 - c));
      this.setI32('groups', this.groupAddr(k, c));
      const slot = this.slots[k];
      if (!this.ideal && !slot.sigmaValid[c]) {
        fn.fill();
        slot.sigmaValid[c] = true;
      }
      fn.latch();
      this.refreshPads(this.planeAddr(k, 's', c), c);
      this.refreshPads(this.planeAddr(k, 'sPrev', c), c);
      const latches = this.out('latches');
      const toggles = this.out('toggles');
      const wire = this.out('wire');
      const links = this.out('link');
      const divider = energy ? this.out('divider') : 0;
      sum.latches += latches;
      sum.toggles += toggles;
      sum.wireQ += wire;
      sum.linkToggles += links;
      sum.dividerQ += divider;
      if (perChain) {
        const t = perChain[k];
        t.latches += latches;
        t.toggles += toggles;
        t.wireQ += wire;
        t.linkToggles += links;
        t.dividerQ += divider;
      }
      this.st.cell_updates += latches;
      this.st.exact_decisions += this.out('fallbacks');
    }
    this.st.latch_calls++;
  }

  // ---- tiles: one chain split by rows over several instances (cells/wasm/tiles.ts) ----
  /** Latch only rows y0 .. y1 - 1 from now on (every row: 0, L). The other rows' spins are read, never written. */
  setBand(y0: number, y1: number): void {
    if (!(Number.isInteger(y0) && Number.isInteger(y1) && 0 <= y0 && y0 < y1 && y1 <= this.g.L))
      throw new RangeError(`engine: band ${y0}..${y1} of ${this.g.L} rows`);
    this.band = [y0, y1];
  }

  /** The plane's row geometry: row y's cells, pads included, are f64 slots [(y + R) MW, (y + R + 1) MW) of a plane. */
  planeRows(): { R: number; MW: number; L: number } {
    return { R: this.g.R, MW: this.g.MW, L: this.g.L };
  }

  /** Chain k's spin plane (s) or its previous-spin twin (sPrev) of colour c, as f64 slots (a view: writes go to the engine). */
  planeView(k: number, which: 's' | 'sPrev', c: 0 | 1): Float64Array {
    return this.a.f64View(this.planeAddr(k, which, c), (this.g.L + 2 * this.g.R) * this.g.MW);
  }

  /** After rows of chain k's colour-c planes were written from outside: the torus wrap copies again. */
  refreshPlanePads(k: number, c: 0 | 1): void {
    this.refreshPads(this.planeAddr(k, 's', c), c);
    this.refreshPads(this.planeAddr(k, 'sPrev', c), c);
  }

  readSpins(k: number, out: Int8Array | Float64Array): void {
    const N = this.g.N;
    this.xfer(1, true, this.planeAddr(k, 's', 0), this.planeAddr(k, 's', 1));
    const v = this.a.f64View(this.stage, N);
    for (let i = 0; i < N; i++) out[i] = v[i];
  }

  /** every held chain's spins bit-packed (the trace's packing): its planes to the staging array, packed there by aux pack() */
  readPacked(out: Uint8Array, stride: number): void {
    const N = this.g.N;
    const bytes = (N + 7) >> 3;
    if (stride < bytes) throw new RangeError(`engine: packed stride ${stride} < ${bytes}`);
    if (this.packOut < 0) this.packOut = this.alloc(bytes + 16, 'packed spins');
    const tail = N & 7 ? (1 << (N & 7)) - 1 : 0xff;
    for (let k = 0; k < this.count; k++) {
      this.xfer(1, true, this.planeAddr(k, 's', 0), this.planeAddr(k, 's', 1));
      this.setI32('bCount', bytes);
      this.setI32('bOut', this.packOut);
      this.aux.pack();
      const at = k * stride;
      out.set(this.a.u8.subarray(this.packOut, this.packOut + bytes), at);
      out[at + bytes - 1] &= tail;
    }
  }
  private packOut = -1;

  accumulateMoments(m: MomentSums): void {
    const s = new Float64Array(this.spec.layout.N + 1);
    for (let k = 0; k < this.count; k++) {
      this.readSpins(k, s);
      addChainMoments(m, this.spec.layout, s);
    }
  }

  keep(k: number, beta: number): void {
    keepByReload(this, this.spec.layout.N, k, beta);
  }

  momentSums(): MomentSums {
    return newMomentSums(this.spec.layout);
  }

  stats(): EngineStats {
    return { ...this.st, memory_bytes: this.a.bytes };
  }

  dispose(): void {
    this.slots.length = 0;
    this.kernels.clear();
  }
}

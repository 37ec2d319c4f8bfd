/**
 * The many-chain engine: the reference engine's model for a batch of chains that share a stage,
 * run as generated WebAssembly SIMD with chains in the lanes (layout.ts, emit.ts). Every chain
 * keeps its own counter-based draws, so its results are bit for bit those of the reference engine
 * running it alone, whatever the batch (test/engines.test.ts).
 *
 * It needs quantised weights: fields are 16-bit integers, exact in any order. The ideal latch is
 * decided by a table of the reference's threshold for every reachable G at this half-sweep's
 * drive scale (built in TypeScript with the reference's own expressions); the cycle-accurate latch
 * by the estimate with an error bound and the exact expression where it cannot decide.
 *
 * The instance owns its WebAssembly memory: per block of BL chains a spin plane and a bias plane
 * (padded grids of BL lanes per cell), the chains' draw offsets and lane masks, per-chain tallies,
 * and for the cycle physics node values, targets, the sigmoid cache and previous spins; per
 * colour the records of the latching (unclamped) cells; the decision table; the moments list.
 */
import { Arena } from '../arena.js';
import { RESERVED, REGIONS, OUT, I32, F64, KC, i32Addr, f64Addr, outAddr, constAddr } from '../abi.js';
import { batchGeom, blockChains, cellPos, REC, MASK_BYTES, ACC, STATE, recSlot, accBytes, type BatchGeom } from './layout.js';
import { generateBatch, FIX, type BatchVariant } from './emit.js';
import { wasmSupported, segmentConstants, estimateSlop, SIGMA_ERR } from '../engine.js';
import { writeStaticConstants } from '../emit/constants.js';
import { CHAIN_STRIDE } from '../../../rng/counter.js';
import { sigmoid, latchThreshold, dividerQ, powers32, drive32, rngMemory32 } from '../../physics.js';
import type { Planes, WeightBits } from '../../planes.js';
import {
  EngineRefusal,
  isIdealPhysics,
  type EngineSpec,
  type EngineStats,
  type HalfSweep,
  type LatchEngine,
  type MomentSums,
  type Tally,
} from '../../engine.js';

type Exports = Record<string, () => void>;

/** cells per latch() call: keeps every lane's 32-bit divider sum below 2^31 */
const CELLS_PER_CALL = 4096;
/** substeps per latch interval the generated cycle kernels take (a bound on code size and time) */
const MAX_SUBSTEPS = 100000;

/** Why the many-chain engine cannot run a chip (null when it can). */
export function batchRefusal(spec: EngineSpec, weightBits: WeightBits): string | null {
  if (!wasmSupported()) return 'this Node has no WebAssembly SIMD with shared memory';
  if (weightBits === 'exact') return 'it needs quantised weights (cell.weight_bits is "exact"): its fields are 16-bit integers';
  const levels = 2 ** (weightBits - 1) - 1;
  const D = spec.layout.D;
  if (!isIdealPhysics(spec.physics) && (D + 1) * 16 > REGIONS.SCRATCH.bytes) return `${D} wires per cell: the kernel splats a cell's weights into ${REGIONS.SCRATCH.bytes} bytes`;
  if ((D + 1) * levels > 32767) return `cell.weight_bits = ${weightBits} with ${D} wires per cell can give fields beyond 16 bits`;
  return null;
}

/**
 * The constants of the fast path's decision (emit.ts emitCycleFast) for an interval of n substeps
 * (no delayed links), in units of 2^-32, as f32 values: P0 starts at Pup (the cell was up: the
 * RNG's own last bit, f(2^32 bPow - 2^31)) or Pdown (-2^31) and adds ZC1 sigma~(T1) + ZC2 sigma~(h);
 * M0 = |gain| (|d1| ZB1 + |d2| ZB2) + ZK. ZB_s = 2^32 (C1_s / 4 + SK): the zeroth-order remainder
 * (|sigma'| <= 1/4) and the slop the general bound counts per unit |x| of SL. ZK: the general
 * bound's constant K0 + E (C0_1 + C0_2) and, for the rest of SL (|offset| + |gain T_s|), SK (2 + |offset|):
 * the roundings those terms stand for move p by at most eps |u| sigma'(u) <= 0.224 eps per rounding of
 * u (docs/physics-arithmetic.md), which SK (>= 4 eps per substep) covers with |u| replaced by 2 + |offset|.
 * Each widened by a part in 10^6 for the f32 arithmetic that applies them.
 */
export function fastBound(n: number, aRng: number, seg: ArrayLike<number>, offMax: number) {
  const [k0, sk] = estimateSlop(n, aRng);
  const up = (x: number) => x * (1 + 1e-6);
  const f = Math.fround;
  const S32 = 2 ** 32;
  return {
    ZB1: f(up(seg[1] / 4 + sk) * S32),
    ZB2: f(up(seg[9] / 4 + sk) * S32),
    ZK: f(up(k0 + SIGMA_ERR * (seg[0] + seg[8]) + sk * (2 + offMax)) * S32),
    ZC1: f(seg[0] * S32),
    ZC2: f(seg[8] * S32),
    Pup: f(rngMemory32(aRng, n) * S32 - S32 / 2),
    Pdown: f(-S32 / 2),
  };
}

interface Block {
  plane: number;
  bias: number;
  phi: number;
  mask: number;
  acc: number;
  /** cycle physics: nodes, targets and sigmoid cache (layout.ts STATE) */
  state: number;
  prev: number;
  /** chains held in this block */
  count: number;
}

export class BatchEngine implements LatchEngine {
  readonly kind = 'batch' as const;
  readonly capacity: number;
  private readonly a: Arena;
  private readonly g: BatchGeom;
  private readonly gOff: number;
  private readonly tabBase: number;
  private readonly blocks: Block[] = [];
  private readonly posOf: Int32Array;
  /** byte offset of a cell's analog state in a block's state (layout.ts STATE) */
  private readonly slotOf: Int32Array;
  private readonly modules = new Map<string, Exports>();
  private readonly st: EngineStats;
  private readonly pads: [number, number] = [0, 0];
  private readonly nPads: [number, number] = [0, 0];
  private readonly momList: number;
  private readonly momOut: number;
  private readonly ideal: boolean;
  private readonly lat: boolean;
  private recs: [number, number] | null = null;
  private active: [number, number] = [0, 0];
  private planes: Planes | null = null;
  private readonly wsum: Float64Array;
  private readonly wabs: Float64Array;
  /** the table holds the entries of this drive scale over |G| <= tabReach */
  private tabScale = NaN;
  private tabReach = -1;
  /** the largest |G| the programmed weights and every bias given can reach */
  private reach = 0;
  private lastCycle = '';
  /** the cycle kernel's record of one cell's undecided halves (emit.ts FIX) */
  private readonly fixBuf: number;
  /** the largest |offset| of a cell (f32) */
  private offMax = 0;
  private bias: Float64Array[];
  private f32view: Float32Array | null = null;
  /** readPacked(): plane positions of the cells in cell order (padded to whole bytes), and the output */
  private packList = -1;
  private packOut = -1;

  constructor(
    private readonly spec: EngineSpec,
    chains: number,
    weightBits: number,
  ) {
    const why = batchRefusal(spec, weightBits);
    if (why) throw new EngineRefusal(why);
    const { L, D, N, dirs, boundary, colourCells } = spec.layout;
    this.ideal = isIdealPhysics(spec.physics);
    this.lat = spec.physics.latency > 0;
    let R = 1;
    for (const [dx, dy] of dirs) R = Math.max(R, Math.abs(dx), Math.abs(dy));
    const BL = blockChains(L, R, chains);
    this.g = batchGeom(L, dirs, BL);
    this.gOff = (D + 1) * (2 ** (weightBits - 1) - 1);
    this.a = new Arena(RESERVED);
    const a = this.a;
    writeStaticConstants(a.memory.buffer as unknown as ArrayBuffer);
    const alloc = (bytes: number, what: string) => {
      const addr = a.alloc(bytes);
      if (addr < 0) throw new EngineRefusal(`not enough WebAssembly memory for ${what}`);
      return addr;
    };
    this.tabBase = this.ideal ? alloc((2 * this.gOff + 1) * 8, 'the decision table') : 0;
    new Int16Array(a.memory.buffer as unknown as ArrayBuffer, constAddr(KC.GOFF), 8).fill(this.gOff);
    this.fixBuf = !this.ideal && !this.lat ? alloc(2 * this.g.NV * FIX.SIZE, 'the undecided lanes') : 0;
    const g = this.g;
    const nBlocks = Math.ceil(chains / BL);
    const lanes = N * BL;
    for (let b = 0; b < nBlocks; b++) {
      this.blocks.push({
        plane: alloc(g.planeBytes, 'the chains'),
        bias: alloc(g.planeBytes, 'the chains'),
        phi: alloc(g.NV * 32, 'the chains'),
        mask: alloc(g.NV * MASK_BYTES, 'the chains'),
        acc: alloc(accBytes(BL), 'the chains'),
        state: this.ideal ? 0 : alloc(lanes * 12, 'the chains'),
        prev: this.lat ? alloc(g.planeBytes, 'the chains') : 0,
        count: 0,
      });
    }
    this.capacity = chains;
    this.bias = Array.from({ length: chains }, () => new Float64Array(0));
    this.posOf = new Int32Array(N);
    this.slotOf = new Int32Array(N);
    colourCells.forEach((cells, c) => cells.forEach((i, n) => (this.slotOf[i] = (c === 0 ? n : colourCells[0].length + n) * g.NV * STATE.VEC)));
    for (let i = 0; i < N; i++) this.posOf[i] = cellPos(g, i % L, Math.floor(i / L));
    // moments: every cell's (pos, index of its first wire entry in the output or -1)
    const n0 = new Int32Array(N).fill(-1);
    colourCells[0].forEach((i, n) => (n0[i] = n));
    this.momList = alloc(N * 8, 'the moments list');
    for (let i = 0; i < N; i++) {
      a.i32[this.momList / 4 + 2 * i] = this.posOf[i];
      a.i32[this.momList / 4 + 2 * i + 1] = n0[i] < 0 ? -1 : N + n0[i] * D;
    }
    this.momOut = alloc((N + colourCells[0].length * D) * 4, 'the moments');
    if (boundary === 'torus') {
      const lists: [number[], number[]] = [[], []];
      for (let y = -g.R; y < L + g.R; y++) {
        for (let x = -g.R; x < L + g.R; x++) {
          if (x >= 0 && y >= 0 && x < L && y < L) continue;
          const xs = ((x % L) + L) % L;
          const ys = ((y % L) + L) % L;
          lists[(xs + ys) & 1].push(cellPos(g, x, y), cellPos(g, xs, ys));
        }
      }
      for (const c of [0, 1]) {
        this.pads[c] = alloc(Math.max(8, lists[c].length * 4), 'the torus lists');
        a.i32.set(lists[c], this.pads[c] / 4);
        this.nPads[c] = lists[c].length / 2;
      }
    }
    const off = spec.physics.offset;
    if (off) for (let i = 0; i < N; i++) this.offMax = Math.max(this.offMax, Math.abs(Math.fround(off[i])));
    this.wsum = new Float64Array(N);
    this.wabs = new Float64Array(N);
    this.st = { kind: 'batch', capacity: chains, latch_calls: 0, cell_updates: 0, exact_decisions: 0, compiles: 0, memory_bytes: a.bytes };
  }

  private module(v: BatchVariant): Exports {
    const key = JSON.stringify(v);
    let m = this.modules.get(key);
    if (!m) {
      const bytes = generateBatch(this.g, v, { tabBase: this.tabBase, gOff: this.gOff });
      m = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { e: { m: this.a.memory, exp: Math.exp } }).exports as Exports;
      this.modules.set(key, m);
      this.st.compiles++;
    }
    return m;
  }

  private setI32(name: keyof typeof I32, v: number): void {
    this.a.i32[i32Addr(name) / 4] = v;
  }
  private setF64(name: keyof typeof F64, v: number): void {
    this.a.f64[f64Addr(name) / 8] = v;
  }
  private constF64(slot: number, x: number): void {
    this.a.f64.fill(x, constAddr(slot) / 8, constAddr(slot) / 8 + 2);
  }
  private constF32(slot: number, x: number): void {
    this.f32.fill(x, constAddr(slot) / 4, constAddr(slot) / 4 + 4);
  }
  private constI32(slot: number, x: number): void {
    this.a.i32.fill(x | 0, constAddr(slot) / 4, constAddr(slot) / 4 + 4);
  }
  private out(name: keyof typeof OUT): number {
    return this.a.f64[outAddr(name) / 8];
  }
  /** views of the memory (after it grew, the old ones do not reach the new bytes) */
  private get f32(): Float32Array {
    const buf = this.a.memory.buffer as unknown as ArrayBuffer;
    if (!this.f32view || this.f32view.buffer !== buf) this.f32view = new Float32Array(buf);
    return this.f32view;
  }
  private i16(): Int16Array {
    return new Int16Array(this.a.memory.buffer as unknown as ArrayBuffer);
  }

  program(planes: Planes): void {
    const { N, D, colourCells, wireQ, crossCount, cross } = this.spec.layout;
    const ph = this.spec.physics;
    if (!planes.integer) throw new EngineRefusal('the many-chain engine needs quantised (integer) planes');
    if (planes.bias.length !== N || planes.w.length !== N * D) throw new RangeError('engine: planes do not match the fabric');
    this.planes = planes;
    const a = this.a;
    const g = this.g;
    if (this.recs) for (const r of this.recs) a.release(r);
    this.recs = null;
    let reach = 0;
    for (let i = 0; i < N; i++) {
      let s = 0;
      let ab = 0;
      for (let d = 0; d < D; d++) {
        s += planes.w[i * D + d];
        ab += Math.abs(planes.w[i * D + d]);
      }
      this.wsum[i] = s;
      this.wabs[i] = ab;
      reach = Math.max(reach, Math.abs(planes.bias[i]) + ab);
    }
    if (reach > this.gOff) throw new EngineRefusal(`fields up to ${reach} units exceed the engine's range (${this.gOff})`);
    this.reach = reach;
    this.tabReach = -1;
    const recs: [number, number] = [0, 0];
    for (const c of [0, 1] as const) {
      const cells = colourCells[c].filter((i) => !planes.clamp[i]);
      this.active[c] = cells.length;
      const base = a.alloc(Math.max(1, cells.length) * g.RB);
      if (base < 0) throw new EngineRefusal('not enough WebAssembly memory for the stage');
      recs[c] = base;
      const i16 = this.i16();
      cells.forEach((i, n) => {
        const r = base + n * g.RB;
        a.i32[(r + REC.POS) / 4] = this.posOf[i];
        a.i32[(r + REC.CELL) / 4] = i;
        a.i32[(r + REC.WIREQ) / 4] = wireQ[i];
        a.i32[(r + REC.CC) / 4] = crossCount[i];
        a.i32[(r + recSlot(D)) / 4] = this.slotOf[i];
        const gain = ph.gain ? ph.gain[i] : 1;
        const off = ph.offset ? ph.offset[i] : 0;
        this.f32[(r + REC.GAIN) / 4] = gain;
        this.f32[(r + REC.OFF) / 4] = off;
        a.f64[(r + REC.GAIN64) / 8] = gain;
        a.f64[(r + REC.OFF64) / 8] = off;
        for (let d = 0; d < D; d++) {
          const w2 = 2 * planes.w[i * D + d];
          i16[(r + REC.W) / 2 + d] = w2;
          i16[(r + REC.W) / 2 + D + d] = cross[i * D + d] ? w2 : 0;
        }
      });
    }
    this.recs = recs;
    this.st.memory_bytes = a.bytes;
  }

  begin(first: number, count: number): void {
    if (!this.planes) throw new Error('engine: begin() before program()');
    if (!(Number.isInteger(count) && count >= 0 && count <= this.capacity)) throw new RangeError(`engine: ${count} chains, capacity ${this.capacity}`);
    const a = this.a;
    const g = this.g;
    const I = a.i32;
    const I16 = this.i16();
    this.blocks.forEach((b, bi) => {
      b.count = Math.max(0, Math.min(g.BL, count - bi * g.BL));
      for (let lane = 0; lane < g.BL; lane++) {
        const k = bi * g.BL + lane;
        const on = lane < b.count ? -1 : 0;
        const v = lane >> 3;
        const l8 = lane & 7;
        I[(b.phi + 32 * v + 4 * l8) / 4] = Math.imul(first + k, CHAIN_STRIDE);
        const m = b.mask + MASK_BYTES * v;
        I16[m / 2 + l8] = on;
        I[(m + 16) / 4 + l8] = on;
        I[(m + 48) / 4 + 2 * l8] = on;
        I[(m + 48) / 4 + 2 * l8 + 1] = on;
      }
    });
    // chains without their own biases get the programmed ones when loaded
    this.bias = this.bias.map(() => new Float64Array(0));
  }

  setBias(k: number, bias: Float64Array): void {
    this.writeBias(k, bias);
    this.bias[k] = bias;
  }

  /** chain k's biases into its lanes of the bias plane (minus the weight sums, plus the table offset) */
  private writeBias(k: number, bias: Float64Array): void {
    const g = this.g;
    const b = this.blocks[Math.floor(k / g.BL)];
    const I16 = this.i16();
    const at = (b.bias + 2 * (k % g.BL)) / 2;
    const N = this.spec.layout.N;
    let reach = this.reach;
    for (let i = 0; i < N; i++) {
      I16[at + this.posOf[i] / 2] = bias[i] - this.wsum[i] + this.gOff;
      reach = Math.max(reach, Math.abs(bias[i]) + this.wabs[i]);
    }
    if (reach > this.gOff) throw new EngineRefusal(`fields up to ${reach} units exceed the engine's range (${this.gOff})`);
    this.reach = reach;
  }

  private refreshPads(b: Block, plane: number, c: number): void {
    if (this.nPads[c] === 0) return;
    const m = this.module({ masked: false, perChain: false, cycle: null });
    this.setI32('bPlane', plane);
    this.setI32('bPads', this.pads[c]);
    this.setI32('bNPads', this.nPads[c]);
    m.pads();
    void b;
  }

  load(k: number, spins: ArrayLike<number>, beta: number): void {
    if (this.bias[k].length === 0) this.writeBias(k, this.planes!.bias);
    const g = this.g;
    const { N, D, nbr } = this.spec.layout;
    const b = this.blocks[Math.floor(k / g.BL)];
    const lane = k % g.BL;
    const I16 = this.i16();
    const at = (b.plane + 2 * lane) / 2;
    for (let i = 0; i < N; i++) I16[at + this.posOf[i] / 2] = spins[i] > 0 ? -1 : 0;
    for (const c of [0, 1]) this.refreshPads(b, b.plane, c);
    if (this.ideal) return;
    if (this.lat) {
      const pa = (b.prev + 2 * lane) / 2;
      for (let i = 0; i < N; i++) I16[pa + this.posOf[i] / 2] = spins[i] > 0 ? -1 : 0;
      for (const c of [0, 1]) this.refreshPads(b, b.prev, c);
    }
    // every node settles to its field (the reference's operations), the sigmoid cache follows
    const ph = this.spec.physics;
    const pl = this.planes!;
    const bias = this.bias[k].length ? this.bias[k] : pl.bias;
    const hScale = 2 * beta * pl.unit;
    const s = new Float64Array(N + 1);
    for (let i = 0; i < N; i++) s[i] = spins[i] > 0 ? 1 : -1;
    const F32 = this.f32;
    const fr = Math.fround;
    for (let i = 0; i < N; i++) {
      let G = bias[i];
      for (let d = 0; d < D; d++) G += pl.w[i * D + d] * s[nbr[i * D + d]];
      const h = drive32(G, hScale);
      const e = (b.state + this.slotOf[i] + (lane >> 3) * STATE.VEC + (lane & 7) * 4) / 4;
      F32[e + STATE.V / 4] = h;
      F32[e + STATE.T / 4] = h;
      const gi = fr(ph.gain ? ph.gain[i] : 1);
      const z = fr(fr(gi * fr(h)) + fr(ph.offset ? ph.offset[i] : 0));
      // the sigmoid cache (layout.ts STATE): sigma~(z) with delayed links, else e^-|z| negative where z >= 0
      F32[e + STATE.SG / 4] = this.lat ? fr(sigmoid(z)) : (z >= 0 ? -1 : 1) * fr(Math.exp(-Math.abs(z)));
    }
  }

  /** the decision table for drive scale hScale over |G| <= reach (the reference's expressions) */
  private table(hScale: number): void {
    if (hScale === this.tabScale && this.reach <= this.tabReach) return;
    const vsv = this.spec.physics.vsOverVdd;
    const I = this.a.i32;
    const at = this.tabBase / 4;
    for (let G = -this.reach; G <= this.reach; G++) {
      const h = G * hScale;
      const e = at + 2 * (G + this.gOff);
      I[e] = (latchThreshold(sigmoid(h)) ^ 0x80000000) | 0;
      I[e + 1] = dividerQ(h, vsv);
    }
    this.tabScale = hScale;
    this.tabReach = this.reach;
  }

  /** the cycle kernel's segment constants for an interval (written when the interval changes) */
  private cycleVariant(hs: HalfSweep): BatchVariant['cycle'] {
    const ph = this.spec.physics;
    const S = ph.substeps;
    const n1 = hs.seg1Cycles * S;
    const nMid = ph.latency * S;
    const n2 = (hs.ownCycles - ph.latency) * S;
    if (!(n1 >= 0 && n2 >= 0 && n1 + nMid + n2 <= MAX_SUBSTEPS)) throw new RangeError(`engine: a latch interval of ${n1 + nMid + n2} substeps`);
    const key = `${n1},${nMid},${n2}`;
    if (this.lastCycle !== key) {
      const bPow = rngMemory32(ph.aRng, n1 + nMid + n2);
      const pw = powers32(ph.aBias, Math.max(n1, nMid, n2));
      this.setF64('aB', ph.aBias);
      this.setF64('aR', ph.aRng);
      this.setF64('bPow', bPow);
      this.constF64(KC.PW1, pw[n1]);
      this.constF64(KC.PWM, pw[nMid]);
      this.constF64(KC.PW2, pw[n2]);
      this.constF32(KC.FPW1, pw[n1]);
      this.constF32(KC.FPWM, pw[nMid]);
      this.constF32(KC.FPW2, pw[n2]);
      this.constF32(KC.BPOW, bPow);
      this.constF32(KC.EE, SIGMA_ERR);
      const [k0, sk] = estimateSlop(n1 + nMid + n2, ph.aRng);
      this.constF32(KC.K0, k0);
      this.constF32(KC.SK, sk);
      const seg = new Float64Array(12);
      segmentConstants([n1, nMid, n2], pw, ph.aRng, seg, 0);
      for (let q = 0; q < 12; q++) this.constF32(KC.C + q, seg[q]);
      const z = fastBound(n1 + nMid + n2, ph.aRng, seg, this.offMax);
      this.constF32(KC.ZB1, z.ZB1);
      this.constF32(KC.ZB2, z.ZB2);
      this.constF32(KC.ZK, z.ZK);
      this.constF32(KC.ZC1, z.ZC1);
      this.constF32(KC.ZC2, z.ZC2);
      const bits = new Int32Array(new Float32Array([z.Pup, z.Pdown]).buffer);
      this.constI32(KC.ZB, bits[0] ^ bits[1]);
      this.constI32(KC.ZO, bits[1]);
      this.lastCycle = key;
    }
    return { n1, nMid, n2, lat: this.lat };
  }

  latch(hs: HalfSweep, sum: Tally, perChain?: Tally[] | null): void {
    const c = hs.colour;
    const g = this.g;
    const a = this.a;
    const hScale = 2 * hs.beta * this.planes!.unit;
    let cycle: BatchVariant['cycle'] = null;
    if (this.ideal) this.table(hScale);
    else {
      cycle = this.cycleVariant(hs);
      this.constF32(KC.FTB, hScale);
      this.constF64(KC.VSV, this.spec.physics.vsOverVdd);
      this.constF32(KC.DV, 256 * Math.fround(this.spec.physics.vsOverVdd));
    }
    this.setI32('bKey', hs.key | 0);
    this.setI32('bFix', this.fixBuf);
    const n = this.active[c];
    this.blocks.forEach((b, bi) => {
      if (b.count === 0) return;
      const m = this.module({ masked: b.count < g.BL, perChain: Boolean(perChain), cycle });
      this.setI32('bPlane', b.plane);
      this.setI32('bBias', b.bias);
      this.setI32('bPhi', b.phi);
      this.setI32('bMask', b.mask);
      this.setI32('bAcc', b.acc);
      this.setI32('bState', b.state);
      this.setI32('bPrev', b.prev);
      if (perChain) a.u8.fill(0, b.acc, b.acc + accBytes(g.BL));
      for (let from = 0; from < n; from += CELLS_PER_CALL) {
        const cnt = Math.min(CELLS_PER_CALL, n - from);
        this.setI32('bCells', this.recs![c] + from * g.RB);
        this.setI32('bCount', cnt);
        m.latch();
        sum.toggles += this.out('toggles');
        sum.wireQ += this.out('wire');
        sum.linkToggles += this.out('link');
        sum.dividerQ += this.out('divider');
        this.st.exact_decisions += this.out('fallbacks');
      }
      sum.latches += n * b.count;
      if (perChain) {
        const I = a.i32;
        for (let lane = 0; lane < b.count; lane++) {
          const t = perChain[bi * g.BL + lane];
          const at = b.acc / 4 + lane;
          t.latches += n;
          t.toggles += I[at + ACC.TOGGLES * g.BL];
          t.wireQ += I[at + ACC.WIRE * g.BL];
          t.linkToggles += I[at + ACC.LINKS * g.BL];
          t.dividerQ += this.ideal ? I[at + ACC.DIV * g.BL] : a.f64[(b.acc + ACC.DIV64_BYTES * g.BL) / 8 + lane];
        }
      }
      this.refreshPads(b, b.plane, c);
      if (this.lat) this.refreshPads(b, b.prev, c);
      this.st.cell_updates += n * b.count;
    });
    this.st.latch_calls++;
  }

  readSpins(k: number, out: Int8Array | Float64Array): void {
    const g = this.g;
    const b = this.blocks[Math.floor(k / g.BL)];
    const I16 = this.i16();
    const at = (b.plane + 2 * (k % g.BL)) / 2;
    const N = this.spec.layout.N;
    for (let i = 0; i < N; i++) out[i] = I16[at + this.posOf[i] / 2] !== 0 ? 1 : -1;
  }

  readPacked(out: Uint8Array, stride: number): void {
    const g = this.g;
    const N = this.spec.layout.N;
    const bytes = (N + 7) >> 3;
    if (stride < bytes) throw new RangeError(`engine: packed stride ${stride} < ${bytes}`);
    const a = this.a;
    if (this.packList < 0) {
      const list = a.alloc(bytes * 8 * 4);
      const o = a.alloc(this.blocks.length * g.BL * bytes);
      if (list < 0 || o < 0) throw new EngineRefusal('not enough WebAssembly memory for packed spins');
      // the bits past N read cell 0 and are cleared below
      for (let i = 0; i < bytes * 8; i++) a.i32[list / 4 + i] = this.posOf[i < N ? i : 0];
      this.packList = list;
      this.packOut = o;
    }
    const mod = this.module({ masked: false, perChain: false, cycle: null });
    const tail = N & 7 ? (1 << (N & 7)) - 1 : 0xff;
    this.blocks.forEach((b, bi) => {
      if (b.count === 0) return;
      const base = this.packOut + bi * g.BL * bytes;
      this.setI32('bPlane', b.plane);
      this.setI32('bCells', this.packList);
      this.setI32('bCount', bytes);
      this.setI32('bOut', base);
      this.setI32('bStride', bytes);
      mod.pack();
      const u8 = a.u8;
      for (let lane = 0; lane < b.count; lane++) {
        const at = (bi * g.BL + lane) * stride;
        out.set(u8.subarray(base + lane * bytes, base + (lane + 1) * bytes), at);
        out[at + bytes - 1] &= tail;
      }
    });
  }

  accumulateMoments(m: MomentSums): void {
    const { N, D, nbr, colourCells } = this.spec.layout;
    const N0 = colourCells[0].length;
    const I = this.a.i32;
    const mod = this.module({ masked: false, perChain: false, cycle: null });
    for (const b of this.blocks) {
      if (b.count === 0) continue;
      this.setI32('bPlane', b.plane);
      this.setI32('bMask', b.mask);
      this.setI32('bCells', this.momList);
      this.setI32('bCount', N);
      this.setI32('bOut', this.momOut);
      mod.moments();
      const out = this.momOut / 4;
      for (let i = 0; i < N; i++) m.spin[i] += 2 * I[out + i] - b.count;
      for (let n = 0; n < N0; n++) {
        const i = colourCells[0][n];
        for (let d = 0; d < D; d++) if (nbr[i * D + d] < N) m.pair[n * D + d] += b.count - 2 * I[out + N + n * D + d];
      }
      m.samples += b.count;
    }
  }

  stats(): EngineStats {
    return { ...this.st, memory_bytes: this.a.bytes };
  }

  dispose(): void {
    this.modules.clear();
  }
}

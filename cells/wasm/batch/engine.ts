/**
 * The many-chain engine: the reference engine's model for a batch of chains that share a stage,
 * run as generated WebAssembly SIMD with chains in the lanes (layout.ts, emit.ts). Every chain
 * keeps its own counter-based draws, so its results are bit for bit those of the reference engine
 * running it alone, whatever the batch (test/engines.test.ts).
 *
 * It needs quantised weights: fields are 16-bit integers, exact in any order. The ideal latch is
 * decided by a table of the reference's threshold for every reachable G at this half-sweep's
 * drive scale (built in TypeScript with the reference's own expressions).
 *
 * The instance owns its WebAssembly memory: per block of BL chains a spin plane and a bias plane
 * (padded grids of BL lanes per cell), the chains' draw offsets and lane masks, per-chain tallies;
 * per colour the records of the latching (unclamped) cells; the decision table; the moments list.
 */
import { Arena } from '../arena.js';
import { RESERVED, OUT, I32, i32Addr, outAddr } from '../abi.js';
import { batchGeom, blockChains, cellPos, REC, type BatchGeom } from './layout.js';
import { generateBatch, type BatchVariant } from './emit.js';
import { wasmSupported } from '../engine.js';
import { CHAIN_STRIDE } from '../../../rng/counter.js';
import { sigmoid, latchThreshold, dividerQ } from '../../physics.js';
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

/** Why the many-chain engine cannot run a chip (null when it can). */
export function batchRefusal(spec: EngineSpec, weightBits: WeightBits): string | null {
  if (!wasmSupported()) return 'this Node has no WebAssembly SIMD with shared memory';
  if (weightBits === 'exact') return 'it needs quantised weights (cell.weight_bits is "exact"): its fields are 16-bit integers';
  const levels = 2 ** (weightBits - 1) - 1;
  const D = spec.layout.D;
  if ((D + 1) * levels > 32767) return `cell.weight_bits = ${weightBits} with ${D} wires per cell can give fields beyond 16 bits`;
  if (!isIdealPhysics(spec.physics)) return 'it runs the ideal physics only so far';
  return null;
}

interface Block {
  plane: number;
  bias: number;
  phi: number;
  mask: number;
  acc: number;
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
  private readonly modules = new Map<string, Exports>();
  private readonly st: EngineStats;
  private readonly pads: [number, number] = [0, 0];
  private readonly nPads: [number, number] = [0, 0];
  private readonly momList: number;
  private readonly momOut: number;
  private recs: [number, number] | null = null;
  private active: [number, number] = [0, 0];
  private planes: Planes | null = null;
  private wsum: Float64Array;
  /** the table holds the entries of this drive scale over |G| <= tabReach */
  private tabScale = NaN;
  private tabReach = -1;
  /** the largest |G| the programmed weights and every bias given can reach */
  private reach = 0;
  private wabs: Float64Array;

  constructor(
    private readonly spec: EngineSpec,
    chains: number,
    weightBits: number,
  ) {
    const why = batchRefusal(spec, weightBits);
    if (why) throw new EngineRefusal(why);
    const { L, D, N, dirs, boundary, colourCells } = spec.layout;
    let R = 1;
    for (const [dx, dy] of dirs) R = Math.max(R, Math.abs(dx), Math.abs(dy));
    const BL = blockChains(L, R, chains);
    this.g = batchGeom(L, dirs, BL);
    this.gOff = (D + 1) * (2 ** (weightBits - 1) - 1);
    this.a = new Arena(RESERVED);
    const a = this.a;
    const alloc = (bytes: number, what: string) => {
      const addr = a.alloc(bytes);
      if (addr < 0) throw new EngineRefusal(`not enough WebAssembly memory for ${what}`);
      return addr;
    };
    this.tabBase = alloc((2 * this.gOff + 1) * 8, 'the decision table');
    const g = this.g;
    const nBlocks = Math.ceil(chains / BL);
    for (let b = 0; b < nBlocks; b++) {
      this.blocks.push({
        plane: alloc(g.planeBytes, 'the chains'),
        bias: alloc(g.planeBytes, 'the chains'),
        phi: alloc(g.NV * 32, 'the chains'),
        mask: alloc(g.NV * 48, 'the chains'),
        acc: alloc(4 * BL * 4, 'the chains'),
        count: 0,
      });
    }
    this.capacity = chains;
    this.posOf = new Int32Array(N);
    for (let i = 0; i < N; i++) this.posOf[i] = cellPos(g, i % L, Math.floor(i / L));
    // moments: every cell's (pos, index among colour-0 cells or -1)
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
    this.wsum = new Float64Array(N);
    this.wabs = new Float64Array(N);
    this.st = { kind: 'batch', capacity: chains, latch_calls: 0, cell_updates: 0, exact_decisions: 0, compiles: 0, memory_bytes: a.bytes };
  }

  private module(v: BatchVariant): Exports {
    const key = `${v.masked ? 1 : 0}${v.perChain ? 1 : 0}`;
    let m = this.modules.get(key);
    if (!m) {
      const bytes = generateBatch(this.g, v, { tabBase: this.tabBase, gOff: this.gOff, splatOnce: false });
      m = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { e: { m: this.a.memory } }).exports as Exports;
      this.modules.set(key, m);
      this.st.compiles++;
    }
    return m;
  }

  private setI32(name: keyof typeof I32, v: number): void {
    this.a.i32[i32Addr(name) / 4] = v;
  }
  private out(name: keyof typeof OUT): number {
    return this.a.f64[outAddr(name) / 8];
  }

  program(planes: Planes): void {
    const { N, D, colourCells, wireQ, crossCount } = this.spec.layout;
    if (!planes.integer) throw new EngineRefusal('the many-chain engine needs quantised (integer) planes');
    if (planes.bias.length !== N || planes.w.length !== N * D) throw new RangeError('engine: planes do not match the fabric');
    this.planes = planes;
    const a = this.a;
    const g = this.g;
    if (this.recs) for (const r of this.recs) a.release(r);
    const recs: [number, number] = [0, 0];
    const i16 = new Int16Array(a.memory.buffer as unknown as ArrayBuffer);
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
    if (reach > this.gOff) throw new EngineRefusal(`fields up to ${reach} units exceed the engine's table (${this.gOff})`);
    this.reach = reach;
    for (const c of [0, 1] as const) {
      const cells = colourCells[c].filter((i) => !planes.clamp[i]);
      this.active[c] = cells.length;
      const base = a.alloc(Math.max(1, cells.length) * g.RB);
      if (base < 0) throw new EngineRefusal('not enough WebAssembly memory for the stage');
      recs[c] = base;
      cells.forEach((i, n) => {
        const r = base + n * g.RB;
        a.i32[(r + REC.POS) / 4] = this.posOf[i];
        a.i32[(r + REC.CELL) / 4] = i;
        a.i32[(r + REC.WIREQ) / 4] = wireQ[i];
        a.i32[(r + REC.CC) / 4] = crossCount[i];
        for (let d = 0; d < D; d++) i16[(r + REC.W) / 2 + d] = 2 * planes.w[i * D + d];
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
    const I16 = new Int16Array(a.memory.buffer as unknown as ArrayBuffer);
    this.blocks.forEach((b, bi) => {
      b.count = Math.max(0, Math.min(g.BL, count - bi * g.BL));
      for (let lane = 0; lane < g.BL; lane++) {
        const k = bi * g.BL + lane;
        const valid = lane < b.count;
        const v = lane >> 3;
        const l8 = lane & 7;
        I[(b.phi + 32 * v + 4 * l8) / 4] = Math.imul(first + k, CHAIN_STRIDE);
        I16[(b.mask + 48 * v) / 2 + l8] = valid ? -1 : 0;
        I[(b.mask + 48 * v + 16 + 4 * l8) / 4] = valid ? -1 : 0;
      }
    });
    for (let k = 0; k < count; k++) this.setBias(k, this.planes.bias);
  }

  setBias(k: number, bias: Float64Array): void {
    const g = this.g;
    const b = this.blocks[Math.floor(k / g.BL)];
    const lane = k % g.BL;
    const I16 = new Int16Array(this.a.memory.buffer as unknown as ArrayBuffer);
    const at = (b.bias + 2 * lane) / 2;
    const N = this.spec.layout.N;
    let reach = this.reach;
    for (let i = 0; i < N; i++) {
      I16[at + this.posOf[i] / 2] = bias[i] - this.wsum[i] + this.gOff;
      reach = Math.max(reach, Math.abs(bias[i]) + this.wabs[i]);
    }
    if (reach > this.gOff) throw new EngineRefusal(`fields up to ${reach} units exceed the engine's table (${this.gOff})`);
    this.reach = reach;
  }

  load(k: number, spins: ArrayLike<number>): void {
    const g = this.g;
    const b = this.blocks[Math.floor(k / g.BL)];
    const I16 = new Int16Array(this.a.memory.buffer as unknown as ArrayBuffer);
    const at = (b.plane + 2 * (k % g.BL)) / 2;
    const N = this.spec.layout.N;
    for (let i = 0; i < N; i++) I16[at + this.posOf[i] / 2] = spins[i] > 0 ? -1 : 0;
    if (this.nPads[0] + this.nPads[1] > 0) {
      const m = this.module({ masked: false, perChain: false });
      this.setI32('bPlane', b.plane);
      for (const c of [0, 1]) {
        this.setI32('bPads', this.pads[c]);
        this.setI32('bNPads', this.nPads[c]);
        m.pads();
      }
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

  latch(hs: HalfSweep, sum: Tally, perChain?: Tally[] | null): void {
    const c = hs.colour;
    const g = this.g;
    this.table(2 * hs.beta * this.planes!.unit);
    const a = this.a;
    this.setI32('bKey', hs.key | 0);
    const n = this.active[c];
    for (const b of this.blocks) {
      if (b.count === 0) continue;
      const m = this.module({ masked: b.count < g.BL, perChain: Boolean(perChain) });
      this.setI32('bPlane', b.plane);
      this.setI32('bBias', b.bias);
      this.setI32('bPhi', b.phi);
      this.setI32('bMask', b.mask);
      this.setI32('bAcc', b.acc);
      if (perChain) a.i32.fill(0, b.acc / 4, b.acc / 4 + 4 * g.BL);
      for (let from = 0; from < n; from += CELLS_PER_CALL) {
        const cnt = Math.min(CELLS_PER_CALL, n - from);
        this.setI32('bCells', this.recs![c] + from * g.RB);
        this.setI32('bCount', cnt);
        m.latch();
        sum.toggles += this.out('toggles');
        sum.wireQ += this.out('wire');
        sum.linkToggles += this.out('link');
        sum.dividerQ += this.out('divider');
      }
      sum.latches += n * b.count;
      if (perChain) {
        const bi = this.blocks.indexOf(b);
        for (let lane = 0; lane < b.count; lane++) {
          const t = perChain[bi * g.BL + lane];
          const at = b.acc / 4 + lane;
          t.latches += n;
          t.toggles += a.i32[at];
          t.wireQ += a.i32[at + g.BL];
          t.linkToggles += a.i32[at + 2 * g.BL];
          t.dividerQ += a.i32[at + 3 * g.BL];
        }
      }
      if (this.nPads[c] > 0) {
        this.setI32('bPads', this.pads[c]);
        this.setI32('bNPads', this.nPads[c]);
        m.pads();
      }
      this.st.cell_updates += n * b.count;
    }
    this.st.latch_calls++;
  }

  readSpins(k: number, out: Int8Array | Float64Array): void {
    const g = this.g;
    const b = this.blocks[Math.floor(k / g.BL)];
    const I16 = new Int16Array(this.a.memory.buffer as unknown as ArrayBuffer);
    const at = (b.plane + 2 * (k % g.BL)) / 2;
    const N = this.spec.layout.N;
    for (let i = 0; i < N; i++) out[i] = I16[at + this.posOf[i] / 2] !== 0 ? 1 : -1;
  }

  accumulateMoments(m: MomentSums): void {
    const { N, D, nbr, colourCells } = this.spec.layout;
    const N0 = colourCells[0].length;
    const I = this.a.i32;
    const mod = this.module({ masked: false, perChain: false });
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


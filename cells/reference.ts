/**
 * The reference engine: the cell of cells/physics.ts written out cell by cell, chain by chain, in
 * TypeScript. It defines every result; the fast engines must reproduce it bit for bit.
 *
 * Per latching cell i of chain k (neighbours are all of the other colour):
 *   G = bias_k,i + sum_d w_i,d s_nbr(i,d)     (f64, d in order)      h = G hScale
 *   ideal:  P = sigma(h); the node takes h.
 *   cycle:  h = drive32(G, hScale) (f32); P = cycleLatchP(node, previous target, hMid, h, ...)
 *           with hMid the drive seen while tile-crossing neighbours are still at their previous
 *           values; the node takes the relaxed value and the target h (f32 values).
 *   s = +1 iff latchDraw(key, i, chain) < latchThreshold(P); tallies as physics.ts says (the divider
 *   term: dividerQ(h) ideal, dividerQ32(V) cycle).
 * Clamped cells never latch and keep everything.
 */
import { latchDraw } from '../rng/counter.js';
import { sigmoid, latchThreshold, dividerQ, dividerQ32, cycleLatchP, powers32, drive32, rngMemory32 } from './physics.js';
import type { Planes } from './planes.js';
import {
  isIdealPhysics,
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
} from './engine.js';

interface Chain {
  s: Float64Array; // N + 1 (pad N = 0)
  sPrev: Float64Array; // N + 1
  node: Float64Array; // N
  target: Float64Array; // N
  bias: Float64Array | null; // N, or the programmed bias
}

/**
 * Per substep of a probed cell's latch interval (cycle-accurate physics): the node value V (drive
 * units) and the RNG's P(1); then the latch's new spin. For waveforms of a short run.
 */
export interface CellProbe {
  cells: Set<number>;
  substep: (chain: number, cell: number, q: number, V: number, p1: number) => void;
  latch: (chain: number, cell: number, spin: number) => void;
}

export class ReferenceEngine implements LatchEngine {
  readonly kind = 'reference' as const;
  private planes: Planes | null = null;
  private chains: Chain[] = [];
  private first = 0;
  private count = 0;
  private readonly ideal: boolean;
  private readonly node = { V: 0 };
  private readonly st: EngineStats;

  constructor(
    private readonly spec: EngineSpec,
    readonly capacity: number,
    private readonly probe: CellProbe | null = null,
  ) {
    this.ideal = isIdealPhysics(spec.physics);
    const N = spec.layout.N;
    for (let k = 0; k < capacity; k++) {
      this.chains.push({ s: new Float64Array(N + 1), sPrev: new Float64Array(N + 1), node: new Float64Array(N), target: new Float64Array(N), bias: null });
    }
    this.st = { kind: 'reference', capacity, latch_calls: 0, cell_updates: 0, exact_decisions: 0, compiles: 0, memory_bytes: capacity * N * 8 * 4 };
  }

  program(planes: Planes): void {
    this.planes = planes;
  }

  programClamp(planes: Planes): void {
    this.program(planes);
  }

  begin(first: number, count: number): void {
    if (!(Number.isInteger(count) && count >= 0 && count <= this.capacity)) throw new RangeError(`engine: ${count} chains, capacity ${this.capacity}`);
    this.first = first;
    this.count = count;
    for (const c of this.chains) c.bias = null;
  }

  setBias(k: number, bias: Float64Array): void {
    this.chains[k].bias = bias;
  }

  setBiasAt(k: number, cells: Int32Array, values: Float64Array): void {
    this.setBias(k, biasWith(this.planes!.bias, cells, values));
  }

  private field(bias: Float64Array, s: Float64Array, i: number): number {
    const { D, nbr } = this.spec.layout;
    const w = this.planes!.w;
    const base = i * D;
    let g = bias[i];
    for (let d = 0; d < D; d++) g += w[base + d] * s[nbr[base + d]];
    return g;
  }

  load(k: number, spins: ArrayLike<number>, beta: number): void {
    const { N } = this.spec.layout;
    const c = this.chains[k];
    const pl = this.planes!;
    for (let i = 0; i < N; i++) c.s[i] = spins[i] > 0 ? 1 : -1;
    c.s[N] = 0;
    c.sPrev.set(c.s);
    const hScale = 2 * beta * pl.unit;
    const bias = c.bias ?? pl.bias;
    for (let i = 0; i < N; i++) {
      const G = this.field(bias, c.s, i);
      const h = this.ideal ? G * hScale : drive32(G, hScale);
      c.node[i] = h;
      c.target[i] = h;
    }
  }

  latch(hs: HalfSweep, sum: Tally, perChain?: Tally[] | null, energy = true): void {
    this.st.latch_calls++;
    const dividerBefore = sum.dividerQ;
    for (let k = 0; k < this.count; k++) {
      const t = perChain ? perChain[k] : null;
      const before = t ? { ...sum } : null;
      this.latchChain(k, hs, sum);
      if (!energy) sum.dividerQ = dividerBefore;
      if (t && before) {
        t.latches += sum.latches - before.latches;
        t.toggles += sum.toggles - before.toggles;
        t.wireQ += sum.wireQ - before.wireQ;
        t.linkToggles += sum.linkToggles - before.linkToggles;
        t.dividerQ += sum.dividerQ - before.dividerQ;
      }
    }
  }

  private latchChain(k: number, hs: HalfSweep, t: Tally): void {
    const { D, nbr, cross, crossCount, wireQ } = this.spec.layout;
    const ph = this.spec.physics;
    const pl = this.planes!;
    const { w, clamp } = pl;
    const c = this.chains[k];
    const { s, sPrev, node, target } = c;
    const bias = c.bias ?? pl.bias;
    const cells = this.spec.layout.colourCells[hs.colour];
    const chain = this.first + k;
    const hScale = 2 * hs.beta * pl.unit;
    const vsv = ph.vsOverVdd;
    let latches = 0;
    let toggles = 0;
    let wire = 0;
    let links = 0;
    let divider = 0;
    const S = ph.substeps;
    const lat = ph.latency;
    const n1 = hs.seg1Cycles * S;
    const nMid = lat * S;
    const n2 = (hs.ownCycles - lat) * S;
    const bPow = rngMemory32(ph.aRng, n1 + nMid + n2);
    const pw = this.ideal ? null : this.powers(Math.max(n1, nMid, n2));
    for (let n = 0; n < cells.length; n++) {
      const i = cells[n];
      if (clamp[i]) continue;
      const base = i * D;
      let g = bias[i];
      for (let d = 0; d < D; d++) g += w[base + d] * s[nbr[base + d]];
      const h = this.ideal ? g * hScale : drive32(g, hScale);
      const old = s[i];
      let P: number;
      let V: number;
      if (this.ideal) {
        P = sigmoid(h);
        V = h;
      } else {
        let stale = 0;
        if (lat > 0 && crossCount[i] > 0) {
          for (let d = 0; d < D; d++) {
            if (cross[base + d]) {
              const j = nbr[base + d];
              stale += w[base + d] * (sPrev[j] - s[j]);
            }
          }
        }
        const hMid = drive32(g + stale, hScale);
        const probe = this.probe && this.probe.cells.has(i) ? this.probe : null;
        let q = 0;
        const pr = probe ? (Vq: number, A: number) => (q++, probe.substep(chain, i, q, Vq, A + (old > 0 ? Math.pow(ph.aRng, q) : 0))) : undefined;
        P = cycleLatchP(
          node[i],
          target[i],
          hMid,
          h,
          n1,
          nMid,
          n2,
          ph.gain === null ? 1 : ph.gain[i],
          ph.offset === null ? 0 : ph.offset[i],
          pw!,
          ph.aRng,
          bPow,
          old > 0,
          this.node,
          pr,
        );
        V = this.node.V;
      }
      const ns = latchDraw(hs.key, i, chain) < latchThreshold(P) ? 1 : -1;
      if (this.probe && !this.ideal && this.probe.cells.has(i)) this.probe.latch(chain, i, ns);
      latches++;
      divider += this.ideal ? dividerQ(V, vsv) : dividerQ32(V, vsv);
      node[i] = V;
      target[i] = h;
      sPrev[i] = old;
      if (ns !== old) {
        s[i] = ns;
        toggles++;
        wire += wireQ[i];
        links += crossCount[i];
      }
    }
    t.latches += latches;
    t.toggles += toggles;
    t.wireQ += wire;
    t.linkToggles += links;
    t.dividerQ += divider;
    this.st.cell_updates += latches;
  }

  private pw: Float32Array = new Float32Array(1);
  private powers(n: number): Float32Array {
    if (this.pw.length <= n) this.pw = powers32(this.spec.physics.aBias, Math.max(n, 2 * this.pw.length));
    return this.pw;
  }

  readSpins(k: number, out: Int8Array | Float64Array): void {
    const s = this.chains[k].s;
    for (let i = 0; i < this.spec.layout.N; i++) out[i] = s[i];
  }

  accumulateMoments(m: MomentSums): void {
    for (let k = 0; k < this.count; k++) addChainMoments(m, this.spec.layout, this.chains[k].s);
  }

  keep(k: number, beta: number): void {
    keepByReload(this, this.spec.layout.N, k, beta);
  }

  momentSums(): MomentSums {
    return newMomentSums(this.spec.layout);
  }

  stats(): EngineStats {
    return { ...this.st };
  }

  dispose(): void {
    this.chains = [];
  }
}

/**
 * The sampling-cell kernel: one colour's latch edge, with the analog evolution since each cell's
 * previous latch done lazily (the field a cell sees is piecewise constant between edges, so its
 * history can be replayed at its own latch).
 *
 * Per latching cell i (neighbours are all of the other colour):
 *   gamma   = b_i + sum_k w_ik s_nbr(k)             (the bias network's target, in model units)
 *   h       = 2 beta gamma                           (designed RNG drive, in units of V_s)
 *   segment 1: seg1 cycles at the previous target    (the other colour's phase: neighbours unchanged)
 *   segment 2: `latency` cycles at the target with tile-crossing neighbours still at their old
 *              values, then the rest of the own phase at the new target.
 *   Each analog substep: node <- T + (node - T) a_bias; p = sigma(gain_i node + offset_i);
 *                        A <- p + (A - p) a_rng        (telegraph map, composed)
 *   P(s_i = +1) = A + a_rng^n * [s_i was +1]; one counter-based draw decides.
 * With a_bias = a_rng = 0, no mismatch and no link latency this is exactly P = sigma(2 beta gamma):
 * chromatic Gibbs. That case takes a short branch computing the same expression.
 *
 * Two implementations, one model. latchColourReference below is the model written out cell by
 * cell; it defines every result. latchColour runs the fast path (cells/fast.ts: generated
 * WebAssembly SIMD over colour-split planes) whenever it applies, and the reference otherwise. The
 * fast path computes the same field, drive, node values, draws and tallies with the same
 * floating-point operations in the same order; it skips only the exponentials of P where it can
 * prove which side of P the draw falls on, and computes P exactly as below where it cannot
 * (cells/wasm/gen.ts). test/kernel.test.ts checks the two give identical bits; DTCA_KERNEL=js
 * runs the reference alone.
 */
import { draw32, TWO_POW_M32 } from '../rng/counter.js';
import { latchFast, KernelState } from './fast.js';

export interface KernelConst {
  N: number;
  D: number;
  nbr: Int32Array;
  cross: Uint8Array;
  crossCount: Uint8Array;
  cellWireLen: Float64Array;
  /** per analog substep: exp(-dt/tau_bias), exp(-dt/tau_rng) (0 when tau = 0) */
  aBias: number;
  aRng: number;
  substeps: number;
  gain: Float64Array | null;
  offset: Float64Array | null;
  /** V_s,nominal / Vdd: node fraction gamma = 0.5 + vsOverVdd * node */
  vsOverVdd: number;
  latency: number;
  /**
   * Optional grid layout (sim/chip.ts fills it from the fabric). With it the kernel runs its fast
   * path (cells/fast.ts); without it, or when the layout does not describe `nbr`, the reference
   * loop below.
   */
  L?: number;
  dirs?: readonly (readonly [number, number])[];
  boundary?: 'open' | 'torus';
  /** the two colours' cells in cell order (hs.cells is one of these arrays) */
  colourCells?: readonly [Int32Array, Int32Array];
}

/** One chain's state on the chip. Spins are +-1 with s[N] = 0 as the pad for missing wires. */
export interface ChainState {
  s: Float64Array; // N+1
  sPrev: Float64Array; // N+1: value before the cell's last latch (for delayed links)
  node: Float64Array; // N: bias node state, drive units
  target: Float64Array; // N: the node's target at the end of the last interval
}

export interface Planes {
  bias: Float64Array;
  w: Float64Array;
  clamp: Uint8Array;
}

export interface HalfSweep {
  cells: Int32Array;
  /** cycles since the cell's previous latch before its neighbours changed */
  seg1Cycles: number;
  /** cycles of the cell's own colour phase */
  ownCycles: number;
  beta: number;
  key: number;
}

export interface Tally {
  latches: number;
  toggles: number;
  wirePitches: number;
  linkToggles: number;
  /** sum of gamma(1-gamma) over latching cells (times the interval, by the caller) */
  divider: number;
}

/**
 * A new chain state, all zero. Its arrays behave as plain Float64Arrays; the fast path keeps a
 * colour-split copy of them while it runs the chain (cells/fast.ts KernelState), so read them
 * through the state (st.s[i]) rather than keeping an old reference across latches.
 */
export function newState(N: number): ChainState {
  return new KernelState(N);
}

/** The spins (+-1, pad last) for reading only: observers and traces, which never write them. */
export function spinsForReading(st: ChainState): Float64Array {
  return st instanceof KernelState ? st.readOnly('s') : st.s;
}

export function isIdeal(k: KernelConst): boolean {
  return k.aBias === 0 && k.aRng === 0 && k.gain === null && k.latency === 0;
}

/** gamma_i = b_i + sum_k w_ik s_j, the field from the current states. */
export function field(k: KernelConst, pl: Planes, s: Float64Array, i: number): number {
  const D = k.D;
  const base = i * D;
  let g = pl.bias[i];
  for (let d = 0; d < D; d++) g += pl.w[base + d] * s[k.nbr[base + d]];
  return g;
}

/** Latch every unclamped cell of hs.cells. Returns the tally of this edge. */
export function latchColour(k: KernelConst, pl: Planes, st: ChainState, hs: HalfSweep, t: Tally): void {
  if (latchFast(k, pl, st, hs, t, isIdeal(k))) return;
  latchColourReference(k, pl, st, hs, t);
}

/** The reference kernel: the model written out cell by cell (the fast path's definition). */
export function latchColourReference(k: KernelConst, pl: Planes, st: ChainState, hs: HalfSweep, t: Tally): void {
  const { D, nbr, cellWireLen, crossCount } = k;
  const { bias, w, clamp } = pl;
  const { s, sPrev, node, target } = st;
  const cells = hs.cells;
  const twoBeta = 2 * hs.beta;
  const key = hs.key;
  let latches = 0;
  let toggles = 0;
  let wirePitches = 0;
  let linkToggles = 0;
  let divider = 0;
  const vsv = k.vsOverVdd;

  if (isIdeal(k)) {
    for (let c = 0; c < cells.length; c++) {
      const i = cells[c];
      if (clamp[i]) continue;
      const base = i * D;
      let g = bias[i];
      for (let d = 0; d < D; d++) g += w[base + d] * s[nbr[base + d]];
      const h = twoBeta * g;
      const p = 1 / (1 + Math.exp(-h));
      const ns = draw32(key, i) * TWO_POW_M32 < p ? 1 : -1;
      latches++;
      let f = 0.5 + vsv * h;
      f = f < 0 ? 0 : f > 1 ? 1 : f;
      divider += f * (1 - f);
      node[i] = h;
      target[i] = h;
      const old = s[i];
      sPrev[i] = old;
      if (ns !== old) {
        s[i] = ns;
        toggles++;
        wirePitches += cellWireLen[i];
        linkToggles += crossCount[i];
      }
    }
  } else {
    const S = k.substeps;
    const aB = k.aBias;
    const aR = k.aRng;
    const gain = k.gain;
    const offset = k.offset;
    const lat = k.latency;
    const cross = k.cross;
    const n1 = hs.seg1Cycles * S;
    const nMid = lat * S;
    const n2 = (hs.ownCycles - lat) * S;
    const bPow = Math.pow(aR, n1 + nMid + n2);
    for (let c = 0; c < cells.length; c++) {
      const i = cells[c];
      if (clamp[i]) continue;
      const base = i * D;
      let g = bias[i];
      let stale = 0;
      for (let d = 0; d < D; d++) {
        const j = nbr[base + d];
        g += w[base + d] * s[j];
      }
      if (lat > 0 && crossCount[i] > 0) {
        for (let d = 0; d < D; d++) {
          if (cross[base + d]) {
            const j = nbr[base + d];
            stale += w[base + d] * (sPrev[j] - s[j]);
          }
        }
      }
      const h = twoBeta * g;
      const hMid = twoBeta * (g + stale);
      const gi = gain === null ? 1 : gain[i];
      const oi = offset === null ? 0 : offset[i];
      let V = node[i];
      let A = 0;
      let T = target[i];
      for (let n = 0; n < n1; n++) {
        V = T + (V - T) * aB;
        const p = 1 / (1 + Math.exp(-(gi * V + oi)));
        A = p + (A - p) * aR;
      }
      T = hMid;
      for (let n = 0; n < nMid; n++) {
        V = T + (V - T) * aB;
        const p = 1 / (1 + Math.exp(-(gi * V + oi)));
        A = p + (A - p) * aR;
      }
      T = h;
      for (let n = 0; n < n2; n++) {
        V = T + (V - T) * aB;
        const p = 1 / (1 + Math.exp(-(gi * V + oi)));
        A = p + (A - p) * aR;
      }
      const old = s[i];
      const P = A + (old > 0 ? bPow : 0);
      const ns = draw32(key, i) * TWO_POW_M32 < P ? 1 : -1;
      latches++;
      let f = 0.5 + vsv * V;
      f = f < 0 ? 0 : f > 1 ? 1 : f;
      divider += f * (1 - f);
      node[i] = V;
      target[i] = h;
      sPrev[i] = old;
      if (ns !== old) {
        s[i] = ns;
        toggles++;
        wirePitches += cellWireLen[i];
        linkToggles += crossCount[i];
      }
    }
  }
  t.latches += latches;
  t.toggles += toggles;
  t.wirePitches += wirePitches;
  t.linkToggles += linkToggles;
  t.divider += divider;
}

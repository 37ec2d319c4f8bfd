/**
 * The sampling cell, stated once. Every engine (reference.ts, wasm/, the many-chain engine) computes
 * exactly these quantities, with these floating-point operations where an operation's rounding can
 * change a result; the fast engines may skip work only where they can prove the outcome is the
 * same (test/engines.test.ts compares them bit for bit).
 *
 * Units. A programmed stage holds its biases and weights in plane units (planes.ts): integers
 * (multiples of the quantisation step `unit`) when the chip's weights are quantised, plain doubles
 * with unit = 1 when they are exact. The field of a latching cell i in plane units is
 *   G_i = bias_i + sum_d w_{i,d} s_{nbr(i,d)}            (summed in f64, d = 0..D-1 in order;
 *                                                        exact, so order-free, for integer planes)
 * and its designed drive (units of V_s) is h_i = G_i * hScale with hScale = 2 beta unit.
 *
 * Ideal cell (tau_rng = tau_bias = 0, no mismatch, no link latency): P(s_i = +1) = sigma(h_i).
 * Cycle-accurate cell: between its latches the bias node relaxes towards the target drive,
 *   V_q = T + (V_0 - T) a_bias^q               (a_bias = exp(-dt / tau_bias) per analog substep,
 *                                               a_bias^q the running product, see powers()),
 * the RNG's stationary probability follows it, p = sigma(gain_i V + offset_i) (mismatch), and the
 * telegraph RNG's P(1) relaxes towards p, A <- p + (A - p) a_rng (rng/telegraph.ts), over the
 * interval since the last
 * latch: seg1 substeps at the previous target (the other colour's phase), `latency` cycles of the
 * own phase with tile-crossing neighbours still at their old values, then the rest at the new target.
 * P = A + a_rng^n [s_i = +1] (the RNG's memory of its own last bit), n the substeps of the interval.
 *
 * The latch: one 32-bit counter-based draw r (rng/counter.ts latchDraw) and
 *   s_i = +1  iff  r < threshold(P),  threshold(P) = min(ceil(P 2^32), 2^32 - 1),
 * i.e. u = r 2^-32 < P, except that P within 2^-32 of 1 counts as 1 - 2^-32 (a u32 threshold).
 *
 * Tallies of a latch, all integers so that any engine may sum them in any order:
 *   latches, toggles, link toggles (tile-crossing wires a toggling cell drives), wire (the wire
 *   length a toggling cell drives, in 1/WIRE_Q pitches, per cell rounded once: wireQ), and the
 *   divider term dividerQ(V) = floor(f(1-f) DIVIDER_Q + 1/2), f = clamp(0.5 + vsv V, 0, 1): the
 *   bias divider's static power G_sigma Vdd^2 f(1-f) at the node value V the latch leaves.
 */
import { sigmoid, telegraphStep } from '../rng/telegraph.js';

export { sigmoid, telegraphStep };

/** Wire lengths are counted in 1/WIRE_Q cell pitches (rounded once per cell). */
export const WIRE_Q = 256;
/** The divider term f(1-f) is counted in 1/DIVIDER_Q units. */
export const DIVIDER_Q = 65536;
export const TWO_POW_32 = 4294967296;
const U32_MAX = 4294967295;

/** The u32 threshold of a latch with probability P: s = +1 iff r < threshold(P). */
export function latchThreshold(P: number): number {
  const t = Math.ceil(P * TWO_POW_32);
  return t > U32_MAX ? U32_MAX : t;
}

/** The latch decision for draw r (u32) and probability P. */
export function latchUp(r: number, P: number): boolean {
  return r < latchThreshold(P);
}

/**
 * The bias node q substeps after it started at V towards the target T: T + (V - T) aB^q, where
 * aB^q is the running product of q factors a_bias (powers(), in this order: every engine uses the
 * same doubles).
 */
export function biasNodeAt(V: number, T: number, aBq: number): number {
  return T + (V - T) * aBq;
}

/** a^0, a^1, ..., a^n as running products (a^q = a^(q-1) * a). */
export function powers(a: number, n: number): Float64Array {
  const p = new Float64Array(n + 1);
  p[0] = 1;
  for (let q = 1; q <= n; q++) p[q] = p[q - 1] * a;
  return p;
}

/** The divider term of a latch, in 1/DIVIDER_Q units, at node value V (drive units). */
export function dividerQ(V: number, vsOverVdd: number): number {
  let f = 0.5 + vsOverVdd * V;
  f = f < 0 ? 0 : f > 1 ? 1 : f;
  return Math.floor(f * (1 - f) * DIVIDER_Q + 0.5);
}

/** A cell's driven wire length in 1/WIRE_Q pitches. */
export function wireQ(pitches: number): number {
  return Math.round(pitches * WIRE_Q);
}

/**
 * The cycle-accurate latch probability: the node relaxes from V for n1 substeps towards T1 (the
 * previous target), then nMid towards hMid (delayed links), then n2 towards h, each segment from
 * where the last ended (pw: powers(a_bias, >= max segment)); at every substep the RNG's P(1)
 * follows the stationary p = sigma(gain V + offset). Returns P = A + aRng^(n1+nMid+n2) [old = +1]
 * and the node value at the latch (in `out`).
 */
export function cycleLatchP(
  V: number,
  T1: number,
  hMid: number,
  h: number,
  n1: number,
  nMid: number,
  n2: number,
  gain: number,
  offset: number,
  pw: Float64Array,
  aRng: number,
  bPow: number,
  oldUp: boolean,
  out: { V: number },
  probe?: (V: number, A: number) => void,
): number {
  let A = 0;
  let start = V;
  for (let q = 1; q <= n1; q++) {
    V = biasNodeAt(start, T1, pw[q]);
    A = telegraphStep(A, gain * V + offset, aRng);
    probe?.(V, A);
  }
  start = V;
  for (let q = 1; q <= nMid; q++) {
    V = biasNodeAt(start, hMid, pw[q]);
    A = telegraphStep(A, gain * V + offset, aRng);
    probe?.(V, A);
  }
  start = V;
  for (let q = 1; q <= n2; q++) {
    V = biasNodeAt(start, h, pw[q]);
    A = telegraphStep(A, gain * V + offset, aRng);
    probe?.(V, A);
  }
  out.V = V;
  return A + (oldUp ? bPow : 0);
}

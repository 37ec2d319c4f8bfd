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
 * Ideal cell (tau_rng = tau_bias = 0, no mismatch, no link latency): P(s_i = +1) = sigma(h_i),
 * in double precision.
 * Cycle-accurate cell, in single precision (IEEE binary32, every operation rounded to nearest even
 * once, written here with f = Math.fround; docs/physics-arithmetic.md): the drive is
 * h = f(f(G) f(hScale)); between its latches the bias node relaxes towards the target drive,
 *   V_q = f(T + f(f(V_0 - T) a_bias^q))        (a_bias = f(exp(-dt / tau_bias)) per analog substep,
 *                                               a_bias^q the f32 running product, see powers32()),
 * the RNG's stationary probability follows it, p = sigma32(f(f(gain_i V) + offset_i)) (mismatch,
 * gain and offset rounded to f32), and the telegraph RNG's P(1) relaxes towards p,
 * A <- f(p + f(f(A - p) a_rng)) (rng/telegraph.ts in f32), over the interval since the last
 * latch: seg1 substeps at the previous target (the other colour's phase), `latency` cycles of the
 * own phase with tile-crossing neighbours still at their old values, then the rest at the new target.
 * P = f(A + f(a_rng^n)) if s_i = +1 else A (the RNG's memory of its own last bit), n the substeps
 * of the interval.
 *
 * The latch: one 32-bit counter-based draw r (rng/counter.ts latchDraw) and
 *   s_i = +1  iff  r < threshold(P),  threshold(P) = min(ceil(P 2^32), 2^32 - 1),
 * i.e. u = r 2^-32 < P, except that P within 2^-32 of 1 counts as 1 - 2^-32 (a u32 threshold).
 *
 * Tallies of a latch, all integers so that any engine may sum them in any order:
 *   latches, toggles, link toggles (tile-crossing wires a toggling cell drives), wire (the wire
 *   length a toggling cell drives, in 1/WIRE_Q pitches, per cell rounded once: wireQ), and the
 *   divider term, f(1-f) DIVIDER_Q rounded to an integer with f = clamp(0.5 + vsv V, 0, 1): the
 *   bias divider's static power G_sigma Vdd^2 f(1-f) at the node value V the latch leaves; for the
 *   ideal cell dividerQ(h) = floor(f(1-f) DIVIDER_Q + 1/2) in double precision, for the
 *   cycle-accurate cell dividerQ32(V) in single precision from the node's f32 value.
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

const f32 = Math.fround;

/**
 * The bias node q substeps after it started at V towards the target T, in f32:
 * f(T + f(f(V - T) aBq)), aBq = a_bias^q from powers32() (every engine uses the same floats).
 */
export function biasNodeAt(V: number, T: number, aBq: number): number {
  return f32(T + f32(f32(V - T) * aBq));
}

/** a^0, a^1, ..., a^n as f32 running products (a^q = f(a^(q-1) f(a))). */
export function powers32(a: number, n: number): Float32Array {
  const p = new Float32Array(n + 1);
  const a32 = f32(a);
  p[0] = 1;
  for (let q = 1; q <= n; q++) p[q] = f32(p[q - 1] * a32);
  return p;
}

/** a_rng^n rounded once to f32: the weight of the RNG's own last bit after n substeps. */
export function rngMemory32(aRng: number, n: number): number {
  return f32(Math.pow(aRng, n));
}

/** The drive of a field G (plane units) at scale hScale = 2 beta unit, in f32: f(f(G) f(hScale)). */
export function drive32(G: number, hScale: number): number {
  return f32(f32(G) * f32(hScale));
}

/** sigma(u) in f32: f(1 / f(1 + f(exp(-u)))), exp the double-precision Math.exp. */
export function sigmoid32(u: number): number {
  return f32(1 / f32(1 + f32(Math.exp(-u))));
}

/** One substep of the telegraph RNG in f32: A <- f(p + f(f(A - p) aR)), p = sigmoid32(u). */
export function telegraphStep32(A: number, u: number, aR: number): number {
  const p = sigmoid32(u);
  return f32(p + f32(f32(A - p) * aR));
}

/** The divider term of an ideal latch, in 1/DIVIDER_Q units, at node value V (drive units), in f64. */
export function dividerQ(V: number, vsOverVdd: number): number {
  let f = 0.5 + vsOverVdd * V;
  f = f < 0 ? 0 : f > 1 ? 1 : f;
  return Math.floor(f * (1 - f) * DIVIDER_Q + 0.5);
}

/**
 * The divider term of a cycle-accurate latch, in 1/DIVIDER_Q units, from the node's f32 value V, in
 * f32: with f = 1/2 + vsv V, f(1 - f) DIVIDER_Q = DIVIDER_Q / 4 - x^2 for x = 256 vsv V, so the term is
 * DIVIDER_Q / 4 - rne(q), q = f(x x), x = f(f(256 f(vsv)) V) clamped to [-128, 128] (f = 0 or 1 beyond),
 * rne rounding to the nearest integer, ties to even (exact for q <= 2^22: f(q + 2^23) - 2^23).
 */
export function dividerQ32(V: number, vsOverVdd: number): number {
  let x = f32(f32(256 * f32(vsOverVdd)) * V);
  x = x < -128 ? -128 : x > 128 ? 128 : x;
  const q = f32(x * x);
  return DIVIDER_Q / 4 - (f32(q + 8388608) - 8388608);
}

/** A cell's driven wire length in 1/WIRE_Q pitches. */
export function wireQ(pitches: number): number {
  return Math.round(pitches * WIRE_Q);
}

/**
 * The cycle-accurate latch probability, in f32: the node relaxes from V for n1 substeps towards
 * T1 (the previous target), then nMid towards hMid (delayed links), then n2 towards h, each
 * segment from where the last ended (pw: powers32(a_bias, >= max segment)); at every substep the
 * RNG's P(1) follows the stationary p = sigma32(f(f(gain V) + offset)). V, T1, hMid, h are f32
 * values; gain, offset and aRng are rounded to f32 here; bPow = rngMemory32(aRng, n1 + nMid + n2).
 * Returns P = f(A + bPow) if oldUp else A, and the node value at the latch (in `out`).
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
  pw: Float32Array,
  aRng: number,
  bPow: number,
  oldUp: boolean,
  out: { V: number },
  probe?: (V: number, A: number) => void,
): number {
  const g = f32(gain);
  const o = f32(offset);
  const aR = f32(aRng);
  let A = 0;
  const seg = (n: number, T: number) => {
    const d = f32(V - T);
    for (let q = 1; q <= n; q++) {
      V = f32(T + f32(d * pw[q]));
      A = telegraphStep32(A, f32(f32(g * V) + o), aR);
      probe?.(V, A);
    }
  };
  seg(n1, T1);
  seg(nMid, hMid);
  seg(n2, h);
  out.V = V;
  return oldUp ? f32(A + bPow) : A;
}

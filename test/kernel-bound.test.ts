// The cycle engine's fast path decides a latch from an estimate P~ of the exact probability P and
// a bound M on its error (cells/wasm/emit/kernel.ts); the decision is only right if |P - P~| <= M
// always. This test checks that inequality directly, on random and adversarial inputs, with the
// estimate emulated operation by operation in single precision (Math.fround) as the generated
// code does, against the cell itself (cells/physics.ts cycleLatchP, also single precision).
// Also the many-chain kernel's fast decision (cells/wasm/batch/emit.ts emitCycleFast): its zeroth-order
// estimate and bound, compared with the draw in units of 2^-32, must never decide
// a draw the wrong way; it is monotone in the draw, so checking the two draws either side of the
// cell's threshold suffices. And the cycle cell's divider term in single precision against double precision.
import { describe, it, expect } from 'vitest';
import { streamKey, uniform, normal } from '../rng/counter.js';
import { segmentConstants, estimateSlop, SIGMA_ERR } from '../cells/wasm/engine.js';
import { SIGMA_POLY } from '../cells/wasm/emit/sigmoid.js';
import { fastBound } from '../cells/wasm/batch/engine.js';
import { cycleLatchP, powers32, rngMemory32, biasNodeAt, dividerQ, dividerQ32 } from '../cells/physics.js';

const f = Math.fround;
const E = SIGMA_ERR;
const MAGIC = 12582912;

/** sigma~(z) as the generated code computes it (f32x4 lanes, emit/sigmoid.ts) */
function sigma32(z: number): number {
  const c = SIGMA_POLY.map(f);
  let y = f(Math.min(Math.abs(z), f(40)) * f(-Math.LOG2E)); // pmin(|z|, 40)
  const k = f(y + MAGIC);
  y = f(y - f(k - MAGIC));
  const y2 = f(y * y);
  const b = f(f(c[2] + f(y * c[3])) + f(y2 * c[4]));
  const q = f(f(c[0] + f(y * c[1])) + f(y2 * b));
  const t = q * 2 ** (k - MAGIC); // exponent bits: exact
  return f((z >= 0 ? 1 : t) / f(1 + t));
}

interface Params {
  aB: number;
  aR: number;
  n: [number, number, number];
}

const pw = (p: Params) => powers32(p.aB, Math.max(...p.n));

/** the constants C0, C1, C2/2, C3/48 per segment (double precision) */
function constants64(p: Params): Float64Array {
  const out = new Float64Array(12);
  segmentConstants(p.n, pw(p), p.aR, out, 0);
  return out;
}

/** the same as the kernel stores them (single precision) */
function constants(p: Params): number[] {
  return Array.from(constants64(p), f);
}

/** the cell (cells/physics.ts), and its node at the segments' ends; inputs are f32 values */
function exactP(p: Params, V0: number, T1: number, h: number, hm: number, gi: number, oi: number, old: number): { P: number; V: number[] } {
  const w = pw(p);
  const P = cycleLatchP(V0, T1, hm, h, p.n[0], p.n[1], p.n[2], gi, oi, w, p.aR, rngMemory32(p.aR, p.n[0] + p.n[1] + p.n[2]), old > 0, { V: 0 });
  const Vs: number[] = [V0];
  let V = V0;
  [T1, hm, h].forEach((T, s) => {
    if (p.n[s] > 0) V = biasNodeAt(V, T, w[p.n[s]]);
    Vs.push(V);
  });
  return { P, V: Vs };
}

/** P~ and M as the generated code computes them */
function estimate(p: Params, V0: number, T1: number, h: number, hm: number, gi: number, oi: number, old: number, Vs: number[]) {
  const C = constants(p);
  const [K0, SK] = estimateSlop(p.n[0] + p.n[1] + p.n[2], p.aR);
  const GI = f(gi);
  const OI = f(oi);
  let P = old > 0 ? rngMemory32(p.aR, p.n[0] + p.n[1] + p.n[2]) : 0;
  let M = 0;
  let SL = Math.abs(OI);
  const seg = (s: number, T: number, delta: number, lat: boolean) => {
    if (!lat) return;
    const x = f(GI * f(delta));
    const tq = f(T);
    const z = f(f(GI * tq) + OI);
    const sg = sigma32(z);
    const mag = Math.abs(f(GI * tq));
    const [c0, c1, c2, c3] = C.slice(4 * s, 4 * s + 4);
    const sp = f(sg * f(1 - sg));
    const x2 = f(x * x);
    const ax = Math.abs(x);
    P = f(P + f(f(sg * c0) + f(f(f(sp * x) * c1) + f(f(f(sp * f(1 - f(sg + sg))) * x2) * c2))));
    M = f(M + f(f(f(x2 * ax) * c3) + f(f(E) * f(c0 + f(f(ax * c1) + f(x2 * c2))))));
    SL = f(SL + f(ax + mag));
  };
  seg(0, T1, V0 - T1, true);
  seg(1, hm, Vs[1] - hm, p.n[1] > 0);
  seg(2, h, Vs[2] - h, true);
  M = f(M + f(f(K0) + f(f(SK) * SL)));
  return { P, M };
}

/** 2^y as the generated code computes it (emit/sigmoid.ts emitExp2Frac32) */
function exp2Frac32(y: number): number {
  const c = SIGMA_POLY.map(f);
  const k = f(y + MAGIC);
  y = f(y - f(k - MAGIC));
  const y2 = f(y * y);
  const b = f(f(c[2] + f(y * c[3])) + f(y2 * c[4]));
  const q = f(f(c[0] + f(y * c[1])) + f(y2 * b));
  return q * 2 ** (k - MAGIC); // exponent bits: exact
}

/**
 * The many-chain kernel's fast decision (batch/emit.ts emitCycleFast) of draw r, as it computes it:
 * 'up', 'down' or 'undecided'.
 */
function decideFast(p: Params, V0: number, T1: number, h: number, gi: number, oi: number, old: number, Vs: number[], r: number) {
  const C = constants64(p);
  const K = fastBound(p.n[0] + p.n[2], p.aR, C, Math.abs(f(oi)));
  const GI = f(gi);
  const OI = f(oi);
  const L2E = f(-Math.LOG2E);
  const texp = (zl: number) => exp2Frac32(Math.max(-Math.abs(zl), f(-40 * f(Math.LOG2E))));
  // sigma~ = n / x, n = 1 or t = e^-|z|, x = 1 + t, rounded once; the cache holds sigma~(T1) (emitCycleFast
  // stored it when T1 was the new target)
  const sigma = (zl: number) => {
    const t = texp(zl);
    return f((zl <= 0 ? 1 : t) / f(1 + t));
  };
  const s1 = sigma(f(f(f(GI * L2E) * T1) + f(OI * L2E)));
  const s2 = sigma(f(f(f(GI * L2E) * h) + f(OI * L2E)));
  let M = 0;
  if (p.n[0] > 0) M = f(Math.abs(f(V0 - T1)) * f(Math.abs(GI) * K.ZB1));
  M = f(M + f(Math.abs(f(Vs[1] - h)) * f(Math.abs(GI) * K.ZB2)));
  M = f(M + K.ZK);
  const B = old > 0 ? K.Pup : K.Pdown;
  // up iff u - B + M < ZC1 sigma~1 + ZC2 sigma~2, undecided if not and u - B - M < the same
  const w = f(f(r - 2 ** 31) - B);
  const R = p.n[0] > 0 ? f(f(s1 * K.ZC1) + f(s2 * K.ZC2)) : f(s2 * K.ZC2);
  if (f(w + M) < R) return 'up';
  return f(w - M) < R ? 'undecided' : 'down';
}

describe('cycle engine estimate: |P - P~| <= M', () => {
  it('holds on random and adversarial inputs', () => {
    const key = streamKey(2024, 11);
    let n = 0;
    let worst = 0;
    let n0 = 0;
    let nf = 0;
    let decidedFast = 0;
    let decidable = 0;
    const TRIALS = 200000;
    for (let t = 0; t < TRIALS; t++) {
      const u = (k: number) => uniform(key, 16 * t + k);
      const z = (k: number) => normal(key, 8 * t + k + 1e7);
      const kind = t % 6;
      const aB = [0, Math.exp(-2), u(0) * 0.99, Math.exp(-0.5), Math.exp(-2), u(0)][kind];
      const aR = [0, Math.exp(-0.25), u(1) * 0.999, Math.exp(-0.05), Math.exp(-0.25), u(1)][kind];
      const nSub = 1 + Math.floor(u(2) * 8);
      const n1 = u(3) < 0.1 ? 0 : nSub * (1 + Math.floor(u(4) * 2));
      const nMid = kind === 3 ? nSub : 0;
      const n2 = nSub * (1 + Math.floor(u(5) * 2));
      const p: Params = { aB, aR, n: [n1, nMid, n2] };
      const scale = [2, 2, 8, 2, 40, 0.3][kind];
      const T1 = f(scale * z(0));
      const h = f(scale * z(1));
      const hm = nMid > 0 ? f(h + scale * 0.3 * z(2)) : h;
      const V0 = f(T1 + (u(6) < 0.5 ? 1e-3 : 1) * scale * z(3));
      const gi = kind === 5 ? 0.5 + u(7) : 1 + 0.03 * z(4);
      const oi = kind === 5 ? 3 * z(5) : 0.05 * z(5);
      const old = u(8) < 0.5 ? -1 : 1;
      const { P, V } = exactP(p, V0, T1, h, hm, gi, oi, old);
      const est = estimate(p, V0, T1, h, hm, gi, oi, old, V);
      if (!Number.isFinite(est.M) || !Number.isFinite(est.P)) continue;
      n++;
      const err = Math.abs(P - est.P);
      worst = Math.max(worst, err / est.M);
      if (est.M < 0.01) decidable++;
      if (err > est.M) throw new Error(`bound violated: P=${P} P~=${est.P} M=${est.M} params ${JSON.stringify({ p, V0, T1, h, hm, gi, oi, old })}`);
      if (nMid === 0) {
        n0++;
        // the fast decision is monotone in r: right for every draw iff not up at r = thr and not down at r = thr - 1
        const thr = Math.min(Math.ceil(P * 2 ** 32), 2 ** 32 - 1);
        const atThr = decideFast(p, V0, T1, h, gi, oi, old, V, thr);
        const below = thr > 0 ? decideFast(p, V0, T1, h, gi, oi, old, V, thr - 1) : 'undecided';
        if (atThr === 'up' || below === 'down')
          throw new Error(`fast decision wrong: P=${P} at ${thr}: ${atThr}, below: ${below} params ${JSON.stringify({ p, V0, T1, h, gi, oi, old })}`);
        nf++;
        if (decideFast(p, V0, T1, h, gi, oi, old, V, Math.floor(u(9) * 2 ** 32)) !== 'undecided') decidedFast++;
      }
    }
    expect(n0).toBeGreaterThan(TRIALS * 0.7);
    expect(nf).toBe(n0);
    expect(decidedFast).toBeGreaterThan(nf / 2); // useful: most uniform draws decided
    expect(n).toBeGreaterThan(TRIALS * 0.95);
    expect(worst).toBeLessThan(1);
    expect(decidable).toBeGreaterThan(n / 2); // the bound is tight enough to be useful
  });
});

// The cycle cell's divider term in single precision (cells/physics.ts dividerQ32, what every engine
// counts) against the double-precision expression (dividerQ, the ideal cell's): the f32 square of
// x = 256 vsv V is within 1.25 2^-22 x^2 <= 0.005 of the exact one, so the two round to the same
// integer unless x^2 is that close to a half-integer (a step), and then differ by one unit in 16384.
// Random nodes, and nodes placed at the steps, for several vsv.
describe('cycle divider term in single precision', () => {
  it('is the double-precision term but within 0.005 of a step, and then off by one', () => {
    const key = streamKey(77, 5);
    let n = 0;
    let differ = 0;
    let nearStep = 0;
    for (const vsv of [0.1293, 0.0817, 0.5, 1 / 3, 1e-3]) {
      const check = (V: number) => {
        V = f(V);
        const a = dividerQ32(V, vsv);
        const b = dividerQ(V, vsv);
        const x = 256 * vsv * V;
        const frac = Math.abs(x * x - Math.floor(x * x) - 0.5);
        n++;
        if (Math.abs(x) < 128 && frac < 0.005) nearStep++;
        if (a === b) return;
        differ++;
        if (Math.abs(a - b) !== 1 || !(Math.abs(x) < 128.01 && frac < 0.005))
          throw new Error(`divider: V=${V} vsv=${vsv}: f32 ${a}, double ${b}, x^2 ${x * x}`);
      };
      for (let t = 0; t < 100000; t++) {
        check(normal(key, t) * 3);
        // near a step: x^2 = j + 1/2, j < 16384
        const j = Math.floor(uniform(key, t + 1e6) * 16384);
        const V = (Math.sqrt(j + 0.5) / (256 * vsv)) * (uniform(key, t + 2e6) < 0.5 ? 1 : -1);
        for (let e = -6; e <= 6; e++) check(V * (1 + e * 2 ** -24));
      }
      for (const V of [0, 1e-30, -1e-30, 1 / vsv, -1 / vsv, 0.5 / vsv, 0.5000001 / vsv, 1e30, -1e30, Infinity, -Infinity]) check(V);
    }
    expect(differ).toBeGreaterThan(0); // the step-adjacent nodes do find the difference
    expect(differ).toBeLessThanOrEqual(nearStep);
    expect(n).toBeGreaterThan(1e6);
  });
});

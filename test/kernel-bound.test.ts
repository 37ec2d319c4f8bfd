// The cycle engine's fast path decides a latch from an estimate P~ of the exact probability P and
// a bound M on its error (cells/wasm/emit/estimate.ts); the decision is only right if |P - P~| <= M always.
// This test checks that inequality directly, on random and adversarial inputs, with the estimate
// emulated operation by operation in single precision (Math.fround) as the generated code does.
import { describe, it, expect } from 'vitest';
import { streamKey, uniform, normal } from '../rng/counter.js';
import { segmentConstants } from '../cells/wasm/engine.js';

const f = Math.fround;
const E = 1e-5; // cells/wasm/engine.ts SIGMA_ERR
const K0 = 1e-5; // EST_SLOP
const SK = 2e-7; // EST_SLOP_REL
const MAGIC = 12582912;

/** sigma~(z) as the generated code computes it (f32x4 lanes) */
function sigma32(z: number): number {
  const a = Math.min(Math.abs(z), 40); // pmin(|z|, 40)
  const y = f(a * f(-Math.LOG2E));
  const k = f(y + MAGIC);
  const ax = f(f(y - f(k - MAGIC)) * f(Math.LN2));
  let q = f(f(1 / 24) + f(ax * f(1 / 120)));
  q = f(f(1 / 6) + f(ax * q));
  q = f(f(1 / 2) + f(ax * q));
  q = f(1 + f(ax * q));
  q = f(1 + f(ax * q));
  const t = q * 2 ** (k - MAGIC); // exponent bits: exact
  return f((z >= 0 ? 1 : t) / f(1 + t));
}

interface Params {
  aB: number;
  aR: number;
  n: [number, number, number];
}

/** the constants C0, C1, C2/2, C3/48 per segment, as the kernel stores them (single precision) */
function constants(p: Params): number[] {
  const out = new Float64Array(12);
  segmentConstants(p.n, p.aB, p.aR, out, 0);
  return Array.from(out, f);
}

/** the reference: the kernel's exact loops */
function exactP(p: Params, V0: number, T1: number, h: number, hm: number, gi: number, oi: number, old: number): { P: number; V: number[] } {
  let V = V0;
  let A = 0;
  const Vs: number[] = [V0];
  const targets = [T1, hm, h];
  for (let s = 0; s < 3; s++) {
    const T = targets[s];
    for (let n = 0; n < p.n[s]; n++) {
      V = T + (V - T) * p.aB;
      const pr = 1 / (1 + Math.exp(-(gi * V + oi)));
      A = pr + (A - pr) * p.aR;
    }
    Vs.push(V);
  }
  return { P: A + (old > 0 ? Math.pow(p.aR, p.n[0] + p.n[1] + p.n[2]) : 0), V: Vs };
}

/** P~ and M as the generated code computes them */
function estimate(p: Params, V0: number, T1: number, h: number, hm: number, gi: number, oi: number, old: number, Vs: number[]) {
  const C = constants(p);
  const GI = f(gi);
  const OI = f(oi);
  let P = old > 0 ? f(Math.pow(p.aR, p.n[0] + p.n[1] + p.n[2])) : 0;
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

describe('cycle engine estimate: |P - P~| <= M', () => {
  it('holds on random and adversarial inputs', () => {
    const key = streamKey(2024, 11);
    let n = 0;
    let worst = 0;
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
      const T1 = scale * z(0);
      const h = scale * z(1);
      const hm = nMid > 0 ? h + scale * 0.3 * z(2) : h;
      const V0 = T1 + (u(6) < 0.5 ? 1e-3 : 1) * scale * z(3);
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
    }
    expect(n).toBeGreaterThan(TRIALS * 0.95);
    expect(worst).toBeLessThan(1);
    expect(decidable).toBeGreaterThan(n / 2); // the bound is tight enough to be useful
  });
});

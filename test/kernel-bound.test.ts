// The cycle engine's fast path decides a latch from an estimate P~ of the exact probability P and
// a bound M on its error (cells/wasm/emit/kernel.ts); the decision is only right if |P - P~| <= M
// always. This test checks that inequality directly, on random and adversarial inputs, with the
// estimate emulated operation by operation in single precision (Math.fround) as the generated
// code does, against the cell itself (cells/physics.ts cycleLatchP, also single precision).
// Also the many-chain kernel's zeroth-order bound (cells/wasm/batch/emit.ts emitCycle).
import { describe, it, expect } from 'vitest';
import { streamKey, uniform, normal } from '../rng/counter.js';
import { segmentConstants, estimateSlop, SIGMA_ERR } from '../cells/wasm/engine.js';
import { cycleLatchP, powers32, rngMemory32, biasNodeAt } from '../cells/physics.js';

const f = Math.fround;
const E = SIGMA_ERR;
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

/** the many-chain kernel's zeroth-order estimate P0 and bound B (no delayed links), as it computes them */
function estimate0(p: Params, V0: number, T1: number, h: number, gi: number, oi: number, old: number, Vs: number[]) {
  const C = constants64(p);
  const [K0, SK] = estimateSlop(p.n[0] + p.n[2], p.aR);
  const up = (x: number) => f(x * (1 + 1e-6));
  const [B1, B2, KB] = [up(C[1] / 4), up(C[9] / 4), up(K0 + E * (C[0] + C[8]))];
  const GI = f(gi);
  const OI = f(oi);
  const sg1 = sigma32(f(f(GI * T1) + OI));
  const sg2 = sigma32(f(f(GI * h) + OI));
  const x1 = f(GI * f(V0 - T1));
  const x2 = f(GI * f(Vs[2] - h));
  let P = f((old > 0 ? rngMemory32(p.aR, p.n[0] + p.n[2]) : 0) + f(sg1 * f(C[0])));
  let SL = f(Math.abs(OI) + f(Math.abs(x1) + Math.abs(f(GI * T1))));
  let M = f(Math.abs(x1) * B1);
  P = f(P + f(sg2 * f(C[8])));
  SL = f(SL + f(Math.abs(x2) + Math.abs(f(GI * h))));
  M = f(M + f(f(Math.abs(x2) * B2) + f(KB + f(f(SK) * SL))));
  return { P, M };
}

describe('cycle engine estimate: |P - P~| <= M', () => {
  it('holds on random and adversarial inputs', () => {
    const key = streamKey(2024, 11);
    let n = 0;
    let worst = 0;
    let n0 = 0;
    let worst0 = 0;
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
        const e0 = estimate0(p, V0, T1, h, gi, oi, old, V);
        if (Number.isFinite(e0.M) && Number.isFinite(e0.P)) {
          n0++;
          worst0 = Math.max(worst0, Math.abs(P - e0.P) / e0.M);
          if (Math.abs(P - e0.P) > e0.M) throw new Error(`zeroth-order bound violated: P=${P} P0=${e0.P} B=${e0.M} params ${JSON.stringify({ p, V0, T1, h, gi, oi, old })}`);
        }
      }
    }
    expect(n0).toBeGreaterThan(TRIALS * 0.7);
    expect(worst0).toBeLessThan(1);
    expect(n).toBeGreaterThan(TRIALS * 0.95);
    expect(worst).toBeLessThan(1);
    expect(decidable).toBeGreaterThan(n / 2); // the bound is tight enough to be useful
  });
});

// The cycle model outside the ideal limit: sticky p-bits (telegraph RNG), stale fields (bias
// settling, delayed tile links), and the ideal branch being the same model as the general one.
import { describe, it, expect } from 'vitest';
import { buildChip } from '../sim/chip.js';
import { runModel } from '../sim/run.js';
import { sigmoid } from '../rng/telegraph.js';
import { testConfig, gridSets, toModel } from './helpers/chip.js';

const Z_TAIL = 4.75;

function isolated(L: number, bias: number, beta = 1) {
  return toModel({ n: L * L, beta, bias: new Array(L * L).fill(bias), edges: [] }, L, [[0, 1]], 'open');
}

/**
 * A 2x2 open grid with one coupled pair: cell 0 (colour 0, latches first in a sweep) and cell 1
 * (colour 1). Records, per chain, the sequence of (A, B) after every sweep.
 */
async function pairRun(sets: string[], w: number, chains: number, sweeps: number) {
  const L = 2;
  const model = toModel({ n: 4, beta: 1, bias: [0, 0, 0, 0], edges: [[0, 1, w]] }, L, [[0, 1]], 'open');
  const chip = buildChip(testConfig([...gridSets(L, [[0, 1]], 'open'), ...sets]));
  const seqs: { A: number[]; B: number[]; B0: number }[] = [];
  await runModel(chip, model, {
    chains,
    sweeps,
    warmup: 0,
    init: 'random',
    onSweep: (v) => {
      if (v.sweep === 0) seqs[v.chain] = { A: [], B: [], B0: NaN };
      seqs[v.chain].A.push(v.s[0]);
      seqs[v.chain].B.push(v.s[1]);
    },
  });
  return { chip, seqs };
}

/**
 * z-score of observed spins against predicted P(+1) = ps, projected on the direction in which a
 * rival prediction qs differs: sum d (x - m) / sqrt(sum d^2 (1 - m^2)), m = 2p - 1, d = (2q-1) - m.
 * Each x has conditional mean m given the past if ps is right, so z is standard normal then;
 * it grows like sqrt(samples) when ps is wrong in the direction of qs.
 */
function zScore(xs: number[], ps: number[], qs: number[]): number {
  let num = 0;
  let den = 0;
  xs.forEach((x, t) => {
    const m = 2 * ps[t] - 1;
    const d = 2 * qs[t] - 1 - m;
    num += d * (x - m);
    den += d * d * (1 - m * m);
  });
  return num / Math.sqrt(den);
}

describe('non-ideal cycle model', () => {
  it("a zero-field cell's lag-one autocorrelation is exp(-interval/tau_rng)", async () => {
    const L = 8;
    // latch interval = one sweep = 2 phases of 1 cycle at 10 MHz = 200 ns; tau = 200 ns -> rho = e^-1
    for (const tau of [2e-7, 5e-8]) {
      // ideal but for the RNG's relaxation time
      const chip = buildChip(testConfig([...gridSets(L, [[0, 1]], 'open'), `rng.tau_rng_s=${tau}`, 'seed=5']));
      expect(chip.ideal).toBe(false);
      const prev = new Float64Array(L * L);
      let sum = 0;
      let n = 0;
      const sweeps = 4000;
      await runModel(chip, isolated(L, 0), {
        chains: 2,
        sweeps,
        warmup: 0,
        onSweep: (v) => {
          if (v.sweep > 0) for (let i = 0; i < L * L; i++) ((sum += prev[i] * v.s[i]), n++);
          prev.set(v.s.subarray(0, L * L));
        },
      });
      const rho = Math.exp(-2e-7 / tau);
      // successive products x_t x_{t+1} of a symmetric two-state Markov chain are independent,
      // each with variance 1 - rho^2
      const tol = Z_TAIL * Math.sqrt((1 - rho * rho) / n);
      expect(Math.abs(sum / n - rho)).toBeLessThan(tol);
    }
  });

  it('ideal branch and general branch are the same model (byte-identical states)', async () => {
    const cfg = testConfig(['fabric.L=12', 'fabric.rules="G8"', 'fabric.boundary="open"', 'seed=17']);
    const L = 12;
    const bias = Array.from({ length: L * L }, (_, i) => Math.sin(i) * 0.5);
    const model = toModel(
      { n: L * L, beta: 1, bias, edges: [] },
      L,
      [
        [0, 1],
        [4, 1],
      ],
      'open',
    );
    const fast = buildChip(cfg);
    const general = buildChip(cfg);
    general.spec.physics.gain = new Float64Array(L * L).fill(1); // forces the general branch: gain 1, offset 0
    general.spec.physics.offset = new Float64Array(L * L);
    expect(fast.ideal).toBe(true);
    const a = await runModel(fast, model, { chains: 3, sweeps: 50, warmup: 0 });
    const b = await runModel(general, model, { chains: 3, sweeps: 50, warmup: 0 });
    expect(Buffer.from(b.finals[2].buffer)).toEqual(Buffer.from(a.finals[2].buffer));
    expect(b.events).toEqual(a.events);
  });

  it('bias settling: a cell sees its field relax with tau_bias = C / G_sigma (stale fields)', async () => {
    // a = exp(-phase / tau_bias) = 1/2 per 100 ns phase; tau_rng = 0 so P(A=+1) = sigma(node at latch)
    const tau = 1e-7 / Math.LN2;
    const C = tau * 8e-8;
    const w = 1.5;
    const { chip, seqs } = await pairRun([`cell.node_capacitance_f=${C}`, 'cell.g_sigma_s=8e-8', 'seed=21'], w, 20, 4000);
    expect(chip.timing.tauBiasS).toBeCloseTo(tau, 12);
    const a = 0.5;
    const h = (b: number) => 2 * w * b;
    const xs: number[] = [];
    const settled: number[] = [];
    const fresh: number[] = [];
    for (const { A, B } of seqs) {
      // start the recursion from a node settled at h(B[0]); the start error decays by a^2 = 1/4
      // per sweep, so after 12 sweeps it is below 1e-6 of the drive and only later sweeps are scored
      let V = h(B[0]);
      for (let t = 2; t < A.length; t++) {
        // interval before A's latch at sweep t: phase B of sweep t-1 (B = B[t-2]) then phase A (B = B[t-1])
        const Vp = h(B[t - 2]) + (V - h(B[t - 2])) * a;
        V = h(B[t - 1]) + (Vp - h(B[t - 1])) * a;
        if (t < 12) continue;
        xs.push(A[t]);
        settled.push(sigmoid(V));
        fresh.push(sigmoid(h(B[t - 1])));
      }
    }
    expect(Math.abs(zScore(xs, settled, fresh))).toBeLessThan(Z_TAIL);
    expect(Math.abs(zScore(xs, fresh, settled))).toBeGreaterThan(3 * Z_TAIL); // the exact-Gibbs prediction is visibly wrong
  });

  it('a tile link with latency = phase length delivers the neighbour a sweep late', async () => {
    // every wire crosses a tile (tile size 1); 2 cycles per phase, latency 2: A's latch never sees B's newest value
    const w = 1.2;
    const { chip, seqs } = await pairRun(['fabric.tile.size=1', 'clock.phase_cycles=2', 'fabric.tile.link_latency_cycles=2', 'seed=8'], w, 20, 4000);
    expect(chip.fabric.cross[0 * chip.fabric.D + 0] + chip.fabric.crossCount[0]).toBeGreaterThan(0);
    const xs: number[] = [];
    const late: number[] = [];
    const fresh: number[] = [];
    for (const { A, B } of seqs) {
      for (let t = 2; t < A.length; t++) {
        xs.push(A[t]);
        late.push(sigmoid(2 * w * B[t - 2]));
        fresh.push(sigmoid(2 * w * B[t - 1]));
      }
    }
    expect(Math.abs(zScore(xs, late, fresh))).toBeLessThan(Z_TAIL);
    expect(Math.abs(zScore(xs, fresh, late))).toBeGreaterThan(3 * Z_TAIL);
  });

  it('isolated cells still follow sigma(2 beta b) in the cycle model (no drift from settling)', async () => {
    const L = 6;
    const cfg = testConfig([...gridSets(L, [[0, 1]], 'open'), 'cell.node_capacitance_f=1e-14', 'seed=3']);
    const chip = buildChip(cfg);
    expect(chip.ideal).toBe(false);
    const sweeps = 20000;
    const r = await runModel(chip, isolated(L, 0.4), { chains: 1, sweeps, warmup: 0, moments: true });
    const m = r.moments!.mean_spin.reduce((s, v) => s + v, 0) / (L * L);
    const pred = Math.tanh(0.4);
    expect(Math.abs(m - pred)).toBeLessThan(Z_TAIL * Math.sqrt((1 - pred * pred) / (sweeps * L * L)));
  });
});

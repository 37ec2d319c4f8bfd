// Physics of the chip outside the ideal limit (telegraph RNG, mismatch, quantisation), and the
// 2D Ising ferromagnet against Onsager's exact solution.
import { describe, it, expect } from 'vitest';
import { buildChip } from '../sim/chip.js';
import { runModel } from '../sim/run.js';
import { sigmoid } from '../rng/telegraph.js';
import { quantise } from '../cells/planes.js';
import { onsagerNN } from './helpers/stats.js';
import { testConfig, gridSets, toModel, allWires } from './helpers/chip.js';

const Z_TAIL = 4.75;

function isolated(L: number, bias: number, beta = 1) {
  return toModel({ n: L * L, beta, bias: new Array(L * L).fill(bias), edges: [] }, L, [[0, 1]], 'open');
}

describe('fabrication mismatch', () => {
  it("shifts each isolated cell's mean as sigma(gain*h + offset) predicts", async () => {
    const L = 6;
    const b = 0.3;
    const cfg = testConfig([...gridSets(L, [[0, 1]], 'open'), 'rng.v_off_sigma_v=0.01', 'rng.v_s_sigma_rel=0.15', 'seed=9']);
    const chip = buildChip(cfg);
    expect(chip.fab.gain).not.toBeNull();
    const sweeps = 20000;
    const r = await runModel(chip, isolated(L, b), { chains: 1, sweeps, warmup: 0, moments: true });
    const ideal = 2 * sigmoid(2 * b) - 1;
    let maxShift = 0;
    for (let i = 0; i < L * L; i++) {
      const pred = 2 * sigmoid(chip.fab.gain![i] * 2 * b + chip.fab.offset![i]) - 1;
      maxShift = Math.max(maxShift, Math.abs(pred - ideal));
      const se = Math.sqrt((1 - pred * pred) / sweeps); // tau_rng = 0: samples independent
      expect(Math.abs(r.moments!.mean_spin[i] - pred)).toBeLessThan(Z_TAIL * se);
    }
    // the mismatch is large enough here to be seen well outside the tolerance
    expect(maxShift).toBeGreaterThan(10 * Math.sqrt(1 / sweeps));
  });

  it('draws V_off and V_s spreads with the configured sigmas', () => {
    const cfg = testConfig(['rng.v_off_sigma_v=0.004', 'rng.v_s_sigma_rel=0.05'], true);
    const chip = buildChip(cfg);
    const N = chip.fabric.N;
    const sd = (a: Float64Array, m: number) => Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - 1));
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const vS = chip.fab.vS;
    const mS = mean(vS);
    // the sample sd of N normals has relative standard error ~ 1/sqrt(2N)
    const rel = Z_TAIL / Math.sqrt(2 * N);
    expect(Math.abs(sd(chip.fab.vOffDelta, 0) / 0.004 - 1)).toBeLessThan(rel);
    expect(Math.abs(sd(vS, mS) / mS / 0.05 - 1)).toBeLessThan(rel + 0.01);
  });
});

describe('finite weight precision', () => {
  it('an isolated cell samples sigma(2 beta q(b)) with q the 3-bit quantiser', async () => {
    const L = 6;
    const b = 0.3; // 3 bits over [-1, 1]: levels at k/3, so q(0.3) = 1/3
    const cfg = testConfig([...gridSets(L, [[0, 1]], 'open'), 'cell.weight_bits=3', 'cell.weight_full_scale=1', 'seed=4']);
    const chip = buildChip(cfg);
    expect(quantise(b, 3, 1)).toBeCloseTo(1 / 3, 12);
    const sweeps = 40000;
    const r = await runModel(chip, isolated(L, b), { chains: 1, sweeps, warmup: 0, moments: true });
    const m = r.moments!.mean_spin.reduce((s, v) => s + v, 0) / (L * L);
    const pred = Math.tanh(1 / 3);
    const se = Math.sqrt((1 - pred * pred) / (sweeps * L * L));
    expect(Math.abs(m - pred)).toBeLessThan(Z_TAIL * se);
    expect(Math.abs(Math.tanh(0.3) - pred)).toBeGreaterThan(3 * Z_TAIL * se); // distinguishable from unquantised
  });
});

describe('2D Ising ferromagnet on a torus vs Onsager', () => {
  for (const [K, init] of [
    [0.3, 'random'],
    [0.36, 'random'],
    [0.55, 'up'],
    [0.7, 'up'],
  ] as const) {
    it(`nearest-neighbour correlation at K = ${K} (${K < 0.4407 ? 'above' : 'below'} T_c)`, async () => {
      const L = 48;
      const rules: [number, number][] = [[0, 1]];
      const edges = allWires(L, rules, 'torus').map(([i, j]) => [i, j, 1] as [number, number, number]);
      const model = toModel({ n: L * L, beta: K, bias: new Array(L * L).fill(0), edges }, L, rules, 'torus');
      const cfg = testConfig([...gridSets(L, rules, 'torus'), 'seed=2']);
      const sweeps = 3000;
      const batch = 100;
      const batches: number[] = [];
      let acc = 0;
      const E = edges.length;
      await runModel(buildChip(cfg), model, {
        chains: 1,
        sweeps,
        warmup: 300,
        init,
        onSweep: (v) => {
          if (v.sweep < 300) return;
          let c = 0;
          for (const [i, j] of edges) c += v.s[i] * v.s[j];
          acc += c / E;
          if ((v.sweep - 300 + 1) % batch === 0) {
            batches.push(acc / batch);
            acc = 0;
          }
        },
      });
      const mean = batches.reduce((s, v) => s + v, 0) / batches.length;
      const sd = Math.sqrt(batches.reduce((s, v) => s + (v - mean) ** 2, 0) / (batches.length - 1));
      const se = sd / Math.sqrt(batches.length);
      const exact = onsagerNN(K);
      // statistical error from batch means; finite-size corrections at L = 48 are far below it
      expect(Math.abs(mean - exact)).toBeLessThan(Z_TAIL * se + 2e-4);
    });
  }
});

// The ideal chip is exact chromatic Gibbs: its samples follow exp(-E)/Z of small models, checked
// against exact enumeration of every state.
import { describe, it, expect } from 'vitest';
import { buildChip } from '../sim/chip.js';
import { runModel } from '../sim/run.js';
import { exactDistribution, exactMoments, chiSquare, chiSquareCritical, type SmallModel } from './helpers/stats.js';
import { testConfig, gridSets, toModel, allWires } from './helpers/chip.js';
import type { Rule } from '../fabric/rules.js';
import { mix32 } from '../rng/counter.js';

// z for a one-sided tail of about 1e-6: a correct sampler fails this test once in a million seeds.
const Z_TAIL = 4.75;

function randomSmallModel(L: number, rules: Rule[], boundary: 'open' | 'torus', beta: number, seed: number): SmallModel {
  let k = seed;
  const u = () => (k = mix32(k + 0x9e3779b9)) / 4294967296;
  const n = L * L;
  return {
    n,
    beta,
    bias: Array.from({ length: n }, () => 0.8 * (u() - 0.5)),
    edges: allWires(L, rules, boundary).map(([i, j]) => [i, j, 1.2 * (u() - 0.5)] as [number, number, number]),
  };
}

/** Final states of many independent chains after warm-up: independent exact samples. */
async function sample(m: SmallModel, L: number, rules: Rule[], boundary: 'open' | 'torus', chains: number, warmup: number, seed = 7) {
  const cfg = testConfig([...gridSets(L, rules, boundary), `seed=${seed}`]);
  const chip = buildChip(cfg);
  expect(chip.ideal).toBe(true);
  const r = await runModel(chip, toModel(m, L, rules, boundary), { chains, sweeps: 1, warmup, moments: true });
  const counts = new Float64Array(1 << m.n);
  for (const f of r.finals) {
    let x = 0;
    for (let i = 0; i < m.n; i++) if (f[i] > 0) x |= 1 << i;
    counts[x]++;
  }
  return { counts, r };
}

describe('ideal chip = exact Boltzmann distribution', () => {
  it('3x3 open grid, nearest neighbours: state distribution (chi-square) and moments', async () => {
    const L = 3;
    const rules: Rule[] = [[0, 1]];
    const m = randomSmallModel(L, rules, 'open', 0.9, 11);
    const p = exactDistribution(m);
    const n = 40000;
    const { counts } = await sample(m, L, rules, 'open', n, 20);
    const { stat, df } = chiSquare(counts, p, n);
    expect(df).toBeGreaterThan(50);
    expect(stat).toBeLessThan(chiSquareCritical(df, Z_TAIL));

    // the same samples against a slightly wrong distribution (beta 15% off) must fail: the test has power
    const wrong = exactDistribution({ ...m, beta: m.beta * 1.15 });
    expect(chiSquare(counts, wrong, n).stat).toBeGreaterThan(chiSquareCritical(df, Z_TAIL));

    // moments: per cell and per edge, within Z_TAIL standard errors of the exact values
    const ex = exactMoments(m, p);
    const mean = new Array(m.n).fill(0);
    for (let x = 0; x < counts.length; x++) for (let i = 0; i < m.n; i++) mean[i] += (counts[x] * ((x >> i) & 1 ? 1 : -1)) / n;
    for (let i = 0; i < m.n; i++) {
      const se = Math.sqrt((1 - ex.mean[i] ** 2) / n);
      expect(Math.abs(mean[i] - ex.mean[i])).toBeLessThan(Z_TAIL * se + 1e-12);
    }
  });

  it('4x4 open grid with rules (0,1),(2,1) and four clamped cells', async () => {
    const L = 4;
    const rules: Rule[] = [
      [0, 1],
      [2, 1],
    ];
    const m = randomSmallModel(L, rules, 'open', 1.0, 23);
    m.clamp = new Map([
      [0, 1],
      [5, -1],
      [10, 1],
      [15, -1],
    ]);
    const p = exactDistribution(m);
    const n = 30000;
    const { counts, r } = await sample(m, L, rules, 'open', n, 25);
    for (const [i, v] of m.clamp) for (const f of r.finals) expect(f[i]).toBe(v);
    const { stat, df } = chiSquare(counts, p, n);
    expect(df).toBeGreaterThan(100);
    expect(stat).toBeLessThan(chiSquareCritical(df, Z_TAIL));
    // edge correlations reported in stats (moments over chains), against exact values
    const ex = exactMoments(m, p);
    const corr = r.moments!.edge_corr;
    expect(corr.length).toBe(m.edges.length);
    ex.corr.forEach((c, e) => {
      const se = Math.sqrt((1 - c * c) / n);
      expect(Math.abs(corr[e] - c)).toBeLessThan(Z_TAIL * se + 1e-12);
    });
  });

  it('4x4 torus: moments from long chains (tolerance bounded for any autocorrelation)', async () => {
    const L = 4;
    const rules: Rule[] = [[0, 1]];
    const m = randomSmallModel(L, rules, 'torus', 0.8, 5);
    const p = exactDistribution(m);
    const ex = exactMoments(m, p);
    const chains = 400;
    const cfg = testConfig([...gridSets(L, rules, 'torus'), 'seed=3']);
    const r = await runModel(buildChip(cfg), toModel(m, L, rules, 'torus'), { chains, sweeps: 200, warmup: 20, moments: true });
    // a chain's mean has variance at most Var(s) whatever its autocorrelation, and chains are
    // independent, so Var(estimate) <= Var(s) / chains
    ex.mean.forEach((v, i) => expect(Math.abs(r.moments!.mean_spin[i] - v)).toBeLessThan(Z_TAIL * Math.sqrt((1 - v * v) / chains)));
    ex.corr.forEach((v, e) => expect(Math.abs(r.moments!.edge_corr[e] - v)).toBeLessThan(Z_TAIL * Math.sqrt((1 - v * v) / chains)));
  });
});

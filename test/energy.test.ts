// Energy invariants: components sum to the total, event counting, clock dependence.
import { describe, it, expect } from 'vitest';
import { buildChip } from '../sim/chip.js';
import { runModel } from '../sim/run.js';
import { randomModel } from '../sim/model.js';
import { energyTable, ENERGY_COMPONENTS } from '../power/energy.js';
import { testConfig, toModel } from './helpers/chip.js';

const STATIC = ['rng', 'bias_network', 'leakage'] as const;
const DYNAMIC = ['cell_output', 'wires', 'links', 'clock', 'programming', 'init', 'readout'] as const;

async function randomRun(sets: string[], sweeps: number, ideal = true) {
  const chip = buildChip(testConfig(['fabric.L=28', 'seed=6', ...sets], ideal));
  return runModel(chip, randomModel(chip.fabric, 3, 0.3, 0.1), { chains: 2, sweeps, warmup: 0 });
}

describe('energy', () => {
  it('components sum exactly to the total and cover static + dynamic', async () => {
    const r = await randomRun([], 100, false);
    let sum = 0;
    for (const c of ENERGY_COMPONENTS) sum += r.energy[c];
    expect(r.energy.total).toBe(sum);
    expect([...STATIC, ...DYNAMIC].sort()).toEqual([...ENERGY_COMPONENTS].sort());
    for (const c of ENERGY_COMPONENTS) expect(r.energy[c]).toBeGreaterThan(0);
  });

  it('a run with no toggles has zero switching energy', async () => {
    // every cell biased hard up and started up: P(+1) = sigma(2*10*2) rounds to 1 against any 32-bit draw
    const L = 6;
    const m = toModel({ n: L * L, beta: 10, bias: new Array(L * L).fill(2), edges: [] }, L, [[0, 1]], 'open');
    const chip = buildChip(testConfig(['fabric.L=6', 'fabric.rules=[[0,1]]']));
    const r = await runModel(chip, m, { chains: 1, sweeps: 50, warmup: 0, init: 'up' });
    expect(r.events.toggles).toBe(0);
    expect(r.energy.cell_output).toBe(0);
    expect(r.energy.wires).toBe(0);
    expect(r.energy.links).toBe(0);
    expect(r.energy.clock).toBeGreaterThan(0);
  });

  it('doubling the sweeps doubles the per-sweep energy', async () => {
    const a = await randomRun([], 400);
    const b = await randomRun([], 800);
    // deterministic per-sweep components: exactly double
    expect(b.energy.clock / a.energy.clock).toBeCloseTo(2, 12);
    // RNG on-time: each latch interval is one sweep (two 100 ns phases), except colour 0's first
    // (one phase): per chain u * (N0 (2K - 1) + N1 2K) cell-seconds with u = 100 ns
    const u = 1e-7;
    const onTime = (K: number) => 2 * u * (392 * (2 * K - 1) + 392 * 2 * K);
    expect(a.events.rng_cell_s / onTime(400)).toBeCloseTo(1, 12);
    expect(b.events.rng_cell_s / onTime(800)).toBeCloseTo(1, 12);
    // toggle-driven components: double within the statistics of the toggle count
    const rel = (4.75 * 2) / Math.sqrt(a.events.toggles);
    expect(Math.abs(b.energy.wires / a.energy.wires - 2)).toBeLessThan(2 * rel);
    expect(Math.abs(b.energy.bias_network / a.energy.bias_network - 2)).toBeLessThan(2 * rel);
  });

  it('halving the clock doubles static energy and leaves dynamic energy unchanged', async () => {
    // ideal RNG and bias network: the clock changes no state, so the comparison is exact
    const fast = await randomRun(['clock.clock_hz=2e7'], 200);
    const slow = await randomRun(['clock.clock_hz=1e7'], 200);
    expect(slow.events.toggles).toBe(fast.events.toggles);
    for (const c of STATIC) expect(slow.energy[c] / fast.energy[c]).toBeCloseTo(2, 12);
    for (const c of DYNAMIC) expect(slow.energy[c]).toBe(fast.energy[c]);
    expect(slow.simTimeS / fast.simTimeS).toBeCloseTo(2, 12);
  });

  it('a missing circuit parameter is an error naming it', () => {
    expect(() => energyTable({ vdd_v: 0.3 })).toThrow(/"cell_pitch_m" is missing|missing/);
    expect(() => energyTable({ vdd_v: NaN })).toThrow(/vdd_v/);
  });
});

// Every latch engine against the reference engine (cells/reference.ts), bit for bit: the same
// spins after every sweep, tallies, events, energy, moments and final states, over a matrix of
// fabrics and circuit settings, for several batch sizes and worker counts. A mismatch names the
// first chain, sweep and cell that differ.
import { describe, it, expect } from 'vitest';
import { buildChip, type Chip } from '../sim/chip.js';
import { runModel } from '../sim/run.js';
import { randomModel, type Model } from '../sim/model.js';
import { streamKey, uniform } from '../rng/counter.js';
import { biasWith, newMomentSums, newTally, type EngineKind } from '../cells/engine.js';
import { createEngine } from '../cells/select.js';
import { programStage } from '../sim/chip.js';
import type { Planes } from '../cells/planes.js';
import { testConfig } from './helpers/chip.js';

export interface Case {
  name: string;
  sets: string[];
  ideal: boolean;
  scale?: number;
  bias?: number;
  clampFrac?: number;
  chains?: number;
  sweeps?: number;
  anneal?: boolean;
  forceGeneral?: boolean;
}

function withClamps(m: Model, N: number, frac: number): Model {
  const k = streamKey(9, 77);
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < N; i++) {
    if (uniform(k, i) < frac) {
      idx.push(i);
      val.push(uniform(k, i + N) < 0.5 ? -1 : 1);
    }
  }
  return { ...m, stages: [{ ...m.stages[0], clampIdx: Int32Array.from(idx), clampVal: Int8Array.from(val) }] };
}

function chipFor(c: Case): Chip {
  const chip = buildChip(testConfig(c.sets, c.ideal));
  if (c.forceGeneral) {
    chip.spec.physics.gain = new Float64Array(chip.fabric.N).fill(1);
    chip.spec.physics.offset = new Float64Array(chip.fabric.N);
  }
  return chip;
}

interface Trail {
  /** per chain: the spins after every sweep, concatenated */
  spins: Int8Array[];
  tallies: string[];
  rest: string;
  used: EngineKind;
}

export async function trail(c: Case, engine: EngineKind, opt: { batch?: number; workers?: number; totalsOnly?: boolean } = {}): Promise<Trail> {
  const chip = chipFor(c);
  let model = randomModel(chip.fabric, 3, c.scale ?? 0.25, c.bias ?? 0.1);
  if (c.clampFrac) model = withClamps(model, chip.fabric.N, c.clampFrac);
  const C = c.chains ?? 2;
  const S = c.sweeps ?? 12;
  const N = chip.fabric.N;
  const spins = Array.from({ length: C }, () => new Int8Array(N * (S + 2)));
  const tallies: string[] = Array.from({ length: C }, () => '');
  const observe = (opt.workers && opt.workers > 1) || opt.totalsOnly ? undefined : (v: { chain: number; sweep: number; s: Float64Array; packed: Uint8Array; tally: unknown; events: unknown }) => {
    for (let i = 0; i < N; i++) spins[v.chain][v.sweep * N + i] = v.s[i];
    // the packed spins too (the many-chain engine packs them itself; the others through traces/pack.ts)
    tallies[v.chain] += JSON.stringify([v.sweep, v.tally, v.events, Buffer.from(v.packed).toString('base64')]);
  };
  const r = await runModel(chip, model, {
    chains: C,
    sweeps: S,
    warmup: 2,
    moments: true,
    engine,
    batch: opt.batch,
    workers: opt.workers,
    beta: c.anneal ? (s: number, t: number) => 0.8 + (0.4 * s) / t : undefined,
    onSweep: observe,
  });
  return { spins, tallies, rest: JSON.stringify([r.events, r.energy, r.moments, r.cycles, r.finals.map((f) => Array.from(f))]), used: r.engine.used };
}

/** '' when equal, else where they first differ */
export function firstDifference(a: Trail, b: Trail, N: number): string {
  for (let c = 0; c < a.spins.length; c++) {
    const x = a.spins[c];
    const y = b.spins[c];
    for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return `chain ${c}, sweep ${Math.floor(k / N)}, cell ${k % N}: ${x[k]} vs ${y[k]}`;
    if (a.tallies[c] !== b.tallies[c]) return `chain ${c}: tallies, events or packed spins differ`;
  }
  return a.rest === b.rest ? '' : 'run totals (events, energy, moments or finals) differ';
}

const G12_33 = ['fabric.L=33', 'fabric.rules="G12"'];
export const cases: Case[] = [
  { name: 'ideal, paper preset (70x70 G12)', sets: [], ideal: true, chains: 1, sweeps: 6 },
  { name: 'ideal, paper preset, 8-bit weights', sets: ['cell.weight_bits=8'], ideal: true, chains: 3, sweeps: 6 },
  { name: 'cycle, paper preset (70x70 G12)', sets: [], ideal: false, chains: 1, sweeps: 6 },
  { name: 'ideal, torus', sets: ['fabric.L=28', 'fabric.boundary="torus"'], ideal: true },
  { name: 'cycle, torus', sets: ['fabric.L=28', 'fabric.boundary="torus"'], ideal: false },
  { name: 'cycle, link latency 1', sets: ['fabric.L=30', 'clock.phase_cycles=2', 'fabric.tile.link_latency_cycles=1', 'fabric.tile.size=7'], ideal: false },
  {
    name: 'cycle, latency 2, odd L, G8, 2 substeps',
    sets: ['fabric.L=31', 'fabric.rules="G8"', 'clock.phase_cycles=3', 'clock.analog_substeps=2', 'fabric.tile.link_latency_cycles=2', 'fabric.tile.size=5'],
    ideal: false,
  },
  { name: 'cycle, latency on a torus', sets: ['fabric.L=30', 'fabric.boundary="torus"', 'fabric.tile.link_latency_cycles=1', 'fabric.tile.size=6'], ideal: false },
  { name: 'cycle, fresh RNG bits (tau_rng = 0)', sets: [...G12_33, 'rng.tau_rng_s=0'], ideal: false },
  { name: 'cycle, instant bias (C = 0)', sets: [...G12_33, 'cell.node_capacitance_f=0'], ideal: false },
  { name: 'cycle, slow bias network', sets: [...G12_33, 'cell.node_capacitance_f=2e-14'], ideal: false },
  { name: 'cycle, slow RNG', sets: [...G12_33, 'rng.tau_rng_s=1e-6'], ideal: false },
  { name: 'cycle, exact weights', sets: [...G12_33, 'cell.weight_bits="exact"'], ideal: false },
  { name: 'cycle, 4-bit weights, 1 substep', sets: [...G12_33, 'cell.weight_bits=4', 'clock.analog_substeps=1'], ideal: false },
  { name: 'cycle, 7 substeps, 2-cycle phases', sets: [...G12_33, 'clock.analog_substeps=7', 'clock.phase_cycles=2'], ideal: false },
  { name: 'cycle, hot chip (temperature only)', sets: [...G12_33, 'rng.temperature_k=330', 'rng.v_off_sigma_v=0', 'rng.v_s_sigma_rel=0'], ideal: false },
  { name: 'cycle, strong couplings', sets: G12_33, ideal: false, scale: 3, bias: 2 },
  { name: 'cycle, huge couplings (many exact decisions)', sets: ['fabric.L=20', 'cell.weight_full_scale=200'], ideal: false, scale: 100, bias: 50 },
  { name: 'ideal, huge couplings', sets: G12_33, ideal: true, scale: 20, bias: 5 },
  { name: 'ideal, huge couplings, 12-bit weights', sets: [...G12_33, 'cell.weight_bits=12', 'cell.weight_full_scale=30'], ideal: true, scale: 20, bias: 5 },
  { name: 'ideal, tiny couplings', sets: G12_33, ideal: true, scale: 1e-9, bias: 1e-12 },
  { name: 'ideal, clamped cells', sets: ['fabric.L=37'], ideal: true, clampFrac: 0.3 },
  { name: 'ideal, clamped cells, 8-bit weights', sets: ['fabric.L=37', 'cell.weight_bits=8'], ideal: true, clampFrac: 0.3, chains: 5 },
  { name: 'cycle, clamped cells', sets: ['fabric.L=37'], ideal: false, clampFrac: 0.3 },
  { name: 'ideal, G16', sets: ['fabric.L=33', 'fabric.rules="G16"'], ideal: true },
  { name: 'ideal, Z1 rules', sets: ['fabric.L=17', 'fabric.rules="Z1"'], ideal: true },
  { name: 'ideal, 2x2 grid', sets: ['fabric.L=2', 'fabric.rules=[[0,1]]'], ideal: true, chains: 3 },
  { name: 'cycle, 3x3 grid', sets: ['fabric.L=3', 'fabric.rules=[[0,1]]'], ideal: false, chains: 3 },
  { name: 'ideal chip forced down the general branch', sets: ['fabric.L=21', 'fabric.rules="G8"'], ideal: true, forceGeneral: true },
  { name: 'ideal, annealed beta', sets: ['fabric.L=30'], ideal: true, anneal: true },
  { name: 'ideal, annealed beta, 8-bit weights', sets: ['fabric.L=30', 'cell.weight_bits=8'], ideal: true, anneal: true, chains: 6 },
  { name: 'ideal, torus, 6-bit weights', sets: ['fabric.L=28', 'fabric.boundary="torus"', 'cell.weight_bits=6'], ideal: true, chains: 9 },
  { name: 'ideal, G16, 8-bit weights', sets: ['fabric.L=33', 'fabric.rules="G16"', 'cell.weight_bits=8'], ideal: true, chains: 17 },
  { name: 'ideal, Z1 rules, 8-bit weights', sets: ['fabric.L=17', 'fabric.rules="Z1"', 'cell.weight_bits=8'], ideal: true },
  { name: 'ideal, 4x4 torus, 3-bit weights', sets: ['fabric.L=4', 'fabric.rules=[[0,1]]', 'fabric.boundary="torus"', 'cell.weight_bits=3'], ideal: true, chains: 3, scale: 2 },
  { name: 'ideal, 65 chains (two blocks and a partial one)', sets: ['fabric.L=12', 'fabric.rules="G8"', 'cell.weight_bits=8'], ideal: true, chains: 65, sweeps: 5 },
  { name: 'cycle, annealed beta', sets: ['fabric.L=30'], ideal: false, anneal: true },
  // the many-chain engine with every lane of its vectors in use (its unmasked kernel, as 64-chain runs use it)
  { name: 'cycle, 24 chains (three full vectors)', sets: G12_33, ideal: false, chains: 24, sweeps: 8 },
  { name: 'cycle, 16 chains, strong couplings, slow bias network', sets: [...G12_33, 'cell.node_capacitance_f=2e-14'], ideal: false, chains: 16, sweeps: 8, scale: 3, bias: 2 },
  {
    name: 'cycle, long analog phases (counted loops)',
    sets: ['fabric.L=16', 'fabric.rules="G8"', 'clock.phase_cycles=5', 'clock.analog_substeps=9', 'fabric.tile.link_latency_cycles=2', 'fabric.tile.size=4'],
    ideal: false,
    sweeps: 6,
  },
];

const N_OF = (c: Case) => buildChip(testConfig(c.sets, c.ideal)).fabric.N;

describe('wasm engine = reference engine, bit for bit', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const ref = await trail(c, 'reference');
      const fast = await trail(c, 'wasm');
      expect(fast.used).toBe('wasm');
      expect(firstDifference(fast, ref, N_OF(c))).toBe('');
    });
  }
});

const quantised = (c: Case) => (c.sets.some((s) => /weight_bits=(?!"exact")/.test(s)) || !c.ideal) && !c.sets.some((s) => /weight_bits="exact"/.test(s));
describe('many-chain engine = reference engine, bit for bit, for any batch size', () => {
  for (const c of cases.filter(quantised)) {
    it(c.name, async () => {
      const ref = await trail(c, 'reference');
      for (const batch of [undefined, 1, 3]) {
        const fast = await trail({ ...c, chains: Math.max(c.chains ?? 2, 5) }, 'batch', { batch });
        const ref5 = c.chains && c.chains >= 5 ? ref : await trail({ ...c, chains: Math.max(c.chains ?? 2, 5) }, 'reference');
        expect(fast.used).toBe('batch');
        expect(firstDifference(fast, ref5, N_OF(c)), `batch ${batch ?? 'all'}`).toBe('');
      }
    });
  }
});

describe('many-chain engine without per-sweep observers (its kernels without per-chain tallies)', () => {
  for (const c of cases.filter((c) => !c.ideal && quantised(c) && (c.chains ?? 0) >= 16)) {
    it(c.name, async () => {
      const ref = await trail(c, 'reference', { totalsOnly: true });
      const fast = await trail(c, 'batch', { totalsOnly: true });
      expect(fast.used).toBe('batch');
      expect(fast.rest).toBe(ref.rest);
    });
  }
});

describe('results do not depend on batch size or workers', () => {
  const c: Case = { name: 'batching', sets: ['fabric.L=24', 'cell.weight_bits=8'], ideal: false, chains: 5, sweeps: 8 };
  it('reference engine: batches of 1, 2 and 5 chains', async () => {
    const a = await trail(c, 'reference', { batch: 5 });
    for (const batch of [1, 2]) expect(firstDifference(await trail(c, 'reference', { batch }), a, N_OF(c))).toBe('');
  });
  it('wasm engine: 2 workers give the reference totals', async () => {
    const a = await trail(c, 'reference');
    const b = await trail(c, 'wasm', { workers: 2 });
    expect(b.rest).toBe(a.rest);
  });
});

// ---------------------------------------------------------------------------------------------
// The entry points a training step uses (sim/train/stage.ts), against the ones they stand for:
// setBiasAt(k, cells, values) = setBias(k, biasWith(programmed, cells, values)); programClamp =
// program; keep(k) = load(k, the slot's last spins); momentSums() = newMomentSums(layout), read
// part-way and at the end. Two phases as a training step runs them (visible cells clamped, then
// free with per-chain biases), mixing whole and sparse biases in one batch, on every engine.

interface StepRun {
  spins: string;
  moments: string;
  tallies: string;
}

function stepScenario(kind: EngineKind, ideal: boolean, fast: boolean, chains: number): StepRun {
  const chip = buildChip(testConfig(['fabric.L=14', 'fabric.rules="G8"', 'cell.weight_bits=8'], ideal));
  const { N } = chip.fabric;
  const prog = programStage(chip, randomModel(chip.fabric, 5, 0.3, 0.2), 0);
  const free: Planes = prog.planes;
  const clamped: Planes = { ...free, clamp: Uint8Array.from({ length: N }, (_, i) => (i % 5 === 0 ? 1 : 0)) };
  const eng = createEngine(chip.spec, { choice: kind, chains, weightBits: 8 }).engine;
  const k0 = streamKey(77, 1);
  const spinsOf = (c: number) => Int8Array.from({ length: N }, (_, i) => (uniform(k0, c * N + i) < 0.5 ? 1 : -1));
  // sparse input biases: every third cell (the same array for every chain), and another set for some
  const cells = Int32Array.from({ length: Math.floor(N / 3) }, (_, n) => 3 * n);
  const other = Int32Array.from({ length: 7 }, (_, n) => 11 * n + 1);
  const valuesOf = (c: number, at: Int32Array) => Float64Array.from(at, (_, n) => Math.round((uniform(k0, 1e6 + c * 1000 + n) - 0.5) * 40));
  const own = fast ? eng.momentSums() : newMomentSums(chip.spec.layout);
  const plain = newMomentSums(chip.spec.layout);
  const out: StepRun = { spins: '', moments: '', tallies: '' };
  const sweeps = (stage: number, n: number) => {
    const s = new Int8Array(N);
    for (let sweep = 0; sweep < n; sweep++) {
      const t0 = newTally();
      const t1 = newTally();
      const key = streamKey(9, stage, sweep);
      eng.latch({ colour: 0, seg1Cycles: sweep === 0 ? 0 : 2, ownCycles: 2, beta: 1, key }, t0);
      eng.latch({ colour: 1, seg1Cycles: 2, ownCycles: 2, beta: 1, key }, t1);
      eng.accumulateMoments(own);
      eng.accumulateMoments(plain);
      out.tallies += JSON.stringify([t0, t1]);
      for (let k = 0; k < chains; k++) {
        eng.readSpins(k, s);
        out.spins += Buffer.from(s).toString('base64');
      }
      // read part-way: the sums must hold what has been added so far
      if (sweep === 1) out.moments += JSON.stringify([own.samples, Array.from(own.spin), Array.from(own.pair)]);
    }
  };
  // the positive phase: visible cells clamped, chains from their spins
  eng.program(clamped);
  eng.begin(0, chains);
  for (let k = 0; k < chains; k++) eng.load(k, spinsOf(k), 1);
  sweeps(0, 3);
  // the negative phase: the same weights unclamped, per-chain biases, chains continuing
  const last = Array.from({ length: chains }, (_, k) => {
    const s = new Int8Array(N);
    eng.readSpins(k, s);
    return s;
  });
  if (fast) eng.programClamp(free);
  else eng.program(free);
  eng.begin(chains, chains);
  for (let k = 0; k < chains; k++) {
    const at = k % 3 === 2 ? other : cells;
    const values = valuesOf(chains + k, at);
    if (k % 4 === 3) eng.setBias(k, biasWith(free.bias, other, valuesOf(chains + k, other)));
    else if (fast) eng.setBiasAt(k, at, values);
    else eng.setBias(k, biasWith(free.bias, at, values));
    if (fast) eng.keep(k, 1);
    else eng.load(k, last[k], 1);
  }
  sweeps(1, 4);
  out.moments += JSON.stringify([own.samples, Array.from(own.spin), Array.from(own.pair), plain.samples, Array.from(plain.spin), Array.from(plain.pair)]);
  eng.dispose();
  return out;
}

describe("a training step's entry points = the ones they stand for, on every engine", () => {
  for (const ideal of [true, false]) {
    for (const chains of [3, 70]) {
      it(`${ideal ? 'ideal' : 'cycle'} chip, ${chains} chains`, () => {
        const ref = stepScenario('reference', ideal, false, chains);
        for (const kind of ['reference', 'wasm', 'batch'] as const) {
          for (const fast of [false, true]) {
            const r = stepScenario(kind, ideal, fast, chains);
            expect(r.spins === ref.spins, `${kind} ${fast ? 'new' : 'old'} entry points: spins`).toBe(true);
            expect(r.tallies, `${kind} ${fast ? 'new' : 'old'}: tallies`).toBe(ref.tallies);
            expect(r.moments, `${kind} ${fast ? 'new' : 'old'}: moments`).toBe(ref.moments);
          }
        }
      });
    }
  }
});

describe('engine selection: a latch interval beyond the WebAssembly kernels', () => {
  // 2 x 1000 phase cycles x 100 substeps = 200,000 substeps per latch interval; the kernels take 100,000
  const long = buildChip(testConfig(['fabric.L=12', 'clock.phase_cycles=1000', 'clock.analog_substeps=100'], false));
  it('auto passes over both WebAssembly engines, saying why, and the reference engine runs it', () => {
    const sel = createEngine(long.spec, { choice: 'auto', chains: 2, weightBits: 8 });
    expect(sel.engine.kind).toBe('reference');
    expect(sel.refused.map((r) => r.engine)).toEqual(['batch', 'wasm']);
    for (const r of sel.refused) expect(r.reason).toMatch(/latch interval of 200000 analog substeps/);
    sel.engine.dispose();
  });
  it('asking for a WebAssembly engine is an option error, not a crash', () => {
    for (const choice of ['batch', 'wasm'] as const) expect(() => createEngine(long.spec, { choice, chains: 2, weightBits: 8 })).toThrow(/--engine|engine/);
  });
  it('at the bound the WebAssembly engines still run', () => {
    const edge = buildChip(testConfig(['fabric.L=12', 'clock.phase_cycles=500', 'clock.analog_substeps=100'], false));
    const sel = createEngine(edge.spec, { choice: 'auto', chains: 2, weightBits: 8 });
    expect(sel.engine.kind).toBe('batch');
    sel.engine.dispose();
  });
});

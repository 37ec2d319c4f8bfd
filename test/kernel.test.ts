// The fast kernel (generated WebAssembly, cells/fast.ts) against the reference kernel it is
// defined by (cells/kernel.ts latchColourReference): the same states, tallies, energies and
// moments, bit for bit, over a matrix of fabrics and circuit settings, and under the ways callers
// touch the chain state and the planes between latches.
import { describe, it, expect, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { buildChip, programStage, type Chip } from '../sim/chip.js';
import { runModel, initChain, sweepOnce, newTally, latchKey, initKey } from '../sim/run.js';
import { randomModel, type Model } from '../sim/model.js';
import { zeroEvents } from '../power/events.js';
import { streamKey, uniform } from '../rng/counter.js';
import { setFastEnabled, fastStats, planesChanged } from '../cells/fast.js';
import { testConfig } from './helpers/chip.js';

afterAll(() => setFastEnabled(null));

interface Case {
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
    chip.kc.gain = new Float64Array(chip.fabric.N).fill(1);
    chip.kc.offset = new Float64Array(chip.fabric.N);
  }
  return chip;
}

/** Hash of everything a run produces: every sweep's spins and tally, events, energy, moments, finals. */
async function digest(c: Case, fast: boolean): Promise<string> {
  setFastEnabled(fast);
  const chip = chipFor(c);
  let model = randomModel(chip.fabric, 3, c.scale ?? 0.25, c.bias ?? 0.1);
  if (c.clampFrac) model = withClamps(model, chip.fabric.N, c.clampFrac);
  const h = createHash('sha256');
  const r = await runModel(chip, model, {
    chains: c.chains ?? 2,
    sweeps: c.sweeps ?? 12,
    warmup: 2,
    moments: true,
    beta: c.anneal ? (s: number, t: number) => 0.8 + (0.4 * s) / t : undefined,
    onSweep: (v) => {
      h.update(new Uint8Array(v.s.buffer, v.s.byteOffset, v.s.byteLength));
      h.update(JSON.stringify([v.chain, v.sweep, v.cycle, v.tally]));
    },
  });
  h.update(JSON.stringify([r.events, r.energy, r.moments, r.cycles]));
  for (const f of r.finals) h.update(Buffer.from(f.buffer));
  return h.digest('hex');
}

const G12_33 = ['fabric.L=33', 'fabric.rules="G12"'];
const cases: Case[] = [
  { name: 'ideal, paper preset (70x70 G12)', sets: [], ideal: true, chains: 1, sweeps: 6 },
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
  { name: 'cycle, huge couplings (many exact fallbacks)', sets: ['fabric.L=20', 'cell.weight_full_scale=200'], ideal: false, scale: 100, bias: 50 },
  { name: 'ideal, huge couplings', sets: G12_33, ideal: true, scale: 20, bias: 5 },
  { name: 'ideal, tiny couplings', sets: G12_33, ideal: true, scale: 1e-9, bias: 1e-12 },
  { name: 'ideal, clamped cells', sets: ['fabric.L=37'], ideal: true, clampFrac: 0.3 },
  { name: 'cycle, clamped cells', sets: ['fabric.L=37'], ideal: false, clampFrac: 0.3 },
  { name: 'ideal, G16', sets: ['fabric.L=33', 'fabric.rules="G16"'], ideal: true },
  { name: 'ideal, Z1 rules', sets: ['fabric.L=17', 'fabric.rules="Z1"'], ideal: true },
  { name: 'ideal, 2x2 grid', sets: ['fabric.L=2', 'fabric.rules=[[0,1]]'], ideal: true, chains: 3 },
  { name: 'cycle, 3x3 grid', sets: ['fabric.L=3', 'fabric.rules=[[0,1]]'], ideal: false, chains: 3 },
  { name: 'ideal chip forced down the general branch', sets: ['fabric.L=21', 'fabric.rules="G8"'], ideal: true, forceGeneral: true },
  { name: 'ideal, annealed beta', sets: ['fabric.L=30'], ideal: true, anneal: true },
  { name: 'cycle, annealed beta', sets: ['fabric.L=30'], ideal: false, anneal: true },
];

describe('fast kernel = reference kernel, bit for bit', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const ref = await digest(c, false);
      const calls = fastStats.calls;
      const fast = await digest(c, true);
      expect(fastStats.calls).toBeGreaterThan(calls); // the fast path did run
      expect(fast).toBe(ref);
    });
  }
});

/** Drive one chain by hand so the test can touch the state and planes between sweeps. */
function handRun(chip: Chip, model: Model, fast: boolean, sweeps: number, touch: (sweep: number, st: ReturnType<typeof initChain>, pl: ReturnType<typeof programStage>['planes']) => void) {
  setFastEnabled(fast);
  const prog = programStage(chip, model, 0);
  const st0 = model.stages[0];
  const out: string[] = [];
  for (let chain = 0; chain < 2; chain++) {
    const st = initChain(chip, prog.planes, st0.clampIdx, st0.clampVal, initKey(chip, chain, 0), 'hinton', 1);
    const tally = newTally();
    const ev = zeroEvents();
    for (let sweep = 0; sweep < sweeps; sweep++) {
      touch(sweep, st, prog.planes);
      sweepOnce(chip, prog.planes, st, sweep, 1, latchKey(chip, chain, 0, sweep), tally, ev);
      out.push(JSON.stringify([Array.from(st.s), Array.from(st.sPrev), Array.from(st.node), Array.from(st.target), tally]));
    }
    out.push(JSON.stringify(ev));
  }
  return out;
}

describe('fast kernel under callers that touch state and planes', () => {
  const base = (ideal: boolean) => {
    const chip = buildChip(testConfig(['fabric.L=24', 'fabric.rules="G12"'], ideal));
    return { chip, model: randomModel(chip.fabric, 4, 0.4, 0.2) };
  };

  for (const ideal of [true, false]) {
    const engine = ideal ? 'ideal' : 'cycle';
    it(`spins written between sweeps are seen (${engine})`, () => {
      const touch = (sweep: number, st: { s: Float64Array }) => {
        if (sweep % 3 === 2) for (let i = 0; i < st.s.length - 1; i += 7) st.s[i] = -st.s[i];
      };
      const { chip, model } = base(ideal);
      expect(handRun(chip, model, true, 9, touch)).toEqual(handRun(chip, model, false, 9, touch));
    });

    it(`state arrays replaced, node and target rewritten (${engine})`, () => {
      const touch = (sweep: number, st: { s: Float64Array; node: Float64Array; target: Float64Array }) => {
        if (sweep === 4) {
          st.s = Float64Array.from(st.s);
          st.node.fill(0.25);
          for (let i = 0; i < st.target.length; i += 5) st.target[i] += 0.5;
        }
      };
      const { chip, model } = base(ideal);
      expect(handRun(chip, model, true, 8, touch)).toEqual(handRun(chip, model, false, 8, touch));
    });

    it(`bias and clamps rewritten between chains, weights mid-chain with planesChanged (${engine})`, () => {
      const touch = (sweep: number, _st: unknown, pl: { bias: Float64Array; clamp: Uint8Array; w: Float64Array }) => {
        if (sweep === 0) {
          // a new chain: a caller may reprogram the stage's bias and clamps in place
          for (let i = 0; i < pl.bias.length; i += 3) pl.bias[i] = -pl.bias[i] + 0.05;
          for (let i = 0; i < pl.clamp.length; i += 11) pl.clamp[i] ^= 1;
        }
        if (sweep === 5) {
          for (let i = 0; i < pl.w.length; i += 13) pl.w[i] *= 0.5;
          planesChanged(pl as never);
        }
      };
      const { chip, model } = base(ideal);
      expect(handRun(chip, model, true, 8, touch)).toEqual(handRun(chip, model, false, 8, touch));
    });
  }

  it('a pad cell that is not zero falls back to the reference kernel', () => {
    const touch = (sweep: number, st: { s: Float64Array }) => {
      if (sweep === 2) st.s[st.s.length - 1] = 0.5;
    };
    const { chip, model } = base(true);
    expect(handRun(chip, model, true, 5, touch)).toEqual(handRun(chip, model, false, 5, touch));
  });
});

describe('ideal decision table at its bin edges', () => {
  it('fields placed on and around the logit of every bin edge decide like the reference', async () => {
    // isolated cells (no couplings) with h = 2 b at, just below and just above logit(k / 1024)
    const L = 48;
    const N = L * L;
    const bias = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      const k = 1 + ((i * 37) % 1023);
      const q = k / 1024;
      const logit = Math.log(q) - Math.log1p(-q);
      const nudge = [0, 1e-7, -1e-7, 1e-6, -1e-6, 2e-6, -2e-6, 1e-12][i % 8];
      bias[i] = (logit + nudge) / 2;
    }
    const run = async (fast: boolean) => {
      setFastEnabled(fast);
      const chip = buildChip(testConfig([`fabric.L=${L}`, 'fabric.rules=[[0,1]]']));
      const model = randomModel(chip.fabric, 1, 0, 0);
      model.stages[0] = { ...model.stages[0], bias, ew: new Float64Array(model.stages[0].ew.length) };
      const r = await runModel(chip, model, { chains: 4, sweeps: 40, warmup: 0, moments: true });
      return JSON.stringify([r.events, r.moments, r.finals.map((f) => Array.from(f))]);
    };
    const fb = fastStats.fallbacks;
    const fast = await run(true);
    expect(fastStats.fallbacks).toBeGreaterThan(fb); // the edges do reach the exact comparison
    expect(fast).toBe(await run(false));
  });
});

describe('fast kernel across many chips', () => {
  it('a chain keeps its state when its chip is evicted by others and comes back', () => {
    const run = (fast: boolean) => {
      setFastEnabled(fast);
      const chips = [10, 11, 12, 13, 14, 15].map((L) => buildChip(testConfig([`fabric.L=${L}`, 'fabric.rules="G8"'], false)));
      const models = chips.map((c) => randomModel(c.fabric, 8, 0.5, 0.2));
      const progs = chips.map((c, k) => programStage(c, models[k], 0));
      const states = chips.map((c, k) => initChain(c, progs[k].planes, models[k].stages[0].clampIdx, models[k].stages[0].clampVal, initKey(c, 0, 0), 'hinton', 1));
      const tally = newTally();
      const ev = zeroEvents();
      const out: string[] = [];
      for (let round = 0; round < 3; round++) {
        for (let k = 0; k < chips.length; k++) {
          for (let s = 0; s < 3; s++) sweepOnce(chips[k], progs[k].planes, states[k], round * 3 + s, 1, latchKey(chips[k], 0, 0, round * 3 + s), tally, ev);
          out.push(Array.from(states[k].s).join(','), Array.from(states[k].node).join(','));
        }
      }
      out.push(JSON.stringify(ev));
      return out;
    };
    expect(run(true)).toEqual(run(false));
  });
});

describe('fast kernel with long analog phases', () => {
  it('many substeps per phase (a counted loop rather than unrolled code)', async () => {
    const c: Case = { name: 'long phases', sets: ['fabric.L=16', 'fabric.rules="G8"', 'clock.phase_cycles=5', 'clock.analog_substeps=9', 'fabric.tile.link_latency_cycles=2', 'fabric.tile.size=4'], ideal: false, chains: 2, sweeps: 6 };
    expect(await digest(c, true)).toBe(await digest(c, false));
  });
});

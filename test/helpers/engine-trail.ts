// The engine test's fabric set and its trail: a run's every sweep, tallies and totals, compared
// bit for bit between engines (test/engines.test.ts, test/tiles.test.ts).
import { buildChip, type Chip } from '../../sim/chip.js';
import { runModel } from '../../sim/run.js';
import { randomModel, type Model } from '../../sim/model.js';
import { streamKey, uniform } from '../../rng/counter.js';
import type { EngineKind } from '../../cells/engine.js';
import type { TileModel } from '../../cells/wasm/tiles.js';
import { testConfig } from './chip.js';

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

export interface Trail {
  /** per chain: the spins after every sweep, concatenated */
  spins: Int8Array[];
  tallies: string[];
  rest: string;
  used: string;
  /** threads the chain was split over (the single-chain engine's tiles), 1 when not split */
  tiles: number;
  refused: string[];
}

export interface TrailOptions {
  batch?: number;
  workers?: number;
  tiles?: number;
  /** the split chain's bands and boundary lag (cells/wasm/tiles.ts) */
  tileModel?: Partial<TileModel>;
  /** change the random model before the run */
  edit?: (m: Model, chip: Chip) => Model;
  totalsOnly?: boolean;
}

export async function trail(c: Case, engine: EngineKind, opt: TrailOptions = {}): Promise<Trail> {
  const chip = chipFor(c);
  let model = randomModel(chip.fabric, 3, c.scale ?? 0.25, c.bias ?? 0.1);
  if (c.clampFrac) model = withClamps(model, chip.fabric.N, c.clampFrac);
  if (opt.edit) model = opt.edit(model, chip);
  const C = c.chains ?? 2;
  const S = c.sweeps ?? 12;
  const N = chip.fabric.N;
  const spins = Array.from({ length: C }, () => new Int8Array(N * (S + 2)));
  const tallies: string[] = Array.from({ length: C }, () => '');
  const observe =
    (opt.workers && opt.workers > 1) || opt.totalsOnly
      ? undefined
      : (v: { chain: number; sweep: number; s: Float64Array; packed: Uint8Array; tally: unknown; events: unknown }) => {
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
    tiles: opt.tiles,
    tileModel: opt.tileModel,
    beta: c.anneal ? (s: number, t: number) => 0.8 + (0.4 * s) / t : undefined,
    onSweep: observe,
  });
  return {
    spins,
    tallies,
    rest: JSON.stringify([r.events, r.energy, r.moments, r.cycles, r.finals.map((f) => Array.from(f))]),
    used: r.engine.used,
    tiles: r.engine.stats.tiles ?? 1,
    refused: r.engine.refused.map((x) => x.reason),
  };
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
  {
    name: 'cycle, latency on a torus',
    sets: ['fabric.L=30', 'fabric.boundary="torus"', 'fabric.tile.link_latency_cycles=1', 'fabric.tile.size=6'],
    ideal: false,
  },
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
  {
    name: 'ideal, 4x4 torus, 3-bit weights',
    sets: ['fabric.L=4', 'fabric.rules=[[0,1]]', 'fabric.boundary="torus"', 'cell.weight_bits=3'],
    ideal: true,
    chains: 3,
    scale: 2,
  },
  {
    name: 'ideal, 65 chains (two blocks and a partial one)',
    sets: ['fabric.L=12', 'fabric.rules="G8"', 'cell.weight_bits=8'],
    ideal: true,
    chains: 65,
    sweeps: 5,
  },
  { name: 'cycle, annealed beta', sets: ['fabric.L=30'], ideal: false, anneal: true },
  // the many-chain engine with every lane of its vectors in use (its unmasked kernel, as 64-chain runs use it)
  { name: 'cycle, 24 chains (three full vectors)', sets: G12_33, ideal: false, chains: 24, sweeps: 8 },
  {
    name: 'cycle, 16 chains, strong couplings, slow bias network',
    sets: [...G12_33, 'cell.node_capacitance_f=2e-14'],
    ideal: false,
    chains: 16,
    sweeps: 8,
    scale: 3,
    bias: 2,
  },
  {
    name: 'cycle, long analog phases (counted loops)',
    sets: ['fabric.L=16', 'fabric.rules="G8"', 'clock.phase_cycles=5', 'clock.analog_substeps=9', 'fabric.tile.link_latency_cycles=2', 'fabric.tile.size=4'],
    ideal: false,
    sweeps: 6,
  },
];

// Every latch engine against the reference engine (cells/reference.ts), bit for bit: the same
// spins after every sweep, tallies, events, energy, moments and final states, over a matrix of
// fabrics and circuit settings, for several batch sizes and worker counts. A mismatch names the
// first chain, sweep and cell that differ. The fabric set and the trail: test/helpers/engine-trail.ts.
import { describe, it, expect } from 'vitest';
import { buildChip } from '../sim/chip.js';
import { randomModel } from '../sim/model.js';
import { streamKey, uniform } from '../rng/counter.js';
import { biasWith, newMomentSums, newTally, type EngineKind, type LatchEngine } from '../cells/engine.js';
import { createEngine } from '../cells/select.js';
import { programStage } from '../sim/chip.js';
import type { Planes } from '../cells/planes.js';
import { testConfig } from './helpers/chip.js';
import { cases, trail, firstDifference, type Case } from './helpers/engine-trail.js';

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

/** One sweep (both colours, key streamKey(9, stage, sweep), beta 1) and every chain's spins after it, as text. */
function sweepAndRead(eng: LatchEngine, N: number, chains: number, stage: number, sweep: number, energy = true): { tallies: string; spins: string } {
  const t0 = newTally();
  const t1 = newTally();
  const key = streamKey(9, stage, sweep);
  eng.latch({ colour: 0, seg1Cycles: sweep === 0 ? 0 : 2, ownCycles: 2, beta: 1, key }, t0, null, energy);
  eng.latch({ colour: 1, seg1Cycles: 2, ownCycles: 2, beta: 1, key }, t1, null, energy);
  const s = new Int8Array(N);
  let spins = '';
  for (let k = 0; k < chains; k++) {
    eng.readSpins(k, s);
    spins += Buffer.from(s).toString('base64');
  }
  return { tallies: JSON.stringify([t0, t1]), spins };
}

interface StepRun {
  spins: string;
  moments: string;
  tallies: string;
}

function stepScenario(kind: EngineKind, ideal: boolean, fast: boolean, chains: number, energy = true): StepRun {
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
    for (let sweep = 0; sweep < n; sweep++) {
      const { tallies, spins } = sweepAndRead(eng, N, chains, stage, sweep, energy);
      eng.accumulateMoments(own);
      eng.accumulateMoments(plain);
      out.tallies += tallies;
      out.spins += spins;
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

// The cycle engines settle a loaded chain's nodes to its field; the many-chain engine defers that
// to its next latch. A chain must settle as it was loaded, at its own beta, with its own biases —
// also when (against the interface's order) its biases change after the load.
function settleScenario(kind: EngineKind, chains: number): string {
  const chip = buildChip(testConfig(['fabric.L=14', 'fabric.rules="G8"', 'cell.weight_bits=8'], false));
  const { N } = chip.fabric;
  const planesA = programStage(chip, randomModel(chip.fabric, 5, 0.3, 0.2), 0).planes;
  const planesB = programStage(chip, randomModel(chip.fabric, 6, 0.3, 0.2), 0).planes;
  const eng = createEngine(chip.spec, { choice: kind, chains, weightBits: 8 }).engine;
  const k0 = streamKey(78, 1);
  const spinsOf = (c: number) => Int8Array.from({ length: N }, (_, i) => (uniform(k0, c * N + i) < 0.5 ? 1 : -1));
  const cells = Int32Array.from({ length: Math.floor(N / 3) }, (_, n) => 3 * n);
  const valuesOf = (c: number) => Float64Array.from(cells, (_, n) => Math.round((uniform(k0, 1e6 + c * 1000 + n) - 0.5) * 40));
  let out = '';
  const sweeps = (stage: number, n: number) => {
    for (let sweep = 0; sweep < n; sweep++) {
      const r = sweepAndRead(eng, N, chains, stage, sweep);
      out += r.tallies + r.spins;
    }
  };
  eng.program(planesA);
  eng.begin(0, chains);
  // loaded at three betas, then (every other chain) its biases changed before any latch
  for (let k = 0; k < chains; k++) eng.load(k, spinsOf(k), 1 + 0.25 * (k % 3));
  for (let k = 0; k < chains; k += 2) eng.setBiasAt(k, cells, valuesOf(k));
  sweeps(0, 2);
  // a new stage: programmed, begun, biases, loaded (the documented order) at another beta
  eng.program(planesB);
  eng.begin(0, chains);
  for (let k = 1; k < chains; k += 2) eng.setBiasAt(k, cells, valuesOf(chains + k));
  for (let k = 0; k < chains; k++) eng.load(k, spinsOf(chains + k), 0.75);
  sweeps(1, 2);
  eng.dispose();
  return out;
}

describe('a loaded chain settles as it was loaded (cycle chip, every engine = reference)', () => {
  for (const chains of [3, 20]) {
    it(`${chains} chains`, () => {
      const ref = settleScenario('reference', chains);
      for (const kind of ['wasm', 'batch'] as const) expect(settleScenario(kind, chains) === ref, `${kind}`).toBe(true);
    });
  }
});

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
          // training reads no energy (latch energy false): the same spins, moments and tallies, the divider terms left out
          const r = stepScenario(kind, ideal, true, chains, false);
          expect(r.spins === ref.spins, `${kind} without energy: spins`).toBe(true);
          expect(r.moments, `${kind} without energy: moments`).toBe(ref.moments);
          expect(ref.tallies).toMatch(/"dividerQ":[1-9]/);
          expect(r.tallies, `${kind} without energy: tallies`).toBe(ref.tallies.replace(/"dividerQ":\d+/g, '"dividerQ":0'));
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

describe('many-chain engine: per-chain tallies of a large grid', () => {
  // L = 600: 180,000 cells per colour, weak weights (every divider near its maximum term of
  // DIVIDER_Q / 4), so one chain's divider terms of one half-sweep pass 2^31: the engine reads its
  // i32 per-lane sums after every call of at most 4096 cells
  it('match the reference engine bit for bit where one half-sweep of a chain passes 2^31', async () => {
    const c: Case = { name: 'L = 600', sets: ['fabric.L=600', 'cell.weight_bits=8'], ideal: true, scale: 0.001, bias: 0.001, chains: 2, sweeps: 1 };
    const ref = await trail(c, 'reference');
    const fast = await trail(c, 'batch');
    expect(fast.used).toBe('batch');
    expect(firstDifference(fast, ref, N_OF(c))).toBe('');
    const divider = JSON.parse(`[${ref.tallies[0].replace(/\]\[/g, '],[')}]`)[0][1].dividerQ as number;
    expect(divider).toBeGreaterThan(2 ** 32);
  });
});

describe('cycle chip: chains loaded at different betas settle each at its own drive scale', () => {
  // settle() shares a cell's sigmoid cache value between lanes of equal field only when every lane of
  // the block has one drive scale; here each chain has its own (load(k, s, beta_k)), and some share one
  function run(kind: EngineKind): string {
    const chip = buildChip(testConfig(['fabric.L=14', 'fabric.rules="G8"', 'cell.weight_bits=8'], false));
    const { N } = chip.fabric;
    const prog = programStage(chip, randomModel(chip.fabric, 6, 0.4, 0.2), 0);
    const chains = 10;
    const eng = createEngine(chip.spec, { choice: kind, chains, weightBits: 8 }).engine;
    const k0 = streamKey(78, 1);
    eng.program(prog.planes);
    eng.begin(0, chains);
    for (let k = 0; k < chains; k++)
      eng.load(
        k,
        Int8Array.from({ length: N }, (_, i) => (uniform(k0, k * N + i) < 0.5 ? 1 : -1)),
        [0.5, 1, 1, 2.5, 1][k % 5],
      );
    let out = '';
    for (let sweep = 0; sweep < 3; sweep++) out += JSON.stringify(sweepAndRead(eng, N, chains, 0, sweep));
    eng.dispose();
    return out;
  }
  it('many-chain engine = reference engine', () => {
    expect(run('batch')).toBe(run('reference'));
  });
});

describe('one chain split into tiles: training reads no energy (latch energy false)', () => {
  for (const ideal of [true, false]) {
    it(`${ideal ? 'ideal' : 'cycle'} chip, two threads`, () => {
      const chip = buildChip(testConfig(['fabric.L=14', 'fabric.rules="G8"', 'cell.weight_bits=8'], ideal));
      const { N } = chip.fabric;
      const planes = programStage(chip, randomModel(chip.fabric, 5, 0.3, 0.2), 0).planes;
      const k0 = streamKey(78, 1);
      const run = (energy: boolean): { tallies: string; spins: string } => {
        const eng = createEngine(chip.spec, { choice: 'wasm', chains: 1, tiles: 2, weightBits: 8 }).engine;
        expect(eng.stats().tiles).toBe(2);
        eng.program(planes);
        eng.begin(0, 1);
        eng.load(
          0,
          Int8Array.from({ length: N }, (_, i) => (uniform(k0, i) < 0.5 ? 1 : -1)),
          1,
        );
        const out = { tallies: '', spins: '' };
        for (let sweep = 0; sweep < 4; sweep++) {
          const r = sweepAndRead(eng, N, 1, 0, sweep, energy);
          out.tallies += r.tallies;
          out.spins += r.spins;
        }
        eng.dispose();
        return out;
      };
      const a = run(true);
      const b = run(false);
      expect(b.spins === a.spins).toBe(true);
      expect(a.tallies).toMatch(/"dividerQ":[1-9]/);
      expect(b.tallies).toBe(a.tallies.replace(/"dividerQ":\d+/g, '"dividerQ":0'));
    });
  }
});

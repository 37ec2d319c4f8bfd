// Same config and seed -> identical results, whatever the tiling (link latency 0) or worker count.
import { describe, it, expect } from 'vitest';
import { buildChip } from '../sim/chip.js';
import { runModel } from '../sim/run.js';
import { randomModel } from '../sim/model.js';
import { newDtmModel, generate } from '../sim/dtm.js';
import { makeStats, makeDtmStats } from '../sim/stats.js';
import { testConfig } from './helpers/chip.js';

const base = ['fabric.L=28', 'fabric.rules="G12"', 'seed=99'];

async function run(sets: string[], ideal: boolean, workers = 1, chains = 4) {
  const cfg = testConfig([...base, ...sets], ideal);
  const chip = buildChip(cfg);
  const model = randomModel(chip.fabric, 5, 0.4, 0.2);
  return runModel(chip, model, { chains, sweeps: 60, warmup: 10, moments: true, workers });
}

const bytes = (r: Awaited<ReturnType<typeof run>>) => Buffer.concat(r.finals.map((f) => Buffer.from(f.buffer)));

describe('determinism', () => {
  it('same seed gives identical stats; another seed does not', async () => {
    const a = await run([], false);
    const b = await run([], false);
    expect(bytes(b)).toEqual(bytes(a));
    expect(b.events).toEqual(a.events);
    expect(b.energy).toEqual(a.energy);
    expect(b.moments).toEqual(a.moments);
    const c = await run(['seed=100'], false);
    expect(bytes(c)).not.toEqual(bytes(a));
  });

  for (const ideal of [true, false]) {
    it(`tile size does not change states with zero link latency (${ideal ? 'ideal' : 'cycle'} engine)`, async () => {
      const ref = await run(['fabric.tile.size=28', 'fabric.tile.link_latency_cycles=0'], ideal);
      for (const size of [1, 4, 7, 14]) {
        const r = await run([`fabric.tile.size=${size}`, 'fabric.tile.link_latency_cycles=0'], ideal);
        expect(bytes(r)).toEqual(bytes(ref));
        expect(r.moments).toEqual(ref.moments);
        expect(r.events.toggles).toBe(ref.events.toggles);
        if (size < 28) expect(r.events.link_toggles).toBeGreaterThan(0); // links are counted, states untouched
      }
    });
  }

  it('worker threads give byte-identical results to one thread', async () => {
    const one = await run([], false, 1);
    const two = await run([], false, 2);
    const three = await run([], false, 3);
    expect(bytes(two)).toEqual(bytes(one));
    expect(bytes(three)).toEqual(bytes(one));
    expect(two.events).toEqual(one.events);
    expect(three.energy).toEqual(one.energy);
    expect(two.moments).toEqual(one.moments);
  });

  // auto picks an engine per thread: with 3 chains on 2 threads one thread holds 2 (the many-chain
  // engine) and the other 1 (the single-chain engine); the report names both, not the first alone
  it('threads that chose different engines are all named in the report, their refusals kept', async () => {
    const one = await run([], false, 1, 3);
    const two = await run([], false, 2, 3);
    expect(bytes(two)).toEqual(bytes(one));
    expect(one.engine.used).toBe('batch');
    expect(two.engine.used).toBe('batch+wasm');
    expect(two.engine.stats.kind).toBe('batch+wasm');
    expect(two.engine.stats.cell_updates).toBe(one.engine.stats.cell_updates);
    const model = newDtmModel({ T: 2, L: 28, rules: 'G12', boundary: 'open', visible: 30, weights: { random: 0.3 }, seed: 2 });
    const gen = async (workers: number) => generate(buildChip(testConfig(base, false)), model, { images: 3, sweeps: 5, workers });
    const g1 = await gen(1);
    const g2 = await gen(2);
    expect(g2.outputs).toEqual(g1.outputs);
    expect([g1.engine.used, g2.engine.used]).toEqual(['batch', 'batch+wasm']);
    // ideal (exact) weights: the thread of two chains passed over the many-chain engine, and says so
    const i2 = await run([], true, 2, 3);
    expect(i2.engine.used).toBe('wasm');
    expect(i2.engine.refused.map((r) => r.engine)).toEqual(['batch']);
  });

  // stats.json is a function of the config, the seed and the run's options: a second run in the
  // same process (a library caller, a sweep's points in one process) must not read differently
  // because the first left kernels in a cache. Only the documented timings may differ.
  it('two identical runs in one process give identical stats.json but for wall_s and updates_per_ns', async () => {
    const timings = (s: object) => {
      const { wall_s: _w, updates_per_ns: _u, ...rest } = s as Record<string, unknown>;
      return JSON.parse(JSON.stringify(rest)) as unknown;
    };
    const cfg = testConfig([...base, 'fabric.tile.size=14'], false);
    const bm = async () => {
      const chip = buildChip(cfg);
      const r = await runModel(chip, randomModel(chip.fabric, 5, 0.4, 0.2), { chains: 4, sweeps: 20, warmup: 5, moments: true });
      return makeStats(chip, r, 'test');
    };
    const dtm = async () => {
      const chip = buildChip(cfg);
      const model = newDtmModel({ T: 2, L: 28, rules: 'G12', boundary: 'open', visible: 30, weights: { random: 0.3 }, seed: 2 });
      return makeDtmStats(chip, await generate(chip, model, { images: 4, sweeps: 10 }), 'test');
    };
    for (const once of [bm, dtm]) {
      const a = await once();
      const b = await once();
      expect(a.engine.used).toBe('batch'); // the engine that keeps compiled kernels between runs
      expect(timings(b)).toEqual(timings(a));
    }
  });
});

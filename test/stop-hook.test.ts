// The interruption hook of the stage runner (sim/run.ts runStage): asked once per sweep, it stops
// Boltzmann-machine runs and DTM generation before the sweep it names, after delivering the views
// of the sweeps already run (so a trace keeps them), for any batch size.
import { describe, it, expect } from 'vitest';
import { resolveConfig } from '../sim/config.js';
import { buildChip } from '../sim/chip.js';
import { randomModel } from '../sim/model.js';
import { runModel } from '../sim/run.js';
import { newDtmModel, generate } from '../sim/dtm.js';
import { Interrupted } from '../fabric/errors.js';
import type { TraceSink, SweepInfo } from '../traces/types.js';

const cfg = resolveConfig('dtca-paper', { sets: ['fabric.L=8', 'fabric.rules=[[0,1]]', 'fabric.tile.size=8'], ideal: true });

async function stopped(p: Promise<unknown>): Promise<Interrupted> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Interrupted) return e;
    throw e;
  }
  throw new Error('the run was not stopped');
}

describe('shouldStop in the stage runner', () => {
  it('a Boltzmann-machine run stops before the sweep asked, with where it was', async () => {
    const chip = buildChip(cfg);
    const model = randomModel(chip.fabric, 1, 0.25, 0.1);
    for (const batch of [1, 2]) {
      const asked: number[] = [];
      const seen: string[] = [];
      const e = await stopped(
        runModel(chip, model, {
          chains: 4,
          sweeps: 10,
          warmup: 0,
          batch,
          onSweep: (v) => seen.push(`${v.chain}:${v.sweep}`),
          shouldStop: (at) => {
            asked.push(at.sweep);
            return at.chain >= 2 && at.sweep === 3;
          },
        }),
      );
      // the batch holding chain 2 starts there (batches of 1 or 2 chains)
      const first = 2;
      expect(e.at).toEqual({ stage: 0, chain: first, sweep: 3 });
      // every chain of the stopped batch delivered its sweeps 0..2, in chain order
      const last = seen.slice(-3 * batch);
      expect(last).toEqual(Array.from({ length: batch }, (_, k) => [0, 1, 2].map((s) => `${first + k}:${s}`)).flat());
      // asked once per sweep per batch: the batches before it whole (2 / batch of them), then sweeps 0..3
      expect(asked.length).toBe((2 / batch) * 10 + 4);
    }
  });

  it('DTM generation stops mid-stage; the sink got the sweeps before the stop', async () => {
    const chip = buildChip(cfg);
    const model = newDtmModel({ T: 2, L: 8, rules: [[0, 1]], boundary: 'open', visible: 8, weights: { random: 0.25 }, seed: 2 });
    const sweeps: SweepInfo[] = [];
    const sink: TraceSink = {
      header: () => {},
      wantsSweep: () => true,
      sweep: (r) => void sweeps.push({ ...r, spins: r.spins.slice() }),
      stageBegin: () => {},
      stageEnd: () => {},
      end: () => {},
      close: async () => {},
    };
    const e = await stopped(generate(chip, model, { images: 3, sweeps: 6, sink, batch: 3, shouldStop: (at) => at.stage === 0 && at.sweep === 4 }));
    // stages run from the noisiest (1) to the cleanest (0)
    expect(e.at).toEqual({ stage: 0, chain: 0, sweep: 4 });
    const inStage0 = sweeps.filter((r) => r.stage === 0).map((r) => `${r.chain}:${r.sweep}`);
    expect(inStage0).toEqual([0, 1, 2].flatMap((c) => [0, 1, 2, 3].map((s) => `${c}:${s}`)));
    expect(sweeps.filter((r) => r.stage === 1)).toHaveLength(3 * 6);
    // cycles still increase through the records (the trace reader's order check)
    for (let i = 1; i < sweeps.length; i++) expect(sweeps[i].cycle).toBeGreaterThan(sweeps[i - 1].cycle);
  });
});

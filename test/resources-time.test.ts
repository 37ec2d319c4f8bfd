// The wall-time estimate follows the engine a run's threads will use (sim/resources.ts TIME, cells/select.ts).
import { describe, it, expect } from 'vitest';
import { estimateRun, dtmShape, TIME } from '../sim/resources.js';
import { testConfig } from './helpers/chip.js';
import { MAX_SUBSTEPS } from '../cells/engine.js';

/** the per-update part of an estimate, in ns per cell update per thread at work */
function nsPerUpdate(sets: string[], ideal: boolean, images: number, workers = 1, engineChoice?: 'auto' | 'reference' | 'wasm' | 'batch'): number {
  const cfg = testConfig(sets, ideal);
  const a = dtmShape(cfg, { images, sweeps: 10, stages: 2, workers });
  const b = dtmShape(cfg, { images, sweeps: 20, stages: 2, workers });
  const ea = estimateRun({ ...a, engineChoice }).seconds;
  const eb = estimateRun({ ...b, engineChoice }).seconds;
  const threads = Math.min(workers, images);
  return ((eb - ea) * 1e9 * threads) / (b.cellUpdates - a.cellUpdates);
}

describe('wall-time estimate by engine', () => {
  it('many chains with quantised weights: the many-chain rate; one chain a thread: the one-chain rate', () => {
    expect(nsPerUpdate(['cell.weight_bits=8'], true, 32)).toBeCloseTo(TIME.manyIdealNsPerUpdate, 6);
    expect(nsPerUpdate(['cell.weight_bits=8'], true, 1)).toBeCloseTo(TIME.oneIdealNsPerUpdate, 6);
    // two images on two workers: one chain a thread
    expect(nsPerUpdate(['cell.weight_bits=8'], true, 2, 2)).toBeCloseTo(TIME.oneIdealNsPerUpdate, 6);
    expect(nsPerUpdate([], false, 32)).toBeCloseTo(TIME.manyCycleNsPerUpdate, 6);
    expect(nsPerUpdate([], false, 1)).toBeCloseTo(TIME.oneCycleNsPerUpdate, 6);
  });
  it('exact weights (what --ideal keeps) run on the one-chain engine', () => {
    expect(nsPerUpdate([], true, 32)).toBeCloseTo(TIME.oneIdealNsPerUpdate, 6);
  });
  it('--engine reference, and a latch interval beyond the kernels, price the reference engine per substep', () => {
    expect(nsPerUpdate([], true, 32, 1, 'reference')).toBeCloseTo(TIME.refIdealNsPerUpdate, 6);
    const phase = 1000;
    const substeps = 100;
    expect(2 * phase * substeps).toBeGreaterThan(MAX_SUBSTEPS);
    expect(nsPerUpdate([`clock.phase_cycles=${phase}`, `clock.analog_substeps=${substeps}`], false, 32)).toBeCloseTo(
      TIME.refNsPerSubstep * 2 * phase * substeps,
      3,
    );
    // within the bound the kernel's rate holds
    expect(nsPerUpdate(['clock.phase_cycles=500', `clock.analog_substeps=${substeps}`], false, 32)).toBeCloseTo(TIME.manyCycleNsPerUpdate, 6);
  });
});

/** The library options that train a tiny model of `model` at `out`: one step of one epoch (tests). */
import type { TrainOptions } from '../../index.js';

export function tinyTraining(config: TrainOptions['config'], model: TrainOptions['model'], out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    config,
    engine: 'auto',
    model,
    out,
    epochs: 1,
    steps: 1,
    batch: 2,
    warmup: 1,
    samples: 1,
    every: 1,
    lr: 0.01,
    alpha: 0.1,
    acp: false,
    acpLambda0: 0,
    acpLag: 2,
    seed: 1,
    workers: 1,
    resume: false,
    ...over,
  };
}

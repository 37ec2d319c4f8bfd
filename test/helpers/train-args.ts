/**
 * The `dtca train` flags the CLI tests share. smallTrainArgs: a few steps of a two-stage model on an
 * L x L G8 grid (L = 43 holds the 884 visible cells on one colour; a smaller grid pools the image).
 * TINY_TRAIN_ARGS: one step of one epoch with the shortest phases, the damaged-checkpoint fixture.
 * Both fix the label guidance at 1 (no search on generated images: test/guidance.test.ts covers it).
 */
export function smallTrainArgs(L = 43): string[] {
  return [
    ...['--set', `fabric.L=${L}`, '--set', 'fabric.rules="G8"', '--stages', '2', '--steps', '2', '--batch', '8'],
    ...['--warmup', '5', '--samples', '2', '--every', '2', '--acp-lag', '4', '--limit', '300', '--seed', '3', '--label-gain', '1'],
  ];
}

export const TINY_TRAIN_ARGS: readonly string[] = [
  ...['--set', 'fabric.L=43', '--set', 'fabric.rules="G8"', '--stages', '2', '--steps', '1', '--batch', '4', '--warmup', '2'],
  ...['--samples', '1', '--every', '1', '--acp-lag', '2', '--limit', '100', '--seed', '3', '--workers', '1', '--epochs', '1', '--label-gain', '1'],
];

/** A sweep's tiny training budget (`dtca sweep --train --budget FILE`, or a plan's budget): the phases of smallTrainArgs, one epoch. */
export const TINY_SWEEP_BUDGET = {
  epochs: 1,
  steps: 2,
  batch: 8,
  warmup: 5,
  posWarmup: 3,
  dataWarmup: 3,
  // explicit: quick's 18 data-started epochs would be scaled to 0 of 1 (sim/train/budget.ts fitBudget)
  dataEpochs: 1,
  acpWarmup: 5,
  samples: 2,
  every: 2,
  acpLag: 4,
  limit: 300,
  labelGain: 1,
} as const;

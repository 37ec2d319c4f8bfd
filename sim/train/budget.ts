/**
 * `dtca train --budget quick|standard`: named sets of training options (docs/training.md). A preset
 * fills in only the options the command line leaves out; an explicit flag always wins.
 */
import { UserError } from '../../fabric/errors.js';

/** the options a preset may set, by their command-line names (camelCase, as the parser gives them) */
export interface BudgetOptions {
  placement?: 'random' | 'spatial';
  epochs?: number;
  steps?: number;
  batch?: number;
  warmup?: number;
  posWarmup?: number;
  negStart?: 'noise' | 'data';
  dataEpochs?: number;
  dataWarmup?: number;
  acpWarmup?: number;
  samples?: number;
  every?: number;
  lr?: number;
  lrFloor?: number;
  acpLambda?: number;
  acpLag?: number;
  workers?: number;
}

export type BudgetName = 'quick' | 'standard';

export interface Budget {
  name: BudgetName;
  summary: string;
  options: BudgetOptions;
}

/**
 * The recipe both presets share (docs/training.md): short positive phases (visible cells clamped,
 * the latents mix in a few sweeps); negative chains started from the data with a short warm-up
 * for the first epochs (cheap steps while the model is far off), then from noise, as generation
 * starts, with a longer warm-up (the unbiased gradient that sets the final quality); both cores.
 */
const RECIPE: BudgetOptions = {
  placement: 'spatial',
  batch: 64,
  warmup: 30,
  posWarmup: 10,
  negStart: 'data',
  dataWarmup: 10,
  acpWarmup: 40,
  samples: 8,
  every: 3,
  lr: 0.02,
  lrFloor: 0.1,
  acpLambda: 0.05,
  acpLag: 100,
  workers: 2,
};

export const BUDGETS: Record<BudgetName, Budget> = {
  quick: {
    name: 'quick',
    summary: 'a model in about 5 minutes at L <= 56 on two cores (about 7 at L = 70)',
    options: { ...RECIPE, epochs: 15, dataEpochs: 9, steps: 50 },
  },
  standard: {
    name: 'standard',
    summary: 'the recipe for a good model: the paper chip (L = 70) in about 25 minutes on two cores',
    options: { ...RECIPE, epochs: 55, dataEpochs: 30, steps: 50 },
  },
};

export const BUDGET_NAMES = Object.keys(BUDGETS) as BudgetName[];

/**
 * The arguments with a preset's options filled in where the command line gave none; `from` names
 * the options the preset set. No preset: the arguments unchanged.
 */
export function applyBudget<A extends Record<string, unknown>>(args: A, name: unknown): { args: A; from: string[] } {
  if (name === undefined || name === null) return { args, from: [] };
  const b = BUDGETS[String(name) as BudgetName];
  if (!b) throw new UserError(`--budget ${String(name)}: one of ${BUDGET_NAMES.join(', ')}`);
  const out: Record<string, unknown> = { ...args };
  const from: string[] = [];
  for (const [k, v] of Object.entries(b.options)) {
    if (out[k] === undefined) {
      out[k] = v;
      from.push(k);
    }
  }
  return { args: out as A, from };
}

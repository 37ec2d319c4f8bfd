/**
 * Training budgets: named sets of `dtca train` options (docs/training.md, docs/sweeps.md). A sweep
 * with `--train quick|standard|FILE.json` trains each design's model with one of these; a FILE
 * holds the same keys (any subset: the rest from `quick`).
 *
 * These are the options the current trainer (sim/train/train.ts) takes; the faster recipe of
 * issue 16 item 1 replaces the numbers (the lead reconciles this module with `dtca train --budget`).
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../../fabric/errors.js';
import { PLACEMENTS, type Placement } from '../dtm.js';

/** What a budget fixes about a training run (everything but the chip, the layout's grid and the seed). */
export interface BudgetOptions {
  /** DTM stages of the model */
  T: number;
  placement: Placement;
  epochs: number;
  steps: number;
  batch: number;
  warmup: number;
  samples: number;
  every: number;
  lr: number;
  lr_floor: number;
  acp: boolean;
  acp_lambda: number;
  acp_lag: number;
  /** use only the first `limit` training images (null: all) */
  limit: number | null;
}

export interface Budget {
  /** "quick", "standard", or the budget file's absolute path */
  name: string;
  summary: string;
  options: BudgetOptions;
}

const RECIPE: Omit<BudgetOptions, 'epochs' | 'steps'> = {
  T: 8,
  placement: 'spatial',
  batch: 64,
  warmup: 40,
  samples: 8,
  every: 3,
  lr: 0.02,
  lr_floor: 0.18,
  acp: true,
  acp_lambda: 0.05,
  acp_lag: 100,
  limit: null,
};

export const BUDGETS: Record<'quick' | 'standard', Budget> = {
  quick: { name: 'quick', summary: '12 epochs x 40 steps per stage: minutes per model at L <= 56 on two cores', options: { ...RECIPE, epochs: 12, steps: 40 } },
  standard: { name: 'standard', summary: '60 epochs x 50 steps per stage (the shipped model\'s length)', options: { ...RECIPE, epochs: 60, steps: 50 } },
};

const INT_KEYS = ['T', 'epochs', 'steps', 'batch', 'warmup', 'samples', 'every', 'acp_lag'] as const;

/** Check a budget's options; throws naming `where` and the key. */
export function checkBudget(o: BudgetOptions, where: string): BudgetOptions {
  for (const k of INT_KEYS) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1e7) throw new UserError(`${where}: ${k} = ${JSON.stringify(v)}: must be an integer >= 1`);
  }
  for (const [k, lo, hi] of [['lr', 1e-9, 10], ['lr_floor', 0, 1], ['acp_lambda', 0, 100]] as const) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new UserError(`${where}: ${k} = ${JSON.stringify(v)}: must be a number in [${lo}, ${hi}]`);
  }
  if (typeof o.acp !== 'boolean') throw new UserError(`${where}: acp = ${JSON.stringify(o.acp)}: true or false`);
  if (!PLACEMENTS.includes(o.placement)) throw new UserError(`${where}: placement = ${JSON.stringify(o.placement)}: one of ${PLACEMENTS.join(', ')}`);
  if (o.limit !== null && (typeof o.limit !== 'number' || !Number.isInteger(o.limit) || o.limit < 10)) throw new UserError(`${where}: limit = ${JSON.stringify(o.limit)}: null (all images) or an integer >= 10`);
  return o;
}

/** `quick`, `standard`, or a JSON file of options (missing keys from quick). */
export function resolveBudget(text: string, where = '--train'): Budget {
  if (text === 'quick' || text === 'standard') return BUDGETS[text];
  if (!text.endsWith('.json')) throw new UserError(`${where} ${text}: quick, standard or a budget file (FILE.json)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(text, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${where} ${text}: ${code ? `cannot read (${code})` : `not valid JSON (${(e as Error).message})`}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${where} ${text}: a budget file is a JSON object of training options`);
  const known = Object.keys(BUDGETS.quick.options);
  for (const k of Object.keys(raw)) if (!known.includes(k)) throw new UserError(`${where} ${text}: ${k}: unknown option (known: ${known.join(', ')})`);
  const options = checkBudget({ ...BUDGETS.quick.options, ...(raw as Partial<BudgetOptions>) }, `${where} ${text}`);
  return { name: text, summary: `budget file ${text}`, options };
}

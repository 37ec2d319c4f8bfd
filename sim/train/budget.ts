/**
 * `dtca train --budget quick|standard`: named sets of training options (docs/training.md). A preset
 * fills in only the options the command line leaves out; an explicit flag always wins.
 */
import { UserError } from '../../fabric/errors.js';
import { readInputFile, READ_LIMITS } from '../../fabric/read.js';
import { parseJsonText } from '../../fabric/json.js';
import { suggestion } from '../config-check.js';
import { MAX_LABEL_GAIN, isLabelGain } from '../model.js';
import { FMNIST_TRAIN_IMAGES } from '../fmnist.js';

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
  finalEpochs?: number;
  finalWarmup?: number;
  ema?: number;
  samples?: number;
  every?: number;
  lr?: number;
  lrFloor?: number;
  acpLambda?: number;
  acpLag?: number;
  workers?: number;
  /** label guidance: 'auto' (tuned after training) or a gain (sim/quality/guidance.ts) */
  labelGain?: 'auto' | number;
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
    summary: 'a model in about 9 minutes at L = 70 on two idle cores, its guidance search included (FD 61, clamped accuracy 0.81)',
    // ACP starts off (lambda 0; it turns on by its own rule if the chains' autocorrelation rises):
    // at this length the initial penalty of 0.05 mostly slowed learning. 30 epochs (18 data-started)
    // since the training step became 2.2x cheaper: at L = 56, FD 0.6x the factorised yardstick's
    // where 15 epochs gave 1.0x (docs/training.md)
    options: { ...RECIPE, epochs: 30, dataEpochs: 18, steps: 50, acpLambda: 0 },
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

/** Where each training option of a budget came from, and how messages name it (fitBudget). */
export interface BudgetSources {
  /** the options the user gave (flags, or a budget file's keys) */
  explicit: ReadonlySet<string>;
  /** the preset the others came from (null: none, TRAIN_DEFAULTS apply) */
  preset: BudgetName | null;
  /** the epochs when neither the user nor a preset gives them (TRAIN_DEFAULTS.epochs) */
  defaultEpochs: number;
  /** an option and its value as the user would write it: "--data-epochs 5", "dataEpochs = 5"; without a value its name alone */
  say: (k: string, v?: unknown) => string;
  /** before every refusal: "" for flags, "--train FILE: " for a budget file */
  prefix: string;
  /** how the preset is named: "--budget quick", "quick" */
  presetName: string;
}

/**
 * The relations between the training options, checked where the options are put together (dtca
 * train's flags over --budget, a sweep's budget file over quick) so that no option is silently
 * without effect. Values the user gave that contradict each other (or the default epochs) are a
 * UserError naming both: --final-warmup without final epochs, --data-epochs or --data-warmup with
 * negative chains started from noise, --acp-lambda with --no-acp, more final or data-started epochs
 * than epochs, data-started and final epochs together more than the epochs, --neg-start data with
 * no epoch left to start from the data. The preset's data-started epochs are its share of its
 * epochs: with other epochs given they are scaled to the same share, rounded down (so a shorter run
 * still ends from noise: 30 epochs of which 18 data-started, --epochs 10 -> 6, --epochs 1 -> 0), and
 * cut to leave the final epochs; `notes` says so in one line.
 */
export function fitBudget<O extends BudgetFileOptions>(o: O, src: BudgetSources): { options: O; notes: string[] } {
  const out: O = { ...o };
  const notes: string[] = [];
  const given = (k: keyof BudgetFileOptions) => src.explicit.has(k) && o[k] !== undefined;
  const from = (k: keyof BudgetFileOptions) =>
    o[k] === undefined
      ? k === 'epochs'
        ? `${src.say('epochs', src.defaultEpochs)} (the default)`
        : `no ${src.say(k)}`
      : given(k)
        ? src.say(k, o[k])
        : `${src.say(k, o[k])} (from ${src.presetName})`;
  const refuse = (line: string): never => {
    throw new UserError(src.prefix + line);
  };
  const E = o.epochs ?? src.defaultEpochs;
  const F = o.finalEpochs ?? 0;
  const neg = o.negStart ?? 'noise';
  // an option of a part of the run that does not happen
  if (given('finalWarmup') && F === 0) refuse(`${from('finalWarmup')}: the warm-up of the final epochs, but there are none (${from('finalEpochs')})`);
  for (const k of ['dataEpochs', 'dataWarmup'] as const)
    if (given(k) && neg !== 'data')
      refuse(
        `${from(k)}: for negative chains started from the data, but they start from noise (${o.negStart === undefined ? `${src.say('negStart', 'noise')}, the default` : from('negStart')})`,
      );
  if (given('acpLambda') && o.acp === false) refuse(`${from('acpLambda')}: the penalty's initial lambda, but ${src.say('acp', false)} turns the penalty off`);
  // counts beyond the run
  if (F > E) refuse(`${from('finalEpochs')}: more final epochs than the run has (${from('epochs')})`);
  if (neg === 'data' && o.dataEpochs !== undefined) {
    const D = o.dataEpochs;
    if (given('dataEpochs')) {
      if (D > E) refuse(`${from('dataEpochs')}: more data-started epochs than the run has (${from('epochs')})`);
      if (F > 0 && D + F > E)
        refuse(
          `${from('dataEpochs')} and ${from('finalEpochs')}: ${D + F} epochs, more than the run has (${from('epochs')}; the final epochs start from noise)`,
        );
      if (D === 0 && given('negStart')) refuse(`${from('negStart')} and ${from('dataEpochs')}: no epoch starts from the data; drop one`);
    } else if (src.preset) {
      const P = BUDGETS[src.preset].options;
      let d = D;
      const why: string[] = [];
      if (given('epochs') && P.epochs !== undefined && P.dataEpochs === D && E !== P.epochs) {
        d = Math.floor((D * E) / P.epochs);
        why.push(`the preset's share of its ${P.epochs} epochs in ${from('epochs')}, rounded down`);
      }
      if (F > 0 && d > E - F) {
        d = E - F;
        why.push(E === F ? `none: every epoch is one of ${from('finalEpochs')}` : `the ${E - F} epochs before ${from('finalEpochs')}`);
      }
      if (d !== D) {
        out.dataEpochs = d;
        notes.push(`${from('dataEpochs')} -> ${d} data-started epochs: ${why.join(', then ')}`);
      }
    }
  }
  if (neg === 'data' && given('negStart') && F >= E)
    refuse(`${from('negStart')}: no epoch starts from the data (${from('finalEpochs')} of ${from('epochs')}: every epoch is a final one, from noise)`);
  return { options: out, notes };
}

// ---------------------------------------------------------------------------------------------
// budgets for `dtca sweep --train quick|standard|FILE.json`

/**
 * What a budget file may set: the presets' options, by dtca train's flag names (camelCase), plus
 * `acp` (false: --no-acp) and `limit` (--limit: the first N training images).
 */
export interface BudgetFileOptions extends BudgetOptions {
  acp?: boolean;
  limit?: number;
}

type KeyCheck = (v: unknown) => string | null;
const intAtLeast =
  (min: number): KeyCheck =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= 1e9 ? null : `must be an integer >= ${min}`;
const numberIn =
  (lo: number, hi: number): KeyCheck =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi ? null : `must be a number in [${lo}, ${hi}]`;
const oneOf =
  (...xs: string[]): KeyCheck =>
  (v) =>
    typeof v === 'string' && xs.includes(v) ? null : `one of ${xs.join(', ')}`;

/** Every key a budget file may hold, with its check (the same ranges as dtca train's flags). */
export const BUDGET_FILE_KEYS: Record<keyof BudgetFileOptions, KeyCheck> = {
  placement: oneOf('random', 'spatial'),
  epochs: intAtLeast(1),
  steps: intAtLeast(1),
  batch: intAtLeast(1),
  warmup: intAtLeast(1),
  posWarmup: intAtLeast(1),
  negStart: oneOf('noise', 'data'),
  dataEpochs: intAtLeast(0),
  dataWarmup: intAtLeast(1),
  acpWarmup: intAtLeast(1),
  finalEpochs: intAtLeast(0),
  finalWarmup: intAtLeast(1),
  ema: numberIn(0, 0.99999),
  samples: intAtLeast(1),
  every: intAtLeast(1),
  lr: numberIn(1e-9, 10),
  lrFloor: numberIn(0, 1),
  acp: (v) => (typeof v === 'boolean' ? null : 'true or false'),
  acpLambda: numberIn(0, 100),
  acpLag: intAtLeast(1),
  workers: intAtLeast(1),
  limit: (v) => intAtLeast(1)(v) ?? ((v as number) > FMNIST_TRAIN_IMAGES ? `the Fashion-MNIST train split has ${FMNIST_TRAIN_IMAGES} images` : null),
  labelGain: (v) => (v === 'auto' || isLabelGain(v) ? null : `"auto" or a number in [0, ${MAX_LABEL_GAIN}]`),
};

/** snake_case spellings (as a model's manifest.json records the options) accepted for the camelCase keys */
const SNAKE = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A sweep's training budget: a preset's name or a file's path, and its options (the rest from quick). */
export interface SweepBudget {
  /** "quick", "standard", or the budget file's absolute path */
  name: string;
  options: BudgetFileOptions;
  /** what fitBudget changed of the options the file left to quick, one line each (none for a preset) */
  notes?: string[];
}

/**
 * `quick`, `standard`, or a JSON file holding any subset of BUDGET_FILE_KEYS (the rest from
 * `quick`). An unknown key, a bad value or an unreadable file is a UserError naming `where`, the
 * file and the key.
 */
export function resolveSweepBudget(text: string, where = '--train'): SweepBudget {
  if (text === 'quick' || text === 'standard') return { name: text, options: { ...BUDGETS[text].options } };
  if (!text.endsWith('.json')) throw new UserError(`${where} ${text}: quick, standard or a budget file (FILE.json)`);
  let raw: unknown;
  try {
    raw = parseJsonText(readInputFile(text, { what: 'budget file', max: READ_LIMITS.json }).toString('utf8'), text);
  } catch (e) {
    throw e instanceof UserError ? new UserError(`${where} ${e.message}`) : e;
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new UserError(`${where} ${text}: a budget file is a JSON object of training options, e.g. {"epochs": 3, "steps": 20}`);
  const known = Object.keys(BUDGET_FILE_KEYS) as (keyof BudgetFileOptions)[];
  const given: Record<string, unknown> = {};
  for (const [k0, v] of Object.entries(raw as Record<string, unknown>)) {
    const k = known.find((c) => c === k0 || SNAKE(c) === k0);
    const shown = JSON.stringify(k0).slice(0, 60);
    if (!k) {
      const hint = k0 === 'T' || k0 === 'stages' ? " (the model's stages T come from the sweep's --stages)" : suggestion(k0, known);
      throw new UserError(`${where} ${text}: ${shown}: unknown option${hint}`);
    }
    if (k in given) throw new UserError(`${where} ${text}: ${k} given twice (as ${k} and ${SNAKE(k)})`);
    const bad = BUDGET_FILE_KEYS[k](v);
    if (bad) throw new UserError(`${where} ${text}: ${k} = ${JSON.stringify(v)?.slice(0, 40)}: ${bad}`);
    given[k] = v;
  }
  const fit = fitBudget(
    { ...BUDGETS.quick.options, ...(given as BudgetFileOptions) },
    {
      explicit: new Set(Object.keys(given)),
      preset: 'quick',
      defaultEpochs: BUDGETS.quick.options.epochs!,
      say: (k, v) => (v === undefined ? k : `${k} = ${JSON.stringify(v)}`),
      prefix: `${where} ${text}: `,
      presetName: 'quick',
    },
  );
  return { name: text, options: fit.options, notes: fit.notes.map((n) => `${where} ${text}: ${n}`) };
}

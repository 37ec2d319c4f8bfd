/**
 * What the library (index.ts) checks of an options object before it hands it on: that it is an
 * object, and that it names only options the call has. JavaScript passes a misspelt option
 * (`sweepz`, `set` for `sets`) or one of another call (`shouldStop` to train, whose option is
 * `stop`) without a word: it was ignored (a typo'd stop never stopped), or, with worker threads,
 * a function there failed to cross to them as a DOMException. Each list holds every key of its
 * options type (the Record type makes the compiler refuse a list that misses one or names one the
 * type lacks), so a new option cannot be forgotten here.
 */
import { OptionError } from '../fabric/errors.js';
import { kindOf } from '../fabric/json.js';
import { nearest } from './config-check.js';
import type { ResolveOptions } from './config.js';
import type { NewDtmOptions, GenerateOptions } from './dtm.js';
import type { RunOptions } from './run.js';
import type { TrainOptions } from './train/train.js';
import type { LoadOptions } from './fmnist.js';
import type { TraceOptions } from '../traces/types.js';

type Keys<T> = Record<keyof T, true>;

const STOP = { shouldStop: true, stopped: true } as const;
export const RESOLVE_KEYS: Keys<ResolveOptions> = { sets: true, ideal: true, flags: true, names: true };
export const NEW_DTM_KEYS: Keys<NewDtmOptions> = {
  T: true,
  L: true,
  rules: true,
  boundary: true,
  visible: true,
  weights: true,
  seed: true,
  beta: true,
  lambdaImage: true,
  lambdaLabel: true,
  placement: true,
  image: true,
  labelCopies: true,
  names: true,
};
export const GENERATE_KEYS: Keys<GenerateOptions> = {
  images: true,
  sweeps: true,
  beta: true,
  labels: true,
  labelGain: true,
  mapping: true,
  sink: true,
  version: true,
  keepChains: true,
  onStageDone: true,
  workers: true,
  tiles: true,
  onImageDone: true,
  engine: true,
  batch: true,
  ...STOP,
};
export const RUN_KEYS: Keys<RunOptions> = {
  chains: true,
  sweeps: true,
  warmup: true,
  stage: true,
  init: true,
  beta: true,
  moments: true,
  workers: true,
  tiles: true,
  tileModel: true,
  engine: true,
  batch: true,
  onSweep: true,
  onChainDone: true,
  ...STOP,
};
export const TRAIN_KEYS: Keys<TrainOptions> = {
  config: true,
  engine: true,
  model: true,
  dataDir: true,
  images: true,
  limit: true,
  out: true,
  epochs: true,
  steps: true,
  batch: true,
  warmup: true,
  posWarmup: true,
  negStart: true,
  dataEpochs: true,
  dataWarmup: true,
  acpWarmup: true,
  finalEpochs: true,
  finalWarmup: true,
  ema: true,
  samples: true,
  every: true,
  lr: true,
  alpha: true,
  acp: true,
  acpLambda0: true,
  acpLag: true,
  seed: true,
  workers: true,
  resume: true,
  stages: true,
  snapshots: true,
  assemble: true,
  finish: true,
  onEpoch: true,
  onStep: true,
  onStart: true,
  stop: true,
  names: true,
};
export const LOAD_KEYS: Keys<LoadOptions> = { split: true, dir: true, limit: true, canonical: true, dirOption: true };
export const TRACE_KEYS: Keys<TraceOptions> = { every: true, stages: true, chains: true, cells: true };
export const EVALUATE_KEYS = { dataDir: true, data: true, classifierPath: true, seed: true, bootstrap: true } as const;

/** an option of one call a caller may have meant for another's name */
const ALSO_CALLED: Record<string, string> = { shouldStop: 'stop', stop: 'shouldStop', set: 'sets' };

/**
 * `o`, the options of `call`, is an object (or undefined when the options are optional) that
 * names only keys of `known`; else an OptionError naming the stray option (with the nearest
 * known name) or, for a missing or non-object argument, `options`.
 */
export function checkOptionKeys(call: string, o: unknown, known: Record<string, true>, optional = false): void {
  if (o === undefined && optional) return;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    const some = Object.keys(known);
    throw new OptionError(
      'options',
      kindOf(o),
      `${call}'s options must be an object { ${some.slice(0, 4).join(', ')}${some.length > 4 ? ', ...' : ''} }, not ${kindOf(o)}`,
      false,
    );
  }
  const names = Object.keys(known);
  for (const k of Object.keys(o)) {
    if (Object.hasOwn(known, k)) continue;
    const alias = ALSO_CALLED[k];
    const near = alias && Object.hasOwn(known, alias) ? alias : nearest(k, names);
    throw new OptionError(k, undefined, `not an option of ${call}${near ? ` (did you mean ${near}?)` : `; its options: ${names.join(', ')}`}`, false);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `chip` is what buildChip gives (an OptionError naming `chip` otherwise: a config, or nothing, was a TypeError deep in the run). */
export function checkChipArgument(call: string, chip: unknown): void {
  if (isObject(chip) && isObject(chip.fabric) && isObject(chip.config) && isObject(chip.timing) && isObject(chip.table)) return;
  const hint = isObject(chip) && isObject(chip.fabric) && isObject(chip.clock) ? ' (this is a config: buildChip(config) gives the chip)' : '';
  throw new OptionError('chip', kindOf(chip), `${call}'s chip must be a chip from buildChip(config), not ${kindOf(chip)}${hint}`, false);
}

/** `fabric` is a chip's fabric (randomModel's first argument: chip.fabric, not the chip). */
export function checkFabricArgument(call: string, fabric: unknown): void {
  if (isObject(fabric) && Number.isInteger(fabric.L) && Number.isInteger(fabric.N) && Array.isArray(fabric.rules)) return;
  const hint = isObject(fabric) && isObject(fabric.fabric) ? ' (this is the chip: pass chip.fabric)' : '';
  throw new OptionError('fabric', kindOf(fabric), `${call}'s fabric must be a chip's fabric (chip.fabric), not ${kindOf(fabric)}${hint}`, false);
}

/**
 * `model` is a model as readModel, parseModel, randomModel and newDtmModel give it (stages of typed
 * arrays); a model file's object (modelToObject's, or JSON.parse of a .json model) was a TypeError
 * deep in the run ('dtm.image is not iterable').
 */
export function checkModelArgument(call: string, model: unknown): void {
  if (isObject(model) && Array.isArray(model.stages) && model.stages.length > 0 && model.stages.every((s) => isObject(s) && s.bias instanceof Float64Array))
    return;
  const hint = isObject(model) && model.format === 'dtca-model' ? " (this is a model file's object: parseModel(object, where) gives the model)" : '';
  throw new OptionError(
    'model',
    kindOf(model),
    `${call}'s model must be a model (readModel, parseModel, newDtmModel, randomModel), not ${kindOf(model)}${hint}`,
    false,
  );
}

/**
 * `v`, the `name` argument or option of `call`, is a path (a string; an empty one is named by the
 * reader or writer itself). Anything else was a TypeError from node:fs ('The "paths[0]" argument
 * must be of type string') or a UserError quoting "undefined" as a file name.
 */
export function checkPathArgument(call: string, name: string, v: unknown, optional = false): void {
  if (typeof v === 'string' || (v === undefined && optional)) return;
  throw new OptionError(name, kindOf(v), `${call}'s ${name} must be a path (a string), not ${kindOf(v)}`, false);
}

/** What a field of an argument must be, by kind (shapeProblem). */
type Kind = 'a number' | 'a string' | 'a boolean' | 'an object' | 'a list' | 'bytes' | 'a list or typed array';

function isKind(v: unknown, k: Kind): boolean {
  if (k === 'a number') return typeof v === 'number';
  if (k === 'a string') return typeof v === 'string';
  if (k === 'a boolean') return typeof v === 'boolean';
  if (k === 'an object') return isObject(v);
  if (k === 'a list') return Array.isArray(v);
  if (k === 'a list or typed array') return Array.isArray(v) || ArrayBuffer.isView(v);
  return v instanceof Uint8Array;
}

/** The first field of `v` (an object) that is missing or of another kind, in words, or null. */
function shapeProblem(v: Record<string, unknown>, fields: Record<string, Kind>): string | null {
  for (const [k, want] of Object.entries(fields)) {
    if (isKind(v[k], want)) continue;
    return `its ${k} is ${v[k] === undefined ? 'missing' : kindOf(v[k])}, not ${want}`;
  }
  return null;
}

/** An argument the library checks by its fields: what it is called, and the fields the call reads. */
export interface ArgumentShape {
  /** "a runModel result" */
  what: string;
  fields: Record<string, Kind>;
  /** words after the message for a value that is something else a caller may hold (or '') */
  hint?: (v: Record<string, unknown>) => string;
}

const RESULT_CORE: Record<string, Kind> = {
  events: 'an object',
  energy: 'an object',
  engine: 'an object',
  cycles: 'a number',
  simTimeS: 'a number',
  wallS: 'a number',
};

export const RUN_RESULT: ArgumentShape = {
  what: 'a runModel result',
  fields: { chains: 'a number', sweeps: 'a number', warmup: 'a number', ...RESULT_CORE, program: 'an object' },
  hint: (v) => (Array.isArray(v.outputs) ? ' (this is a generate result: makeDtmStats takes it)' : ''),
};

export const GENERATE_RESULT: ArgumentShape = {
  what: 'a generate result',
  fields: { outputs: 'a list', images: 'a number', T: 'a number', sweeps: 'a number', ...RESULT_CORE, imageIntervalS: 'a number', stages: 'a list' },
  hint: (v) => (typeof v.chains === 'number' && !Array.isArray(v.outputs) ? ' (this is a runModel result: makeStats takes it)' : ''),
};

export const STATS: ArgumentShape = {
  what: 'a stats object (makeStats, makeDtmStats, or a stats.json read back)',
  fields: {
    config: 'a string',
    workload: 'a string',
    engine: 'an object',
    cells: 'a number',
    degree: 'a number',
    tiles: 'a number',
    clock_hz: 'a number',
    cycles: 'a number',
    sim_time_s: 'a number',
    cell_updates: 'a number',
    cell_sweeps: 'a number',
    energy_j: 'an object',
    sweep_energy_per_cell_sweep_j: 'a number',
    sweep_energy_j: 'an object',
    programming_energy_j: 'a number',
    other_energy_j: 'a number',
    average_power_w: 'a number',
    wall_s: 'a number',
    updates_per_ns: 'a number',
  },
  hint: (v) =>
    typeof v.config !== 'string' && (typeof v.chains === 'number' || Array.isArray(v.outputs))
      ? ' (this is a run result: makeStats or makeDtmStats gives the stats)'
      : '',
};

export const SAMPLES: ArgumentShape = {
  what: 'samples (samplesFromGeneration, readRunSamples)',
  fields: { images: 'bytes', n: 'a number' },
  hint: (v) => (Array.isArray(v.outputs) ? ' (this is a generate result: samplesFromGeneration(gen, labels, model.dtm) gives its samples)' : ''),
};

/** a model's dtm section (model.dtm), as samplesFromGeneration reads it */
export const DTM_SECTION: ArgumentShape = {
  what: "a model's dtm section (model.dtm)",
  fields: { image: 'a list or typed array', image_shape: 'a list' },
};

export const EVAL_REPORT: ArgumentShape = {
  what: 'an evaluation report (evaluate, evaluateSamples)',
  fields: {
    n: 'a number',
    baselines: 'an object',
    resolution: 'an object',
    classifier: 'an object',
    note: 'a string',
    reference: 'a string',
    wall_s: 'a number',
  },
};

export const SWEEP_RECORD: ArgumentShape = {
  what: "a trace's sweep record (readTrace)",
  fields: { states: 'bytes', n_cells: 'a number' },
  hint: (v) => (typeof v.type === 'string' && v.type !== 'sweep' ? ` (a ${shownType(v.type)} record holds no states)` : ''),
};

const shownType = (t: string) => JSON.stringify(t.slice(0, 20));

/**
 * `v`, the `name` argument of `call`, is an object with the fields `shape` lists, each of its
 * kind; else an OptionError naming the argument, what it must be and what it is (a wrong value
 * was a TypeError from deep inside the call: "Cannot read properties of undefined (reading 'N')").
 */
export function checkShapedArgument(call: string, name: string, v: unknown, shape: ArgumentShape): void {
  if (!isObject(v)) throw new OptionError(name, kindOf(v), `${call}'s ${name} must be ${shape.what}, not ${kindOf(v)}`, false);
  const bad = shapeProblem(v, shape.fields);
  if (bad) throw new OptionError(name, kindOf(v), `${call}'s ${name} must be ${shape.what}: ${bad}${shape.hint?.(v) ?? ''}`, false);
}

/** `v`, the `name` argument of `call`, is of kind `want` (or undefined when optional). */
export function checkKindArgument(call: string, name: string, v: unknown, want: Kind, optional = false): void {
  if ((v === undefined && optional) || isKind(v, want)) return;
  throw new OptionError(name, kindOf(v), `${call}'s ${name} must be ${want}, not ${kindOf(v)}`, false);
}

/** A run's beta as makeStats and makeDtmStats take it: a number, {start, end}, or undefined. */
export function checkBetaArgument(call: string, beta: unknown): void {
  if (beta === undefined || typeof beta === 'number') return;
  if (isObject(beta) && typeof beta.start === 'number' && typeof beta.end === 'number') return;
  throw new OptionError('beta', kindOf(beta), `${call}'s beta must be a number or { start, end } (the beta the run ran at), not ${kindOf(beta)}`, false);
}

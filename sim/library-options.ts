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
export const EVALUATE_KEYS = { dataDir: true, data: true, classifierPath: true, seed: true } as const;

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

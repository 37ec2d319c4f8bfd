/**
 * dtca as a library: `import { ... } from 'dtca'`. The same functions the command line calls, no
 * more: docs/library.md shows them at work (its example is run by test/library.test.ts).
 *
 *   configs    resolveConfig(preset or file, { sets, ideal }) -> ResolvedConfig
 *   chips      buildChip(config) -> Chip (fabric, fabrication, timing, energy table)
 *   models     readModel(path), parseModel(object), randomModel(fabric, ...), newDtmModel({ ... })
 *   generate   generate(chip, dtmModel, { images, sweeps, labels, sink }) -> GenerateResult
 *   Boltzmann  runModel(chip, model, { chains, sweeps, warmup }) -> RunResult
 *   stats      makeStats / makeDtmStats -> the stats.json object; formatStats -> the CLI's table
 *   train      train({ config, model, out, epochs, ... }) -> TrainResult (writes the model file)
 *   evaluate   evaluateSamples(samplesFromGeneration(gen, labels, model.dtm), { dataDir }) -> EvalReport
 *   traces     openTraceWriter(path) as a generate() sink; readTrace(path) (async iterable of
 *              records), inspectTrace(path)
 *   errors     UserError: bad input, with a message that names what and where; OptionError (a
 *              UserError) names the option, the value and why; Interrupted: a run stopped early
 *   threads    closeWorkers(): ends the worker threads kept between calls (sim/pool.ts; they
 *              hold no process open, so a script ends without it)
 *
 * Long work takes plain callbacks (onImageDone, onChainDone, shouldStop; train's stop) or a
 * RunContext (sim/context.ts; quietContext() is the silent one).
 *
 * The calls that take options (and buildChip its config) check here, before the simulator's own
 * code runs, what only a JavaScript caller can get wrong: the end of this file.
 */
import { PIXELS } from './sim/fmnist.js';
import { pixelsOf, generatedSamples, readRunSamples as readRunSamplesIn } from './sim/quality/samples.js';
import { readClassifier } from './sim/quality/classifier.js';
import { CLASSIFIER_PATH } from './sim/quality/train.js';
import {
  evaluate as evaluateIn,
  formatReport as formatReportIn,
  loadReferenceData as loadReferenceDataIn,
  type EvalOptions,
  type EvalReport,
  type ReferenceData,
  type Samples,
} from './sim/quality/eval.js';
import type { GenerateResult } from './sim/dtm.js';
import type { DtmSpec } from './sim/model.js';
import { UserError, OptionError } from './fabric/errors.js';
import { kindOf } from './fabric/json.js';
import { shown } from './fabric/rules.js';
import {
  resolveConfig as resolveConfigIn,
  checkConfig as checkConfigIn,
  validateConfig,
  type ResolvedConfig,
  type ResolveOptions,
  type CheckedConfig,
} from './sim/config.js';
import { buildChip as buildChipIn, type Chip } from './sim/chip.js';
import { randomModel as randomModelIn, readModel as readModelIn, modelToObject as modelToObjectIn, type Model } from './sim/model.js';
import type { Fabric } from './fabric/fabric.js';
import { newDtmModel as newDtmModelIn, generate as generateIn, type NewDtmOptions, type GenerateOptions } from './sim/dtm.js';
import { runModel as runModelIn, type BetaSpec, type RunOptions, type RunResult } from './sim/run.js';
import { makeStats as makeStatsIn, makeDtmStats as makeDtmStatsIn, formatStats as formatStatsIn, type Stats } from './sim/stats.js';
import { train as trainIn, type TrainOptions, type TrainResult } from './sim/train/train.js';
import { loadFmnist as loadFmnistIn, type ImageSet, type LoadOptions, type Split } from './sim/fmnist.js';
import { openTraceWriter as openTraceWriterIn, type TraceWriter } from './traces/writer.js';
import type { TraceOptions } from './traces/types.js';
import {
  checkOptionKeys,
  RESOLVE_KEYS,
  NEW_DTM_KEYS,
  GENERATE_KEYS,
  RUN_KEYS,
  TRAIN_KEYS,
  LOAD_KEYS,
  TRACE_KEYS,
  EVALUATE_KEYS,
  checkChipArgument,
  checkFabricArgument,
  checkModelArgument,
  checkPathArgument,
  checkShapedArgument,
  checkKindArgument,
  checkBetaArgument,
  RUN_RESULT,
  GENERATE_RESULT,
  STATS,
  SAMPLES,
  EVAL_REPORT,
  SWEEP_RECORD,
  DTM_SECTION,
} from './sim/library-options.js';
import {
  readTrace as readTraceIn,
  inspectTrace as inspectTraceIn,
  unpackStates as unpackStatesIn,
  type ReadOptions,
  type SweepRecord,
  type TraceReader,
  type TraceSummary,
} from './traces/reader.js';

export {
  presetNames,
  configJsonSchema,
  DEFAULT_CONFIG,
  type ResolvedConfig,
  type ResolveOptions,
  type CheckedConfig,
  type ConfigProblem,
} from './sim/config.js';
export { type Chip, type Timing } from './sim/chip.js';
export { parseModel, timeGrid, type Model, type StageModel, type DtmSpec } from './sim/model.js';
export { PLACEMENTS, type NewDtmOptions, type GenerateOptions, type GenerateResult, type StageStats, type Mapping, type Placement } from './sim/dtm.js';
export { INIT_MODES, type RunOptions, type StopOptions, type RunResult, type SweepView, type InitMode } from './sim/run.js';
export { type Stats } from './sim/stats.js';
export { TrainingStopped, type TrainOptions, type TrainResult } from './sim/train/train.js';
export type { EpochRecord } from './sim/train/stage.js';
export { type Samples, type EvalReport, type EvalOptions, type ReferenceData } from './sim/quality/eval.js';

export { PIXELS, CLASSES, CLASS_NAMES, DEFAULT_DATA_DIR, type ImageSet, type LoadOptions, type Split } from './sim/fmnist.js';
export { TraceWriter, type TraceOptions } from './traces/writer.js';
export type { TraceSink } from './traces/types.js';
export {
  TraceReader,
  type ReadOptions,
  type TraceRecord,
  type HeaderRecord,
  type StageRecord,
  type SweepRecord,
  type EndRecord,
  type TraceSummary,
} from './traces/reader.js';
export { quietContext, type RunContext, type Log, type ProgressBar } from './sim/context.js';
export { UserError, OptionError, Interrupted } from './fabric/errors.js';
export { closeWorkers } from './sim/pool.js';
export type { EngineChoice } from './cells/engine.js';

/**
 * The images of a generation as `evaluate` scores them (0/1, 28x28) and, when the generation was
 * class-clamped, the class of each image. Pass the model's `dtm` section (`model.dtm`) so a model
 * on a pooled image (14x14, 7x7: sim/layout.ts) is upscaled and scored at its own resolution;
 * without it the generation must be a 28x28 Fashion-MNIST model's (its first 784 visible cells).
 */
export function samplesFromGeneration(gen: GenerateResult, labels?: number[], dtm?: DtmSpec): Samples {
  checkShapedArgument('samplesFromGeneration', 'gen', gen, { what: 'a generate result', fields: { outputs: 'a list' } });
  checkKindArgument('samplesFromGeneration', 'labels', labels, 'a list', true);
  if (labels?.some((c) => !Number.isInteger(c) || c < 0 || c > 255))
    throw new OptionError('labels', shown(labels), 'must be a list of class numbers (integers 0..255), as generate took them');
  if (dtm !== undefined) checkShapedArgument('samplesFromGeneration', 'dtm', dtm, DTM_SECTION);
  if (dtm) return generatedSamples(gen.outputs, dtm, labels);
  const n = gen.outputs.length;
  if (n > 0 && gen.outputs[0].length < PIXELS) {
    throw new UserError(
      `samplesFromGeneration: images of ${gen.outputs[0].length} visible cells, fewer than a 28x28 image; pass the model's dtm section (samplesFromGeneration(gen, labels, model.dtm)) to score a pooled-image model`,
    );
  }
  return {
    images: pixelsOf(gen.outputs),
    downscale: 1,
    n,
    labels: labels && labels.length ? Uint8Array.from({ length: n }, (_, i) => labels[i % labels.length]) : null,
    autocorrelation: null,
  };
}

/**
 * Scores samples as `dtca eval` does (FD, clamped accuracy, pixel-marginal error, both
 * yardsticks) with the shipped quality classifier (or `classifierPath`) against Fashion-MNIST
 * from `dataDir` (default: $DTCA_DATA, then the Debian package's directory).
 */
export function evaluateSamples(
  samples: Samples,
  o: { dataDir?: string; data?: ReferenceData; classifierPath?: string; seed?: number; bootstrap?: number } = {},
): EvalReport {
  checkShapedArgument('evaluateSamples', 'samples', samples, SAMPLES);
  checkOptionKeys('evaluateSamples', o, EVALUATE_KEYS);
  checkPathArgument('evaluateSamples', 'dataDir', o.dataDir, true);
  checkPathArgument('evaluateSamples', 'classifierPath', o.classifierPath, true);
  const classifierPath = o.classifierPath ?? CLASSIFIER_PATH;
  const { net, info } = readClassifier(classifierPath);
  return evaluate(samples, {
    data: o.data ?? loadReferenceDataIn(o.dataDir),
    classifier: net,
    classifierPath,
    classifierTestAccuracy: typeof info.test_accuracy === 'number' ? info.test_accuracy : null,
    seed: o.seed,
    bootstrap: o.bootstrap,
  });
}

// The calls below are the simulator's own, behind a check of what a JavaScript caller can get wrong
// that the command line cannot (sim/library-options.ts): options that are not an object, or name an
// option the call does not have (a misspelling was ignored without a word); and buildChip's config,
// which a caller may have built or edited by hand, checked as resolveConfig checks it.

/** A preset name or config file, with `sets` and `ideal` applied and checked (a UserError names the first problem). */
export function resolveConfig(ref: string | undefined, opts?: ResolveOptions): ResolvedConfig {
  checkOptionKeys('resolveConfig', opts, RESOLVE_KEYS, true);
  return resolveConfigIn(ref, opts);
}

/** As resolveConfig, but every problem listed (`problems`) instead of the first thrown. */
export function checkConfig(ref: string | undefined, opts?: ResolveOptions): CheckedConfig {
  checkOptionKeys('checkConfig', opts, RESOLVE_KEYS, true);
  return checkConfigIn(ref, opts);
}

/**
 * The chip of a config: its fabric, fabricated cells, timing and energy table. The config is
 * checked as resolveConfig checks one (an object built or edited by hand: `clock.clock_hz = -5`
 * is a UserError naming it, not a RangeError from deep in the timing).
 */
export function buildChip(config: ResolvedConfig): Chip {
  checkConfigArgument('buildChip', config);
  return buildChipIn(config);
}

/** A seeded random Boltzmann machine on a chip's fabric (`chip.fabric`): weights U(-scale, scale), biases U(-biasScale, biasScale). */
export function randomModel(fabric: Fabric, seed: number, scale: number, biasScale: number): Model {
  checkFabricArgument('randomModel', fabric);
  return randomModelIn(fabric, seed, scale, biasScale);
}

/** A config object as resolveConfig makes one, checked as it checks one. */
function checkConfigArgument(call: string, config: unknown): void {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    const hint = typeof config === 'string' ? ` (resolveConfig(${JSON.stringify(config)}) gives one)` : ' (resolveConfig gives one)';
    throw new OptionError('config', kindOf(config), `${call}'s config must be a config object${hint}, not ${kindOf(config)}`, false);
  }
  validateConfig(config, 'config', `${call} names the next once this one is fixed`);
}

/** A new DTM model (zero or seeded random weights) on an L x L grid. */
export function newDtmModel(o: NewDtmOptions): Model {
  checkOptionKeys('newDtmModel', o, NEW_DTM_KEYS);
  return newDtmModelIn(o);
}

/** Generates images with a DTM model, stage by stage from noise. */
export async function generate(chip: Chip, model: Model, opts: GenerateOptions): Promise<GenerateResult> {
  checkChipArgument('generate', chip);
  checkModelArgument('generate', model);
  checkOptionKeys('generate', opts, GENERATE_KEYS);
  return generateIn(chip, model, opts);
}

/** Runs one stage of a model as a Boltzmann machine: chains of Gibbs sweeps on the chip. */
export async function runModel(chip: Chip, model: Model, opts: RunOptions): Promise<RunResult> {
  checkChipArgument('runModel', chip);
  checkModelArgument('runModel', model);
  checkOptionKeys('runModel', opts, RUN_KEYS);
  return runModelIn(chip, model, opts);
}

/** Trains a DTM as dtca train does, writing the model (and its log) to `out`. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  checkOptionKeys('train', o, TRAIN_KEYS);
  checkConfigArgument('train', o.config);
  checkPathArgument('train', 'dataDir', o.dataDir, true);
  checkModelArgument('train', o.model);
  return trainIn(o);
}

/** A split of Fashion-MNIST (binarised), from `dir` (default: $DTCA_DATA, then the Debian package's directory). */
export function loadFmnist(o: LoadOptions): ImageSet & { dir: string; split: Split } {
  checkOptionKeys('loadFmnist', o, LOAD_KEYS);
  checkPathArgument('loadFmnist', 'dir', o.dir, true);
  return loadFmnistIn(o);
}

/** A trace file being written, as generate()'s `sink`; close() it when the run is done. */
export function openTraceWriter(path: string, opts?: TraceOptions): TraceWriter {
  checkPathArgument('openTraceWriter', 'path', path);
  checkOptionKeys('openTraceWriter', opts, TRACE_KEYS, true);
  return openTraceWriterIn(path, opts);
}

/** A model file (JSON or msgpack), checked as dtca checks one. */
export function readModel(path: string, opts?: { stop?: () => boolean }): Model {
  checkPathArgument('readModel', 'path', path);
  return readModelIn(path, opts);
}

/** Streams the records of a trace file: `for await (const rec of readTrace(path))`; afterwards `truncated` and `status` say how it ended. */
export function readTrace(path: string, opts?: ReadOptions): TraceReader {
  checkPathArgument('readTrace', 'path', path);
  return readTraceIn(path, opts);
}

/** What a trace holds and how it ends, as dtca trace inspect says it. */
export async function inspectTrace(path: string): Promise<TraceSummary> {
  checkPathArgument('inspectTrace', 'path', path);
  return inspectTraceIn(path);
}

/** The images of a dtca run directory (its samples.npy), as evaluate scores them. */
export function readRunSamples(dir: string, limit?: number): Samples & { total: number } {
  checkPathArgument('readRunSamples', 'dir', dir);
  return readRunSamplesIn(dir, limit);
}

/** Fashion-MNIST's test split as evaluate compares with it, from `dir` (default: $DTCA_DATA, then the Debian package's directory). */
export function loadReferenceData(dir?: string): ReferenceData {
  checkPathArgument('loadReferenceData', 'dir', dir, true);
  return loadReferenceDataIn(dir);
}

/** stats.json's object for a runModel result (`label` names the workload). */
export function makeStats(chip: Chip, result: RunResult, label: string, beta?: BetaSpec): Stats {
  checkChipArgument('makeStats', chip);
  checkShapedArgument('makeStats', 'result', result, RUN_RESULT);
  checkKindArgument('makeStats', 'label', label, 'a string');
  checkBetaArgument('makeStats', beta);
  return makeStatsIn(chip, result, label, beta);
}

/** stats.json's object for a generate result (`label` names the workload). */
export function makeDtmStats(chip: Chip, gen: GenerateResult, label: string, beta?: BetaSpec): Stats {
  checkChipArgument('makeDtmStats', chip);
  checkShapedArgument('makeDtmStats', 'gen', gen, GENERATE_RESULT);
  checkKindArgument('makeDtmStats', 'label', label, 'a string');
  checkBetaArgument('makeDtmStats', beta);
  return makeDtmStatsIn(chip, gen, label, beta);
}

/** The CLI's table of a stats object (makeStats, makeDtmStats, or a stats.json read back). */
export function formatStats(stats: Stats): string {
  checkShapedArgument('formatStats', 'stats', stats, STATS);
  return formatStatsIn(stats);
}

/** Scores samples with a classifier you pass (evaluateSamples loads the shipped one). */
export function evaluate(samples: Samples, opts: EvalOptions): EvalReport {
  checkShapedArgument('evaluate', 'samples', samples, SAMPLES);
  checkShapedArgument('evaluate', 'options', opts, {
    what: 'evaluate options { classifier, classifierPath, ... }',
    fields: { classifier: 'an object', classifierPath: 'a string' },
  });
  return evaluateIn(samples, opts);
}

/** An evaluation report as `dtca eval` prints it, under `title`. */
export function formatReport(report: EvalReport, title: string): string {
  checkShapedArgument('formatReport', 'report', report, EVAL_REPORT);
  checkKindArgument('formatReport', 'title', title, 'a string');
  return formatReportIn(report, title);
}

/** A model as a model file's object (plain lists for JSON, typed arrays for msgpack). */
export function modelToObject(model: Model, forJson: boolean): Record<string, unknown> {
  checkModelArgument('modelToObject', model);
  checkKindArgument('modelToObject', 'forJson', forJson, 'a boolean');
  return modelToObjectIn(model, forJson);
}

/** A sweep record's states, one byte (0/1) per traced cell. */
export function unpackStates(rec: SweepRecord, nCells?: number): Uint8Array {
  checkShapedArgument('unpackStates', 'rec', rec, SWEEP_RECORD);
  if (nCells !== undefined && !(Number.isInteger(nCells) && nCells >= 0))
    throw new OptionError('nCells', shown(nCells), "must be an integer >= 0 (unpackStates: the traced cells, the header's n_traced)");
  return unpackStatesIn(rec, nCells);
}

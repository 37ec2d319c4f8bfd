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
 *
 * Long work takes plain callbacks (onImageDone, onChainDone, shouldStop) or a RunContext
 * (sim/context.ts; quietContext() is the silent one).
 */
import { PIXELS } from './sim/fmnist.js';
import { pixelsOf, generatedSamples } from './sim/quality/samples.js';
import { readClassifier } from './sim/quality/classifier.js';
import { CLASSIFIER_PATH } from './sim/quality/train.js';
import { evaluate, loadReferenceData, type EvalReport, type ReferenceData, type Samples } from './sim/quality/eval.js';
import type { GenerateResult } from './sim/dtm.js';
import type { DtmSpec } from './sim/model.js';
import { UserError } from './fabric/errors.js';

export { resolveConfig, checkConfig, presetNames, configJsonSchema, DEFAULT_CONFIG, type ResolvedConfig, type ResolveOptions } from './sim/config.js';
export { buildChip, type Chip, type Timing } from './sim/chip.js';
export { readModel, parseModel, randomModel, modelToObject, timeGrid, type Model, type StageModel, type DtmSpec } from './sim/model.js';
export {
  newDtmModel,
  generate,
  PLACEMENTS,
  type NewDtmOptions,
  type GenerateOptions,
  type GenerateResult,
  type StageStats,
  type Mapping,
  type Placement,
} from './sim/dtm.js';
export { runModel, INIT_MODES, type RunOptions, type StopOptions, type RunResult, type SweepView, type InitMode } from './sim/run.js';
export { makeStats, makeDtmStats, formatStats, type Stats } from './sim/stats.js';
export { train, type TrainOptions, type TrainResult } from './sim/train/train.js';
export { evaluate, loadReferenceData, formatReport, type Samples, type EvalReport, type EvalOptions, type ReferenceData } from './sim/quality/eval.js';
export { readRunSamples } from './sim/quality/samples.js';
export { loadFmnist, PIXELS, CLASSES, CLASS_NAMES, DEFAULT_DATA_DIR } from './sim/fmnist.js';
export { openTraceWriter, TraceWriter, type TraceOptions } from './traces/writer.js';
export {
  readTrace,
  inspectTrace,
  unpackStates,
  type TraceRecord,
  type HeaderRecord,
  type StageRecord,
  type SweepRecord,
  type EndRecord,
  type TraceSummary,
} from './traces/reader.js';
export { quietContext, type RunContext, type Log, type ProgressBar } from './sim/context.js';
export { UserError, OptionError, Interrupted } from './fabric/errors.js';
export type { EngineChoice } from './cells/engine.js';

/**
 * The images of a generation as `evaluate` scores them (0/1, 28x28) and, when the generation was
 * class-clamped, the class of each image. Pass the model's `dtm` section (`model.dtm`) so a model
 * on a pooled image (14x14, 7x7: sim/layout.ts) is upscaled and scored at its own resolution;
 * without it the generation must be a 28x28 Fashion-MNIST model's (its first 784 visible cells).
 */
export function samplesFromGeneration(gen: GenerateResult, labels?: number[], dtm?: DtmSpec): Samples {
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
export function evaluateSamples(samples: Samples, o: { dataDir?: string; data?: ReferenceData; classifierPath?: string; seed?: number } = {}): EvalReport {
  const classifierPath = o.classifierPath ?? CLASSIFIER_PATH;
  const { net, info } = readClassifier(classifierPath);
  return evaluate(samples, {
    data: o.data ?? loadReferenceData(o.dataDir),
    classifier: net,
    classifierPath,
    classifierTestAccuracy: typeof info.test_accuracy === 'number' ? info.test_accuracy : null,
    seed: o.seed,
  });
}

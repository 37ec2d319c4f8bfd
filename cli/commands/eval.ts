/**
 * `dtca eval [RUN_DIR|MODEL]`: sample quality against yardsticks (sim/quality/eval.ts), and
 * `dtca eval --train-classifier`: retrain the quality classifier.
 */
import type { Argv } from 'yargs';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../fabric/errors.js';
import { planWorkload, executeWorkload, outcomeSamples, type DtmOutcome } from '../../sim/workload.js';
import { readModel } from '../../sim/model.js';
import { writeFileAtomic } from '../../sim/io/output.js';
import { SafeFile, isStdout, makeDirs } from '../../fabric/files.js';
import { makeProgress } from '../progress.js';
import { cliContext, positiveInt, parseBeta, labelGainFlag, modelChipConfig, workersFlag, checkTrainedPrecision } from '../common.js';
import type { Session } from '../session.js';
import { dataDir, CLASSES } from '../../sim/fmnist.js';
import { imageSourceOf, describeImage } from '../../sim/layout.js';
import { readClassifier } from '../../sim/quality/classifier.js';
import { trainQualityClassifier, CLASSIFIER_PATH, DEFAULT_EPOCHS, DEFAULT_SEED, TRAIN_SPLIT } from '../../sim/quality/train.js';
import { measureAutocorrelation } from '../../sim/train/stage.js';
import { trainData } from '../../sim/train/train.js';
import { evaluate, formatReport, loadReferenceData, checkBootstrap, DEFAULT_EVAL_IMAGES, MIN_FD_RANK_N, type Samples } from '../../sim/quality/eval.js';
import { readRunSamples } from '../../sim/quality/samples.js';
import { FD_BOOTSTRAP_RESAMPLES } from '../../sim/quality/metrics.js';
import { eng } from '../../sim/units.js';
import { resolveRules, rulesName } from '../../fabric/rules.js';
import type { ResolvedConfig } from '../../sim/config.js';

/** lag (sweeps) of the per-stage autocorrelation dtca eval reports (dtca train's --acp-lag default) */
export const AUTOCORRELATION_LAG = 100;

interface EvalArgs {
  target?: string;
  images?: number;
  json?: boolean;
  data?: string;
  classifier?: string;
  config?: string;
  set?: string[];
  ideal?: boolean;
  chip?: string;
  sweeps?: number;
  beta?: string;
  labelGain?: number;
  workers?: number;
  seed?: number;
  bootstrap?: number;
  trainClassifier?: boolean;
  epochs?: number;
  out?: string;
}

async function cmdTrainClassifier(a: EvalArgs, s: Session): Promise<void> {
  const { log } = s;
  if (a.target !== undefined) throw new UserError('--train-classifier: takes no run directory or model');
  const epochs = positiveInt('epochs', a.epochs) ?? DEFAULT_EPOCHS;
  const seed = positiveInt('seed', a.seed, 0) ?? DEFAULT_SEED;
  if (a.out !== undefined && isStdout(a.out)) throw new UserError('--out -: the weights are a binary file; name a file');
  const out = resolve(a.out ?? CLASSIFIER_PATH);
  if (existsSync(out) && statSync(out).isDirectory()) throw new UserError(`--out ${out}: is a directory`);
  // the output is checked before the training, not after: a temporary file is created and removed
  // there (fabric/files.ts), so a path dtca may not or cannot write is refused now
  makeDirs(dirname(out), `--out ${a.out ?? out}`);
  new SafeFile(out, { label: `--out ${a.out ?? out}`, kind: 'classifier' }).abort();
  log.info({ data: dataDir(a.data), epochs, seed, out }, 'training the quality classifier');
  const bar = makeProgress(epochs * TRAIN_SPLIT, 'images', s.progress);
  const r = trainQualityClassifier({
    dir: a.data,
    seed,
    epochs,
    onProgress: (done, _total, epoch) => bar.tick(epoch * TRAIN_SPLIT + done),
    onEpoch: (e) =>
      log.info(
        { epoch: e.epoch + 1, of: epochs, loss: Number(e.loss.toFixed(4)), val_accuracy: e.valAccuracy, wall_s: Number(e.wallS.toFixed(1)) },
        'epoch done',
      ),
  });
  bar.done();
  writeFileAtomic(out, r.bytes, 'classifier');
  const info = r.info as { test_accuracy: number; val_accuracy: number; params: number; train_wall_s: number };
  if (a.json) process.stdout.write(JSON.stringify({ path: out, bytes: r.bytes.length, ...r.info }, null, 2) + '\n');
  else {
    process.stdout.write(
      `classifier      ${out} (${(r.bytes.length / 1024).toFixed(0)} KiB, ${info.params} parameters)\n` +
        `test accuracy   ${info.test_accuracy.toFixed(4)} on the 10,000 binarised test images (held-out accuracy ${info.val_accuracy.toFixed(4)})\n` +
        `training        ${epochs} epochs, seed ${seed}, ${info.train_wall_s.toFixed(0)} s\n`,
    );
  }
}

async function cmdEval(a: EvalArgs, session: Session): Promise<void> {
  if (a.trainClassifier) return cmdTrainClassifier(a, session);
  const { log } = session;
  if (a.epochs !== undefined || a.out !== undefined) throw new UserError('--epochs/--out: only with --train-classifier');
  if (!a.target) throw new UserError('name what to evaluate: dtca eval RUN_DIR (a run directory with samples.npy) or dtca eval MODEL (a DTM model file)');
  const target = resolve(a.target);
  if (!existsSync(target)) throw new UserError(`${a.target}: no such run directory or model file`);
  const isDir = statSync(target).isDirectory();
  // --ideal is a chip of its own (exact weights): beside --chip one of the two would be dropped without a word
  if (!isDir && a.ideal && a.chip !== undefined)
    throw new UserError(
      `--ideal --chip ${a.chip}: two chips; --ideal is the ideal chip with exact weights, --chip ideal the ideal chip with the chip's weight precision, --chip cycle the config as it is: give one`,
    );
  const n = positiveInt('images', a.images, 2) ?? DEFAULT_EVAL_IMAGES;
  // checked before a model's generation, not after it
  const bootstrap = checkBootstrap(a.bootstrap);
  const classifierPath = resolve(a.classifier ?? CLASSIFIER_PATH);
  // the data and classifier first: a missing dataset should stop us before a long generation
  const data = loadReferenceData(a.data);
  const { net, info } = readClassifier(classifierPath);
  let samples: Samples;
  let title: string;
  let source: Record<string, unknown>;
  if (isDir) {
    for (const k of ['config', 'set', 'chip', 'sweeps', 'beta', 'workers', 'seed', 'labelGain'] as const) {
      const v = a[k];
      if (v !== undefined && !(Array.isArray(v) && v.length === 0))
        throw new UserError(
          `--${k === 'labelGain' ? 'label-gain' : k}: used only when evaluating a model file (a run directory's samples are already generated)`,
        );
    }
    if (a.ideal) throw new UserError("--ideal: used only when evaluating a model file (a run directory's samples are already generated)");
    const s = readRunSamples(target, n);
    // without --images a run directory is scored whole (up to the default N): nothing to warn about
    if (s.n < n && a.images !== undefined)
      log.warn(
        { wanted: n, have: s.total },
        `the run directory holds ${s.total} images, fewer than --images ${n}; scoring all of them, yardsticks at the same N`,
      );
    samples = s;
    title = `dtca eval ${a.target}: ${s.n} ${s.labels ? 'class-clamped ' : ''}${s.downscale && s.downscale > 1 ? `${28 / s.downscale}x${28 / s.downscale} ` : ''}samples from the run directory`;
    source = { run_dir: target, images_in_run: s.total };
  } else {
    const model = readModel(target);
    const dtm = model.dtm;
    if (!dtm) throw new UserError(`${a.target}: not a DTM model (no "dtm" section)`);
    const src = imageSourceOf(dtm);
    if (!src)
      throw new UserError(
        `${a.target}: its images are ${dtm.image_shape.join('x')} (${dtm.image.length} cells), not Fashion-MNIST's; dtca eval scores Fashion-MNIST models (--visible fmnist)`,
      );
    if (dtm.label.length !== CLASSES * dtm.label_copies)
      throw new UserError(`${a.target}: ${dtm.label.length} label cells, expected ${CLASSES} classes x ${dtm.label_copies} copies`);
    const chipKind = a.chip ?? (a.ideal ? 'exact' : 'cycle');
    const cfg = modelChipConfig(model, { config: a.config, set: a.set, seed: positiveInt('seed', a.seed, 0), chip: chipKind });
    checkTrainedPrecision(String(a.target), cfg, a.set, session);
    const sweeps = positiveInt('sweeps', a.sweeps) ?? 250;
    const workers = workersFlag(a.workers) ?? 1;
    // every class clamped equally: fewer images than classes would leave classes out (and the error
    // would name --labels, which eval does not take)
    if (n < CLASSES) throw new UserError(`--images ${n}: scoring a model generates each of its ${CLASSES} classes in turn; give --images ${CLASSES} or more`);
    const labels = Array.from({ length: CLASSES }, (_, c) => c);
    log.info({ model: a.target, config: cfg.name, chip: chipKind, images: n, sweeps, workers }, 'generating class-clamped samples');
    const ctx = cliContext(session);
    const labelGain = a.labelGain === undefined ? undefined : labelGainFlag(a.labelGain);
    const plan = planWorkload({ config: cfg, model, images: n, sweeps, labels, labelGain, workers, beta: parseBeta(a.beta) }, ctx);
    const out = (await executeWorkload(plan, ctx)) as DtmOutcome;
    const { gen } = out;
    // per stage, the chain autocorrelation beyond the conditional mean (the estimator ACP uses,
    // sim/train/stage.ts): test-set inputs, replica chains, lag AUTOCORRELATION_LAG sweeps
    const pairsData = trainData(model, a.data, undefined, 'test');
    const auto: number[] = [];
    const tAuto = performance.now();
    log.info({ stages: dtm.T, lag: AUTOCORRELATION_LAG }, "measuring each stage's chain autocorrelation");
    const autoBar = makeProgress(dtm.T, 'stages', session.progress);
    for (let k = 0; k < dtm.T; k++) {
      auto.push(
        measureAutocorrelation(cfg, 'auto', { beta: model.beta, dtm, stages: model.stages }, k, pairsData, {
          pairs: 32,
          warmup: 40,
          lag: AUTOCORRELATION_LAG,
          seed: cfg.seed,
        }),
      );
      autoBar.tick(k + 1);
    }
    autoBar.done();
    const autoS = (performance.now() - tAuto) / 1000;
    // a downscaled model's images are upscaled for the classifier; the yardsticks are pooled the same way
    samples = { ...outcomeSamples(out, a.target), autocorrelation: auto };
    title = `dtca eval ${a.target}: ${n} class-clamped ${describeImage(src)} samples (classes 0-9 cycled), ${cfg.name} ${chipKind === 'cycle' ? 'cycle-accurate' : chipKind === 'ideal' ? 'ideal (chip weight precision)' : 'ideal (exact weights)'} chip (${chipText(cfg)}), T = ${dtm.T}, ${sweeps} sweep${sweeps === 1 ? '' : 's'} per stage, ${gen.labelGain === 1 ? 'no label guidance' : `label guidance x${gen.labelGain}`}; generation ${gen.wallS.toFixed(1)} s, autocorrelation ${autoS.toFixed(1)} s`;
    source = {
      model: target,
      config: cfg.name,
      chip: chipKind,
      engine: gen.engine.used,
      seed: cfg.seed,
      T: dtm.T,
      sweeps,
      label_gain: gen.labelGain,
      generation_wall_s: gen.wallS,
      autocorrelation_wall_s: autoS,
      autocorrelation_lag: AUTOCORRELATION_LAG,
    };
  }
  const report = evaluate(samples, {
    data,
    classifier: net,
    classifierPath,
    classifierTestAccuracy: typeof info.test_accuracy === 'number' ? info.test_accuracy : null,
    bootstrap,
    onStep: (what) => log.info(what),
  });
  if (report.small_n_note) log.warn({ images: report.n, min: MIN_FD_RANK_N }, report.small_n_note);
  if (a.json) process.stdout.write(JSON.stringify({ ...report, source }, null, 2) + '\n');
  else process.stdout.write(formatReport(report, title));
}

/**
 * The chip a model was scored on, as the title says it: the grid it took from the model, the weight
 * precision and the clock ("24x24 G8 torus, 8-bit weights, 10 MHz"). The title said only the
 * config's name, "dtca-paper", which is a 70x70 chip: a 24x24 model's score read as the paper chip's.
 */
function chipText(cfg: ResolvedConfig): string {
  const f = cfg.fabric;
  const bits = cfg.cell.weight_bits === 'exact' ? 'exact weights' : `${cfg.cell.weight_bits}-bit weights`;
  return `${f.L}x${f.L} ${rulesName(resolveRules(f.rules))}${f.boundary === 'open' ? '' : ` ${f.boundary}`}, ${bits}, ${eng(cfg.clock.clock_hz, 'Hz')}`;
}

export function evalCommand<T>(y: Argv<T>, s: Session): Argv<T> {
  return y.command(
    'eval [target]',
    'score generated Fashion-MNIST images (a run directory or a DTM model) against yardsticks; --train-classifier retrains the classifier',
    (yy) =>
      yy
        .positional('target', { type: 'string', describe: 'a run directory with samples.npy, or a DTM model file (generates --images class-clamped samples)' })
        .option('images', {
          type: 'number',
          describe: `images to score (default ${DEFAULT_EVAL_IMAGES}; FD is biased at small N, and below ${MIN_FD_RANK_N} it cannot rank anything: the report says so)`,
        })
        .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
        .option('bootstrap', {
          type: 'number',
          describe: `bootstrap resamples of the samples for the FD's standard error (default ${FD_BOOTSTRAP_RESAMPLES}; 0: none)`,
        })
        .option('data', { type: 'string', describe: 'Fashion-MNIST directory (default $DTCA_DATA, else /usr/share/datasets/fashion-mnist)' })
        .option('classifier', { type: 'string', describe: 'classifier weights (default configs/classifier/fmnist-cnn.msgpack)' })
        .option('config', {
          type: 'string',
          describe:
            "MODEL: chip config, preset or file (default dtca-paper); without a config or a --set of the grid the chip takes the model's grid, a grid named must be the model's (as dtca run)",
        })
        .option('set', { type: 'string', array: true, describe: 'MODEL: override a config value' })
        .option('chip', {
          choices: ['cycle', 'ideal'],
          describe: "MODEL: the chip to generate on: cycle (the config as it is, default) or ideal (every non-ideality off, the chip's weight precision kept)",
        })
        .option('ideal', { type: 'boolean', default: false, describe: 'MODEL: the ideal chip with exact weights (infinite precision)' })
        .option('sweeps', { type: 'number', describe: 'MODEL: sweeps per stage (default 250)' })
        .option('beta', { type: 'string', describe: 'MODEL: beta, a number or START:END over each stage' })
        .option('label-gain', { type: 'number', describe: "MODEL: label guidance, the label cells' wires x G (default the model's label_gain, else 1)" })
        .option('workers', { type: 'number', describe: 'MODEL: worker threads over images' })
        .option('seed', { type: 'number', describe: "MODEL: the chip seed (default the config's); with --train-classifier the training seed (default 1)" })
        .option('train-classifier', { type: 'boolean', describe: 'train the quality classifier on binarised Fashion-MNIST and write it' })
        .option('epochs', { type: 'number', describe: `--train-classifier: epochs (default ${DEFAULT_EPOCHS})` })
        .option('out', { type: 'string', describe: '--train-classifier: output file (default the committed configs/classifier/fmnist-cnn.msgpack)' }),
    (a) => cmdEval(a as EvalArgs, s),
  );
}

/**
 * Sampling guidance, chosen by measurement (docs/training.md, "Guidance"): the label gain and the
 * model's beta.
 *
 * A DTM trained briefly by contrastive divergence comes out under-confident: its samples are
 * noisier than the data and its class evidence is weak (every shipped model scored at or below
 * independent pixels on clamped accuracy). Two knobs correct this at generation, and neither adds
 * anything to the chip: multiplying the weights of the wires that touch label cells by a gain
 * G > 1 (sim/model.ts guidedStage: with the labels clamped those wires are the class's bias on its
 * neighbours) sharpens the class evidence as classifier-free guidance does in diffusion models;
 * beta > 1 sharpens every conditional (the chip programs beta x weights).
 *
 *   tuneGuidance(model, config, options) -> { gain, beta, rows: [{gain, beta, fd, clamped_accuracy}], ... }
 *
 * generates `images` class-clamped images at each candidate gain (at the model's beta), then at
 * each candidate beta with the best gain, on the chip `config` describes, and keeps the pair with
 * the lowest FD (the quality classifier's features). So that the choice is not fitted to what
 * `dtca eval` later scores, the images come from another chip seed (the config's +
 * TUNE_SEED_OFFSET) and the reference images from Fashion-MNIST's train split, not the test split
 * eval uses. Every candidate uses the same seed, so their differences are not noise between
 * draws of the input. Asked to stop (ctx.stop, before every setting and every sweep), it throws
 * TuneStopped (an Interrupted) with the settings tried so far; nothing is kept between runs.
 */
import { Interrupted, UserError } from '../../fabric/errors.js';
import { buildChip } from '../chip.js';
import type { ResolvedConfig } from '../config.js';
import { quietContext, type RunContext } from '../context.js';
import { generate } from '../dtm.js';
import { CLASSES } from '../fmnist.js';
import { checkLabelGain, fmnistLayout, MAX_BETA, type Model } from '../model.js';
import { readClassifier } from './classifier.js';
import { matchClasses } from './eval.js';
import { fdStandardError, frechetDistance } from './metrics.js';
import { generatedSamples } from './samples.js';
import { loadFmnist, type ImageSet } from '../fmnist.js';
import { atResolution, imageSourceOf } from '../layout.js';
import { CLASSIFIER_PATH } from './train.js';
import type { EngineChoice } from '../../cells/engine.js';

/** the gains tried by default: 1 (none) and up to 5 (the measured optimum of the shipped models lies at 2-4) */
export const DEFAULT_GAINS = [1, 1.5, 2, 2.5, 3, 3.5, 4, 5];
/** the betas tried by default with the best gain, besides the model's own (measured optimum near 1.2) */
export const DEFAULT_BETAS = [1.1, 1.2, 1.3];
/** images per gain: at N = 300 FD ranks gains a few units apart (docs/quality.md: the floor is about 18 at this N) */
export const DEFAULT_TUNE_IMAGES = 300;
/** the tuning chip's seed: the config's plus this (not the seed dtca eval generates with by default) */
export const TUNE_SEED_OFFSET = 7919;

export interface TuneOptions {
  gains?: number[];
  /** betas tried with the best gain besides the model's own ([]: keep the model's) */
  betas?: number[];
  images?: number;
  sweeps?: number;
  workers?: number;
  engine?: EngineChoice;
  /** Fashion-MNIST directory (default as dtca eval's) */
  dataDir?: string;
  /** the reference images, binarised 28x28 (default: Fashion-MNIST's train split from dataDir) */
  reference?: ImageSet;
  classifierPath?: string;
}

export interface TuneRow {
  gain: number;
  beta: number;
  fd: number;
  /** fd's standard error (metrics.ts fdStandardError, within each class); null with fewer than 2 images of a class */
  fd_se: number | null;
  clamped_accuracy: number;
}

/**
 * The settings not told apart from the kept one at this N: FD within twice their combined standard
 * error of the lowest, 2 sqrt(se² + se_kept²) (the kept one included). With more than one, the
 * choice among them is as much the draw of the images as the setting.
 */
export function tiedWithKept(rows: TuneRow[], kept: TuneRow): TuneRow[] {
  const se = kept.fd_se;
  if (se === null) return [kept];
  return rows.filter((r) => r === kept || (r.fd_se !== null && r.fd - kept.fd < 2 * Math.sqrt(r.fd_se ** 2 + se ** 2)));
}

export interface TuneResult {
  /** the gain and beta with the lowest FD */
  gain: number;
  beta: number;
  rows: TuneRow[];
  images: number;
  sweeps: number;
  seed: number;
  wall_s: number;
}

/** The search stopped on request (ctx.stop) before it had tried every setting: how far it got. */
export class TuneStopped extends Interrupted {
  constructor(
    readonly tried: number,
    readonly total: number,
    reason: string,
  ) {
    super({}, reason);
    this.name = 'TuneStopped';
    this.message = `guidance search stopped: ${tried} of ${total} settings tried`;
  }
}

/** Whether a model can be tuned: a Fashion-MNIST DTM with label cells (the classifier judges it). */
export function canTuneGuidance(m: Model): boolean {
  return fmnistLayout(m);
}

export async function tuneGuidance(model: Model, config: ResolvedConfig, o: TuneOptions = {}, ctx: RunContext = quietContext()): Promise<TuneResult> {
  const t0 = performance.now();
  if (!canTuneGuidance(model)) throw new UserError(`${model.source}: guidance is tuned for a Fashion-MNIST DTM with label cells`);
  const gains = o.gains ?? DEFAULT_GAINS;
  if (gains.length === 0) throw new UserError('guidance tuning: no gains to try');
  gains.forEach((g, i) => checkLabelGain(g, `guidance tuning: gains[${i}]`));
  const betas = (o.betas ?? DEFAULT_BETAS).filter((b) => b !== model.beta);
  betas.forEach((b, i) => {
    if (!Number.isFinite(b) || b <= 0 || b > MAX_BETA) throw new UserError(`guidance tuning: betas[${i}] = ${b}, must be in (0, ${MAX_BETA}]`);
  });
  const n = o.images ?? DEFAULT_TUNE_IMAGES;
  if (!Number.isInteger(n) || n < 2) throw new UserError(`guidance tuning: images = ${n}, must be an integer >= 2`);
  const sweeps = o.sweeps ?? 250;
  const seed = config.seed + TUNE_SEED_OFFSET;
  const chip = buildChip({ ...config, seed });
  const classifierPath = o.classifierPath ?? CLASSIFIER_PATH;
  const { net } = readClassifier(classifierPath);
  const labels = Array.from({ length: CLASSES }, (_, c) => c);
  const seq = Array.from({ length: n }, (_, i) => labels[i % labels.length]);
  // the reference from the train split (eval's is the test split): the choice does not see the
  // test images; at the model's resolution (a downscaled model's images are upscaled to score)
  const pool = o.reference ?? loadFmnist({ dir: o.dataDir, dirOption: 'dataDir', split: 'train' });
  const ref = matchClasses(pool, seq, 'reference set', 'images');
  const downscale = imageSourceOf(model.dtm!)?.downscale ?? 1;
  const refFeatures = net.run(downscale === 1 ? ref.images : atResolution(ref.images, n, downscale), n).features;
  const d = net.arch.hidden;
  const rows: TuneRow[] = [];
  const bar = ctx.progress(gains.length + betas.length, 'settings');
  // images on worker threads do not ask shouldStop: ctx.stop is polled and the generation is
  // ended when it says so (the run's `stopped`: the pool ends its threads, sim/pool.ts)
  const workers = o.workers ?? 1;
  let poll: ReturnType<typeof setInterval> | undefined;
  const stopped =
    workers > 1
      ? new Promise<string>((resolve) => {
          poll = setInterval(() => {
            if (ctx.stop()) resolve('stop requested');
          }, 200);
        })
      : undefined;
  const tryOne = async (gain: number, beta: number): Promise<TuneRow> => {
    if (ctx.stop()) throw new Interrupted({}, 'stop requested');
    const gen = await generate(chip, beta === model.beta ? model : { ...model, beta }, {
      images: n,
      sweeps,
      labels,
      labelGain: gain,
      workers,
      engine: o.engine ?? 'auto',
      shouldStop: () => ctx.stop(),
      stopped,
    });
    const r = net.run(generatedSamples(gen.outputs, model.dtm!, labels).images, n);
    let ok = 0;
    for (let i = 0; i < n; i++) if (r.predicted[i] === seq[i]) ok++;
    const row = {
      gain,
      beta,
      fd: frechetDistance(r.features, n, refFeatures, n, d),
      // (every class has n / 10 images: two or more from N = 20 on)
      fd_se: n >= 2 * CLASSES ? fdStandardError(r.features, n, refFeatures, n, d, { seed, groups: seq }) : null,
      clamped_accuracy: ok / n,
    };
    rows.push(row);
    ctx.log.info(
      { gain, beta, fd: +row.fd.toFixed(2), fd_se: row.fd_se === null ? null : +row.fd_se.toFixed(2), clamped_accuracy: row.clamped_accuracy, images: n },
      'guidance tried',
    );
    bar.update(rows.length);
    return row;
  };
  const lowest = (xs: TuneRow[]) => xs.reduce((a, b) => (b.fd < a.fd ? b : a));
  try {
    for (const gain of gains) await tryOne(gain, model.beta);
    const g = lowest(rows).gain;
    for (const beta of betas) await tryOne(g, beta);
  } catch (e) {
    if (e instanceof Interrupted) throw new TuneStopped(rows.length, gains.length + betas.length, e.reason);
    throw e;
  } finally {
    if (poll !== undefined) clearInterval(poll);
    bar.stop();
  }
  const best = lowest(rows);
  return { gain: best.gain, beta: best.beta, rows, images: n, sweeps, seed, wall_s: (performance.now() - t0) / 1000 };
}

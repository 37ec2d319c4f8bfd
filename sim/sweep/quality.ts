/**
 * Sample quality of a sweep point: a Fashion-MNIST model (a model file with 784 pixel cells and 10
 * classes of label cells, such as the shipped model) generates one image per class in turn at
 * every point, and its images are scored as `dtca eval` scores them (sim/quality/eval.ts): the
 * Fréchet distance of the quality classifier's features against held-out test images of the same
 * classes, at the point's number of images (FD is biased upward at small N: compare points of one
 * sweep, not across N). Synthetic random-weight DTMs and Boltzmann machines have nothing to judge.
 */
import { fmnistLayout, type Model } from '../model.js';
import type { ResolvedConfig } from '../config.js';
import type { Workload } from './plan.js';
import { CLASSES, findFmnist } from '../fmnist.js';
import { UserError } from '../../fabric/errors.js';
import type { Plan } from './plan.js';
import { readModel } from '../model.js';
import { imageSourceOf, describeImage } from '../layout.js';
import { evaluate, loadReferenceData, type ReferenceData } from '../quality/eval.js';
import { generatedSamples } from '../quality/samples.js';
import { readClassifier } from '../quality/classifier.js';
import { CLASSIFIER_PATH } from '../quality/train.js';

/**
 * The Fashion-MNIST splits a sweep reads: a sweep that trains, the train split for its models and
 * the test split to judge its points; a sweep of one Fashion-MNIST model file (--model), the test
 * split. Checked before the sweep writes anything or runs (no data found after the sweep directory
 * was made and its first training or point had started); `where` names the sweep. A sweep has no
 * --data: the hint says DTCA_DATA. `splits`: only these (sweep train: the train split).
 */
export function checkSweepData(plan: Pick<Plan, 'train' | 'workload'>, where: string, splits?: readonly ('train' | 'test')[]): void {
  const w = plan.workload;
  const judged = w.kind === 'model' && w.model !== null && (w.images ?? 0) >= 2 && fmnistLayout(readModel(w.model));
  const need = plan.train ? ['train', 'test'] : judged ? ['test'] : [];
  for (const split of need.filter((x) => !splits || splits.includes(x as 'train' | 'test')) as ('train' | 'test')[]) {
    try {
      findFmnist(undefined, split);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      throw new UserError(`${where}: ${e.message.replace(/pass their directory as [\w.]+ \(or set DTCA_DATA\)/, 'set DTCA_DATA to their directory')}`);
    }
  }
}

export interface QualityInput {
  config: ResolvedConfig;
  workload: Workload;
  model: Model;
  /** generated x^0 per image: visible spins (+-1), image pixels then label cells; null for BM runs */
  outputs: Int8Array[] | null;
}

export interface Quality {
  /** one number, lower is better (a Fréchet distance), or null */
  value: number | null;
  /** what the number is, or why there is none */
  note: string;
  /** every metric and the yardsticks at the same N (null without a judged quality) */
  metrics: QualityColumns;
}

/** The quality columns of a sweep row: the samples' metrics and the yardsticks' at the same N. */
export interface QualityColumns {
  quality_n: number | null;
  /** the images' resolution, "28x28", or "14x14" / "7x7" for a pooled model: FD and accuracy compare only at one */
  quality_image: string | null;
  fd: number | null;
  /** fd's standard error: its bootstrap over the point's images (sim/quality/metrics.ts fdStandardError); null when it has none */
  fd_se: number | null;
  fd_floor: number | null;
  fd_factorised: number | null;
  clamped_accuracy: number | null;
  clamped_accuracy_floor: number | null;
  clamped_accuracy_factorised: number | null;
  marginal_error: number | null;
  marginal_error_floor: number | null;
  marginal_error_factorised: number | null;
}

export const NO_QUALITY: QualityColumns = {
  quality_n: null,
  quality_image: null,
  fd: null,
  fd_se: null,
  fd_floor: null,
  fd_factorised: null,
  clamped_accuracy: null,
  clamped_accuracy_floor: null,
  clamped_accuracy_factorised: null,
  marginal_error: null,
  marginal_error_floor: null,
  marginal_error_factorised: null,
};

/** the reference images and the classifier, loaded once per process (a sweep worker scores many points) */
let judge: { data: ReferenceData; classifier: ReturnType<typeof readClassifier> } | null = null;

export async function pointQuality(q: QualityInput): Promise<Quality> {
  if (q.outputs === null) return { value: null, note: 'Boltzmann-machine workload: no images to judge', metrics: NO_QUALITY };
  if (q.workload.kind === 'dtm')
    return {
      value: null,
      note: 'synthetic random-weight DTM: nothing learned to judge (train a model per design with --train, or sweep one with --model)',
      metrics: NO_QUALITY,
    };
  if (!fmnistLayout(q.model))
    return {
      value: null,
      note: 'the model is not a Fashion-MNIST DTM (a Fashion-MNIST image, 10 label classes): no classifier to judge it',
      metrics: NO_QUALITY,
    };
  const n = q.outputs.length;
  if (n < 2) return { value: null, note: 'one image: a Fréchet distance needs at least two', metrics: NO_QUALITY };
  judge ??= { data: loadReferenceData(), classifier: readClassifier(CLASSIFIER_PATH) };
  // one image per class in turn (sim/workload.ts: labels 'classes'); a downscaled model's images
  // upscaled for the classifier, the yardsticks pooled alike
  const samples = generatedSamples(
    q.outputs,
    q.model.dtm!,
    Array.from({ length: CLASSES }, (_, c) => c),
  );
  const r = evaluate(samples, { data: judge.data, classifier: judge.classifier.net, classifierPath: CLASSIFIER_PATH, classifierTestAccuracy: null });
  const f = r.baselines.floor;
  const x = r.baselines.factorised;
  const src = imageSourceOf(q.model.dtm!)!;
  const pooled =
    (samples.downscale ?? 1) > 1 ? `; ${describeImage(imageSourceOf(q.model.dtm!)!)} images upscaled for the classifier, the yardsticks pooled alike` : '';
  return {
    value: r.fd,
    note: `FD of the quality classifier's features at N = ${n}${r.fd_se === null ? ' (no standard error: too few images per class to resample)' : ''} (floor ${f.fd.toFixed(1)}, factorised ${x.fd.toFixed(1)}); clamped accuracy ${r.clamped_accuracy?.toFixed(3)}${pooled}`,
    metrics: {
      quality_n: n,
      quality_image: `${src.width}x${src.height}`,
      fd: r.fd,
      fd_se: r.fd_se,
      fd_floor: f.fd,
      fd_factorised: x.fd,
      clamped_accuracy: r.clamped_accuracy,
      clamped_accuracy_floor: f.clamped_accuracy,
      clamped_accuracy_factorised: x.clamped_accuracy,
      marginal_error: r.marginal_error,
      marginal_error_floor: f.marginal_error,
      marginal_error_factorised: x.marginal_error,
    },
  };
}

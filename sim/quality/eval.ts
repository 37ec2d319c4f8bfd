/**
 * `dtca eval`: how good generated images are, against yardsticks at the same N.
 *
 * Reference: N held-out test images with the same class sequence as the samples (image i's
 * reference has the class image i was generated with; for samples without clamped labels, the
 * first N test images and their classes). Yardsticks, scored against the same reference:
 *   floor       N real images from the held-out part of the train split (never seen by the
 *               classifier), same class sequence: what real data scores at this N
 *   factorised  N images of independent pixels drawn from each class's pixel marginals (fitted on
 *               the whole train split), same class sequence: a model with no correlations
 * Metrics:
 *   fd                Fréchet distance of the classifier's penultimate-layer features
 *   clamped_accuracy  fraction the classifier assigns to the class the image was generated with
 *                     (null without clamped labels)
 *   marginal_error    mean over pixels of |p_samples - p_reference|
 *   diversity         mean pairwise Hamming distance within class, divided by the reference's
 *                     (1 = as varied as real images; < 1 too alike, e.g. mode collapse; > 1 noisier)
 *   autocorrelation   per stage, from the generation result (null when it does not report one)
 */
import { UserError, OptionError } from '../../fabric/errors.js';
import { loadFmnist, subset, PIXELS, CLASSES, ROWS, COLS, type ImageSet } from '../fmnist.js';
import { atResolution, downscaleImages, upscaleImages } from '../layout.js';
import type { Classifier } from './classifier.js';
import { frechetDistance, fdStandardError, FD_BOOTSTRAP_RESAMPLES, marginalError, withinGroupHamming, classMarginals, sampleFactorised } from './metrics.js';
import { TRAIN_SPLIT } from './train.js';

export const DEFAULT_EVAL_IMAGES = 1000;

export interface Samples {
  /** n x 784 bits (0/1): 28x28 images (a downscaled model's images upscaled, see `downscale`) */
  images: Uint8Array;
  /**
   * the model's image was Fashion-MNIST pooled by this factor (sim/layout.ts; default 1): the
   * images are its samples upscaled by nearest neighbour, and the reference and yardsticks pass
   * through the same downscale-upscale, so all are scored at the model's resolution
   */
  downscale?: number;
  n: number;
  /** the class each image was generated with (clamped), or null */
  labels: Uint8Array | null;
  /** per stage (index = stage), or null when the generation did not measure it */
  autocorrelation: (number | null)[] | null;
}

export interface Metrics {
  fd: number;
  clamped_accuracy: number | null;
  marginal_error: number;
  diversity: number;
  autocorrelation: (number | null)[] | null;
}

export interface EvalReport extends Metrics {
  n: number;
  /**
   * the samples' FD's standard error: the spread of the FD over bootstrap resamples of the
   * generated images (within each clamped class), the reference held fixed — how far the FD of
   * another N images of the same generator would lie (metrics.ts fdStandardError); null when
   * evaluated with `bootstrap: 0`, or when a clamped class has a single image (nothing to resample)
   */
  fd_se: number | null;
  /** bootstrap resamples behind fd_se (0: not computed) */
  fd_se_resamples: number;
  /** the resolution everything was scored at: the 28x28 images, or pooled by `downscale` and upscaled back */
  resolution: { width: number; height: number; downscale: number };
  labels: 'clamped' | 'none';
  baselines: { floor: Metrics; factorised: Metrics };
  /** false below MIN_FD_RANK_N images: FD cannot rank samples at this N (small_n_note says why) */
  fd_can_rank: boolean;
  /** the plain statement at small N, else null */
  small_n_note: string | null;
  note: string;
  reference: string;
  classifier: { path: string; test_accuracy: number | null; features: number };
  wall_s: number;
}

export const FD_NOTE =
  'FD is biased upward at small N (two samples of one distribution score > 0, shrinking roughly like 1/N): compare FDs only at the same N; the real-images column is real images scored at this N';

/**
 * The fewest images at which dtca lets FD rank anything. Measured (docs/quality.md): the floor
 * (real images against real images) scores about 5,300 / N (183 at N = 10, 126 at 20, 46 at 100,
 * 30 at 200, 5 at 1,000) while the factorised yardstick (independent pixels) scores about 135-140
 * at large N: below 200 the bias alone is a third or more of the whole gap between real images and
 * pixel noise, so a lower FD says nothing (at N = 10 and 20 it exceeds that gap).
 */
export const MIN_FD_RANK_N = 200;

/** What the report says at small N, in plain words. */
export function smallNNote(n: number, floorFd: number): string {
  return `N = ${n} is too few images for FD to rank anything: real images score ${floorFd.toFixed(1)} against real images here (the floor), so FD differences at this N are noise, and a sample scoring below the floor is not better than real; score at least ${MIN_FD_RANK_N} images (default ${DEFAULT_EVAL_IMAGES}) to compare`;
}

/**
 * Picks, for each wanted class in order, the next unused image of that class from `pool`; too few
 * of a class is an OptionError on `option`, what sets the number of images (evaluate's samples.n,
 * which the command line words as --images: cli/flags.ts).
 */
export function matchClasses(pool: ImageSet, want: ArrayLike<number>, what: string, option = 'samples.n'): ImageSet {
  const byClass: number[][] = Array.from({ length: CLASSES }, () => []);
  for (let i = 0; i < pool.n; i++) byClass[pool.labels[i]].push(i);
  const used = new Int32Array(CLASSES);
  const n = want.length;
  const images = new Uint8Array(n * PIXELS);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = want[i];
    if (used[c] >= byClass[c].length) {
      const need = Array.from(want).filter((x) => x === c).length;
      throw new OptionError(option, n, `needs ${need} images of class ${c}, the ${what} has ${byClass[c].length}; use fewer images`);
    }
    const j = byClass[c][used[c]++];
    images.set(pool.images.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS);
    labels[i] = c;
  }
  return { images, labels, n };
}

/** The data evaluation compares against: both splits of Fashion-MNIST, binarised. */
export interface ReferenceData {
  test: ImageSet;
  train: ImageSet;
}

export function loadReferenceData(dir?: string): ReferenceData {
  return { test: loadFmnist({ dir, split: 'test' }), train: loadFmnist({ dir, split: 'train' }) };
}

export interface EvalOptions {
  /** preloaded data (else loaded from `dir`) */
  data?: ReferenceData;
  classifier: Classifier;
  classifierPath: string;
  classifierTestAccuracy: number | null;
  /** data directory (default: dataDir()) */
  dir?: string;
  seed?: number;
  /** bootstrap resamples for the FD's standard error (default FD_BOOTSTRAP_RESAMPLES; 0: none) */
  bootstrap?: number;
  onStep?: (what: string) => void;
}

/** The bootstrap resamples asked for (`bootstrap`, dtca eval's --bootstrap): 0 (none) or 2..10000; an OptionError otherwise. */
export function checkBootstrap(v: number | undefined): number | undefined {
  if (v !== undefined && !(Number.isInteger(v) && (v === 0 || (v >= 2 && v <= 10000))))
    throw new OptionError('bootstrap', v, 'must be 0 (no standard error) or an integer in 2..10000');
  return v;
}

export function evaluate(s: Samples, o: EvalOptions): EvalReport {
  const t0 = performance.now();
  const n = s.n;
  if (!(Number.isInteger(n) && n >= 2)) throw new UserError(`evaluation needs at least 2 images, got ${n}`);
  if (o.seed !== undefined && !(Number.isSafeInteger(o.seed) && o.seed >= 0)) throw new OptionError('seed', o.seed, 'must be an integer >= 0');
  const resamples = checkBootstrap(o.bootstrap) ?? FD_BOOTSTRAP_RESAMPLES;
  if (!o.data) o.onStep?.('loading Fashion-MNIST');
  const { test, train } = o.data ?? loadReferenceData(o.dir);
  const heldOut = subset(train, TRAIN_SPLIT, train.n);
  const f = s.downscale ?? 1;
  if (!Number.isInteger(f) || f < 1 || ROWS % f !== 0) throw new UserError(`samples downscaled by ${f}: the factor must divide ${ROWS}`);
  // real images at the samples' resolution (pooled by f and upscaled back; unchanged for f = 1)
  const atRes = (set: ImageSet): ImageSet => (f === 1 ? set : { ...set, images: atResolution(set.images, set.n, f) });
  const reference = atRes(s.labels ? matchClasses(test, s.labels, 'test set') : subset(test, 0, Math.min(n, test.n)));
  if (reference.n < n) throw new OptionError('samples.n', n, `the test set has ${test.n} images; use fewer`);
  const seq = reference.labels;
  const floor = atRes(matchClasses(heldOut, seq, `held-out part of the train split (images ${TRAIN_SPLIT}..${train.n - 1})`));
  // independent pixels at the samples' resolution: marginals of the pooled images, sampled, upscaled
  const P = PIXELS / (f * f);
  const factorised = upscaleImages(
    sampleFactorised(classMarginals(downscaleImages(train.images, train.n, f), train.labels, train.n, CLASSES, P), seq, n, o.seed ?? 1, P),
    n,
    f,
  );

  const net = o.classifier;
  const d = net.arch.hidden;
  o.onStep?.('classifier features');
  const ref = net.run(reference.images, n);
  const refHamming = withinGroupHamming(reference.images, n, seq);

  let mainFeatures: Float32Array | null = null;
  const score = (images: Uint8Array, labels: ArrayLike<number> | null, autocorrelation: (number | null)[] | null): Metrics => {
    const r = net.run(images, n);
    // (the first call scores the samples: their features feed the FD's bootstrap)
    mainFeatures ??= r.features;
    let acc: number | null = null;
    if (labels) {
      let ok = 0;
      for (let i = 0; i < n; i++) if (r.predicted[i] === labels[i]) ok++;
      acc = ok / n;
    }
    // group by the class generated with; unlabelled samples by the classifier's guess
    const groups = labels ?? r.predicted;
    return {
      fd: frechetDistance(r.features, n, ref.features, n, d),
      clamped_accuracy: acc,
      marginal_error: marginalError(images, n, reference.images, n),
      diversity: withinGroupHamming(images, n, groups) / refHamming,
      autocorrelation,
    };
  };
  o.onStep?.('scoring samples');
  const main = score(s.images, s.labels, s.autocorrelation);
  let fdSe: number | null = null;
  // resampled within each clamped class: a class of one image has nothing to resample (its
  // resamples would all be that image, a standard error of 0 that says nothing), so then there is none
  const perClass = new Map<number, number>();
  if (s.labels) for (let i = 0; i < n; i++) perClass.set(s.labels[i], (perClass.get(s.labels[i]) ?? 0) + 1);
  if (resamples > 0 && [...perClass.values()].every((c) => c >= 2)) {
    o.onStep?.(`the FD's standard error (${resamples} bootstrap resamples)`);
    fdSe = fdStandardError(mainFeatures!, n, ref.features, n, d, { resamples, seed: o.seed ?? 1, groups: s.labels });
  }
  o.onStep?.('scoring yardsticks');
  const floorM = score(floor.images, seq, null);
  const factM = score(factorised, seq, null);
  return {
    n,
    resolution: { width: COLS / f, height: ROWS / f, downscale: f },
    labels: s.labels ? 'clamped' : 'none',
    ...main,
    fd_se: fdSe,
    fd_se_resamples: fdSe === null ? 0 : resamples,
    baselines: { floor: floorM, factorised: factM },
    fd_can_rank: n >= MIN_FD_RANK_N,
    small_n_note: n >= MIN_FD_RANK_N ? null : smallNNote(n, floorM.fd),
    note: FD_NOTE,
    reference:
      (s.labels ? `${n} test images, each of the class its sample was generated with` : `the first ${n} test images`) +
      (f === 1 ? '' : `, pooled to ${COLS / f}x${ROWS / f} and upscaled back as the samples are`),
    classifier: { path: o.classifierPath, test_accuracy: o.classifierTestAccuracy, features: d },
    wall_s: (performance.now() - t0) / 1000,
  };
}

function fmt(x: number | null, digits: number): string {
  return x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);
}

function fmtAuto(a: (number | null)[] | null): string {
  if (!a) return 'n/a';
  return a.map((v) => (v === null ? 'n/a' : v.toFixed(3))).join(' ');
}

/** The table for people. */
export function formatReport(r: EvalReport, title: string): string {
  const rows: [string, (m: Metrics) => string][] = [
    [
      r.fd_can_rank ? 'FD (features)' : 'FD (cannot rank at this N)',
      (m) => fmt(m.fd, 3) + (m === r && typeof r.fd_se === 'number' ? ` ± ${fmt(r.fd_se, 3)}` : ''),
    ],
    ['clamped accuracy', (m) => fmt(m.clamped_accuracy, 3)],
    ['marginal error', (m) => fmt(m.marginal_error, 4)],
    ['diversity', (m) => fmt(m.diversity, 3)],
  ];
  const cols = [r as Metrics, r.baselines.floor, r.baselines.factorised];
  const head = ['metric', 'samples', 'real images', 'factorised'];
  const body = rows.map(([name, f]) => [name, ...cols.map(f)]);
  const w = head.map((h, k) => Math.max(h.length, ...body.map((row) => row[k].length)));
  const line = (cells: string[]) => cells.map((c, k) => (k === 0 ? c.padEnd(w[k]) : c.padStart(w[k]))).join('  ');
  const out = [
    title,
    line(head),
    ...body.map(line),
    `autocorrelation per stage (0 = cleanest): ${r.autocorrelation ? fmtAuto(r.autocorrelation) : "n/a (measured on a model's chains: dtca eval MODEL; samples alone have none)"}`,
    // n/a in the samples' column says nothing of why: the run clamped no class
    ...(r.labels === 'none'
      ? [
          'clamped accuracy: n/a for the samples, which were generated without clamped labels (dtca run --labels 0,1,2,3,4,5,6,7,8,9 clamps each class in turn, the default for a Fashion-MNIST model with label cells).',
        ]
      : []),
    // (a report from before the standard error existed has none)
    ...(typeof r.fd_se !== 'number'
      ? []
      : [
          `± is the samples' FD's standard error (${r.fd_se_resamples} bootstrap resamples of the ${r.n} images${r.labels === 'clamped' ? ' within each class' : ''}, the reference fixed): two runs whose FDs differ by less than about twice their combined standard error, 2·sqrt(se1² + se2²), are not told apart at this N.`,
        ]),
    // the default run (one image per class) scored "diversity n/a n/a n/a" without a word
    ...(r.diversity === null || !Number.isFinite(r.diversity)
      ? [
          `diversity: n/a, as no class has two samples to compare (it is the mean distance between samples of one class${r.labels === 'none' ? ', grouped by the class the classifier sees' : ''}); score at least two images per class, e.g. ${2 * CLASSES} images of the ${CLASSES} classes.`,
        ]
      : []),
    ...(r.small_n_note ? [`WARNING: ${r.small_n_note}.`] : []),
    `N = ${r.n}: ${r.note}.`,
    ...(r.resolution.downscale === 1
      ? []
      : [
          `resolution: the model's ${r.resolution.width}x${r.resolution.height} images (Fashion-MNIST pooled by ${r.resolution.downscale}), upscaled to 28x28 for the classifier; the reference, real and factorised images pass through the same pooling.`,
        ]),
    `reference: ${r.reference}; real images: held-out training images (the floor of FD and marginal error, the ceiling of clamped accuracy); factorised: independent pixels from class marginals.`,
    `classifier: ${r.classifier.path} (${r.classifier.test_accuracy === null ? 'test accuracy unknown' : `test accuracy ${r.classifier.test_accuracy.toFixed(4)} on binarised test images`}); scoring ${r.wall_s.toFixed(1)} s`,
  ];
  return out.join('\n') + '\n';
}

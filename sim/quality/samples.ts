/**
 * Generated samples on disk: what `dtca run` writes into a run directory for `dtca eval` (and for
 * anyone with numpy), and reading it back.
 *
 *   samples.npy  uint8 0/1, shape (images, visible): each image's visible cells after the last
 *                stage, in the model's layout order (image pixels row-major, then the label cells,
 *                class c copy r at column pixels + c*copies + r)
 *   labels.npy   uint8, shape (images,): the class each image was clamped to (only with --labels)
 *   manifest.json gains "samples": {file, labels_file, images, visible, image_cells, image_shape,
 *                label_copies, classes, image_source} (image_source: the model's dtm.image_source,
 *                e.g. {source: 'fmnist-28', width: 14, height: 14, downscale: 2}, or null)
 */
import { existsSync } from 'node:fs';
import { readInputFile, READ_LIMITS } from '../../fabric/read.js';
import { join } from 'node:path';
import { UserError, OptionError } from '../../fabric/errors.js';
import { jsonProblem, kindOf } from '../../fabric/json.js';
import { shown } from '../../fabric/rules.js';
import { npyHeader } from '../../traces/npy.js';
import { imageSourceOf, parseImageSource, upscaleImages, classifierImages, type ImageSource } from '../layout.js';
import type { DtmSpec } from '../model.js';
import type { Samples } from './eval.js';
import { PIXELS } from '../fmnist.js';

export const SAMPLES_FILE = 'samples.npy';
export const LABELS_FILE = 'labels.npy';

export interface SamplesManifest {
  file: string;
  labels_file: string | null;
  images: number;
  visible: number;
  image_cells: number;
  image_shape: number[];
  label_copies: number;
  classes: number;
  /** the image's source (sim/layout.ts): Fashion-MNIST 28x28 pooled by `downscale`; absent in older run directories and for non-Fashion-MNIST images */
  image_source?: ImageSource | null;
}

/** samples.npy bytes from the generated visible spins (+1/-1 per cell). */
export function samplesNpy(outputs: Int8Array[]): Buffer {
  const n = outputs.length;
  const v = n > 0 ? outputs[0].length : 0;
  const data = Buffer.alloc(n * v);
  outputs.forEach((o, i) => {
    for (let k = 0; k < v; k++) data[i * v + k] = o[k] > 0 ? 1 : 0;
  });
  return Buffer.concat([npyHeader('uint8', [n, v]), data]);
}

/** The first 784 visible cells (the pixels) of each generated image, as 0/1. */
export function pixelsOf(outputs: Int8Array[]): Uint8Array {
  const images = new Uint8Array(outputs.length * PIXELS);
  outputs.forEach((o, i) => {
    for (let p = 0; p < PIXELS; p++) images[i * PIXELS + p] = o[p] > 0 ? 1 : 0;
  });
  return images;
}

/** labels.npy bytes: image i's clamped class labels[i % labels.length]. */
export function labelsNpy(images: number, labels: number[]): Buffer {
  const data = Buffer.from(Uint8Array.from({ length: images }, (_, i) => labels[i % labels.length]));
  return Buffer.concat([npyHeader('uint8', [images]), data]);
}

/** The "samples" section of a manifest for `images` generated images of a DTM (with labels.npy when `labelled`). */
export function samplesManifest(dtm: DtmSpec, images: number, labelled: boolean): SamplesManifest {
  return {
    file: SAMPLES_FILE,
    labels_file: labelled ? LABELS_FILE : null,
    images,
    visible: dtm.image.length + dtm.label.length,
    image_cells: dtm.image.length,
    image_shape: dtm.image_shape,
    label_copies: dtm.label_copies,
    classes: dtm.label_copies > 0 ? dtm.label.length / dtm.label_copies : 0,
    image_source: imageSourceOf(dtm),
  };
}

/**
 * Generated images as evaluate() scores them: the classifier's 28x28 images (a pooled model's
 * upscaled, with its downscale factor) and, for a class-clamped generation, image i's class
 * labels[i % labels.length]. `what` names the model in an error (its image not Fashion-MNIST's).
 */
export function generatedSamples(outputs: Int8Array[], dtm: DtmSpec, labels?: number[], what?: string): Samples {
  const n = outputs.length;
  const { images, downscale } = classifierImages(outputs, dtm, what);
  return {
    images,
    downscale,
    n,
    labels: labels && labels.length ? Uint8Array.from({ length: n }, (_, i) => labels[i % labels.length]) : null,
    autocorrelation: null,
  };
}

/** Parses a C-order uint8 .npy; returns its shape and data. */
export function readNpyU8(path: string): { shape: number[]; data: Uint8Array } {
  const b = readInputFile(path, { what: '.npy file', max: READ_LIMITS.data });
  if (b.length < 10 || b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new UserError(`${path}: not a .npy file`);
  const major = b[6];
  if (major !== 1 && major !== 2 && major !== 3) throw new UserError(`${path}: .npy format version ${major}; expected 1, 2 or 3`);
  if (major !== 1 && b.length < 12) throw new UserError(`${path}: not a .npy file`);
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  if (start + hlen > b.length) throw new UserError(`${path}: its header claims ${hlen} bytes, more than the file holds (a damaged .npy file)`);
  const header = b.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '|u1' || fortran !== 'False' || shapeText === undefined)
    throw new UserError(`${path}: expected a C-order uint8 array (header ${header.trim()})`);
  const shape = shapeText
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')
    .map(Number);
  const count = shape.reduce((x, y) => x * y, 1);
  const data = new Uint8Array(b.buffer, b.byteOffset + start + hlen, b.length - start - hlen);
  if (data.length !== count) throw new UserError(`${path}: ${data.length} data bytes, shape (${shape.join(', ')}) needs ${count} (file cut short?)`);
  return { shape, data };
}

/**
 * A manifest's "samples" section, its fields checked (a damaged or hand-edited manifest is one
 * line naming the field, never a TypeError or a class range of 1e9): counts are integers, the
 * labels file a name in the run directory.
 */
function samplesSection(man: unknown, manPath: string): SamplesManifest {
  if (man === null || typeof man !== 'object' || Array.isArray(man)) throw new UserError(`${manPath}: not a run manifest (a JSON object)`);
  const sm = (man as { samples?: unknown }).samples;
  if (sm === undefined || sm === null) throw new UserError(`${manPath}: no "samples" section describing ${SAMPLES_FILE}`);
  if (typeof sm !== 'object' || Array.isArray(sm)) throw new UserError(`${manPath}: samples: expected an object, got ${kindOf(sm)}`);
  const o = sm as Record<string, unknown>;
  const count = (k: string, min: number, max: number) => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new UserError(`${manPath}: samples.${k} = ${shown(v)}: expected an integer in ${min}..${max}`);
  };
  count('images', 0, 2 ** 32);
  count('visible', 1, 2 ** 31);
  count('image_cells', 1, o.visible as number);
  const lf = o.labels_file;
  if (lf !== undefined && lf !== null) {
    if (typeof lf !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(lf) || lf.startsWith('.'))
      throw new UserError(`${manPath}: samples.labels_file = ${shown(lf)}: expected a file name in the run directory`);
    count('classes', 1, 256);
  }
  return sm as SamplesManifest;
}

/** A run's stats.json that says the run generated no images (a Boltzmann-machine run has no `images`); false when it cannot tell. */
function generatedNothing(statsPath: string): boolean {
  if (!existsSync(statsPath)) return false;
  try {
    const st = JSON.parse(readInputFile(statsPath, { what: 'stats.json', max: READ_LIMITS.json }).toString('utf8')) as unknown;
    return st !== null && typeof st === 'object' && !Array.isArray(st) && typeof (st as Record<string, unknown>).cycles === 'number' && !('images' in st);
  } catch {
    return false;
  }
}

/** The samples a run directory holds (the first `limit` images). */
export function readRunSamples(dir: string, limit?: number): Samples & { total: number } {
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) throw new OptionError('limit', limit, 'must be an integer >= 0');
  const manPath = join(dir, 'manifest.json');
  const npyPath = join(dir, SAMPLES_FILE);
  if (!existsSync(npyPath)) {
    // a sweep's own directory, or a Boltzmann-machine run, was told it came from another version of dtca run
    if (existsSync(join(dir, 'plan.json')) && existsSync(join(dir, 'points')))
      throw new UserError(
        `${dir}: a sweep directory, not a run; dtca eval scores one of its points (${join(dir, 'points', '<id>')}), and a sweep with --model or --train scores every point itself (results.csv)`,
      );
    if (generatedNothing(join(dir, 'stats.json')))
      throw new UserError(
        `${dir}: a Boltzmann-machine run (--workload bm, a model without a dtm section, or --stage): it generates no images to score; dtca eval scores a DTM generation run (dtca run, or dtca run --model DTM)`,
      );
    throw new UserError(`${dir}: no ${SAMPLES_FILE} (a DTM generation run directory written by this version of "dtca run" holds one)`);
  }
  let man: unknown;
  const manText = readInputFile(manPath, { what: 'manifest', max: READ_LIMITS.json }).toString('utf8');
  try {
    man = JSON.parse(manText);
  } catch (e) {
    throw new UserError(`${manPath}: not valid JSON (${jsonProblem(e, manText)})`);
  }
  const sm = samplesSection(man, manPath);
  const shape0 = (Array.isArray(sm.image_shape) && sm.image_shape.length === 2 ? sm.image_shape : [0, 0]) as [number, number];
  const src: ImageSource | null = sm.image_source
    ? parseImageSource(sm.image_source, `${manPath}: samples.image_source`, sm.image_cells, shape0)
    : imageSourceOf({ image: { length: sm.image_cells }, image_shape: shape0 });
  if (!src)
    throw new UserError(
      `${dir}: its images are ${sm.image_shape?.join('x')} (${sm.image_cells} cells), not Fashion-MNIST's; dtca eval scores Fashion-MNIST images (28x28, or pooled to 14x14 or 7x7 with samples.image_source)`,
    );
  const P = src.width * src.height;
  const { shape, data } = readNpyU8(npyPath);
  if (shape.length !== 2 || shape[0] !== sm.images || shape[1] !== sm.visible || sm.visible < P)
    throw new UserError(`${npyPath}: shape (${shape.join(', ')}), the manifest says (${sm.images}, ${sm.visible})`);
  const total = shape[0];
  const n = Math.min(total, limit ?? total);
  const small = new Uint8Array(n * P);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < P; p++) {
      const v = data[i * sm.visible + p];
      if (v > 1) throw new UserError(`${npyPath}: value ${v} at image ${i}, pixel ${p}; expected 0/1`);
      small[i * P + p] = v;
    }
  }
  // the classifier reads 28x28: a downscaled model's images upscaled (evaluate pools the yardsticks alike)
  const images = src.downscale === 1 ? small : upscaleImages(small, n, src.downscale);
  let labels: Uint8Array | null = null;
  if (sm.labels_file) {
    const l = readNpyU8(join(dir, sm.labels_file));
    if (l.shape.length !== 1 || l.shape[0] !== total) throw new UserError(`${join(dir, sm.labels_file)}: shape (${l.shape.join(', ')}), expected (${total},)`);
    labels = l.data.slice(0, n);
    for (const c of labels) if (c >= sm.classes) throw new UserError(`${join(dir, sm.labels_file)}: class ${c} outside 0..${sm.classes - 1}`);
  }
  return { images, n, downscale: src.downscale, labels, autocorrelation: readAutocorrelation(dir), total };
}

/** stats.json's stages[k].autocorrelation, per stage; null when no stage reports one. */
export function readAutocorrelation(dir: string): (number | null)[] | null {
  const path = join(dir, 'stats.json');
  if (!existsSync(path)) return null;
  const text = readInputFile(path, { what: 'stats.json', max: READ_LIMITS.json }).toString('utf8');
  let stats: unknown;
  try {
    stats = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${jsonProblem(e, text)})`);
  }
  if (stats === null || typeof stats !== 'object' || Array.isArray(stats))
    throw new UserError(`${path}: not a run's statistics (a JSON object), got ${kindOf(stats)}`);
  return autocorrelationOf((stats as { stages?: unknown }).stages, path);
}

/**
 * Per-stage autocorrelation from a list of stage records (index = stage); null if none has one.
 * The list is a file's (stats.json, named by `where`): it must be a list of objects whose `stage`
 * is its index in a list of T stages (a stage of 2^32 made an array of 2^32 entries).
 */
export function autocorrelationOf(stages: unknown, where = 'stats.json'): (number | null)[] | null {
  if (stages === undefined || stages === null) return null;
  if (!Array.isArray(stages)) throw new UserError(`${where}: stages: expected a list, got ${kindOf(stages)}`);
  if (stages.length === 0) return null;
  const out: (number | null)[] = new Array<number | null>(stages.length).fill(null);
  let any = false;
  stages.forEach((st: unknown, k) => {
    if (st === null || typeof st !== 'object' || Array.isArray(st)) throw new UserError(`${where}: stages[${k}]: expected an object, got ${kindOf(st)}`);
    const { stage, autocorrelation: v } = st as { stage?: unknown; autocorrelation?: unknown };
    if (!Number.isInteger(stage) || (stage as number) < 0 || (stage as number) >= stages.length)
      throw new UserError(`${where}: stages[${k}].stage = ${shown(stage)}: expected an integer in 0..${stages.length - 1}`);
    if (typeof v === 'number' && Number.isFinite(v)) {
      out[stage as number] = v;
      any = true;
    }
  });
  return any ? out : null;
}

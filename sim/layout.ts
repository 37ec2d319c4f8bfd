/**
 * The Fashion-MNIST image a DTM's visible cells hold, for any grid (docs/training.md, "Any grid").
 *
 * The visible cells all sit on colour 0 (ceil(L^2 / 2) cells): the image's pixels and 10 classes x
 * `copies` label cells. A grid that holds the 28 x 28 image (784 pixels) with its label copies gets
 * it; a smaller grid gets the binarised image downscaled by 2 (14 x 14 = 196 pixels) or 4 (7 x 7 =
 * 49), chosen automatically: the largest image that fits, with as many label copies (10 down to
 * MIN_LABEL_COPIES) as fit beside it. Downscaling pools blocks of the binarised 28 x 28 image: a
 * pooled pixel is 1 when at least half of its block is 1.
 *
 * What "fits" means depends on the placement (sim/dtm.ts placeVisible):
 *   random   pixels + label cells <= the colour-0 cells
 *   spatial  as random, and the image at every other cell (its pixels on one colour of the
 *            checkerboard, neighbours sharing latent cells): 2 * (side - 1) + 1 <= L
 *
 * A model states its image in `dtm.image_source` ({source: 'fmnist-28', width, height, downscale});
 * everything that reads or scores images goes through it: training data (downscaled), pictures
 * (at the stated size), dtca eval (the quality classifier reads 28 x 28: samples are upscaled by
 * nearest neighbour, and the yardsticks pass through the same downscale-upscale).
 */
import { UserError, OptionError } from '../fabric/errors.js';
import { ROWS, COLS, PIXELS, CLASSES } from './fmnist.js';
import type { Rule } from '../fabric/rules.js';
import { checkRules } from '../fabric/rules.js';

/** the one image source dtca knows: binarised 28 x 28 Fashion-MNIST */
export const IMAGE_SOURCE = 'fmnist-28';
/** the downscale factors dtca uses, largest image first: 28 x 28, 14 x 14, 7 x 7 */
export const DOWNSCALES = [1, 2, 4] as const;
export type Downscale = (typeof DOWNSCALES)[number];
/** the image sides those give */
export const IMAGE_SIDES = DOWNSCALES.map((f) => ROWS / f);
/** label copies per class: the paper's 10 where they fit, never fewer than this */
export const MAX_LABEL_COPIES = 10;
export const MIN_LABEL_COPIES = 5;

export type Placement = 'random' | 'spatial';

/** How a model's image relates to the data: stated in the model file as dtm.image_source. */
export interface ImageSource {
  source: typeof IMAGE_SOURCE;
  width: number;
  height: number;
  /** pooling factor from the 28 x 28 image (1: the image itself) */
  downscale: number;
}

/** A model's visible cells: the image and the label copies. */
export interface VisibleLayout {
  image: ImageSource;
  labelCopies: number;
  classes: number;
  /** image pixels and label cells */
  nImage: number;
  nLabel: number;
}

/** 'auto' (the largest image that fits) or an image side: 28, 14 or 7. */
export type ImageChoice = 'auto' | 28 | 14 | 7;
export const IMAGE_CHOICES = ['auto', '28', '14', '7'];

/** An --image value: auto, or a side (28, 14, 7), also as 28x28. */
export function parseImageChoice(v: unknown, flag = '--image'): ImageChoice {
  if (v === undefined || v === null || v === 'auto') return 'auto';
  const m = /^(\d+)(?:x(\d+))?$/.exec(String(v));
  const side = m && (m[2] === undefined || m[2] === m[1]) ? Number(m[1]) : NaN;
  if (!IMAGE_SIDES.includes(side))
    throw new UserError(`${flag} ${String(v)}: auto, or an image side: ${IMAGE_SIDES.join(', ')} (28 is Fashion-MNIST itself; 14 and 7 pool it by 2 and 4)`);
  return side as ImageChoice;
}

export function imageSource(downscale: number): ImageSource {
  return { source: IMAGE_SOURCE, width: COLS / downscale, height: ROWS / downscale, downscale };
}

/** Colour-0 cells of an L x L grid (the cells visible units may use). */
export function colour0Cells(L: number): number {
  return Math.ceil((L * L) / 2);
}

/** Why an image of side `side` with `copies` label copies does not fit an L grid, or null if it fits. */
export function layoutMisfit(L: number, placement: Placement, side: number, copies: number, classes = CLASSES): string | null {
  const need = side * side + classes * copies;
  const have = colour0Cells(L);
  if (need > have) return `${side}x${side} pixels + ${classes} x ${copies} label cells = ${need} cells of colour 0, an L = ${L} grid has ${have}`;
  if (placement === 'spatial' && 2 * (side - 1) + 1 > L)
    return `the spatial placement puts a ${side}x${side} image at every other cell: it needs L >= ${2 * (side - 1) + 1}`;
  return null;
}

/** The smallest L at which the layout fits (placement only; the rules are checked by minGrid). */
function minLayoutL(placement: Placement, side: number, copies: number, classes = CLASSES): number {
  let L = 2;
  while (layoutMisfit(L, placement, side, copies, classes) !== null) L++;
  return L;
}

/**
 * The visible layout for an L grid: the largest image (unless `choice` names one) with as many
 * label copies as fit (MAX down to MIN), or a UserError saying what the grid lacks and what L
 * would do. `copies` forces the number of label copies (newDtmModel's option labelCopies, which
 * an error names).
 */
export function chooseLayout(L: number, placement: Placement, choice: ImageChoice = 'auto', copies?: number, where = 'fabric.L'): VisibleLayout {
  const sides = choice === 'auto' ? IMAGE_SIDES : [choice];
  if (copies !== undefined && (!Number.isInteger(copies) || copies < 1)) throw new OptionError('labelCopies', copies, 'must be a positive integer');
  const copyRange = copies !== undefined ? [copies] : Array.from({ length: MAX_LABEL_COPIES - MIN_LABEL_COPIES + 1 }, (_, k) => MAX_LABEL_COPIES - k);
  for (const side of sides) {
    for (const c of copyRange) {
      if (layoutMisfit(L, placement, side, c) === null) {
        const downscale = ROWS / side;
        return { image: imageSource(downscale), labelCopies: c, classes: CLASSES, nImage: side * side, nLabel: CLASSES * c };
      }
    }
  }
  const side = sides[sides.length - 1];
  const c = copyRange[copyRange.length - 1];
  const why = layoutMisfit(L, placement, side, c)!;
  const what = choice === 'auto' ? `too small for a Fashion-MNIST DTM even at the smallest image (${side}x${side})` : `too small for a ${side}x${side} image`;
  return fail(`${where} = ${L}: ${what} with ${c} label copies per class: ${why}; use L >= ${minLayoutL(placement, side, c)} (${placement} placement)`);
}

function fail(msg: string): never {
  throw new UserError(msg);
}

/**
 * The smallest grid that holds the image `side` (with `copies` label copies) and the rules on this
 * boundary: the larger of the layout's need and the rules' (a torus also needs an even L).
 */
export function minGrid(placement: Placement, side: number, copies: number, rules: Rule[], boundary: 'open' | 'torus'): number {
  for (let L = minLayoutL(placement, side, copies); ; L++) {
    try {
      checkRules(rules, L, boundary);
      return L;
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
  }
}

/**
 * n binarised 28 x 28 images pooled by `factor` (blocks of factor x factor): a pooled pixel is 1
 * when at least half of its block is 1. Row-major, (28 / factor)^2 pixels per image.
 */
export function downscaleImages(images: Uint8Array, n: number, factor: number): Uint8Array {
  if (factor === 1) return images.subarray(0, n * PIXELS);
  if (!Number.isInteger(factor) || factor < 1 || ROWS % factor !== 0) throw new Error(`downscale ${factor}: must divide ${ROWS}`);
  const h = ROWS / factor;
  const w = COLS / factor;
  const half = (factor * factor) / 2;
  const out = new Uint8Array(n * h * w);
  for (let i = 0; i < n; i++) {
    const src = i * PIXELS;
    const dst = i * h * w;
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        let on = 0;
        for (let dy = 0; dy < factor; dy++) for (let dx = 0; dx < factor; dx++) on += images[src + (r * factor + dy) * COLS + c * factor + dx];
        out[dst + r * w + c] = on >= half ? 1 : 0;
      }
    }
  }
  return out;
}

/** n downscaled images (28 / factor square) back to 28 x 28 by nearest neighbour (each pixel a factor x factor block). */
export function upscaleImages(images: Uint8Array, n: number, factor: number): Uint8Array {
  if (factor === 1) return images.subarray(0, n * PIXELS);
  const h = ROWS / factor;
  const w = COLS / factor;
  const out = new Uint8Array(n * PIXELS);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < ROWS; y++) {
      for (let x = 0; x < COLS; x++) out[i * PIXELS + y * COLS + x] = images[i * h * w + Math.floor(y / factor) * w + Math.floor(x / factor)];
    }
  }
  return out;
}

/** Images through the downscale and back up: what a model of that image size can at best reproduce. */
export function atResolution(images: Uint8Array, n: number, factor: number): Uint8Array {
  return factor === 1 ? images.subarray(0, n * PIXELS) : upscaleImages(downscaleImages(images, n, factor), n, factor);
}

/** The dtm fields the image source is judged from (sim/model.ts DtmSpec). */
interface DtmImage {
  image: ArrayLike<number>;
  image_shape: [number, number];
  image_source?: ImageSource;
}

/**
 * The model's image source: as stated, or for a model file from before it was stated, the
 * 28 x 28 image when the model has 784 image cells in a 28 x 28 shape; null when the image is
 * not Fashion-MNIST's (e.g. `dtca model new --visible 300`).
 */
export function imageSourceOf(dtm: DtmImage): ImageSource | null {
  if (dtm.image_source) return dtm.image_source;
  if (dtm.image.length === PIXELS && dtm.image_shape[0] === ROWS && dtm.image_shape[1] === COLS) return imageSource(1);
  return null;
}

/** A model file's dtm.image_source checked against its image cells and shape. */
export function parseImageSource(raw: unknown, at: string, nImage: number, shape: [number, number]): ImageSource {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${at}: must be an object {source, width, height, downscale}`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['source', 'width', 'height', 'downscale'].includes(k)) throw new UserError(`${at}.${k}: unknown key`);
  if (o.source !== IMAGE_SOURCE)
    throw new UserError(`${at}.source = ${JSON.stringify(o.source)}: this dtca knows "${IMAGE_SOURCE}" (binarised 28x28 Fashion-MNIST)`);
  const f = o.downscale;
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 1 || ROWS % f !== 0)
    throw new UserError(`${at}.downscale = ${JSON.stringify(f)}: an integer dividing ${ROWS}`);
  const src = imageSource(f);
  if (o.width !== src.width || o.height !== src.height)
    throw new UserError(
      `${at}: width x height = ${JSON.stringify(o.width)} x ${JSON.stringify(o.height)}, but downscale ${f} of 28x28 gives ${src.width} x ${src.height}`,
    );
  if (nImage !== src.width * src.height)
    throw new UserError(`${at}: a ${src.width}x${src.height} image has ${src.width * src.height} pixels, the model has ${nImage} image cells`);
  if (shape[0] !== src.height || shape[1] !== src.width) throw new UserError(`${at}: ${src.width}x${src.height}, but image_shape is [${shape.join(', ')}]`);
  return src;
}

/** For people: "28x28" or "14x14 (Fashion-MNIST pooled by 2)". */
export function describeImage(src: ImageSource): string {
  return src.downscale === 1 ? `${src.width}x${src.height}` : `${src.width}x${src.height} (28x28 pooled by ${src.downscale})`;
}

/** One generated image's pixels (0/1, row-major at the model's image size) from its visible spins (image cells first). */
export function imageBits(visible: ArrayLike<number>, dtm: DtmImage): Uint8Array {
  const out = new Uint8Array(dtm.image.length);
  for (let p = 0; p < out.length; p++) out[p] = visible[p] > 0 ? 1 : 0;
  return out;
}

/**
 * Generated images (visible spins per image, layout order) as the quality classifier reads them:
 * n x 784 bits, a downscaled model's images upscaled by nearest neighbour, with the factor (pass it
 * to evaluate() as Samples.downscale, so the yardsticks are pooled the same way). A UserError when
 * the model's image is not Fashion-MNIST's: only a library caller's (samplesFromGeneration), every
 * command checks the model first, so the hint names the library's call.
 */
export function classifierImages(outputs: ArrayLike<number>[], dtm: DtmImage, what = 'the model'): { images: Uint8Array; downscale: number } {
  const src = imageSourceOf(dtm);
  if (!src)
    throw new UserError(
      `${what}: its ${dtm.image.length} image cells (${dtm.image_shape.join('x')}) are not a Fashion-MNIST image (make the model with newDtmModel({ visible: 'fmnist', ... })); the quality classifier cannot score them`,
    );
  const P = src.width * src.height;
  const n = outputs.length;
  const small = new Uint8Array(n * P);
  outputs.forEach((o, i) => small.set(imageBits(o, dtm), i * P));
  return { images: src.downscale === 1 ? small : upscaleImages(small, n, src.downscale), downscale: src.downscale };
}

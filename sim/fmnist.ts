/**
 * Fashion-MNIST: reads the canonical idx files (gzipped or not) from a directory, checks them
 * (gzip CRC, magic numbers, dimensions, sizes, label range, and for the canonical files the
 * SHA-256 of their content, so MNIST digits under the same names are caught), and binarises
 * pixels as the DTM workload does (pixel/255 > 0.1).
 *
 * Where: the caller's directory (`--data DIR`, loadFmnist's `dir`), else $DTCA_DATA, else /usr/share/datasets/fashion-mnist (where Debian's
 * dataset-fashion-mnist puts them). Missing or damaged data is a UserError naming the file, the
 * directory and how to get the files.
 *
 * Also: the DTM's visible vector for an image (784 pixels, then 10 classes x `copies` label cells:
 * class c copy r at label position c*copies + r), decoding a class from label cells, and a compact
 * bit-packed image-set format (the committed test fixture).
 */
import { existsSync, statSync } from 'node:fs';
import { readInputFile, READ_LIMITS } from '../fabric/read.js';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { UserError, OptionError } from '../fabric/errors.js';

export const DEFAULT_DATA_DIR = '/usr/share/datasets/fashion-mnist';
export const ROWS = 28;
export const COLS = 28;
export const PIXELS = ROWS * COLS;
export const CLASSES = 10;
export const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
/** pixel/255 > BINARY_THRESHOLD is a 1 */
export const BINARY_THRESHOLD = 0.1;

export type Split = 'train' | 'test';

/** the images of Fashion-MNIST's train split (checked by size and SHA-256 when read): the most --limit may take */
export const FMNIST_TRAIN_IMAGES = 60000;

const FILES: Record<Split, { images: string; labels: string; n: number; sha256: { images: string; labels: string } }> = {
  train: {
    images: 'train-images-idx3-ubyte',
    labels: 'train-labels-idx1-ubyte',
    n: FMNIST_TRAIN_IMAGES,
    // SHA-256 of the decompressed idx files
    sha256: {
      images: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
      labels: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    },
  },
  test: {
    images: 't10k-images-idx3-ubyte',
    labels: 't10k-labels-idx1-ubyte',
    n: 10000,
    sha256: {
      images: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
      labels: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    },
  },
};

const IDX_IMAGES_MAGIC = 0x00000803; // unsigned byte, 3 dimensions
const IDX_LABELS_MAGIC = 0x00000801; // unsigned byte, 1 dimension

/**
 * How to get the files, naming the option the caller gave the directory as (`option`: loadFmnist's
 * and evaluate's `dir`, train's `dataDir`); the command line says --data DIR instead
 * (dataHintForCli, through cli/flags.ts userMessage: the hint may come from a worker thread, as text).
 */
export function howToGet(option = 'dir'): string {
  return (
    'get the four idx .gz files with "apt-get install dataset-fashion-mnist" (Debian/Ubuntu), or download them from ' +
    `https://github.com/zalandoresearch/fashion-mnist/tree/master/data/fashion, and pass their directory as ${option} (or set DTCA_DATA)`
  );
}

/** howToGet's last words as the command line says them */
const CLI_DATA_HINT = 'point --data DIR (or DTCA_DATA) at their directory';

/** A message with howToGet's hint worded for the command line ("--data DIR"). */
export function dataHintForCli(message: string): string {
  return message.replace(/pass their directory as [\w.]+ \(or set DTCA_DATA\)/g, CLI_DATA_HINT);
}

/** The data directory: an explicit option, else $DTCA_DATA, else the Debian location. */
export function dataDir(option?: string): string {
  return resolve(option ?? (process.env.DTCA_DATA || DEFAULT_DATA_DIR));
}

export interface ImageSet {
  /** n x 784 bits (0/1), row-major 28 x 28 per image */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
}

export interface LoadOptions {
  /** data directory (default: dataDir()) */
  dir?: string;
  /** what the caller gave `dir` as, for the hint when the files are missing (default 'dir'; train: 'dataDir') */
  dirOption?: string;
  split: Split;
  /** keep only the first `limit` images */
  limit?: number;
  /**
   * check that the files are the canonical Fashion-MNIST (60,000 / 10,000 images, known SHA-256);
   * default true. Off for small idx files made by tests.
   */
  canonical?: boolean;
}

function damaged(path: string, what: string, option?: string): UserError {
  return new UserError(`Fashion-MNIST file ${path} is damaged (${what}): ${howToGet(option)}`);
}

/** NAME.gz (or NAME uncompressed) in dir; a UserError saying how to get it when neither is there. */
function idxPath(dir: string, name: string, option?: string): string {
  const gz = join(dir, `${name}.gz`);
  const raw = join(dir, name);
  const path = existsSync(gz) ? gz : existsSync(raw) ? raw : null;
  if (!path) {
    // a file or a device named as the directory is said so (was "/dev/zero has no train-images-idx3-ubyte.gz")
    const where = !existsSync(dir) ? `${dir} does not exist` : !statSync(dir).isDirectory() ? `${dir} is not a directory` : `${dir} has no ${name}.gz`;
    throw new UserError(`Fashion-MNIST not found: ${where}; ${howToGet(option)}`);
  }
  return path;
}

/** Are a split's files there (read nothing)? The UserError loadFmnist would give when not: for a check before outputs are made. */
export function findFmnist(dir: string | undefined, split: Split, option?: string): void {
  const d = dataDir(dir);
  idxPath(d, FILES[split].images, option);
  idxPath(d, FILES[split].labels, option);
}

/** Reads NAME.gz (or NAME uncompressed) from dir; the decompressed bytes and the path read. */
function readIdxFile(dir: string, name: string, option?: string): { bytes: Uint8Array; path: string } {
  const path = idxPath(dir, name, option);
  const gz = join(dir, `${name}.gz`);
  let buf: Buffer;
  try {
    buf = readInputFile(path, { what: 'Fashion-MNIST file', max: READ_LIMITS.data });
  } catch (e) {
    throw new UserError(`Fashion-MNIST file ${(e as Error).message}; ${howToGet(option)}`);
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf, { maxOutputLength: READ_LIMITS.data });
    } catch (e) {
      throw damaged(path, `gzip: ${(e as Error).message}`, option);
    }
  } else if (path === gz) {
    throw damaged(path, 'not gzip data', option);
  }
  return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.length), path };
}

function u32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Grey images (n x rows x cols bytes) from an idx3 file's bytes; checks magic and size. */
export function parseIdxImages(b: Uint8Array, path: string, option?: string): { grey: Uint8Array; n: number; rows: number; cols: number } {
  if (b.length < 16) throw damaged(path, `${b.length} bytes, shorter than the 16-byte idx header`, option);
  const magic = u32(b, 0);
  if (magic !== IDX_IMAGES_MAGIC) throw damaged(path, `magic number 0x${magic.toString(16).padStart(8, '0')}, expected 0x00000803 (idx3 images)`, option);
  const n = u32(b, 4);
  const rows = u32(b, 8);
  const cols = u32(b, 12);
  if (rows !== ROWS || cols !== COLS) throw damaged(path, `images are ${rows}x${cols}, expected 28x28`, option);
  const want = 16 + n * rows * cols;
  if (b.length !== want) throw damaged(path, `${b.length} bytes, the header's ${n} images need ${want}`, option);
  return { grey: b.subarray(16), n, rows, cols };
}

/** Labels from an idx1 file's bytes; checks magic, size and range. */
export function parseIdxLabels(b: Uint8Array, path: string, option?: string): Uint8Array {
  if (b.length < 8) throw damaged(path, `${b.length} bytes, shorter than the 8-byte idx header`, option);
  const magic = u32(b, 0);
  if (magic !== IDX_LABELS_MAGIC) throw damaged(path, `magic number 0x${magic.toString(16).padStart(8, '0')}, expected 0x00000801 (idx1 labels)`, option);
  const n = u32(b, 4);
  if (b.length !== 8 + n) throw damaged(path, `${b.length} bytes, the header's ${n} labels need ${8 + n}`, option);
  const labels = b.subarray(8);
  for (let i = 0; i < n; i++) if (labels[i] >= CLASSES) throw damaged(path, `label ${labels[i]} at index ${i}, expected 0..9`, option);
  return labels;
}

/** pixel/255 > 0.1 -> 1, else 0 (so grey 25 is 0 and 26 is 1). */
export function binarise(grey: Uint8Array): Uint8Array {
  const out = new Uint8Array(grey.length);
  for (let i = 0; i < grey.length; i++) out[i] = grey[i] / 255 > BINARY_THRESHOLD ? 1 : 0;
  return out;
}

/** Loads one split, binarised. Throws a UserError naming the file and how to get it when missing or damaged. */
export function loadFmnist(o: LoadOptions): ImageSet & { dir: string; split: Split } {
  if (!Object.hasOwn(FILES, o.split)) throw new OptionError('split', o.split, `must be one of ${Object.keys(FILES).join(', ')}`);
  if (o.limit !== undefined && !(Number.isSafeInteger(o.limit) && o.limit >= 0)) throw new OptionError('limit', o.limit, 'must be an integer >= 0');
  const dir = dataDir(o.dir);
  const f = FILES[o.split];
  const canonical = o.canonical ?? true;
  const opt = o.dirOption;
  const img = readIdxFile(dir, f.images, opt);
  const lab = readIdxFile(dir, f.labels, opt);
  const { grey, n } = parseIdxImages(img.bytes, img.path, opt);
  const labels = parseIdxLabels(lab.bytes, lab.path, opt);
  if (labels.length !== n) throw damaged(lab.path, `${labels.length} labels for the ${n} images of ${img.path}`, opt);
  if (canonical) {
    if (n !== f.n) throw damaged(img.path, `${n} images, the ${o.split} split of Fashion-MNIST has ${f.n}`, opt);
    if (sha256(img.bytes) !== f.sha256.images) throw damaged(img.path, 'content differs from Fashion-MNIST (SHA-256); is it MNIST digits?', opt);
    if (sha256(lab.bytes) !== f.sha256.labels) throw damaged(lab.path, 'content differs from Fashion-MNIST (SHA-256)', opt);
  }
  const m = o.limit === undefined ? n : Math.min(n, o.limit);
  return { images: binarise(grey.subarray(0, m * PIXELS)), labels: labels.slice(0, m), n: m, dir, split: o.split };
}

// ---------------------------------------------------------------------------------------------
// The DTM's visible layout

/** Label cells of class `cls`: `copies` cells per class, class c copy r at c*copies + r; 1 = +1. */
export function labelBits(cls: number, copies: number, classes = CLASSES): Uint8Array {
  const out = new Uint8Array(classes * copies);
  out.fill(1, cls * copies, (cls + 1) * copies);
  return out;
}

/**
 * The visible vector of image i in the DTM's layout order, as spins (+1/-1): its 784 pixels, then
 * the one-hot label over `classes` x `copies` cells.
 */
export function visibleSpins(set: ImageSet, i: number, copies: number, classes = CLASSES): Int8Array {
  const out = new Int8Array(PIXELS + classes * copies);
  for (let p = 0; p < PIXELS; p++) out[p] = set.images[i * PIXELS + p] ? 1 : -1;
  const cls = set.labels[i];
  for (let k = 0; k < classes * copies; k++) out[PIXELS + k] = Math.floor(k / copies) === cls ? 1 : -1;
  return out;
}

/**
 * The class a visible vector's label cells say (the class with the most +1 copies; ties go to the
 * lowest class), reading label cells from position `offset` on. Values > 0 count as +1.
 */
export function decodeLabel(visible: ArrayLike<number>, offset: number, copies: number, classes = CLASSES): number {
  let best = 0;
  let bestCount = -1;
  for (let c = 0; c < classes; c++) {
    let on = 0;
    for (let r = 0; r < copies; r++) if (visible[offset + c * copies + r] > 0) on++;
    if (on > bestCount) {
      best = c;
      bestCount = on;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Bit-packed image sets: 8-byte magic "DTCABIN1", uint32 LE n, uint16 LE rows, uint16 LE cols,
// n label bytes, then the n*rows*cols bits (bit k at byte k>>3, bit k&7), the whole gzipped.

const PACK_MAGIC = 'DTCABIN1';

export function packImageSet(set: ImageSet): Uint8Array {
  const bits = set.n * PIXELS;
  const out = new Uint8Array(16 + set.n + Math.ceil(bits / 8));
  out.set(Buffer.from(PACK_MAGIC, 'ascii'), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, set.n, true);
  dv.setUint16(12, ROWS, true);
  dv.setUint16(14, COLS, true);
  out.set(set.labels.subarray(0, set.n), 16);
  const base = 16 + set.n;
  for (let k = 0; k < bits; k++) if (set.images[k]) out[base + (k >> 3)] |= 1 << (k & 7);
  return new Uint8Array(gzipSync(out, { level: 9 }));
}

export function unpackImageSet(data: Uint8Array, path = 'image set'): ImageSet {
  let b: Uint8Array;
  try {
    b = new Uint8Array(gunzipSync(data, { maxOutputLength: READ_LIMITS.data }));
  } catch (e) {
    throw new UserError(`${path}: not a gzipped dtca image set (${(e as Error).message})`);
  }
  if (b.length < 16 || Buffer.from(b.subarray(0, 8)).toString('ascii') !== PACK_MAGIC) throw new UserError(`${path}: not a dtca image set (magic)`);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const n = dv.getUint32(8, true);
  const rows = dv.getUint16(12, true);
  const cols = dv.getUint16(14, true);
  if (rows !== ROWS || cols !== COLS) throw new UserError(`${path}: images are ${rows}x${cols}, expected 28x28`);
  const bits = n * PIXELS;
  if (b.length !== 16 + n + Math.ceil(bits / 8)) throw new UserError(`${path}: ${b.length} bytes, ${n} images need ${16 + n + Math.ceil(bits / 8)}`);
  const labels = b.slice(16, 16 + n);
  const images = new Uint8Array(bits);
  const base = 16 + n;
  for (let k = 0; k < bits; k++) images[k] = (b[base + (k >> 3)] >> (k & 7)) & 1;
  return { images, labels, n };
}

export function readImageSet(path: string): ImageSet {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  return unpackImageSet(readInputFile(path, { what: 'image set', max: READ_LIMITS.data }), path);
}

/** Images [from, to) of a set as a new set. */
export function subset(set: ImageSet, from: number, to: number): ImageSet {
  return { images: set.images.slice(from * PIXELS, to * PIXELS), labels: set.labels.slice(from, to), n: to - from };
}

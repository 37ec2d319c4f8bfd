// Fashion-MNIST loading: the committed fixture, binarisation, the DTM layout, and clear errors for
// missing or damaged data (UserError in the library; exit 2 and one line from the CLI: fmnist-cli.test.ts).
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { UserError } from '../fabric/errors.js';
import {
  loadFmnist,
  readImageSet,
  packImageSet,
  unpackImageSet,
  binarise,
  visibleSpins,
  decodeLabel,
  labelBits,
  dataDir,
  DEFAULT_DATA_DIR,
  PIXELS,
} from '../sim/fmnist.js';
const FIXTURE = (split: string) => fileURLToPath(new URL(`./fixtures/fmnist-${split}-400.bin.gz`, import.meta.url));
const HAVE_DATA = existsSync(join(DEFAULT_DATA_DIR, 't10k-images-idx3-ubyte.gz'));

function idxImages(grey: number[][]): Buffer {
  const n = grey.length;
  const b = Buffer.alloc(16 + n * PIXELS);
  b.writeUInt32BE(0x803, 0);
  b.writeUInt32BE(n, 4);
  b.writeUInt32BE(28, 8);
  b.writeUInt32BE(28, 12);
  grey.forEach((img, i) => img.forEach((v, p) => (b[16 + i * PIXELS + p] = v)));
  return b;
}

function idxLabels(labels: number[]): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(0x801, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((v, i) => (b[8 + i] = v));
  return b;
}

/** A data directory holding a small test split (idx .gz files). */
function smallDir(grey: number[][], labels: number[], mutate?: { images?: (b: Buffer) => Buffer; labels?: (b: Buffer) => Buffer }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dtca-fmnist-'));
  const imgs = idxImages(grey);
  const labs = idxLabels(labels);
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(mutate?.images ? mutate.images(imgs) : imgs));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(mutate?.labels ? mutate.labels(labs) : labs));
  return dir;
}

function userErrorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('the committed fixture', () => {
  const train = readImageSet(FIXTURE('train'));
  const test = readImageSet(FIXTURE('test'));

  it('has 400 binarised images per split with the canonical first labels', () => {
    for (const s of [train, test]) {
      expect(s.n).toBe(400);
      expect(s.images.length).toBe(400 * PIXELS);
      expect(s.labels.length).toBe(400);
      expect(s.images.every((v) => v === 0 || v === 1)).toBe(true);
      // every class present
      expect(new Set(s.labels).size).toBe(10);
    }
    // Fashion-MNIST's first labels (ankle boot, T-shirt, T-shirt, dress, ...)
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(Array.from(test.labels.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    // a garment covers a good part of the frame; its border columns are mostly off
    const on = train.images.reduce((a, v) => a + v, 0) / train.images.length;
    expect(on).toBeGreaterThan(0.3);
    expect(on).toBeLessThan(0.6);
  });

  it('round-trips through the bit-packed format and rejects damage', () => {
    const back = unpackImageSet(packImageSet(train));
    expect(back.n).toBe(train.n);
    expect(Buffer.from(back.images).equals(Buffer.from(train.images))).toBe(true);
    expect(Buffer.from(back.labels).equals(Buffer.from(train.labels))).toBe(true);
    const bytes = readFileSync(FIXTURE('train'));
    expect(userErrorOf(() => unpackImageSet(bytes.subarray(0, bytes.length - 20), 'cut.bin.gz'))).toMatch(/cut\.bin\.gz/);
  });

  it.skipIf(!HAVE_DATA)('equals the first 400 images of the installed dataset, binarised', () => {
    for (const split of ['train', 'test'] as const) {
      const full = loadFmnist({ split });
      expect(full.n).toBe(split === 'train' ? 60000 : 10000);
      const fx = split === 'train' ? train : test;
      expect(Buffer.from(full.images.subarray(0, 400 * PIXELS)).equals(Buffer.from(fx.images))).toBe(true);
      expect(Buffer.from(full.labels.subarray(0, 400)).equals(Buffer.from(fx.labels))).toBe(true);
    }
  });
});

describe('binarisation and layout', () => {
  it('pixel/255 > 0.1: grey 25 is off, 26 is on', () => {
    expect(Array.from(binarise(Uint8Array.from([0, 25, 26, 128, 255])))).toEqual([0, 0, 1, 1, 1]);
    const grey = [new Array(PIXELS).fill(0), new Array(PIXELS).fill(0)];
    grey[0][0] = 25;
    grey[0][1] = 26;
    grey[1][783] = 255;
    const dir = smallDir(grey, [3, 7]);
    const s = loadFmnist({ dir, split: 'test', canonical: false });
    expect(s.n).toBe(2);
    expect(Array.from(s.labels)).toEqual([3, 7]);
    expect(s.images[0]).toBe(0);
    expect(s.images[1]).toBe(1);
    expect(s.images[PIXELS + 783]).toBe(1);
    expect(s.images.reduce((a, v) => a + v, 0)).toBe(2);
  });

  it('the visible vector: 784 pixels, then class c copy r at 784 + c*copies + r', () => {
    const set = { images: new Uint8Array(PIXELS).fill(1), labels: Uint8Array.from([4]), n: 1 };
    const v = visibleSpins(set, 0, 10);
    expect(v.length).toBe(884);
    expect(v.subarray(0, PIXELS).every((x) => x === 1)).toBe(true);
    for (let k = 0; k < 100; k++) expect(v[PIXELS + k]).toBe(Math.floor(k / 10) === 4 ? 1 : -1);
    expect(decodeLabel(v, PIXELS, 10)).toBe(4);
    expect(Array.from(labelBits(1, 2, 3))).toEqual([0, 0, 1, 1, 0, 0]);
    // a noisy label: class 6 has 7 copies on, class 2 has 3
    const w = new Int8Array(100).fill(-1);
    for (let r = 0; r < 7; r++) w[60 + r] = 1;
    for (let r = 0; r < 3; r++) w[20 + r] = 1;
    expect(decodeLabel(w, 0, 10)).toBe(6);
  });

  it('looks in --data, then $DTCA_DATA, then the Debian directory', () => {
    const old = process.env.DTCA_DATA;
    try {
      delete process.env.DTCA_DATA;
      expect(dataDir()).toBe(DEFAULT_DATA_DIR);
      process.env.DTCA_DATA = '/some/where';
      expect(dataDir()).toBe('/some/where');
      expect(dataDir('/explicit')).toBe('/explicit');
    } finally {
      if (old === undefined) delete process.env.DTCA_DATA;
      else process.env.DTCA_DATA = old;
    }
  });
});

describe('missing or damaged data', () => {
  const blank = [new Array(PIXELS).fill(0)];

  it('a missing directory or file names where it looked and how to get the files', () => {
    const msg = userErrorOf(() => loadFmnist({ dir: '/nonexistent/fmnist', split: 'test' }));
    expect(msg).toMatch(/\/nonexistent\/fmnist does not exist/);
    expect(msg).toMatch(/apt-get install dataset-fashion-mnist/);
    // a library call names its option (the command line says --data DIR: test/cli-ux.test.ts)
    expect(msg).toMatch(/pass their directory as dir \(or set DTCA_DATA\)$/);
    const empty = mkdtempSync(join(tmpdir(), 'dtca-fmnist-empty-'));
    expect(userErrorOf(() => loadFmnist({ dir: empty, split: 'train' }))).toMatch(/has no train-images-idx3-ubyte\.gz/);
  });

  it('damage is caught: truncated gzip, wrong magic, wrong size, bad label, non-canonical content', () => {
    const cut = smallDir(blank, [1]);
    const gz = readFileSync(join(cut, 't10k-images-idx3-ubyte.gz'));
    writeFileSync(join(cut, 't10k-images-idx3-ubyte.gz'), gz.subarray(0, gz.length - 10));
    expect(userErrorOf(() => loadFmnist({ dir: cut, split: 'test', canonical: false }))).toMatch(/t10k-images-idx3-ubyte\.gz is damaged \(gzip/);
    const magic = smallDir(blank, [1], { images: (b) => (b.writeUInt32BE(0x801, 0), b) });
    expect(userErrorOf(() => loadFmnist({ dir: magic, split: 'test', canonical: false }))).toMatch(/magic number 0x00000801, expected 0x00000803/);
    const short = smallDir(blank, [1], { images: (b) => b.subarray(0, b.length - 1) });
    expect(userErrorOf(() => loadFmnist({ dir: short, split: 'test', canonical: false }))).toMatch(/799 bytes, the header's 1 images need 800/);
    const label = smallDir(blank, [12]);
    expect(userErrorOf(() => loadFmnist({ dir: label, split: 'test', canonical: false }))).toMatch(/label 12 at index 0/);
    const count = smallDir(blank, [1, 2]);
    expect(userErrorOf(() => loadFmnist({ dir: count, split: 'test', canonical: false }))).toMatch(/2 labels for the 1 images/);
    // the canonical check: right shape, wrong content (as MNIST digits would be)
    const n = 10000;
    const dir = mkdtempSync(join(tmpdir(), 'dtca-fmnist-fake-'));
    const imgs = Buffer.alloc(16 + n * PIXELS);
    imgs.writeUInt32BE(0x803, 0);
    imgs.writeUInt32BE(n, 4);
    imgs.writeUInt32BE(28, 8);
    imgs.writeUInt32BE(28, 12);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(imgs));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxLabels(new Array(n).fill(0))));
    expect(userErrorOf(() => loadFmnist({ dir, split: 'test' }))).toMatch(/content differs from Fashion-MNIST \(SHA-256\)/);
    // and with the canonical check, a small file is refused for its count
    expect(userErrorOf(() => loadFmnist({ dir: smallDir(blank, [1]), split: 'test' }))).toMatch(/1 images, the test split of Fashion-MNIST has 10000/);
  });

  it('uncompressed idx files are read too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-fmnist-raw-'));
    mkdirSync(dir, { recursive: true });
    const grey = [new Array(PIXELS).fill(200)];
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxImages(grey));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxLabels([5]));
    const s = loadFmnist({ dir, split: 'test', canonical: false });
    expect(s.images.every((v) => v === 1)).toBe(true);
    expect(s.labels[0]).toBe(5);
  });
});

beforeAll(() => {
  expect(existsSync(FIXTURE('train'))).toBe(true);
});

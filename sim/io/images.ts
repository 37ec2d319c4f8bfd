/**
 * Pictures of generated images: a sample grid and a denoising strip, as 8-bit grey PNGs, and the
 * same with captions (class names, stages) for run directories.
 */
import { encode } from 'fast-png';
import type { DtmSpec } from '../model.js';
import { renderSvg, xmlSafe } from './plot.js';
import { CLASS_NAMES } from '../fmnist.js';

const GAP = 2;
const BG = 96;

/** screen pixels per image cell: 3 for a 28x28 image, more for smaller ones (a 7x7 image is drawn as large as a 28x28 one) */
export function tileScale(dtm: Pick<DtmSpec, 'image_shape'>): number {
  return Math.max(3, Math.floor(84 / Math.max(...dtm.image_shape)));
}

/** Draw tiles (rows x cols of images, each visible-spin vector) into one PNG. */
function mosaic(tiles: (Int8Array | null)[][], dtm: DtmSpec): Uint8Array {
  const [h, w] = dtm.image_shape;
  const SCALE = tileScale(dtm);
  const rows = tiles.length;
  const cols = Math.max(...tiles.map((r) => r.length));
  const tw = w * SCALE + GAP;
  const th = h * SCALE + GAP;
  const W = cols * tw + GAP;
  const H = rows * th + GAP;
  const data = new Uint8Array(W * H).fill(BG);
  tiles.forEach((row, r) =>
    row.forEach((img, c) => {
      if (!img) return;
      for (let p = 0; p < dtm.image.length; p++) {
        const py = Math.floor(p / w);
        const px = p % w;
        const v = img[p] > 0 ? 255 : 0;
        for (let dy = 0; dy < SCALE; dy++) {
          const y = GAP + r * th + py * SCALE + dy;
          const x0 = GAP + c * tw + px * SCALE;
          data.fill(v, y * W + x0, y * W + x0 + SCALE);
        }
      }
    }),
  );
  return encode({ width: W, height: H, data, channels: 1, depth: 8 });
}

/** Outputs x^0 in a near-square grid. */
export function samplesPng(outputs: Int8Array[], dtm: DtmSpec): Uint8Array {
  const cols = Math.ceil(Math.sqrt(outputs.length));
  const rows: Int8Array[][] = [];
  for (let i = 0; i < outputs.length; i += cols) rows.push(outputs.slice(i, i + cols));
  return mosaic(rows, dtm);
}

/** One row per chain: the input noise x^T, then the visible cells after each stage, noisiest to cleanest. */
export function denoisePng(strip: Int8Array[][], dtm: DtmSpec): Uint8Array {
  return mosaic(strip, dtm);
}

/** one image (visible spins, layout order) as a PNG, `scale` pixels per cell */
function tilePng(img: Int8Array, dtm: DtmSpec, scale: number): Uint8Array {
  const [h, w] = dtm.image_shape;
  const data = new Uint8Array(w * scale * h * scale);
  for (let p = 0; p < dtm.image.length; p++) {
    const v = img[p] > 0 ? 255 : 0;
    const py = Math.floor(p / w);
    const px = p % w;
    for (let dy = 0; dy < scale; dy++) data.fill(v, (py * scale + dy) * w * scale + px * scale, (py * scale + dy) * w * scale + px * scale + scale);
  }
  return encode({ width: w * scale, height: h * scale, data, channels: 1, depth: 8 });
}

const esc = (t: string) => xmlSafe(t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));

/** A class's name: Fashion-MNIST's ten, or "class c" */
export function className(dtm: DtmSpec, c: number): string {
  const classes = dtm.label_copies > 0 ? dtm.label.length / dtm.label_copies : 0;
  return classes === CLASS_NAMES.length ? CLASS_NAMES[c] : `class ${c}`;
}

interface Cell {
  img: Int8Array;
  caption: string;
}

/** a grid of captioned tiles, with optional column headers and row labels, as a PNG */
async function captionedGrid(cells: (Cell | null)[][], dtm: DtmSpec, title: string, colHeads: string[] = [], rowHeads: string[] = []): Promise<Uint8Array> {
  const scale = tileScale(dtm);
  const [h, w] = dtm.image_shape;
  const tw = w * scale;
  const th = h * scale;
  const gap = 10;
  const cap = 14;
  const left = rowHeads.length ? 110 : gap;
  // the title's first line in bold, further lines (what was run) smaller below it
  const [head, ...sub] = title.split('\n');
  const top = 28 + 14 * sub.length + (colHeads.length ? 18 : 0);
  const cols = Math.max(...cells.map((r) => r.length));
  // wide enough for the title (DejaVu Sans: about 0.62 em per character)
  const W = Math.max(left + cols * (tw + gap), 2 * gap + Math.ceil(Math.max(head.length * 13, ...sub.map((t) => t.length * 10)) * 0.62));
  const H = top + cells.length * (th + cap + gap) + gap;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif">`];
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${gap}" y="18" font-size="13" font-weight="bold">${esc(head)}</text>`);
  sub.forEach((t, i) => parts.push(`<text x="${gap}" y="${32 + 14 * i}" font-size="10" fill="#444">${esc(t)}</text>`));
  colHeads.forEach((t, c) => parts.push(`<text x="${left + c * (tw + gap) + tw / 2}" y="${top - 6}" font-size="11" text-anchor="middle">${esc(t)}</text>`));
  cells.forEach((row, r) => {
    const y = top + r * (th + cap + gap);
    if (rowHeads[r]) parts.push(`<text x="${left - 8}" y="${y + th / 2 + 4}" font-size="11" text-anchor="end">${esc(rowHeads[r])}</text>`);
    row.forEach((cell, c) => {
      if (!cell) return;
      const x = left + c * (tw + gap);
      const b64 = Buffer.from(tilePng(cell.img, dtm, scale)).toString('base64');
      parts.push(`<image x="${x}" y="${y}" width="${tw}" height="${th}" image-rendering="optimizeSpeed" href="data:image/png;base64,${b64}"/>`);
      if (cell.caption) parts.push(`<text x="${x + tw / 2}" y="${y + th + 11}" font-size="10" text-anchor="middle">${esc(cell.caption)}</text>`);
    });
  });
  parts.push('</svg>');
  return renderSvg(parts.join(''));
}

/** samples.png: the generated images, captioned with the class each was clamped to (if any) */
export function samplesFigure(outputs: Int8Array[], dtm: DtmSpec, labels: number[] | undefined, title: string): Promise<Uint8Array> {
  // wider than tall (10 images: 5 x 2)
  const cols = Math.min(10, Math.ceil(Math.sqrt(2 * outputs.length)) || 1);
  const rows: (Cell | null)[][] = [];
  for (let i = 0; i < outputs.length; i += cols) {
    rows.push(
      outputs
        .slice(i, i + cols)
        .map((img, k) => ({ img, caption: labels && labels.length ? className(dtm, labels[(i + k) % labels.length]) : `image ${i + k}` })),
    );
  }
  return captionedGrid(rows, dtm, title);
}

/** denoise.png: per image, the input noise x^T, then the visible cells after each stage, noisiest to cleanest */
export function denoiseFigure(strip: Int8Array[][], dtm: DtmSpec, labels: number[] | undefined, title: string): Promise<Uint8Array> {
  const T = dtm.T;
  const heads = ['input (noise)', ...Array.from({ length: T }, (_, j) => `stage ${T - 1 - j}`)];
  const rows = strip.map((r) => r.map((img) => ({ img, caption: '' })));
  const rowHeads = strip.map((_, c) => (labels && labels.length ? `${c}: ${className(dtm, labels[c % labels.length])}` : `image ${c}`));
  return captionedGrid(rows, dtm, title, heads, rowHeads);
}

/** Pictures of generated images: a sample grid and a denoising strip, as 8-bit grey PNGs. */
import { encode } from 'fast-png';
import type { DtmSpec } from './model.js';

const SCALE = 3;
const GAP = 2;
const BG = 96;

/** Draw tiles (rows x cols of images, each visible-spin vector) into one PNG. */
function mosaic(tiles: (Int8Array | null)[][], dtm: DtmSpec): Uint8Array {
  const [h, w] = dtm.image_shape;
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

/**
 * The cell layout of a trace as arrays for post-processing (`dtca trace export --npy`): which cells
 * are image pixels and which are label copies, where each pixel and label copy lives, and which
 * column of states.npy holds it.
 */
import type { HeaderRecord } from './reader.js';

/** layout.npy codes */
export const LAYOUT_LATENT = 0;
export const LAYOUT_PIXEL = 1;
export const LAYOUT_LABEL = 2;

export interface LayoutArrays {
  /** per cell (N): 0 latent, 1 image pixel, 2 label copy */
  layout: Uint8Array;
  /** per cell (N): its colour (0/1, the checkerboard (x + y) mod 2) */
  colour: Uint8Array;
  /** the cell of each image pixel, shape image_shape (row-major) */
  pixelIndex: Int32Array;
  imageShape: number[];
  /** the cell of label class c copy r, shape (classes, copies) */
  labelIndex: Int32Array;
  labelShape: number[];
  /** the states.npy column of each pixel / label copy, -1 where the cell is not traced */
  pixelColumn: Int32Array;
  labelColumn: Int32Array;
}

export function layoutArrays(h: HeaderRecord): LayoutArrays {
  const { N, image, label, label_copies: copies } = h.layout;
  const layout = new Uint8Array(N);
  for (const c of image) layout[c] = LAYOUT_PIXEL;
  for (const c of label) layout[c] = LAYOUT_LABEL;
  const shape = (h.model as { image_shape?: unknown }).image_shape;
  const imageShape = Array.isArray(shape) && shape.length === 2 && shape[0] * shape[1] === image.length ? [Number(shape[0]), Number(shape[1])] : [image.length];
  const cpy = copies > 0 ? copies : 1;
  const labelShape = [Math.floor(label.length / cpy), cpy];
  const column = new Int32Array(N).fill(-1);
  h.traced_cells.forEach((cell, k) => {
    column[cell] = k;
  });
  return {
    layout,
    colour: Uint8Array.from(h.layout.colour),
    pixelIndex: Int32Array.from(image),
    imageShape,
    labelIndex: Int32Array.from(label.subarray(0, labelShape[0] * labelShape[1])),
    labelShape,
    pixelColumn: Int32Array.from(image, (c) => column[c]),
    labelColumn: Int32Array.from(label.subarray(0, labelShape[0] * labelShape[1]), (c) => column[c]),
  };
}

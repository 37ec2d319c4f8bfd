/**
 * The quality classifier: a small convolutional network for binarised 28x28 Fashion-MNIST,
 * written out by hand (forward, backward, Adam) so it is deterministic for a seed, needs no
 * native or GPU library, and exposes its penultimate layer (the features the Fréchet distance is
 * computed on).
 *
 *   input 1x28x28 (0/1)
 *   conv 5x5, c1 channels, valid -> c1x24x24, ReLU, max-pool 2 -> c1x12x12
 *   conv 5x5, c2 channels, valid -> c2x8x8,   ReLU, max-pool 2 -> c2x4x4
 *   dense c2*16 -> hidden, ReLU                 (the features)
 *   dropout (training only), dense hidden -> 10 (logits)
 *
 * A batch runs as matrix products (im2col for the convolutions) in single precision on a
 * WebAssembly SIMD kernel (gemm.ts); pooling, im2col and the last layer are plain loops. Every
 * random draw (initialisation, shuffling, dropout) is a counter-based draw from rng/counter.ts,
 * so training is a pure function of (seed, data, options).
 */
import { createHash } from 'node:crypto';
import { readInputFile, READ_LIMITS } from '../../fabric/read.js';
import { pack, unpack } from 'msgpackr';
import { UserError } from '../../fabric/errors.js';
import { checkMsgpackKeys, msgpackProblem } from '../../fabric/json.js';
import { streamKey, uniform } from '../../rng/counter.js';
import { F32Arena, transpose } from './gemm.js';

export interface Arch {
  c1: number;
  c2: number;
  hidden: number;
  classes: number;
}

export const DEFAULT_ARCH: Arch = { c1: 16, c2: 32, hidden: 128, classes: 10 };

const IN = 28;
const PIX = IN * IN;
const K = 5;
const KK = K * K;
const O1 = IN - K + 1; // 24
const S1 = O1 * O1; // 576
const P1 = O1 / 2; // 12
const Q1 = P1 * P1; // 144
const O2 = P1 - K + 1; // 8
const S2 = O2 * O2; // 64
const P2 = O2 / 2; // 4
const Q2 = P2 * P2; // 16
const KK4 = 28; // 25 rounded up to a multiple of 4

/**
 * Parameters (float32): w1 [c1][25] and w2 [c2][c1*25] (conv, [out][in][ky][kx]), w3 [c2*16][hidden]
 * and w4 [hidden][classes] (dense, [in][out]), and the biases.
 */
export interface Params {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
  w3: Float32Array;
  b3: Float32Array;
  w4: Float32Array;
  b4: Float32Array;
}

export const PARAM_NAMES = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3', 'w4', 'b4'] as const;
type Name = (typeof PARAM_NAMES)[number];

export function paramShapes(a: Arch): Record<Name, number[]> {
  return {
    w1: [a.c1, 1, K, K],
    b1: [a.c1],
    w2: [a.c2, a.c1, K, K],
    b2: [a.c2],
    w3: [a.c2 * Q2, a.hidden],
    b3: [a.hidden],
    w4: [a.hidden, a.classes],
    b4: [a.classes],
  };
}

const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
const FAN_IN: Record<Name, (a: Arch) => number> = {
  w1: () => KK,
  b1: () => 1,
  w2: (a) => a.c1 * KK,
  b2: () => 1,
  w3: (a) => a.c2 * Q2,
  b3: () => 1,
  w4: (a) => a.hidden,
  b4: () => 1,
};

export function paramCount(a: Arch): number {
  return Object.values(paramShapes(a)).reduce((n, s) => n + size(s), 0);
}

function checkArch(a: Arch): void {
  for (const k of ['c1', 'c2', 'hidden', 'classes'] as const) {
    if (!Number.isInteger(a[k]) || a[k] < 1 || a[k] > 4096) throw new UserError(`classifier architecture: ${k} = ${a[k]} is not an integer in 1..4096`);
  }
  // the matrix kernels run 4 columns at a time: c1*25 and hidden must be multiples of 4
  if (a.c1 % 4 !== 0 || a.hidden % 4 !== 0) throw new UserError(`classifier architecture: c1 = ${a.c1} and hidden = ${a.hidden} must be multiples of 4`);
}

/** Per-batch activations and gradients, all in the arena (sized for `bmax` images). Exported for the gradient test. */
export class Net {
  readonly ar: F32Arena;
  readonly p: Params;
  readonly g: Params;
  x: Float32Array;
  cols1: Float32Array; // [25][B*576]
  cols1T: Float32Array; // [B*576][28]
  a1: Float32Array; // [c1][B*576]
  p1: Float32Array; // [c1][B*144]
  arg1: Int32Array;
  cols2: Float32Array; // [c1*25][B*64]
  cols2T: Float32Array; // [B*64][c1*25]
  a2: Float32Array; // [c2][B*64]
  p2: Float32Array; // [c2][B*16]
  arg2: Int32Array;
  f: Float32Array; // [B][c2*16]
  fT: Float32Array; // [c2*16][B]
  h: Float32Array; // [B][hidden] after ReLU
  hd: Float32Array; // after dropout
  mask: Float32Array;
  logits: Float32Array; // [B][classes]
  dlog: Float32Array;
  dh: Float32Array;
  w3T: Float32Array; // [hidden][c2*16]
  df: Float32Array; // [B][c2*16]
  da2: Float32Array;
  w2T: Float32Array; // [c1*25][c2]
  dcols2: Float32Array;
  dp1: Float32Array;
  da1: Float32Array;
  dw1: Float32Array; // [c1][28]

  constructor(
    readonly arch: Arch,
    readonly bmax: number,
  ) {
    checkArch(arch);
    const { c1, c2, hidden, classes } = arch;
    const B = bmax;
    const nf = c2 * Q2;
    const r2 = c1 * KK;
    const floats =
      2 * paramCount(arch) +
      B * PIX +
      KK * B * S1 +
      B * S1 * KK4 +
      2 * c1 * B * S1 * 2 +
      2 * c1 * B * Q1 * 2 +
      3 * r2 * B * S2 +
      2 * c2 * B * S2 +
      2 * c2 * B * Q2 +
      3 * B * nf +
      nf * hidden +
      r2 * c2 +
      4 * B * hidden +
      hidden +
      2 * B * classes +
      c1 * KK4;
    this.ar = new F32Arena(4 * floats + 64 * 64);
    const ar = this.ar;
    const shapes = paramShapes(arch);
    const alloc = () => {
      const p = {} as Params;
      for (const k of PARAM_NAMES) p[k] = ar.f32(size(shapes[k]));
      return p;
    };
    this.p = alloc();
    this.g = alloc();
    this.x = ar.f32(B * PIX);
    this.cols1 = ar.f32(KK * B * S1);
    this.cols1T = ar.f32(B * S1 * KK4);
    this.a1 = ar.f32(c1 * B * S1);
    this.p1 = ar.f32(c1 * B * Q1);
    this.arg1 = ar.i32(c1 * B * Q1);
    this.cols2 = ar.f32(r2 * B * S2);
    this.cols2T = ar.f32(B * S2 * r2);
    this.a2 = ar.f32(c2 * B * S2);
    this.p2 = ar.f32(c2 * B * Q2);
    this.arg2 = ar.i32(c2 * B * Q2);
    this.f = ar.f32(B * nf);
    this.fT = ar.f32(nf * B);
    this.h = ar.f32(B * hidden);
    this.hd = ar.f32(B * hidden);
    this.mask = ar.f32(B * hidden);
    this.logits = ar.f32(B * classes);
    this.dlog = ar.f32(B * classes);
    this.dh = ar.f32(B * hidden);
    this.w3T = ar.f32(hidden * nf);
    this.df = ar.f32(B * nf);
    this.da2 = ar.f32(c2 * B * S2);
    this.w2T = ar.f32(r2 * c2);
    this.dcols2 = ar.f32(r2 * B * S2);
    this.dp1 = ar.f32(c1 * B * Q1);
    this.da1 = ar.f32(c1 * B * S1);
    this.dw1 = ar.f32(c1 * KK4);
  }

  /** Forward pass for images [from, from + B) of `images` (784 values 0/1 each). */
  forward(images: ArrayLike<number>, from: number, B: number, dropout = 0, dropKey = 0): void {
    const { c1, c2, hidden, classes } = this.arch;
    const { p, ar } = this;
    const N1 = B * S1;
    const N2 = B * S2;
    const nf = c2 * Q2;
    const r2 = c1 * KK;
    const x = this.x;
    for (let i = 0; i < B * PIX; i++) x[i] = images[from * PIX + i];
    // im2col of the input: cols1[ky*5+kx][b*576 + oy*24 + ox] = x[b][(oy+ky)*28 + ox+kx]
    const cols1 = this.cols1;
    for (let r = 0; r < KK; r++) {
      const ky = (r / K) | 0;
      const kx = r % K;
      for (let b = 0; b < B; b++) {
        for (let oy = 0; oy < O1; oy++) {
          const src = b * PIX + (oy + ky) * IN + kx;
          const dst = r * N1 + b * S1 + oy * O1;
          for (let ox = 0; ox < O1; ox++) cols1[dst + ox] = x[src + ox];
        }
      }
    }
    const a1 = this.a1;
    for (let c = 0; c < c1; c++) a1.fill(p.b1[c], c * N1, (c + 1) * N1);
    ar.gemm(p.w1, cols1, a1, c1, KK, N1);
    reluPool(a1, c1 * B, O1, this.p1, this.arg1);
    // im2col of p1: cols2[ci*25 + ky*5 + kx][b*64 + oy*8 + ox] = p1[ci][b*144 + (oy+ky)*12 + ox+kx]
    const cols2 = this.cols2;
    const p1 = this.p1;
    for (let ci = 0; ci < c1; ci++) {
      for (let r = 0; r < KK; r++) {
        const ky = (r / K) | 0;
        const kx = r % K;
        const row = (ci * KK + r) * N2;
        for (let b = 0; b < B; b++) {
          for (let oy = 0; oy < O2; oy++) {
            const src = ci * B * Q1 + b * Q1 + (oy + ky) * P1 + kx;
            const dst = row + b * S2 + oy * O2;
            for (let ox = 0; ox < O2; ox++) cols2[dst + ox] = p1[src + ox];
          }
        }
      }
    }
    const a2 = this.a2;
    for (let c = 0; c < c2; c++) a2.fill(p.b2[c], c * N2, (c + 1) * N2);
    ar.gemm(p.w2, cols2, a2, c2, r2, N2);
    reluPool(a2, c2 * B, O2, this.p2, this.arg2);
    // flatten per image: f[b][ch*16 + s] = p2[ch][b*16 + s]
    const f = this.f;
    const p2 = this.p2;
    for (let ch = 0; ch < c2; ch++) for (let b = 0; b < B; b++) for (let s = 0; s < Q2; s++) f[b * nf + ch * Q2 + s] = p2[ch * B * Q2 + b * Q2 + s];
    // dense 1 (features): h = relu(f . w3 + b3)
    const h = this.h;
    for (let b = 0; b < B; b++) h.set(p.b3, b * hidden);
    ar.gemm(f, p.w3, h, B, nf, hidden);
    for (let i = 0; i < B * hidden; i++) if (h[i] < 0) h[i] = 0;
    const hd = this.hd;
    const mask = this.mask;
    if (dropout > 0) {
      const keep = 1 / (1 - dropout);
      for (let i = 0; i < B * hidden; i++) {
        mask[i] = uniform(dropKey, i) < dropout ? 0 : keep;
        hd[i] = h[i] * mask[i];
      }
    } else {
      mask.fill(1, 0, B * hidden);
      hd.set(h.subarray(0, B * hidden));
    }
    // dense 2 (logits)
    const lg = this.logits;
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < classes; o++) {
        let s = p.b4[o];
        for (let i = 0; i < hidden; i++) s += hd[b * hidden + i] * p.w4[i * classes + o];
        lg[b * classes + o] = s;
      }
    }
  }

  /** Softmax cross-entropy backward for the batch just run forward; sets the gradients g. Returns the summed loss. */
  backward(labels: ArrayLike<number>, order: ArrayLike<number> | null, from: number, B: number): number {
    const { c1, c2, hidden, classes } = this.arch;
    const { p, g, ar } = this;
    const N1 = B * S1;
    const N2 = B * S2;
    const nf = c2 * Q2;
    const r2 = c1 * KK;
    for (const k of PARAM_NAMES) g[k].fill(0);
    let loss = 0;
    const lg = this.logits;
    const dlog = this.dlog;
    for (let b = 0; b < B; b++) {
      const y = labels[order ? order[from + b] : from + b];
      let m = -Infinity;
      for (let c = 0; c < classes; c++) m = Math.max(m, lg[b * classes + c]);
      let z = 0;
      for (let c = 0; c < classes; c++) z += Math.exp(lg[b * classes + c] - m);
      loss += Math.log(z) + m - lg[b * classes + y];
      for (let c = 0; c < classes; c++) dlog[b * classes + c] = Math.exp(lg[b * classes + c] - m) / z - (c === y ? 1 : 0);
    }
    // dense 2
    const hd = this.hd;
    const dh = this.dh;
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < classes; o++) {
        const d = dlog[b * classes + o];
        g.b4[o] += d;
        for (let i = 0; i < hidden; i++) g.w4[i * classes + o] += d * hd[b * hidden + i];
      }
      for (let i = 0; i < hidden; i++) {
        let s = 0;
        for (let o = 0; o < classes; o++) s += dlog[b * classes + o] * p.w4[i * classes + o];
        // through dropout and the ReLU
        dh[b * hidden + i] = this.h[b * hidden + i] > 0 ? s * this.mask[b * hidden + i] : 0;
      }
    }
    // dense 1: dw3 = f^T . dh; df = dh . w3^T
    for (let b = 0; b < B; b++) for (let i = 0; i < hidden; i++) g.b3[i] += dh[b * hidden + i];
    transpose(this.f, B, nf, this.fT);
    ar.gemm(this.fT, dh, g.w3, nf, B, hidden);
    transpose(p.w3, nf, hidden, this.w3T);
    const df = this.df;
    df.fill(0, 0, B * nf);
    ar.gemm(dh, this.w3T, df, B, hidden, nf);
    // pool 2 + ReLU 2
    const da2 = this.da2;
    da2.fill(0, 0, c2 * N2);
    for (let ch = 0; ch < c2; ch++) {
      for (let b = 0; b < B; b++) {
        for (let s = 0; s < Q2; s++) {
          const q = ch * B * Q2 + b * Q2 + s;
          if (this.p2[q] > 0) da2[this.arg2[q]] += df[b * nf + ch * Q2 + s];
        }
      }
    }
    // conv 2: dw2 = da2 . cols2^T; dcols2 = w2^T . da2
    for (let c = 0; c < c2; c++) {
      let s = 0;
      for (let j = 0; j < N2; j++) s += da2[c * N2 + j];
      g.b2[c] += s;
    }
    transpose(this.cols2, r2, N2, this.cols2T);
    ar.gemm(da2, this.cols2T, g.w2, c2, N2, r2);
    transpose(p.w2, c2, r2, this.w2T);
    const dcols2 = this.dcols2;
    dcols2.fill(0, 0, r2 * N2);
    ar.gemm(this.w2T, da2, dcols2, r2, c2, N2);
    // col2im into dp1
    const dp1 = this.dp1;
    dp1.fill(0, 0, c1 * B * Q1);
    for (let ci = 0; ci < c1; ci++) {
      for (let r = 0; r < KK; r++) {
        const ky = (r / K) | 0;
        const kx = r % K;
        const row = (ci * KK + r) * N2;
        for (let b = 0; b < B; b++) {
          for (let oy = 0; oy < O2; oy++) {
            const dst = ci * B * Q1 + b * Q1 + (oy + ky) * P1 + kx;
            const src = row + b * S2 + oy * O2;
            for (let ox = 0; ox < O2; ox++) dp1[dst + ox] += dcols2[src + ox];
          }
        }
      }
    }
    // pool 1 + ReLU 1
    const da1 = this.da1;
    da1.fill(0, 0, c1 * N1);
    for (let q = 0; q < c1 * B * Q1; q++) if (this.p1[q] > 0) da1[this.arg1[q]] += dp1[q];
    // conv 1: dw1 = da1 . cols1^T (cols1^T padded to 28 columns, the last 3 zero)
    for (let c = 0; c < c1; c++) {
      let s = 0;
      for (let j = 0; j < N1; j++) s += da1[c * N1 + j];
      g.b1[c] += s;
    }
    transpose(this.cols1, KK, N1, this.cols1T, KK4);
    this.dw1.fill(0);
    ar.gemm(da1, this.cols1T, this.dw1, c1, N1, KK4);
    for (let c = 0; c < c1; c++) for (let r = 0; r < KK; r++) g.w1[c * KK + r] += this.dw1[c * KK4 + r];
    return loss;
  }
}

/**
 * ReLU in place over `planes` planes of s x s, then 2x2 max-pool into planes of s/2 x s/2,
 * recording the argmax (an index into `a`).
 */
function reluPool(a: Float32Array, planes: number, s: number, out: Float32Array, arg: Int32Array): void {
  const h = s / 2;
  const n = planes * s * s;
  for (let i = 0; i < n; i++) if (a[i] < 0) a[i] = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * s * s;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < h; x++) {
        const q0 = base + 2 * y * s + 2 * x;
        let best = q0;
        let bv = a[q0];
        if (a[q0 + 1] > bv) {
          bv = a[q0 + 1];
          best = q0 + 1;
        }
        if (a[q0 + s] > bv) {
          bv = a[q0 + s];
          best = q0 + s;
        }
        if (a[q0 + s + 1] > bv) {
          bv = a[q0 + s + 1];
          best = q0 + s + 1;
        }
        const o = pl * h * h + y * h + x;
        out[o] = bv;
        arg[o] = best;
      }
    }
  }
}

const RUN_BATCH = 100;

export class Classifier {
  readonly arch: Arch;
  private net: Net;

  constructor(arch: Arch, params?: Params, bmax = RUN_BATCH) {
    this.arch = arch;
    this.net = new Net(arch, bmax);
    if (params) for (const k of PARAM_NAMES) this.net.p[k].set(params[k]);
  }

  get params(): Params {
    return this.net.p;
  }

  /** Features (the penultimate layer, `hidden` per image), logits and predicted classes of n images (784 values 0/1 each). */
  run(
    images: ArrayLike<number>,
    n: number,
    onProgress?: (done: number, total: number) => void,
  ): { features: Float32Array; predicted: Uint8Array; logits: Float32Array } {
    const { hidden, classes } = this.arch;
    const features = new Float32Array(n * hidden);
    const logits = new Float32Array(n * classes);
    const predicted = new Uint8Array(n);
    const net = this.net;
    for (let from = 0; from < n; from += net.bmax) {
      const B = Math.min(net.bmax, n - from);
      net.forward(images, from, B);
      features.set(net.h.subarray(0, B * hidden), from * hidden);
      logits.set(net.logits.subarray(0, B * classes), from * classes);
      for (let b = 0; b < B; b++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (net.logits[b * classes + c] > net.logits[b * classes + best]) best = c;
        predicted[from + b] = best;
      }
      onProgress?.(from + B, n);
    }
    return { features, predicted, logits };
  }

  accuracy(images: ArrayLike<number>, labels: ArrayLike<number>, n: number): number {
    const { predicted } = this.run(images, n);
    let ok = 0;
    for (let i = 0; i < n; i++) if (predicted[i] === labels[i]) ok++;
    return ok / n;
  }
}

/** He-uniform weights (U(±sqrt(6/fan_in))), zero biases, from counter draws of `seed`. */
export function initParams(a: Arch, seed: number): Params {
  const shapes = paramShapes(a);
  const p = {} as Params;
  PARAM_NAMES.forEach((name, idx) => {
    const arr = new Float32Array(size(shapes[name]));
    if (name.startsWith('w')) {
      const lim = Math.sqrt(6 / FAN_IN[name](a));
      const key = streamKey(seed, 0xc1a5, idx);
      for (let i = 0; i < arr.length; i++) arr[i] = (2 * uniform(key, i) - 1) * lim;
    }
    p[name] = arr;
  });
  return p;
}

// ---------------------------------------------------------------------------------------------
// Training

export interface TrainOptions {
  arch?: Arch;
  seed: number;
  epochs: number;
  batch?: number;
  /** Adam learning rate at the start; cosine decay to lr * lrFloor at the end */
  lr?: number;
  lrFloor?: number;
  dropout?: number;
  /** during an epoch: images done of the epoch's total */
  onProgress?: (done: number, total: number, epoch: number) => void;
  /** after every epoch */
  onEpoch?: (e: { epoch: number; loss: number; valAccuracy: number | null; wallS: number }) => void;
  /** validation images (scored after every epoch) */
  val?: { images: Uint8Array; labels: Uint8Array; n: number };
}

export const TRAIN_DEFAULTS = { batch: 32, lr: 2e-3, lrFloor: 0.02, dropout: 0.3 };

/** Trains a fresh network on binarised images; deterministic for (seed, data, options). */
export function trainClassifier(images: Uint8Array, labels: Uint8Array, n: number, o: TrainOptions): Classifier {
  const arch = o.arch ?? DEFAULT_ARCH;
  const B = o.batch ?? TRAIN_DEFAULTS.batch;
  const lr0 = o.lr ?? TRAIN_DEFAULTS.lr;
  const lrFloor = o.lrFloor ?? TRAIN_DEFAULTS.lrFloor;
  const dropout = o.dropout ?? TRAIN_DEFAULTS.dropout;
  const net = new Net(arch, B);
  const init = initParams(arch, o.seed);
  for (const k of PARAM_NAMES) net.p[k].set(init[k]);
  const m = {} as Params;
  const v = {} as Params;
  for (const k of PARAM_NAMES) {
    m[k] = new Float32Array(net.p[k].length);
    v[k] = new Float32Array(net.p[k].length);
  }
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  const stepsPerEpoch = Math.ceil(n / B);
  const totalSteps = stepsPerEpoch * o.epochs;
  const order = new Int32Array(n);
  const batchImages = new Uint8Array(B * PIX);
  let t = 0;
  const evalNet = o.val ? new Classifier(arch) : null;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const t0 = performance.now();
    // a seeded shuffle per epoch (Fisher-Yates on counter draws)
    for (let i = 0; i < n; i++) order[i] = i;
    const sk = streamKey(o.seed, 0x5f1e, epoch);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(uniform(sk, i) * (i + 1));
      const tmp = order[i];
      order[i] = order[j];
      order[j] = tmp;
    }
    let lossSum = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      const from = s * B;
      const nb = Math.min(n, from + B) - from;
      for (let b = 0; b < nb; b++) batchImages.set(images.subarray(order[from + b] * PIX, (order[from + b] + 1) * PIX), b * PIX);
      net.forward(batchImages, 0, nb, dropout, streamKey(o.seed, 0xd50f, epoch, s));
      lossSum += net.backward(labels, order, from, nb);
      // Adam with a cosine-decayed learning rate
      t++;
      const lr = lr0 * (lrFloor + (1 - lrFloor) * 0.5 * (1 + Math.cos((Math.PI * (t - 1)) / totalSteps)));
      const scale = 1 / nb;
      const c1 = 1 - beta1 ** t;
      const c2 = 1 - beta2 ** t;
      for (const k of PARAM_NAMES) {
        const P = net.p[k];
        const G = net.g[k];
        const M = m[k];
        const V = v[k];
        for (let i = 0; i < P.length; i++) {
          const gi = G[i] * scale;
          M[i] = beta1 * M[i] + (1 - beta1) * gi;
          V[i] = beta2 * V[i] + (1 - beta2) * gi * gi;
          P[i] -= (lr * (M[i] / c1)) / (Math.sqrt(V[i] / c2) + eps);
        }
      }
      if (o.onProgress && (s % 20 === 19 || s === stepsPerEpoch - 1)) o.onProgress(from + nb, n, epoch);
    }
    let valAccuracy: number | null = null;
    if (evalNet && o.val) {
      for (const k of PARAM_NAMES) evalNet.params[k].set(net.p[k]);
      valAccuracy = evalNet.accuracy(o.val.images, o.val.labels, o.val.n);
    }
    o.onEpoch?.({ epoch, loss: lossSum / n, valAccuracy, wallS: (performance.now() - t0) / 1000 });
  }
  const out = new Classifier(arch);
  for (const k of PARAM_NAMES) out.params[k].set(net.p[k]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Weights file: msgpack {format: 'dtca-classifier', version: 1, arch, info, tensors: {name: {shape, dtype, data: float32 LE bytes}},
// weights_sha256}: weights_sha256 is the SHA-256 (64 hex digits) of the tensors' data bytes in the order of PARAM_NAMES

export const CLASSIFIER_FORMAT = 'dtca-classifier';

const DOC_KEYS = new Set(['format', 'version', 'arch', 'info', 'tensors', 'weights_sha256']);

function weightsSha256(data: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const d of data) h.update(d);
  return h.digest('hex');
}

export function serialiseClassifier(net: Classifier, info: Record<string, unknown>): Uint8Array {
  const shapes = paramShapes(net.arch);
  const tensors: Record<string, { shape: number[]; dtype: 'float32'; data: Uint8Array }> = {};
  for (const k of PARAM_NAMES) {
    const f = Float32Array.from(net.params[k]);
    tensors[k] = { shape: shapes[k], dtype: 'float32', data: new Uint8Array(f.buffer) };
  }
  const weights_sha256 = weightsSha256(PARAM_NAMES.map((k) => tensors[k].data));
  return pack({ format: CLASSIFIER_FORMAT, version: 1, arch: net.arch, info, tensors, weights_sha256 });
}

export function deserialiseClassifier(bytes: Uint8Array, where: string): { net: Classifier; info: Record<string, unknown> } {
  let doc: {
    format?: string;
    version?: number;
    arch?: Arch;
    info?: Record<string, unknown>;
    tensors?: Record<string, { shape: number[]; data: Uint8Array }>;
    weights_sha256?: unknown;
  };
  try {
    doc = unpack(bytes);
  } catch (e) {
    throw new UserError(`${where}: not a classifier file (${msgpackProblem(e)})`);
  }
  checkMsgpackKeys(bytes, where);
  if (!doc || typeof doc !== 'object' || doc.format !== CLASSIFIER_FORMAT || doc.version !== 1 || !doc.arch || !doc.tensors) {
    throw new UserError(`${where}: not a ${CLASSIFIER_FORMAT} version 1 file`);
  }
  // a damaged key name must not drop the checksum unnoticed
  for (const key of Object.keys(doc))
    if (!DOC_KEYS.has(key)) throw new UserError(`${where}: unknown top-level key; the file is damaged or not a ${CLASSIFIER_FORMAT} file`);
  const arch = doc.arch;
  checkArch(arch);
  const shapes = paramShapes(arch);
  const p = {} as Params;
  const data: Uint8Array[] = [];
  for (const k of PARAM_NAMES) {
    const t = doc.tensors[k];
    const want = size(shapes[k]);
    if (!t || !(t.data instanceof Uint8Array) || t.data.length !== 4 * want) throw new UserError(`${where}: tensor ${k} missing or not ${want} float32 values`);
    data.push(t.data);
  }
  // a file written before the checksum (no weights_sha256) is read unchecked, as a model without its sha256
  if (doc.weights_sha256 !== undefined) {
    if (typeof doc.weights_sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(doc.weights_sha256))
      throw new UserError(`${where}: weights_sha256: expected 64 lower-case hex digits (the weights' checksum)`);
    if (weightsSha256(data) !== doc.weights_sha256)
      throw new UserError(`${where}: checksum mismatch: the weights changed after they were written (a damaged copy?)`);
  }
  PARAM_NAMES.forEach((k, i) => {
    const f = new Float32Array(data[i].length / 4);
    new Uint8Array(f.buffer).set(data[i]);
    for (const x of f) if (!Number.isFinite(x)) throw new UserError(`${where}: tensor ${k} holds a non-finite value`);
    p[k] = f;
  });
  return { net: new Classifier(arch, p), info: doc.info ?? {} };
}

export function readClassifier(path: string): { net: Classifier; info: Record<string, unknown> } {
  let bytes: Uint8Array;
  try {
    bytes = readInputFile(path, { what: 'classifier weights file', max: READ_LIMITS.data });
  } catch (e) {
    throw new UserError(`classifier ${(e as Error).message}; retrain it with "dtca eval --train-classifier"`);
  }
  return deserialiseClassifier(bytes, `classifier ${path}`);
}

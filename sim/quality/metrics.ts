/**
 * Sample-quality metrics on binarised 28x28 images: the Fréchet distance between two sets of
 * feature vectors, per-pixel marginal error, within-class diversity, and the `factorised`
 * yardstick sampler (independent pixels from each class's pixel marginals).
 */
import { streamKey, uniform } from '../../rng/counter.js';
import { PIXELS } from '../fmnist.js';

const FULL_PIXELS = PIXELS;

// ---------------------------------------------------------------------------------------------
// Linear algebra (double precision)

/** Mean (d) and unbiased covariance (d x d, row-major) of n feature vectors of length d. */
export function meanCov(x: ArrayLike<number>, n: number, d: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) c[j] = x[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ca = c[a];
      if (ca === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) cov[row + b] += ca * c[b];
    }
  }
  const div = n > 1 ? n - 1 : 1;
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b] / div;
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { mean, cov };
}

/**
 * Eigen-decomposition of a symmetric matrix (cyclic Jacobi): eigenvalues and, column k of
 * `vectors` (row-major n x n), the k-th eigenvector. The input is not modified.
 */
export function symmetricEigen(m: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(a[i]));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off <= (1e-30 * scale) ** 2 || Math.sqrt(off) <= 1e-15 * scale) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // rotate rows/columns p and q
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** Symmetric positive semi-definite square root (negative eigenvalues from rounding are clipped to 0). */
export function sqrtPsd(m: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(0, values[k]));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * s;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return out;
}

/**
 * Eigenvalues only of a symmetric matrix (input not modified), ascending: Householder reflections
 * bring it to tridiagonal form, then the QL iteration with implicit Wilkinson shifts finds the
 * tridiagonal's eigenvalues. O(4/3 n^3), about 15x faster than the Jacobi sweeps of
 * symmetricEigen at n = 128, for callers that need no vectors (the bootstrap of the FD).
 */
export function symmetricEigenvalues(m: ArrayLike<number>, n: number): Float64Array {
  const a = Float64Array.from(m);
  const diag = new Float64Array(n);
  const off = new Float64Array(n); // off[i]: the element between rows i and i + 1
  const u = new Float64Array(n);
  const p = new Float64Array(n);
  // reduce columns 0 .. n-3: zero a[k][i] for k > i + 1 with a reflection of rows/columns i+1..n-1
  for (let i = 0; i < n - 2; i++) {
    let norm2 = 0;
    for (let k = i + 1; k < n; k++) norm2 += a[k * n + i] * a[k * n + i];
    const x0 = a[(i + 1) * n + i];
    if (norm2 === 0 || norm2 === x0 * x0) {
      off[i] = x0;
      continue;
    }
    const alpha = x0 > 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    // u = x - alpha e1, H = I - 2 u u^T / (u^T u)
    for (let k = i + 1; k < n; k++) u[k] = a[k * n + i];
    u[i + 1] -= alpha;
    const uu = norm2 - x0 * x0 + u[i + 1] * u[i + 1];
    // A' = H A H on the trailing block: p = A u / (u^T u / 2), K = u^T p / (2 (u^T u / 2)), q = p - K u
    const h = uu / 2;
    let up = 0;
    for (let r = i + 1; r < n; r++) {
      let s = 0;
      for (let c = i + 1; c < n; c++) s += a[r * n + c] * u[c];
      p[r] = s / h;
      up += u[r] * p[r];
    }
    const K = up / (2 * h);
    for (let r = i + 1; r < n; r++) p[r] -= K * u[r];
    for (let r = i + 1; r < n; r++) {
      for (let c = i + 1; c < n; c++) a[r * n + c] -= u[r] * p[c] + p[r] * u[c];
    }
    off[i] = alpha;
  }
  for (let i = 0; i < n; i++) diag[i] = a[i * n + i];
  if (n >= 2) off[n - 2] = a[(n - 1) * n + n - 2];
  off[n - 1] = 0;
  // QL with implicit shifts on the tridiagonal (diag, off). An off-diagonal element is dropped when
  // it is below a rounding of its neighbours or of the whole matrix (a rank-deficient covariance has
  // runs of zero eigenvalues, where a relative test alone never ends); either moves an eigenvalue by
  // no more than the reduction's own roundings do
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(diag[i]) + Math.abs(off[i]) + (i > 0 ? Math.abs(off[i - 1]) : 0));
  const floor = Number.EPSILON * norm;
  for (let l = 0; l < n; l++) {
    for (let iter = 0; ; iter++) {
      let mm = l;
      for (; mm < n - 1; mm++) {
        const dd = Math.abs(diag[mm]) + Math.abs(diag[mm + 1]);
        if (Math.abs(off[mm]) <= Number.EPSILON * dd || Math.abs(off[mm]) <= floor) break;
      }
      if (mm === l) break;
      if (iter === 60) throw new Error('symmetricEigenvalues: the QL iteration did not converge');
      let g = (diag[l + 1] - diag[l]) / (2 * off[l]);
      let r = Math.hypot(g, 1);
      g = diag[mm] - diag[l] + off[l] / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let q = 0;
      let i = mm - 1;
      for (; i >= l; i--) {
        const f = s * off[i];
        const b = c * off[i];
        r = Math.hypot(f, g);
        off[i + 1] = r;
        if (r === 0) {
          diag[i + 1] -= q;
          off[mm] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = diag[i + 1] - q;
        r = (diag[i] - g) * s + 2 * c * b;
        q = s * r;
        diag[i + 1] = g + q;
        g = c * r - b;
      }
      if (r === 0 && i >= l) continue;
      diag[l] -= q;
      off[l] = g;
      off[mm] = 0;
    }
  }
  return diag.sort();
}

/** `m` (n x n) made exactly symmetric, in place, against the rounding of the products that made it: each pair of mirrored elements replaced by their mean. */
function symmetrised(m: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (m[i * n + j] + m[j * n + i]);
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
  return m;
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}

/**
 * Fréchet distance between Gaussians fitted to two sets of d-dimensional features:
 * |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), with Tr (S1 S2)^(1/2) computed as the sum of the
 * square roots of the eigenvalues of the symmetric S1^(1/2) S2 S1^(1/2).
 */
export function frechetDistance(a: ArrayLike<number>, na: number, b: ArrayLike<number>, nb: number, d: number): number {
  const A = meanCov(a, na, d);
  const B = meanCov(b, nb, d);
  let mu = 0;
  for (let j = 0; j < d; j++) mu += (A.mean[j] - B.mean[j]) ** 2;
  let tr = 0;
  for (let j = 0; j < d; j++) tr += A.cov[j * d + j] + B.cov[j * d + j];
  const s1 = sqrtPsd(A.cov, d);
  const m = symmetrised(matmul(matmul(s1, B.cov, d), s1, d), d);
  const { values } = symmetricEigen(m, d);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(0, v));
  return Math.max(0, mu + tr - 2 * trSqrt);
}

/** Bootstrap resamples `fdStandardError` draws unless told otherwise: its estimate's own relative error is about 1 / sqrt(2 (B - 1)), 10 % at 50. */
export const FD_BOOTSTRAP_RESAMPLES = 50;

/**
 * The standard error of frechetDistance(a, b) that comes from the sample a (b, the reference, held
 * fixed): the standard deviation of the FD over `resamples` bootstrap resamples of a's n vectors,
 * each drawn with replacement — within its group when `groups` is given, so a class-clamped sample
 * keeps its class counts as a new generation of it would. It says how far the FD of another N
 * images from the same generator would lie from this one: two designs whose FDs differ by less
 * than about twice their combined standard errors are not told apart at this N. Deterministic in
 * `seed`. (The resamples' FDs are computed as Tr sqrt(S_b^1/2 S_a S_b^1/2), the same quantity as
 * frechetDistance's with the roles of the square root swapped, so S_b's root is taken once.)
 */
export function fdStandardError(
  a: ArrayLike<number>,
  na: number,
  b: ArrayLike<number>,
  nb: number,
  d: number,
  o: { resamples?: number; seed?: number; groups?: ArrayLike<number> | null } = {},
): number {
  const resamples = o.resamples ?? FD_BOOTSTRAP_RESAMPLES;
  if (!(Number.isInteger(resamples) && resamples >= 2)) throw new RangeError(`fdStandardError: resamples must be an integer >= 2, got ${resamples}`);
  if (!(Number.isInteger(na) && na >= 2)) throw new RangeError(`fdStandardError: needs at least 2 vectors, got ${na}`);
  const B = meanCov(b, nb, d);
  const sB = sqrtPsd(B.cov, d);
  let trB = 0;
  for (let j = 0; j < d; j++) trB += B.cov[j * d + j];
  // the members of each group (one group of all without `groups`)
  const members = new Map<number, number[]>();
  for (let i = 0; i < na; i++) {
    const g = o.groups ? o.groups[i] : 0;
    const list = members.get(g) ?? [];
    list.push(i);
    members.set(g, list);
  }
  const x = new Float64Array(na * d);
  const fds = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    const key = streamKey(o.seed ?? 1, 0xb007, r);
    let slot = 0;
    for (const list of members.values()) {
      for (let k = 0; k < list.length; k++) {
        const src = list[Math.min(list.length - 1, Math.floor(uniform(key, slot) * list.length))] * d;
        for (let j = 0; j < d; j++) x[slot * d + j] = a[src + j];
        slot++;
      }
    }
    const A = meanCov(x, na, d);
    let mu = 0;
    let tr = trB;
    for (let j = 0; j < d; j++) {
      mu += (A.mean[j] - B.mean[j]) ** 2;
      tr += A.cov[j * d + j];
    }
    const m = symmetrised(matmul(matmul(sB, A.cov, d), sB, d), d);
    let trSqrt = 0;
    for (const v of symmetricEigenvalues(m, d)) trSqrt += Math.sqrt(Math.max(0, v));
    fds[r] = Math.max(0, mu + tr - 2 * trSqrt);
  }
  let mean = 0;
  for (const v of fds) mean += v;
  mean /= resamples;
  let ss = 0;
  for (const v of fds) ss += (v - mean) ** 2;
  return Math.sqrt(ss / (resamples - 1));
}

// ---------------------------------------------------------------------------------------------
// Pixels

/** Per-pixel mean (fraction of 1s) over n images of 784 bits. */
export function pixelMeans(images: ArrayLike<number>, n: number): Float64Array {
  const m = new Float64Array(PIXELS);
  for (let i = 0; i < n; i++) for (let p = 0; p < PIXELS; p++) m[p] += images[i * PIXELS + p];
  for (let p = 0; p < PIXELS; p++) m[p] /= n;
  return m;
}

/** Mean over pixels of |p_a - p_b|, p the fraction of images with the pixel on. */
export function marginalError(a: ArrayLike<number>, na: number, b: ArrayLike<number>, nb: number): number {
  const ma = pixelMeans(a, na);
  const mb = pixelMeans(b, nb);
  let s = 0;
  for (let p = 0; p < PIXELS; p++) s += Math.abs(ma[p] - mb[p]);
  return s / PIXELS;
}

const WORDS = Math.ceil(PIXELS / 32);

function packRows(images: ArrayLike<number>, n: number): Uint32Array {
  const out = new Uint32Array(n * WORDS);
  for (let i = 0; i < n; i++) for (let p = 0; p < PIXELS; p++) if (images[i * PIXELS + p]) out[i * WORDS + (p >> 5)] |= 1 << (p & 31);
  return out;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Mean pairwise Hamming distance, as a fraction of the 784 pixels, over all pairs of images in the
 * same group (pairs pooled over groups). NaN when no group has two images.
 */
export function withinGroupHamming(images: ArrayLike<number>, n: number, groups: ArrayLike<number>): number {
  const packed = packRows(images, n);
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const g = groups[i];
    let list = byGroup.get(g);
    if (!list) byGroup.set(g, (list = []));
    list.push(i);
  }
  let sum = 0;
  let pairs = 0;
  for (const list of byGroup.values()) {
    for (let x = 0; x < list.length; x++) {
      const ox = list[x] * WORDS;
      for (let y = x + 1; y < list.length; y++) {
        const oy = list[y] * WORDS;
        let d = 0;
        for (let w = 0; w < WORDS; w++) d += popcount(packed[ox + w] ^ packed[oy + w]);
        sum += d;
        pairs++;
      }
    }
  }
  return pairs === 0 ? NaN : sum / pairs / PIXELS;
}

// ---------------------------------------------------------------------------------------------
// The factorised yardstick

/** Per-class pixel marginals (classes x pixels, 784 by default) from labelled images. */
export function classMarginals(images: ArrayLike<number>, labels: ArrayLike<number>, n: number, classes = 10, PIXELS = FULL_PIXELS): Float64Array {
  const m = new Float64Array(classes * PIXELS);
  const count = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    count[c]++;
    for (let p = 0; p < PIXELS; p++) m[c * PIXELS + p] += images[i * PIXELS + p];
  }
  for (let c = 0; c < classes; c++) for (let p = 0; p < PIXELS; p++) m[c * PIXELS + p] = count[c] > 0 ? m[c * PIXELS + p] / count[c] : 0;
  return m;
}

/** Images with independent pixels: image i's pixel p is on with probability marginals[labels[i]][p]. */
export function sampleFactorised(marginals: Float64Array, labels: ArrayLike<number>, n: number, seed: number, PIXELS = FULL_PIXELS): Uint8Array {
  const out = new Uint8Array(n * PIXELS);
  for (let i = 0; i < n; i++) {
    const key = streamKey(seed, 0xfac7, i);
    const base = labels[i] * PIXELS;
    for (let p = 0; p < PIXELS; p++) out[i * PIXELS + p] = uniform(key, p) < marginals[base + p] ? 1 : 0;
  }
  return out;
}

// Quality metrics on hand-made cases: the Fréchet distance against closed forms, marginal error,
// diversity, the factorised sampler's statistics, and the yardsticks' order on the fixture.
import { describe, it, expect, beforeAll } from 'vitest';
import { fileURLToPath } from 'node:url';
import {
  frechetDistance,
  meanCov,
  symmetricEigen,
  symmetricEigenvalues,
  fdStandardError,
  sqrtPsd,
  marginalError,
  withinGroupHamming,
  classMarginals,
  sampleFactorised,
  pixelMeans,
} from '../sim/quality/metrics.js';
import { matchClasses } from '../sim/quality/eval.js';
import { readClassifier } from '../sim/quality/classifier.js';
import { CLASSIFIER_PATH } from '../sim/quality/train.js';
import { readImageSet, PIXELS } from '../sim/fmnist.js';
import { streamKey, normal } from '../rng/counter.js';

const FIXTURE = (split: string) => fileURLToPath(new URL(`./fixtures/fmnist-${split}-400.bin.gz`, import.meta.url));

/** n points in d dimensions: x = mean + L z with z standard normal (counter draws). */
function gaussian(n: number, mean: number[], L: number[][], seed: number): Float64Array {
  const d = mean.length;
  const key = streamKey(seed, 11);
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: d }, (_, k) => normal(key, i * d + k));
    for (let a = 0; a < d; a++) {
      let s = mean[a];
      for (let b = 0; b < d; b++) s += L[a][b] * z[b];
      out[i * d + a] = s;
    }
  }
  return out;
}

describe('Fréchet distance', () => {
  it('is zero for identical sets', () => {
    const x = gaussian(
      300,
      [1, -2, 0.5, 3],
      [
        [1, 0, 0, 0],
        [0.5, 2, 0, 0],
        [0, 0.3, 0.7, 0],
        [0.2, 0, 0, 1.5],
      ],
      1,
    );
    const fd = frechetDistance(x, 300, x, 300, 4);
    expect(Math.abs(fd)).toBeLessThan(1e-9);
  });

  it('matches the closed form |dmu|^2 + sum (sigma1 - sigma2)^2 for diagonal covariances', () => {
    // two hand-made 2-D sets with exactly diagonal sample covariances
    const a = Float64Array.from([0, 0, 2, 0, 0, 2, 2, 2]); // mean (1,1), var (4/3, 4/3)
    const b = Float64Array.from([5, 1, 5, 7, 11, 1, 11, 7]); // mean (8,4), var (12, 12)
    const va = 4 / 3;
    const vb = 12;
    const want = 7 ** 2 + 3 ** 2 + 2 * (Math.sqrt(va) - Math.sqrt(vb)) ** 2;
    expect(frechetDistance(a, 4, b, 4, 2)).toBeCloseTo(want, 9);
  });

  it('matches the 2x2 closed form Tr sqrt(S1 S2) = sqrt(tr(S1 S2) + 2 sqrt(det(S1 S2))) for non-commuting covariances', () => {
    const a = gaussian(
      500,
      [0, 0],
      [
        [1, 0],
        [0.8, 0.6],
      ],
      2,
    );
    const b = gaussian(
      500,
      [0.3, -0.2],
      [
        [0.5, 0],
        [-0.4, 1.2],
      ],
      3,
    );
    const A = meanCov(a, 500, 2);
    const B = meanCov(b, 500, 2);
    const [p, q, , s] = A.cov;
    const [e, f, , h] = B.cov;
    const m = [p * e + q * f, p * f + q * h, q * e + s * f, q * f + s * h];
    const trM = m[0] + m[3];
    const detM = m[0] * m[3] - m[1] * m[2];
    const trSqrt = Math.sqrt(trM + 2 * Math.sqrt(detM));
    const mu = (A.mean[0] - B.mean[0]) ** 2 + (A.mean[1] - B.mean[1]) ** 2;
    const want = mu + p + s + e + h - 2 * trSqrt;
    expect(frechetDistance(a, 500, b, 500, 2)).toBeCloseTo(want, 9);
  });

  it('eigen-decomposition and square root reconstruct the matrix', () => {
    const x = gaussian(
      200,
      [0, 0, 0, 0, 0],
      [
        [1, 0, 0, 0, 0],
        [0.5, 1, 0, 0, 0],
        [0.1, 0.2, 1, 0, 0],
        [0, 0.4, 0.3, 1, 0],
        [0.3, 0, 0, 0.6, 1],
      ],
      4,
    );
    const { cov } = meanCov(x, 200, 5);
    const { values, vectors } = symmetricEigen(cov, 5);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        let s = 0;
        for (let k = 0; k < 5; k++) s += vectors[i * 5 + k] * values[k] * vectors[j * 5 + k];
        expect(s).toBeCloseTo(cov[i * 5 + j], 10);
      }
    }
    const r = sqrtPsd(cov, 5);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        let s = 0;
        for (let k = 0; k < 5; k++) s += r[i * 5 + k] * r[k * 5 + j];
        expect(s).toBeCloseTo(cov[i * 5 + j], 10);
      }
    }
  });
});

describe('eigenvalues alone (Householder and QL)', () => {
  it("equal the Jacobi sweeps' eigenvalues on random, diagonal, repeated and zero matrices", () => {
    const key = streamKey(5, 21);
    let k = 0;
    const cases: [Float64Array, number][] = [];
    for (const n of [1, 2, 3, 7, 40]) {
      const m = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = i; j < n; j++) {
          const v = normal(key, k++);
          m[i * n + j] = v;
          m[j * n + i] = v;
        }
      cases.push([m, n]);
    }
    const diag = new Float64Array(16);
    [3, -1, 3, 0.5].forEach((v, i) => (diag[i * 4 + i] = v));
    cases.push([diag, 4], [new Float64Array(9), 3]);
    // a covariance of 5 points in 8 dimensions: rank 4, four eigenvalues 0
    const x = gaussian(
      5,
      new Array(8).fill(0),
      Array.from({ length: 8 }, (_, a) => Array.from({ length: 8 }, (_, b) => (a === b ? 1 : 0))),
      3,
    );
    cases.push([meanCov(x, 5, 8).cov, 8]);
    // as the classifier's features give them: 30 vectors in 128 dimensions, ReLU'd, a third of the
    // dimensions never active (zero rows and columns) — runs of zero eigenvalues, where a relative
    // test alone never ended the QL iteration (dtca eval's bootstrap on 30 images threw)
    const k2 = streamKey(6, 22);
    const feats = new Float64Array(30 * 128);
    for (let i = 0; i < 30 * 128; i++) feats[i] = i % 128 < 40 ? 0 : Math.max(0, normal(k2, i));
    cases.push([meanCov(feats, 30, 128).cov, 128]);
    for (const [m, n] of cases) {
      const want = [...symmetricEigen(m, n).values].sort((a, b) => a - b);
      const got = symmetricEigenvalues(m, n);
      const scale = Math.max(1, ...want.map(Math.abs));
      for (let i = 0; i < n; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-12 * n * scale);
    }
  });
});

describe("the FD's bootstrap standard error", () => {
  const d = 5;
  const I = Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => (a === b ? 1 : 0)));
  const scaled = (f: number) => I.map((row) => row.map((v) => v * f));
  /** n vectors in two classes of equal count: class c has mean (2c - 1) * shift, sd 1.3 */
  const twoClass = (n: number, shift: number, seed: number): Float64Array => {
    const a = gaussian(n / 2, new Array(d).fill(-shift), scaled(1.3), seed);
    const b = gaussian(n / 2, new Array(d).fill(shift), scaled(1.3), seed + 5000);
    const out = new Float64Array(n * d);
    out.set(a, 0);
    out.set(b, (n / 2) * d);
    return out;
  };
  const n = 200;
  const groups = Uint8Array.from({ length: n }, (_, i) => (i < n / 2 ? 0 : 1));
  // classes far apart (means 6 apart in each of 5 dimensions), the generator's a little further
  const ref = twoClass(2000, 3, 999);
  const sdOf = (v: number[]) => {
    const m = v.reduce((x, y) => x + y, 0) / v.length;
    return Math.sqrt(v.reduce((x, y) => x + (y - m) ** 2, 0) / (v.length - 1));
  };
  // the truth: the FD's spread over K independent samples of the generator, class counts fixed as a
  // class-clamped generation has them; estimated to a relative 1 / sqrt(2 (K - 1)) = 9 %
  const K = 60;
  const truth = sdOf(Array.from({ length: K }, (_, k) => frechetDistance(twoClass(n, 3.3, 10 + k), n, ref, 2000, d)));
  // the estimate: the bootstrap SE of S of those samples, averaged; one estimate varies by about
  // 10 % (B = 50) plus its sample's own share, so the mean of S = 10 by about 5 %. With the truth's
  // 9 %, a combined relative 11 %: the band is four of those
  const S = 10;
  const band = 4 * Math.sqrt(1 / (2 * (K - 1)) + 0.05 ** 2);
  const meanSe = (withGroups: boolean) => {
    let se = 0;
    for (let k = 0; k < S; k++) se += fdStandardError(twoClass(n, 3.3, 10 + k), n, ref, 2000, d, { seed: 1 + k, groups: withGroups ? groups : null }) / S;
    return se;
  };

  it('is the spread of the FD over independent samples of the same generator, within its own uncertainty', () => {
    expect(Math.abs(meanSe(true) / truth - 1)).toBeLessThan(band);
  });

  it('resamples within each group: without the groups the class counts vary and the spread is overstated', () => {
    // a class share off by its standard deviation, sqrt(n / 4) = 7 of 200, moves the mixture's mean
    // by about 0.2 in every dimension and its covariance by the between-class term
    expect(meanSe(false) / truth - 1).toBeGreaterThan(band);
  });

  it('is deterministic in its seed, and refuses fewer than two resamples or vectors', () => {
    const x = twoClass(n, 1.2, 10);
    expect(fdStandardError(x, n, ref, 2000, d, { seed: 3, groups })).toBe(fdStandardError(x, n, ref, 2000, d, { seed: 3, groups }));
    expect(fdStandardError(x, n, ref, 2000, d, { seed: 4, groups })).not.toBe(fdStandardError(x, n, ref, 2000, d, { seed: 3, groups }));
    expect(() => fdStandardError(x, n, ref, 2000, d, { resamples: 1 })).toThrow(/resamples/);
    expect(() => fdStandardError(x, 1, ref, 2000, d)).toThrow(/at least 2/);
  });
});

describe('pixel metrics', () => {
  const img = (on: number[]) => {
    const a = new Uint8Array(PIXELS);
    for (const p of on) a[p] = 1;
    return a;
  };
  const cat = (...xs: Uint8Array[]) => {
    const out = new Uint8Array(xs.length * PIXELS);
    xs.forEach((x, i) => out.set(x, i * PIXELS));
    return out;
  };

  it('marginal error: 0 for identical sets, 1 for all-off against all-on, exact for hand-made marginals', () => {
    const a = cat(img([1, 2]), img([2, 3]));
    expect(marginalError(a, 2, a, 2)).toBe(0);
    const off = new Uint8Array(PIXELS);
    const on = new Uint8Array(PIXELS).fill(1);
    expect(marginalError(off, 1, on, 1)).toBe(1);
    // a: p1 = 0.5, p2 = 1, p3 = 0.5; b: all off -> (0.5 + 1 + 0.5) / 784
    expect(marginalError(a, 2, cat(off, off), 2)).toBeCloseTo(2 / PIXELS, 15);
  });

  it('diversity: mean pairwise Hamming within groups, pooled over pairs', () => {
    // group 0: three images (all three pairwise distances are 2); group 1: two images at distance 1
    const set = cat(img([0, 1]), img([0, 2]), img([2, 3, 0, 1]), img([]), img([5]));
    const h = withinGroupHamming(set, 5, [0, 0, 0, 1, 1]);
    const d = (x: number[], y: number[]) => x.filter((p) => !y.includes(p)).length + y.filter((p) => !x.includes(p)).length;
    const imgs = [
      [0, 1],
      [0, 2],
      [2, 3, 0, 1],
    ];
    const want = (d(imgs[0], imgs[1]) + d(imgs[0], imgs[2]) + d(imgs[1], imgs[2]) + 1) / 4 / PIXELS;
    expect(want).toBe(7 / 4 / PIXELS);
    expect(h).toBeCloseTo(want, 15);
    expect(Number.isNaN(withinGroupHamming(set, 2, [0, 1]))).toBe(true);
  });

  it('the factorised sampler draws each pixel with its class marginal (4.75 standard errors)', () => {
    const m = new Float64Array(2 * PIXELS);
    for (let p = 0; p < PIXELS; p++) {
      m[p] = p / PIXELS;
      m[PIXELS + p] = 1 - p / PIXELS;
    }
    const n = 4000;
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 2);
    const s = sampleFactorised(m, labels, n, 7);
    const est = classMarginals(s, labels, n, 2);
    for (let c = 0; c < 2; c++) {
      for (let p = 0; p < PIXELS; p += 7) {
        const q = m[c * PIXELS + p];
        const se = Math.sqrt((q * (1 - q)) / (n / 2));
        expect(Math.abs(est[c * PIXELS + p] - q)).toBeLessThanOrEqual(4.75 * se + 1e-12);
      }
    }
    // pixels are independent: the correlation of two pixels with p = 0.5 is ~0
    const a = 392;
    const b = 393;
    let both = 0;
    for (let i = 0; i < n; i += 2) both += s[i * PIXELS + a] * s[i * PIXELS + b];
    const pa = m[a];
    const pb = m[b];
    const expected = pa * pb;
    const se = Math.sqrt((expected * (1 - expected)) / (n / 2));
    expect(Math.abs(both / (n / 2) - expected)).toBeLessThan(4.75 * se);
    expect(pixelMeans(s, 1).length).toBe(PIXELS);
  });
});

describe('yardsticks on the fixture, with the committed classifier', () => {
  const train = readImageSet(FIXTURE('train'));
  const test = readImageSet(FIXTURE('test'));
  const N = 200;
  const seq = Uint8Array.from({ length: N }, (_, i) => i % 10);
  const ref = matchClasses(test, seq, 'fixture test');
  const real = matchClasses(train, seq, 'fixture train');
  const marg = classMarginals(train.images, train.labels, train.n);
  let fd: (images: Uint8Array) => number;
  beforeAll(() => {
    const { net } = readClassifier(CLASSIFIER_PATH);
    const refF = net.run(ref.images, N).features;
    fd = (images) => frechetDistance(net.run(images, N).features, N, refF, N, net.arch.hidden);
  });

  it('real images (floor) score better than independent pixels (factorised) on FD, marginal error aside', () => {
    const floor = fd(real.images);
    const fact = fd(sampleFactorised(marg, seq, N, 1));
    expect(floor).toBeLessThan(fact);
    // both reproduce the class marginals about equally well; FD is what separates them
    const meFloor = marginalError(real.images, N, ref.images, N);
    const meFact = marginalError(sampleFactorised(marg, seq, N, 1), N, ref.images, N);
    expect(Math.abs(meFloor - meFact)).toBeLessThan(0.5 * Math.max(meFloor, meFact));
  });

  it('a model that only reproduces pixel marginals scores no better than factorised on FD', () => {
    // independent pixels from the reference's own class marginals: the best any marginals-only
    // model can do. Spread of the factorised FD over seeds gives the tolerance.
    const own = classMarginals(ref.images, ref.labels, N);
    const fds = [1, 2, 3, 4, 5, 6].map((s) => fd(sampleFactorised(marg, seq, N, s)));
    const mean = fds.reduce((x, y) => x + y, 0) / fds.length;
    const sd = Math.sqrt(fds.reduce((x, y) => x + (y - mean) ** 2, 0) / (fds.length - 1));
    const ownFd = fd(sampleFactorised(own, seq, N, 99));
    expect(ownFd).toBeGreaterThan(mean - 4.75 * sd * Math.sqrt(1 + 1 / fds.length));
    expect(ownFd).toBeGreaterThan(fd(real.images));
  });
});

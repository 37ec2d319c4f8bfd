/** Small statistics helpers for the tests: exact enumeration, chi-square thresholds, Onsager. */

export interface SmallModel {
  n: number;
  beta: number;
  bias: number[];
  edges: [number, number, number][];
  clamp?: Map<number, number>;
}

/** Exact Boltzmann distribution over all 2^n states (clamped cells fixed). State bit i = (s_i = +1). */
export function exactDistribution(m: SmallModel): Float64Array {
  const S = 1 << m.n;
  const p = new Float64Array(S);
  let Z = 0;
  for (let x = 0; x < S; x++) {
    let ok = true;
    if (m.clamp) for (const [i, v] of m.clamp) if ((((x >> i) & 1) === 1 ? 1 : -1) !== v) ok = false;
    if (!ok) continue;
    const s = (i: number) => (((x >> i) & 1) === 1 ? 1 : -1);
    let e = 0;
    for (let i = 0; i < m.n; i++) e += m.bias[i] * s(i);
    for (const [i, j, w] of m.edges) e += w * s(i) * s(j);
    p[x] = Math.exp(m.beta * e); // exp(-E), E = -beta(...)
    Z += p[x];
  }
  for (let x = 0; x < S; x++) p[x] /= Z;
  return p;
}

export function exactMoments(m: SmallModel, p: Float64Array): { mean: number[]; corr: number[] } {
  const mean = new Array(m.n).fill(0);
  const corr = new Array(m.edges.length).fill(0);
  for (let x = 0; x < p.length; x++) {
    if (p[x] === 0) continue;
    const s = (i: number) => (((x >> i) & 1) === 1 ? 1 : -1);
    for (let i = 0; i < m.n; i++) mean[i] += p[x] * s(i);
    m.edges.forEach(([i, j], e) => (corr[e] += p[x] * s(i) * s(j)));
  }
  return { mean, corr };
}

/** Upper critical value of chi-square with df degrees of freedom for a normal quantile z (Wilson–Hilferty). */
export function chiSquareCritical(df: number, z: number): number {
  const a = 2 / (9 * df);
  return df * Math.pow(1 - a + z * Math.sqrt(a), 3);
}

/** Pearson chi-square of counts against probabilities, pooling bins with expected count < 5. */
export function chiSquare(counts: Float64Array, p: Float64Array, n: number): { stat: number; df: number } {
  let stat = 0;
  let bins = 0;
  let poolObs = 0;
  let poolExp = 0;
  for (let x = 0; x < p.length; x++) {
    const e = p[x] * n;
    if (e === 0) {
      if (counts[x] > 0) return { stat: Infinity, df: 1 };
      continue;
    }
    if (e < 5) {
      poolObs += counts[x];
      poolExp += e;
      continue;
    }
    stat += (counts[x] - e) ** 2 / e;
    bins++;
  }
  if (poolExp > 0) {
    stat += (poolObs - poolExp) ** 2 / poolExp;
    bins++;
  }
  return { stat, df: bins - 1 };
}

/** Complete elliptic integral of the first kind K(k) by the arithmetic-geometric mean. */
export function ellipticK(k: number): number {
  let a = 1;
  let b = Math.sqrt(1 - k * k);
  for (let i = 0; i < 40; i++) {
    const an = (a + b) / 2;
    b = Math.sqrt(a * b);
    a = an;
  }
  return Math.PI / (2 * a);
}

/** Onsager: nearest-neighbour <s_i s_j> of the infinite 2D Ising ferromagnet at coupling K = beta J. */
export function onsagerNN(K: number): number {
  const k = (2 * Math.sinh(2 * K)) / Math.cosh(2 * K) ** 2;
  const t = Math.tanh(2 * K);
  const uOverJ = -(1 / Math.tanh(2 * K)) * (1 + (2 / Math.PI) * (2 * t * t - 1) * ellipticK(k));
  return -uOverJ / 2;
}

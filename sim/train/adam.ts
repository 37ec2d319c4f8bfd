/** Adam (ascent form) and the cosine learning-rate schedule of the authors' training code. */

export interface AdamParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const ADAM_DEFAULTS: AdamParams = { lr: 0.016, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

export class Adam {
  readonly m: Float64Array;
  readonly v: Float64Array;
  t = 0;

  constructor(n: number) {
    this.m = new Float64Array(n);
    this.v = new Float64Array(n);
  }

  /** theta += lr * mhat / (sqrt(vhat) + eps), with g the ascent direction */
  step(theta: Float64Array, g: Float64Array, lr: number, p: AdamParams): void {
    this.t++;
    const b1 = p.beta1;
    const b2 = p.beta2;
    const c1 = 1 - Math.pow(b1, this.t);
    const c2 = 1 - Math.pow(b2, this.t);
    const { m, v } = this;
    for (let k = 0; k < theta.length; k++) {
      m[k] = b1 * m[k] + (1 - b1) * g[k];
      v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k];
      theta[k] += (lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + p.eps);
    }
  }
}

/** lr at progress f in [0, 1]: lr0 ((1 - alpha) (1 + cos(pi f)) / 2 + alpha) */
export function cosineLr(lr0: number, alpha: number, f: number): number {
  const x = Math.min(1, Math.max(0, f));
  return lr0 * ((1 - alpha) * 0.5 * (1 + Math.cos(Math.PI * x)) + alpha);
}

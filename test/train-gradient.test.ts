// The trainer's contrastive gradient against the exact log-likelihood gradient of a tiny DTM stage
// (exact enumeration of every state), and the ACP controller's rules.
import { describe, it, expect } from 'vitest';
import { testConfig } from './helpers/chip.js';
import { newDtmModel } from '../sim/dtm.js';
import { stageCoupling } from '../sim/model.js';
import { StageTrainer, newStageState, fabricWires, stageModel, type StageTrainSpec, type TrainData } from '../sim/train/stage.js';
import { encodeStageCheckpoint, readStageCheckpoint } from '../sim/train/checkpoint.js';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pairProbabilities } from '../sim/train/forward.js';
import { acpUpdate, ACP_DEFAULTS } from '../sim/train/acp.js';
import { ADAM_DEFAULTS } from '../sim/train/adam.js';
import { buildChip } from '../sim/chip.js';
import { quantise } from '../cells/planes.js';
import { streamKey, uniform } from '../rng/counter.js';

const Z_TAIL = 4.75;

/** E[s_i] and E[s_i s_j] per wire of a Boltzmann machine by enumeration; clamp: cell -> spin */
function exact(N: number, bias: Float64Array, wi: Int32Array, wj: Int32Array, ww: Float64Array, beta: number, clamp: Map<number, number>) {
  const mean = new Float64Array(N);
  const pair = new Float64Array(wi.length);
  let Z = 0;
  const s = new Int8Array(N);
  for (let x = 0; x < 1 << N; x++) {
    let ok = true;
    for (let i = 0; i < N; i++) {
      s[i] = (x >> i) & 1 ? 1 : -1;
      const c = clamp.get(i);
      if (c !== undefined && c !== s[i]) ok = false;
    }
    if (!ok) continue;
    let e = 0;
    for (let i = 0; i < N; i++) e += bias[i] * s[i];
    for (let k = 0; k < wi.length; k++) e += ww[k] * s[wi[k]] * s[wj[k]];
    const p = Math.exp(beta * e);
    Z += p;
    for (let i = 0; i < N; i++) mean[i] += p * s[i];
    for (let k = 0; k < wi.length; k++) pair[k] += p * s[wi[k]] * s[wj[k]];
  }
  for (let i = 0; i < N; i++) mean[i] /= Z;
  for (let k = 0; k < wi.length; k++) pair[k] /= Z;
  return { mean, pair };
}

describe('contrastive gradient = exact log-likelihood gradient (tiny DTM stage)', () => {
  // a 4 x 4 grid, nearest neighbours; 3 visible (image) cells; stage 0 of T = 2: the target is the
  // data itself, the input the data noised over t_1 - t_0
  const L = 4;
  const sets = [`fabric.L=${L}`, 'fabric.rules=[[0,1]]', 'fabric.boundary="open"', 'seed=5'];
  const model = newDtmModel({ T: 2, L, rules: [[0, 1]], boundary: 'open', visible: 3, weights: 'zero', seed: 5 });
  const dtm = model.dtm!;
  const V = 3;
  const data: TrainData = { n: 3, V, x: Int8Array.from([1, -1, 1, -1, -1, 1, 1, 1, -1]) };

  function run(config: ReturnType<typeof testConfig>, engine: 'wasm' | 'batch', weightValue: (v: number) => number) {
    const chip = buildChip(config);
    const wires = fabricWires(chip);
    const N = chip.fabric.N;
    const st = newStageState(0, wires.i.length, N, 0);
    const k0 = streamKey(77, 1);
    for (let e = 0; e < st.thetaW.length; e++) st.thetaW[e] = 0.8 * (uniform(k0, e) - 0.5);
    for (let i = 0; i < N; i++) st.thetaB[i] = 0.6 * (uniform(k0, 1000 + i) - 0.5);
    const spec: StageTrainSpec = {
      config,
      engine,
      dtm,
      beta: 1,
      stage: 0,
      batch: 400,
      warmup: 12,
      samples: 6,
      every: 3,
      epochs: 1,
      steps: 1,
      adam: ADAM_DEFAULTS,
      alpha: 0.18,
      acp: { on: false, lambda0: 0, lag: 10, params: ACP_DEFAULTS },
      seed: 9,
    };
    const tr = new StageTrainer(spec, data, st);
    // R independent estimates
    const R = 24;
    const P = wires.i.length + N;
    const sum = new Float64Array(P);
    const sum2 = new Float64Array(P);
    for (let r = 0; r < R; r++) {
      const g = tr.gradient(r).grad;
      for (let p = 0; p < P; p++) {
        sum[p] += g[p];
        sum2[p] += g[p] * g[p];
      }
    }
    tr.dispose();
    // exact: the expectation over data examples and input noise patterns, with the chip's weight values
    const ww = Float64Array.from(st.thetaW, weightValue);
    const b = Float64Array.from(st.thetaB, weightValue);
    const visible = [...dtm.image];
    const jc = stageCoupling(dtm, 0, dtm.lambda_image);
    const pIn = pairProbabilities(dtm.time_grid, 0, V, V, dtm.lambda_image, dtm.lambda_label).toInput;
    const grad = (beta: number) => {
      const out = new Float64Array(P);
      for (let n = 0; n < data.n; n++) {
        const x0 = data.x.subarray(n * V, (n + 1) * V);
        for (let m = 0; m < 1 << V; m++) {
          let pm = 1 / data.n;
          const x1 = new Int8Array(V);
          for (let v = 0; v < V; v++) {
            const flip = (m >> v) & 1;
            pm *= flip ? pIn[v] : 1 - pIn[v];
            x1[v] = flip ? -x0[v] : x0[v];
          }
          const pos = exact(N, b, wires.i, wires.j, ww, beta, new Map(visible.map((i, v) => [i, x0[v]])));
          const bn = b.slice();
          visible.forEach((i, v) => (bn[i] = weightValue(st.thetaB[i] + jc * x1[v])));
          const neg = exact(N, bn, wires.i, wires.j, ww, beta, new Map());
          for (let e = 0; e < wires.i.length; e++) out[e] += pm * beta * (pos.pair[e] - neg.pair[e]);
          for (let i = 0; i < N; i++) out[wires.i.length + i] += pm * beta * (pos.mean[i] - neg.mean[i]);
        }
      }
      return out;
    };
    const zs = (g: Float64Array) => {
      let zmax = 0;
      for (let p = 0; p < P; p++) {
        const mean = sum[p] / R;
        const sd = Math.sqrt(Math.max(0, (sum2[p] - R * mean * mean) / (R - 1)));
        const se = sd / Math.sqrt(R);
        // cells with no randomness (a clamped pixel's bias in both phases) have se = 0 and must match exactly
        const z = se > 0 ? Math.abs(mean - g[p]) / se : Math.abs(mean - g[p]) < 1e-12 ? 0 : Infinity;
        zmax = Math.max(zmax, z);
      }
      return zmax;
    };
    return { zRight: zs(grad(1)), zWrong: zs(grad(1.15)) };
  }

  it('single-chain engine, exact weights', () => {
    const r = run(testConfig(sets, true), 'wasm', (v) => v);
    expect(r.zRight).toBeLessThan(Z_TAIL);
    expect(r.zWrong).toBeGreaterThan(Z_TAIL); // a 15 % wrong beta is detected: the test can fail
  });

  it("many-chain engine, the chip's 8-bit weights", () => {
    const cfg = testConfig([...sets, 'cell.weight_bits=8'], true);
    const r = run(cfg, 'batch', (v) => quantise(v, 8, cfg.cell.weight_full_scale));
    expect(r.zRight).toBeLessThan(Z_TAIL);
    expect(r.zWrong).toBeGreaterThan(Z_TAIL);
  });
});

describe('ACP controller', () => {
  const p = ACP_DEFAULTS;
  it('low autocorrelation lowers lambda by delta', () => {
    expect(acpUpdate({ lambda: 0.01, rhoPrev: 0.1 }, 0.01, p)).toEqual({ state: { lambda: 0.01 * (1 - p.delta), rhoPrev: 0.01 }, action: 'decrease' });
  });
  it('high but falling keeps lambda; high and rising raises it', () => {
    expect(acpUpdate({ lambda: 0.01, rhoPrev: 0.3 }, 0.2, p).state.lambda).toBe(0.01);
    expect(acpUpdate({ lambda: 0.01, rhoPrev: 0.3 }, 0.2, p).action).toBe('keep');
    expect(acpUpdate({ lambda: 0.01, rhoPrev: 0.1 }, 0.2, p)).toEqual({ state: { lambda: 0.01 * (1 + p.delta), rhoPrev: 0.2 }, action: 'increase' });
    expect(acpUpdate({ lambda: 0.01, rhoPrev: null }, 0.2, p).action).toBe('increase');
  });
  it('below lambda_min the penalty switches off, and starts again at lambda_min when needed', () => {
    expect(acpUpdate({ lambda: 1.1e-4, rhoPrev: 0.1 }, 0.0, p)).toEqual({ state: { lambda: 0, rhoPrev: 0 }, action: 'off' });
    expect(acpUpdate({ lambda: 0, rhoPrev: 0.1 }, 0.2, p)).toEqual({ state: { lambda: p.lambdaMin, rhoPrev: 0.2 }, action: 'start' });
    expect(acpUpdate({ lambda: 0, rhoPrev: 0.1 }, 0.01, p).state.lambda).toBe(0);
  });
});

describe("ACP's autocorrelation estimator", () => {
  // isolated cells (zero weights): each is a two-state telegraph process, whose autocorrelation at
  // lag m latch intervals is exp(-m dt / tau_rng) whatever its bias (and input) — and 0 on the ideal chip
  const L = 12;
  const model = newDtmModel({ T: 2, L, rules: [[0, 1]], boundary: 'open', visible: 20, weights: 'zero', seed: 3 });
  const data: TrainData = { n: 2, V: 20, x: Int8Array.from({ length: 40 }, (_, k) => (k % 3 === 0 ? 1 : -1)) };
  const measure = (sets: string[], ideal: boolean, lag: number) => {
    const config = testConfig([`fabric.L=${L}`, 'fabric.rules=[[0,1]]', 'cell.weight_bits=8', 'seed=4', ...sets], ideal);
    const chip = buildChip(config);
    const wires = fabricWires(chip);
    const st = newStageState(0, wires.i.length, chip.fabric.N, 0);
    const k0 = streamKey(5, 5);
    for (let i = 0; i < chip.fabric.N; i++) st.thetaB[i] = 1.2 * (uniform(k0, i) - 0.5);
    const spec: StageTrainSpec = {
      config,
      engine: 'auto',
      dtm: model.dtm!,
      beta: 1,
      stage: 0,
      batch: 400,
      warmup: 10,
      samples: 1,
      every: 1,
      epochs: 1,
      steps: 1,
      adam: ADAM_DEFAULTS,
      alpha: 0.18,
      acp: { on: true, lambda0: 0, lag, params: ACP_DEFAULTS },
      seed: 2,
    };
    const tr = new StageTrainer(spec, data, st);
    const rho = tr.autocorrelation(0);
    tr.dispose();
    return rho;
  };
  // M = 200 replica pairs x 144 cells, independent; a numerator term lies in [-2, 2] (variance <= 4)
  // and a denominator term has mean 1 - m^2 >= 1 - tanh(0.6)^2 (|bias| <= 0.6, |m| <= tanh 0.6 on
  // either chip): rho's standard error is below 2 / (sqrt(M) (1 - tanh(0.6)^2)); 4.75 of them
  const M = 200 * 144;
  const tol = (4.75 * 2) / (Math.sqrt(M) * (1 - Math.tanh(0.6) ** 2));
  it('ideal chip: 0 at any lag', () => {
    expect(Math.abs(measure([], true, 1))).toBeLessThan(tol);
  });
  it('slow RNG: exp(-lag dt / tau)', () => {
    // one latch interval = one sweep = 2 cycles of 100 ns; tau = 400 ns
    const rho = measure(['rng.tau_rng_s=4e-7', 'rng.v_off_sigma_v=0', 'rng.v_s_sigma_rel=0', 'cell.node_capacitance_f=0'], false, 2);
    expect(Math.abs(rho - Math.exp((-2 * 2e-7) / 4e-7))).toBeLessThan(tol);
  });
});

/**
 * The tiny stage of the recipe tests (4 x 4 grid, nearest neighbours, 3 visible cells, stage 0 of
 * T = 2, ACP off) with `over` on the trainer's spec, and a state of random weights drawn in stream
 * `weightKey` (every call the same weights).
 */
function tinyStage(over: Partial<StageTrainSpec>, weightKey: number, sets: string[] = []) {
  const L = 4;
  const config = testConfig([`fabric.L=${L}`, 'fabric.rules=[[0,1]]', 'fabric.boundary="open"', 'seed=5', ...sets], true);
  const dtm = newDtmModel({ T: 2, L, rules: [[0, 1]], boundary: 'open', visible: 3, weights: 'zero', seed: 5 }).dtm!;
  const data: TrainData = { n: 3, V: 3, x: Int8Array.from([1, -1, 1, -1, -1, 1, 1, 1, -1]) };
  const base: StageTrainSpec = {
    config,
    engine: 'wasm',
    dtm,
    beta: 1,
    stage: 0,
    batch: 16,
    warmup: 4,
    samples: 3,
    every: 2,
    epochs: 3,
    steps: 2,
    adam: ADAM_DEFAULTS,
    alpha: 0.18,
    acp: { on: false, lambda0: 0, lag: 10, params: ACP_DEFAULTS },
    seed: 9,
    ...over,
  };
  const fresh = () => {
    const chip = buildChip(config);
    const wires = fabricWires(chip);
    const st = newStageState(0, wires.i.length, chip.fabric.N, 0);
    const k0 = streamKey(weightKey, 1);
    for (let e = 0; e < st.thetaW.length; e++) st.thetaW[e] = 0.8 * (uniform(k0, e) - 0.5);
    return { st, wires };
  };
  return { config, data, base, fresh };
}

describe('final epochs (--final-epochs, --final-warmup)', () => {
  // the tiny stage again; the gradient of a step depends only on the weights, the step's key and
  // the phase settings its epoch gets, so each epoch is compared with a run that uses its settings throughout
  const { config, data, base, fresh } = tinyStage({ posWarmup: 3 }, 78);
  /** the gradient and the cell updates of step g, from the same random weights */
  function step(spec: StageTrainSpec, g: number) {
    const { st } = fresh();
    const tr = new StageTrainer(spec, data, st);
    const before = st.cellUpdates;
    const grad = Float64Array.from(tr.gradient(g).grad);
    tr.dispose();
    return { grad, updates: st.cellUpdates - before };
  }

  it('the last epochs start from noise and warm up for finalWarmup sweeps; the earlier ones are untouched', () => {
    const fin: StageTrainSpec = { ...base, negStart: 'data', dataWarmup: 2, finalEpochs: 1, finalWarmup: 11 };
    const dataRun: StageTrainSpec = { ...base, negStart: 'data', dataWarmup: 2 };
    const longNoise: StageTrainSpec = { ...base, negStart: 'noise', warmup: 11 };
    // epoch 0 (steps 0, 1): data-started as without final epochs; epoch 2 (steps 4, 5): noise-started, 11 sweeps
    for (const g of [0, 1]) expect(step(fin, g)).toEqual(step(dataRun, g));
    for (const g of [4, 5]) {
      const a = step(fin, g);
      expect(a).toEqual(step(longNoise, g));
      // 9 more negative sweeps of 16 chains than the data-started step
      expect(a.updates - step(dataRun, g).updates).toBe(9 * 16 * config.fabric.L ** 2);
    }
    // the start alone (the same warm-up as the data-started chains): from noise, not from the data
    // (a short phase, before chains driven by the same draws coalesce)
    const finShort: StageTrainSpec = { ...fin, finalWarmup: 2 };
    const shortNoise: StageTrainSpec = { ...base, negStart: 'noise', warmup: 2 };
    for (const g of [4, 5]) {
      const a = step(finShort, g);
      expect(a).toEqual(step(shortNoise, g));
      expect(a.grad).not.toEqual(step(dataRun, g).grad);
    }
  });
});

describe("weights stay within the chip's full scale", () => {
  // a large learning rate on a chip of small full scale (0.5; the starting weights lie within +-0.4): Adam's
  // steps (about lr each) carry weights past it; a quantised chip clips them there, so the trainer keeps them there too
  const over = { batch: 8, warmup: 3, samples: 2, epochs: 2, steps: 4, adam: { ...ADAM_DEFAULTS, lr: 0.4 } };
  const trained = (bits: string) => {
    const { data, base, fresh } = tinyStage(over, 80, ['cell.weight_full_scale=0.5', `cell.weight_bits=${bits}`]);
    const { st } = fresh();
    const tr = new StageTrainer(base, data, st);
    tr.run(() => undefined);
    tr.dispose();
    return Array.from(st.thetaW, Math.abs);
  };
  it('8-bit weights: every weight within +-0.5, some at it', () => {
    expect(Math.max(...trained('8'))).toBe(0.5);
  });
  it('exact weights (no clipping on the chip): the same run goes past it', () => {
    expect(Math.max(...trained('"exact"'))).toBeGreaterThan(0.5);
  });
});

describe('parameter averaging (--ema)', () => {
  const { data, base, fresh } = tinyStage({ batch: 8, warmup: 3, samples: 2, epochs: 2, steps: 3, adam: { ...ADAM_DEFAULTS, lr: 0.05 } }, 79);

  it('the model takes the running average of the trajectory; the trajectory itself is unchanged', () => {
    const d = 0.7;
    // the trajectory without averaging, parameters after every step
    const plain = fresh();
    const trail: Float64Array[] = [Float64Array.from([...plain.st.thetaW, ...plain.st.thetaB])];
    const tp = new StageTrainer(base, data, plain.st);
    tp.run(
      () => undefined,
      () => trail.push(Float64Array.from([...plain.st.thetaW, ...plain.st.thetaB])),
    );
    tp.dispose();
    const avg = fresh();
    const ta = new StageTrainer({ ...base, ema: d }, data, avg.st);
    ta.run(() => undefined);
    ta.dispose();
    // theta follows the same steps (the average never feeds back into the gradient)
    expect(Float64Array.from([...avg.st.thetaW, ...avg.st.thetaB])).toEqual(trail[trail.length - 1]);
    // the average by its definition, from the starting parameters, over all 6 steps
    expect(trail.length).toBe(1 + base.epochs * base.steps);
    const want = Float64Array.from(trail[0]);
    for (let s = 1; s < trail.length; s++) for (let i = 0; i < want.length; i++) want[i] = want[i] * d + trail[s][i] * (1 - d);
    expect(Float64Array.from([...avg.st.emaW!, ...avg.st.emaB!])).toEqual(want);
    // and the model written is the average, not the last step
    const m = stageModel(avg.st, avg.wires);
    expect(Float64Array.from([...m.ew, ...m.bias])).toEqual(want);
    expect(Float64Array.from(m.ew)).not.toEqual(avg.st.thetaW);
    // without averaging, the model is the last step
    expect(Float64Array.from(stageModel(plain.st, plain.wires).ew)).toEqual(plain.st.thetaW);
  });

  it('a checkpoint keeps the average: two epochs = one, a checkpoint round trip, and one more', () => {
    const spec = { ...base, ema: 0.8 };
    const once = fresh();
    const t1 = new StageTrainer(spec, data, once.st);
    t1.run(() => undefined);
    t1.dispose();
    const split = fresh();
    let after1: Buffer | null = null;
    const t2 = new StageTrainer(spec, data, split.st);
    t2.runEpoch((_, st) => (after1 = encodeStageCheckpoint(st)));
    t2.dispose();
    const dir = mkdtempSync(join(tmpdir(), 'dtca-ema-'));
    writeFileSync(join(dir, 'stage-0.mp'), after1!);
    const back = readStageCheckpoint(join(dir, 'stage-0.mp'), { stage: 0, wires: split.st.thetaW.length, cells: split.st.thetaB.length, epochs: 2 });
    expect(back.emaW).toEqual(split.st.emaW);
    const t3 = new StageTrainer(spec, data, back);
    t3.run(() => undefined);
    t3.dispose();
    expect(back.emaW).toEqual(once.st.emaW);
    expect(back.emaB).toEqual(once.st.emaB);
    expect(back.thetaW).toEqual(once.st.thetaW);
    rmSync(dir, { recursive: true, force: true });
  });
});

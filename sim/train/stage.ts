/**
 * Contrastive training of one DTM stage on the simulated chip (SPEC "DTM workload", "Training").
 *
 * Stage k models P(x^k | x^(k+1)) as a grid Boltzmann machine over all cells, with the input
 * x^(k+1) entering as a fixed bias J_c x^(k+1) on each visible cell (quantised with the cell's
 * bias, exactly as generation programs it). Per gradient step, for a batch of training pairs
 * (x^k, x^(k+1)) from the forward process:
 *   positive phase: visible cells clamped to x^k, the latents sample;
 *   negative phase: nothing clamped, the input as a bias; the chains start from the same
 *     initialisation generation uses (P(+1) = sigma(beta b), the input included);
 * moments <s_i>, <s_i s_j> (every wire) from `samples` states `every` sweeps apart after `warmup`
 * sweeps, on the chip's own latch engine (the many-chain engine where it applies). The update
 * (ascent) is
 *   dw_ij = beta (<s_i s_j>+ - <s_i s_j>-) + lambda (m_i m_j - <s_i s_j>-),  m = <s>-
 *   db_i  = beta (<s_i>+ - <s_i>-)
 * with Adam on float parameters; the chip runs their quantised values (cell.weight_bits), so a
 * model trained on a chip is trained for its precision. lambda is the Adaptive Correlation
 * Penalty (acp.ts), adapted once per epoch from the chain autocorrelation at lag `acp.lag`.
 * Every draw is counter-based (seed, stage, step, chain), so a stage's training is the same on any
 * thread and after a resume from a checkpoint (the state at an epoch boundary is complete).
 */
import { buildChip, type Chip } from '../chip.js';
import type { ResolvedConfig } from '../config.js';
import { runStage, initialSpins, initKey, type SweepView } from '../run.js';
import { createEngine } from '../../cells/select.js';
import { newMomentSums, type EngineChoice, type LatchEngine, type MomentSums } from '../../cells/engine.js';
import { emptyPlanes, quantisePlanes, quantiser, type Planes } from '../../cells/planes.js';
import { oppositeDirection } from '../../fabric/rules.js';
import { streamKey, uniform } from '../../rng/counter.js';
import { ExactEvents } from '../../power/events.js';
import { stageCoupling, type StageModel, type DtmSpec } from '../model.js';
import { Adam, cosineLr, type AdamParams } from './adam.js';
import { acpUpdate, type AcpParams, type AcpAction } from './acp.js';
import { noise, pairProbabilities } from './forward.js';

export type NegStart = 'noise' | 'data';
export const NEG_STARTS: NegStart[] = ['noise', 'data'];

/** The training data: visible vectors (image pixels then label copies) as spins, n x V. */
export interface TrainData {
  n: number;
  V: number;
  /** n * V spins (+1/-1) */
  x: Int8Array;
}

export interface StageTrainSpec {
  config: ResolvedConfig;
  engine: EngineChoice;
  dtm: DtmSpec;
  beta: number;
  stage: number;
  batch: number;
  /** negative-phase sweeps before its first sample */
  warmup: number;
  /** positive-phase sweeps before its first sample (default: warmup) */
  posWarmup?: number;
  /**
   * where the negative chains start: 'noise' (the initialisation generation uses, P(+1) = sigma(beta b),
   * the default) or 'data' (the positive phase's last state: the target on the visible cells, the
   * latents sampled with them clamped; contrastive divergence from the data)
   */
  negStart?: NegStart;
  /** with negStart 'data': only the first dataEpochs epochs start from the data, later ones from noise (default: all) */
  dataEpochs?: number;
  /** warm-up of the data-started negative chains (default: warmup) */
  dataWarmup?: number;
  /** sweeps before the first ACP snapshot (default: warmup) */
  acpWarmup?: number;
  samples: number;
  every: number;
  epochs: number;
  steps: number;
  adam: AdamParams;
  /** cosine decay floor, as a fraction of lr */
  alpha: number;
  acp: { on: boolean; lambda0: number; lag: number; params: AcpParams };
  seed: number;
}

export interface EpochRecord {
  stage: number;
  epoch: number;
  /** chain autocorrelation of the negative phase at lag acp.lag */
  rho: number;
  lambda: number;
  acp_action: AcpAction | 'disabled';
  /** quality proxy: mean agreement s x^k of the negative chains' image cells with the target (1 = perfect) */
  agreement: number;
  /** RMS of the weight update direction (before Adam) over the epoch's last step */
  grad_rms: number;
  lr: number;
  wall_s: number;
  cell_updates: number;
}

export interface StageState {
  stage: number;
  /** epochs completed */
  epoch: number;
  thetaW: Float64Array;
  thetaB: Float64Array;
  adamM: Float64Array;
  adamV: Float64Array;
  adamT: number;
  lambda: number;
  rhoPrev: number | null;
  cellUpdates: number;
  wallS: number;
  log: EpochRecord[];
}

/** The wires of a fabric, each once: from colour-0 cell i in direction d to j. */
export interface Wires {
  i: Int32Array;
  j: Int32Array;
  d: Int32Array;
  /** index of the wire in MomentSums.pair */
  pair: Int32Array;
}

export function fabricWires(chip: Chip): Wires {
  const f = chip.fabric;
  const I: number[] = [];
  const J: number[] = [];
  const Dd: number[] = [];
  const P: number[] = [];
  f.colourCells[0].forEach((i, n) => {
    for (let d = 0; d < f.D; d++) {
      const j = f.nbr[i * f.D + d];
      if (j >= f.N) continue;
      I.push(i);
      J.push(j);
      Dd.push(d);
      P.push(n * f.D + d);
    }
  });
  return { i: Int32Array.from(I), j: Int32Array.from(J), d: Int32Array.from(Dd), pair: Int32Array.from(P) };
}

/**
 * A stage's state starting from a model stage's parameters: its biases, and its edge weights matched
 * to the fabric's wires (an edge given as (j, i) lands on wire (i, j); wires the model does not
 * name start at zero).
 */
export function stageStateFromModel(stage: number, m: StageModel, wires: Wires, cells: number, lambda0: number): StageState {
  const st = newStageState(stage, wires.i.length, cells, lambda0);
  st.thetaB.set(m.bias);
  const at = new Map<number, number>();
  for (let e = 0; e < wires.i.length; e++) at.set(wires.i[e] * cells + wires.j[e], e);
  for (let n = 0; n < m.ei.length; n++) {
    const e = at.get(m.ei[n] * cells + m.ej[n]) ?? at.get(m.ej[n] * cells + m.ei[n]);
    if (e !== undefined) st.thetaW[e] = m.ew[n];
  }
  return st;
}

export function newStageState(stage: number, wires: number, cells: number, lambda0: number): StageState {
  const n = wires + cells;
  return {
    stage,
    epoch: 0,
    thetaW: new Float64Array(wires),
    thetaB: new Float64Array(cells),
    adamM: new Float64Array(n),
    adamV: new Float64Array(n),
    adamT: 0,
    lambda: lambda0,
    rhoPrev: null,
    cellUpdates: 0,
    wallS: 0,
    log: [],
  };
}

/** The stage's parameters as a model stage (float values; the chip quantises when programming). */
export function stageModel(st: StageState, wires: Wires): StageModel {
  return { bias: st.thetaB.slice(), ei: wires.i.slice(), ej: wires.j.slice(), ew: st.thetaW.slice(), clampIdx: new Int32Array(0), clampVal: new Int8Array(0) };
}

const TRAIN_PURPOSE = 7;

export class StageTrainer {
  readonly chip: Chip;
  readonly wires: Wires;
  private readonly engine: LatchEngine;
  readonly engineUsed: string;
  private readonly visible: Int32Array;
  private readonly nImage: number;
  private readonly jc: Float64Array;
  private readonly probs: { toTarget: Float64Array; toInput: Float64Array };
  private readonly adam: Adam;
  private readonly quantise: (v: number) => number;

  constructor(
    private readonly spec: StageTrainSpec,
    private readonly data: TrainData,
    readonly state: StageState,
  ) {
    this.chip = buildChip(spec.config);
    this.wires = fabricWires(this.chip);
    const dtm = spec.dtm;
    this.visible = Int32Array.from([...dtm.image, ...dtm.label]);
    this.nImage = dtm.image.length;
    const V = this.visible.length;
    if (V !== data.V) throw new Error(`training data has ${data.V} visible entries, the model ${V}`);
    const k = spec.stage;
    const jImg = stageCoupling(dtm, k, dtm.lambda_image);
    const jLab = stageCoupling(dtm, k, dtm.lambda_label);
    this.jc = Float64Array.from({ length: V }, (_, v) => (v < this.nImage ? jImg : jLab));
    this.probs = pairProbabilities(dtm.time_grid, k, V, this.nImage, dtm.lambda_image, dtm.lambda_label);
    const sel = createEngine(this.chip.spec, { choice: spec.engine, chains: spec.batch, weightBits: spec.config.cell.weight_bits });
    this.engine = sel.engine;
    this.engineUsed = sel.engine.kind;
    this.quantise = quantiser(spec.config.cell.weight_bits, spec.config.cell.weight_full_scale);
    this.adam = new Adam(this.wires.i.length + this.chip.fabric.N);
    this.adam.m.set(state.adamM);
    this.adam.v.set(state.adamV);
    this.adam.t = state.adamT;
  }

  dispose(): void {
    this.engine.dispose();
  }

  /** the current parameters programmed at the chip's precision (plane units), and the same with the visible cells clamped */
  private planesPair(): { free: Planes; clamped: Planes } {
    const free = this.planes(false);
    const clamped = { ...free, clamp: new Uint8Array(free.clamp.length) };
    for (const i of this.visible) clamped.clamp[i] = 1;
    return { free, clamped };
  }

  private planes(clampVisible: boolean): Planes {
    const f = this.chip.fabric;
    const pl = emptyPlanes(f);
    pl.bias.set(this.state.thetaB);
    const w = this.wires;
    for (let e = 0; e < w.i.length; e++) {
      pl.w[w.i[e] * f.D + w.d[e]] = this.state.thetaW[e];
      pl.w[w.j[e] * f.D + oppositeDirection(w.d[e])] = this.state.thetaW[e];
    }
    pl.programmed = w.i.length + f.N;
    const cc = this.spec.config.cell;
    quantisePlanes(pl, cc.weight_bits, cc.weight_full_scale);
    if (clampVisible) for (const i of this.visible) pl.clamp[i] = 1;
    return pl;
  }

  /** training pair b of a step: (target x^k, input x^(k+1)) from a data example */
  private pair(stepKey: number, b: number): { target: Int8Array; input: Int8Array } {
    const V = this.data.V;
    const idx = Math.floor(uniform(stepKey, b) * this.data.n);
    const x0 = this.data.x.subarray(idx * V, (idx + 1) * V);
    const target = noise(x0 as Int8Array, this.probs.toTarget, stepKey, (1 + 2 * b) * V);
    const input = noise(target, this.probs.toInput, stepKey, (2 + 2 * b) * V);
    return { target, input };
  }

  /** a chain's biases: the programmed ones with the input J_c x on the visible cells, quantised with them */
  private inputBias(pl: Planes, input: Int8Array): Float64Array {
    const b = pl.bias.slice();
    const q = this.quantise;
    for (let v = 0; v < input.length; v++) {
      const i = this.visible[v];
      b[i] = q(this.state.thetaB[i] + this.jc[v] * input[v]);
    }
    return b;
  }

  /**
   * One phase over the batch: moments into `sums` from `warmup` on; positive phases clamp the
   * visible cells to the targets, negative ones add the input bias. Negative chains start from
   * `starts` when given (their spins), otherwise from generation's initialisation. With `finals`,
   * the chains' last states are returned.
   */
  private phase(
    pl: Planes,
    first: number,
    pairs: { target: Int8Array; input: Int8Array }[],
    positive: boolean,
    sums: MomentSums,
    o: { warmup: number; view?: { wants: (c: number, s: number) => boolean; onSweep: (v: SweepView) => void }; sweeps?: number; starts?: Int8Array[]; finals?: boolean },
  ): { latches: number; finals: Int8Array[] } {
    const { N } = this.chip.fabric;
    const sp = this.spec;
    const ev = new ExactEvents();
    const biases = positive ? null : pairs.map((p) => this.inputBias(pl, p.input));
    this.engine.program(pl);
    const finals = runStage(
      this.chip,
      this.engine,
      pl,
      first,
      pairs.length,
      {
        stage: sp.stage,
        sweeps: o.sweeps ?? o.warmup + (sp.samples - 1) * sp.every + 1,
        betaAt: () => sp.beta,
        biasOf: biases ? (c) => biases[c - first] : undefined,
        spinsOf: (c, bias) => {
          const p = pairs[c - first];
          if (o.starts) return o.starts[c - first];
          return positive
            ? initialSpins(N, bias, pl.unit, this.visible, p.target, initKey(this.chip, c, sp.stage), 'hinton', sp.beta)
            : initialSpins(N, bias, pl.unit, [], [], initKey(this.chip, c, sp.stage), 'hinton', sp.beta);
        },
        moments: { from: o.warmup, every: sp.every, sums },
        view: o.view,
        finals: o.finals === true,
      },
      ev,
    );
    return { latches: Number(ev.get('latches')), finals };
  }

  /** one gradient step (global step number g) */
  step(g: number, lr: number): { gradRms: number; agreement: number } {
    const r = this.gradient(g);
    const W = this.wires.i.length;
    const theta = new Float64Array(W + this.chip.fabric.N);
    theta.set(this.state.thetaW, 0);
    theta.set(this.state.thetaB, W);
    this.adam.step(theta, r.grad, lr, this.spec.adam);
    this.state.thetaW.set(theta.subarray(0, W));
    this.state.thetaB.set(theta.subarray(W));
    return { gradRms: r.gradRms, agreement: r.agreement };
  }

  /**
   * The update direction (ascent) of step g, estimated from the chip's chains: per wire (in
   * `wires` order), then per cell; the agreement of the negative chains with the targets.
   */
  gradient(g: number): { grad: Float64Array; gradRms: number; agreement: number } {
    const sp = this.spec;
    const f = this.chip.fabric;
    const B = sp.batch;
    const stepKey = streamKey(sp.seed, TRAIN_PURPOSE, sp.stage, g);
    const pairs = Array.from({ length: B }, (_, b) => this.pair(stepKey, b));
    const first = 2 * B * g;
    const pos = newMomentSums(this.chip.spec.layout);
    const neg = newMomentSums(this.chip.spec.layout);
    const pl = this.planesPair();
    const fromData = sp.negStart === 'data' && Math.floor(g / Math.max(1, sp.steps)) < (sp.dataEpochs ?? Infinity);
    const negWarmup = fromData ? (sp.dataWarmup ?? sp.warmup) : sp.warmup;
    const p = this.phase(pl.clamped, first, pairs, true, pos, { warmup: sp.posWarmup ?? sp.warmup, finals: fromData });
    let updates = p.latches;
    // the negative chains' image cells at their last sample, against the targets
    let agree = 0;
    let agreeN = 0;
    const last = negWarmup + (sp.samples - 1) * sp.every;
    updates += this.phase(pl.free, first + B, pairs, false, neg, {
      warmup: negWarmup,
      starts: fromData ? p.finals : undefined,
      view: {
        wants: (_c, s) => s === last,
        onSweep: (v) => {
          const t = pairs[v.chain - first - B].target;
          for (let n = 0; n < this.nImage; n++) agree += v.s[this.visible[n]] * t[n];
          agreeN += this.nImage;
        },
      },
    }).latches;
    this.state.cellUpdates += updates;
    // the update direction (ascent)
    const w = this.wires;
    const W = w.i.length;
    const grad = new Float64Array(W + f.N);
    const lam = sp.acp.on ? this.state.lambda : 0;
    let ss = 0;
    for (let e = 0; e < W; e++) {
      const q = w.pair[e];
      const cp = pos.pair[q] / pos.samples;
      const cn = neg.pair[q] / neg.samples;
      const mi = neg.spin[w.i[e]] / neg.samples;
      const mj = neg.spin[w.j[e]] / neg.samples;
      const gv = sp.beta * (cp - cn) + lam * (mi * mj - cn);
      grad[e] = gv;
      ss += gv * gv;
    }
    for (let i = 0; i < f.N; i++) grad[W + i] = sp.beta * (pos.spin[i] / pos.samples - neg.spin[i] / neg.samples);
    return { grad, gradRms: Math.sqrt(ss / W), agreement: agreeN > 0 ? agree / agreeN : 0 };
  }

  /**
   * The chain autocorrelation of the negative phase at lag K = acp.lag, beyond the conditional
   * means: B/2 fresh inputs, two replica chains each (same input, own draws); after the warm-up,
   * snapshots at t1 and t2 = t1 + K. Replicas are independent given the input, so their overlap
   * estimates the squared conditional mean m^2:
   *   rho = sum [<s(t1) s(t2)>_same chain - <s(t1) s(t2)>_across replicas] / sum [1 - <s s'>_replicas]
   * pooled over cells and inputs. A cell pinned by its input contributes nothing; a chain stuck in
   * one mode of a multimodal conditional counts fully (rho -> 1).
   */
  autocorrelation(epoch: number): number {
    const sp = this.spec;
    const N = this.chip.fabric.N;
    const half = Math.max(1, Math.floor(sp.batch / 2));
    const key = streamKey(sp.seed, TRAIN_PURPOSE, sp.stage, 1e9 + epoch);
    const inputs = Array.from({ length: half }, (_, b) => this.pair(key, b));
    const pairs = inputs.flatMap((p) => [p, p]);
    const t1 = (sp.acpWarmup ?? sp.warmup) - 1;
    const t2 = t1 + sp.acp.lag;
    const snaps = new Map<number, [Int8Array, Int8Array]>();
    const first = 2 ** 31 + epoch * 2 * half; // chain numbers apart from the training steps'
    this.state.cellUpdates += this.phase(this.planes(false), first, pairs, false, newMomentSums(this.chip.spec.layout), {
      warmup: t1 + 1,
      view: {
        wants: (_c, s) => s === t1 || s === t2,
        onSweep: (v) => {
          const e = snaps.get(v.chain) ?? [new Int8Array(N), new Int8Array(N)];
          e[v.sweep === t1 ? 0 : 1].set(v.s.subarray(0, N));
          snaps.set(v.chain, e);
        },
      },
      sweeps: t2 + 1,
    }).latches;
    let num = 0;
    let den = 0;
    for (let p = 0; p < half; p++) {
      const [a1, a2] = snaps.get(first + 2 * p)!;
      const [b1, b2] = snaps.get(first + 2 * p + 1)!;
      for (let i = 0; i < N; i++) {
        num += (a1[i] * a2[i] + b1[i] * b2[i]) / 2 - (a1[i] * b2[i] + b1[i] * a2[i]) / 2;
        den += 1 - (a1[i] * b1[i] + a2[i] * b2[i]) / 2;
      }
    }
    return den > 0 ? num / den : 0;
  }

  /** the remaining epochs; onEpoch after each (the state is complete then: a checkpoint) */
  run(onEpoch: (r: EpochRecord, st: StageState) => void, onStep?: (stepInEpoch: number) => void): void {
    while (this.runEpoch(onEpoch, onStep));
  }

  /** the next epoch, if any is left (false when the stage is done) */
  runEpoch(onEpoch: (r: EpochRecord, st: StageState) => void, onStep?: (stepInEpoch: number) => void): boolean {
    const sp = this.spec;
    if (this.state.epoch >= sp.epochs) return false;
    const total = sp.epochs * sp.steps;
    const t0 = performance.now();
    const epoch = this.state.epoch;
    let last = { gradRms: 0, agreement: 0 };
    let lr = 0;
    for (let s = 0; s < sp.steps; s++) {
      const g = epoch * sp.steps + s;
      lr = cosineLr(sp.adam.lr, sp.alpha, g / Math.max(1, total - 1));
      last = this.step(g, lr);
      onStep?.(s + 1);
    }
    const rho = this.autocorrelation(epoch);
    let action: EpochRecord['acp_action'] = 'disabled';
    if (sp.acp.on) {
      const u = acpUpdate({ lambda: this.state.lambda, rhoPrev: this.state.rhoPrev }, rho, sp.acp.params);
      this.state.lambda = u.state.lambda;
      this.state.rhoPrev = u.state.rhoPrev;
      action = u.action;
    }
    this.state.epoch++;
    const wall = (performance.now() - t0) / 1000;
    this.state.wallS += wall;
    this.state.adamM.set(this.adam.m);
    this.state.adamV.set(this.adam.v);
    this.state.adamT = this.adam.t;
    const rec: EpochRecord = {
      stage: sp.stage,
      epoch: this.state.epoch,
      rho,
      lambda: this.state.lambda,
      acp_action: action,
      agreement: last.agreement,
      grad_rms: last.gradRms,
      lr,
      wall_s: wall,
      cell_updates: this.state.cellUpdates,
    };
    this.state.log.push(rec);
    onEpoch(rec, this.state);
    return true;
  }
}

/**
 * The chain autocorrelation of a model's stage (the estimator ACP uses, StageTrainer
 * autocorrelation): `pairs` inputs from `data` noised by the forward process, two replica chains
 * each, `warmup` sweeps, then lag `lag`. On the chip `config`.
 */
export function measureAutocorrelation(
  config: ResolvedConfig,
  engine: EngineChoice,
  model: { beta: number; dtm: DtmSpec; stages: StageModel[] },
  stage: number,
  data: TrainData,
  o: { pairs: number; warmup: number; lag: number; seed: number },
): number {
  const chip = buildChip(config);
  const st = stageStateFromModel(stage, model.stages[stage], fabricWires(chip), chip.fabric.N, 0);
  const spec: StageTrainSpec = {
    config,
    engine,
    dtm: model.dtm,
    beta: model.beta,
    stage,
    batch: 2 * o.pairs,
    warmup: o.warmup,
    samples: 1,
    every: 1,
    epochs: 0,
    steps: 0,
    adam: { lr: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    alpha: 1,
    acp: { on: false, lambda0: 0, lag: o.lag, params: { eps: 0, delta: 0, lambdaMin: 0 } },
    seed: o.seed,
  };
  const tr = new StageTrainer(spec, data, st);
  try {
    return tr.autocorrelation(0);
  } finally {
    tr.dispose();
  }
}

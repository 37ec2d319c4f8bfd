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
import { stageSteps, initKey, hintonThreshold, hintonSpin, type SweepView } from '../run.js';
import { createEngine } from '../../cells/select.js';
import { type EngineChoice, type LatchEngine, type MomentSums } from '../../cells/engine.js';
import { emptyPlanes, planeUnit, quantiser, type Planes } from '../../cells/planes.js';
import { oppositeDirection } from '../../fabric/rules.js';
import { streamKey, uniform, TWO_POW_32 } from '../../rng/counter.js';
import { Draws } from '../../cells/wasm/draws.js';
import { ExactEvents } from '../../power/events.js';
import { stageCoupling, type StageModel, type DtmSpec } from '../model.js';
import { Adam, cosineLr, type AdamParams } from './adam.js';
import { acpUpdate, type AcpParams, type AcpAction } from './acp.js';
import { noiseInto, pairProbabilities } from './forward.js';
import { runThrough, type Steps } from '../../fabric/pause.js';
import { Interrupted } from '../../fabric/errors.js';

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
  /**
   * the last finalEpochs epochs start their negative chains from noise (whatever negStart says)
   * and sample them after finalWarmup sweeps: long chains, whose moments are close to the
   * generation's, once the model is near its end (default 0: none)
   */
  finalEpochs?: number;
  /** warm-up of the final epochs' negative chains (default: warmup) */
  finalWarmup?: number;
  samples: number;
  every: number;
  epochs: number;
  steps: number;
  /**
   * parameter averaging: after every step the stage keeps ema <- ema d + theta (1 - d), starting
   * from the parameters it began with, and the model (and every snapshot) takes the averaged
   * parameters; the gradient always follows theta. 0 or absent: off.
   */
  ema?: number;
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
  /** with spec.ema: the averaged weights and biases (absent until the first averaged step) */
  emaW?: Float64Array;
  emaB?: Float64Array;
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

/**
 * The stage's parameters as a model stage (float values; the chip quantises when programming): the
 * averaged ones when the stage keeps an average (StageTrainSpec.ema), else the trained ones.
 */
export function stageModel(st: StageState, wires: Wires): StageModel {
  const w = st.emaW ?? st.thetaW;
  const b = st.emaB ?? st.thetaB;
  return { bias: b.slice(), ei: wires.i.slice(), ej: wires.j.slice(), ew: w.slice(), clampIdx: new Int32Array(0), clampVal: new Int8Array(0) };
}

/** One averaging step (StageTrainSpec.ema): avg <- avg d + x (1 - d), element by element. */
export function emaStep(avg: Float64Array, x: Float64Array, d: number): void {
  const c = 1 - d;
  for (let i = 0; i < avg.length; i++) avg[i] = avg[i] * d + x[i] * c;
}

const TRAIN_PURPOSE = 7;

const never = () => false;

/**
 * The training pairs of a step (or of an ACP measurement), in rows of V entries: row b is pair b's
 * target x^k and input x^(k+1). Preallocated once per trainer: a step allocates nothing per pair.
 */
interface PairRows {
  count: number;
  target: Int8Array;
  input: Int8Array;
}

export class StageTrainer {
  readonly chip: Chip;
  readonly wires: Wires;
  private readonly engine: LatchEngine;
  readonly engineUsed: string;
  private readonly visible: Int32Array;
  /** the cells that are not visible, in cell order */
  private readonly latents: Int32Array;
  private readonly nImage: number;
  private readonly jc: Float64Array;
  private readonly probs: { toTarget: Float64Array; toInput: Float64Array };
  private readonly adam: Adam;
  private readonly quantise: (v: number) => number;
  // per-step working memory, allocated once (a step allocates only what stageSteps returns)
  /** the programmed stage (plane units) and the same with the visible cells clamped: one bias and weight plane */
  private readonly free: Planes;
  private readonly clamped: Planes;
  /** per wire, the direction of its far end back to the near one */
  private readonly oppD: Int32Array;
  private readonly pairs: PairRows;
  /** per chain of a phase: its input biases on the visible cells (the rest are the programmed ones) */
  private readonly chainInput: Float64Array[];
  /** the Hinton threshold of every bias level (integer planes; null for exact weights) */
  private readonly pLevel: Float64Array | null;
  private readonly levels: number;
  /** the negative chains' final spins */
  private readonly negFinals: Int8Array[];
  /** the input biases of visible entry v for input +1 / -1 (plane units) */
  private readonly biasUp: Float64Array;
  private readonly biasDown: Float64Array;
  /** Hinton thresholds (hintonThreshold) per cell at the programmed biases, and of visible entry v at its input bias for input +1 / -1 */
  private readonly pCell: Float64Array;
  private readonly pUp: Float64Array;
  private readonly pDown: Float64Array;
  /** a chain's initial spins (every engine copies them when loading) */
  private readonly spins: Int8Array;
  /**
   * the same draws in bulk (cells/wasm/draws.ts; null without WebAssembly SIMD): thresholds 0 the
   * Hinton ones per cell, 1 those of a noise-started chain (its input on the visible cells), 2 and
   * 3 the forward process's to the target and on to the input; byte arrays 0 a chain's spins, 1
   * the data image, 2 the target, 3 the input, 4 a target to clamp; list 0 the visible cells
   */
  private readonly draws: Draws | null;
  private readonly pos: MomentSums;
  private readonly neg: MomentSums;
  private readonly grad: Float64Array;
  private readonly theta: Float64Array;

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
    const f = this.chip.fabric;
    const W = this.wires.i.length;
    this.adam = new Adam(W + f.N);
    this.adam.m.set(state.adamM);
    this.adam.v.set(state.adamV);
    this.adam.t = state.adamT;
    const isVisible = new Uint8Array(f.N);
    for (const i of this.visible) isVisible[i] = 1;
    this.latents = Int32Array.from({ length: f.N }, (_, i) => i).filter((i) => !isVisible[i]);
    this.free = emptyPlanes(f);
    this.clamped = { ...this.free, clamp: new Uint8Array(f.N) };
    for (const i of this.visible) this.clamped.clamp[i] = 1;
    this.oppD = this.wires.d.map((d) => oppositeDirection(d));
    // an ACP measurement runs two replicas of max(1, floor(batch / 2)) inputs
    const chains = Math.max(spec.batch, 2 * Math.max(1, Math.floor(spec.batch / 2)));
    this.pairs = { count: 0, target: new Int8Array(chains * V), input: new Int8Array(chains * V) };
    this.chainInput = Array.from({ length: chains }, () => new Float64Array(V));
    this.negFinals = Array.from({ length: spec.batch }, () => new Int8Array(f.N));
    const bits = spec.config.cell.weight_bits;
    this.levels = bits === 'exact' ? 0 : 2 ** (bits - 1) - 1;
    const unit = planeUnit(bits, spec.config.cell.weight_full_scale);
    this.pLevel = bits === 'exact' ? null : Float64Array.from({ length: 2 * this.levels + 1 }, (_, n) => hintonThreshold(n - this.levels, unit, spec.beta));
    this.biasUp = new Float64Array(V);
    this.biasDown = new Float64Array(V);
    this.pCell = new Float64Array(f.N);
    this.pUp = new Float64Array(V);
    this.pDown = new Float64Array(V);
    this.spins = new Int8Array(f.N);
    this.draws = Draws.create(Math.max(f.N, V), 4, 5, 1);
    if (this.draws) {
      this.draws.lists[0].set(this.visible);
      this.draws.thr[2].set(this.probs.toTarget.map((p) => p * TWO_POW_32));
      this.draws.thr[3].set(this.probs.toInput.map((p) => p * TWO_POW_32));
    }
    this.pos = this.engine.momentSums();
    this.neg = this.engine.momentSums();
    this.grad = new Float64Array(W + f.N);
    this.theta = new Float64Array(W + f.N);
  }

  dispose(): void {
    this.engine.dispose();
  }

  /**
   * The current parameters programmed at the chip's precision (plane units) into `free` and
   * `clamped` (which share them), with what the chains' initialisation and input biases derive
   * from them: the same values as quantising the model-unit planes (quantisePlanes).
   */
  private program(): void {
    const f = this.chip.fabric;
    const D = f.D;
    const cc = this.spec.config.cell;
    const q = this.quantise;
    const pl = this.free;
    const tb = this.state.thetaB;
    const tw = this.state.thetaW;
    const w = this.wires;
    for (let i = 0; i < f.N; i++) pl.bias[i] = q(tb[i]);
    for (let e = 0; e < w.i.length; e++) {
      const v = q(tw[e]);
      pl.w[w.i[e] * D + w.d[e]] = v;
      pl.w[w.j[e] * D + this.oppD[e]] = v;
    }
    pl.unit = planeUnit(cc.weight_bits, cc.weight_full_scale);
    pl.integer = cc.weight_bits !== 'exact';
    pl.programmed = w.i.length + f.N;
    Object.assign(this.clamped, { unit: pl.unit, integer: pl.integer, programmed: pl.programmed });
    // the input bias J_c x of visible entry v, quantised with the cell's own (x = +1 or -1), and the Hinton thresholds
    for (let i = 0; i < f.N; i++) this.pCell[i] = this.hinton(pl.bias[i]);
    for (let v = 0; v < this.visible.length; v++) {
      const i = this.visible[v];
      this.biasUp[v] = q(tb[i] + this.jc[v] * 1);
      this.biasDown[v] = q(tb[i] + this.jc[v] * -1);
      this.pUp[v] = this.hinton(this.biasUp[v]);
      this.pDown[v] = this.hinton(this.biasDown[v]);
    }
    if (this.draws) {
      this.draws.thr[0].set(this.pCell);
      this.draws.thr[1].set(this.pCell);
    }
  }

  /** the Hinton threshold (hintonThreshold) at bias b (plane units): looked up for the integer levels of quantised weights */
  private hinton(b: number): number {
    return this.pLevel ? this.pLevel[b + this.levels] : hintonThreshold(b, this.free.unit, this.spec.beta);
  }

  /** training pairs 0 .. count-1 drawn in stream `stepKey`: row b of `pairs` is pair b (target x^k, input x^(k+1)) */
  private drawPairs(stepKey: number, count: number): PairRows {
    const V = this.data.V;
    const P = this.pairs;
    const d = this.draws;
    for (let b = 0; b < count; b++) {
      const idx = Math.floor(uniform(stepKey, b) * this.data.n);
      const x0 = this.data.x.subarray(idx * V, (idx + 1) * V);
      if (d) {
        // noise(x0) and noise(target) as forward.ts draws them, in bulk
        d.bytes[1].set(x0);
        P.target.set(d.flips(stepKey, (1 + 2 * b) * V, V, 2, 1, 2).subarray(0, V), b * V);
        P.input.set(d.flips(stepKey, (2 + 2 * b) * V, V, 3, 2, 3).subarray(0, V), b * V);
        continue;
      }
      const target = P.target.subarray(b * V, (b + 1) * V);
      noiseInto(target, x0, this.probs.toTarget, stepKey, (1 + 2 * b) * V);
      noiseInto(P.input.subarray(b * V, (b + 1) * V), target, this.probs.toInput, stepKey, (2 + 2 * b) * V);
    }
    P.count = count;
    return P;
  }

  /** chain row r's biases for pair row b on the visible cells: its own bias with the input J_c x, quantised with it */
  private inputBias(r: number, b: number): { cells: Int32Array; values: Float64Array } {
    const values = this.chainInput[r];
    const V = this.visible.length;
    const x = this.pairs.input;
    for (let v = 0; v < V; v++) values[v] = x[b * V + v] > 0 ? this.biasUp[v] : this.biasDown[v];
    return { cells: this.visible, values };
  }

  /** a positive chain's initial spins: the Hinton draw on the latents, the target (pair row b) on the visible cells */
  private positiveStart(chain: number, b: number): Int8Array {
    const key = initKey(this.chip, chain, this.spec.stage);
    const V = this.visible.length;
    const d = this.draws;
    if (d) {
      // every cell drawn in bulk, then the target over the visible cells
      d.spins(key, 0, this.chip.fabric.N, 0, 0);
      d.bytes[4].set(this.pairs.target.subarray(b * V, (b + 1) * V));
      return d.scatter(V, 0, 4, 0);
    }
    const s = this.spins;
    const lat = this.latents;
    for (let n = 0; n < lat.length; n++) s[lat[n]] = hintonSpin(key, lat[n], this.pCell[lat[n]]);
    const t = this.pairs.target;
    for (let v = 0; v < V; v++) s[this.visible[v]] = t[b * V + v];
    return s;
  }

  /** a noise-started negative chain's initial spins: the Hinton draw at its biases (the input of pair row b included) */
  private noiseStart(chain: number, b: number): Int8Array {
    const key = initKey(this.chip, chain, this.spec.stage);
    const V = this.visible.length;
    const x = this.pairs.input;
    if (this.draws) {
      // the latents' thresholds are the programmed ones already; the visible cells' follow the input
      const thr = this.draws.thr[1];
      for (let v = 0; v < V; v++) thr[this.visible[v]] = x[b * V + v] > 0 ? this.pUp[v] : this.pDown[v];
      return this.draws.spins(key, 0, this.chip.fabric.N, 1, 0);
    }
    const s = this.spins;
    const lat = this.latents;
    for (let n = 0; n < lat.length; n++) s[lat[n]] = hintonSpin(key, lat[n], this.pCell[lat[n]]);
    for (let v = 0; v < V; v++) {
      const i = this.visible[v];
      s[i] = hintonSpin(key, i, x[b * V + v] > 0 ? this.pUp[v] : this.pDown[v]);
    }
    return s;
  }

  /**
   * One phase of `count` chains from `first`: moments into `sums` from `warmup` on (when given).
   * Chain c's biases are the programmed ones with inputOf(c) on its cells (the input; none for a
   * positive phase), its initial spins spinsOf(c), or with `keep` the state its engine slot ended
   * the phase before with. With `finals`, the chains' last states are read into those arrays. Work
   * that may pause before a sweep (`due`, fabric/pause.ts); `stop()` true before a sweep throws
   * Interrupted (sim/run.ts stageSteps).
   */
  private *phaseSteps(
    pl: Planes,
    first: number,
    count: number,
    o: {
      /** the engine holds these planes' weights and biases already (another clamp mask) */
      reclamp?: boolean;
      warmup: number;
      sums?: MomentSums;
      inputOf?: (c: number) => { cells: Int32Array; values: Float64Array };
      spinsOf: (c: number) => ArrayLike<number>;
      /** the chains continue from the engine's chains of the phase before (runStage keep) */
      keep?: boolean;
      view?: { wants: (c: number, s: number) => boolean; onSweep: (v: SweepView) => void };
      sweeps?: number;
      finals?: Int8Array[];
    },
    due: () => boolean,
    stop: () => boolean,
  ): Steps<{ latches: number; finals: Int8Array[] }> {
    const sp = this.spec;
    const ev = new ExactEvents();
    if (o.reclamp) this.engine.programClamp(pl);
    else this.engine.program(pl);
    const finals = yield* stageSteps(
      this.chip,
      this.engine,
      pl,
      first,
      count,
      {
        stage: sp.stage,
        sweeps: o.sweeps ?? o.warmup + (sp.samples - 1) * sp.every + 1,
        betaAt: () => sp.beta,
        inputOf: o.inputOf,
        spinsOf: (c) => o.spinsOf(c),
        keep: o.keep,
        moments: o.sums ? { from: o.warmup, every: sp.every, sums: o.sums } : undefined,
        view: o.view,
        finals: o.finals !== undefined,
        finalsInto: o.finals,
        shouldStop: stop,
        // training reads spins and moments only: the engines leave the energy's divider terms out
        energy: false,
      },
      ev,
      due,
    );
    return { latches: Number(ev.get('latches')), finals };
  }

  /** one gradient step (global step number g) */
  step(g: number, lr: number): { gradRms: number; agreement: number } {
    return runThrough((due) => this.stepSteps(g, lr, due, never));
  }

  /** step() as work that may pause before a sweep; `stop()` before a sweep throws Interrupted, the parameters unchanged */
  private *stepSteps(g: number, lr: number, due: () => boolean, stop: () => boolean): Steps<{ gradRms: number; agreement: number }> {
    const r = yield* this.gradientSteps(g, due, stop);
    const W = this.wires.i.length;
    const theta = this.theta;
    theta.set(this.state.thetaW, 0);
    theta.set(this.state.thetaB, W);
    this.adam.step(theta, r.grad, lr, this.spec.adam);
    // a quantised chip clips a weight at its full scale (cells/planes.ts quantiser): the parameter stays
    // there too, so that it neither drifts where no sample can tell it apart nor must travel back
    // before a reversed gradient changes the chip, and every trained model fits its chip
    const fs = this.spec.config.cell.weight_full_scale;
    if (this.levels > 0) for (let k = 0; k < W; k++) theta[k] = theta[k] > fs ? fs : theta[k] < -fs ? -fs : theta[k];
    const st = this.state;
    const d = this.spec.ema ?? 0;
    if (d > 0) {
      // the average starts from the parameters before the first averaged step
      st.emaW ??= st.thetaW.slice();
      st.emaB ??= st.thetaB.slice();
    }
    st.thetaW.set(theta.subarray(0, W));
    st.thetaB.set(theta.subarray(W));
    if (d > 0) {
      emaStep(st.emaW!, st.thetaW, d);
      emaStep(st.emaB!, st.thetaB, d);
    }
    return { gradRms: r.gradRms, agreement: r.agreement };
  }

  /**
   * The update direction (ascent) of step g, estimated from the chip's chains: per wire (in
   * `wires` order), then per cell; the agreement of the negative chains with the targets. The
   * returned `grad` is the trainer's own array, valid until the next step.
   */
  gradient(g: number): { grad: Float64Array; gradRms: number; agreement: number } {
    return runThrough((due) => this.gradientSteps(g, due, never));
  }

  private *gradientSteps(g: number, due: () => boolean, stop: () => boolean): Steps<{ grad: Float64Array; gradRms: number; agreement: number }> {
    const sp = this.spec;
    const f = this.chip.fabric;
    const B = sp.batch;
    const V = this.visible.length;
    const stepKey = streamKey(sp.seed, TRAIN_PURPOSE, sp.stage, g);
    this.drawPairs(stepKey, B);
    const first = 2 * B * g;
    const { pos, neg } = this;
    for (const m of [pos, neg]) {
      m.samples = 0;
      m.spin.fill(0);
      m.pair.fill(0);
    }
    this.program();
    const epoch = Math.floor(g / Math.max(1, sp.steps));
    const finalEpochs = sp.finalEpochs ?? 0;
    const final = finalEpochs > 0 && epoch >= sp.epochs - finalEpochs;
    const fromData = !final && sp.negStart === 'data' && epoch < (sp.dataEpochs ?? Infinity);
    const negWarmup = final ? (sp.finalWarmup ?? sp.warmup) : fromData ? (sp.dataWarmup ?? sp.warmup) : sp.warmup;
    const p = yield* this.phaseSteps(
      this.clamped,
      first,
      B,
      {
        warmup: sp.posWarmup ?? sp.warmup,
        sums: pos,
        spinsOf: (c) => this.positiveStart(c, c - first),
      },
      due,
      stop,
    );
    let updates = p.latches;
    const n = yield* this.phaseSteps(
      this.free,
      first + B,
      B,
      {
        reclamp: true,
        warmup: negWarmup,
        sums: neg,
        inputOf: (c) => this.inputBias(c - first - B, c - first - B),
        // data-started: each negative chain continues its positive chain's last state in the engine
        spinsOf: (c) => this.noiseStart(c, c - first - B),
        keep: fromData,
        finals: this.negFinals,
      },
      due,
      stop,
    );
    updates += n.latches;
    this.state.cellUpdates += updates;
    // the negative chains' image cells at their last sample (the phase's last sweep), against the targets
    let agree = 0;
    let agreeN = 0;
    const t = this.pairs.target;
    const vis = this.visible;
    const nImage = this.nImage;
    for (let b = 0; b < B; b++) {
      const s = n.finals[b];
      for (let v = 0; v < nImage; v++) agree += s[vis[v]] * t[b * V + v];
      agreeN += nImage;
    }
    // the update direction (ascent)
    const w = this.wires;
    const W = w.i.length;
    const grad = this.grad;
    const lam = sp.acp.on ? this.state.lambda : 0;
    const beta = sp.beta;
    // the sums read once (an engine's sums may add what they hold pending when read)
    const { pair: posPair, spin: posSpin, samples: posN } = pos;
    const { pair: negPair, spin: negSpin, samples: negN } = neg;
    const wPair = w.pair;
    const wi = w.i;
    const wj = w.j;
    let ss = 0;
    for (let e = 0; e < W; e++) {
      const q = wPair[e];
      const cp = posPair[q] / posN;
      const cn = negPair[q] / negN;
      const mi = negSpin[wi[e]] / negN;
      const mj = negSpin[wj[e]] / negN;
      const gv = beta * (cp - cn) + lam * (mi * mj - cn);
      grad[e] = gv;
      ss += gv * gv;
    }
    for (let i = 0; i < f.N; i++) grad[W + i] = beta * (posSpin[i] / posN - negSpin[i] / negN);
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
    return runThrough((due) => this.autocorrelationSteps(epoch, due, never));
  }

  private *autocorrelationSteps(epoch: number, due: () => boolean, stop: () => boolean): Steps<number> {
    const sp = this.spec;
    const N = this.chip.fabric.N;
    const half = Math.max(1, Math.floor(sp.batch / 2));
    const key = streamKey(sp.seed, TRAIN_PURPOSE, sp.stage, 1e9 + epoch);
    this.drawPairs(key, half);
    const t1 = (sp.acpWarmup ?? sp.warmup) - 1;
    const t2 = t1 + sp.acp.lag;
    const snaps = new Map<number, [Int8Array, Int8Array]>();
    const first = 2 ** 31 + epoch * 2 * half; // chain numbers apart from the training steps'
    this.program();
    // chain 2p and 2p + 1 are the replicas of input p
    const ran = yield* this.phaseSteps(
      this.free,
      first,
      2 * half,
      {
        warmup: t1 + 1,
        inputOf: (c) => this.inputBias(c - first, (c - first) >> 1),
        spinsOf: (c) => this.noiseStart(c, (c - first) >> 1),
        view: {
          wants: (_c, s) => s === t1 || s === t2,
          onSweep: (v) => {
            const e = snaps.get(v.chain) ?? [new Int8Array(N), new Int8Array(N)];
            e[v.sweep === t1 ? 0 : 1].set(v.s.subarray(0, N));
            snaps.set(v.chain, e);
          },
        },
        sweeps: t2 + 1,
      },
      due,
      stop,
    );
    this.state.cellUpdates += ran.latches;
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
    return runThrough((due) => this.epochSteps(onEpoch, onStep, due)) === 'trained';
  }

  /**
   * The next epoch as work that may pause (fabric/pause.ts): before every sweep of its chains it
   * yields when `due()` says so, and asks `stop()` there and before each step. Stopped, it returns
   * 'stopped' at once and the epoch is left unfinished: the state holds the steps taken so far, so
   * the trainer must not be used again (the last onEpoch state, a checkpoint, is the consistent
   * one). 'done' when every epoch is trained, 'trained' after an epoch (onEpoch called).
   */
  *epochSteps(
    onEpoch: (r: EpochRecord, st: StageState) => void,
    onStep?: (stepInEpoch: number) => void,
    due: () => boolean = () => false,
    stop: () => boolean = () => false,
  ): Steps<'trained' | 'done' | 'stopped'> {
    const sp = this.spec;
    if (this.state.epoch >= sp.epochs) return 'done';
    const total = sp.epochs * sp.steps;
    const t0 = performance.now();
    const epoch = this.state.epoch;
    let last = { gradRms: 0, agreement: 0 };
    let lr = 0;
    let rho: number;
    try {
      for (let s = 0; s < sp.steps; s++) {
        if (stop()) return 'stopped';
        const g = epoch * sp.steps + s;
        lr = cosineLr(sp.adam.lr, sp.alpha, g / Math.max(1, total - 1));
        // pauses before its sweeps: a signal handler on this thread runs there (cli/signals.ts)
        last = yield* this.stepSteps(g, lr, due, stop);
        onStep?.(s + 1);
      }
      if (stop()) return 'stopped';
      rho = yield* this.autocorrelationSteps(epoch, due, stop);
    } catch (e) {
      if (e instanceof Interrupted && stop()) return 'stopped';
      throw e;
    }
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
    return 'trained';
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

/**
 * Denoising Thermodynamic Models on the chip: making DTM model files, and generation — for each
 * stage from the noisiest to the cleanest: program the stage's weights, clamp the previous
 * stage's output as a bias J_c * s on each visible cell, initialise, run K sweeps (optionally with
 * a beta schedule), read out the visible cells, pass them on.
 */
import { UserError } from '../fabric/errors.js';
import { buildFabric, type Fabric } from '../fabric/fabric.js';
import { resolveRules, type Rule } from '../fabric/rules.js';
import { quantise } from '../cells/bias.js';
import { streamKey, uniform, draw32, Purpose } from '../rng/counter.js';
import { zeroEvents, diffEvents, type EventCounts } from '../power/events.js';
import { energyOf, type EnergyReport } from '../power/energy.js';
import { checkModelFitsFabric, stagePlanes, stageCoupling, timeGrid, randomStage, type Model, type StageModel } from './model.js';
import { initChain, sweepOnce, newTally, latchKey, initKey } from './run.js';
import type { Chip } from './chip.js';
import { TRACE_FORMAT, TRACE_VERSION, type TraceSink } from '../traces/types.js';

export const FMNIST_PIXELS = 784;
export const FMNIST_CLASSES = 10;
export const FMNIST_LABEL_COPIES = 10;

export interface NewDtmOptions {
  T: number;
  L: number;
  rules: string | Rule[];
  boundary: 'open' | 'torus';
  visible: 'fmnist' | number;
  weights: 'zero' | { random: number };
  seed: number;
  beta?: number;
  lambdaImage?: number;
  lambdaLabel?: number;
}

/** A seeded permutation of 0..n-1 (Fisher–Yates on counter draws). */
function permutation(n: number, key: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform(key, i) * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export function newDtmModel(o: NewDtmOptions): Model {
  if (!Number.isInteger(o.T) || o.T < 1) throw new UserError(`--stages ${o.T}: must be an integer >= 1`);
  const rules = resolveRules(o.rules, '--rules');
  const fabric = buildFabric({ L: o.L, rules, boundary: o.boundary, tileSize: o.L, linkLatencyCycles: 0 });
  const nImage = o.visible === 'fmnist' ? FMNIST_PIXELS : o.visible;
  const nLabel = o.visible === 'fmnist' ? FMNIST_CLASSES * FMNIST_LABEL_COPIES : 0;
  if (!Number.isInteger(nImage) || nImage < 1) throw new UserError(`--visible ${o.visible}: "fmnist" or a positive integer`);
  const spots = fabric.colourCells[0];
  if (nImage + nLabel > spots.length) {
    throw new UserError(`--visible ${o.visible}: needs ${nImage + nLabel} cells of one colour, an L=${o.L} grid has ${spots.length}`);
  }
  const perm = permutation(spots.length, streamKey(o.seed, Purpose.model, 2));
  const image = Int32Array.from({ length: nImage }, (_, p) => spots[perm[p]]);
  const label = Int32Array.from({ length: nLabel }, (_, p) => spots[perm[nImage + p]]);
  const stages: StageModel[] = [];
  for (let k = 0; k < o.T; k++) {
    // zero weights still program every wire: the chip writes each weight whatever its value
    const scale = o.weights === 'zero' ? 0 : o.weights.random;
    stages.push(randomStage(fabric, o.seed, 10 + 2 * k, scale, 0.2 * scale));
  }
  const side = Math.ceil(Math.sqrt(nImage));
  return {
    grid: { L: o.L, rules, boundary: o.boundary },
    beta: o.beta ?? 1,
    stages,
    dtm: {
      T: o.T,
      time_grid: timeGrid(o.T),
      lambda_image: o.lambdaImage ?? 0.9,
      lambda_label: o.lambdaLabel ?? 0.2,
      image,
      label,
      label_copies: nLabel > 0 ? FMNIST_LABEL_COPIES : 1,
      image_shape: o.visible === 'fmnist' ? [28, 28] : [Math.ceil(nImage / side), side],
    },
    source: `dtm T=${o.T} L=${o.L} ${typeof o.rules === 'string' ? o.rules : JSON.stringify(o.rules)} visible=${o.visible} weights=${o.weights === 'zero' ? 'zero' : `random:${o.weights.random}`} seed=${o.seed}`,
  };
}

export type Mapping = 'reprogram' | 'pipeline';

export interface GenerateOptions {
  images: number;
  sweeps: number;
  /** beta per sweep within a stage: constant (default: the model's) or linear start -> end */
  beta?: number | { start: number; end: number };
  /** class per image (cycled); label cells are clamped to the one-hot code */
  labels?: number[];
  mapping?: Mapping;
  sink?: TraceSink;
  /** version string written into a trace header */
  version?: string;
  /** keep every stage's visible states for the first `keepChains` chains (denoising strip) */
  keepChains?: number;
  onStageDone?: (stage: number, done: number, total: number) => void;
  /** after every image of every stage: units done of images x T */
  onImageDone?: (done: number, total: number) => void;
}

export interface StageStats {
  stage: number;
  coupling_image: number;
  coupling_label: number;
  cycles: number;
  sim_time_s: number;
  toggles: number;
  cell_updates: number;
  energy_j: EnergyReport;
}

export interface GenerateResult {
  images: number;
  T: number;
  sweeps: number;
  mapping: Mapping;
  events: EventCounts;
  energy: EnergyReport;
  cycles: number;
  simTimeS: number;
  /** time between finished images once the machine is full (pipeline) or per image (reprogram) */
  imageIntervalS: number;
  stages: StageStats[];
  /** x^0: visible spins (+-1) per image, in layout order (image pixels then label cells) */
  outputs: Int8Array[];
  /** strip[c][j]: visible spins of chain c after stage T-1-j (j = 0 is the input noise x^T) */
  strip: Int8Array[][];
  programClipped: number;
  wallS: number;
  updatesPerNs: number;
}

function betaFn(b: GenerateOptions['beta'], model: Model, K: number): (sweep: number) => number {
  if (b === undefined) return () => model.beta;
  if (typeof b === 'number') return () => b;
  return (sweep) => (K <= 1 ? b.end : b.start + ((b.end - b.start) * sweep) / (K - 1));
}

/** Generate images: the DTM program on the chip. */
export function generate(chip: Chip, model: Model, opts: GenerateOptions): GenerateResult {
  const t0 = performance.now();
  const dtm = model.dtm;
  if (!dtm) throw new UserError(`${model.source}: not a DTM model (no "dtm" section); run it as a Boltzmann machine with --stage`);
  checkModelFitsFabric(model, chip.config, chip.fabric.rules);
  const C = opts.images;
  const K = opts.sweeps;
  if (!Number.isInteger(C) || C < 1) throw new UserError(`--images ${C}: must be an integer >= 1`);
  if (!Number.isInteger(K) || K < 1) throw new UserError(`--sweeps ${K}: must be an integer >= 1`);
  const mapping = opts.mapping ?? 'reprogram';
  const fabric: Fabric = chip.fabric;
  const { N } = fabric;
  const T = dtm.T;
  const cc = chip.config.cell;
  const bitsPer = cc.weight_bits === 'exact' ? 32 : cc.weight_bits;
  const io = chip.config.io;
  const clock = chip.timing.clockHz;
  const visible = Int32Array.from([...dtm.image, ...dtm.label]);
  const V = visible.length;
  const nImage = dtm.image.length;
  const isLabel = (v: number) => v >= nImage;
  const labels = opts.labels ?? [];
  const classes = dtm.label.length / dtm.label_copies;
  for (const c of labels) {
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new UserError(`--labels: class ${c} outside 0..${classes - 1}`);
  }
  if (labels.length > 0 && dtm.label.length === 0) throw new UserError('--labels: the model has no label cells');
  const betaAt = betaFn(opts.beta, model, K);
  const seed = chip.config.seed;
  // x^T: uniform random visible bits per image (label cells clamped when --labels is given)
  let x: Int8Array[] = [];
  for (let c = 0; c < C; c++) {
    const key = streamKey(seed, chip.config.chip_id, c, Purpose.input);
    x.push(Int8Array.from({ length: V }, (_, v) => (draw32(key, v) & 1 ? 1 : -1)));
  }
  const clampFor = (c: number): { idx: Int32Array; val: Int8Array } => {
    if (labels.length === 0) return { idx: new Int32Array(0), val: new Int8Array(0) };
    const cls = labels[c % labels.length];
    const val = Int8Array.from({ length: dtm.label.length }, (_, n) => (Math.floor(n / dtm.label_copies) === cls ? 1 : -1));
    return { idx: dtm.label, val };
  };
  const keep = Math.min(opts.keepChains ?? 0, C);
  const strip: Int8Array[][] = Array.from({ length: keep }, (_, c) => [x[c].slice()]);
  const ev = zeroEvents();
  const stages: StageStats[] = new Array(T);
  const tally = newTally();
  const sink = opts.sink;
  let cycle = 0;
  let clipped = 0;
  const readCycles = Math.ceil(V / io.readout_bits_per_cycle);
  const clampBits = V * bitsPer;
  const clampCycles = Math.ceil(clampBits / io.program_bits_per_cycle);
  const perImageCycles = 1 + clampCycles + K * chip.timing.sweepCycles + readCycles;
  let maxProgramCycles = 0;
  if (sink) {
    sink.header({
      format: TRACE_FORMAT,
      version: TRACE_VERSION,
      dtca_version: opts.version ?? 'unknown',
      created: new Date().toISOString(),
      config: chip.config,
      model: {
        source: model.source,
        T,
        beta: model.beta,
        beta_schedule: opts.beta ?? model.beta,
        lambda_image: dtm.lambda_image,
        lambda_label: dtm.lambda_label,
        time_grid: dtm.time_grid,
        coupling_image: Array.from({ length: T }, (_, k) => stageCoupling(dtm, k, dtm.lambda_image)),
        coupling_label: Array.from({ length: T }, (_, k) => stageCoupling(dtm, k, dtm.lambda_label)),
        image_shape: dtm.image_shape,
        labels: labels,
      },
      layout: { L: fabric.L, N, colour: fabric.colour, visible, image: dtm.image, label: dtm.label, label_copies: dtm.label_copies },
      run: { chains: C, stages: T, sweeps: K, clock_hz: clock, mapping },
    });
  }
  for (let k = T - 1; k >= 0; k--) {
    const evStage0 = { ...ev };
    const cycleStage0 = cycle;
    const st = model.stages[k];
    const base = stagePlanes(fabric, st, `${model.source}: stages[${k}]`);
    const baseBias = base.bias.slice();
    // weights once per stage; biases are rewritten per image below (they carry the clamp)
    for (let i = 0; i < base.w.length; i++) {
      if (Math.abs(base.w[i]) > cc.weight_full_scale) clipped += 0.5;
      base.w[i] = quantise(base.w[i], cc.weight_bits, cc.weight_full_scale);
    }
    const programBits = base.programmed * bitsPer;
    const programCycles = Math.ceil(programBits / io.program_bits_per_cycle);
    maxProgramCycles = Math.max(maxProgramCycles, programCycles);
    ev.weight_bits_written += programBits;
    cycle += programCycles;
    const jImg = stageCoupling(dtm, k, dtm.lambda_image);
    const jLab = stageCoupling(dtm, k, dtm.lambda_label);
    if (sink) {
      const e = energyOf(diffEvents(ev, evStage0), chip.table);
      sink.stageBegin({ stage: k, cycle, time_s: cycle / clock, energy_j: { ...e } });
    }
    const out: Int8Array[] = [];
    for (let c = 0; c < C; c++) {
      // clamp the input: bias_i += J_c s_i on visible cells, requantised
      const pl = base;
      pl.bias.set(baseBias);
      const xin = x[c];
      for (let v = 0; v < V; v++) pl.bias[visible[v]] += (isLabel(v) ? jLab : jImg) * xin[v];
      for (let i = 0; i < N; i++) {
        if (Math.abs(pl.bias[i]) > cc.weight_full_scale) clipped++;
        pl.bias[i] = quantise(pl.bias[i], cc.weight_bits, cc.weight_full_scale);
      }
      const cl = clampFor(c);
      pl.clamp.fill(0);
      for (const i of cl.idx) pl.clamp[i] = 1;
      ev.weight_bits_written += clampBits;
      cycle += clampCycles;
      const stt = initChain(chip, pl, cl.idx, cl.val, initKey(chip, c, k), 'hinton', betaAt(0));
      ev.cells_initialised += N - cl.idx.length;
      cycle += 1;
      for (let sweep = 0; sweep < K; sweep++) {
        const evPrev = sink ? { ...ev } : null;
        sweepOnce(chip, pl, stt, sweep, betaAt(sweep), latchKey(chip, c, k, sweep), tally, ev);
        cycle += chip.timing.sweepCycles;
        if (sink && evPrev && sink.wantsSweep(c, k, sweep)) {
          const d = diffEvents(ev, evPrev);
          d.leak_cell_s = (N * chip.timing.sweepCycles) / clock;
          const e = energyOf(d, chip.table);
          sink.sweep({ chain: c, stage: k, sweep, cycle, time_s: cycle / clock, spins: stt.s, toggles: tally.toggles, energy_j: { ...e } });
        }
      }
      const xo = new Int8Array(V);
      for (let v = 0; v < V; v++) xo[v] = stt.s[visible[v]];
      out.push(xo);
      if (c < keep) strip[c].push(xo.slice());
      ev.cells_read += V;
      cycle += readCycles;
      opts.onImageDone?.((T - 1 - k) * C + c + 1, T * C);
    }
    x = out;
    const stageCycles = cycle - cycleStage0;
    const evStage = diffEvents(ev, evStage0);
    evStage.leak_cell_s = (N * stageCycles) / clock;
    stages[k] = {
      stage: k,
      coupling_image: jImg,
      coupling_label: jLab,
      cycles: stageCycles,
      sim_time_s: stageCycles / clock,
      toggles: evStage.toggles,
      cell_updates: evStage.latches,
      energy_j: energyOf(evStage, chip.table),
    };
    if (sink) sink.stageEnd({ stage: k, cycle, time_s: cycle / clock, energy_j: { ...stages[k].energy_j }, toggles: evStage.toggles, cycles: stageCycles });
    opts.onStageDone?.(k, T - k, T);
  }
  // time: one array re-programmed per stage runs everything in sequence; a pipeline of T arrays
  // programs them once (in parallel) and finishes one image per stage time once full
  let cycles: number;
  let arrays: number;
  if (mapping === 'pipeline') {
    cycles = maxProgramCycles + (C + T - 1) * perImageCycles;
    arrays = T;
  } else {
    cycles = cycle;
    arrays = 1;
  }
  const simTimeS = cycles / clock;
  ev.leak_cell_s = arrays * N * simTimeS;
  const energy = energyOf(ev, chip.table);
  sink?.end({ cycle: cycles, time_s: simTimeS, energy_j: { ...energy }, cell_updates: ev.latches, toggles: ev.toggles });
  const wallS = (performance.now() - t0) / 1000;
  return {
    images: C,
    T,
    sweeps: K,
    mapping,
    events: ev,
    energy,
    cycles,
    simTimeS,
    imageIntervalS: mapping === 'pipeline' ? perImageCycles / clock : simTimeS / C,
    stages: stages.slice(),
    outputs: x,
    strip,
    programClipped: clipped,
    wallS,
    updatesPerNs: ev.latches / (wallS * 1e9),
  };
}


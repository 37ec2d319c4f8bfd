/**
 * Denoising Thermodynamic Models on the chip: making DTM model files, and generation — for each
 * stage from the noisiest to the cleanest: program the stage's weights, clamp the previous
 * stage's output as a bias J_c * s on each visible cell, initialise, run K sweeps (optionally with
 * a beta schedule), read out the visible cells, pass them on.
 */
import { UserError, OptionError } from '../fabric/errors.js';
import { buildFabric, type Fabric } from '../fabric/fabric.js';
import { resolveRules, shown, type Rule } from '../fabric/rules.js';
import { quantisePlanes, quantiser, bitsPerValue } from '../cells/planes.js';
import { createEngine } from '../cells/select.js';
import type { EngineChoice } from '../cells/engine.js';
import { streamKey, uniform, draw32, Purpose } from '../rng/counter.js';
import { ExactEvents, type EventCounts } from '../power/events.js';
import { overRanges, splitRanges } from './pool.js';
import { runThrough, runPaced, type Steps } from '../fabric/pause.js';
import { energyOf, type EnergyReport } from '../power/energy.js';
import {
  checkModelFitsFabric,
  isLabelGain,
  MAX_LABEL_GAIN,
  guidedStage,
  stagePlanes,
  stageCoupling,
  timeGrid,
  randomStage,
  MAX_PARAMETER,
  MAX_BETA,
  MIN_LAMBDA,
  MAX_LAMBDA,
  type Model,
  type StageModel,
} from './model.js';
import {
  stageSteps,
  checkRunKnobs,
  checkFunctions,
  betaAt,
  initialSpins,
  initKey,
  engineReport,
  mergeEngineReports,
  runTiles,
  traceSweeps,
  type EngineReport,
  type BetaSpec,
  type StopOptions,
} from './run.js';
import { buildChip, chipEvents, type Chip } from './chip.js';
import { TRACE_FORMAT, traceVersion, type StageInfo, type TraceOptions, type TraceSink } from '../traces/types.js';
import { RelaySink, replayRelayed, type RelayedSweeps } from '../traces/relay.js';
import { chooseLayout, describeImage, imageSourceOf, IMAGE_SIDES, type ImageChoice, type Placement, type VisibleLayout } from './layout.js';
import { recordedTime } from '../fabric/stamp.js';

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
  /** where the visible cells go (default random): see placeVisible() */
  placement?: Placement;
  /** visible 'fmnist': the image (default auto: the largest that fits the grid, sim/layout.ts) */
  image?: ImageChoice;
  /** visible 'fmnist': label copies per class (default: as many as fit, 10 down to 5) */
  labelCopies?: number;
  /**
   * How errors name the grid size and the rules: by default as this call's options, L and rules;
   * the caller that took them elsewhere names them as it did (dtca model new: its flags -L,
   * --rules; from a config: fabric.L, fabric.rules).
   */
  names?: { L: string; rules: string };
}

/** NewDtmOptions.names for a grid taken from a config's fabric */
export const CONFIG_GRID_NAMES = { L: 'fabric.L', rules: 'fabric.rules' };

export type { Placement } from './layout.js';
export const PLACEMENTS: Placement[] = ['random', 'spatial'];

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

/**
 * The visible cells' positions, all on colour 0 (so they latch together, between latent phases).
 *
 * `random` (the paper's): image pixels and label cells at seeded random colour-0 cells.
 * `spatial` (ours): pixel (r, c) of an h x w image at cell (x0 + 2c, y0 + 2r), centred (every
 * other cell: one colour of a checkerboard; 1 apart on grids too small for that), so neighbouring
 * pixels share latent neighbours (a local, convolution-like layout: image smoothness needs one
 * latent hop); the label cells on a 10 x 10 lattice over the image's area, class (i + 3j) mod 10
 * at lattice point (i, j), so every region of the image has a copy of every class nearby. Each
 * cell goes to the free colour-0 cell nearest its target.
 */
export function placeVisible(
  fabric: Fabric,
  placement: Placement,
  nImage: number,
  nLabel: number,
  shape: [number, number],
  seed: number,
): { image: Int32Array; label: Int32Array } {
  const spots = fabric.colourCells[0];
  if (placement === 'random') {
    const perm = permutation(spots.length, streamKey(seed, Purpose.model, 2));
    return {
      image: Int32Array.from({ length: nImage }, (_, p) => spots[perm[p]]),
      label: Int32Array.from({ length: nLabel }, (_, p) => spots[perm[nImage + p]]),
    };
  }
  const L = fabric.L;
  const free = new Uint8Array(L * L);
  for (const i of spots) free[i] = 1;
  // the free colour-0 cell nearest to (fx, fy) (grid units), ties to the smaller index
  const nearest = (fx: number, fy: number): number => {
    const cx = Math.min(L - 1, Math.max(0, Math.floor(fx)));
    const cy = Math.min(L - 1, Math.max(0, Math.floor(fy)));
    for (let r = 0; r < L; r++) {
      let best = -1;
      let bd = Infinity;
      for (let y = Math.max(0, cy - r); y <= Math.min(L - 1, cy + r); y++) {
        for (let x = Math.max(0, cx - r); x <= Math.min(L - 1, cx + r); x++) {
          const i = y * L + x;
          if (!free[i]) continue;
          const d = (x + 0.5 - fx) ** 2 + (y + 0.5 - fy) ** 2;
          if (d < bd || (d === bd && i < best)) ((bd = d), (best = i));
        }
      }
      // a cell found in ring r may be beaten by one in ring r + 1 only if it is farther than r
      if (best >= 0 && Math.sqrt(bd) <= r) return ((free[best] = 0), best);
      if (best >= 0 && r === L - 1) return ((free[best] = 0), best);
    }
    throw new UserError(`placement: no free cell of colour 0 left on the ${L}x${L} grid`);
  };
  const [h, w] = shape;
  // pixels every `sp` cells (2 keeps them on one colour of a checkerboard), centred
  const sp = Math.max(1, Math.min(2, Math.floor((L - 1) / Math.max(1, Math.max(h, w) - 1))));
  const spanX = sp * (w - 1) + 1;
  const spanY = sp * (h - 1) + 1;
  let x0 = Math.max(0, Math.floor((L - spanX) / 2));
  const y0 = Math.max(0, Math.floor((L - spanY) / 2));
  if (fabric.colour[y0 * L + x0] !== 0 && x0 + spanX < L) x0++;
  const image = new Int32Array(nImage);
  for (let p = 0; p < nImage; p++) {
    const r = Math.floor(p / w);
    const c = p % w;
    image[p] = nearest(x0 + sp * c + 0.5, y0 + sp * r + 0.5);
  }
  const label = new Int32Array(nLabel);
  const classes = 10;
  const copies = Math.ceil(nLabel / classes);
  const side = Math.ceil(Math.sqrt(nLabel));
  // lattice point n = j * side + i holds class (i + 3j) mod 10, its copy the count of that class so far
  const seen = new Int32Array(classes);
  for (let n = 0; n < side * side; n++) {
    const i = n % side;
    const j = Math.floor(n / side);
    const cls = (i + 3 * j) % classes;
    const copy = seen[cls];
    if (copy >= copies || cls * copies + copy >= nLabel) continue;
    seen[cls]++;
    label[cls * copies + copy] = nearest(x0 + ((i + 0.5) * spanX) / side, y0 + ((j + 0.5) * spanY) / side);
  }
  for (let cls = 0; cls < classes; cls++) {
    for (let copy = seen[cls]; copy < copies && cls * copies + copy < nLabel; copy++) label[cls * copies + copy] = nearest(L / 2, L / 2);
  }
  return { image, label };
}

/**
 * The options of newDtmModel a JavaScript caller may get wrong beyond the types (an unknown
 * boundary or placement, a NaN beta): each an OptionError naming it, as a model file with that
 * value would be refused (sim/model.ts), never a model written with it.
 */
function checkDtmOptions(o: NewDtmOptions): void {
  if (!Number.isInteger(o.T) || o.T < 1) throw new OptionError('T', o.T, 'must be an integer >= 1');
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new OptionError('seed', o.seed, 'must be an integer >= 0');
  if (o.boundary !== 'open' && o.boundary !== 'torus') throw new OptionError('boundary', o.boundary, 'must be open or torus');
  if (o.placement !== undefined && !PLACEMENTS.includes(o.placement))
    throw new OptionError('placement', o.placement, `must be one of ${PLACEMENTS.join(', ')}`);
  if (o.image !== undefined && o.image !== 'auto' && !IMAGE_SIDES.includes(o.image as number))
    throw new OptionError('image', o.image, `must be auto or an image side: ${IMAGE_SIDES.join(', ')}`);
  if (o.weights !== 'zero' && (o.weights === null || typeof o.weights !== 'object'))
    throw new OptionError('weights', o.weights, "must be 'zero' or { random: scale }");
  // a scale beyond what a model file may hold would write a model every reader refuses (sim/model.ts)
  if (o.weights !== 'zero' && !(Number.isFinite(o.weights.random) && o.weights.random >= 0 && o.weights.random <= MAX_PARAMETER))
    throw new OptionError(
      'weights',
      `random:${o.weights.random}`,
      `the scale must be in [0, ${MAX_PARAMETER}] (model parameters are within +-${MAX_PARAMETER})`,
    );
  if (o.beta !== undefined && !(typeof o.beta === 'number' && o.beta > 0 && o.beta <= MAX_BETA))
    throw new OptionError('beta', o.beta, `must be a number in (0, ${MAX_BETA}]`);
  for (const k of ['lambdaImage', 'lambdaLabel'] as const) {
    const v = o[k];
    if (v !== undefined && !(typeof v === 'number' && v >= MIN_LAMBDA && v <= MAX_LAMBDA))
      throw new OptionError(k, v, `must be a number in [${MIN_LAMBDA}, ${MAX_LAMBDA}]`);
  }
}

export function newDtmModel(o: NewDtmOptions): Model {
  checkDtmOptions(o);
  const names = o.names ?? { L: 'L', rules: 'rules' };
  const rules = resolveRules(o.rules, names.rules);
  const fabric = buildFabric({ L: o.L, rules, boundary: o.boundary, tileSize: o.L, linkLatencyCycles: 0, names });
  const placement = o.placement ?? 'random';
  // Fashion-MNIST: the largest image (and label copies) the grid holds (sim/layout.ts)
  const layout: VisibleLayout | null = o.visible === 'fmnist' ? chooseLayout(o.L, placement, o.image ?? 'auto', o.labelCopies, names.L) : null;
  const nImage = layout ? layout.nImage : (o.visible as number);
  const nLabel = layout ? layout.nLabel : 0;
  if (!Number.isInteger(nImage) || nImage < 1) throw new OptionError('visible', o.visible, '"fmnist" or a positive integer');
  const spots = fabric.colourCells[0];
  if (nImage + nLabel > spots.length) {
    throw new OptionError('visible', o.visible, `needs ${nImage + nLabel} cells of one colour, an L=${o.L} grid has ${spots.length}`);
  }
  const side = Math.ceil(Math.sqrt(nImage));
  const shape: [number, number] = layout ? [layout.image.height, layout.image.width] : [Math.ceil(nImage / side), side];
  const { image, label } = placeVisible(fabric, placement, nImage, nLabel, shape, o.seed);
  const stages: StageModel[] = [];
  for (let k = 0; k < o.T; k++) {
    // zero weights still program every wire: the chip writes each weight whatever its value
    const scale = o.weights === 'zero' ? 0 : o.weights.random;
    stages.push(randomStage(fabric, o.seed, 10 + 2 * k, scale, 0.2 * scale));
  }
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
      label_copies: layout ? layout.labelCopies : 1,
      image_shape: shape,
      ...(layout ? { image_source: layout.image } : {}),
    },
    source: `dtm T=${o.T} L=${o.L} ${typeof o.rules === 'string' ? o.rules : JSON.stringify(o.rules)} visible=${o.visible}${layout && (layout.image.downscale !== 1 || layout.labelCopies !== FMNIST_LABEL_COPIES) ? ` image=${describeImage(layout.image)} label_copies=${layout.labelCopies}` : ''}${o.placement === 'spatial' ? ' placement=spatial' : ''} weights=${o.weights === 'zero' ? 'zero' : `random:${o.weights.random}`} seed=${o.seed}`,
    random_weights: o.weights !== 'zero' && o.weights.random > 0,
  };
}

export type Mapping = 'reprogram' | 'pipeline';

export interface GenerateOptions extends StopOptions {
  images: number;
  sweeps: number;
  /** beta per sweep within a stage: constant (default: the model's) or linear start -> end */
  beta?: BetaSpec;
  /** class per image (cycled); label cells are clamped to the one-hot code */
  labels?: number[];
  /** label guidance with clamped labels (sim/model.ts guidedStage); default the model's label_gain, else 1 */
  labelGain?: number;
  mapping?: Mapping;
  sink?: TraceSink;
  /** version string written into a trace header */
  version?: string;
  /** keep every stage's visible states for the first `keepChains` chains (denoising strip) */
  keepChains?: number;
  onStageDone?: (stage: number, done: number, total: number) => void;
  /** worker threads over images (a trace gets their records in the order one thread writes them); with one image, threads over its rows (tiles) */
  workers?: number;
  /** one image's chain split by bands of rows over this many threads (sim/run.ts runTiles) */
  tiles?: number;
  /** after every image of every stage: units done of images x T */
  onImageDone?: (done: number, total: number) => void;
  /** the latch engine (default auto) */
  engine?: EngineChoice;
  /** most images one engine holds at a time (default: all of a thread's images) */
  batch?: number;
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
  /** the label guidance applied (1 without clamped labels) */
  labelGain: number;
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
  /** programmed values beyond the full scale, clipped as the chip clips them: weights plus biases (with each image's stage input) */
  programClipped: number;
  /** of which weights: a model made for a wider range than this chip's (the rest is strong inputs saturating a bias) */
  weightsClipped: number;
  /** of those weights, the label wires only the label guidance took beyond the full scale (the guidance was chosen with them clipped) */
  guidanceClipped: number;
  wallS: number;
  updatesPerNs: number;
  engine: EngineReport;
}

function betaFn(b: GenerateOptions['beta'], model: Model, K: number): (sweep: number) => number {
  if (b === undefined) return () => model.beta;
  return (sweep) => betaAt(b, sweep, K);
}

/** What every part of a generation run derives from the chip, the model and the options. */
interface Plan {
  T: number;
  K: number;
  C: number;
  visible: Int32Array;
  nImage: number;
  labels: number[];
  /** the label guidance applied (1 without clamped labels) */
  labelGain: number;
  bitsPer: number;
  clampBits: number;
  clampCycles: number;
  readCycles: number;
  /** cycles one image spends on the array per stage: bias write, init, K sweeps, readout */
  perImageCycles: number;
  programBits: number[];
  programCycles: number[];
  /**
   * the run's cycles on the chip: with `reprogram` one array runs every stage in turn (the sum of
   * stageCycles); a `pipeline` of T arrays programs them at once and finishes one image per stage
   * time once full
   */
  runCycles: number;
  /** the pipeline mapping: stage k on array k, every array's clock from cycle 0 (its trace's timeline) */
  pipeline: boolean;
  /**
   * per stage, the cycle its programming starts: with `reprogram` once every noisier stage is done
   * (the sum of their stageCycles); in a pipeline 0 (every array is programmed at once)
   */
  stageStart: number[];
  /** the cycle every array is programmed (the longest programming): a pipeline's first image starts then */
  programmed: number;
  /**
   * per stage, the cycles its array leaks: its own stageCycles on the one re-programmed array; in a
   * pipeline the whole run (every array leaks from start to end, waiting or not), so that the
   * stages' leakage sums to the run's
   */
  leakCycles: number[];
  jImg: number[];
  jLab: number[];
  betaAt: (sweep: number) => number;
}

function makePlan(chip: Chip, model: Model, opts: GenerateOptions): Plan {
  const dtm = model.dtm;
  // the command line never gets here with one (sim/workload.ts runs it with runModel): this is a library caller's
  if (!dtm)
    throw new UserError(`${model.source}: not a DTM model (no "dtm" section); run it as a Boltzmann machine with runModel (its stage option picks the stage)`);
  checkModelFitsFabric(model, chip.config, chip.fabric.rules);
  const C = opts.images;
  const K = opts.sweeps;
  if (!Number.isInteger(C) || C < 1) throw new OptionError('images', C, 'must be an integer >= 1');
  if (!Number.isInteger(K) || K < 1) throw new OptionError('sweeps', K, 'must be an integer >= 1');
  checkRunKnobs(opts);
  if (opts.mapping !== undefined && opts.mapping !== 'reprogram' && opts.mapping !== 'pipeline')
    throw new OptionError('mapping', opts.mapping, 'must be reprogram or pipeline');
  if (opts.keepChains !== undefined && (!Number.isInteger(opts.keepChains) || opts.keepChains < 0))
    throw new OptionError('keepChains', opts.keepChains, 'must be an integer >= 0');
  // a JavaScript caller's kinds: a string '0123' would be taken character by character, a number version written as one
  if (opts.labels !== undefined && !Array.isArray(opts.labels))
    throw new OptionError('labels', shown(opts.labels), 'must be a list of classes, e.g. [0, 1, 2]');
  if (opts.version !== undefined && typeof opts.version !== 'string') throw new OptionError('version', shown(opts.version), 'must be a string');
  checkTraceSink(opts.sink);
  checkFunctions(opts, ['onStageDone', 'onImageDone']);
  const labels = opts.labels ?? [];
  // checked even where it is not used (no labels clamped): a NaN is a mistake either way
  const labelGain = opts.labelGain;
  if (labelGain !== undefined && !isLabelGain(labelGain)) throw new OptionError('labelGain', labelGain, `must be a number in [0, ${MAX_LABEL_GAIN}]`);
  const classes = dtm.label.length / dtm.label_copies;
  if (labels.length > 0 && dtm.label.length === 0) throw new OptionError('labels', labels, 'the model has no label cells', false);
  for (const c of labels) {
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new OptionError('labels', labels, `class ${c} outside 0..${classes - 1}`, false);
  }
  const cc = chip.config.cell;
  const io = chip.config.io;
  const bitsPer = bitsPerValue(cc.weight_bits);
  const visible = Int32Array.from([...dtm.image, ...dtm.label]);
  const clampBits = visible.length * bitsPer;
  const clampCycles = Math.ceil(clampBits / io.program_bits_per_cycle);
  const readCycles = Math.ceil(visible.length / io.readout_bits_per_cycle);
  // programming writes every weight (once per undirected wire) and every bias of the stage
  const programBits = model.stages.map((st) => (st.ei.length + chip.fabric.N) * bitsPer);
  const programCycles = programBits.map((b) => Math.ceil(b / io.program_bits_per_cycle));
  const perImageCycles = clampCycles + 1 + K * chip.timing.sweepCycles + readCycles;
  const ownCycles = programCycles.map((p) => p + C * perImageCycles);
  const pipeline = opts.mapping === 'pipeline';
  const runCycles = pipeline ? Math.max(...programCycles) + (C + dtm.T - 1) * perImageCycles : ownCycles.reduce((a, b) => a + b, 0);
  const stageStart = new Array<number>(dtm.T).fill(0);
  if (!pipeline) for (let k = dtm.T - 2; k >= 0; k--) stageStart[k] = stageStart[k + 1] + ownCycles[k + 1];
  return {
    T: dtm.T,
    K,
    C,
    visible,
    nImage: dtm.image.length,
    labels,
    labelGain: labels.length > 0 ? (labelGain ?? dtm.label_gain ?? 1) : 1,
    bitsPer,
    clampBits,
    clampCycles,
    readCycles,
    perImageCycles,
    programBits,
    programCycles,
    runCycles,
    pipeline,
    stageStart,
    programmed: Math.max(...programCycles),
    leakCycles: pipeline ? ownCycles.map(() => runCycles) : ownCycles,
    jImg: model.stages.map((_, k) => stageCoupling(dtm, k, dtm.lambda_image)),
    jLab: model.stages.map((_, k) => stageCoupling(dtm, k, dtm.lambda_label)),
    betaAt: betaFn(opts.beta, model, K),
  };
}

/** x^T for image c: uniform random visible bits from the stream (seed, chip, c, input). */
function inputNoise(chip: Chip, c: number, V: number): Int8Array {
  const key = streamKey(chip.config.seed, chip.config.chip_id, c, Purpose.input);
  return Int8Array.from({ length: V }, (_, v) => (draw32(key, v) & 1 ? 1 : -1));
}

/** Cycles stage k's array is busy with it: its programming and every image's clamp, initialisation, sweeps and readout. */
function stageCycles(plan: Plan, k: number): number {
  return plan.programCycles[k] + plan.C * plan.perImageCycles;
}

/**
 * The cycle image c starts stage k (its input clamp) on the array that runs the stage: with
 * `reprogram` the one array, after the stage's programming and the images before it; in a pipeline
 * array k, once every array is programmed (the longest programming) and the image has passed
 * through the T - 1 - k noisier stages, one stage time (perImageCycles) each, and the images
 * before it have left the array.
 */
function imageStartCycle(plan: Plan, k: number, c: number): number {
  if (plan.pipeline) return plan.programmed + (c + plan.T - 1 - k) * plan.perImageCycles;
  return plan.stageStart[k] + plan.programCycles[k] + c * plan.perImageCycles;
}

/** The cycle stage k ends on its array: its last image read out (with `reprogram`: stageStart + stageCycles). */
function stageEndCycle(plan: Plan, k: number): number {
  return imageStartCycle(plan, k, plan.C - 1) + plan.perImageCycles;
}

export interface ImagesPart {
  /** events[j]: this range's events in stage T-1-j (noisiest first), sweeps and per-image I/O */
  events: ReturnType<ExactEvents['toJSON']>[];
  outputs: Int8Array[];
  /** per image in [from, to) below keepChains: the input and the visible cells after each stage */
  strip: Int8Array[][];
  biasClipped: number;
  engine: EngineReport;
}

/** Where a range of images reports as it goes (imagesSteps). */
interface ImagesOut {
  /** the trace: its stage records and one record per sweep of these images (a worker's RelaySink: its sweep records) */
  sink?: TraceSink;
  /** after each stage: the stage and this range's events in it (sweeps and per-image I/O) */
  onStage?: (stage: number, images: ExactEvents) => void;
}

/**
 * Images [from, to) through every stage, noisiest to cleanest, in batches of the engine's
 * capacity, reporting to `out`.
 */
export function runImages(chip: Chip, model: Model, opts: GenerateOptions, from: number, to: number, out: ImagesOut = {}): ImagesPart {
  return runThrough((due) => imagesSteps(chip, model, opts, from, to, due, undefined, out));
}

/** A stage's stage_begin record: its programming, which ends `plan.programCycles[k]` after the stage starts (plan.stageStart). */
function stageBeginInfo(chip: Chip, plan: Plan, k: number): StageInfo {
  const e = new ExactEvents();
  e.add('weight_bits_written', plan.programBits[k]);
  e.add('leak_cell_cycles', chip.fabric.N * plan.programCycles[k]);
  const afterProgram = plan.stageStart[k] + plan.programCycles[k];
  return { stage: k, cycle: afterProgram, time_s: afterProgram / chip.timing.clockHz, energy_j: { ...energyOf(chipEvents(chip, e), chip.table) } };
}

/** A stage's stage_end record: the stage's totals, every image's events in it (`images`) included. */
function stageEndInfo(chip: Chip, plan: Plan, k: number, images: ExactEvents): StageInfo {
  const sev = stageEvents(chip, plan, k, images);
  const endCycle = stageEndCycle(plan, k);
  return {
    stage: k,
    cycle: endCycle,
    time_s: endCycle / chip.timing.clockHz,
    energy_j: { ...energyOf(sev, chip.table) },
    toggles: sev.toggles,
    cycles: stageCycles(plan, k),
  };
}

/** runImages as work that may pause between sweeps (fabric/pause.ts). */
function* imagesSteps(
  chip: Chip,
  model: Model,
  opts: GenerateOptions,
  from: number,
  to: number,
  due: () => boolean,
  planned: Plan | undefined,
  out: ImagesOut,
): Steps<ImagesPart> {
  const plan = planned ?? makePlan(chip, model, opts);
  const dtm = model.dtm!;
  const fabric: Fabric = chip.fabric;
  const { N } = fabric;
  const { T, K, visible, nImage } = plan;
  const V = visible.length;
  const cc = chip.config.cell;
  const clock = chip.timing.clockHz;
  const sink = out.sink;
  const keep = Math.min(opts.keepChains ?? 0, to);
  let x: Int8Array[] = [];
  for (let c = from; c < to; c++) x.push(inputNoise(chip, c, V));
  const strip: Int8Array[][] = [];
  for (let c = from; c < keep; c++) strip.push([x[c - from].slice()]);
  const events: ExactEvents[] = [];
  let biasClipped = 0;
  const sel = createEngine(chip.spec, {
    choice: opts.engine ?? 'auto',
    chains: Math.min(opts.batch ?? Infinity, to - from),
    weightBits: cc.weight_bits,
    tiles: runTiles(opts, to - from),
  });
  const engine = sel.engine;
  // label clamps are the same cells in every image (values per image)
  const clampCells = plan.labels.length > 0 ? dtm.label : new Int32Array(0);
  const classOf = (c: number) => plan.labels[c % plan.labels.length];
  try {
    for (let k = T - 1; k >= 0; k--) {
      if (due()) yield;
      const base = stagePlanes(fabric, guidedStage(model.stages[k], dtm.label, plan.labelGain), `${model.source}: stages[${k}]`);
      const modelBias = base.bias.slice(); // model units: the input coupling adds before quantising
      quantisePlanes(base, cc.weight_bits, cc.weight_full_scale);
      base.clamp.fill(0);
      for (const i of clampCells) base.clamp[i] = 1;
      engine.program(base);
      if (due()) yield;
      const ev = new ExactEvents();
      sink?.stageBegin(stageBeginInfo(chip, plan, k));
      // a sweep record's cycle: on the array that runs the stage (imageStartCycle)
      const firstSweepCycle = (c: number) => imageStartCycle(plan, k, c) + plan.clampCycles + 1;
      const xin = x;
      const quantise = quantiser(cc.weight_bits, cc.weight_full_scale);
      const biasOf = (c: number): Float64Array => {
        // the input as a bias J_c s on each visible cell, quantised with the cell's bias
        const b = base.bias.slice();
        const xi = xin[c - from];
        for (let v = 0; v < V; v++) {
          const i = visible[v];
          const val = modelBias[i] + (v >= nImage ? plan.jLab[k] : plan.jImg[k]) * xi[v];
          if (cc.weight_bits !== 'exact' && Math.abs(val) > cc.weight_full_scale) biasClipped++;
          b[i] = quantise(val);
        }
        return b;
      };
      const labelVals = (c: number) => Int8Array.from({ length: clampCells.length }, (_, n) => (Math.floor(n / dtm.label_copies) === classOf(c) ? 1 : -1));
      const observe = sink ? traceSweeps(sink, k, clock, (v) => firstSweepCycle(v.chain) + (v.sweep + 1) * chip.timing.sweepCycles) : null;
      const finals = yield* stageSteps(
        chip,
        engine,
        base,
        from,
        to - from,
        {
          stage: k,
          sweeps: K,
          betaAt: plan.betaAt,
          biasOf,
          spinsOf: (c, bias) => {
            const s = initialSpins(N, bias, base.unit, clampCells, labelVals(c), initKey(chip, c, k), 'hinton', plan.betaAt(0));
            return s;
          },
          view: sink && observe ? { wants: (c, sweep) => sink.wantsSweep(c, k, sweep), onSweep: observe } : undefined,
          onBatchDone: (done) => opts.onImageDone?.((T - 1 - k) * plan.C + from + done, T * plan.C),
          shouldStop: opts.shouldStop,
        },
        ev,
        due,
      );
      const xs: Int8Array[] = [];
      for (let c = from; c < to; c++) {
        const f = finals[c - from];
        const xo = new Int8Array(V);
        for (let v = 0; v < V; v++) xo[v] = f[visible[v]];
        xs.push(xo);
        if (c < keep) strip[c - from].push(xo.slice());
      }
      const n = to - from;
      ev.add('weight_bits_written', plan.clampBits * n);
      ev.add('cells_initialised', (N - clampCells.length) * n);
      ev.add('cells_read', V * n);
      x = xs;
      events.push(ev);
      sink?.stageEnd(stageEndInfo(chip, plan, k, ev));
      out.onStage?.(k, ev);
      opts.onStageDone?.(k, T - k, T);
    }
    return { events: events.map((e) => e.toJSON()), outputs: x, strip, biasClipped, engine: engineReport(sel) };
  } finally {
    engine.dispose();
  }
}

/** A stage's events: programming, the images' sweeps and I/O, leakage over the stage's time. */
function stageEvents(chip: Chip, plan: Plan, k: number, images: ExactEvents): EventCounts {
  const ev = new ExactEvents();
  ev.addAll(images);
  ev.add('weight_bits_written', plan.programBits[k]);
  ev.add('leak_cell_cycles', chip.fabric.N * plan.leakCycles[k]);
  return chipEvents(chip, ev);
}

/** The methods of a TraceSink (traces/types.ts) that generation calls, and `close`, which its caller calls. */
const SINK_METHODS = ['header', 'wantsSweep', 'sweep', 'stageBegin', 'stageEnd', 'end', 'close'] as const;

/**
 * GenerateOptions.sink: the whole TraceSink interface, checked before anything runs (a sink without
 * `stageEnd` would otherwise fail with a TypeError after its first stage had run): every method a
 * function, the optional `sweeps` a function when given, the optional `thinning` an object.
 */
function checkTraceSink(sink: unknown): void {
  if (sink === undefined) return;
  const what = 'must be a trace sink (openTraceWriter, or an object with the TraceSink methods)';
  if (sink === null || typeof sink !== 'object' || Array.isArray(sink)) throw new OptionError('sink', shown(sink), what);
  const o = sink as Record<string, unknown>;
  const missing: string[] = SINK_METHODS.filter((m) => typeof o[m] !== 'function');
  if (o.sweeps !== undefined && typeof o.sweeps !== 'function') missing.push('sweeps');
  if (missing.length)
    throw new OptionError('sink', sink, `${what}: ${missing.join(', ')} ${missing.length === 1 ? 'is not a function' : 'are not functions'}`, false);
  const t = o.thinning;
  if (t !== undefined && (t === null || typeof t !== 'object' || Array.isArray(t)))
    throw new OptionError('sink', sink, `${what}: its thinning = ${shown(t)} must be an object (TraceOptions)`, false);
}

/** Worker-side job for a range of images (the options without callbacks or sink). */
export interface DtmJob {
  config: Chip['config'];
  model: Model;
  opts: Omit<GenerateOptions, 'sink' | 'onStageDone' | 'onImageDone' | 'workers' | 'shouldStop' | 'stopped'>;
  from: number;
  to: number;
  /**
   * a traced run: the trace's thinning and sweeps per stage (the job relays its sweep records), and
   * the merge's gate (TraceMerge.gate: stages written, closed)
   */
  trace?: { thinning: TraceOptions; sweeps: number; gate: SharedArrayBuffer };
}

/** TraceMerge.gate's slots: the stages whose stage_end is written, and 1 once the merge writes nothing more */
const GATE_WRITTEN = 0;
const GATE_CLOSED = 1;

/** What a range's job posts while it runs: its sweep records (traced), and each stage's end with the range's events in it. */
export type ImagesMessage = RelayedSweeps | { t: 'stage'; stage: number; events: ReturnType<ExactEvents['toJSON']> };

/** A range of images on a worker thread (sim/jobs.ts `images`), posting ImagesMessages as it goes. */
export function runImagesJob(job: DtmJob, post: (m: ImagesMessage, transfer?: ArrayBuffer[]) => void): ImagesPart {
  const chip = buildChip(job.config);
  const tr = job.trace;
  const sink = tr ? new RelaySink(tr.thinning, tr.sweeps, chip.fabric.N, post) : undefined;
  const T = job.model.dtm!.T;
  const gate = tr ? new Int32Array(tr.gate) : null;
  const onStage = (stage: number, images: ExactEvents) => {
    post({ t: 'stage', stage, events: images.toJSON() });
    if (!gate) return;
    // traced: at most one stage ahead of the trace (the main thread holds what it cannot write yet):
    // the stage after this one starts once every range's stage before this one is written
    const done = T - stage; // stages this range has finished
    for (;;) {
      const written = Atomics.load(gate, GATE_WRITTEN);
      if (written >= done - 1 || Atomics.load(gate, GATE_CLOSED)) return;
      Atomics.wait(gate, GATE_WRITTEN, written, 1000);
    }
  };
  return runImages(chip, job.model, job.opts, job.from, job.to, { sink, onStage });
}

/**
 * The trace of images that run on worker threads, in the order one thread writes it: per stage
 * (noisiest first) its stage_begin, every range's sweep records in range order, and its stage_end
 * from every range's events. A range's messages are written as soon as that order reaches them;
 * until then they wait here. A range runs at most one stage ahead of what is written (it waits on
 * `gate` before its next stage: runImagesJob), so this holds at most about two stages of each range
 * but the first.
 */
class TraceMerge {
  /** shared with the ranges' jobs: [GATE_WRITTEN] stages written, [GATE_CLOSED] 1 once nothing more is written */
  readonly gate = new SharedArrayBuffer(8);
  private readonly g = new Int32Array(this.gate);
  private readonly queues: ImagesMessage[][];
  private range = 0;
  private stage: number;
  private images = new ExactEvents();
  private closed = false;

  constructor(
    private readonly sink: TraceSink,
    private readonly chip: Chip,
    private readonly plan: Plan,
    ranges: number,
  ) {
    this.queues = Array.from({ length: ranges }, () => []);
    this.stage = plan.T - 1;
    sink.stageBegin(stageBeginInfo(chip, plan, this.stage));
  }

  /** range r's next message */
  push(r: number, m: ImagesMessage): void {
    if (this.closed) return;
    this.queues[r].push(m);
    try {
      this.pump();
    } catch (e) {
      // the first failure (a full disk) ends the trace: nothing after it, whatever the other ranges send
      this.close();
      throw e;
    }
  }

  /** every stage written */
  get complete(): boolean {
    return this.stage < 0;
  }

  /** write nothing more (the run stopped); the ranges no longer wait */
  close(): void {
    this.closed = true;
    Atomics.store(this.g, GATE_CLOSED, 1);
    Atomics.notify(this.g, GATE_WRITTEN);
  }

  private pump(): void {
    const { sink, chip, plan } = this;
    while (this.stage >= 0) {
      const m = this.queues[this.range].shift();
      if (!m) return;
      const k = this.stage;
      const at = m.t === 'batch' ? m.batch.stage : m.stage;
      if (at !== k) throw new Error(`trace: range ${this.range} sent stage ${at} while stage ${k} was being written`);
      if (m.t !== 'stage') {
        replayRelayed(sink, m);
        continue;
      }
      this.images.addAll(ExactEvents.fromJSON(m.events));
      if (++this.range < this.queues.length) continue;
      sink.stageEnd(stageEndInfo(chip, plan, k, this.images));
      this.stage--;
      this.range = 0;
      this.images = new ExactEvents();
      Atomics.store(this.g, GATE_WRITTEN, plan.T - 1 - this.stage);
      Atomics.notify(this.g, GATE_WRITTEN);
      if (this.stage >= 0) sink.stageBegin(stageBeginInfo(chip, plan, this.stage));
    }
  }
}

async function runImagesInWorkers(
  chip: Chip,
  model: Model,
  opts: GenerateOptions,
  workers: number,
  plan: Plan,
  merge: TraceMerge | null,
): Promise<ImagesPart[]> {
  const C = opts.images;
  const T = model.dtm!.T;
  const ranges = splitRanges(C, workers);
  const jobOpts: DtmJob['opts'] = {
    images: C,
    sweeps: opts.sweeps,
    beta: opts.beta,
    labels: opts.labels,
    labelGain: opts.labelGain,
    mapping: opts.mapping,
    keepChains: opts.keepChains,
    version: opts.version,
    engine: opts.engine,
    batch: opts.batch,
  };
  const trace = merge ? { thinning: opts.sink!.thinning ?? {}, sweeps: plan.K, gate: merge.gate } : undefined;
  let done = 0;
  return overRanges<ImagesPart>('images', C, workers, (from, to): DtmJob => ({ config: chip.config, model, opts: jobOpts, from, to, trace }), {
    onMessage: (r, m) => {
      const msg = m as ImagesMessage;
      merge?.push(r, msg);
      // progress: a range's images through a stage
      if (msg.t === 'stage') opts.onImageDone?.((done += ranges[r][1] - ranges[r][0]), C * T);
    },
    stopped: opts.stopped,
  });
}

/**
 * Generate images: the DTM program on the chip. Images are independent chains, so they may be
 * spread over worker threads; results, and a trace, are identical for any worker count.
 */
export async function generate(chip: Chip, model: Model, opts: GenerateOptions): Promise<GenerateResult> {
  const t0 = performance.now();
  const plan = makePlan(chip, model, opts);
  const dtm = model.dtm!;
  const { T, C } = plan;
  const mapping = opts.mapping ?? 'reprogram';
  const { N } = chip.fabric;
  const clock = chip.timing.clockHz;
  const sink = opts.sink;
  if (sink) {
    sink.header({
      format: TRACE_FORMAT,
      version: traceVersion(mapping),
      dtca_version: opts.version ?? 'unknown',
      created: recordedTime(),
      config: chip.config,
      model: {
        source: model.source,
        T,
        beta: model.beta,
        beta_schedule: opts.beta ?? model.beta,
        lambda_image: dtm.lambda_image,
        lambda_label: dtm.lambda_label,
        time_grid: dtm.time_grid,
        coupling_image: plan.jImg,
        coupling_label: plan.jLab,
        image_shape: dtm.image_shape,
        image_source: imageSourceOf(dtm),
        labels: plan.labels,
        ...(plan.labelGain !== 1 ? { label_gain: plan.labelGain } : {}),
      },
      layout: { L: chip.fabric.L, N, colour: chip.fabric.colour, visible: plan.visible, image: dtm.image, label: dtm.label, label_copies: dtm.label_copies },
      // a pipeline's records are stamped on their stage's array (traceVersion: a version 2 trace)
      run: { chains: C, stages: T, sweeps: plan.K, clock_hz: clock, mapping, ...(plan.pipeline ? { arrays: T } : {}) },
    });
  }
  const workers = Math.max(1, Math.min(opts.workers ?? 1, C));
  // on worker threads (ended at once when opts.stopped settles: they do not ask shouldStop), or in this thread
  // giving the event loop a turn every 50 ms (a signal handler sets what shouldStop reads)
  let parts: ImagesPart[];
  if (workers > 1) {
    // a trace takes each range's records in the order one thread writes them
    const merge = sink ? new TraceMerge(sink, chip, plan, splitRanges(C, workers).length) : null;
    try {
      parts = await runImagesInWorkers(chip, model, opts, workers, plan, merge);
    } finally {
      merge?.close();
    }
    if (merge && !merge.complete) throw new Error('trace: the worker threads ended before every stage was written');
  } else {
    parts = [await runPaced((due) => imagesSteps(chip, model, opts, 0, C, due, plan, { sink }))];
  }
  // merge in stage order; the counts are exact, so the order of images and threads does not matter
  const all = new ExactEvents();
  const stages: StageStats[] = new Array(T);
  for (let j = 0; j < T; j++) {
    const k = T - 1 - j;
    const images = new ExactEvents();
    for (const p of parts) images.addAll(ExactEvents.fromJSON(p.events[j]));
    all.addAll(images);
    const sev = stageEvents(chip, plan, k, images);
    const cyc = stageCycles(plan, k);
    stages[k] = {
      stage: k,
      coupling_image: plan.jImg[k],
      coupling_label: plan.jLab[k],
      cycles: cyc,
      sim_time_s: cyc / clock,
      toggles: sev.toggles,
      cell_updates: sev.latches,
      energy_j: energyOf(sev, chip.table),
    };
  }
  for (let k = 0; k < T; k++) all.add('weight_bits_written', plan.programBits[k]);
  // time: one array re-programmed per stage runs everything in sequence; a pipeline of T arrays
  // programs them once (in parallel) and finishes one image per stage time once full
  const cycles = plan.runCycles;
  const simTimeS = cycles / clock;
  // every stage's array leaks (plan.leakCycles): the stages' leakage sums to the run's
  for (let k = 0; k < T; k++) all.add('leak_cell_cycles', N * plan.leakCycles[k]);
  const ev = chipEvents(chip, all);
  const energy = energyOf(ev, chip.table);
  sink?.end({ cycle: cycles, time_s: simTimeS, energy_j: { ...energy }, cell_updates: ev.latches, toggles: ev.toggles });
  // weights beyond the full scale as programmed (label guidance included), and of those how many only the guidance put there
  const fs = chip.config.cell.weight_full_scale;
  let weightsClipped = 0;
  let modelClipped = 0;
  for (const st of model.stages) {
    for (const w of guidedStage(st, dtm.label, plan.labelGain).ew) if (Math.abs(w) > fs) weightsClipped++;
    for (const w of st.ew) if (Math.abs(w) > fs) modelClipped++;
  }
  const wallS = (performance.now() - t0) / 1000;
  return {
    images: C,
    labelGain: plan.labelGain,
    T,
    sweeps: plan.K,
    mapping,
    events: ev,
    energy,
    cycles,
    simTimeS,
    imageIntervalS: mapping === 'pipeline' ? plan.perImageCycles / clock : simTimeS / C,
    stages,
    outputs: parts.flatMap((p) => p.outputs),
    strip: parts.flatMap((p) => p.strip),
    programClipped: (chip.config.cell.weight_bits === 'exact' ? 0 : weightsClipped) + parts.reduce((a, p) => a + p.biasClipped, 0),
    weightsClipped: chip.config.cell.weight_bits === 'exact' ? 0 : weightsClipped,
    guidanceClipped: chip.config.cell.weight_bits === 'exact' ? 0 : weightsClipped - modelClipped,
    wallS,
    updatesPerNs: ev.latches / (wallS * 1e9),
    engine: mergeEngineReports(parts.map((p) => p.engine)),
  };
}

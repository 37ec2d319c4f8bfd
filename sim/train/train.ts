/**
 * `dtca train`: every stage of a DTM trained on the simulated chip (stage.ts), stages spread over
 * worker threads, a checkpoint per stage and epoch, a training log (JSONL) and its chart, and the
 * model file at the end. Stages are independent and every draw is counter-based, so the result
 * depends on the seed and the options, not on the worker count, and a resumed run continues
 * exactly where the checkpoints stopped. A caller's `stop` (the CLI's signal flag, passed down:
 * sim/ does not import cli/) ends training at the next sweep of its chains with TrainingStopped,
 * the epochs in progress dropped and the checkpoints whole.
 *
 * Files, for --out MODEL:
 *   MODEL                  the trained model (msgpack; JSON if MODEL ends in .json)
 *   MODEL.ckpt/            run.json (the options) and stage-K.mp (parameters, Adam, ACP state, log)
 *   MODEL.train.jsonl      one line per stage and epoch: rho, lambda, agreement, grad_rms, lr, ...
 *   MODEL.train.svg/.png   rho, lambda and agreement against epochs, per stage
 *   MODEL.epochs/epoch-E.mp  with --snapshots: the model after epoch E (every stage at epoch E)
 */
import { runJobs } from '../pool.js';
import { runPaced, runThrough, type Work } from '../../fabric/pause.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { Interrupted, UserError, OptionError } from '../../fabric/errors.js';
import { shown } from '../../fabric/rules.js';
import { ENGINE_CHOICES, type EngineChoice } from '../../cells/engine.js';
import { writeFileAtomic } from '../io/output.js';
import { noteClaimedDir, makeDirs } from '../../fabric/files.js';
import { modelFileBytes, type Model } from '../model.js';
import { buildChip } from '../chip.js';
import type { ResolvedConfig } from '../config.js';
import { findFmnist, loadFmnist, subset, CLASSES, FMNIST_TRAIN_IMAGES, type ImageSet } from '../fmnist.js';
import { imageSourceOf, downscaleImages, type ImageSource } from '../layout.js';
import { writeChart, EPOCH_X, type ChartSpec } from '../io/plot.js';
import {
  StageTrainer,
  NEG_STARTS,
  fabricWires,
  stageStateFromModel,
  stageModel,
  type EpochRecord,
  type NegStart,
  type StageState,
  type StageTrainSpec,
  type TrainData,
} from './stage.js';
import { ACP_DEFAULTS } from './acp.js';
import { ADAM_DEFAULTS } from './adam.js';
import { encodeRunFile, encodeStageCheckpoint, lockTrainOut, readRunFile, readStageCheckpoint } from './checkpoint.js';
import { TRAIN_OPTION_NAMES, type TrainNames } from './train-names.js';

export interface TrainOptions {
  /** the chip the stages are trained on */
  config: ResolvedConfig;
  engine: EngineChoice;
  /** the DTM to train: its layout and time grid; its weights are the starting point (zero for a new model) */
  model: Model;
  dataDir?: string;
  /** train on these binarised 28x28 images instead of Fashion-MNIST's train split from dataDir (tests, own data) */
  images?: ImageSet;
  /** use the first `limit` training images (all by default) */
  limit?: number;
  out: string;
  epochs: number;
  steps: number;
  batch: number;
  warmup: number;
  /** positive-phase warm-up (default: warmup) */
  posWarmup?: number;
  /** where the negative chains start (default 'noise') */
  negStart?: NegStart;
  /** with negStart 'data': the epochs that start from the data (default all) */
  dataEpochs?: number;
  /** warm-up of data-started negative chains (default: warmup) */
  dataWarmup?: number;
  /** warm-up before the ACP measurement (default: warmup) */
  acpWarmup?: number;
  /** the last epochs whose negative chains start from noise and run finalWarmup sweeps (default 0) */
  finalEpochs?: number;
  /** warm-up of the final epochs' negative chains (default: warmup) */
  finalWarmup?: number;
  /** parameter averaging decay (StageTrainSpec.ema; default 0: off) */
  ema?: number;
  samples: number;
  every: number;
  lr: number;
  alpha: number;
  acp: boolean;
  acpLambda0: number;
  acpLag: number;
  seed: number;
  workers: number;
  resume: boolean;
  /** train only these stages (default all) */
  stages?: number[];
  /** also write the model as it is after every epoch: MODEL.epochs/epoch-E.mp */
  snapshots?: boolean;
  /**
   * false: train the stages and write only their checkpoints, no model, log or chart (a stage of
   * a model trained apart, e.g. one Slurm task per stage; a later --resume run assembles the model)
   */
  assemble?: boolean;
  /** the trained model, before it is written, becomes what this returns (label guidance, sim/quality/guidance.ts) */
  finish?: (m: Model) => Promise<Model>;
  onEpoch?: (r: EpochRecord) => void;
  onStep?: (stage: number, done: number) => void;
  /** before training: the epochs each stage to be trained already has from its checkpoint (a --resume), by stage */
  onStart?: (epochsDone: Map<number, number>) => void;
  /**
   * true once training should stop (a signal: the CLI's handler sets what this reads). Asked before
   * every sweep of the training chains; training on this thread then gives the event loop a turn
   * at least every 50 ms, at a sweep boundary (fabric/pause.ts), and worker threads (workers > 1)
   * are ended within 50 ms. Stopped, train() throws TrainingStopped: the epochs in progress are
   * dropped, every checkpoint on disk is whole, and a resume continues from them. Absent: training
   * never pauses.
   */
  stop?: () => boolean;
  /**
   * How errors name out, resume and stages: by default as these options (TRAIN_OPTION_NAMES:
   * "out = m.mp", "pass resume: true"); dtca train names its flags (TRAIN_FLAG_NAMES: --out,
   * --resume, --train-stages).
   */
  names?: TrainNames;
}

export interface TrainResult {
  model: Model;
  log: EpochRecord[];
  wall_s: number;
  cell_updates: number;
  updates_per_ns: number;
  engine: string;
}

/**
 * Training stopped because TrainOptions.stop said so, at a safe point: every checkpoint written is
 * whole (the epochs in progress were dropped) and `--resume` continues from them. `done` of `total`
 * stage-epochs (of the stages this run trains) are in the checkpoints; `result` is this
 * invocation's account so far (wall time, cell updates of the checkpoints, the log), its model
 * the untrained one.
 */
export class TrainingStopped extends Interrupted {
  constructor(
    readonly done: number,
    readonly total: number,
    readonly result: TrainResult,
  ) {
    super({}, 'stop requested');
    this.name = 'TrainingStopped';
    this.message = `training stopped: ${done} of ${total} stage-epochs done`;
  }
}

/**
 * A JavaScript caller's option values checked before anything is locked or written: each a whole
 * count, a rate in its range or a known choice, else an OptionError naming it (a NaN epochs would
 * train nothing and write the model, a NaN batch fail deep in a worker). dtca train's flags are
 * checked, to ranges at least as strict, before they get here (sim/train/design.ts).
 */
function checkTrainOptions(o: TrainOptions): void {
  const int = (k: keyof TrainOptions, min: number, optional = false) => {
    const v = o[k];
    if (optional && v === undefined) return;
    if (!(Number.isSafeInteger(v) && (v as number) >= min)) throw new OptionError(k, v, `must be an integer >= ${min}`);
  };
  const num = (k: keyof TrainOptions, ok: (x: number) => boolean, range: string, optional = false) => {
    const v = o[k];
    if (optional && v === undefined) return;
    if (!(typeof v === 'number' && Number.isFinite(v) && ok(v))) throw new OptionError(k, v, `must be a number ${range}`);
  };
  if (typeof o.out !== 'string' || o.out === '') throw new OptionError('out', shown(o.out), 'must be the path of the model file to write');
  if (!ENGINE_CHOICES.includes(o.engine)) throw new OptionError('engine', o.engine, `must be one of ${ENGINE_CHOICES.join(', ')}`);
  for (const k of ['epochs', 'steps', 'batch', 'samples', 'every', 'acpLag', 'workers'] as const) int(k, 1);
  int('warmup', 0);
  for (const k of ['posWarmup', 'dataWarmup', 'acpWarmup', 'finalWarmup', 'dataEpochs', 'finalEpochs'] as const) int(k, 0, true);
  int('limit', 1, true);
  if (o.limit !== undefined && !o.images && o.limit > FMNIST_TRAIN_IMAGES)
    throw new OptionError('limit', o.limit, `the Fashion-MNIST train split has ${FMNIST_TRAIN_IMAGES} images`);
  int('seed', 0);
  num('lr', (x) => x > 0, '> 0');
  num('alpha', (x) => x >= 0 && x <= 1, 'in [0, 1]');
  num('acpLambda0', (x) => x >= 0, '>= 0');
  num('ema', (x) => x >= 0 && x < 1, 'in [0, 1)', true);
  if (o.negStart !== undefined && !NEG_STARTS.includes(o.negStart)) throw new OptionError('negStart', o.negStart, `must be one of ${NEG_STARTS.join(', ')}`);
  for (const k of ['acp', 'resume'] as const) if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new OptionError(k, o[k], 'must be true or false');
  if (o.stages !== undefined && !Array.isArray(o.stages)) throw new OptionError('stages', shown(o.stages), 'must be a list of stage numbers');
}

/** the options that must match for a resume */
function runKey(o: TrainOptions): Record<string, unknown> {
  return {
    config: o.config,
    model: o.model.source,
    T: o.model.stages.length,
    epochs: o.epochs,
    steps: o.steps,
    batch: o.batch,
    warmup: o.warmup,
    samples: o.samples,
    every: o.every,
    lr: o.lr,
    alpha: o.alpha,
    acp: o.acp,
    acpLambda0: o.acpLambda0,
    acpLag: o.acpLag,
    seed: o.seed,
    limit: o.limit ?? null,
    // the recipe options added later enter the key only when set, so older checkpoints still resume
    ...(o.posWarmup !== undefined && o.posWarmup !== o.warmup ? { posWarmup: o.posWarmup } : {}),
    ...(o.negStart !== undefined && o.negStart !== 'noise' ? { negStart: o.negStart } : {}),
    ...(o.negStart === 'data' && o.dataEpochs !== undefined && o.dataEpochs < o.epochs ? { dataEpochs: o.dataEpochs } : {}),
    ...(o.negStart === 'data' && o.dataWarmup !== undefined && o.dataWarmup !== o.warmup ? { dataWarmup: o.dataWarmup } : {}),
    ...(o.acpWarmup !== undefined && o.acpWarmup !== o.warmup ? { acpWarmup: o.acpWarmup } : {}),
    ...(o.finalEpochs ? { finalEpochs: o.finalEpochs, finalWarmup: o.finalWarmup ?? o.warmup } : {}),
    ...(o.ema ? { ema: o.ema } : {}),
  };
}

/**
 * What differs between the run key a checkpoint directory was written with and this run's, for the
 * refusal of a --resume: "--epochs 3 there, 2 now; --steps 300 there, 3 now" (names as `names`
 * spells them); the config, the model or a long value only as differing; the first four.
 */
export function runKeyDifferences(was: unknown, now: Record<string, unknown>, names: TrainNames = TRAIN_OPTION_NAMES): string {
  const old = was !== null && typeof was === 'object' && !Array.isArray(was) ? (was as Record<string, unknown>) : {};
  const shown = (v: unknown) => {
    if (v === undefined) return 'unset';
    const t = v !== null && typeof v === 'object' ? null : JSON.stringify(v);
    return t !== null && t.length <= 40 ? t : null;
  };
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(old), ...Object.keys(now)])]) {
    if (JSON.stringify(old[k]) === JSON.stringify(now[k])) continue;
    const a = shown(old[k]);
    const b = shown(now[k]);
    out.push(a === null || b === null ? `${names.option(k)} differs` : `${names.option(k)} ${a} there, ${b} now`);
  }
  const more = out.length > 4 ? `; and ${out.length - 4} more` : '';
  return out.slice(0, 4).join('; ') + more;
}

/** The model's Fashion-MNIST image source, or the UserError saying why it cannot be trained on Fashion-MNIST (and how to make one, as `names` says). */
function fmnistSource(model: Model, names: TrainNames = TRAIN_OPTION_NAMES): ImageSource {
  const dtm = model.dtm!;
  const src = imageSourceOf(dtm);
  if (!src)
    throw new UserError(
      `the model has ${dtm.image.length} image cells (${dtm.image_shape.join('x')}) and no Fashion-MNIST image source; make it with ${names.fmnistModel}`,
    );
  if (dtm.label.length !== CLASSES * dtm.label_copies)
    throw new UserError(`the model has ${dtm.label.length} label cells; Fashion-MNIST needs ${CLASSES} x ${dtm.label_copies}`);
  return src;
}

/**
 * The visible training vectors (pixels, then the one-hot label over 10 classes x copies) as spins;
 * the images at the model's resolution (dtm.image_source: 28x28, or pooled, sim/layout.ts).
 */
export function trainData(model: Model, dir: string | undefined, limit?: number, split: 'train' | 'test' = 'train', given?: ImageSet): TrainData {
  const dtm = model.dtm!;
  const src = fmnistSource(model);
  const P = src.width * src.height;
  const copies = dtm.label_copies;
  const set = given ? subset(given, 0, Math.min(given.n, limit ?? given.n)) : loadFmnist({ dir, dirOption: 'dataDir', split, limit });
  const images = downscaleImages(set.images, set.n, src.downscale);
  const V = P + CLASSES * copies;
  const x = new Int8Array(set.n * V);
  for (let n = 0; n < set.n; n++) {
    const o = n * V;
    for (let p = 0; p < P; p++) x[o + p] = images[n * P + p] ? 1 : -1;
    for (let q = 0; q < CLASSES * copies; q++) x[o + P + q] = Math.floor(q / copies) === set.labels[n] ? 1 : -1;
  }
  return { n: set.n, V, x };
}

export function stageSpec(o: TrainOptions, stage: number): StageTrainSpec {
  return {
    config: o.config,
    engine: o.engine,
    dtm: o.model.dtm!,
    beta: o.model.beta,
    stage,
    batch: o.batch,
    warmup: o.warmup,
    posWarmup: o.posWarmup,
    negStart: o.negStart,
    dataEpochs: o.dataEpochs,
    dataWarmup: o.dataWarmup,
    acpWarmup: o.acpWarmup,
    finalEpochs: o.finalEpochs,
    finalWarmup: o.finalWarmup,
    ema: o.ema,
    samples: o.samples,
    every: o.every,
    epochs: o.epochs,
    steps: o.steps,
    adam: { ...ADAM_DEFAULTS, lr: o.lr },
    alpha: o.alpha,
    acp: { on: o.acp, lambda0: o.acpLambda0, lag: o.acpLag, params: ACP_DEFAULTS },
    seed: o.seed,
  };
}

function ckptDir(out: string): string {
  return `${out}.ckpt`;
}

const STATE_ARRAYS = ['thetaW', 'thetaB', 'adamM', 'adamV', 'emaW', 'emaB'] as const;

function stateToObject(s: StageState): Record<string, unknown> {
  const o: Record<string, unknown> = { ...s };
  for (const k of STATE_ARRAYS) if (s[k] !== undefined) o[k] = Array.from(s[k]);
  return o;
}

function stateFromObject(o: Record<string, unknown>): StageState {
  const s: Record<string, unknown> = { ...o };
  for (const k of STATE_ARRAYS) if (o[k] !== undefined) s[k] = Float64Array.from(o[k] as number[]);
  return s as unknown as StageState;
}

/** A stage's starting state: from its checkpoint (resume) or from the model's parameters. */
function initialState(o: TrainOptions, stage: number): StageState {
  const path = `${ckptDir(o.out)}/stage-${stage}.mp`;
  const chip = buildChip(o.config);
  // start from the model's weights (zero for a new model), matched to the wires
  const fresh = stageStateFromModel(stage, o.model.stages[stage], fabricWires(chip), chip.fabric.N, o.acpLambda0);
  // a checkpoint is read only when whole and valid, with the fresh state's shape (checkpoint.ts)
  if (o.resume && existsSync(path))
    return readStageCheckpoint(path, { stage, wires: fresh.thetaW.length, cells: fresh.thetaB.length, epochs: o.epochs }, o.names);
  return fresh;
}

/** The part of a training run one thread does: its stages, one after the other. */
export interface TrainJob {
  kind: 'train';
  opts: Omit<TrainOptions, 'onEpoch' | 'onStep' | 'finish' | 'names'>;
  stages: number[];
  states: Record<number, Record<string, unknown>>;
}

/**
 * Worker side: train the job's stages, epoch by epoch in turn (every stage reaches an epoch at
 * about the same time, so snapshots appear as training goes), posting every epoch's record and
 * state.
 */
export function runTrainJob(job: TrainJob, post: (m: unknown) => void): void {
  runThrough(trainJobWork(job, post));
}

/**
 * runTrainJob as work that may pause before a sweep (fabric/pause.ts) and asks `stop()` there:
 * stopped, it returns false at once and the epochs in progress are dropped (their
 * states are not posted: the last state each stage posted, its checkpoint, is whole). True when
 * every stage of the job has its epochs.
 */
export function trainJobWork(job: TrainJob, post: (m: unknown) => void, stop: () => boolean = () => false): Work<boolean> {
  return function* (due) {
    const data = trainData(job.opts.model, job.opts.dataDir, job.opts.limit, 'train', job.opts.images);
    const trainers = job.stages.map((stage) => new StageTrainer(stageSpec(job.opts as TrainOptions, stage), data, stateFromObject(job.states[stage])));
    try {
      for (const tr of trainers) post({ type: 'engine', stage: tr.state.stage, engine: tr.engineUsed });
      let more = true;
      while (more) {
        more = false;
        for (const tr of trainers) {
          const stage = tr.state.stage;
          const ran = yield* tr.epochSteps(
            (rec, st) => post({ type: 'epoch', rec, state: stateToObject(st) }),
            (done) => post({ type: 'step', stage, done }),
            due,
            stop,
          );
          if (ran === 'stopped') return false;
          more = more || ran === 'trained';
        }
      }
      return true;
    } finally {
      for (const tr of trainers) tr.dispose();
    }
  };
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  checkTrainOptions(o);
  // one dtca train per --out at a time, or one per stage for stages trained apart (checkpoint.ts)
  const stageOnly = o.assemble === false;
  const all = Array.from({ length: o.model.stages.length }, (_, k) => k);
  const release = lockTrainOut(o.out, {
    stageOnly,
    stages: stageOnly ? [...new Set(o.stages ?? all)].filter((k) => Number.isInteger(k)) : all,
    names: o.names,
  });
  try {
    return await trainLocked(o);
  } finally {
    release();
  }
}

async function trainLocked(o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const dtm = o.model.dtm;
  if (!dtm) throw new UserError(`${o.model.source}: not a DTM model (no "dtm" section)`);
  const names = o.names ?? TRAIN_OPTION_NAMES;
  const T = o.model.stages.length;
  const stages = o.stages ?? Array.from({ length: T }, (_, k) => k);
  for (const k of stages) if (!Number.isInteger(k) || k < 0 || k >= T) throw new UserError(`${names.stages}: stage ${k} outside 0..${T - 1}`);
  const dir = ckptDir(o.out);
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory())
    throw new UserError(`${dir}: not a directory (the training checkpoints go there); move it away or choose another ${names.outName}`);
  const key = runKey(o);
  const stageOnly = o.assemble === false;
  // stages trained apart start the run when they are the first (no run.json and no checkpoint yet)
  const fresh = stageOnly && !existsSync(`${dir}/run.json`) && !(existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('stage-')));
  // --resume where no training has been: it said "run.json is missing, so the checkpoints cannot be
  // matched ..." of checkpoints that do not exist (a mistyped --out, or a first run given --resume)
  if (o.resume && !fresh && !(existsSync(dir) && readdirSync(dir).length > 0)) {
    throw new UserError(
      `${names.resume}: nothing to resume: ${dir} holds no checkpoints (no earlier training into this ${names.outName}); train without ${names.resume} to start, or give the ${names.outName} of the run to continue`,
    );
  }
  if (o.resume && !fresh && !existsSync(`${dir}/run.json`)) {
    throw new UserError(
      `${names.resume}: ${dir}/run.json is missing, so the checkpoints cannot be matched to the options they were trained with; train without ${names.resume} into a new ${names.outName}`,
    );
  }
  if (o.resume && !fresh) {
    const was = readRunFile(`${dir}/run.json`, names);
    if (JSON.stringify(was) !== JSON.stringify(key))
      throw new UserError(
        `${names.resume}: ${dir}/run.json was written with other options (${runKeyDifferences(was, key, names)}); resume with ${names.same}, or train into a new ${names.outName}`,
      );
  } else if (!o.resume && existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('stage-'))) {
    throw new UserError(`${dir} holds checkpoints of an earlier run: ${names.addResume} to continue it, or choose another ${names.outName}`);
  }
  // what the training job would refuse (a model without a Fashion-MNIST layout, no data), before the checkpoint directory is made
  fmnistSource(o.model, names);
  if (!o.images) findFmnist(o.dataDir, 'train', 'dataDir');
  makeDirs(dir, names.out(o.out));
  // the checkpoint directory is this run's own (checked above): its files may be replaced (fabric/files.ts)
  noteClaimedDir(dir);
  writeFileAtomic(`${dir}/run.json`, encodeRunFile(key));
  const states = new Map<number, StageState>();
  // stages trained apart read only their own checkpoints (the others may be being written)
  for (const k of stageOnly ? stages : Array.from({ length: T }, (_, k) => k)) states.set(k, initialState(o, k));
  const todo = stages.filter((k) => states.get(k)!.epoch < o.epochs);
  o.onStart?.(new Map(stages.map((k) => [k, Math.min(o.epochs, states.get(k)!.epoch)])));
  const log: EpochRecord[] = [];
  for (const k of stages) log.push(...states.get(k)!.log);
  // the engine the workers report; 'none' when every stage had already reached its epochs (a --resume with nothing left)
  let engine = 'none';
  // --snapshots: each stage's parameters per epoch, until every stage has reached that epoch
  const chip0 = buildChip(o.config);
  const wires0 = fabricWires(chip0);
  const pending = new Map<number, Map<number, StageState>>();
  const snapshot = (st: StageState) => {
    if (!o.snapshots || stageOnly) return;
    const byStage = pending.get(st.epoch) ?? new Map<number, StageState>();
    byStage.set(st.stage, st);
    pending.set(st.epoch, byStage);
    if (byStage.size < T) {
      // stages not trained in this run keep their epoch
      for (let k = 0; k < T; k++) if (!byStage.has(k) && !stages.includes(k)) byStage.set(k, states.get(k)!);
      if (byStage.size < T) return;
    }
    makeDirs(`${o.out}.epochs`, names.out(o.out));
    const m: Model = {
      ...o.model,
      stages: Array.from({ length: T }, (_, k) => stageModel(byStage.get(k)!, wires0)),
      source: `trained: ${o.out} epoch ${st.epoch}`,
    };
    writeFileAtomic(`${o.out}.epochs/epoch-${st.epoch}.mp`, modelFileBytes(m, false), 'model');
    pending.delete(st.epoch);
  };
  // a resume after a kill between two stages' ends of an epoch: the stages already there count
  // towards that epoch's snapshot (written once the others reach it)
  if (o.snapshots) for (const st of states.values()) if (st.epoch > 0 && !existsSync(`${o.out}.epochs/epoch-${st.epoch}.mp`)) snapshot(st);
  const onMessage = (m: { type: string; rec?: EpochRecord; state?: Record<string, unknown>; stage?: number; done?: number; engine?: string }) => {
    if (m.type === 'engine') engine = m.engine!;
    else if (m.type === 'step') o.onStep?.(m.stage!, m.done!);
    else if (m.type === 'epoch') {
      const st = stateFromObject(m.state!);
      states.set(st.stage, st);
      snapshot(st);
      writeFileAtomic(`${dir}/stage-${st.stage}.mp`, encodeStageCheckpoint(st));
      log.push(m.rec!);
      if (!stageOnly) writeLog(o.out, log);
      o.onEpoch?.(m.rec!);
    }
  };
  const workers = Math.max(1, Math.min(o.workers, todo.length));
  // what crosses to the worker threads: no functions (names has some; the workers word nothing with it)
  const jobOpts = { ...o, onEpoch: undefined, onStep: undefined, onStart: undefined, finish: undefined, stop: undefined, names: undefined };
  const jobs: TrainJob[] = Array.from({ length: workers }, (_, w) => {
    const mine = todo.filter((_, n) => n % workers === w);
    return { kind: 'train', opts: jobOpts, stages: mine, states: Object.fromEntries(mine.map((k) => [k, stateToObject(states.get(k)!)])) };
  });
  // a stop: what the checkpoints hold (every one whole: onMessage writes them on this thread, atomically)
  const stop = o.stop;
  const stopped = (): TrainingStopped => {
    const counted = stageOnly ? stages.map((k) => states.get(k)!) : [...states.values()];
    const updates = counted.reduce((a, s) => a + s.cellUpdates, 0);
    const trainWall = counted.reduce((a, s) => a + s.wallS, 0);
    return new TrainingStopped(
      stages.reduce((a, k) => a + Math.min(o.epochs, states.get(k)!.epoch), 0),
      stages.length * o.epochs,
      {
        model: o.model,
        log: [...log].sort((a, b) => a.stage - b.stage || a.epoch - b.epoch),
        wall_s: (performance.now() - t0) / 1000,
        cell_updates: updates,
        updates_per_ns: trainWall > 0 ? updates / (trainWall * 1e9) : 0,
        engine,
      },
    );
  };
  if (workers <= 1) {
    if (jobs[0]?.stages.length) {
      const work = trainJobWork(jobs[0], (m) => onMessage(m as never), stop);
      // with a stop to ask, this thread's event loop gets a turn before the first step and at most every 50 ms
      if (!(stop ? await runPaced(work) : runThrough(work))) throw stopped();
    }
  } else {
    try {
      await runJobs(
        jobs.map((job) => ({ name: 'train', data: job })),
        { onMessage: (_, m) => onMessage(m as never), stop, stopEveryMs: 50 },
      );
    } catch (e) {
      if (e instanceof Interrupted && stop?.()) throw stopped();
      throw e;
    }
  }
  if (stop?.()) throw stopped();
  if (stageOnly) {
    const updates = stages.reduce((a, k) => a + states.get(k)!.cellUpdates, 0);
    const trainWall = stages.reduce((a, k) => a + states.get(k)!.wallS, 0);
    return {
      model: o.model,
      log,
      wall_s: (performance.now() - t0) / 1000,
      cell_updates: updates,
      updates_per_ns: trainWall > 0 ? updates / (trainWall * 1e9) : 0,
      engine,
    };
  }
  // the model: the DTM with every stage's trained parameters
  const wires = wires0;
  let model: Model = { ...o.model, stages: Array.from({ length: T }, (_, k) => stageModel(states.get(k)!, wires)), source: `trained: ${o.out}` };
  if (o.finish) {
    try {
      model = await o.finish(model);
    } catch (e) {
      // stopped while the trained model was being finished (the guidance search): every stage is in its checkpoints
      if (e instanceof Interrupted && stop?.()) throw stopped();
      throw e;
    }
    if (stop?.()) throw stopped();
  }
  const json = o.out.endsWith('.json');
  writeFileAtomic(o.out, modelFileBytes(model, json), 'model');
  log.sort((a, b) => a.stage - b.stage || a.epoch - b.epoch);
  writeLog(o.out, log);
  await writeTrainChart(o.out, log, o.acpLag).catch(() => undefined);
  const updates = [...states.values()].reduce((a, s) => a + s.cellUpdates, 0);
  const wall = (performance.now() - t0) / 1000;
  const trainWall = [...states.values()].reduce((a, s) => a + s.wallS, 0);
  return { model, log, wall_s: wall, cell_updates: updates, updates_per_ns: trainWall > 0 ? updates / (trainWall * 1e9) : 0, engine };
}

function writeLog(out: string, log: EpochRecord[]): void {
  writeFileAtomic(`${out}.train.jsonl`, log.map((r) => JSON.stringify(r)).join('\n') + '\n', 'train-log');
}

/** MODEL.train.svg/.png: per stage and epoch the autocorrelation rho (measured at `lag` sweeps), ACP's lambda and the agreement */
export async function writeTrainChart(out: string, log: EpochRecord[], lag: number): Promise<string[]> {
  const rows = log.flatMap((r) => [
    { stage: `stage ${r.stage}`, epoch: r.epoch, metric: `autocorrelation rho at lag ${lag} sweeps`, value: r.rho },
    { stage: `stage ${r.stage}`, epoch: r.epoch, metric: 'penalty lambda', value: r.lambda },
    { stage: `stage ${r.stage}`, epoch: r.epoch, metric: 'agreement with target', value: r.agreement },
  ]);
  const spec: ChartSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'DTM training: per stage and epoch',
    data: { values: rows },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 220,
      height: 180,
      mark: { type: 'line', point: true },
      encoding: {
        x: EPOCH_X,
        y: { field: 'value', type: 'quantitative', title: null, axis: { format: '~g' } },
        color: { field: 'stage', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
  return writeChart(spec, `${out}.train`);
}

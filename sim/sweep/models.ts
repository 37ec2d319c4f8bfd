/**
 * Trained models of a sweep (`dtca sweep --train quick|standard|FILE.json`): one model per distinct
 * design, trained by sim/train/design.ts (trainModelForDesign: what `dtca train` runs) and kept in a
 * cache by a hash of everything that determines it, so the same design is never trained twice
 * (inside a sweep directory: DIR/models/; across sweeps: --model-cache DIR).
 *
 * What determines a model (ModelSpec, the hash's input):
 *   - the chip its stages are trained on (trainingConfig): on the ideal chip (the default) only the
 *     grid (L, rules as a list, boundary), the weight precision (bits, full scale) and the seed
 *     shape the spins, so every other value is set to the default config's (ideal) and points
 *     that differ in clock rate, RNG, mismatch, tiles or energy and area parameters share a model;
 *     with `--train-chip cycle` the point's whole chip but its name, energy and area parameters
 *   - the model's layout: T (the sweep's --stages), the placement, the image the grid holds
 *     (sim/layout.ts) and its label copies
 *   - every trainer option after the budget's preset and dtca train's defaults are filled in
 *     (planDesign's options: epochs, steps, batch, warm-ups, negative-chain start, learning rate
 *     and floor, ACP, data limit, seed)
 *   - the label gain when the budget fixes one (labelGain: a number; it is written into the model
 *     instead of the one the guidance search would choose); `auto`, the default, adds nothing
 *   - MODEL_VERSION (bumped when the trainer's output for the same inputs changes)
 * Training is deterministic for any number of threads, so the key names the model's bytes.
 *
 * An entry: <cache>/<key>/model.mp (+ .ckpt/, .train.jsonl, .train.png, .manifest.json) and
 * entry.json, written last: an entry without entry.json is unfinished and is resumed from its
 * checkpoints. Each stage trains on its own (trainStage: a pool job or a Slurm task), its
 * checkpoints only; once every stage has its epochs, assembleModel writes the model. Stages and
 * the assembly wait on lock files in the entry, so processes sharing a cache (two sweeps, Slurm
 * tasks) never train the same stage at once; the locks are leases (sim/sweep/lease.ts), so one
 * left by a process killed on another node is taken over once its heartbeat has stopped.
 */
import { existsSync, mkdirSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../fabric/errors.js';
import { readInputFile } from '../../fabric/read.js';
import { resolveRules } from '../../fabric/rules.js';
import { noteClaimedDir } from '../../fabric/files.js';
import { resolveConfig, validateConfig, DEFAULT_CONFIG, type ResolvedConfig } from '../config.js';
import { readModel } from '../model.js';
import { writeJson } from '../io/output.js';
import { describeImage, type ImageSource } from '../layout.js';
import type { Placement } from '../dtm.js';
import { planDesign, idealTrainingConfig, trainModelForDesign, type DesignSpec, type TrainBudget, type TrainChip } from '../train/design.js';
import { stageCheckpointEpoch } from '../train/checkpoint.js';
import type { BudgetFileOptions } from '../train/budget.js';
import { quietContext, type RunContext } from '../context.js';
import { canonical, hashOf } from './hash.js';
import { lock, type LockHolder } from './lease.js';

export const MODEL_FORMAT = 'dtca-sweep-model';
/** bump when the trainer's output for the same inputs changes (2: main's recipe, trainModelForDesign) */
export const MODEL_VERSION = 2;
/** the clock a model trained on the ideal chip is trained at (the ideal chip's spins do not depend on it) */
export const TRAIN_CLOCK_HZ = 1e7;

/** How a sweep trains: the budget, the chip, and where models are kept. */
export interface TrainPlan {
  /** "quick", "standard" or a budget file's absolute path (its options are stored below) */
  budget: string;
  /** the budget's options by dtca train's flag names, the rest from quick (sim/train/budget.ts) */
  options: BudgetFileOptions;
  chip: TrainChip;
  /** absolute path of a shared model cache, or null (the sweep directory's models/) */
  model_cache: string | null;
}

/** What determines a model: the key is its hash (see the header). */
export interface ModelSpec {
  format: typeof MODEL_FORMAT;
  version: number;
  chip: TrainChip;
  /** the chip the stages are trained on (trainingConfig) */
  config: ResolvedConfig;
  T: number;
  placement: Placement;
  image: ImageSource | null;
  label_copies: number;
  /** the trainer's options, every default filled in (seed included) */
  options: Record<string, unknown>;
  /** the label gain a budget fixes (labelGain); absent for 'auto', the default (the search chooses it) */
  label_gain?: number;
}

/** A model a point needs: its key, what determines it, and how to train it. */
export interface ModelJob {
  key: string;
  spec: ModelSpec;
  /** the options trainModelForDesign is given (the budget by flag names; its workers not used) */
  budget: TrainBudget;
  /** the budget's name ("quick", "standard" or the file) */
  budget_name: string;
  /** how it reads in logs: "L=48 G12 open, 8-bit weights, 28x28 image, spatial, T=8, ideal chip, quick" */
  label: string;
}

/** the options of planDesign that do not change the model (where and how it is trained) */
const NOT_MODEL = new Set(['engine', 'dataDir', 'images', 'resume', 'stages', 'snapshots', 'assemble', 'workers']);

/**
 * The chip a model is trained on, as a function of the hash's inputs only: on the ideal chip the
 * default config's values (idealised, at TRAIN_CLOCK_HZ) with the design's grid, weight precision
 * and seed; on the cycle-accurate chip the point's config with the values that change no spin
 * (name, description, power, area, the RNG's and links' energies and bit rate) set to the default's.
 */
let defaultConfig: ResolvedConfig | null = null;

export function trainingConfig(cfg: ResolvedConfig, chip: TrainChip, seed: number): ResolvedConfig {
  const def = (defaultConfig ??= resolveConfig(DEFAULT_CONFIG));
  const rules = resolveRules(cfg.fabric.rules).map(([a, b]) => [a, b]);
  let raw: ResolvedConfig;
  if (chip === 'ideal') {
    raw = structuredClone(def);
    raw.fabric.L = cfg.fabric.L;
    raw.fabric.boundary = cfg.fabric.boundary;
    raw.cell.weight_bits = cfg.cell.weight_bits;
    raw.cell.weight_full_scale = cfg.cell.weight_full_scale;
    raw.clock.clock_hz = TRAIN_CLOCK_HZ;
  } else {
    raw = structuredClone(cfg);
    raw.power = structuredClone(def.power);
    raw.area = structuredClone(def.area);
    raw.rng.energy_per_bit_j = def.rng.energy_per_bit_j;
    raw.rng.bit_rate_hz = def.rng.bit_rate_hz;
    raw.fabric.tile.link_energy_j = def.fabric.tile.link_energy_j;
  }
  (raw.fabric as { rules: unknown }).rules = rules;
  raw.seed = seed;
  raw.name = `sweep training chip (${chip})`;
  raw.description = '';
  const checked = validateConfig(raw, 'the training chip');
  return chip === 'ideal' ? { ...idealTrainingConfig(checked), name: checked.name, description: '' } : checked;
}

function designOf(spec: Pick<ModelSpec, 'config' | 'chip' | 'placement' | 'T'>): DesignSpec {
  return { config: spec.config, chip: spec.chip, trainConfig: spec.config, placement: spec.placement, image: 'auto', T: spec.T };
}

/** the budget trainModelForDesign is given: the plan's options by flag names, one thread per stage */
function budgetOf(o: BudgetFileOptions): TrainBudget {
  const { workers: _w, ...rest } = o;
  return { ...rest, workers: 1 };
}

const jobMemo = new Map<string, ModelJob>();

/**
 * The model job of a point: its design's training chip, layout and options, and their hash. The
 * design's plan (sim/train/design.ts planDesign) makes every check dtca train makes, so a grid too
 * small for any Fashion-MNIST image or a bad option is refused when the sweep is planned.
 */
export function modelJobFor(cfg: ResolvedConfig, seed: number, t: TrainPlan, T: number): ModelJob {
  const config = trainingConfig(cfg, t.chip, seed);
  const budget = budgetOf(t.options);
  const memo = canonical({ config, chip: t.chip, T, budget, name: t.budget });
  const hit = jobMemo.get(memo);
  if (hit) return hit;
  const placement = (t.options.placement ?? 'random') as Placement;
  const plan = planDesign(designOf({ config, chip: t.chip, placement, T }), budget);
  const options = Object.fromEntries(Object.entries(plan.options).filter(([k, v]) => !NOT_MODEL.has(k) && v !== undefined));
  const spec: ModelSpec = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    chip: t.chip,
    config,
    T: plan.model.stages.length,
    placement,
    image: plan.layout?.image ?? null,
    label_copies: plan.model.dtm!.label_copies,
    options,
    ...(plan.labelGain === 'auto' ? {} : { label_gain: plan.labelGain }),
  };
  const key = hashOf(spec, 16);
  const wb = config.cell.weight_bits;
  const f = cfg.fabric;
  const rulesText = typeof f.rules === 'string' ? f.rules : JSON.stringify(f.rules);
  const label = `L=${f.L} ${rulesText} ${f.boundary}, ${wb === 'exact' ? 'exact' : `${wb}-bit`} weights, ${spec.image ? `${describeImage(spec.image)} image` : 'no image'}, ${placement}, T=${spec.T}, ${t.chip} chip, ${t.budget.split('/').pop()}`;
  const job: ModelJob = { key, spec, budget, budget_name: t.budget, label };
  jobMemo.set(memo, job);
  return job;
}

export function modelEntry(cache: string, key: string): string {
  return join(cache, key);
}

export function modelFile(cache: string, key: string): string {
  return join(cache, key, 'model.mp');
}

export function isModelDone(cache: string, key: string): boolean {
  return existsSync(join(cache, key, 'entry.json')) && existsSync(modelFile(cache, key));
}

/** Each stage's trained epochs from the entry's checkpoints (0 where there is none). */
export function stageEpochs(cache: string, job: ModelJob): number[] {
  const ck = `${modelFile(cache, job.key)}.ckpt`;
  return Array.from({ length: job.spec.T }, (_, k) => stageCheckpointEpoch(join(ck, `stage-${k}.mp`)));
}

const epochsOf = (job: ModelJob) => job.spec.options.epochs as number;

/** The gradient steps of one stage-epoch of a job's model (for a progress bar over training). */
export const stepsOf = (job: ModelJob) => job.spec.options.steps as number;

/**
 * What a sweep's training task on a worker thread posts to the sweep (sim/sweep/runner.ts): a log
 * line of dtca train's (its level kept; at info only the per-epoch lines, the rest at debug: the
 * sweep says itself which stage it trains), or the gradient steps this task has done.
 */
export type TrainTaskMessage =
  { kind: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; fields: Record<string, unknown>; msg: string } | { kind: 'steps'; done: number };

/** A RunContext for a training task on a worker thread: its log lines and step counts posted (throttled to one count per 200 ms). */
export function postingContext(post: (m: TrainTaskMessage) => void, stop: () => boolean): RunContext {
  const line =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (a: object | string, b?: string): void => {
      const fields = (typeof a === 'string' ? {} : a) as Record<string, unknown>;
      const msg = typeof a === 'string' ? a : (b ?? '');
      post({ kind: 'log', level: level === 'info' && msg !== 'epoch' ? 'debug' : level, fields, msg });
    };
  return {
    log: { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') },
    progress: () => {
      let last = 0;
      return {
        update: (done) => {
          const now = performance.now();
          if (now - last < 200) return;
          last = now;
          post({ kind: 'steps', done });
        },
        stop: () => {},
      };
    },
    stop,
  };
}

export { lock };

/**
 * After the lock of a stage (or of the model's writing) was taken over from `holder`, remove the
 * locks the trainer (sim/train/checkpoint.ts lockTrainOut, `pid host`) took inside it for that
 * holder: `model.mp.stage-K.lock` of those stages, and `model.mp.lock` for the writing. They are
 * the same process's, as dead as its lease; left, they would refuse the new holder's training.
 */
function removeInnerLocks(cache: string, job: ModelJob, stages: number[], whole: boolean): (holder: LockHolder) => void {
  return (holder) => {
    if (holder.pid === null) return;
    const out = modelFile(cache, job.key);
    const theirs = `${holder.pid} ${holder.host}\n`;
    for (const p of [...(whole ? [`${out}.lock`] : []), ...stages.map((k) => `${out}.stage-${k}.lock`)]) {
      try {
        if (readInputFile(p, { what: 'lock file', max: 4096 }).toString('utf8') === theirs) rmSync(p, { force: true });
      } catch {
        /* none */
      }
    }
  };
}

function target(cache: string, job: ModelJob) {
  return {
    out: modelFile(cache, job.key),
    resume: true,
    command: `dtca sweep --train ${job.budget_name} (model cache entry ${job.key})`,
    manifestExtra: { budget: job.budget_name, sweep_model: job.key, design: job.label },
  };
}

function openEntry(cache: string, job: ModelJob): string {
  const dir = modelEntry(cache, job.key);
  mkdirSync(dir, { recursive: true });
  noteClaimedDir(dir); // the entry is the cache's own: its files may be replaced
  return dir;
}

/** Train one stage of a model to its epochs (its checkpoints only); nothing when it has them. Returns whether it trained. */
export async function trainStage(cache: string, job: ModelJob, stage: number, ctx: RunContext = quietContext()): Promise<boolean> {
  if (!Number.isInteger(stage) || stage < 0 || stage >= job.spec.T) throw new UserError(`model ${job.key}: stage ${stage} outside 0..${job.spec.T - 1}`);
  if (isModelDone(cache, job.key)) return false;
  const dir = openEntry(cache, job);
  const release = await lock(join(dir, `stage-${stage}.lock`), ctx, `model ${job.key} stage ${stage}`, {
    onTakeOver: removeInnerLocks(cache, job, [stage], false),
  });
  try {
    if (stageEpochs(cache, job)[stage] >= epochsOf(job)) return false;
    await trainModelForDesign(designOf(job.spec), job.budget, { ...target(cache, job), trainStages: [stage], assemble: false }, ctx);
    return true;
  } finally {
    release();
  }
}

/** Write the model of an entry whose stages all have their epochs (and entry.json, last). */
export async function assembleModel(cache: string, job: ModelJob, ctx: RunContext = quietContext()): Promise<void> {
  const dir = openEntry(cache, job);
  const all = Array.from({ length: job.spec.T }, (_, k) => k);
  const release = await lock(join(dir, 'assemble.lock'), ctx, `model ${job.key}`, { onTakeOver: removeInnerLocks(cache, job, all, true) });
  try {
    if (isModelDone(cache, job.key)) return;
    const short = stageEpochs(cache, job).findIndex((e) => e < epochsOf(job));
    if (short >= 0) throw new Error(`model ${job.key}: stage ${short} is not trained yet; cannot write the model`);
    await trainModelForDesign(designOf(job.spec), job.budget, target(cache, job), ctx);
    readModel(modelFile(cache, job.key)); // it reads back
    writeJson(join(dir, 'entry.json'), {
      format: MODEL_FORMAT,
      key: job.key,
      label: job.label,
      budget: job.budget_name,
      finished: new Date().toISOString(),
      spec: job.spec,
    });
  } finally {
    release();
  }
}

export interface TrainModelOptions {
  /** train only these stages (default: every stage) */
  stages?: number[];
  ctx?: RunContext;
}

export interface TrainModelResult {
  trained: boolean;
  /** the model is in the cache (written now, or before) */
  assembled: boolean;
  wall_s: number;
}

/**
 * Make sure the cache holds the job's model, in this thread: train what its checkpoints lack
 * (every stage, or `stages` only) and write the model once every stage has its epochs (trained
 * here or by other processes). Returns at once when the entry is finished.
 */
export async function trainModel(cache: string, job: ModelJob, o: TrainModelOptions = {}): Promise<TrainModelResult> {
  const ctx = o.ctx ?? quietContext();
  const t0 = performance.now();
  if (isModelDone(cache, job.key)) return { trained: false, assembled: true, wall_s: 0 };
  const want = [...new Set(o.stages ?? Array.from({ length: job.spec.T }, (_, k) => k))].sort((a, b) => a - b);
  let trained = false;
  for (const k of want) trained = (await trainStage(cache, job, k, ctx)) || trained;
  const wall = () => (performance.now() - t0) / 1000;
  if (stageEpochs(cache, job).some((e) => e < epochsOf(job))) return { trained, assembled: false, wall_s: wall() };
  await assembleModel(cache, job, ctx);
  return { trained, assembled: true, wall_s: wall() };
}

/** The keys of the finished models a cache holds. */
export function cachedModels(cache: string): string[] {
  if (!existsSync(cache)) return [];
  return readdirSync(cache).filter((k) => isModelDone(cache, k));
}

/**
 * Trained models of a sweep (`dtca sweep --train quick|standard|FILE.json`): one model per distinct
 * design, kept in a cache by a hash of everything that determines it, so the same design is never
 * trained twice (inside a sweep directory: DIR/models/; across sweeps: --model-cache DIR).
 *
 * What determines a model (the hash inputs, `ModelSpec`):
 *   - the chip it is trained on: on the ideal chip (the default) only the grid (L, rules as a list,
 *     boundary) and the weight precision (bits, full scale) matter, so points that differ in clock
 *     rate, RNG, tiles or energy parameters share one model; with `--train-chip cycle` the whole
 *     chip config but its energy/area/io parameters and names (which change no spin)
 *   - the budget's options (stages T, placement, epochs, steps, batch, phases, learning rate, ACP, data limit)
 *   - the seed (the plan's base seed: replicates share a model and differ in generation)
 *   - MODEL_VERSION (bumped when the trainer changes what it produces)
 * Training is deterministic (sim/train/train.ts), so the key names the model's bytes.
 *
 * An entry: <cache>/<key>/model.mp (+ .ckpt/, .train.jsonl, .train.png) and entry.json, written
 * last: an entry without entry.json is unfinished and is resumed from its checkpoints. Stages are
 * trained under per-stage lock files, so two processes sharing a cache (two sweeps, or Slurm
 * tasks each training one stage) never train the same stage at once.
 */
import { existsSync, mkdirSync, openSync, closeSync, writeSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { unpack } from 'msgpackr';
import { UserError } from '../../fabric/errors.js';
import { resolveRules } from '../../fabric/rules.js';
import { noteClaimedDir } from '../../fabric/files.js';
import { validateConfig, idealize, type ResolvedConfig } from '../config.js';
import { newDtmModel } from '../dtm.js';
import { readModel, type Model } from '../model.js';
import { writeJson } from '../io/output.js';
import { train } from '../train/train.js';
import type { BudgetOptions } from '../train/budget.js';
import { quietContext, type RunContext } from '../context.js';
import { hashOf } from './hash.js';

export const MODEL_FORMAT = 'dtca-sweep-model';
/** bump when the trainer's output for the same inputs changes */
export const MODEL_VERSION = 1;
/** the clock a model trained on the ideal chip is trained at (the ideal chip's spins do not depend on it) */
export const TRAIN_CLOCK_HZ = 1e7;

/** How a sweep trains: the budget, the chip, and where models are kept. */
export interface TrainPlan {
  /** "quick", "standard" or a budget file's path (its options are stored below) */
  budget: string;
  options: BudgetOptions;
  chip: 'ideal' | 'cycle';
  /** absolute path of a shared model cache, or null (the sweep directory's models/) */
  model_cache: string | null;
}

export interface ModelSpec {
  format: typeof MODEL_FORMAT;
  version: number;
  chip: 'ideal' | 'cycle';
  /** the chip parameters that shape the model (see the header) */
  design: Record<string, unknown>;
  seed: number;
  options: BudgetOptions;
}

/** A model a point needs: its key, what determines it, and the config it is trained on. */
export interface ModelJob {
  key: string;
  spec: ModelSpec;
  config: ResolvedConfig;
  /** how it reads in logs: "L=48 G12 open 8-bit, quick" */
  label: string;
}

/** The config a model is trained on: for the ideal chip, every non-ideality off but the weight precision, at a fixed clock. */
export function trainingConfig(cfg: ResolvedConfig, chip: 'ideal' | 'cycle', seed: number): ResolvedConfig {
  const raw = JSON.parse(JSON.stringify(cfg));
  raw.seed = seed;
  if (chip === 'ideal') {
    const bits = raw.cell.weight_bits;
    idealize(raw);
    raw.cell.weight_bits = bits;
    raw.clock.clock_hz = TRAIN_CLOCK_HZ;
  }
  return validateConfig(raw, 'training config');
}

function designOf(cfg: ResolvedConfig, chip: 'ideal' | 'cycle'): Record<string, unknown> {
  const f = cfg.fabric;
  const grid = { L: f.L, rules: resolveRules(f.rules), boundary: f.boundary };
  if (chip === 'ideal') return { ...grid, weight_bits: cfg.cell.weight_bits, weight_full_scale: cfg.cell.weight_full_scale };
  const { name: _n, description: _d, power: _p, area: _a, io: _i, seed: _s, ...rest } = cfg as unknown as Record<string, unknown>;
  return { ...rest, fabric: { ...(rest.fabric as object), rules: grid.rules } };
}

export function modelJobFor(cfg: ResolvedConfig, seed: number, t: TrainPlan): ModelJob {
  const spec: ModelSpec = { format: MODEL_FORMAT, version: MODEL_VERSION, chip: t.chip, design: designOf(cfg, t.chip), seed, options: t.options };
  const key = hashOf(spec, 16);
  const wb = cfg.cell.weight_bits;
  const label = `L=${cfg.fabric.L} ${typeof cfg.fabric.rules === 'string' ? cfg.fabric.rules : JSON.stringify(cfg.fabric.rules)} ${cfg.fabric.boundary} ${wb === 'exact' ? 'exact' : `${wb}-bit`} weights, ${t.options.placement}, T=${t.options.T}, ${t.chip} chip, ${t.budget.split('/').pop()}`;
  return { key, spec, config: trainingConfig(cfg, t.chip, seed), label };
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

/** The DTM a job starts from: zero weights, the budget's stages and placement on the job's grid. */
export function initialModel(job: ModelJob): Model {
  const c = job.config;
  return newDtmModel({ T: job.spec.options.T, L: c.fabric.L, rules: c.fabric.rules, boundary: c.fabric.boundary, visible: 'fmnist', weights: 'zero', seed: job.spec.seed, placement: job.spec.options.placement });
}

/** Each stage's trained epochs from the entry's checkpoints (0 where there is none). */
export function stageEpochs(cache: string, job: ModelJob): number[] {
  const ck = `${modelFile(cache, job.key)}.ckpt`;
  return Array.from({ length: job.spec.options.T }, (_, k) => {
    const p = join(ck, `stage-${k}.mp`);
    if (!existsSync(p)) return 0;
    try {
      const e = (unpack(readFileSync(p)) as { epoch?: unknown }).epoch;
      return typeof e === 'number' && Number.isInteger(e) ? e : 0;
    } catch {
      return 0;
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Take a lock file (created exclusively, holding host:pid). A lock left by a process of this host
 * that is gone is taken over; one held by a live process (or another host) is waited for.
 */
async function lock(path: string, ctx: RunContext, what: string): Promise<() => void> {
  let said = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${hostname()}:${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder: string;
    try {
      holder = readFileSync(path, 'utf8').trim();
    } catch {
      continue; // released meanwhile
    }
    const [h, p] = holder.split(':');
    let alive = true;
    if (h === hostname() && /^\d+$/.test(p ?? '')) {
      try {
        process.kill(Number(p), 0);
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (!alive) {
      rmSync(path, { force: true });
      continue;
    }
    if (!said) ctx.log.info({ lock: path, holder }, `${what}: another process is training it; waiting`);
    said = true;
    if (ctx.stop()) throw new UserError(`${what}: stopped while waiting for ${path}`);
    await sleep(1000);
  }
}

export interface TrainModelOptions {
  /** train only these stages and write only their checkpoints (default: every stage, then the model) */
  stages?: number[];
  ctx?: RunContext;
}

export interface TrainModelResult {
  trained: boolean;
  assembled: boolean;
  wall_s: number;
}

/**
 * Make sure the cache holds the job's model: train what its checkpoints lack (every stage, or
 * `stages` only) and assemble the model when every stage has its epochs. Returns at once when
 * the entry is finished.
 */
export async function trainModel(cache: string, job: ModelJob, o: TrainModelOptions = {}): Promise<TrainModelResult> {
  const ctx = o.ctx ?? quietContext();
  const t0 = performance.now();
  if (isModelDone(cache, job.key)) return { trained: false, assembled: false, wall_s: 0 };
  const dir = modelEntry(cache, job.key);
  mkdirSync(dir, { recursive: true });
  noteClaimedDir(dir); // the entry is the cache's own: its files may be replaced
  const T = job.spec.options.T;
  const want = [...new Set(o.stages ?? Array.from({ length: T }, (_, k) => k))].sort((a, b) => a - b);
  for (const k of want) if (!Number.isInteger(k) || k < 0 || k >= T) throw new UserError(`model ${job.key}: stage ${k} outside 0..${T - 1}`);
  const opts = job.spec.options;
  const base = {
    config: job.config,
    engine: 'auto' as const,
    model: initialModel(job),
    out: modelFile(cache, job.key),
    epochs: opts.epochs,
    steps: opts.steps,
    batch: opts.batch,
    warmup: opts.warmup,
    samples: opts.samples,
    every: opts.every,
    lr: opts.lr,
    alpha: opts.lr_floor,
    acp: opts.acp,
    acpLambda0: opts.acp_lambda,
    acpLag: opts.acp_lag,
    seed: job.spec.seed,
    limit: opts.limit ?? undefined,
    workers: 1,
    resume: true,
  };
  const releases: (() => void)[] = [];
  let trained = false;
  try {
    for (const k of want) releases.push(await lock(join(dir, `stage-${k}.lock`), ctx, `model ${job.key} stage ${k}`));
    const done = stageEpochs(cache, job);
    const todo = want.filter((k) => done[k] < opts.epochs);
    if (todo.length > 0) {
      await train({ ...base, stages: todo, assemble: false });
      trained = true;
    }
  } finally {
    for (const r of releases) r();
  }
  // every stage trained (here or by other processes): write the model and the entry
  if (stageEpochs(cache, job).some((e) => e < opts.epochs)) return { trained, assembled: false, wall_s: (performance.now() - t0) / 1000 };
  if (!isModelDone(cache, job.key)) {
    await train({ ...base }); // nothing left to train: the model from the checkpoints
    readModel(modelFile(cache, job.key)); // it reads back
    writeJson(join(dir, 'entry.json'), { ...job.spec, key: job.key, label: job.label, finished: new Date().toISOString() });
  }
  return { trained, assembled: true, wall_s: (performance.now() - t0) / 1000 };
}

/** The keys of the finished models a cache holds. */
export function cachedModels(cache: string): string[] {
  if (!existsSync(cache)) return [];
  return readdirSync(cache).filter((k) => isModelDone(cache, k));
}

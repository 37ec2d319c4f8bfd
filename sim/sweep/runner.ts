/**
 * Running a sweep directory's points (all, or one shard): models to train first in the queue
 * (--train; one per distinct design, sim/sweep/models.ts), then ideal twins, then the points, over
 * a pool of worker threads (a point or twin waits for its model); each result is written as it
 * arrives. Finished points, twins and models are skipped, so a killed run resumes where it stopped
 * and a re-run redoes nothing. Progress: a log line per model, stage, twin and point, and per epoch of
 * a stage trained (dtca train's line, with the model's key); on a terminal (ctx.progress) a bar over
 * the training steps while stages train, then one over the points.
 */
import { join } from 'node:path';
import { UserError } from '../../fabric/errors.js';
import { quietContext, type RunContext } from '../context.js';
import type { Point } from './plan.js';
import { runPool, type Task } from './pool.js';
import { rmse, type PointOutput, type TwinOutput } from './point.js';
import { readModel, type Model } from '../model.js';
import { estimateRun, checkSweepMemory } from '../resources.js';
import { pointShape, sweepIdOf } from './plan.js';
import {
  readPlanFile,
  readPoints,
  isPointDone,
  twinUsable,
  writePoint,
  writeTwin,
  readTwin,
  cleanPartials,
  modelCacheOf,
  checkPointEntries,
  type Row,
} from './store.js';
import { axisValueText } from './report.js';
import { isModelDone, modelFile, stageEpochs, stepsOf, type ModelJob, type TrainTaskMessage } from './models.js';

export interface Shard {
  k: number;
  n: number;
}

/** `k/N` with 1 <= k <= N. */
export function parseShard(text: string, where = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || k < 1 || k > n) throw new UserError(`${where} ${text}: expected k/N with 1 <= k <= N (shard k of N), e.g. 2/4`);
  return { k, n };
}

/** The shard from a Slurm array task (SLURM_ARRAY_TASK_ID, _MIN, _COUNT), or null outside one. */
export function shardFromEnv(env: NodeJS.ProcessEnv = process.env): Shard | null {
  if (env.SLURM_ARRAY_TASK_ID === undefined) return null;
  const id = Number(env.SLURM_ARRAY_TASK_ID);
  const min = Number(env.SLURM_ARRAY_TASK_MIN ?? 0);
  const count = Number(env.SLURM_ARRAY_TASK_COUNT);
  if (![id, min, count].every(Number.isInteger) || count < 1) {
    throw new UserError(
      `Slurm array environment: SLURM_ARRAY_TASK_ID=${env.SLURM_ARRAY_TASK_ID}, SLURM_ARRAY_TASK_MIN=${env.SLURM_ARRAY_TASK_MIN}, SLURM_ARRAY_TASK_COUNT=${env.SLURM_ARRAY_TASK_COUNT}: not a usable array task (give --shard k/N)`,
    );
  }
  return parseShard(`${id - min + 1}/${count}`, `Slurm array task (SLURM_ARRAY_TASK_ID=${id}, _MIN=${min}, _COUNT=${count}; use a contiguous --array)`);
}

/** The points of shard k of N: every N-th point from the k-th (round robin balances grid sizes). */
export function shardPoints(points: Point[], shard: Shard | null): Point[] {
  return shard ? points.filter((p) => p.index % shard.n === shard.k - 1) : points;
}

function axesText(p: Point): string {
  const parts = Object.entries(p.axes).map(([k, v]) => `${k}=${axisValueText(k, v)}`);
  if (p.replicate > 0) parts.push(`replicate ${p.replicate + 1}`);
  return parts.join(' ') || 'base';
}

export interface RunReport {
  total: number;
  mine: number;
  skipped: number;
  ran: number;
  twins: number;
  /** models trained (or finished from their checkpoints) by this run */
  models: number;
  wall_s: number;
}

/** The distinct models a list of points needs. */
export function modelsOf(points: Point[]): ModelJob[] {
  const m = new Map<string, ModelJob>();
  for (const p of points) if (p.model && !m.has(p.model.key)) m.set(p.model.key, p.model);
  return [...m.values()];
}

export async function runSweep(dir: string, o: { jobs: number; shard: Shard | null; only?: 'train' }, ctx: RunContext = quietContext()): Promise<RunReport> {
  const { log } = ctx;
  const t0 = performance.now();
  const pf = readPlanFile(dir);
  const points = readPoints(dir);
  if (points.length !== pf.points) throw new UserError(`${dir}: points.jsonl holds ${points.length} points, plan.json says ${pf.points}`);
  if (sweepIdOf(points) !== pf.sweep_id)
    throw new UserError(`${join(dir, 'points.jsonl')}: its points are not plan.json's (sweep id ${pf.sweep_id}): the file was edited or replaced`);
  cleanPartials(dir);
  const mine = shardPoints(points, o.shard);
  checkPointEntries(dir, mine);
  // `only: 'train'`: the models the points need (finished points too), nothing else
  const pending = o.only === 'train' ? mine : mine.filter((p) => !isPointDone(dir, p.id));
  const skipped = mine.length - pending.length;
  const cache = modelCacheOf(dir, pf);
  const fileOf = (p: Point) => (p.model ? modelFile(cache, p.model.key) : undefined);
  const twinTasks: Task[] = [];
  const seen = new Set<string>();
  if (o.only !== 'train') {
    for (const p of pending) {
      if (seen.has(p.twin.key)) continue;
      const tw = twinUsable(dir, p.twin.key);
      if (tw.damage) log.warn({ twin: p.twin.key }, `ideal twin ${p.twin.key} damaged (${tw.damage}); redoing it`);
      if (tw.ok) continue;
      seen.add(p.twin.key);
      twinTasks.push({ kind: 'twin', twin: p.twin, workload: p.workload, modelFile: fileOf(p), modelKey: p.model?.key });
    }
  }
  // the models: a task per stage still short of its epochs, then one that writes the model
  const needed = modelsOf(pending);
  const toTrain = needed.filter((m) => !isModelDone(cache, m.key));
  // each stage task's gradient steps to go, for the bar over training
  const stepsToGo = new Map<Task, number>();
  const trainTasks: Task[] = toTrain.flatMap((model) => {
    const epochs = stageEpochs(cache, model);
    return epochs.flatMap((e, stage): Task[] => {
      const left = (model.spec.options.epochs as number) - e;
      if (left <= 0) return [];
      const t: Task = { kind: 'train', model, cache, stage };
      stepsToGo.set(t, left * stepsOf(model));
      return [t];
    });
  });
  const assembleTasks: Task[] = toTrain.map((model) => ({ kind: 'assemble', model, cache }));
  const modelReady = new Set(needed.filter((m) => isModelDone(cache, m.key)).map((m) => m.key));
  const stagesLeft = new Map<string, number>(toTrain.map((m) => [m.key, trainTasks.filter((t) => t.kind === 'train' && t.model.key === m.key).length]));
  log.info(
    {
      sweep: pf.sweep_id,
      points: points.length,
      shard: o.shard ? `${o.shard.k}/${o.shard.n}` : 'all',
      mine: mine.length,
      finished: skipped,
      to_run: pending.length,
      twins: twinTasks.length,
      models: needed.length,
      to_train: toTrain.length,
      jobs: o.jobs,
    },
    skipped > 0 ? `resuming: ${skipped} of ${mine.length} points already finished, skipped` : 'sweep starting',
  );
  if (needed.length > 0) {
    log.info(
      { cache, models: needed.length, cached: needed.length - toTrain.length, stage_tasks: trainTasks.length },
      `${needed.length} model(s) for ${pending.length} point(s): ${needed.length - toTrain.length} in the cache, ${toTrain.length} to train`,
    );
  }
  // the points that may run at once must fit in memory together (each alone was checked when planned)
  if (pending.length > 0 && o.only !== 'train') {
    const models = new Map<string, Model>();
    const bytes = pending.map((p) => {
      const path = p.workload.kind === 'model' ? p.workload.model! : null;
      if (path && !models.has(path)) models.set(path, readModel(path));
      return estimateRun(pointShape(p.config, p.workload, path ? models.get(path)! : null)).bytes;
    });
    checkSweepMemory(bytes, o.jobs);
  }
  // on a terminal, a bar over the training steps while stage tasks run (their epochs logged as dtca
  // train logs them), then the bar over the points (one bar at a time: cli/progress.ts)
  const pointsTotal = o.only === 'train' ? 0 : pending.length;
  const totalSteps = [...stepsToGo.values()].reduce((x, y) => x + y, 0);
  let trainBar = trainTasks.length > 0 ? ctx.progress(totalSteps, 'training steps') : null;
  let pointsBar = trainBar ? null : ctx.progress(pointsTotal, 'points');
  const stepsDone = new Map<Task, number>();
  const stepped = (t: Task, n: number) => {
    stepsDone.set(t, n);
    trainBar?.update([...stepsDone.values()].reduce((x, y) => x + y, 0));
  };
  const twinReady = new Set<string>(mine.map((p) => p.twin.key).filter((k) => !seen.has(k)));
  const waiting = new Map<string, { p: Point; r: PointOutput }[]>();
  let done = 0;
  const finish = (p: Point, r: PointOutput) => {
    const tw = readTwin(dir, p.twin.key);
    const row: Row = {
      point: p.index + 1,
      id: p.id,
      axes: p.axes,
      replicate: p.replicate,
      seed: p.seed,
      workload: p.workload_label,
      ...r.measured,
      lag1_autocorr_ideal: tw.lag1_autocorr_ideal,
      moment_rmse: rmse(r.moments, tw.ref),
      moment_rmse_floor: tw.moment_rmse_floor,
    };
    writePoint(dir, p, row, r.stats, r.samples_png, r.wall_s, r.samples);
    done++;
    pointsBar?.update(done);
    log.info(
      { point: p.index + 1, id: p.id, wall_s: Number(r.wall_s.toFixed(3)), ...(r.measured.fd !== null ? { fd: Number(r.measured.fd.toFixed(2)) } : {}) },
      `point ${done}/${pending.length} done: ${axesText(p)}`,
    );
  };
  const pointTasks = o.only === 'train' ? [] : pending.map((p): Task => ({ kind: 'point', point: p, modelFile: fileOf(p) }));
  const tasks: Task[] = [...trainTasks, ...assembleTasks, ...twinTasks, ...pointTasks];
  let twinsDone = 0;
  let modelsDone = 0;
  let stagesDone = 0;
  const ready = (t: Task) => {
    if (t.kind === 'point') return !t.point.model || modelReady.has(t.point.model.key);
    if (t.kind === 'twin') return !t.modelKey || modelReady.has(t.modelKey);
    if (t.kind === 'assemble') return stagesLeft.get(t.model.key) === 0;
    return true;
  };
  const onStart = (t: Task) => {
    if (t.kind === 'train')
      log.info({ model: t.model.key, stage: t.stage, design: t.model.label }, `training stage ${t.stage} of model ${t.model.key} (${t.model.label})`);
    else if (t.kind === 'twin') log.info({ twin: t.twin.key }, `ideal twin ${t.twin.key} starting (${twinTasks.length} twin(s) in all)`);
  };
  try {
    await runPool(
      tasks,
      o.jobs,
      (task, result) => {
        if (task.kind === 'train') {
          stagesLeft.set(task.model.key, stagesLeft.get(task.model.key)! - 1);
          stagesDone++;
          stepped(task, stepsToGo.get(task) ?? 0);
          if (stagesDone === trainTasks.length && trainBar) {
            trainBar.stop();
            trainBar = null;
            pointsBar = ctx.progress(pointsTotal, 'points');
            pointsBar.update(done);
          }
          log.info(
            { model: task.model.key, stage: task.stage },
            `stage ${task.stage} of model ${task.model.key} ${result ? 'trained' : 'already trained'} (${stagesDone}/${trainTasks.length} stage tasks)`,
          );
          return;
        }
        if (task.kind === 'assemble') {
          modelReady.add(task.model.key);
          modelsDone++;
          log.info({ model: task.model.key }, `model ${modelsDone}/${toTrain.length} written: ${task.model.label}`);
          return;
        }
        if (task.kind === 'twin') {
          writeTwin(dir, task.twin.key, result as TwinOutput);
          twinReady.add(task.twin.key);
          twinsDone++;
          log.info({ twin: task.twin.key, wall_s: Number((result as TwinOutput).wall_s.toFixed(2)) }, `ideal twin ${twinsDone}/${twinTasks.length} done`);
          for (const w of waiting.get(task.twin.key) ?? []) finish(w.p, w.r);
          waiting.delete(task.twin.key);
          return;
        }
        const p = task.point;
        if (twinReady.has(p.twin.key)) finish(p, result as PointOutput);
        else waiting.set(p.twin.key, [...(waiting.get(p.twin.key) ?? []), { p, r: result as PointOutput }]);
      },
      {
        ready,
        onStart,
        stop: () => ctx.stop(),
        // a stage task's epoch lines (dtca train's, with the model's key) and its steps for the bar
        onMessage: (task, message) => {
          if (task.kind !== 'train') return;
          const m = message as TrainTaskMessage;
          if (m.kind === 'steps') stepped(task, m.done);
          else log[m.level]({ model: task.model.key, ...m.fields }, m.msg);
        },
      },
    );
  } finally {
    trainBar?.stop();
    pointsBar?.stop();
  }
  if (waiting.size > 0) throw new Error(`sweep: ${waiting.size} twin(s) never finished`);
  if (o.only === 'train')
    return { total: points.length, mine: mine.length, skipped: 0, ran: 0, twins: 0, models: toTrain.length, wall_s: (performance.now() - t0) / 1000 };
  return {
    total: points.length,
    mine: mine.length,
    skipped,
    ran: pending.length,
    twins: twinTasks.length,
    models: toTrain.length,
    wall_s: (performance.now() - t0) / 1000,
  };
}

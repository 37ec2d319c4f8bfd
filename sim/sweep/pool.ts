/**
 * Sweep tasks (model stages to train, models to write, ideal twins, points) on the worker pool
 * (sim/pool.ts): `jobs` threads, each taking the first ready task as it finishes one (a stage of a
 * model is ready at once, the model once its stages are trained, a point or twin of a trained
 * workload once its model is written). Results are handed to `onDone` as they arrive (the caller
 * writes them to disk at once); their order does not matter, since every task is deterministic.
 * `stop()` ends the workers at once (a point or twin cut short leaves nothing that looks finished:
 * its results are written by the caller) and the pool throws Interrupted; a model's stage or its
 * assembly, which write in the model cache on their own thread, are told to stop and waited for:
 * they end at their next training step (or guidance setting) with their checkpoints whole and
 * their lock released (sim/sweep/models.ts).
 */
import { runJobs, type Job } from '../pool.js';
import type { Point, Twin, Workload } from './plan.js';
import type { PointOutput, TwinOutput } from './point.js';
import type { ModelJob } from './models.js';

export type Task =
  | { kind: 'point'; point: Point; modelFile?: string }
  | { kind: 'twin'; twin: Twin; workload: Workload; modelFile?: string; modelKey?: string }
  | { kind: 'train'; model: ModelJob; cache: string; stage: number }
  | { kind: 'assemble'; model: ModelJob; cache: string };
export type TaskResult<T extends Task> = T extends { kind: 'point' }
  ? PointOutput
  : T extends { kind: 'twin' }
    ? TwinOutput
    : T extends { kind: 'train' }
      ? boolean
      : void;

export interface SweepPoolOptions<T extends Task> {
  /** is the task ready to run (default: always) */
  ready?: (task: T) => boolean;
  /** called as a task starts */
  onStart?: (task: T) => void;
  /** true once the pool should stop */
  stop?: () => boolean;
  /** a message a running task posted (a training task's TrainTaskMessage: sim/sweep/models.ts) */
  onMessage?: (task: T, message: unknown) => void;
}

function jobOf(t: Task): Job {
  switch (t.kind) {
    case 'point':
      return { name: 'sweep-point', data: { point: t.point, modelFile: t.modelFile } };
    case 'twin':
      return { name: 'sweep-twin', data: { twin: t.twin, workload: t.workload, modelFile: t.modelFile } };
    case 'train':
      return { name: 'sweep-train', data: { cache: t.cache, model: t.model, stage: t.stage } };
    case 'assemble':
      return { name: 'sweep-assemble', data: { cache: t.cache, model: t.model } };
  }
}

export async function runPool<T extends Task>(
  tasks: T[],
  jobs: number,
  onDone: (task: T, result: TaskResult<T>) => void,
  o: SweepPoolOptions<T> = {},
): Promise<void> {
  await runJobs(tasks.map(jobOf), {
    threads: jobs,
    onDone: (i, result) => onDone(tasks[i], result as TaskResult<T>),
    ready: o.ready ? (i) => o.ready!(tasks[i]) : undefined,
    onStart: o.onStart ? (i) => o.onStart!(tasks[i]) : undefined,
    stop: o.stop,
    onMessage: o.onMessage ? (i, m) => o.onMessage!(tasks[i], m) : undefined,
    // the main thread only waits on the pool: a stop is seen within 50 ms
    stopEveryMs: 50,
    settles: (i) => tasks[i].kind === 'train' || tasks[i].kind === 'assemble',
  });
}

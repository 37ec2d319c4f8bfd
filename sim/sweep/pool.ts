/**
 * A pool of worker threads for sweep tasks (trainings, points and ideal twins): `jobs` threads,
 * each taking the first ready task as it finishes one (a point or twin of a trained workload is
 * ready once its model is). Results are handed to `onDone` as they arrive (the caller writes them
 * to disk at once); their order does not matter, since every task is deterministic. `stop()` is
 * asked between tasks and every half second: once true, the workers are ended at once (a task cut
 * short leaves nothing that looks finished) and the pool throws Interrupted.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError, Interrupted } from '../../fabric/errors.js';
import type { Point, Twin, Workload } from './plan.js';
import type { PointOutput, TwinOutput } from './point.js';
import type { ModelJob, TrainModelResult } from './models.js';

export type Task =
  | { kind: 'point'; point: Point; modelFile?: string }
  | { kind: 'twin'; twin: Twin; workload: Workload; modelFile?: string; modelKey?: string }
  | { kind: 'train'; job: ModelJob; cache: string; stages?: number[] };
export type TaskResult<T extends Task> = T extends { kind: 'point' } ? PointOutput : T extends { kind: 'twin' } ? TwinOutput : TrainModelResult;

function workerUrl(): URL {
  // bundled: dist/sweep-worker.js beside dist/dtca.js; from sources (tests): the built copy in dist/
  const beside = new URL('./sweep-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../dist/sweep-worker.js', import.meta.url);
}

type Reply = { ok: true; result: PointOutput | TwinOutput | TrainModelResult } | { ok: false; error: string; message: string; user: boolean };

export interface PoolOptions<T extends Task> {
  /** is the task ready to run (default: always) */
  ready?: (task: T) => boolean;
  /** called as a task starts */
  onStart?: (task: T) => void;
  /** true once the pool should stop */
  stop?: () => boolean;
}

export async function runPool<T extends Task>(tasks: T[], jobs: number, onDone: (task: T, result: TaskResult<T>) => void, o: PoolOptions<T> = {}): Promise<void> {
  if (tasks.length === 0) return;
  const ready = o.ready ?? (() => true);
  const stop = o.stop ?? (() => false);
  const n = Math.max(1, Math.min(jobs, tasks.length));
  const queue = [...tasks];
  let running = 0;
  let failed: unknown = null;
  let stopped = false;
  const workers: Worker[] = [];
  const parked: (() => void)[] = [];
  const wakeAll = () => {
    for (const w of parked.splice(0)) w();
  };
  let finishAll: () => void = () => {};
  const allDone = new Promise<void>((res) => (finishAll = res));
  let lanesLeft = n;
  const laneEnded = () => {
    if (--lanesLeft === 0) finishAll();
  };
  const lane = (w: Worker) => {
    const take = () => {
      if (failed !== null || stopped || queue.length === 0) {
        laneEnded();
        wakeAll();
        return;
      }
      if (stop()) {
        stopped = true;
        laneEnded();
        wakeAll();
        return;
      }
      const i = queue.findIndex(ready);
      if (i < 0) {
        if (running === 0) {
          failed ??= new Error(`sweep: ${queue.length} task(s) can never become ready (a model they need is not trained)`);
          laneEnded();
          wakeAll();
          return;
        }
        parked.push(take);
        return;
      }
      const task = queue.splice(i, 1)[0];
      running++;
      o.onStart?.(task);
      const onMessage = (m: Reply) => {
        w.off('error', onError);
        running--;
        if (!m.ok) {
          failed ??= m.user ? new UserError(m.message) : new Error(`sweep worker: ${m.error}`);
        } else {
          try {
            onDone(task, m.result as TaskResult<T>);
          } catch (e) {
            failed ??= e;
          }
        }
        wakeAll();
        take();
      };
      const onError = (e: Error) => {
        w.off('message', onMessage);
        running--;
        failed ??= e;
        laneEnded();
        wakeAll();
      };
      w.once('message', onMessage);
      w.once('error', onError);
      w.postMessage(task);
    };
    take();
  };
  // a signal while tasks run: end the workers at once (their tasks' partial outputs are private)
  const watch = setInterval(() => {
    if (!stopped && stop()) {
      stopped = true;
      finishAll();
    }
  }, 500);
  try {
    for (let i = 0; i < n; i++) workers.push(new Worker(workerUrl()));
    for (const w of workers) lane(w);
    await allDone;
  } finally {
    clearInterval(watch);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failed !== null) throw failed;
  if (stopped) throw new Interrupted({}, 'stop requested');
}

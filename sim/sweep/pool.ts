/**
 * A pool of worker threads for sweep tasks (points and ideal twins): `jobs` threads, each taking
 * the next task as it finishes one. Results are handed to `onDone` as they arrive (the caller
 * writes them to disk at once); their order does not matter, since every task is deterministic.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorFromReply, type ErrorReply } from '../../fabric/errors.js';
import type { Point, Twin, Workload } from './plan.js';
import type { PointOutput, TwinOutput } from './point.js';

export type Task = { kind: 'point'; point: Point } | { kind: 'twin'; twin: Twin; workload: Workload };
export type TaskResult<T extends Task> = T extends { kind: 'point' } ? PointOutput : TwinOutput;

function workerUrl(): URL {
  // bundled: dist/sweep-worker.js beside dist/dtca.js; from sources (tests): the built copy in dist/
  const beside = new URL('./sweep-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../dist/sweep-worker.js', import.meta.url);
}

type Reply = { ok: true; result: PointOutput | TwinOutput } | ({ ok: false } & ErrorReply);

export async function runPool<T extends Task>(tasks: T[], jobs: number, onDone: (task: T, result: TaskResult<T>) => void): Promise<void> {
  if (tasks.length === 0) return;
  const n = Math.max(1, Math.min(jobs, tasks.length));
  let next = 0;
  let failed: unknown = null;
  const workers: Worker[] = [];
  const lane = (w: Worker) =>
    new Promise<void>((resolve) => {
      const take = () => {
        if (failed !== null || next >= tasks.length) {
          resolve();
          return;
        }
        const task = tasks[next++];
        const onMessage = (m: Reply) => {
          w.off('error', onError);
          if (!m.ok) {
            failed ??= errorFromReply(m, 'sweep worker: ');
            resolve();
            return;
          }
          try {
            onDone(task, m.result as TaskResult<T>);
          } catch (e) {
            failed ??= e;
            resolve();
            return;
          }
          take();
        };
        const onError = (e: Error) => {
          w.off('message', onMessage);
          failed ??= e;
          resolve();
        };
        w.once('message', onMessage);
        w.once('error', onError);
        w.postMessage(task);
      };
      take();
    });
  try {
    for (let i = 0; i < n; i++) workers.push(new Worker(workerUrl()));
    await Promise.all(workers.map(lane));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failed !== null) throw failed;
}

/**
 * The one worker-thread pool of dtca. Every fan-out (chains and images of a run, bench threads,
 * training stages, sweep points) sends named jobs here; sim/worker.ts (dist/worker.js) looks the
 * name up in its job registry (sim/jobs.ts) and runs it.
 *
 *   runJobs(jobs, { threads, onMessage, onDone }) -> results in job order
 *
 * `threads` workers (default: one per job) each take the next job from the queue as they finish
 * one; results come back in job order whatever the scheduling, so a caller that merges them in
 * order gets the same answer for any thread count (every job is deterministic by itself). A job
 * may post messages while it runs (training's epoch records): `onMessage(index, message)`.
 * The first failure ends the pool (the other workers are terminated) and is rethrown with its type
 * (UserError, OptionError) intact.
 *
 * One small module rather than piscina or tinypool: the jobs are few and coarse (one per thread,
 * or one per sweep point), but they need things those libraries make awkward — messages streamed
 * from a running job, SharedArrayBuffers in the job data (bench's start barrier), transfer lists
 * for large typed-array results, and an entry file that is our own esbuild bundle — and a
 * dependency in the bundle costs start-up time for every `dtca` invocation.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorFromReply, type ErrorReply } from '../fabric/errors.js';
import type { JobName } from './jobs.js';

/** dist/worker.js: beside the bundle that runs (dist/dtca.js, dist/index.js), or the built copy when running from sources (tests). */
export function workerUrl(): URL {
  const beside = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../dist/worker.js', import.meta.url);
}

export interface Job {
  name: JobName;
  data: unknown;
  /** objects moved to the worker rather than copied */
  transfer?: ArrayBuffer[];
}

/** worker -> pool */
export type WorkerReply = { id: number; ok: true; result: unknown } | ({ id: number; ok: false } & ErrorReply) | { id: number; message: unknown };

export interface PoolOptions {
  /** worker threads (default: one per job) */
  threads?: number;
  /** a message a running job posted */
  onMessage?: (index: number, message: unknown) => void;
  /** a job finished (before the pool does) */
  onDone?: (index: number, result: unknown) => void;
}

export async function runJobs<R = unknown>(jobs: Job[], o: PoolOptions = {}): Promise<R[]> {
  if (jobs.length === 0) return [];
  const n = Math.max(1, Math.min(o.threads ?? jobs.length, jobs.length));
  const results: R[] = new Array(jobs.length);
  let next = 0;
  let failed: { e: unknown } | null = null;
  const workers: Worker[] = [];
  const lane = (w: Worker) =>
    new Promise<void>((resolve) => {
      let current = -1;
      // the first failure ends the pool: the other workers finish the job they hold (a sweep
      // writes each point as it comes) and take no more
      const fail = (e: unknown) => {
        failed ??= { e };
        w.off('message', onMessage);
        w.off('error', fail);
        w.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number) => fail(new Error(`worker thread exited with code ${code} during job ${jobs[current]?.name ?? '?'}`));
      const take = () => {
        if (failed !== null || next >= jobs.length) {
          w.off('message', onMessage);
          w.off('error', fail);
          w.off('exit', onExit);
          resolve();
          return;
        }
        current = next++;
        const job = jobs[current];
        w.postMessage({ id: current, name: job.name, data: job.data }, job.transfer ?? []);
      };
      const onMessage = (m: WorkerReply) => {
        if (m.id !== current) return;
        if ('message' in m) {
          o.onMessage?.(current, m.message);
          return;
        }
        if (!m.ok) return fail(errorFromReply(m));
        results[current] = m.result as R;
        try {
          o.onDone?.(current, m.result);
        } catch (e) {
          return fail(e);
        }
        take();
      };
      w.on('message', onMessage);
      w.once('error', fail);
      w.once('exit', onExit);
      take();
    });
  try {
    for (let i = 0; i < n; i++) workers.push(new Worker(workerUrl()));
    await Promise.all(workers.map(lane));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failed !== null) throw (failed as { e: unknown }).e;
  return results;
}

/**
 * Split [0, total) into up to `workers` contiguous ranges, one job each (`job(from, to)` its data),
 * and return the results in range order.
 */
export async function overRanges<R>(name: JobName, total: number, workers: number, job: (from: number, to: number) => unknown, onDone?: (n: number) => void): Promise<R[]> {
  const per = Math.ceil(total / workers);
  const ranges: [number, number][] = [];
  for (let from = 0; from < total; from += per) ranges.push([from, Math.min(total, from + per)]);
  return runJobs<R>(
    ranges.map(([from, to]) => ({ name, data: job(from, to) })),
    { onDone: onDone ? (i) => onDone(ranges[i][1] - ranges[i][0]) : undefined },
  );
}

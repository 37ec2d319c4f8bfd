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
 * (UserError, OptionError) intact. A job may wait for others (`ready`: a sweep's point for its
 * model), and the caller may stop the pool (`stop`: the workers are ended, Interrupted is thrown).
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
import { errorFromReply, Interrupted, type ErrorReply } from '../fabric/errors.js';
import type { JobName } from './job-names.js';

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
  /**
   * may the job start now (default: always)? A free worker takes the first ready job in order and
   * waits while none is; a job that can never be ready (nothing runs, none is ready) is an error.
   * Asked again after every job that finishes (a sweep's point waits for its model).
   */
  ready?: (index: number) => boolean;
  /** a job is starting */
  onStart?: (index: number) => void;
  /**
   * asked between jobs and every `stopEveryMs` (default 500): once true, no job starts, the jobs
   * are told to stop (the flag their `stop` reads: sim/worker.ts), the workers are ended (a job cut
   * short must leave nothing that looks finished; a `settles` job is waited for first) and the pool
   * throws Interrupted
   */
  stop?: () => boolean;
  stopEveryMs?: number;
  /**
   * jobs that, told to stop, end by themselves at their next safe point (a sweep's training writes
   * checkpoints on its own thread and holds a lock): after a stop the pool waits for them, up to
   * `settleMs` (default 10 s), before it ends their threads
   */
  settles?: (index: number) => boolean;
  settleMs?: number;
}

export async function runJobs<R = unknown>(jobs: Job[], o: PoolOptions = {}): Promise<R[]> {
  if (jobs.length === 0) return [];
  const n = Math.max(1, Math.min(o.threads ?? jobs.length, jobs.length));
  const results: R[] = new Array(jobs.length);
  const ready = o.ready ?? (() => true);
  const stop = o.stop ?? (() => false);
  const settles = o.settles ?? (() => false);
  const queue = jobs.map((_, i) => i);
  let running = 0;
  let failed: { e: unknown } | null = null;
  let stopped = false;
  const workers: Worker[] = [];
  // the jobs the workers hold now
  const held = new Set<number>();
  // set once the pool is stopped: every job's `stop` reads it (sim/worker.ts)
  const flag = o.stop ? new Int32Array(new SharedArrayBuffer(4)) : null;
  // lanes waiting for a job to become ready, woken whenever one finishes
  const parked: (() => void)[] = [];
  const wake = () => {
    for (const take of parked.splice(0)) take();
  };
  let endAll: () => void = () => {};
  const ended = new Promise<void>((res) => (endAll = res));
  let settleTimer: ReturnType<typeof setTimeout> | undefined;
  // stopped: end the pool once no job that settles by itself is still running
  const endIfSettled = () => {
    if (stopped && ![...held].some((i) => settles(i))) endAll();
  };
  const beginStop = () => {
    if (stopped) return;
    stopped = true;
    if (flag) Atomics.store(flag, 0, 1);
    settleTimer = setTimeout(endAll, o.settleMs ?? 10_000);
    wake(); // parked lanes leave
    endIfSettled();
  };
  const lane = (w: Worker) =>
    new Promise<void>((resolve) => {
      let current = -1;
      const release = () => {
        if (current >= 0) {
          running--;
          held.delete(current);
        }
        current = -1;
      };
      const leave = () => {
        w.off('message', onMessage);
        w.off('error', fail);
        w.off('exit', onExit);
        resolve();
        wake();
        endIfSettled();
      };
      // the first failure ends the pool: the other workers finish the job they hold (a sweep
      // writes each point as it comes) and take no more. After a stop, a job that ends because it
      // was told to is no failure.
      const fail = (e: unknown) => {
        if (!(stopped && e instanceof Interrupted)) failed ??= { e };
        release();
        leave();
      };
      const onExit = (code: number) => fail(new Error(`worker thread exited with code ${code} during job ${jobs[current]?.name ?? '?'}`));
      const take = () => {
        if (failed !== null || stopped || queue.length === 0) return leave();
        if (stop()) {
          beginStop();
          return leave();
        }
        const at = queue.findIndex((i) => ready(i));
        if (at < 0) {
          if (running === 0) {
            failed ??= {
              e: new Error(
                `${queue.length} job(s) can never start: what they wait for is not done (${[...new Set(queue.map((i) => jobs[i].name))].join(', ')})`,
              ),
            };
            return leave();
          }
          parked.push(take);
          return;
        }
        current = queue.splice(at, 1)[0];
        running++;
        held.add(current);
        const job = jobs[current];
        try {
          o.onStart?.(current);
        } catch (e) {
          return fail(e);
        }
        w.postMessage({ id: current, name: job.name, data: job.data, ...(flag ? { stop: flag.buffer } : {}) }, job.transfer ?? []);
      };
      const onMessage = (m: WorkerReply) => {
        if (m.id !== current) return;
        if ('message' in m) {
          try {
            o.onMessage?.(current, m.message);
          } catch (e) {
            return fail(e);
          }
          return;
        }
        if (!m.ok) return fail(errorFromReply(m));
        results[current] = m.result as R;
        const done = current;
        release();
        try {
          o.onDone?.(done, m.result);
        } catch (e) {
          return fail(e);
        }
        wake();
        take();
      };
      w.on('message', onMessage);
      w.once('error', fail);
      w.once('exit', onExit);
      take();
    });
  // a stop while jobs run: end the workers at once (those of settling jobs once they have)
  const watch = o.stop
    ? setInterval(() => {
        if (!stopped && stop()) beginStop();
      }, o.stopEveryMs ?? 500)
    : null;
  try {
    for (let i = 0; i < n; i++) workers.push(new Worker(workerUrl()));
    await Promise.race([Promise.all(workers.map(lane)), ended]);
  } finally {
    if (watch) clearInterval(watch);
    if (settleTimer) clearTimeout(settleTimer);
    // a stopped pool's lanes still hold their jobs: their workers' ends are not failures
    if (stopped) for (const w of workers) w.removeAllListeners().on('error', () => {});
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failed !== null) throw (failed as { e: unknown }).e;
  if (stopped) throw new Interrupted({}, 'stop requested');
  return results;
}

/**
 * Work on worker threads raced against a stop: rejects with Interrupted (the reason `stopped`
 * settles with) as soon as `stopped` settles first. The threads are not asked to stop (a run's
 * chains and images do not ask): the caller ends the process, or drops what they return.
 */
export function untilStopped<T>(p: Promise<T>, stopped: Promise<string> | undefined): Promise<T> {
  if (!stopped) return p;
  p.catch(() => {}); // if the stop wins, what the threads do afterwards no longer matters
  return Promise.race([
    p,
    stopped.then((s): T => {
      throw new Interrupted({}, s);
    }),
  ]);
}

/** [0, total) as up to `workers` contiguous ranges [from, to) of equal size (the last may be shorter), in order. */
export function splitRanges(total: number, workers: number): [number, number][] {
  const per = Math.ceil(total / workers);
  const ranges: [number, number][] = [];
  for (let from = 0; from < total; from += per) ranges.push([from, Math.min(total, from + per)]);
  return ranges;
}

/**
 * Split [0, total) into up to `workers` contiguous ranges (splitRanges), one job each (`job(from,
 * to)` its data), and return the results in range order; `onMessage` gets what a range's job posts
 * while it runs, with the range's index.
 */
export async function overRanges<R>(
  name: JobName,
  total: number,
  workers: number,
  job: (from: number, to: number) => unknown,
  onDone?: (n: number) => void,
  onMessage?: (range: number, message: unknown) => void,
): Promise<R[]> {
  const ranges = splitRanges(total, workers);
  return runJobs<R>(
    ranges.map(([from, to]) => ({ name, data: job(from, to) })),
    { onDone: onDone ? (i) => onDone(ranges[i][1] - ranges[i][0]) : undefined, onMessage },
  );
}

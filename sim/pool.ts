/**
 * The one worker-thread pool of dtca. Every fan-out (chains and images of a run, bench threads,
 * training stages, sweep points) sends named jobs here; sim/worker.ts (dist/worker.js) looks the
 * name up in its job registry (sim/jobs.ts) and runs it.
 *
 *   runJobs(jobs, { threads, onMessage, onDone, stopped }) -> results in job order
 *   closeWorkers()   ends the threads kept between calls
 *
 * `threads` workers (default: one per job) each take the next job from the queue as they finish
 * one; results come back in job order whatever the scheduling, so a caller that merges them in
 * order gets the same answer for any thread count (every job is deterministic by itself). A job
 * may post messages while it runs (training's epoch records): `onMessage(index, message)`.
 * The first failure ends the call (the other workers finish the job they hold and take no more)
 * and is rethrown with its type (UserError, OptionError) intact. A job may wait for others
 * (`ready`: a sweep's point for its model), and the caller may stop the call (`stop`, asked, or
 * `stopped`, a promise: the workers are ended, Interrupted is thrown).
 *
 * The threads are kept between calls: a call takes idle ones (starting more when it needs more)
 * and gives them back once every job of it has replied, so a library caller calling `generate` in
 * a loop starts threads (and compiles the WebAssembly in each) once, not per call (about 1 s a
 * call on this project's machine, more when it is loaded: docs/performance.md). An idle thread is
 * unref'd (it holds no process open: a script ends when its own work does) and runs nothing
 * between jobs: a job's state is its own (its output session, sim/worker.ts; its engines are
 * disposed, tile threads included; what a thread keeps is compiled WebAssembly modules and other
 * pure functions of their keys, and a sweep's reference images and classifier, loaded once per
 * thread: a sweep is a command, one process), so a kept thread gives the bytes a new one gives
 * (test/pool.test.ts). A call that
 * fails or is stopped ends all of its threads instead (a thread cut short, or holding what a
 * failed job left, is never reused): the next call starts new ones. `closeWorkers()` ends the idle
 * threads now (and those of calls still running once they finish). The threads share the
 * process's environment (SHARE_ENV), so a kept thread sees the variables as a new one would.
 *
 * One small module rather than piscina or tinypool: the jobs are few and coarse (one per thread,
 * or one per sweep point), but they need things those libraries make awkward — messages streamed
 * from a running job, SharedArrayBuffers in the job data (bench's start barrier), transfer lists
 * for large typed-array results, and an entry file that is our own esbuild bundle — and a
 * dependency in the bundle costs start-up time for every `dtca` invocation.
 */
import { Worker, SHARE_ENV } from 'node:worker_threads';
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

/** the threads no call holds now, unref'd */
const idle: Worker[] = [];
/** raised by closeWorkers: a thread started before it is ended when its call gives it back */
let generation = 0;
let started = 0;
const generationOf = new WeakMap<Worker, number>();
/** an idle thread that fails or exits leaves the idle list (and its error is not thrown at nobody) */
const dropIdle = function (this: Worker) {
  const at = idle.indexOf(this);
  if (at >= 0) idle.splice(at, 1);
};

/** `n` threads for a call: idle ones first, then new ones; each keeps the process open while the call holds it */
function takeWorkers(n: number): Worker[] {
  const ws = idle.splice(0, n);
  for (const w of ws) {
    w.off('error', dropIdle).off('exit', dropIdle);
    w.ref();
  }
  while (ws.length < n) {
    const w = new Worker(workerUrl(), { env: SHARE_ENV });
    generationOf.set(w, generation);
    started++;
    ws.push(w);
  }
  return ws;
}

/** a call's threads, every job of it replied: kept idle (unref'd), or ended when closeWorkers came since they started */
async function giveBack(ws: Worker[]): Promise<void> {
  const old: Worker[] = [];
  for (const w of ws) {
    if (generationOf.get(w) !== generation) {
      old.push(w);
      continue;
    }
    // (its lane took its own listeners off; removeAllListeners would take Node's too: the thread's messages would no longer come)
    w.on('error', dropIdle).on('exit', dropIdle);
    w.unref();
    idle.push(w);
  }
  await Promise.all(old.map((w) => w.terminate()));
}

/**
 * Ends the worker threads kept between calls (sim/pool.ts: they are unref'd, so a process ends
 * without this); the threads of calls still running end when those calls finish. A later call
 * starts new threads.
 */
export async function closeWorkers(): Promise<void> {
  generation++;
  await Promise.all(idle.splice(0).map((w) => w.terminate()));
}

/** the thread ids of the threads kept idle now, and how many threads the pool has started (tests) */
export function keptThreads(): { idle: number[]; started: number } {
  return { idle: idle.map((w) => w.threadId), started };
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
  /**
   * settles with a reason when the call must end now (a run's `stopped`: its chains and images do
   * not ask `stop`): as a stop, at once, and Interrupted carries the reason
   */
  stopped?: Promise<string>;
}

type StopBox = { on: ((r: { why: string } | { e: unknown }) => void) | null };
/** `p`'s outcome to `box.on` while it is set: the handler holds only the box, not a finished call (a caller may pass one `stopped` to many calls) */
function listen(p: Promise<string>, box: StopBox): void {
  p.then(
    (why) => box.on?.({ why }),
    (e) => box.on?.({ e }),
  );
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
  let reason = 'stop requested';
  let finished = false;
  let workers: Worker[] = [];
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
  const onStopped: StopBox = {
    on: (r) => {
      if (finished || stopped) return;
      if ('e' in r) failed ??= { e: r.e };
      else reason = r.why;
      beginStop();
    },
  };
  if (o.stopped) listen(o.stopped, onStopped);
  try {
    workers = takeWorkers(n);
    await Promise.race([Promise.all(workers.map(lane)), ended]);
  } finally {
    finished = true;
    onStopped.on = null;
    if (watch) clearInterval(watch);
    if (settleTimer) clearTimeout(settleTimer);
    if (failed === null && !stopped) {
      await giveBack(workers);
      // a signal that came while this thread was busy with the threads' messages waits for the
      // event loop's next poll phase; ending the threads used to give it that turn, keeping them
      // does not: two check phases on it has been handled, so a caller that asks its `stop` after
      // the call (training) sees a stop that came before the last job ended
      if (o.stop) for (let i = 0; i < 2; i++) await new Promise<void>((r) => setImmediate(r));
    } else {
      // a stopped call's lanes still hold their jobs: their workers' ends are not failures. A
      // failed or stopped call's threads are not kept (one may be cut short mid-job, or hold what
      // a failed job left): the next call starts new ones
      for (const w of workers) w.removeAllListeners().on('error', () => {});
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }
  if (failed !== null) throw (failed as { e: unknown }).e;
  if (stopped) throw new Interrupted({}, reason);
  return results;
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
 * to)` its data), and return the results in range order; `onDone` gets the size of each range
 * that finishes, `onMessage` what a range's job posts while it runs, with the range's index;
 * `stopped` ends the call at once (runJobs).
 */
export async function overRanges<R>(
  name: JobName,
  total: number,
  workers: number,
  job: (from: number, to: number) => unknown,
  o: { onDone?: (n: number) => void; onMessage?: (range: number, message: unknown) => void; stopped?: Promise<string> } = {},
): Promise<R[]> {
  const ranges = splitRanges(total, workers);
  const onDone = o.onDone;
  return runJobs<R>(
    ranges.map(([from, to]) => ({ name, data: job(from, to) })),
    { onDone: onDone ? (i) => onDone(ranges[i][1] - ranges[i][0]) : undefined, onMessage: o.onMessage, stopped: o.stopped },
  );
}

/**
 * The worker-thread entry (built as dist/worker.js): takes jobs from the pool (sim/pool.ts) one
 * message at a time, runs each by its name from the registry (sim/jobs.ts) in an output session
 * of its own (fabric/files.ts: a job's inputs and outputs are its own) and replies with the result
 * or the error (its type kept: fabric/errors.ts errorReply). A job may ask whether the pool wants
 * it to stop (`stop`, its third argument): the pool's shared flag (sim/pool.ts), set once the
 * caller stops it; a job that asks ends at its next safe point with Interrupted.
 */
import { parentPort } from 'node:worker_threads';
import { JOBS, type JobName } from './jobs.js';
import { errorReply } from '../fabric/errors.js';
import { OutputSession, withOutputSession } from '../fabric/files.js';
import type { WorkerReply } from './pool.js';

const port = parentPort!;
const reply = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

port.on('message', async ({ id, name, data, stop }: { id: number; name: JobName; data: never; stop?: SharedArrayBuffer }) => {
  try {
    const fn = JOBS[name] as (
      data: never,
      post: (message: unknown, transfer?: ArrayBuffer[]) => void,
      stop: () => boolean,
    ) => ReturnType<(typeof JOBS)[JobName]>;
    if (!fn) throw new Error(`no job named ${JSON.stringify(name)} in sim/jobs.ts`);
    const flag = stop ? new Int32Array(stop) : null;
    const stopped = () => flag !== null && Atomics.load(flag, 0) !== 0;
    const out = await withOutputSession(new OutputSession(), () => fn(data, (message, transfer) => reply({ id, message }, transfer), stopped));
    reply({ id, ok: true, result: out.result }, out.transfer);
  } catch (e) {
    const r = errorReply(e);
    // an internal error travels with its stack
    reply({ id, ok: false, ...r, error: !r.user && !r.interrupted && e instanceof Error ? (e.stack ?? e.message) : r.error });
  }
});

/** Spreading independent chains over worker threads (sim/worker.ts runs one range each). */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorFromReply, type ErrorReply } from '../fabric/errors.js';

function workerUrl(): URL {
  const beside = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../dist/worker.js', import.meta.url); // running from sources (tests)
}

type Reply<R> = { ok: true; result: R } | ({ ok: false } & ErrorReply);

/**
 * Split [0, total) into up to `workers` contiguous ranges, run `job(from, to)` for each in its own
 * worker thread, and return the results in range order. A UserError in a worker stays one.
 */
export async function overWorkers<J, R>(total: number, workers: number, job: (from: number, to: number) => J, onDone?: (n: number) => void): Promise<R[]> {
  const per = Math.ceil(total / workers);
  const parts: Promise<R>[] = [];
  for (let from = 0; from < total; from += per) {
    const to = Math.min(total, from + per);
    parts.push(
      new Promise<R>((resolve, reject) => {
        const w = new Worker(workerUrl(), { workerData: job(from, to) });
        w.once('message', (m: Reply<R>) => {
          if (m.ok) {
            onDone?.(to - from);
            resolve(m.result);
          } else reject(errorFromReply(m));
          void w.terminate();
        });
        w.once('error', reject);
      }),
    );
  }
  return Promise.all(parts);
}

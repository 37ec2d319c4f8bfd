/** Worker thread: runs a range of chains and posts the per-chain results back. */
import { parentPort, workerData } from 'node:worker_threads';
import { buildChip } from './chip.js';
import { runChainRange, type WorkerJob } from './run.js';
import { UserError } from '../fabric/errors.js';

const job = workerData as WorkerJob;
try {
  const chip = buildChip(job.config);
  const results = runChainRange(chip, job.model, job.opts, job.from, job.to);
  const transfer: ArrayBuffer[] = [];
  for (const r of results) {
    transfer.push(r.final.buffer as ArrayBuffer);
    if (r.sumS) transfer.push(r.sumS.buffer as ArrayBuffer);
    if (r.sumSS) transfer.push(r.sumSS.buffer as ArrayBuffer);
  }
  parentPort!.postMessage({ ok: true, results }, transfer);
} catch (e) {
  parentPort!.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e), user: e instanceof UserError });
}

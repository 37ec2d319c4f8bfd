/** Worker thread: runs a range of Boltzmann-machine chains or DTM images and posts the results back. */
import { parentPort, workerData } from 'node:worker_threads';
import { buildChip } from './chip.js';
import { runChainRange, type WorkerJob } from './run.js';
import { runImages, type DtmJob } from './dtm.js';
import { UserError } from '../fabric/errors.js';

function run(job: WorkerJob | DtmJob): void {
  const chip = buildChip(job.config);
  if ('kind' in job && job.kind === 'dtm') {
    parentPort!.postMessage({ ok: true, result: runImages(chip, job.model, job.opts, job.from, job.to) });
    return;
  }
  const results = runChainRange(chip, job.model, (job as WorkerJob).opts, job.from, job.to);
  const transfer: ArrayBuffer[] = [];
  for (const r of results) {
    transfer.push(r.final.buffer as ArrayBuffer);
    if (r.sumS) transfer.push(r.sumS.buffer as ArrayBuffer);
    if (r.sumSS) transfer.push(r.sumSS.buffer as ArrayBuffer);
  }
  parentPort!.postMessage({ ok: true, result: results }, transfer);
}

try {
  run(workerData as WorkerJob | DtmJob);
} catch (e) {
  parentPort!.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e), user: e instanceof UserError });
}

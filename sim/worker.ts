/** Worker thread: runs a range of Boltzmann-machine chains or DTM images and posts the results back. */
import { parentPort, workerData } from 'node:worker_threads';
import { buildChip } from './chip.js';
import { runChainRange, type WorkerJob } from './run.js';
import { runImages, type DtmJob } from './dtm.js';
import { measureThread, type RowSpec } from './bench.js';
import { runTrainJob, type TrainJob } from './train/train.js';
import { errorReply } from '../fabric/errors.js';

interface BenchJob {
  kind: 'bench';
  spec: RowSpec;
  first: number;
  count: number;
  sab: SharedArrayBuffer;
  parties: number;
}

async function run(job: WorkerJob | DtmJob | BenchJob | TrainJob): Promise<void> {
  if ('kind' in job && job.kind === 'train') {
    runTrainJob(job, (m) => parentPort!.postMessage(m));
    parentPort!.postMessage({ ok: true });
    return;
  }
  if ('kind' in job && job.kind === 'bench') {
    parentPort!.postMessage({ ok: true, result: await measureThread(job.spec, job.first, job.count, { sab: job.sab, parties: job.parties }) });
    return;
  }
  const chip = buildChip(job.config);
  if ('kind' in job && job.kind === 'dtm') {
    parentPort!.postMessage({ ok: true, result: runImages(chip, job.model, job.opts, job.from, job.to) });
    return;
  }
  const part = runChainRange(chip, job.model, (job as WorkerJob).opts, job.from, job.to);
  const transfer: ArrayBuffer[] = part.finals.map((f) => f.buffer as ArrayBuffer);
  if (part.spin) transfer.push(part.spin.buffer as ArrayBuffer);
  if (part.pair) transfer.push(part.pair.buffer as ArrayBuffer);
  parentPort!.postMessage({ ok: true, result: part }, transfer);
}

run(workerData as WorkerJob | DtmJob | BenchJob | TrainJob).catch((e: unknown) => {
  parentPort!.postMessage({ ok: false, ...errorReply(e) });
});

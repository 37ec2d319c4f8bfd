/**
 * The job registry of the worker pool (sim/pool.ts): every kind of work a worker thread can do, by
 * name. sim/worker.ts looks a job's name up here; a new kind of job is one entry here and its name in
 * sim/job-names.ts.
 *
 * Each entry takes the job's data (structured-cloned from the caller), a `post` for messages
 * while it runs and a `stop` it may ask (true once the pool is stopped: sim/worker.ts), and returns
 * the result, optionally with buffers to transfer rather than copy.
 */
import { buildChip } from './chip.js';
import { runChainRange, type WorkerJob } from './run.js';
import { runImagesJob, type DtmJob, type ImagesMessage } from './dtm.js';
import { measureThread, type BenchJob } from './bench.js';
import { runTrainJob, type TrainJob } from './train/train.js';
import type { Point, Twin, Workload } from './sweep/plan.js';
import type { ModelJob } from './sweep/models.js';
import { quietContext } from './context.js';
import type { JobName } from './job-names.js';

export interface JobOutput {
  result: unknown;
  transfer?: ArrayBuffer[];
}

type JobFn = (data: never, post: (message: unknown, transfer?: ArrayBuffer[]) => void, stop: () => boolean) => Promise<JobOutput> | JobOutput;

export const JOBS = {
  /** a range of Boltzmann-machine chains (sim/run.ts) */
  chains: (job: WorkerJob): JobOutput => {
    const part = runChainRange(buildChip(job.config), job.model, job.opts, job.from, job.to);
    const transfer: ArrayBuffer[] = part.finals.map((f) => f.buffer as ArrayBuffer);
    if (part.spin) transfer.push(part.spin.buffer as ArrayBuffer);
    if (part.pair) transfer.push(part.pair.buffer as ArrayBuffer);
    return { result: part, transfer };
  },
  /** a range of DTM images (sim/dtm.ts), posting the end of each stage and, traced, its sweep records */
  images: (job: DtmJob, post: (m: ImagesMessage, transfer?: ArrayBuffer[]) => void): JobOutput => ({ result: runImagesJob(job, post) }),
  /** one thread of a bench row (sim/bench.ts) */
  bench: async (job: BenchJob): Promise<JobOutput> => ({ result: await measureThread(job.spec, job.first, job.count, { sab: job.sab, parties: job.parties }) }),
  /** a thread's stages of a training run, posting epoch records as they come (sim/train/train.ts) */
  train: (job: TrainJob, post: (m: unknown) => void): JobOutput => {
    runTrainJob(job, post);
    return { result: null };
  },
  /** a sweep point (sim/sweep/point.ts; loaded on first use), with its trained model's file when it has one */
  'sweep-point': async (job: { point: Point; modelFile?: string }): Promise<JobOutput> => ({
    result: await (await import('./sweep/point.js')).measurePoint(job.point, job.modelFile),
  }),
  /** a sweep point's ideal twin */
  'sweep-twin': async (job: { twin: Twin; workload: Workload; modelFile?: string }): Promise<JobOutput> => ({
    result: await (await import('./sweep/point.js')).measureTwin(job.twin, job.workload, job.modelFile),
  }),
  /**
   * one stage of a sweep's model (sim/sweep/models.ts): its checkpoints in the model cache, posting
   * its epoch lines and step counts (TrainTaskMessage). Told to stop, it ends at its next training
   * step (checkpoints whole, its lock released) with Interrupted
   */
  'sweep-train': async (job: { cache: string; model: ModelJob; stage: number }, post: (m: unknown) => void, stop: () => boolean): Promise<JobOutput> => {
    const models = await import('./sweep/models.js');
    // its epoch lines and step counts go to the sweep, which logs them and draws its bar (sim/sweep/runner.ts)
    return { result: await models.trainStage(job.cache, job.model, job.stage, models.postingContext(post, stop)) };
  },
  /** a sweep's model written from its trained stages, and its cache entry finished (told to stop: no model, no entry.json) */
  'sweep-assemble': async (job: { cache: string; model: ModelJob }, _post: unknown, stop: () => boolean): Promise<JobOutput> => ({
    result: await (await import('./sweep/models.js')).assembleModel(job.cache, job.model, quietContext({ stop })),
  }),
} satisfies Record<JobName, JobFn>;

export type { JobName };

/**
 * The thread entry of a trace's writer thread (built as dist/trace-worker.js): the loop of
 * traces/ring.ts, which says what the thread does.
 */
import { workerData } from 'node:worker_threads';
import { traceWriterLoop, type TraceWorkerData } from './ring.js';

traceWriterLoop(workerData as TraceWorkerData);

/**
 * Sweep tasks (points and ideal twins) on the worker pool (sim/pool.ts): `jobs` threads, each
 * taking the next task as it finishes one. Results are handed to `onDone` as they arrive (the caller
 * writes them to disk at once); their order does not matter, since every task is deterministic.
 */
import { runJobs } from '../pool.js';
import type { Point, Twin, Workload } from './plan.js';
import type { PointOutput, TwinOutput } from './point.js';

export type Task = { kind: 'point'; point: Point } | { kind: 'twin'; twin: Twin; workload: Workload };
export type TaskResult<T extends Task> = T extends { kind: 'point' } ? PointOutput : TwinOutput;

export async function runPool<T extends Task>(tasks: T[], jobs: number, onDone: (task: T, result: TaskResult<T>) => void): Promise<void> {
  await runJobs(
    tasks.map((t) => (t.kind === 'point' ? { name: 'sweep-point', data: { point: t.point } } : { name: 'sweep-twin', data: { twin: t.twin, workload: t.workload } })),
    { threads: jobs, onDone: (i, result) => onDone(tasks[i], result as TaskResult<T>) },
  );
}

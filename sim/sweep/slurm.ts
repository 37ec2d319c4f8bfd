/**
 * `dtca sweep slurm DIR`: a ready sbatch script that runs the sweep as a Slurm array job, one
 * deterministic shard per array task (`dtca sweep run DIR` reads SLURM_ARRAY_TASK_ID,
 * SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT), each task using its CPUs as sweep jobs.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../../fabric/errors.js';

export interface SlurmOptions {
  dir: string;
  points: number;
  sweepId: string;
  /** array tasks (default: one per point, at most 1000) */
  tasks?: number;
  partition?: string;
  time?: string;
  cpusPerTask?: number;
  mem?: string;
  /** how to call dtca on the nodes (default: this node binary and this CLI file) */
  dtca?: string;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function defaultDtcaCommand(): string {
  return `${shellQuote(process.execPath)} ${shellQuote(resolve(process.argv[1]))}`;
}

export function slurmScript(o: SlurmOptions): string {
  const tasks = o.tasks ?? Math.min(o.points, 1000);
  if (!Number.isInteger(tasks) || tasks < 1) throw new UserError(`--tasks ${o.tasks}: must be an integer >= 1`);
  if (tasks > o.points) throw new UserError(`--tasks ${tasks}: the sweep has only ${o.points} points (a task per point at most)`);
  const cpus = o.cpusPerTask ?? 1;
  if (!Number.isInteger(cpus) || cpus < 1) throw new UserError(`--cpus-per-task ${o.cpusPerTask}: must be an integer >= 1`);
  for (const [k, v] of [['partition', o.partition], ['time', o.time], ['mem', o.mem]] as const) {
    if (v !== undefined && !/^[A-Za-z0-9_:.,+-]+$/.test(v)) throw new UserError(`--${k} ${v}: not a valid Slurm value`);
  }
  const dir = resolve(o.dir);
  const logs = join(dir, 'slurm');
  mkdirSync(logs, { recursive: true }); // Slurm does not create the output directory
  const lines = [
    '#!/bin/bash',
    `# dtca sweep ${o.sweepId}: ${o.points} points in ${tasks} array task(s). Submit with: sbatch ${shellQuote(join(dir, 'sweep.sbatch'))}`,
    `#SBATCH --job-name=dtca-sweep-${o.sweepId}`,
    `#SBATCH --array=1-${tasks}`,
    `#SBATCH --cpus-per-task=${cpus}`,
    `#SBATCH --output=${logs}/%A_%a.out`,
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : []),
    'set -euo pipefail',
    '# each task runs shard SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT; finished points are skipped,',
    '# so a resubmission only runs what is missing. When all tasks are done:',
    `#   ${o.dtca ?? defaultDtcaCommand()} sweep collect ${shellQuote(dir)}`,
    `exec ${o.dtca ?? defaultDtcaCommand()} sweep run ${shellQuote(dir)} --jobs "\${SLURM_CPUS_PER_TASK:-1}"`,
    '',
  ];
  return lines.join('\n');
}

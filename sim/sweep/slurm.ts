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

/**
 * Every value that reaches the script passes here first: a control character (a newline above
 * all: it would end a comment or an #SBATCH line and start a shell command) or a Unicode line
 * separator is refused, naming the value. Quoting then keeps the rest what it is.
 */
function scriptSafe(what: string, v: string): string {
  const bad = /[\x00-\x1f\x7f\x85\u2028\u2029]/.exec(v);
  if (bad) {
    const c = bad[0].charCodeAt(0);
    const name = c === 10 ? 'a newline' : c === 13 ? 'a carriage return' : `control character U+${c.toString(16).padStart(4, '0').toUpperCase()}`;
    throw new UserError(`${what} ${JSON.stringify(v)}: holds ${name}, which cannot go into an sbatch script safely; rename it`);
  }
  return v;
}

/**
 * An #SBATCH argument as sbatch reads it (src/sbatch/opt.c, _get_argument): double quotes keep
 * spaces, a backslash escapes the next character, an unescaped # ends the line. For --output,
 * `%` is Slurm's filename pattern character: a literal % is %%.
 */
function sbatchQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `"${s.replace(/[\\"'#]/g, '\\$&')}"`;
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
  const dir = scriptSafe('the sweep directory', resolve(o.dir));
  const id = scriptSafe('the sweep id', o.sweepId);
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new UserError(`the sweep id ${JSON.stringify(id)} (sweep.json): not a dtca sweep id`);
  const dtca = o.dtca === undefined ? defaultDtcaCommand() : scriptSafe('--dtca', o.dtca);
  if (dtca.trim() === '') throw new UserError('--dtca: an empty command');
  scriptSafe('the dtca command', dtca);
  const logs = join(dir, 'slurm');
  const lines = [
    '#!/bin/bash',
    `# dtca sweep ${id}: ${o.points} points in ${tasks} array task(s). Submit with: sbatch ${shellQuote(join(dir, 'sweep.sbatch'))}`,
    `#SBATCH --job-name=dtca-sweep-${id}`,
    `#SBATCH --array=1-${tasks}`,
    `#SBATCH --cpus-per-task=${cpus}`,
    `#SBATCH ${sbatchQuote(`--output=${logs.replace(/%/g, '%%')}/%A_%a.out`)}`,
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : []),
    'set -euo pipefail',
    '# each task runs shard SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT; finished points are skipped,',
    '# so a resubmission only runs what is missing. When all tasks are done:',
    `#   ${dtca} sweep collect ${shellQuote(dir)}`,
    `exec ${dtca} sweep run ${shellQuote(dir)} --jobs "\${SLURM_CPUS_PER_TASK:-1}"`,
    '',
  ];
  mkdirSync(logs, { recursive: true }); // Slurm does not create the output directory
  return lines.join('\n');
}

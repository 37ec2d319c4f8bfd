/**
 * Slurm scripts for sweeps and training.
 *
 * `dtca sweep slurm DIR`: a ready sbatch script that runs the sweep as a Slurm array job, one
 * deterministic shard per array task (`dtca sweep run DIR` reads SLURM_ARRAY_TASK_ID,
 * SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT), each task using its CPUs as sweep jobs. A
 * sweep with --train gets a second script, train.sbatch: an array with one task per stage of each
 * model still to train (`dtca sweep train DIR --task K`); the point array is submitted with
 * `--dependency=afterok:<training job>` (submit.sh, or `--submit`).
 *
 * `dtca train --slurm`: the same for one model: an array with one task per stage (each trains
 * its stage's checkpoints only), then an assembling job that depends on it (afterok).
 *
 * Every value that reaches a script is quoted for the shell, or refused where it cannot be quoted
 * (#SBATCH lines are read by sbatch, not by a shell: paths there must be plain).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
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

/** A word for the shell: as it is when plain, else in single quotes. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A path that goes into an #SBATCH line (sbatch does not parse quotes there): plain characters only. */
export function sbatchPath(p: string, what: string): string {
  if (!/^[A-Za-z0-9_./:@%+,=-]+$/.test(p)) {
    throw new UserError(`${what} ${JSON.stringify(p)}: a path in a Slurm script may hold only letters, digits and _ . / : @ % + , = - (no spaces, quotes or control characters); use a plainer directory name`);
  }
  return p;
}

/** A command that is put into a script as it is (--dtca): one line, no control characters. */
function commandLine(c: string, what: string): string {
  if (/[\x00-\x1f\x7f]/.test(c) || c.trim() === '') throw new UserError(`${what} ${JSON.stringify(c)}: must be one line of shell without control characters`);
  return c;
}

export function defaultDtcaCommand(): string {
  return `${shellQuote(process.execPath)} ${shellQuote(resolve(process.argv[1]))}`;
}

export interface ResourceOptions {
  partition?: string;
  time?: string;
  cpusPerTask?: number;
  mem?: string;
}

function resourceLines(o: ResourceOptions): string[] {
  for (const [k, v] of [['partition', o.partition], ['time', o.time], ['mem', o.mem]] as const) {
    if (v !== undefined && !/^[A-Za-z0-9_:.,+-]+$/.test(v)) throw new UserError(`--${k} ${JSON.stringify(v)}: not a valid Slurm value`);
  }
  const cpus = o.cpusPerTask ?? 1;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 4096) throw new UserError(`--cpus-per-task ${o.cpusPerTask}: must be an integer >= 1`);
  return [`#SBATCH --cpus-per-task=${cpus}`, ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []), ...(o.time ? [`#SBATCH --time=${o.time}`] : []), ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : [])];
}

function checkId(id: string): string {
  if (!/^[0-9a-f]{6,64}$/.test(id)) throw new UserError(`sweep id ${JSON.stringify(id)}: not a sweep id (is plan.json damaged?)`);
  return id;
}

export function slurmScript(o: SlurmOptions): string {
  const tasks = o.tasks ?? Math.min(o.points, 1000);
  if (!Number.isInteger(tasks) || tasks < 1) throw new UserError(`--tasks ${o.tasks}: must be an integer >= 1`);
  if (tasks > o.points) throw new UserError(`--tasks ${tasks}: the sweep has only ${o.points} points (a task per point at most)`);
  const res = resourceLines(o);
  const dir = resolve(o.dir);
  const id = checkId(o.sweepId);
  const logs = sbatchPath(join(dir, 'slurm'), 'sweep directory');
  const dtca = o.dtca !== undefined ? commandLine(o.dtca, '--dtca') : defaultDtcaCommand();
  mkdirSync(logs, { recursive: true }); // Slurm does not create the output directory
  const lines = [
    '#!/bin/bash',
    `# dtca sweep ${id}: ${o.points} points in ${tasks} array task(s). Submit with: sbatch ${shellQuote(join(dir, 'sweep.sbatch'))}`,
    `#SBATCH --job-name=dtca-sweep-${id}`,
    `#SBATCH --array=1-${tasks}`,
    `#SBATCH --output=${logs}/%A_%a.out`,
    ...res,
    'set -euo pipefail',
    '# each task runs shard SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT; finished points are skipped,',
    '# so a resubmission only runs what is missing. When all tasks are done:',
    `#   ${dtca} sweep collect ${shellQuote(dir)}`,
    `exec ${dtca} sweep run ${shellQuote(dir)} --jobs "\${SLURM_CPUS_PER_TASK:-1}"`,
    '',
  ];
  return lines.join('\n');
}

/** The training array of a sweep: task K (1-based) trains stage `stage` of model `key`. */
export interface TrainTask {
  key: string;
  stage: number;
}

export function trainSlurmScript(o: { dir: string; sweepId: string; tasks: TrainTask[]; dtca?: string } & ResourceOptions): string {
  if (o.tasks.length === 0) throw new Error('train script without tasks');
  const res = resourceLines(o);
  const dir = resolve(o.dir);
  const id = checkId(o.sweepId);
  const logs = sbatchPath(join(dir, 'slurm'), 'sweep directory');
  const dtca = o.dtca !== undefined ? commandLine(o.dtca, '--dtca') : defaultDtcaCommand();
  mkdirSync(logs, { recursive: true });
  return [
    '#!/bin/bash',
    `# dtca sweep ${id}: training, one array task per stage of each model to train (${o.tasks.length} tasks).`,
    '# Stages are independent; each task writes its stage\'s checkpoints, the last one to finish writes the model.',
    `#SBATCH --job-name=dtca-train-${id}`,
    `#SBATCH --array=1-${o.tasks.length}`,
    `#SBATCH --output=${logs}/train-%A_%a.out`,
    ...res,
    'set -euo pipefail',
    ...o.tasks.map((t, i) => `# task ${i + 1}: model ${t.key} stage ${t.stage}`),
    `exec ${dtca} sweep train ${shellQuote(dir)} --task "\${SLURM_ARRAY_TASK_ID}"`,
    '',
  ].join('\n');
}

/** submit.sh: the training array, then the points with afterok on it (or the points alone). */
export function submitScript(o: { trainScript: string | null; sweepScript: string }): string {
  const lines = ['#!/bin/bash', '# submit the sweep: training first (if any), the point array after it has succeeded', 'set -euo pipefail'];
  if (o.trainScript) {
    lines.push(`train=$(sbatch --parsable ${shellQuote(o.trainScript)})`, 'train=${train%%;*}', 'echo "training job $train"', `points=$(sbatch --parsable --dependency=afterok:"$train" ${shellQuote(o.sweepScript)})`);
  } else {
    lines.push(`points=$(sbatch --parsable ${shellQuote(o.sweepScript)})`);
  }
  lines.push('echo "point job ${points%%;*}"', '');
  return lines.join('\n');
}

/** Run sbatch, returning the job id (--parsable: "id" or "id;cluster"). */
export function sbatch(args: string[], what: string): string {
  const r = spawnSync('sbatch', ['--parsable', ...args], { encoding: 'utf8' });
  if (r.error) throw new UserError(`${what}: cannot run sbatch (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); is Slurm installed here?`);
  if (r.status !== 0) throw new UserError(`${what}: sbatch failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  const id = r.stdout.trim().split('\n').pop()!.split(';')[0];
  if (!/^\d+$/.test(id)) throw new UserError(`${what}: sbatch printed ${JSON.stringify(r.stdout.trim())}, not a job id`);
  return id;
}

/**
 * `dtca train --slurm`: the stage array (each task: the same train command with --train-stages
 * $SLURM_ARRAY_TASK_ID --stage-only --resume) and the assembling job (--resume, afterok on it).
 */
export function trainStageScripts(o: { out: string; T: number; args: string[]; dtca?: string } & ResourceOptions): { stages: string; assemble: string } {
  const res = resourceLines(o);
  const out = resolve(o.out);
  const logs = sbatchPath(`${out}.slurm`, '--out');
  const dtca = o.dtca !== undefined ? commandLine(o.dtca, '--dtca') : defaultDtcaCommand();
  const args = o.args.map(shellQuote).join(' ');
  const name = sbatchPath(out.split('/').pop()!.replace(/[^A-Za-z0-9_.-]/g, '_'), 'model name');
  const stages = [
    '#!/bin/bash',
    `# dtca train ${shellQuote(out)}: one array task per stage (${o.T} stages); stages are independent.`,
    `#SBATCH --job-name=dtca-train-${name}`,
    `#SBATCH --array=0-${o.T - 1}`,
    `#SBATCH --output=${logs}/stage-%A_%a.out`,
    ...res,
    'set -euo pipefail',
    `exec ${dtca} train ${args} --train-stages "\${SLURM_ARRAY_TASK_ID}" --stage-only --resume`,
    '',
  ].join('\n');
  const assemble = [
    '#!/bin/bash',
    `# dtca train ${shellQuote(out)}: the model from every stage's checkpoints (submitted with afterok on the stage array)`,
    `#SBATCH --job-name=dtca-model-${name}`,
    `#SBATCH --output=${logs}/assemble-%j.out`,
    ...res,
    'set -euo pipefail',
    `exec ${dtca} train ${args} --resume`,
    '',
  ].join('\n');
  return { stages, assemble };
}

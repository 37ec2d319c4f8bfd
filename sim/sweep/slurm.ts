/**
 * Slurm scripts for sweeps and training.
 *
 * `dtca sweep slurm DIR`: a ready sbatch script that runs the sweep as a Slurm array job, one
 * deterministic shard per array task (`dtca sweep run DIR` reads SLURM_ARRAY_TASK_ID,
 * SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT), each task using its CPUs as sweep jobs. A
 * sweep with --train gets a second script, train.sbatch: an array with one task per stage of each
 * model it needs (`dtca sweep train DIR --task K`); the point array is submitted with
 * `--dependency=afterok:<training job>` (submit.sh, or `--submit`).
 *
 * `dtca train --slurm`: the same for one model: an array with one task per stage (each trains
 * its stage's checkpoints only), then the job that writes the model, which depends on it (afterok).
 *
 * Every value that reaches a script passes scriptSafe (no control characters: a newline would end
 * a comment or an #SBATCH line and start a command), then is quoted for the reader of its line:
 * bash for commands (shellQuote), sbatch for #SBATCH arguments (sbatchQuote).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve, basename } from 'node:path';
import { spawnSync } from 'node:child_process';
import { UserError } from '../../fabric/errors.js';
import { MAX_JOBS } from '../resources.js';

export interface ResourceOptions {
  partition?: string;
  time?: string;
  cpusPerTask?: number;
  mem?: string;
  /** how to call dtca on the nodes (default: this node binary and this CLI file) */
  dtca?: string;
}

export interface SlurmOptions extends ResourceOptions {
  dir: string;
  points: number;
  sweepId: string;
  /** array tasks (default: one per point, at most 1000) */
  tasks?: number;
  /** where the script is written (default DIR/sweep.sbatch): what its header tells to submit */
  scriptPath?: string;
  /** a training array comes first (DIR/train.sbatch): the header tells to submit both with DIR/submit.sh */
  afterTraining?: boolean;
}

/** A word for bash: as it is when plain, else in single quotes. */
export function shellQuote(s: string): string {
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

/** `#SBATCH --output=DIR/PATTERN` with DIR taken literally */
function outputLine(logs: string, pattern: string): string {
  return `#SBATCH ${sbatchQuote(`--output=${logs.replace(/%/g, '%%')}/${pattern}`)}`;
}

export function defaultDtcaCommand(): string {
  return `${shellQuote(process.execPath)} ${shellQuote(resolve(process.argv[1]))}`;
}

/** The command that runs dtca on the nodes (--dtca, else this node and this dtca), checked. */
function dtcaCommand(o: ResourceOptions): string {
  const dtca = o.dtca === undefined ? defaultDtcaCommand() : scriptSafe('--dtca', o.dtca);
  if (dtca.trim() === '') throw new UserError('--dtca: an empty command');
  return scriptSafe('the dtca command', dtca);
}

/** Slurm's time formats (sbatch --time): minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS; UNLIMITED/INFINITE */
const SLURM_TIME = /^(\d+|\d+:\d+|\d+:\d+:\d+|\d+-\d+|\d+-\d+:\d+|\d+-\d+:\d+:\d+|unlimited|infinite)$/i;
/** Slurm's memory sizes (sbatch --mem): a whole number, megabytes unless K, M, G or T follows */
const SLURM_MEM = /^\d+([KMGT]B?)?$/i;
/** --cpus-per-task: Slurm keeps it in 16 bits, the top two values reserved (NO_VAL16, INFINITE16) */
export const MAX_CPUS_PER_TASK = 65533;

/**
 * The #SBATCH lines of the resources, each value checked: called before anything is written, so
 * a value sbatch would refuse ("--time banana") is one line naming it and no script is left behind.
 * `flag`: how the command line spells the flags (`dtca train --slurm`: --slurm-time, --slurm-mem).
 */
export function resourceLines(o: ResourceOptions, flag = '--'): string[] {
  const cpus = o.cpusPerTask ?? 1;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS_PER_TASK)
    throw new UserError(`--cpus-per-task ${o.cpusPerTask}: must be an integer in [1, ${MAX_CPUS_PER_TASK}]`);
  for (const [k, v] of [
    ['partition', o.partition],
    ['time', o.time],
    ['mem', o.mem],
  ] as const) {
    if (v !== undefined && !/^[A-Za-z0-9_:.,+-]+$/.test(v)) throw new UserError(`${flag}${k} ${JSON.stringify(v)}: not a valid Slurm value`);
  }
  if (o.time !== undefined && !SLURM_TIME.test(o.time))
    throw new UserError(`${flag}time ${JSON.stringify(o.time)}: not a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)`);
  if (o.mem !== undefined && !SLURM_MEM.test(o.mem))
    throw new UserError(`${flag}mem ${JSON.stringify(o.mem)}: not a Slurm memory size (a whole number of megabytes, or with K, M, G or T: 4G)`);
  return [
    `#SBATCH --cpus-per-task=${cpus}`,
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : []),
  ];
}

function sweepId(id: string): string {
  scriptSafe('the sweep id', id);
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new UserError(`the sweep id ${JSON.stringify(id)} (sweep.json): not a dtca sweep id`);
  return id;
}

export function slurmScript(o: SlurmOptions): string {
  const tasks = o.tasks ?? Math.min(o.points, 1000);
  if (!Number.isInteger(tasks) || tasks < 1) throw new UserError(`--tasks ${o.tasks}: must be an integer >= 1`);
  if (tasks > o.points) throw new UserError(`--tasks ${tasks}: the sweep has only ${o.points} points (a task per point at most)`);
  const res = resourceLines(o);
  const dir = scriptSafe('the sweep directory', resolve(o.dir));
  const id = sweepId(o.sweepId);
  const dtca = dtcaCommand(o);
  const logs = join(dir, 'slurm');
  const self = shellQuote(o.scriptPath === undefined ? join(dir, 'sweep.sbatch') : scriptSafe('--out', resolve(o.scriptPath)));
  // with a training array, this one alone would train every model in each of its tasks
  const submit = o.afterTraining ? `bash ${shellQuote(join(dir, 'submit.sh'))} (the training array, then this one after it)` : `sbatch ${self}`;
  const lines = [
    '#!/bin/bash',
    `# dtca sweep ${id}: ${o.points} point${o.points === 1 ? '' : 's'} in ${tasks} array task${tasks === 1 ? '' : 's'}. Submit with: ${submit}`,
    `#SBATCH --job-name=dtca-sweep-${id}`,
    `#SBATCH --array=1-${tasks}`,
    outputLine(logs, '%A_%a.out'),
    ...res,
    'set -euo pipefail',
    '# each task runs shard SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT; finished points are skipped,',
    '# so a resubmission only runs what is missing. When all tasks are done:',
    `#   ${dtca} sweep collect ${shellQuote(dir)}`,
    // a task's CPUs are its jobs, up to the most --jobs takes
    `exec ${dtca} sweep run ${shellQuote(dir)} --jobs ${(o.cpusPerTask ?? 1) > MAX_JOBS ? MAX_JOBS : '"${SLURM_CPUS_PER_TASK:-1}"'}`,
    '',
  ];
  mkdirSync(logs, { recursive: true }); // Slurm does not create the output directory
  return lines.join('\n');
}

/** The training array of a sweep: task K (1-based) trains stage `stage` of model `key`. */
export interface TrainTask {
  key: string;
  stage: number;
}

export function trainSlurmScript(o: { dir: string; sweepId: string; tasks: TrainTask[] } & ResourceOptions): string {
  if (o.tasks.length === 0) throw new Error('train script without tasks');
  const res = resourceLines(o);
  const dir = scriptSafe('the sweep directory', resolve(o.dir));
  const id = sweepId(o.sweepId);
  const dtca = dtcaCommand(o);
  const logs = join(dir, 'slurm');
  const lines = [
    '#!/bin/bash',
    `# dtca sweep ${id}: training, one array task per stage of each model it needs (${o.tasks.length} tasks).`,
    "# Stages are independent; each task writes its stage's checkpoints, the last one to finish writes the model.",
    `#SBATCH --job-name=dtca-train-${id}`,
    `#SBATCH --array=1-${o.tasks.length}`,
    outputLine(logs, 'train-%A_%a.out'),
    ...res,
    'set -euo pipefail',
    ...o.tasks.map((t, i) => `# task ${i + 1}: model ${sweepId(t.key)} stage ${Number(t.stage)}`),
    `exec ${dtca} sweep train ${shellQuote(dir)} --task "\${SLURM_ARRAY_TASK_ID}"`,
    '',
  ];
  mkdirSync(logs, { recursive: true });
  return lines.join('\n');
}

/** submit.sh: the training array, then the points with afterok on it (or the points alone). */
export function submitScript(o: { trainScript: string | null; sweepScript: string }): string {
  const train = o.trainScript === null ? null : scriptSafe('the training script', o.trainScript);
  const sweep = scriptSafe('the sweep script', o.sweepScript);
  const lines = ['#!/bin/bash', '# submit the sweep: training first (if any), the point array after it has succeeded', 'set -euo pipefail'];
  if (train) {
    lines.push(
      `train=$(sbatch --parsable ${shellQuote(train)})`,
      'train=${train%%;*}',
      'echo "training job $train"',
      `points=$(sbatch --parsable --dependency=afterok:"$train" ${shellQuote(sweep)})`,
    );
  } else {
    lines.push(`points=$(sbatch --parsable ${shellQuote(sweep)})`);
  }
  lines.push('echo "point job ${points%%;*}"', '');
  return lines.join('\n');
}

/** sbatch did not take the job (no job id printed): nothing was queued, so what was written for it can go. */
export class SbatchRefused extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'SbatchRefused';
  }
}

/**
 * Run sbatch, returning the job id (--parsable: "id" or "id;cluster"). A refusal (no job id) is
 * SbatchRefused; with --wait, a job that was queued and then failed is a plain UserError.
 */
export function sbatch(args: string[], what: string): string {
  const r = spawnSync('sbatch', ['--parsable', ...args], { encoding: 'utf8' });
  if (r.error) throw new SbatchRefused(`${what}: cannot run sbatch (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); is Slurm installed here?`);
  const id = (r.stdout ?? '').trim().split('\n').pop()!.split(';')[0];
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout).trim().split('\n').pop();
    if (/^\d+$/.test(id)) throw new UserError(`${what}: job ${id} was submitted but sbatch exited ${r.status}: ${why}`);
    throw new SbatchRefused(`${what}: sbatch refused the job (exit ${r.status}): ${why}`);
  }
  if (!/^\d+$/.test(id)) throw new UserError(`${what}: sbatch printed ${JSON.stringify(r.stdout.trim().slice(0, 200))}, not a job id`);
  return id;
}

/** Cancel a job (best effort: the job may already be gone). */
export function scancel(id: string): void {
  spawnSync('scancel', [id], { stdio: 'ignore', timeout: 30_000 });
}

/**
 * `dtca train --slurm`: the stage array (each task: the same train command with --train-stages
 * $SLURM_ARRAY_TASK_ID --stage-only --resume) and the job that writes the model (--resume, afterok on it).
 */
export function trainStageScripts(o: { out: string; T: number; args: string[] } & ResourceOptions): { stages: string; assemble: string } {
  const res = resourceLines(o, '--slurm-');
  const out = scriptSafe('--out', resolve(o.out));
  const logs = `${out}.slurm`;
  const dtca = dtcaCommand(o);
  const args = o.args.map((a) => shellQuote(scriptSafe('the argument', a))).join(' ');
  const name = basename(out).replace(/[^A-Za-z0-9_.-]/g, '_');
  const stages = [
    '#!/bin/bash',
    `# dtca train ${shellQuote(out)}: one array task per stage (${o.T} stages); stages are independent.`,
    `#SBATCH --job-name=dtca-train-${name}`,
    `#SBATCH --array=0-${o.T - 1}`,
    outputLine(logs, 'stage-%A_%a.out'),
    ...res,
    'set -euo pipefail',
    `exec ${dtca} train ${args} --train-stages "\${SLURM_ARRAY_TASK_ID}" --stage-only --resume`,
    '',
  ].join('\n');
  const assemble = [
    '#!/bin/bash',
    `# dtca train ${shellQuote(out)}: the model from every stage's checkpoints (submitted with afterok on the stage array)`,
    `#SBATCH --job-name=dtca-model-${name}`,
    outputLine(logs, 'assemble-%j.out'),
    ...res,
    'set -euo pipefail',
    `exec ${dtca} train ${args} --resume`,
    '',
  ].join('\n');
  return { stages, assemble };
}

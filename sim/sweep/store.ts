/**
 * The sweep directory:
 *   plan.json          the plan and the sweep id (a hash of its points)
 *   points.jsonl       one line per point: index, id, axis values, seed, resolved config, workload, twin
 *   points/<id>/       a finished point: point.json (its result row), config.json, stats.json, samples.png,
 *                      and for DTM workloads samples.npy, labels.npy (class-clamped) and manifest.json (dtca eval reads them)
 *   models/<key>/      trained models (--train; unless --model-cache DIR keeps them there): sim/sweep/models.ts
 *   options.json       how the sweep was last run (--jobs, --no-charts): --resume uses them again
 *   twins/<key>/       a finished ideal twin: twin.json and moments.f64 (the reference moments)
 *   results.csv, results.jsonl, plots/, index.html   built by collect
 * A point or twin directory is written under a temporary name and renamed when complete, so a
 * kill never leaves a half point that looks finished; a re-run skips what is there.
 */
import { mkdirSync, writeFileSync, renameSync, rmSync, existsSync, readdirSync, statSync, lstatSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { UserError } from '../../fabric/errors.js';
import { jsonProblem, kindOf, parseJsonText } from '../../fabric/json.js';
import { shown } from '../../fabric/rules.js';
import { checkJobs } from '../resources.js';
import { writeJson, writeFileAtomic, VERSION } from '../io/output.js';
import { noteClaimedDir, makeDirs, outputError, processAlive } from '../../fabric/files.js';
import { readInputFile, READ_LIMITS } from '../../fabric/read.js';
import { SWEEP_FORMAT, SWEEP_VERSION, pointId, twinKey, type Expanded, type Plan, type Point, type Json } from './plan.js';
import type { Measured, TwinOutput, PointOutput } from './point.js';

export interface PlanFile {
  format: typeof SWEEP_FORMAT;
  version: number;
  sweep_id: string;
  points: number;
  dtca_version: string;
  created: string;
  command: string[];
  plan: Plan;
}

/** One row of results.csv / results.jsonl. Deterministic: no wall times. */
export type Row = {
  point: number;
  id: string;
  axes: Record<string, Json>;
  replicate: number;
  seed: number;
  workload: string;
} & Measured & {
    lag1_autocorr_ideal: number;
    moment_rmse: number;
    moment_rmse_floor: number;
  };

export interface PointFile {
  format: 'dtca-sweep-point';
  sweep_version: number;
  id: string;
  twin: string;
  row: Row;
  wall_s: number;
  finished: string;
}

export interface TwinFile {
  format: 'dtca-sweep-twin';
  key: string;
  lag1_autocorr_ideal: number;
  moment_rmse_floor: number;
  moments: number;
  wall_s: number;
}

/** "1 point", "4 points" */
const pointsText = (n: number) => `${n} point${n === 1 ? '' : 's'}`;

/**
 * A sweep directory (its plan.json read) is this command's own: the tables, the index and the
 * script dtca writes there may replace earlier ones (fabric/files.ts).
 */
export function ownSweepDir(dir: string): PlanFile {
  const pf = readPlanFile(dir);
  noteClaimedDir(dir);
  return pf;
}

export function isSweepDir(dir: string): boolean {
  return existsSync(join(dir, 'plan.json'));
}

/**
 * What is wrong with a plan.json's shape (null: nothing): every field the commands read, of the
 * type they read it as (an edited file with a number for `command` or null for `plan` was a
 * TypeError in collect and run). The points themselves are checked against it by their sweep id.
 */
function planFileProblem(pf: Record<string, unknown>): string | null {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const kind = (v: unknown) => (typeof v === 'string' ? JSON.stringify(shown(v)) : kindOf(v));
  const val = (v: unknown) => (typeof v === 'string' ? JSON.stringify(shown(v)) : shown(v));
  for (const k of ['sweep_id', 'dtca_version', 'created'] as const) if (typeof pf[k] !== 'string') return `${k} is ${kind(pf[k])}, not a string`;
  if (!/^[0-9a-f]{1,64}$/.test(pf.sweep_id as string)) return `sweep_id ${kind(pf.sweep_id)} is not a sweep id`;
  if (!Number.isSafeInteger(pf.points) || (pf.points as number) < 1) return `points is ${val(pf.points)}, not a count of points`;
  if (!strings(pf.command)) return 'command is not a list of strings';
  const p = pf.plan;
  if (!isObj(p)) return `plan is ${kindOf(p)}, not an object`;
  for (const k of ['config', 'label'] as const) if (typeof p[k] !== 'string') return `plan.${k} is ${kind(p[k])}, not a string`;
  if (!strings(p.sets)) return 'plan.sets is not a list of strings';
  if (!Array.isArray(p.axes) || !p.axes.every((a) => isObj(a) && typeof a.path === 'string' && Array.isArray(a.values)))
    return 'plan.axes is not a list of {path, values}';
  if (typeof p.zip !== 'boolean') return `plan.zip is ${kind(p.zip)}, not true or false`;
  if (!Number.isSafeInteger(p.replicates) || (p.replicates as number) < 1) return `plan.replicates is ${val(p.replicates)}, not a count`;
  if (p.seed !== null && !(Number.isSafeInteger(p.seed) && (p.seed as number) >= 0)) return `plan.seed is ${val(p.seed)}, not a seed`;
  if (!isObj(p.workload) || typeof p.workload.kind !== 'string') return 'plan.workload is not an object with a kind';
  const t = p.train;
  if (t !== null && t !== undefined) {
    if (
      !isObj(t) ||
      typeof t.budget !== 'string' ||
      typeof t.chip !== 'string' ||
      !isObj(t.options) ||
      !(t.model_cache === null || typeof t.model_cache === 'string')
    )
      return 'plan.train is not null or {budget, options, chip, model_cache}';
  }
  return null;
}

export function readPlanFile(dir: string): PlanFile {
  const path = join(dir, 'plan.json');
  if (!existsSync(path)) throw new UserError(`${dir}: not a sweep directory (no plan.json; make one with dtca sweep plan ... --out DIR)`);
  // bounded: a FIFO or a device is refused, never read (fabric/read.ts)
  const text = readInputFile(path, { what: 'sweep plan', max: READ_LIMITS.json }).toString('utf8');
  let pf: PlanFile;
  try {
    pf = JSON.parse(text) as PlanFile;
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${jsonProblem(e, text)})`);
  }
  if (pf === null || typeof pf !== 'object') throw new UserError(`${path}: not a dtca sweep plan`);
  if (pf.format !== SWEEP_FORMAT) throw new UserError(`${path}: not a dtca sweep plan`);
  if (pf.version !== SWEEP_VERSION)
    throw new UserError(`${path}: sweep format version ${shown(pf.version)}; this dtca reads version ${SWEEP_VERSION} (plan the sweep again)`);
  const bad = planFileProblem(pf as unknown as Record<string, unknown>);
  if (bad) throw new UserError(`${path}: ${bad}: the file was edited or damaged (plan the sweep again)`);
  for (const sub of ['points', 'twins', 'plots'])
    checkEntry(join(dir, sub), sub === 'plots' ? 'collect draws the charts again' : 'a resume runs what it held again');
  return pf;
}

/** What is at `path` without following a symbolic link: null when nothing. */
function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * A directory of the sweep's own (points/, twins/, plots/, a point's or a twin's) is a directory
 * when it is there: a file, a symbolic link or anything else at its name is damage, refused in
 * one line naming it before anything is computed or written. `redo` says what removing it costs.
 */
function checkEntry(path: string, redo: string): void {
  const st = lstatOrNull(path);
  if (st === null || st.isDirectory()) return;
  const is = st.isSymbolicLink() ? 'a symbolic link' : st.isFile() ? 'a file' : 'not a regular directory';
  throw new UserError(`${path}: is ${is}, not a directory: the sweep directory is damaged (remove it; ${redo})`);
}

/** Every point's and twin's entry under points/ and twins/ a real directory when there (checkEntry). */
export function checkPointEntries(dir: string, points: Point[]): void {
  for (const p of points) {
    checkEntry(pointDir(dir, p.id), `a resume runs point ${p.index + 1} again`);
    checkEntry(twinDir(dir, p.twin.key), `a resume runs its ideal twin again`);
  }
}

export function readPoints(dir: string): Point[] {
  const path = join(dir, 'points.jsonl');
  let text: string;
  try {
    text = readInputFile(path, { what: 'points file', max: READ_LIMITS.data }).toString('utf8');
  } catch (e) {
    throw new UserError(`${dir}: points.jsonl unreadable (${(e as Error).message.replace(`${path}: `, '')})`);
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l, n) => {
    const where = `${path}: line ${n + 1} (point ${n + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      throw new UserError(`${where}): not valid JSON`);
    }
    return checkPoint(v, n, where);
  });
}

/** A line of points.jsonl as the runner needs it; the message names the line, the point and the field. */
function checkPoint(v: unknown, n: number, where: string): Point {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UserError(`${where}): not a point (a JSON object)`);
  const p = v as Record<string, unknown>;
  const at = typeof p.id === 'string' && /^[0-9a-f]{1,64}$/.test(p.id) ? `${where}, id ${p.id})` : `${where})`;
  const isObj = (x: unknown) => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (p.index !== n) throw new UserError(`${at}: index is ${JSON.stringify(p.index)?.slice(0, 20)}, expected ${n}`);
  if (typeof p.id !== 'string' || !/^[0-9a-f]{1,64}$/.test(p.id)) throw new UserError(`${at}: id is not a point id`);
  if (!isObj(p.axes)) throw new UserError(`${at}: axes missing`);
  if (!Number.isInteger(p.seed) || !Number.isInteger(p.replicate)) throw new UserError(`${at}: seed and replicate must be integers`);
  if (!isObj(p.config)) throw new UserError(`${at}: config missing`);
  if (!isObj(p.workload)) throw new UserError(`${at}: workload missing`);
  const tw = p.twin as Record<string, unknown> | undefined;
  if (!isObj(tw) || typeof tw!.key !== 'string' || !/^[0-9a-f]{1,64}$/.test(tw!.key as string)) throw new UserError(`${at}: twin (its key) missing`);
  if (typeof p.workload_label !== 'string') throw new UserError(`${at}: workload_label missing`);
  // a trained workload's model (--train): its key names the cache entry (a directory), so it must be a key
  const m = p.model as Record<string, unknown> | null | undefined;
  if (m === undefined) p.model = null;
  else if (m !== null && (!isObj(m) || typeof m.key !== 'string' || !/^[0-9a-f]{16}$/.test(m.key) || !isObj(m.spec) || !isObj(m.budget)))
    throw new UserError(`${at}: model (its key, spec and budget) damaged`);
  if ((p.workload as Record<string, unknown>).kind === 'trained' && !p.model) throw new UserError(`${at}: a trained workload without its model`);
  // the id and the twin's key are hashes of what they run (sim/sweep/plan.ts): an edited line no longer matches them
  const model = p.model as { key: string } | null;
  if (pointId(p.config, p.workload, model ? model.key : null) !== p.id)
    throw new UserError(
      `${at}: its config or workload is not the one its id was made of (the line was edited); the sweep's plan and results no longer match it`,
    );
  if (twinKey(tw!.config, p.workload, model?.key ?? null) !== tw!.key)
    throw new UserError(`${at}: its ideal twin's config is not the one the twin's key was made of (the line was edited)`);
  return p as unknown as Point;
}

/**
 * Make `dir` the home of this sweep: a new or empty directory gets plan.json and points.jsonl; a
 * directory holding the same sweep is resumed; anything else is refused, and nothing in it is
 * touched. Returns how the directory was found.
 */
export function claimSweepDir(dir: string, ex: Expanded): 'new' | 'resume' {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UserError(`--out ${dir}: exists and is not a directory; choose another --out`);
    if (isSweepDir(dir)) {
      const old = readPlanFile(dir);
      if (old.sweep_id !== ex.sweep_id) {
        throw new UserError(
          `${dir}: holds another sweep (${pointsText(old.points)}, axes ${old.plan.axes.map((a) => a.path).join(' x ') || 'none'}, id ${old.sweep_id}; this one has ${pointsText(ex.points.length)}, id ${ex.sweep_id}); choose another --out, or continue that one with dtca sweep --resume ${dir}`,
        );
      }
      noteClaimedDir(dir);
      return 'resume';
    }
    if (readdirSync(dir).length > 0)
      throw new UserError(`--out ${dir}: exists and is not empty (and holds no sweep); choose another --out, a new or empty directory`);
  }
  makeDirs(join(dir, 'points'), `--out ${dir}`);
  makeDirs(join(dir, 'twins'), `--out ${dir}`);
  noteClaimedDir(dir); // new or empty
  writeFileAtomic(join(dir, 'points.jsonl'), ex.points.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const pf: PlanFile = {
    format: SWEEP_FORMAT,
    version: SWEEP_VERSION,
    sweep_id: ex.sweep_id,
    points: ex.points.length,
    dtca_version: VERSION,
    created: new Date().toISOString(),
    command: ['dtca', ...process.argv.slice(2)],
    plan: ex.plan,
  };
  writeJson(join(dir, 'plan.json'), pf); // last: a directory with plan.json has its points list
  return 'new';
}

export function pointDir(dir: string, id: string): string {
  return join(dir, 'points', id);
}

export function twinDir(dir: string, key: string): string {
  return join(dir, 'twins', key);
}

export function isPointDone(dir: string, id: string): boolean {
  return existsSync(join(pointDir(dir, id), 'point.json'));
}

export function isTwinDone(dir: string, key: string): boolean {
  return existsSync(join(twinDir(dir, key), 'twin.json'));
}

const PARTIAL = '.partial-';

/** How the sweep store writes a file (a test passes one that fails like a full disk). */
export interface StoreIo {
  writeFile: (path: string, data: string | Uint8Array) => void;
}
const realIo: StoreIo = { writeFile: (p, d) => writeFileSync(p, d) };

/**
 * Write a directory's files under a private name, then rename it into place. A write that fails
 * (a full disk) removes the private directory and is one line naming `what` and the file.
 */
function commitDir(parent: string, name: string, files: [string, string | Uint8Array][], what: string, io: StoreIo = realIo): void {
  const tmp = join(parent, `${PARTIAL}${hostname()}-${process.pid}-${name}`);
  rmSync(tmp, { recursive: true, force: true });
  for (const [f, data] of [['', ''], ...files] as [string, string | Uint8Array][]) {
    try {
      if (f === '') mkdirSync(tmp, { recursive: true });
      else io.writeFile(join(tmp, f), data);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      const err = outputError(e, join(parent, name, f), `writing ${what}`);
      if (err instanceof UserError) throw new UserError(`${what}: ${err.message}`);
      throw err;
    }
  }
  try {
    renameSync(tmp, join(parent, name));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    rmSync(tmp, { recursive: true, force: true });
    // another shard finished the same point first: its result is the same, keep it
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return;
    throw e;
  }
}

/** Remove partial directories this host left behind from processes that are gone. */
export function cleanPartials(dir: string): void {
  for (const sub of ['points', 'twins']) {
    const parent = join(dir, sub);
    if (!existsSync(parent)) continue;
    for (const e of readdirSync(parent)) {
      const m = new RegExp(`^${PARTIAL.replace('.', '\\.')}(.+)-(\\d+)-`).exec(e);
      if (!m || m[1] !== hostname()) continue;
      // a process that is gone (EPERM: someone else's live process)
      if (!processAlive(Number(m[2]))) rmSync(join(parent, e), { recursive: true, force: true });
    }
  }
}

export function writePoint(
  dir: string,
  p: Point,
  row: Row,
  statsJson: unknown,
  png: Uint8Array | null,
  wall_s: number,
  samples: PointOutput['samples'] = null,
  io: StoreIo = realIo,
): void {
  const pf: PointFile = {
    format: 'dtca-sweep-point',
    sweep_version: SWEEP_VERSION,
    id: p.id,
    twin: p.twin.key,
    row,
    wall_s,
    finished: new Date().toISOString(),
  };
  const files: [string, string | Uint8Array][] = [
    ['config.json', JSON.stringify(p.config, null, 2) + '\n'],
    ['stats.json', JSON.stringify(statsJson, null, 2) + '\n'],
  ];
  if (png) files.push(['samples.png', png]);
  if (samples) {
    files.push([samples.manifest.file, samples.npy]);
    if (samples.labels && samples.manifest.labels_file) files.push([samples.manifest.labels_file, samples.labels]);
    // what dtca eval reads (sim/quality/samples.ts): the samples section, as in a run directory
    files.push([
      'manifest.json',
      JSON.stringify(
        {
          kind: 'dtca-sweep-point',
          id: p.id,
          point: p.index + 1,
          axes: p.axes,
          seed: p.seed,
          model: p.model ? { key: p.model.key, label: p.model.label } : null,
          samples: samples.manifest,
        },
        null,
        2,
      ) + '\n',
    ]);
  }
  files.push(['point.json', JSON.stringify(pf, null, 2) + '\n']);
  commitDir(join(dir, 'points'), p.id, files, `point ${p.index + 1} (${p.id})`, io);
}

export function readPoint(dir: string, id: string): PointFile {
  const path = join(pointDir(dir, id), 'point.json');
  const text = readInputFile(path, { what: 'point file', max: READ_LIMITS.json }).toString('utf8');
  // not valid JSON, nested too deep or a key given twice: one line naming the file
  const pf = parseJsonText(text, path);
  if (pf === null || typeof pf !== 'object' || Array.isArray(pf)) throw new UserError(`${path}: not a sweep point file (a JSON object)`);
  return pf as PointFile;
}

export function writeTwin(dir: string, key: string, t: TwinOutput): void {
  const tf: TwinFile = {
    format: 'dtca-sweep-twin',
    key,
    lag1_autocorr_ideal: t.lag1_autocorr_ideal,
    moment_rmse_floor: t.moment_rmse_floor,
    moments: t.moments.length,
    wall_s: t.wall_s,
  };
  const m = t.moments;
  commitDir(
    join(dir, 'twins'),
    key,
    [
      ['moments.f64', new Uint8Array(m.buffer, m.byteOffset, m.byteLength)],
      ['twin.json', JSON.stringify(tf, null, 2) + '\n'],
    ],
    `ideal twin ${key}`,
  );
}

/**
 * An ideal twin's files, checked: twin.json whole and of the right types, moments.f64 a whole
 * number of finite float64 values, as many as twin.json says. Damage is a UserError naming the
 * file (the runner redoes a damaged twin: twinUsable).
 */
export function readTwin(dir: string, key: string): TwinFile & { ref: Float64Array } {
  const d = twinDir(dir, key);
  const jf = join(d, 'twin.json');
  let tf: TwinFile;
  try {
    tf = JSON.parse(readInputFile(jf, { what: 'twin file', max: READ_LIMITS.json }).toString('utf8')) as TwinFile;
  } catch (e) {
    throw e instanceof UserError ? e : new UserError(`${jf}: damaged (not valid JSON)`);
  }
  const fin = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  if (tf === null || typeof tf !== 'object' || tf.format !== 'dtca-sweep-twin' || tf.key !== key) throw new UserError(`${jf}: damaged (not this twin's file)`);
  if (!fin(tf.lag1_autocorr_ideal) || !fin(tf.moment_rmse_floor) || !Number.isInteger(tf.moments) || tf.moments < 0) {
    throw new UserError(`${jf}: damaged (lag1_autocorr_ideal, moment_rmse_floor and moments must be numbers)`);
  }
  const mf = join(d, 'moments.f64');
  const b = readInputFile(mf, { what: 'twin moments file', max: READ_LIMITS.data });
  if (b.length !== 8 * tf.moments) throw new UserError(`${mf}: damaged (${b.length} bytes; twin.json says ${tf.moments} float64 values)`);
  const ref = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  for (let i = 0; i < ref.length; i++) if (!Number.isFinite(ref[i])) throw new UserError(`${mf}: damaged (value ${i} is ${ref[i]})`);
  return { ...tf, ref };
}

/** Is the twin there and whole? A damaged one is removed (and the reason returned) so it is redone. */
export function twinUsable(dir: string, key: string): { ok: boolean; damage?: string } {
  if (!isTwinDone(dir, key)) return { ok: false };
  try {
    readTwin(dir, key);
    return { ok: true };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    rmSync(twinDir(dir, key), { recursive: true, force: true });
    return { ok: false, damage: e.message };
  }
}

/** Where a sweep's trained models live: its --model-cache, else DIR/models. */
export function modelCacheOf(dir: string, pf: PlanFile): string {
  return pf.plan.train?.model_cache ?? join(dir, 'models');
}

/** How the sweep was run, for --resume (options.json). */
export interface RunOptions {
  jobs: number;
  charts: boolean;
}

export function writeRunOptions(dir: string, o: RunOptions): void {
  writeJson(join(dir, 'options.json'), { format: 'dtca-sweep-options', ...o });
}

/**
 * The options a sweep was last run with, or null when none are stored (the defaults then apply);
 * a damaged options.json is refused in one line naming it.
 */
export function readRunOptions(dir: string): RunOptions | null {
  const file = join(dir, 'options.json');
  if (!existsSync(file)) return null;
  const o = parseJsonText(readInputFile(file, { what: 'options file', max: READ_LIMITS.json }).toString('utf8'), file) as Partial<RunOptions> & {
    format?: string;
  };
  if (o === null || typeof o !== 'object' || Array.isArray(o) || o.format !== 'dtca-sweep-options')
    throw new UserError(`${file}: not a sweep's options file (format dtca-sweep-options); delete it to run with the defaults`);
  const jobs = checkJobs(o.jobs, `${file}: jobs`);
  if (typeof o.charts !== 'boolean')
    throw new UserError(`${file}: charts ${typeof o.charts === 'string' ? shown(JSON.stringify(o.charts)) : shown(o.charts)}: must be true or false`);
  return { jobs, charts: o.charts };
}

export function sweepDirOf(d: string): string {
  return resolve(d);
}

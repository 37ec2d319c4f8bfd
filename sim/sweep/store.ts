/**
 * The sweep directory:
 *   plan.json          the plan and the sweep id (a hash of its points)
 *   points.jsonl       one line per point: index, id, axis values, seed, resolved config, workload, twin
 *   points/<id>/       a finished point: point.json (its result row), config.json, stats.json, samples.png
 *   twins/<key>/       a finished ideal twin: twin.json and moments.f64 (the reference moments)
 *   results.csv, results.jsonl, plots/, index.html   built by collect
 * A point or twin directory is written under a temporary name and renamed when complete, so a
 * kill never leaves a half point that looks finished; a re-run skips what is there.
 */
import { mkdirSync, readFileSync, writeFileSync, renameSync, rmSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { UserError } from '../../fabric/errors.js';
import { writeJson, writeFileAtomic, VERSION } from '../io/output.js';
import { noteClaimedDir, makeDirs } from '../../fabric/files.js';
import { SWEEP_FORMAT, SWEEP_VERSION, type Expanded, type Plan, type Point, type Json } from './plan.js';
import type { Measured, TwinOutput } from './point.js';

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

export function readPlanFile(dir: string): PlanFile {
  const path = join(dir, 'plan.json');
  let pf: PlanFile;
  try {
    pf = JSON.parse(readFileSync(path, 'utf8')) as PlanFile;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${dir}: ${code === 'ENOENT' ? 'not a sweep directory (no plan.json; make one with dtca sweep plan ... --out DIR)' : `plan.json unreadable (${code ?? (e as Error).message})`}`);
  }
  if (pf.format !== SWEEP_FORMAT) throw new UserError(`${path}: not a dtca sweep plan`);
  if (pf.version !== SWEEP_VERSION) throw new UserError(`${path}: sweep format version ${pf.version}; this dtca reads version ${SWEEP_VERSION} (plan the sweep again)`);
  return pf;
}

export function readPoints(dir: string): Point[] {
  const path = join(dir, 'points.jsonl');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`${dir}: points.jsonl unreadable (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, n) => {
      try {
        return JSON.parse(l) as Point;
      } catch {
        throw new UserError(`${path}: line ${n + 1} is not valid JSON`);
      }
    });
}

/**
 * Make `dir` the home of this sweep: a new or empty directory gets plan.json and points.jsonl; a
 * directory holding the same sweep is resumed; anything else is refused, and nothing in it is
 * touched. Returns how the directory was found.
 */
export function claimSweepDir(dir: string, ex: Expanded): 'new' | 'resume' {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UserError(`--out ${dir}: exists and is not a directory`);
    if (isSweepDir(dir)) {
      const old = readPlanFile(dir);
      if (old.sweep_id !== ex.sweep_id) {
        throw new UserError(
          `${dir}: holds another sweep (${old.points} points, axes ${old.plan.axes.map((a) => a.path).join(' x ') || 'none'}, id ${old.sweep_id}; this one has ${ex.points.length} points, id ${ex.sweep_id}); choose another --out, or continue that one with dtca sweep --resume ${dir}`,
        );
      }
      noteClaimedDir(dir);
      return 'resume';
    }
    if (readdirSync(dir).length > 0) throw new UserError(`--out ${dir}: exists and is not empty (and holds no sweep)`);
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

/** Write a directory's files under a private name, then rename it into place. */
function commitDir(parent: string, name: string, files: [string, string | Uint8Array][]): void {
  const tmp = join(parent, `${PARTIAL}${hostname()}-${process.pid}-${name}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [f, data] of files) writeFileSync(join(tmp, f), data);
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
      const pid = Number(m[2]);
      let alive = pid === process.pid;
      if (!alive) {
        try {
          process.kill(pid, 0);
          alive = true;
        } catch {
          alive = false;
        }
      }
      if (!alive) rmSync(join(parent, e), { recursive: true, force: true });
    }
  }
}

export function writePoint(dir: string, p: Point, row: Row, statsJson: unknown, png: Uint8Array | null, wall_s: number): void {
  const pf: PointFile = { format: 'dtca-sweep-point', sweep_version: SWEEP_VERSION, id: p.id, twin: p.twin.key, row, wall_s, finished: new Date().toISOString() };
  const files: [string, string | Uint8Array][] = [
    ['config.json', JSON.stringify(p.config, null, 2) + '\n'],
    ['stats.json', JSON.stringify(statsJson, null, 2) + '\n'],
    ['point.json', JSON.stringify(pf, null, 2) + '\n'],
  ];
  if (png) files.push(['samples.png', png]);
  commitDir(join(dir, 'points'), p.id, files);
}

export function readPoint(dir: string, id: string): PointFile {
  const path = join(pointDir(dir, id), 'point.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PointFile;
  } catch (e) {
    throw new UserError(`${path}: unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function writeTwin(dir: string, key: string, t: TwinOutput): void {
  const tf: TwinFile = { format: 'dtca-sweep-twin', key, lag1_autocorr_ideal: t.lag1_autocorr_ideal, moment_rmse_floor: t.moment_rmse_floor, moments: t.moments.length, wall_s: t.wall_s };
  const m = t.moments;
  commitDir(join(dir, 'twins'), key, [
    ['moments.f64', new Uint8Array(m.buffer, m.byteOffset, m.byteLength)],
    ['twin.json', JSON.stringify(tf, null, 2) + '\n'],
  ]);
}

export function readTwin(dir: string, key: string): TwinFile & { ref: Float64Array } {
  const d = twinDir(dir, key);
  const tf = JSON.parse(readFileSync(join(d, 'twin.json'), 'utf8')) as TwinFile;
  const b = readFileSync(join(d, 'moments.f64'));
  const ref = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  if (ref.length !== tf.moments) throw new Error(`${d}: moments.f64 holds ${ref.length} values, twin.json says ${tf.moments}`);
  return { ...tf, ref };
}

export function sweepDirOf(d: string): string {
  return resolve(d);
}

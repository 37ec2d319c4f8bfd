/**
 * `dtca sweep collect`: the results tables (results.csv, results.jsonl: one row per finished
 * point, in plan order), the plots and index.html, from whatever points are finished, saying
 * which are missing. Other directories of the same sweep (shards run apart) are merged in first;
 * a directory of another sweep is refused before anything is copied.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { UserError } from '../../fabric/errors.js';
import { kindOf } from '../../fabric/json.js';
import { csvLine } from '../../fabric/csv.js';
import { notRegular } from '../../fabric/read.js';
import { outputError } from '../../fabric/files.js';
import { writeFileAtomic } from '../io/output.js';
import type { Point } from './plan.js';
import { readPlanFile, ownSweepDir, readPoints, isPointDone, isTwinDone, readPoint, pointDir, twinDir, type PlanFile, type Row } from './store.js';

/** Result columns after the point's identity and axis values, in table order. */
export const RESULT_COLUMNS = [
  'physics',
  'cells',
  'images',
  'T',
  'sweeps',
  'energy_per_image_j',
  'energy_per_stage_j',
  'time_per_image_s',
  'images_per_s',
  'sweep_time_s',
  'sweep_energy_per_cell_sweep_j',
  'static_energy_per_cell_sweep_j',
  'dynamic_energy_per_cell_sweep_j',
  'programming_energy_per_image_j',
  'programming_energy_j',
  'other_energy_j',
  'energy_total_j',
  'sim_time_s',
  'average_power_w',
  'area_m2',
  'area_note',
  'images_per_s_per_mm2',
  'lag1_autocorr',
  'lag1_autocorr_ideal',
  'moment_rmse',
  'moment_rmse_floor',
  'quality_n',
  'quality_image',
  'fd',
  'fd_se',
  'fd_floor',
  'fd_factorised',
  'clamped_accuracy',
  'clamped_accuracy_floor',
  'clamped_accuracy_factorised',
  'marginal_error',
  'marginal_error_floor',
  'marginal_error_factorised',
  'quality_note',
] as const;

/** The result columns that hold text; every other is a finite number or null. */
const TEXT_COLUMNS = new Set<string>(['physics', 'area_note', 'quality_image', 'quality_note']);

/**
 * A point's row as the tables will show it, checked: every result column a finite number or null
 * (a text column a string or null), the identity integers, the workload a string. A damaged or
 * edited point.json is one line naming the file and the column, never a "NaN" or a quoted string
 * in a numeric column of results.csv.
 */
function checkRow(row: unknown, where: string): Row {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new UserError(`${where}: row must be an object, not ${kindOf(row)}`);
  const r = row as Record<string, unknown>;
  for (const k of ['point', 'replicate', 'seed']) {
    if (!Number.isSafeInteger(r[k]) || (r[k] as number) < 0) throw new UserError(`${where}: row.${k} must be an integer >= 0, not ${kindOf(r[k])}`);
  }
  if (typeof r.workload !== 'string') throw new UserError(`${where}: row.workload must be a string, not ${kindOf(r.workload)}`);
  if (r.axes === null || typeof r.axes !== 'object' || Array.isArray(r.axes))
    throw new UserError(`${where}: row.axes must be an object, not ${kindOf(r.axes)}`);
  for (const c of RESULT_COLUMNS) {
    const v = r[c];
    if (v === undefined || v === null) continue;
    if (TEXT_COLUMNS.has(c)) {
      if (typeof v !== 'string') throw new UserError(`${where}: row.${c} must be a string or null, not ${kindOf(v)}`);
    } else if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new UserError(`${where}: row.${c} must be a finite number or null, not ${typeof v === 'number' ? String(v) : kindOf(v)}`);
    }
  }
  return row as Row;
}

export interface Collected {
  pf: PlanFile;
  points: Point[];
  rows: Row[];
  missing: Point[];
  merged: number;
}

export function axisPaths(pf: PlanFile): string[] {
  return pf.plan.axes.map((a) => a.path);
}

export function toCsv(pf: PlanFile, rows: Row[]): string {
  const axes = axisPaths(pf);
  const head = ['point', 'id', ...axes, 'replicate', 'seed', 'workload', ...RESULT_COLUMNS];
  const lines = rows.map((r) => {
    const rec = r as unknown as Record<string, unknown>;
    return csvLine([r.point, r.id, ...axes.map((a) => r.axes[a]), r.replicate, r.seed, r.workload, ...RESULT_COLUMNS.map((c) => rec[c])]);
  });
  return [csvLine(head), ...lines].join('\n') + '\n';
}

/** A JSON line per row: the axis values as top-level keys beside the results. */
export function toJsonl(pf: PlanFile, rows: Row[]): string {
  const axes = axisPaths(pf);
  return (
    rows
      .map((r) => {
        const rec = r as unknown as Record<string, unknown>;
        const o: Record<string, unknown> = { point: r.point, id: r.id };
        for (const a of axes) o[a] = r.axes[a];
        Object.assign(o, { replicate: r.replicate, seed: r.seed, workload: r.workload });
        for (const c of RESULT_COLUMNS) o[c] = rec[c] ?? null;
        return JSON.stringify(o);
      })
      .join('\n') + (rows.length ? '\n' : '')
  );
}

/**
 * Copy a finished point or twin directory from another sweep directory, atomically. What dtca
 * wrote there is a directory of regular files: anything else (a symbolic link, a FIFO, a device, a
 * subdirectory) is refused before anything is copied (a FIFO was an internal error that left the
 * private copy behind; a symbolic link was copied as one, a point the next resume calls damaged).
 */
function adopt(from: string, toParent: string, name: string): void {
  const odd = (p: string, st: Stats) =>
    new UserError(
      `${p}: ${st.isSymbolicLink() ? 'is a symbolic link' : (notRegular(st) ?? 'is not a regular file')}; a point or twin to merge is a directory of files dtca wrote (move it away and collect again)`,
    );
  const top = lstatSync(from);
  if (!top.isDirectory()) throw odd(from, top);
  const files = readdirSync(from);
  for (const f of files) {
    const st = lstatSync(join(from, f));
    if (!st.isFile()) throw odd(join(from, f), st);
  }
  const tmp = join(toParent, `.partial-${hostname()}-${process.pid}-${name}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp);
    for (const f of files) copyFileSync(join(from, f), join(tmp, f));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw outputError(e, join(toParent, name), `copying ${from}`);
  }
  try {
    renameSync(tmp, join(toParent, name));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
  }
}

export function collectTables(dir: string, others: string[] = []): Collected {
  const pf = ownSweepDir(dir);
  const points = readPoints(dir);
  const ids = new Set(points.map((p) => p.id));
  // refuse first, copy after: nothing is merged unless every directory holds this sweep
  const otherPfs = others.map((o) => ({ o, opf: readPlanFile(o) }));
  for (const { o, opf } of otherPfs) {
    if (opf.sweep_id !== pf.sweep_id) {
      throw new UserError(
        `${o}: holds another sweep (id ${opf.sweep_id}, ${opf.points} points) than ${dir} (id ${pf.sweep_id}, ${pf.points} points); collect each sweep on its own`,
      );
    }
  }
  for (const sub of ['points']) {
    const parent = join(dir, sub);
    if (!existsSync(parent)) continue;
    for (const e of readdirSync(parent)) {
      if (e.startsWith('.partial-')) continue;
      if (!ids.has(e))
        throw new UserError(
          `${join(parent, e)}: not a point of this sweep (id ${pf.sweep_id}); was another sweep's point copied in? Move it away and collect again`,
        );
    }
  }
  let merged = 0;
  for (const { o } of otherPfs) {
    for (const p of points) {
      if (!isPointDone(dir, p.id) && isPointDone(o, p.id)) {
        if (!isTwinDone(dir, p.twin.key) && isTwinDone(o, p.twin.key)) adopt(twinDir(o, p.twin.key), join(dir, 'twins'), p.twin.key);
        adopt(pointDir(o, p.id), join(dir, 'points'), p.id);
        merged++;
      }
    }
  }
  const rows: Row[] = [];
  const missing: Point[] = [];
  for (const p of points) {
    if (!isPointDone(dir, p.id)) {
      missing.push(p);
      continue;
    }
    const f = readPoint(dir, p.id);
    if (f.id !== p.id) throw new UserError(`${pointDir(dir, p.id)}/point.json: belongs to point ${f.id}, not ${p.id}`);
    rows.push(checkRow(f.row, `${pointDir(dir, p.id)}/point.json`));
  }
  writeFileAtomic(join(dir, 'results.csv'), toCsv(pf, rows));
  writeFileAtomic(join(dir, 'results.jsonl'), toJsonl(pf, rows));
  return { pf, points, rows, missing, merged };
}

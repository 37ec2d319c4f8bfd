/**
 * Sweep plans: axes (config paths and workload fields with lists of values), their cartesian
 * product (or pairs with `zip`), replicates (seeds), and the workload each point runs. A plan
 * expands into points; every point is resolved and validated here, before anything runs, so one
 * bad value stops the sweep naming the point and the value.
 *
 * A point's id is a hash of what determines its results (resolved config incl. seed, workload,
 * model file digest): the same point in another sweep or another run has the same id, and a
 * re-run skips it. Its ideal twin is the same point with every non-ideality off (the swept one
 * too); twins report only sampling statistics, which on the ideal chip do not depend on the
 * clock, so a twin runs at a fixed reference clock and points that differ only in clock rate (or
 * only in a non-ideality) share one.
 */
import { createHash } from 'node:crypto';
import { readInputFile, READ_LIMITS } from '../../fabric/read.js';
import { resolve, dirname, isAbsolute } from 'node:path';
import { UserError } from '../../fabric/errors.js';
import { parseJsonText } from '../../fabric/json.js';
import { resolveRules, checkRules, shown, rulesKey, rulesName, type Rule } from '../../fabric/rules.js';
import { resolveConfig, validateConfig, idealize, describeConfig, repeatedSet, DEFAULT_CONFIG, FLAG_NAMES, type ResolvedConfig } from '../config.js';
import { parseQuantity, unitOfPath } from '../units.js';
import { readModel, checkModelFitsFabric, type Model } from '../model.js';
import { FMNIST_PIXELS, FMNIST_CLASSES, FMNIST_LABEL_COPIES } from '../dtm.js';
import { configLabel } from '../label.js';
import { bmShape, dtmShape, estimateRun, checkResources, checkJobs, type RunShape } from '../resources.js';
import { resolveSweepBudget } from '../train/budget.js';
import { DEFAULT_T } from '../train/design.js';
import { modelJobFor, type ModelJob, type TrainPlan } from './models.js';
import { hashOf } from './hash.js';

export const SWEEP_FORMAT = 'dtca-sweep';
/** bump when what a point measures changes: old point directories then no longer match */
export const SWEEP_VERSION = 3;
/** the clock an ideal twin runs at (its spins do not depend on the clock; see the header) */
export const TWIN_CLOCK_HZ = 1e7;
/** visible cells of the default synthetic DTM: the paper chip's share (884 of 70 x 70 cells) */
export const SCALED_VISIBLE_SHARE = (FMNIST_PIXELS + FMNIST_CLASSES * FMNIST_LABEL_COPIES) / (70 * 70);

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface Axis {
  path: string;
  values: Json[];
}

export type Beta = number | { start: number; end: number } | null;

/** What each point runs. Fields a kind does not use are null, so the hash is canonical. */
export interface Workload {
  /** dtm: a synthetic random-weight DTM; bm: a random Boltzmann machine; model: a model file; trained: a model trained per design (--train) */
  kind: 'dtm' | 'bm' | 'model' | 'trained';
  /** model file (kind "model"): absolute path and sha256 of its bytes */
  model: string | null;
  model_sha256: string | null;
  /** DTM stages (synthetic DTM) */
  T: number | null;
  /** "scaled" (the paper chip's share of the grid), "fmnist" (784 pixels + 100 label cells) or a count */
  visible: 'scaled' | 'fmnist' | number | null;
  images: number | null;
  /** sweeps per stage (DTM) or measured sweeps per chain (Boltzmann machine) */
  sweeps: number;
  chains: number | null;
  warmup: number | null;
  beta: Beta;
  mapping: 'reprogram' | 'pipeline' | null;
}

export const WORKLOAD_AXES = ['T', 'visible', 'images', 'sweeps', 'chains', 'warmup', 'beta', 'mapping'] as const;

export interface Plan {
  format: typeof SWEEP_FORMAT;
  version: number;
  /** preset name, or absolute path of a config file */
  config: string;
  label: string;
  sets: string[];
  axes: Axis[];
  zip: boolean;
  replicates: number;
  /** base seed (null: the config's); replicate r runs seed + r */
  seed: number | null;
  workload: Workload;
  /** --train: how each design's model is trained (null: no training) */
  train: TrainPlan | null;
}

export interface Twin {
  key: string;
  config: ResolvedConfig;
  /** seed of the model the twin samples (the point's seed) */
  model_seed: number;
}

export interface Point {
  /** 0-based position in the plan */
  index: number;
  id: string;
  /** axis path -> value at this point */
  axes: Record<string, Json>;
  replicate: number;
  seed: number;
  config: ResolvedConfig;
  workload: Workload;
  /** how the workload reads in a table, e.g. "dtm T=8 visible=830 4x250" */
  workload_label: string;
  twin: Twin;
  /** the trained model the point samples (workload "trained"), or null */
  model: ModelJob | null;
}

/** The run shape of one point (sim/resources.ts): its memory and time estimate. */
export function pointShape(cfg: ResolvedConfig, w: Workload, model: Model | null): RunShape {
  const edges = model ? Math.max(...model.stages.map((st) => st.ei.length)) : undefined;
  return w.chains !== null
    ? bmShape(cfg, { chains: w.chains, sweeps: w.sweeps + (w.warmup ?? 0), stages: model?.stages.length, edges })
    : dtmShape(cfg, { images: w.images ?? 1, sweeps: w.sweeps, stages: model ? model.stages.length : (w.T ?? 1), edges });
}

export { canonical, hashOf } from './hash.js';

/**
 * Split an axis's value list: on `,` or `;` outside brackets, braces and quotes (so rule lists
 * `[[0,1]],[[0,1],[4,1]]` or `[[0,1]];[[0,1],[4,1]]` both give two values). Each value is parsed
 * as JSON where it parses, else kept as a string (`G8`, `exact`).
 */
export function parseValues(text: string, where: string): Json[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let cur = '';
  for (const ch of text) {
    if (quote) {
      cur += ch;
      if (ch === '"') quote = false;
      continue;
    }
    if (ch === '"') quote = true;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') depth--;
    if ((ch === ',' || ch === ';') && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  if (depth !== 0 || quote) throw new UserError(`${where}: unbalanced brackets or quotes in "${text}"`);
  const vals = out.map((s) => s.trim());
  if (vals.some((s) => s === '')) throw new UserError(`${where}: an empty value in "${text}" (values are separated by , or ;)`);
  return vals.map((s) => {
    let v: Json;
    try {
      v = JSON.parse(s) as Json;
    } catch {
      return s;
    }
    // JSON reads 1e400 as Infinity, which a plan (JSON) would store as null
    if (typeof v === 'number' && !Number.isFinite(v)) throw new UserError(`${where}: ${s}: not a finite number`);
    return v;
  });
}

/**
 * An axis's values with units read (sim/units.ts: "10MHz" -> 1e7 at clock.clock_hz), so tables,
 * charts and ids see numbers; `where` names what the user typed.
 */
export function axisWithUnits(ax: Axis, where = `--axis ${ax.path}`): Axis {
  const unit = isWorkloadPath(ax.path) ? null : unitOfPath(ax.path);
  if (!unit) return ax;
  return {
    path: ax.path,
    values: ax.values.map((v) => {
      if (typeof v !== 'string') return v;
      const n = parseQuantity(v, unit);
      if (n instanceof Error) throw new UserError(`${where}: ${shownValue(v)}: ${n.message}`);
      return n;
    }),
  };
}

const shownValue = (v: string) => JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);

/** `PATH=v1,v2,...` -> an axis (values with units read). */
export function parseAxis(text: string, flag = '--axis'): Axis {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UserError(`${flag} ${text}: expected PATH=v1,v2,..., e.g. --axis clock.clock_hz=5e6,1e7`);
  const path = text.slice(0, eq).trim();
  return axisWithUnits({ path, values: parseValues(text.slice(eq + 1), `${flag} ${path}`) }, `${flag} ${path}`);
}

/** `--clock 5e6,10MHz,2.5M` -> clock.clock_hz values in Hz (the one unit parser, sim/units.ts). */
export function parseClockList(text: string): Json[] {
  return axisWithUnits({ path: 'clock.clock_hz', values: parseValues(text, '--clock') }, '--clock').values;
}

function getIn(o: unknown, path: string[]): { found: boolean; value: unknown; parent: string[] } {
  let node: unknown = o;
  for (let i = 0; i < path.length; i++) {
    if (!node || typeof node !== 'object' || Array.isArray(node) || !(path[i] in (node as object))) {
      return { found: false, value: undefined, parent: path.slice(0, i) };
    }
    node = (node as Record<string, unknown>)[path[i]];
  }
  return { found: true, value: node, parent: path };
}

function isWorkloadPath(p: string): boolean {
  return p.startsWith('workload.');
}

/** Check axis paths against the base config (or the workload's fields) before expanding. */
function checkAxisPaths(axes: Axis[], base: ResolvedConfig): void {
  const seen = new Set<string>();
  for (const ax of axes) {
    if (seen.has(ax.path)) throw new UserError(`--axis ${ax.path}: given twice (list all its values in one --axis)`);
    seen.add(ax.path);
    if (ax.values.length === 0) throw new UserError(`--axis ${ax.path}: no values`);
    if (isWorkloadPath(ax.path)) {
      const f = ax.path.slice('workload.'.length);
      if (!(WORKLOAD_AXES as readonly string[]).includes(f)) {
        throw new UserError(`--axis ${ax.path}: not a workload field (workload axes: ${WORKLOAD_AXES.map((w) => `workload.${w}`).join(', ')})`);
      }
      continue;
    }
    const parts = ax.path.split('.');
    const g = getIn(base, parts);
    if (!g.found) {
      const parent = getIn(base, g.parent).value as Record<string, unknown>;
      const where = g.parent.length ? g.parent.join('.') : 'the config';
      throw new UserError(`--axis ${ax.path}: no such config key (${where} has: ${Object.keys(parent).join(', ')})`);
    }
    if (g.value && typeof g.value === 'object' && !Array.isArray(g.value)) {
      throw new UserError(`--axis ${ax.path}: is a config section, not a value (its keys: ${Object.keys(g.value).join(', ')})`);
    }
  }
}

/** The most points one sweep may have (docs/sweeps.md): a plan above it is refused before it is expanded. */
export const MAX_SWEEP_POINTS = 100_000;

/**
 * A plan's point count from its axes' lengths alone (their product, or one axis's length with
 * zip, times the replicates), refused above MAX_SWEEP_POINTS before any point is made.
 */
export function checkPointCount(axes: Axis[], zip: boolean, replicates: number): number {
  const combos = axes.length === 0 ? 1 : zip ? axes[0].values.length : axes.reduce((n, ax) => n * ax.values.length, 1);
  const count = combos * replicates;
  if (count > MAX_SWEEP_POINTS) {
    const how = [
      ...(axes.length === 0 ? [] : zip ? [`zipped axes: ${combos}`] : axes.map((ax) => `${ax.path}: ${ax.values.length}`)),
      ...(replicates > 1 ? [`replicates: ${replicates}`] : []),
    ].join(' x ');
    throw new UserError(`the sweep has ${count} points (${how}): at most ${MAX_SWEEP_POINTS} points per sweep; split it into smaller sweeps`);
  }
  return count;
}

/** The combinations of axis values: every axis's index per point. */
function combos(axes: Axis[], zip: boolean): number[][] {
  if (axes.length === 0) return [[]];
  if (zip) {
    const n = axes[0].values.length;
    for (const ax of axes) {
      if (ax.values.length !== n) {
        throw new UserError(`--zip: every axis needs the same number of values (${axes[0].path} has ${n}, ${ax.path} has ${ax.values.length})`);
      }
    }
    return Array.from({ length: n }, (_, i) => axes.map(() => i));
  }
  let out: number[][] = [[]];
  for (const ax of axes) out = out.flatMap((c) => ax.values.map((_, i) => [...c, i]));
  return out;
}

function describe(axes: Record<string, Json>, replicate: number, replicates: number): string {
  const parts = Object.entries(axes).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (replicates > 1) parts.push(`replicate ${replicate + 1}`);
  return parts.join(', ') || 'the base config';
}

/** Visible cells of the synthetic DTM at grid side L (image cells, label cells). */
export function visibleCells(visible: Workload['visible'], L: number): { image: number; label: number } {
  if (visible === 'fmnist') return { image: FMNIST_PIXELS, label: FMNIST_CLASSES * FMNIST_LABEL_COPIES };
  if (typeof visible === 'number') return { image: visible, label: 0 };
  return { image: Math.max(1, Math.round(SCALED_VISIBLE_SHARE * L * L)), label: 0 };
}

/** The dtca sweep flag that sets each workload field (a plan file's `workload` keys are the fields). */
const WORKLOAD_FLAGS: Partial<Record<keyof Workload, string>> = {
  chains: '--chains',
  warmup: '--warmup',
  T: '--stages',
  visible: '--visible',
  images: '--images',
  mapping: '--mapping',
};

const UNUSED: Record<Workload['kind'], (keyof Workload)[]> = {
  dtm: ['chains', 'warmup'],
  bm: ['T', 'visible', 'images', 'mapping'],
  model: ['T', 'visible'],
  trained: ['chains', 'warmup', 'visible'],
};

function checkWorkload(w: Workload, where: string): void {
  for (const k of UNUSED[w.kind]) {
    if (w[k] !== null) throw new UserError(`${where}: workload.${k} is not used by the ${w.kind} workload`);
  }
  if (w.kind === 'model') {
    for (const k of (w.images !== null ? ['chains', 'warmup'] : ['images', 'mapping']) as (keyof Workload)[]) {
      if (w[k] !== null) throw new UserError(`${where}: workload.${k} is not used by this model file's workload`);
    }
  }
  const int = (k: keyof Workload, min: number) => {
    const v = w[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw new UserError(`${where}: workload.${k} = ${JSON.stringify(v)}: must be an integer >= ${min}`);
  };
  int('sweeps', 1);
  if (w.kind === 'dtm' || w.kind === 'trained' || (w.kind === 'model' && w.images !== null)) int('images', 1);
  if (w.kind === 'dtm' || w.kind === 'trained') int('T', 1);
  if (w.kind === 'bm' || (w.kind === 'model' && w.chains !== null)) {
    int('chains', 1);
    int('warmup', 0);
  }
  const v = w.visible;
  if (w.kind === 'dtm' && !(v === 'scaled' || v === 'fmnist' || (typeof v === 'number' && Number.isInteger(v) && v >= 1))) {
    throw new UserError(`${where}: workload.visible = ${JSON.stringify(v)}: "scaled", "fmnist" or a positive integer`);
  }
  const b = w.beta;
  const posNum = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;
  if (b !== null && !posNum(b) && !(b && typeof b === 'object' && posNum(b.start) && posNum(b.end))) {
    throw new UserError(`${where}: workload.beta = ${JSON.stringify(b)}: a positive number or {"start": B0, "end": B1}`);
  }
  if (w.mapping !== null && w.mapping !== 'reprogram' && w.mapping !== 'pipeline') {
    throw new UserError(`${where}: workload.mapping = ${JSON.stringify(w.mapping)}: "reprogram" or "pipeline"`);
  }
}

export function workloadLabel(w: Workload, L: number): string {
  const beta = w.beta === null ? '' : ` beta=${typeof w.beta === 'number' ? w.beta : `${w.beta.start}:${w.beta.end}`}`;
  if (w.kind === 'dtm') {
    const vis = visibleCells(w.visible, L);
    const v = w.visible === 'fmnist' ? 'fmnist' : `${vis.image}`;
    return `dtm T=${w.T} visible=${v} ${w.images}x${w.sweeps}${beta}${w.mapping === 'pipeline' ? ' pipeline' : ''}`;
  }
  if (w.kind === 'bm') return `bm ${w.chains}x(${w.warmup}+${w.sweeps})${beta}`;
  if (w.kind === 'trained') return `trained T=${w.T} ${w.images}x${w.sweeps}${beta}${w.mapping === 'pipeline' ? ' pipeline' : ''}`;
  const name = (w.model ?? '').split('/').pop();
  return w.images !== null ? `model ${name} ${w.images}x${w.sweeps}${beta}` : `model ${name} ${w.chains}x(${w.warmup}+${w.sweeps})${beta}`;
}

function twinOf(cfg: ResolvedConfig, w: Workload, model: ModelJob | null): Twin {
  const raw = JSON.parse(JSON.stringify(cfg));
  idealize(raw);
  raw.clock.clock_hz = TWIN_CLOCK_HZ;
  const tc = validateConfig(raw, 'ideal twin');
  // described by its own values: the twins of points that differ only in what the twin fixes are one twin
  tc.description = describeConfig(tc);
  return { key: twinKey(tc, w, model?.key ?? null), config: tc, model_seed: cfg.seed };
}

/**
 * The hashes that name a sweep's runs (and that readPoints checks an edited points.jsonl against):
 * a point's id from its config, workload and model, its ideal twin's key from the twin's config,
 * and the sweep's id from its points' ids.
 */
export function pointId(config: unknown, workload: unknown, modelKey: string | null): string {
  return hashOf({ f: SWEEP_FORMAT, v: SWEEP_VERSION, config, workload, ...(modelKey !== null ? { model: modelKey } : {}) });
}

export function twinKey(twinConfig: unknown, workload: unknown, modelKey: string | null): string {
  return hashOf({ f: SWEEP_FORMAT, v: SWEEP_VERSION, twin: twinConfig, workload, model: modelKey });
}

export function sweepIdOf(points: { id: string }[]): string {
  return hashOf(points.map((p) => p.id));
}

export interface Expanded {
  plan: Plan;
  points: Point[];
  /** hash of the plan's points: two directories hold the same sweep iff their ids agree */
  sweep_id: string;
}

/** Expand and validate: every point resolved, its grid and workload checked. Throws naming the point. */
export function expandPlan(plan: Plan): Expanded {
  const base = resolveConfig(plan.config, { sets: plan.sets, names: FLAG_NAMES });
  checkAxisPaths(plan.axes, base);
  // values with units, however the axes came (flags, a plan file, an older plan.json)
  plan = { ...plan, axes: plan.axes.map((ax) => axisWithUnits(ax)) };
  if (!Number.isInteger(plan.replicates) || plan.replicates < 1) throw new UserError(`--replicates ${plan.replicates}: must be an integer >= 1`);
  if (plan.seed !== null && (!Number.isInteger(plan.seed) || plan.seed < 0)) throw new UserError(`--seed ${plan.seed}: must be an integer >= 0`);
  checkPointCount(plan.axes, plan.zip, plan.replicates);
  checkWorkload(plan.workload, 'workload');
  const model = plan.workload.kind === 'model' ? readModel(plan.workload.model!) : null;
  const cs = combos(plan.axes, plan.zip);
  const total = cs.length * plan.replicates;
  const points: Point[] = [];
  const misfits: string[] = [];
  // the grids of the points the model does not fit (the message named only the axes: a point whose L
  // was the model's, refused for its rules, read "does not fit point 1 (fabric.L=24)")
  const misfitGrids: { L: number; rules: Rule[]; boundary: string }[] = [];
  let n = 0;
  for (const c of cs) {
    for (let r = 0; r < plan.replicates; r++) {
      const index = n++;
      const axes: Record<string, Json> = {};
      plan.axes.forEach((ax, a) => (axes[ax.path] = ax.values[c[a]]));
      const where = `point ${index + 1} of ${total} (${describe(axes, r, plan.replicates)})`;
      const sets = [...plan.sets];
      const w: Workload = { ...plan.workload };
      let seed0 = plan.seed;
      // an axis value is named by its --axis in any problem it causes (not as a --set nobody typed)
      const flags: { source: string; path: string; value: Json }[] = [];
      for (const [p, v] of Object.entries(axes)) {
        if (isWorkloadPath(p)) (w as unknown as Record<string, Json>)[p.slice('workload.'.length)] = v;
        else if (p === 'seed') seed0 = v as number;
        else flags.push({ source: `--axis ${p}=${typeof v === 'string' ? v : JSON.stringify(v)}`, path: p, value: v });
      }
      let cfg: ResolvedConfig;
      try {
        const s0 = seed0 ?? resolveConfig(plan.config, { sets, flags, names: FLAG_NAMES }).seed;
        if (!Number.isInteger(s0) || s0 < 0) throw new UserError(`seed = ${JSON.stringify(s0)}: must be an integer >= 0`);
        cfg = resolveConfig(plan.config, { sets: [...sets, `seed=${s0 + r}`], flags, names: FLAG_NAMES });
        checkRules(resolveRules(cfg.fabric.rules), cfg.fabric.L, cfg.fabric.boundary);
        checkWorkload(w, 'the workload');
        // (a trained workload's layout is checked by its model's plan below: sim/train/design.ts)
        if (w.kind === 'dtm') {
          const v = visibleCells(w.visible, cfg.fabric.L);
          const spots = Math.ceil((cfg.fabric.L * cfg.fabric.L) / 2);
          if (v.image + v.label > spots) {
            throw new UserError(
              `workload.visible = ${JSON.stringify(w.visible)} needs ${v.image + v.label} cells of one colour; an L=${cfg.fabric.L} grid has ${spots}`,
            );
          }
        }
        // the point's run fits in memory and its counters stay exact (sim/resources.ts), as dtca run checks
        const shape = pointShape(cfg, w, model);
        checkResources(shape, estimateRun(shape), { canForce: false, what: 'its run' });
      } catch (e) {
        if (e instanceof UserError) throw new UserError(`${where}: ${e.message}`);
        throw e;
      }
      if (model) {
        try {
          checkModelFitsFabric(model, cfg, resolveRules(cfg.fabric.rules));
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          misfits.push(`${index + 1} (${describe(axes, r, plan.replicates)})`);
          misfitGrids.push({ L: cfg.fabric.L, rules: resolveRules(cfg.fabric.rules), boundary: cfg.fabric.boundary });
          continue;
        }
      }
      let mj: ModelJob | null = null;
      if (w.kind === 'trained') {
        if (!plan.train) throw new UserError(`${where}: a trained workload needs the plan's training (--train)`);
        try {
          // replicates share the model (trained with the replicate's base seed) and differ in generation
          mj = modelJobFor(cfg, cfg.seed - r, plan.train, w.T!);
        } catch (e) {
          if (e instanceof UserError) throw new UserError(`${where}: --train: ${e.message}`);
          throw e;
        }
      }
      const id = pointId(cfg, w, mj ? mj.key : null);
      points.push({
        index,
        id,
        axes,
        replicate: r,
        seed: cfg.seed,
        config: cfg,
        workload: w,
        workload_label: workloadLabel(w, cfg.fabric.L),
        twin: twinOf(cfg, w, mj),
        model: mj,
      });
    }
  }
  if (model && misfits.length > 0) {
    const g = model.grid;
    const gridText = (x: { L: number; rules: Rule[]; boundary: string }) => `${x.L}x${x.L} ${rulesName(x.rules)} ${x.boundary}`;
    const theirs = [...new Set(misfitGrids.map(gridText))];
    // where only the rules or the boundary differ, the --set that gives the model's; and where no
    // axis sweeps the grid's side, the --set of the model's side too (dtca sweep --model
    // fmnist-t8-L32.mp --clock ... on the default 70x70 chip said only "sweep only grids the model fits")
    const swept = (p: string) => plan.axes.some((a) => a.path === p || a.path === 'fabric');
    const sameL = misfitGrids.every((x) => x.L === g.L) || (!swept('fabric.L') && misfitGrids.every((x) => x.L === misfitGrids[0].L));
    const gives = [
      ...(sameL && misfitGrids.some((x) => x.L !== g.L) ? [FLAG_NAMES.give(`fabric.L=${g.L}`)] : []),
      ...(sameL && misfitGrids.some((x) => rulesKey(x.rules) !== rulesKey(g.rules)) ? [FLAG_NAMES.give(`fabric.rules=${rulesName(g.rules)}`)] : []),
      ...(sameL && misfitGrids.some((x) => x.boundary !== g.boundary) ? [FLAG_NAMES.give(`fabric.boundary=${g.boundary}`)] : []),
    ];
    throw new UserError(
      `--model ${plan.workload.model}: its grid (${gridText(g)}) does not fit point${misfits.length > 1 ? 's' : ''} ${misfits.join(', ')}, whose ${theirs.length > 1 ? 'grids are' : 'grid is'} ${theirs.join(', ')}; ${gives.length ? `give the model's with ${gives.join(' ')}` : 'sweep only grids the model fits, or use the synthetic DTM workload'}`,
    );
  }
  const ids = new Set<string>();
  for (const p of points) {
    if (ids.has(p.id))
      throw new UserError(
        `point ${p.index + 1} (${describe(p.axes, p.replicate, plan.replicates)}) is the same run as an earlier point (an axis value repeated?)`,
      );
    ids.add(p.id);
  }
  return { plan, points, sweep_id: sweepIdOf(points) };
}

export interface PlanInput {
  config?: string;
  sets?: string[];
  axes?: Axis[];
  zip?: boolean;
  replicates?: number;
  seed?: number | null;
  workload?: Partial<Workload> & { kind?: Workload['kind'] };
  /**
   * --train quick|standard|FILE.json, --train-chip, --model-cache; `budget_where`: where the budget
   * was given when not by --train (a plan file's "train": `--plan p.json: train.budget`)
   */
  train?: { budget: string; chip?: 'ideal' | 'cycle'; model_cache?: string | null; budget_where?: string } | null;
}

/** A plan from flags and/or a plan file; fills the workload's defaults for its kind. `onNote`: what the budget file's options were fitted to (sim/train/budget.ts fitBudget), one line each. */
export function makePlan(i: PlanInput, onNote: (line: string) => void = () => {}): Plan {
  const ref = i.config ?? DEFAULT_CONFIG;
  // a config file is stored by its absolute path, so `sweep run DIR` finds it from anywhere
  const cfgRef = ref.endsWith('.json') ? resolve(ref) : ref;
  const wi = i.workload ?? {};
  let train: TrainPlan | null = null;
  if (i.train) {
    if (wi.model || (wi.kind !== undefined && wi.kind !== 'dtm' && wi.kind !== 'trained'))
      throw new UserError(`--train: trains a DTM per design; it does not go with ${wi.model ? '--model' : `--workload ${wi.kind}`}`);
    if (wi.visible !== undefined && wi.visible !== null)
      throw new UserError(
        "--train: a trained model's visible cells are its Fashion-MNIST layout (the largest image the grid holds, and its label cells); drop --visible",
      );
    const b = resolveSweepBudget(i.train.budget, i.train.budget_where);
    for (const n of b.notes ?? []) onNote(n);
    const chip = i.train.chip ?? 'ideal';
    if (chip !== 'ideal' && chip !== 'cycle') throw new UserError(`--train-chip ${String(chip)}: ideal or cycle`);
    train = {
      budget: b.name.endsWith('.json') ? resolve(b.name) : b.name,
      options: b.options,
      chip,
      model_cache: i.train.model_cache ? resolve(i.train.model_cache) : null,
    };
  }
  const kind = train ? 'trained' : (wi.kind ?? (wi.model ? 'model' : 'dtm'));
  // a field the workload does not use is an error, not silently ignored; named by its flag and its
  // plan-file key (dtca sweep --chains 2 said "workload dtm: chains is not used by this workload")
  for (const k of UNUSED[kind as Workload['kind']] ?? []) {
    if (wi[k] !== undefined && wi[k] !== null) {
      throw new UserError(
        `${WORKLOAD_FLAGS[k] ?? k} (workload.${k}): not used by the ${kind === 'trained' ? 'trained DTM' : kind} workload (${kind === 'bm' ? 'a Boltzmann machine runs chains x (warmup + sweeps)' : kind === 'dtm' ? 'DTM generation runs images x stages x sweeps; --workload bm takes --chains and --warmup' : kind === 'trained' ? 'DTM generation runs images x stages x sweeps' : 'a model file brings its own stages and visible cells'})`,
      );
    }
  }
  let w: Workload;
  if (kind === 'model') {
    if (!wi.model) throw new UserError('workload "model": give the model file (--model FILE)');
    const path = resolve(wi.model);
    const bytes = readInputFile(path, { what: 'model file', max: READ_LIMITS.model });
    const m = readModel(path);
    const isDtm = m.dtm !== undefined;
    for (const k of (isDtm ? ['chains', 'warmup'] : ['images', 'mapping']) as (keyof Workload)[]) {
      if (wi[k] !== undefined && wi[k] !== null)
        throw new UserError(
          `--model ${wi.model}: ${WORKLOAD_FLAGS[k] ?? k} (workload.${k}) is not used by ${isDtm ? 'a DTM model (images x stages x sweeps)' : 'a Boltzmann-machine model (chains x (warmup + sweeps))'}`,
        );
    }
    w = {
      kind,
      model: path,
      model_sha256: createHash('sha256').update(bytes).digest('hex'),
      T: null,
      visible: null,
      images: isDtm ? (wi.images ?? 4) : null,
      sweeps: wi.sweeps ?? (isDtm ? 250 : 400),
      chains: isDtm ? null : (wi.chains ?? 2),
      warmup: isDtm ? null : (wi.warmup ?? 50),
      beta: wi.beta ?? null,
      mapping: isDtm ? (wi.mapping ?? 'reprogram') : null,
    };
  } else if (kind === 'bm') {
    w = {
      kind,
      model: null,
      model_sha256: null,
      T: null,
      visible: null,
      images: null,
      sweeps: wi.sweeps ?? 400,
      chains: wi.chains ?? 2,
      warmup: wi.warmup ?? 50,
      beta: wi.beta ?? null,
      mapping: null,
    };
  } else if (kind === 'trained') {
    // the model's stages: --stages (or a workload.T axis), default 8 as dtca train's
    const T = wi.T ?? DEFAULT_T;
    w = {
      kind,
      model: null,
      model_sha256: null,
      T,
      visible: null,
      images: wi.images ?? 10,
      sweeps: wi.sweeps ?? 250,
      chains: null,
      warmup: null,
      beta: wi.beta ?? null,
      mapping: wi.mapping ?? 'reprogram',
    };
  } else if (kind === 'dtm') {
    w = {
      kind,
      model: null,
      model_sha256: null,
      T: wi.T ?? 8,
      visible: wi.visible ?? 'scaled',
      images: wi.images ?? 4,
      sweeps: wi.sweeps ?? 250,
      chains: null,
      warmup: null,
      beta: wi.beta ?? null,
      mapping: wi.mapping ?? 'reprogram',
    };
  } else {
    throw new UserError(`workload "${String(kind)}": dtm, bm or model`);
  }
  return {
    format: SWEEP_FORMAT,
    version: SWEEP_VERSION,
    config: cfgRef,
    label: configLabel(ref, i.sets ?? []).label,
    sets: i.sets ?? [],
    axes: i.axes ?? [],
    zip: i.zip ?? false,
    replicates: i.replicates ?? 1,
    seed: i.seed ?? null,
    workload: w,
    train,
  };
}

/** A plan file's "train": "quick" or {"budget": ..., "chip": "ideal", "model_cache": DIR}. */
function planTrain(v: unknown, path: string, rel: (p: string) => string): PlanInput['train'] {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return { budget: v.endsWith('.json') ? rel(v) : v, budget_where: `--plan ${path}: train` };
  if (typeof v !== 'object' || Array.isArray(v))
    throw new UserError(`--plan ${path}: train: "quick", "standard", a budget file, or {"budget": ..., "chip": ..., "model_cache": ...}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!['budget', 'chip', 'model_cache'].includes(k)) throw new UserError(`--plan ${path}: train.${k}: unknown key (known: budget, chip, model_cache)`);
  if (typeof o.budget !== 'string') throw new UserError(`--plan ${path}: train.budget: "quick", "standard" or a budget file`);
  if (o.model_cache !== undefined && typeof o.model_cache !== 'string') throw new UserError(`--plan ${path}: train.model_cache: a directory`);
  if (o.chip !== undefined && o.chip !== 'ideal' && o.chip !== 'cycle')
    throw new UserError(`--plan ${path}: train.chip ${JSON.stringify(o.chip)}: ideal or cycle`);
  return {
    budget: o.budget.endsWith('.json') ? rel(o.budget) : o.budget,
    budget_where: `--plan ${path}: train.budget`,
    chip: o.chip as 'ideal' | 'cycle' | undefined,
    model_cache: typeof o.model_cache === 'string' ? rel(o.model_cache) : undefined,
  };
}

/**
 * A plan file: `{"config": "dtca-paper", "set": [...], "axes": {"fabric.L": [32, 48]} or
 * [{"path": ..., "values": [...]}], "zip": false, "replicates": 1, "seed": 1,
 * "workload": {"kind": "dtm", "images": 4, "sweeps": 250, ...}, "jobs": 2}`. A relative config or
 * model path is taken relative to the plan file.
 */
export function readPlanFile(path: string): PlanInput & { jobs?: number } {
  let text: string;
  try {
    // bounded: a device, a FIFO or a directory is refused, never read (fabric/read.ts)
    text = readInputFile(path, { what: 'plan file', max: READ_LIMITS.json }).toString('utf8');
  } catch (e) {
    throw e instanceof UserError ? new UserError(`--plan ${e.message}`) : e;
  }
  const raw = parseJsonText(text, `--plan ${path}`);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`--plan ${path}: a plan must be a JSON object`);
  const o = raw as Record<string, unknown>;
  const known = ['config', 'set', 'axes', 'zip', 'replicates', 'seed', 'workload', 'jobs', 'train'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new UserError(`--plan ${path}: ${k}: unknown key (known: ${known.join(', ')})`);
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(dirname(resolve(path)), p));
  let axes: Axis[] = [];
  if (Array.isArray(o.axes)) {
    axes = o.axes.map((a, n) => {
      const ax = a as Axis;
      if (!ax || typeof ax.path !== 'string' || !Array.isArray(ax.values))
        throw new UserError(`--plan ${path}: axes[${n}]: expected {"path": ..., "values": [...]}`);
      return { path: ax.path, values: ax.values };
    });
  } else if (o.axes && typeof o.axes === 'object') {
    axes = Object.entries(o.axes as Record<string, unknown>).map(([p, v]) => {
      if (!Array.isArray(v)) throw new UserError(`--plan ${path}: axes.${p}: expected a list of values`);
      return { path: p, values: v as Json[] };
    });
  } else if (o.axes !== undefined) throw new UserError(`--plan ${path}: axes: expected an object or a list`);
  if (o.set !== undefined && !(Array.isArray(o.set) && o.set.every((s) => typeof s === 'string')))
    throw new UserError(`--plan ${path}: set: expected a list of "path=value" strings`);
  const twice = o.set === undefined ? null : repeatedSet(o.set as string[]);
  if (twice) throw new UserError(`--plan ${path}: set: ${twice.what} given twice (${shown(twice.first, 60)}, ${shown(twice.second, 60)}); give it once`);
  const w = (o.workload ?? {}) as Record<string, unknown>;
  if (typeof w !== 'object' || Array.isArray(w)) throw new UserError(`--plan ${path}: workload: expected an object`);
  const wk = ['kind', 'model', ...WORKLOAD_AXES];
  for (const k of Object.keys(w)) if (!wk.includes(k)) throw new UserError(`--plan ${path}: workload.${k}: unknown key (known: ${wk.join(', ')})`);
  let config = o.config as string | undefined;
  if (config !== undefined && typeof config !== 'string') throw new UserError(`--plan ${path}: config: a preset name or a config file path`);
  // the plan's own values are checked here, naming the plan (a string "false" for zip was true: the
  // axes were zipped; a string replicates was called the flag --replicates)
  const given = (v: unknown) => shown(typeof v === 'string' ? JSON.stringify(v) : v);
  if (o.zip !== undefined && typeof o.zip !== 'boolean') throw new UserError(`--plan ${path}: zip ${given(o.zip)}: must be true or false`);
  for (const [k, min] of [
    ['replicates', 1],
    ['seed', 0],
  ] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= min))
      throw new UserError(`--plan ${path}: ${k} ${given(v)}: must be an integer >= ${min}${Number.isInteger(v) && (v as number) >= min ? ' and < 2^53' : ''}`);
  }
  if (config && config.endsWith('.json')) config = rel(config);
  return {
    config,
    sets: o.set as string[] | undefined,
    axes,
    zip: o.zip as boolean | undefined,
    replicates: o.replicates as number | undefined,
    seed: o.seed as number | undefined,
    workload: { ...(w as Partial<Workload>), model: typeof w.model === 'string' ? rel(w.model) : undefined },
    jobs: o.jobs === undefined ? undefined : checkJobs(o.jobs, `--plan ${path}: jobs`),
    train: planTrain(o.train, path, rel),
  };
}

/**
 * The models that ship with dtca (configs/models/*.mp, each with MODEL.manifest.json beside it)
 * and which of them fits a chip: `dtca run` without --model generates with the one whose grid is
 * the configured fabric's (same L, rules and boundary), and says so; with none it runs a
 * random-weight DTM and warns.
 *
 * The choice is made from the directory's contents, not from names in the code: every *.mp with a
 * manifest is a candidate; its grid is the manifest's `grid` ({L, rules, boundary}, written by
 * dtca train), else the model file's own. Where several fit, a model trained at the chip's weight
 * precision (its manifest's `weight_bits` is the config's cell.weight_bits) comes before any other,
 * whatever the rest of the ranking says (another precision runs requantised: dtca run warns); then
 * a model fitted to the cycle-accurate chip at the configured clock comes first — trained there (its manifest's `chip: "cycle"` and
 * `clock_hz`: chip-in-the-loop) or its guidance chosen there (`guidance_chip: "cycle"` and
 * `guidance_clock_hz`, written by dtca model tune --chip cycle) —; models fitted to the cycle chip
 * at another clock come last. An ideal chip (every non-ideality off: `--ideal`) has no clock to be
 * fitted to — its samples do not depend on the clock — so there every model fitted to the cycle
 * chip comes last, whatever the configured clock. Within each group the
 * one whose manifest reports the best quality wins (metrics.ideal: the lowest FD as a fraction of
 * its factorised yardstick at the same N), then the file name.
 *
 * Where: the `dir` argument, else $DTCA_MODELS, else configs/models of this installation.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../fabric/errors.js';
import { readInputText, READ_LIMITS } from '../fabric/read.js';
import { kindOf, parseJsonText } from '../fabric/json.js';
import { resolveRules, rulesKey, type Rule } from '../fabric/rules.js';
import { CONFIG_DIR, type ResolvedConfig } from './config.js';
import { readModel, type Model } from './model.js';
import { fittedClocks } from './manifest.js';
import { configShape } from './resources.js';

export const DEFAULT_MODELS_DIR = join(CONFIG_DIR, 'models');

/** The models directory: an explicit one, else $DTCA_MODELS, else configs/models. */
export function modelsDir(dir?: string): string {
  return resolve(dir ?? (process.env.DTCA_MODELS || DEFAULT_MODELS_DIR));
}

export interface GridKey {
  L: number;
  rules: Rule[];
  boundary: 'open' | 'torus';
}

export interface ShippedEntry {
  /** the model file */
  path: string;
  manifestPath: string;
  name: string;
  grid: GridKey;
  /** FD / factorised FD from the manifest's metrics.ideal, or null */
  quality: number | null;
  /** the clock a model trained on the cycle-accurate chip was trained at (manifest chip "cycle", clock_hz), else null */
  trainedClockHz: number | null;
  /** the clock its guidance was chosen at on the cycle-accurate chip (manifest guidance_chip "cycle", guidance_clock_hz; dtca model tune), else null */
  tunedClockHz: number | null;
  /** the weight precision it was trained at (manifest weight_bits: 2..24 or "exact"), else null */
  weightBits: number | 'exact' | null;
  manifest: Record<string, unknown>;
}

export function sameGrid(a: GridKey, b: GridKey): boolean {
  return a.L === b.L && a.boundary === b.boundary && rulesKey(a.rules) === rulesKey(b.rules);
}

/** "48x48, G12 (0,1)(4,1)(9,10), open" for messages */
export function describeGrid(g: GridKey, rulesName?: string): string {
  return `${g.L}x${g.L}, ${rulesName ?? rulesKey(g.rules)}, ${g.boundary}`;
}

function manifestGrid(m: Record<string, unknown>, where: string): GridKey | null {
  const g = m.grid as Record<string, unknown> | undefined;
  if (g === undefined || g === null) return null;
  if (typeof g !== 'object' || Array.isArray(g)) throw new UserError(`${where}: grid: expected {L, rules, boundary}`);
  if (typeof g.L !== 'number' || (g.boundary !== 'open' && g.boundary !== 'torus')) throw new UserError(`${where}: grid: expected {L, rules, boundary}`);
  return { L: g.L, rules: resolveRules(g.rules, `${where}: grid.rules`), boundary: g.boundary };
}

function qualityOf(m: Record<string, unknown>): number | null {
  const ideal = (m.metrics as Record<string, unknown> | undefined)?.ideal as { fd?: unknown; baselines?: { factorised?: { fd?: unknown } } } | undefined;
  const fd = ideal?.fd;
  const fact = ideal?.baselines?.factorised?.fd;
  return typeof fd === 'number' && typeof fact === 'number' && fact > 0 ? fd / fact : null;
}

/**
 * The shipped models in `dir` (see modelsDir): every *.mp with a MODEL.manifest.json (files
 * without one are skipped: a model is shipped with its manifest). A missing directory is no models.
 */
export function listShippedModels(dir?: string): ShippedEntry[] {
  const d = modelsDir(dir);
  if (!existsSync(d)) return [];
  const out: ShippedEntry[] = [];
  for (const f of readdirSync(d).sort()) {
    if (!f.endsWith('.mp')) continue;
    const path = join(d, f);
    const manifestPath = `${path.slice(0, -3)}.manifest.json`;
    if (!existsSync(manifestPath)) continue;
    // $DTCA_MODELS is anyone's directory: the manifest is read bounded (a FIFO there blocked the
    // read for ever, SIGTERM included) and must be a JSON object (null was a TypeError)
    const parsed = parseJsonText(readInputText(manifestPath, { what: 'model manifest', max: READ_LIMITS.json }), manifestPath);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new UserError(`${manifestPath}: a model manifest must be a JSON object, not ${kindOf(parsed)}`);
    const manifest = parsed as Record<string, unknown>;
    // the manifest's grid where it states one (dtca train writes it), else the model file's own
    const grid = manifestGrid(manifest, manifestPath) ?? readModel(path).grid;
    const { trained: hz, tuned: tunedHz } = fittedClocks(manifest);
    const wb = manifest.weight_bits;
    const weightBits = wb === 'exact' || (typeof wb === 'number' && Number.isInteger(wb)) ? wb : null;
    out.push({ path, manifestPath, name: f, grid, quality: qualityOf(manifest), trainedClockHz: hz, tunedClockHz: tunedHz, weightBits, manifest });
  }
  return out;
}

/** The chip a shipped model is chosen for: its clock and weight precision (either may be left out: no preference). */
export interface ShippedChip {
  clockHz?: number;
  weightBits?: number | 'exact';
}

/**
 * Shipped models ranked for a chip, best first (the rule, applied in order until one differs):
 *  1. trained at the chip's weight precision (manifest weight_bits = `chip.weightBits`) before any other;
 *  2. fitted to the cycle chip at `chip.clockHz` (trained there, or its guidance chosen there), then
 *     models fitted to no clock, then those fitted to another clock;
 *  3. the lowest FD / factorised reported (none: last);
 *  4. the file name.
 * A pure function of the candidates: fittingModels applies it to the models that fit a grid.
 */
export function rankShipped(candidates: readonly ShippedEntry[], chip: ShippedChip = {}): ShippedEntry[] {
  const precision = (e: ShippedEntry) => (chip.weightBits !== undefined && e.weightBits === chip.weightBits ? 0 : 1);
  const fitted = (e: ShippedEntry) => [e.trainedClockHz, e.tunedClockHz].filter((hz): hz is number => hz !== null);
  const clock = (e: ShippedEntry) => (fitted(e).length === 0 ? 1 : fitted(e).includes(chip.clockHz ?? NaN) ? 0 : 2);
  return [...candidates].sort(
    (a, b) =>
      precision(a) - precision(b) ||
      clock(a) - clock(b) ||
      (a.quality ?? Infinity) - (b.quality ?? Infinity) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/** The shipped models in `dir` that fit a fabric, best first for `chip` (rankShipped). */
export function fittingModels(grid: GridKey, dir?: string, chip: ShippedChip = {}): ShippedEntry[] {
  return rankShipped(
    listShippedModels(dir).filter((e) => sameGrid(e.grid, grid)),
    chip,
  );
}

export interface ShippedChoice {
  model: Model;
  entry: ShippedEntry;
  /** other shipped models that also fit (not chosen) */
  others: string[];
}

/** The shipped model for a chip config's fabric, or null when none fits (the model file read and its grid checked). */
export function shippedModelFor(cfg: ResolvedConfig, dir?: string): ShippedChoice | null {
  const f = cfg.fabric;
  const grid: GridKey = { L: f.L, rules: resolveRules(f.rules, 'fabric.rules'), boundary: f.boundary };
  // the ideal chip samples alike at any clock: a model fitted to the sticky cycle chip at this
  // clock is not fitted to it (`--ideal --set clock.clock_hz=8e7` chose the 80 MHz model, FD 49.3
  // on the ideal chip against the ideal-trained model's 45.6)
  const fits = fittingModels(grid, dir, {
    clockHz: configShape(cfg).engine === 'ideal' ? undefined : cfg.clock.clock_hz,
    weightBits: cfg.cell.weight_bits,
  });
  if (fits.length === 0) return null;
  const entry = fits[0];
  const model = readModel(entry.path);
  if (!sameGrid(model.grid, grid))
    throw new UserError(`${entry.manifestPath}: grid says ${describeGrid(entry.grid)} but the model file's grid is ${describeGrid(model.grid)}`);
  return { model, entry, others: fits.slice(1).map((e) => e.name) };
}

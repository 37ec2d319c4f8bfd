/** Pieces the CLI commands share: the logger, config options, number parsing, conventions. */
import type { Argv } from 'yargs';
import { UserError } from '../fabric/errors.js';
import { shown, resolveRules, rulesKey, rulesName } from '../fabric/rules.js';
import { resolveConfig, presetNames, DEFAULT_CONFIG, FLAG_NAMES, type ResolvedConfig, type ResolveOptions } from '../sim/config.js';
import { checkArgv, type OptionKinds } from './argv.js';
import { makeProgress } from './progress.js';
import type { RunContext } from '../sim/context.js';
import type { Session } from './session.js';
import { configLabel } from '../sim/label.js';
import type { Model } from '../sim/model.js';
import { MAX_BETA, MAX_LABEL_GAIN, isLabelGain, checkModelFitsFabric } from '../sim/model.js';
import { readManifestBeside, weightBitsMismatch, clockMismatch, type Manifest } from '../sim/manifest.js';
import { maxWorkers, WORKERS_PER_CORE } from '../sim/resources.js';

/** An error for stderr: one line, control characters escaped, at most 2,000 characters. */
export function errorLine(message: string): string {
  const one = message.replace(/\r?\n\s*/g, '; ');
  return shown(one, 2000);
}

/** Does a word name a config (a preset, or a .json file)? For the checks of swallowed positionals. */
function looksLikeConfig(v: string): boolean {
  return v.endsWith('.json') || presetNames().includes(v);
}

/**
 * What every command gets: -h, --quiet / --verbose (the session's log level and progress bars),
 * and the command-line checks of cli/argv.ts (a flag twice, a flag without its value, a number
 * that is not one, a swallowed positional).
 */
export function withConventions<T>(y: Argv<T>, raw: string[], s: Session): Argv<T> {
  return y
    .alias('h', 'help')
    .option('quiet', { type: 'boolean', global: true, describe: 'only warnings and errors on stderr, no progress bar' })
    .option('verbose', { type: 'boolean', global: true, describe: 'debug logs on stderr' })
    .middleware(((a: Record<string, unknown>, yy: { getOptions(): OptionKinds }) => {
      checkArgv(raw, yy.getOptions(), looksLikeConfig);
      if (a.quiet && a.verbose) throw new UserError('--quiet and --verbose: choose one');
      if (a.quiet) {
        s.log.level = 'warn';
        s.progress = false;
      } else if (a.verbose) s.log.level = 'debug';
    }) as never) as unknown as Argv<T>;
}

export interface CommonArgs {
  config?: string;
  set?: string[];
  ideal?: boolean;
  json?: boolean;
}

/**
 * The resolved config of a command's config positional, --set and --ideal, named by its label
 * (sim/label.ts: "my-chip", "dtca-paper+1 set"), the same label every command shows.
 */
export function loadConfig(a: CommonArgs, extraSets: string[] = [], flags: ResolveOptions['flags'] = []): ResolvedConfig {
  const sets = [...(a.set ?? []), ...extraSets];
  const cfg = resolveConfig(a.config, { sets, ideal: a.ideal, flags, names: FLAG_NAMES });
  if (!sets.some((s) => /^name=/.test(s))) cfg.name = configLabel(a.config, sets, Boolean(a.ideal)).label;
  return cfg;
}

export function withConfigOptions<T>(y: Argv<T>) {
  return withConfigChanges(
    y.positional('config', { type: 'string', describe: `preset name (${presetNames().join(', ')}) or config file; default ${DEFAULT_CONFIG}` }),
  );
}

/**
 * --ideal's -h line for a command that refuses it (dtca train: --chip ideal; dtca probe): the flag
 * stays an option, so that it is refused with the command's own line rather than as unknown
 */
export function refusedIdeal<T>(y: Argv<T>, why: string) {
  return y.option('ideal', { type: 'boolean', default: false, describe: `refused: ${why}` });
}

/** --set and --ideal (without the [config] positional: `config validate` names its file itself) */
export function withConfigChanges<T>(y: Argv<T>) {
  return y
    .option('set', { type: 'string', array: true, describe: 'override a config value: --set clock.clock_hz=2e7' })
    .option('ideal', { type: 'boolean', default: false, describe: 'turn every non-ideality off (exact chromatic Gibbs)' });
}

/** `name`: the option without its dashes ('images': --images), or as --help spells it when it has one dash ('-L') */
export function positiveInt(name: string, v: number | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const flag = name.startsWith('-') ? name : `--${name}`;
  if (!Number.isInteger(v) || v < min) throw new UserError(`${flag} ${v}: must be an integer >= ${min}`);
  // past 2^53 a number is no longer an exact integer (1e300 "is" one): a count that big is a typo
  if (v > Number.MAX_SAFE_INTEGER) throw new UserError(`${flag} ${v}: must be an integer <= ${Number.MAX_SAFE_INTEGER}`);
  return v;
}

/** --workers N: an integer in 1..maxWorkers() (sim/resources.ts), the same bound for every command; undefined when not given. */
export function workersFlag(v: number | undefined): number | undefined {
  const max = maxWorkers();
  // any whole number past the bound, however large (1e300), is refused with the bound
  if (v !== undefined && Number.isInteger(v) && v > max)
    throw new UserError(`--workers ${v}: at most ${max} on this machine (${WORKERS_PER_CORE} per core); results do not depend on it`);
  return positiveInt('workers', v);
}

export function parseBeta(v: unknown): number | { start: number; end: number } | undefined {
  if (v === undefined) return undefined;
  const text = String(v);
  const m = /^([-+0-9.eE]+)(?::([-+0-9.eE]+))?$/.exec(text);
  const num = (x: string) => {
    const n = Number(x);
    if (!Number.isFinite(n) || n <= 0) throw new UserError(`--beta ${text}: expected a positive number or START:END, e.g. 0.8:1.2`);
    // the range a model file's beta is held to (sim/model.ts)
    if (n > MAX_BETA) throw new UserError(`--beta ${text}: ${x} is beyond ${MAX_BETA}, the largest beta a model may hold`);
    return n;
  };
  if (!m) throw new UserError(`--beta ${text}: expected a positive number or START:END, e.g. 0.8:1.2`);
  return m[2] === undefined ? num(m[1]) : { start: num(m[1]), end: num(m[2]) };
}

/**
 * The chip a model file runs on (dtca eval MODEL, dtca model tune): the config (preset or file,
 * default dtca-paper) with the seed and --set values on top, and the model's grid as dtca run takes
 * it (adoptedGrid: when neither a config nor a --set of the grid is named); a grid the command line
 * names is held to the model with run's one-line refusal (sim/model.ts checkModelFitsFabric), before
 * anything is generated. Chip 'cycle' is that config as it is, 'ideal' every non-ideality off but the
 * chip's weight precision (the chip dtca train trains on), 'exact' every non-ideality off with exact
 * weights (--ideal).
 */
export function modelChipConfig(model: Model, o: { config?: string; set?: string[]; seed?: number; chip: string }): ResolvedConfig {
  if (o.chip !== 'ideal' && o.chip !== 'cycle' && o.chip !== 'exact') throw new UserError(`--chip ${o.chip}: ideal or cycle`);
  const sets = [...(o.seed === undefined ? [] : [`seed=${o.seed}`]), ...(o.set ?? [])];
  const named = resolveConfig(o.config, { sets, names: FLAG_NAMES });
  // the model's grid when the command line names none (a config, or a --set of the grid), as dtca run
  // takes it; a grid named is the user's, and one that is not the model's is refused in run's words
  // (these commands took the model's grid over a config's without a word)
  const grid = adoptedGrid({ config: o.config, set: o.set }, model, named);
  const base = grid.length === 0 ? named : resolveConfig(o.config, { sets, flags: grid, names: FLAG_NAMES });
  checkModelFitsFabric(model, base, resolveRules(base.fabric.rules), FLAG_NAMES);
  if (o.chip === 'cycle') return base;
  return resolveConfig(o.config, {
    ideal: true,
    sets: o.chip === 'ideal' ? [...sets, `cell.weight_bits=${JSON.stringify(base.cell.weight_bits)}`] : sets,
    flags: grid,
    names: FLAG_NAMES,
  });
}

/** --label-gain G: a number in [0, MAX_LABEL_GAIN] (yargs gives NaN for text) */
export function labelGainFlag(v: unknown): number {
  if (!isLabelGain(v)) throw new UserError(`--label-gain ${shown(v)}: expected a number in [0, ${MAX_LABEL_GAIN}] (1: no guidance)`);
  return v;
}

/**
 * `--NAME 0,3,7`: decimal integers >= 0 separated by commas (spaces around an item allowed); an
 * empty item, a sign, a fraction, hex or an exponent is refused naming the item.
 */
export function parseIntList(name: string, v: unknown): number[] | undefined {
  if (v === undefined) return undefined;
  const text = String(v);
  return text.split(',').map((item, i) => {
    const x = item.trim();
    if (x === '') throw new UserError(`--${name} ${shown(text)}: item ${i + 1} is empty (expected integers >= 0 separated by commas, e.g. 0,3,7)`);
    const n = Number(x);
    if (!/^\d+$/.test(x) || !Number.isSafeInteger(n))
      throw new UserError(`--${name} ${shown(text)}: ${shown(x)} is not a decimal integer >= 0 (expected integers >= 0 separated by commas, e.g. 0,3,7)`);
    return n;
  });
}

/** The command line's RunContext (sim/context.ts): the session's logger, terminal progress bars and the signal flag. */
export function cliContext(s: Session, stop: () => boolean = () => false): RunContext {
  return {
    log: s.log,
    progress: (total, what) => {
      const p = makeProgress(total, what, s.progress);
      return { update: (n) => p.tick(n), stop: () => p.done() };
    },
    stop,
  };
}

/**
 * The manifest beside a model file (sim/manifest.ts) for a model derived from it, or null when
 * there is none; one that cannot be read is a warning (`consequence` says what is lost), not a stop.
 */
export function manifestBeside(file: string, s: Session, consequence: string): Manifest | null {
  try {
    return readManifestBeside(file)?.manifest ?? null;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    s.log.warn({}, `${e.message}: ${consequence}`);
    return null;
  }
}

/**
 * dtca run (a --model file, or the shipped model the default workload chose) and dtca eval MODEL:
 * a warning when the chip's weight precision is not the one the model was trained for (its manifest's weight_bits; the grid is taken from the model, the
 * precision is not). At info level when the command line set cell.weight_bits itself (a precision
 * study, chosen knowingly).
 */
export function checkTrainedPrecision(file: string, cfg: ResolvedConfig, sets: readonly unknown[] | undefined, s: Session): void {
  const manifest = manifestBeside(file, s, 'the weight precision it was trained for is not checked');
  const msg = weightBitsMismatch(manifest, cfg.cell.weight_bits, file);
  const chose = (path: string) => (sets ?? []).some((x) => new RegExp(`^\\s*${path.replace('.', '\\.')}\\s*=`).test(String(x)));
  if (msg !== null) {
    if (chose('cell.weight_bits')) s.log.info({ model: file, weight_bits: cfg.cell.weight_bits }, msg);
    else s.log.warn({ model: file, weight_bits: cfg.cell.weight_bits }, msg);
  }
  // the clock a model was fitted to on the cycle-accurate chip, as its precision (sim/manifest.ts)
  const clock = clockMismatch(manifest, cfg, file);
  if (clock !== null) {
    if (chose('clock.clock_hz')) s.log.info({ model: file, clock_hz: cfg.clock.clock_hz }, clock);
    else s.log.warn({ model: file, clock_hz: cfg.clock.clock_hz }, clock);
  }
}

/**
 * The model's grid as config flags (`FILE: grid.L` ...), when the command line names no config and
 * no --set of fabric.L, fabric.rules or fabric.boundary, and the config's grid is not the model's
 * already; else none (a grid the user named is held to the model: sim/model.ts
 * checkModelFitsFabric says what differs). dtca run, dtca probe, and dtca eval MODEL and model tune (modelChipConfig).
 */
export function adoptedGrid(a: CommonArgs, m: Model, cfg: ResolvedConfig): NonNullable<ResolveOptions['flags']> {
  if (a.config !== undefined || (a.set ?? []).some((s) => /^\s*fabric(\.(L|rules|boundary))?\s*=/.test(s))) return [];
  const g = m.grid;
  const f = cfg.fabric;
  if (g.L === f.L && g.boundary === f.boundary && rulesKey(g.rules) === rulesKey(resolveRules(f.rules))) return [];
  return [
    { source: `${m.source}: grid.L`, path: 'fabric.L', value: g.L },
    { source: `${m.source}: grid.rules`, path: 'fabric.rules', value: g.rules },
    { source: `${m.source}: grid.boundary`, path: 'fabric.boundary', value: g.boundary },
  ];
}

/**
 * A config that took the model's grid (adoptedGrid): named `LABEL+model grid 16x16 G8` (unless a
 * --set names it), and the info line that says so. Returns the grid as shown ("16x16 G8").
 */
export function adoptGridLabel(a: CommonArgs, m: Model, cfg: ResolvedConfig, log: Session['log']): string {
  const grid = logAdoptedGrid(m, log);
  if (!(a.set ?? []).some((s) => /^name=/.test(s))) cfg.name = `${configLabel(a.config, a.set ?? [], Boolean(a.ideal)).label}+model grid ${grid}`;
  return grid;
}

/** The info line of a chip that took the model's grid (adoptedGrid); returns the grid as shown ("16x16 G8", "24x24 G12 torus"). */
export function logAdoptedGrid(m: Model, log: Session['log']): string {
  const g = m.grid;
  const grid = `${g.L}x${g.L} ${rulesName(g.rules)}${g.boundary !== 'open' ? ` ${g.boundary}` : ''}`;
  log.info({ model: m.source, grid }, `the chip takes the model's grid (${grid}): no config or --set names one`);
  return grid;
}

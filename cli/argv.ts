/**
 * Checks of the command line that yargs does not make, run as a middleware for every command (so
 * commands added later get them too): a flag given twice (yargs would pass an array, or keep one
 * silently), a flag without its value (yargs would run the default), a number that is not written
 * as a decimal number (yargs reads "" as 0, "0x10" as 16, "abc" as NaN), an empty value, and an
 * option with an optional value (--trace) that would swallow what looks like the config positional,
 * and one config value given by two --sets.
 * Each is a UserError of one line that shows what was typed. Also: yargs' own messages as one line.
 */
import { UserError } from '../fabric/errors.js';
import { shown } from '../fabric/rules.js';
import { nearest } from '../sim/config-check.js';
import { repeatedSet } from '../sim/config.js';
import { BUDGET_FILE_KEYS, BUDGET_NAMES } from '../sim/train/budget.js';

export interface OptionKinds {
  /** every declared option (and alias) */
  key: Record<string, unknown>;
  boolean: string[];
  number: string[];
  array: string[];
  count?: string[];
}

/** options whose value may be left out (a bare flag means a default) */
const OPTIONAL_VALUE = new Set(['trace']);

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
/** The name of a `--name` or `--name=value` token as typed, or null for anything else (a value, `--`, a one-dash flag). */
const longName = (t: string): string | null => (t.startsWith('--') && t.length > 2 ? t.slice(2, t.indexOf('=') > 0 ? t.indexOf('=') : undefined) : null);
/** a flag as typed from its kebab name: --images, -L (kebab "-l"), -h */
const flagText = (name: string) => (name.length === 2 && name[0] === '-' ? `-${name[1].toUpperCase()}` : name.length === 1 ? `-${name}` : `--${name}`);

/**
 * Throws a UserError for the first problem of the raw command line `raw`, given the options the
 * selected command declares. `looksLikeConfig(v)` says whether a word names a config (a preset or
 * a .json file), for the --trace check.
 */
export function checkArgv(raw: string[], o: OptionKinds, looksLikeConfig: (v: string) => boolean): void {
  const declared = new Set(Object.keys(o.key).map(kebab));
  const counts = new Set((o.count ?? []).map(kebab));
  const booleans = new Set([...o.boolean, ...(o.count ?? [])].map(kebab));
  const numbers = new Set(o.number.map(kebab));
  const arrays = new Set(o.array.map(kebab));
  const values = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i];
    if (t === '--') break;
    // a one-letter option is written with one dash (-L 16, -L=16)
    const short = /^-([A-Za-z])(?:=|$)/.exec(t);
    const long = longName(t);
    if (!short && long === null) continue;
    const eq = t.indexOf('=');
    let name = kebab(short ? short[1] : long!);
    if (!declared.has(name) && name.startsWith('no-') && booleans.has(name.slice(3))) name = name.slice(3);
    if (!declared.has(name) || counts.has(name)) continue; // unknown flags: yargs' strict mode says so; a count is repeated on purpose
    if (booleans.has(name)) {
      // a switch given a value (--csv -, turned into --csv=- above, or --json=x): yargs would read it as false, silently
      const v = eq > 0 && !short ? t.slice(eq + 1) : null;
      if (v !== null && v !== 'true' && v !== 'false') throw new UserError(`${flagText(name)} ${shown(v)}: ${flagText(name)} takes no value`);
      // a flag without a value, given twice (--ideal --ideal, --ideal --no-ideal): refused like any other flag given twice
      values.set(name, [...(values.get(name) ?? []), t]);
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = t.slice(eq + 1);
    else {
      const next = raw[i + 1];
      const takes = next !== undefined && next !== '--' && (!next.startsWith('-') || next === '-' || DECIMAL.test(next));
      if (takes) {
        value = next;
        i++;
        if (OPTIONAL_VALUE.has(name) && looksLikeConfig(next)) {
          throw new UserError(
            `${flagText(name)} ${shown(next)}: is ${shown(next)} the ${name} file or the config? Write ${flagText(name)}=FILE for a file, or put the config before ${flagText(name)}`,
          );
        }
      } else if (OPTIONAL_VALUE.has(name)) {
        value = undefined;
      } else {
        throw new UserError(`${flagText(name)}: needs a value${numbers.has(name) ? ' (a number)' : ''}`);
      }
    }
    if (value !== undefined) {
      if (value === '') throw new UserError(`${flagText(name)} '': an empty value`);
      if (numbers.has(name) && !DECIMAL.test(value)) throw new UserError(`${flagText(name)} ${shown(value)}: not a number`);
    }
    const list = values.get(name) ?? [];
    list.push(value ?? '(bare)');
    values.set(name, list);
  }
  for (const [name, list] of values) {
    if (list.length > 1 && !arrays.has(name))
      throw new UserError(`${flagText(name)} given ${list.length} times (${list.map((v) => shown(v, 30)).join(', ')}); give it once`);
  }
  // --set is repeatable, one config value each: the same value twice would let the last win silently
  const twice = arrays.has('set') ? repeatedSet(values.get('set') ?? []) : null;
  if (twice) throw new UserError(`--set ${twice.what} given twice (${shown(twice.first, 60)}, ${shown(twice.second, 60)}); give it once`);
  // --seed S is the config's seed: beside a --set of it, one of the two would be ignored
  const seedSet = values.has('seed') && arrays.has('set') ? (values.get('set') ?? []).find((v) => repeatedSet([v, 'seed=0']) !== null) : undefined;
  if (seedSet !== undefined)
    throw new UserError(`--seed ${shown(values.get('seed')![0], 30)} and --set ${shown(seedSet, 60)}: both give the config's seed; give one`);
}

/**
 * `--name -` as `--name=-`: yargs does not take a lone "-" as an option's value, and "-" names
 * standard output (or input) where a command writes (or reads) a file.
 */
export function dashValues(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i];
    if (t === '--') {
      out.push(...raw.slice(i));
      break;
    }
    if (t.startsWith('--') && t.length > 2 && !t.includes('=') && raw[i + 1] === '-') {
      out.push(`${t}=-`);
      i++;
    } else out.push(t);
  }
  return out;
}

/** Flags people try for a config value, and the value's path (a --set gives it). */
const CONFIG_FLAGS: Record<string, string> = {
  grid: 'fabric.L',
  l: 'fabric.L',
  size: 'fabric.L',
  clock: 'clock.clock_hz',
  freq: 'clock.clock_hz',
  frequency: 'clock.clock_hz',
  rules: 'fabric.rules',
  tau: 'rng.tau_rng_s',
  temperature: 'rng.temperature_k',
  vdd: 'power.vdd_v',
  tile: 'fabric.tile.size',
  bits: 'cell.weight_bits',
};

export interface FlagContext {
  /** the command's options (long names) */
  options: string[];
  /** the raw command line */
  raw: string[];
  /** every config value's dotted path (when the command takes --set) */
  configPaths: string[] | null;
  /** the command's options that take no value (booleans, counts) */
  flags?: string[];
  /** every option the command declares, aliases included (for unknown flags typed beside a missing required one) */
  declared?: string[];
  /** the chosen command's usage (`$0 trace inspect <file>`) and its positionals' descriptions */
  usage?: string;
  describe?: Record<string, unknown>;
}

/** `trace inspect: missing <file> (trace file; try --help)`: the command and the argument left out. */
function missingPositional(got: number, ctx: FlagContext | undefined): string | null {
  const words = ctx?.usage?.split(/\s+/).slice(1) ?? [];
  const first = words.findIndex((w) => /^[<[]/.test(w));
  if (first <= 0) return null;
  const needed = words.slice(first).filter((w) => w.startsWith('<'));
  const left = needed.slice(got);
  if (left.length === 0) return null;
  const what = left
    .map((w) => {
      const d = ctx?.describe?.[w.replace(/^<|(\.\.)?>$/g, '')];
      return typeof d === 'string' && d !== '' ? `${w} (${d})` : w;
    })
    .join(', ');
  return `${words.slice(0, first).join(' ')}: missing ${what}; try --help`;
}

/** The flags typed on `raw` (before `--`) that are none of `declared`: their names as typed. */
function unknownTyped(raw: string[], declared: string[]): string[] {
  const known = new Set(declared.map(kebab));
  const out: string[] = [];
  for (const t of raw) {
    if (t === '--') break;
    const name = longName(t);
    if (name === null) continue;
    const k = kebab(name);
    if (!known.has(k) && !(k.startsWith('no-') && known.has(k.slice(3))) && !out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * One unknown flag in dtca's words: the flag the user probably meant (--imgaes: did you mean
 * --images?), or, for a config value given as a flag (--grid 48, --clock 2e7, --clock-hz ...), the
 * --set that gives it (--set fabric.L=48). Null when there is nothing better to say.
 */
export function unknownFlagHint(name: string, ctx: FlagContext): string | null {
  let at = ctx.raw.findIndex((t) => t === `--${name}` || t.startsWith(`--${name}=`) || t === `-${name}` || t.startsWith(`-${name}=`));
  // yargs names a short-flag cluster by its first letter: "o" for -o.csv, "1" for -1,0,3,3
  if (at < 0) at = ctx.raw.findIndex((t) => !t.startsWith('--') && t.startsWith(`-${name}`));
  if (at < 0) return null; // a stray positional, not a flag
  const t = ctx.raw[at];
  // `--csv -o.csv`, `--trace-cells -1,0,3,3`: the value of the option before, read by yargs as short flags
  const prev = ctx.raw[at - 1];
  if (t.startsWith('-') && !t.startsWith('--') && prev?.startsWith('--') && !prev.includes('=') && prev.length > 2) {
    const opt = kebab(prev.slice(2));
    const flags = new Set((ctx.flags ?? []).map(kebab));
    if (ctx.options.map(kebab).includes(opt) && !flags.has(opt)) return `${prev} ${shown(t)}: a value that starts with "-" is written ${prev}=${shown(t)}`;
  }
  const eq = t.indexOf('=');
  const next = ctx.raw[at + 1];
  const value = eq > 0 ? t.slice(eq + 1) : next !== undefined && !next.startsWith('-') ? next : 'VALUE';
  const dashes = t.startsWith('--') ? '--' : '-';
  const typed = `${dashes}${name}`;
  const kebabName = kebab(name);
  if (ctx.configPaths) {
    const key = kebabName.replace(/-/g, '_');
    const path = CONFIG_FLAGS[key.toLowerCase()] ?? ctx.configPaths.find((p) => p === key.replace(/_/g, '.') || p.split('.').pop() === key || p === key);
    if (path) return `${typed}: not an option; a config value is changed with --set: --set ${path}=${value}`;
  }
  // dtca sweep (the command with --train-chip) takes dtca train's budget in --train: `--budget quick`
  // and `--epochs 1` were "unknown argument budget (try --help)"
  if (ctx.options.includes('train-chip') && !ctx.options.includes(kebabName)) {
    if (kebabName === 'budget')
      return `${typed}: not an option of dtca sweep; its training budget is --train ${(BUDGET_NAMES as string[]).includes(value) ? value : 'quick'} (quick, standard or a budget file FILE.json)`;
    if (kebabName === 'workers') return `${typed}: not an option of dtca sweep; it runs points (and model stages) --jobs N at once`;
    // dtca run's --ideal was "unknown argument ideal (try --help)"
    if (kebabName === 'ideal')
      return `${typed}: not an option of dtca sweep (every point already runs beside its ideal twin); to sweep the ideal chip, save it as a config: dtca config show --ideal > ideal.json, then dtca sweep ideal.json ...`;
    const camel = kebabName.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (Object.hasOwn(BUDGET_FILE_KEYS, camel)) {
      const v = value === 'VALUE' ? '...' : /^-?[\d.]+(e-?\d+)?$|^(true|false)$/.test(value) ? value : JSON.stringify(value);
      return `${typed}: not an option of dtca sweep; dtca train's options go in a budget file: --train FILE.json holding {"${camel}": ${v}} (the rest from quick)`;
    }
  }
  const near = nearest(
    kebabName,
    ctx.options.filter((o) => o.length > 1),
  );
  if (near) return `${typed}: unknown option; did you mean --${near}? (try --help)`;
  if (ctx.configPaths) {
    const alias = nearest(
      kebabName.replace(/-/g, '_'),
      Object.keys(CONFIG_FLAGS).filter((k) => k.length > 2),
    );
    if (alias) return `${typed}: unknown option; did you mean --set ${CONFIG_FLAGS[alias]}=${value}? (a config value is changed with --set)`;
  }
  return null;
}

/** dtca's commands, and the commands of those that have their own (cli/commands/*.ts). */
export const COMMANDS = [
  'run',
  'train',
  'eval',
  'experiment',
  'model',
  'sweep',
  'compare',
  'data',
  'area',
  'energy-table',
  'probe',
  'config',
  'trace',
  'rng',
  'bench',
];
export const SUBCOMMANDS: Record<string, string[]> = {
  model: ['new', 'info', 'tune'],
  trace: ['inspect', 'export'],
  config: ['show', 'validate', 'schema'],
  sweep: ['plan', 'run', 'train', 'collect', 'slurm'],
  experiment: ['central'],
};

/**
 * yargs' "Did you mean run?" for a command it does not know, in dtca's words: the word typed, the
 * command it is not one of, and the nearest command only when it is near (`dtca foo` was "Did you
 * mean run?", `dtca model xyz` "Did you mean new?"). Null when the word typed cannot be found.
 */
function unknownCommand(raw: string[]): string | null {
  const words = raw.filter((t) => !t.startsWith('-'));
  let typed: string | undefined;
  let where = 'dtca';
  let known = COMMANDS;
  if (words[0] !== undefined && !COMMANDS.includes(words[0])) typed = words[0];
  else if (words[0] !== undefined && SUBCOMMANDS[words[0]] && words[1] !== undefined && !SUBCOMMANDS[words[0]].includes(words[1])) {
    typed = words[1];
    where = `dtca ${words[0]}`;
    known = SUBCOMMANDS[words[0]];
  }
  if (typed === undefined) return null;
  const near = nearest(typed, known);
  return `${shown(typed)}: not a command of ${where}; ${near ? `did you mean ${near}?` : `its commands: ${known.join(', ')}`} (try ${where} --help)`;
}

/** yargs' messages (some span lines) as one line in dtca's words. */
export function yargsMessage(msg: string, ctx?: FlagContext): string {
  if (/^Did you mean \S+\?$/.test(msg.trim()) && ctx) {
    const line = unknownCommand(ctx.raw);
    if (line) return line;
  }
  const unknownArgs = /^Unknown arguments?: (.*)$/.exec(msg.trim());
  if (unknownArgs && ctx) {
    for (const name of unknownArgs[1].split(/,\s*/)) {
      const hint = unknownFlagHint(name, ctx);
      if (hint) return hint;
    }
  }
  const invalid = /^Invalid values:\s*Argument: ([\w-]+), Given: (.*), Choices: (.*)$/s.exec(msg.trim());
  if (invalid) {
    const choices = invalid[3].replace(/"/g, '').split(/,\s*/).join(', ');
    return `--${invalid[1]} ${invalid[2].replace(/"/g, '')}: expected one of ${choices}`;
  }
  const few = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(msg.trim());
  if (few) return missingPositional(Number(few[1]), ctx) ?? `missing ${Number(few[2]) - Number(few[1]) === 1 ? 'an argument' : 'arguments'} (try --help)`;
  const missing = /^Missing required argument: (.*)$/.exec(msg.trim());
  // an unknown flag first (yargs reports a missing required one before it): `--gainz 1` is the mistake, not the --out left out
  const stray = missing && ctx?.declared ? unknownTyped(ctx.raw, ctx.declared) : [];
  if (stray.length > 0) return yargsMessage(`Unknown argument${stray.length > 1 ? 's' : ''}: ${stray.join(', ')}`, ctx);
  if (missing)
    return (
      missing[1]
        .split(/,\s*/)
        .map((m) => `--${m}`)
        .join(', ') + ': required'
    );
  const unknown = /^Unknown arguments?: (.*)$/.exec(msg.trim());
  if (unknown) {
    // yargs names an unknown --bogsu-flag twice (bogsu-flag, bogsuFlag): only the form typed
    const names = unknown[1].split(/,\s*/);
    const typed = (n: string) => ctx?.raw.some((t) => t === `--${n}` || t.startsWith(`--${n}=`)) ?? false;
    const kept = names.filter((n, i) => {
      const twin = names.findIndex((m, j) => j !== i && m !== n && kebab(m) === kebab(n));
      if (twin < 0) return true;
      return typed(n) === typed(names[twin]) ? i < twin : typed(n);
    });
    return `unknown argument${kept.length > 1 ? 's' : ''} ${shown(kept.join(', '), 120)} (try --help)`;
  }
  return msg.replace(/\s*\n\s*/g, '; ').trim();
}

/** Pieces the CLI commands share: the logger, config options, number parsing. */
import type { Argv } from 'yargs';
import { UserError } from '../fabric/errors.js';
import { resolveConfig, presetNames, DEFAULT_CONFIG, type ResolvedConfig, type ResolveOptions } from './config.js';
import { makeLogger } from './log.js';

export const log = makeLogger();

export interface CommonArgs {
  config?: string;
  set?: string[];
  ideal?: boolean;
  json?: boolean;
}

export function loadConfig(a: CommonArgs, extraSets: string[] = [], flags: ResolveOptions['flags'] = []): ResolvedConfig {
  return resolveConfig(a.config, { sets: [...(a.set ?? []), ...extraSets], ideal: a.ideal, flags });
}

export function withConfigOptions<T>(y: Argv<T>) {
  return y
    .positional('config', { type: 'string', describe: `preset name (${presetNames().join(', ')}) or config file; default ${DEFAULT_CONFIG}` })
    .option('set', { type: 'string', array: true, describe: 'override a config value: --set clock.clock_hz=2e7' })
    .option('ideal', { type: 'boolean', default: false, describe: 'turn every non-ideality off (exact chromatic Gibbs)' });
}

export function positiveInt(name: string, v: number | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min) throw new UserError(`--${name} ${v}: must be an integer >= ${min}`);
  return v;
}

export function parseBeta(v: unknown): number | { start: number; end: number } | undefined {
  if (v === undefined) return undefined;
  const text = String(v);
  const m = /^([-+0-9.eE]+)(?::([-+0-9.eE]+))?$/.exec(text);
  const num = (x: string) => {
    const n = Number(x);
    if (!Number.isFinite(n) || n <= 0) throw new UserError(`--beta ${text}: expected a positive number or START:END, e.g. 0.8:1.2`);
    return n;
  };
  if (!m) throw new UserError(`--beta ${text}: expected a positive number or START:END, e.g. 0.8:1.2`);
  return m[2] === undefined ? num(m[1]) : { start: num(m[1]), end: num(m[2]) };
}

export function parseIntList(name: string, v: unknown): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = String(v).split(',').filter((x) => x.trim() !== '');
  return parts.map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0) throw new UserError(`--${name} ${String(v)}: expected comma-separated integers >= 0`);
    return n;
  });
}


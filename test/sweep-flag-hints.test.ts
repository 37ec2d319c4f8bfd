// dtca sweep takes dtca train's budget in --train (a preset or a budget file). An architect who
// wrote `dtca sweep ... --train --budget quick` or `--train quick --epochs 1` (dtca train's flags)
// got "unknown argument budget (try --help)" / "unknown argument epochs": now the line says where
// the option goes.
import { describe, it, expect } from 'vitest';
import { yargsMessage } from '../cli/argv.js';
import { dtca } from './helpers/cli.js';

const sweepOptions = ['axis', 'grid', 'train', 'train-chip', 'model-cache', 'jobs', 'images', 'stages', 'out'];
const ctx = (raw: string[]) => ({ options: sweepOptions, raw, configPaths: null, flags: [] });

describe("dtca train's options given to dtca sweep", () => {
  it('--budget: the budget is --train', () => {
    expect(yargsMessage('Unknown argument: budget', ctx(['sweep', '--train', 'x.json', '--budget', 'standard']))).toBe(
      '--budget: not an option of dtca sweep; its training budget is --train standard (quick, standard or a budget file FILE.json)',
    );
  });

  it("a training option: a budget file holding it, by the file's key name", () => {
    expect(yargsMessage('Unknown argument: epochs', ctx(['sweep', '--train', 'quick', '--epochs', '1']))).toBe(
      `--epochs: not an option of dtca sweep; dtca train's options go in a budget file: --train FILE.json holding {"epochs": 1} (the rest from quick)`,
    );
    expect(yargsMessage('Unknown arguments: neg-start, negStart', ctx(['sweep', '--neg-start=noise']))).toMatch(/holding \{"negStart": "noise"\}/);
    expect(yargsMessage('Unknown argument: workers', ctx(['sweep', '--workers', '2']))).toMatch(/--jobs N/);
  });

  it('dtca run\'s --ideal: the ideal chip as a config file (was "unknown argument ideal")', () => {
    expect(yargsMessage('Unknown argument: ideal', ctx(['sweep', '--grid', '16,24', '--ideal']))).toBe(
      '--ideal: not an option of dtca sweep (every point already runs beside its ideal twin); to sweep the ideal chip, save it as a config: dtca config show --ideal > ideal.json, then dtca sweep ideal.json ...',
    );
  });

  it('other commands are not told about dtca sweep', () => {
    const run = { options: ['out', 'images'], raw: ['run', '--epochs', '1'], configPaths: null, flags: [] };
    expect(yargsMessage('Unknown argument: epochs', run)).toBe('unknown argument epochs (try --help)');
  });

  it('the command line says it in one line, exit 2', () => {
    const r = dtca(['sweep', '--axis', 'fabric.L=24', '--train', 'quick', '--epochs', '1', '--out', '/nonexistent/s']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `dtca: --epochs: not an option of dtca sweep; dtca train's options go in a budget file: --train FILE.json holding {"epochs": 1} (the rest from quick)`,
    );
  });
});

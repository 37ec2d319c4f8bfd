// A new user's mistakes with the short commands (trace export, model, probe, compare, rng, area,
// energy-table, config, data): each is exit 2 with one line naming what and where, checked before
// any output is written.
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca } from './helpers/cli.js';

let dir: string;
let trace: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dtca-audit-'));
  const r = dtca(['run', '--images', '1', '--sweeps', '2', '--trace', '--out', join(dir, 'run')]);
  expect(r.code, r.stderr).toBe(0);
  trace = join(dir, 'run', 'trace.dtct');
});

/** Exit 2, one line on stderr, no stack trace. */
function refused(r: { code: number | null; stderr: string }, msg: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(msg);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('trace export: every output checked before the first is written', () => {
  it('--csv and --vcd naming one file are refused up front (the VCD was written, then the CSV refused, exit 2)', () => {
    const out = join(dir, 'same.csv');
    refused(dtca(['trace', 'export', trace, '--csv', out, '--vcd', out]), /--csv .*same\.csv and --vcd .*same\.csv name the same file/);
    expect(existsSync(out)).toBe(false);
  });

  it('a --csv that cannot be replaced is refused before the VCD is written', () => {
    const vcd = join(dir, 'first.vcd');
    const stats = join(dir, 'run', 'stats.json');
    refused(dtca(['trace', 'export', trace, '--vcd', vcd, '--csv', stats]), /--csv .*stats\.json: .* is not a CSV export written by dtca/);
    expect(existsSync(vcd)).toBe(false);
  });

  it('an --npy directory that cannot take the export is refused before the VCD is written', () => {
    const vcd = join(dir, 'second.vcd');
    refused(dtca(['trace', 'export', trace, '--vcd', vcd, '--npy', join(dir, 'run')]), /--npy .*run: not empty/);
    expect(existsSync(vcd)).toBe(false);
  });

  it('a VCD inside the --npy directory is refused (it made the directory not an export)', () => {
    const npy = join(dir, 'npy-empty');
    mkdirSync(npy);
    refused(dtca(['trace', 'export', trace, '--npy', npy, '--vcd', join(npy, 'w.vcd')]), /--vcd .*w\.vcd: inside the --npy directory/);
    expect(readdirSync(npy)).toEqual([]);
  });

  it('--no-clock without --vcd is refused as --cells, --stages, --chains and --max-mb are', () => {
    const csv = join(dir, 'nc.csv');
    refused(dtca(['trace', 'export', trace, '--csv', csv, '--no-clock']), /^dtca: trace export: --no-clock applies to --vcd only$/);
    expect(existsSync(csv)).toBe(false);
  });
});

describe('a required argument left out is named', () => {
  it('the command and the argument, with its description (was "missing an argument (try --help)")', () => {
    refused(dtca(['trace', 'inspect']), /^dtca: trace inspect: missing <file> \(trace file\); try --help$/);
    refused(dtca(['model', 'info']), /^dtca: model info: missing <file> \(model file\); try --help$/);
    refused(dtca(['config', 'validate']), /^dtca: config validate: missing <file> \(config file or preset name\); try --help$/);
    refused(dtca(['compare']), /^dtca: compare: missing <dirs\.\.> /);
  });
});

describe('flags and paths named as they are', () => {
  it('an unknown flag is not answered with an internal option (bench --foo: "did you mean --row?")', () => {
    const r = dtca(['bench', '--foo']);
    refused(r, /^dtca: unknown argument foo \(try --help\)$/);
    expect(r.stderr).not.toMatch(/--row/);
    refused(dtca(['bench', '--quik']), /did you mean --quick\?/);
  });

  it('compare: a directory that does not exist is "no such directory", not "not a directory"', () => {
    refused(dtca(['compare', join(dir, 'run'), join(dir, 'nowhere')]), /nowhere: no such directory \(give dtca run directories/);
  });
});

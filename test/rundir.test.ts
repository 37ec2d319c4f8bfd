// Default run directories are unique: time to the millisecond plus a suffix, created exclusively.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, mkdirSync, existsSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { claimDefaultDir } from '../sim/io/output.js';
import { CLI } from './helpers/cli.js';

describe('default run directories', () => {
  it('the same millisecond never yields the same directory', () => {
    const parent = mkdtempSync(join(tmpdir(), 'dtca-claim-'));
    const now = new Date(2026, 0, 2, 3, 4, 5, 6);
    const dirs = Array.from({ length: 40 }, () => claimDefaultDir(parent, 'dtca-paper', now));
    expect(new Set(dirs).size).toBe(40);
    for (const d of dirs) expect(d).toMatch(/\/20260102-030405-006-[0-9a-f]{4}-dtca-paper$/);
    expect(readdirSync(parent).length).toBe(40);
  });

  it('an existing directory is never reused', () => {
    const parent = mkdtempSync(join(tmpdir(), 'dtca-claim-'));
    const now = new Date(2026, 0, 2, 3, 4, 5, 6);
    // occupy a name the claim could pick: it must go around it, leaving the old content alone
    const first = claimDefaultDir(parent, 'x', now);
    writeFileSync(join(first, 'stats.json'), 'old');
    const second = claimDefaultDir(parent, 'x', now);
    expect(second).not.toBe(first);
    expect(readFileSync(join(first, 'stats.json'), 'utf8')).toBe('old');
    expect(readdirSync(second)).toEqual([]);
    mkdirSync(join(parent, 'y'));
    expect(existsSync(join(parent, 'y'))).toBe(true);
  });

  it('4 runs started together leave 4 directories', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dtca-runs-'));
    const one = () =>
      new Promise<number | null>((resolve) => {
        const p = spawn(process.execPath, [CLI, 'run', '--set', 'fabric.L=12', '--images', '1', '--sweeps', '2'], {
          cwd,
          env: { ...process.env, DTCA_LOG: 'warn' },
          stdio: 'ignore',
        });
        p.on('close', resolve);
      });
    const codes = await Promise.all([one(), one(), one(), one()]);
    expect(codes).toEqual([0, 0, 0, 0]);
    const dirs = readdirSync(join(cwd, 'runs'));
    expect(dirs.length).toBe(4);
    for (const d of dirs) expect(existsSync(join(cwd, 'runs', d, 'stats.json'))).toBe(true);
  });
});

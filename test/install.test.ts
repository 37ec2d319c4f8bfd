// The install path docs/commands.md gives (issue 19 item 12): `npm install -g .` from a built
// checkout, offline, puts a `dtca` on PATH that runs from any directory and finds its presets and
// shipped files. Installed into a temporary prefix, so nothing global changes.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, realpathSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, CLI } from './helpers/cli.js';

describe('installing the dtca command', () => {
  it('docs/commands.md gives npm install -g . and it works offline, from another directory', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'commands.md'), 'utf8');
    expect(doc).toMatch(/^npm ci && npm run build\b/m);
    expect(doc).toMatch(/^npm install -g \.\s/m);
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toMatch(/npm install -g \./);
    expect(existsSync(CLI)).toBe(true); // the global setup built dist/
    const prefix = mkdtempSync(join(tmpdir(), 'dtca-prefix-'));
    const npm = spawnSync('npm', ['install', '-g', '.', '--prefix', prefix, '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect(npm.status, npm.stderr).toBe(0);
    const bin = join(prefix, 'bin', 'dtca');
    // a link to this checkout's built CLI
    expect(realpathSync(bin)).toBe(realpathSync(CLI));
    const elsewhere = mkdtempSync(join(tmpdir(), 'dtca-elsewhere-'));
    const env = { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, DTCA_LOG: 'warn' };
    const v = spawnSync('dtca', ['--version'], { cwd: elsewhere, encoding: 'utf8', env });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    // presets are found from anywhere
    const a = spawnSync('dtca', ['area', 'z1-like', '--json'], { cwd: elsewhere, encoding: 'utf8', env });
    expect(a.status, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).config).toBe('z1-like');
  }, 180_000);
});

// The unit tier spawns nothing: no file listed in test/tiers.ts UNIT imports a way to start a
// process (child_process, the CLI helpers, the CLI-in-a-worker pool, a browser) or the CLI itself
// (its entry, commands, signals; pure helpers such as cli/flags.ts are fine),
// and every listed file exists. (What a file imports is what it can run: the helpers are the
// only roads to a process in this suite.)
import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UNIT, SYSTEM } from './tiers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SPAWNERS = [
  /['"]node:child_process['"]/,
  /['"]child_process['"]/,
  /helpers\/cli(-pool)?\.js['"]/,
  /playwright/,
  /['"]\.\.?\/(\.\.\/)*cli\/(main|common|signals|commands\/)/,
  /execa|cross-spawn/,
];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.ts') ? [relative(ROOT, p)] : [];
  });
}

describe('test tiers', () => {
  it('every file named in a tier exists, and no file is in two', () => {
    for (const f of [...UNIT, ...SYSTEM]) expect(existsSync(join(ROOT, f)), f).toBe(true);
    expect(new Set([...UNIT, ...SYSTEM]).size).toBe(UNIT.length + SYSTEM.length);
    expect(testFiles(join(ROOT, 'test')).length).toBeGreaterThan(UNIT.length + SYSTEM.length);
  });

  it('the unit tier imports nothing that starts a process', () => {
    const offenders: string[] = [];
    for (const f of UNIT) {
      const src = readFileSync(join(ROOT, f), 'utf8');
      // code lines that import (not text inside a string, as in lint-layering.test.ts's examples)
      for (const line of src.split('\n').filter((l) => !/^\s*['"`]/.test(l) && /^\s*(import|export)\b|\bimport\(|\brequire\(/.test(l))) {
        if (SPAWNERS.some((re) => re.test(line))) offenders.push(`${f}: ${line.trim()}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

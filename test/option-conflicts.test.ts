// Options that contradict each other are refused with one line (exit 2), not resolved silently by
// "the last one wins": one config value given by two --sets, --seed beside --set seed=..., a sweep's
// --set of a value one of its axes sweeps.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkArgv } from '../cli/argv.js';
import { repeatedSet } from '../sim/config.js';
import { dtca } from './helpers/cli.js';

const refused = (args: string[], line: RegExp, cwd?: string) => {
  const r = dtca(args, { cwd });
  expect(r.stderr.trim()).toMatch(line);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.code).toBe(2);
};

describe('one config value given twice', () => {
  it('repeatedSet: the same path, or a section that holds it', () => {
    expect(repeatedSet(['fabric.L=32', 'fabric.L=48'])).toEqual({ what: 'fabric.L', first: 'fabric.L=32', second: 'fabric.L=48' });
    expect(repeatedSet(['fabric={"L":32}', 'clock.clock_hz=1e7', 'fabric.L=48'])?.what).toBe('fabric.L');
    expect(repeatedSet(['fabric.L=48', 'fabric={"L":32}'])?.what).toBe('fabric.L');
    // different values of one section, or a section that does not hold the other path: both apply
    expect(repeatedSet(['fabric.L=32', 'fabric.rules="G8"', 'fabric.tile={"size":4}', 'fabric.tile.link_latency_cycles=1'])).toBeNull();
    expect(repeatedSet(['fabric.L', 'fabric.L'])).toBeNull(); // malformed: setLayer says so
  });

  it('checkArgv refuses two --sets of one path and --seed beside --set seed', () => {
    const kinds = { key: { set: 1, seed: 1, out: 1 }, boolean: [], number: ['seed'], array: ['set'] };
    const check = (raw: string[]) => () => checkArgv(raw, kinds, () => false);
    expect(check(['run', '--set', 'fabric.L=32', '--set=fabric.L=48'])).toThrow(/^--set fabric\.L given twice \(fabric\.L=32, fabric\.L=48\); give it once$/);
    expect(check(['run', '--set', 'fabric.L=32', '--set', 'fabric.L=32'])).toThrow(/given twice/);
    expect(check(['run', '--set', 'seed=4', '--seed', '3'])).toThrow(/^--seed 3 and --set seed=4: both give the config's seed; give one$/);
    expect(check(['run', '--set', 'fabric.L=32', '--set', 'fabric.rules="G8"', '--seed', '3'])).not.toThrow();
  });

  it('on the command line: run, train, eval and sweep', () => {
    refused(['run', '--set', 'fabric.L=32', '--set', 'fabric.L=48'], /^dtca: --set fabric\.L given twice \(fabric\.L=32, fabric\.L=48\); give it once$/);
    refused(['train', '--out', 'x.mp', '--set', 'fabric.L=32', '--set', 'fabric={"L":48}'], /^dtca: --set fabric\.L given twice/);
    refused(['eval', 'm.mp', '--set', 'clock.clock_hz=1e7', '--set', 'clock.clock_hz=2e7'], /^dtca: --set clock\.clock_hz given twice/);
    refused(['sweep', '--axis', 'seed=1,2', '--set', 'fabric.L=16', '--set', 'fabric.L=24'], /^dtca: --set fabric\.L given twice/);
    refused(['run', '--seed', '3', '--set', 'seed=4'], /^dtca: --seed 3 and --set seed=4: both give the config's seed; give one$/);
  });

  it('sweep: a value both fixed (--set, a plan set, --seed) and swept (an axis) is refused; a plan file may not set one value twice', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-conflicts-'));
    const out = join(dir, 'sw');
    refused(
      ['sweep', 'plan', '--set', 'fabric.L=32', '--axis', 'fabric.L=16,24', '--out', out],
      /^dtca: --set fabric\.L=32 and --axis fabric\.L: fabric\.L is both fixed and swept; drop one$/,
    );
    refused(
      ['sweep', 'plan', '--set', 'fabric={"L":32}', '--grid', '16,24', '--out', out],
      /^dtca: --set fabric=\{"L":32\} and --grid: fabric\.L is both fixed and swept/,
    );
    refused(
      ['sweep', 'plan', '--seed', '3', '--axis', 'seed=1,2', '--out', out],
      /^dtca: --seed 3 and --axis seed: the seed is both fixed and swept; drop one$/,
    );
    writeFileSync(join(dir, 'p1.json'), JSON.stringify({ set: ['fabric.L=16', 'fabric.L=24'] }));
    refused(
      ['sweep', 'plan', '--plan', 'p1.json', '--out', out],
      /^dtca: --plan p1\.json: set: fabric\.L given twice \(fabric\.L=16, fabric\.L=24\); give it once$/,
      dir,
    );
    writeFileSync(join(dir, 'p2.json'), JSON.stringify({ set: ['fabric.L=16'], axes: { 'clock.clock_hz': [1e7] } }));
    refused(
      ['sweep', 'plan', '--plan', 'p2.json', '--axis', 'fabric.L=16,24', '--out', out],
      /^dtca: --plan p2\.json: set fabric\.L=16 and --axis fabric\.L: fabric\.L is both fixed/,
      dir,
    );
    refused(
      ['sweep', 'plan', '--plan', 'p2.json', '--set', 'clock.clock_hz=2e7', '--out', out],
      /^dtca: --set clock\.clock_hz=2e7 and --plan p2\.json: axes clock\.clock_hz: clock\.clock_hz is both fixed/,
      dir,
    );
    expect(existsSync(out)).toBe(false);
    // a flag's --set over the plan file's set of the same value is the documented override
    const r = dtca(['sweep', 'plan', '--plan', 'p2.json', '--set', 'fabric.L=24', '--set', 'fabric.rules="G8"', '--out', out], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

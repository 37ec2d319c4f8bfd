// End to end: `dtca run --trace` on a DTM writes chains x stages x sweeps sweep records that the
// TypeScript and Python readers load, with thinning honoured.
import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dtca, ROOT } from './helpers/cli.js';
import { readTrace, unpackStates } from '../traces/reader.js';

const havePython = spawnSync('/usr/bin/python3', ['-c', 'import msgpack, numpy'], { encoding: 'utf8' }).status === 0;

describe('dtca run --trace', () => {
  it('records every sweep of every stage of every chain; the final sweep states match the readout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-trace-run-'));
    const r = dtca(['run', '--set', 'fabric.L=48', '--images', '3', '--sweeps', '7', '--trace', '--out', dir, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    const T = s.T;
    let sweeps = 0;
    let header: Record<string, unknown> | null = null;
    let end: Record<string, unknown> | null = null;
    for await (const rec of readTrace(join(dir, 'trace.dtct'))) {
      if (rec.type === 'header') header = rec as unknown as Record<string, unknown>;
      if (rec.type === 'sweep') {
        sweeps++;
        expect(unpackStates(rec).length).toBe(48 * 48);
      }
      if (rec.type === 'end') end = rec as unknown as Record<string, unknown>;
    }
    expect(sweeps).toBe(3 * T * 7);
    expect(header).not.toBeNull();
    expect((end!.energy_j as Record<string, number>).total).toBeCloseTo(s.energy_j.total, 20);
    if (!havePython) {
      if (process.env.CI) throw new Error('/usr/bin/python3 cannot import msgpack and numpy (install python3-msgpack python3-numpy)');
      console.warn('skipping the Python half: /usr/bin/python3 lacks msgpack or numpy');
      return;
    }
    const py = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        `import sys; sys.path.insert(0, 'traces'); import dtca_trace as d; h, t = d.load(sys.argv[1]); print(t.states.shape[0], t.states.shape[1], int(t.states.max()))`,
        join(dir, 'trace.dtct'),
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(py.stderr).toBe('');
    expect(py.stdout.trim()).toBe(`${3 * T * 7} ${48 * 48} 1`);
  });

  it('thinning: every 3rd sweep of stage 0 for chain 1 only, cells in a rectangle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-trace-thin-'));
    const r = dtca([
      'run',
      '--set',
      'fabric.L=48',
      '--images',
      '3',
      '--sweeps',
      '7',
      '--trace',
      join(dir, 't.dtct'),
      '--trace-every',
      '3',
      '--trace-stages',
      '0',
      '--trace-chains',
      '1',
      '--trace-cells',
      '2,3,9,5',
      '--out',
      dir,
    ]);
    expect(r.code).toBe(0);
    const got: [number, number, number, number][] = [];
    for await (const rec of readTrace(join(dir, 't.dtct'))) {
      if (rec.type === 'sweep') got.push([rec.chain, rec.stage, rec.sweep, unpackStates(rec).length]);
    }
    expect(got).toEqual([
      [1, 0, 2, 24],
      [1, 0, 5, 24],
      [1, 0, 6, 24],
    ]);
  });

  it('--trace on a Boltzmann-machine run is refused with exit 2', () => {
    const r = dtca(['run', '--workload', 'bm', '--sweeps', '2', '--trace']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--trace/);
  });
});

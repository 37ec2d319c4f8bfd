// The command line: run --json fields, config commands, and bad input -> exit 2 with one clear line.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { dtca } from './helpers/cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dtca-cli-'));
});

const L4 = ['--set', 'fabric.L=4', '--set', 'fabric.rules=[[0,1]]', '--set', 'fabric.boundary="torus"'];

function model4(edges: unknown[], extra: Record<string, unknown> = {}) {
  return {
    format: 'dtca-model',
    version: 1,
    grid: { L: 4, rules: [[0, 1]], boundary: 'torus' },
    beta: 1,
    stages: [{ bias: new Array(16).fill(0.1), edges }],
    ...extra,
  };
}

describe('dtca run', () => {
  it('--json prints stats with the documented fields and writes the run directory', () => {
    const out = join(dir, 'run1');
    const file = join(dir, 'm.json');
    writeFileSync(
      file,
      JSON.stringify(
        model4([
          [0, 1, 0.5],
          [1, 2, -0.3],
          [0, 4, 0.2],
        ]),
      ),
    );
    const r = dtca(['run', ...L4, '--model', file, '--chains', '3', '--sweeps', '200', '--warmup', '20', '--seed', '4', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    for (const k of ['cells', 'degree', 'clock_hz', 'cycles', 'sim_time_s', 'cell_updates', 'energy_j', 'wall_s', 'updates_per_ns', 'moments']) {
      expect(s).toHaveProperty(k);
    }
    expect(s.cells).toBe(16);
    expect(s.degree).toBe(4);
    expect(s.cell_updates).toBe(3 * 220 * 16);
    expect(s.moments.mean_spin).toHaveLength(16);
    expect(s.moments.edge_corr).toHaveLength(3);
    const sum = Object.entries(s.energy_j as Record<string, number>)
      .filter(([k]) => k !== 'total')
      .reduce((a, [, v]) => a + v, 0);
    expect(s.energy_j.total).toBe(sum);
    for (const f of ['config.json', 'manifest.json', 'stats.json']) expect(existsSync(join(out, f))).toBe(true);
    expect(readdirSync(out).filter((f) => f.includes('.tmp'))).toEqual([]);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.seed).toBe(4);
    expect(cfg.fabric.L).toBe(4);
    const man = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(man.seed).toBe(4);
    expect(man.command).toContain('--model');
  });

  it('reads msgpack models, including typed arrays', () => {
    const file = join(dir, 'm.msgpack');
    const bias = new Float64Array(16).fill(-0.2);
    const m = model4([], {});
    (m.stages[0] as Record<string, unknown>).bias = { dtype: 'float64', shape: [16], data: new Uint8Array(bias.buffer) };
    (m.stages[0] as Record<string, unknown>).edges = {
      i: { dtype: 'int32', shape: [1], data: new Uint8Array(Int32Array.of(0).buffer) },
      j: { dtype: 'int32', shape: [1], data: new Uint8Array(Int32Array.of(1).buffer) },
      w: { dtype: 'float32', shape: [1], data: new Uint8Array(Float32Array.of(0.5).buffer) },
    };
    writeFileSync(file, pack(m));
    const r = dtca(['run', ...L4, '--model', file, '--sweeps', '50', '--out', join(dir, 'run2'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).moments.edge_corr).toHaveLength(1);
  });

  it('default run (random model on the paper chip) prints a table', () => {
    const r = dtca(['run', '--sweeps', '20', '--out', join(dir, 'run3')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/updates per ns/);
    expect(r.stdout).toMatch(/4900 cells, degree 12/);
  });
});

describe('dtca config', () => {
  it('show resolves presets and --set; schema is a JSON Schema; validate accepts a good file', () => {
    const r = dtca(['config', 'show', '--set', 'clock.clock_hz=2e7']);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c.clock.clock_hz).toBe(2e7);
    expect(c.fabric.L).toBe(70);
    const s = JSON.parse(dtca(['config', 'schema']).stdout);
    expect(s.type).toBe('object');
    expect(s.properties.fabric).toBeDefined();
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify({ extends: 'dtca-paper', name: 'mine', clock: { clock_hz: 5e6 } }));
    const v = dtca(['config', 'validate', f]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/valid/);
  });
});

describe('bad input: exit 2, one line naming what and where', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['unknown config key', () => ['config', 'show', '--set', 'clock.speed=3'], /clock\.speed: unknown key/],
    ['wrong type', () => ['config', 'show', '--set', 'fabric.L="big"'], /fabric\.L/],
    ['clock <= 0', () => ['run', '--set', 'clock.clock_hz=0', '--sweeps', '1'], /clock\.clock_hz/],
    ['grid too small for its rules', () => ['run', '--set', 'fabric.L=8', '--sweeps', '1'], /fabric.rules\[2\] = \(9,10\): grid L=8 is too small/],
    ['non-bipartite rules', () => ['run', '--set', 'fabric.rules=[[0,1],[1,1]]', '--sweeps', '1'], /a\+b is even/],
    ['missing config file', () => ['run', 'nope.json'], /nope\.json/],
    ['missing model file', () => ['run', '--model', join(dir, 'absent.json')], /absent\.json: cannot read/],
    ['unknown flag', () => ['run', '--frobnicate'], /frobnicate/],
    ['bad chains', () => ['run', '--chains', '0'], /--chains/],
    [
      'model edge that is not a wire',
      () => {
        const f = join(dir, 'bad-edge.json');
        writeFileSync(f, JSON.stringify(model4([[0, 5, 0.3]])));
        return ['run', ...L4, '--model', f];
      },
      /edges\[0\] = \(0, 5\).*no wire/,
    ],
    [
      'infinite weight',
      () => {
        const f = join(dir, 'inf.json');
        writeFileSync(f, JSON.stringify(model4([[0, 1, 1]])).replace('[0,1,1]', '[0,1,1e999]'));
        return ['run', ...L4, '--model', f];
      },
      /edges\[0\] weight: Infinity is not a finite number/,
    ],
    [
      'NaN bias (msgpack)',
      () => {
        const f = join(dir, 'nan.msgpack');
        const m = model4([]);
        (m.stages[0] as { bias: number[] }).bias[3] = NaN;
        writeFileSync(f, pack(m));
        return ['run', ...L4, '--model', f];
      },
      /bias\[3\]: NaN is not a finite number/,
    ],
    [
      // a config named on the command line is held to the model (without one, run takes the model's grid: cli-ux)
      'model grid differs from the named config',
      () => {
        const f = join(dir, 'grid.json');
        writeFileSync(f, JSON.stringify(model4([])));
        return ['run', 'dtca-paper', '--model', f];
      },
      /grid\.L = 4 but the config's fabric\.L = 70/,
    ],
  ];
  it('a refused run leaves no run directory behind', () => {
    const out = join(dir, 'refused');
    const r = dtca(['run', '--images', '2', '--sweeps', '3', '--trace', '--trace-every', '0', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--trace-every 0/);
    expect(existsSync(out)).toBe(false);
  });

  it('a BM run with a beta schedule applies it (not silently ignored)', () => {
    const f = join(dir, 'bm-beta.json');
    writeFileSync(f, JSON.stringify(model4([[0, 1, 0.5]])));
    const run = (beta: string) =>
      JSON.parse(dtca(['run', ...L4, '--model', f, '--sweeps', '100', '--warmup', '0', '--beta', beta, '--out', join(dir, `b${beta}`), '--json']).stdout);
    const cold = run('0.01:0.02');
    const hot = run('0.01:3');
    expect(cold.moments.edge_corr[0]).not.toBe(hot.moments.edge_corr[0]);
    // stats.json says what ran: the schedule and how the chains began (no stage: the model has one)
    expect(hot.beta).toEqual({ start: 0.01, end: 3 });
    expect(hot.init).toBe('hinton');
    expect(hot.stage).toBeUndefined();
  });

  it('a --stage run says which stage of the model ran and its --init, in stats.json and the table', () => {
    const m = join(dir, 'dtm8.json');
    expect(
      dtca(['model', 'new', '--stages', '2', '-L', '8', '--rules', 'G8', '--visible', '4', '--weights', 'random:0.25', '--seed', '1', '--out', m]).code,
    ).toBe(0);
    const args = ['run', '--set', 'fabric.L=8', '--set', 'fabric.rules="G8"', '--model', m, '--stage', '1', '--chains', '1', '--sweeps', '2', '--init', 'up'];
    const r = dtca([...args, '--out', join(dir, 'stage1')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^stage\s+1 of the model, as a Boltzmann machine$/m);
    expect(r.stdout).toMatch(/^chains x sweeps\s+1 x \(100 warm-up \+ 2\), up start$/m);
    // an 8x8 grid in the paper chip's 14x14-cell tiles: one tile, said in the singular
    expect(r.stdout).toMatch(/^grid\s+64 cells, degree 8, 1 tile$/m);
    const st = JSON.parse(readFileSync(join(dir, 'stage1', 'stats.json'), 'utf8'));
    // a run this small updates about 1e-4 cells per ns, which the table printed as 0.0000: now three
    // significant digits below 0.01 (four decimals above it): either way within 0.5 % of stats.json
    const rate = /^updates per ns\s+(\S+)$/m.exec(r.stdout)![1];
    expect(Math.abs(Number(rate) / st.updates_per_ns - 1)).toBeLessThanOrEqual(0.005 + 1e-12);
    expect([st.stage, st.init, st.beta]).toEqual([1, 'up', 1]);
  });

  for (const [what, args, re] of cases) {
    it(what, () => {
      const r = dtca(args());
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^dtca: /);
      expect(lines[0]).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }
});

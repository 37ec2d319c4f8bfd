// Issue 11, class by class: nothing lost, nothing crashes, nothing silently wrong. Most cases run
// the CLI's main() in-process (a worker thread, test/helpers/cli-pool.ts); a few need a process of
// their own: a file-size limit (ulimit -f), signals, two runs at once.
import { renderChart } from '../sim/io/plot.js';
import { centralChartSpec, centralTable, type Row } from '../cli/commands/experiment.js';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { Packr } from 'msgpackr';
import { CliPool, contractBroken, errorLines, DIST_CLI, type CliResult } from './helpers/cli-pool.js';
import { ROOT } from './helpers/cli.js';
import { TINY_TRAIN_ARGS } from './helpers/train-args.js';
import { checkArgv, yargsMessage } from '../cli/argv.js';
import { prettyLine, roundFigure } from '../cli/log.js';
import { makeProgress, writeAboveBar, REDRAW_MS } from '../cli/progress.js';
import { estimateRun, checkResources, maxWorkers, BYTES, MAX_EXACT, type RunShape } from '../sim/resources.js';
import { claimRunDir } from '../sim/io/output.js';
import { checkTarget, noteInput, resetOutputSession, writeFileSafe, SafeFile } from '../fabric/files.js';
import { UserError } from '../fabric/errors.js';

let pool: CliPool;
let dir: string;
const SMALL = ['--set', 'fabric.L=8', '--set', 'fabric.rules=[[0,1]]', '--set', 'fabric.tile.size=8'];
const BM4 = ['--set', 'fabric.L=4', '--set', 'fabric.rules=[[0,1]]', '--set', 'fabric.tile.size=4', '--sweeps', '5'];
let model: string; // a small DTM model (JSON)
let modelMp: string; // the same, msgpack
let trace: string; // a complete trace of a run with it

const q = { DTCA_LOG: 'warn' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dtca-harden-'));
  pool = new CliPool(20_000);
  model = join(dir, 'm.json');
  modelMp = join(dir, 'm.mp');
  for (const f of [model, modelMp]) {
    const r = await pool.run(['model', 'new', '--L', '8', '--rules', '[[0,1]]', '--visible', '10', '--stages', '2', '--weights', 'random:0.3', '--out', f], q);
    expect(r.code).toBe(0);
  }
  const r = await pool.run(['run', '--model', model, ...SMALL, '--sweeps', '20', '--images', '2', '--out', join(dir, 'base'), '--trace'], q);
  expect(r.code).toBe(0);
  trace = join(dir, 'base', 'trace.dtct');
});

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

/** exit 2 and one line "dtca: ..." matching `re` */
function refused(r: CliResult, re: RegExp): void {
  expect(contractBroken(r)).toBeNull();
  expect(r.code).toBe(2);
  expect(errorLines(r.stderr)).toHaveLength(1);
  expect(errorLines(r.stderr)[0]).toMatch(re);
}

function tmpFiles(d: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(p, e.name));
      else if (/\.tmp-\d+/.test(e.name)) out.push(join(p, e.name));
    }
  };
  walk(d);
  return out;
}

const bm = (stage: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  format: 'dtca-model',
  version: 1,
  grid: { L: 4, rules: [[0, 1]], boundary: 'open' },
  beta: 1,
  stages: [{ bias: new Array(16).fill(0), edges: [[0, 1, 0.5]], ...stage }],
  ...over,
});

describe('outputs never replace what they must not', () => {
  it('an output path equal to an input is refused and the input is untouched', async () => {
    const t = join(dir, 'in.dtct');
    writeFileSync(t, readFileSync(trace));
    refused(await pool.run(['trace', 'export', t, '--csv', t], q), /is an input of this command/);
    expect(readFileSync(t)).toEqual(readFileSync(trace));
    const m = join(dir, 'in.mp');
    writeFileSync(m, readFileSync(modelMp));
    refused(await pool.run(['run', '--model', m, ...SMALL, '--sweeps', '2', '--images', '1', '--out', join(dir, 'r-in'), '--trace', m], q), /in\.mp/);
    expect(readFileSync(m)).toEqual(readFileSync(modelMp));
    expect(existsSync(join(dir, 'r-in'))).toBe(false);
  });

  it('a FIFO, a device, a directory and a file dtca did not write are never replaced', async () => {
    const fifo = join(dir, 'fifo');
    spawnSync('mkfifo', [fifo]);
    refused(await pool.run(['trace', 'export', trace, '--csv', fifo], q), /is a FIFO/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    const dev = join(dir, 'dev-full');
    if (spawnSync('mknod', [dev, 'c', '1', '7']).status === 0) {
      refused(await pool.run(['trace', 'export', trace, '--csv', dev], q), /is a device/);
      expect(lstatSync(dev).isCharacterDevice()).toBe(true);
    }
    refused(await pool.run(['trace', 'export', trace, '--csv', dir], q), /is a directory/);
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'my notes\n');
    refused(await pool.run(['trace', 'export', trace, '--csv', notes], q), /not a CSV export written by dtca/);
    refused(await pool.run(['model', 'new', '--L', '8', '--rules', '[[0,1]]', '--visible', '4', '--out', notes], q), /not a model file written by dtca/);
    refused(
      await pool.run(['run', '--model', model, ...SMALL, '--sweeps', '2', '--images', '1', '--out', join(dir, 'r-notes'), '--trace', notes], q),
      /not a trace written by dtca/,
    );
    expect(readFileSync(notes, 'utf8')).toBe('my notes\n');
    // an earlier export, or a symlink to one, is replaced: it is dtca's
    const csv = join(dir, 'ok.csv');
    expect((await pool.run(['trace', 'export', trace, '--csv', csv], q)).code).toBe(0);
    expect((await pool.run(['trace', 'export', trace, '--csv', csv], q)).code).toBe(0);
    const link = join(dir, 'link.csv');
    symlinkSync(csv, link);
    expect((await pool.run(['trace', 'export', trace, '--csv', link], q)).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    symlinkSync(join(dir, 'nowhere', 'x.csv'), join(dir, 'dangling.csv'));
    refused(await pool.run(['trace', 'export', trace, '--csv', join(dir, 'dangling.csv')], q), /symbolic link to nowhere/);
    expect(tmpFiles(dir)).toEqual([]);
  });

  it('model new names a missing directory or a directory in one line', async () => {
    refused(
      await pool.run(['model', 'new', '--L', '8', '--rules', '[[0,1]]', '--visible', '4', '--out', join(dir, 'no', 'such', 'm.json')], q),
      /does not exist/,
    );
    refused(await pool.run(['model', 'new', '--L', '8', '--rules', '[[0,1]]', '--visible', '4', '--out', dir], q), /is a directory/);
  });

  it('the rules in-process: inputs, claims, kinds, short files', () => {
    resetOutputSession();
    const d = mkdtempSync(join(dir, 'unit-'));
    const input = join(d, 'input.json');
    writeFileSync(input, '{}');
    noteInput(input);
    expect(() => checkTarget(input, { label: '--x', kind: 'json' })).toThrow(/is an input of this command/);
    const a = join(d, 'a.csv');
    const f = new SafeFile(a, { label: '--csv', kind: 'csv' });
    expect(() => new SafeFile(a, { label: '--csv', kind: 'csv' })).toThrow(/already being written/);
    f.write('chain,stage,sweep,x\n');
    expect(existsSync(a)).toBe(false); // not until it is complete
    f.commit();
    expect(readFileSync(a, 'utf8')).toBe('chain,stage,sweep,x\n');
    writeFileSafe(a, 'chain,stage,sweep,y\n', { label: '--csv', kind: 'csv' });
    expect(readFileSync(a, 'utf8')).toBe('chain,stage,sweep,y\n');
    expect(() => checkTarget('', { label: '--csv', kind: 'csv' })).toThrow(UserError);
    expect(readdirSync(d).sort()).toEqual(['a.csv', 'input.json']);
    resetOutputSession();
  });
});

describe('run directories', () => {
  it('a re-run into a used directory is refused, --force clears a run directory only, a refused run leaves nothing', async () => {
    const out = join(dir, 'used');
    const base = ['run', '--model', model, ...SMALL, '--sweeps', '2', '--images', '1', '--out', out];
    expect((await pool.run(base, q)).code).toBe(0);
    const before = readFileSync(join(out, 'stats.json'), 'utf8');
    refused(await pool.run(base, q), /not empty .*--force/);
    // a failed re-run (refused before it starts) leaves the old run as it was
    refused(await pool.run([...base, '--set', 'power.vdd_v=1e300'], q), /--set power\.vdd_v=1e300: power\.vdd_v = 1e\+300: must be <= 1000/);
    expect(readFileSync(join(out, 'stats.json'), 'utf8')).toBe(before);
    const r = await pool.run([...base, '--force'], q);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).status).toBe('complete');
    const mine = join(dir, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'thesis.tex'), 'x');
    refused(await pool.run(['run', '--model', model, ...SMALL, '--sweeps', '2', '--images', '1', '--out', mine, '--force'], q), /not a dtca run directory/);
    expect(readdirSync(mine)).toEqual(['thesis.tex']);
    refused(await pool.run(['run', '--model', model, ...SMALL, '--sweeps', '2', '--images', '1', '--out', ''], q), /--out '': an empty value/);
    // refused after the checks that need the model: nothing left, not even a trace elsewhere
    const outside = join(dir, 'outside.dtct');
    refused(
      await pool.run(
        ['run', '--model', model, ...SMALL, '--sweeps', '2', '--images', '1', '--out', join(dir, 'r-ts'), '--trace', outside, '--trace-stages', '9'],
        q,
      ),
      /--trace-stages 9: stage 9 does not exist/,
    );
    expect(existsSync(outside)).toBe(false);
    // a rectangle with its corners swapped names the flag (it said "trace cells 3,3,1,1", the writer's words)
    refused(
      await pool.run(
        ['run', '--model', model, ...SMALL, '--sweeps', '2', '--images', '1', '--out', join(dir, 'r-tc'), '--trace', outside, '--trace-cells', '3,3,1,1'],
        q,
      ),
      /^dtca: --trace-cells 3,3,1,1: need x0 <= x1 and y0 <= y1/,
    );
    refused(
      await pool.run(
        ['run', '--model', model, ...SMALL, '--sweeps', '2', '--images', '1', '--out', join(dir, 'r-tc'), '--trace', outside, '--trace-cells', '1,2,3'],
        q,
      ),
      /^dtca: --trace-cells 1,2,3: expected x0,y0,x1,y1/,
    );
    expect(existsSync(outside)).toBe(false);
    expect(existsSync(join(dir, 'r-ts'))).toBe(false);
    refused(await pool.run(['run', '--out', '/proc/dtca-x', '--sweeps', '1', '--images', '1'], q), /cannot create \/proc\/dtca-x/);
  });

  it('claims are exclusive: default names carry the time and a random suffix; the manifest says running until the run ends', () => {
    resetOutputSession();
    const cwd = process.cwd();
    const d = mkdtempSync(join(dir, 'claims-'));
    process.chdir(d);
    try {
      const now = new Date(2026, 0, 2, 3, 4, 5);
      const a = claimRunDir(undefined, 'x', { now });
      const b = claimRunDir(undefined, 'x', { now });
      expect(a.path).not.toBe(b.path);
      for (const p of [a.path, b.path]) expect(p).toMatch(/[/\\]runs[/\\]20260102-030405-000-[0-9a-f]{4}-x$/);
      expect(JSON.parse(readFileSync(join(a.path, 'manifest.json'), 'utf8')).status).toBe('running');
      a.finish('complete');
      expect(JSON.parse(readFileSync(join(a.path, 'manifest.json'), 'utf8')).status).toBe('complete');
      b.abandon(new UserError('refused'));
      expect(existsSync(b.path)).toBe(false);
    } finally {
      process.chdir(cwd);
      resetOutputSession();
    }
  });

  it('two runs started together get two complete run directories', async () => {
    const cwd = mkdtempSync(join(dir, 'two-'));
    const args = [DIST_CLI, 'run', '--model', model, ...SMALL, '--sweeps', '20', '--images', '1'];
    const codes = await Promise.all(
      [0, 1].map(() => new Promise<number | null>((res) => spawn(process.execPath, args, { cwd, stdio: 'ignore' }).on('exit', res))),
    );
    expect(codes).toEqual([0, 0]);
    const runs = readdirSync(join(cwd, 'runs'));
    expect(runs).toHaveLength(2);
    for (const r of runs) expect(JSON.parse(readFileSync(join(cwd, 'runs', r, 'manifest.json'), 'utf8')).status).toBe('complete');
  });
});

/** Run dtca in bash with a file-size limit (KiB). */
function limited(kib: number, args: string[], cwd = dir) {
  const cmd = `ulimit -f ${kib}; exec "${process.execPath}" "${DIST_CLI}" ${args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`;
  const r = spawnSync('bash', ['-c', cmd], { cwd, encoding: 'utf8', env: { ...process.env, DTCA_LOG: 'warn' } });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('a full disk (a file-size limit) ends with exit 2 and one line', () => {
  it('trace export: no CSV, no temporary file', () => {
    const out = join(dir, 'full.csv');
    const r = limited(4, ['trace', 'export', trace, '--csv', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dtca: .*full\.csv: file size limit reached \(EFBIG\)/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
    expect(tmpFiles(dir)).toEqual([]);
  });

  it('a run with a trace: the trace reads to its last whole record, the manifest says failed', () => {
    const out = join(dir, 'full-run');
    const r = limited(64, ['run', '--model', model, ...SMALL, '--sweeps', '2000', '--images', '2', '--out', out, '--trace']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/trace\.dtct: file size limit reached \(EFBIG\)/);
    expect(existsSync(join(out, 'stats.json'))).toBe(false);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).status).toBe('failed');
    expect(tmpFiles(out)).toEqual([]);
    const ins = spawnSync(process.execPath, [DIST_CLI, 'trace', 'inspect', join(out, 'trace.dtct'), '--json'], { encoding: 'utf8' });
    expect(ins.status).toBe(0);
    const s = JSON.parse(ins.stdout);
    expect(['truncated', 'incomplete']).toContain(s.status);
    expect(s.sweep_records).toBeGreaterThan(0);
  });

  it("train: its lock file's write failing is one line naming the lock, and no empty lock is left (was a stack trace, exit 1)", () => {
    const d = mkdtempSync(join(dir, 'full-train-'));
    const m = join(d, 'm.mp');
    const r = limited(0, ['train', ...TINY_TRAIN_ARGS, '--out', m], d);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`dtca: --out ${m}: cannot create ${m}.lock (file size limit reached, EFBIG)`]);
    expect(readdirSync(d)).toEqual([]);
  });

  it('pictures and JSON of a run, and model new: no orphaned temporary files', () => {
    const out = join(dir, 'full-pics');
    const r = limited(1, ['run', '--model', model, ...SMALL, '--sweeps', '2', '--images', '16', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/EFBIG/);
    expect(existsSync(join(out, 'stats.json'))).toBe(false);
    expect(tmpFiles(out)).toEqual([]);
    const m = join(dir, 'full-model.json');
    const r2 = limited(8, ['model', 'new', '--L', '40', '--rules', '[[0,1]]', '--visible', '4', '--out', m]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/^dtca: .*full-model\.json: file size limit reached/);
    expect(existsSync(m)).toBe(false);
    expect(tmpFiles(dir)).toEqual([]);
  });
});

describe('validated before running: one line naming the source and showing the value', () => {
  const cases: [string, string[] | ((d: string) => string[]), RegExp, Record<string, string>?][] = [
    [
      'model without grid.rules',
      (d) => ['run', '--model', file(d, 'norules.json', bm({}, { grid: { L: 4, boundary: 'open' } })), ...BM4],
      /grid\.rules: missing/,
    ],
    [
      'model with rules: 5',
      (d) => ['run', '--model', file(d, 'r5.json', bm({}, { grid: { L: 4, rules: 5, boundary: 'open' } })), ...BM4],
      /grid\.rules: 5 is not a preset name/,
    ],
    [
      'model with a bad image shape',
      () => ['run', '--model', withShape([-1, -1000]), ...SMALL, '--sweeps', '2', '--images', '1'],
      /image_shape = \[-1,-1000\]/,
    ],
    ['a value that overflows an energy', ['run', '--set', 'power.vdd_v=1e300'], /^dtca: --set power\.vdd_v=1e300: power\.vdd_v = 1e\+300: must be <= 1000$/],
    ['a clock that overflows a time', ['run', '--set', 'clock.clock_hz=1e-320'], /clock\.clock_hz = 1e-320: must be >= 0\.001/],
    ['a grid whose cell indices do not fit 32 bits', ['run', '--set', 'fabric.L=60000'], /fabric\.L = 60000: must be <= 46340/],
    ['--out twice', ['run', '--out', 'a', '--out', 'b'], /--out given 2 times \(a, b\)/],
    ['--csv twice', () => ['trace', 'export', trace, '--csv', 'a.csv', '--csv', 'b.csv'], /--csv given 2 times/],
    ['model new --rules [1,2]', ['model', 'new', '--rules', '[1,2]', '--out', 'x.json'], /--rules: \[1,2\] is not a preset name/],
    ['a bad DTCA_LOG', ['config', 'show'], /^dtca: DTCA_LOG=bogus: expected one of fatal, error, warn, info, debug, trace, silent$/, { DTCA_LOG: 'bogus' }],
    [
      'an edge given in both orders',
      (d) => [
        'run',
        '--model',
        file(
          d,
          'dup.json',
          bm({
            edges: [
              [0, 1, 0.5],
              [1, 0, -0.5],
            ],
          }),
        ),
        ...BM4,
      ],
      /edges\[1\] = \(1, 0\) appears twice, in either order/,
    ],
    [
      'a fractional edge index',
      (d) => ['run', '--model', file(d, 'frac.json', bm({ edges: { i: [0.5], j: [1], w: [0.5] } })), ...BM4],
      /edges\.i\[0\]: cell 0\.5 is not an integer in 0\.\.15/,
    ],
    [
      'an edge index 2^32 (typed, float64)',
      (d) => ['run', '--model', typedModel(d, [2 ** 32], 'float64'), ...BM4],
      /edges\.i\[0\]: cell 4294967296 is not an integer/,
    ],
    ['an edge index NaN (typed, float64)', (d) => ['run', '--model', typedModel(d, [NaN], 'float64'), ...BM4], /edges\.i\[0\]: cell NaN is not an integer/],
    [
      'a cell clamped to +1 and -1',
      (d) => [
        'run',
        '--model',
        file(
          d,
          'clamp.json',
          bm({
            clamp: [
              [3, 1],
              [3, -1],
            ],
          }),
        ),
        ...BM4,
      ],
      /clamp\[1\]: cell 3 is clamped again .*opposite spin/,
    ],
    ["--beta beyond a model's range", ['run', '--beta', '0.8:1e12'], /^dtca: --beta 0\.8:1e12: 1e12 is beyond 1000000, the largest beta a model may hold$/],
    ['model new --beta 0.8:1.2', ['model', 'new', '--beta', '0.8:1.2', '--out', 'x.json'], /a model holds one beta/],
    ['--model without a value', ['run', '--model'], /^dtca: --model: needs a value$/],
    ['--sweeps without a value', ['run', '--sweeps', '--images', '1'], /^dtca: --sweeps: needs a value \(a number\)$/],
    ['--trace swallowing the config', ['run', '--trace', 'z1-like'], /--trace z1-like: is z1-like the trace file or the config\?/],
    ['--trace-every without --trace', ['run', '--trace-every', '2'], /--trace-every: thins a trace; add --trace/],
    // 1e15 < 2^53: a count flag itself stops at 2^53 (below), the run's counts here
    ['--sweeps 1e15', ['run', '--sweeps', '1e15'], /counts past 2\^53/],
    ['--sweeps 1e18', ['run', '--sweeps', '1e18'], /^dtca: --sweeps 1000000000000000000: must be an integer <= 9007199254740991$/],
    [
      '--images 1e9',
      ['run', '--images', '1e9', '--sweeps', '10'],
      /this run needs about .* of memory \(chains .*Use fewer chains or images, .*--force to try anyway$/,
    ],
    ['--chains 1e9', ['run', '--workload', 'bm', '--chains', '1e9', '--sweeps', '1e6'], /counts past 2\^53/],
    [
      'model new -L 60000 (the option as --help names it)',
      (d) => ['model', 'new', '--L', '60000', '--out', join(d, 'x.mp')],
      /^dtca: -L 60000: at most 46340 \(cell indices are 32-bit\)$/,
    ],
    ['model new beyond memory', (d) => ['model', 'new', '--L', '8000', '--out', join(d, 'x.mp')], /this model needs about [\d.]+ GiB of memory/],
    ['model new too large for JSON', (d) => ['model', 'new', '--L', '3000', '--out', join(d, 'x.json')], /write msgpack/],
    [
      'sweep --sweeps 1e15',
      (d) => ['sweep', '--param', 'clock.clock_hz', '--values', '1e7', '--sweeps', '1e15', '--out', join(d, 'sw')],
      /point 1 of 1 \(clock\.clock_hz=10000000\): its run would count .* counts past 2\^53/,
    ],
    ['clock.analog_substeps=1e9', ['run', '--set', 'clock.analog_substeps=1e9'], /clock\.analog_substeps = 1000000000: must be <= 10000/],
    ['--workers 200', ['run', '--workers', '200'], /--workers 200: at most \d+ on this machine/],
    // however large: the same bound and message, not the 2^53 limit of other counts
    ['--workers 1e300', ['run', '--workers', '1e300'], /^dtca: --workers 1e\+300: at most \d+ on this machine \(4 per core\); results do not depend on it$/],
    ['a grid beyond memory', ['run', '--set', 'fabric.L=20000'], /this run needs about [\d.]+ GiB of memory \(.*\); the machine has/],
    ['--set errors name --set', ['run', '--set', 'clock.clock_hz=-5'], /^dtca: --set clock\.clock_hz=-5: clock\.clock_hz = -5: must be >= 0\.001$/],
    ['--seed abc', ['run', '--seed', 'abc'], /^dtca: --seed abc: not a number$/],
    ['--seed 1.5', ['run', '--seed', '1.5'], /^dtca: --seed 1\.5: must be an integer >= 0$/],
    ['--mapping foo', ['run', '--mapping', 'foo'], /^dtca: --mapping foo: expected one of reprogram, pipeline$/],
    ['an unknown rule preset lists the known ones', ['run', '--set', 'fabric.rules="G99"'], /unknown rule preset "G99" \(known: G8, G12, G16/],
    [
      'a model without a version',
      (d) => ['run', '--model', file(d, 'nover.json', bm({}, { version: undefined })), ...BM4],
      /version: missing \(this dtca reads version 1\)/,
    ],
    ['--set __proto__.x=1', ['config', 'show', '--set', '__proto__.x=1'], /"__proto__" is not a config key/],
    // a lone "-" reaches the command as "": was "the current directory is a directory"
    ['a config named "-"', ['energy-table', '-'], /^dtca: config "": an empty name; give a preset \(dtca-paper, z1-like\) or a config file$/],
    ['--set constructor.prototype.x=1', ['config', 'show', '--set', 'constructor.prototype.x=1'], /"constructor" is not a config key/],
    ['garbage in a model file is not echoed raw', (d) => ['run', '--model', garbage(d), ...BM4], /version = \\x1b\[2J.*\.\.\.: not a format version/],
    // main's newer commands: outputs checked before hours of work, "-" where a file is needed
    ['run --engine foo', ['run', '--engine', 'foo'], /^dtca: --engine foo: expected one of auto, reference, wasm, batch$/],
    ['train --out -', ['train', '--out', '-'], /^dtca: --out -: training writes the model, its log and checkpoints to files; name a file$/],
    // more than the split holds was trained on all of it, the manifest saying --limit 70000
    [
      'train --limit beyond the train split',
      (d) => ['train', '--limit', '70000', '--out', join(d, 'lim.mp')],
      /^dtca: --limit 70000: the Fashion-MNIST train split has 60000 images$/,
    ],
    [
      'train --out over a foreign file',
      (d) => ['train', '--out', file(d, 'notes.mp', 'my notes')],
      /notes\.mp exists and is not a model file written by dtca; refusing to replace it/,
    ],
    [
      'train --out under /proc',
      ['train', '--out', '/proc/dtca-x.mp', '--limit', '10'],
      /--out \/proc\/dtca-x\.mp: cannot create \/proc\/dtca-x\.mp\.(ckpt|lock)/,
    ],
    ['eval --train-classifier --out under /proc', ['eval', '--train-classifier', '--out', '/proc/dtca-x'], /^dtca: \/proc\/dtca-x: .*while creating dtca-x$/],
    ['experiment --out under /proc', ['experiment', 'central', '--out', '/proc/dtca-x'], /--out \/proc\/dtca-x: cannot create \/proc\/dtca-x/],
    [
      'experiment --out a foreign directory',
      (d) => (mkdirSync(join(d, 'exp'), { recursive: true }), ['experiment', 'central', '--out', dirname(file(join(d, 'exp'), 'notes.txt', 'my notes'))]),
      /not empty and holds no experiment/,
    ],
    [
      'experiment continued with other scoring flags than its results were made with',
      (d) => (
        mkdirSync(join(d, 'exp2'), { recursive: true }),
        ['experiment', 'central', '--images', '10', '--out', dirname(file(join(d, 'exp2'), 'results.jsonl', centralRow({ epoch: 1, images: 20 })))]
      ),
      /^dtca: --out .*exp2: holds an experiment made with --images 20 \(not 10\); give the same flags to continue it, or another --out$/,
    ],
    [
      'experiment results.jsonl with a null row (was a TypeError stack trace)',
      (d) => (mkdirSync(join(d, 'exp3'), { recursive: true }), ['experiment', 'central', '--out', dirname(file(join(d, 'exp3'), 'results.jsonl', null))]),
      /^dtca: .*exp3\/results\.jsonl: line 1: expected a result row \(an object\), got null$/,
    ],
    [
      'experiment results.jsonl with a row of the wrong types (was "--images undefined (not 500)")',
      (d) => (
        mkdirSync(join(d, 'exp4'), { recursive: true }),
        ['experiment', 'central', '--out', dirname(file(join(d, 'exp4'), 'results.jsonl', { variant: 'dtm', epoch: 1, fd: '1', images: 20 }))]
      ),
      /^dtca: .*exp4\/results\.jsonl: line 1: sweeps_per_stage = undefined: expected a whole number$/,
    ],
    [
      'experiment results.jsonl with an FD standard error that is not a number',
      (d) => (
        mkdirSync(join(d, 'expse'), { recursive: true }),
        ['experiment', 'central', '--out', dirname(file(join(d, 'expse'), 'results.jsonl', centralRow({ epoch: 1, images: 500, fd_se: -1 })))]
      ),
      /^dtca: .*expse\/results\.jsonl: line 1: fd_se = -1: expected a finite number >= 0 or null$/,
    ],
    [
      // the cosine schedule spans the epochs: a model trained for 2 is not the start of a 3-epoch run
      'experiment continued with more epochs than its models were trained for',
      (d) => {
        const x = join(d, 'exp5');
        mkdirSync(x, { recursive: true });
        const flags = { steps: 50, batch: 64, lr: 0.016, placement: 'random', 'acp-lag': 100, images: 500, sweeps: 250, set: [] };
        file(x, 'experiment.json', { epochs: 2, ...flags });
        file(x, 'mebm.mp', 'a model trained for 2 epochs');
        writeFileSync(join(x, 'mebm.mp.train.jsonl'), '{"stage":0,"epoch":1,"rho":0,"lambda":0}\n{"stage":0,"epoch":2,"rho":0,"lambda":0}\n');
        return ['experiment', 'central', '--epochs', '3', '--variants', 'mebm', '--out', x];
      },
      /^dtca: --out .*exp5: holds an experiment made with --epochs 2 \(not 3\); give the same flags to continue it, or another --out$/,
    ],
    [
      // an experiment.json written before --epochs was kept: the model's training log tells
      'experiment continued with more epochs than an older directory trained',
      (d) => {
        const x = join(d, 'exp6');
        mkdirSync(join(x, 'dtm.mp.epochs'), { recursive: true });
        file(x, 'experiment.json', { steps: 50, batch: 64, lr: 0.016, placement: 'random', 'acp-lag': 100, images: 500, sweeps: 250, set: [] });
        file(x, 'dtm.mp', 'a model trained for 2 epochs');
        writeFileSync(join(x, 'dtm.mp.train.jsonl'), '{"stage":0,"epoch":1,"rho":0,"lambda":0}\n{"stage":0,"epoch":2,"rho":0,"lambda":0}\n');
        writeFileSync(join(x, 'results.jsonl'), [1, 2].map((epoch) => JSON.stringify(centralRow({ epoch, images: 500 })) + '\n').join(''));
        return ['experiment', 'central', '--epochs', '3', '--variants', 'dtm', '--out', x];
      },
      /^dtca: --epochs 3: .*exp6\/dtm\.mp was trained for 2 epochs; give --epochs 2 to continue it, or another --out$/,
    ],
    [
      'experiment --variants with an unknown model',
      ['experiment', 'central', '--variants', 'dtm,ebm'],
      /^dtca: --variants dtm,ebm: unknown variant 'ebm' \(choose from mebm, dtm, dtm-acp\)$/,
    ],
    ['probe --vcd -', ['probe', '--cells', '0', '--vcd', '-'], /^dtca: --vcd -: the VCD is written to a file/],
    [
      'model new with random weights beyond what a model file may hold',
      (d) => [
        'model',
        'new',
        '--L',
        '8',
        '--rules',
        '[[0,1]]',
        '--visible',
        '10',
        '--stages',
        '2',
        '--weights',
        'random:1e300',
        '--out',
        join(d, 'huge-w.json'),
      ],
      /^dtca: --weights random:1e\+300: the scale must be in \[0, 1000000\]/,
    ],
    [
      'train --workers beyond the machine',
      (d) => ['train', '--out', join(d, 'w.mp'), '--workers', '1000'],
      /^dtca: --workers 1000: at most \d+ on this machine/,
    ],
    [
      'eval of a model, --workers beyond the machine',
      ['eval', join(ROOT, 'configs/models/fmnist-t8.mp'), '--workers', '1000', '--images', '2'],
      /^dtca: --workers 1000: at most \d+ on this machine/,
    ],
    [
      'eval of a model with fewer images than classes (names --images, not the --labels eval does not take)',
      ['eval', join(ROOT, 'configs/models/fmnist-t8.mp'), '--images', '5'],
      /^dtca: --images 5: scoring a model generates each of its 10 classes in turn; give --images 10 or more$/,
    ],
    [
      'model tune --workers beyond the machine',
      (d) => ['model', 'tune', join(ROOT, 'configs/models/fmnist-t8.mp'), '--out', join(d, 't.mp'), '--workers', '1000'],
      /^dtca: --workers 1000: at most \d+ on this machine/,
    ],
    ['sweep --out under /proc', ['sweep', '--axis', 'clock.clock_hz=1e7', '--out', '/proc/dtca-x'], /--out \/proc\/dtca-x: cannot create \/proc\/dtca-x/],
  ];

  let d: string;
  beforeAll(() => {
    d = mkdtempSync(join(dir, 'cases-'));
  });
  for (const [name, args, re, env] of cases) {
    it(name, async () => {
      let argv = typeof args === 'function' ? args(d) : args;
      // a run that were wrongly accepted must not write into the repository
      const never = join(d, `never-${name.replace(/\W+/g, '-')}`);
      if (argv[0] === 'run' && !argv.includes('--out')) argv = [...argv, '--out', never];
      const r = await pool.run(argv, { DTCA_LOG: 'warn', ...env });
      refused(r, re);
      expect(r.polluted).toEqual([]);
      expect(existsSync(never)).toBe(false);
    });
  }

  it('train: a batch that cannot fit, a model without a Fashion-MNIST layout, no data: refused before any output', async () => {
    const cases: [string[], RegExp][] = [
      [['--batch', '1e9'], /^dtca: --batch 1000000000: 1 stage\(s\) trained at once would hold at least .* of chains; the machine has/],
      [['--init', model, ...SMALL], /^dtca: the model has 10 image cells .* no Fashion-MNIST image source/],
      [['--data', join(d, 'no-data')], /^dtca: Fashion-MNIST not found: .*no-data does not exist/],
    ];
    for (const [extra, re] of cases) {
      const sub = mkdtempSync(join(d, 'train-'));
      // a --set of fabric.L in the case replaces the base one (one path set twice is refused)
      const base = extra.some((x) => x.startsWith('fabric.L=')) ? [] : ['--set', 'fabric.L=16'];
      const r = await pool.run(['train', '--out', join(sub, 'm.mp'), ...base, '--epochs', '1', '--steps', '1', ...extra], { DTCA_LOG: 'warn' });
      refused(r, re);
      expect(readdirSync(sub), extra.join(' ')).toEqual([]);
    }
  });

  it("train --init: a model whose grid (L, rules, boundary) or stage count is not the training's is refused before any output", async () => {
    const init = join(d, 'init16.mp');
    const torus = join(d, 'torus16.mp');
    expect((await pool.run(['model', 'new', '--L', '16', '--rules', 'G12', '--stages', '2', '--out', init], q)).code).toBe(0);
    expect((await pool.run(['model', 'new', '--L', '16', '--rules', 'G8', '--boundary', 'torus', '--stages', '2', '--out', torus], q)).code).toBe(0);
    const cases: [string[], RegExp][] = [
      [['--set', 'fabric.L=20'], /^dtca: --init .*init16\.mp: the model's grid has fabric\.L = 16 but the training's config has fabric\.L = 20 /],
      [['--set', 'fabric.rules=G8'], /^dtca: --init .*init16\.mp: the model's grid has fabric\.rules = G12 but the training's config has fabric\.rules = G8 /],
      [
        ['--set', 'fabric.rules=G8', '--init', torus],
        /^dtca: --init .*torus16\.mp: the model's grid has fabric\.boundary = torus but the training's config has fabric\.boundary = open /,
      ],
      [['--stages', '3'], /^dtca: --init .*init16\.mp: the model has 2 stages but --stages is 3 /],
    ];
    for (const [extra, re] of cases) {
      const sub = mkdtempSync(join(d, 'train-init-'));
      const r = await pool.run(
        [
          'train',
          '--out',
          join(sub, 'm.mp'),
          ...(extra.some((x) => x.startsWith('fabric.L=')) ? [] : ['--set', 'fabric.L=16']),
          '--epochs',
          '1',
          '--steps',
          '1',
          ...(extra.includes('--init') ? [] : ['--init', init]),
          ...extra,
        ],
        q,
      );
      refused(r, re);
      expect(readdirSync(sub), extra.join(' ')).toEqual([]);
    }
  });

  it('train --slurm, sweep slurm: a resource value sbatch would refuse, or a refusing sbatch, leaves no scripts behind', async () => {
    const TRAIN = ['train', '--set', 'fabric.L=16', '--set', 'fabric.rules="G8"', '--stages', '2', '--steps', '1', '--limit', '300', '--label-gain', '1'];
    for (const [extra, re] of [
      [['--slurm-time', 'banana'], /^dtca: --slurm-time "banana": not a Slurm time limit \(minutes, MM:SS, HH:MM:SS, D-HH/],
      [['--slurm-time', '1:2:3:4'], /^dtca: --slurm-time "1:2:3:4": not a Slurm time limit/],
      [['--slurm-mem', '4.5G'], /^dtca: --slurm-mem "4\.5G": not a Slurm memory size/],
    ] as [string[], RegExp][]) {
      const sub = mkdtempSync(join(d, 'slurm-'));
      refused(await pool.run([...TRAIN, '--out', join(sub, 'm.mp'), '--slurm', ...extra], q), re);
      expect(readdirSync(sub), extra.join(' ')).toEqual([]);
    }
    // a fake sbatch: takes the first job (id 101), refuses the next; scancel notes what it cancels
    const bin = mkdtempSync(join(d, 'bin-'));
    writeFileSync(
      join(bin, 'sbatch'),
      `#!/bin/sh\nif [ -e "${bin}/took" ]; then echo "sbatch: error: Batch job submission failed: Invalid account" >&2; exit 1; fi\ntouch "${bin}/took"; echo 101\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(bin, 'scancel'), `#!/bin/sh\necho "$@" >> "${bin}/cancelled"\n`, { mode: 0o755 });
    const env = { ...q, PATH: `${bin}:${process.env.PATH}` };
    // refused at once: nothing queued, nothing left
    writeFileSync(join(bin, 'took'), '');
    let sub = mkdtempSync(join(d, 'slurm-'));
    refused(
      await pool.run([...TRAIN, '--out', join(sub, 'm.mp'), '--slurm'], env),
      /^dtca: stage array: sbatch refused the job \(exit 1\): .*Invalid account$/,
    );
    expect(readdirSync(sub)).toEqual([]);
    // the stage array taken, the assembling job refused: the array is cancelled, the scripts go
    rmSync(join(bin, 'took'));
    sub = mkdtempSync(join(d, 'slurm-'));
    const r = await pool.run([...TRAIN, '--out', join(sub, 'm.mp'), '--slurm'], env);
    refused(r, /^dtca: assembling job: sbatch refused the job .*Invalid account \(stage array job 101 cancelled\)$/);
    expect(readdirSync(sub)).toEqual([]);
    expect(readFileSync(join(bin, 'cancelled'), 'utf8')).toBe('101\n');
    // sweep slurm: --cpus-per-task, --time and --mem checked before any script is written
    const sw = join(d, 'slurm-sweep');
    expect((await pool.run(['sweep', 'plan', '--grid', '12', '--images', '1', '--stages', '2', '--sweeps', '5', '--out', sw], q)).code).toBe(0);
    const before = readdirSync(sw).sort();
    for (const [extra, re] of [
      [['--cpus-per-task', '1e9'], /^dtca: --cpus-per-task 1000000000: must be an integer in \[1, 65533\]$/],
      [['--time', 'banana'], /^dtca: --time "banana": not a Slurm time limit/],
      [['--mem', 'lots'], /^dtca: --mem "lots": not a Slurm memory size/],
    ] as [string[], RegExp][]) {
      refused(await pool.run(['sweep', 'slurm', sw, ...extra], q), re);
      expect(readdirSync(sw).sort(), extra.join(' ')).toEqual(before);
    }
  });

  it('experiment central: a refused flag leaves no --out directory behind', async () => {
    for (const bad of [
      ['--epochs', '0'],
      ['--lr', '0'],
      ['--workers', '1000'],
      ['--set', 'fabric.L=1'],
    ]) {
      const out = join(d, `exp-${bad[0].slice(2)}`);
      const r = await pool.run(['experiment', 'central', '--out', out, ...bad], { DTCA_LOG: 'warn' });
      refused(r, new RegExp(`^dtca: ${bad[0]}`));
      expect(existsSync(out), bad.join(' ')).toBe(false);
    }
  });

  it('config validate knows what run refuses and lists every problem with its file', async () => {
    const f = (name: string, o: unknown) => file(d, name, o);
    for (const [name, o, re] of [
      ['nonbip.json', { extends: 'dtca-paper', fabric: { rules: [[1, 1]] } }, /fabric\.rules\[0\] = \(1,1\): a\+b is even/],
      ['small.json', { extends: 'dtca-paper', fabric: { L: 5 } }, /fabric\.rules\[2\] = \(9,10\): grid L=5 is too small/],
    ] as [string, unknown, RegExp][]) {
      const v = await pool.run(['config', 'validate', f(name, o)], q);
      expect(v.code).toBe(2);
      expect(v.stdout).toMatch(re);
      refused(await pool.run(['run', f(name, o)], q), re);
    }
    f('base.json', { extends: 'dtca-paper', clock: { clock_hz: -1 } });
    const child = f('child.json', { extends: 'base.json', clock: { phase_cycles: 0 }, power: { vdd_v: 'x' }, bogus: 1 });
    const v = await pool.run(['config', 'validate', child], q);
    refused(v, /child\.json: 4 problems \(listed on standard output\)/);
    const lines = v.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.includes('clock_hz'))).toMatch(/base\.json: clock\.clock_hz = -1: must be >= 0\.001/);
    expect(lines.find((l) => l.includes('phase_cycles'))).toMatch(/child\.json: clock\.phase_cycles = 0: must be >= 1/);
    expect(lines.find((l) => l.includes('vdd_v'))).toMatch(/child\.json: power\.vdd_v = x: expected a number, got a string/);
    expect(lines.find((l) => l.includes('bogus'))).toMatch(/child\.json: bogus: unknown key/);
    refused(await pool.run(['run', child], q), /\(and 3 more problems: dtca config validate .* lists them all\)/);
    const schema = JSON.parse((await pool.run(['config', 'schema'], q)).stdout);
    expect(schema.properties.extends.type).toBe('string');
    expect(schema.required ?? []).toEqual([]); // a file may be partial
  });
});

/** a results.jsonl row of dtca experiment central (cli/commands/experiment.ts rowProblem's fields), with `o` on top */
const centralRow = (o: Record<string, unknown>) => ({
  variant: 'dtm',
  fd: 1,
  clamped_accuracy: 0.1,
  marginal_error: 0.1,
  rho_mean: 0,
  rho_max: 0,
  lambda_mean: 0,
  sweeps_per_stage: 250,
  T: 8,
  ...o,
});

function file(d: string, name: string, o: unknown): string {
  const p = join(d, name);
  writeFileSync(p, JSON.stringify(o));
  return p;
}

function withShape(shape: unknown): string {
  const m = JSON.parse(readFileSync(model, 'utf8'));
  m.dtm.image_shape = shape;
  return file(dir, `shape-${JSON.stringify(shape).replace(/\W/g, '')}.json`, m);
}

function typedModel(d: string, i: number[], dtype: string): string {
  const t = (a: number[], dt: string) => {
    const arr = dt === 'float64' ? Float64Array.from(a) : Int32Array.from(a);
    return { dtype: dt, shape: [a.length], data: new Uint8Array(arr.buffer) };
  };
  const p = join(d, `typed-${i.join('-')}-${dtype}.mp`);
  const m = bm({ edges: { i: t(i, dtype), j: t([1], dtype), w: t([0.5], 'float64') } });
  writeFileSync(p, new Packr({ useRecords: false }).pack(m));
  return p;
}

function garbage(d: string): string {
  const p = join(d, 'garbage.mp');
  writeFileSync(p, new Packr({ useRecords: false }).pack({ format: 'dtca-model', version: '\u001b[2J\u001b[31m' + 'x'.repeat(500) }));
  return p;
}

/** Spawn a run and send `signal` once `ready` matches a stderr log line (after `delayMs`). */
function interrupt(args: string[], ready: RegExp, signal: NodeJS.Signals, delayMs = 0, log = 'info'): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [DIST_CLI, ...args], { cwd: dir, env: { ...process.env, DTCA_LOG: log } });
    let err = '';
    let sent = false;
    p.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (!sent && ready.test(err)) {
        sent = true;
        setTimeout(() => p.kill(signal), delayMs);
      }
    });
    p.on('exit', (code) => resolve({ code, stderr: err }));
  });
}

function inspectBoth(t: string): { ts: Record<string, unknown>; py: { status: string; detail: string } } {
  const ins = spawnSync(process.execPath, [DIST_CLI, 'trace', 'inspect', t, '--json'], { encoding: 'utf8' });
  expect(ins.status).toBe(0);
  const py = spawnSync('/usr/bin/python3', [join(ROOT, 'test/helpers/py_trace_status.py'), t], { encoding: 'utf8' });
  expect(py.status).toBe(0);
  return { ts: JSON.parse(ins.stdout), py: JSON.parse(py.stdout.trim()) };
}

describe('SIGINT and SIGTERM stop a run cleanly', () => {
  const oneLine = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !l.startsWith('{"level":'));

  it('before the first sweep record: a trace with none, read the same by both readers', async () => {
    const out = join(dir, 'sig-early');
    // only stage 0 (the last to run) is traced, so the trace has no sweep record yet
    const r = await interrupt(['run', '--sweeps', '400', '--images', '4', '--out', out, '--trace', '--trace-stages', '0'], /trace estimate/, 'SIGINT');
    expect(r.code).toBe(130);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(oneLine(r.stderr)[0]).toMatch(/^dtca: interrupted by SIGINT at stage \d, image \d before sweep \d+ .*partial results in .*sig-early/);
    const { ts, py } = inspectBoth(join(out, 'trace.dtct'));
    expect(ts.status).toBe('interrupted');
    expect(ts.sweep_records).toBe(0);
    expect(py.status).toBe('interrupted');
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    expect(stats).toMatchObject({ partial: true, status: 'interrupted', signal: 'SIGINT' });
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).status).toBe('interrupted');
    expect(tmpFiles(out)).toEqual([]);
  });

  it('mid-stage: the trace ends with an interrupted record after the sweeps that ran', async () => {
    const out = join(dir, 'sig-mid');
    // once the first stage is done (its records handed to the writer), whatever the machine's load:
    // the signal then lands in the second of eight stages of 3000 sweeps
    const r = await interrupt(['run', '--sweeps', '3000', '--images', '2', '--out', out, '--trace'], /"msg":"stage done"/, 'SIGINT', 0, 'debug');
    expect(r.code).toBe(130);
    expect(oneLine(r.stderr)).toHaveLength(1);
    const { ts, py } = inspectBoth(join(out, 'trace.dtct'));
    expect(ts.status).toBe('interrupted');
    expect(py.status).toBe('interrupted');
    expect(ts.sweep_records).toBeGreaterThan(0);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    const at = (ts.interrupted as { at: { stage: number; sweep: number } }).at;
    expect(stats.stopped_at).toEqual(at);
  });

  it('during the pictures: the statistics are whole, the run directory says interrupted', async () => {
    const out = join(dir, 'sig-pics');
    const r = await interrupt(['run', '--sweeps', '50', '--images', '2', '--out', out, '--trace'], /trace written/, 'SIGINT');
    expect(r.code).toBe(130);
    expect(oneLine(r.stderr)).toHaveLength(1);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    expect(stats).toMatchObject({ partial: true, status: 'interrupted', during: 'pictures' });
    expect(stats.cell_updates).toBeGreaterThan(0); // the run itself finished
    expect(inspectBoth(join(out, 'trace.dtct')).ts.status).toBe('complete');
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).status).toBe('interrupted');
    expect(tmpFiles(out)).toEqual([]);
  });

  it('SIGTERM stops a Boltzmann-machine run with exit 143', async () => {
    const out = join(dir, 'sig-term');
    const r = await interrupt(['run', '--workload', 'bm', '--sweeps', '1000000', '--out', out], /run starting/, 'SIGTERM', 200);
    expect(r.code).toBe(143);
    expect(oneLine(r.stderr)[0]).toMatch(/^dtca: interrupted by SIGTERM at stage 0, chain 0 before sweep \d+/);
    expect(JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')).progress).toEqual({ done: 0, of: 1, unit: 'chains' });
  });
});

describe('command-line conventions', () => {
  it('-h, --quiet, --verbose, "-" for standard output', async () => {
    const h = await pool.run(['-h'], q);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/dtca <command>/);
    const runArgs = ['run', '--model', model, ...SMALL, '--sweeps', '2', '--images', '1'];
    const quiet = await pool.run([...runArgs, '--out', join(dir, 'quiet'), '--quiet'], { DTCA_LOG: null });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    const verbose = await pool.run([...runArgs, '--out', join(dir, 'verbose'), '--verbose'], { DTCA_LOG: null });
    expect(verbose.stderr).toMatch(/"level":20,.*"msg":"stage done"/);
    refused(await pool.run([...runArgs, '--quiet', '--verbose'], q), /choose one/);
    const csv = await pool.run(['trace', 'export', trace, '--csv', '-'], q);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\n')[0]).toMatch(/^chain,stage,sweep,cycle/);
    expect(csv.stdout.trim().split('\n')).toHaveLength(1 + 2 * 2 * 20);
    const m = await pool.run(['model', 'new', '--L', '4', '--rules', '[[0,1]]', '--visible', '2', '--stages', '1', '--out', '-'], q);
    expect(JSON.parse(m.stdout).format).toBe('dtca-model');
  });

  it('terminal log lines: one per event, figures rounded, colour unless NO_COLOR', () => {
    const line = JSON.stringify({
      level: 30,
      time: Date.UTC(2026, 0, 1),
      msg: 'run written',
      dir: '/tmp/x',
      wall_s: 0.10335268700000005,
      updates_per_ns: 0.000012384777185328518,
      n: 12,
    });
    const saved = process.env.NO_COLOR;
    try {
      process.env.NO_COLOR = '1';
      const plain = prettyLine(line);
      expect(plain).toMatch(/^\d\d:\d\d:\d\d INFO  run written  dir=\/tmp\/x wall_s=0\.1034 updates_per_ns=1\.238e-5 n=12\n$/);
      delete process.env.NO_COLOR;
      expect(prettyLine(line)).toMatch(/\x1b\[32mINFO/);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
    expect(roundFigure(1234567.891)).toBe('1.235e6');
  });

  it('a log line written while a progress bar is drawn clears the bar first and draws it again below', () => {
    let out = '';
    const tty = { isTTY: true, write: (t: string) => ((out += t), true) } as unknown as NodeJS.WriteStream;
    const bar = makeProgress(4, 'steps', true, tty);
    // before the first step there is no estimate of the time left (it read "~0.0 s left")
    expect(out).toMatch(/^\r\[ +\] 0\/4 steps {2}0\.0 s elapsed $/);
    bar.tick(4);
    const drawn = out.slice(out.lastIndexOf('\r') + 1);
    expect(drawn).toMatch(/^\[#+\] 4\/4 steps /);
    out = '';
    writeAboveBar(tty, '12:00:00 INFO  epoch  stage=0\n');
    expect(out).toBe(`\r\x1b[K12:00:00 INFO  epoch  stage=0\n${drawn}`);
    bar.done();
    out = '';
    writeAboveBar(tty, 'after\n');
    expect(out).toBe('after\n');
    expect(roundFigure(42)).toBe('42');
  });

  it('a bar with no step for a while still shows the time passing (a sweep waiting for its twins read "0.0 s elapsed")', async () => {
    let out = '';
    const tty = { isTTY: true, write: (t: string) => ((out += t), true) } as unknown as NodeJS.WriteStream;
    const bar = makeProgress(4, 'points', true, tty);
    await new Promise((r) => setTimeout(r, 2.5 * REDRAW_MS));
    const lines = out.split('\r').filter((l) => l !== '');
    // drawn again at least once without a step, with more time elapsed and still 0/4
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[lines.length - 1]).toMatch(/^\[ +\] 0\/4 points {2}[1-9]\d*\.\d s elapsed $/);
    bar.done();
    out = '';
    await new Promise((r) => setTimeout(r, 1.5 * REDRAW_MS));
    // done stops the redraws
    expect(out).toBe('');
  });

  it('the argv checks and yargs messages, directly', () => {
    const kinds = { key: { out: 1, sweeps: 1, json: 1, trace: 1, set: 1 }, boolean: ['json'], number: ['sweeps'], array: ['set'] };
    const ok = (raw: string[]) => expect(() => checkArgv(raw, kinds, (v) => v === 'z1-like')).not.toThrow();
    const bad = (raw: string[], re: RegExp) => expect(() => checkArgv(raw, kinds, (v) => v === 'z1-like')).toThrow(re);
    ok(['run', '--out', 'a', '--sweeps', '-3', '--set', 'a=1', '--set', 'b=2', '--trace', '--json']);
    // a flag without a value given twice is refused like any other (was accepted); a count is repeated on purpose
    bad(['run', '--json', '--json'], /^--json given 2 times \(--json, --json\); give it once$/);
    bad(['run', '--json', '--no-json'], /^--json given 2 times \(--json, --no-json\); give it once$/);
    // a switch given a value was read as false without a word (energy-table --csv - printed the table, not CSV)
    bad(['energy-table', '--json=-'], /^--json -: --json takes no value$/);
    ok(['run', '--json=true']);
    expect(() => checkArgv(['run', '--v', '--v'], { ...kinds, key: { ...kinds.key, v: 1 }, count: ['v'] }, () => false)).not.toThrow();
    ok(['run', '--trace=z1-like', '--', '--out', 'x', '--out', 'y']);
    bad(['run', '--out', 'a', '--out=b'], /--out given 2 times \(a, b\)/);
    bad(['run', '--out'], /--out: needs a value/);
    bad(['run', '--sweeps='], /--sweeps '': an empty value/);
    bad(['run', '--sweeps', ' 2'], /--sweeps  2: not a number/);
    bad(['run', '--trace', 'z1-like'], /ambiguous|the trace file or the config/);
    expect(yargsMessage('Invalid values:\n  Argument: init, Given: "x", Choices: "hinton", "random"')).toBe('--init x: expected one of hinton, random');
    // a value that starts with "-" after an option that takes one: yargs reads it as short flags
    const ctx = (raw: string[]) => ({ options: ['out', 'csv', 'trace-cells', 'json'], raw, configPaths: null, flags: ['json'] });
    expect(yargsMessage('Unknown argument: x', ctx(['run', '--out', '-x']))).toBe('--out -x: a value that starts with "-" is written --out=-x');
    expect(yargsMessage('Unknown argument: o', ctx(['trace', 'export', 'T', '--csv', '-o.csv']))).toBe(
      '--csv -o.csv: a value that starts with "-" is written --csv=-o.csv',
    );
    expect(yargsMessage('Unknown argument: 1', ctx(['run', '--trace-cells', '-1,0,3,3']))).toMatch(/^--trace-cells -1,0,3,3: a value that starts with "-"/);
    expect(yargsMessage('Unknown argument: x', ctx(['run', '--json', '-x']))).toBe('unknown argument x (try --help)');
    // yargs names --bogsu-flag twice (its camelCase too): only the form typed
    expect(yargsMessage('Unknown arguments: bogsu-flag, bogsuFlag', ctx(['run', '--bogsu-flag', '1']))).toBe('unknown argument bogsu-flag (try --help)');
    expect(yargsMessage('Unknown arguments: bogsuFlag, bogsu-flag', ctx(['run', '--bogsuFlag']))).toBe('unknown argument bogsuFlag (try --help)');
    // an unknown flag is the mistake to report, before a required flag left out
    const tune = { ...ctx(['model', 'tune', 'x.mp', '--gainz', '1']), options: ['out', 'gains'], declared: ['out', 'gains', 'help', 'h'] };
    expect(yargsMessage('Missing required argument: out', tune)).toBe('--gainz: unknown option; did you mean --gains? (try --help)');
    expect(yargsMessage('Missing required argument: out', { ...tune, raw: ['model', 'tune', 'x.mp', '--gains', '1'] })).toBe('--out: required');
  });
});

describe('resources', () => {
  const shape = (o: Partial<RunShape> = {}): RunShape => ({
    cells: 4900,
    directions: 12,
    chains: 4,
    workers: 1,
    stages: 8,
    edgesPerStage: 29000,
    stagesProgrammed: 8,
    cellUpdates: 4 * 8 * 250 * 4900,
    cycles: 1e6,
    sweeps: 250,
    engine: 'cycle',
    analogSubsteps: 4,
    phaseCycles: 1,
    ...o,
  });

  it('the estimate grows with what it counts and names the parts', () => {
    const a = estimateRun(shape());
    expect(a.bytes).toBeGreaterThan(BYTES.base);
    expect(estimateRun(shape({ cells: 4 * 4900 })).bytes).toBeGreaterThan(a.bytes);
    expect(estimateRun(shape({ workers: 2 })).parts.workers).toBeGreaterThan(0);
    expect(estimateRun(shape({ traceRecords: 1000, tracedCells: 4900 })).traceFileBytes).toBe(1000 * (613 + BYTES.traceRecordOverhead));
    // a traced stage's views, held per batch; on worker threads also queued in the main thread until the trace's order reaches them
    const traced = (o: Partial<RunShape>) => estimateRun(shape({ traceRecords: 8000, tracedCells: 4900, traceSweepsPerStage: 250, ...o })).parts.trace;
    const views = 4 * 250 * (613 + BYTES.traceRecordOverhead);
    expect(traced({})).toBe(BYTES.traceBuffer + views);
    expect(traced({ workers: 2 })).toBe(BYTES.traceBuffer + (views / 2) * 5);
    expect(estimateRun(shape({ engine: 'ideal' })).seconds).toBeLessThan(a.seconds);
    // the kernels' fast path makes substeps nearly free within their bound (docs/performance.md, "Time
    // estimates"); past it the reference engine pays per substep
    expect(estimateRun(shape({ analogSubsteps: 400 })).seconds).toBe(a.seconds);
    expect(estimateRun(shape({ analogSubsteps: 100, phaseCycles: 1000 })).seconds).toBeGreaterThan(1000 * a.seconds);
  });

  it('refuses what cannot fit or count exactly, and --force tries anyway', () => {
    const huge = shape({ cells: 2e9 });
    expect(() => checkResources(huge, estimateRun(huge))).toThrow(/needs about [\d.]+ TiB of memory .*--force/);
    expect(checkResources(huge, estimateRun(huge), { force: true })[0]).toMatch(/running anyway/);
    const long = shape({ cellUpdates: MAX_EXACT + 2 });
    expect(() => checkResources(long, estimateRun(long))).toThrow(/counts past 2\^53/);
    expect(() => checkResources(shape({ sweeps: 2 ** 31 }), estimateRun(shape()))).toThrow(/sweep indices are 32-bit/);
    expect(maxWorkers()).toBeGreaterThanOrEqual(4);
  });
});

// (moved from test/plot.test.ts: the chart's spec is built in cli/commands/experiment.ts, which the unit tier does not import)
describe('experiment central chart', () => {
  it('experiment central: whole epochs on the x axis, the title names only the models scored', async () => {
    const row = (variant: string, fd: number, rho: number): Row => ({
      variant,
      epoch: 1,
      fd,
      clamped_accuracy: 0.15,
      marginal_error: 0.25,
      rho_mean: rho,
      rho_max: rho,
      lambda_mean: 0,
      images: 20,
      sweeps_per_stage: 10,
      T: 8,
    });
    const spec = centralChartSpec([row('mebm', 272, 0.008), row('dtm', 268, 0.021)], 20, 100);
    expect(spec.title).toBe('Monolithic EBM, DTM: quality and mixing over training');
    const { svg } = await renderChart(spec);
    expect(svg).not.toMatch(/1\.000000/);
    expect(svg).toMatch(/>epoch</);
    // the autocorrelation's panel names its lag and unit, as results.md does
    expect(svg).toMatch(/>chain autocorrelation at lag 100 sweeps \(max over stages\)</);
    // results.md: FD with its standard error where the rows have one; rows from before it, without
    expect(centralTable([{ ...row('dtm', 268, 0.021), fd_se: 3.456 }], 20)).toEqual([
      '| variant | epoch | FD (N = 20) ± se | clamped accuracy | autocorrelation, mean over stages | max | lambda (mean) |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      '| dtm | 1 | 268.00 ± 3.46 | 0.150 | 0.0210 | 0.0210 | 0.00 |',
    ]);
    expect(centralTable([row('dtm', 268, 0.021)], 20)[2]).toBe('| dtm | 1 | 268.00 | 0.150 | 0.0210 | 0.0210 | 0.00 |');
  });
});

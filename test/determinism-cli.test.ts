// Same config and seed -> the same files from the built CLI, byte for byte, whatever --workers:
// `dtca run` (the shipped DTM on the cycle-accurate and the ideal chip, with a trace; one chain
// split over threads; Boltzmann machines with moments, their chains on threads that choose
// different engines) and `dtca eval MODEL`. What may differ is only what docs/formats.md says
// does: the manifest's command and times, stats.json's timings and `engine` (how the chains were
// run), eval's wall times. A trace is the same bytes: its header's `created` is empty unless
// SOURCE_DATE_EPOCH gives it (it held the time of writing, so two runs' headers and CRCs differed).
// test/determinism.test.ts checks the same in-process; this checks the files a user gets.
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca, ROOT } from './helpers/cli.js';
import { readTrace } from '../traces/reader.js';
import { DEFAULT_DATA_DIR } from '../sim/fmnist.js';

const dir = mkdtempSync(join(tmpdir(), 'dtca-determinism-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MODEL = join(ROOT, 'configs/models/fmnist-t8.mp');
const HAVE_DATA = existsSync(join(DEFAULT_DATA_DIR, 't10k-images-idx3-ubyte.gz'));

type Json = Record<string, unknown>;
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Json;

/** A JSON object without the given keys (dotted paths). */
function without(o: Json, paths: string[]): Json {
  const c = structuredClone(o);
  for (const p of paths) {
    const keys = p.split('.');
    let at: Json | undefined = c;
    for (const k of keys.slice(0, -1)) at = at?.[k] as Json | undefined;
    if (at) delete at[keys.at(-1)!];
  }
  return c;
}

/** The run's files, its directory created by the run. */
function run(name: string, args: string[]): string {
  const out = join(dir, name);
  const r = dtca(['run', ...args, '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

async function records(path: string): Promise<Json[]> {
  const out: Json[] = [];
  for await (const r of readTrace(path)) out.push(r as unknown as Json);
  return out;
}

/** Two traces: the same bytes (the header's `created` is empty without SOURCE_DATE_EPOCH), and both read whole. */
async function sameTrace(a: string, b: string): Promise<void> {
  const [ra, rb] = [await records(a), await records(b)];
  expect(ra[0].created).toBe('');
  expect(rb.length).toBe(ra.length);
  expect(Buffer.compare(readFileSync(b), readFileSync(a)), `${b} and ${a}`).toBe(0);
}

/** Every file of two run directories alike: byte for byte, but for what formats.md says may differ. */
async function sameRun(a: string, b: string): Promise<void> {
  const files = readdirSync(a).sort();
  expect(readdirSync(b).sort()).toEqual(files);
  for (const f of files) {
    const [pa, pb] = [join(a, f), join(b, f)];
    if (f === 'manifest.json') {
      expect(without(readJson(pb), ['command', 'started', 'finished']), f).toEqual(without(readJson(pa), ['command', 'started', 'finished']));
    } else if (f === 'stats.json') {
      const [sa, sb] = [readJson(pa), readJson(pb)];
      const loose = ['wall_s', 'updates_per_ns', 'startup_s', 'engine'];
      expect(without(sb, loose), f).toEqual(without(sa, loose));
      const cells = (s: Json) => (s.engine as { stats: { cell_updates: number } }).stats.cell_updates;
      expect(cells(sb)).toBe(cells(sa));
    } else if (f.endsWith('.dtct')) {
      await sameTrace(pa, pb);
    } else {
      expect(Buffer.compare(readFileSync(pb), readFileSync(pa)), `${f} of ${b} and ${a}`).toBe(0);
    }
  }
}

const engineOf = (d: string) => readJson(join(d, 'stats.json')).engine as { used: string; stats: { tiles?: number } };

describe('the CLI writes the same files for any --workers', () => {
  for (const chip of [[], ['--ideal']]) {
    it(`dtca run, the shipped DTM on the ${chip.length ? 'ideal' : 'cycle-accurate'} chip, traced: workers 1, 2, 3`, async () => {
      const args = ['--images', '4', '--sweeps', '8', '--trace', ...chip];
      const tag = chip.length ? 'ideal' : 'cycle';
      const one = run(`dtm-${tag}-1`, [...args, '--workers', '1']);
      expect(readdirSync(one)).toEqual(expect.arrayContaining(['samples.npy', 'labels.npy', 'samples.png', 'denoise.png', 'energy.svg', 'trace.dtct']));
      for (const w of ['2', '3']) await sameRun(one, run(`dtm-${tag}-${w}`, [...args, '--workers', w]));
    }, 120_000);
  }

  it("without SOURCE_DATE_EPOCH two runs write the same trace bytes, its header's created empty (was the time of writing), and trace inspect says no date", async () => {
    const env = { SOURCE_DATE_EPOCH: '' };
    const outs = ['a', 'b'].map((n) => {
      const out = join(dir, `no-epoch-${n}`);
      const r = dtca(['run', '--images', '2', '--sweeps', '4', '--trace', '--out', out], { env });
      expect(r.code, r.stderr).toBe(0);
      return join(out, 'trace.dtct');
    });
    await sameTrace(outs[0], outs[1]);
    const ins = dtca(['trace', 'inspect', outs[0]], { env });
    expect(ins.stdout).toMatch(/^format +dtca-trace v1 \(dtca [^,)]+\)$/m);
  }, 120_000);

  it("SOURCE_DATE_EPOCH fixes the trace header's creation time: two runs, workers 1 and 2, the same trace bytes; a malformed value refused", () => {
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const args = ['run', '--images', '2', '--sweeps', '4', '--trace'];
    const outs = ['1', '2'].map((w) => {
      const out = join(dir, `epoch-${w}`);
      const r = dtca([...args, '--workers', w, '--out', out], { env });
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(join(out, 'trace.dtct'));
    });
    expect(Buffer.compare(outs[1], outs[0])).toBe(0);
    expect(outs[0].includes(Buffer.from('2023-11-14T22:13:20.000Z'))).toBe(true);
    const bad = dtca([...args, '--out', join(dir, 'epoch-bad')], { env: { SOURCE_DATE_EPOCH: '17e8' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^dtca: SOURCE_DATE_EPOCH="17e8": must be a whole number of seconds since 1970-01-01/);
    expect(existsSync(join(dir, 'epoch-bad'))).toBe(false);
  }, 120_000);

  it('dtca run, one image split over threads by rows: workers 1 and 2', async () => {
    const args = ['--set', 'fabric.L=64', '--images', '1', '--sweeps', '6', '--trace'];
    const one = run('tiles-1', [...args, '--workers', '1']);
    const two = run('tiles-2', [...args, '--workers', '2']);
    expect(engineOf(two).stats.tiles).toBe(2);
    await sameRun(one, two);
  }, 120_000);

  it('dtca run, Boltzmann machines: 3 chains on 1 and 2 threads (the second thread on another engine)', async () => {
    for (const [name, args] of [
      ['bm', ['--workload', 'bm', '--chains', '3', '--sweeps', '10', '--warmup', '2']],
      ['stage', ['--model', MODEL, '--stage', '2', '--chains', '3', '--sweeps', '10', '--warmup', '2']],
    ] as const) {
      const one = run(`${name}-1`, [...args, '--workers', '1']);
      const two = run(`${name}-2`, [...args, '--workers', '2']);
      expect([engineOf(one).used, engineOf(two).used]).toEqual(['batch', 'batch+wasm']);
      await sameRun(one, two);
    }
    expect(readJson(join(dir, 'stage-1', 'stats.json')).moments).toBeDefined();
  }, 120_000);

  it.skipIf(!HAVE_DATA)(
    'dtca eval MODEL: the same report for 1 and 2 workers but for its wall times',
    () => {
      const evalJson = (w: string) => {
        const r = dtca(['eval', MODEL, '--images', '10', '--sweeps', '5', '--workers', w, '--json']);
        expect(r.code, r.stderr).toBe(0);
        return without(JSON.parse(r.stdout) as Json, ['wall_s', 'source.generation_wall_s', 'source.autocorrelation_wall_s']);
      };
      const one = evalJson('1');
      expect(typeof one.fd).toBe('number');
      expect(evalJson('2')).toEqual(one);
    },
    120_000,
  );
});

// Property-based fuzzing of everything a user can hand dtca (fast-check, fixed seeds, bounded runs):
// config files and --set values, model files (JSON and msgpack, both edge forms), trace bytes (the
// TypeScript and the Python reader), and command lines. Every input must either work or end with
// exit 2 and one line on stderr: never a stack trace, a hang, an input overwritten, a file left
// behind or looking complete, or a bad input silently run. The CLI runs in-process in a worker
// thread (test/helpers/cli-pool.ts), so hundreds of cases cost no process start-ups.
// test/fuzz/census.ts runs the same properties on many more cases and counts what breaks.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliPool, contractBroken, errorLines } from './helpers/cli-pool.js';
import { cliCase, configCase, modelCase, setArg, traceMutation } from './fuzz/arbitraries.js';
import {
  cliProperty,
  configProperty,
  makeFixtures,
  modelProperty,
  pythonStatuses,
  setProperty,
  traceTsProperty,
  writeTraceCases,
  type Fixtures,
} from './fuzz/properties.js';
import {
  checkpointDamage,
  checkpointProperty,
  hostileFile,
  hostileFileProperty,
  impossibleRecord,
  writeImpossibleHeaders,
  impossibleTrace,
  learnCheckpointShapes,
  type ImpossibleRecord,
} from './fuzz/hostile.js';
import { writeFileSync } from 'node:fs';
import { dtca } from './helpers/cli.js';
import { TINY_TRAIN_ARGS } from './helpers/train-args.js';

const SEED = 20251;
let pool: CliPool;
let fx: Fixtures;
let work: string;
let cwd: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dtca-fuzz-'));
  cwd = process.cwd();
  process.chdir(work); // default run directories land here
  pool = new CliPool(15_000);
  fx = await makeFixtures(pool, work);
});

afterAll(async () => {
  await pool.close();
  process.chdir(cwd);
  rmSync(work, { recursive: true, force: true });
});

/** fc.assert for an async property that returns a finding (string) or null. */
async function holds<T>(arb: fc.Arbitrary<T>, numRuns: number, seed: number, check: (v: T) => Promise<string | null>): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arb, async (v) => {
      const finding = await check(v);
      if (finding) throw new Error(finding);
    }),
    { seed, numRuns, endOnFailure: true },
  );
}

describe('fuzz: every input works or ends with exit 2 and one line', () => {
  it('config files (partial, extends, wrong types, edge values): config validate and run agree', async () => {
    await holds(configCase, 60, SEED, (c) => configProperty(pool, fx, c));
  });

  it('--set values: config show and run agree; nothing reaches Object.prototype', async () => {
    await holds(fc.array(setArg, { minLength: 1, maxLength: 3 }), 60, SEED + 1, (s) => setProperty(pool, fx, s));
  });

  it('model files, JSON and msgpack, [i, j, w] lists and {i, j, w} arrays: bad ones refused, good ones run', async () => {
    await holds(modelCase, 80, SEED + 2, (c) => modelProperty(pool, fx, c));
  });

  it('trace bytes: inspect and export keep the contract; the Python reader reports what the TypeScript reader reports', async () => {
    const cases = writeTraceCases(fx, fc.sample(traceMutation, { seed: SEED + 3, numRuns: 120 }));
    const ts: (string | null)[] = [];
    for (const c of cases) {
      const r = await traceTsProperty(pool, fx, c);
      expect(r.finding, JSON.stringify(c.muts)).toBeNull();
      ts.push(r.status);
    }
    const py = pythonStatuses(cases.map((c) => c.file));
    const disagree = cases
      .map((c, k) => ({ muts: c.muts, ts: ts[k], py: py[k].status, detail: py[k].detail }))
      .filter((d) => d.py === 'crash' || d.py !== d.ts);
    expect(disagree).toEqual([]);
    // the mutations reach the verdicts, so the agreement means something
    for (const v of ['complete', 'truncated', 'damaged', 'not-a-trace']) expect(ts).toContain(v);
  });

  it('command lines: flags twice, without values, bad numbers, unknown flags, inputs as outputs', async () => {
    await holds(cliCase, 80, SEED + 4, (c) => cliProperty(pool, fx, c));
  });

  // issue 19's input classes (test/fuzz/hostile.ts)
  it('hostile files: devices, FIFOs, sparse giants, deep nesting, hostile dtypes and shapes', async () => {
    await holds(hostileFile, 60, SEED + 5, (c) => hostileFileProperty(pool, work, c));
  });

  it('trace records with valid CRCs and impossible fields: damage in both readers, never a wrapped index', async () => {
    const cases = fc.sample(impossibleRecord, { seed: SEED + 6, numRuns: 40 });
    const files = cases.map((c: ImpossibleRecord, k: number) => {
      const f = join(work, `impossible-${k}.dtct`);
      writeFileSync(f, impossibleTrace(fx.traceBytes, c));
      return f;
    });
    const py = pythonStatuses(files);
    for (const [k, f] of files.entries()) {
      const r = await pool.run(['trace', 'inspect', f, '--json'], { DTCA_LOG: 'warn' });
      expect(r.code, JSON.stringify(cases[k])).toBe(2);
      expect((JSON.parse(r.stdout) as { status: string }).status, JSON.stringify(cases[k])).toBe('damaged');
      expect(py[k].status, `${JSON.stringify(cases[k])}: ${py[k].detail}`).toBe('damaged');
    }
  });

  // the corpus of impossible headers (test/fuzz/hostile.ts impossibleHeaders), every case: what the
  // header declares (counts, clock, grid, thinning, strings) is checked as dtca writes it
  it('trace headers with valid CRCs and impossible fields: damage in both readers, the same line naming the field', async () => {
    const { cases, files } = writeImpossibleHeaders(work, fx.traceBytes);
    const py = pythonStatuses(files);
    const after = (line: string) => line.slice(line.indexOf(': corrupt at byte'));
    for (const [k, f] of files.entries()) {
      const what = `${cases[k].path} = ${JSON.stringify(cases[k].value)}`;
      const r = await pool.run(['trace', 'inspect', f, '--json'], { DTCA_LOG: 'warn' });
      expect(contractBroken(r), what).toBeNull();
      expect(r.code, what).toBe(2);
      const line = errorLines(r.stderr)[0] ?? '';
      expect(line, what).toMatch(cases[k].names);
      expect(py[k].status, `${what}: ${py[k].detail}`).toBe('damaged');
      expect(after(py[k].detail), what).toBe(after(line));
    }
  });

  it('damaged training checkpoints: refused naming the file, never trained on', async () => {
    const TRAIN = [...TINY_TRAIN_ARGS];
    const base = join(work, 'ckpt-base.mp');
    const r = dtca(['train', ...TRAIN, '--out', base]); // longer than the pool's limit per case
    expect(r.code, r.stderr).toBe(0);
    learnCheckpointShapes(base, 1);
    await holds(checkpointDamage, 30, SEED + 7, (c) => checkpointProperty(pool, work, base, TRAIN, c));
  }, 300_000);
});

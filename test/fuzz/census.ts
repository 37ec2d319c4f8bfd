/**
 * The fuzz census: runs many generated inputs per domain through the built CLI (in a worker
 * thread, test/helpers/cli-pool.ts) and counts what breaks, by kind, instead of stopping at the
 * first failure as the tests do. Run after `npm run build`:
 *
 *   npx tsx test/fuzz/census.ts [cases per domain, default 200] [seed, default 20251]
 *
 * CENSUS_CLI=/path/to/dtca.js and DTCA_TRACE_PY_DIR=/path/to/traces point it at another build
 * (how the numbers before the fixes were taken); CENSUS_ONLY=<domain prefix> runs one domain.
 * Prints, per domain, how many inputs were tried and how many broke the contract, with the kinds
 * of finding and one example each. This is how the closing note of issue 11 counted what the
 * fuzzers found before the fixes; re-run it when the issue comes back.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliPool } from '../helpers/cli-pool.js';
import { cliCase, configCase, modelCase, setArg, traceMutation } from './arbitraries.js';
import { cliProperty, configProperty, makeFixtures, modelProperty, pythonStatuses, setProperty, traceTsProperty, writeTraceCases } from './properties.js';
import {
  checkpointDamage,
  checkpointProperty,
  hostileFile,
  hostileFileProperty,
  impossibleRecord,
  writeImpossibleHeaders,
  impossibleTrace,
  learnCheckpointShapes,
} from './hostile.js';
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { TINY_TRAIN_ARGS } from '../helpers/train-args.js';

const n = Number(process.argv[2] ?? 200);
const seed = Number(process.argv[3] ?? 20251);

/** A finding's kind: the text without paths, numbers and quoted values, so alike findings group. */
function kind(f: string): string {
  return f
    .replace(/\/[^\s:,)'"]+/g, 'PATH')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/g, 'N')
    .slice(0, 120);
}

interface Tally {
  tried: number;
  broken: number;
  kinds: Map<string, { count: number; example: string }>;
}

function tally(): Tally {
  return { tried: 0, broken: 0, kinds: new Map() };
}

function note(t: Tally, finding: string | null, example: string): void {
  t.tried++;
  if (!finding) return;
  t.broken++;
  const k = kind(finding);
  const e = t.kinds.get(k);
  if (e) e.count++;
  else t.kinds.set(k, { count: 1, example: `${finding.slice(0, 160)}  <= ${example.slice(0, 200)}` });
}

function report(name: string, t: Tally): void {
  console.log(`\n== ${name}: ${t.tried} inputs, ${t.broken} broke the contract`);
  for (const [k, v] of [...t.kinds.entries()].sort((a, b) => b[1].count - a[1].count)) {
    console.log(`  ${String(v.count).padStart(4)}  ${k}\n        e.g. ${v.example}`);
  }
}

const work = mkdtempSync(join(tmpdir(), 'dtca-census-'));
const cwd = process.cwd();
process.chdir(work); // default run directories land here, not in the repository
const pool = new CliPool(8000, process.env.CENSUS_CLI); // CENSUS_CLI: another build of dtca.js
try {
  const fx = await makeFixtures(pool, work);
  const domains: [string, () => Promise<Tally>][] = [
    [
      'config files',
      async () => {
        const t = tally();
        for (const c of fc.sample(configCase, { seed, numRuns: n })) note(t, await configProperty(pool, fx, c), c.text);
        return t;
      },
    ],
    [
      '--set values',
      async () => {
        const t = tally();
        for (const s of fc.sample(fc.array(setArg, { minLength: 1, maxLength: 3 }), { seed: seed + 1, numRuns: n }))
          note(t, await setProperty(pool, fx, s), s.join(' '));
        return t;
      },
    ],
    [
      'model files',
      async () => {
        const t = tally();
        for (const c of fc.sample(modelCase, { seed: seed + 2, numRuns: n }))
          note(t, await modelProperty(pool, fx, c), `${c.ext} ${c.what.join(', ') || 'unmutated'}`);
        return t;
      },
    ],
    [
      'trace bytes (TypeScript reader, inspect and export)',
      async () => {
        const t = tally();
        const cases = writeTraceCases(fx, fc.sample(traceMutation, { seed: seed + 3, numRuns: n }));
        const py = tally();
        const ts: (string | null)[] = [];
        for (const c of cases) {
          const r = await traceTsProperty(pool, fx, c);
          note(t, r.finding, JSON.stringify(c.muts));
          ts.push(r.status);
        }
        const pys = pythonStatuses(cases.map((c) => c.file));
        cases.forEach((c, k) => {
          const p = pys[k];
          let finding: string | null = null;
          if (p.status === 'crash') finding = `python reader crashed: ${p.detail}`;
          else if (ts[k] && p.status !== ts[k]) finding = `python says ${p.status}, TypeScript says ${ts[k]} (python: ${p.detail.slice(0, 160)})`;
          note(py, finding, JSON.stringify(c.muts));
        });
        report('trace bytes (Python reader against the TypeScript reader)', py);
        return t;
      },
    ],
    [
      'command lines',
      async () => {
        const t = tally();
        for (const c of fc.sample(cliCase, { seed: seed + 4, numRuns: n })) note(t, await cliProperty(pool, fx, c), c.args.join(' '));
        return t;
      },
    ],
    [
      'hostile files (devices, FIFOs, sparse giants, deep nesting, dtypes, shapes)',
      async () => {
        const t = tally();
        for (const c of fc.sample(hostileFile, { seed: seed + 5, numRuns: n }))
          note(t, await hostileFileProperty(pool, work, c), JSON.stringify(c).slice(0, 200));
        return t;
      },
    ],
    [
      'impossible trace records (valid CRCs)',
      async () => {
        const t = tally();
        const cases = fc.sample(impossibleRecord, { seed: seed + 6, numRuns: n });
        const files = cases.map((c, k) => {
          const f = join(work, `impossible-${k}.dtct`);
          writeFileSync(f, impossibleTrace(fx.traceBytes, c));
          return f;
        });
        const py = pythonStatuses(files);
        for (const [k, f] of files.entries()) {
          const r = await pool.run(['trace', 'inspect', f, '--json'], { DTCA_LOG: 'warn' });
          let status = 'refused';
          try {
            status = (JSON.parse(r.stdout) as { status: string }).status;
          } catch {
            /* no JSON */
          }
          const findings = [status !== 'damaged' ? `TypeScript says ${status}` : '', py[k].status !== 'damaged' ? `Python says ${py[k].status}` : '']
            .filter(Boolean)
            .join('; ');
          note(t, findings || null, JSON.stringify(cases[k]).slice(0, 200));
        }
        return t;
      },
    ],
    [
      'impossible trace headers (valid CRCs; the whole corpus, whatever n)',
      async () => {
        const t = tally();
        const { cases, files } = writeImpossibleHeaders(work, fx.traceBytes);
        const py = pythonStatuses(files);
        for (const [k, f] of files.entries()) {
          const r = await pool.run(['trace', 'inspect', f, '--json'], { DTCA_LOG: 'warn' });
          const line = r.stderr.trim().split('\n')[0] ?? '';
          const findings = [
            r.code !== 2 ? `TypeScript exit ${r.code}` : '',
            !cases[k].names.test(line) ? 'TypeScript does not name the field' : '',
            py[k].status !== 'damaged' ? `Python says ${py[k].status}` : '',
          ]
            .filter(Boolean)
            .join('; ');
          note(t, findings || null, `${cases[k].path} = ${JSON.stringify(cases[k].value)}`.slice(0, 200));
        }
        return t;
      },
    ],
    [
      'damaged training checkpoints',
      async () => {
        const t = tally();
        const TRAIN = [...TINY_TRAIN_ARGS];
        const base = join(work, 'ckpt-base.mp');
        const cli = process.env.CENSUS_CLI ?? join(process.cwd() === work ? cwd : process.cwd(), 'dist/dtca.js');
        const r = spawnSync(process.execPath, [cli, 'train', ...TRAIN, '--out', base], { encoding: 'utf8', env: { ...process.env, DTCA_LOG: 'warn' } });
        if (r.status !== 0) throw new Error(`checkpoint fixture: ${r.stderr}`);
        try {
          learnCheckpointShapes(base, 1);
        } catch {
          /* an old build's checkpoints have no envelope: every field rewrite is then judged invalid */
        }
        for (const c of fc.sample(checkpointDamage, { seed: seed + 7, numRuns: n }))
          note(t, await checkpointProperty(pool, work, base, TRAIN, c), JSON.stringify(c).slice(0, 200));
        return t;
      },
    ],
  ];
  const only = process.env.CENSUS_ONLY;
  for (const [name, run] of domains) {
    if (only && !name.startsWith(only)) continue;
    const t0 = performance.now();
    pool.codes.clear();
    const t = await run();
    report(name, t);
    console.log(`  invocations: ${[...pool.codes.entries()].map(([k, v]) => `${v} ${k}`).join(', ')}`);
    console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
} finally {
  await pool.close();
  process.chdir(cwd);
  rmSync(work, { recursive: true, force: true });
}
// a case that hung may leave its worker thread spinning (a WebAssembly loop ignores terminate()):
// end here rather than wait for it
process.exit(0);

/**
 * The properties the fuzzers check, shared by the vitest tests (test/fuzz.test.ts, fc.assert with a
 * fixed seed and a bounded number of runs) and the census (test/fuzz/census.ts, which runs many
 * more cases and counts what breaks instead of stopping at the first).
 *
 * Every property returns null when the case behaved, or a short finding. The contract: every
 * input either works (exit 0) or ends with exit 2 and one line "dtca: ..." on stderr; never a
 * stack trace, a hang, a file left looking complete, an input overwritten, or a half-written
 * output; inputs that are invalid by construction are refused, not run.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { unpackMultiple } from 'msgpackr';
import { contractBroken, type CliPool, type CliResult } from '../helpers/cli-pool.js';
import { bmShape, estimateRun } from '../../sim/resources.js';
import type { ResolvedConfig } from '../../sim/config.js';
import { SMALL_SETS, mutateTrace, type CliCase, type ConfigCase, type ModelCase, type TraceMutation } from './arbitraries.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Fixtures {
  dir: string;
  model: string;
  bmModel: string;
  trace: string;
  config: string;
  traceBytes: Buffer;
  traceSpans: [number, number][];
  hashes: Map<string, string>;
  /** the fixtures' bytes, to put back when a case overwrote one (so one finding does not cascade) */
  saved: Map<string, Buffer>;
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Inputs the fuzzers point commands at, made with the CLI itself (in the pool, no processes). */
export async function makeFixtures(pool: CliPool, dir: string): Promise<Fixtures> {
  const model = join(dir, 'in-model.json');
  const bmModel = join(dir, 'in-bm.json');
  const config = join(dir, 'in-config.json');
  const q = { DTCA_LOG: 'warn' };
  const must = (r: CliResult, what: string) => {
    if (r.code !== 0) throw new Error(`fixture ${what}: exit ${r.code}: ${r.stderr}`);
  };
  must(
    await pool.run(['model', 'new', '--L', '8', '--rules', '[[0,1]]', '--visible', '4', '--stages', '2', '--weights', 'random:0.3', '--out', model], q),
    'model',
  );
  writeFileSync(
    bmModel,
    JSON.stringify({
      format: 'dtca-model',
      version: 1,
      grid: { L: 8, rules: [[0, 1]], boundary: 'open' },
      beta: 1,
      stages: [
        {
          bias: new Array(64).fill(0.1),
          edges: [
            [0, 1, 0.5],
            [1, 2, -0.3],
          ],
        },
      ],
    }),
  );
  writeFileSync(config, JSON.stringify({ extends: 'dtca-paper', fabric: { L: 8, rules: [[0, 1]], tile: { size: 8 } } }));
  const runDir = join(dir, 'fixture-run');
  must(
    await pool.run(['run', '--model', model, ...SMALL_SETS.flatMap((s) => ['--set', s]), '--images', '2', '--sweeps', '3', '--out', runDir, '--trace'], q),
    'trace',
  );
  const trace = join(dir, 'in-trace.dtct');
  writeFileSync(trace, readFileSync(join(runDir, 'trace.dtct')));
  const traceBytes = readFileSync(trace);
  const traceSpans: [number, number][] = [];
  unpackMultiple(traceBytes, (_v: unknown, s?: number, e?: number) => {
    traceSpans.push([s as number, e as number]);
  });
  const hashes = new Map([model, bmModel, trace, config].map((p) => [p, sha(p)]));
  const saved = new Map([model, bmModel, trace, config].map((p) => [p, readFileSync(p)]));
  return { dir, model, bmModel, trace, config, traceBytes, traceSpans, hashes, saved };
}

/** Files and directories under `dir` (relative paths), recursively. */
function listTree(dir: string, base = dir, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(p.slice(base.length + 1) + (e.isDirectory() ? '/' : ''));
    if (e.isDirectory()) listTree(p, base, out);
  }
  return out;
}

/**
 * JSON text that holds null (JSON's spelling of NaN and Infinity from JSON.stringify), except the
 * one documented null: `"area_m2": null` beside an `area_note` saying why the config has no area.
 */
function hasNonFinite(p: string): boolean {
  let t = readFileSync(p, 'utf8');
  if (/"area_note":\s*"/.test(t)) t = t.replace(/"area_m2":\s*null\b/, '"area_m2": {}');
  return /:\s*null\b|\[\s*null|,\s*null/.test(t);
}

function inputsIntact(fx: Fixtures): string | null {
  let finding: string | null = null;
  for (const [p, h] of fx.hashes) {
    let now: string | null = null;
    if (!existsSync(p) || !statSync(p).isFile()) now = `input ${p} replaced`;
    else if (sha(p) !== h) now = `input ${p} overwritten`;
    if (now) {
      finding ??= now;
      rmSync(p, { recursive: true, force: true });
      writeFileSync(p, fx.saved.get(p) as Buffer);
    }
  }
  return finding;
}

/** Leftover temporary files anywhere under `dir` */
function tmpLeft(dir: string): string | null {
  const t = listTree(dir).filter((f) => /\.tmp-\d+|\.tmp$/.test(f));
  return t.length ? `temporary file left: ${t[0]}` : null;
}

// ---------------------------------------------------------------------------------------------
// command lines

export async function cliProperty(pool: CliPool, fx: Fixtures, c: CliCase): Promise<string | null> {
  const caseDir = mkdtempSync(join(fx.dir, 'cli-'));
  const sub = (a: string) =>
    a
      .replace(/IN_MODEL/g, fx.model)
      .replace(/IN_BM_MODEL/g, fx.bmModel)
      .replace(/IN_TRACE/g, fx.trace)
      .replace(/IN_CONFIG/g, fx.config)
      .replace(/(^|=)OUT/g, `$1${caseDir}`);
  const args = c.args.map(sub);
  const before = new Set(listTree(caseDir));
  const runsBefore = new Set(listTree(join(process.cwd(), 'runs')));
  const r = await pool.run(args, { DTCA_LOG: null, NO_COLOR: null });
  const broken = contractBroken(r);
  if (broken) return broken;
  const intact = inputsIntact(fx);
  if (intact) return intact;
  const left = tmpLeft(caseDir) ?? tmpLeft(join(process.cwd(), 'runs'));
  if (left) return left;
  const created = listTree(caseDir).filter((f) => !before.has(f));
  const createdRuns = listTree(join(process.cwd(), 'runs')).filter((f) => !runsBefore.has(f));
  if (r.code !== 0) {
    // a refused command leaves nothing behind
    const left2 = [...created, ...createdRuns.map((f) => `runs/${f}`)];
    if (left2.length) return `refused command left ${left2[0]}`;
  } else if (args[0] === 'run') {
    for (const d of [...created, ...createdRuns].filter((f) => f.endsWith('/') && f.split('/').length === 2)) {
      const dir = existsSync(join(caseDir, d)) ? join(caseDir, d) : join(process.cwd(), 'runs', d);
      if (existsSync(join(dir, 'stats.json')) && hasNonFinite(join(dir, 'stats.json'))) return 'stats.json holds null/NaN/Infinity';
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// configs and --set

const RESOURCE = /memory|GiB|GB|MiB/;

/** A one-sweep, one-chain run of this config would take longer than the fuzzers wait (it announces its estimate instead). */
function long(showStdout: string): boolean {
  const cfg = JSON.parse(showStdout) as ResolvedConfig;
  return estimateRun(bmShape(cfg, { chains: 1, sweeps: 1 })).seconds > 2;
}

export async function configProperty(pool: CliPool, fx: Fixtures, c: ConfigCase): Promise<string | null> {
  const caseDir = mkdtempSync(join(fx.dir, 'cfg-'));
  const file = join(caseDir, 'c.json');
  writeFileSync(file, c.text);
  if (c.base) writeFileSync(join(caseDir, 'base.json'), c.base);
  const v = await pool.run(['config', 'validate', file], { DTCA_LOG: 'warn' });
  const vb = contractBroken(v);
  if (vb) return `config validate: ${vb}`;
  if (v.code === 0) {
    const show = await pool.run(['config', 'show', file], { DTCA_LOG: 'warn' });
    if (show.code !== 0) return `config validate accepts what config show refuses: ${show.stderr.trim()}`;
    if (long(show.stdout)) return null; // a valid config whose run is long and says so
  }
  const out = join(caseDir, 'run');
  const r = await pool.run(['run', file, '--workload', 'bm', '--chains', '1', '--sweeps', '1', '--out', out], { DTCA_LOG: 'warn' });
  const rb = contractBroken(r);
  if (rb) return `run: ${rb}`;
  if (v.code === 0 && r.code === 2 && !RESOURCE.test(r.stderr)) return `config validate accepts what run refuses: ${r.stderr.trim().slice(0, 160)}`;
  if (v.code === 2 && r.code === 0) return 'run accepts what config validate refuses';
  if (r.code === 0 && hasNonFinite(join(out, 'stats.json'))) return 'stats.json holds null/NaN/Infinity';
  if (r.code !== 0 && existsSync(out)) return 'refused run left its run directory';
  return tmpLeft(caseDir);
}

export async function setProperty(pool: CliPool, fx: Fixtures, sets: string[]): Promise<string | null> {
  const caseDir = mkdtempSync(join(fx.dir, 'set-'));
  const setArgs = [...SMALL_SETS, ...sets].flatMap((s) => ['--set', s]);
  const s = await pool.run(['config', 'show', ...setArgs], { DTCA_LOG: 'warn' });
  const sb = contractBroken(s);
  if (sb) return `config show: ${sb}`;
  if (s.code === 0 && long(s.stdout)) return null; // a valid config whose run is long and says so
  const out = join(caseDir, 'run');
  const r = await pool.run(['run', '--workload', 'bm', '--chains', '1', '--sweeps', '1', ...setArgs, '--out', out], { DTCA_LOG: 'warn' });
  const rb = contractBroken(r);
  if (rb) return `run: ${rb}`;
  if (s.code === 0 && r.code === 2 && !RESOURCE.test(r.stderr)) return `config show accepts what run refuses: ${r.stderr.trim().slice(0, 160)}`;
  if (s.code === 2 && r.code === 0) return 'run accepts what config show refuses';
  if (r.code === 0 && hasNonFinite(join(out, 'stats.json'))) return 'stats.json holds null/NaN/Infinity';
  if (r.code !== 0 && existsSync(out)) return 'refused run left its run directory';
  return null;
}

// ---------------------------------------------------------------------------------------------
// model files

export async function modelProperty(pool: CliPool, fx: Fixtures, c: ModelCase): Promise<string | null> {
  const caseDir = mkdtempSync(join(fx.dir, 'model-'));
  const file = join(caseDir, `m.${c.ext}`);
  writeFileSync(file, c.bytes);
  const i = await pool.run(['model', 'info', file], { DTCA_LOG: 'warn' });
  const ib = contractBroken(i);
  if (ib) return `model info: ${ib}`;
  const out = join(caseDir, 'run');
  const sets = ['fabric.L=4', 'fabric.rules=[[0,1]]', 'fabric.tile.size=4'].flatMap((s) => ['--set', s]);
  const shape = c.dtm ? ['--images', '1'] : ['--chains', '1', '--warmup', '0'];
  const r = await pool.run(['run', '--model', file, ...sets, '--sweeps', '1', ...shape, '--out', out], { DTCA_LOG: 'warn' });
  const rb = contractBroken(r);
  if (rb) return `run: ${rb}`;
  if ((c.bad || c.runBad) && r.code === 0) return `run accepted a bad model (${c.what.join(', ')})`;
  if (c.bad && i.code === 0) return `model info accepted a bad model (${c.what.join(', ')})`;
  if (!c.bad && !c.runBad && r.code !== 0)
    return `run refused a good model (${c.what.join(', ') || 'unmutated'}): ${r.stderr.trim().split('\n').pop()?.slice(0, 160)}`;
  if (r.code === 0 && hasNonFinite(join(out, 'stats.json'))) return 'stats.json holds null/NaN/Infinity';
  if (r.code !== 0 && existsSync(out)) return 'refused run left its run directory';
  return tmpLeft(caseDir);
}

// ---------------------------------------------------------------------------------------------
// trace bytes

export type TraceStatus = 'complete' | 'interrupted' | 'truncated' | 'incomplete' | 'damaged' | 'not-a-trace';

/** The TypeScript reader's verdict on a trace, from `dtca trace inspect --json`. */
export function tsStatus(r: CliResult): TraceStatus {
  // no summary at all: the file is not a trace, or its header itself is damaged
  if (r.code !== 0 && !r.stdout.trim()) return /not a dtca trace/.test(r.stderr) ? 'not-a-trace' : 'damaged';
  const s = JSON.parse(r.stdout) as { status?: string; error?: string; truncated?: boolean; complete?: boolean };
  if (s.status) return s.status as TraceStatus;
  if (s.error) return 'damaged';
  if (s.truncated) return 'truncated';
  return s.complete ? 'complete' : 'incomplete';
}

export interface TraceCase {
  file: string;
  muts: TraceMutation[];
}

export function writeTraceCases(fx: Fixtures, cases: TraceMutation[][]): TraceCase[] {
  const d = join(fx.dir, 'traces');
  mkdirSync(d, { recursive: true });
  return cases.map((muts, n) => {
    const file = join(d, `t${n}.dtct`);
    writeFileSync(file, mutateTrace(fx.traceBytes, fx.traceSpans, muts));
    return { file, muts };
  });
}

/** The TypeScript side of one trace case: inspect and export keep the contract and agree. */
export async function traceTsProperty(pool: CliPool, fx: Fixtures, c: TraceCase): Promise<{ finding: string | null; status: TraceStatus | null }> {
  const i = await pool.run(['trace', 'inspect', c.file, '--json'], { DTCA_LOG: 'warn' });
  const ib = contractBroken(i);
  if (ib) return { finding: `trace inspect: ${ib}`, status: null };
  let status: TraceStatus;
  try {
    status = tsStatus(i);
  } catch {
    return { finding: 'trace inspect --json printed something that is not JSON', status: null };
  }
  // a record dropped or duplicated in the middle of a complete trace is not "complete"
  const onlyRecordEdits = c.muts.every((m) => m.kind === 'drop-record' || m.kind === 'dup-record' || m.kind === 'none');
  const edited = c.muts.some((m) => m.kind === 'drop-record' || m.kind === 'dup-record');
  if (onlyRecordEdits && edited && status === 'complete') return { finding: 'a trace with a record missing or repeated reads as complete', status };
  const csv = `${c.file}.csv`;
  const e = await pool.run(['trace', 'export', c.file, '--csv', csv], { DTCA_LOG: 'warn' });
  const eb = contractBroken(e);
  if (eb) return { finding: `trace export: ${eb}`, status };
  if (e.code !== 0 && existsSync(csv)) return { finding: 'failed export left its CSV', status };
  if (e.code === 0 && i.code === 0) {
    const rows = readFileSync(csv, 'utf8').trim().split('\n').length - 1;
    const n = (JSON.parse(i.stdout) as { sweep_records: number }).sweep_records;
    if (rows !== n) return { finding: `export wrote ${rows} rows, inspect counts ${n} sweep records`, status };
  }
  return { finding: null, status };
}

/** The Python reader's verdict on many traces, in one interpreter. */
export function pythonStatuses(files: string[]): { status: string; detail: string }[] {
  const script = join(ROOT, 'test/helpers/py_trace_status.py');
  const r = spawnSync('/usr/bin/python3', [script, ...files], { encoding: 'utf8', timeout: 120_000, cwd: ROOT, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`py_trace_status.py: exit ${r.status}: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { status: string; detail: string });
}

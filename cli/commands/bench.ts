/**
 * `dtca bench [--json] [--quick] [--anchors DIR]`: how fast the simulator runs on this machine
 * (sim/bench.ts says what a row measures). Every row runs in a fresh child process.
 *
 * Rows: ideal and cycle-accurate physics on the paper chip's G12 fabric; L = 70 with 1, 8, 64 and
 * 256 chains, one and two workers, traces off and on; L = 256 with 1 and 64 chains; one chain at
 * L = 256 and 1024 on one and two workers (the chain split by bands of rows, cells/wasm/tiles.ts);
 * ideal physics with exact weights; one 4096 x 4096 sweep. --quick keeps the L = 70 rows for 1 and
 * 64 chains and the ideal one-chain L = 256 rows on one and two workers. --anchors DIR builds and runs the native anchors of that directory
 * (native_batch.c, native_ref.c: C kernels, not part of dtca) before the rows, so the table can
 * give ratios measured in one sitting. --ratios measures, instead of the table, the ratios between
 * rows that issue 17's goals name (cycle against ideal physics, traced against untraced), each pair
 * of rows alternated in this process (sim/bench.ts alternatedRatio).
 */
import type { Argv } from 'yargs';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError, Interrupted } from '../../fabric/errors.js';
import { listenForStop, interruptedLine } from '../signals.js';
import { readInputFile } from '../../fabric/read.js';
import type { Logger } from 'pino';
import type { Session } from '../session.js';
import { ENGINE_CHOICES, type EngineChoice } from '../../cells/engine.js';
import { MAX_L } from '../../sim/config-check.js';
import { maxWorkers } from '../../sim/resources.js';
import { machine, measureRow, alternatedRatio, type AlternatedRatio, type Machine, type RowResult, type RowSpec, type BenchPhysics } from '../../sim/bench.js';

export interface BenchRow extends RowResult {
  machine: Machine;
  /** `dtca run` start-up to its first sweep (measured once per bench, null when not measurable) */
  run_startup_s: number | null;
  /** rows that could not run (too big, too slow) say why */
  skipped?: string;
}

export interface Anchor {
  name: string;
  command: string;
  updates_per_ns: number;
}

/**
 * Warm-up of the one-chain rows at L >= 256, whose chain is split over worker threads in the
 * two-worker row: each thread's code warms up on its own, and the split chain reaches its steady
 * rate only after about a second (measured 6 December at L = 256: 1.1-1.5x one thread in the first
 * 0.6 s, 1.8-2.0x after 1 s), so a 0.3 s warm-up timed the start-up, not the split. The one-thread
 * row it is compared with warms up as long.
 */
export const SPLIT_WARMUP_S = 1.5;

function row(physics: BenchPhysics, L: number, chains: number, workers: number, trace: boolean, quick: boolean, over: Partial<RowSpec> = {}): RowSpec {
  const big = L * L * chains;
  const sweeps = Math.max(2, Math.min(400, Math.floor(2e7 / big)));
  const pair = chains === 1 && L >= 256;
  const warmupS = pair ? SPLIT_WARMUP_S : quick ? 0.3 : 1;
  return { physics, L, rules: 'G12', chains, workers, trace, engine: 'auto', sweeps, warmupS, minTimeS: quick ? (pair ? 1 : 0.3) : 2, ...over };
}

export function rowsFor(quick: boolean): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const physics of ['ideal', 'cycle'] as const) {
    for (const chains of quick ? [1, 64] : [1, 8, 64, 256]) {
      rows.push(row(physics, 70, chains, 1, false, quick));
      if (chains === 1 || chains === 64) rows.push(row(physics, 70, chains, 1, true, quick));
      if (!quick && chains >= 8) rows.push(row(physics, 70, chains, 2, false, quick));
    }
  }
  // one chain split over two workers (tiles) against one worker
  rows.push(row('ideal', 256, 1, 1, false, quick), row('ideal', 256, 1, 2, false, quick));
  if (quick) return rows;
  rows.push(row('exact', 70, 1, 1, false, quick), row('exact', 70, 64, 1, false, quick));
  for (const physics of ['ideal', 'cycle'] as const) {
    if (physics === 'cycle') rows.push(row(physics, 256, 1, 1, false, quick), row(physics, 256, 1, 2, false, quick));
    rows.push(row(physics, 256, 64, 1, false, quick), row(physics, 256, 64, 2, false, quick));
  }
  rows.push(row('ideal', 256, 256, 2, false, quick, { sweeps: 2 }));
  for (const physics of ['ideal', 'cycle'] as const) for (const workers of [1, 2]) rows.push(row(physics, 1024, 1, workers, false, quick, { sweeps: 4 }));
  rows.push(row('exact', 4096, 1, 1, false, quick, { sweeps: 1, warmupS: 0, minTimeS: 0 }));
  return rows;
}

/** A ratio `dtca bench --ratios` measures: row b against row a, alternated (sim/bench.ts alternatedRatio). */
export interface RatioPair {
  name: string;
  a: RowSpec;
  b: RowSpec;
  /** how b over a reads: times slower, or the percentage it adds */
  reads: 'times' | 'percent';
}

/** The ratios issue 17's goals are stated in, each between two rows of the table (one worker, L = 70). */
export function ratioPairs(quick: boolean): RatioPair[] {
  const r = (physics: BenchPhysics, chains: number, trace: boolean) =>
    row(physics, 70, chains, 1, trace, quick, { warmupS: quick ? 0.3 : 0.5, minTimeS: quick ? 0.3 : 1 });
  const tracing = (physics: BenchPhysics, chains: number): RatioPair => ({
    name: `tracing every sweep, ${physics}, ${chains === 1 ? 'one chain' : `${chains} chains`}`,
    a: r(physics, chains, false),
    b: r(physics, chains, true),
    reads: 'percent',
  });
  return [
    { name: 'cycle-accurate against ideal physics, 64 chains', a: r('ideal', 64, false), b: r('cycle', 64, false), reads: 'times' },
    tracing('ideal', 64),
    tracing('cycle', 64),
    tracing('ideal', 1),
    tracing('cycle', 1),
  ];
}

export interface RatioResult extends AlternatedRatio {
  name: string;
  reads: RatioPair['reads'];
  rounds: number;
  /** each round's slice of a row: at least this many seconds of sweeps (a traced row's in whole chunks of TRACE_CHUNK sweeps) */
  slice_s: number;
  a: RowSpec;
  b: RowSpec;
}

export async function runRatios(quick: boolean, log: Pick<Logger, 'info'>): Promise<RatioResult[]> {
  const rounds = quick ? 9 : 21;
  const sliceS = quick ? 0.1 : 0.3;
  const out: RatioResult[] = [];
  for (const p of ratioPairs(quick)) {
    log.info({ ratio: p.name, rounds, slice_s: sliceS }, 'bench ratio');
    out.push({ name: p.name, reads: p.reads, rounds, slice_s: sliceS, a: p.a, b: p.b, ...(await alternatedRatio(p.a, p.b, rounds, sliceS)) });
  }
  return out;
}

export function formatRatios(ratios: RatioResult[]): string {
  const m = machine();
  const lines = [`machine   ${m.cpu}, ${m.cores} cores, Node ${m.node} (${m.arch})`];
  const r0 = ratios[0];
  lines.push(
    `ratios of two rows measured alternately in one process (L = 70, one worker${r0 ? `; ${r0.rounds} rounds of a slice of each row, slices of at least ${r0.slice_s} s` : ''}): the median, and the middle half of the rounds`,
  );
  const w = Math.max(...ratios.map((r) => r.name.length));
  for (const r of ratios) {
    const fmt = (x: number) => (r.reads === 'times' ? `${x.toFixed(2)}x slower` : `${x >= 1 ? '+' : '-'}${(Math.abs(x - 1) * 100).toFixed(1)} %`);
    const short = (x: number) => (r.reads === 'times' ? x.toFixed(2) : `${x >= 1 ? '+' : '-'}${(Math.abs(x - 1) * 100).toFixed(0)} %`);
    const [q1, q3] = quartiles(r.ratios);
    lines.push(`${r.name.padEnd(w)}  ${fmt(r.median).padStart(12)}  (${short(q1)} to ${short(q3)})`);
  }
  return lines.join('\n') + '\n';
}

/** the first and third quartiles (linear interpolation between order statistics) */
export function quartiles(xs: number[]): [number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => {
    if (s.length === 0) return NaN;
    const i = p * (s.length - 1);
    const lo = Math.floor(i);
    return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
  };
  return [at(0.25), at(0.75)];
}

/** Start-up runs measured; the median is reported (one run is at the mercy of a shared machine's load). */
const STARTUP_RUNS = 5;

/** `dtca run` start-up to its first sweep: the median of STARTUP_RUNS child processes (null when not running from the bundle). */
function runStartup(): number | null {
  const got: number[] = [];
  for (let k = 0; k < STARTUP_RUNS; k++) {
    const s = runStartupOnce();
    if (s === null) return null;
    got.push(s);
  }
  got.sort((a, b) => a - b);
  return got[Math.floor(got.length / 2)];
}

function runStartupOnce(): number | null {
  const entry = process.argv[1];
  if (!entry || !entry.endsWith('.js')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'dtca-bench-'));
  try {
    const out = execFileSync(process.execPath, [entry, 'run', '--images', '1', '--sweeps', '1', '--json', '--out', join(dir, 'run')], {
      encoding: 'utf8',
      env: { ...process.env, DTCA_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 120_000,
    });
    const stats = JSON.parse(out) as { startup_s?: number };
    return typeof stats.startup_s === 'number' ? stats.startup_s : null;
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Measure a row in a child process (the bundle), or here when there is no bundle to run. */
async function measureIsolated(spec: RowSpec, timeoutS: number): Promise<RowResult & { skipped?: string }> {
  const entry = process.argv[1];
  if (!entry || !entry.endsWith('.js')) return measureRow(spec);
  try {
    const out = execFileSync(process.execPath, ['--max-old-space-size=16384', entry, 'bench', '--row', JSON.stringify(spec)], {
      encoding: 'utf8',
      env: { ...process.env, DTCA_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutS * 1000,
      maxBuffer: 1 << 20,
    });
    return JSON.parse(out);
  } catch (e) {
    const err = e as { signal?: string; stderr?: string; message: string };
    const why = err.signal === 'SIGTERM' ? `did not finish within ${timeoutS} s` : (err.stderr || err.message).trim().split('\n').slice(-1)[0];
    return {
      ...spec,
      cells: spec.L * spec.L,
      cell_updates: 0,
      wall_s: 0,
      updates_per_ns: 0,
      us_per_sweep: 0,
      setup_s: 0,
      rss_peak_bytes: 0,
      engine_used: 'reference',
      engine_refused: [],
      engine_tiles: 1,
      skipped: why,
    };
  }
}

/** An anchor source may weigh at most this (the anchors are a few tens of KiB of C). */
export const ANCHOR_SOURCE_MAX = 4 * 2 ** 20;
/** Each gcc compile and each anchor run is given this long (they take seconds), then killed. */
export const ANCHOR_TIMEOUT_MS = 300_000;

/** A child that did not end on its own: killed at its timeout (`code` ETIMEDOUT) or for a stop. */
class ChildTimedOut extends Error {
  readonly code = 'ETIMEDOUT';
}

/**
 * Run a program to its end and resolve with its standard output (stdin ignored, stderr kept for
 * the message). It is killed with `killSignal` after `timeout` ms (rejects with ChildTimedOut) or
 * when `stop` aborts (rejects with Interrupted once it has ended); a non-zero exit rejects with
 * "Command failed: ...". With `stop`, a child that failed is judged 100 ms later: a Ctrl-C at a
 * terminal reaches the whole process group, so the child (or the shell of the two copies, which
 * then ends with 137) may end of it before this process's handler has seen the same signal: then
 * it is a stop, not a failure.
 */
function runChild(file: string, args: string[], o: { timeout: number; killSignal: NodeJS.Signals; stop?: AbortSignal }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let why: 'timeout' | 'stop' | null = null;
    const kill = (w: 'timeout' | 'stop') => {
      if (why) return;
      why = w;
      child.kill(o.killSignal);
    };
    const timer = setTimeout(() => kill('timeout'), o.timeout);
    const onStop = () => kill('stop');
    o.stop?.addEventListener('abort', onStop);
    if (o.stop?.aborted) onStop();
    const done = () => {
      clearTimeout(timer);
      o.stop?.removeEventListener('abort', onStop);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 1 << 16) err += d;
    });
    child.on('error', (e) => {
      done();
      reject(e);
    });
    child.on('close', (code, signal) => {
      done();
      const failed = () =>
        new Error(`Command failed: ${[file, ...args].join(' ')}${signal ? ` (ended by ${signal})` : ` (exit ${code})`}${err ? `\n${err}` : ''}`);
      if (why === 'stop') reject(new Interrupted({}, 'stop requested'));
      else if (why === 'timeout') reject(new ChildTimedOut(`${file}: killed at the timeout`));
      else if (code === 0) resolve(out);
      else if (o.stop) setTimeout(() => reject(o.stop!.aborted ? new Interrupted({}, 'stop requested') : failed()), 100);
      else reject(failed());
    });
  });
}

/**
 * Build and run the native anchors of `dir` (best of three runs each). The sources are read the
 * bounded way (regular files of at most ANCHOR_SOURCE_MAX: a FIFO would block gcc forever) and
 * compiled from copies in a scratch directory (`dtca-anchors-*` under the system's temporary
 * directory), removed at the end whatever happens; each compile and each run is killed after
 * `timeoutMs`, one line naming it. `stop` (dtca bench's SIGINT/SIGTERM) kills the compile or
 * anchor running and ends with an Interrupted once the scratch directory is removed.
 */
export async function runAnchors(dir: string, o: { timeoutMs?: number; stop?: AbortSignal } = {}): Promise<Anchor[]> {
  const timeout = o.timeoutMs ?? ANCHOR_TIMEOUT_MS;
  const d = resolve(dir);
  const batch = join(d, 'native_batch.c');
  const ref = join(d, 'native_ref.c');
  if (!existsSync(batch) || !existsSync(ref)) throw new UserError(`--anchors ${dir}: no native_batch.c and native_ref.c there`);
  const sources = [batch, ref].map((f) => readInputFile(f, { what: 'C source', max: ANCHOR_SOURCE_MAX }));
  const tmp = mkdtempSync(join(tmpdir(), 'dtca-anchors-'));
  // a child killed at the timeout: which one, and how long it had
  const timedOut = (e: unknown) => e instanceof ChildTimedOut;
  const secs = `${timeout / 1000} s`;
  try {
    writeFileSync(join(tmp, 'native_batch.c'), sources[0]);
    writeFileSync(join(tmp, 'native_ref.c'), sources[1]);
    const cc = (src: string, out: string, flags: string[]) =>
      runChild('gcc', [...flags, join(tmp, src), '-o', join(tmp, out), '-lm'], { timeout, killSignal: 'SIGKILL', stop: o.stop });
    for (const [src, out, flags] of [
      ['native_batch.c', 'nb_v2', ['-O3', '-march=x86-64-v2']],
      ['native_ref.c', 'native_ref', ['-O3', '-march=native', '-ffast-math']],
    ] as const) {
      try {
        await cc(src, out, [...flags]);
      } catch (e) {
        if (e instanceof Interrupted) throw e;
        if (timedOut(e)) throw new UserError(`--anchors ${dir}: gcc did not finish building ${src} within ${secs} (killed)`);
        throw new UserError(`--anchors: cannot build the anchors with gcc (${(e as Error).message.split('\n')[0]})`);
      }
    }
    // an anchor that crashes, exits non-zero or never finishes is the anchors' fault: one line, not a stack trace
    const run = async (file: string, args: string[], what: string, killSignal: NodeJS.Signals = 'SIGKILL'): Promise<string> => {
      try {
        return await runChild(file, args, { timeout, killSignal, stop: o.stop });
      } catch (e) {
        if (e instanceof Interrupted) throw e;
        if (timedOut(e)) throw new UserError(`--anchors ${dir}: ${what} did not finish within ${secs} (killed)`);
        throw new UserError(`--anchors ${dir}: ${what} failed (${(e as Error).message.split('\n')[0]})`);
      }
    };
    const rate = async (exe: string, args: string[]) => {
      let best = 0;
      for (let k = 0; k < 3; k++) {
        const out = await run(join(tmp, exe), args, `${exe} ${args.join(' ')}`);
        const m = /([0-9.]+) cell-updates\/ns/.exec(out);
        if (m) best = Math.max(best, Number(m[1]));
      }
      return best;
    };
    // two copies at once, started together: what the machine's two cores give two independent
    // single-chain kernels (shared L3 and memory, or hyperthread siblings) — the ceiling of a row on
    // two workers. Best of three of the summed rates.
    const pair = async (exe: string, args: string[]) => {
      let best = 0;
      for (let k = 0; k < 3; k++) {
        // the program and its arguments as the shell's positional parameters, never in the script
        // killed at the timeout or for a stop, the shell kills both copies (they hold its stdout: left running, the read would never end);
        // so does a Ctrl-C at a terminal, which reaches the shell too (its background copies ignore SIGINT)
        const script = '"$0" "$@" & a=$!; "$0" "$@" & b=$!; trap \'kill -9 $a $b; exit 137\' INT TERM; wait';
        const out = await run('sh', ['-c', script, join(tmp, exe), ...args], `two copies of ${exe} ${args.join(' ')}`, 'SIGTERM');
        const rates = [...out.matchAll(/([0-9.]+) cell-updates\/ns/g)].map((m) => Number(m[1]));
        if (rates.length === 2) best = Math.max(best, rates[0] + rates[1]);
      }
      return best;
    };
    return [
      { name: 'native one chain (native_ref, -march=native)', command: 'native_ref 70 4000', updates_per_ns: await rate('native_ref', ['70', '4000']) },
      {
        name: 'native 64 chains in lanes (native_batch i16f, x86-64-v2)',
        command: 'native_batch i16f 70 64 400',
        updates_per_ns: await rate('nb_v2', ['i16f', '70', '64', '400']),
      },
      {
        name: 'native 64 chains L=256 (native_batch i16f, x86-64-v2)',
        command: 'native_batch i16f 256 64 100',
        updates_per_ns: await rate('nb_v2', ['i16f', '256', '64', '100']),
      },
      { name: 'native one chain L=256 (native_ref)', command: 'native_ref 256 1500', updates_per_ns: await rate('native_ref', ['256', '1500']) },
      {
        name: 'native one chain L=256, two copies at once (summed)',
        command: 'native_ref 256 1500 & native_ref 256 1500',
        updates_per_ns: await pair('native_ref', ['256', '1500']),
      },
    ];
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * --anchors with SIGINT/SIGTERM stopping it (cli/signals.ts): the compile or anchor running is
 * killed, the scratch directory removed, one line and exit 130/143. The rows after the anchors
 * keep the signals' default action (they write nothing but standard output).
 */
async function anchorsStoppable(dir: string, s: Session): Promise<Anchor[]> {
  const sig = listenForStop(s.signals);
  const abort = new AbortController();
  void sig.received.then(() => abort.abort());
  try {
    return await runAnchors(dir, { stop: abort.signal });
  } catch (e) {
    if (sig.signal !== null && e instanceof Interrupted)
      throw interruptedLine(sig.signal, ': the native anchors not measured, their scratch directory removed', ['dtca', ...s.argv], 'run again with');
    throw e;
  } finally {
    sig.dispose();
  }
}

export async function runBench(quick: boolean, log: Pick<Logger, 'info'>, onRow?: (r: BenchRow) => void): Promise<BenchRow[]> {
  const m = machine();
  const startup = runStartup();
  const rows: BenchRow[] = [];
  for (const spec of rowsFor(quick)) {
    log.info({ physics: spec.physics, L: spec.L, chains: spec.chains, workers: spec.workers, trace: spec.trace }, 'bench row');
    const r = await measureIsolated(spec, spec.L >= 4096 ? 900 : 600);
    const out: BenchRow = { ...r, machine: m, run_startup_s: startup };
    rows.push(out);
    onRow?.(out);
  }
  return rows;
}

function fmtBytes(b: number): string {
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`;
}

/** Two copies of the native single-chain kernel at once over one copy (anchors 3 and 4 of runAnchors); null without them. */
export function twoCoreCeiling(anchors: Anchor[]): number | null {
  const one = anchors[3]?.updates_per_ns;
  const two = anchors[4]?.updates_per_ns;
  return one && two ? two / one : null;
}

export function formatBench(rows: BenchRow[], anchors: Anchor[] = []): string {
  const m = rows[0]?.machine ?? machine();
  const lines: string[] = [];
  lines.push(`machine   ${m.cpu}, ${m.cores} cores, Node ${m.node} (${m.arch})`);
  if (rows[0]?.run_startup_s != null) lines.push(`dtca run start-up to first sweep: ${rows[0].run_startup_s.toFixed(3)} s (median of ${STARTUP_RUNS} runs)`);
  for (const a of anchors) lines.push(`anchor    ${a.name}: ${a.updates_per_ns.toFixed(3)} updates/ns`);
  const ceiling = twoCoreCeiling(anchors);
  if (ceiling !== null)
    lines.push(`two cores give two native copies ${ceiling.toFixed(2)}x one: the most a row on two workers can gain over one on this machine`);
  lines.push('');
  const ratioTo = (r: BenchRow): string => {
    const a = r.chains === 1 ? anchors[0] : r.L === 256 ? anchors[2] : anchors[1];
    return a && a.updates_per_ns > 0 && !r.skipped ? `${(r.updates_per_ns / r.workers / a.updates_per_ns).toFixed(2)}x` : '';
  };
  // a many-chain row's sweep is one sweep of every chain (us_per_sweep): the header said µs/sweep, read as one chain's
  const head = ['physics', 'L', 'chains', 'workers', 'trace', 'engine', 'updates/ns', 'µs/sweep of all chains', 'set-up s', 'peak RSS'];
  if (anchors.length) head.push('per core / anchor');
  const body = rows.map((r) => {
    const cols = [
      r.physics,
      String(r.L),
      String(r.chains),
      String(r.workers),
      r.trace ? 'on' : 'off',
      r.engine_tiles > 1 ? `${r.engine_used} (${r.engine_tiles} tiles)` : r.engine_used,
    ];
    if (r.skipped) return [...cols, 'skipped', r.skipped, '', '', ...(anchors.length ? [''] : [])];
    cols.push(r.updates_per_ns.toFixed(4), r.us_per_sweep.toFixed(1), r.setup_s.toFixed(2), fmtBytes(r.rss_peak_bytes));
    if (anchors.length) cols.push(ratioTo(r));
    return cols;
  });
  const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k].length)));
  const line = (cols: string[]) => cols.map((c, k) => (k <= 1 || k === 5 ? c.padEnd(w[k]) : c.padStart(w[k]))).join('  ');
  lines.push(line(head));
  for (const b of body) lines.push(line(b));
  if (rows.some((r) => r.chains > 1 && !r.skipped))
    lines.push("µs/sweep of all chains: wall time for one sweep of every chain of the row (one chain's share: divide by chains)");
  const refusals = new Set(rows.flatMap((r) => r.engine_refused.map((x) => `${x.engine}: ${x.reason}`)));
  if (refusals.size) lines.push('', 'engines passed over by auto:', ...[...refusals].map((x) => `  ${x}`));
  return lines.join('\n') + '\n';
}

/** The most chains and sweeps a --row may ask for (the bench's own rows stay far below). */
const ROW_MAX_CHAINS = 4096;
const ROW_MAX_SWEEPS = 1e6;
const ROW_MAX_SECONDS = 3600;

/** --row's JSON row spec, every field checked: a UserError naming the field, never a TypeError in the row. */
export function parseRowSpec(text: string): RowSpec {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UserError('--row: expected a JSON row spec');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UserError('--row: expected a JSON object (a row spec)');
  const o = v as Record<string, unknown>;
  const bad = (field: string, what: string): never => {
    throw new UserError(`--row: ${field} = ${JSON.stringify(o[field]) ?? 'missing'}: expected ${what}`);
  };
  const int = (field: string, min: number, max: number): number => {
    const x = o[field];
    return typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max ? x : bad(field, `an integer in ${min}..${max}`);
  };
  const seconds = (field: string): number => {
    const x = o[field];
    return typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= ROW_MAX_SECONDS ? x : bad(field, `seconds in 0..${ROW_MAX_SECONDS}`);
  };
  const known = ['physics', 'L', 'rules', 'chains', 'workers', 'trace', 'engine', 'sweeps', 'warmupS', 'minTimeS'];
  const unknown = Object.keys(o).find((k) => !known.includes(k));
  if (unknown !== undefined) throw new UserError(`--row: ${JSON.stringify(unknown)}: unknown field (known: ${known.join(', ')})`);
  const physics = o.physics;
  if (physics !== 'ideal' && physics !== 'exact' && physics !== 'cycle') bad('physics', 'ideal, exact or cycle');
  if (typeof o.rules !== 'string' || !/^[A-Za-z0-9_]+$/.test(o.rules)) bad('rules', 'a rule preset name (G12)');
  if (typeof o.trace !== 'boolean') bad('trace', 'true or false');
  if (!ENGINE_CHOICES.includes(o.engine as EngineChoice)) bad('engine', ENGINE_CHOICES.join(', '));
  return {
    physics: physics as BenchPhysics,
    L: int('L', 2, MAX_L),
    rules: o.rules as string,
    chains: int('chains', 1, ROW_MAX_CHAINS),
    workers: int('workers', 1, maxWorkers()),
    trace: o.trace as boolean,
    engine: o.engine as EngineChoice,
    sweeps: int('sweeps', 1, ROW_MAX_SWEEPS),
    warmupS: seconds('warmupS'),
    minTimeS: seconds('minTimeS'),
  };
}

interface BenchArgs {
  json?: boolean;
  quick?: boolean;
  ratios?: boolean;
  row?: string;
  anchors?: string;
}

export function benchCommand<T>(y: Argv<T>, s: Session): Argv<T> {
  return y.command(
    'bench',
    'measure simulator speed (cell updates per ns) on this machine',
    (yy) =>
      yy
        .option('json', { type: 'boolean', default: false, describe: 'print the rows as JSON' })
        .option('quick', {
          type: 'boolean',
          default: false,
          describe: 'only the L = 70 rows for 1 and 64 chains and the ideal one-chain L = 256 pair (one and two workers), short timings',
        })
        .option('anchors', { type: 'string', describe: 'directory with the native anchors (native_batch.c, native_ref.c): build (gcc) and run them first' })
        .option('ratios', {
          type: 'boolean',
          default: false,
          describe:
            'instead of the table: cycle against ideal physics and traced against untraced rows, each pair measured alternately (7 rounds; 3 with --quick)',
        })
        .option('row', { type: 'string', hidden: true, describe: 'measure one row (JSON RowSpec) and print it (used by bench itself)' }),
    (args) => benchMain(args as unknown as BenchArgs, s),
  );
}

async function benchMain(a: BenchArgs, s: Session): Promise<void> {
  if (a.row) {
    const spec = parseRowSpec(a.row);
    process.stdout.write(JSON.stringify(await measureRow(spec)) + '\n');
    return;
  }
  if (a.ratios) {
    if (a.anchors) throw new UserError('--ratios measures pairs of rows against each other, not against the native anchors: drop --anchors or --ratios');
    const ratios = await runRatios(Boolean(a.quick), s.log);
    process.stdout.write(a.json ? JSON.stringify({ machine: machine(), ratios }, null, 2) + '\n' : formatRatios(ratios));
    return;
  }
  const anchors = a.anchors ? await anchorsStoppable(a.anchors, s) : [];
  const rows = await runBench(Boolean(a.quick), s.log, (r) => s.log.debug({ row: r }, 'bench row done'));
  process.stdout.write(
    a.json ? JSON.stringify(anchors.length ? { anchors, two_core_ceiling: twoCoreCeiling(anchors), rows } : rows, null, 2) + '\n' : formatBench(rows, anchors),
  );
}

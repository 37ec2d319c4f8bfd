/**
 * `dtca bench [--json] [--quick]`: how fast the simulator runs on this machine.
 *
 * Rows: the ideal and the cycle-accurate engine (the paper preset with every non-ideality on), on
 * L x L grids of G12 cells with the default random workload (weights U(-0.25, 0.25), biases
 * U(-0.1, 0.1)), one chain on one core and four chains on two worker threads. Every row runs in a
 * fresh child process (clean JIT state, its own peak memory), warms up, then times sweeps only:
 *   - one chain: sweeps timed one by one after warm-up sweeps on the same chain;
 *   - several chains: two runs of runModel with different sweep counts; the difference cancels
 *     worker start-up and set-up, so updates_per_ns is the steady rate of the whole machine.
 * updates_per_ns = cell updates per wall nanosecond (all cores of the row together);
 * us_per_sweep = wall microseconds per sweep of one chain on one core.
 * Without --quick a 4096 x 4096 row runs one sweep (set-up and memory are the point there).
 */
import type { Argv } from 'yargs';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../fabric/errors.js';
import { resolveConfig } from './config.js';
import { buildChip, programStage } from './chip.js';
import { randomModel } from './model.js';
import { runModel, initChain, sweepOnce, newTally, latchKey, initKey } from './run.js';
import { zeroEvents, copyEvents, diffEvents } from '../power/events.js';
import { energyOf } from '../power/energy.js';
import { spinsForReading } from '../cells/kernel.js';
import { openTraceWriter } from '../traces/writer.js';
import { TRACE_FORMAT, TRACE_VERSION } from '../traces/types.js';
import { VERSION } from './output.js';
import { fastAvailable } from '../cells/fast.js';
import { log } from './cli-common.js';

export type Engine = 'ideal' | 'cycle';

/** What one row measures. */
export interface RowSpec {
  engine: Engine;
  L: number;
  rules: string;
  /** chains in the run; workers > 1 runs them on worker threads */
  chains: number;
  workers: number;
  /** timed sweeps (one chain), or per chain in the longer of the two runs (several chains) */
  sweeps: number;
  warmup: number;
  /** one chain: warm up at least this long, then time at least minTimeS */
  warmupS: number;
  minTimeS: number;
  /**
   * Full per-sweep tracing: every timed sweep goes to a trace writer (traces/writer.ts) on a
   * temporary file, with its energy increments, exactly as `dtca run --trace` records a sweep.
   */
  trace: boolean;
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  arch: string;
}

export interface BenchRow extends RowSpec {
  cells: number;
  cell_updates: number;
  wall_s: number;
  updates_per_ns: number;
  /** several chains: the rate once workers run (the difference of a short and a long run), when measurable */
  steady_updates_per_ns?: number | null;
  us_per_sweep: number;
  /** set-up before the first timed sweep: config, fabric, model, programming, first sweeps */
  setup_s: number;
  /** peak resident memory of the process that measured the row */
  rss_peak_bytes: number;
  /** which kernel ran: the generated WebAssembly one or the JavaScript reference */
  kernel: 'wasm' | 'js';
  machine: Machine;
  /** `dtca run` start-up to its first sweep (measured once per bench, null when not measurable) */
  run_startup_s: number | null;
  /** rows that could not run (too big, too slow) say why */
  skipped?: string;
}

export function machine(): Machine {
  const c = cpus();
  return { cpu: c[0]?.model.trim() ?? 'unknown', cores: c.length, node: process.version, arch: process.arch };
}

function rowsFor(quick: boolean): RowSpec[] {
  const rows: RowSpec[] = [];
  // L, one chain: sweeps at least, warm-up seconds, timed seconds at least; several chains: sweeps per chain
  const sizes: [number, number, number, number, number][] = quick
    ? [
        [70, 300, 0.3, 0.3, 1200],
        [256, 20, 0.3, 0.3, 80],
      ]
    : [
        [70, 3000, 1, 2, 6000],
        [256, 200, 1, 2, 400],
        [1024, 12, 1, 2, 24],
      ];
  for (const [L, single, warmupS, minTimeS, multi] of sizes) {
    for (const engine of ['ideal', 'cycle'] as Engine[]) {
      rows.push({ engine, L, rules: 'G12', chains: 1, workers: 1, sweeps: single, warmup: 1, warmupS, minTimeS, trace: false });
      if (L === 70) rows.push({ engine, L, rules: 'G12', chains: 1, workers: 1, sweeps: single, warmup: 1, warmupS, minTimeS, trace: true });
      rows.push({ engine, L, rules: 'G12', chains: 4, workers: 2, sweeps: multi, warmup: 0, warmupS: 0, minTimeS: 0, trace: false });
    }
  }
  if (!quick) rows.push({ engine: 'ideal', L: 4096, rules: 'G12', chains: 1, workers: 1, sweeps: 1, warmup: 0, warmupS: 0, minTimeS: 0, trace: false });
  return rows;
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Measure one row in this process. */
export async function measureRow(spec: RowSpec): Promise<Omit<BenchRow, 'machine' | 'run_startup_s'>> {
  const t0 = performance.now();
  const cfg = resolveConfig(undefined, { ideal: spec.engine === 'ideal', sets: [`fabric.L=${spec.L}`, `fabric.rules="${spec.rules}"`] });
  const chip = buildChip(cfg);
  const model = randomModel(chip.fabric, cfg.seed, 0.25, 0.1);
  const N = chip.fabric.N;
  const kernel = fastAvailable() ? 'wasm' : 'js';
  if (spec.chains === 1 && spec.workers === 1) {
    const prog = programStage(chip, model, 0);
    const st0 = model.stages[0];
    const st = initChain(chip, prog.planes, st0.clampIdx, st0.clampVal, initKey(chip, 0, 0), 'hinton', model.beta);
    const tally = newTally();
    const ev = zeroEvents();
    let sweep = 0;
    const tmp = spec.trace ? mkdtempSync(join(tmpdir(), 'dtca-bench-trace-')) : null;
    const sink = tmp ? openTraceWriter(join(tmp, 'bench.dtct'), {}) : null;
    const before = zeroEvents();
    const sweepLeak = (N * chip.timing.sweepCycles) / chip.timing.clockHz;
    if (sink) {
      sink.header({
        format: TRACE_FORMAT,
        version: TRACE_VERSION,
        dtca_version: VERSION,
        created: new Date().toISOString(),
        config: cfg,
        model: { source: model.source },
        layout: { L: chip.fabric.L, N, colour: chip.fabric.colour, visible: new Int32Array(0), image: new Int32Array(0), label: new Int32Array(0), label_copies: 1 },
        run: { chains: 1, stages: 1, sweeps: 2 ** 31, clock_hz: chip.timing.clockHz, mapping: 'bench' },
      });
    }
    const step = () => {
      if (sink) copyEvents(before, ev);
      sweepOnce(chip, prog.planes, st, sweep, model.beta, latchKey(chip, 0, 0, sweep), tally, ev);
      sweep++;
      if (sink) {
        const d = diffEvents(ev, before);
        d.leak_cell_s = sweepLeak;
        const cycle = sweep * chip.timing.sweepCycles;
        sink.sweep({ chain: 0, stage: 0, sweep: sweep - 1, cycle, time_s: cycle / chip.timing.clockHz, spins: spinsForReading(st), toggles: tally.toggles, energy_j: energyOf(d, chip.table) });
      }
    };
    const finish = async () => {
      if (sink) await sink.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    };
    step(); // the first sweep compiles the kernel
    const setupS = (performance.now() - t0) / 1000;
    // warm-up: V8 moves a hot WebAssembly function to its optimising compiler in the background,
    // which takes a while on a busy machine; time the steady state
    const warmUntil = performance.now() + 1000 * spec.warmupS;
    while (sweep < spec.warmup || (performance.now() < warmUntil && spec.sweeps > 1)) step();
    if (spec.sweeps === 1 && spec.warmup === 0 && spec.warmupS === 0) {
      // one sweep: the set-up above included it
      await finish();
      return { ...spec, cells: N, cell_updates: ev.latches, wall_s: setupS, updates_per_ns: ev.latches / (setupS * 1e9), us_per_sweep: setupS * 1e6, setup_s: setupS, rss_peak_bytes: peakRss(), kernel };
    }
    const latchesBefore = ev.latches;
    const first = sweep;
    const t1 = performance.now();
    const until = t1 + 1000 * spec.minTimeS;
    while (sweep - first < spec.sweeps || performance.now() < until) step();
    const wallS = (performance.now() - t1) / 1000;
    const updates = ev.latches - latchesBefore;
    await finish();
    return { ...spec, sweeps: sweep - first, cells: N, cell_updates: updates, wall_s: wallS, updates_per_ns: updates / (wallS * 1e9), us_per_sweep: (wallS * 1e6) / (sweep - first), setup_s: setupS, rss_peak_bytes: peakRss(), kernel };
  }
  // several chains on worker threads: the difference of a short and a long run
  if (spec.sweeps < 2) throw new UserError('bench: a row with several chains needs at least 2 sweeps');
  const short = Math.max(1, Math.floor(spec.sweeps / 4));
  const a = await runModel(chip, model, { chains: spec.chains, sweeps: short, warmup: 0, workers: spec.workers });
  const b = await runModel(chip, model, { chains: spec.chains, sweeps: spec.sweeps, warmup: 0, workers: spec.workers });
  // the long run end to end (worker start-up and each worker's set-up and JIT warm-up included)
  const perCore = Math.min(spec.workers, spec.chains);
  const dWall = b.wallS - a.wallS;
  const dUpdates = b.cellUpdates - a.cellUpdates;
  // the steady rate, when the difference of the two runs is clearly above the noise
  const steady = dWall > 0.25 * b.wallS ? dUpdates / (dWall * 1e9) : null;
  return {
    ...spec,
    cells: N,
    cell_updates: b.cellUpdates,
    wall_s: b.wallS,
    updates_per_ns: b.cellUpdates / (b.wallS * 1e9),
    steady_updates_per_ns: steady,
    us_per_sweep: (b.wallS * 1e6 * perCore) / (spec.chains * spec.sweeps),
    setup_s: steady === null ? a.wallS : Math.max(0, a.wallS - a.cellUpdates / (steady * 1e9)),
    rss_peak_bytes: peakRss(),
    kernel,
  };
}

/** `dtca run` start-up to its first sweep, from a child process (null when not running from the bundle). */
function runStartup(): number | null {
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
async function measureIsolated(spec: RowSpec, timeoutS: number): Promise<Omit<BenchRow, 'machine' | 'run_startup_s'>> {
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
    return { ...spec, cells: spec.L * spec.L, cell_updates: 0, wall_s: 0, updates_per_ns: 0, us_per_sweep: 0, setup_s: 0, rss_peak_bytes: 0, kernel: fastAvailable() ? 'wasm' : 'js', skipped: why };
  }
}

export async function runBench(quick: boolean, onRow?: (r: BenchRow) => void): Promise<BenchRow[]> {
  const m = machine();
  const startup = runStartup();
  const rows: BenchRow[] = [];
  for (const spec of rowsFor(quick)) {
    log.info({ engine: spec.engine, L: spec.L, chains: spec.chains, workers: spec.workers }, 'bench row');
    const r = await measureIsolated(spec, spec.L >= 4096 ? 900 : 600);
    const row: BenchRow = { ...r, machine: m, run_startup_s: startup };
    rows.push(row);
    onRow?.(row);
  }
  return rows;
}

function fmtBytes(b: number): string {
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`;
}

export function formatBench(rows: BenchRow[]): string {
  const m = rows[0]?.machine ?? machine();
  const lines: string[] = [];
  lines.push(`machine   ${m.cpu}, ${m.cores} cores, Node ${m.node} (${m.arch}); kernel ${rows[0]?.kernel ?? '?'}`);
  if (rows[0]?.run_startup_s != null) lines.push(`dtca run start-up to first sweep: ${rows[0].run_startup_s.toFixed(3)} s`);
  lines.push('');
  const head = ['engine', 'L', 'chains', 'workers', 'trace', 'updates/ns', 'steady', 'µs/sweep', 'set-up s', 'peak RSS'];
  const body = rows.map((r) =>
    r.skipped
      ? [r.engine, String(r.L), String(r.chains), String(r.workers), r.trace ? 'on' : 'off', 'skipped', r.skipped, '', '', '']
      : [
          r.engine,
          String(r.L),
          String(r.chains),
          String(r.workers),
          r.trace ? 'on' : 'off',
          r.updates_per_ns.toFixed(4),
          r.steady_updates_per_ns == null ? '' : r.steady_updates_per_ns.toFixed(4),
          r.us_per_sweep.toFixed(1),
          r.setup_s.toFixed(2),
          fmtBytes(r.rss_peak_bytes),
        ],
  );
  const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k].length)));
  const line = (cols: string[]) => cols.map((c, k) => (k <= 1 ? c.padEnd(w[k]) : c.padStart(w[k]))).join('  ');
  lines.push(line(head));
  for (const b of body) lines.push(line(b));
  return lines.join('\n') + '\n';
}

interface BenchArgs {
  json?: boolean;
  quick?: boolean;
  row?: string;
}

export function benchCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    'bench',
    'measure simulator speed (cell updates per ns) on this machine',
    (yy) =>
      yy
        .option('json', { type: 'boolean', default: false, describe: 'print the rows as JSON' })
        .option('quick', { type: 'boolean', default: false, describe: 'fewer sweeps; skip the 1024 and 4096 grids' })
        .option('row', { type: 'string', hidden: true, describe: 'measure one row (JSON RowSpec) and print it (used by bench itself)' }),
    (args) => benchMain(args as unknown as BenchArgs),
  );
}

async function benchMain(a: BenchArgs): Promise<void> {
  if (a.row) {
    let spec: RowSpec;
    try {
      spec = JSON.parse(a.row) as RowSpec;
    } catch {
      throw new UserError('--row: expected a JSON row spec');
    }
    process.stdout.write(JSON.stringify(await measureRow(spec)) + '\n');
    return;
  }
  const rows = await runBench(Boolean(a.quick), (r) => log.debug({ row: r }, 'bench row done'));
  process.stdout.write(a.json ? JSON.stringify(rows, null, 2) + '\n' : formatBench(rows));
}

/**
 * Time-to-quality curve of `dtca train` runs (docs/training.md): scores a run's snapshots
 * (MODEL.epochs/epoch-E.mp, written by --snapshots) with `dtca eval --chip ideal` and charts FD and
 * clamped accuracy against training wall time.
 *
 *   npx tsx scripts/training-curve.ts eval LABEL MODEL N EPOCH[,EPOCH...]   # appends to MODEL.curve.jsonl
 *   npx tsx scripts/training-curve.ts assemble OUT.json LABEL=MODEL:CPU_LOG[:CPU_OFFSET_S]...  # the curve file
 *   npx tsx scripts/training-curve.ts chart docs/training-curve.json docs/training-curve   # .svg + .png
 *
 * The curve file (docs/training-curve.json) is assembled from these scores and the CPU time of the
 * training process at each snapshot (scripts/cpu-watch.sh), see docs/training.md.
 *
 * A snapshot's wall time is its file's modification time minus that of the run's MODEL.ckpt/run.json
 * (written when the run starts; a run continued with --resume rewrites it, so time only
 * uninterrupted runs this way). Every score names its N: compare FDs only at the same N.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeChart, type ChartSpec } from '../sim/io/plot.js';

const CLI = fileURLToPath(new URL('../dist/dtca.js', import.meta.url));

interface Point {
  label: string;
  model: string;
  epoch: number;
  wall_s: number;
  n: number;
  fd: number;
  clamped_accuracy: number;
  factorised_fd: number;
  floor_fd: number;
}

function evalPoints(label: string, model: string, n: number, epochs: number[]): void {
  const t0 = statSync(`${model}.ckpt/run.json`).mtimeMs;
  for (const e of epochs) {
    const snap = `${model}.epochs/epoch-${e}.mp`;
    if (!existsSync(snap)) throw new Error(`${snap}: no such snapshot`);
    const wall = (statSync(snap).mtimeMs - t0) / 1000;
    const out = execFileSync(process.execPath, [CLI, 'eval', snap, '--chip', 'ideal', '--images', String(n), '--workers', '1', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, DTCA_LOG: 'warn' },
      maxBuffer: 1 << 26,
    });
    const r = JSON.parse(out) as { fd: number; clamped_accuracy: number; baselines: { floor: { fd: number }; factorised: { fd: number } } };
    const p: Point = {
      label,
      model,
      epoch: e,
      wall_s: +wall.toFixed(1),
      n,
      fd: +r.fd.toFixed(2),
      clamped_accuracy: r.clamped_accuracy,
      factorised_fd: +r.baselines.factorised.fd.toFixed(2),
      floor_fd: +r.baselines.floor.fd.toFixed(2),
    };
    appendFileSync(`${model}.curve.jsonl`, JSON.stringify(p) + '\n');
    process.stdout.write(JSON.stringify(p) + '\n');
  }
}

/** the chart of a curve file (docs/training-curve.json): FD and clamped accuracy against two-core minutes */
async function chart(inJson: string, outBase: string): Promise<void> {
  const d = JSON.parse(readFileSync(inJson, 'utf8')) as {
    points: { recipe: string; two_core_min: number; n: number; fd: number; clamped_accuracy: number }[];
    factorised_fd_n1000: number;
    goal_fd: number;
  };
  const rows = d.points.flatMap((p) => [
    { recipe: p.recipe, minutes: p.two_core_min, metric: 'FD (lower is better)', value: p.fd, n: `N = ${p.n}` },
    { recipe: p.recipe, minutes: p.two_core_min, metric: 'clamped accuracy', value: p.clamped_accuracy, n: `N = ${p.n}` },
  ]);
  const rules = [
    { metric: 'FD (lower is better)', value: d.factorised_fd_n1000, what: 'factorised (N = 1000)' },
    { metric: 'FD (lower is better)', value: d.goal_fd, what: 'goal FD 72' },
    { metric: 'clamped accuracy', value: 0.6, what: 'goal 0.6' },
  ];
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'dtca train on the paper chip (70x70 G12, T = 8): quality against training time on two cores',
    data: { values: [...rows.map((r) => ({ ...r, kind: 'point' })), ...rules.map((r) => ({ ...r, kind: 'rule' }))] },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 320,
      height: 240,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'point'" }],
          mark: { type: 'line', point: { filled: true, size: 50 } },
          encoding: {
            x: { field: 'minutes', type: 'quantitative', title: 'training time on two cores (min, CPU seconds / 2)' },
            y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
            color: { field: 'recipe', type: 'nominal', legend: { orient: 'bottom', columns: 1 } },
            shape: { field: 'n', type: 'nominal', title: 'eval images' },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'rule'" }],
          mark: { type: 'rule', strokeDash: [4, 3], color: 'gray' },
          encoding: { y: { field: 'value', type: 'quantitative' } },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as unknown as ChartSpec;
  // the chart is rewritten whole each time
  for (const ext of ['svg', 'png']) rmSync(`${outBase}.${ext}`, { force: true });
  await writeChart(spec, outBase);
}

/**
 * The old recipe's points: the shipped model of 1 December (configs/models/fmnist-t8.manifest.json,
 * 60 epochs, 8,275 thread-seconds: 69 s of two-core time per epoch), scored then with dtca eval
 * --chip ideal at N = 1000 (README of that time; clamped accuracy recorded at epochs 4, 8 and 60).
 */
const OLD = {
  recipe: 'old (shipped 1 Dec: noise-started, 60 warm-up, 115 sweeps per phase)',
  s_per_epoch: 8275 / 60 / 2,
  points: [
    [4, 195, 0.16],
    [8, 167, 0.22],
    [16, 119, null],
    [24, 82, null],
    [35, 73, null],
    [50, 77, null],
    [60, 71.38, 0.624],
  ] as [number, number, number | null][],
};

function cpuAt(log: [number, number][], tSec: number): number {
  let best = log[0][1];
  for (const [t, c] of log) if (t <= tSec) best = c;
  return best;
}

function assemble(out: string, runs: string[]): void {
  const points: Record<string, unknown>[] = OLD.points.map(([e, fd, acc]) => ({
    recipe: OLD.recipe,
    epoch: e,
    two_core_min: +((e * OLD.s_per_epoch) / 60).toFixed(2),
    wall_min: null,
    n: 1000,
    fd,
    clamped_accuracy: acc,
    source: 'README / manifest of the shipped model (not re-run)',
  }));
  for (const r of runs) {
    const [label, rest] = [r.slice(0, r.indexOf('=')), r.slice(r.indexOf('=') + 1)];
    const [model, cpuLog, offset] = rest.split(':');
    const log = readFileSync(cpuLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').map(Number) as [number, number]);
    const t0 = statSync(`${model}.ckpt/run.json`).mtimeMs / 1000;
    const rows = readFileSync(`${model}.curve.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Point);
    const byKey = new Map<string, Point>();
    for (const p of rows) byKey.set(`${p.epoch}/${p.n}`, p);
    for (const p of [...byKey.values()].sort((a, b) => a.epoch - b.epoch || a.n - b.n)) {
      const snapT = statSync(`${model}.epochs/epoch-${p.epoch}.mp`).mtimeMs / 1000;
      const cpu = cpuAt(log, snapT) + Number(offset ?? 0);
      points.push({
        recipe: label,
        epoch: p.epoch,
        two_core_min: +(cpu / 120).toFixed(2),
        wall_min: +((snapT - t0) / 60).toFixed(2),
        n: p.n,
        fd: p.fd,
        clamped_accuracy: p.clamped_accuracy,
        source: model.split('/').pop(),
      });
    }
  }
  const doc = {
    note: 'dtca eval --chip ideal of training snapshots (class-clamped, classes 0-9 cycled, K = 250). two_core_min: CPU seconds of the training process (all threads) / 2 / 60, plus the CPU time of the run it continued; wall_min: wall time of this invocation on a shared machine. Compare FD only at equal n (floor: 5.3 at N = 1000, 20.7 at N = 300).',
    factorised_fd_n1000: 134.06,
    goal_fd: 72,
    points,
  };
  writeFileSync(out, JSON.stringify(doc, null, 1) + '\n');
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'eval') evalPoints(rest[0], rest[1], Number(rest[2]), rest[3].split(',').map(Number));
else if (cmd === 'assemble') assemble(rest[0], rest.slice(1));
else if (cmd === 'chart') await chart(rest[0], rest[1]);
else {
  process.stderr.write('usage: training-curve.ts eval LABEL MODEL N EPOCHS | chart CURVE.json OUT_BASE\n');
  process.exit(2);
}

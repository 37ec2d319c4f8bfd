/**
 * Time-to-quality curve of `dtca train` runs (docs/training.md): scores a run's snapshots
 * (MODEL.epochs/epoch-E.mp, written by --snapshots) with `dtca eval --chip ideal` and charts FD and
 * clamped accuracy against training wall time.
 *
 *   npx tsx scripts/training-curve.ts eval LABEL MODEL N EPOCH[,EPOCH...]   # appends to MODEL.curve.jsonl
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
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../sim/output.js';
import { writeChart, type ChartSpec } from '../sim/plot.js';

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
    const out = execFileSync(process.execPath, [CLI, 'eval', snap, '--chip', 'ideal', '--images', String(n), '--workers', '1', '--json'], { encoding: 'utf8', env: { ...process.env, DTCA_LOG: 'warn' }, maxBuffer: 1 << 26 });
    const r = JSON.parse(out) as { fd: number; clamped_accuracy: number; baselines: { floor: { fd: number }; factorised: { fd: number } } };
    const p: Point = { label, model, epoch: e, wall_s: +wall.toFixed(1), n, fd: +r.fd.toFixed(2), clamped_accuracy: r.clamped_accuracy, factorised_fd: +r.baselines.factorised.fd.toFixed(2), floor_fd: +r.baselines.floor.fd.toFixed(2) };
    appendFileSync(`${model}.curve.jsonl`, JSON.stringify(p) + '\n');
    process.stdout.write(JSON.stringify(p) + '\n');
  }
}

/** the chart of a curve file (docs/training-curve.json): FD and clamped accuracy against two-core minutes */
async function chart(inJson: string, outBase: string): Promise<void> {
  const d = JSON.parse(readFileSync(inJson, 'utf8')) as { points: { recipe: string; two_core_min: number; n: number; fd: number; clamped_accuracy: number }[]; factorised_fd_n1000: number; goal_fd: number };
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
  await writeChart(spec, outBase);
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'eval') evalPoints(rest[0], rest[1], Number(rest[2]), rest[3].split(',').map(Number));
else if (cmd === 'chart') await chart(rest[0], rest[1]);
else {
  process.stderr.write('usage: training-curve.ts eval LABEL MODEL N EPOCHS | chart CURVE.json OUT_BASE\n');
  process.exit(2);
}

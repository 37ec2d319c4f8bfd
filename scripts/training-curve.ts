/**
 * Time-to-quality curve of `dtca train` runs (docs/training.md): scores a run's snapshots
 * (MODEL.epochs/epoch-E.mp, written by --snapshots) with `dtca eval --chip ideal` and charts FD and
 * clamped accuracy against training wall time.
 *
 *   npx tsx scripts/training-curve.ts eval LABEL MODEL N EPOCH[,EPOCH...]   # appends to MODEL.curve.jsonl
 *   npx tsx scripts/training-curve.ts chart OUT_BASE LABEL=MODEL...          # OUT_BASE.json + OUT_BASE.png
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

async function chart(outBase: string, runs: string[]): Promise<void> {
  const points: Point[] = [];
  for (const r of runs) {
    const [label, model] = r.split('=');
    const rows = readFileSync(`${model}.curve.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Point);
    // the last score of each (epoch, N) wins
    const byKey = new Map<string, Point>();
    for (const p of rows) byKey.set(`${p.epoch}/${p.n}`, { ...p, label });
    points.push(...[...byKey.values()].sort((a, b) => a.wall_s - b.wall_s));
  }
  const yard = points.filter((p) => p.n === 1000);
  const factorised = yard.length ? yard[0].factorised_fd : null;
  writeFileAtomic(`${outBase}.json`, JSON.stringify({ note: 'dtca eval --chip ideal of training snapshots; wall_s: training wall time at the snapshot; compare FD only at equal n', factorised_fd_n1000: factorised, points }, null, 2) + '\n');
  const rows = points.flatMap((p) => [
    { recipe: p.label, minutes: p.wall_s / 60, metric: 'FD (lower is better)', value: p.fd, n: `N = ${p.n}` },
    { recipe: p.label, minutes: p.wall_s / 60, metric: 'clamped accuracy', value: p.clamped_accuracy, n: `N = ${p.n}` },
  ]);
  const spec: ChartSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'dtca train: quality against training wall time (paper chip, 2 threads, ideal-chip eval)',
    data: { values: rows },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 300,
      height: 220,
      mark: { type: 'line', point: { filled: true } },
      encoding: {
        x: { field: 'minutes', type: 'quantitative', title: 'training wall time (min)' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'recipe', type: 'nominal' },
        shape: { field: 'n', type: 'nominal', title: 'eval images' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
  await writeChart(spec, outBase);
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'eval') evalPoints(rest[0], rest[1], Number(rest[2]), rest[3].split(',').map(Number));
else if (cmd === 'chart') await chart(rest[0], rest.slice(1));
else {
  process.stderr.write('usage: training-curve.ts eval LABEL MODEL N EPOCHS | chart OUT_BASE LABEL=MODEL...\n');
  process.exit(2);
}

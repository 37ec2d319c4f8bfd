/**
 * `dtca compare DIR...`: run directories (dtca run) or sweep point directories side by side, as one
 * table (a column per design) and one chart (a panel per key figure, a bar per design).
 *
 * Runs of different lengths are compared per generated image: energy, programming energy and time
 * per image (a run's totals divided by its images; time: the time between finished images, a
 * pipeline's stage time once full), never whole-run totals; and per area: the
 * chip's area and images per second per mm².
 */
import type { Argv } from 'yargs';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../../fabric/errors.js';
import { shown } from '../../fabric/rules.js';
import { kindOf, parseJsonText } from '../../fabric/json.js';
import { readInputFile, READ_LIMITS } from '../../fabric/read.js';
import { claimDefaultDir, prepareRunDir, writeJson } from '../../sim/io/output.js';
import { writeChart, type ChartSpec } from '../../sim/io/plot.js';
import { betaText, eng } from '../../sim/stats.js';
import { unitScale, axisValueText, spansDecade } from '../../sim/sweep/report.js';
import type { Json } from '../../sim/sweep/plan.js';

interface Design {
  dir: string;
  name: string;
  values: Record<string, number | string | null>;
}

/**
 * The figures compared: key, label, unit ('' for plain numbers, null for text, 'mm2' for an area
 * given in m²). Everything that grows with the length of a run is per image.
 */
const FIGURES: [string, string, string | null][] = [
  ['config', 'config', null],
  ['physics', 'physics', null],
  ['engine', 'engine', null],
  ['workload', 'workload', null],
  ['images', 'images in the run', ''],
  ['sweeps_per_stage', 'sweeps / stage', ''],
  ['mapping', 'mapping', null],
  ['beta', 'beta', null],
  ['label_gain', 'label gain', ''],
  ['cells', 'cells', ''],
  ['clock_hz', 'clock', 'Hz'],
  ['energy_per_image_j', 'energy / image', 'J'],
  ['programming_energy_per_image_j', 'programming energy / image', 'J'],
  ['energy_per_stage_j', 'energy / image / stage', 'J'],
  ['time_per_image_s', 'time / image', 's'],
  ['images_per_s', 'images / s', ''],
  ['area_m2', 'area', 'mm2'],
  ['images_per_s_per_mm2', 'images / s / mm²', ''],
  ['sweep_energy_per_cell_sweep_j', 'sweep energy / cell / sweep', 'J'],
  ['static_energy_per_cell_sweep_j', '  static', 'J'],
  ['dynamic_energy_per_cell_sweep_j', '  dynamic', 'J'],
  ['average_power_w', 'average power', 'W'],
  ['lag1_autocorr', 'lag-1 (sweep points)', ''],
  ['moment_rmse', 'moment RMSE vs ideal twin', ''],
];

/** Charted figures (those with a value for at least one design): all per image or per area. */
const CHARTED = ['energy_per_image_j', 'programming_energy_per_image_j', 'time_per_image_s', 'images_per_s_per_mm2', 'sweep_energy_per_cell_sweep_j'];

/** The engine that ran, as text (stats.json holds {requested, used, ...}; older files a string). */
function engineText(e: unknown): string | null {
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && typeof (e as { used?: unknown }).used === 'string') return (e as { used: string }).used;
  return null;
}

/** An area in m² as people read it: mm². */
const mm2 = (m2: number) => `${Number((m2 * 1e6).toPrecision(4))} mm²`;

function readJsonIn(dir: string, f: string): Record<string, unknown> | null {
  const p = join(dir, f);
  if (!existsSync(p)) return null;
  // bounded: a FIFO or a device in a run directory is refused, never read (fabric/read.ts)
  const text = readInputFile(p, { what: f, max: READ_LIMITS.json }).toString('utf8');
  // a key given twice is refused (JSON.parse would keep the last one without a word)
  return parseJsonText(text, p) as Record<string, unknown>;
}

/** What a number compared must be: a count (an integer >= 1), > 0, >= 0, or any finite number. */
type Range = 'count' | 'positive' | 'nonnegative' | 'finite';
const RANGE_TEXT: Record<Range, string> = {
  count: 'an integer >= 1',
  positive: 'a finite number > 0',
  nonnegative: 'a finite number >= 0',
  finite: 'a finite number',
};

/**
 * A number compare uses, checked: absent or null is no value (an older or partial stats.json, an
 * ideal chip's area); anything else must be a number in its range, else one line naming the file
 * and the field (never a silent dash or a negative clock in the table).
 */
function checkedNum(o: Record<string, unknown>, key: string, where: string, range: Range): number | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (range === 'count' ? Number.isInteger(v) && v >= 1 : range === 'positive' ? v > 0 : range === 'nonnegative' ? v >= 0 : true);
  if (!ok) throw new UserError(`${where}: ${key} = ${typeof v === 'number' ? String(v) : kindOf(v)}: must be ${RANGE_TEXT[range]} or null`);
  return v as number;
}

/** A text compare uses (absent or null: none); anything but a string is refused naming the field. */
function checkedText(o: Record<string, unknown>, key: string, where: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new UserError(`${where}: ${key} must be a string, not ${kindOf(v)}`);
  return v;
}

/** A file's whole JSON (null: no file) as an object, else refused naming the file. */
function fileObject(v: unknown, where: string): Record<string, unknown> | null {
  if (v !== null && (typeof v !== 'object' || Array.isArray(v))) throw new UserError(`${where}: must hold a JSON object, not ${kindOf(v)}`);
  return v as Record<string, unknown> | null;
}

/** An object field compare reads inside (absent or null: none), else refused naming the field. */
function checkedObject(o: Record<string, unknown>, key: string, where: string): Record<string, unknown> | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new UserError(`${where}: ${key} must be an object, not ${kindOf(v)}`);
  return v as Record<string, unknown>;
}

export function readDesign(d: string): Design {
  const dir = resolve(d);
  if (!existsSync(dir)) throw new UserError(`${d}: no such directory (give dtca run directories or sweep point directories)`);
  if (!statSync(dir).isDirectory()) throw new UserError(`${d}: not a directory (give dtca run directories or sweep point directories)`);
  if (!existsSync(join(dir, 'stats.json'))) {
    // a sweep's own directory (was only "no stats.json"): its points are what compares
    if (existsSync(join(dir, 'plan.json')) && existsSync(join(dir, 'points')))
      throw new UserError(
        `${d}: a sweep directory, not a run; compare its points (${join(d, 'points', '*')}), or open ${join(d, 'index.html')} for the whole sweep`,
      );
    throw new UserError(`${d}: no stats.json (not a run or sweep point directory)`);
  }
  const stats = readJsonIn(dir, 'stats.json');
  // a stats.json dtca wrote: an object with the run's cycles (not null, a list, or someone else's JSON shown as a column of dashes)
  if (stats === null || typeof stats !== 'object' || Array.isArray(stats) || typeof stats.cycles !== 'number')
    throw new UserError(`${join(d, 'stats.json')}: not the statistics of a dtca run (no "cycles")`);
  const sp = join(d, 'stats.json');
  checkedNum(stats, 'cycles', sp, 'nonnegative');
  const mp = join(d, 'manifest.json');
  const man = fileObject(readJsonIn(dir, 'manifest.json'), mp);
  const label = man ? checkedText(man, 'label', mp) : null;
  const pp = join(d, 'point.json');
  const point = fileObject(readJsonIn(dir, 'point.json'), pp);
  const row = point ? checkedObject(point, 'row', pp) : null;
  const rp = `${pp} (row)`;
  const sw = checkedObject(stats, 'sweep_energy_j', sp);
  const swStatic = sw ? checkedNum(sw, 'static', `${sp} (sweep_energy_j)`, 'nonnegative') : null;
  const swDynamic = sw ? checkedNum(sw, 'dynamic', `${sp} (sweep_energy_j)`, 'nonnegative') : null;
  const cs = checkedNum(stats, 'cell_sweeps', sp, 'nonnegative');
  const images = checkedNum(stats, 'images', sp, 'count') ?? (row ? checkedNum(row, 'images', rp, 'count') : null);
  const programming = checkedNum(stats, 'programming_energy_j', sp, 'nonnegative');
  // a run's area: stats.json's area_m2.total (dtca run) or the point row's area_m2 (a sweep point)
  const areaObj = stats.area_m2;
  const area =
    (areaObj !== null && typeof areaObj === 'object' && !Array.isArray(areaObj)
      ? checkedNum(areaObj as Record<string, unknown>, 'total', `${sp} (area_m2)`, 'positive')
      : checkedNum(stats, 'area_m2', sp, 'positive')) ?? (row ? checkedNum(row, 'area_m2', rp, 'positive') : null);
  const ips = checkedNum(stats, 'images_per_s', sp, 'positive');
  const ipsmm2 = checkedNum(stats, 'images_per_s_per_mm2', sp, 'positive');
  const engine = stats.engine;
  if (engine !== undefined && engine !== null && typeof engine !== 'string') {
    const e = checkedObject(stats, 'engine', sp);
    if (e) checkedText(e, 'used', `${sp} (engine)`);
  }
  const values: Design['values'] = {
    config: label ?? checkedText(stats, 'config', sp) ?? '',
    physics: checkedText(stats, 'physics', sp) ?? (row ? checkedText(row, 'physics', rp) : null),
    engine: engineText(engine),
    workload: row ? checkedText(row, 'workload', rp) : checkedText(stats, 'workload', sp),
    images,
    sweeps_per_stage: checkedNum(stats, 'sweeps_per_stage', sp, 'count'),
    // a Boltzmann-machine run has no mapping: no value (a dash, null in compare.json), as every other figure it lacks
    mapping: checkedText(stats, 'mapping', sp),
    beta: betaText(stats.beta),
    label_gain: checkedNum(stats, 'label_gain', sp, 'positive'),
    cells: checkedNum(stats, 'cells', sp, 'count'),
    clock_hz: checkedNum(stats, 'clock_hz', sp, 'positive'),
    energy_per_image_j: checkedNum(stats, 'energy_per_image_j', sp, 'nonnegative'),
    programming_energy_per_image_j: programming !== null && images ? programming / images : null,
    energy_per_stage_j: checkedNum(stats, 'energy_per_stage_j', sp, 'nonnegative'),
    time_per_image_s: checkedNum(stats, 'image_interval_s', sp, 'positive'),
    images_per_s: ips,
    area_m2: area,
    images_per_s_per_mm2: ipsmm2 ?? (ips !== null && area ? ips / (area * 1e6) : null),
    sweep_energy_per_cell_sweep_j: checkedNum(stats, 'sweep_energy_per_cell_sweep_j', sp, 'nonnegative'),
    static_energy_per_cell_sweep_j: swStatic !== null && cs ? swStatic / cs : null,
    dynamic_energy_per_cell_sweep_j: swDynamic !== null && cs ? swDynamic / cs : null,
    average_power_w: checkedNum(stats, 'average_power_w', sp, 'nonnegative'),
    lag1_autocorr: row ? checkedNum(row, 'lag1_autocorr', rp, 'finite') : null,
    moment_rmse: row ? checkedNum(row, 'moment_rmse', rp, 'nonnegative') : null,
  };
  let name = label ?? basename(dir);
  if (row && row.axes && typeof row.axes === 'object') {
    const ax = Object.entries(row.axes as Record<string, Json>).map(([k, v]) => `${k.split('.').pop()}=${axisValueText(k, v)}`);
    name = `#${String(row.point)} ${ax.join(' ')}`.trim();
  }
  return { dir, name, values };
}

export function uniqueNames(ds: Design[]): void {
  const counts = () => {
    const seen = new Map<string, number>();
    for (const d of ds) seen.set(d.name, (seen.get(d.name) ?? 0) + 1);
    return seen;
  };
  let seen = counts();
  for (const d of ds) if ((seen.get(d.name) ?? 0) > 1) d.name = `${d.name} (${basename(d.dir)})`;
  // still alike (a/run and b/run, or one directory given twice): the column's place tells them apart,
  // or the chart would draw two designs as one bar
  seen = counts();
  ds.forEach((d, i) => {
    if ((seen.get(d.name) ?? 0) > 1) d.name = `${d.name} #${i + 1}`;
  });
}

export function compareTable(ds: Design[]): string {
  const rows = FIGURES.filter(([k]) => ds.some((d) => d.values[k] !== null && d.values[k] !== '')).map(([k, label, unit]) => [
    label,
    ...ds.map((d) => {
      const v = d.values[k];
      if (v === null || v === undefined) return '-';
      if (typeof v === 'string') return v;
      if (unit === 'mm2') return mm2(v);
      return unit ? eng(v, unit, 4) : Number(v.toPrecision(5)).toLocaleString('en-US', { maximumSignificantDigits: 5 });
    }),
  ]);
  const head = ['', ...ds.map((d) => d.name)];
  // names and texts come from the directories' files (a manifest's label, stats.json's mapping):
  // control and direction-changing characters are shown escaped, never sent to the terminal
  const all = [head, ...rows].map((r) => r.map((c) => shown(c, 200)));
  const w = head.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) => r.map((s, c) => (c === 0 ? s.padEnd(w[c]) : s.padStart(w[c]))).join('  ')).join('\n') + '\n' + PER_IMAGE_NOTE + '\n';
}

/** What the table and the chart say about comparing runs of different lengths. */
export const PER_IMAGE_NOTE =
  "per image: energies are each run's totals divided by its images, time the time between finished images (the run's time over its images; a pipeline's stage time once full, as its images / s), so runs of different lengths compare";

export function compareChart(ds: Design[]): ChartSpec | null {
  const panels = CHARTED.filter((k) => ds.some((d) => typeof d.values[k] === 'number'));
  if (panels.length === 0) return null;
  // every panel in the order given, each design in its colour (a panel missing one kept its order)
  const names = ds.map((d) => d.name);
  const charts = panels.map((k) => {
    const [, label, unit] = FIGURES.find((f) => f[0] === k)!;
    const vals = ds.map((d) => d.values[k]).filter((v): v is number => typeof v === 'number');
    const u = unit === 'mm2' ? { scale: 1e-6, label: 'mm²' } : unitScale(Math.max(...vals.map(Math.abs)), unit ?? '');
    // a log axis (values over a decade apart) draws bars from a power of ten below the smallest, not from 0
    const log = spansDecade(vals) && vals.every((v) => v > 0);
    const floor = log ? 10 ** Math.floor(Math.log10(Math.min(...vals) / u.scale)) : 0;
    // and up to the power of ten above the largest (the tallest bar ran into the top with no tick above 100)
    const top = log ? 10 ** Math.ceil(Math.log10(Math.max(...vals) / u.scale)) : undefined;
    const height = 180;
    return {
      title: `${label.trim()}${u.label ? ` (${u.label})` : ''}`,
      width: Math.max(160, 40 * ds.length),
      height,
      data: { values: ds.map((d, i) => ({ design: d.name, order: i, y: typeof d.values[k] === 'number' ? (d.values[k] as number) / u.scale : null })) },
      // names whole (cut at 200 px, "dtca-paper+3 sets+ide…" lost what tells designs apart)
      encoding: { x: { field: 'design', type: 'nominal', scale: { domain: names }, title: null, axis: { labelAngle: -30, labelLimit: 0 } } },
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            // ticks thousands separated (was 8000000)
            y: {
              field: 'y',
              type: 'quantitative',
              title: null,
              scale: log ? { type: 'log', domainMin: floor, domainMax: top } : { type: 'linear' },
              axis: { format: ',~r' },
            },
            ...(log ? { y2: { datum: floor } } : {}),
            color: { field: 'design', type: 'nominal', legend: null, scale: { domain: names } },
            tooltip: [
              { field: 'design', type: 'nominal' },
              { field: 'y', type: 'quantitative', format: '.4g' },
            ],
          },
        },
        // a design without the figure (an ideal run has no area) says so: no bar alone read as zero
        {
          transform: [{ filter: 'datum.y === null' }],
          mark: { type: 'text', text: 'no value', angle: 270, align: 'left', baseline: 'middle', fontSize: 11, color: '#777' },
          encoding: { y: { value: height - 4 } },
        },
      ],
    };
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    // the note in two lines (one made the chart twice as wide as its panels)
    title: { text: 'Designs side by side, per generated image', subtitle: PER_IMAGE_NOTE.replace(', time ', ',\ntime ').split('\n') },
    hconcat: charts,
  } as unknown as ChartSpec;
}

export function compareCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    'compare <dirs..>',
    'run or sweep point directories side by side: one table and one chart',
    (yy) =>
      yy
        .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'dtca run directories or sweep point directories (points/<id>)' })
        .option('out', { type: 'string', describe: 'where compare.json and the chart go (default runs/<time>-<suffix>-compare)' })
        .option('json', { type: 'boolean', default: false, describe: 'print compare.json (one object per directory) to stdout instead of the table' }),
    async (a) => {
      const dirs = (a.dirs as string[]) ?? [];
      if (dirs.length < 1) throw new UserError('dtca compare: give at least one directory');
      const ds = dirs.map(readDesign); // every directory read before anything is written
      // one run named twice (a typo, or a shell glob with the same run in it twice) is two
      // identical columns, not a comparison
      const seen = new Map<string, string>();
      ds.forEach((d, i) => {
        const real = realpathSync(d.dir);
        const first = seen.get(real);
        if (first !== undefined) throw new UserError(`${dirs[i]}: the same directory as ${first}, given twice; give each run once`);
        seen.set(real, dirs[i]);
      });
      uniqueNames(ds);
      const out = a.out !== undefined ? prepareRunDir(String(a.out), 'compare') : claimDefaultDir('runs', 'compare');
      const json = ds.map((d) => ({ name: d.name, dir: d.dir, ...d.values }));
      writeJson(join(out, 'compare.json'), json);
      const spec = compareChart(ds);
      if (spec) await writeChart(spec, join(out, 'compare'));
      if (a.json) {
        process.stdout.write(JSON.stringify(json, null, 2) + '\n');
        return;
      }
      process.stdout.write(compareTable(ds) + `written to ${out} (compare.json${spec ? ', compare.svg, compare.png' : ''})\n`);
    },
  );
}

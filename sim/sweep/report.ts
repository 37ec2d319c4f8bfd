/**
 * Pictures and the report of a sweep: one chart (SVG and PNG) per axis and key result, the Pareto
 * charts (energy per image vs FD, images/s/mm² vs FD) when points are judged, and index.html, a
 * page that needs no network (charts inlined, no scripts from elsewhere) with the plan, the table,
 * the charts and links to every point's directory.
 *
 * Charts: numeric axes are numeric (log scale where the values span a decade or more), ticks at
 * the swept values, values in SI-prefixed units (MHz, ns, fJ; areas in mm²), axes titled in words
 * ("Clock (MHz)"); one line per value of the other axes; the ideal twin (lag-1), the statistical
 * floor (moment error) and the quality yardsticks (real images — a floor for FD, a ceiling for
 * accuracy — and independent pixels at the same N, stated in the title) drawn dashed where they
 * apply; replicates averaged, a bar from the least to the greatest replicate at every mean of two or
 * more (SPREAD_NOTE says so in the subtitle and caption).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderChart, type ChartSpec } from '../io/plot.js';
import { writeFileAtomic, VERSION } from '../io/output.js';
import { quietContext, type RunContext } from '../context.js';
import { turn } from '../../fabric/pause.js';
import { Interrupted } from '../../fabric/errors.js';
import { eng } from '../stats.js';
import { SI_PREFIXES, displayUnitOfPath } from '../units.js';
import type { Json, Point } from './plan.js';
import type { PlanFile, Row } from './store.js';
import { axisPaths, collectTables, type Collected } from './collect.js';
import { shellQuote } from './slurm.js';
import { MIN_FD_RANK_N } from '../quality/eval.js';

export interface ResultMeta {
  key: keyof Row & string;
  title: string;
  unit: string;
  /** companions drawn dashed: [field, legend name] */
  companions?: [keyof Row & string, string][];
  /** the title names the number of images the metric was measured at */
  perN?: boolean;
}

/**
 * The real images' yardstick in words: a floor where lower is better (FD: a sample rarely scores
 * below real images), a ceiling where higher is better (clamped accuracy: real images are what the
 * classifier recognises best). The columns keep one name, `*_floor`, whichever it is.
 */
const FLOOR_NAME = 'floor: real images';
const CEILING_NAME = 'ceiling: real images';
const FACT_NAME = 'factorised: independent pixels';
/** What a chart's bars are, in its subtitle and caption (with replicates). */
export const SPREAD_NOTE = 'bars: least to greatest replicate (min–max)';
/** the Pareto charts' set of dominated designs within the FD's noise of a dominator (paretoNear) */
export const NEAR_SET = 'dominated within noise';
export const NEAR_LINE = 'orange: dominated only by designs less than 2 standard errors of FD better (not told apart at this N)';

/** The key results that get a chart (those with at least one value). */
export const KEY_RESULTS: ResultMeta[] = [
  { key: 'energy_per_image_j', title: 'energy per image', unit: 'J' },
  { key: 'time_per_image_s', title: 'time per image', unit: 's' },
  { key: 'sweep_energy_per_cell_sweep_j', title: 'sweep energy per cell per sweep (no programming)', unit: 'J' },
  { key: 'programming_energy_per_image_j', title: 'programming energy per image', unit: 'J' },
  { key: 'sweep_time_s', title: 'sweep time', unit: 's' },
  { key: 'lag1_autocorr', title: 'lag-1 autocorrelation', unit: '', companions: [['lag1_autocorr_ideal', 'ideal twin']] },
  { key: 'moment_rmse', title: 'moment RMSE vs ideal twin', unit: '', companions: [['moment_rmse_floor', 'statistical floor']] },
  {
    key: 'fd',
    title: 'sample quality: FD (lower is better)',
    unit: '',
    perN: true,
    companions: [
      ['fd_floor', FLOOR_NAME],
      ['fd_factorised', FACT_NAME],
    ],
  },
  {
    key: 'clamped_accuracy',
    title: 'clamped accuracy (higher is better)',
    unit: '',
    perN: true,
    companions: [
      ['clamped_accuracy_floor', CEILING_NAME],
      ['clamped_accuracy_factorised', FACT_NAME],
    ],
  },
  { key: 'area_m2', title: 'area', unit: 'm²' },
  { key: 'images_per_s_per_mm2', title: 'images per second per mm²', unit: '' },
];

/**
 * A y-axis title that fits beside a 260-pixel plot: longer than about 34 characters it is split at
 * a space near its middle (before a bracket if it can) into two lines (a longer single line overflows the plot and pads the chart).
 */
export function axisLines(t: string): string | string[] {
  if (t.length <= 34) return t;
  // the space nearest the middle, preferring one before a bracket when both lines still fit
  const nearest = (ok: (i: number) => boolean) => {
    let best = -1;
    for (let i = 0; i < t.length; i++) if (t[i] === ' ' && ok(i) && (best < 0 || Math.abs(i - t.length / 2) < Math.abs(best - t.length / 2))) best = i;
    return best;
  };
  const bracket = nearest((i) => t[i + 1] === '(' && i <= 34 && t.length - i - 1 <= 34);
  const best = bracket >= 0 ? bracket : nearest(() => true);
  return best < 0 ? t : [t.slice(0, best), t.slice(best + 1)];
}

/** Axis paths in words, for chart titles: `clock.clock_hz` -> "Clock". */
const AXIS_WORDS: Record<string, string> = {
  'clock.clock_hz': 'Clock',
  'clock.phase_cycles': 'Cycles per colour phase',
  'clock.analog_substeps': 'Analog substeps per cycle',
  'fabric.L': 'Grid side L',
  'fabric.rules': 'Connectivity rules',
  'fabric.boundary': 'Boundary',
  'fabric.tile.size': 'Tile size',
  'fabric.tile.link_latency_cycles': 'Link latency (cycles)',
  'fabric.tile.link_energy_j': 'Link energy per toggle',
  'rng.tau_rng_s': 'RNG relaxation time',
  'rng.temperature_k': 'Temperature',
  'rng.v_off_sigma_v': 'RNG offset mismatch',
  'rng.v_s_sigma_rel': 'RNG slope mismatch (relative)',
  'rng.energy_per_bit_j': 'RNG energy per bit',
  'cell.weight_bits': 'Weight precision (bits)',
  'cell.weight_full_scale': 'Weight full scale',
  'cell.node_capacitance_f': 'Node capacitance',
  'cell.g_sigma_s': 'Divider conductance',
  'power.vdd_v': 'Supply voltage',
  'power.cell_pitch_m': 'Cell pitch',
  seed: 'Seed',
  'workload.T': 'Stages T',
  'workload.images': 'Images per point',
  'workload.sweeps': 'Sweeps per stage',
  'workload.chains': 'Chains',
  'workload.warmup': 'Warm-up sweeps',
  'workload.beta': 'Beta',
  'workload.mapping': 'Mapping',
  'workload.visible': 'Visible cells',
};

/** An axis path in words ("Clock"), or the path itself when it has no name here. */
export function axisWords(path: string): string {
  return AXIS_WORDS[path] ?? path;
}

/** Words inside a sentence: "Clock" -> "clock", an acronym kept ("RNG relaxation time", not "rNG ..."). */
export function midSentence(w: string): string {
  return /^[A-Z][A-Z0-9]/.test(w) ? w : `${w[0].toLowerCase()}${w.slice(1)}`;
}

/** An axis's title with its unit: "Clock (MHz)", "Grid side L", "rng.duty". */
export function axisTitle(path: string, unitLabel: string): string {
  return unitLabel ? `${axisWords(path)} (${unitLabel})` : axisWords(path);
}

/** An area in mm² for people ("0.04802 mm²"): SI prefixes apply to metres, not to m². */
export function areaText(m2: number, digits = 4): string {
  return `${Number((m2 * 1e6).toPrecision(digits))} mm²`;
}

/** Scale and prefix for values up to `max` in `unit` (m² gets mm², none for unitless). */
export function unitScale(max: number, unit: string): { scale: number; label: string } {
  if (unit === '') return { scale: 1, label: '' };
  if (unit === 'm²') return { scale: 1e-6, label: 'mm²' };
  const a = Math.abs(max);
  if (!(a > 0) || !Number.isFinite(a)) return { scale: 1, label: unit };
  for (const [m, p] of SI_PREFIXES) if (a >= m) return { scale: m, label: `${p}${unit}` };
  return { scale: 1e-18, label: `a${unit}` };
}

function valueText(v: Json): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** An axis value for people: 10 MHz, 100 ns, G12, [[0,1]]. */
export function axisValueText(path: string, v: Json): string {
  const u = displayUnitOfPath(path);
  if (typeof v === 'number' && u === 'm²') return Math.abs(v) >= 1e-6 ? areaText(v) : `${Number((v * 1e12).toPrecision(4))} µm²`;
  return typeof v === 'number' && u ? eng(v, u, 4) : valueText(v);
}

/** A point's label in charts: "L=48, 10 MHz" (its axis values). */
export function pointLabel(axes: Record<string, Json>, paths: string[]): string {
  return (
    paths
      .map((p) => {
        const v = axes[p];
        if (p === 'fabric.L') return `L=${valueText(v)}`;
        if (typeof v === 'number' && displayUnitOfPath(p)) return axisValueText(p, v);
        return `${p.split('.').pop()}=${valueText(v)}`;
      })
      .join(', ') || 'base'
  );
}

/**
 * The non-dominated points: lower x is better, and lower y (`y: 'low'`) or higher y. A point is
 * dominated when another is at least as good in both and better in one. Returns their indices.
 */
export function paretoFront(pts: { x: number; y: number }[], y: 'low' | 'high'): number[] {
  const out: number[] = [];
  pts.forEach((p, i) => {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) return;
    if (!pts.some((q, j) => j !== i && dominates(q, p, y))) out.push(i);
  });
  return out;
}

/** Does q dominate p: judged, at least as good in both, better in one (lower x; lower or higher y as `y` says)? */
function dominates(q: { x: number; y: number }, p: { x: number; y: number }, y: 'low' | 'high'): boolean {
  const better = (a: number, b: number) => (y === 'low' ? a < b : a > b);
  const atLeast = (a: number, b: number) => (y === 'low' ? a <= b : a >= b);
  return Number.isFinite(q.x) && Number.isFinite(q.y) && q.x <= p.x && atLeast(q.y, p.y) && (q.x < p.x || better(q.y, p.y));
}

/**
 * The dominated points that no other point dominates by more than the FD's noise: every point that
 * dominates p (as paretoFront says) has an FD within twice their combined standard error of p's,
 * 2 sqrt(se_p² + se_q²), so another N images could reverse that order and put p on the front.
 * A point, or a dominator, without a standard error is never counted as near. Returns their indices.
 */
export function paretoNear(pts: { x: number; y: number; se: number | null }[], y: 'low' | 'high'): number[] {
  const front = new Set(paretoFront(pts, y));
  const out: number[] = [];
  pts.forEach((p, i) => {
    if (front.has(i) || !Number.isFinite(p.x) || !Number.isFinite(p.y) || p.se === null) return;
    const dominators = pts.filter((q, j) => j !== i && dominates(q, p, y));
    if (dominators.every((q) => q.se !== null && p.x - q.x < 2 * Math.sqrt(p.se! ** 2 + q.se ** 2))) out.push(i);
  });
  return out;
}

/**
 * The resolutions the judged rows' images were scored at ("28x28", "14x14", "7x7"), largest first.
 * A grid too small for 28x28 holds a pooled image, judged at its own resolution: FD and accuracy of
 * a 7x7 point and a 14x14 point are not on one scale (docs/training.md, "Any grid").
 */
export function judgedImages(rows: Row[]): string[] {
  const side = (s: string) => parseInt(s, 10) || 0;
  // a row without the column (a point finished before it existed) names none
  const known = rows.filter((r) => r.fd !== null && typeof r.quality_image === 'string').map((r) => r.quality_image as string);
  return [...new Set(known)].sort((a, b) => side(b) - side(a));
}

/** What a table (one line) or chart (two lines) says when its judged points were scored at more than one resolution. */
export const MIXED_IMAGES_LINES = (images: string[]) => [
  `images judged at ${images.length} resolutions (${images.join(', ')}; a smaller grid holds a pooled image):`,
  'FD and accuracy compare only points at one resolution',
];
export const MIXED_IMAGES_NOTE = (images: string[]) => MIXED_IMAGES_LINES(images).join(' ');

/**
 * The line a sweep's FD chart, Pareto chart and table carry when its points were judged on fewer
 * images than FD needs to rank anything (MIN_FD_RANK_N, sim/quality/eval.ts), or null: a front drawn
 * from 10 images per point is as much chance as design.
 */
export function smallNLine(rows: Row[]): string | null {
  const ns = rows.filter((r) => typeof r.fd === 'number' && typeof r.quality_n === 'number').map((r) => r.quality_n as number);
  if (ns.length === 0) return null;
  const least = Math.min(...ns);
  return least >= MIN_FD_RANK_N
    ? null
    : `N = ${least} images per point is too few for FD to rank designs (at least ${MIN_FD_RANK_N}, docs/quality.md): the order, and the front, may be chance; --images ${MIN_FD_RANK_N} or more`;
}

/** The number of images quality was measured at: "N = 100", "N = 20 to 100", or '' when none. */
function nText(rows: Row[]): string {
  const ns = [...new Set(rows.map((r) => r.quality_n).filter((n): n is number => typeof n === 'number'))].sort((a, b) => a - b);
  if (ns.length === 0) return '';
  return ns.length === 1 ? `N = ${ns[0]}` : `N = ${ns[0]} to ${ns[ns.length - 1]}`;
}

/** True when a list of positive values spans a decade or more (then a log scale reads better). */
export function spansDecade(vals: number[]): boolean {
  const pos = vals.filter((v) => v > 0 && Number.isFinite(v));
  if (pos.length < 2 || pos.length !== vals.length) return false;
  return Math.max(...pos) / Math.min(...pos) >= 10;
}

export interface Chart {
  axis: string;
  result: string;
  base: string;
  title: string;
  spec: ChartSpec;
}

/**
 * Build the chart specs for every axis x key result with data. `missing`: the planned points not
 * finished (failed, interrupted, another shard's): a series' line breaks where one of its points has
 * no value (a missing point, or a null result), never drawn straight across as if measured there,
 * and the charts' subtitle says how many points are missing.
 */
export function chartSpecs(pf: PlanFile, rows: Row[], missing: Point[] = []): Chart[] {
  const axes = axisPaths(pf);
  const charts: Chart[] = [];
  // an axis with one value is no x axis (a column of dots): chart against the axes that vary, if any do
  const distinct = (a: string) => new Set(pf.plan.axes.find((x) => x.path === a)!.values.map(valueText)).size;
  const varying = axes.filter((a) => distinct(a) > 1);
  const xs = varying.length ? varying : axes;
  const images = judgedImages(rows);
  const smallN = smallNLine(rows);
  for (const axis of xs) {
    const axisVals = pf.plan.axes.find((a) => a.path === axis)!.values;
    const numeric = axisVals.every((v) => typeof v === 'number');
    const others = axes.filter((a) => a !== axis);
    const xUnit = numeric ? displayUnitOfPath(axis) : '';
    const xs = numeric ? unitScale(Math.max(...(axisVals as number[]).map(Math.abs)), xUnit) : { scale: 1, label: '' };
    const xLog = numeric && spansDecade(axisVals as number[]);
    for (const meta of KEY_RESULTS) {
      const ys = rows.map((r) => r[meta.key] as number | null).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (ys.length === 0) continue;
      const comps = meta.companions ?? [];
      const compVals = comps.flatMap(([f]) => rows.map((r) => r[f] as number | null)).filter((v): v is number => typeof v === 'number');
      const all = [...ys, ...compVals];
      const yu = unitScale(Math.max(...all.map(Math.abs)), meta.unit);
      const yLog = spansDecade(all);
      // mean over replicates: group by (series, x, kind)
      const groups = new Map<string, { x: number | string; series: string; kind: string; sum: number; n: number; lo: number; hi: number; order: number }>();
      // one other axis: its value (the legend's title names the axis); more: "L=48, 10 MHz, weight_bits=4" (was "fabric.L=48, clock.clock_hz=10 MHz")
      // quality judged at several resolutions (a pooled image on the smaller grids): a line per
      // resolution, never one line from a 7x7 FD to a 14x14 one as if they were on one scale
      const mixed = meta.perN === true && images.length > 1;
      const seriesOf = (ax: Record<string, Json>, image?: string) => {
        const base = others.length > 1 ? pointLabel(ax, others) : others.map((o) => axisValueText(o, ax[o])).join(', ');
        if (!mixed) return base || meta.title;
        return `${base ? `${base}, ` : ''}${image ?? '?'} images`;
      };
      const orderOf = (ax: Record<string, Json>) => axisVals.findIndex((a) => valueText(a) === valueText(ax[axis]));
      // the places (series, kind, x) a planned point left without a value
      const holes: { series: string; kind: string; order: number }[] = [];
      const add = (r: Row, kind: string, v: number | null) => {
        const series = seriesOf(r.axes, r.quality_image ?? undefined);
        const order = orderOf(r.axes);
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          for (const img of mixed && !r.quality_image ? images : [r.quality_image ?? undefined]) holes.push({ series: seriesOf(r.axes, img), kind, order });
          return;
        }
        const xv = numeric ? (r.axes[axis] as number) / xs.scale : valueText(r.axes[axis]);
        const k = `${series}\u0000${order}\u0000${kind}`;
        const g = groups.get(k) ?? { x: xv, series, kind, sum: 0, n: 0, lo: Infinity, hi: -Infinity, order };
        g.sum += v / yu.scale;
        g.n++;
        g.lo = Math.min(g.lo, v / yu.scale);
        g.hi = Math.max(g.hi, v / yu.scale);
        groups.set(k, g);
      };
      for (const r of rows) {
        add(r, 'measured', r[meta.key] as number | null);
        for (const [f, name] of comps) add(r, name, r[f] as number | null);
      }
      for (const m of missing)
        for (const kind of ['measured', ...comps.map((c) => c[1])])
          for (const img of mixed ? images : [undefined]) holes.push({ series: seriesOf(m.axes, img), kind, order: orderOf(m.axes) });
      // a hole another replicate fills is none; each real one starts a new segment of its line
      const gaps = holes.filter((h) => !groups.has(`${h.series}\u0000${h.order}\u0000${h.kind}`));
      const values = [...groups.values()].map((g) => {
        const seg = new Set(gaps.filter((h) => h.series === g.series && h.kind === g.kind && h.order < g.order).map((h) => h.order)).size;
        return {
          x: g.x,
          y: g.sum / g.n,
          // the spread of the replicates averaged into y: their least and greatest (a bar drawn from
          // lo to hi where n > 1)
          lo: g.lo,
          hi: g.hi,
          n: g.n,
          series: g.series,
          kind: g.kind,
          order: g.order,
          line: `${g.series} ${g.kind}${seg > 0 ? ` (${seg + 1})` : ''}`,
        };
      });
      const kinds = ['measured', ...comps.map((c) => c[1])];
      const yTitle = yu.label ? `${meta.title} (${yu.label})` : meta.title;
      const xTitle = axisTitle(axis, xs.label);
      const multi = others.length > 0 || mixed;
      const n = meta.perN ? nText(rows) : '';
      const reps = pf.plan.replicates;
      const head = `${meta.title[0].toUpperCase()}${meta.title.slice(1)} against ${midSentence(axisWords(axis))}${n ? ` (${n} images per point)` : ''}${reps > 1 ? `, mean of ${reps} replicates` : ''}`;
      // the replicates' spread, said where the chart is (its subtitle) and under it (the caption)
      const subtitle = [
        ...(reps > 1 ? [SPREAD_NOTE] : []),
        ...(missing.length ? [`${rows.length} of ${pf.points} points finished, ${missing.length} missing: a line breaks where one is`] : []),
        ...(mixed ? MIXED_IMAGES_LINES(images) : []),
        // FD at an N too small to rank anything: said on the FD chart itself
        ...(meta.key === 'fd' && smallN !== null ? [smallN] : []),
      ];
      const title = reps > 1 ? `${head}; ${SPREAD_NOTE}` : head;
      const yEnc = {
        field: 'y',
        type: 'quantitative',
        title: axisLines(yTitle),
        scale: yLog ? { type: 'log' } : { type: 'linear', zero: meta.unit !== '' },
        // thousands separated: images/s/mm² ticks read 50,000,000, not 50000000
        axis: { format: ',~r' },
      };
      const spec = {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: subtitle.length ? { text: head, subtitle } : head,
        width: 420,
        height: 260,
        data: { values },
        encoding: {
          x: numeric
            ? // ticks at the swept values, labelled with them (not rounded: 32, 48, 70)
              {
                field: 'x',
                type: 'quantitative',
                title: xTitle,
                scale: xLog ? { type: 'log', nice: false } : { type: 'linear', zero: false, nice: false },
                axis: { format: '.6~g', labelOverlap: false, values: [...new Set(values.map((v) => v.x as number))] },
              }
            : { field: 'x', type: 'ordinal', title: xTitle, sort: { field: 'order' }, axis: { labelAngle: 0, labelLimit: 160 } },
          y: yEnc,
          // the legend's title and labels whole (vega cut them at 180 px: "Weight precision …")
          ...(multi
            ? {
                color: {
                  field: 'series',
                  type: 'nominal',
                  title: [...others.map(axisWords), ...(mixed ? ['image judged'] : [])].join(', '),
                  sort: null,
                  legend: { titleLimit: 600, labelLimit: 600 },
                },
              }
            : {}),
          strokeDash: {
            field: 'kind',
            type: 'nominal',
            title: null,
            scale: {
              domain: kinds,
              range: [
                [1, 0],
                [6, 4],
                [2, 3],
              ].slice(0, kinds.length),
            },
            legend:
              kinds.length > 1
                ? {
                    symbolType: 'stroke',
                    symbolStrokeWidth: 2,
                    symbolSize: 400,
                    symbolFillColor: null,
                    encode: { symbols: { update: { stroke: { value: '#333' } } } },
                  }
                : null,
          },
          detail: { field: 'line', type: 'nominal' },
          order: { field: 'x', type: numeric ? 'quantitative' : 'ordinal' },
          tooltip: [
            { field: 'series', type: 'nominal', title: 'series' },
            { field: 'x', type: numeric ? 'quantitative' : 'nominal', title: xTitle },
            { field: 'y', type: 'quantitative', title: yTitle, format: '.4g' },
            { field: 'kind', type: 'nominal' },
            ...(reps > 1
              ? [
                  { field: 'n', type: 'quantitative', title: 'replicates' },
                  { field: 'lo', type: 'quantitative', title: 'least', format: '.4g' },
                  { field: 'hi', type: 'quantitative', title: 'greatest', format: '.4g' },
                ]
              : []),
          ],
        },
        layer: [
          { mark: { type: 'line', point: true, strokeWidth: 2 } },
          // a bar from the least to the greatest replicate where a mean is of more than one (none for
          // one): without it a reader could not tell a real difference from seed noise
          ...(reps > 1
            ? [
                {
                  transform: [{ filter: 'datum.n > 1' }],
                  mark: { type: 'errorbar', ticks: { size: 6 } },
                  encoding: { y: { ...yEnc, field: 'lo' }, y2: { field: 'hi' }, strokeDash: { value: [1, 0] } },
                },
              ]
            : []),
        ],
      } as unknown as ChartSpec;
      charts.push({ axis, result: meta.key, base: `${safe(meta.key)}--${safe(axis)}`, title, spec });
    }
  }
  return [...charts, ...paretoSpecs(pf, rows, missing.length)];
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_');

/**
 * The Pareto charts' data: one entry per judged design (a combination of the axes' values), its FD
 * and y the mean over the design's judged replicates (`n` of them; `points` their point numbers),
 * `front` marking the non-dominated designs. Replicates differ only in their seed: each is one
 * draw of the same design, so the front is over designs, never over the luckiest seeds (with
 * points as they came, one design could sit on the front twice and another be dominated by a
 * lucky replicate of itself). Designs whose images were judged at different resolutions (`image`:
 * a smaller grid holds a pooled 14x14 or 7x7 image) have FDs on different scales: each resolution
 * has its own front, and with more than one the labels name the resolution.
 */
export function paretoData(
  pf: PlanFile,
  rows: Row[],
  yKey: 'energy_per_image_j' | 'images_per_s_per_mm2',
): {
  x: number;
  y: number;
  xlo: number;
  xhi: number;
  ylo: number;
  yhi: number;
  /** the mean FD's standard error, from its replicates' (sqrt(sum se²) / n); null when one has none */
  se: number | null;
  label: string;
  image: string;
  front: boolean;
  /** dominated, but only by designs within the FD's noise of it (paretoNear) */
  near: boolean;
  point: number;
  points: number[];
  n: number;
}[] {
  const all = axisPaths(pf);
  // a seed axis is replicates by hand: its values are draws of one design too
  const axes = all.filter((a) => a !== 'seed');
  const designs = new Map<string, { axes: Record<string, Json>; image: string; xs: number[]; ys: number[]; ses: (number | null)[]; points: number[] }>();
  for (const r of rows) {
    if (!(typeof r.fd === 'number' && Number.isFinite(r.fd) && typeof r[yKey] === 'number' && Number.isFinite(r[yKey] as number))) continue;
    const image = r.quality_image ?? '?';
    const key = JSON.stringify([image, ...axes.map((a) => r.axes[a])]);
    const d = designs.get(key) ?? { axes: r.axes, image, xs: [], ys: [], ses: [], points: [] };
    d.xs.push(r.fd);
    // (a point finished before the column existed has none)
    d.ses.push(typeof r.fd_se === 'number' && Number.isFinite(r.fd_se) ? r.fd_se : null);
    d.ys.push(r[yKey] as number);
    d.points.push(r.point);
    designs.set(key, d);
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mixed = new Set([...designs.values()].map((d) => d.image)).size > 1;
  const pts = [...designs.values()].map((d) => ({
    x: mean(d.xs),
    y: mean(d.ys),
    // the replicates' spread: the least and greatest FD and y of the design
    xlo: Math.min(...d.xs),
    xhi: Math.max(...d.xs),
    ylo: Math.min(...d.ys),
    yhi: Math.max(...d.ys),
    se: d.ses.every((v) => v !== null) ? Math.sqrt(d.ses.reduce((a, v) => a + v! ** 2, 0)) / d.ses.length : null,
    label: `${pointLabel(d.axes, axes)}${mixed ? ` (${d.image})` : ''}`,
    image: d.image,
    point: d.points[0],
    points: d.points,
    n: d.points.length,
  }));
  const front = new Set<number>();
  const near = new Set<number>();
  const dir = yKey === 'energy_per_image_j' ? 'low' : 'high';
  for (const image of new Set(pts.map((p) => p.image))) {
    const idx = pts.map((p, i) => (p.image === image ? i : -1)).filter((i) => i >= 0);
    const at = idx.map((i) => pts[i]);
    for (const j of paretoFront(at, dir)) front.add(idx[j]);
    for (const j of paretoNear(at, dir)) near.add(idx[j]);
  }
  return pts.map((p, i) => ({ ...p, front: front.has(i), near: near.has(i) }));
}

/** Energy per image vs FD and images/s/mm² vs FD, the non-dominated designs marked and labelled. */
export function paretoSpecs(pf: PlanFile, rows: Row[], missing = 0): Chart[] {
  const out: Chart[] = [];
  const n = nText(rows);
  for (const [yKey, yName, unit, better] of [
    ['energy_per_image_j', 'energy per image', 'J', 'lower'],
    ['images_per_s_per_mm2', 'images per second per mm²', '', 'higher'],
  ] as const) {
    const data = paretoData(pf, rows, yKey);
    if (data.length === 0) continue;
    const reps = Math.max(...data.map((d) => d.n));
    const yu = unitScale(Math.max(...data.map((d) => Math.abs(d.y))), unit);
    const values = data.map((d) => ({
      ...d,
      y: d.y / yu.scale,
      ylo: d.ylo / yu.scale,
      yhi: d.yhi / yu.scale,
      set: d.front ? 'non-dominated' : d.near ? NEAR_SET : 'dominated',
    }));
    const anyNear = values.some((v) => v.near);
    const anySe = values.some((v) => v.se !== null);
    // the yardsticks at each resolution the points were judged at (their mean over its points)
    const images = judgedImages(rows);
    const mixed = images.length > 1;
    // (one resolution, or rows finished before the column existed: one set over them all)
    const refs = (mixed ? images : ['*']).flatMap((image) => {
      const at = rows.filter((r) => image === '*' || r.quality_image === image);
      const fdRef = at.map((r) => r.fd_factorised).filter((v): v is number => typeof v === 'number');
      const floorRef = at.map((r) => r.fd_floor).filter((v): v is number => typeof v === 'number');
      const tag = mixed ? ` (${image})` : '';
      return [
        ...(floorRef.length ? [{ x: floorRef.reduce((a, b) => a + b, 0) / floorRef.length, ref: `${FLOOR_NAME}${tag}` }] : []),
        ...(fdRef.length ? [{ x: fdRef.reduce((a, b) => a + b, 0) / fdRef.length, ref: `${FACT_NAME}${tag}` }] : []),
      ];
    });
    // the front's designs and those within the FD's noise of it are named (candidates, both)
    const frontLabels = values.filter((v) => v.front || v.near).sort((a, b) => a.x - b.x);
    const allX = [...values.map((v) => v.x), ...refs.map((r) => r.x)];
    const xThird = Math.min(...allX) + (Math.max(...allX) - Math.min(...allX)) / 3;
    const yTitle = yu.label ? `${yName} (${yu.label})` : yName;
    const spread = values.filter((v) => v.n > 1);
    const setColours = anyNear
      ? { domain: ['non-dominated', NEAR_SET, 'dominated'], range: ['#d62728', '#ff9f1c', '#9e9e9e'] }
      : { domain: ['non-dominated', 'dominated'], range: ['#d62728', '#9e9e9e'] };
    const title = `Pareto front: ${yName} against FD${n ? ` (${n} images per point)` : ''}${reps > 1 ? `, replicates averaged (${SPREAD_NOTE})` : ''}; lower FD and ${better} ${yName} are better`;
    // padded: a label below the lowest dot or beside the rightmost one stays inside the plot
    const x = { field: 'x', type: 'quantitative', title: 'FD (lower is better)', scale: { zero: false, padding: 24 } };
    const y = { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false, padding: 20 }, axis: { format: ',~r' } };
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: `Pareto front: ${yName} against FD`,
        // two lines: one long line widened the chart past its plot
        subtitle: [
          `${n ? `${n} images per point` : ''}${n && reps > 1 ? '; ' : ''}${reps > 1 ? `each design the mean of its ${reps} replicates` : ''}`,
          reps > 1 ? `${SPREAD_NOTE}, in FD and in ${yName}` : '',
          `lower FD and ${better} ${yName} are better; red: the non-dominated designs`,
          // the FD is measured on N images: a design dominated by less than its noise may be on the front
          anyNear ? NEAR_LINE : '',
          // below the N at which FD ranks anything, the whole front may be chance
          smallNLine(rows) ?? '',
          // a point not finished is on neither side of the front: say so
          missing ? `${rows.length} of ${pf.points} points finished, ${missing} missing: the front is of the finished ones` : '',
          // FDs at different resolutions are on different scales: a front per resolution
          ...(mixed ? [MIXED_IMAGES_LINES(images)[0], `${MIXED_IMAGES_LINES(images)[1]}: a front per resolution`] : []),
        ].filter((l) => l !== ''),
      },
      width: 460,
      height: 300,
      layer: [
        {
          data: { values: refs },
          mark: { type: 'rule', strokeDash: [6, 4], color: '#888' },
          encoding: { x: { field: 'x', type: 'quantitative' }, tooltip: [{ field: 'ref', type: 'nominal' }] },
        },
        {
          data: { values: refs },
          mark: { type: 'text', angle: 270, align: 'right', baseline: 'bottom', dx: -4, dy: -2, y: 0, fontSize: 10, color: '#666' },
          encoding: { x: { field: 'x', type: 'quantitative' }, text: { field: 'ref', type: 'nominal' } },
        },
        {
          data: { values: values.filter((v) => v.front).sort((a, b) => a.x - b.x) },
          mark: { type: 'line', color: '#d62728', strokeWidth: 1.5 },
          encoding: { x, y, order: { field: 'x', type: 'quantitative' }, detail: { field: 'image', type: 'nominal' } },
        },
        // each design's spread over its replicates, in FD and in y (none for a design of one)
        ...(spread.length
          ? [
              { x: { ...x, field: 'xlo' }, x2: { field: 'xhi' }, y },
              { x, y: { ...y, field: 'ylo' }, y2: { field: 'yhi' } },
            ]
          : []
        ).map((bar) => ({
          data: { values: spread },
          mark: { type: 'errorbar', ticks: { size: 6 } },
          encoding: { ...bar, color: { field: 'set', type: 'nominal', legend: null, scale: setColours } },
        })),
        {
          data: { values },
          mark: { type: 'point', filled: true, size: 70 },
          encoding: {
            x,
            y,
            color: { field: 'set', type: 'nominal', title: null, scale: setColours },
            tooltip: [
              { field: 'label', type: 'nominal', title: 'design' },
              { field: 'x', type: 'quantitative', title: 'FD', format: '.4g' },
              ...(anySe ? [{ field: 'se', type: 'quantitative', title: 'FD standard error', format: '.2g' }] : []),
              { field: 'y', type: 'quantitative', title: yTitle, format: '.4g' },
              { field: 'n', type: 'quantitative', title: 'replicates' },
            ],
          },
        },
        // the front's labels on its outside (below-left of a front of lower-is-better y, above-left
        // of higher-is-better), where no dot is: neighbours' labels then sit apart (one side for all
        // wrote them over each other, and the rightmost ran off the plot into the legend); dots in the
        // left third of the plot are labelled to their right, off the axis
        ...(['left', 'right'] as const).map((align) => ({
          data: { values: frontLabels.filter((v) => v.x <= xThird === (align === 'left')) },
          mark: { type: 'text', align, dx: align === 'left' ? 7 : -7, dy: better === 'lower' ? 13 : -8, fontSize: 11 },
          encoding: { x, y, text: { field: 'label', type: 'nominal' } },
        })),
      ],
    } as unknown as ChartSpec;
    out.push({ axis: 'fd', result: `pareto-${yKey}`, base: `pareto--${safe(yKey)}--fd`, title, spec });
  }
  return out;
}

/** The report's charts stopped by `ctx.stop()`: `done` of `total` written (whole), index.html not rewritten. */
export class ChartsInterrupted extends Interrupted {
  constructor(
    readonly done: number,
    readonly total: number,
  ) {
    super({}, 'stop requested');
  }
}

export interface WrittenChart extends Chart {
  svg: string;
}

/**
 * Render every chart into dir/plots (SVG and PNG). Before each chart the event loop gets a turn
 * (a signal handler runs there) and `ctx.stop()` is asked: once it says stop, an Interrupted is
 * thrown (`at.chart`: the charts written, each whole) and nothing more is written.
 */
export async function writeCharts(dir: string, charts: Chart[], ctx: RunContext = quietContext()): Promise<WrittenChart[]> {
  mkdirSync(join(dir, 'plots'), { recursive: true });
  const out: WrittenChart[] = [];
  const t0 = performance.now();
  if (charts.length > 0) ctx.log.info({ charts: charts.length, dir: join(dir, 'plots') }, `rendering ${charts.length} charts`);
  const bar = ctx.progress(charts.length, 'charts');
  for (const c of charts) {
    await turn();
    if (ctx.stop()) {
      bar.stop();
      throw new ChartsInterrupted(out.length, charts.length);
    }
    const { svg, png } = await renderChart(c.spec);
    writeFileAtomic(join(dir, 'plots', `${c.base}.svg`), svg);
    writeFileAtomic(join(dir, 'plots', `${c.base}.png`), png);
    out.push({ ...c, svg });
    bar.update(out.length);
  }
  bar.stop();
  if (charts.length > 0) ctx.log.info({ charts: charts.length, wall_s: Number(((performance.now() - t0) / 1000).toFixed(1)) }, 'charts written');
  return out;
}

/**
 * A chart's vega-lite spec inside index.html (a script element of type application/vnd.vegalite+json,
 * which no browser runs): the values each chart draws (means, spreads, yardsticks) as numbers, to be
 * read back or rendered again; `<` written as \u003c so no text in it can end the element.
 */
function specJson(spec: ChartSpec): string {
  return JSON.stringify(spec).replace(/</g, '\\u003c');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A plain number for the table: 4 significant digits, thousands separated (19,160; 0.3343). */
export function plainNumber(v: number, digits = 4): string {
  return Number(v.toPrecision(digits)).toLocaleString('en-US', { maximumSignificantDigits: digits });
}

/**
 * A table cell: `scale` is the column's unit (its header says which, e.g. "energy / image (pJ)"),
 * one for the whole column so its numbers compare at a glance (a column mixing fJ and aJ, each
 * cell with its own prefix, read 4.04 above 920.3); `data-v` keeps the value in SI units for sorting.
 * Results get `digits` significant digits; axis values and counts are shown whole (12 digits).
 */
function cell(v: unknown, scale = 1, digits = 4): string {
  if (v === null || v === undefined) return '<td class="na">–</td>';
  if (typeof v === 'number') return `<td class="num" data-v="${v}">${esc(plainNumber(v / scale, digits))}</td>`;
  return `<td>${esc(typeof v === 'string' ? v : JSON.stringify(v))}</td>`;
}

/**
 * A column's header with its unit, and the scale of its cells: the prefix of the column's largest
 * value (index.html's tables and `dtca sweep`'s terminal table).
 */
export function columnUnit(label: string, unit: string, vals: unknown[]): { head: string; scale: number } {
  if (!unit) return { head: label, scale: 1 };
  const nums = vals.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const u = unitScale(nums.length ? Math.max(...nums.map(Math.abs)) : 0, unit);
  return { head: `${label} (${u.label})`, scale: u.scale };
}

const TABLE_COLS: [keyof Row & string, string, string][] = [
  ['energy_per_image_j', 'energy / image', 'J'],
  ['time_per_image_s', 'time / image', 's'],
  ['images_per_s', 'images / s', ''],
  ['sweep_time_s', 'sweep time', 's'],
  ['sweep_energy_per_cell_sweep_j', 'sweep energy / cell / sweep', 'J'],
  ['static_energy_per_cell_sweep_j', 'static', 'J'],
  ['dynamic_energy_per_cell_sweep_j', 'dynamic', 'J'],
  ['programming_energy_per_image_j', 'programming / image', 'J'],
  ['area_m2', 'area', 'm²'],
  ['images_per_s_per_mm2', 'images / s / mm²', ''],
  ['lag1_autocorr', 'lag-1', ''],
  ['lag1_autocorr_ideal', 'lag-1 ideal twin', ''],
  ['moment_rmse', 'moment RMSE', ''],
  ['moment_rmse_floor', 'floor', ''],
  ['quality_n', 'N (images judged)', ''],
  ['quality_image', 'image judged', ''],
  ['fd', 'FD', ''],
  ['fd_se', 'FD standard error', ''],
  ['fd_floor', 'FD floor (real images)', ''],
  ['fd_factorised', 'FD factorised', ''],
  ['clamped_accuracy', 'clamped accuracy', ''],
  ['clamped_accuracy_floor', 'accuracy ceiling (real images)', ''],
  ['clamped_accuracy_factorised', 'accuracy factorised', ''],
  ['marginal_error', 'marginal error', ''],
];

/**
 * index.html: self-contained (styles inline, charts as data URIs, no network). `dir`: the sweep
 * directory it is written into, named in the command that finishes the missing points.
 */
export function indexHtml(pf: PlanFile, rows: Row[], missing: Point[], charts: WrittenChart[], dir: string): string {
  const axes = axisPaths(pf);
  const p = pf.plan;
  const w = p.workload;
  const planRows: [string, string][] = [
    ['sweep id', pf.sweep_id],
    ['config', p.label === p.config ? p.label : `${p.label} (${p.config})`],
    ['overrides', p.sets.length ? p.sets.join('  ') : 'none'],
    ['axes', p.axes.map((a) => `${a.path} = ${a.values.map((v) => axisValueText(a.path, v)).join(', ')}`).join('<br>') || 'none'],
    ['combination', p.zip ? 'zipped (axes paired)' : 'cartesian product'],
    [
      'replicates',
      p.replicates === 1 ? `1 (seed ${p.seed ?? 'from the config'})` : `${p.replicates} (seeds ${p.seed ?? "the config's"} + 0..${p.replicates - 1})`,
    ],
    [
      'workload',
      `${w.kind}${w.model ? ` ${w.model}` : ''}; ${Object.entries(w)
        .filter(([k, v]) => v !== null && !['kind', 'model', 'model_sha256'].includes(k))
        .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join(', ')}`,
    ],
    [
      'training',
      p.train
        ? `--train ${p.train.budget} on the ${p.train.chip} chip (${Object.entries(p.train.options)
            // a budget's workers is not used by a sweep (each stage is one job of its pool): not shown
            .filter(([k]) => k !== 'workers')
            .map(([k, v]) => `${k} ${String(v)}`)
            .join(', ')}); models in ${p.train.model_cache ?? 'models/'}`
        : 'none',
    ],
    ['points', `${pf.points} planned, ${rows.length} finished, ${missing.length} missing`],
    ['command', pf.command.join(' ')],
    ['dtca', `planned with ${pf.dtca_version} at ${pf.created}; report by ${VERSION}`],
  ];
  const planHtml = planRows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${k === 'axes' ? v.split('<br>').map(esc).join('<br>') : esc(v)}</td></tr>`).join('\n');
  const axisUnits = axes.map((a) =>
    columnUnit(
      a,
      rows.every((r) => typeof r.axes[a] === 'number' || r.axes[a] === null || r.axes[a] === undefined) ? displayUnitOfPath(a) : '',
      rows.map((r) => r.axes[a]),
    ),
  );
  const colUnits = TABLE_COLS.map(([k, label, u]) =>
    columnUnit(
      label,
      u,
      rows.map((r) => r[k]),
    ),
  );
  const head = ['#', ...axisUnits.map((c) => c.head), ...(p.replicates > 1 ? ['seed'] : []), 'workload', 'physics', ...colUnits.map((c) => c.head), 'point'];
  const body = rows
    .map((r) => {
      const tds = [
        `<td class="num">${r.point}</td>`,
        ...axes.map((a, i) => cell(r.axes[a], axisUnits[i].scale, 12)),
        ...(p.replicates > 1 ? [`<td class="num">${r.seed}</td>`] : []),
        cell(r.workload),
        cell(r.physics),
        ...TABLE_COLS.map(([k], i) =>
          k === 'fd' && r.fd === null
            ? `<td class="na" title="${esc(r.quality_note)}">–</td>`
            : k === 'area_m2' && r.area_m2 === null
              ? `<td class="na" title="${esc(r.area_note)}">–</td>`
              : cell(r[k], colUnits[i].scale, k === 'quality_n' ? 12 : 4),
        ),
        `<td><a href="points/${esc(r.id)}/">${esc(r.id)}</a></td>`,
      ];
      return `<tr>${tds.join('')}</tr>`;
    })
    .join('\n');
  // each distinct note once; one that not every point shares names its points (a note carries a
  // point's own figures, "clamped accuracy 0.300": unattributed, four such lines named no point)
  const noted = (what: string, note: (r: Row) => string) => {
    const by = new Map<string, number[]>();
    for (const r of rows) by.set(note(r), [...(by.get(note(r)) ?? []), r.point]);
    return [...by].map(([n, pts]) => `${what}${by.size > 1 ? ` (point${pts.length > 1 ? 's' : ''} ${pts.join(', ')})` : ''}: ${n}`);
  };
  const notes = [...noted('quality', (r) => r.quality_note), ...noted('area', (r) => r.area_note)];
  const missingHtml = missing.length
    ? `<section><h2>Missing points (${missing.length})</h2><p>Not finished yet: <code>${esc(`dtca sweep --resume ${shellQuote(dir)}`)}</code> runs them and builds this report again; for a sweep run in shards, run the shard that holds them (<code>${esc(`dtca sweep run ${shellQuote(dir)} --shard k/N`)}</code>), then <code>${esc(`dtca sweep collect ${shellQuote(dir)}`)}</code>.</p><ul>${missing
        .map(
          (m) =>
            `<li>point ${m.index + 1}: ${esc(
              Object.entries(m.axes)
                .map(([k, v]) => `${k}=${valueText(v)}`)
                .join(', ') || 'base',
            )} (${m.id})</li>`,
        )
        .join('')}</ul></section>`
    : '';
  const chartsHtml = charts
    .map(
      (c) =>
        `<figure id="chart-${esc(c.base)}"><img alt="${esc(c.title)}" src="data:image/svg+xml;base64,${Buffer.from(c.svg).toString('base64')}"><figcaption>${esc(c.title)} · <a href="plots/${esc(c.base)}.svg">SVG</a> · <a href="plots/${esc(c.base)}.png">PNG</a></figcaption><script type="application/vnd.vegalite+json">${specJson(c.spec)}</script></figure>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dtca sweep ${esc(pf.sweep_id)}: ${esc(axes.join(' × ') || 'one point')}</title>
<link rel="icon" href="data:,">
<style>
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; }
#plan td { overflow-wrap: anywhere; }
.wide { overflow-x: auto; max-width: 100%; }
#results td { white-space: nowrap; }
#results th { vertical-align: bottom; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.na { color: #999; text-align: center; }
#results th { cursor: pointer; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; max-width: calc(100% - 1em); }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 12px; color: #555; }
.notes { font-size: 12px; color: #555; }
</style>
</head>
<body>
<h1>dtca sweep: ${esc(axes.join(' × ') || 'one point')}</h1>
<section><h2>Plan</h2><table id="plan">${planHtml}</table></section>
<section><h2>Results (${rows.length} of ${pf.points} points)</h2>
<p class="notes">Downloads: <a href="results.csv">results.csv</a> · <a href="results.jsonl">results.jsonl</a>. Lag-1: ⟨s(t)s(t+1)⟩ over cells and consecutive sweeps; its ideal twin is the same point with every non-ideality off. Moment RMSE: against the ideal twin run with the next seed; floor: between two ideal runs (sampling noise alone). Static energy: RNG bias, divider and leakage while sweeping; dynamic: toggles, wires, links, clock. Area in mm² (power/area.ts). FD: Fréchet distance of the quality classifier's features between a point's N class-clamped images and N held-out test images of the same classes (lower is better); its yardsticks at the same N: floor, N real images (a sample rarely scores below them); factorised, N images of independent pixels drawn from each class's pixel marginals. Clamped accuracy: the share of a point's images the classifier assigns to the class they were clamped to (higher is better); its yardsticks: ceiling, the same N real images (what the classifier recognises at best); factorised, as for FD. FD is biased upward at small N: compare FDs at the same N only. Click a column to sort.</p>
<div class="wide"><table id="results"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${body}
</tbody></table></div>
<p class="notes">${notes.map(esc).join('<br>')}</p>
</section>
${missingHtml}
<section><h2>Charts</h2>
${chartsHtml || '<p>No charts (no axes, or no finished points).</p>'}
</section>
<script>
(function () {
  var table = document.getElementById('results');
  var ths = table.tHead.rows[0].cells;
  for (var i = 0; i < ths.length; i++) {
    (function (col) {
      ths[col].addEventListener('click', function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var dir = ths[col].getAttribute('data-dir') === 'asc' ? -1 : 1;
        ths[col].setAttribute('data-dir', dir === 1 ? 'asc' : 'desc');
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var vx = x.hasAttribute('data-v') ? Number(x.getAttribute('data-v')) : x.textContent;
          var vy = y.hasAttribute('data-v') ? Number(y.getAttribute('data-v')) : y.textContent;
          return (vx > vy ? 1 : vx < vy ? -1 : 0) * dir;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    })(i);
  }
})();
</script>
</body>
</html>
`;
}

/** Tables, charts and index.html for a sweep directory (merging other directories of the same sweep first). */
export async function buildReport(dir: string, others: string[] = [], o: { charts?: boolean; ctx?: RunContext } = {}): Promise<Collected & { charts: number }> {
  const c = collectTables(dir, others);
  const written = o.charts === false ? [] : await writeCharts(dir, chartSpecs(c.pf, c.rows, c.missing), o.ctx);
  writeFileAtomic(join(dir, 'index.html'), indexHtml(c.pf, c.rows, c.missing, written, dir));
  return { ...c, charts: written.length };
}

/**
 * Pictures and the report of a sweep: one chart (SVG and PNG) per axis and key result, and
 * index.html, a page that needs no network (charts inlined, no scripts from elsewhere) with the
 * plan, the table, the charts and links to every point's directory.
 *
 * Charts: numeric axes are numeric (log scale where the values span a decade or more), values in
 * SI-prefixed units (MHz, ns, fJ); one line per value of the other axes; the ideal twin (lag-1)
 * and the statistical floor (moment error) drawn dashed where they apply; replicates averaged.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderChart, type ChartSpec } from '../io/plot.js';
import { writeFileAtomic, VERSION } from '../io/output.js';
import { eng } from '../stats.js';
import type { Json, Point } from './plan.js';
import type { PlanFile, Row } from './store.js';
import { axisPaths, collectTables, type Collected } from './collect.js';

export interface ResultMeta {
  key: keyof Row & string;
  title: string;
  unit: string;
  /** a companion drawn dashed: [field, legend name] */
  companion?: [keyof Row & string, string];
}

/** The key results that get a chart (those with at least one value). */
export const KEY_RESULTS: ResultMeta[] = [
  { key: 'energy_per_image_j', title: 'energy per image', unit: 'J' },
  { key: 'time_per_image_s', title: 'time per image', unit: 's' },
  { key: 'sweep_energy_per_cell_sweep_j', title: 'sweep energy per cell per sweep (no programming)', unit: 'J' },
  { key: 'programming_energy_per_image_j', title: 'programming energy per image', unit: 'J' },
  { key: 'sweep_time_s', title: 'sweep time', unit: 's' },
  { key: 'lag1_autocorr', title: 'lag-1 autocorrelation', unit: '', companion: ['lag1_autocorr_ideal', 'ideal twin'] },
  { key: 'moment_rmse', title: 'moment RMSE vs ideal twin', unit: '', companion: ['moment_rmse_floor', 'statistical floor'] },
  { key: 'quality', title: 'sample quality (FD, lower is better)', unit: '' },
  { key: 'area_m2', title: 'area', unit: 'm²' },
];

const UNIT_SUFFIXES: [string, string][] = [
  ['g_sigma_s', 'S'],
  ['_f_per_m', 'F/m'],
  ['_w_per_cell', 'W'],
  ['_j_per_bit', 'J'],
  ['_j_per_cell', 'J'],
  ['_hz', 'Hz'],
  ['_s', 's'],
  ['_j', 'J'],
  ['_v', 'V'],
  ['_f', 'F'],
  ['_w', 'W'],
  ['_m', 'm'],
  ['_k', 'K'],
];

/** The unit of a config path from its name (`clock.clock_hz` -> Hz), or '' when it has none. */
export function unitOfPath(path: string): string {
  const last = path.split('.').pop() ?? path;
  for (const [suf, unit] of UNIT_SUFFIXES) if (last === suf || last.endsWith(suf)) return unit;
  return '';
}

const PREFIXES: [number, string][] = [
  [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k'], [1, ''], [1e-3, 'm'], [1e-6, 'µ'], [1e-9, 'n'], [1e-12, 'p'], [1e-15, 'f'], [1e-18, 'a'],
];

/** Scale and prefix for values up to `max` in `unit` (m² gets mm², none for unitless). */
export function unitScale(max: number, unit: string): { scale: number; label: string } {
  if (unit === '') return { scale: 1, label: '' };
  if (unit === 'm²') return { scale: 1e-6, label: 'mm²' };
  const a = Math.abs(max);
  if (!(a > 0) || !Number.isFinite(a)) return { scale: 1, label: unit };
  for (const [m, p] of PREFIXES) if (a >= m) return { scale: m, label: `${p}${unit}` };
  return { scale: 1e-18, label: `a${unit}` };
}

function valueText(v: Json): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** An axis value for people: 10 MHz, 100 ns, G12, [[0,1]]. */
export function axisValueText(path: string, v: Json): string {
  const u = unitOfPath(path);
  return typeof v === 'number' && u ? eng(v, u, 4) : valueText(v);
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

/** Build the chart specs for every axis x key result with data. */
export function chartSpecs(pf: PlanFile, rows: Row[]): Chart[] {
  const axes = axisPaths(pf);
  const charts: Chart[] = [];
  const xs = axes.length ? axes : [];
  for (const axis of xs) {
    const axisVals = pf.plan.axes.find((a) => a.path === axis)!.values;
    const numeric = axisVals.every((v) => typeof v === 'number');
    const others = axes.filter((a) => a !== axis);
    const xUnit = numeric ? unitOfPath(axis) : '';
    const xs = numeric ? unitScale(Math.max(...(axisVals as number[]).map(Math.abs)), xUnit) : { scale: 1, label: '' };
    const xLog = numeric && spansDecade(axisVals as number[]);
    for (const meta of KEY_RESULTS) {
      const ys = rows.map((r) => r[meta.key] as number | null).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (ys.length === 0) continue;
      const comp = meta.companion;
      const compVals = comp ? rows.map((r) => r[comp[0]] as number | null).filter((v): v is number => typeof v === 'number') : [];
      const all = [...ys, ...compVals];
      const yu = unitScale(Math.max(...all.map(Math.abs)), meta.unit);
      const yLog = spansDecade(all);
      // mean over replicates: group by (series, x, kind)
      const groups = new Map<string, { x: number | string; series: string; kind: string; sum: number; n: number; order: number }>();
      const add = (r: Row, kind: string, v: number | null) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) return;
        const series = others.map((o) => (others.length > 1 ? `${o}=` : '') + axisValueText(o, r.axes[o])).join(', ') || meta.title;
        const xv = numeric ? (r.axes[axis] as number) / xs.scale : valueText(r.axes[axis]);
        const order = axisVals.findIndex((a) => valueText(a) === valueText(r.axes[axis]));
        const k = `${series}\u0000${String(xv)}\u0000${kind}`;
        const g = groups.get(k) ?? { x: xv, series, kind, sum: 0, n: 0, order };
        g.sum += v / yu.scale;
        g.n++;
        groups.set(k, g);
      };
      for (const r of rows) {
        add(r, 'measured', r[meta.key] as number | null);
        if (comp) add(r, comp[1], r[comp[0]] as number | null);
      }
      const values = [...groups.values()].map((g) => ({ x: g.x, y: g.sum / g.n, series: g.series, kind: g.kind, order: g.order, line: `${g.series} ${g.kind}` }));
      const kinds = ['measured', ...(comp ? [comp[1]] : [])];
      const yTitle = yu.label ? `${meta.title} (${yu.label})` : meta.title;
      const xTitle = xs.label ? `${axis} (${xs.label})` : axis;
      const multi = others.length > 0;
      const title = `${meta.title[0].toUpperCase()}${meta.title.slice(1)} against ${axis}`;
      const spec = {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title,
        width: 420,
        height: 260,
        data: { values },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: numeric
            ? { field: 'x', type: 'quantitative', title: xTitle, scale: xLog ? { type: 'log', nice: false } : { type: 'linear', zero: false }, axis: { format: '~r', values: [...new Set(values.map((v) => v.x as number))] } }
            : { field: 'x', type: 'ordinal', title: xTitle, sort: { field: 'order' }, axis: { labelAngle: 0, labelLimit: 160 } },
          y: { field: 'y', type: 'quantitative', title: yTitle, scale: yLog ? { type: 'log' } : { type: 'linear', zero: meta.unit !== '' }, axis: { format: '~r' } },
          ...(multi ? { color: { field: 'series', type: 'nominal', title: others.join(', '), sort: null } } : {}),
          strokeDash: { field: 'kind', type: 'nominal', title: null, scale: { domain: kinds, range: [[1, 0], [6, 4]] }, legend: kinds.length > 1 ? { symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 400, symbolFillColor: null, encode: { symbols: { update: { stroke: { value: '#333' } } } } } : null },
          detail: { field: 'line', type: 'nominal' },
          order: { field: 'x', type: numeric ? 'quantitative' : 'ordinal' },
          tooltip: [
            { field: 'series', type: 'nominal', title: 'series' },
            { field: 'x', type: numeric ? 'quantitative' : 'nominal', title: xTitle },
            { field: 'y', type: 'quantitative', title: yTitle, format: '.4g' },
            { field: 'kind', type: 'nominal' },
          ],
        },
      } as unknown as ChartSpec;
      const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_');
      charts.push({ axis, result: meta.key, base: `${safe(meta.key)}--${safe(axis)}`, title, spec });
    }
  }
  return charts;
}

export interface WrittenChart extends Chart {
  svg: string;
}

/** Render every chart into dir/plots (SVG and PNG). */
export async function writeCharts(dir: string, charts: Chart[]): Promise<WrittenChart[]> {
  mkdirSync(join(dir, 'plots'), { recursive: true });
  const out: WrittenChart[] = [];
  for (const c of charts) {
    const { svg, png } = await renderChart(c.spec);
    writeFileAtomic(join(dir, 'plots', `${c.base}.svg`), svg);
    writeFileAtomic(join(dir, 'plots', `${c.base}.png`), png);
    out.push({ ...c, svg });
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function cell(v: unknown, unit: string): string {
  if (v === null || v === undefined) return '<td class="na">–</td>';
  if (typeof v === 'number') return `<td class="num" data-v="${v}">${esc(unit ? eng(v, unit, 4) : Number(v.toPrecision(4)).toString())}</td>`;
  return `<td>${esc(typeof v === 'string' ? v : JSON.stringify(v))}</td>`;
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
  ['lag1_autocorr', 'lag-1', ''],
  ['lag1_autocorr_ideal', 'lag-1 ideal twin', ''],
  ['moment_rmse', 'moment RMSE', ''],
  ['moment_rmse_floor', 'floor', ''],
  ['quality', 'quality', ''],
];

/** index.html: self-contained (styles inline, charts as data URIs, no network). */
export function indexHtml(pf: PlanFile, rows: Row[], missing: Point[], charts: WrittenChart[]): string {
  const axes = axisPaths(pf);
  const p = pf.plan;
  const w = p.workload;
  const planRows: [string, string][] = [
    ['sweep id', pf.sweep_id],
    ['config', `${p.label} (${p.config})`],
    ['overrides', p.sets.length ? p.sets.join('  ') : 'none'],
    ['axes', p.axes.map((a) => `${a.path} = ${a.values.map((v) => axisValueText(a.path, v)).join(', ')}`).join('<br>') || 'none'],
    ['combination', p.zip ? 'zipped (axes paired)' : 'cartesian product'],
    ['replicates', p.replicates === 1 ? `1 (seed ${p.seed ?? 'from the config'})` : `${p.replicates} (seeds ${p.seed ?? "the config's"} + 0..${p.replicates - 1})`],
    ['workload', `${w.kind}${w.model ? ` ${w.model}` : ''}; ${Object.entries(w).filter(([k, v]) => v !== null && !['kind', 'model', 'model_sha256'].includes(k)).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', ')}`],
    ['points', `${pf.points} planned, ${rows.length} finished, ${missing.length} missing`],
    ['command', pf.command.join(' ')],
    ['dtca', `planned with ${pf.dtca_version} at ${pf.created}; report by ${VERSION}`],
  ];
  const planHtml = planRows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${k === 'axes' ? v.split('<br>').map(esc).join('<br>') : esc(v)}</td></tr>`).join('\n');
  const head = ['#', ...axes, ...(p.replicates > 1 ? ['seed'] : []), 'workload', 'physics', ...TABLE_COLS.map((c) => c[1]), 'point'];
  const body = rows
    .map((r) => {
      const tds = [
        `<td class="num">${r.point}</td>`,
        ...axes.map((a) => cell(r.axes[a], typeof r.axes[a] === 'number' ? unitOfPath(a) : '')),
        ...(p.replicates > 1 ? [`<td class="num">${r.seed}</td>`] : []),
        cell(r.workload, ''),
        cell(r.physics, ''),
        ...TABLE_COLS.map(([k, , u]) => (k === 'quality' && r.quality === null ? `<td class="na" title="${esc(r.quality_note)}">–</td>` : k === 'area_m2' && r.area_m2 === null ? `<td class="na" title="${esc(r.area_note)}">–</td>` : cell(r[k], u))),
        `<td><a href="points/${esc(r.id)}/">${esc(r.id)}</a></td>`,
      ];
      return `<tr>${tds.join('')}</tr>`;
    })
    .join('\n');
  const notes = [...new Set(rows.map((r) => r.quality_note))].map((n) => `quality: ${n}`).concat([...new Set(rows.map((r) => r.area_note))].map((n) => `area: ${n}`));
  const missingHtml = missing.length
    ? `<section><h2>Missing points (${missing.length})</h2><p>Not finished yet: run <code>dtca sweep run ${esc('DIR')}</code> (or the shard that holds them), then collect again.</p><ul>${missing
        .map((m) => `<li>point ${m.index + 1}: ${esc(Object.entries(m.axes).map(([k, v]) => `${k}=${valueText(v)}`).join(', ') || 'base')} (${m.id})</li>`)
        .join('')}</ul></section>`
    : '';
  const chartsHtml = charts
    .map(
      (c) =>
        `<figure><img alt="${esc(c.title)}" src="data:image/svg+xml;base64,${Buffer.from(c.svg).toString('base64')}"><figcaption>${esc(c.title)} · <a href="plots/${esc(c.base)}.svg">SVG</a> · <a href="plots/${esc(c.base)}.png">PNG</a></figcaption></figure>`,
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
#results td { white-space: nowrap; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.na { color: #999; text-align: center; }
#results th { cursor: pointer; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 12px; color: #555; }
.notes { font-size: 12px; color: #555; }
</style>
</head>
<body>
<h1>dtca sweep: ${esc(axes.join(' × ') || 'one point')}</h1>
<section><h2>Plan</h2><table id="plan">${planHtml}</table></section>
<section><h2>Results (${rows.length} of ${pf.points} points)</h2>
<p class="notes">Downloads: <a href="results.csv">results.csv</a> · <a href="results.jsonl">results.jsonl</a>. Lag-1: ⟨s(t)s(t+1)⟩ over cells and consecutive sweeps; its ideal twin is the same point with every non-ideality off. Moment RMSE: against the ideal twin run with the next seed; floor: between two ideal runs (sampling noise alone). Static energy: RNG bias, divider and leakage while sweeping; dynamic: toggles, wires, links, clock. Click a column to sort.</p>
<table id="results"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${body}
</tbody></table>
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
export async function buildReport(dir: string, others: string[] = [], o: { charts?: boolean } = {}): Promise<Collected & { charts: number }> {
  const c = collectTables(dir, others);
  const written = o.charts === false ? [] : await writeCharts(dir, chartSpecs(c.pf, c.rows));
  writeFileAtomic(join(dir, 'index.html'), indexHtml(c.pf, c.rows, c.missing, written));
  return { ...c, charts: written.length };
}

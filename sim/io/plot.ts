/**
 * Charts without a browser: a vega-lite spec is compiled to vega, rendered headless to SVG
 * (View with renderer 'none'), and rasterised to PNG by resvg. Files are written to a temporary
 * name and renamed, so no reader sees half a chart.
 *
 * Text: resvg draws glyphs from fonts it finds on the system (loadSystemFonts). Charts ask for
 * "DejaVu Sans" first (Debian/Ubuntu: apt package fonts-dejavu-core) and fall back to any sans-serif
 * font. A machine with no fonts at all still gets charts, but without text; we warn once.
 */
import { existsSync, readdirSync } from 'node:fs';
import { SI_PREFIXES } from '../units.js';
import { join } from 'node:path';
import { homedir } from 'node:os';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from './output.js';

export type ChartSpec = TopLevelSpec;

const FONT = 'DejaVu Sans';
const FONT_DIRS = [
  '/usr/share/fonts',
  '/usr/local/share/fonts',
  join(homedir(), '.fonts'),
  join(homedir(), '.local/share/fonts'),
  '/System/Library/Fonts',
  '/Library/Fonts',
  'C:\\Windows\\Fonts',
];

let fontsChecked = false;

/** True when some directory resvg scans holds at least one entry (fonts-dejavu-core installs one). */
export function systemFontsPresent(): boolean {
  return FONT_DIRS.some((d) => {
    try {
      return existsSync(d) && readdirSync(d).length > 0;
    } catch {
      return false;
    }
  });
}

function warnIfNoFonts(): void {
  if (fontsChecked) return;
  fontsChecked = true;
  if (!systemFontsPresent()) {
    process.emitWarning('no system fonts found: chart text will be missing (Debian/Ubuntu: apt-get install fonts-dejavu-core)');
  }
}

/** Shared look: a white background, one font, readable sizes. */
const BASE_CONFIG = {
  font: `${FONT}, sans-serif`,
  background: 'white',
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 400 },
  title: { fontSize: 14 },
};

/**
 * Characters XML 1.0 does not allow (C0 controls but tab, newline and carriage return; U+FFFE,
 * U+FFFF; lone surrogates) as U+FFFD: a label typed with one (a config's name, an axis value)
 * would otherwise make the SVG unreadable to every XML parser, resvg's included.
 */
export function xmlSafe(text: string): string {
  return text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** An x axis of training epochs, in whole numbers (one epoch alone would otherwise get ticks like 0.000000 and 1.000000). */
export const EPOCH_X = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { format: 'd', tickMinStep: 1 } } as const;

/** Render a vega-lite spec to SVG text and a PNG (2x, white background). */
export async function renderChart(spec: ChartSpec): Promise<{ svg: string; png: Uint8Array }> {
  warnIfNoFonts();
  const withConfig = { ...spec, config: { ...BASE_CONFIG, ...((spec as { config?: object }).config ?? {}) } } as ChartSpec;
  // loaded on first use: vega and resvg take longer to import than a whole small run
  const [vega, { compile }, { Resvg }] = await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  const vg = compile(withConfig).spec;
  const view = new vega.View(vega.parse(vg), { renderer: 'none' });
  let svg: string;
  try {
    svg = xmlSafe(await view.toSVG());
  } finally {
    view.finalize();
  }
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: FONT, sansSerifFamily: FONT },
    fitTo: { mode: 'zoom', value: 2 },
    background: 'white',
  });
  const png = new Uint8Array(resvg.render().asPng());
  return { svg, png };
}

/** Rasterise an SVG document (our fonts, white background, `zoom` x). */
export async function renderSvg(svg: string, zoom = 1): Promise<Uint8Array> {
  warnIfNoFonts();
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(xmlSafe(svg), {
    font: { loadSystemFonts: true, defaultFontFamily: FONT, sansSerifFamily: FONT },
    fitTo: { mode: 'zoom', value: zoom },
    background: 'white',
  });
  return new Uint8Array(resvg.render().asPng());
}

/** Render and write `<base>.svg` and `<base>.png`; returns the two paths. */
export async function writeChart(spec: ChartSpec, basePathWithoutExt: string): Promise<string[]> {
  const { svg, png } = await renderChart(spec);
  const svgPath = `${basePathWithoutExt}.svg`;
  const pngPath = `${basePathWithoutExt}.png`;
  writeFileAtomic(svgPath, svg);
  writeFileAtomic(pngPath, png);
  return [svgPath, pngPath];
}

/** joules and below: larger values stay in the base unit */
const SI = SI_PREFIXES.filter(([scale]) => scale <= 1);

/** The SI prefix that puts `max` in [1, 1000) (joules and below; larger values stay in the base unit). */
export function siPrefix(max: number): { scale: number; prefix: string } {
  const a = Math.abs(max);
  if (!(a > 0) || !Number.isFinite(a)) return { scale: 1, prefix: '' };
  for (const [scale, prefix] of SI) if (a >= scale) return { scale, prefix };
  return { scale: 1e-18, prefix: 'a' };
}

export interface StageEnergy {
  stage: number;
  energy_j: Record<string, number>;
}

/**
 * A stacked bar per stage, one colour per energy component (`total` is skipped: it is the bar's
 * height), in an SI-prefixed unit, per image (the stage's energy over all `images` divided by
 * their number; programming is shared by the images). Writes energy.svg and energy.png into dir.
 */
export async function writeEnergyChart(dir: string, stagesAll: StageEnergy[], images = 1): Promise<string[]> {
  const stages = stagesAll.map((s) => ({ stage: s.stage, energy_j: Object.fromEntries(Object.entries(s.energy_j).map(([k, v]) => [k, v / images])) }));
  const components: string[] = [];
  for (const s of stages) {
    for (const k of Object.keys(s.energy_j)) if (k !== 'total' && !components.includes(k)) components.push(k);
  }
  let maxStack = 0;
  for (const s of stages) {
    let sum = 0;
    for (const c of components) {
      const v = s.energy_j[c] ?? 0;
      if (!Number.isFinite(v) || v < 0) throw new Error(`writeEnergyChart: stage ${s.stage} ${c} = ${v} (must be a finite energy >= 0)`);
      sum += v;
    }
    maxStack = Math.max(maxStack, sum);
  }
  const { scale, prefix } = siPrefix(maxStack);
  const unit = `${prefix}J`;
  const values = stages.flatMap((s) => components.map((c, order) => ({ stage: s.stage, component: c, order, energy: (s.energy_j[c] ?? 0) / scale })));
  const spec: ChartSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: images === 1 ? 'Energy per stage by component (one image)' : `Energy per stage per image by component (mean of ${images} images)`,
    width: Math.min(900, Math.max(240, 28 * stages.length)),
    height: 300,
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'stage', type: 'ordinal', title: 'stage', axis: { labelAngle: 0 } },
      y: { field: 'energy', type: 'quantitative', stack: 'zero', title: `energy (${unit})` },
      color: {
        field: 'component',
        type: 'nominal',
        title: 'component',
        scale: { domain: components, scheme: components.length > 10 ? 'category20' : 'tableau10' },
      },
      order: { field: 'order', type: 'quantitative' },
      tooltip: [
        { field: 'stage', type: 'ordinal' },
        { field: 'component', type: 'nominal' },
        { field: 'energy', type: 'quantitative', title: `energy (${unit})`, format: '.4g' },
      ],
    },
  };
  return writeChart(spec, join(dir, 'energy'));
}

// The parameter tables of docs/physics.md (every config key but area.*) and docs/energy-and-area.md
// (area.*) against the code: one row per config key and no row for a key that does not exist; each
// row's unit the key's (sim/units.ts), its dtca-paper and z1-like values the presets' resolved ones,
// its range the schema's (what config validate accepts). `dtca config schema` describes every key,
// naming its unit; the presets cite a docs section that exists; docs/energy-and-area.md names every
// key of energy-table.json and of `dtca area --json`. (Unit tier: no process is spawned.)
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configPaths, configJsonSchema, resolveConfig, idealize, type ResolvedConfig } from '../sim/config.js';
import { parseQuantity, unitOfKey, unitLabelOfKey, eng } from '../sim/units.js';
import { buildChip } from '../sim/chip.js';
import { energyTableReport, energyTableCsv, formatEnergyTable } from '../sim/energy-table.js';
import { areaOf, areaSources } from '../sim/area.js';
import { characteriseRng } from '../rng/characterise.js';
import { PLAUSIBLE_RANGES, plainNumber } from '../sim/plausible.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (f: string) => readFileSync(`${ROOT}${f}`, 'utf8');

/** Not parameters: what a config is called and says about itself. */
const NOT_PARAMETERS = new Set(['name', 'description']);
const COLUMNS = ['parameter', 'unit', 'dtca-paper', 'z1-like', 'range'];

/** The cells of a markdown table row ("|" escaped as "\|" kept inside a cell). */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

interface Row {
  file: string;
  line: number;
  cells: Record<string, string>;
}

/** Every row of a parameter table (one whose header starts with COLUMNS) whose first cell is one `key`. */
export function parameterRows(file: string, md: string): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  let header: string[] | null = null;
  md.split('\n').forEach((line, i) => {
    if (!line.startsWith('|')) {
      header = null;
      return;
    }
    const c = cells(line);
    if (header === null) {
      header = COLUMNS.every((h, k) => c[k] === h) ? c : [];
      return;
    }
    if (header.length === 0 || /^-+$/.test(c[0])) return;
    const key = /^`([^`]+)`$/.exec(c[0]);
    if (!key) throw new Error(`${file}:${i + 1}: a parameter row names one \`key\`, got ${c[0]}`);
    const byColumn: Record<string, string> = {};
    header.forEach((h, k) => (byColumn[h] = c[k] ?? ''));
    out.set(key[1], [...(out.get(key[1]) ?? []), { file, line: i + 1, cells: byColumn }]);
  });
  return out;
}

const valueAt = (c: ResolvedConfig, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c);

/** A documented value in the key's unit ("100 ns", "9 µm²", "3 %", "4,096", "G12") as the config holds it. */
function docValue(text: string, key: string): number | string | Error {
  const t = text.replace(/(\d),(\d{3})/g, '$1$2');
  const pct = /^([\d.]+) %$/.exec(t);
  if (pct) return Number(pct[1]) / 100;
  const unit = unitOfKey(key);
  if (unit) return parseQuantity(t, unit);
  return /^[+-]?[\d.]+(e[+-]?\d+)?$/.test(t) ? Number(t) : t;
}

/** A documented bound: "46,340", "1e15", "2^53 − 1", "2^31". */
function bound(text: string): number {
  const t = text.replace(/,/g, '').replace(/\s/g, '').replace(/−/g, '-');
  const pow = /^2\^(\d+)(-1)?$/.exec(t);
  if (pow) return 2 ** Number(pow[1]) - (pow[2] ? 1 : 0);
  const n = Number(t);
  if (!Number.isFinite(n)) throw new Error(`not a bound: ${text}`);
  return n;
}

type Node = Record<string, unknown> & { properties?: Record<string, Node>; anyOf?: Node[]; enum?: string[]; const?: string };

function schemaLeaves(): Map<string, Node> {
  const out = new Map<string, Node>();
  const walk = (n: Node, at: string[]) => {
    if (n.properties) for (const [k, v] of Object.entries(n.properties)) walk(v, [...at, k]);
    else out.set(at.join('.'), n);
  };
  walk(configJsonSchema() as Node, []);
  return out;
}

const near = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));

describe('the parameter tables of the docs', () => {
  const docs = { physics: 'docs/physics.md', area: 'docs/energy-and-area.md' };
  const tables = { physics: parameterRows(docs.physics, read(docs.physics)), area: parameterRows(docs.area, read(docs.area)) };
  const presets = { 'dtca-paper': resolveConfig('dtca-paper'), 'z1-like': resolveConfig('z1-like') };
  const leaves = schemaLeaves();
  const params = configPaths().filter((p) => !NOT_PARAMETERS.has(p));
  const rowsOf = (p: string): Row[] => (p.startsWith('area.') ? tables.area : tables.physics).get(p) ?? [];

  it('give every config key one row, in docs/physics.md (area.* in docs/energy-and-area.md), and no key the config lacks', () => {
    expect(params.filter((p) => rowsOf(p).length !== 1)).toEqual([]);
    const documented = [...tables.physics.keys(), ...tables.area.keys()];
    expect(documented.filter((k) => !params.includes(k))).toEqual([]);
  });

  it("give each key's unit as the code reads it", () => {
    const wrong: string[] = [];
    for (const [, table] of Object.entries(tables))
      for (const [p, rows] of table) {
        const label = unitLabelOfKey(p.split('.').pop()!);
        for (const r of rows)
          if ((label ?? null) !== null && r.cells.unit !== label) wrong.push(`${r.file}:${r.line} ${p}: unit ${r.cells.unit}, the code's ${label}`);
        // a count or ratio has no SI unit
        for (const r of rows)
          if (label === null && /^(Hz|s|J|F|V|W|m|m²|K|S)$/.test(r.cells.unit)) wrong.push(`${r.file}:${r.line} ${p}: an SI unit for a count`);
      }
    expect(wrong).toEqual([]);
  });

  it("give each preset's value (the resolved config's, after extends)", () => {
    const wrong: string[] = [];
    for (const [, table] of Object.entries(tables))
      for (const [p, rows] of table)
        for (const r of rows)
          for (const [preset, config] of Object.entries(presets)) {
            const want = valueAt(config, p);
            const got = docValue(r.cells[preset], p.split('.').pop()!);
            const same = typeof want === 'number' && typeof got === 'number' ? near(got, want) : got === want;
            if (!same) wrong.push(`${r.file}:${r.line} ${p} (${preset}): docs ${r.cells[preset]}, config ${JSON.stringify(want)}`);
          }
    expect(wrong).toEqual([]);
  });

  it('give each range as the schema checks it', () => {
    const wrong: string[] = [];
    for (const [, table] of Object.entries(tables))
      for (const [p, rows] of table) {
        const leaf = leaves.get(p)!;
        const kinds = leaf.anyOf ?? [leaf];
        for (const r of rows) {
          const range = r.cells.range;
          const problem = (what: string) => wrong.push(`${r.file}:${r.line} ${p}: range "${range}": ${what}`);
          for (const k of kinds) {
            for (const e of [...(k.enum ?? []), ...(k.const !== undefined ? [k.const] : [])])
              if (!range.includes(`\`${e}\``)) problem(`does not name \`${e}\``);
            if (k.type !== 'number' && k.type !== 'integer') continue;
            const m = /^(> )?(\S+(?: − 1)?) … ([\d,.e^]+(?: − 1)?)/.exec(range);
            if (!m) {
              problem('not "min … max"');
              continue;
            }
            const min = k.minimum as number;
            const exclusiveZero = min === 1e-30;
            if (exclusiveZero !== (m[1] !== undefined) || (exclusiveZero ? bound(m[2]) !== 0 : bound(m[2]) !== min))
              problem(`minimum ${exclusiveZero ? '> 0' : min}`);
            if (bound(m[3]) !== k.maximum) problem(`maximum ${String(k.maximum)}`);
          }
        }
      }
    expect(wrong).toEqual([]);
  });
});

describe('the plausible ranges of the docs', () => {
  const docs = { physics: 'docs/physics.md', area: 'docs/energy-and-area.md' };
  it('give each key with a unit the range sim/plausible.ts warns outside ("—" for the others)', () => {
    const wrong: string[] = [];
    for (const [, f] of Object.entries(docs))
      for (const [p, rows] of parameterRows(f, read(f)))
        for (const r of rows) {
          const range = PLAUSIBLE_RANGES[p];
          const want = range ? `${plainNumber(range[0])} … ${plainNumber(range[1])}` : '—';
          if (r.cells.plausible !== want) wrong.push(`${r.file}:${r.line} ${p}: plausible "${r.cells.plausible}", sim/plausible.ts ${want}`);
        }
    expect(wrong).toEqual([]);
  });
});

describe('dtca config schema', () => {
  it('describes every key, and names the unit of every key that has one', () => {
    const wrong: string[] = [];
    for (const [p, leaf] of schemaLeaves()) {
      const d = leaf.description;
      if (typeof d !== 'string' || d.trim() === '') wrong.push(`${p}: no description`);
      const label = unitLabelOfKey(p.split('.').pop()!);
      if (label && !(typeof d === 'string' && d.endsWith(`[${label}]`))) wrong.push(`${p}: the description does not end with [${label}]`);
    }
    expect(wrong).toEqual([]);
  });

  it('unit labels: a key with a unit suffix, a compound unit, a per-bit or per-cell key, a count', () => {
    expect(
      [
        'clock_hz',
        'tau_rng_s',
        'rng_m2',
        'g_sigma_s',
        'wire_cap_f_per_m',
        'cap_density_f_per_m2',
        'weight_write_j_per_bit',
        'clock_m2_per_cell',
        'leakage_w_per_cell',
        'L',
        'v_s_sigma_rel',
        'phase_cycles',
      ].map(unitLabelOfKey),
    ).toEqual(['Hz', 's', 'm²', 'S', 'F/m', 'F/m²', 'J/bit', 'm²/cell', 'W/cell', null, null, null]);
  });
});

describe('the presets', () => {
  it("point at a docs section that exists for their values' sources (they named a README section that was gone)", () => {
    const wrong: string[] = [];
    for (const preset of ['dtca-paper', 'z1-like']) {
      const raw = JSON.parse(read(`configs/${preset}.json`)) as { description: string };
      const refs = [...raw.description.matchAll(/(docs\/[\w-]+\.md|README(?:\.md)?), '([^']+)'/g)].map(([, f, h]) => [f.replace(/^README$/, 'README.md'), h]);
      if (refs.length === 0) wrong.push(`${preset}: names no docs section`);
      for (const [file, heading] of refs)
        if (
          !read(file)
            .split('\n')
            .some((l) => /^#+ /.test(l) && l.replace(/^#+ /, '') === heading)
        )
          wrong.push(`${preset}: ${file} has no section '${heading}'`);
    }
    expect(wrong).toEqual([]);
  });
});

/** Every key of a JSON document, nested objects and the objects in arrays included. */
function keysOf(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) keysOf(x, out);
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      out.add(k);
      // a map from config paths or parameter names to values: its keys are data, not fields
      if (k !== 'params' && k !== 'parameters' && k !== 'by_component_m2' && k !== 'area_m2') keysOf(x, out);
      else if (k === 'parameters') for (const p of Object.values(x as object)) keysOf(p, out);
    }
  return out;
}

describe('docs/energy-and-area.md', () => {
  const md = read('docs/energy-and-area.md');
  const named = (keys: Set<string>) => [...keys].filter((k) => !md.includes(`\`${k}\``));

  it('names every key of energy-table.json (dtca energy-table --json) and every --csv column', () => {
    for (const preset of ['dtca-paper', 'z1-like']) {
      const report = energyTableReport(buildChip(resolveConfig(preset)));
      expect(named(keysOf(report)), preset).toEqual([]);
      const columns = energyTableCsv(report).split('\n')[0];
      expect(md, 'the --csv header').toContain(`\`${columns}\``);
    }
  });

  it('shows dtca energy-table\'s output as it is ("..." for what it leaves out)', () => {
    const out = formatEnergyTable(energyTableReport(buildChip(resolveConfig('dtca-paper'))), eng).split('\n');
    const block = /### The energy table[\s\S]*?```\n([\s\S]*?)```/
      .exec(md)![1]
      .split('\n')
      .filter((l) => l.trim() !== '' && l.trim() !== '...');
    expect(block.length).toBeGreaterThan(5);
    const shown = (l: string) =>
      new RegExp(
        `^${l
          .split('...')
          .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
    expect(block.filter((l) => !out.some((o) => shown(l).test(o.trimEnd())))).toEqual([]);
  });

  it("gives the presets' areas as dtca area computes them (to the digits written)", () => {
    const rows: Record<string, string[]> = {
      total: ['total'],
      rng: ['rng'],
      'bias network': ['bias_network'],
      'weight storage': ['weight_storage'],
      'latch, clock': ['latch', 'clock'],
      'tile links': ['links'],
      'I/O': ['io'],
    };
    const header = md.split('\n').findIndex((l) => /^\| \| dtca-paper .*\| z1-like /.test(l));
    expect(header).toBeGreaterThan(0);
    const areas = [resolveConfig('dtca-paper'), resolveConfig('z1-like')].map((c) => areaOf(c).area_m2);
    const wrong: string[] = [];
    const close = (text: string, v: number) => Math.abs(Number(text) - v) <= 0.5 * 10 ** -(text.split('.')[1]?.length ?? 0) + 1e-12;
    const seen = new Set<string>();
    for (const line of md.split('\n').slice(header + 2)) {
      if (!line.startsWith('|')) break;
      const [label, ...cols] = cells(line);
      const keys = rows[label];
      if (!keys) continue;
      seen.add(label);
      cols.forEach((col, k) => {
        const a = areas[k];
        const mm2 = /^\**([\d., ]+?)\** mm²/.exec(col)?.[1].split(', ') ?? [];
        if (mm2.length !== keys.length) wrong.push(`${label}, ${k ? 'z1-like' : 'dtca-paper'}: ${col}`);
        keys.forEach((key, q) => {
          if (mm2[q] !== undefined && !close(mm2[q], a[key as keyof typeof a] * 1e6))
            wrong.push(`${label} (${key}), ${k ? 'z1-like' : 'dtca-paper'}: docs ${mm2[q]} mm², dtca area ${a[key as keyof typeof a] * 1e6}`);
        });
        const pct = /\(([\d.]+) %\)/.exec(col);
        if (pct && keys.length === 1 && !close(pct[1], (100 * a[keys[0] as keyof typeof a]) / a.total))
          wrong.push(`${label}, ${k ? 'z1-like' : 'dtca-paper'}: docs ${pct[1]} %`);
      });
    }
    expect([...Object.keys(rows)].filter((r) => !seen.has(r))).toEqual([]);
    expect(wrong).toEqual([]);
  });

  it('names every key of dtca area --json, and every area component', () => {
    const cfg = resolveConfig('dtca-paper');
    const r = areaOf(cfg);
    // as cli/commands/area.ts prints it
    const doc = { config: cfg.name, ...r, parameters: areaSources(cfg) };
    expect(named(keysOf(doc))).toEqual([]);
    expect(named(new Set(Object.keys(r.area_m2)))).toEqual([]);
  });
});

describe('docs/commands.md', () => {
  it('names every config value --ideal sets', () => {
    const md = read('docs/commands.md');
    const base = resolveConfig('dtca-paper', { sets: ['rng.temperature_k=350'] });
    const raw = JSON.parse(JSON.stringify(base)) as Parameters<typeof idealize>[0];
    idealize(raw);
    const changed = configPaths().filter((p) => JSON.stringify(valueAt(raw as unknown as ResolvedConfig, p)) !== JSON.stringify(valueAt(base, p)));
    expect(changed.length).toBeGreaterThan(5);
    const ideal = md.slice(md.indexOf('`--ideal` turns every non-ideality off'));
    expect(changed.filter((p) => !ideal.slice(0, 1200).includes(`\`${p}\``))).toEqual([]);
  });
});

describe('docs/formats.md', () => {
  it('names every field of rng.json (dtca rng), of the nominal device and of one cell', () => {
    const md = read('docs/formats.md');
    const section = md.slice(md.indexOf('## rng.json'), md.indexOf('## CSV files'));
    const cfg = resolveConfig('dtca-paper');
    // small: the fields, not the figures
    const small = { voltages: 5, samplesPerVoltage: 200, acSegments: 4, acSegmentLength: 400, cells: 2, cellSamplesPerVoltage: 100 };
    const keys = new Set<string>();
    for (const r of [characteriseRng(cfg, small), characteriseRng(cfg, { ...small, cell: 3 })]) keysOf(r, keys);
    // keysOf skips the values of maps; rng.json has none, so walk it whole
    expect([...keys].filter((k) => !section.includes(`\`${k}\``))).toEqual([]);
  });
});

describe('every doc', () => {
  it('names only config values that exist (a dotted path under fabric, clock, rng, cell, power, io or area)', () => {
    const sections = new Set(configPaths().flatMap((p) => p.split('.').map((_, i, a) => a.slice(0, i + 1).join('.'))));
    const files = [
      'README.md',
      ...readdirSync(`${ROOT}docs`)
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    const wrong: string[] = [];
    for (const f of files) {
      const text = read(f);
      for (const m of text.matchAll(/(?<![\w./-])(fabric|clock|rng|cell|power|io|area)\.([a-z_][a-z0-9_.]*[a-z0-9_])/g)) {
        const path = `${m[1]}.${m[2]}`;
        // a file name (energy-and-area.md, rng.json, power/area.ts), not a config value
        if (/\.(md|ts|js|json|py|png|svg)$/.test(path)) continue;
        if (!sections.has(path)) wrong.push(`${f}:${text.slice(0, m.index).split('\n').length}: ${path}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

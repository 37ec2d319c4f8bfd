// The layering rule (tools/eslint-layering.js, wired in eslint.config.js): eslint, through its Node
// API with the project's own config, rejects an upward import and passes the legal directions.
// Each text is linted as if it were a file at the given path (nothing is written to the tree).
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';

const root = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function layering(path: string, text: string): Promise<string[]> {
  const [res] = await eslint.lintText(text, { filePath: join(root, path) });
  return res.messages.map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
}

describe('eslint layering rule', () => {
  it('rejects fabric/ importing sim/', async () => {
    const msgs = await layering('fabric/zz-upward.ts', "import { buildChip } from '../sim/chip.js';\nexport const f = buildChip;\n");
    expect(msgs).toEqual(["dtca/layering: fabric/ must not import sim/ ('../sim/chip.js'): pass what it needs down instead"]);
  });

  it('rejects a deep lower-layer file importing cli/ (import, re-export, dynamic import, type import)', async () => {
    const text = [
      "import { cliContext } from '../../../cli/common.js';",
      "export * from '../../../sim/dtm.js';",
      "export const m = () => import('../../../cli/log.js');",
      "export type T = import('../../../sim/chip.js').Chip;",
      'export const c = cliContext;',
      '',
    ].join('\n');
    const msgs = await layering('cells/wasm/emit/zz-upward.ts', text);
    expect(msgs.filter((m) => m.startsWith('dtca/layering'))).toHaveLength(4);
  });

  it('rejects sim/ importing cli/, and allows sim/ importing the lower layers', async () => {
    expect(await layering('sim/zz-upward.ts', "import { cliContext } from '../cli/common.js';\nexport const c = cliContext;\n")).toEqual([
      "dtca/layering: sim/ must not import cli/ ('../cli/common.js'): pass what it needs down instead",
    ]);
    expect(await layering('sim/zz-ok.ts', "import { buildFabric } from '../fabric/fabric.js';\nexport const b = buildFabric;\n")).toEqual([]);
  });

  it('allows cli/ to import anything, and a lower layer to import itself and packages', async () => {
    expect(await layering('cli/zz-ok.ts', "import { buildChip } from '../sim/chip.js';\nexport const b = buildChip;\n")).toEqual([]);
    expect(
      await layering('power/zz-ok.ts', "import { z } from 'zod';\nimport { energyTable } from './energy.js';\nexport const e = [z, energyTable];\n"),
    ).toEqual([]);
  });
});

describe('the format check (prettier, with the project config) is part of npm run lint', () => {
  it('npm run lint runs eslint and prettier --check over the sources', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.lint).toMatch(/^eslint \. && prettier --check /);
    expect(pkg.scripts.lint).toContain('**/*.{ts,js,mjs}');
  });
  it('prettier rejects a badly formatted source and accepts it formatted', async () => {
    const prettier = await import('prettier');
    const filepath = join(root, 'sim', 'zz-format.ts');
    const options = { ...(await prettier.resolveConfig(filepath)), filepath };
    const bad = 'export const f=(a:number,b:number)=>{return a+b}\n';
    expect(await prettier.check(bad, options)).toBe(false);
    expect(await prettier.check(await prettier.format(bad, options), options)).toBe(true);
  });
});

/** The relative modules a source imports or re-exports (type imports and import() of a literal included), as .ts paths. */
function importsOf(file: string, text: string): string[] {
  const specs = new Set<string>();
  const patterns = [
    /\b(?:import|export)\b[^'";]*?\bfrom\s*['"](\.[^'"]+)['"]/g,
    /\bimport\s*\(\s*['"](\.[^'"]+)['"]\s*\)/g,
    /^\s*import\s*['"](\.[^'"]+)['"]/gm,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.add(m[1]);
  return [...specs].map((s) => join(dirname(file), s).replace(/\.js$/, '.ts'));
}

/** The strongly connected components of more than one file, or of one file importing itself (Tarjan). */
function importCycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('no import cycles among the sources', () => {
  it('the detector finds a loop through a type import and a dynamic import, and passes a tree', () => {
    const a = 'sim/a.ts';
    const texts: Record<string, string> = {
      [a]: "import type { B } from './b.js';\nexport const a = 1;\n",
      'sim/b.ts': "export type B = number;\nexport const c = () => import('./c.js');\n",
      'sim/c.ts': "export {\n  a,\n} from './a.js';\n",
      'sim/d.ts': "import { a } from './a.js';\nimport '../fabric/e.js';\n",
      'fabric/e.ts': 'export const e = 1;\n',
    };
    const graph = new Map(Object.entries(texts).map(([f, t]) => [f, importsOf(f, t)]));
    expect(graph.get('sim/d.ts')).toEqual(['sim/a.ts', 'fabric/e.ts']);
    expect(importCycles(graph)).toEqual([['sim/a.ts', 'sim/b.ts', 'sim/c.ts']]);
    graph.set('sim/c.ts', []);
    expect(importCycles(graph)).toEqual([]);
  });

  it('cells/ fabric/ rng/ power/ traces/ sim/ cli/ and index.ts import each other in no loop', () => {
    const files = ['cells', 'fabric', 'rng', 'power', 'traces', 'sim', 'cli']
      .flatMap((d) => readdirSync(join(root, d), { recursive: true, encoding: 'utf8' }).map((f) => join(d, f)))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .concat('index.ts');
    expect(files.length).toBeGreaterThan(100);
    const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(join(root, f), 'utf8'))]));
    expect([...graph.values()].flat().filter((f) => graph.has(f)).length).toBeGreaterThan(300);
    expect(importCycles(graph)).toEqual([]);
  });
});

// The layering rule (tools/eslint-layering.js, wired in eslint.config.js): eslint, through its Node
// API with the project's own config, rejects an upward import and passes the legal directions.
// Each text is linted as if it were a file at the given path (nothing is written to the tree).
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

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

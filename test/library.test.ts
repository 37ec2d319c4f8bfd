// dtca as a library: another package that depends on dtca (a file: dependency, installed offline)
// compiles the example of docs/library.md with tsc --strict against the package's own types
// (dist/types, built here by `npm run build:types`'s command) and runs it with node, importing
// 'dtca' through package.json "exports" (dist/index.js, built by the global setup); and runs the
// block itself with node as an .mjs file, as the page tells a reader to.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from './helpers/cli.js';

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('dtca as a library', () => {
  it("docs/library.md's example type-checks and runs from another package", () => {
    const md = readFileSync(join(ROOT, 'docs', 'library.md'), 'utf8');
    const blocks = [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toMatch(/from 'dtca'/);

    const types = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], ROOT);
    expect(types.out).toBe('');
    expect(types.code).toBe(0);

    const dir = mkdtempSync(join(tmpdir(), 'dtca-consumer-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { dtca: `file:${ROOT}` } }));
    const npm = run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], dir);
    expect(npm.code, npm.out).toBe(0);
    expect(realpathSync(join(dir, 'node_modules', 'dtca'))).toBe(realpathSync(ROOT));

    writeFileSync(join(dir, 'example.ts'), blocks[0]);
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        outDir: 'out',
      },
      files: ['example.ts'],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], dir);
    expect(tsc.out).toBe('');
    expect(tsc.code).toBe(0);

    const ex = run(process.execPath, [join(dir, 'out', 'example.js')], dir);
    expect(ex.code, ex.out).toBe(0);
    const lines = ex.out.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('chip: 256 cells at 10 MHz');
    expect(lines[1]).toMatch(/^bm: 25600 cell updates, [0-9.]+e-\d+ J, mean spin of cell 0 -?[01]\.\d{3}$/);
    expect(lines[2]).toMatch(/^generate: 2 images of 40 cells, [0-9.]+e-\d+ J per image, [0-9.]+e-\d+ J per cell per sweep$/);
    // stage 2 only: its begin and end, 2 images x (10 sweeps + the initial state)... as recorded
    const kinds = JSON.parse(lines[3].replace(/^trace: /, ''));
    expect(kinds.header).toBe(1);
    expect(kinds.end).toBe(1);
    expect(kinds.stage_begin).toBe(kinds.stage_end);
    expect(kinds.sweep).toBeGreaterThan(0);
    // named as the example gave it (its sets), not as the command line's --set
    expect(lines[4]).toBe('refused: sets[0] fabric.L=-1: fabric.L = -1: must be >= 2');

    // the block as written is JavaScript too: node runs it as an .mjs file, with the same output
    // (its `const kinds: Record<string, number>` was a SyntaxError there)
    writeFileSync(join(dir, 'example.mjs'), blocks[0]);
    const mjs = run(process.execPath, [join(dir, 'example.mjs')], dir);
    expect(mjs.code, mjs.out).toBe(0);
    expect(mjs.out).toBe(ex.out);

    // the bundle is what 'dtca' resolves to, and the types are what tsc used
    const which = run(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('dtca'))"], dir);
    expect(which.out.trim()).toBe(`file://${realpathSync(ROOT)}/dist/index.js`);
  }, 600_000); // two tsc runs and an npm install: ~35 s of CPU, minutes on a loaded machine
});

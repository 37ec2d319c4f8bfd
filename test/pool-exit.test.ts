// dtca as a library keeps its worker threads between calls (sim/pool.ts), and a script that uses
// them and never calls closeWorkers() still ends by itself, exit code 0: the idle threads are
// unref'd. And the bytes of a call on kept threads are a fresh process's: two node processes run
// the same calls in two orders (a Boltzmann machine, a generation, the machine again; the
// generation, then the machine), and every call of one kind gives the same digest in both.
//
// The bound: each process does three small runs (L = 16) on two threads, about 2 s on this
// machine's two shared cores, up to about 10 s when other work loads them; a process the kept
// threads held open would never end. 60 s is far from both.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './helpers/cli.js';

const BOUND_MS = 60_000;

const script = `
import { createHash } from 'node:crypto';
import { resolveConfig, buildChip, randomModel, runModel, newDtmModel, generate } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'index.js')).href)};
const chip = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=16', 'fabric.rules=G8', 'seed=3'] }));
const bm = randomModel(chip.fabric, 1, 0.25, 0.1);
const dtm = newDtmModel({ T: 3, L: 16, rules: 'G8', boundary: 'open', visible: 40, weights: { random: 0.2 }, seed: 4 });
const digest = (r) =>
  createHash('sha256')
    .update(JSON.stringify(r, (k, v) => (k === 'wallS' || k === 'updatesPerNs' ? undefined : ArrayBuffer.isView(v) ? Array.from(v) : v)))
    .digest('hex');
const calls = {
  bm: () => runModel(chip, bm, { chains: 4, sweeps: 12, warmup: 3, moments: true, workers: 2 }),
  gen: () => generate(chip, dtm, { images: 4, sweeps: 6, workers: 2 }),
};
for (const name of process.argv.slice(2)) console.log(name + ' ' + digest(await calls[name]()));
`;

const dir = mkdtempSync(join(tmpdir(), 'dtca-pool-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'script.mjs');
writeFileSync(file, script);

function run(...calls: string[]): { code: number | null; signal: string | null; lines: string[]; stderr: string } {
  const r = spawnSync(process.execPath, [file, ...calls], { encoding: 'utf8', timeout: BOUND_MS, killSignal: 'SIGKILL' });
  return { code: r.status, signal: r.signal, lines: r.stdout.trim().split('\n'), stderr: r.stderr };
}

describe('a library script on kept worker threads', () => {
  it('ends by itself (exit code 0) without closeWorkers, and its calls give the bytes of a fresh process', () => {
    const a = run('bm', 'gen', 'bm');
    expect(a.signal, `still running after ${BOUND_MS / 1000} s: the kept threads hold the process open`).toBeNull();
    expect(a.code, a.stderr).toBe(0);
    const b = run('gen', 'bm');
    expect(b.signal).toBeNull();
    expect(b.code, b.stderr).toBe(0);

    const [bm1, gen1, bm2] = a.lines;
    const [gen2, bm3] = b.lines;
    expect(bm1).toMatch(/^bm [0-9a-f]{64}$/);
    expect(gen1).toMatch(/^gen [0-9a-f]{64}$/);
    // the machine on new threads, on kept threads after a generation, and after a generation in another process
    expect(bm2).toBe(bm1);
    expect(bm3).toBe(bm1);
    // the generation on kept threads (after the machine) and on new ones (a fresh process's first call)
    expect(gen2).toBe(gen1);
  });
});

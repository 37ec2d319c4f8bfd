// The built CLI's trace writer thread (dist/trace-worker.js, traces/ring.ts): `dtca run --trace`
// from the bundle writes its records on the writer thread, the same records as with the writer in
// the calling thread (DTCA_TRACE_THREAD=0); a process that exits without closing its trace still
// leaves every record it handed over in the file (the exit flush waits for the thread); a write
// error on the thread (a file-size limit) reaches the caller as the one-line error and the file
// keeps its whole records. One image split over two workers (tiles), and images spread over two
// workers, trace the records one thread does.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, ROOT } from './helpers/cli.js';
import { readTrace } from '../traces/reader.js';

const dir = mkdtempSync(join(tmpdir(), 'dtca-trace-thread-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two traces' records, their headers without what differs between two runs of one command (creation time, run directory, and so the CRC). */
function withoutRunHeader(...traces: Record<string, unknown>[][]): void {
  for (const t of traces) {
    delete t[0].created;
    delete t[0].config;
    delete t[0].crc32;
  }
}

async function records(path: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const r of readTrace(path)) out.push(r as unknown as Record<string, unknown>);
  return out;
}

function run(out: string, env: Record<string, string>, more: string[] = []) {
  const args = ['run', '--set', 'fabric.L=48', '--images', '6', '--sweeps', '60', '--trace', '--trace-every', '2', '--out', out, ...more];
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DTCA_LOG: 'info', ...env } });
  expect(r.status, r.stderr).toBe(0);
  const line = r.stderr.split('\n').find((l) => l.includes('"trace written"'));
  expect(line, r.stderr).toBeDefined();
  return JSON.parse(line!) as { written_by: string };
}

describe('dtca run --trace from the bundle', () => {
  it('writes on the writer thread the records the calling thread writes', async () => {
    const a = run(join(dir, 'thread'), {});
    const b = run(join(dir, 'inline'), { DTCA_TRACE_THREAD: '0' });
    expect(a.written_by).toBe('writer thread');
    expect(b.written_by).toBe('calling thread');
    const ra = await records(join(dir, 'thread', 'trace.dtct'));
    const rb = await records(join(dir, 'inline', 'trace.dtct'));
    expect(ra.length).toBe(rb.length);
    expect(ra.filter((r) => r.type === 'sweep').length).toBeGreaterThan(6 * 30);
    // the header differs in its creation time and the run directory; every other record is the same
    withoutRunHeader(ra, rb);
    expect(ra).toEqual(rb);
  });

  it('traces images on two workers with the records of one thread', async () => {
    run(join(dir, 'workers1'), {});
    run(join(dir, 'workers2'), {}, ['--workers', '2']);
    const ra = await records(join(dir, 'workers1', 'trace.dtct'));
    const rb = await records(join(dir, 'workers2', 'trace.dtct'));
    expect(ra.filter((r) => r.type === 'sweep').length).toBe(6 * 8 * 30);
    withoutRunHeader(ra, rb);
    expect(rb).toEqual(ra);
  });

  it('traces one image split over two workers (tiles) with the records of one thread', async () => {
    const traced = (out: string, workers: string[]) => {
      const args = ['run', '--set', 'fabric.L=48', '--images', '1', '--sweeps', '30', '--trace', '--out', out, ...workers];
      const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as { engine: { stats: { tiles?: number } } };
    };
    const one = traced(join(dir, 'tiles1'), []);
    const two = traced(join(dir, 'tiles2'), ['--workers', '2']);
    expect(one.engine.stats.tiles ?? 1).toBe(1);
    expect(two.engine.stats.tiles).toBe(2);
    const ra = await records(join(dir, 'tiles1', 'trace.dtct'));
    const rb = await records(join(dir, 'tiles2', 'trace.dtct'));
    expect(ra.filter((r) => r.type === 'sweep').length).toBe(8 * 30);
    withoutRunHeader(ra, rb);
    expect(rb).toEqual(ra);
  });

  it('a process that exits with its trace open keeps every record it handed over', async () => {
    const script = join(dir, 'exit.mts');
    const path = join(dir, 'exit.dtct');
    writeFileSync(
      script,
      `import { openTraceWriter } from ${JSON.stringify(join(ROOT, 'traces/writer.ts'))};
const w = openTraceWriter(${JSON.stringify(path)}, {}, { thread: true });
if (!(await w.threadStarted())) throw new Error('no writer thread');
const N = 1024;
w.header({ format: 'dtca-trace', version: 1, dtca_version: 'x', created: 'x', config: {}, model: {},
  layout: { L: 32, N, colour: new Uint8Array(N), visible: new Int32Array(0), image: new Int32Array(0), label: new Int32Array(0), label_copies: 1 },
  run: { chains: 1, stages: 1, sweeps: 5000, clock_hz: 1e9, mapping: 'x' } });
w.stageBegin({ stage: 0, cycle: 0, time_s: 0, energy_j: { total: 0 } });
const packed = new Uint8Array(N / 8);
for (let s = 0; s < 5000; s++) w.sweep({ chain: 0, stage: 0, sweep: s, cycle: s + 1, time_s: (s + 1) * 1e-9, spins: new Float64Array(0), packed, toggles: s, energy_j: { total: s } });
process.exit(0);
`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const recs = await records(path);
    expect(recs.filter((x) => x.type === 'sweep').length).toBe(5000);
    expect(recs.at(-1)).toMatchObject({ type: 'sweep', sweep: 4999 });
  });

  it('a full disk on the writer thread: the caller gets the one-line error, the file reads to its last whole record', async () => {
    const script = join(dir, 'full.mts');
    const path = join(dir, 'full.dtct');
    writeFileSync(
      script,
      `import { openTraceWriter } from ${JSON.stringify(join(ROOT, 'traces/writer.ts'))};
const w = openTraceWriter(${JSON.stringify(path)}, {}, { thread: true });
if (!(await w.threadStarted())) throw new Error('no writer thread');
const N = 4096;
w.header({ format: 'dtca-trace', version: 1, dtca_version: 'x', created: 'x', config: {}, model: {},
  layout: { L: 64, N, colour: new Uint8Array(N), visible: new Int32Array(0), image: new Int32Array(0), label: new Int32Array(0), label_copies: 1 },
  run: { chains: 1, stages: 1, sweeps: 100000, clock_hz: 1e9, mapping: 'x' } });
w.stageBegin({ stage: 0, cycle: 0, time_s: 0, energy_j: { total: 0 } });
const packed = new Uint8Array(N / 8);
try {
  for (let s = 0; s < 100000; s++) w.sweep({ chain: 0, stage: 0, sweep: s, cycle: s + 1, time_s: (s + 1) * 1e-9, spins: new Float64Array(0), packed, toggles: s, energy_j: { total: s } });
  await w.close();
  console.log('no error');
} catch (e) {
  w.fail();
  console.error(e.constructor.name + ': ' + e.message);
  process.exit(2);
}
`,
    );
    const r = spawnSync('bash', ['-c', `ulimit -f 256; exec "${process.execPath}" --import tsx "${script}"`], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(/^OutputError: .*full\.dtct: file size limit reached \(EFBIG\) while writing full\.dtct$/);
    const i = spawnSync(process.execPath, [CLI, 'trace', 'inspect', path, '--json'], { encoding: 'utf8' });
    expect(i.status, i.stderr).toBe(0);
    const st = JSON.parse(i.stdout) as { status: string; sweep_records: number };
    expect(['truncated', 'incomplete']).toContain(st.status);
    expect(st.sweep_records).toBeGreaterThan(100);
  });
});

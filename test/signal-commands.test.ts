// The report a finished `dtca sweep` writes (and `dtca sweep collect`), `dtca trace export` and
// `dtca bench --anchors` stopped by SIGINT or SIGTERM (cli/signals.ts): they stop before their next
// chart, record or child, leave no temporary file, partial directory or scratch directory behind,
// say in one line what was (not) written and the command that does it, and exit 130 or 143; a
// second signal ends the process at once (docs/guarantees.md). Each signal is sent at a fixed
// point: when a log line or a temporary file appears, or when a native anchor has started.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, dtca, ROOT } from './helpers/cli.js';
import { interrupt, said, walk, command } from './helpers/interrupt.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `dtca-${p}-`));

/** temporary files of dtca's writers (fabric/files.ts: NAME.tmp-PID-N) */
const temps = (dir: string) => walk(dir).filter((f) => /\.tmp-\d+-\d+$/.test(f));

/** a running process (a zombie is dead) */
function running(pid: string): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe("a finished sweep's report stopped by a signal", () => {
  // two tiny points: the charts (vega, loaded on first use) take longer than the points
  const sweep = (out: string) => [
    'sweep',
    '--grid',
    '16',
    '--clock',
    '1e7,2e7',
    '--images',
    '1',
    '--stages',
    '2',
    '--sweeps',
    '20',
    '--jobs',
    '1',
    '--out',
    out,
  ];
  const rendering = (e: string) => /"msg":"rendering \d+ charts"/.test(e);

  it('SIGINT while the charts render: the points kept, no temporary file, one line with `sweep collect`, exit 130; collect then builds the whole report', async () => {
    const dir = join(tmp('report-sig'), 'sw');
    const r = await interrupt(sweep(dir), ['SIGINT'], rendering);
    expect([r.code, r.signal], r.stderr).toEqual([130, null]);
    const lines = said(r.stderr);
    expect(lines).toHaveLength(1);
    const m =
      /^dtca: interrupted by SIGINT: 2 of 2 points finished, kept in (.*); the report not finished \((\d+) of (\d+) charts written\); build it with: (.*)$/.exec(
        lines[0],
      );
    expect(m, lines[0]).not.toBeNull();
    expect(m![1]).toBe(dir);
    expect(Number(m![2])).toBeLessThan(Number(m![3]));
    expect(m![4]).toBe(command(['sweep', 'collect', dir]));
    expect(existsSync(join(dir, 'index.html'))).toBe(false);
    expect(readdirSync(join(dir, 'plots')).filter((f) => f.endsWith('.svg'))).toHaveLength(Number(m![2]));
    expect(temps(dir)).toEqual([]);

    const c = dtca(['sweep', 'collect', dir]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(new RegExp(`2 of 2 points; .*index\\.html, results\\.csv, results\\.jsonl, ${m![3]} charts`));
    expect(existsSync(join(dir, 'index.html'))).toBe(true);
  }, 300_000);

  it('SIGTERM to `sweep collect`: one line with the same command, exit 143; a second signal ends the process at once', async () => {
    const dir = join(tmp('collect-sig'), 'sw');
    expect(dtca([...sweep(dir), '--no-charts']).code).toBe(0);
    const args = ['sweep', 'collect', dir];
    const r = await interrupt(args, ['SIGTERM'], rendering);
    expect([r.code, r.signal], r.stderr).toEqual([143, null]);
    const lines = said(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^dtca: interrupted by SIGTERM: the report of ${dir} not finished \\(\\d+ of \\d+ charts written\\); build it again with: ${command(args)}$`),
    );
    expect(temps(dir)).toEqual([]);

    // the first signal is handled; the second, while the first chart still renders, takes the default action
    const twice = await interrupt(args, ['SIGINT', 'SIGINT'], rendering);
    expect([twice.code, twice.signal], twice.stderr).toEqual([null, 'SIGINT']);
  }, 300_000);
});

describe('dtca trace export stopped by a signal', () => {
  let trace: string;
  beforeAll(() => {
    // 8 images x 8 stages x 250 sweeps of every cell of the 70x70 chip: 16000 records, about 15 MB
    // (its --csv/--npy export takes seconds after its first temporary file appears)
    const run = join(tmp('export-sig'), 'run');
    const r = dtca(['run', '--images', '8', '--trace', '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    trace = join(run, 'trace.dtct');
  }, 300_000);

  it('SIGINT during --csv/--npy: the temporary files and the --npy directory it created removed, one line, exit 130', async () => {
    const root = tmp('export-sig-npy');
    const csv = join(root, 'out.csv');
    const npy = join(root, 'npy');
    const args = ['trace', 'export', trace, '--csv', csv, '--npy', npy];
    // states.npy's temporary file appears at the header record; the records follow
    const r = await interrupt(args, ['SIGINT'], () => existsSync(npy) && readdirSync(npy).some((f) => f.includes('.tmp-')));
    expect([r.code, r.signal], r.stderr).toEqual([130, null]);
    const lines = said(r.stderr);
    expect(lines).toEqual([`dtca: interrupted by SIGINT: the export of ${trace} stopped, nothing written; export again with: ${command(args)}`]);
    expect(readdirSync(root)).toEqual([]);

    const again = dtca(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^wrote .*out\.csv \(16000 sweep records\)\n/);
  }, 300_000);

  it('SIGTERM during --vcd: its temporary file removed, one line, exit 143', async () => {
    const root = tmp('export-sig-vcd');
    const vcd = join(root, 'out.vcd');
    const args = ['trace', 'export', trace, '--vcd', vcd, '--cells', '0-511'];
    // the VCD's temporary file appears after the first pass over the trace, before the second
    const r = await interrupt(args, ['SIGTERM'], () => readdirSync(root).some((f) => f.startsWith('out.vcd.tmp-')));
    expect([r.code, r.signal], r.stderr).toEqual([143, null]);
    expect(said(r.stderr)).toEqual([`dtca: interrupted by SIGTERM: the export of ${trace} stopped, nothing written; export again with: ${command(args)}`]);
    expect(readdirSync(root)).toEqual([]);
  }, 300_000);
});

describe('a signal while dtca starts, before its command has started', () => {
  // the signal is sent by a preload the moment dtca first listens for it (test/helpers/signal-on-hold.mjs):
  // in the program's first lines (cli/early-signals.ts), long before the command takes the signals over
  const preload = pathToFileURL(join(ROOT, 'test/helpers/signal-on-hold.mjs')).href;
  let trace: string;
  beforeAll(() => {
    const run = join(tmp('early-sig'), 'run');
    const r = dtca(['run', '--set', 'fabric.L=8', '--set', 'fabric.rules=[[0,1]]', '--images', '1', '--sweeps', '2', '--trace', '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    trace = join(run, 'trace.dtct');
  });

  it.each([
    ['SIGINT', 'export', 130],
    ['SIGTERM', 'export', 143],
    ['SIGINT', 'inspect', 130],
  ] as const)('%s to trace %s: the command does not start; one line, exit %i, nothing written (was exit 130 and no word)', (sig, sub, code) => {
    const root = tmp('early-sig-out');
    const args = sub === 'export' ? ['trace', 'export', trace, '--csv', join(root, 'out.csv'), '--npy', join(root, 'npy')] : ['trace', 'inspect', trace];
    const r = spawnSync(process.execPath, ['--import', preload, CLI, ...args], { encoding: 'utf8', env: { ...process.env, DTCA_TEST_SIGNAL: sig } });
    expect([r.status, r.signal], r.stderr).toEqual([code, null]);
    expect(said(r.stderr)).toEqual([`dtca: interrupted by ${sig} before the command started: nothing written; run it again with: ${command(args)}`]);
    expect(r.stdout).toBe('');
    expect(readdirSync(root)).toEqual([]);
  });
});

describe.runIf(spawnSync('gcc', ['--version']).status === 0)('dtca bench --anchors stopped by a signal', () => {
  it.each([
    ['SIGINT to dtca', false],
    ['Ctrl-C at a terminal (SIGINT to the process group: the anchor dies of it too)', true],
  ])(
    '%s while an anchor runs: the anchor gone, the scratch directory removed, one line, exit 130',
    async (_, group) => {
      const d = tmp('anchors-sig');
      const scratch = tmp('anchors-sig-tmpdir'); // the bench's temporary directory (TMPDIR): its dtca-anchors-* goes here
      const pids = join(d, 'pids');
      // every run notes its pid; native_ref (the first anchor run) never ends
      const src = (hang: boolean) =>
        [
          '#include <stdio.h>',
          '#include <unistd.h>',
          'int main(void) {',
          `  FILE *f = fopen("${pids}", "a"); fprintf(f, "%d\\n", (int)getpid()); fclose(f);`,
          hang ? '  for (;;) pause();' : '',
          '  printf("1.0 cell-updates/ns\\n"); return 0;',
          '}',
          '',
        ].join('\n');
      writeFileSync(join(d, 'native_batch.c'), src(false));
      writeFileSync(join(d, 'native_ref.c'), src(true));
      const args = ['bench', '--quick', '--anchors', d];
      const started = () => existsSync(pids) && readFileSync(pids, 'utf8').trim() !== '';
      const r = await interrupt(args, ['SIGINT'], started, { env: { TMPDIR: scratch }, group });
      expect([r.code, r.signal], r.stderr).toEqual([130, null]);
      expect(said(r.stderr)).toEqual([
        `dtca: interrupted by SIGINT: the native anchors not measured, their scratch directory removed; run again with: ${command(args)}`,
      ]);
      expect(readdirSync(scratch)).toEqual([]);
      const ran = readFileSync(pids, 'utf8').split('\n').filter(Boolean);
      expect(ran).toHaveLength(1);
      // SIGKILLed before dtca's exit; the kernel marks it dead a moment after
      const until = Date.now() + 2000;
      while (ran.some(running) && Date.now() < until) spawnSync('sleep', ['0.02']);
      expect(ran.filter(running)).toEqual([]);
    },
    120_000,
  );
});

// `dtca bench --quick --json` runs and returns rows of the documented shape. Speed itself is a
// benchmark's business, never a test's: no timing is asserted here.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { dtca } from '../helpers/cli.js';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatBench,
  formatRatios,
  ratioPairs,
  twoCoreCeiling,
  quartiles,
  parseRowSpec,
  rowsFor,
  runAnchors,
  type Anchor,
  type RatioResult,
} from '../../cli/commands/bench.js';
import { UserError } from '../../fabric/errors.js';

describe('dtca bench', () => {
  it('--quick --json prints rows of the right shape', () => {
    const r = dtca(['bench', '--quick', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(Array.isArray(rows)).toBe(true);
    const physics = new Set<string>();
    for (const row of rows) {
      expect(['ideal', 'cycle', 'exact']).toContain(row.physics);
      physics.add(row.physics as string);
      // --quick keeps the L = 70 rows and one chain at L = 256 on one and two workers
      if (row.L !== 70) expect([row.L, row.chains, row.physics]).toEqual([256, 1, 'ideal']);
      expect(row.rules).toBe('G12');
      expect(typeof row.trace).toBe('boolean');
      for (const k of ['L', 'chains', 'workers', 'cells', 'cell_updates', 'updates_per_ns', 'us_per_sweep', 'wall_s', 'setup_s', 'rss_peak_bytes']) {
        expect(typeof row[k], k).toBe('number');
        expect(Number.isFinite(row[k] as number), k).toBe(true);
      }
      expect(row.skipped).toBeUndefined();
      expect(row.cell_updates as number).toBeGreaterThan(0);
      expect(row.updates_per_ns as number).toBeGreaterThan(0);
      expect(row.rss_peak_bytes as number).toBeGreaterThan(0);
      // which engine ran, and why auto passed over the others
      expect(['reference', 'wasm', 'batch']).toContain(row.engine_used);
      expect(Array.isArray(row.engine_refused)).toBe(true);
      const m = row.machine as Record<string, unknown>;
      expect(typeof m.cpu).toBe('string');
      expect(m.cores as number).toBeGreaterThan(0);
      expect(m.node).toBe(process.version);
    }
    expect([...physics].sort()).toEqual(['cycle', 'ideal']);
    // one chain split over two workers (tiles) beside the same chain on one
    const big = rows.filter((r) => r.L === 256);
    expect(big.map((r) => [r.workers, r.engine_tiles])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect([...new Set(rows.map((r) => r.chains))].sort((a, b) => (a as number) - (b as number))).toEqual([1, 64]);
    // traced rows: same physics and chains as an untraced row, so the slowdown is a ratio in one run
    const traced = rows.filter((r) => r.trace === true);
    expect(traced.length).toBeGreaterThan(0);
    for (const t of traced) expect(rows.some((r) => r.trace === false && r.physics === t.physics && r.L === t.L && r.chains === t.chains)).toBe(true);
  }, 300_000);

  it('--ratios --quick --json: each goal ratio from rows of the table, alternated round by round', () => {
    const r = dtca(['bench', '--ratios', '--quick', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout) as { machine: { cores: number }; ratios: RatioResult[] };
    expect(o.machine.cores).toBeGreaterThan(0);
    expect(o.ratios.map((x) => x.name)).toEqual(ratioPairs(true).map((p) => p.name));
    // every pair is two rows of the quick table, one worker at L = 70, differing in physics or trace alone
    const table = rowsFor(true).map((x) => JSON.stringify({ ...x, warmupS: 0, minTimeS: 0 }));
    for (const x of o.ratios) {
      for (const spec of [x.a, x.b]) expect(table).toContain(JSON.stringify({ ...spec, warmupS: 0, minTimeS: 0 }));
      expect(x.rounds).toBe(9);
      expect(x.slice_s).toBe(0.1);
      expect([x.a_us.length, x.b_us.length, x.ratios.length]).toEqual([9, 9, 9]);
      for (let i = 0; i < 9; i++) {
        expect(x.a_us[i]).toBeGreaterThan(0);
        expect(x.ratios[i]).toBeCloseTo(x.b_us[i] / x.a_us[i], 12);
      }
      expect(x.median).toBe([...x.ratios].sort((p, q) => p - q)[4]);
    }
  }, 300_000);

  it('--ratios: the table reads times slower or a percentage; --anchors beside it is refused', () => {
    const spec = ratioPairs(true)[0].a;
    const res = (name: string, reads: 'times' | 'percent', ratios: number[]): RatioResult => ({
      name,
      reads,
      rounds: ratios.length,
      slice_s: 0.3,
      a: spec,
      b: spec,
      a_us: ratios.map(() => 100),
      b_us: ratios.map((x) => 100 * x),
      ratios,
      median: [...ratios].sort((p, q) => p - q)[ratios.length >> 1],
    });
    const text = formatRatios([res('cycle against ideal', 'times', [3.1, 2.9, 3.3]), res('tracing', 'percent', [1.2, 1.05, 0.97])]);
    // the median, and the middle half of the rounds (the quartiles, interpolated)
    expect(text).toMatch(/cycle against ideal\s+3\.10x slower\s+\(3\.00 to 3\.20\)/);
    expect(text).toMatch(/tracing\s+\+5\.0 %\s+\(\+1 % to \+13 %\)/);
    expect(text).toContain('3 rounds of a slice of each row, slices of at least 0.3 s');
    expect(quartiles([4, 1, 3, 2, 5])).toEqual([2, 4]);
    const r = dtca(['bench', '--ratios', '--anchors', '/nonexistent']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('dtca: --ratios measures pairs of rows against each other, not against the native anchors: drop --anchors or --ratios');
  });

  it("µs/sweep is one sweep of all the row's chains, and the header says so (it read as one chain's); the numbers and JSON keys as they were", () => {
    const row = (chains: number, us: number) => ({
      physics: 'ideal' as const,
      L: 70,
      rules: 'G12',
      chains,
      workers: 1,
      trace: false,
      engine: 'auto' as const,
      sweeps: 4,
      warmupS: 0,
      minTimeS: 0,
      cells: 4900,
      cell_updates: 4900 * chains * 4,
      wall_s: 1,
      updates_per_ns: 0.5,
      us_per_sweep: us,
      setup_s: 0.1,
      rss_peak_bytes: 2 ** 27,
      engine_used: 'batch' as const,
      engine_refused: [],
      engine_tiles: 1,
      machine: { cpu: 'x', cores: 2, node: process.version, arch: 'x64' },
      run_startup_s: null,
    });
    const text = formatBench([row(1, 44.2), row(64, 539.8)]);
    const lines = text.split('\n');
    const head = lines.findIndex((l) => l.startsWith('physics'));
    expect(lines[head]).toMatch(/updates\/ns {2}µs\/sweep of all chains {2}set-up s/);
    expect(lines[head + 2]).toMatch(/ 64 .* 0\.5000 +539\.8 /);
    expect(text).toContain("µs/sweep of all chains: wall time for one sweep of every chain of the row (one chain's share: divide by chains)");
    // one-chain rows alone: no note needed
    expect(formatBench([row(1, 44.2)])).not.toContain("one chain's share");
  });

  it("the anchors' two copies at once give the two-core ceiling line; without them there is none", () => {
    const a = (n: number): Anchor => ({ name: `a${n}`, command: 'x', updates_per_ns: n });
    const five = [a(0.16), a(0.45), a(0.32), a(0.1), a(0.165)];
    expect(twoCoreCeiling(five)).toBeCloseTo(1.65, 12);
    expect(formatBench([], five)).toMatch(/two cores give two native copies 1\.65x one/);
    expect(twoCoreCeiling(five.slice(0, 3))).toBeNull();
    expect(formatBench([], five.slice(0, 3))).not.toMatch(/two cores/);
  });
});

describe('dtca bench: hostile input', () => {
  it('--row: every row the bench makes reads back; a spec of the wrong shape is one line naming the field', () => {
    for (const r of rowsFor(false)) expect(parseRowSpec(JSON.stringify(r))).toEqual(r);
    const good = rowsFor(true)[0];
    const bad: [string, RegExp][] = [
      ['null', /^--row: expected a JSON object/],
      ['[]', /^--row: expected a JSON object/],
      ['"x"', /^--row: expected a JSON object/],
      ['{', /^--row: expected a JSON row spec$/],
      [JSON.stringify({ ...good, chains: 0 }), /^--row: chains = 0: expected an integer in 1\.\.4096$/],
      [JSON.stringify({ ...good, L: 1e9 }), /^--row: L = 1000000000: expected an integer/],
      [JSON.stringify({ ...good, physics: 'fast' }), /^--row: physics = "fast": expected ideal, exact or cycle$/],
      [JSON.stringify({ ...good, rules: 'G12"' }), /^--row: rules = "G12\\"": expected a rule preset name/],
      [JSON.stringify({ ...good, minTimeS: -1 }), /^--row: minTimeS = -1: expected seconds/],
      [JSON.stringify({ ...good, workers: undefined }), /^--row: workers = missing: expected an integer/],
      [JSON.stringify({ ...good, extra: 1 }), /^--row: "extra": unknown field/],
    ];
    for (const [text, re] of bad) {
      let err: unknown;
      try {
        parseRowSpec(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(UserError);
      expect((err as Error).message, text).toMatch(re);
    }
  });

  it.runIf(spawnSync('gcc', ['--version']).status === 0)('--anchors: an anchor that fails is one line naming it', async () => {
    const d = mkdtempSync(join(tmpdir(), 'dtca-anchors-bad-'));
    for (const f of ['native_batch.c', 'native_ref.c']) writeFileSync(join(d, f), 'int main(void) { return 3; }\n');
    await expect(runAnchors(d)).rejects.toThrow(UserError);
    await expect(runAnchors(d)).rejects.toThrow(/^--anchors .*: native_ref 70 4000 failed \(Command failed/);
  });

  it('--anchors: a source that is a FIFO or too large is one line naming it, before gcc sees it', async () => {
    const d = mkdtempSync(join(tmpdir(), 'dtca-anchors-fifo-'));
    writeFileSync(join(d, 'native_batch.c'), 'int main(void) { return 0; }\n');
    expect(spawnSync('mkfifo', [join(d, 'native_ref.c')]).status).toBe(0);
    // no writer: gcc would block on the open forever
    await expect(runAnchors(d)).rejects.toThrow(/native_ref\.c: is a FIFO \(a pipe\); a C source must be a regular file$/);
    const big = mkdtempSync(join(tmpdir(), 'dtca-anchors-big-'));
    writeFileSync(join(big, 'native_ref.c'), 'int main(void) { return 0; }\n');
    writeFileSync(join(big, 'native_batch.c'), '');
    truncateSync(join(big, 'native_batch.c'), 64 * 2 ** 20);
    await expect(runAnchors(big)).rejects.toThrow(/native_batch\.c: 64\.0 MiB, more than a C source may be \(4\.0 MiB\)/);
  }, 20_000);

  it.runIf(spawnSync('gcc', ['--version']).status === 0)(
    '--anchors: an anchor that never finishes is killed at the timeout, one line naming it',
    async () => {
      const d = mkdtempSync(join(tmpdir(), 'dtca-anchors-hang-'));
      const pids = join(d, 'pids');
      // every run notes its pid; `hang` says which runs never end (`calls`: the L = 256 runs so far)
      const src = (hang: string) =>
        [
          '#include <stdio.h>',
          '#include <string.h>',
          '#include <unistd.h>',
          'int main(int argc, char **argv) {',
          `  FILE *f = fopen("${pids}", "a"); fprintf(f, "%d\\n", (int)getpid()); fclose(f);`,
          '  long calls = 0;',
          `  if (argc > 1 && strcmp(argv[1], "256") == 0) { FILE *c = fopen("${d}/calls", "a"); fputc('x', c); calls = ftell(c); fclose(c); }`,
          `  if (${hang}) for (;;) pause();`,
          '  printf("1.0 cell-updates/ns\\n"); return 0;',
          '}',
          '',
        ].join('\n');
      writeFileSync(join(d, 'native_batch.c'), src('0'));
      writeFileSync(join(d, 'native_ref.c'), src('1'));
      await expect(runAnchors(d, { timeoutMs: 1500 })).rejects.toThrow(/^--anchors .*: native_ref 70 4000 did not finish within 1\.5 s \(killed\)$/);
      // the two copies at once: the shell is stopped at the timeout and both copies with it
      writeFileSync(join(d, 'calls'), '');
      writeFileSync(pids, '');
      // the three one-chain L = 256 runs end, the two copies at once (runs 4 and 5) never do
      writeFileSync(join(d, 'native_ref.c'), src('calls > 3'));
      await expect(runAnchors(d, { timeoutMs: 1500 })).rejects.toThrow(
        /^--anchors .*: two copies of native_ref 256 1500 did not finish within 1\.5 s \(killed\)$/,
      );
      const running = (pid: string) => {
        try {
          return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); // a zombie is dead
        } catch {
          return false;
        }
      };
      const ran = readFileSync(pids, 'utf8').split('\n').filter(Boolean);
      expect(ran.length).toBe(14); // 3 + 3 + 3 + 3 runs, then the two copies
      // a SIGKILLed copy closes its files (the bench's read ends) a moment before the kernel marks it
      // dead: give its exit up to 2 s to complete (a copy left running stays running)
      const until = Date.now() + 2000;
      while (ran.some(running) && Date.now() < until) spawnSync('sleep', ['0.02']);
      expect(ran.filter(running)).toEqual([]);
    },
    60_000,
  );
});

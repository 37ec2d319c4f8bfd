// Waveforms: the VCD writer (wire, vector and real variables), and `dtca trace export --vcd` on
// traced runs, checked by a strict parser against the trace, and by GTKWave's own tools: vcd2fst
// must convert the file and fst2vcd's rendering of the result must hold the same values.
import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { chooseTimescale, idCode, VcdWriter, writeVcdSignals } from '../traces/vcd.js';
import { readTrace, unpackStates, type HeaderRecord, type SweepRecord } from '../traces/reader.js';
import { parseVcd, readVcd, type ParsedVcd } from './helpers/vcd.js';
import { dtca, ROOT } from './helpers/cli.js';
import { encodeRecord, makePackr, makeUnpackr } from '../traces/pack.js';

const haveGtkwave = spawnSync('vcd2fst', ['--help'], { encoding: 'utf8' }).error === undefined;

/** vcd2fst converts the file; fst2vcd renders it back; returns that rendering parsed (or null without GTKWave). */
function throughGtkwave(vcd: string): ParsedVcd | null {
  if (!haveGtkwave) {
    if (process.env.CI) throw new Error("vcd2fst is missing: install Debian's gtkwave package");
    console.warn('skipping the GTKWave half: vcd2fst is not installed (apt-get install gtkwave)');
    return null;
  }
  const fst = vcd.replace(/\.vcd$/, '.fst');
  const c = spawnSync('vcd2fst', [vcd, fst], { encoding: 'utf8' });
  expect(c.status, c.stderr).toBe(0);
  expect(c.stderr).not.toMatch(/error|warning/i);
  expect(existsSync(fst)).toBe(true);
  const back = spawnSync('fst2vcd', [fst], { encoding: 'utf8', maxBuffer: 1 << 30 });
  expect(back.status, back.stderr).toBe(0);
  return parseVcd(back.stdout);
}

async function loadTrace(path: string) {
  let header: HeaderRecord | null = null;
  const sweeps: { rec: SweepRecord; states: Uint8Array }[] = [];
  const stageEnds: number[] = [];
  for await (const r of readTrace(path)) {
    if (r.type === 'header') header = r;
    if (r.type === 'sweep') sweeps.push({ rec: r, states: unpackStates(r) });
    if (r.type === 'stage_end') stageEnds.push(r.cycle);
  }
  return { header: header!, sweeps, stageEnds };
}

describe('VCD writer', () => {
  it('writes wires, vectors and reals; the last change at a tick wins; GTKWave reads the same values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-vcd-w-'));
    const path = join(dir, 'w.vcd');
    const w = new VcdWriter(path, { timescale: { magnitude: 1, unit: 'ns' }, date: 'fixed' });
    const clk = w.declare({ scope: ['top'], name: 'clk', type: 'wire', initial: 0 });
    const cnt = w.declare({ scope: ['top'], name: 'count', type: 'reg', width: 4 });
    const v = w.declare({ scope: ['top', 'analog'], name: 'v_bias', type: 'real' });
    w.change(0, cnt, 3); // replaces the initial x in $dumpvars
    w.change(5, clk, 1);
    w.change(5, v, 0.1487);
    w.change(7, cnt, 'z');
    w.change(7, cnt, 9); // same tick: this one wins
    w.change(9, clk, 1); // unchanged: not written
    w.change(12, v, -2.5e-3);
    w.change(12, cnt, 'x');
    expect(() => w.change(11, clk, 0)).toThrow(/before/);
    expect(() => w.change(13, cnt, 16)).toThrow(/does not fit/);
    w.close(20);
    expect(readdirSync(dir)).toEqual(['w.vcd']);
    const checks = (p: ParsedVcd) => {
      expect(p.at('top.count', 0)).toBe(3);
      expect(p.at('top.clk', 4)).toBe(0);
      expect(p.at('top.clk', 5)).toBe(1);
      expect(p.at('top.count', 7)).toBe(9);
      expect(p.at('top.count', 12)).toBe('x');
      expect(p.at('top.analog.v_bias', 5)).toBe(0.1487);
      expect(p.at('top.analog.v_bias', 13)).toBe(-2.5e-3);
    };
    const p = readVcd(path);
    checks(p);
    expect(p.changes.get(clk.id)!.map((c) => c[0])).toEqual([0, 5]);
    const g = throughGtkwave(path);
    if (g) checks(g);
  });

  it('writeVcdSignals merges named sampled signals (analog reals next to a clock) and picks the timescale', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-vcd-s-'));
    const path = join(dir, 's.vcd');
    // 10 MHz clock, 4 analog substeps per cycle: samples every 25 ns
    const tClk = Array.from({ length: 8 }, (_, k) => k * 50e-9);
    const tA = Array.from({ length: 16 }, (_, k) => k * 25e-9);
    const vb = tA.map((t) => 0.15 * (1 - Math.exp(-t / 8e-9)));
    const rng = tA.map((_, k) => (k % 3 === 0 ? 1 : 0.25 * k));
    const r = writeVcdSignals(
      path,
      [
        { scope: ['dtca'], name: 'clk', type: 'wire', time_s: tClk, values: tClk.map((_, k) => (k + 1) % 2) },
        { scope: ['dtca', 'cell_x3_y4'], name: 'v_bias', type: 'real', time_s: tA, values: vb },
        { scope: ['dtca', 'cell_x3_y4'], name: 'rng_state', type: 'real', time_s: tA, values: rng },
      ],
      { date: 'fixed', end_s: 400e-9 },
    );
    expect(r.timescale).toEqual({ magnitude: 1, unit: 'ns' });
    for (const p of [readVcd(path), throughGtkwave(path)]) {
      if (!p) continue;
      expect(p.timescale.replace(/\s/g, '')).toBe('1ns');
      for (let k = 0; k < tA.length; k++) {
        expect(p.at('dtca.cell_x3_y4.v_bias', 25 * k) as number).toBeCloseTo(vb[k], 14);
        expect(p.at('dtca.cell_x3_y4.rng_state', 25 * k)).toBe(rng[k]);
      }
      expect(p.at('dtca.clk', 75)).toBe(0);
      expect(p.at('dtca.clk', 100)).toBe(1);
    }
    expect(chooseTimescale(5e-8)).toEqual({ timescale: { magnitude: 10, unit: 'ns' }, ticks: 5, exact: true });
    expect(chooseTimescale(1 / 3e7).exact).toBe(false);
    expect(new Set(Array.from({ length: 20000 }, (_, k) => idCode(k))).size).toBe(20000);
  });
});

describe('dtca trace export --vcd', () => {
  it('the waveforms match the trace: clock, phases, counters, every traced cell at its latch edges', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-vcd-run-'));
    // 2 cycles per colour phase, so latch edges and phase changes fall inside a sweep
    const run = dtca(['run', '--set', 'fabric.L=16', '--set', 'clock.phase_cycles=2', '--images', '2', '--sweeps', '4', '--trace', '--out', dir]);
    expect(run.code, run.stderr).toBe(0);
    const out = join(dir, 'w.vcd');
    const e = dtca(['trace', 'export', join(dir, 'trace.dtct'), '--vcd', out]);
    expect(e.code, e.stderr).toBe(0);
    // deterministic: the same trace exports to the same bytes
    expect(dtca(['trace', 'export', join(dir, 'trace.dtct'), '--vcd', join(dir, 'again.vcd')]).code).toBe(0);
    expect(readFileSync(join(dir, 'again.vcd')).equals(readFileSync(out))).toBe(true);
    expect(e.stdout).toMatch(/wrote .*w\.vcd .*256 cells, 64 sweep records/);
    const { header, sweeps, stageEnds } = await loadTrace(join(dir, 'trace.dtct'));
    const L = header.layout.L;
    const P = 10; // 10 MHz: 100 ns per cycle at a 10 ns timescale
    const pc = 2;
    for (const p of [readVcd(out), throughGtkwave(out)]) {
      if (!p) continue;
      expect(p.timescale.replace(/\s/g, '')).toBe('10ns');
      // the clock: high for the first half of every cycle, up to the last cycle
      const clk = p.changes.get(p.byName.get('dtca.clk')!.id)!;
      clk.forEach(([t, v], k) => {
        expect(t).toBe(5 * k);
        expect(v).toBe(k % 2 === 0 ? 1 : 0);
      });
      expect(clk[clk.length - 1][0]).toBe(stageEnds[stageEnds.length - 1] * P - 5);
      let prev: Uint8Array | null = null;
      for (const { rec, states } of sweeps) {
        const start = (rec.cycle - 2 * pc) * P;
        const mid = start + pc * P;
        const end = rec.cycle * P;
        expect(p.at('dtca.phase', start)).toBe(0);
        expect(p.at('dtca.phase', mid - 1)).toBe(0);
        expect(p.at('dtca.phase', mid)).toBe(1);
        expect(p.at('dtca.sweep', start)).toBe(rec.sweep);
        expect(p.at('dtca.sweep', end - 1)).toBe(rec.sweep);
        expect(p.at('dtca.chain', mid)).toBe(rec.chain);
        expect(p.at('dtca.stage', mid)).toBe(rec.stage);
        header.traced_cells.forEach((cell, k) => {
          const name = `dtca.cells.x${cell % L}_y${Math.floor(cell / L)}`;
          // colour 0 latches at the end of its phase, colour 1 at the end of the sweep
          const edge = header.layout.colour[cell] === 0 ? mid : end;
          expect(p.at(name, edge), `${name} sweep ${rec.sweep}`).toBe(states[k]);
          // just before its latch: the previous sweep's value, or unknown after initialisation
          expect(p.at(name, edge - 1), `${name} before sweep ${rec.sweep}`).toBe(rec.sweep === 0 ? 'x' : prev![k]);
        });
        prev = states;
      }
      // between chains (readout, clamping, initialisation) no colour phase is driven
      const last0 = sweeps.find((s) => s.rec.chain === 0 && s.rec.sweep === 3)!.rec.cycle;
      expect(p.at('dtca.phase', last0 * P)).toBe('z');
      expect(p.at('dtca.sweep', last0 * P)).toBe('z');
    }
  });

  it('a thinned trace: counters run through every sweep, spins are x between recorded sweeps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-vcd-thin-'));
    const run = dtca([
      'run',
      '--set',
      'fabric.L=16',
      '--images',
      '1',
      '--sweeps',
      '9',
      '--trace',
      '--trace-every',
      '4',
      '--trace-stages',
      '0',
      '--trace-cells',
      '2,2,5,3',
      '--out',
      dir,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const out = join(dir, 'thin.vcd');
    const e = dtca(['trace', 'export', join(dir, 'trace.dtct'), '--vcd', out, '--cells', '34-36']);
    expect(e.code, e.stderr).toBe(0);
    const { sweeps } = await loadTrace(join(dir, 'trace.dtct'));
    expect(sweeps.map((s) => s.rec.sweep)).toEqual([3, 7, 8]);
    const p = readVcd(out);
    expect([...p.byName.keys()].filter((n) => n.startsWith('dtca.cells.'))).toEqual(['dtca.cells.x2_y2', 'dtca.cells.x3_y2', 'dtca.cells.x4_y2']);
    const P = 10;
    const end3 = sweeps[0].rec.cycle;
    const start0 = end3 - 4 * 2;
    for (let s = 0; s < 9; s++) {
      expect(p.at('dtca.sweep', (start0 + 2 * s) * P)).toBe(s);
      expect(p.at('dtca.phase', (start0 + 2 * s + 1) * P)).toBe(1);
    }
    // x2_y2 is colour 0: known from its latch in sweep 3 until its latch in sweep 4, then x until sweep 7
    expect(p.at('dtca.cells.x2_y2', (end3 + 1) * P - 1)).not.toBe('x');
    expect(p.at('dtca.cells.x2_y2', (end3 + 1) * P)).toBe('x');
    expect(p.at('dtca.cells.x2_y2', (start0 + 2 * 6) * P)).toBe('x');
    // x3_y2 is colour 1: known until the end of sweep 4
    expect(p.at('dtca.cells.x3_y2', (end3 + 2) * P - 1)).not.toBe('x');
    expect(p.at('dtca.cells.x3_y2', (end3 + 2) * P)).toBe('x');
    // the traced stage from its stage_begin record on; before it (other stages, not traced) no stage value
    expect(p.at('dtca.stage', (start0 - 1) * P)).toBe(0);
    expect(p.at('dtca.stage', 0)).toBe('z');
    throughGtkwave(out);
  });

  it('a clock whose half period is not a whole number of femtoseconds is refused (its VCD was stretched); 5e14 Hz is exact', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-vcd-fs-'));
    const small = ['--set', 'fabric.L=6', '--set', 'fabric.rules=[[0,1]]', '--images', '1', '--sweeps', '2', '--trace'];
    for (const [hz, halfFs] of [
      ['1e15', '0.5'],
      ['3e14', '1.667'],
    ]) {
      const out = join(dir, `r${hz}`);
      expect(dtca(['run', ...small, '--set', `clock.clock_hz=${hz}`, '--out', out]).code).toBe(0);
      const r = dtca(['trace', 'export', join(out, 'trace.dtct'), '--vcd', join(dir, `${hz}.vcd`)]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`has a half period of ${halfFs} fs, which a VCD (whole ticks of at least 1 fs) cannot time`);
      expect(existsSync(join(dir, `${hz}.vcd`))).toBe(false);
    }
    // 5e14 Hz: half a period is 1 fs exactly, a period 2 ticks
    const out = join(dir, 'r5e14');
    expect(dtca(['run', ...small, '--set', 'clock.clock_hz=5e14', '--out', out]).code).toBe(0);
    const r = dtca(['trace', 'export', join(out, 'trace.dtct'), '--vcd', join(dir, 'ok.vcd'), '--cells', '0']);
    expect(r.code, r.stderr).toBe(0);
    const v = readVcd(join(dir, 'ok.vcd'));
    expect(v.changes.get(v.byName.get('dtca.clk')!.id)!.slice(0, 4)).toEqual([
      [0, 1],
      [1, 0],
      [2, 1],
      [3, 0],
    ]);
  });

  it("times the VCD by the header's run.clock_hz; a header whose config names another clock is damage in both readers (was timed by the config's, silently)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-vcd-hz-'));
    const small = ['--set', 'fabric.L=6', '--set', 'fabric.rules=[[0,1]]', '--images', '1', '--sweeps', '2', '--trace'];
    const out = join(dir, 'run');
    expect(dtca(['run', ...small, '--set', 'clock.clock_hz=2.5e7', '--out', out]).code).toBe(0);
    const trace = join(out, 'trace.dtct');
    const ok = dtca(['trace', 'export', trace, '--vcd', join(dir, 'ok.vcd'), '--cells', '0']);
    expect(ok.code, ok.stderr).toBe(0);
    const v = readVcd(join(dir, 'ok.vcd'));
    const clk = v.changes.get(v.byName.get('dtca.clk')!.id)!;
    const [, n, unit] = /^(\d+)\s*([a-z]+)$/.exec(v.timescale.trim())!;
    const tick = Number(n) * { s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9, ps: 1e-12, fs: 1e-15 }[unit as 's']!;
    expect((clk[2][0] - clk[0][0]) * tick).toBeCloseTo(1 / 2.5e7, 15); // one period of 25 MHz (40 ns)
    // the header as dtca writes it holds one clock twice (run.clock_hz, config.clock.clock_hz): the
    // same header with run.clock_hz changed alone
    const recs: Record<string, unknown>[] = [];
    makeUnpackr().unpackMultiple(readFileSync(trace), (r: unknown) => {
      recs.push(r as Record<string, unknown>);
    });
    const h = recs[0] as { run: Record<string, unknown>; config: { clock: Record<string, unknown> } };
    expect([h.run.clock_hz, h.config.clock.clock_hz]).toEqual([2.5e7, 2.5e7]);
    h.run.clock_hz = 1e7;
    const edited = join(dir, 'edited.dtct');
    const p = makePackr();
    writeFileSync(edited, Buffer.concat(recs.map(({ crc32: _c, ...r }) => encodeRecord(p, r))));
    const msg = "header: run.clock_hz 10000000 is not the config's clock.clock_hz 25000000";
    const r = dtca(['trace', 'export', edited, '--vcd', join(dir, 'edited.vcd')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(msg);
    expect(existsSync(join(dir, 'edited.vcd'))).toBe(false);
    const py = spawnSync('/usr/bin/python3', [join(ROOT, 'test/helpers/py_trace_status.py'), edited], { encoding: 'utf8' });
    expect(JSON.parse(py.stdout)).toMatchObject({ status: 'damaged', detail: expect.stringContaining(msg) });
  });

  it('refuses a request estimated over the limit, naming the size and how to thin it; bad cells are errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-vcd-big-'));
    const run = dtca(['run', '--set', 'fabric.L=16', '--images', '1', '--sweeps', '5', '--trace', '--out', dir]);
    expect(run.code).toBe(0);
    const t = join(dir, 'trace.dtct');
    const big = dtca(['trace', 'export', t, '--vcd', join(dir, 'big.vcd'), '--max-mb', '0.01']);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(
      /about [0-9.]+ kB \(256 cells x 40 sweep records, [0-9,]+ clock cycles\), over the limit of 0\.01 MiB \(--max-mb\); thin it: .*--cells.*--stages.*--chains/,
    );
    expect(readdirSync(dir).filter((f) => f.includes('big'))).toEqual([]);
    const ok = dtca(['trace', 'export', t, '--vcd', join(dir, 'small.vcd'), '--max-mb', '0.01', '--cells', '0-3', '--stages', '0', '--no-clock']);
    expect(ok.code, ok.stderr).toBe(0);
    const p = readVcd(join(dir, 'small.vcd'));
    expect(p.byName.has('dtca.clk')).toBe(false);
    expect(dtca(['trace', 'export', t, '--vcd', join(dir, 'x.vcd'), '--cells', '999']).stderr).toMatch(/cell 999 is outside the grid/);
    const mixed = dtca(['trace', 'export', t, '--vcd', join(dir, 'x.vcd'), '--cells', '0-3,visible']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/^dtca: --cells '0-3,visible': "visible" stands alone \(every visible cell\); name other cells by index, as 0-63,200\n$/);
    expect(dtca(['trace', 'export', t, '--csv', join(dir, 'x.csv'), '--cells', '1']).code).toBe(2);
    expect(dtca(['trace', 'export', t, '--vcd', join(dir, 'x.vcd'), '--chains', '5']).stderr).toMatch(/no sweep record for chains 5/);
    writeFileSync(join(dir, 'not-a-trace'), 'hello');
    expect(dtca(['trace', 'export', join(dir, 'not-a-trace'), '--vcd', join(dir, 'x.vcd')]).code).toBe(2);
    expect(readdirSync(dir).filter((f) => f.startsWith('x.'))).toEqual([]);
    // a trace cut short: --vcd exports its whole records and says so, as --csv and --npy do (it was silent); once beside --csv
    const cut = join(dir, 'cut.dtct');
    const bytes = readFileSync(t);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const c = dtca(['trace', 'export', cut, '--vcd', join(dir, 'cut.vcd')]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/trace was cut short; exported the whole records before the cut/);
    const both = dtca(['trace', 'export', cut, '--vcd', join(dir, 'cut2.vcd'), '--csv', join(dir, 'cut2.csv')]);
    expect(both.code, both.stderr).toBe(0);
    expect(both.stderr.match(/cut short/g)).toHaveLength(1);
  });
});

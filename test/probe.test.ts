// dtca probe: analog waveforms from a short cycle-accurate run, read back by a strict VCD parser and
// converted by GTKWave's vcd2fst; the latched spins are the run's own, the node relaxes as the
// bias network says between latches.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dtca } from './helpers/cli.js';
import { readVcd } from './helpers/vcd.js';
import { buildChip } from '../sim/chip.js';
import { runModel } from '../sim/run.js';
import { randomModel } from '../sim/model.js';
import { testConfig } from './helpers/chip.js';
import { buildFabric } from '../fabric/fabric.js';

const HAVE_VCD2FST = spawnSync('sh', ['-c', 'command -v vcd2fst']).status === 0;

describe('dtca probe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtca-probe-'));
  // a slow bias network (tau_bias = 1e-14 F / 120 nS = 83 ns) so the node visibly relaxes
  const sets = ['fabric.L=12', 'cell.node_capacitance_f=1e-14'];
  const setArgs = sets.flatMap((s) => ['--set', s]);
  const cells = [0, 1, 13];
  const sweeps = 6;
  // a cell's signals, named as trace export names the cell: cell y*12 + x is dtca.cells.xX_yY
  const sig = (c: number, n: string) => `dtca.cells.x${c % 12}_y${Math.floor(c / 12)}.${n}`;

  it('writes a VCD with clock, phase, sweep and per cell spin, v_node and rng_p1', () => {
    const out = join(dir, 'p.vcd');
    const r = dtca(['probe', ...setArgs, '--cells', cells.join(','), '--sweeps', String(sweeps), '--vcd', out]);
    expect(r.code).toBe(0);
    const v = readVcd(out);
    for (const n of ['dtca.clk', 'dtca.phase', 'dtca.sweep']) expect(v.byName.has(n), n).toBe(true);
    for (const c of cells) for (const n of ['spin', 'v_node', 'rng_p1']) expect(v.byName.has(sig(c, n)), `${c} ${n}`).toBe(true);
    expect([...v.byName.keys()].filter((n) => n.startsWith('dtca.cells.')).sort()).toEqual(
      [0, 1, 13].flatMap((c) => ['spin', 'v_node', 'rng_p1'].map((n) => sig(c, n))).sort(),
    );
    if (HAVE_VCD2FST) expect(spawnSync('vcd2fst', [out, join(dir, 'p.fst')]).status).toBe(0);
  });

  it("the latched spins are the run's, and RNG P(1) stays in [0, 1]", async () => {
    const out = join(dir, 'q.vcd');
    expect(dtca(['probe', ...setArgs, '--cells', cells.join(','), '--sweeps', String(sweeps), '--vcd', out]).code).toBe(0);
    const v = readVcd(out);
    // the same chain (0), stage and seed through the ordinary runner
    const chip = buildChip(testConfig(sets, false));
    const model = randomModel(chip.fabric, chip.config.seed, 0.25, 0.1);
    const seen: number[][] = [];
    await runModel(chip, model, { chains: 1, sweeps, warmup: 0, engine: 'reference', onSweep: (s) => (seen[s.sweep] = cells.map((c) => s.s[c])) });
    // timescale ticks per cycle: a latch of colour c in sweep s is at cycle (2s + 1 + c) (phase = 1 cycle)
    const tick = (cycles: number) => Math.round((cycles * 1e-7) / (v.timescale === '100 ps' ? 1e-10 : NaN));
    const colour = (i: number) => ((i % 12) + Math.floor(i / 12)) & 1;
    for (let s = 0; s < sweeps; s++) {
      cells.forEach((c, k) => {
        const at = tick(2 * s + 1 + colour(c));
        expect(v.at(sig(c, 'spin'), at), `cell ${c} sweep ${s}`).toBe(seen[s][k] > 0 ? 1 : 0);
      });
    }
    for (const c of cells) {
      const id = v.byName.get(sig(c, 'rng_p1'))!.id;
      for (const [, x] of v.changes.get(id)!) expect(typeof x === 'number' && x >= 0 && x <= 1).toBe(true);
    }
    // in the own phase before each latch the node relaxes geometrically towards its new target:
    // successive steps shrink by a_bias = exp(-dt / tau_bias) (dt = 25 ns, tau_bias = 83.3 ns)
    const aB = Math.exp(-25e-9 / (1e-14 / 1.2e-7));
    const step = tick(1) / 4;
    let checked = 0;
    for (let s = 1; s < sweeps; s++) {
      for (const c of cells) {
        const tl = tick(2 * s + 1 + colour(c));
        const V = [4, 3, 2, 1, 0].map((q) => v.at(sig(c, 'v_node'), tl - q * step) as number);
        const d = [V[1] - V[0], V[2] - V[1], V[3] - V[2], V[4] - V[3]];
        if (Math.abs(d[0]) < 1e-6) continue; // the target did not move
        // the node is single precision (cells/physics.ts): each V_q is within eps (|V_q| + 6 |V_0 - T|)
        // of T + (V_0 - T) aB^q (eps = 2^-24, |V_0 - T| = |d_0| / (1 - aB)), so d_q - aB d_(q-1) within four times that
        const tol = 4 * 2 ** -24 * (Math.max(...V.map(Math.abs)) + (6 * Math.abs(d[0])) / (1 - aB));
        for (let q = 1; q < 4; q++) expect(Math.abs(d[q] - aB * d[q - 1])).toBeLessThanOrEqual(tol);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('names a cell as trace export --vcd does: cell 41 of a 12x12 grid is dtca.cells.x5_y3 in both files', () => {
    // the fabric's layout: index y*L + x, so one step in +x is the next index (and one in +y is L on)
    const f = buildFabric({ L: 12, rules: [[0, 1]], boundary: 'open', tileSize: 12, linkLatencyCycles: 0 });
    const dir0 = (dx: number, dy: number) => f.dirs.findIndex(([a, b]) => a === dx && b === dy);
    expect(f.nbr[41 * f.D + dir0(1, 0)]).toBe(42);
    expect(f.nbr[41 * f.D + dir0(0, 1)]).toBe(53);
    expect(f.colour[41]).toBe((5 + 3) % 2);
    // trace export: a run tracing the one cell at column 5, row 3 (--trace-cells takes x0,y0,x1,y1)
    const run = join(dir, 'run41');
    const traced = ['run', '--set', 'fabric.L=12', '--images', '1', '--sweeps', '3', '--trace', '--trace-stages', '0', '--trace-cells', '5,3,5,3'];
    const r = dtca([...traced, '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    const exported = join(dir, 'export41.vcd');
    const e = dtca(['trace', 'export', join(run, 'trace.dtct'), '--vcd', exported]);
    expect(e.code, e.stderr).toBe(0);
    const ex = readVcd(exported);
    expect([...ex.byName.keys()].filter((n) => n.startsWith('dtca.cells'))).toEqual(['dtca.cells.x5_y3']);
    // probe: cell 41 by its index
    const probed = join(dir, 'probe41.vcd');
    const p = dtca(['probe', ...setArgs, '--cells', '41', '--sweeps', '2', '--vcd', probed]);
    expect(p.code, p.stderr).toBe(0);
    const pv = readVcd(probed);
    expect([...pv.byName.keys()].filter((n) => n.startsWith('dtca.cells'))).toEqual([
      'dtca.cells.x5_y3.spin',
      'dtca.cells.x5_y3.v_node',
      'dtca.cells.x5_y3.rng_p1',
    ]);
    if (HAVE_VCD2FST) {
      for (const v of [exported, probed]) {
        const c = spawnSync('vcd2fst', [v, v.replace(/\.vcd$/, '.fst')], { encoding: 'utf8' });
        expect(c.status, c.stderr).toBe(0);
        expect(c.stderr).not.toMatch(/error|warning/i);
      }
    }
  });

  it('refuses the ideal chip and a request too large, saying how to thin it', () => {
    const a = dtca(['probe', '--ideal', '--vcd', join(dir, 'x.vcd')]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/ideal chip has no analog state/);
    const b = dtca(['probe', '--cells', '0-4000', '--sweeps', '100000', '--vcd', join(dir, 'y.vcd')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/fewer --cells or --sweeps/);
    expect(existsSync(join(dir, 'y.vcd'))).toBe(false);
  });

  it("--model on another grid: the chip takes the model's grid when no config or --set names one (as dtca run), labelled so; a named grid is held to it", () => {
    const model = join(dir, 'm16.json');
    expect(dtca(['model', 'new', '-L', '16', '--rules', 'G8', '--stages', '2', '--visible', '10', '--out', model]).code).toBe(0);
    const out = join(dir, 'm16.vcd');
    const r = dtca(['probe', '--model', model, '--cells', '0,255', '--sweeps', '2', '--vcd', out], { env: { DTCA_LOG: 'info' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/"msg":"the chip takes the model's grid \(16x16 G8\): no config or --set names one"/);
    const v = readVcd(out);
    expect(v.byName.has('dtca.cells.x15_y15.spin')).toBe(true);
    expect(readFileSync(out, 'utf8')).toMatch(/dtca probe: dtca-paper\+model grid 16x16 G8, model .*m16\.json stage 0/);
    // a config named, or a --set of the grid: the mismatch is refused with the --set that fits
    for (const args of [['--set', 'fabric.L=24'], ['dtca-paper']]) {
      const x = dtca(['probe', ...args, '--model', model, '--sweeps', '2', '--vcd', join(dir, 'never.vcd')]);
      expect(x.code, args.join(' ')).toBe(2);
      expect(x.stderr.trim()).toMatch(
        /^dtca: .*m16\.json: grid\.L = 16 but the config's fabric\.L = (24|70), and grid\.rules = G8 but the config's fabric\.rules = G12 \(use --set fabric\.L=16 --set fabric\.rules=G8 or a config with that grid\)$/,
      );
    }
    expect(existsSync(join(dir, 'never.vcd'))).toBe(false);
  });

  it('refuses samples finer than a VCD can time (1 fs): at 1e15 Hz they merged onto one time stamp', () => {
    const small = ['--set', 'fabric.L=6', '--set', 'fabric.rules=[[0,1]]', '--sweeps', '1'];
    const a = dtca(['probe', ...small, '--set', 'clock.clock_hz=1e15', '--vcd', join(dir, 'fs.vcd')]);
    expect(a.code).toBe(2);
    // a 1 PHz clock is far outside the plausible clocks (a warning: sim/plausible.ts), then the refusal
    const lines = a.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]).msg).toMatch(/^clock\.clock_hz = 1e15 Hz is far outside 1e4\.\.1e11 Hz/);
    expect(lines[1]).toMatch(/^dtca: probe: clock\.clock_hz = 1000000000000000 with clock\.analog_substeps = 4 .*finer than a VCD's finest timescale \(1 fs\)/);
    expect(existsSync(join(dir, 'fs.vcd'))).toBe(false);
    // at the limit (clock_hz x substeps = 5e14: samples 1 fs apart) every sample keeps its own time stamp
    const out = join(dir, 'limit.vcd');
    const b = dtca(['probe', ...small, '--set', 'clock.clock_hz=1.25e14', '--cells', '0', '--vcd', out]);
    expect(b.code).toBe(0);
    const v = readVcd(out);
    expect(v.timescale).toMatch(/^1 ?fs$/);
    // one sweep, two phases of one cycle: edges at 0, 4, 8, 12 fs (a period of 8 fs)
    expect(v.changes.get(v.byName.get('dtca.clk')!.id)).toEqual([
      [0, 1],
      [4, 0],
      [8, 1],
      [12, 0],
    ]);
  });
});

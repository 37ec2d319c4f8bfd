// The command line's plausibility warning (sim/plausible.ts; the range function: test/plausible.test.ts):
// a config value far outside its plausible range is one warning line on stderr, in the log as the
// command's other warnings, from config validate and from a run alike; the command goes on.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca } from './helpers/cli.js';

/** stderr's log lines (DTCA_LOG=warn, piped: JSON) */
const logLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { level: number; msg: string });

const PITCH = 'power.cell_pitch_m = 1 m is far outside 1e-7..1e-4 m; did you mean 1 µm (1e-6)?';

describe('config values far outside their plausible range', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dtca-plausible-'));
  });

  it('config validate: valid, with one warning line naming the value, its unit and the unit likely meant', () => {
    const r = dtca(['config', 'validate', 'dtca-paper', '--set', 'power.cell_pitch_m=1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^dtca-paper: valid /);
    expect(logLines(r.stderr)).toEqual([{ level: 40, time: expect.any(Number), msg: PITCH }]);
    // a plausible config: nothing on stderr
    const ok = dtca(['config', 'validate', 'dtca-paper', '--set', 'power.cell_pitch_m=4um']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
  });

  it('dtca run: the run goes on with the value given', () => {
    const args = ['run', '--workload', 'bm', '--set', 'fabric.L=12', '--sweeps', '5', '--json'];
    const r = dtca([...args, '--set', 'power.vdd_v=800', '--out', join(dir, 'r800')]);
    expect(r.code, r.stderr).toBe(0);
    expect(logLines(r.stderr).map((l) => [l.level, l.msg])).toEqual([[40, 'power.vdd_v = 800 V is far outside 0.05..5 V; did you mean 800 mV (0.8)?']]);
    // the value is used as given: 800 V, not 0.8 V (the energies of C Vdd^2 scale by 1e6)
    const meant = dtca([...args, '--set', 'power.vdd_v=0.8', '--out', join(dir, 'r08')]);
    expect(meant.code, meant.stderr).toBe(0);
    expect(meant.stderr).toBe('');
    const [a, b] = [JSON.parse(r.stdout), JSON.parse(meant.stdout)];
    expect(a.events.latches).toBe(b.events.latches);
    expect(a.energy_j.total / b.energy_j.total).toBeGreaterThan(1e5);
  });

  it("one line per value however often a command resolves the config (dtca run --model: the config, then the model's grid)", () => {
    const m = join(dir, 'm12.json');
    expect(dtca(['model', 'new', '--stages', '1', '--L', '12', '--visible', '10', '--out', m]).code).toBe(0);
    const r = dtca(['run', '--model', m, '--images', '1', '--sweeps', '2', '--set', 'power.cell_pitch_m=1', '--out', join(dir, 'rm')]);
    expect(r.code, r.stderr).toBe(0);
    expect(logLines(r.stderr).map((l) => l.msg)).toEqual([PITCH]);
  });
});

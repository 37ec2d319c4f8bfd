// dtca run --model and dtca eval MODEL take a model's grid from the model file, but the weight
// precision it was trained for lives in its manifest: a model trained at 4-bit weights ran on the
// default 8-bit chip without a word. Now a warning names both and the --set that runs its chip (at
// info level when the command line set cell.weight_bits itself: a precision study). The shipped
// model the default workload chooses is checked the same way (it was not).
import { describe, it, expect } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca, ROOT } from './helpers/cli.js';
import { newDtmModel } from '../sim/dtm.js';
import { modelFileBytes } from '../sim/model.js';

describe('a model run on a chip of another weight precision than it was trained for', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtca-precision-'));
  const file = join(dir, 'm.mp');
  writeFileSync(file, modelFileBytes(newDtmModel({ T: 1, L: 20, rules: 'G8', boundary: 'open', visible: 'fmnist', weights: { random: 0.2 }, seed: 1 }), false));
  writeFileSync(
    `${file}.manifest.json`,
    JSON.stringify({
      status: 'complete',
      weight_bits: 4,
      grid: {
        L: 20,
        rules: [
          [0, 1],
          [4, 1],
        ],
        boundary: 'open',
      },
    }),
  );
  const run = (...extra: string[]) =>
    dtca(['run', '--model', file, '--images', '1', '--sweeps', '2', '--out', join(dir, `r${extra.length}`), '--quiet', ...extra]);

  it('dtca run warns naming both precisions and the --set that runs its chip', () => {
    const r = run();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /m\.mp was trained for 4-bit weights \(its manifest\) but this chip has 8-bit weights: .*--set cell\.weight_bits=4 runs that chip/,
    );
  });

  it('at the precision it was trained for, or with cell.weight_bits set on the command line, no warning', () => {
    const same = run('--set', 'cell.weight_bits=4');
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).not.toMatch(/trained for/);
    const chosen = run('--set', 'cell.weight_bits=6', '--seed', '2');
    expect(chosen.code, chosen.stderr).toBe(0);
    expect(chosen.stderr).not.toMatch(/trained for/);
  });

  it('the shipped model the default workload chooses is checked as a --model file is (it was not: no line at all)', () => {
    const ship = mkdtempSync(join(tmpdir(), 'dtca-precision-ship-'));
    copyFileSync(file, join(ship, 'm.mp'));
    const manifest = JSON.parse(readFileSync(`${file}.manifest.json`, 'utf8'));
    writeFileSync(join(ship, 'm.manifest.json'), JSON.stringify({ ...manifest, weight_bits: 6 }));
    const grid = ['--set', 'fabric.L=20', '--set', 'fabric.rules=G8', '--images', '1', '--sweeps', '2'];
    // the default 8-bit chip: a warning, as for --model
    const r = dtca(['run', ...grid, '--out', join(dir, 'ship8'), '--quiet'], { env: { DTCA_MODELS: ship } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /"level":40,.*ship[^"]*\/m\.mp was trained for 6-bit weights \(its manifest\) but this chip has 8-bit weights: .*--set cell\.weight_bits=6 runs that chip/,
    );
    // fewer bits set on the command line: the same line at info level, as for --model
    const four = dtca(['run', ...grid, '--set', 'cell.weight_bits=4', '--out', join(dir, 'ship4')], { env: { DTCA_MODELS: ship, DTCA_LOG: 'info' } });
    expect(four.code, four.stderr).toBe(0);
    expect(four.stderr).toMatch(/"msg":"shipped model m\.mp fits this fabric: generating with it"/);
    expect(four.stderr).toMatch(
      /"level":30,.*m\.mp was trained for 6-bit weights \(its manifest\) but this chip has 4-bit weights: .*--set cell\.weight_bits=6 runs that chip/,
    );
  });

  it("dtca eval MODEL warns too, and its title names the chip it scored on: the model's grid, the weights, the clock", () => {
    const r = dtca(['eval', file, '--images', '10', '--sweeps', '2', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/was trained for 4-bit weights \(its manifest\) but this chip has 8-bit weights/);
    // was "..., dtca-paper cycle-accurate chip, T = 1, ...": the config's name, a 70x70 chip
    expect(r.stdout.split('\n')[0]).toMatch(/dtca-paper cycle-accurate chip \(20x20 G8, 8-bit weights, 10 MHz\), T = 1,/);
  }, 120_000);
});

describe('a model fitted to the cycle chip at one clock, run at another', () => {
  it('dtca run --model fmnist-t8-80mhz.mp at the default 10 MHz warns naming both clocks and the --set (it said nothing); not at 80 MHz', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-clock-'));
    const model = join(ROOT, 'configs', 'models', 'fmnist-t8-80mhz.mp');
    const r = dtca(['run', '--model', model, '--images', '1', '--sweeps', '1', '--out', join(dir, 'at10'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /fmnist-t8-80mhz\.mp was trained on the cycle-accurate chip at 80 MHz \(its manifest\) but this chip runs at 10 MHz: .*--set clock\.clock_hz=80000000 runs that chip/,
    );
    const at80 = dtca(['run', '--model', model, '--set', 'clock.clock_hz=8e7', '--images', '1', '--sweeps', '1', '--out', join(dir, 'at80'), '--quiet']);
    expect(at80.code, at80.stderr).toBe(0);
    expect(at80.stderr).not.toMatch(/trained on the cycle-accurate chip/);
  }, 120_000);
});

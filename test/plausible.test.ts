// Plausibility warnings of config values (sim/plausible.ts): a value far outside its documented
// plausible range (a unit mistake) is named with its unit and, where a rescale by a power of 1000
// lands it in range, the value likely meant; the presets are plausible, and every key with a unit
// has a range that holds them. (Unit tier: no process is spawned; the command line's warning:
// test/plausible-cli.test.ts.)
import { describe, it, expect } from 'vitest';
import { PLAUSIBLE_RANGES, plausibilityWarning, implausibleValues, withConfigWarnings, type Implausible } from '../sim/plausible.js';
import { configPaths, resolveConfig, checkConfig } from '../sim/config.js';
import { unitLabelOfKey } from '../sim/units.js';

describe('plausibilityWarning', () => {
  it('names the path, the value with its unit, the range and the value likely meant', () => {
    expect(plausibilityWarning('power.cell_pitch_m', 1)).toBe('power.cell_pitch_m = 1 m is far outside 1e-7..1e-4 m; did you mean 1 µm (1e-6)?');
    expect(plausibilityWarning('power.vdd_v', 800)).toBe('power.vdd_v = 800 V is far outside 0.05..5 V; did you mean 800 mV (0.8)?');
    // 10 MHz typed as 10: of 10 kHz, 10 MHz and 10 GHz (all in range) the one nearest the middle
    expect(plausibilityWarning('clock.clock_hz', 10)).toBe('clock.clock_hz = 10 Hz is far outside 1e4..1e11 Hz; did you mean 10 MHz (1e7)?');
    // a capacitance given in pF as F, too small a value, a compound unit, a per-cell unit, an area (the prefix on the metre)
    expect(plausibilityWarning('power.output_cap_f', 2e-3)).toMatch(
      /^power\.output_cap_f = 2e-3 F is far outside 1e-18\.\.1e-11 F; did you mean 2 fF \(2e-15\)\?$/,
    );
    expect(plausibilityWarning('rng.tau_rng_s', 1e-16)).toBe('rng.tau_rng_s = 1e-16 s is far outside 1e-12..1e-3 s; did you mean 100 ns (1e-7)?');
    expect(plausibilityWarning('power.wire_cap_f_per_m', 1e-13)).toBe(
      'power.wire_cap_f_per_m = 1e-13 F/m is far outside 1e-12..1e-8 F/m; did you mean 100 pF/m (1e-10)?',
    );
    expect(plausibilityWarning('power.leakage_w_per_cell', 250)).toBe(
      'power.leakage_w_per_cell = 250 W/cell is far outside 1e-15..1e-6 W/cell; did you mean 250 pW/cell (2.5e-10)?',
    );
    expect(plausibilityWarning('area.rng_m2', 9e-6)).toBe('area.rng_m2 = 9e-6 m² is far outside 1e-15..1e-8 m²; did you mean 9 µm² (9e-12)?');
  });

  it('names no intended value when no rescale by a power of 1000 lands in range, nor for a temperature', () => {
    expect(plausibilityWarning('power.vdd_v', 0.01)).toBe('power.vdd_v = 0.01 V is far outside 0.05..5 V');
    expect(plausibilityWarning('rng.temperature_k', 5000)).toBe('rng.temperature_k = 5000 K is far outside 1..1000 K');
  });

  it('is null inside the range (bounds included), for zero (a mechanism off), and for keys without a range', () => {
    for (const [path, [lo, hi]] of Object.entries(PLAUSIBLE_RANGES)) {
      expect(plausibilityWarning(path, lo), path).toBeNull();
      expect(plausibilityWarning(path, hi), path).toBeNull();
      expect(plausibilityWarning(path, Math.sqrt(lo * hi)), path).toBeNull();
      expect(plausibilityWarning(path, 0), path).toBeNull();
      expect(plausibilityWarning(path, lo / 1.01), path).not.toBeNull();
      expect(plausibilityWarning(path, hi * 1.01), path).not.toBeNull();
    }
    expect(plausibilityWarning('fabric.L', 1e6)).toBeNull();
    expect(plausibilityWarning('rng.duty', 1)).toBeNull();
  });
});

describe('the plausible ranges', () => {
  it('cover every config key with a unit, and no other', () => {
    const withUnit = configPaths().filter((p) => unitLabelOfKey(p.split('.').pop()!) !== null);
    expect(Object.keys(PLAUSIBLE_RANGES).sort()).toEqual(withUnit.sort());
    for (const [p, [lo, hi]] of Object.entries(PLAUSIBLE_RANGES)) expect(lo > 0 && lo < hi, p).toBe(true);
  });

  it('hold the presets (and their ideal chips), which therefore warn of nothing', () => {
    for (const preset of ['dtca-paper', 'z1-like']) {
      expect(implausibleValues(resolveConfig(preset)), preset).toEqual([]);
      expect(implausibleValues(resolveConfig(preset, { ideal: true })), `${preset} --ideal`).toEqual([]);
    }
  });

  it("checkConfig lists a resolved config's warnings and hands them to the caller's sink; a library call outside one is silent", () => {
    const sets = ['power.cell_pitch_m=1', 'power.vdd_v=800mV'];
    const c = checkConfig('dtca-paper', { sets: [...sets, 'clock.clock_hz=10'] });
    expect(c.problems).toEqual([]);
    expect(c.warnings.map((w) => w.path)).toEqual(['clock.clock_hz', 'power.cell_pitch_m']);
    // the config is the one given: the warning changes nothing
    expect(c.config!.power.cell_pitch_m).toBe(1);
    const seen: Implausible[] = [];
    const cfg = withConfigWarnings(
      (w) => seen.push(w),
      () => resolveConfig('dtca-paper', { sets }),
    );
    expect(seen).toEqual([{ path: 'power.cell_pitch_m', value: 1, message: plausibilityWarning('power.cell_pitch_m', 1) }]);
    expect(cfg).toEqual(resolveConfig('dtca-paper', { sets }));
    // a config with problems lists those, not warnings
    expect(checkConfig('dtca-paper', { sets: ['power.cell_pitch_m=1', 'fabric.L=-1'] }).warnings).toEqual([]);
  });
});

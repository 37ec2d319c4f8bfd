// A model's manifest as commands that derive a model from another read it (sim/manifest.ts): found
// beside the file under either name, refused with the file named when it is not a JSON object, its
// lineage carried on, the placement recovered from the lineage of a fine-tuned model.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifestBeside, lineageOf, placementOf, weightBitsMismatch, clockMismatch } from '../sim/manifest.js';
import { resolveConfig } from '../sim/config.js';
import { fileURLToPath } from 'node:url';
import { UserError } from '../fabric/errors.js';

describe('model manifests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtca-manifest-'));

  it('is found as MODEL.manifest.json (dtca train) or NAME.manifest.json (a shipped NAME.mp); none is null', () => {
    writeFileSync(join(dir, 'a.mp.manifest.json'), JSON.stringify({ seed: 1 }));
    writeFileSync(join(dir, 'b.manifest.json'), JSON.stringify({ seed: 2 }));
    expect(readManifestBeside(join(dir, 'a.mp'))).toEqual({ path: join(dir, 'a.mp.manifest.json'), manifest: { seed: 1 } });
    expect(readManifestBeside(join(dir, 'b.mp'))!.manifest).toEqual({ seed: 2 });
    expect(readManifestBeside(join(dir, 'c.mp'))).toBeNull();
  });

  it('a manifest that is not a JSON object is a UserError naming the file', () => {
    for (const [name, text] of [
      ['cut.mp', '{"seed": 1,'],
      ['list.mp', '[1, 2]'],
    ]) {
      writeFileSync(join(dir, `${name}.manifest.json`), text);
      expect(() => readManifestBeside(join(dir, name))).toThrow(UserError);
      expect(() => readManifestBeside(join(dir, name))).toThrow(new RegExp(`${name}\\.manifest\\.json`));
    }
  });

  it('the lineage: the source lineage, then the source without its own lineage', () => {
    const src = { model: 'l2.mp', seed: 2, lineage: [{ model: 'l0.mp' }, { model: 'l1.mp' }] };
    expect(lineageOf(src)).toEqual([{ model: 'l0.mp' }, { model: 'l1.mp' }, { model: 'l2.mp', seed: 2 }]);
    expect(lineageOf({ model: 'x.mp' })).toEqual([{ model: 'x.mp' }]);
  });

  it('the placement: its own, else the latest in the lineage, else a --placement in a command there', () => {
    expect(placementOf({ placement: 'spatial', lineage: [{ placement: 'random' }] })).toBe('spatial');
    expect(placementOf({ placement: null, lineage: [{ placement: 'random' }, { placement: 'spatial' }] })).toBe('spatial');
    expect(placementOf({ placement: null, lineage: [{ command: 'dtca train --out a.mp --placement spatial --epochs 60' }, { placement: null }] })).toBe(
      'spatial',
    );
    expect(placementOf({ command: 'dtca train --placement=random' })).toBe('random');
    expect(placementOf({ placement: null, lineage: [{ command: 'dtca train --init x.mp' }] })).toBeNull();
    expect(placementOf({ placement: 'diagonal', lineage: 'not a list' })).toBeNull();
  });

  it('a chip of another weight precision than the model was trained for is named (run and eval took the grid, not the precision)', () => {
    expect(weightBitsMismatch({ weight_bits: 4 }, 8, 'm.mp')).toBe(
      'm.mp was trained for 4-bit weights (its manifest) but this chip has 8-bit weights: its weights run requantised, not on the chip it was trained for; --set cell.weight_bits=4 runs that chip',
    );
    expect(weightBitsMismatch({ weight_bits: 8 }, 8, 'm.mp')).toBeNull();
    // exact weights (--ideal) are chosen knowingly; a manifest without the key, or none, says nothing
    expect(weightBitsMismatch({ weight_bits: 4 }, 'exact', 'm.mp')).toBeNull();
    expect(weightBitsMismatch({ seed: 1 }, 8, 'm.mp')).toBeNull();
    expect(weightBitsMismatch(null, 8, 'm.mp')).toBeNull();
  });

  it('the clock a model was fitted to on the cycle chip, against the chip it runs on (dtca eval fmnist-t8-80mhz.mp scored it at 10 MHz without a word)', () => {
    const at = (hz: number, ideal = false) => resolveConfig(undefined, { sets: [`clock.clock_hz=${hz}`], ideal });
    const trained = { chip: 'cycle', clock_hz: 8e7 };
    expect(clockMismatch(trained, at(1e7), 'm.mp')).toBe(
      'm.mp was trained on the cycle-accurate chip at 80 MHz (its manifest) but this chip runs at 10 MHz: not the chip it was fitted to; --set clock.clock_hz=80000000 runs that chip',
    );
    expect(clockMismatch(trained, at(8e7), 'm.mp')).toBeNull();
    // the ideal chip samples alike at any clock; a model trained on the ideal chip fits no clock
    expect(clockMismatch(trained, at(1e7, true), 'm.mp')).toBeNull();
    expect(clockMismatch({ chip: 'ideal', clock_hz: 1e7 }, at(8e7), 'm.mp')).toBeNull();
    expect(clockMismatch(null, at(1e7), 'm.mp')).toBeNull();
    // guidance chosen on the cycle chip (dtca model tune --chip cycle)
    expect(clockMismatch({ chip: 'ideal', guidance_chip: 'cycle', guidance_clock_hz: 2e7 }, at(1e7), 't.mp')).toMatch(
      /^t\.mp had its guidance chosen on the cycle-accurate chip at 20 MHz \(its manifest\) but this chip runs at 10 MHz: .*--set clock\.clock_hz=20000000 runs that chip$/,
    );
    // and the shipped 80 MHz model's manifest says so
    const shipped = readManifestBeside(fileURLToPath(new URL('../configs/models/fmnist-t8-80mhz.mp', import.meta.url)))!.manifest;
    expect(clockMismatch(shipped, at(1e7), 'fmnist-t8-80mhz.mp')).toMatch(/trained on the cycle-accurate chip at 80 MHz/);
  });
});

// A model's manifest as commands that derive a model from another read it (sim/manifest.ts): found
// beside the file under either name, refused with the file named when it is not a JSON object, its
// lineage carried on, the placement recovered from the lineage of a fine-tuned model.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifestBeside, lineageOf, placementOf, weightBitsMismatch } from '../sim/manifest.js';
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
});

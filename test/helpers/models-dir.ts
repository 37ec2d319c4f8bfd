/**
 * A directory of made-up shipped models for the tests of which shipped model fits a fabric
 * (test/anygrid.test.ts in process, test/anygrid-cli.test.ts through dtca run):
 *   a20  L = 20, G12 by name, no metrics
 *   b20  L = 20, G12 as its rules, FD 40 against factorised 100 (ranked first at L = 20)
 *   c22  L = 22, no grid in the manifest (read from the model file)
 *   d24  L = 24, no manifest: not shipped
 * Each is a one-stage Fashion-MNIST DTM with seeded random weights.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newDtmModel } from '../../sim/dtm.js';
import { modelToObject } from '../../sim/model.js';
import { makePackr } from '../../traces/pack.js';

export function fakeModelsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dtca-models-'));
  const write = (name: string, L: number, manifest: Record<string, unknown> | null) => {
    const m = newDtmModel({ T: 1, L, rules: 'G12', boundary: 'open', visible: 'fmnist', weights: { random: 0.1 }, seed: L });
    writeFileSync(join(dir, `${name}.mp`), makePackr().pack(modelToObject(m, false)));
    if (manifest) writeFileSync(join(dir, `${name}.manifest.json`), JSON.stringify(manifest));
  };
  const metrics = (fd: number, fact: number) => ({ ideal: { n: 1000, fd, baselines: { factorised: { fd: fact } } } });
  write('a20', 20, { grid: { L: 20, rules: 'G12', boundary: 'open' } });
  write('b20', 20, {
    grid: {
      L: 20,
      rules: [
        [0, 1],
        [4, 1],
        [9, 10],
      ],
      boundary: 'open',
    },
    metrics: metrics(40, 100),
  });
  write('c22', 22, { description: 'no grid in the manifest: read from the model file' });
  write('d24', 24, null); // no manifest: not shipped
  return dir;
}

/**
 * A shipped model's weights clipped to the chip's full scale, in place, its manifest's sha256
 * updated and the change noted: `dtca train` samples with the chip's quantised (clipped) weights,
 * but its float parameters can drift past the full scale, so `dtca run` warns about a model
 * "beyond the full scale" although the chip runs exactly what training ran. Clipping the weights
 * (not the biases: a bias is clipped only after its stage input is added) changes no sample for
 * label gains >= 1: clip(g w) = clip(g clip(w)) when |w| > full scale and g >= 1. Check it with
 * the same `dtca run` before and after (samples.npy byte-identical).
 *
 *   npx tsx scripts/fit-full-scale.ts configs/models/NAME.mp [--full-scale 4]
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readModel, modelFileBytes } from '../sim/model.js';

const { values, positionals } = parseArgs({ options: { 'full-scale': { type: 'string' } }, allowPositionals: true });
const file = positionals[0];
if (!file || !file.endsWith('.mp')) throw new Error('usage: fit-full-scale.ts MODEL.mp [--full-scale 4]');
const fs = Number(values['full-scale'] ?? 4);
const model = readModel(file);
const gain = model.dtm?.label_gain ?? 1;
if (gain < 1) throw new Error(`${file}: label gain ${gain} < 1: clipping the weights would change its samples`);
let clipped = 0;
for (const st of model.stages)
  for (let e = 0; e < st.ew.length; e++)
    if (Math.abs(st.ew[e]) > fs) {
      st.ew[e] = Math.sign(st.ew[e]) * fs;
      clipped++;
    }
writeFileSync(file, modelFileBytes(model, false));
const manifestPath = file.replace(/\.mp$/, '.manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
manifest.sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
const note = `${clipped} weights beyond the chip's full scale (${fs}) clipped to it on ${new Date().toISOString().slice(0, 10)} (scripts/fit-full-scale.ts): the chip clipped them anyway, samples unchanged`;
manifest.note = typeof manifest.note === 'string' ? `${manifest.note.replace(/\.?$/, '.')} ${note}` : note;
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
process.stdout.write(`${file}: ${clipped} weights clipped to +-${fs}; ${manifestPath} updated\n`);

/**
 * Puts a trained model into configs/models/ as a shipped model (docs/training.md, "Shipped
 * models"): copies MODEL and its MODEL.manifest.json (written by dtca train) under NAME, adds the
 * file's SHA-256, a description computed from the model, and its quality: `dtca eval MODEL --chip
 * ideal --images N --json` as `metrics.ideal` (what `dtca run` ranks shipped models by), and for a
 * model fitted to the cycle-accurate chip at a clock (trained there: manifest `chip: "cycle"`,
 * `clock_hz`; or its guidance chosen there: `guidance_clock_hz`) also there, as
 * `metrics.fitted_clock` (with its `clock_hz`).
 *
 *   npx tsx scripts/ship-model.ts MODEL NAME [N]      # e.g. runs/L48.mp fmnist-t8-L48 1000
 *
 * $SHIP_NOTE, when set, goes into the manifest as `note` (how the run went, e.g. interruptions).
 *
 * Uses the built CLI (dist/dtca.js: `npm run build` first).
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readModel } from '../sim/model.js';
import { scoreModel } from './shipped-score.js';
import { placementOf } from '../sim/manifest.js';
import { RULE_PRESETS } from '../fabric/rules.js';
import { describeImage, imageSourceOf } from '../sim/layout.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function main(argv: string[]): void {
  const [model, name, nText] = argv;
  if (!model || !name || !/^[a-z0-9][a-z0-9._-]*$/i.test(name)) {
    process.stderr.write('usage: npx tsx scripts/ship-model.ts MODEL NAME [N]   (NAME: letters, digits, . _ -)\n');
    process.exit(2);
  }
  const n = nText === undefined ? 1000 : Number(nText);
  if (!Number.isInteger(n) || n < 100) {
    process.stderr.write(`N ${nText}: an integer >= 100\n`);
    process.exit(2);
  }
  const m = readModel(model);
  if (!m.dtm) throw new Error(`${model}: not a DTM`);
  const manifest = JSON.parse(readFileSync(`${model}.manifest.json`, 'utf8')) as Record<string, unknown>;
  const src = imageSourceOf(m.dtm);
  const g = m.grid;
  const key = (r: unknown) => JSON.stringify(r);
  const rules = typeof g.rules === 'string' ? g.rules : (Object.entries(RULE_PRESETS).find(([, r]) => key(r) === key(g.rules))?.[0] ?? `rules ${key(g.rules)}`);
  const image = src ? `${describeImage(src)} image` : `${m.dtm.image.length} image cells`;
  const mhz = (hz: unknown) => `${(hz as number) / 1e6} MHz`;
  const chip = manifest.chip === 'cycle' ? `cycle-accurate chip${typeof manifest.clock_hz === 'number' ? ` at ${mhz(manifest.clock_hz)}` : ''}` : 'ideal chip';
  const description =
    `Denoising thermodynamic model for a ${g.L}x${g.L} ${rules} ${g.boundary} grid: ${image}, ${m.dtm.label_copies} label copies per class, ` +
    `${placementOf(manifest) ?? 'unrecorded'} placement, T = ${m.dtm.T} stages, trained on binarised Fashion-MNIST on the ${chip} with dtca train` +
    (manifest.tuned_from !== undefined && typeof manifest.guidance_clock_hz === 'number'
      ? `; label guidance chosen on the cycle-accurate chip at ${mhz(manifest.guidance_clock_hz)} with dtca model tune`
      : '');
  const ideal = scoreModel(model, name, 'ideal', n);
  const fittedHz =
    manifest.chip === 'cycle' && typeof manifest.clock_hz === 'number'
      ? manifest.clock_hz
      : manifest.guidance_chip === 'cycle' && typeof manifest.guidance_clock_hz === 'number'
        ? manifest.guidance_clock_hz
        : null;
  const atClock = fittedHz === null ? null : { clock_hz: fittedHz, ...scoreModel(model, name, 'cycle', n, [`clock.clock_hz=${fittedHz}`]) };
  const dir = join(ROOT, 'configs', 'models');
  const file = join(dir, `${name}.mp`);
  copyFileSync(model, file);
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  const options = { ...(manifest.options as Record<string, unknown>) };
  const note = process.env.SHIP_NOTE;
  const shipped = {
    ...manifest,
    model: `${name}.mp`,
    description,
    sha256,
    options,
    ...(note ? { note } : {}),
    metrics: { ideal, ...(atClock ? { fitted_clock: atClock } : {}) },
  };
  writeFileSync(join(dir, `${name}.manifest.json`), `${JSON.stringify(shipped, null, 2)}\n`);
  const f = (x: unknown) => (typeof x === 'number' ? x.toFixed(3) : String(x));
  const fact = (ideal.baselines as { factorised: { fd: number } }).factorised.fd;
  process.stdout.write(
    `${file}: FD ${f(ideal.fd)} (factorised ${f(fact)}, ratio ${f((ideal.fd as number) / fact)}), clamped accuracy ${f(ideal.clamped_accuracy)}, N = ${n}\n`,
  );
}

main(process.argv.slice(2));

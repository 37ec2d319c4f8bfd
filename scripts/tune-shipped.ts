/**
 * Gives a shipped model its guidance (docs/training.md, "Guidance"): runs `dtca model tune` on
 * configs/models/NAME.mp in place (the label gain and beta with the lowest FD on generated images,
 * chosen on another seed and the train split), then scores it again as scripts/ship-model.ts does
 * (`dtca eval --chip ideal`, and `--chip cycle` when the manifest had a cycle score) at N images.
 * The manifest keeps the scores from before as `metrics_without_guidance`, gains `guidance` (every
 * setting tried) and the new SHA-256.
 *
 *   npx tsx scripts/tune-shipped.ts NAME [N]      # e.g. fmnist-t8-L48 1000
 *
 * Uses the built CLI (dist/dtca.js: `npm run build` first).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { scoreModel } from './shipped-score.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'dtca.js');
const MODELS = join(ROOT, 'configs', 'models');

function dtcaJson(args: string[]): Record<string, unknown> {
  process.stderr.write(`dtca ${args.join(' ')}\n`);
  return JSON.parse(execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })) as Record<string, unknown>;
}

function main(argv: string[]): void {
  const [name, nText] = argv;
  if (!name || !/^[a-z0-9][a-z0-9._-]*$/i.test(name)) {
    process.stderr.write('usage: npx tsx scripts/tune-shipped.ts NAME [N]   (a model in configs/models, e.g. fmnist-t8)\n');
    process.exit(2);
  }
  const n = nText === undefined ? 1000 : Number(nText);
  if (!Number.isInteger(n) || n < 100) {
    process.stderr.write(`N ${nText}: an integer >= 100\n`);
    process.exit(2);
  }
  const file = join(MODELS, `${name}.mp`);
  const manifestPath = join(MODELS, `${name}.manifest.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  const before = manifest.metrics as Record<string, unknown>;
  if (manifest.guidance) {
    // tuning a tuned model would search from its tuned beta: restore the model and manifest first
    process.stderr.write(`${name}: already tuned (its manifest has guidance); git checkout the model and manifest to tune it again\n`);
    process.exit(2);
  }
  const tmp = join(MODELS, `.${name}.tuned.mp`);
  rmSync(tmp, { force: true });
  const t = dtcaJson(['model', 'tune', file, '--out', tmp, '--workers', '2', '--json', '--quiet']);
  renameSync(tmp, file);
  const metrics: Record<string, unknown> = { ideal: scoreModel(file, name, 'ideal', n) };
  if (before && 'cycle' in before) metrics.cycle = scoreModel(file, name, 'cycle', n);
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  const { model: _m, out: _o, ...guidance } = t;
  const updated = {
    ...manifest,
    sha256,
    guidance: { command: `dtca model tune configs/models/${name}.mp --out TUNED.mp --workers 2 (then moved over ${name}.mp)`, ...guidance },
    metrics,
    metrics_without_guidance: manifest.metrics_without_guidance ?? before,
  };
  writeFileSync(manifestPath, JSON.stringify(updated, null, 2) + '\n');
  process.stderr.write(`${name}: label gain ${String(t.gain)}, beta ${String(t.beta)}; manifest updated\n`);
}

main(process.argv.slice(2));

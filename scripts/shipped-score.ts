/**
 * A shipped model's quality record, as its manifest's `metrics.ideal` / `metrics.cycle` hold it:
 * `dtca eval MODEL --chip CHIP --images N --json` through the built CLI (dist/dtca.js), shared by
 * scripts/ship-model.ts and scripts/tune-shipped.ts.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const CLI = join(fileURLToPath(new URL('..', import.meta.url)), 'dist', 'dtca.js');

/** `path`: the model to score; `name`: its shipped name (for the recorded command); `sets`: config overrides (--set). */
export function scoreModel(path: string, name: string, chip: 'ideal' | 'cycle', n: number, sets: string[] = []): Record<string, unknown> {
  const setArgs = sets.flatMap((s) => ['--set', s]);
  process.stderr.write(`scoring ${path} (${['dtca eval --chip', chip, ...setArgs, '--images', String(n)].join(' ')})\n`);
  const out = execFileSync(process.execPath, [CLI, 'eval', path, '--chip', chip, ...setArgs, '--images', String(n), '--json', '--quiet', '--workers', '2'], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const r = JSON.parse(out) as Record<string, unknown>;
  return {
    command: ['dtca eval', `configs/models/${name}.mp`, '--chip', chip, ...setArgs, '--images', String(n), '--json'].join(' '),
    n: r.n,
    resolution: r.resolution,
    fd: r.fd,
    clamped_accuracy: r.clamped_accuracy,
    marginal_error: r.marginal_error,
    diversity: r.diversity,
    autocorrelation: r.autocorrelation,
    baselines: r.baselines,
    classifier_test_accuracy: (r.classifier as { test_accuracy?: number } | undefined)?.test_accuracy ?? null,
    label_gain: (r.source as { label_gain?: number } | undefined)?.label_gain ?? 1,
  };
}

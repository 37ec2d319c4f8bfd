/** `dtca data`: finds and checks the Fashion-MNIST files (sizes, magic numbers, checksums) and summarises them. */
import type { Argv } from 'yargs';
import { loadFmnist, dataDir, CLASSES, CLASS_NAMES, BINARY_THRESHOLD } from '../../sim/fmnist.js';

function cmdData(a: { data?: string; json?: boolean }): void {
  const dir = dataDir(a.data);
  const summary = (['train', 'test'] as const).map((split) => {
    const s = loadFmnist({ dir, split });
    const perClass = new Array(CLASSES).fill(0);
    for (const c of s.labels) perClass[c]++;
    let on = 0;
    for (const v of s.images) on += v;
    return { split, images: s.n, per_class: perClass, on_fraction: on / s.images.length };
  });
  if (a.json) {
    process.stdout.write(JSON.stringify({ dir, binary_threshold: BINARY_THRESHOLD, classes: CLASS_NAMES, splits: summary }, null, 2) + '\n');
    return;
  }
  const lines = [`Fashion-MNIST in ${dir}: sizes, magic numbers and SHA-256 checked`];
  for (const s of summary)
    lines.push(
      `${s.split.padEnd(5)}  ${s.images} images, ${s.per_class.join('/')} per class, ${(100 * s.on_fraction).toFixed(1)} % of pixels on after binarising (pixel/255 > ${BINARY_THRESHOLD})`,
    );
  lines.push(`classes: ${CLASS_NAMES.map((n, c) => `${c} ${n}`).join(', ')}`);
  process.stdout.write(lines.join('\n') + '\n');
}

export function dataCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    'data',
    'find and check the Fashion-MNIST files (--data DIR, $DTCA_DATA, or /usr/share/datasets/fashion-mnist)',
    (yy) =>
      yy
        .option('data', { type: 'string', describe: 'Fashion-MNIST directory' })
        .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' }),
    (a) => cmdData(a as { data?: string; json?: boolean }),
  );
}

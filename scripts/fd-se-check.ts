/**
 * Does `dtca eval`'s FD standard error (a bootstrap over one run's images) say how far another run's
 * FD lies? Scores K samples of one generator, each on its own, and prints the spread of their FDs
 * beside the mean of their bootstrap standard errors (docs/quality.md, "The FD's standard error").
 *
 *   npx tsx scripts/fd-se-check.ts factorised N K      K sets of N independent-pixel images (seeds 1..K)
 *   npx tsx scripts/fd-se-check.ts runs DIR...         run directories of one design, different seeds
 *
 * The spread over K is itself uncertain by about 1 / sqrt(2 (K - 1)) of its value.
 */
import { evaluate, loadReferenceData, type Samples } from '../sim/quality/eval.js';
import { readClassifier } from '../sim/quality/classifier.js';
import { CLASSIFIER_PATH } from '../sim/quality/train.js';
import { readRunSamples } from '../sim/quality/samples.js';
import { classMarginals, sampleFactorised } from '../sim/quality/metrics.js';
import { CLASSES, PIXELS } from '../sim/fmnist.js';

const [mode, ...rest] = process.argv.slice(2);
const data = loadReferenceData();
const { net } = readClassifier(CLASSIFIER_PATH);
const sets: Samples[] = [];
if (mode === 'factorised') {
  const n = Number(rest[0] ?? 300);
  const k = Number(rest[1] ?? 20);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % CLASSES);
  const marg = classMarginals(data.train.images, data.train.labels, data.train.n, CLASSES, PIXELS);
  for (let s = 1; s <= k; s++) sets.push({ images: sampleFactorised(marg, labels, n, 1000 + s, PIXELS), n, labels, autocorrelation: null });
} else if (mode === 'runs' && rest.length >= 2) {
  for (const dir of rest) sets.push(readRunSamples(dir));
} else {
  console.error('usage: npx tsx scripts/fd-se-check.ts factorised N K | runs DIR DIR...');
  process.exit(2);
}
const fds: number[] = [];
const ses: number[] = [];
for (const s of sets) {
  const r = evaluate(s, { data, classifier: net, classifierPath: CLASSIFIER_PATH, classifierTestAccuracy: null });
  fds.push(r.fd);
  ses.push(r.fd_se!);
  console.log(`N = ${r.n}: FD ${r.fd.toFixed(3)} ± ${r.fd_se!.toFixed(3)}`);
}
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const m = mean(fds);
const sd = Math.sqrt(fds.reduce((a, b) => a + (b - m) ** 2, 0) / (fds.length - 1));
const k = fds.length;
console.log(
  `${k} samples: FD mean ${m.toFixed(3)}, spread (SD) ${sd.toFixed(3)} (±${(100 / Math.sqrt(2 * (k - 1))) | 0} % for K = ${k}); ` +
    `bootstrap SE mean ${mean(ses).toFixed(3)} (range ${Math.min(...ses).toFixed(3)}..${Math.max(...ses).toFixed(3)}); SE / SD ${(mean(ses) / sd).toFixed(2)}`,
);

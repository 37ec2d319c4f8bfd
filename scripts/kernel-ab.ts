/**
 * One kernel against another, alternately in one process: the `dtca bench` workload (sim/bench.ts,
 * G12, L = 70, 64 chains, one worker) on the engine of checkout A and of checkout B (each its own
 * module graph: a worktree of another commit beside this one), in chunks of 50 ms (A, B, A) per
 * round; prints the median over rounds of B's rate over A's (CPU time per cell update).
 *
 *   git worktree add /tmp/old <commit> && ln -s "$PWD/node_modules" /tmp/old/node_modules
 *   npx tsx scripts/kernel-ab.ts /tmp/old . [cycle|ideal] [rounds]
 *
 * Two engines of the same checkout give 0.99-1.00 on this machine; the host's speed moving between
 * chunks is what the alternation cancels.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { timeSteps, type BenchRunner } from './bench-runner.js';

const [dirA, dirB, physicsArg, roundsArg] = process.argv.slice(2);
if (!dirA || !dirB) {
  console.error('usage: npx tsx scripts/kernel-ab.ts CHECKOUT_A CHECKOUT_B [cycle|ideal] [rounds]');
  process.exit(2);
}
const physics = (physicsArg ?? 'cycle') as 'cycle' | 'ideal';
const rounds = Number(roundsArg ?? 40);
type Make = (o: { physics: 'ideal' | 'cycle'; L: number; chains: number; choice: 'auto' }) => BenchRunner;
const load = async (dir: string): Promise<Make> => (await import(pathToFileURL(resolve(dir, 'scripts/bench-runner.ts')).href)).benchRunner as Make;
const a = (await load(dirA))({ physics, L: 70, chains: 64, choice: 'auto' });
const b = (await load(dirB))({ physics, L: 70, chains: 64, choice: 'auto' });
/** cell updates per CPU ns over `s` seconds of wall time */
const rate = (r: BenchRunner, s: number): number => {
  const t = timeSteps(r, s);
  return t.updates / t.cpu / 1e9;
};
// warm-up: V8 moves the kernels to its optimising compiler in the background
rate(a, 1.5);
rate(b, 1.5);
const q: number[] = [];
const ra: number[] = [];
const rb: number[] = [];
for (let k = 0; k < rounds; k++) {
  const x = rate(a, 0.05);
  const y = rate(b, 0.05);
  const z = rate(a, 0.05);
  ra.push((x + z) / 2);
  rb.push(y);
  q.push(y / ((x + z) / 2));
}
const median = (v: number[]) => [...v].sort((p, r) => p - r)[v.length >> 1];
console.log(
  `${physics}, L=70, 64 chains: B/A rate ${median(q).toFixed(3)} (A ${median(ra).toFixed(4)}, B ${median(rb).toFixed(4)} updates per CPU ns; ${rounds} rounds of 50 ms)`,
);

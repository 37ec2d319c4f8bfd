/**
 * Reading a dtca trace from TypeScript: stream the records, unpack the states of the visible cells
 * and print each stage's mean visible spin.
 *
 *   npx tsx traces/examples/reader_example.ts runs/<time>-<suffix>-dtca-paper/trace.dtct   (dtca run --trace writes it)
 */
import { readTrace, unpackStates, type HeaderRecord } from '../reader.js';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: reader_example.ts TRACE\n');
  process.exit(2);
}

const reader = readTrace(path);
let header: HeaderRecord | null = null;
let cols: number[] = [];
const sums = new Map<number, { spin: number; n: number }>();
try {
  for await (const rec of reader) {
    if (rec.type === 'header') {
      header = rec;
      // column of each traced cell in the states; keep the visible cells that are traced
      const col = new Map<number, number>();
      rec.traced_cells.forEach((cell, k) => col.set(cell, k));
      cols = [...rec.layout.visible].map((c) => col.get(c)).filter((k): k is number => k !== undefined);
      console.log(`${rec.format} v${rec.version}: L=${rec.layout.L}, ${rec.n_traced} traced cells, ${cols.length} visible`);
    } else if (rec.type === 'sweep') {
      const x = unpackStates(rec); // 0/1 per traced cell
      const s = sums.get(rec.stage) ?? { spin: 0, n: 0 };
      for (const k of cols) s.spin += 2 * x[k] - 1;
      s.n += cols.length;
      sums.set(rec.stage, s);
    } else if (rec.type === 'end') {
      if (rec.status === 'interrupted') console.log(`end: interrupted (${rec.reason}) at cycle ${rec.cycle}`);
      else console.log(`end: ${rec.cycle} cycles, ${rec.time_s.toExponential(3)} s, ${rec.energy_j?.total?.toExponential(4)} J`);
    }
  }
} catch (e) {
  process.stderr.write(`reader_example: ${(e as Error).message}\n`);
  process.exit(2);
}
for (const [stage, s] of sums) console.log(`stage ${stage}: mean visible spin ${(s.spin / Math.max(1, s.n)).toFixed(4)}`);
if (reader.truncated) console.log(`cut short: whole records end at byte ${reader.truncatedAt} of ${reader.bytes}`);
if (!header) console.log('no header');

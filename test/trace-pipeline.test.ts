// A DTM `pipeline` run's trace (format version 2): T arrays, stage k on array k, images flowing
// through. Each record is stamped with its stage's array's time (every array from cycle 0), records
// come stage by stage (noisiest first), so time never goes back within a stage, and the end record
// holds the run's cycles (stats.json's), at or after every record's. Before version 2 the stage and
// sweep records counted cycles as if one array ran the stages in turn, up to 3 times the run's here.
// The readers (TypeScript and Python) check that order; `trace export --vcd` draws one array at a
// time (--stages K) and refuses the rest, and a version 1 pipeline trace, with one line.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dtca } from './helpers/cli.js';
import { inspectTrace, readTrace, type TraceRecord, type HeaderRecord, type EndRecord } from '../traces/reader.js';
import { openTraceWriter } from '../traces/writer.js';
import { TRACE_FORMAT, type TraceHeader } from '../traces/types.js';

const PY = '/usr/bin/python3';
const TRACES_DIR = fileURLToPath(new URL('../traces/', import.meta.url));
const V1_PIPELINE = fileURLToPath(new URL('./fixtures/trace-pipeline-v1.dtct', import.meta.url));
const pyOk = spawnSync(PY, ['-c', 'import msgpack, numpy'], { encoding: 'utf8' }).status === 0;
const pyIt = pyOk || process.env.CI ? it : it.skip;

function py(code: string, ...args: string[]) {
  const r = spawnSync(PY, ['-c', code, ...args], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: TRACES_DIR, PYTHONDONTWRITEBYTECODE: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dtca-trace-pipeline-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Stats {
  cycles: number;
  sim_time_s: number;
  T: number;
  images: number;
  clock_hz: number;
  image_interval_s: number;
  mapping: string;
  stages: { stage: number; cycles: number }[];
}

/** A traced run of the random-weight DTM (T = 8) on a 12 x 12 grid: 4 images of 3 sweeps per stage. */
function tracedRun(name: string, extra: string[] = []): { out: string; trace: string; stats: Stats } {
  const out = join(dir, name);
  const r = dtca(['run', '--set', 'fabric.L=12', '--images', '4', '--sweeps', '3', '--trace', '--out', out, '--quiet', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return { out, trace: join(out, 'trace.dtct'), stats: JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) };
}

async function records(path: string): Promise<TraceRecord[]> {
  const out: TraceRecord[] = [];
  for await (const r of readTrace(path)) out.push(r);
  return out;
}

let run: ReturnType<typeof tracedRun>;
beforeAll(() => {
  run = tracedRun('pipe', ['--mapping', 'pipeline']);
});

describe('a pipeline trace', () => {
  it("stamps every record with its stage's array's time; the end record holds the run's cycles, and nothing exceeds them", async () => {
    const { stats } = run;
    expect(stats.mapping).toBe('pipeline');
    const recs = await records(run.trace);
    const h = recs[0] as HeaderRecord;
    const T = stats.T;
    const C = stats.images;
    expect(h.version).toBe(2);
    expect(h.run).toMatchObject({ mapping: 'pipeline', arrays: T, stages: T, chains: C });
    const end = recs[recs.length - 1] as EndRecord;
    expect(end.type).toBe('end');
    expect(end.cycle).toBe(stats.cycles);
    expect(end.time_s).toBeCloseTo(stats.sim_time_s, 15);
    const body = recs.slice(1, -1) as Exclude<TraceRecord, HeaderRecord | EndRecord>[];
    for (const r of body) {
      expect(r.cycle).toBeLessThanOrEqual(stats.cycles);
      expect(r.time_s).toBeCloseTo(r.cycle / stats.clock_hz, 15);
    }
    expect(Math.max(...body.map((r) => r.cycle))).toBe(stats.cycles);
    // the documented order: stage by stage from the noisiest, each stage_begin, its sweeps chain by
    // chain, its stage_end; cycles never go back within a stage (its array's clock)
    let i = 0;
    for (let k = T - 1; k >= 0; k--) {
      const stage = [body[i++]];
      while (body[i - 1].type !== 'stage_end') stage.push(body[i++]);
      expect(stage[0]).toMatchObject({ type: 'stage_begin', stage: k });
      expect(stage.every((r) => r.stage === k)).toBe(true);
      const cycles = stage.map((r) => r.cycle);
      expect(cycles).toEqual([...cycles].sort((a, b) => a - b));
      const sweeps = stage.filter((r) => r.type === 'sweep');
      expect(sweeps.map((r) => `${r.chain}/${r.sweep}`)).toEqual(Array.from({ length: C * 3 }, (_, n) => `${Math.floor(n / 3)}/${n % 3}`));
      // stage_end: its array's busy cycles (as stats.json's stage), ending when its last image leaves
      expect(stage[stage.length - 1]).toMatchObject({ type: 'stage_end', cycles: stats.stages[k].cycles });
    }
    expect(i).toBe(body.length);
    // images flow through: one stage time (the image interval) per image and per stage, so image c
    // in stage k and image c + 1 in stage k + 1 sweep at once (several images in flight)
    const interval = Math.round(stats.image_interval_s * stats.clock_hz);
    const at = new Map(body.filter((r) => r.type === 'sweep').map((r) => [`${r.chain}/${r.stage}/${r.sweep}`, r.cycle]));
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < T; k++) {
        for (let s = 0; s < 3; s++) {
          const cyc = at.get(`${c}/${k}/${s}`)!;
          if (c > 0) expect(cyc - at.get(`${c - 1}/${k}/${s}`)!).toBe(interval);
          if (k < T - 1) expect(cyc - at.get(`${c}/${k + 1}/${s}`)!).toBe(interval);
          if (c < C - 1 && k < T - 1) expect(at.get(`${c + 1}/${k + 1}/${s}`)).toBe(cyc);
        }
      }
    }
    // the last image's readout in the cleanest stage ends the run
    expect(body[body.length - 1]).toMatchObject({ type: 'stage_end', stage: 0, cycle: stats.cycles });
    const s = await inspectTrace(run.trace);
    expect(s).toMatchObject({ status: 'complete', timeline: 'arrays', cycle: stats.cycles });
  });

  it('is the same for any worker count; a reprogram run keeps version 1 on one clock', async () => {
    const w = tracedRun('pipe-w3', ['--mapping', 'pipeline', '--workers', '3']);
    const after = (p: string) => {
      const b = readFileSync(p);
      return b.subarray(b.indexOf(Buffer.from('\xabstage_begin', 'latin1')));
    };
    expect(after(w.trace).equals(after(run.trace))).toBe(true);
    const re = tracedRun('reprogram');
    const recs = await records(re.trace);
    const h = recs[0] as HeaderRecord;
    expect(h.version).toBe(1);
    expect(h.run.arrays).toBeUndefined();
    const cycles = recs.slice(1).map((r) => (r as EndRecord).cycle);
    expect(cycles).toEqual([...cycles].sort((a, b) => a - b));
    expect(cycles[cycles.length - 1]).toBe(re.stats.cycles);
    expect(re.stats.cycles).toBeGreaterThan(run.stats.cycles);
  });

  it('trace export --vcd: one array at a time (--stages K), drawn to the run’s end; all of them refused with one line', async () => {
    const { stats } = run;
    const vcd = join(dir, 'all.vcd');
    let r = dtca(['trace', 'export', run.trace, '--vcd', vcd]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/is a pipeline trace: its stages run at once on 8 arrays .*choose it with --stages K .*or use --csv \/ --npy/);
    expect(existsSync(vcd)).toBe(false);
    r = dtca(['trace', 'export', run.trace, '--vcd', vcd, '--stages', '2,5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--stages K \(one of 2,5\)/);
    const one = join(dir, 'stage3.vcd');
    r = dtca(['trace', 'export', run.trace, '--vcd', one, '--stages', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`12 sweep records, ${stats.cycles} cycles, timescale 10 ns`));
    const text = readFileSync(one, 'utf8');
    expect(text).toMatch(/a pipeline of 8 arrays: array 3 \(stage 3\), on its own clock/);
    // 10 MHz at a 10 ns timescale: 10 ticks per cycle; the drawing ends at the run's end
    const times = [...text.matchAll(/^#(\d+)$/gm)].map((m) => Number(m[1]));
    expect(Math.max(...times)).toBe(stats.cycles * 10);
    // chain 0's first sweep in stage 3: its colour phase 0 starts 2 cycles (one sweep) before its record
    const ids = Object.fromEntries([...text.matchAll(/^\$var \w+ \d+ (\S+) (\w+) \$end$/gm)].map((m) => [m[2], m[1]]));
    const firstPhase = text.indexOf(`\n0${ids.phase}\n`);
    const stamp = Number(/#(\d+)\n[^#]*$/.exec(text.slice(0, firstPhase + 1))![1]);
    const first = (await records(run.trace)).find((x) => x.type === 'sweep' && x.stage === 3 && x.chain === 0 && x.sweep === 0) as EndRecord;
    expect(stamp).toBe((first.cycle - 2) * 10);
  });
});

describe('a version 1 pipeline trace (written before version 2)', () => {
  it('still reads, said to count as if one array ran the stages; --vcd refuses it with one line', async () => {
    const s = await inspectTrace(V1_PIPELINE);
    expect(s).toMatchObject({ version: 1, status: 'complete', timeline: 'serial', sweep_records: 32 });
    const recs = await records(V1_PIPELINE);
    const end = recs[recs.length - 1] as EndRecord;
    // its records ran past its end: what version 2 mends
    expect(Math.max(...recs.slice(1, -1).map((r) => (r as EndRecord).cycle))).toBeGreaterThan(end.cycle);
    const r = dtca(['trace', 'inspect', V1_PIPELINE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/time +a version 1 pipeline trace: its stage and sweep records count cycles as if one array ran the stages in turn/);
    const vcd = join(dir, 'v1.vcd');
    const v = dtca(['trace', 'export', V1_PIPELINE, '--vcd', vcd, '--stages', '0']);
    expect(v.code).toBe(2);
    expect(v.stderr.trim().split('\n')).toHaveLength(1);
    expect(v.stderr).toMatch(/is a version 1 pipeline trace, .*no true timeline to draw; trace the run again with this dtca, or use --csv \/ --npy/);
    expect(existsSync(vcd)).toBe(false);
    expect(dtca(['trace', 'export', V1_PIPELINE, '--csv', join(dir, 'v1.csv')]).code).toBe(0);
  });
});

// ------------------------------------------------------------------------------------------------
// hand-made pipeline traces: the readers' checks of the order

const L = 4;

function header(arrays: number | null): TraceHeader {
  const N = L * L;
  return {
    format: TRACE_FORMAT,
    version: 2,
    dtca_version: '0.0.0-test',
    created: '2026-01-01T00:00:00.000Z',
    config: { clock: { clock_hz: 1e7, phase_cycles: 1 } },
    model: { source: 'synthetic', T: 2 },
    layout: {
      L,
      N,
      colour: Uint8Array.from({ length: N }, (_, i) => ((i % L) + Math.floor(i / L)) % 2),
      visible: Int32Array.from([0, 1]),
      image: Int32Array.from([0, 1]),
      label: new Int32Array(0),
      label_copies: 1,
    },
    run: { chains: 2, stages: 2, sweeps: 1, clock_hz: 1e7, mapping: 'pipeline', ...(arrays === null ? {} : { arrays }) },
  };
}

type Rec = ['begin' | 'end', number, number] | ['sweep', number, number, number];

/** stage records [kind, stage, cycle], sweep records ['sweep', chain, stage, cycle], then the end record at `end` (-1: interrupted) */
async function handMade(name: string, recs: Rec[], end: number, arrays: number | null = 2): Promise<string> {
  const p = join(dir, name);
  const w = openTraceWriter(p, {}, { thread: false });
  w.header(header(arrays));
  const e = { total: 1e-15 };
  for (const r of recs) {
    if (r[0] === 'begin') w.stageBegin({ stage: r[1], cycle: r[2], time_s: r[2] / 1e7, energy_j: e });
    else if (r[0] === 'end') w.stageEnd({ stage: r[1], cycle: r[2], time_s: r[2] / 1e7, energy_j: e });
    else if (r[0] === 'sweep')
      w.sweep({ chain: r[1], stage: r[2], sweep: 0, cycle: r[3], time_s: r[3] / 1e7, spins: new Float64Array(L * L).fill(1), toggles: 0, energy_j: e });
  }
  if (end < 0) w.interrupt({ reason: 'SIGINT' });
  else w.end({ cycle: end, time_s: end / 1e7, energy_j: e, cell_updates: 0, toggles: 0 });
  await w.close();
  return p;
}

// two images through two stages: array 1 takes them at 2 and 6, array 0 at 6 and 10 (a stage time of 4)
const GOOD: Rec[] = [
  ['begin', 1, 1],
  ['sweep', 0, 1, 5],
  ['sweep', 1, 1, 9],
  ['end', 1, 10],
  ['begin', 0, 1],
  ['sweep', 0, 0, 9],
  ['sweep', 1, 0, 13],
  ['end', 0, 14],
];

const BAD: [string, Rec[], number, number | null, RegExp][] = [
  ['end-early', GOOD, 13, 2, /end record at cycle 13, before the cycle 14 a record before it reached/],
  [
    'back-in-array',
    [...GOOD.slice(0, 5), ['sweep', 0, 0, 13], ['sweep', 1, 0, 9], GOOD[7]],
    14,
    2,
    /sweep record at cycle 9 after cycle 13: records out of order/,
  ],
  ['stage-again', [...GOOD.slice(0, 4), ...GOOD.slice(0, 4)], 14, 2, /stage_begin record of stage 1 after stage 1's records: stages out of order or repeated/],
  ['mixed', [GOOD[0], GOOD[1], ['sweep', 0, 0, 9], ...GOOD.slice(2)], 14, 2, /sweep record of stage 0 among stage 1's records/],
  ['no-arrays', GOOD, 14, null, /header: a pipeline's run.arrays is missing, expected its 2 stages/],
];

async function readError(p: string): Promise<string | null> {
  try {
    await records(p);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

describe('the readers on a pipeline trace', () => {
  it('TypeScript: each stage on its own clock, in order; the end at or after every record; damage named', async () => {
    const good = await handMade('good.dtct', GOOD, 14);
    expect(await readError(good)).toBeNull();
    // stopped in stage 0's first image: its end record at the last cycle written (on array 0's
    // clock), before stage 1's end; inspect's cycle is the latest any record reached
    const stopped = await handMade('stopped.dtct', GOOD.slice(0, 6), -1);
    expect(await readError(stopped)).toBeNull();
    const end = (await records(stopped)).pop() as EndRecord;
    expect(end).toMatchObject({ status: 'interrupted', cycle: 9 });
    expect(await inspectTrace(stopped)).toMatchObject({ status: 'interrupted', timeline: 'arrays', cycle: 10 });
    for (const [name, recs, end, arrays, re] of BAD) expect(String(await readError(await handMade(`${name}.dtct`, recs, end, arrays))), name).toMatch(re);
  });

  pyIt('Python (dtca_trace): the same trace, the same checks, and the run’s trace against its stats.json', async () => {
    const dump = `
import json, sys, dtca_trace
out = []
for p in sys.argv[1:]:
    try:
        h, t = dtca_trace.load(p)
        out.append({"version": h["version"], "timeline": dtca_trace.timeline(h), "arrays": h["run"].get("arrays"), "end": t.end["cycle"],
                    "max": int(t.cycle.max()), "stage": t.stage.tolist(), "cycle": t.cycle.tolist(), "status": t.status})
    except dtca_trace.TraceError as e:
        out.append({"error": str(e)})
print(json.dumps(out))`;
    const bad = await Promise.all(BAD.map(([name, recs, end, arrays]) => handMade(`py-${name}.dtct`, recs, end, arrays)));
    const stopped = await handMade('py-stopped.dtct', GOOD.slice(0, 6), -1);
    const r = py(dump, run.trace, V1_PIPELINE, stopped, ...bad);
    expect(r.stderr).toBe('');
    const [pipe, v1, stop, ...errs] = JSON.parse(r.stdout);
    expect(stop).toMatchObject({ status: 'interrupted', end: 9, max: 9 });
    const { stats } = run;
    expect(pipe).toMatchObject({ version: 2, timeline: 'arrays', arrays: stats.T, end: stats.cycles, status: 'complete' });
    expect(pipe.max).toBeLessThanOrEqual(stats.cycles);
    const ts = (await records(run.trace)).filter((x) => x.type === 'sweep') as { cycle: number; stage: number }[];
    expect(pipe.cycle).toEqual(ts.map((x) => x.cycle));
    expect(pipe.stage).toEqual(ts.map((x) => x.stage));
    expect(v1).toMatchObject({ version: 1, timeline: 'serial', status: 'complete' });
    BAD.forEach(([name, , , , re], n) => expect(errs[n].error, name).toMatch(re));
    const s = spawnSync(PY, ['-m', 'dtca_trace', run.trace], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: TRACES_DIR } });
    expect(s.stdout).toMatch(/time +per array: stage k's records on array k of 8, every array from cycle 0/);
  });
});

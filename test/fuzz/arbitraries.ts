/**
 * Generators (fast-check arbitraries) of hostile input for dtca: config files and --set values,
 * model files (JSON and msgpack, edges as [i, j, w] lists or {i, j, w} arrays, typed or plain),
 * mutations of trace bytes, and command lines. Each generated case says what it is for the
 * properties in test/fuzz/properties.ts; cases that are invalid by construction carry `bad` so a
 * property can insist they are refused rather than silently run.
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';

// ---------------------------------------------------------------------------------------------
// values

/** numbers a user (or a bug) might put anywhere */
export const anyNumber = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 2, 3, 0.5, 1.5, 4, 8, 70, 1e-15, 1e-320, 5e-324, 1e300, 1.7e308, -1e300, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e18, 1e9, -5),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -10, max: 100 }),
);

const weirdString = fc.constantFrom(
  '',
  ' ',
  'G12',
  'g8',
  'G99',
  'open',
  'torus',
  'exact',
  'x',
  '1e7',
  'NaN',
  'Infinity',
  '\u001b[31mred',
  'a\nb',
  '__proto__',
  'constructor',
  '..',
  '/dev/null',
);

export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: anyNumber },
  { weight: 2, arbitrary: weirdString },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      [[0, 1]],
      [
        [0, 1],
        [4, 1],
      ],
      [[1, 1]],
      [[0, 1, 2]],
      [1, 2],
      [],
      [['0', 1]],
      [
        [0, 1],
        [1, 0],
      ],
      [[0, 3]],
      [[2, 1]],
      [
        [0, 1],
        [0, 1],
      ],
      [[100, 1]],
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>({}, { a: 1 }, [1, 'x'], { L: 8 }) },
);

// ---------------------------------------------------------------------------------------------
// configs

export const CONFIG_LEAVES = [
  'name',
  'description',
  'seed',
  'chip_id',
  'fabric.L',
  'fabric.rules',
  'fabric.boundary',
  'fabric.tile.size',
  'fabric.tile.link_latency_cycles',
  'fabric.tile.link_energy_j',
  'clock.clock_hz',
  'clock.phase_cycles',
  'clock.analog_substeps',
  'rng.tau_rng_s',
  'rng.subthreshold_n',
  'rng.temperature_k',
  'rng.nominal_temperature_k',
  'rng.v_off_sigma_v',
  'rng.v_s_sigma_rel',
  'rng.energy_per_bit_j',
  'rng.bit_rate_hz',
  'rng.duty',
  'cell.weight_bits',
  'cell.weight_full_scale',
  'cell.node_capacitance_f',
  'cell.g_sigma_s',
  'power.vdd_v',
  'power.cell_pitch_m',
  'power.wire_cap_f_per_m',
  'power.output_cap_f',
  'power.clock_cap_f',
  'power.leakage_w_per_cell',
  'power.weight_write_j_per_bit',
  'power.init_j_per_cell',
  'power.readout_j_per_cell',
  'io.program_bits_per_cycle',
  'io.readout_bits_per_cycle',
];
const ODD_PATHS = [
  'fabric',
  'clock',
  'fabric.tile',
  'bogus',
  'fabric.bogus',
  'fabric.L.x',
  '__proto__.x',
  'constructor.prototype.x',
  'fabric.__proto__.x',
  'a..b',
  '.',
  'extends',
];

export const configPath = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...CONFIG_LEAVES) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_PATHS) });

function setPath(o: Record<string, unknown>, path: string, v: unknown): void {
  const keys = path.split('.');
  let node = o;
  for (const k of keys.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(node, k) ? node[k] : undefined;
    if (!next || typeof next !== 'object' || Array.isArray(next)) {
      const fresh: Record<string, unknown> = {};
      Object.defineProperty(node, k, { value: fresh, enumerable: true, writable: true, configurable: true });
      node = fresh;
    } else node = next as Record<string, unknown>;
  }
  Object.defineProperty(node, keys[keys.length - 1], { value: v, enumerable: true, writable: true, configurable: true });
}

/** a small chip every fuzz case starts from, so that what runs runs fast */
export const SMALL_SETS = ['fabric.L=8', 'fabric.rules=[[0,1]]', 'fabric.tile.size=8'];

export interface ConfigCase {
  /** the file's JSON text (may extend a preset or a second file) */
  text: string;
  /** a second file it may extend, written beside it as base.json */
  base: string | null;
}

/** values for a config leaf: mostly the right type, in range, at the edges of the range, or just past them */
const leafValue = (path: string): fc.Arbitrary<unknown> => {
  if (path === 'fabric.rules')
    return fc.constantFrom<unknown>(
      'G8',
      'G12',
      'g12',
      'G99',
      [[0, 1]],
      [
        [0, 1],
        [4, 1],
      ],
      [[1, 1]],
      [
        [0, 1],
        [1, 0],
      ],
      [[0, 3]],
      [[2, 1]],
      [[0, 1, 2]],
      [1, 2],
      [],
      5,
    );
  if (path === 'fabric.boundary') return fc.constantFrom<unknown>('open', 'torus', 'x', 1);
  if (path === 'cell.weight_bits') return fc.constantFrom<unknown>(2, 8, 24, 1, 25, 'exact', 'x', 8.5);
  if (path === 'name' || path === 'description') return fc.constantFrom<unknown>('x', '', 'a\u001b[2Jb', 5);
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom<unknown>(
        0,
        1e-30,
        1e-31,
        1e-3,
        5e-4,
        0.5,
        1,
        2,
        3,
        4,
        8,
        9,
        70,
        71,
        1e3,
        1e4,
        1e4 + 1,
        1e6,
        1e6 + 1,
        1e15,
        1e16,
        46340,
        46341,
        2 ** 31,
        2 ** 53,
        1e300,
        -1,
      ),
    },
    { weight: 2, arbitrary: fc.double({ min: 1e-30, max: 1e15, noNaN: true }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 20 }) },
    { weight: 1, arbitrary: anyJson },
  );
};

const configEdit: fc.Arbitrary<[string, unknown]> = fc.oneof(
  { weight: 9, arbitrary: fc.constantFrom(...CONFIG_LEAVES).chain((p) => leafValue(p).map((v) => [p, v] as [string, unknown])) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...ODD_PATHS), anyJson) },
);

export const configCase: fc.Arbitrary<ConfigCase> = fc
  .record({
    start: fc.constantFrom('extends-preset', 'extends-file', 'full', 'empty', 'not-object'),
    edits: fc.array(configEdit, { maxLength: 3 }),
    small: fc.boolean(),
  })
  .map(({ start, edits, small }) => {
    const o: Record<string, unknown> = {};
    let base: string | null = null;
    if (start === 'extends-preset') o.extends = 'dtca-paper';
    if (start === 'extends-file') {
      o.extends = 'base.json';
      base = JSON.stringify({ extends: 'dtca-paper', fabric: { L: 8, rules: [[0, 1]], tile: { size: 8 } } });
    }
    if (start === 'full') {
      Object.assign(o, JSON.parse(JSON.stringify(PRESET)));
    }
    if (small && start !== 'not-object') setPath(o, 'fabric', { L: 8, rules: [[0, 1]], tile: { size: 8 } });
    if (start === 'full' && small)
      setPath(o, 'fabric', { L: 8, rules: [[0, 1]], boundary: 'open', tile: { size: 8, link_latency_cycles: 0, link_energy_j: 2e-17 } });
    for (const [p, v] of edits) setPath(o, p, v);
    return { text: start === 'not-object' ? JSON.stringify([o]) : JSON.stringify(o), base };
  });

/** `--set path=value` texts */
export const setArg: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: configEdit.map(([p, v]) => `${p}=${JSON.stringify(v)}`) },
  { weight: 2, arbitrary: fc.tuple(configPath, fc.constantFrom('abc', '', '1e', '[', '{"L":', 'G8', '--x', '=', '1,2')).map(([p, v]) => `${p}=${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('', '=', 'x', '=1', 'fabric.L', 'fabric.L==3') },
);

// the default preset, as the fuzzers' "full" config file (a copy: tests may not read configs/)
export const PRESET = {
  name: 'fuzz',
  description: 'fuzz base',
  seed: 1,
  chip_id: 0,
  fabric: { L: 70, rules: 'G12', boundary: 'open', tile: { size: 14, link_latency_cycles: 0, link_energy_j: 2e-17 } },
  clock: { clock_hz: 1e7, phase_cycles: 1, analog_substeps: 4 },
  rng: {
    tau_rng_s: 1e-7,
    subthreshold_n: 1.5,
    temperature_k: 300,
    nominal_temperature_k: 300,
    v_off_sigma_v: 0.002,
    v_s_sigma_rel: 0.03,
    energy_per_bit_j: 3.5e-16,
    bit_rate_hz: 1e7,
    duty: 0.5,
  },
  cell: { weight_bits: 8, weight_full_scale: 4, node_capacitance_f: 1e-15, g_sigma_s: 1.2e-7 },
  power: {
    vdd_v: 0.3,
    cell_pitch_m: 4e-6,
    wire_cap_f_per_m: 1e-10,
    output_cap_f: 2e-15,
    clock_cap_f: 1e-15,
    leakage_w_per_cell: 2.5e-10,
    weight_write_j_per_bit: 1e-15,
    init_j_per_cell: 1e-16,
    readout_j_per_cell: 1e-15,
  },
  io: { program_bits_per_cycle: 4096, readout_bits_per_cycle: 1024 },
};

// ---------------------------------------------------------------------------------------------
// models

const L = 4; // 4x4 open grid, rules [[0,1]]: wires are horizontal and vertical neighbours
const N = L * L;
/** every wire of the 4x4 open nearest-neighbour grid, i < j */
const WIRES: [number, number][] = [];
for (let y = 0; y < L; y++) {
  for (let x = 0; x < L; x++) {
    const i = y * L + x;
    if (x + 1 < L) WIRES.push([i, i + 1]);
    if (y + 1 < L) WIRES.push([i, i + L]);
  }
}

type Mutation = { what: string; bad: boolean; apply: (m: Record<string, unknown>) => void };

const st0 = (m: Record<string, unknown>) => (m.stages as Record<string, unknown>[])[0];
const edgesOf = (m: Record<string, unknown>) => st0(m).edges as unknown[];

const modelMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom<Mutation>(
    { what: 'edge given in both orders', bad: true, apply: (m) => edgesOf(m).push([(edgesOf(m)[0] as number[])[1], (edgesOf(m)[0] as number[])[0], 0.1]) },
    { what: 'edge given twice', bad: true, apply: (m) => edgesOf(m).push([...(edgesOf(m)[0] as number[])]) },
    { what: 'fractional edge index', bad: true, apply: (m) => ((edgesOf(m)[0] as number[])[0] = 0.5) },
    { what: 'negative edge index', bad: true, apply: (m) => ((edgesOf(m)[0] as number[])[0] = -1) },
    { what: 'edge index N', bad: true, apply: (m) => ((edgesOf(m)[0] as number[])[1] = N) },
    { what: 'edge index 2^32', bad: true, apply: (m) => ((edgesOf(m)[0] as number[])[0] = 2 ** 32) },
    { what: 'edge index 2^32 + 1', bad: true, apply: (m) => ((edgesOf(m)[0] as number[])[1] = 2 ** 32 + 1) },
    { what: 'edge index null', bad: true, apply: (m) => ((edgesOf(m)[0] as unknown[])[0] = null) },
    { what: 'edge index string', bad: true, apply: (m) => ((edgesOf(m)[0] as unknown[])[0] = '1') },
    { what: 'edge that is not a wire', bad: true, apply: (m) => edgesOf(m).push([0, 5, 0.1]) },
    { what: 'self edge', bad: true, apply: (m) => edgesOf(m).push([3, 3, 0.1]) },
    { what: 'weight NaN', bad: true, apply: (m) => ((edgesOf(m)[0] as number[])[2] = NaN) },
    { what: 'weight Infinity', bad: true, apply: (m) => ((edgesOf(m)[0] as number[])[2] = Infinity) },
    { what: 'weight 1e300', bad: true, apply: (m) => ((edgesOf(m)[0] as number[])[2] = 1e300) },
    { what: 'weight 1e6 (the largest allowed)', bad: false, apply: (m) => ((edgesOf(m)[0] as number[])[2] = 1e6) },
    { what: 'bias -1e6 (the most negative allowed)', bad: false, apply: (m) => ((st0(m).bias as number[])[1] = -1e6) },
    { what: 'beta 1e6 (the largest allowed)', bad: false, apply: (m) => (m.beta = 1e6) },
    { what: 'beta 1e-300', bad: false, apply: (m) => (m.beta = 1e-300) },
    {
      what: 'clamp +1 on two cells',
      bad: false,
      apply: (m) =>
        (st0(m).clamp = [
          [3, 1],
          [5, -1],
        ]),
    },
    { what: 'edge of 2 entries', bad: true, apply: (m) => edgesOf(m).push([0, 1]) },
    { what: 'bias too short', bad: true, apply: (m) => (st0(m).bias as number[]).pop() },
    { what: 'bias NaN', bad: true, apply: (m) => ((st0(m).bias as number[])[2] = NaN) },
    { what: 'bias 1e308', bad: true, apply: (m) => ((st0(m).bias as number[])[2] = 1e308) },
    {
      what: 'clamp +1 and -1',
      bad: true,
      apply: (m) =>
        (st0(m).clamp = [
          [3, 1],
          [3, -1],
        ]),
    },
    {
      what: 'clamp twice',
      bad: true,
      apply: (m) =>
        (st0(m).clamp = [
          [3, 1],
          [3, 1],
        ]),
    },
    { what: 'clamp spin 0', bad: true, apply: (m) => (st0(m).clamp = [[3, 0]]) },
    { what: 'clamp cell 1.5', bad: true, apply: (m) => (st0(m).clamp = [[1.5, 1]]) },
    { what: 'clamp cell 2^32', bad: true, apply: (m) => (st0(m).clamp = [[2 ** 32, 1]]) },
    { what: 'clamp not a list', bad: true, apply: (m) => (st0(m).clamp = 5) },
    { what: 'no rules', bad: true, apply: (m) => delete (m.grid as Record<string, unknown>).rules },
    { what: 'rules 5', bad: true, apply: (m) => ((m.grid as Record<string, unknown>).rules = 5) },
    { what: 'rules [1,2]', bad: true, apply: (m) => ((m.grid as Record<string, unknown>).rules = [1, 2]) },
    { what: 'rules [[0,1,2]]', bad: true, apply: (m) => ((m.grid as Record<string, unknown>).rules = [[0, 1, 2]]) },
    { what: 'rules [["0",1]]', bad: true, apply: (m) => ((m.grid as Record<string, unknown>).rules = [['0', 1]]) },
    { what: 'rules [[1,1]]', bad: true, apply: (m) => ((m.grid as Record<string, unknown>).rules = [[1, 1]]) },
    { what: 'rules G99', bad: true, apply: (m) => ((m.grid as Record<string, unknown>).rules = 'G99') },
    { what: 'rules G8 (grid too small)', bad: true, apply: (m) => ((m.grid as Record<string, unknown>).rules = 'G8') },
    { what: 'grid.L 4.5', bad: true, apply: (m) => ((m.grid as Record<string, unknown>).L = 4.5) },
    { what: 'grid.L 2^32', bad: true, apply: (m) => ((m.grid as Record<string, unknown>).L = 2 ** 32) },
    { what: 'grid missing', bad: true, apply: (m) => delete m.grid },
    { what: 'boundary x', bad: true, apply: (m) => ((m.grid as Record<string, unknown>).boundary = 'x') },
    { what: 'no version', bad: true, apply: (m) => delete m.version },
    { what: 'version "1"', bad: true, apply: (m) => (m.version = '1') },
    { what: 'version 2', bad: true, apply: (m) => (m.version = 2) },
    { what: 'version 0.5', bad: true, apply: (m) => (m.version = 0.5) },
    { what: 'format garbage', bad: true, apply: (m) => (m.format = '\u001b[2Jboom') },
    { what: 'beta {start,end}', bad: true, apply: (m) => (m.beta = { start: 0.8, end: 1.2 }) },
    { what: 'beta 0', bad: true, apply: (m) => (m.beta = 0) },
    { what: 'beta -1', bad: true, apply: (m) => (m.beta = -1) },
    { what: 'beta 1e300', bad: true, apply: (m) => (m.beta = 1e300) },
    { what: 'unknown key', bad: true, apply: (m) => (m.extra = 1) },
    { what: 'stages empty', bad: true, apply: (m) => (m.stages = []) },
    { what: 'stage not an object', bad: true, apply: (m) => (m.stages = [5]) },
    { what: 'edges a string', bad: true, apply: (m) => (st0(m).edges = 'x') },
    { what: 'edges {i,j,w} of different lengths', bad: true, apply: (m) => (st0(m).edges = { i: [0, 1], j: [1], w: [0.1] }) },
    { what: 'edges {i} only', bad: true, apply: (m) => (st0(m).edges = { i: [0] }) },
  ),
  // dtm section mutations (applied only when the case has a dtm section; otherwise they add one)
  fc.constantFrom<Mutation>(
    { what: 'dtm.image_shape "x"', bad: true, apply: (m) => (dtmOf(m).image_shape = 'x') },
    { what: 'dtm.image_shape [0,0]', bad: true, apply: (m) => (dtmOf(m).image_shape = [0, 0]) },
    { what: 'dtm.image_shape [-1,-1000]', bad: true, apply: (m) => (dtmOf(m).image_shape = [-1, -1000]) },
    { what: 'dtm.image_shape [1.5,2]', bad: true, apply: (m) => (dtmOf(m).image_shape = [1.5, 2]) },
    { what: 'dtm.image_shape [1e9,1e9]', bad: true, apply: (m) => (dtmOf(m).image_shape = [1e9, 1e9]) },
    { what: 'dtm.lambda_image 1e30 (the largest allowed)', bad: false, apply: (m) => (dtmOf(m).lambda_image = 1e30) },
    { what: 'dtm.image_shape [2,1]', bad: false, apply: (m) => (dtmOf(m).image_shape = [2, 1]) },
    { what: 'dtm.image_shape ["2",2]', bad: true, apply: (m) => (dtmOf(m).image_shape = ['2', 2]) },
    { what: 'dtm.T wrong', bad: true, apply: (m) => (dtmOf(m).T = (m.stages as unknown[]).length + 1) },
    { what: 'dtm.time_grid short', bad: true, apply: (m) => (dtmOf(m).time_grid = [0]) },
    { what: 'dtm.time_grid decreasing', bad: true, apply: (m) => (dtmOf(m).time_grid = [0.5, 0.1, null]) },
    { what: 'dtm.lambda_image 0', bad: true, apply: (m) => (dtmOf(m).lambda_image = 0) },
    { what: 'dtm.lambda_image 1e300', bad: true, apply: (m) => (dtmOf(m).lambda_image = 1e300) },
    { what: 'dtm.image cell 2^32', bad: true, apply: (m) => (dtmOf(m).image = [2 ** 32]) },
    { what: 'dtm.image cell 0.5', bad: true, apply: (m) => (dtmOf(m).image = [0.5]) },
    { what: 'dtm.image twice', bad: true, apply: (m) => (dtmOf(m).image = [0, 0]) },
    { what: 'dtm.label_copies 0', bad: true, apply: (m) => (dtmOf(m).label_copies = 0) },
    { what: 'dtm.label_copies 3 of 2 cells', bad: true, apply: (m) => ((dtmOf(m).label = [2, 4]), (dtmOf(m).label_copies = 3)) },
    { what: 'dtm not an object', bad: true, apply: (m) => (m.dtm = 7) },
  ),
);

function dtmOf(m: Record<string, unknown>): Record<string, unknown> {
  if (!m.dtm || typeof m.dtm !== 'object') {
    const T = (m.stages as unknown[]).length;
    m.dtm = {
      T,
      time_grid: [...Array.from({ length: T }, (_, k) => -Math.log(1 - k / T)), null],
      lambda_image: 0.9,
      lambda_label: 0.2,
      image: [0, 2],
      label: [],
      image_shape: [1, 2],
    };
  }
  return m.dtm as Record<string, unknown>;
}

export interface ModelCase {
  /** the file's bytes */
  bytes: Uint8Array;
  ext: 'json' | 'mp';
  dtm: boolean;
  /** invalid by construction: every command must refuse it */
  bad: boolean;
  /** a valid file that a run must still refuse (a DTM with stage clamps, which generation would ignore) */
  runBad: boolean;
  what: string[];
}

const packr = new Packr({ useRecords: false, variableMapSize: true });

const TYPED: Record<string, { from(a: number[]): ArrayBufferView & ArrayLike<number> }> = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint8: Uint8Array,
  int8: Int8Array,
};

function typedValues(a: number[], dtype: string): ArrayLike<number> {
  return TYPED[dtype].from(a);
}

function typed(a: number[], dtype: string): { dtype: string; shape: number[]; data: Uint8Array } {
  const t = TYPED[dtype].from(a);
  return { dtype, shape: [a.length], data: new Uint8Array(t.buffer, t.byteOffset, t.byteLength) };
}

export const modelCase: fc.Arbitrary<ModelCase> = fc
  .record({
    nEdges: fc.integer({ min: 1, max: WIRES.length }),
    weight: fc.double({ min: -2, max: 2, noNaN: true }),
    stages: fc.integer({ min: 1, max: 3 }),
    dtm: fc.boolean(),
    muts: fc.array(modelMutation, { maxLength: 2 }),
    ext: fc.constantFrom<'json' | 'mp'>('json', 'mp'),
    edgeForm: fc.constantFrom('list', 'ijw', 'typed'),
    indexDtype: fc.constantFrom('int32', 'float64', 'uint32', 'float32', 'int16', 'int8'),
    biasTyped: fc.boolean(),
  })
  .map(({ nEdges, weight, stages, dtm, muts, ext, edgeForm, indexDtype, biasTyped }) => {
    const m: Record<string, unknown> = {
      format: 'dtca-model',
      version: 1,
      grid: { L, rules: [[0, 1]], boundary: 'open' },
      beta: 1,
      stages: Array.from({ length: stages }, (_, s) => ({
        bias: Array.from({ length: N }, (_, i) => ((i * 7 + s) % 5) * 0.05 - 0.1),
        edges: WIRES.slice(0, nEdges).map(([i, j], n) => [i, j, weight * ((n % 3) - 1)]),
      })),
    };
    if (dtm) dtmOf(m);
    // a mutation may find the structure gone (an earlier one removed it): it then does not apply
    const applied: Mutation[] = [];
    for (const mu of muts) {
      try {
        mu.apply(m);
        applied.push(mu);
      } catch {
        /* not applicable */
      }
    }
    // re-encode the edges of stage 0 in the chosen form (after the mutations, so they carry over)
    const s0 = (m.stages as unknown[])[0] as Record<string, unknown> | undefined;
    const what = applied.map((x) => x.what);
    const bad = applied.some((x) => x.bad);
    if (s0 && typeof s0 === 'object' && Array.isArray(s0.edges) && s0.edges.every((e) => Array.isArray(e) && e.length === 3) && edgeForm !== 'list') {
      const E = s0.edges as unknown[][];
      const col = (k: number) => E.map((e) => e[k] as number);
      if (edgeForm === 'ijw' || ext === 'json') s0.edges = { i: col(0), j: col(1), w: col(2) };
      else {
        // indices in the chosen dtype when every value survives it, else float64 (which holds
        // 0.5, NaN and 2^32 exactly, so the file says what the mutation meant)
        const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
        const I = col(0).map(num);
        const J = col(1).map(num);
        const survives = [...I, ...J].every((v) => Object.is(Number(typedValues([v], indexDtype)[0]), v));
        const dt = survives ? indexDtype : 'float64';
        s0.edges = { i: typed(I, dt), j: typed(J, dt), w: typed(col(2).map(num), 'float64') };
      }
    }
    if (s0 && typeof s0 === 'object' && biasTyped && ext === 'mp' && Array.isArray(s0.bias)) s0.bias = typed(s0.bias as number[], 'float64');
    // a DTM run does not use stage clamps: it refuses them rather than ignoring them
    const clamps =
      Array.isArray(m.stages) &&
      (m.stages as unknown[]).some(
        (st) =>
          st &&
          typeof st === 'object' &&
          Array.isArray((st as Record<string, unknown>).clamp) &&
          ((st as Record<string, unknown>).clamp as unknown[]).length > 0,
      );
    const dtmClamps = Boolean(m.dtm) && clamps;
    let bytes: Uint8Array;
    if (ext === 'json') {
      // JSON cannot carry NaN/Infinity: JSON.stringify writes null, which is also invalid
      bytes = Buffer.from(JSON.stringify(m));
    } else bytes = packr.pack(m);
    return { bytes, ext, dtm: Boolean(m.dtm), bad, runBad: dtmClamps, what: dtmClamps ? [...what, '(a DTM with stage clamps)'] : what };
  });

// ---------------------------------------------------------------------------------------------
// traces

/** a uniform fraction in [0, 1] (fc.double leans to tiny values, which would pin every mutation to the start) */
const frac = fc.integer({ min: 0, max: 1_000_000 }).map((v) => v / 1_000_000);

export type TraceMutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'drop-record'; index: number }
  | { kind: 'dup-record'; index: number }
  | { kind: 'swap-records'; index: number }
  | { kind: 'none' };

/** positions are fractions of the file (0..1) so one arbitrary serves traces of any size */
export const traceMutation = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), at: frac }),
    fc.record({ kind: fc.constant('flip' as const), at: frac, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: frac, len: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: frac, bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('drop-record' as const), index: frac }),
    fc.record({ kind: fc.constant('dup-record' as const), index: frac }),
    fc.record({ kind: fc.constant('swap-records' as const), index: frac }),
    fc.constant({ kind: 'none' as const }),
  ),
  { minLength: 1, maxLength: 3 },
);

/** Apply mutations to a trace, given the byte spans of its records. Returns the new bytes. */
export function mutateTrace(src: Uint8Array, spans: [number, number][], muts: TraceMutation[]): Uint8Array {
  let b = Buffer.from(src);
  let sp = spans.map((s) => [...s] as [number, number]);
  const pick = (f: number, n: number) => Math.min(n - 1, Math.floor(f * n));
  for (const m of muts) {
    const n = b.length;
    switch (m.kind) {
      case 'truncate':
        b = b.subarray(0, pick(m.at, n + 1));
        sp = [];
        break;
      case 'flip': {
        if (n === 0) break;
        const at = pick(m.at, n);
        b = Buffer.from(b);
        b[at] ^= 1 << m.bit;
        break;
      }
      case 'delete': {
        const at = pick(m.at, n + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(n, at + m.len))]);
        sp = [];
        break;
      }
      case 'insert': {
        const at = pick(m.at, n + 1);
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        sp = [];
        break;
      }
      case 'drop-record':
      case 'dup-record':
      case 'swap-records': {
        if (sp.length < 3) break;
        // never the header (index 0): those cases are covered by the byte-level mutations
        const i = 1 + pick(m.index, sp.length - 1);
        const [s, e] = sp[i];
        if (m.kind === 'drop-record') b = Buffer.concat([b.subarray(0, s), b.subarray(e)]);
        else if (m.kind === 'dup-record') b = Buffer.concat([b.subarray(0, e), b.subarray(s, e), b.subarray(e)]);
        else if (i + 1 < sp.length) {
          const [s2, e2] = sp[i + 1];
          b = Buffer.concat([b.subarray(0, s), b.subarray(s2, e2), b.subarray(s, e), b.subarray(e2)]);
        }
        sp = [];
        break;
      }
      case 'none':
        break;
    }
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// command lines

const numText = fc.constantFrom('1', '2', '3', '0', '-1', '1.5', 'abc', '', '1e18', '1e9', '2e0', 'NaN', 'Infinity', '0x10', ' 2');
const pathText = (ext: string) => fc.constantFrom(`OUT/a${ext}`, `OUT/sub/b${ext}`, 'OUT', '', '-', 'OUT/missing/dir/x', '/proc/x', 'IN_TRACE', 'IN_MODEL');

type Opt = [string, fc.Arbitrary<string | null>];

const runOpts: Opt[] = [
  ['--model', fc.oneof(fc.constant('IN_MODEL'), fc.constant('IN_BM_MODEL'), fc.constant('nope.json'), fc.constant(''), fc.constant(null))],
  ['--workload', fc.constantFrom('dtm', 'bm', 'x', null)],
  ['--images', fc.oneof(numText, fc.constant(null))],
  ['--sweeps', fc.oneof(numText, fc.constant(null))],
  ['--chains', fc.oneof(numText, fc.constant(null))],
  ['--warmup', fc.oneof(numText, fc.constant(null))],
  ['--labels', fc.constantFrom('0', '0,1', '99', 'a', '', '-1', null)],
  ['--mapping', fc.constantFrom('reprogram', 'pipeline', 'foo', null)],
  ['--beta', fc.constantFrom('1', '0.8:1.2', '0', '-1', 'x', '1:', ':', null)],
  ['--trace', fc.oneof(pathText('.dtct'), fc.constant('z1-like'), fc.constant(null))],
  ['--trace-every', fc.oneof(numText, fc.constant(null))],
  ['--trace-stages', fc.constantFrom('0', '0-1', '9', '1-0', 'x', null)],
  ['--trace-chains', fc.constantFrom('0', '0,1', '7', null)],
  ['--trace-cells', fc.constantFrom('0,0,1,1', '0,0,99,99', '1,1,0,0', 'x', null)],
  ['--stage', fc.oneof(numText, fc.constant(null))],
  ['--init', fc.constantFrom('hinton', 'random', 'up', 'down', 'x', null)],
  ['--seed', fc.oneof(numText, fc.constant(null))],
  ['--workers', fc.constantFrom('1', '2', '0', '200', 'x', null)],
  ['--engine', fc.constantFrom('auto', 'reference', 'wasm', 'batch', 'x', null)],
  ['--batch', fc.oneof(numText, fc.constant(null))],
  ['--out', fc.oneof(pathText(''), fc.constant(null))],
  ['--set', setArg.map((s) => s as string | null)],
  ['--json', fc.constant(null)],
  ['--ideal', fc.constant(null)],
  ['--force', fc.constant(null)],
  ['--quiet', fc.constant(null)],
  ['--bogus', fc.constantFrom('1', null)],
];

const commands: [string[], Opt[], fc.Arbitrary<string[]>][] = [
  [['run'], runOpts, fc.constantFrom([], ['dtca-paper'], ['z1-like'], ['nope'], ['IN_CONFIG'])],
  [
    ['model', 'new'],
    [
      ['--stages', fc.oneof(numText, fc.constant(null))],
      ['--L', fc.constantFrom('4', '8', '2', '1', '4.5', 'x', '60000', null)],
      ['--rules', fc.constantFrom('[[0,1]]', 'G8', '[1,2]', '[[1,1]]', 'G99', '[', null)],
      ['--boundary', fc.constantFrom('open', 'torus', 'x', null)],
      ['--visible', fc.constantFrom('2', '4', 'fmnist', '0', 'x', '1e9', null)],
      ['--weights', fc.constantFrom('zero', 'random:0.1', 'random:x', 'random:-1', null)],
      ['--beta', fc.constantFrom('1', '0.8:1.2', '0', 'x', null)],
      ['--seed', fc.oneof(numText, fc.constant(null))],
      ['--out', fc.oneof(pathText('.json'), pathText('.mp'), fc.constant(null))],
    ],
    fc.constant([]),
  ],
  [['model', 'info'], [['--json', fc.constant(null)]], fc.constantFrom(['IN_MODEL'], ['IN_TRACE'], ['nope'], [], ['IN_MODEL', 'IN_MODEL'])],
  [['trace', 'inspect'], [['--json', fc.constant(null)]], fc.constantFrom(['IN_TRACE'], ['IN_MODEL'], ['nope'], [], ['OUT'])],
  [
    ['trace', 'export'],
    [
      ['--csv', fc.oneof(pathText('.csv'), fc.constant(null))],
      ['--npy', fc.oneof(pathText(''), fc.constant(null))],
    ],
    fc.constantFrom(['IN_TRACE'], ['IN_MODEL'], ['nope'], []),
  ],
  [
    ['config', 'show'],
    [
      ['--set', setArg.map((s) => s as string | null)],
      ['--ideal', fc.constant(null)],
    ],
    fc.constantFrom([], ['dtca-paper'], ['IN_CONFIG'], ['nope']),
  ],
  [['config', 'validate'], [], fc.constantFrom(['IN_CONFIG'], ['dtca-paper'], ['nope'], [], ['IN_MODEL'])],
  [['config', 'schema'], [], fc.constant([])],
];

export interface CliCase {
  args: string[];
}

export const cliCase: fc.Arbitrary<CliCase> = fc
  .oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: commands.length - 1 }) })
  .chain((c) => {
    const [cmd, opts, positional] = commands[c];
    const opt = opts.length ? fc.integer({ min: 0, max: opts.length - 1 }).chain((k) => opts[k][1].map((v) => [opts[k][0], v] as const)) : fc.constant(null);
    return fc
      .record({
        positional,
        picked: fc.array(opt, { maxLength: 6 }),
        small: frac,
        glue: fc.boolean(),
      })
      .map(({ positional, picked, small, glue }) => {
        const args = [...cmd, ...positional];
        for (const p of picked) {
          if (!p) continue;
          const [name, v] = p;
          if (v === null) args.push(name);
          else if (glue) args.push(`${name}=${v}`);
          else args.push(name, v);
        }
        // most runs on a small chip, so the runs that are accepted finish fast
        if (cmd[0] === 'run' && small < 0.85) args.push('--set', 'fabric.L=8', '--set', 'fabric.rules=[[0,1]]', '--set', 'fabric.tile.size=8');
        if (cmd[0] === 'run' && !args.includes('--sweeps') && !args.some((a) => a.startsWith('--sweeps='))) args.push('--sweeps', '2');
        return { args };
      });
  });

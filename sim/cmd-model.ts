/** `dtca model new|info`: make and describe model files. */
import type { Argv } from 'yargs';
import { UserError } from '../fabric/errors.js';
import type { Rule } from '../fabric/rules.js';
import { readModel, modelToObject, stageCoupling } from './model.js';
import { newDtmModel, PLACEMENTS, type Placement } from './dtm.js';
import { writeFileAtomic } from './output.js';
import { makePackr } from '../traces/pack.js';
import { positiveInt, parseBeta } from './cli-common.js';

function cmdModelNew(a: Record<string, unknown>): void {
  const out = a.out as string;
  const w = String(a.weights);
  let weights: 'zero' | { random: number };
  if (w === 'zero') weights = 'zero';
  else {
    const m = /^random:([0-9.eE+-]+)$/.exec(w);
    const scale = m ? Number(m[1]) : NaN;
    if (!m || !Number.isFinite(scale) || scale <= 0) throw new UserError(`--weights ${w}: expected zero or random:SCALE (e.g. random:0.25)`);
    weights = { random: scale };
  }
  const vis = String(a.visible);
  const visible = vis === 'fmnist' ? 'fmnist' : Number(vis);
  if (visible !== 'fmnist' && (!Number.isInteger(visible) || visible < 1)) throw new UserError(`--visible ${vis}: expected fmnist or a positive integer`);
  let rules: string | Rule[] = String(a.rules);
  if (rules.trim().startsWith('[')) {
    try {
      rules = JSON.parse(rules) as Rule[];
    } catch {
      throw new UserError(`--rules ${String(a.rules)}: a preset name (G8, G12, G16) or JSON like [[0,1],[4,1]]`);
    }
  }
  const m = newDtmModel({
    T: positiveInt('stages', a.stages as number) ?? 8,
    L: positiveInt('L', a.L as number, 2) ?? 70,
    rules,
    boundary: a.boundary as 'open' | 'torus',
    visible,
    weights,
    seed: positiveInt('seed', a.seed as number, 0) ?? 1,
    beta: a.beta === undefined ? 1 : (parseBeta(a.beta) as number),
    placement: a.placement as Placement,
  });
  const json = out.endsWith('.json');
  const obj = modelToObject(m, json);
  writeFileAtomic(out, json ? JSON.stringify(obj) + '\n' : makePackr().pack(obj));
  process.stdout.write(`${out}: ${m.source}\n`);
}

function cmdModelInfo(a: Record<string, unknown>): void {
  const m = readModel(a.file as string);
  const info: Record<string, unknown> = {
    file: a.file,
    grid: m.grid,
    cells: m.grid.L * m.grid.L,
    beta: m.beta,
    stages: m.stages.map((st, k) => {
      let sw = 0;
      let mx = 0;
      for (const w of st.ew) (sw += w * w), (mx = Math.max(mx, Math.abs(w)));
      let mb = 0;
      for (const b of st.bias) mb = Math.max(mb, Math.abs(b));
      const row: Record<string, unknown> = {
        stage: k,
        edges: st.ei.length,
        weight_rms: st.ei.length ? Math.sqrt(sw / st.ei.length) : 0,
        weight_max_abs: mx,
        bias_max_abs: mb,
        clamped: st.clampIdx.length,
      };
      if (m.dtm) {
        row.coupling_image = stageCoupling(m.dtm, k, m.dtm.lambda_image);
        row.coupling_label = stageCoupling(m.dtm, k, m.dtm.lambda_label);
      }
      return row;
    }),
  };
  if (m.dtm) {
    info.dtm = {
      T: m.dtm.T,
      time_grid: m.dtm.time_grid,
      lambda_image: m.dtm.lambda_image,
      lambda_label: m.dtm.lambda_label,
      image_cells: m.dtm.image.length,
      label_cells: m.dtm.label.length,
      label_copies: m.dtm.label_copies,
      image_shape: m.dtm.image_shape,
    };
  }
  if (a.json) {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return;
  }
  const lines = [
    `${String(a.file)}: ${m.dtm ? `DTM, T = ${m.dtm.T}` : `Boltzmann machine, ${m.stages.length} stage(s)`}`,
    `grid      L = ${m.grid.L} (${m.grid.L * m.grid.L} cells), rules ${JSON.stringify(m.grid.rules)}, ${m.grid.boundary}`,
    `beta      ${m.beta}`,
  ];
  if (m.dtm) {
    lines.push(
      `visible   ${m.dtm.image.length} image cells (${m.dtm.image_shape.join('x')}) + ${m.dtm.label.length} label cells (${m.dtm.label_copies} copies per class)`,
      `forward   lambda_image ${m.dtm.lambda_image}, lambda_label ${m.dtm.lambda_label}`,
    );
  }
  lines.push('stage  edges   w_rms    |w|max   |b|max   J_c image  J_c label');
  for (const r of info.stages as Record<string, number>[]) {
    lines.push(
      `${String(r.stage).padStart(5)}  ${String(r.edges).padStart(6)}  ${r.weight_rms.toFixed(4).padStart(7)}  ${r.weight_max_abs.toFixed(4).padStart(7)}  ${r.bias_max_abs.toFixed(4).padStart(7)}  ${(r.coupling_image ?? 0).toFixed(4).padStart(9)}  ${(r.coupling_label ?? 0).toFixed(4).padStart(9)}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

export function modelCommands<T>(y: Argv<T>): Argv<T> {
  return y
    .command('model', 'make or describe model files', (y) =>
      y
        .command(
          'new',
          'write a DTM model file (msgpack, or JSON if FILE ends in .json)',
          (yy) =>
            yy
              .option('stages', { type: 'number', default: 8, describe: 'T, the number of denoising stages' })
              .option('L', { type: 'number', default: 70, describe: 'cells per side' })
              .option('rules', { type: 'string', default: 'G12', describe: 'preset (G8, G12, G16) or JSON [[a,b],...]' })
              .option('boundary', { choices: ['open', 'torus'], default: 'open' })
              .option('placement', { choices: PLACEMENTS, default: 'random', describe: 'visible cells at random colour-0 cells (the paper) or spatial: pixels in image order over the grid, labels on a lattice between them' })
              .option('visible', { type: 'string', default: 'fmnist', describe: 'fmnist (784 pixels + 100 label cells) or a number of image cells' })
              .option('weights', { type: 'string', default: 'zero', describe: 'zero, or random:SCALE (uniform in +-SCALE)' })
              .option('beta', { type: 'string', describe: 'the model\'s beta (default 1)' })
              .option('seed', { type: 'number', default: 1 })
              .option('out', { type: 'string', demandOption: true, describe: 'model file to write' }),
          (a) => cmdModelNew(a as never),
        )
        .command(
          'info <file>',
          'describe a model file',
          (yy) => yy.positional('file', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }),
          (a) => cmdModelInfo(a as never),
        )
        .demandCommand(1, 'name a model command: new, info'),
    );
}

/** `dtca model new|info`: make and describe model files. */
import type { Argv } from 'yargs';
import { Interrupted, UserError } from '../../fabric/errors.js';
import type { Rule } from '../../fabric/rules.js';
import { readModel, modelFileBytes, stageCoupling, checkModelWires, modelFabric, withGuidance, MAX_BETA, MAX_LABEL_GAIN } from '../../sim/model.js';
import { newDtmModel, PLACEMENTS, type Placement } from '../../sim/dtm.js';
import { writeFileSafe, checkTarget, isStdout } from '../../fabric/files.js';
import { resolveRules, rulesName } from '../../fabric/rules.js';
import { MAX_L } from '../../sim/config-check.js';
import { checkResources, estimateRun, formatBytes, MAX_INDEX, type RunShape } from '../../sim/resources.js';
import { positiveInt, parseBeta, cliContext, modelChipConfig, manifestBeside, workersFlag } from '../common.js';
import {
  tuneGuidance,
  tiedWithKept,
  canTuneGuidance,
  TuneStopped,
  DEFAULT_GAINS,
  DEFAULT_BETAS,
  DEFAULT_TUNE_IMAGES,
  type TuneResult,
  type TuneOptions,
} from '../../sim/quality/guidance.js';
import type { RunContext } from '../../sim/context.js';
import { listenForStop, interruptedLine } from '../signals.js';
import { lineageOf } from '../../sim/manifest.js';
import { VERSION } from '../../sim/io/output.js';
import { MIN_FD_RANK_N } from '../../sim/quality/eval.js';
import type { Session } from '../session.js';
import { parseImageChoice, imageSourceOf, describeImage, IMAGE_CHOICES } from '../../sim/layout.js';

async function cmdModelNew(a: Record<string, unknown>, s: Session): Promise<void> {
  const { log } = s;
  const out = a.out as string;
  // the path first: a model that cannot be written is not worth building
  if (!isStdout(out)) checkTarget(out, { label: `--out ${out}`, kind: 'model' });
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
  if (visible !== 'fmnist' && a.image !== undefined)
    throw new UserError(`--image: chooses the Fashion-MNIST image; --visible ${vis} gives its own number of image cells`);
  let rules: string | Rule[] = String(a.rules);
  if (rules.trim().startsWith('[')) {
    try {
      rules = JSON.parse(rules) as Rule[];
    } catch {
      throw new UserError(`--rules ${String(a.rules)}: a preset name (G8, G12, G16) or JSON like [[0,1],[4,1]]`);
    }
  }
  const T = positiveInt('stages', a.stages as number) ?? 8;
  const L = positiveInt('-L', a.L as number, 2) ?? 70; // -L, as --help shows it (the messages said --L)
  checkModelSize(T, L, rules, out);
  const m = newDtmModel({
    T,
    L,
    rules,
    boundary: a.boundary as 'open' | 'torus',
    visible,
    weights,
    seed: positiveInt('seed', a.seed as number, 0) ?? 1,
    beta: modelBeta(a.beta),
    placement: a.placement as Placement,
    image: parseImageChoice(a.image),
    names: { L: '-L', rules: '--rules' },
  });
  if (visible === 'fmnist' && m.dtm?.image_source)
    log.info(
      { image: describeImage(m.dtm.image_source), label_copies: m.dtm.label_copies },
      `image ${describeImage(m.dtm.image_source)}, ${m.dtm.label_copies} label copies per class`,
    );
  // JSON for .json files and for standard output; msgpack otherwise
  const json = out.endsWith('.json') || isStdout(out);
  const data = modelFileBytes(m, json);
  if (isStdout(out)) {
    // said once it is written (a failed write ends the process in cli/main.ts's handler)
    await new Promise<void>((done) => process.stdout.write(data, () => done()));
    log.info({ model: m.source }, 'model written to standard output');
    return;
  }
  writeFileSafe(out, data, { label: `--out ${out}`, kind: 'model' });
  process.stdout.write(`${out}: ${m.source}\n`);
}

/** The largest JSON text a model file is written as (V8's strings end near 512 MiB). */
const MAX_JSON_BYTES = 256 * 2 ** 20;

/** A model that cannot be built in memory, or written as JSON, is refused before it is built. */
function checkModelSize(T: number, L: number, rules: unknown, out: string): void {
  if (L > MAX_L) throw new UserError(`-L ${L}: at most ${MAX_L} (cell indices are 32-bit)`);
  if (T > MAX_INDEX) throw new UserError(`--stages ${T}: at most ${MAX_INDEX}`);
  const D = 4 * resolveRules(rules, '--rules').length;
  const N = L * L;
  const shape: RunShape = {
    cells: N,
    directions: D,
    chains: 0,
    workers: 1,
    stages: T,
    edgesPerStage: (N * D) / 2,
    stagesProgrammed: 0,
    cellUpdates: 0,
    cycles: 0,
    sweeps: 0,
    engine: 'ideal',
    analogSubsteps: 1,
    phaseCycles: 1,
  };
  checkResources(shape, estimateRun(shape), { canForce: false, what: 'this model' });
  const json = T * (((N * D) / 2) * 3 * 22 + N * 22);
  if ((out.endsWith('.json') || out === '-') && json > MAX_JSON_BYTES) {
    throw new UserError(
      `--out ${out}: the model is about ${formatBytes(json)} as JSON, more than JSON text can hold here; write msgpack (a file name not ending in .json)`,
    );
  }
}

/** A model holds one beta; a schedule START:END belongs to `dtca run --beta`. */
function modelBeta(v: unknown): number {
  if (v === undefined) return 1;
  const b = parseBeta(v);
  if (typeof b !== 'number') throw new UserError(`--beta ${String(v)}: a model holds one beta; give a schedule START:END to dtca run --beta`);
  return b;
}

function cmdModelInfo(a: Record<string, unknown>): void {
  const m = readModel(a.file as string);
  checkModelWires(modelFabric(m), m); // the file as a whole: every edge a wire of its own grid, once
  const info: Record<string, unknown> = {
    file: a.file,
    grid: m.grid,
    cells: m.grid.L * m.grid.L,
    beta: m.beta,
    stages: m.stages.map((st, k) => {
      let sw = 0;
      let mx = 0;
      for (const w of st.ew) ((sw += w * w), (mx = Math.max(mx, Math.abs(w))));
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
      image_source: imageSourceOf(m.dtm),
      label_gain: m.dtm.label_gain ?? 1,
    };
  }
  if (a.json) {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return;
  }
  const lines = [
    `${String(a.file)}: ${m.dtm ? `DTM, T = ${m.dtm.T}` : `Boltzmann machine, ${m.stages.length} stage${m.stages.length === 1 ? '' : 's'}`}`,
    // the preset's name where the rules are one (dtca run's table says G12; this said only [[0,1],[4,1],[9,10]])
    `grid      L = ${m.grid.L} (${m.grid.L * m.grid.L} cells), rules ${rulesName(m.grid.rules) === JSON.stringify(m.grid.rules) ? '' : `${rulesName(m.grid.rules)} `}${JSON.stringify(m.grid.rules)}, ${m.grid.boundary}`,
    `beta      ${m.beta}`,
  ];
  const labelled = m.dtm !== undefined && m.dtm.label.length > 0;
  if (m.dtm) {
    const image = `${m.dtm.image.length} image cells (${imageSourceOf(m.dtm) ? `Fashion-MNIST ${describeImage(imageSourceOf(m.dtm)!)}` : m.dtm.image_shape.join('x')})`;
    const copies = `${m.dtm.label_copies} cop${m.dtm.label_copies === 1 ? 'y' : 'ies'} per class`;
    lines.push(
      `visible   ${image}${labelled ? ` + ${m.dtm.label.length} label cells (${copies})` : ', no label cells'}`,
      labelled ? `forward   lambda_image ${m.dtm.lambda_image}, lambda_label ${m.dtm.lambda_label}` : `forward   lambda_image ${m.dtm.lambda_image}`,
    );
    if (labelled)
      lines.push(
        `guidance  label gain ${m.dtm.label_gain ?? 1}${(m.dtm.label_gain ?? 1) === 1 ? ' (none)' : " (the label cells' wires x this when labels are clamped)"}`,
      );
  }
  // a DTM's stages carry its forward couplings J_c; a Boltzmann machine has none (a column of zeros
  // said it had), only the cells its file clamps
  lines.push(`stage  edges   w_rms    |w|max   |b|max   ${m.dtm ? `J_c image${labelled ? '  J_c label' : ''}` : 'clamped'}`);
  for (const r of info.stages as Record<string, number>[]) {
    const last = m.dtm
      ? `${(r.coupling_image ?? 0).toFixed(4).padStart(9)}${labelled ? `  ${(r.coupling_label ?? 0).toFixed(4).padStart(9)}` : ''}`
      : String(r.clamped).padStart(7);
    lines.push(
      `${String(r.stage).padStart(5)}  ${String(r.edges).padStart(6)}  ${r.weight_rms.toFixed(4).padStart(7)}  ${r.weight_max_abs.toFixed(4).padStart(7)}  ${r.bias_max_abs.toFixed(4).padStart(7)}  ${last}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

/** fields of a manifest that describe the file itself (or its guidance, which tuning replaces), not how its weights were made */
const FILE_FIELDS = ['model', 'sha256', 'description', 'metrics', 'metrics_without_guidance', 'note', 'total_wall_s_note', 'guidance_clock_hz'];

/**
 * A tuned model's manifest: its source's (how the weights were trained, kept), the source's own
 * record moved into `lineage`, and the guidance search — with the chip and clock it ran on
 * (`guidance_chip`, `guidance_clock_hz` on the cycle-accurate chip: dtca run prefers such a model at
 * that clock, sim/shipped.ts).
 */
export function tunedManifest(
  file: string,
  out: string,
  src: Record<string, unknown> | null,
  t: TuneResult & { chip: 'ideal' | 'cycle'; config: string; clockHz: number },
): Record<string, unknown> {
  const kept = src ? Object.fromEntries(Object.entries(src).filter(([k]) => !FILE_FIELDS.includes(k) && k !== 'lineage')) : {};
  const lineage = src ? lineageOf(src) : [];
  const total = typeof src?.total_wall_s === 'number' ? src.total_wall_s + t.wall_s : null;
  return {
    ...kept,
    model: out,
    tuned_from: file,
    command: ['dtca', ...process.argv.slice(2)].join(' '),
    dtca_version: VERSION,
    finished: new Date().toISOString(),
    label_gain: t.gain,
    beta: t.beta,
    guidance: { gain: t.gain, beta: t.beta, rows: t.rows, images: t.images, sweeps: t.sweeps, seed: t.seed, wall_s: t.wall_s, chip: t.chip, config: t.config },
    guidance_chip: t.chip,
    ...(t.chip === 'cycle' ? { guidance_clock_hz: t.clockHz } : {}),
    ...(total !== null ? { total_wall_s: total } : {}),
    lineage,
  };
}

/** `dtca model tune MODEL --out FILE`: choose the label gain and beta on generated images (sim/quality/guidance.ts). */
async function cmdModelTune(a: Record<string, unknown>, s: Session): Promise<void> {
  const file = String(a.file);
  const out = String(a.out);
  // `-` is standard output elsewhere; here it was a file named "-" (and "-.manifest.json") in the working directory
  if (isStdout(out)) throw new UserError('--out -: model tune writes a model file and its FILE.manifest.json beside it; name a file');
  const m = readModel(file);
  checkTarget(out, { label: `--out ${out}`, kind: 'model' }); // after the read: FILE itself is refused here, before the search
  if (!canTuneGuidance(m))
    throw new UserError(`${file}: not a Fashion-MNIST DTM with label cells; guidance is chosen by the quality classifier, which judges those only`);
  const cfg = modelChipConfig(m, { config: a.config as string | undefined, set: a.set as string[] | undefined, chip: String(a.chip ?? 'ideal') });
  // --gains in [0, MAX_LABEL_GAIN], --betas in (0, MAX_BETA], each value once: checked here, in the flag's words
  const list = (name: string, v: unknown, min: number, minOpen: boolean, max: number): number[] | undefined => {
    if (v === undefined) return undefined;
    const parts = String(v).split(',');
    const xs = parts.map((t) => (t.trim() === '' ? NaN : Number(t.trim())));
    if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x < min || (minOpen && x === min) || x > max))
      throw new UserError(`--${name} ${String(v)}: expected comma-separated numbers in ${minOpen ? '(' : '['}${min}, ${max}], e.g. 1,2,3`);
    const twice = xs.find((x, i) => xs.indexOf(x) !== i);
    if (twice !== undefined) throw new UserError(`--${name} ${String(v)}: ${twice} is listed twice`);
    return xs;
  };
  const options = {
    gains: list('gains', a.gains, 0, false, MAX_LABEL_GAIN),
    betas: list('betas', a.betas, 0, true, MAX_BETA),
    images: positiveInt('images', a.images as number | undefined, 2),
    workers: workersFlag(a.workers as number | undefined),
    dataDir: a.data as string | undefined,
  };
  // SIGINT/SIGTERM stop the search before its next sweep; nothing is written, and the same command searches again
  // (every setting generates from the same seed: the same choice as an uninterrupted search)
  const stop = listenForStop(s.signals);
  try {
    await tuneAndWrite(
      a,
      s,
      m,
      cfg,
      options,
      cliContext(s, () => stop.signal !== null),
    );
  } catch (e) {
    if (stop.signal !== null && e instanceof Interrupted) {
      const far = e instanceof TuneStopped ? `${e.tried} of ${e.total} settings tried` : 'before the search';
      throw interruptedLine(stop.signal, `: ${far}, nothing written`, ['dtca', ...s.argv], 'the search starts again with');
    }
    throw e;
  } finally {
    stop.dispose();
  }
}

/** The guidance search, then the tuned model and its manifest (written whole, each renamed into place) and the report. */
async function tuneAndWrite(
  a: Record<string, unknown>,
  s: Session,
  m: ReturnType<typeof readModel>,
  cfg: ReturnType<typeof modelChipConfig>,
  options: TuneOptions,
  ctx: RunContext,
): Promise<void> {
  const file = String(a.file);
  const out = String(a.out);
  const json = out.endsWith('.json');
  const t = await tuneGuidance(m, cfg, options, ctx);
  const tuned = withGuidance(m, t.gain, t.beta);
  const chip = String(a.chip ?? 'ideal') as 'ideal' | 'cycle';
  // the manifest first (checked before the model is written): the source's, with the guidance and where it was chosen
  const manifestPath = `${out}.manifest.json`;
  checkTarget(manifestPath, { label: `--out ${out}`, kind: 'train-manifest' });
  const manifest = tunedManifest(file, out, manifestBeside(file, s, "the tuned model's manifest does not carry its source's"), {
    ...t,
    chip,
    config: cfg.name,
    clockHz: cfg.clock.clock_hz,
  });
  writeFileSafe(out, modelFileBytes(tuned, json), { label: `--out ${out}`, kind: 'model' });
  writeFileSafe(manifestPath, JSON.stringify(manifest, null, 2) + '\n', { label: `--out ${out}`, kind: 'train-manifest' });
  // below the N at which dtca eval says FD cannot rank anything, the setting kept is as likely chance as better
  const smallN =
    t.images < MIN_FD_RANK_N
      ? `N = ${t.images} is too few images for FD to rank settings (dtca eval: at least ${MIN_FD_RANK_N}): the setting kept may be chance; tune with --images ${MIN_FD_RANK_N} or more (default ${DEFAULT_TUNE_IMAGES})`
      : null;
  if (smallN) s.log.warn({ images: t.images, min: MIN_FD_RANK_N }, smallN);
  if (a.json) {
    process.stdout.write(JSON.stringify({ model: file, out, chip: a.chip ?? 'ideal', ...t }, null, 2) + '\n');
    return;
  }
  const kept = t.rows.find((r) => r.gain === t.gain && r.beta === t.beta)!;
  const tied = new Set(tiedWithKept(t.rows, kept));
  const fdText = (r: (typeof t.rows)[number]) => r.fd.toFixed(2) + (r.fd_se === null ? '' : ` ± ${r.fd_se.toFixed(2)}`);
  const fdWidth = Math.max(`FD (N = ${t.images})`.length, ...t.rows.map((r) => fdText(r).length));
  const lines = [
    `${file}: ${t.images} class-clamped images per setting on the ${cfg.name} ${a.chip === 'cycle' ? 'cycle-accurate' : 'ideal (chip weight precision)'} chip, seed ${t.seed}, FD against the train split`,
    ` gain   beta  ${`FD (N = ${t.images})`.padStart(fdWidth)}  clamped accuracy`,
    ...t.rows.map(
      (r) =>
        `${r.gain.toFixed(2).padStart(5)}  ${r.beta.toFixed(2).padStart(5)}  ${fdText(r).padStart(fdWidth)}  ${r.clamped_accuracy.toFixed(3).padStart(16)}${r === kept ? '  <- kept' : tied.has(r) ? '  ~' : ''}`,
    ),
    ...(tied.size > 1
      ? [
          `~: ${tied.size - 1} other setting${tied.size > 2 ? 's' : ''} not told apart from the kept one at this N (FD within twice the combined standard error): the choice among them is as much the images drawn as the setting; more --images tell them apart.`,
        ]
      : []),
    ...(smallN ? [`WARNING: ${smallN}.`] : []),
    `wrote ${out}: label gain ${t.gain}, beta ${t.beta} (${t.wall_s.toFixed(1)} s); manifest ${manifestPath}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

export function modelCommands<T>(y: Argv<T>, s: Session): Argv<T> {
  return y.command('model', 'make or describe model files', (y) =>
    y
      .command(
        'new',
        'write a DTM model file (msgpack, or JSON if FILE ends in .json)',
        (yy) =>
          yy
            .option('stages', { type: 'number', default: 8, describe: 'T, the number of denoising stages' })
            .option('L', { type: 'number', default: 70, describe: 'cells per side' })
            .option('rules', { type: 'string', default: 'G12', describe: 'preset (G8, G12, G16) or JSON [[a,b],...]' })
            .option('boundary', { choices: ['open', 'torus'], default: 'open', describe: "the grid's edges: open, or wrapped (a torus)" })
            .option('placement', {
              choices: PLACEMENTS,
              default: 'random',
              describe: 'visible cells at random colour-0 cells (the paper) or spatial: pixels in image order over the grid, labels on a lattice between them',
            })
            .option('visible', {
              type: 'string',
              default: 'fmnist',
              describe: 'fmnist (784 pixels + 100 label cells, or a smaller image on a smaller grid: see --image) or a number of image cells',
            })
            .option('image', {
              type: 'string',
              describe: `--visible fmnist: auto (default: the largest image that fits the grid: 28x28, else Fashion-MNIST pooled to 14x14 or 7x7) or a side (${IMAGE_CHOICES.slice(1).join(', ')})`,
            })
            .option('weights', { type: 'string', default: 'zero', describe: 'zero, or random:SCALE (uniform in +-SCALE)' })
            .option('beta', { type: 'string', describe: "the model's beta (default 1)" })
            .option('seed', { type: 'number', default: 1, describe: "seed of the random weights and of the visible cells' placement" })
            .option('out', { type: 'string', demandOption: true, describe: "model file to write ('-': JSON on standard output)" }),
        (a) => cmdModelNew(a as never, s),
      )
      .command(
        'info <file>',
        'describe a model file',
        (yy) =>
          yy.positional('file', { type: 'string', demandOption: true, describe: 'model file' }).option('json', {
            type: 'boolean',
            default: false,
            describe: 'print the description as JSON (grid, beta, per-stage weights and couplings, the dtm section)',
          }),
        (a) => cmdModelInfo(a as never),
      )
      .command(
        'tune <file>',
        "choose a Fashion-MNIST model's label gain and beta on generated images and write the model with them (dtca train does this itself)",
        (yy) =>
          yy
            .positional('file', { type: 'string', demandOption: true, describe: 'the model file to tune' })
            .option('out', { type: 'string', demandOption: true, describe: 'the tuned model (msgpack, or JSON if it ends in .json); a new file, not FILE' })
            .option('config', {
              type: 'string',
              describe:
                "chip config, preset or file (default dtca-paper); without a config or a --set of the grid the chip takes the model's grid, a grid named must be the model's (as dtca run)",
            })
            .option('set', { type: 'string', array: true, describe: 'override a config value' })
            .option('chip', { choices: ['ideal', 'cycle'], default: 'ideal', describe: 'the chip to generate on (ideal: the chip dtca train trains on)' })
            .option('gains', { type: 'string', describe: `label gains to try (default ${DEFAULT_GAINS.join(',')})` })
            .option('betas', { type: 'string', describe: `betas to try with the best gain (default ${DEFAULT_BETAS.join(',')})` })
            .option('images', { type: 'number', describe: `images per setting (default ${DEFAULT_TUNE_IMAGES})` })
            .option('workers', { type: 'number', describe: 'worker threads over images' })
            .option('data', { type: 'string', describe: 'Fashion-MNIST directory' })
            .option('json', {
              type: 'boolean',
              default: false,
              describe:
                "print the search as JSON instead of the table: the chosen gain and beta, every setting's FD and clamped accuracy, images, sweeps, seed",
            }),
        (a) => cmdModelTune(a as never, s),
      )
      .demandCommand(1, 'name a model command: new, info, tune'),
  );
}

/**
 * `dtca trace inspect FILE [--json]` and `dtca trace export FILE [--csv OUT] [--npy DIR] [--vcd OUT.vcd]`.
 *
 * inspect: what a trace holds (records by type, stages, chains, sweeps, size, energy totals) and
 * whether it was cut short. A cut tail (a crash, Ctrl-C) is reported, not an error; damage in the
 * middle prints what read before it and exits 2 with the byte offset.
 *
 * export: one row per sweep record.
 *   --csv OUT  columns chain,stage,sweep,cycle,time_s,toggles,energy_total_j,energy_<component>_j...
 *   --npy DIR  states.npy (uint8, shape (records, traced cells), 0/1, 1 = spin +1), cells.npy (int32,
 *              the cell index of each states column), and one 1-D .npy per column: chain, stage,
 *              sweep (int32), cycle, toggles (int64), time_s, energy_total_j, energy_<component>_j
 *              (float64). The cell layout (traces/layout.ts): layout.npy (uint8 per cell: 0 latent,
 *              1 image pixel, 2 label copy), colour.npy, pixel_index.npy (int32, the image's shape:
 *              the cell of each pixel), label_index.npy (int32 (classes, copies)), pixel_column.npy and
 *              label_column.npy (their states.npy columns, -1 where not traced). The stage records
 *              (stage_begin: the stage's programming; stage_end: the stage's totals) as
 *              stage_records_{stage,kind (0 begin, 1 end),cycle,time_s,energy_total_j,energy_<c>_j}.npy.
 *   --vcd OUT  waveforms for a waveform viewer (GTKWave, Surfer): clock, colour phase, stage, chain and
 *              sweep counters, the chosen cells' spins (traces/trace-vcd.ts); --cells, --stages,
 *              --chains choose what; a request estimated over --max-mb is refused.
 * Outputs are written to temporary names and renamed when all are complete (fabric/files.ts: never
 * over the input, a device, a FIFO, or a file that is not an earlier export); a damaged trace or a
 * full disk leaves no output behind, nor does SIGINT/SIGTERM (the export stops before its next
 * record: one line, exit 130/143). `--csv -` writes the CSV to standard output.
 */
import type { Argv } from 'yargs';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { UserError, Interrupted } from '../../fabric/errors.js';
import { shown } from '../../fabric/rules.js';
import { csvLine } from '../../fabric/csv.js';
import { listenForStop, interruptedLine } from '../signals.js';
import { eng } from '../../sim/units.js';
import { SafeFile, isStdout, makeDirs, noteClaimedDir, noteInput, outputError, checkTarget } from '../../fabric/files.js';
import { inspectTrace, readTrace, unpackStates, type HeaderRecord, type TraceSummary } from '../../traces/reader.js';
import { NpyStreamWriter, npyBytes } from '../../traces/npy.js';
import { layoutArrays } from '../../traces/layout.js';
import type { Logger } from 'pino';
import type { Session } from '../session.js';
import { exportVcd, formatTimescale, DEFAULT_VCD_MAX_BYTES } from '../../traces/trace-vcd.js';
import { parseIndexList } from '../../traces/writer.js';
import { VERSION, notEmptyMessage } from '../../sim/io/output.js';

function fmtJ(v: number | undefined): string {
  return v === undefined ? '-' : v.toExponential(4);
}

function formatSummary(s: TraceSummary): string {
  const lines: [string, string][] = [];
  const th = s.thinning;
  lines.push(['trace', s.path]);
  lines.push(['format', `${s.format} v${s.version} (dtca ${s.dtca_version}${s.created ? `, created ${s.created}` : ''})`]);
  lines.push(['size', `${s.bytes} bytes`]);
  lines.push(['grid', `L=${s.L}, ${s.N} cells, ${s.n_traced} traced`]);
  lines.push([
    'run',
    `${s.run.chains} chains x ${s.run.stages} stages x ${s.run.sweeps} sweeps (${s.run.mapping ?? '-'}, ${typeof s.run.clock_hz === 'number' ? eng(s.run.clock_hz, 'Hz') : '-'})`,
  ]);
  lines.push([
    'thinning',
    `every ${th.every}, stages ${th.stages ? th.stages.join(',') : 'all'}, chains ${th.chains ? th.chains.join(',') : 'all'}, cells ${th.cells ? th.cells.join(',') : 'all'}`,
  ]);
  const types = Object.entries(s.by_type)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  lines.push(['records', `${s.records} (${types})`]);
  const range = s.sweep_range ? ` (${s.sweep_range[0]}..${s.sweep_range[1]})` : '';
  lines.push(['recorded', `${s.stages} stages, ${s.chains} chains, ${s.sweeps} sweep indices${range}`]);
  if (s.timeline === 'arrays') lines.push(['time', `per array: stage k's records on array k of ${s.run.stages}, every array from cycle 0`]);
  else if (s.timeline === 'serial')
    lines.push([
      'time',
      "a version 1 pipeline trace: its stage and sweep records count cycles as if one array ran the stages in turn; the end record holds the run's",
    ]);
  lines.push([s.timeline === 'arrays' ? 'latest cycle' : 'last cycle', `${s.cycle} (${s.time_s.toExponential(4)} s)`]);
  lines.push([
    'energy (J)',
    `total ${fmtJ(s.energy_j.total)} (${s.energy_source === 'end' ? 'from the end record' : 'partial: summed from the records read'})`,
  ]);
  for (const [k, v] of Object.entries(s.energy_j)) if (k !== 'total') lines.push([`  ${k}`, fmtJ(v)]);
  let status: string;
  if (s.status === 'damaged') status = `damaged: ${s.error}`;
  else if (s.status === 'truncated') status = `cut short: whole records end at byte ${s.truncated_at_byte} of ${s.bytes}`;
  else if (s.status === 'incomplete') status = 'incomplete: no end record (the run stopped between records)';
  else if (s.status === 'interrupted') {
    const at = s.interrupted?.at ?? {};
    const where = ['stage', 'chain', 'sweep']
      .filter((k) => at[k as keyof typeof at] !== undefined)
      .map((k) => `${k} ${at[k as keyof typeof at]}`)
      .join(', ');
    status = `interrupted (${s.interrupted?.reason})${where ? ` at ${where}` : ''}: the run was stopped; the trace holds what it did until then`;
  } else status = 'complete';
  lines.push(['status', status]);
  // the header's strings (dtca_version, created, mapping, an interrupt's reason) are the file's:
  // control and direction-changing characters are shown escaped, never sent to the terminal
  return lines.map(([k, v]) => `${shown(k, 80).padEnd(16)}${shown(v, 2000)}`).join('\n') + '\n';
}

async function cmdInspect(file: string, json: boolean): Promise<void> {
  const s = await inspectTrace(file);
  process.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : formatSummary(s));
  if (s.error) throw new UserError(s.error);
}

/** Files written under temporary names, renamed into place together by commit() or removed by abort(). */
class Outputs {
  private files: { commit(): void; abort(): void }[] = [];
  add<T extends { commit(): void; abort(): void }>(f: T): T {
    this.files.push(f);
    return f;
  }
  /** A whole small file, written and fsynced under its temporary name now, renamed at commit(). */
  whole(path: string, data: Uint8Array): void {
    const f = this.add(new SafeFile(path, { label: path, kind: 'npy' }));
    f.write(data);
    f.close();
  }
  commit(): void {
    for (const f of this.files) f.commit();
    this.files = [];
  }
  abort(): void {
    for (const f of this.files) f.abort();
    this.files = [];
  }
}

/** CSV written through a buffer: to a temporary file renamed at commit, or to standard output. */
class CsvWriter {
  private file: SafeFile | null;
  private parts: string[] = [];
  private size = 0;
  constructor(path: string) {
    this.file = isStdout(path) ? null : new SafeFile(path, { label: `--csv ${path}`, kind: 'csv' });
  }
  line(s: string): void {
    this.parts.push(s, '\n');
    this.size += s.length + 1;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.parts.length) {
      const text = this.parts.join('');
      if (this.file) this.file.write(text);
      else process.stdout.write(text);
    }
    this.parts = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    this.file?.close();
  }
  commit(): void {
    this.file?.commit();
  }
  abort(): void {
    this.file?.abort();
  }
}

/** Refuses an --npy path that cannot take an export, creating nothing (checked before any output is written). */
function checkNpyDir(p: string): string {
  if (p === '') throw new UserError("--npy '': an empty path; name a directory");
  if (isStdout(p)) throw new UserError('--npy -: writes a directory of files, not standard output');
  const dir = resolve(p);
  let st;
  try {
    st = statSync(dir);
  } catch {
    return dir; // created later (makeDirs names what stops it)
  }
  if (!st.isDirectory()) throw new UserError(`--npy ${p}: ${dir} exists and is not a directory`);
  checkNpyEntries(p, dir);
  return dir;
}

/** Creates the --npy directory if needed; returns it and the directory it had to create first (or undefined). */
function prepareDir(p: string): { dir: string; created: string | undefined } {
  const dir = checkNpyDir(p);
  const created = makeDirs(dir, `--npy ${p}`);
  if (created)
    noteClaimedDir(dir); // a fresh directory: its files are this export's own
  else checkNpyEntries(p, dir);
  return { dir, created };
}

function checkNpyEntries(p: string, dir: string): void {
  // an existing directory: empty, or an earlier --npy export (its states.npy and only .npy files), as rng --out refuses one holding anything else
  const entries = readdirSync(dir);
  // (a dangling or looping symbolic link among them is not an export's file: was an ENOENT/ELOOP stack trace)
  const isFile = (f: string) => {
    try {
      return statSync(join(dir, f)).isFile();
    } catch {
      return false;
    }
  };
  const ownExport = entries.includes('states.npy') && entries.every((f) => f.endsWith('.npy') && isFile(f));
  if (entries.length > 0 && !ownExport) throw new UserError(notEmptyMessage(`--npy ${p}`, entries, ' (or an earlier --npy export)'));
}

/**
 * Every output checked before the first is written (the VCD is written before the --csv/--npy pass:
 * a --csv refused after it left the VCD behind with exit 2), and no two of them the same file, or a
 * file inside the --npy directory (which holds only its .npy arrays).
 */
function checkOutputs(csv: string | undefined, npy: string | undefined, vcd: string | undefined): void {
  const files: [string, string][] = [];
  if (csv !== undefined && !isStdout(csv)) files.push([`--csv ${csv}`, checkTarget(csv, { label: `--csv ${csv}`, kind: 'csv' })]);
  if (vcd !== undefined && !isStdout(vcd)) files.push([`--vcd ${vcd}`, checkTarget(vcd, { label: `--vcd ${vcd}`, kind: 'vcd' })]);
  if (files.length === 2 && files[0][1] === files[1][1]) throw new UserError(`${files[0][0]} and ${files[1][0]} name the same file; give each its own`);
  if (npy === undefined) return;
  const dir = checkNpyDir(npy);
  for (const [label, abs] of files) {
    if (abs === dir) throw new UserError(`${label} and --npy ${npy} name the same path; give each its own`);
    if (abs.startsWith(dir + sep)) throw new UserError(`${label}: inside the --npy directory ${npy}, which holds only the .npy arrays; write it elsewhere`);
  }
}

interface VcdArgs {
  vcd?: string;
  cells?: string;
  stages?: string;
  chains?: string;
  clock?: boolean;
  maxMb?: number;
}

/**
 * The VCD export; `quietStdout`: standard output carries the CSV, so the summary line goes to the log.
 * `warnCut`: say when the trace was cut short (the --csv/--npy export says it otherwise).
 */
async function cmdExportVcd(file: string, a: VcdArgs, quietStdout: boolean, warnCut: boolean, log: Logger, stop: () => boolean): Promise<string> {
  const vcd = a.vcd as string;
  if (isStdout(vcd)) throw new UserError('--vcd -: the VCD is written to a file (renamed into place when complete); name a file');
  const maxMb = a.maxMb ?? DEFAULT_VCD_MAX_BYTES / (1024 * 1024);
  if (!(maxMb > 0)) throw new UserError(`--max-mb ${a.maxMb}: must be a positive number`);
  const visible = a.cells !== undefined && String(a.cells).trim() === 'visible';
  if (!visible && a.cells !== undefined && /visible/.test(String(a.cells)))
    throw new UserError(`--cells '${String(a.cells)}': "visible" stands alone (every visible cell); name other cells by index, as 0-63,200`);
  const r = await exportVcd(file, vcd, {
    cells: a.cells === undefined || visible ? undefined : parseIndexList('--cells', String(a.cells)),
    visible,
    stages: a.stages === undefined ? undefined : parseIndexList('--stages', String(a.stages)),
    chains: a.chains === undefined ? undefined : parseIndexList('--chains', String(a.chains)),
    clock: a.clock !== false,
    maxBytes: Math.round(maxMb * 1024 * 1024),
    version: `dtca ${VERSION}`,
    label: `--vcd ${vcd}`,
    stop,
  });
  const size = r.bytes >= 1e6 ? `${(r.bytes / 1e6).toFixed(1)} MB` : `${(r.bytes / 1e3).toFixed(1)} kB`;
  const line = `wrote ${r.path} (${size}: ${r.cells} cell${r.cells === 1 ? '' : 's'}, ${r.records} sweep record${r.records === 1 ? '' : 's'}, ${r.cycles} cycles, timescale ${formatTimescale(r.timescale)})`;
  if (quietStdout) log.info({ vcd: r.path, bytes: r.bytes }, line);
  else process.stdout.write(line + '\n');
  if (warnCut && r.truncated) {
    log.warn({ file, whole_records_end_at_byte: r.truncated.at, bytes: r.truncated.bytes }, 'trace was cut short; exported the whole records before the cut');
  }
  return r.path;
}

/**
 * The export with SIGINT/SIGTERM stopping it before its next record (cli/signals.ts): its temporary
 * files are removed (and an --npy directory it created), one line says what was written (nothing,
 * or the --vcd file finished before the --csv/--npy pass) and gives the same command, exit 130/143.
 */
async function cmdExport(file: string, csv: string | undefined, npy: string | undefined, vcd: VcdArgs, s: Session): Promise<void> {
  const sig = listenForStop(s.signals);
  let vcdWritten: string | null = null;
  try {
    await exportAll(
      file,
      csv,
      npy,
      vcd,
      s.log,
      () => sig.signal !== null,
      (p) => (vcdWritten = p),
    );
  } catch (e) {
    if (sig.signal !== null && e instanceof Interrupted) {
      const what =
        (vcdWritten ? `only ${vcdWritten} written (the --csv/--npy export not)` : 'nothing written') +
        (csv !== undefined && isStdout(csv) ? ', the CSV on standard output cut short' : '');
      throw interruptedLine(sig.signal, `: the export of ${file} stopped, ${what}`, ['dtca', ...s.argv], 'export again with');
    }
    throw e;
  } finally {
    sig.dispose();
  }
}

async function exportAll(
  file: string,
  csv: string | undefined,
  npy: string | undefined,
  vcd: VcdArgs,
  log: Logger,
  stop: () => boolean,
  onVcd: (path: string) => void,
): Promise<void> {
  if (csv === undefined && npy === undefined && vcd.vcd === undefined)
    throw new UserError('trace export: name an output: --csv OUT, --npy DIR and/or --vcd OUT.vcd');
  if (vcd.vcd === undefined) {
    for (const k of ['cells', 'stages', 'chains', 'maxMb', 'clock'] as const) {
      if (vcd[k] !== undefined)
        throw new UserError(`trace export: --${k === 'maxMb' ? 'max-mb' : k === 'clock' ? (vcd.clock ? 'clock' : 'no-clock') : k} applies to --vcd only`);
    }
  }
  noteInput(file); // so an output naming the trace is refused as its input, before anything is written
  checkOutputs(csv, npy, vcd.vcd);
  if (vcd.vcd !== undefined) onVcd(await cmdExportVcd(file, vcd, csv !== undefined && isStdout(csv), csv === undefined && npy === undefined, log, stop));
  if (csv === undefined && npy === undefined) return;
  const reader = readTrace(file); // notes the input, so no output may replace it
  const csvPath = csv === undefined ? undefined : isStdout(csv) ? '-' : checkTarget(csv, { label: `--csv ${csv}`, kind: 'csv' });
  const prepared = npy === undefined ? undefined : prepareDir(npy);
  const npyDir = prepared?.dir;
  const out = new Outputs();
  let csvW: CsvWriter | null = null;
  let states: NpyStreamWriter | null = null;
  let header: HeaderRecord | null = null;
  let comps: string[] | null = null;
  const col = {
    chain: [] as number[],
    stage: [] as number[],
    sweep: [] as number[],
    cycle: [] as number[],
    time_s: [] as number[],
    toggles: [] as number[],
    energy_total_j: [] as number[],
  };
  const ecol: Record<string, number[]> = {};
  // stage_begin (the stage's programming) and stage_end (the stage's totals) records, as columns
  const scol = { stage: [] as number[], kind: [] as number[], cycle: [] as number[], time_s: [] as number[], energy_total_j: [] as number[] };
  const secol: Record<string, number[]> = {};
  let stageRecords = 0;
  let rows = 0;
  try {
    for await (const r of reader) {
      if (stop()) throw new Interrupted({}, 'stop requested'); // the reads between chunks give the signal handler its turns
      if (r.type === 'header') {
        header = r;
        if (npyDir) states = out.add(new NpyStreamWriter(join(npyDir, 'states.npy'), r.n_traced));
        continue;
      }
      if (r.type === 'stage_begin' || r.type === 'stage_end') {
        if (!npyDir) continue;
        scol.stage.push(r.stage);
        scol.kind.push(r.type === 'stage_begin' ? 0 : 1);
        scol.cycle.push(r.cycle);
        scol.time_s.push(r.time_s);
        const e = r.energy_j ?? {};
        const parts = Object.keys(e).filter((k) => k !== 'total');
        scol.energy_total_j.push(e.total ?? parts.reduce((a, c) => a + (e[c] ?? 0), 0));
        for (const c of parts) if (!secol[c]) secol[c] = new Array<number>(stageRecords).fill(NaN);
        for (const [c, v] of Object.entries(secol)) v.push(e[c] ?? NaN);
        stageRecords++;
        continue;
      }
      if (r.type !== 'sweep') continue;
      const h = header as HeaderRecord;
      if (r.n_cells !== h.n_traced) {
        throw new UserError(
          `${file}: sweep record (chain ${r.chain}, stage ${r.stage}, sweep ${r.sweep}) holds ${r.n_cells} cells, the header traces ${h.n_traced}`,
        );
      }
      if (comps === null) {
        comps = Object.keys(r.energy_j).filter((k) => k !== 'total');
        for (const c of comps) ecol[c] = [];
        if (csvPath) {
          csvW = out.add(new CsvWriter(csvPath));
          csvW.line(csvLine(['chain', 'stage', 'sweep', 'cycle', 'time_s', 'toggles', 'energy_total_j', ...comps.map((c) => `energy_${c}_j`)]));
        }
      }
      const total = r.energy_j.total ?? comps.reduce((a, c) => a + (r.energy_j[c] ?? 0), 0);
      const ev = comps.map((c) => r.energy_j[c]);
      csvW?.line(csvLine([r.chain, r.stage, r.sweep, r.cycle, r.time_s, r.toggles, total, ...ev]));
      if (npyDir) {
        states?.writeRow(unpackStates(r, h.n_traced));
        col.chain.push(r.chain);
        col.stage.push(r.stage);
        col.sweep.push(r.sweep);
        col.cycle.push(r.cycle);
        col.time_s.push(r.time_s);
        col.toggles.push(r.toggles);
        col.energy_total_j.push(total);
        comps.forEach((c, i) => ecol[c].push(ev[i] ?? NaN));
      }
      rows++;
    }
    if (csvPath && !csvW) {
      csvW = out.add(new CsvWriter(csvPath));
      csvW.line('chain,stage,sweep,cycle,time_s,toggles,energy_total_j');
    }
    csvW?.close();
    states?.close();
    if (npyDir && header) {
      out.whole(join(npyDir, 'cells.npy'), npyBytes('int32', header.traced_cells));
      const types: Record<string, 'int32' | 'int64' | 'float64'> = {
        chain: 'int32',
        stage: 'int32',
        sweep: 'int32',
        cycle: 'int64',
        toggles: 'int64',
        time_s: 'float64',
        energy_total_j: 'float64',
      };
      for (const [k, v] of Object.entries(col)) out.whole(join(npyDir, `${k}.npy`), npyBytes(types[k], v));
      for (const [c, v] of Object.entries(ecol)) out.whole(join(npyDir, `energy_${c}_j.npy`), npyBytes('float64', v));
      // the cell layout: which cells are image pixels and label copies, and their states.npy columns
      const lay = layoutArrays(header);
      out.whole(join(npyDir, 'layout.npy'), npyBytes('uint8', lay.layout));
      out.whole(join(npyDir, 'colour.npy'), npyBytes('uint8', lay.colour));
      out.whole(join(npyDir, 'pixel_index.npy'), npyBytes('int32', lay.pixelIndex, lay.imageShape));
      out.whole(join(npyDir, 'label_index.npy'), npyBytes('int32', lay.labelIndex, lay.labelShape));
      out.whole(join(npyDir, 'pixel_column.npy'), npyBytes('int32', lay.pixelColumn, lay.imageShape));
      out.whole(join(npyDir, 'label_column.npy'), npyBytes('int32', lay.labelColumn, lay.labelShape));
      const stypes: Record<string, 'int32' | 'uint8' | 'int64' | 'float64'> = {
        stage: 'int32',
        kind: 'uint8',
        cycle: 'int64',
        time_s: 'float64',
        energy_total_j: 'float64',
      };
      for (const [k, v] of Object.entries(scol)) out.whole(join(npyDir, `stage_records_${k}.npy`), npyBytes(stypes[k], v));
      for (const [c, v] of Object.entries(secol)) out.whole(join(npyDir, `stage_records_energy_${c}_j.npy`), npyBytes('float64', v));
    }
    out.commit();
  } catch (e) {
    out.abort();
    if (prepared?.created) rmSync(prepared.created, { recursive: true, force: true });
    throw outputError(e, csvPath ?? npyDir ?? file);
  }
  if (reader.truncated) {
    log.warn({ file, whole_records_end_at_byte: reader.truncatedAt, bytes: reader.bytes }, 'trace was cut short; exported the whole records before the cut');
  }
  const n = header?.n_traced ?? 0;
  if (csvPath && csvPath !== '-') process.stdout.write(`wrote ${csvPath} (${rows} sweep records)\n`);
  const npyLine = `wrote ${npyDir}/ (states.npy ${rows} x ${n}, cells.npy, ${Object.keys(col).length + Object.keys(ecol).length} columns; layout.npy, pixel_index.npy, label_index.npy; ${stageRecords} stage records as stage_records_*.npy)`;
  if (npyDir && csvPath === '-')
    log.info({ dir: npyDir, rows }, npyLine); // standard output carries the CSV
  else if (npyDir) process.stdout.write(`${npyLine}\n`);
}

export function traceCommands<T>(y: Argv<T>, s: Session): Argv<T> {
  return y.command('trace', 'inspect or export a binary trace', (yy) =>
    yy
      .command(
        'inspect <file>',
        'summarise a trace: records, stages, sweeps, energy, whether it was cut short',
        (c) =>
          c
            .positional('file', { type: 'string', demandOption: true, describe: 'trace file' })
            .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' }),
        (a) => cmdInspect(a.file as string, Boolean(a.json)),
      )
      .command(
        'export <file>',
        'export the sweep records as CSV, .npy arrays and/or VCD waveforms',
        (c) =>
          c
            .positional('file', { type: 'string', demandOption: true, describe: 'trace file' })
            .option('csv', { type: 'string', describe: "write one CSV row per sweep record to this file ('-': standard output)" })
            .option('npy', {
              type: 'string',
              describe:
                'write states.npy, cells.npy, one .npy per column, the cell layout (layout.npy, pixel_index.npy, label_index.npy, ...) and the stage records (stage_records_*.npy) into this directory',
            })
            .option('vcd', { type: 'string', describe: 'write waveforms (clock, phase, stage, chain, sweep, cell spins) as a VCD file' })
            .option('cells', { type: 'string', describe: 'VCD: cells to show, as indices y*L+x and ranges (0-63,200) or "visible"; default every traced cell' })
            .option('stages', { type: 'string', describe: 'VCD: only these stages, e.g. 0 or 0-2' })
            .option('chains', { type: 'string', describe: 'VCD: only these chains (images), e.g. 0' })
            .option('clock', { type: 'boolean', describe: 'VCD: write the clock (default; --no-clock leaves it out)' })
            .option('max-mb', {
              type: 'number',
              describe: `VCD: refuse when the estimated size exceeds this many MiB (default ${DEFAULT_VCD_MAX_BYTES / (1024 * 1024)})`,
            }),
        (a) =>
          cmdExport(
            a.file as string,
            a.csv as string | undefined,
            a.npy as string | undefined,
            {
              vcd: a.vcd as string | undefined,
              cells: a.cells as string | undefined,
              stages: a.stages as string | undefined,
              chains: a.chains as string | undefined,
              clock: a.clock as boolean | undefined,
              maxMb: a.maxMb as number | undefined,
            },
            s,
          ),
      )
      .demandCommand(1, 'name a trace command: inspect, export'),
  );
}

/**
 * Training checkpoints and run.json: written with a checksum, read back only when whole and
 * valid, and the lock that keeps two `dtca train --out SAME` apart. Everything train.ts trusts
 * about a file it wrote earlier is checked here, in one place.
 *
 * A stage checkpoint (MODEL.ckpt/stage-K.mp) is a msgpack envelope
 *   { format: 'dtca-checkpoint', version: 1, kind: 'stage', sha256: hex, payload: bytes }
 * where payload is the msgpack of the stage's state (StageState, its Float64Arrays as plain lists)
 * and sha256 is the SHA-256 of those payload bytes. MODEL.ckpt/run.json is JSON
 *   { format: 'dtca-train-run', version: 1, sha256: hex, options: {...} }
 * with sha256 over JSON.stringify(options). A flipped bit, a cut file, a wrong type, a NaN, an
 * epoch that is not an integer, an array of the wrong length: exit 2 naming the file and the field.
 *
 * The state's fields are listed in STAGE_FIELDS, each with its check: a new field of StageState
 * goes there (one line), and writing a state with a field the schema does not know is a bug that
 * says so (rather than a checkpoint that cannot be read back).
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { Packr, unpack } from 'msgpackr';
import { UserError } from '../../fabric/errors.js';
import { duplicateWords, msgpackDuplicateKey } from '../../fabric/json.js';
import { TRAIN_OPTION_NAMES, type TrainNames } from './train-names.js';
import { readInputFile, READ_LIMITS, notRegular } from '../../fabric/read.js';
import { createExclusive, errnoText, processAlive } from '../../fabric/files.js';
import type { StageState } from './stage.js';

export const CHECKPOINT_FORMAT = 'dtca-checkpoint';
export const RUN_FORMAT = 'dtca-train-run';
export const CHECKPOINT_VERSION = 1;

/** What a stage's state must look like (lengths from the fabric and the model). */
export interface StageShape {
  stage: number;
  /** trained wires (thetaW's length) */
  wires: number;
  /** cells (thetaB's length); adamM and adamV have wires + cells */
  cells: number;
  /** the run's epochs: a checkpoint is at most that far */
  epochs: number;
}

type Check = (v: unknown, shape: StageShape) => string | null;

const isFiniteNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const int =
  (min = 0): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min ? null : `must be an integer >= ${min}`;
const finite =
  (min = -Infinity): Check =>
  (v) =>
    isFiniteNum(v) && v >= min ? null : `must be a finite number${min > -Infinity ? ` >= ${min}` : ''}`;
const orNull =
  (c: Check): Check =>
  (v, s) =>
    v === null ? null : c(v, s);
const floats =
  (len: (s: StageShape) => number, min = -Infinity): Check =>
  (v, s) => {
    if (!Array.isArray(v) && !(v instanceof Float64Array)) return 'must be a list of numbers';
    const n = len(s);
    if (v.length !== n) return `has ${v.length} values, the stage has ${n}`;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (!isFiniteNum(x) || x < min)
        return `[${i}] = ${typeof x === 'number' ? String(x) : typeof x}: must be a finite number${min > -Infinity ? ` >= ${min}` : ''}`;
    }
    return null;
  };
const epochLog: Check = (v, s) => {
  if (!Array.isArray(v)) return 'must be a list of epoch records';
  for (let i = 0; i < v.length; i++) {
    const r = v[i] as Record<string, unknown>;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return `[${i}]: not an epoch record`;
    if (r.stage !== s.stage) return `[${i}].stage = ${String(r.stage)}, not ${s.stage}`;
    if (!Number.isInteger(r.epoch) || (r.epoch as number) < 1) return `[${i}].epoch must be an integer >= 1`;
    for (const [k, x] of Object.entries(r)) {
      if (typeof x === 'number' && !Number.isFinite(x) && k !== 'rho') return `[${i}].${k} = ${x}: not finite`;
    }
  }
  return null;
};

/**
 * The fields of a stage checkpoint, each with its check. To add a field to StageState: add it here
 * too (old checkpoints without it are refused with a message naming it, unless `optional`).
 */
export const STAGE_FIELDS: Record<string, { check: Check; optional?: boolean }> = {
  stage: { check: (v, s) => (v === s.stage ? null : `is ${String(v)}, the file is stage ${s.stage}'s`) },
  epoch: { check: (v, s) => int(0)(v, s) ?? ((v as number) > s.epochs ? `is ${String(v)}, beyond the run's ${s.epochs} epochs` : null) },
  thetaW: { check: floats((s) => s.wires) },
  thetaB: { check: floats((s) => s.cells) },
  adamM: { check: floats((s) => s.wires + s.cells) },
  adamV: { check: floats((s) => s.wires + s.cells, 0) },
  adamT: { check: int(0) },
  lambda: { check: finite(0) },
  rhoPrev: { check: orNull(finite()) },
  cellUpdates: { check: finite(0) },
  wallS: { check: finite(0) },
  log: { check: epochLog },
  emaW: { check: floats((s) => s.wires), optional: true },
  emaB: { check: floats((s) => s.cells), optional: true },
};

const packr = new Packr({ useRecords: false, variableMapSize: true });
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** A stage's state as checkpoint bytes (the envelope around the state's msgpack). */
export function encodeStageCheckpoint(state: StageState | Record<string, unknown>): Buffer {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state)) {
    if (!(k in STAGE_FIELDS)) throw new Error(`checkpoint: StageState.${k} is not in STAGE_FIELDS (sim/train/checkpoint.ts); add it there with its check`);
    o[k] = v instanceof Float64Array ? Array.from(v) : v;
  }
  const payload = packr.pack(o);
  return packr.pack({ format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, kind: 'stage', sha256: sha256(payload), payload });
}

/** Check a decoded state object against the schema and the stage's shape; returns the state. */
export function validateStageState(o: unknown, shape: StageShape, where: string): StageState {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new UserError(`${where}: not a stage state (a map of fields)`);
  const rec = o as Record<string, unknown>;
  for (const k of Object.keys(rec)) if (!(k in STAGE_FIELDS)) throw new UserError(`${where}: unknown field ${JSON.stringify(k).slice(0, 40)}`);
  for (const [k, f] of Object.entries(STAGE_FIELDS)) {
    if (!(k in rec)) {
      if (f.optional) continue;
      throw new UserError(`${where}: field ${k} missing`);
    }
    const bad = f.check(rec[k], shape);
    if (bad) throw new UserError(`${where}: ${k} ${bad}`);
  }
  const f64 = (k: string) => Float64Array.from(rec[k] as number[]);
  return {
    ...(rec as unknown as StageState),
    thetaW: f64('thetaW'),
    thetaB: f64('thetaB'),
    adamM: f64('adamM'),
    adamV: f64('adamV'),
    ...('emaW' in rec ? { emaW: f64('emaW') } : {}),
    ...('emaB' in rec ? { emaB: f64('emaB') } : {}),
  };
}

/** The damage message: the file, what is wrong, and what to do (`names`: how the hint names the model file option). */
function damaged(path: string, what: string, names: TrainNames): UserError {
  return new UserError(`${path}: damaged checkpoint (${what}); delete it to retrain that stage from the start, or train into a new ${names.outName}`);
}

/** Read and check a stage checkpoint: exit 2 naming the file for anything but a whole, valid state. */
export function readStageCheckpoint(path: string, shape: StageShape, names: TrainNames = TRAIN_OPTION_NAMES): StageState {
  const bytes = readInputFile(path, { what: 'checkpoint', max: READ_LIMITS.checkpoint });
  let env: unknown;
  try {
    env = unpack(bytes);
  } catch {
    throw damaged(path, 'not valid msgpack: cut short or overwritten', names);
  }
  const twice = msgpackDuplicateKey(bytes);
  if (twice) throw damaged(path, duplicateWords(twice), names);
  const e = env as Record<string, unknown>;
  if (e === null || typeof e !== 'object' || e.format !== CHECKPOINT_FORMAT) {
    throw damaged(path, 'not a dtca checkpoint envelope (format dtca-checkpoint); written by an older dtca without a checksum, or not a checkpoint', names);
  }
  if (e.version !== CHECKPOINT_VERSION)
    throw damaged(path, `checkpoint version ${String(e.version).slice(0, 20)}; this dtca reads ${CHECKPOINT_VERSION}`, names);
  if (e.kind !== 'stage') throw damaged(path, 'not a stage checkpoint', names);
  const payload = e.payload;
  if (!(payload instanceof Uint8Array)) throw damaged(path, 'no payload', names);
  if (typeof e.sha256 !== 'string' || sha256(payload) !== e.sha256) throw damaged(path, 'checksum mismatch: the file changed after it was written', names);
  let state: unknown;
  try {
    state = unpack(payload);
  } catch {
    throw damaged(path, 'payload is not valid msgpack', names);
  }
  const inner = msgpackDuplicateKey(payload);
  if (inner) throw damaged(path, `payload: ${duplicateWords(inner)}`, names);
  try {
    return validateStageState(state, shape, path);
  } catch (err) {
    if (err instanceof UserError) throw damaged(path, err.message.slice(path.length + 2), names);
    throw err;
  }
}

/**
 * How many epochs a stage checkpoint holds, without its shape: 0 when the file is absent or not a
 * whole checkpoint (a run that resumes it reads it in full, readStageCheckpoint, and says what is wrong).
 */
export function stageCheckpointEpoch(path: string): number {
  try {
    const e = unpack(readInputFile(path, { what: 'checkpoint', max: READ_LIMITS.checkpoint })) as Record<string, unknown>;
    if (e === null || typeof e !== 'object' || e.format !== CHECKPOINT_FORMAT || !(e.payload instanceof Uint8Array) || sha256(e.payload) !== e.sha256) return 0;
    const epoch = (unpack(e.payload) as { epoch?: unknown }).epoch;
    return Number.isInteger(epoch) && (epoch as number) > 0 ? (epoch as number) : 0;
  } catch {
    return 0;
  }
}

/** run.json's text: the options a resume must match, with their checksum. */
export function encodeRunFile(options: Record<string, unknown>): string {
  return JSON.stringify({ format: RUN_FORMAT, version: CHECKPOINT_VERSION, sha256: sha256(JSON.stringify(options)), options }, null, 2) + '\n';
}

/** The options in run.json, checked (format, checksum); exit 2 naming the file when damaged. */
export function readRunFile(path: string, names: TrainNames = TRAIN_OPTION_NAMES): Record<string, unknown> {
  const text = readInputFile(path, { what: 'run.json', max: READ_LIMITS.json }).toString('utf8');
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new UserError(`${path}: damaged (not valid JSON); it records the options the checkpoints were trained with: train into a new ${names.outName}`);
  }
  const r = o as Record<string, unknown>;
  if (r === null || typeof r !== 'object' || r.format !== RUN_FORMAT || r.version !== CHECKPOINT_VERSION) {
    throw new UserError(
      `${path}: not a dtca-train-run file of version ${CHECKPOINT_VERSION} (written by an older dtca, or damaged): train into a new ${names.outName}`,
    );
  }
  const opts = r.options;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts) || sha256(JSON.stringify(opts)) !== r.sha256) {
    throw new UserError(`${path}: damaged (checksum mismatch: the file changed after it was written): train into a new ${names.outName}`);
  }
  return opts as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// the lock on a training output

/**
 * Lock `dtca train --out OUT` for this process: OUT.lock is created exclusively and holds the
 * owner's pid and host. A second train on the same OUT is refused while the owner lives; a lock
 * left by a process that is gone (killed) on this host is taken over. Returns the release.
 *
 * Stages trained apart (`stageOnly`: dtca train --stage-only, one Slurm task per stage, a sweep's
 * training jobs) write only their own checkpoints, so they lock only their stages
 * (OUT.stage-K.lock) and runs of different stages of one OUT go on at once; such a run is refused
 * while a whole run holds OUT.lock. A whole run takes OUT.lock and then every stage's lock.
 */
export function lockTrainOut(out: string, o: { stages?: number[]; stageOnly?: boolean; names?: TrainNames } = {}): () => void {
  const names = o.names ?? TRAIN_OPTION_NAMES;
  const releases: (() => void)[] = [];
  const releaseAll = () => {
    for (const r of releases.splice(0).reverse()) r();
  };
  try {
    if (o.stageOnly) {
      const owner = lockOwner(`${out}.lock`);
      if (owner && owner.alive)
        throw new UserError(
          `${names.out(out)}: another dtca train (pid ${owner.pid}${owner.host !== hostname() ? ` on ${owner.host}` : ''}) is writing it; wait for it, or choose another ${names.outName}`,
        );
    } else {
      releases.push(lockFile(`${out}.lock`, out, 'is writing it', names));
    }
    for (const k of o.stages ?? []) releases.push(lockFile(`${out}.stage-${k}.lock`, out, `is training its stage ${k}`, names));
  } catch (e) {
    releaseAll();
    throw e;
  }
  return releaseAll;
}

function lockFile(path: string, out: string, doing: string, names: TrainNames): () => void {
  const me = `${process.pid} ${hostname()}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      createExclusive(path, me, 0o644);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // a failed write (disk full, a file-size limit) is refused here too, the half-made lock removed
      if (code !== 'EEXIST') throw new UserError(`${names.out(out)}: cannot create ${path} (${errnoText(e)})`);
      const owner = lockOwner(path);
      if (owner && owner.alive) {
        throw new UserError(
          `${names.out(out)}: another dtca train (pid ${owner.pid}${owner.host !== hostname() ? ` on ${owner.host}` : ''}) ${doing}; wait for it, or choose another ${names.outName}`,
        );
      }
      try {
        unlinkSync(path); // left by a process that no longer runs
      } catch {
        /* another process took it over first; try again */
      }
      continue;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      try {
        if (readFileSync(path, 'utf8') === me) unlinkSync(path);
      } catch {
        /* already gone */
      }
    };
  }
  throw new UserError(`${names.out(out)}: could not take ${path}; another dtca train is starting on it`);
}

function lockOwner(path: string): { pid: number; host: string; alive: boolean } | null {
  let text: string;
  try {
    // bounded: a FIFO at the lock's name would block a plain read forever (fabric/read.ts)
    text = readInputFile(path, { what: 'lock file', max: 4096 }).toString('utf8');
  } catch (e) {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return null; // released meanwhile
    }
    const odd = notRegular(st);
    if (odd) throw new UserError(`${path}: ${odd}; dtca train keeps its lock there (remove it)`);
    if (e instanceof UserError) return null;
    throw e;
  }
  const m = /^(\d+) (\S+)\n$/.exec(text);
  if (!m) {
    // being written this instant (held), or left empty by a process killed between create and write
    let age: number;
    try {
      age = Date.now() - statSync(path).mtimeMs;
    } catch {
      return null;
    }
    return { pid: 0, host: '?', alive: age < 10_000 };
  }
  const pid = Number(m[1]);
  const host = m[2];
  if (host !== hostname()) return { pid, host, alive: true }; // cannot tell: assume it runs
  return { pid, host, alive: processAlive(pid) };
}

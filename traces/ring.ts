/**
 * The trace writer's output side, in this thread or on a writer thread (traces/writer.ts says what
 * a trace holds and the durability rules; this file keeps them across the thread).
 *
 * RecordBuffer is the one place records are encoded into and buffered (traces/pack.ts's encoders)
 * and written to the file: TraceWriter uses one in its own thread when there is no writer thread,
 * the writer thread uses one for everything it writes, and the calling thread takes one over when
 * the writer thread never started.
 *
 * RingProducer (the calling thread) hands each record to a writer thread (traces/trace-worker.ts,
 * built as dist/trace-worker.js) through a ring of shared memory: a sweep record as its raw fields
 * (numbers, the energy values, the packed states; the energy components' names once per change of
 * the list), every other record already encoded (they are few). The writer thread decodes the
 * fields and encodes the record with the same encoder, so the file is byte for byte what the
 * in-thread path writes, whatever the threads' timing: the bytes depend only on the entries'
 * order, which is the calls' order. The caller blocks only when the ring is full (back-pressure:
 * memory stays bounded by the ring).
 *
 * Durability across the thread:
 *   - the writer thread writes whole records to the file descriptor the calling thread opened
 *     (SafeFile); it flushes where the in-thread writer does (after the header and each stage,
 *     when its buffer fills, a second after the last write; also when the ring runs empty for a
 *     second), so a killed process leaves the same kind of file: whole records up to a cut;
 *   - on process exit (the 'exit' event) the caller asks for a flush and waits for it;
 *   - close() sends a stop and waits for everything to be written before it commits the file
 *     (fsync, rename): the thread never writes to a closed descriptor; fail() and abort() stop it
 *     without a flush first;
 *   - a write error (a full disk) stops the thread; the caller raises it, as the same one-line
 *     OutputError the in-thread write raises, at its next call (or at close);
 *   - a thread that does not start (no bundle, a stale one) is taken over: the caller claims the
 *     ring (one compare-and-swap decides who owns it) and encodes its entries itself.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutputError, outputError, writeAllSync, type SafeFile } from '../fabric/files.js';
import {
  BATCH_FIELDS,
  encodeSweepRecord,
  encodeSweepRecordInto,
  newSweepFields,
  putBatchRecords,
  sweepRecordBound,
  type BatchLayout,
  type SweepFields,
} from './sweep-record.js';

/** records are gathered into a buffer this large before a write */
export const BUFFER_BYTES = 1 << 20;
/** a buffer that holds records is written at the latest this long after the last write */
export const FLUSH_MS = 1000;
/** the ring's default size: about 700 sweeps of 64 chains at L = 70 (a batch of 64 chains replays its 250 sweeps into it at once) */
export const RING_BYTES = 1 << 25;
/** the ring's layout; a writer thread from a different build refuses to read it */
export const RING_VERSION = 2;
/** the writer thread looks at the ring at least this often (the caller wakes it only for a batch) */
const IDLE_MS = FLUSH_MS / 4;
/** a writer thread that has not started within this long is taken over */
const START_TIMEOUT_MS = 10_000;

/** The buffered, encoded output of a trace: records in, whole buffers out to `write`. */
export class RecordBuffer {
  private readonly buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private lastFlush = Date.now();

  constructor(private readonly write: (b: Buffer, n: number) => void) {}

  /** One encoded record (the bytes may be reused by the caller afterwards). */
  putBytes(b: Uint8Array): void {
    if (this.used + b.length > this.buf.length) this.flush();
    if (b.length > this.buf.length) {
      this.write(Buffer.from(b.buffer, b.byteOffset, b.length), b.length);
    } else {
      this.buf.set(b, this.used);
      this.used += b.length;
    }
    this.flushIfDue();
  }

  /** One sweep record, encoded straight into the buffer (traces/pack.ts: the bytes encodeRecord makes). */
  putSweep(f: SweepFields): void {
    const need = sweepRecordBound(f);
    if (need > this.buf.length) {
      this.putBytes(encodeSweepRecord(f));
      return;
    }
    if (this.used + need > this.buf.length) this.flush();
    this.used = encodeSweepRecordInto(this.buf, this.used, f);
    this.flushIfDue();
  }

  flush(): void {
    if (this.used > 0) {
      const n = this.used;
      this.used = 0; // nothing is written twice, even when the write fails
      this.write(this.buf, n);
    }
    this.lastFlush = Date.now();
  }

  /** Forget what is buffered (after a write error: it did not fit on the disk). */
  drop(): void {
    this.used = 0;
  }

  get pending(): number {
    return this.used;
  }

  /** ms until a flush is due (0: now), or -1 when nothing is buffered */
  dueIn(now = Date.now()): number {
    return this.used === 0 ? -1 : Math.max(0, FLUSH_MS - (now - this.lastFlush));
  }

  private flushIfDue(): void {
    if (Date.now() - this.lastFlush >= FLUSH_MS) this.flush();
  }
}

// ---- the ring ------------------------------------------------------------------------------------

/** control words (Int32Array over `ctl`); what each thread writes often sits on its own cache line */
const HEAD = 0; // bytes published by the caller (a wrapping int32 count)
const SLEEP = 1; // the writer thread waits on HEAD (cleared by whoever wakes it)
const SEEN = 2; // HEAD as the writer thread last read it before it slept
const TAIL = 16; // bytes consumed by the writer thread
const MAIN_WAIT = 17; // the caller waits on TAIL (ring full) for this many free bytes
const OWNER = 32; // who reads the ring: OWNER_NONE, ...
const STATE = 33; // 0 ok, 1 the writer thread failed (ERR_* says how)
const SYNC_DONE = 34; // the last flush request done
const HALT = 35; // 1: stop at once, without a flush
const ERR_LEN = 36;
const BYTES_F64 = 24; // Float64 index: bytes the writer thread wrote
const ERR_AT = 256; // byte offset of the error text (JSON)
const CTL_BYTES = 2048;

const OWNER_NONE = 0;
const OWNER_THREAD = 1;
const OWNER_DONE = 2; // the writer thread stopped (after a stop, a halt or its error)
const OWNER_CALLER = -1;
const OWNER_REFUSED = -2; // a writer thread of another ring version

/** entry kinds */
const E_WRAP = 0;
const E_SWEEP = 1;
const E_KEYS = 2;
const E_BYTES = 3;
const E_SYNC = 4;
const E_STOP = 5;
const E_BATCH = 6;

/** E_BYTES flags */
const F_FLUSH = 1;
const F_MORE = 2;

/** sweep entry: i32 len, kind, nStates, nEnergy; f64 chain, stage, sweep, cycle, time_s, toggles, n_cells; f64 energy[nEnergy]; u8 states */
const SWEEP_FIXED = 16 + 7 * 8;
const BYTES_AT = 16;
/** a batch entry: len, kind, bytes per record, energy values per record (i32), then stage, first chain, chains, slots, n_cells (f64) */
const BATCH_FIXED = 16 + 5 * 8;

const align8 = (n: number) => (n + 7) & ~7;

export interface TraceWorkerData {
  version: number;
  ctl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  fd: number;
  finalPath: string;
}

/** dist/trace-worker.js: beside the bundle that runs, or the built copy when running from sources (tests). */
export function traceWorkerUrl(): URL | null {
  for (const u of [new URL('./trace-worker.js', import.meta.url), new URL('../dist/trace-worker.js', import.meta.url)]) {
    if (u.protocol === 'file:' && existsSync(fileURLToPath(u))) return u;
  }
  return null;
}

interface Views {
  i32: Int32Array;
  f64c: Float64Array;
  u8c: Uint8Array;
  cap: number;
  mask: number;
  d32: Int32Array;
  d64: Float64Array;
  d8: Uint8Array;
}

function views(ctl: SharedArrayBuffer, data: SharedArrayBuffer): Views {
  const cap = data.byteLength;
  return {
    i32: new Int32Array(ctl),
    f64c: new Float64Array(ctl),
    u8c: new Uint8Array(ctl),
    cap,
    mask: cap - 1,
    d32: new Int32Array(data),
    d64: new Float64Array(data),
    d8: new Uint8Array(data),
  };
}

/**
 * The reading side: decodes entries into records for a RecordBuffer. One per ring, wherever it
 * runs (the writer thread, or the caller after a take-over).
 */
class RingReader {
  private readonly fields: SweepFields;
  private keys: string[] = [];
  private parts: Buffer[] = [];

  constructor(
    private readonly v: Views,
    private readonly out: RecordBuffer,
  ) {
    this.fields = { ...newSweepFields(), energyNames: [], energyValues: v.d64, energyAt: 0 };
  }

  private readonly put = (f: SweepFields) => this.out.putSweep(f);

  /** Forget the parts of a record not read whole (the caller writes the record itself). */
  dropParts(): void {
    this.parts = [];
  }

  /** Reads every published entry; returns 'stop' at a stop entry (after a flush), 'halt' when told to halt, else 'empty'. */
  drain(): 'stop' | 'halt' | 'empty' {
    const { i32, d32, d64, d8, mask } = this.v;
    let tail = Atomics.load(i32, TAIL);
    for (;;) {
      if (Atomics.load(i32, HALT)) return 'halt';
      const head = Atomics.load(i32, HEAD);
      if (head === tail) return 'empty';
      while (tail !== head) {
        const pos = tail & mask;
        const w = pos >> 2;
        const len = d32[w];
        const kind = d32[w + 1];
        if (kind === E_SWEEP) {
          const nStates = d32[w + 2];
          const nE = d32[w + 3];
          const q = (pos + 16) >> 3;
          const f = this.fields;
          f.chain = d64[q];
          f.stage = d64[q + 1];
          f.sweep = d64[q + 2];
          f.cycle = d64[q + 3];
          f.time_s = d64[q + 4];
          f.toggles = d64[q + 5];
          f.n_cells = d64[q + 6];
          if (this.keys.length !== nE) throw new Error(`trace ring: a sweep entry with ${nE} energy values, ${this.keys.length} names`);
          f.energyAt = q + 7; // the values are read where they are (f.energyValues is the ring)
          const at = pos + SWEEP_FIXED + 8 * nE;
          f.states = d8.subarray(at, at + nStates);
          this.out.putSweep(f);
        } else if (kind === E_BATCH) {
          const bytes = d32[w + 2];
          const nE = d32[w + 3];
          if (this.keys.length !== nE) throw new Error(`trace ring: a batch entry with ${nE} energy values, ${this.keys.length} names`);
          const q = (pos + 16) >> 3;
          const n = d64[q + 2];
          const slots = d64[q + 3];
          const b: BatchLayout = { stage: d64[q], first: d64[q + 1], n, slots, n_cells: d64[q + 4], names: this.keys, bytes };
          const fieldsAt = (pos + BATCH_FIXED) >> 3;
          putBatchRecords(this.fields, b, d64, fieldsAt, d8, pos + BATCH_FIXED + 8 * (BATCH_FIELDS + nE) * n * slots, 0, n, this.put);
        } else if (kind === E_KEYS) {
          const n = d32[w + 2];
          this.keys = JSON.parse(Buffer.from(d8.buffer, pos + BYTES_AT, n).toString('utf8')) as string[];
          this.fields.energyNames = this.keys;
        } else if (kind === E_BYTES) {
          const n = d32[w + 2];
          const flags = d32[w + 3];
          const b = d8.subarray(pos + BYTES_AT, pos + BYTES_AT + n);
          if (flags & F_MORE) this.parts.push(Buffer.from(b));
          else if (this.parts.length > 0) {
            this.parts.push(Buffer.from(b));
            const whole = Buffer.concat(this.parts);
            this.parts = [];
            this.out.putBytes(whole);
          } else this.out.putBytes(b);
          if (flags & F_FLUSH) this.out.flush();
        } else if (kind === E_SYNC) {
          this.out.flush();
          Atomics.store(i32, SYNC_DONE, d32[w + 2]);
          Atomics.notify(i32, SYNC_DONE);
        } else if (kind === E_STOP) {
          this.out.flush();
          tail = (tail + len) | 0;
          Atomics.store(i32, TAIL, tail);
          return 'stop';
        } else if (kind !== E_WRAP) throw new Error(`trace ring: entry kind ${kind} at ${pos}`);
        tail = (tail + len) | 0;
        Atomics.store(i32, TAIL, tail);
        // the caller waits for room: wake it once there is as much as it asked for (not per record)
        const want = Atomics.load(i32, MAIN_WAIT);
        if (want > 0 && this.v.cap - ((Atomics.load(i32, HEAD) - tail) | 0) >= want) Atomics.notify(i32, TAIL);
      }
    }
  }
}

/** The writer thread's loop (traces/trace-worker.ts): entries until a stop, a halt or an error. */
export function traceWriterLoop(d: TraceWorkerData): void {
  const v = views(d.ctl, d.data);
  const { i32 } = v;
  if (d.version !== RING_VERSION) {
    Atomics.compareExchange(i32, OWNER, OWNER_NONE, OWNER_REFUSED);
    Atomics.notify(i32, OWNER);
    return;
  }
  if (Atomics.compareExchange(i32, OWNER, OWNER_NONE, OWNER_THREAD) !== OWNER_NONE) return; // the caller took the ring over
  const doing = `writing ${basename(d.finalPath)}`;
  let written = 0;
  const out = new RecordBuffer((b, n) => {
    writeAllSync(d.fd, b, 0, n);
    written += n;
    v.f64c[BYTES_F64] = written;
  });
  const reader = new RingReader(v, out);
  try {
    for (;;) {
      const r = reader.drain();
      if (r !== 'empty') break;
      const head = Atomics.load(i32, HEAD);
      const due = out.dueIn();
      if (due === 0) {
        out.flush();
        continue;
      }
      Atomics.store(i32, SEEN, head);
      Atomics.store(i32, SLEEP, 1);
      if (Atomics.load(i32, HEAD) === head && !Atomics.load(i32, HALT)) Atomics.wait(i32, HEAD, head, due < 0 ? IDLE_MS : Math.min(due, IDLE_MS));
      Atomics.store(i32, SLEEP, 0);
    }
  } catch (e) {
    const oe = outputError(e, d.finalPath, doing);
    const info =
      oe instanceof OutputError ? { message: oe.message, code: oe.code, fault: oe.fault } : { message: `trace writer thread: ${(e as Error)?.stack ?? e}` };
    const bytes = Buffer.from(JSON.stringify(info), 'utf8').subarray(0, CTL_BYTES - ERR_AT);
    v.u8c.set(bytes, ERR_AT);
    Atomics.store(i32, ERR_LEN, bytes.length);
    Atomics.store(i32, STATE, 1);
  } finally {
    v.f64c[BYTES_F64] = written;
    Atomics.store(i32, OWNER, OWNER_DONE);
    for (const w of [OWNER, TAIL, SYNC_DONE]) Atomics.notify(i32, w);
  }
}

export interface RingOptions {
  /** the ring's bytes (a power of two >= 4096); default RING_BYTES */
  ringBytes?: number;
}

/**
 * The calling thread's side: records into the ring, a writer thread (started here) writing them.
 * Construct only with a URL from traceWorkerUrl(); `file` must stay open until finish() or halt().
 */
export class RingProducer {
  private readonly v: Views;
  private readonly ctl: SharedArrayBuffer;
  private readonly worker: Worker | null;
  private head = 0;
  /** the bytes published that wake a sleeping writer thread */
  private readonly batch: number;
  /** HEAD as last stored (published), when, and the bytes written that are published at once */
  private pub = 0;
  private pubAt = Date.now();
  private readonly pubBytes: number;
  /** TAIL as last read */
  private tailSeen = 0;
  private keys: string[] = [];
  private syncSeq = 0;
  private readonly maxEntry: number;
  private readonly started = Date.now();
  /** the caller took the ring over: records are encoded here */
  private local: RecordBuffer | null = null;
  private reader: RingReader | null = null;
  private done = false;
  private waits = 0;
  private startError: Error | null = null;

  constructor(
    private readonly file: SafeFile,
    url: URL,
    o: RingOptions = {},
  ) {
    const cap = o.ringBytes ?? RING_BYTES;
    if (!(Number.isInteger(cap) && cap >= 4096 && (cap & (cap - 1)) === 0 && cap <= 1 << 30))
      throw new Error(`trace ring of ${cap} bytes: need a power of two in [4096, 2^30]`);
    this.ctl = new SharedArrayBuffer(CTL_BYTES);
    const data = new SharedArrayBuffer(cap);
    this.v = views(this.ctl, data);
    this.maxEntry = cap >> 2;
    this.batch = Math.min(cap >> 3, 1 << 18);
    this.pubBytes = Math.min(cap >> 4, 1 << 16);
    const wd: TraceWorkerData = { version: RING_VERSION, ctl: this.ctl, data, fd: file.descriptor, finalPath: file.finalPath };
    let w: Worker | null = null;
    try {
      w = new Worker(url, { workerData: wd });
      w.unref();
      // an error while the thread starts (the bundle does not load) arrives here; the ring is then taken over
      w.on('error', (e) => {
        this.startError = e;
      });
    } catch {
      this.takeOver();
    }
    this.worker = w;
  }

  /** times this thread waited for room, and whether it took the ring over */
  get stats(): { waits: number; takenOver: boolean } {
    return { waits: this.waits, takenOver: this.reader !== null };
  }

  /** Resolves true once the writer thread has claimed the ring, false when it did not within `ms` (tests, benches). */
  async whenStarted(ms = START_TIMEOUT_MS): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      const o = Atomics.load(this.v.i32, OWNER);
      if (o === OWNER_THREAD || o === OWNER_DONE) return true;
      if (o !== OWNER_NONE || Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** the writer thread is writing (not taken over, not stopped) */
  get threaded(): boolean {
    return this.local === null && !this.done;
  }

  sweep(f: SweepFields): void {
    if (this.local) return this.local.putSweep(f);
    if (f.energyValues) return this.sweepValues(f, f.energyNames as string[], f.energyValues, f.energyAt ?? 0);
    const e = f.energy_j;
    // the components' names are sent once per change of the list (every record of a run has the same)
    let same = true;
    let nE = 0;
    const keys = this.keys;
    for (const k in e) {
      if (keys[nE] !== k) {
        same = false;
        break;
      }
      nE++;
    }
    if (!same || nE !== keys.length) {
      const now = Object.keys(e);
      if (!sameKeys(now, this.keys)) {
        this.keys = now;
        this.putKeys(now);
        if (this.local) return (this.local as RecordBuffer).putSweep(f);
      }
      same = false;
      nE = now.length;
    }
    this.entry(f, nE, null, 0, same);
  }

  /** sweep() for a record whose energy comes as names and values (SweepFields.energyValues) */
  private sweepValues(f: SweepFields, names: string[], ev: Float64Array, at: number): void {
    if (names !== this.keys && !sameKeys(names, this.keys)) {
      this.keys = names;
      this.putKeys(names);
      if (this.local) return (this.local as RecordBuffer).putSweep(f);
    }
    this.entry(f, names.length, ev, at, true);
  }

  /**
   * A sweep record's entry: its fields, its nE energy values (ev[at ..], else energy_j's values:
   * in key order when `same` says its keys are the ring's, else through Object.values) and its states.
   */
  private entry(f: SweepFields, nE: number, ev: Float64Array | null, at: number, same: boolean): void {
    const nStates = f.states.length;
    const len = align8(SWEEP_FIXED + 8 * nE + nStates);
    if (len > this.maxEntry) {
      this.bytes(encodeSweepRecord(f), false);
      return;
    }
    const pos = this.reserve(len);
    if (this.local) return (this.local as RecordBuffer).putSweep(f);
    const { d32, d64, d8 } = this.v;
    const w = pos >> 2;
    d32[w] = len;
    d32[w + 1] = E_SWEEP;
    d32[w + 2] = nStates;
    d32[w + 3] = nE;
    const q = (pos + 16) >> 3;
    d64[q] = f.chain;
    d64[q + 1] = f.stage;
    d64[q + 2] = f.sweep;
    d64[q + 3] = f.cycle;
    d64[q + 4] = f.time_s;
    d64[q + 5] = f.toggles;
    d64[q + 6] = f.n_cells;
    if (ev) {
      for (let k = 0; k < nE; k++) d64[q + 7 + k] = ev[at + k];
    } else if (same) {
      let k = q + 7;
      for (const name in f.energy_j) d64[k++] = f.energy_j[name];
    } else {
      const vals = Object.values(f.energy_j);
      for (let k = 0; k < nE; k++) d64[q + 7 + k] = vals[k];
    }
    d8.set(f.states, pos + SWEEP_FIXED + 8 * nE);
    this.publish(len);
  }

  /**
   * A batch of sweep records (traces/writer.ts sweeps()): its values and packed spins copied into
   * the ring in entries of whole chains, each as large as an entry may be; the writer thread
   * encodes the records. A chain whose records do not fit one entry goes record by record.
   */
  sweepBatch(b: BatchLayout, fields: Float64Array, packed: Uint8Array): void {
    const { n, slots, bytes } = b;
    const f = this.batchFields;
    if (this.local) return putBatchRecords(f, b, fields, 0, packed, 0, 0, n, this.putLocal);
    if (b.names !== this.keys && !sameKeys(b.names, this.keys)) {
      this.keys = b.names;
      this.putKeys(b.names);
      if (this.local) return putBatchRecords(f, b, fields, 0, packed, 0, 0, n, this.putLocal);
    }
    const per = BATCH_FIELDS + b.names.length;
    const perChain = slots * (8 * per + bytes);
    const room = perChain > 0 ? Math.floor((this.maxEntry - BATCH_FIXED) / perChain) : n;
    if (room < 1) return putBatchRecords(f, b, fields, 0, packed, 0, 0, n, this.putRing);
    for (let k0 = 0; k0 < n; k0 += room) {
      const m = Math.min(room, n - k0);
      const len = align8(BATCH_FIXED + m * perChain);
      const pos = this.reserve(len);
      // taken over part way: the rest of the batch here
      if (this.local) return putBatchRecords(f, b, fields, 0, packed, 0, k0, n, this.putLocal);
      const { d32, d64, d8 } = this.v;
      const w = pos >> 2;
      d32[w] = len;
      d32[w + 1] = E_BATCH;
      d32[w + 2] = bytes;
      d32[w + 3] = b.names.length;
      const q = (pos + 16) >> 3;
      d64[q] = b.stage;
      d64[q + 1] = b.first + k0;
      d64[q + 2] = m;
      d64[q + 3] = slots;
      d64[q + 4] = b.n_cells;
      d64.set(fields.subarray(k0 * slots * per, (k0 + m) * slots * per), (pos + BATCH_FIXED) >> 3);
      const at = pos + BATCH_FIXED + 8 * per * m * slots;
      for (let j = 0; j < slots; j++) d8.set(packed.subarray((j * n + k0) * bytes, (j * n + k0 + m) * bytes), at + j * m * bytes);
      this.publish(len);
    }
  }
  private readonly batchFields = newSweepFields();
  private readonly putLocal = (f: SweepFields) => (this.local as RecordBuffer).putSweep(f);
  private readonly putRing = (f: SweepFields) => this.sweep(f);

  /** One encoded record (split into parts when it is larger than a quarter of the ring); flush after it when asked. */
  bytes(b: Uint8Array, flush: boolean): void {
    if (this.local) {
      this.local.putBytes(b);
      if (flush) this.local.flush();
      return;
    }
    this.check();
    const room = this.maxEntry - BYTES_AT;
    for (let at = 0; ; at += room) {
      const n = Math.min(room, b.length - at);
      const more = at + n < b.length;
      const len = align8(BYTES_AT + n);
      const pos = this.reserve(len);
      if (this.local) {
        // taken over part way: the parts read so far are dropped, the record goes whole
        this.reader?.dropParts();
        (this.local as RecordBuffer).putBytes(b);
        if (flush) (this.local as RecordBuffer).flush();
        return;
      }
      const { d32, d8 } = this.v;
      d32[pos >> 2] = len;
      d32[(pos >> 2) + 1] = E_BYTES;
      d32[(pos >> 2) + 2] = n;
      d32[(pos >> 2) + 3] = (more ? F_MORE : 0) | (flush && !more ? F_FLUSH : 0);
      d8.set(b.subarray(at, at + n), pos + BYTES_AT);
      this.publish(len, flush && !more);
      if (!more) return;
    }
  }

  /** Everything sent so far written to the file before this returns (process exit); quiet. */
  syncFlush(timeoutMs = START_TIMEOUT_MS): void {
    if (this.done) return;
    if (this.local) return this.local.flush();
    if (Atomics.load(this.v.i32, STATE)) return;
    if (Atomics.load(this.v.i32, OWNER) !== OWNER_THREAD && this.takeOver()) return (this.local as RecordBuffer | null)?.flush();
    const seq = ++this.syncSeq;
    const pos = this.reserve(16);
    if (this.local) return (this.local as RecordBuffer).flush();
    this.v.d32[pos >> 2] = 16;
    this.v.d32[(pos >> 2) + 1] = E_SYNC;
    this.v.d32[(pos >> 2) + 2] = seq;
    this.publish(16, true);
    const until = Date.now() + timeoutMs;
    const { i32 } = this.v;
    for (;;) {
      const s = Atomics.load(i32, SYNC_DONE);
      if (s === seq || Atomics.load(i32, OWNER) === OWNER_DONE || Date.now() > until) return;
      Atomics.wait(i32, SYNC_DONE, s, 50);
    }
  }

  /** Stop after writing everything; throws the writer thread's error (a full disk) if it had one. */
  finish(): void {
    if (this.done) return this.check();
    if (this.local) {
      this.done = true;
      this.local.flush();
      return;
    }
    this.check();
    const pos = this.reserve(8);
    if (this.local) return this.finish();
    this.v.d32[pos >> 2] = 8;
    this.v.d32[(pos >> 2) + 1] = E_STOP;
    this.publish(8, true);
    this.waitStopped();
    this.check();
  }

  /** Stop at once, without writing what is buffered (after an error, or to drop the trace). */
  halt(): void {
    if (this.done) return;
    this.done = true;
    if (this.local) {
      this.local.drop();
      return;
    }
    const { i32 } = this.v;
    Atomics.store(i32, HALT, 1);
    Atomics.notify(i32, HEAD);
    for (const o of [OWNER_NONE, OWNER_REFUSED]) {
      if (Atomics.compareExchange(i32, OWNER, o, OWNER_CALLER) === o) {
        void this.worker?.terminate();
        return;
      }
    }
    this.waitStopped();
  }

  /** Throws the writer thread's error, if it had one. */
  check(): void {
    const { i32, u8c } = this.v;
    if (!Atomics.load(i32, STATE)) return;
    const n = Atomics.load(i32, ERR_LEN);
    const info = JSON.parse(Buffer.from(u8c.buffer, ERR_AT, n).toString('utf8')) as { message: string; code?: string; fault?: boolean };
    if (info.code !== undefined) throw new OutputError(info.message, info.code, info.fault ?? false);
    throw new Error(info.message);
  }

  private waitStopped(): void {
    const { i32 } = this.v;
    for (;;) {
      const o = Atomics.load(i32, OWNER);
      if (o === OWNER_DONE || o === OWNER_CALLER) break;
      if ((o === OWNER_NONE || o === OWNER_REFUSED) && this.takeOver()) {
        this.local?.drop();
        break;
      }
      Atomics.wait(i32, OWNER, o, 50);
    }
    this.done = true;
    this.noteBytes();
    void this.worker?.terminate();
  }

  private noteBytes(): void {
    this.file.bytes += this.v.f64c[BYTES_F64];
    this.v.f64c[BYTES_F64] = 0;
  }

  /**
   * Claim the ring for this thread when the writer thread has not started (or refused it): read
   * what is in it here and encode from now on here. Returns whether this thread owns it now.
   */
  private takeOver(): boolean {
    const { i32 } = this.v;
    const o = Atomics.load(i32, OWNER);
    if (o === OWNER_THREAD || o === OWNER_DONE) return false;
    if (o !== OWNER_CALLER && Atomics.compareExchange(i32, OWNER, o, OWNER_CALLER) !== o) return false;
    Atomics.store(i32, HEAD, this.head); // every entry written so far is read below
    this.pub = this.head;
    const f = this.file;
    this.local = new RecordBuffer((b, n) => f.write(b, 0, n));
    this.reader = new RingReader(this.v, this.local);
    this.reader.drain();
    void this.worker?.terminate();
    return true;
  }

  private putKeys(keys: string[]): void {
    const b = Buffer.from(JSON.stringify(keys), 'utf8');
    const len = align8(BYTES_AT + b.length);
    if (len > this.maxEntry) throw new Error('trace ring: energy component names too long');
    const pos = this.reserve(len);
    if (this.local) return;
    this.v.d32[pos >> 2] = len;
    this.v.d32[(pos >> 2) + 1] = E_KEYS;
    this.v.d32[(pos >> 2) + 2] = b.length;
    this.v.d8.set(b, pos + BYTES_AT);
    this.publish(len);
  }

  /** Room for an entry of `len` bytes (<= maxEntry): its position, after a wrap marker when needed; waits while the ring is full. */
  private reserve(len: number): number {
    const { i32, d32, cap, mask } = this.v;
    for (;;) {
      const pos = this.head & mask;
      const rest = cap - pos;
      const need = len <= rest ? len : rest + len;
      // the writer thread's position is read only when the last one read leaves too little room
      if (cap - ((this.head - this.tailSeen) | 0) < need) this.tailSeen = Atomics.load(i32, TAIL);
      const used = (this.head - this.tailSeen) | 0;
      if (cap - used >= need) {
        if (len > rest) {
          d32[pos >> 2] = rest;
          d32[(pos >> 2) + 1] = E_WRAP;
          this.head = (this.head + rest) | 0;
        }
        return this.head & mask;
      }
      this.publish(0, true);
      this.waitForRoom(used, need);
      if (this.local) return 0;
    }
  }

  /** The ring is full: wait for the writer thread to read (or take the ring over when it never started). */
  private waitForRoom(used: number, need: number): void {
    const { i32 } = this.v;
    this.check();
    const o = Atomics.load(i32, OWNER);
    if (o === OWNER_REFUSED || o === OWNER_DONE || (o === OWNER_NONE && (this.startError !== null || Date.now() - this.started > START_TIMEOUT_MS))) {
      if (this.takeOver()) return;
      if (o === OWNER_DONE) {
        this.check();
        throw new Error('trace writer thread stopped');
      }
    }
    const tail = (this.head - used) | 0;
    this.waits++;
    // wait for a quarter of the ring (or what this entry needs): one wake-up per batch of records
    Atomics.store(i32, MAIN_WAIT, Math.max(need, this.v.cap >> 2));
    if (Atomics.load(i32, TAIL) === tail) Atomics.wait(i32, TAIL, tail, o === OWNER_NONE ? 20 : 200);
    Atomics.store(i32, MAIN_WAIT, 0);
  }

  /**
   * An entry of `len` bytes written at HEAD. Entries are made visible to the writer thread (HEAD
   * stored) in batches: once `pubBytes` have gathered, IDLE_MS after the last time, or when asked
   * (`wake`: a flush, a stop, a full ring). A sleeping writer thread is woken only once `batch`
   * bytes wait for it, or when asked: a wake-up per record would cost more than the record; the
   * thread also looks by itself every IDLE_MS. Raises the writer thread's error, if it had one.
   */
  private publish(len: number, wake = false): void {
    this.head = (this.head + len) | 0;
    if (!wake && ((this.head - this.pub) | 0) < this.pubBytes && Date.now() - this.pubAt < IDLE_MS) return;
    const { i32 } = this.v;
    this.pub = this.head;
    this.pubAt = Date.now();
    Atomics.store(i32, HEAD, this.head);
    // the flag is cleared by whoever wakes the thread: one wake-up, however long the thread takes to run
    if (Atomics.load(i32, SLEEP) && (wake || ((this.head - Atomics.load(i32, SEEN)) | 0) >= this.batch) && Atomics.compareExchange(i32, SLEEP, 1, 0) === 1) {
      Atomics.notify(i32, HEAD);
    }
    this.check();
  }
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let q = 0; q < a.length; q++) if (a[q] !== b[q]) return false;
  return true;
}

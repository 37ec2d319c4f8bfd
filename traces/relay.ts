/**
 * A trace of chains that run on several threads (a DTM run's images over `--workers`): each worker
 * thread traces its chains into a RelaySink, which posts their sweep records, in batches, to the
 * thread that owns the trace file; that thread hands each message to the trace's own sink with
 * replayRelayed, in the trace's order (sim/dtm.ts orders them: stage by stage, chain by chain). The
 * sink then sees the sweep records of one thread's run, value for value, so the file is the same.
 *
 * The worker keeps the thinning's rule (SweepFilter, the writer's own) so that it packs and posts
 * only the records the trace keeps; the owner writes the header and the stage and end records.
 */
import { packStates, unpackSpins } from './pack.js';
import { newSweepFields, putBatchRecords } from './sweep-record.js';
import { BATCH_FIELDS, type EndInfo, type StageInfo, type SweepBatch, type SweepInfo, type TraceHeader, type TraceSink } from './types.js';
import { SweepFilter, type TraceOptions } from './writer.js';

/** A worker's sweep records of one stage: a batch (n chains x slots sweeps), or single records each with its chain. */
export type RelayedSweeps =
  | { t: 'batch'; batch: SweepBatch }
  | { t: 'records'; stage: number; names: readonly string[]; chains: Int32Array; fields: Float64Array; packed: Uint8Array; bytes: number };

/** single records buffered before they are posted together */
const RECORDS_PER_MESSAGE = 256;

export class RelaySink implements TraceSink {
  private readonly filter: SweepFilter;
  private readonly bytes: number;
  /** single records (sweep()) not yet posted: their chains, values and packed spins */
  private stage = -1;
  private names: readonly string[] = [];
  private chains: number[] = [];
  private fields: number[] = [];
  private packed: Uint8Array;
  private n = 0;

  /**
   * `opts` the trace's thinning, `sweeps` per stage, N the grid's cells; `post` sends a message to
   * the trace's owner (moving the buffers listed).
   */
  constructor(
    opts: TraceOptions,
    sweeps: number,
    private readonly N: number,
    private readonly post: (m: RelayedSweeps, transfer: ArrayBuffer[]) => void,
  ) {
    this.filter = new SweepFilter(opts, sweeps);
    this.bytes = (N + 7) >> 3;
    this.packed = new Uint8Array(RECORDS_PER_MESSAGE * this.bytes);
  }

  header(_h: TraceHeader): void {
    throw new Error('RelaySink: the trace owner writes the header');
  }

  wantsSweep(chain: number, stage: number, sweep: number): boolean {
    return this.filter.wants(chain, stage, sweep);
  }

  sweep(r: SweepInfo): void {
    if (!this.filter.wants(r.chain, r.stage, r.sweep)) return;
    if (this.n > 0 && r.stage !== this.stage) this.flush();
    const names = r.energy ? r.energy.names : Object.keys(r.energy_j ?? {});
    // one message holds records of one list of energy components (a run has one)
    if (this.n > 0 && (names.length !== this.names.length || names.some((k, q) => k !== this.names[q]))) this.flush();
    this.stage = r.stage;
    this.names = names;
    this.chains.push(r.chain);
    this.fields.push(r.sweep, r.cycle, r.time_s, r.toggles);
    if (r.energy) for (let q = 0; q < names.length; q++) this.fields.push(r.energy.values[r.energy.at + q]);
    else for (const k of names) this.fields.push(r.energy_j![k]);
    this.packed.set(r.packed ?? packStates(r.spins, null, this.N), this.n * this.bytes);
    if (++this.n === RECORDS_PER_MESSAGE) this.flush();
  }

  sweeps(b: SweepBatch): void {
    this.flush();
    const per = BATCH_FIELDS + b.names.length;
    const fields = b.fields.slice(0, b.n * b.slots * per);
    const packed = b.packed.slice(0, b.n * b.slots * b.bytes);
    this.post({ t: 'batch', batch: { ...b, names: [...b.names], fields, packed } }, [fields.buffer as ArrayBuffer, packed.buffer as ArrayBuffer]);
  }

  /** the owner writes stage records from the whole run's totals; a stage's single records go before its end */
  stageBegin(_r: StageInfo): void {}

  stageEnd(_r: StageInfo): void {
    this.flush();
  }

  end(_r: EndInfo): void {
    this.flush();
  }

  async close(): Promise<void> {
    this.flush();
  }

  /** the buffered single records, posted */
  private flush(): void {
    if (this.n === 0) return;
    const fields = Float64Array.from(this.fields);
    const packed = this.packed.slice(0, this.n * this.bytes);
    const chains = Int32Array.from(this.chains);
    this.post({ t: 'records', stage: this.stage, names: [...this.names], chains, fields, packed, bytes: this.bytes }, [
      fields.buffer as ArrayBuffer,
      packed.buffer as ArrayBuffer,
      chains.buffer as ArrayBuffer,
    ]);
    this.chains = [];
    this.fields = [];
    this.n = 0;
  }
}

/** A worker's message to the trace's own sink: the same sweep records, in the same order. */
export function replayRelayed(sink: TraceSink, m: RelayedSweeps): void {
  if (m.t === 'batch') {
    if (sink.sweeps) sink.sweeps(m.batch);
    else replayBatch(sink, m.batch);
    return;
  }
  const per = BATCH_FIELDS + m.names.length;
  const one: SweepBatch = { stage: m.stage, first: 0, n: 1, slots: 1, names: m.names, fields: m.fields, packed: m.packed, bytes: m.bytes };
  for (let i = 0; i < m.chains.length; i++) {
    one.first = m.chains[i];
    one.fields = m.fields.subarray(i * per, (i + 1) * per);
    one.packed = m.packed.subarray(i * m.bytes, (i + 1) * m.bytes);
    if (sink.sweeps) sink.sweeps(one);
    else replayBatch(sink, one);
  }
}

/** a batch record by record through sink.sweep() (a sink without sweeps()), in putBatchRecords' order */
function replayBatch(sink: TraceSink, b: SweepBatch): void {
  const N = b.bytes * 8;
  const spins = new Float64Array(N);
  const energy = { names: b.names, values: b.fields, at: 0 };
  const layout = { stage: b.stage, first: b.first, n: b.n, slots: b.slots, n_cells: N, names: b.names as string[], bytes: b.bytes };
  putBatchRecords(newSweepFields(), layout, b.fields, 0, b.packed, 0, 0, b.n, (f) => {
    energy.at = f.energyAt!;
    sink.sweep({
      chain: f.chain,
      stage: f.stage,
      sweep: f.sweep,
      cycle: f.cycle,
      time_s: f.time_s,
      toggles: f.toggles,
      spins: unpackSpins(f.states, N, spins),
      packed: f.states,
      energy,
    });
  });
}

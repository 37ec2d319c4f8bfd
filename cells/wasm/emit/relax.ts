/**
 * Phase R, one group (cycle engine): the bias node's relaxation, segment by segment: towards the
 * previous target, the delayed-link drive and the new drive, V = T + (V_start - T) aB^n (the
 * reference's operations in single precision, f(T + f(f(V_start - T) aB^n)), cells/physics.ts). Writes the new node value and each segment's distance
 * (start - target) for the estimate.
 */
import { op as o, type Code } from '../asm.js';
import { KC } from '../abi.js';
import { BUF, flushTiny, type EmitCtx } from './context.js';

/** the node after `count` substeps towards (TA, TBv), from where it is: T + (V - T) aB^count */
function emitRelaxSegment(ctx: EmitCtx, count: number, slot: number, TA: Code, TBv: Code): Code[] {
  const { get, set, K, r32 } = ctx;
  const { VA, VB } = ctx.l;
  if (count <= 0) return [];
  return [
    set(VA, r32(o.f64x2_add(TA, r32(o.f64x2_mul(r32(o.f64x2_sub(get(VA), TA)), K(slot)))))),
    set(VB, r32(o.f64x2_add(TBv, r32(o.f64x2_mul(r32(o.f64x2_sub(get(VB), TBv)), K(slot)))))),
  ];
}

export function emitRelax(ctx: EmitCtx): Code[] {
  const { get, set, pack, lat, cycle, variant } = ctx;
  const { TGOFF } = ctx.g;
  const { hA, hB, hmA, hmB, V0A, V0B, T1A, T1B, VA, VB, gP, bufP, t0, t1 } = ctx.l;
  const { K } = ctx;
  /** the distances (V - T) of both vectors, tiny ones flushed, as one f32x4 */
  const dist = (TA: Code, TB: Code): Code[] => [set(t0, o.f64x2_sub(get(VA), TA)), set(t1, o.f64x2_sub(get(VB), TB))];
  const packed = (): Code => pack(flushTiny(K, get(t0)), flushTiny(K, get(t1)));
  const n = (k: 'n1' | 'nMid' | 'n2') => (cycle && variant.cycle ? variant[k] : 0);
  const out: Code[] = [];
  out.push(set(hA, o.v_load(get(bufP), BUF.off.H)), set(hB, o.v_load(get(bufP), BUF.off.H + 16)));
  if (lat) out.push(set(hmA, o.v_load(get(bufP), BUF.off.HM)), set(hmB, o.v_load(get(bufP), BUF.off.HM + 16)));
  out.push(set(V0A, o.v_load(get(gP), 0)), set(V0B, o.v_load(get(gP), 16)));
  out.push(set(T1A, o.v_load(get(gP), TGOFF)), set(T1B, o.v_load(get(gP), TGOFF + 16)));
  out.push(set(VA, get(V0A)), set(VB, get(V0B)));
  out.push(...dist(get(T1A), get(T1B)), o.v_store(get(bufP), packed(), BUF.off.D1));
  out.push(...emitRelaxSegment(ctx, n('n1'), KC.PW1, get(T1A), get(T1B)));
  if (lat) {
    out.push(...dist(get(hmA), get(hmB)), o.v_store(get(bufP), packed(), BUF.off.DM));
    out.push(...emitRelaxSegment(ctx, n('nMid'), KC.PWM, get(hmA), get(hmB)));
  }
  out.push(...dist(get(hA), get(hB)), o.v_store(get(bufP), packed(), BUF.off.D2));
  out.push(...emitRelaxSegment(ctx, n('n2'), KC.PW2, get(hA), get(hB)));
  out.push(o.v_store(get(bufP), get(VA), BUF.off.ND), o.v_store(get(bufP), get(VB), BUF.off.ND + 16));
  return out;
}

/**
 * Phase R, one group (cycle engine): the bias node's relaxation V <- T + (V - T) a_bias, substep by
 * substep (exactly the reference's operations), towards the previous target, the delayed-link
 * drive and the new drive. Writes the new node value and each segment's distance (start - target)
 * for the estimate. Its own loop, so the long dependency chains of several groups overlap.
 */
import { op as o, type Code } from '../asm.js';
import { KC } from '../abi.js';
import { BUF, type EmitCtx } from './context.js';

/** node recursion, unrolled, towards target (TA, TBv) for both vectors */
function emitRelaxSteps(ctx: EmitCtx, count: number, TA: Code, TBv: Code): Code[] {
  const { get, set, K } = ctx;
  const { VA, VB, aBv, nSub } = ctx.l;
  const step: Code[] = [
    set(VA, o.f64x2_add(TA, o.f64x2_mul(o.f64x2_sub(get(VA), TA), get(aBv)))),
    set(VB, o.f64x2_add(TBv, o.f64x2_mul(o.f64x2_sub(get(VB), TBv), get(aBv)))),
  ];
  if (count <= 0) return [];
  const out: Code[] = [set(aBv, K(KC.AB))];
  if (count <= 16) {
    for (let n = 0; n < count; n++) out.push(...step);
    return out;
  }
  // long phases: a counted loop (same operations, same order)
  out.push(set(nSub, o.i32(count)), o.loop([...step, o.br_if(0, o.i32_gt_s(o.tee(nSub, o.i32_sub(get(nSub), o.i32(1))), o.i32(0)))]));
  return out;
}

export function emitRelax(ctx: EmitCtx): Code[] {
  const { get, set, pack, lat, cycle, variant } = ctx;
  const { TGOFF } = ctx.g;
  const { hA, hB, hmA, hmB, V0A, V0B, T1A, T1B, VA, VB, gP, bufP } = ctx.l;
  const n = (k: 'n1' | 'nMid' | 'n2') => (cycle && variant.cycle ? variant[k] : 0);
  const out: Code[] = [];
  out.push(set(hA, o.v_load(get(bufP), BUF.H)), set(hB, o.v_load(get(bufP), BUF.H + 16)));
  if (lat) out.push(set(hmA, o.v_load(get(bufP), BUF.HM)), set(hmB, o.v_load(get(bufP), BUF.HM + 16)));
  out.push(set(V0A, o.v_load(get(gP), 0)), set(V0B, o.v_load(get(gP), 16)));
  out.push(set(T1A, o.v_load(get(gP), TGOFF)), set(T1B, o.v_load(get(gP), TGOFF + 16)));
  out.push(o.v_store(get(bufP), pack(o.f64x2_sub(get(V0A), get(T1A)), o.f64x2_sub(get(V0B), get(T1B))), BUF.D1));
  out.push(set(VA, get(V0A)), set(VB, get(V0B)));
  out.push(...emitRelaxSteps(ctx, n('n1'), get(T1A), get(T1B)));
  if (lat) {
    out.push(o.v_store(get(bufP), pack(o.f64x2_sub(get(VA), get(hmA)), o.f64x2_sub(get(VB), get(hmB))), BUF.DM));
    out.push(...emitRelaxSteps(ctx, n('nMid'), get(hmA), get(hmB)));
  }
  out.push(o.v_store(get(bufP), pack(o.f64x2_sub(get(VA), get(hA)), o.f64x2_sub(get(VB), get(hB))), BUF.D2));
  out.push(...emitRelaxSteps(ctx, n('n2'), get(hA), get(hB)));
  out.push(o.v_store(get(bufP), get(VA), BUF.ND), o.v_store(get(bufP), get(VB), BUF.ND + 16));
  return out;
}

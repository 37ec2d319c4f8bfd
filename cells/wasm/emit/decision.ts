/**
 * Phase A2, one group: the decision where it is certain. Ideal engine: the draw's bin in the logit
 * table (abi TAB) bounds logit(u); h above the upper bound is +1, below the lower bound -1. Cycle
 * engine: the estimate's last segment (towards the new drive), then u against P~ -+ M. Lanes
 * decided neither way (and not clamped) are marked undecided for the exact phase (exact.ts).
 */
import { op as o, type Code } from '../asm.js';
import { KC, REGIONS, TAB_BITS } from '../abi.js';
import { BUF, SHUF_EVEN32, SHUF_HI, SHUF_LO, type EmitCtx } from './context.js';
import { emitSegment32 } from './estimate.js';

export function emitDecision(ctx: EmitCtx): Code[] {
  const { get, set, K, pack, L, lat, cycle } = ctx;
  const { SGOFF } = ctx.g;
  const { hA, hB, hmA, hmB, r, t0, t1, t2, t3, upA, upB, dnA, dnB, GI, OI, Pq, Mq, SL, tmp, zq, xq, sg, mag, up32, dn32, ambA, ambB, anyAmb, rP, gP, bufP } =
    ctx.l;
  const TAB = REGIONS.TAB.at;
  const out: Code[] = [];
  out.push(set(hA, o.v_load(get(bufP), BUF.off.H)), set(hB, o.v_load(get(bufP), BUF.off.H + 16)));
  if (lat) out.push(set(hmA, o.v_load(get(bufP), BUF.off.HM)), set(hmB, o.v_load(get(bufP), BUF.off.HM + 16)));
  out.push(set(r, o.v_load(get(bufP), BUF.off.R)));
  if (!cycle) {
    out.push(set(t0, o.i32x4_shl(o.i32x4_shr_u(get(r), o.i32(32 - TAB_BITS)), o.i32(4))));
    out.push(
      set(t1, o.v_load(o.i32x4_extract(get(t0), 0), TAB)),
      set(t2, o.v_load(o.i32x4_extract(get(t0), 1), TAB)),
      set(upA, o.f64x2_gt(get(hA), o.shuffle(get(t1), get(t2), SHUF_HI))),
      set(dnA, o.f64x2_lt(get(hA), o.shuffle(get(t1), get(t2), SHUF_LO))),
      set(t1, o.v_load(o.i32x4_extract(get(t0), 2), TAB)),
      set(t2, o.v_load(o.i32x4_extract(get(t0), 3), TAB)),
      set(upB, o.f64x2_gt(get(hB), o.shuffle(get(t1), get(t2), SHUF_HI))),
      set(dnB, o.f64x2_lt(get(hB), o.shuffle(get(t1), get(t2), SHUF_LO))),
    );
  } else {
    // single-precision estimate of P: the earlier segments come from phase E0
    out.push(set(GI, o.v_load(get(rP), L.off.GAIN)), set(OI, o.v_load(get(rP), L.off.OFF)));
    out.push(set(Pq, o.v_load(get(bufP), BUF.off.PQ)), set(Mq, o.v_load(get(bufP), BUF.off.MQ)), set(SL, o.v_load(get(bufP), BUF.off.SL)));
    out.push(set(tmp, pack(get(hA), get(hB))));
    out.push(set(zq, o.f32x4_add(o.f32x4_mul(get(GI), get(tmp)), get(OI))));
    out.push(set(xq, o.f32x4_mul(get(GI), o.v_load(get(bufP), BUF.off.D2))));
    out.push(...emitSegment32(ctx, 2, false));
    // the new target's sigmoid is next latch's cache (clamped cells keep their target)
    out.push(set(t3, o.shuffle(o.v_load(get(rP), L.off.CLAMP), o.v_load(get(rP), L.off.CLAMP + 16), SHUF_EVEN32)));
    out.push(o.v_store(get(gP), o.v_bitselect(o.v_load(get(gP), SGOFF), get(sg), get(t3)), SGOFF));
    out.push(o.v_store(get(gP), o.v_bitselect(o.v_load(get(gP), SGOFF + 16), get(mag), get(t3)), SGOFF + 16));
    out.push(set(Mq, o.f32x4_add(get(Mq), o.f32x4_add(K(KC.K0), o.f32x4_mul(K(KC.SK), get(SL))))));
    // u = r 2^-32 (rounded to single precision: covered by K0)
    out.push(set(tmp, o.f32x4_mul(o.f32x4_convert_i32x4_u(get(r)), K(KC.FTWO32))));
    out.push(set(up32, o.f32x4_lt(get(tmp), o.f32x4_sub(get(Pq), get(Mq)))));
    out.push(set(dn32, o.f32x4_ge(get(tmp), o.f32x4_add(get(Pq), get(Mq)))));
    out.push(set(upA, o.i64x2_extend_low_i32x4_s(get(up32))), set(upB, o.i64x2_extend_high_i32x4_s(get(up32))));
    out.push(set(dnA, o.i64x2_extend_low_i32x4_s(get(dn32))), set(dnB, o.i64x2_extend_high_i32x4_s(get(dn32))));
  }
  // undecided: neither up nor down, and neither clamped nor a tail group's invalid lane
  out.push(
    set(ambA, o.v_andnot(o.v_not(o.v_or(get(upA), get(dnA))), o.v_load(get(rP), L.off.CLAMP))),
    set(ambB, o.v_andnot(o.v_not(o.v_or(get(upB), get(dnB))), o.v_load(get(rP), L.off.CLAMP + 16))),
    o.v_store(get(bufP), get(upA), BUF.off.UP),
    o.v_store(get(bufP), get(upB), BUF.off.UP + 16),
    o.v_store(get(bufP), get(ambA), BUF.off.AMB),
    o.v_store(get(bufP), get(ambB), BUF.off.AMB + 16),
    set(anyAmb, o.v_or(get(anyAmb), o.v_or(get(ambA), get(ambB)))),
  );
  return out;
}

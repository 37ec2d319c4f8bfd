/**
 * The cycle engine's single-precision estimate of P with a rigorous error bound (see kernel.ts
 * for the argument): per segment of the node's relaxation, a second-order Taylor term of the
 * sigmoid about the segment's target into Pq and the bound of its remainder and roundings into Mq.
 */
import { op as o, type Code } from '../asm.js';
import { KC } from '../abi.js';
import { BUF, type EmitCtx } from './context.js';
import { emitSigmoid32, type F32Ctx } from './sigmoid.js';

/**
 * One segment's Taylor term into Pq and its error bound into Mq (x = gi * delta in xq). The
 * sigmoid of the segment's target: computed from zq (and |gi T| from tmp), or (cached) read
 * from the group's sigmoid cache, which holds sigma~(gi T + oi) and |gi T| of the current target.
 */
export function emitSegment32(ctx: EmitCtx, s: number, cached: boolean): Code[] {
  const { get, set } = ctx;
  const { SGOFF } = ctx.g;
  const { sg, mag, gP } = ctx.l;
  return emitTaylorTerm(ctx, s, cached ? [set(sg, o.v_load(get(gP), SGOFF)), set(mag, o.v_load(get(gP), SGOFF + 16))] : null);
}

/**
 * Segment s's term: `sigma` sets sg = sigma~(gi T + oi) and mag = |gi T| of the segment's target
 * (null: computed here from zq, and tmp = T); xq holds gi (V_start - T). Adds the term to Pq, its
 * bound to Mq and the magnitudes to SL. Any context with the f32 registers (both engines).
 */
export function emitTaylorTerm(ctx: F32Ctx, s: number, sigma: Code[] | null): Code[] {
  const { get, set, K } = ctx;
  const { sg, mag, GI, tmp, sp, x2q, xq, ax, Pq, Mq, SL } = ctx.l;
  const c = (m: number) => K(KC.C + s * 4 + m);
  return [
    ...(sigma ?? [...emitSigmoid32(ctx), set(mag, o.f32x4_abs(o.f32x4_mul(get(GI), get(tmp))))]),
    set(sp, o.f32x4_mul(get(sg), o.f32x4_sub(K(KC.F1), get(sg)))),
    set(x2q, o.f32x4_mul(get(xq), get(xq))),
    set(ax, o.f32x4_abs(get(xq))),
    set(
      Pq,
      o.f32x4_add(
        get(Pq),
        o.f32x4_add(
          o.f32x4_mul(get(sg), c(0)),
          o.f32x4_add(
            o.f32x4_mul(o.f32x4_mul(get(sp), get(xq)), c(1)),
            o.f32x4_mul(o.f32x4_mul(o.f32x4_mul(get(sp), o.f32x4_sub(K(KC.F1), o.f32x4_add(get(sg), get(sg)))), get(x2q)), c(2)),
          ),
        ),
      ),
    ),
    set(
      Mq,
      o.f32x4_add(
        get(Mq),
        o.f32x4_add(
          o.f32x4_mul(o.f32x4_mul(get(x2q), get(ax)), c(3)),
          o.f32x4_mul(K(KC.EE), o.f32x4_add(c(0), o.f32x4_add(o.f32x4_mul(get(ax), c(1)), o.f32x4_mul(get(x2q), c(2))))),
        ),
      ),
    ),
    set(SL, o.f32x4_add(get(SL), o.f32x4_add(get(ax), get(mag)))),
  ];
}

/**
 * Phase E0, one group: the part of the estimate that does not involve the new drive h: the
 * sticky-bit term and the segments towards the previous target (sigmoid cached) and towards the
 * delayed-link drive. Its own loop to keep each loop's live values few.
 */
export function emitEstimateE0(ctx: EmitCtx): Code[] {
  const { get, set, K, ZERO, pack, L, lat } = ctx;
  const { GI, OI, Pq, Mq, SL, rP, oP, xq, bufP, tmp, zq } = ctx.l;
  const out: Code[] = [];
  out.push(set(GI, o.v_load(get(rP), L.off.GAIN)), set(OI, o.v_load(get(rP), L.off.OFF)));
  out.push(set(Pq, o.v_and(o.f32x4_gt(pack(o.v_load(get(oP), 0), o.v_load(get(oP), 16)), ZERO), K(KC.BPOW))), set(Mq, ZERO), set(SL, o.f32x4_abs(get(OI))));
  out.push(set(xq, o.f32x4_mul(get(GI), o.v_load(get(bufP), BUF.off.D1))));
  out.push(...emitSegment32(ctx, 0, true));
  if (lat) {
    out.push(set(tmp, pack(o.v_load(get(bufP), BUF.off.HM), o.v_load(get(bufP), BUF.off.HM + 16))));
    out.push(set(zq, o.f32x4_add(o.f32x4_mul(get(GI), get(tmp)), get(OI))));
    out.push(set(xq, o.f32x4_mul(get(GI), o.v_load(get(bufP), BUF.off.DM))));
    out.push(...emitSegment32(ctx, 1, false));
  }
  out.push(o.v_store(get(bufP), get(Pq), BUF.off.PQ), o.v_store(get(bufP), get(Mq), BUF.off.MQ), o.v_store(get(bufP), get(SL), BUF.off.SL));
  return out;
}

/** One group of fill(): the sigmoid cache (sigma~(gi T + oi), |gi T|) of the group's current targets. */
export function emitSigmaCacheFill(ctx: EmitCtx): Code[] {
  const { get, set, pack, L } = ctx;
  const { TGOFF, SGOFF } = ctx.g;
  const { GI, rP, tmp, gP, zq, sg } = ctx.l;
  return [
    set(GI, o.v_load(get(rP), L.off.GAIN)),
    set(tmp, pack(o.v_load(get(gP), TGOFF), o.v_load(get(gP), TGOFF + 16))),
    set(zq, o.f32x4_add(o.f32x4_mul(get(GI), get(tmp)), o.v_load(get(rP), L.off.OFF))),
    ...emitSigmoid32(ctx),
    o.v_store(get(gP), get(sg), SGOFF),
    o.v_store(get(gP), o.f32x4_abs(o.f32x4_mul(get(GI), get(tmp))), SGOFF + 16),
  ];
}

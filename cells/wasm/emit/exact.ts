/**
 * The exact decision: the reference's own expression for P (Math.exp imported from JavaScript)
 * and the latch rule r < min(ceil(P 2^32), 2^32 - 1) (cells/physics.ts),
 * as a function the kernel calls for the rare lanes the estimate cannot decide, and phase B, the
 * loop over those lanes.
 */
import { op as o, T, Locals, type Code, type FuncDef } from '../asm.js';
import { abiLoad } from '../abi.js';
import type { Variant } from '../layout.js';
import { BUF, type EmitCtx } from './context.js';

/** r < min(ceil(P 2^32), 2^32 - 1), r an unsigned i32 */
const latchUp = (r: Code, P: Code): Code => o.f64_lt(o.f64_convert_i32_u(r), o.f64_min(o.f64_ceil(o.f64_mul(P, o.f64(4294967296))), o.f64(4294967295)));

/**
 * exactIdeal(h, r) -> i64 lane mask, or exactCycle(V0, T1, h, hMid, gi, oi, old, r) -> i64 lane
 * mask: the reference loops, substep by substep. `exp` is the function index of the import.
 */
export function exactFunc(variant: Variant, exp: number): FuncDef {
  if (!variant.cycle) {
    return {
      params: [T.f64, T.i32],
      results: [T.i64],
      locals: [],
      body: [o.select(o.i64(-1), o.i64(0), latchUp(o.get(1), o.f64_div(o.f64(1), o.f64_add(o.f64(1), o.call(exp, [o.f64_neg(o.get(0))])))))],
    };
  }
  // the cycle cell in single precision (cells/physics.ts cycleLatchP): the node and the RNG's
  // P(1) in f32 locals, the sigmoid f(1 / f(1 + f(exp(-u)))) with the imported double exp
  const lc = new Locals(8);
  const V = lc.add(T.f32);
  const A = lc.add(T.f32);
  const Tt = lc.add(T.f32);
  const p = lc.add(T.f32);
  const n = lc.add(T.i32);
  const aB = lc.add(T.f32);
  const aR = lc.add(T.f32);
  const pw = lc.add(T.f32);
  const d = lc.add(T.f32);
  const gi = lc.add(T.f32);
  const oi = lc.add(T.f32);
  const [pV0, pT1, ph, phm, pgi, poi, pold, pr] = [0, 1, 2, 3, 4, 5, 6, 7];
  // V = f(T + f(d aB^q)), d = f(V_start - T), aB^q the f32 running product
  const seg = (count: number, target: number): Code[] =>
    count <= 0
      ? []
      : [
          o.set(Tt, o.f32_demote(o.get(target))),
          o.set(d, o.f32_sub(o.get(V), o.get(Tt))),
          o.set(pw, o.f32(1)),
          o.set(n, o.i32(count)),
          o.loop([
            o.set(pw, o.f32_mul(o.get(pw), o.get(aB))),
            o.set(V, o.f32_add(o.get(Tt), o.f32_mul(o.get(d), o.get(pw)))),
            o.set(
              p,
              o.f32_div(
                o.f32(1),
                o.f32_add(o.f32(1), o.f32_demote(o.call(exp, [o.f64_promote(o.f32_neg(o.f32_add(o.f32_mul(o.get(gi), o.get(V)), o.get(oi))))]))),
              ),
            ),
            o.set(A, o.f32_add(o.get(p), o.f32_mul(o.f32_sub(o.get(A), o.get(p)), o.get(aR)))),
            o.br_if(0, o.i32_gt_s(o.tee(n, o.i32_sub(o.get(n), o.i32(1))), o.i32(0))),
          ]),
        ];
  return {
    params: [T.f64, T.f64, T.f64, T.f64, T.f64, T.f64, T.f64, T.i32],
    results: [T.i64],
    locals: lc.types,
    body: [
      o.set(aB, o.f32_demote(abiLoad.f64('aB'))),
      o.set(aR, o.f32_demote(abiLoad.f64('aR'))),
      o.set(gi, o.f32_demote(o.get(pgi))),
      o.set(oi, o.f32_demote(o.get(poi))),
      o.set(V, o.f32_demote(o.get(pV0))),
      o.set(A, o.f32(0)),
      ...seg(variant.n1, pT1),
      ...seg(variant.nMid, phm),
      ...seg(variant.n2, ph),
      o.select(
        o.i64(-1),
        o.i64(0),
        latchUp(o.get(pr), o.f64_promote(o.select(o.f32_add(o.get(A), o.f32_demote(abiLoad.f64('bPow'))), o.get(A), o.f64_gt(o.get(pold), o.f64(0))))),
      ),
    ],
  };
}

/** Phase B, one group: the exact decision for its undecided lanes (rare). */
export function emitExactPhase(ctx: EmitCtx): Code[] {
  const { get, set, L, lat, cycle, fExact } = ctx;
  const { TGOFF } = ctx.g;
  const { bufP, gP, rP, oP, nfb } = ctx.l;
  const out: Code[] = [];
  for (let k = 0; k < 4; k++) {
    const vo = 16 * (k >> 1);
    const l = k & 1;
    let call: Code;
    const hOf = o.f64x2_extract(o.v_load(get(bufP), BUF.off.H + vo), l);
    if (!cycle) {
      call = o.call(fExact, [hOf, o.i32x4_extract(o.v_load(get(bufP), BUF.off.R), k)]);
    } else {
      call = o.call(fExact, [
        o.f64_load(get(gP), 8 * k),
        o.f64_load(get(gP), TGOFF + 8 * k),
        hOf,
        lat ? o.f64x2_extract(o.v_load(get(bufP), BUF.off.HM + vo), l) : hOf,
        o.f64_load(get(rP), L.off.GAIN64 + 8 * k),
        o.f64_load(get(rP), L.off.OFF64 + 8 * k),
        o.f64_load(get(oP), 8 * k),
        o.i32x4_extract(o.v_load(get(bufP), BUF.off.R), k),
      ]);
    }
    out.push(
      o.if_(o.i32_eqz(o.i64_eqz(o.i64x2_extract(o.v_load(get(bufP), BUF.off.AMB + vo), l))), [
        o.v_store(get(bufP), o.i64x2_replace(o.v_load(get(bufP), BUF.off.UP + vo), call, l), BUF.off.UP + vo),
        set(nfb, o.i32_add(get(nfb), o.i32(1))),
      ]),
    );
  }
  return out;
}

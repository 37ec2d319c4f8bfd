/**
 * Phase C, one group: new spins from the decisions, the tallies in cell order (toggles, link
 * toggles, wire length (1/WIRE_Q pitches) and divider terms, all integers), and the stores of
 * spins, previous spins, node values and targets. Clamped cells (and a tail group's invalid
 * lanes) keep everything.
 */
import { op as o, type Code } from '../asm.js';
import { KC } from '../abi.js';
import { BUF, type EmitCtx } from './context.js';

export function emitCommit(ctx: EmitCtx): Code[] {
  const { get, set, K, ONE, MONE, ZERO, L, cycle, r32 } = ctx;
  const { PREV, TGOFF } = ctx.g;
  const { oldA, oldB, nsA, nsB, hA, hB, ndA, ndB, tgA, tgB, clA, clB, togA, togB, cntL, cntT, lk, t0, t1, t2, t3, wp, dv, rP, oP, gP, bufP } = ctx.l;
  const out: Code[] = [];
  out.push(set(oldA, o.v_load(get(oP), 0)), set(oldB, o.v_load(get(oP), 16)));
  // new spins: up ? +1 : -1
  out.push(
    set(nsA, o.v_xor(MONE, o.v_and(o.v_load(get(bufP), BUF.off.UP), K(KC.SIGN)))),
    set(nsB, o.v_xor(MONE, o.v_and(o.v_load(get(bufP), BUF.off.UP + 16), K(KC.SIGN)))),
  );
  out.push(set(hA, o.v_load(get(bufP), BUF.off.H)), set(hB, o.v_load(get(bufP), BUF.off.H + 16)));
  if (cycle) out.push(set(ndA, o.v_load(get(bufP), BUF.off.ND)), set(ndB, o.v_load(get(bufP), BUF.off.ND + 16)));
  else out.push(set(ndA, get(hA)), set(ndB, get(hB)));
  out.push(set(tgA, get(hA)), set(tgB, get(hB)));
  const commit = (masked: boolean): Code[] => {
    const c: Code[] = [];
    if (masked) {
      c.push(set(clA, o.v_load(get(rP), L.off.CLAMP)), set(clB, o.v_load(get(rP), L.off.CLAMP + 16)));
      c.push(set(togA, o.v_andnot(o.f64x2_ne(get(nsA), get(oldA)), get(clA))), set(togB, o.v_andnot(o.f64x2_ne(get(nsB), get(oldB)), get(clB))));
      c.push(set(nsA, o.v_bitselect(get(oldA), get(nsA), get(clA))), set(nsB, o.v_bitselect(get(oldB), get(nsB), get(clB))));
      c.push(set(cntL, o.i64x2_add(o.i64x2_add(get(cntL), get(clA)), get(clB))));
    } else {
      c.push(set(togA, o.f64x2_ne(get(nsA), get(oldA))), set(togB, o.f64x2_ne(get(nsB), get(oldB))));
    }
    c.push(set(cntT, o.i64x2_sub(o.i64x2_sub(get(cntT), get(togA)), get(togB))));
    c.push(set(lk, o.f64x2_add(get(lk), o.f64x2_add(o.v_and(get(togA), o.v_load(get(rP), L.off.CC)), o.v_and(get(togB), o.v_load(get(rP), L.off.CC + 16))))));
    // divider term at the node value (cells/physics.ts): ideal dividerQ, floor(f(1-f) DIVIDER_Q + 1/2),
    // f = clamp(0.5 + vsv V, 0, 1) in f64; cycle dividerQ32, DIVIDER_Q / 4 - rne(f(x x)), x = f(f(256 vsv) V)
    // clamped to [-128, 128], f32 operations emulated in f64 lanes (exact product, rounded once)
    for (const [Ve, cl, t] of [
      [ndA, clA, t0],
      [ndB, clB, t1],
    ]) {
      if (cycle) {
        c.push(set(t, o.f64x2_pmin(o.f64x2_pmax(r32(o.f64x2_mul(K(KC.DV64), get(Ve))), K(KC.DM128)), K(KC.D128))));
        c.push(set(t, o.f64x2_sub(K(KC.DQ4), o.f64x2_nearest(r32(o.f64x2_mul(get(t), get(t)))))));
      } else {
        c.push(set(t, o.f64x2_pmin(o.f64x2_pmax(o.f64x2_add(K(KC.HALF), o.f64x2_mul(K(KC.VSV), get(Ve))), ZERO), ONE)));
        c.push(set(t, o.f64x2_mul(get(t), o.f64x2_sub(ONE, get(t)))));
        c.push(set(t, o.f64x2_floor(o.f64x2_add(o.f64x2_mul(get(t), K(KC.DQ)), K(KC.HALF)))));
      }
      if (masked) c.push(set(t, o.v_andnot(get(t), get(cl))));
    }
    c.push(set(t2, o.v_and(get(togA), o.v_load(get(rP), L.off.CWL))), set(t3, o.v_and(get(togB), o.v_load(get(rP), L.off.CWL + 16))));
    // integer sums (exact, so any order gives the same)
    c.push(
      set(wp, o.f64_add(get(wp), o.f64x2_extract(get(t2), 0))),
      set(dv, o.f64_add(get(dv), o.f64x2_extract(get(t0), 0))),
      set(wp, o.f64_add(get(wp), o.f64x2_extract(get(t2), 1))),
      set(dv, o.f64_add(get(dv), o.f64x2_extract(get(t0), 1))),
      set(wp, o.f64_add(get(wp), o.f64x2_extract(get(t3), 0))),
      set(dv, o.f64_add(get(dv), o.f64x2_extract(get(t1), 0))),
      set(wp, o.f64_add(get(wp), o.f64x2_extract(get(t3), 1))),
      set(dv, o.f64_add(get(dv), o.f64x2_extract(get(t1), 1))),
    );
    if (masked) {
      // clamped cells keep sPrev, node and target (and a tail's invalid lanes keep the padding)
      c.push(
        set(oldA, o.v_bitselect(o.v_load(get(oP), PREV), get(oldA), get(clA))),
        set(oldB, o.v_bitselect(o.v_load(get(oP), PREV + 16), get(oldB), get(clB))),
        set(ndA, o.v_bitselect(o.v_load(get(gP), 0), get(ndA), get(clA))),
        set(ndB, o.v_bitselect(o.v_load(get(gP), 16), get(ndB), get(clB))),
        set(tgA, o.v_bitselect(o.v_load(get(gP), TGOFF), get(tgA), get(clA))),
        set(tgB, o.v_bitselect(o.v_load(get(gP), TGOFF + 16), get(tgB), get(clB))),
      );
    }
    c.push(
      o.v_store(get(oP), get(nsA), 0),
      o.v_store(get(oP), get(nsB), 16),
      o.v_store(get(oP), get(oldA), PREV),
      o.v_store(get(oP), get(oldB), PREV + 16),
      o.v_store(get(gP), get(ndA), 0),
      o.v_store(get(gP), get(ndB), 16),
      o.v_store(get(gP), get(tgA), TGOFF),
      o.v_store(get(gP), get(tgB), TGOFF + 16),
    );
    return c;
  };
  out.push(o.if_(o.i32_load(get(rP), L.off.FLAGS), commit(true), commit(false)));
  return out;
}

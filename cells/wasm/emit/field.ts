/**
 * Phase A, one group of four cells: the field G = b + sum_d w_d s_nbr(d) in double precision, d in
 * order (the reference's summation order; the chain's own biases at +BIOFF of its groups), and
 * the drive h = G hScale (cycle engine: f(f(G) f(hScale)), single precision held in f64 lanes); with delayed tile links
 * also the stale-field correction and the mid-phase drive. Writes h (and hMid) to the row buffer.
 */
import { op as o, type Code } from '../asm.js';
import { KC } from '../abi.js';
import { BUF, tuning, type EmitCtx } from './context.js';

/** `p`: the row parity, which selects the neighbour offsets */
export function emitField(ctx: EmitCtx, p: number): Code[] {
  const { get, set, K, ZERO, barrier, L, lat, cycle, r32 } = ctx;
  const { D, PREV, BIOFF } = ctx.g;
  const { gA, gB, stA, stB, rP, mP, gP, sArr, spArr, tmp, hA, hB, hmA, hmB, bufP } = ctx.l;
  const imm = ctx.g.imm[p];
  const out: Code[] = [];
  out.push(set(gA, o.v_load(get(gP), BIOFF)), set(gB, o.v_load(get(gP), BIOFF + 16)));
  if (lat) out.push(set(stA, ZERO), set(stB, ZERO));
  for (let d = 0; d < D; d++) {
    if (d > 0 && tuning.barrierEvery > 0 && d % tuning.barrierEvery === 0) out.push(...barrier(lat ? [gA, gB, stA, stB] : [gA, gB]));
    const wa = o.v_load(get(rP), L.off.W + 32 * d);
    const wb = o.v_load(get(rP), L.off.W + 32 * d + 16);
    if (!lat) {
      out.push(set(gA, o.f64x2_add(get(gA), o.f64x2_mul(wa, o.v_load(get(mP), 8 * imm[d])))));
      out.push(set(gB, o.f64x2_add(get(gB), o.f64x2_mul(wb, o.v_load(get(mP), 8 * imm[d] + 16)))));
    } else {
      for (const [gv, stv, w, off] of [
        [gA, stA, wa, 0],
        [gB, stB, wb, 16],
      ] as [number, number, Code, number][]) {
        out.push(set(sArr, o.v_load(get(mP), 8 * imm[d] + off)));
        out.push(set(spArr, o.v_load(get(mP), 8 * imm[d] + off + PREV)));
        out.push(set(tmp, w));
        out.push(set(gv, o.f64x2_add(get(gv), o.f64x2_mul(get(tmp), get(sArr)))));
        // stale += w (sPrev - s) on tile-crossing wires only (+0 elsewhere leaves the sum as is)
        out.push(
          set(stv, o.f64x2_add(get(stv), o.v_and(o.v_load(get(rP), L.off.CROSS + 32 * d + off), o.f64x2_mul(get(tmp), o.f64x2_sub(get(spArr), get(sArr)))))),
        );
      }
    }
  }
  // the drive: ideal h = G hScale; cycle h = f(f(G) f(hScale)) (KC.TB holds f(hScale))
  const drive = (G: Code): Code => (cycle ? r32(o.f64x2_mul(r32(G), K(KC.TB))) : o.f64x2_mul(G, K(KC.TB)));
  out.push(set(hA, drive(get(gA))), set(hB, drive(get(gB))));
  out.push(o.v_store(get(bufP), get(hA), BUF.off.H), o.v_store(get(bufP), get(hB), BUF.off.H + 16));
  if (lat) {
    out.push(set(hmA, drive(o.f64x2_add(get(gA), get(stA)))), set(hmB, drive(o.f64x2_add(get(gB), get(stB)))));
    out.push(o.v_store(get(bufP), get(hmA), BUF.off.HM), o.v_store(get(bufP), get(hmB), BUF.off.HM + 16));
  }
  return out;
}

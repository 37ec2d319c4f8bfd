/** The draws: latchDraw(key, i, chain) of rng/counter.ts for four cells of one chain, in i32x4 lanes, into r. */
import { op as o, type Code } from '../asm.js';
import { KC } from '../abi.js';
import type { EmitCtx } from './context.js';

export function emitHash(ctx: EmitCtx): Code[] {
  const { get, set, K } = ctx;
  const { x, r, iNat } = ctx.l;
  const mix = (): Code[] => [
    set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(16)))),
    set(x, o.i32x4_mul(get(x), K(KC.M1))),
    set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(15)))),
    set(x, o.i32x4_mul(get(x), K(KC.M2))),
    set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(16)))),
  ];
  return [
    // the cells' bases, then the chain
    set(x, o.i32x4_add(K(KC.KEY), o.i32x4_mul(o.i32x4_add(o.i32x4_splat(get(iNat)), K(KC.IDX0)), K(KC.KCELL)))),
    ...mix(),
    set(x, o.i32x4_add(get(x), K(KC.CHAIN))),
    ...mix(),
    set(r, get(x)),
  ];
}

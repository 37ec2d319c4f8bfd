/**
 * The approximate single-precision sigmoid of the cycle engines' estimate (|error| <= SIGMA_ERR,
 * cells/wasm/engine.ts), for any emit context with the f32 registers named below (both engines).
 */
import { op as o, type Code } from '../asm.js';
import { KC } from '../abi.js';
import type { EmitCtx, KernelLocals } from './context.js';

/** what the f32 estimate emitters need of a context */
export type F32Ctx = Pick<EmitCtx, 'get' | 'set' | 'K' | 'ZERO'> & {
  l: Pick<KernelLocals, 'yq' | 'zq' | 'kq' | 'ax' | 'qq' | 'sg' | 'mag' | 'GI' | 'tmp' | 'sp' | 'x2q' | 'xq' | 'Pq' | 'Mq' | 'SL'>;
};

/** sigma~(zq) into sg (f32x4) */
export function emitSigmoid32(ctx: F32Ctx): Code[] {
  const { get, set, K, ZERO } = ctx;
  const { yq, zq, kq, ax, qq, sg } = ctx.l;
  return [
    // a = min(|z|, 40) (NaN stays NaN: the lane is then undecided); y = -a log2 e = k + f, k integer, |f| <= 1/2; e^-a = 2^k 2^f
    set(yq, o.f32x4_mul(o.f32x4_pmin(o.f32x4_abs(get(zq)), K(KC.F40)), K(KC.FNLOG2E))),
    set(kq, o.f32x4_add(get(yq), K(KC.FMAGIC))),
    set(ax, o.f32x4_mul(o.f32x4_sub(get(yq), o.f32x4_sub(get(kq), K(KC.FMAGIC))), K(KC.FLN2))),
    // 2^f = e^(f ln 2): degree-5 Taylor
    set(
      qq,
      o.f32x4_add(
        K(KC.F1),
        o.f32x4_mul(
          get(ax),
          o.f32x4_add(
            K(KC.F1),
            o.f32x4_mul(
              get(ax),
              o.f32x4_add(
                K(KC.F1_2),
                o.f32x4_mul(get(ax), o.f32x4_add(K(KC.F1_6), o.f32x4_mul(get(ax), o.f32x4_add(K(KC.F1_24), o.f32x4_mul(get(ax), K(KC.F1_120)))))),
              ),
            ),
          ),
        ),
      ),
    ),
    // t = q 2^k (k added to the exponent bits)
    set(qq, o.i32x4_add(get(qq), o.i32x4_shl(o.i32x4_sub(get(kq), K(KC.FMAGIC)), o.i32(23)))),
    // sigma = (z >= 0 ? 1 : t) / (1 + t)
    set(sg, o.f32x4_div(o.v_bitselect(K(KC.F1), get(qq), o.f32x4_ge(get(zq), ZERO)), o.f32x4_add(K(KC.F1), get(qq)))),
  ];
}

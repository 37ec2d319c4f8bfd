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

/**
 * 2^y ~ SIGMA_POLY[0] + SIGMA_POLY[1] y + ... + SIGMA_POLY[4] y^4 on |y| <= 1/2 (a near-minimax fit of
 * the relative error): evaluated in f32 as below, its relative error is below 3e-6 (test/kernel-bound.test.ts
 * emulates it), so sigma~ = 1 / (1 + t) is within 1e-6 of sigma plus the roundings SIGMA_ERR covers.
 */
export const SIGMA_POLY = [0.999999261203078, 0.6931218145217558, 0.2402474558751811, 0.0559178624303115, 0.009570072382358845] as const;

/**
 * sigma~(zq) into sg (f32x4): t = e^-|z| = 2^y, y = -min(|z|, 40) log2 e = k + f (k = rne(y), |f| <= 1/2),
 * 2^f by the polynomial in Estrin's form (a short dependency chain), 2^k added to the exponent bits;
 * sigma~ = (z >= 0 ? 1 : t) / (1 + t). NaN stays NaN.
 */
export function emitSigmoid32(ctx: F32Ctx): Code[] {
  const { get, set, K, ZERO } = ctx;
  const { zq, qq, sg } = ctx.l;
  return [
    ...emitExpNegAbs32(ctx),
    // sigma = (z >= 0 ? 1 : t) / (1 + t)
    set(sg, o.f32x4_div(o.v_bitselect(K(KC.F1), get(qq), o.f32x4_ge(get(zq), ZERO)), o.f32x4_add(K(KC.F1), get(qq)))),
  ];
}

/** t = e^-|z| of zq (f32x4) into qq, as emitSigmoid32 computes it (t in (0, 1], or NaN) */
export function emitExpNegAbs32(ctx: F32Ctx): Code[] {
  const { get, set, K } = ctx;
  const { yq, zq } = ctx.l;
  return [set(yq, o.f32x4_mul(o.f32x4_pmin(o.v_and(get(zq), K(KC.FABS)), K(KC.F40)), K(KC.FNLOG2E))), ...emitExp2Frac32(ctx)];
}

/** 2^y of yq (f32x4, -58 <= y <= 0) into qq: k = rne(y), 2^(y - k) by the polynomial, k into the exponent bits */
export function emitExp2Frac32(ctx: F32Ctx): Code[] {
  const { get, set, K } = ctx;
  const { yq, kq, ax, qq, x2q } = ctx.l;
  return [
    set(kq, o.f32x4_add(get(yq), K(KC.FMAGIC))),
    set(yq, o.f32x4_sub(get(yq), o.f32x4_sub(get(kq), K(KC.FMAGIC)))),
    set(x2q, o.f32x4_mul(get(yq), get(yq))),
    set(ax, o.f32x4_add(K(KC.SP2), o.f32x4_mul(get(yq), K(KC.SP3)))),
    set(ax, o.f32x4_add(get(ax), o.f32x4_mul(get(x2q), K(KC.SP4)))),
    set(qq, o.f32x4_add(K(KC.SP0), o.f32x4_mul(get(yq), K(KC.SP1)))),
    set(qq, o.f32x4_add(get(qq), o.f32x4_mul(get(x2q), get(ax)))),
    // t = q 2^k: k into the exponent bits; the bits of kq are those of 1.5 2^23 + k, whose low nine bits are k's
    set(qq, o.i32x4_add(get(qq), o.i32x4_shl(get(kq), o.i32(23)))),
  ];
}

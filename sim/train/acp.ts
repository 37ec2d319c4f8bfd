/**
 * The Adaptive Correlation Penalty controller (SPEC "DTM workload"): once per epoch, from the
 * chain autocorrelation rho measured at the sampling lag,
 *   rho < eps                     -> lambda <- (1 - delta) lambda
 *   rho >= eps and falling        -> lambda kept
 *   rho >= eps and rising (or the first measurement) -> lambda <- (1 + delta) lambda,
 *                                    or lambda_min if the penalty was off
 *   lambda below lambda_min       -> 0 (the penalty switches off)
 * The penalty enters the weight update as lambda (m_a m_b - <s_a s_b>_model): it pulls the model's
 * connected correlations towards zero, so its chains keep mixing.
 */

export interface AcpParams {
  eps: number;
  delta: number;
  lambdaMin: number;
}

export const ACP_DEFAULTS: AcpParams = { eps: 0.03, delta: 0.2, lambdaMin: 1e-4 };

export interface AcpState {
  lambda: number;
  /** rho at the previous measurement (null before the first) */
  rhoPrev: number | null;
}

export type AcpAction = 'decrease' | 'keep' | 'increase' | 'start' | 'off';

export function acpUpdate(s: AcpState, rho: number, p: AcpParams = ACP_DEFAULTS): { state: AcpState; action: AcpAction } {
  let lambda = s.lambda;
  let action: AcpAction;
  if (rho < p.eps) {
    lambda *= 1 - p.delta;
    action = 'decrease';
  } else if (s.rhoPrev !== null && rho < s.rhoPrev) {
    action = 'keep';
  } else if (lambda === 0) {
    lambda = p.lambdaMin;
    action = 'start';
  } else {
    lambda *= 1 + p.delta;
    action = 'increase';
  }
  if (lambda > 0 && lambda < p.lambdaMin) {
    lambda = 0;
    action = 'off';
  }
  return { state: { lambda, rhoPrev: rho }, action };
}

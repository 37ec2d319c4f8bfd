#!/usr/bin/env python3
"""Per-stage lag-1 autocorrelation of the visible cells' spins in a dtca trace.

    /usr/bin/python3 traces/examples/autocorr.py runs/<time>-<suffix>-dtca-paper/trace.dtct

(`dtca run --trace` writes trace.dtct in its run directory, runs/<time>-<suffix>-<config>/ unless --out.)

For each stage and chain, the visible cells' spins s = 2x - 1 over the recorded sweeps (in sweep
order) give, per cell, r1 = mean((s_t - m)(s_{t+1} - m)) / var(s); the table shows r1 averaged over
the cells that moved and over chains. With a thinned trace (--every N) the lag is N sweeps.
"""
import os
import sys

import numpy as np

try:
    import dtca_trace  # installed: pip install ./traces
except ImportError:  # run from a dtca checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import dtca_trace


def main(argv):
    if len(argv) < 2:
        print("usage: autocorr.py TRACE", file=sys.stderr)
        return 2
    try:
        header, t = dtca_trace.load(argv[1])
    except dtca_trace.TraceError as e:
        print("autocorr: %s" % e, file=sys.stderr)
        return 2
    cols = dtca_trace.column_of(header, header["layout"]["visible"])
    cols = cols[cols >= 0]
    if cols.size == 0:
        print("autocorr: no visible cell is traced in %s" % argv[1], file=sys.stderr)
        return 2
    s = 2.0 * t.states[:, cols].astype(np.float64) - 1.0
    lag = header["thinning"]["every"]
    print("lag-1 autocorrelation of %d visible cells (lag = %d sweep%s)" % (cols.size, lag, "" if lag == 1 else "s"))
    print("%6s %8s %8s %10s" % ("stage", "chains", "records", "r1"))
    for stage in sorted(set(t.stage.tolist()), reverse=True):
        r1s = []
        n = 0
        chains = sorted(set(t.chain[t.stage == stage].tolist()))
        for chain in chains:
            m = np.nonzero((t.stage == stage) & (t.chain == chain))[0]
            m = m[np.argsort(t.sweep[m], kind="stable")]
            n += m.size
            if m.size < 3:
                continue
            x = s[m]
            xc = x - x.mean(axis=0)
            var = (xc * xc).mean(axis=0)
            cov = (xc[:-1] * xc[1:]).mean(axis=0)
            ok = var > 0
            r1s.extend((cov[ok] / var[ok]).tolist())
        r1 = float(np.mean(r1s)) if r1s else float("nan")
        print("%6d %8d %8d %10.4f" % (stage, len(chains), n, r1))
    if t.truncated:
        print("(trace cut short at byte %d: statistics from the whole records before it)" % t.truncated_at)
    return 0


def run():
    """main() with a quiet end when stdout is closed early (| head)."""
    try:
        code = main(sys.argv)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    return code


if __name__ == "__main__":
    sys.exit(run())

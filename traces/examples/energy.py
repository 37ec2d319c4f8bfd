#!/usr/bin/env python3
"""Energy against sweeps from a dtca trace (text; a plot too if matplotlib is there).

    /usr/bin/python3 traces/examples/energy.py runs/<time>-<suffix>-dtca-paper/trace.dtct [--plot energy-sweeps.png]

(`dtca run --trace` writes trace.dtct in its run directory, runs/<time>-<suffix>-<config>/ unless --out.)

Each sweep record carries the energy of that sweep by component. This prints, per stage and
recorded sweep index, the sweep's energy averaged over chains and the running sum over the recorded
sweeps, then the stage totals (stage_end records) and the run total (end record).
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
    args = argv[1:]
    plot = None
    if "--plot" in args:
        i = args.index("--plot")
        if i + 1 >= len(args):
            print("energy: --plot needs a file name", file=sys.stderr)
            return 2
        plot = args[i + 1]
        del args[i : i + 2]
    if len(args) != 1:
        print("usage: energy.py TRACE [--plot OUT.png]", file=sys.stderr)
        return 2
    try:
        header, t = dtca_trace.load(args[0], states=False)
    except dtca_trace.TraceError as e:
        print("energy: %s" % e, file=sys.stderr)
        return 2
    e = t.energy_total
    curves = {}
    print("%6s %6s %14s %14s" % ("stage", "sweep", "E_sweep (J)", "cumulative (J)"))
    for stage in sorted(set(t.stage.tolist()), reverse=True):
        m = t.stage == stage
        sweeps = np.unique(t.sweep[m])
        per = np.array([e[m & (t.sweep == k)].mean() for k in sweeps])
        cum = np.cumsum(per)
        curves[stage] = (sweeps, per)
        for k, p, c in zip(sweeps, per, cum):
            print("%6d %6d %14.6e %14.6e" % (stage, k, p, c))
    for r in t.stage_records:
        if r["type"] == "stage_end":
            print("stage %d total  %.6e J over %s cycles" % (r["stage"], r["energy_j"].get("total", float("nan")), r.get("cycles", "?")))
    if t.end is not None:
        print("run total      %.6e J" % t.end["energy_j"].get("total", float("nan")))
        comps = sorted(((v, k) for k, v in t.end["energy_j"].items() if k != "total"), reverse=True)
        for v, k in comps:
            print("  %-14s %.6e J" % (k, v))
    elif t.truncated:
        print("(trace cut short at byte %d: no end record)" % t.truncated_at)
    if plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("energy: matplotlib is not installed; no plot written", file=sys.stderr)
            return 0
        fig, ax = plt.subplots(figsize=(6, 4))
        for stage, (k, p) in sorted(curves.items()):
            ax.plot(k, p, label="stage %d" % stage)
        ax.set_xlabel("sweep")
        ax.set_ylabel("energy per sweep (J)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(plot)
        print("wrote %s" % plot)
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

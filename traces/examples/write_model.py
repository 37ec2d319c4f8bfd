#!/usr/bin/env python3
"""Write a denoising (DTM) model file from Python for dtca to run: the way a model trained
elsewhere (THRML, PyTorch, ...) gets onto the simulated chip.

    /usr/bin/python3 traces/examples/write_model.py my.model [--L 16] [--rules G8] [--stages 4] [--seed 0]
    dtca run --set fabric.L=16 --set fabric.rules=G8 --model my.model --trace

This one has random weights on every wire of the grid, small random biases, and the visible
(image) cells on one checkerboard colour; a trained model would put its own parameters in
``stages``. The file is msgpack (JSON if the name ends in .json); ``dtca model info my.model``
describes it and ``dtca_trace.model.read`` reads it back.
"""
import argparse
import os
import sys

import numpy as np

try:
    import dtca_trace  # installed: pip install ./traces
except ImportError:  # run from a dtca checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import dtca_trace

from dtca_trace import model  # noqa: E402


def main(argv):
    ap = argparse.ArgumentParser(description="write a random-weight DTM model file for dtca")
    ap.add_argument("out")
    ap.add_argument("--L", type=int, default=16)
    ap.add_argument("--rules", default="G8", help="a rule preset: G8, G12, G16, G16_CODE, Z1")
    ap.add_argument("--boundary", default="open", choices=["open", "torus"])
    ap.add_argument("--stages", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv[1:])
    if os.path.exists(a.out):
        # as dtca model new --out: replace a model file, never anything else (a trace given by mistake)
        try:
            model.read(a.out)
        except (model.ModelError, OSError, ValueError):
            print("write_model: %s exists and is not a model file; refusing to replace it (remove it first, or choose another name)" % a.out, file=sys.stderr)
            return 2
    rng = np.random.default_rng(a.seed)
    L = a.L
    try:
        # the grid is checked before its wires are made (a bad --L or --rules: one line, exit 2)
        if not 2 <= L <= 1024:
            raise model.ModelError("--L %d: this example makes grids of 2..1024" % L)
        model.check_rules(a.rules, L, a.boundary)
        i, j = model.grid_edges(L, a.rules, a.boundary)
        stages = [{"bias": rng.uniform(-0.1, 0.1, L * L), "edges": (i, j, rng.uniform(-0.25, 0.25, i.size))} for _ in range(a.stages)]
        y, x = np.divmod(np.arange(L * L), L)
        visible = np.nonzero((x + y) % 2 == 0)[0][: max(1, L * L // 4)]
        model.write(
            a.out,
            grid={"L": L, "rules": a.rules, "boundary": a.boundary},
            beta=1.0,
            stages=stages,
            dtm={"image": visible, "lambda_image": 0.9, "lambda_label": 0.2},
        )
    except model.ModelError as e:
        print("write_model: %s" % e, file=sys.stderr)
        return 2
    print("wrote %s: L=%d, %s, %d stages, %d wires, %d image cells" % (a.out, L, a.rules, a.stages, i.size, visible.size))
    print("run it: dtca run --set fabric.L=%d --set fabric.rules=%s --set fabric.boundary=%s --model %s --trace" % (L, a.rules, a.boundary, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

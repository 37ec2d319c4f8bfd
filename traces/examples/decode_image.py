#!/usr/bin/env python3
"""Decode the image cells of one sweep record into a picture (ASCII: '#' = spin +1, '.' = -1).

    /usr/bin/python3 traces/examples/decode_image.py runs/<time>-<suffix>-dtca-paper/trace.dtct [RECORD]

(`dtca run --trace` writes trace.dtct in its run directory, runs/<time>-<suffix>-<config>/ unless --out.)

RECORD is the index of a sweep record (default -1, the last one; negative counts from the end).
Pixel p of the image lives at cell header['layout']['image'][p], at row p // cols and column
p % cols of the model's image_shape [rows, cols] (28 x 28 for Fashion-MNIST; on a grid too small
for it, the model's image is Fashion-MNIST pooled to 14 x 14 or 7 x 7: header['model']
['image_source'] says which). The label cells, when traced, are decoded too: the class whose
copies are most often +1.
"""
import math
import os
import sys

import numpy as np

try:
    import dtca_trace  # installed: pip install ./traces
except ImportError:  # run from a dtca checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import dtca_trace


def main(argv):
    if len(argv) not in (2, 3):
        print("usage: decode_image.py TRACE [RECORD]", file=sys.stderr)
        return 2
    try:
        header, t = dtca_trace.load(argv[1])
    except dtca_trace.TraceError as e:
        print("decode_image: %s" % e, file=sys.stderr)
        return 2
    if len(t) == 0:
        print("decode_image: %s holds no sweep records" % argv[1], file=sys.stderr)
        return 2
    try:
        r = int(argv[2]) if len(argv) == 3 else -1
        row = t.states[r]
        r = r % len(t)
    except (ValueError, IndexError):
        print("decode_image: record %s: the trace has %d sweep records" % (argv[2], len(t)), file=sys.stderr)
        return 2
    image = np.asarray(header["layout"]["image"])
    shape = header.get("model", {}).get("image_shape")
    if shape is None:  # older traces: a square image
        side = math.isqrt(image.size)
        shape = [side, side]
    rows, ncols = int(shape[0]), int(shape[1])
    if image.size == 0 or rows * ncols < image.size:
        print("decode_image: layout.image has %d cells, image_shape %r cannot hold them" % (image.size, shape), file=sys.stderr)
        return 2
    cols = dtca_trace.column_of(header, image)
    if (cols < 0).any():
        print("decode_image: %d of the %d image cells are not traced (trace without --cells, or a rectangle covering them)" % ((cols < 0).sum(), image.size), file=sys.stderr)
        return 2
    img = np.zeros(rows * ncols, dtype=row.dtype)
    img[: image.size] = row[cols]
    img = img.reshape(rows, ncols)
    print("record %d: chain %d, stage %d, sweep %d, cycle %d" % (r, t.chain[r], t.stage[r], t.sweep[r], t.cycle[r]))
    src = header.get("model", {}).get("image_source")
    if src and src.get("downscale", 1) != 1:
        print("image %dx%d: Fashion-MNIST 28x28 pooled by %d" % (src["width"], src["height"], src["downscale"]))
    for line in img:
        print("".join("#" if v else "." for v in line))
    label = np.asarray(header["layout"]["label"])
    copies = int(header["layout"]["label_copies"])
    lc = dtca_trace.column_of(header, label)
    if label.size and copies > 0 and (lc >= 0).all():
        votes = row[lc].reshape(-1, copies).sum(axis=1)
        print("label: class %d (copies at +1 per class: %s)" % (int(np.argmax(votes)), " ".join(str(int(v)) for v in votes)))
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

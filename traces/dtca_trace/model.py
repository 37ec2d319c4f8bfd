"""dtca model files: write a model from Python (trained elsewhere, e.g. with THRML or PyTorch) so
``dtca run --model FILE`` runs it on the simulated chip, and read model files dtca wrote.

The format (``"format": "dtca-model", "version": 1``; sim/model.ts reads it)::

    {"format": "dtca-model", "version": 1,
     "grid": {"L": 70, "rules": "G12" or [[a, b], ...], "boundary": "open" | "torus"},
     "beta": 1.0,
     "stages": [{"bias": [L*L numbers], "edges": {"i": [...], "j": [...], "w": [...]},
                 "clamp": [[cell, +1 | -1], ...]}, ...],
     "dtm": {"T": ..., "time_grid": [t_0, ..., t_{T-1}, null], "lambda_image": 0.9,
             "lambda_label": 0.2, "image": [cells], "label": [cells], "label_copies": 10,
             "image_shape": [28, 28],
             "image_source": {"source": "fmnist-28", "width": 28, "height": 28, "downscale": 1},
             "label_gain": 2.0}}

``label_gain`` (optional; absent means 1) is the label guidance ``dtca train`` and ``dtca model
tune`` choose: with the labels clamped, the wires touching label cells run x label_gain.
``image_source`` (optional) says the image is binarised 28x28 Fashion-MNIST pooled by ``downscale``
(blocks of downscale x downscale, a pixel on when at least half its block is): dtca gives a grid
too small for 784 pixels a 14x14 or 7x7 image. Pixel p of a rows x cols image (image_shape) is
row p // cols, column p % cols, at cell image[p].

A msgpack file ends with its checksum, ``"sha256"``: the SHA-256 of every byte before that key, in
64 hex digits; ``write`` adds it and ``read`` (like dtca) refuses a file whose bytes no longer match
it (a file without the key is read unchecked).

Cell index i = y * L + x; each undirected edge once (it must be a wire of the grid's rules:
offset (a, b) or one of its rotations (-b, a), (-a, -b), (b, -a)); stage 0 is the cleanest stage
of a DTM, the last the noisiest. Without ``dtm`` the model is a Boltzmann machine (one stage, or
``dtca run --stage K``). Files ending in ``.json`` are written as JSON (plain lists), others as
msgpack with numeric arrays as typed arrays ``{dtype, shape, data}`` (little-endian bytes).

Example::

    import numpy as np
    from dtca_trace import model
    L = 8
    i, j = model.grid_edges(L, "G8", "open")            # every wire of the grid, once
    rng = np.random.default_rng(0)
    stage = {"bias": np.zeros(L * L), "edges": (i, j, 0.1 * rng.standard_normal(i.size))}
    model.write("my.model", grid={"L": L, "rules": "G8", "boundary": "open"}, beta=1.0,
                stages=[stage] * 4, dtm={"image": [0, 2, 4], "lambda_image": 0.9, "lambda_label": 0.2})
    m = model.read("my.model")                          # the same, as numpy arrays

then ``dtca run --set fabric.L=8 --set fabric.rules=G8 --model my.model --trace``.
"""
import hashlib
import json
import math
import numbers
import os
import stat

import msgpack
import numpy as np

FORMAT = "dtca-model"
VERSION = 1

#: rule presets, as dtca's fabric/rules.ts defines them
RULE_PRESETS = {
    "G8": [[0, 1], [4, 1]],
    "G12": [[0, 1], [4, 1], [9, 10]],
    "G16": [[0, 1], [4, 1], [8, 7], [14, 9]],
    "G16_CODE": [[0, 1], [4, 1], [10, 9], [11, 14]],
    "Z1": [[1, 0], [2, 1], [2, 3], [4, 1]],
}

__all__ = ["write", "read", "grid_edges", "resolve_rules", "check_rules", "directions", "time_grid", "stage_coupling", "ModelError", "RULE_PRESETS"]


class ModelError(ValueError):
    """A model that dtca would refuse; the message names the field."""


def _is_int(v):
    """An integer as dtca reads one (JavaScript's Number.isInteger): 4 and 4.0, never True."""
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, numbers.Integral):
        return True
    return isinstance(v, numbers.Real) and math.isfinite(v) and float(v).is_integer()


def _is_num(v):
    """A finite number (never True or a string), as dtca reads one."""
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v)


def _kind(v):
    """What a value is, in a few words, for messages."""
    if v is None:
        return "None"
    t = type(v).__name__
    return ("an %s" if t[:1] in "aeiou" else "a %s") % t


def _array(a, dtype, where, what):
    """np.asarray(a, dtype), or a ModelError naming the field when a holds what is not a number."""
    if a is None or isinstance(a, (str, bytes, dict)):
        raise ModelError("%s: expected %s, not %s" % (where, what, _kind(a)))
    try:
        return np.asarray(a, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise ModelError("%s: expected %s" % (where, what))


def resolve_rules(rules):
    """A preset name ('G12') or a list of [a, b] rules -> list of [a, b]."""
    if isinstance(rules, str):
        r = RULE_PRESETS.get(rules.upper())
        if r is None:
            raise ModelError("grid.rules: unknown rule preset %r (known: %s)" % (rules, ", ".join(RULE_PRESETS)))
        return [list(x) for x in r]
    if rules is None:
        raise ModelError('grid.rules: missing (a preset such as "G12" or a list like [[0,1],[4,1]])')
    if not isinstance(rules, (list, tuple, np.ndarray)):
        raise ModelError("grid.rules: a preset name (%s) or a list of integer [a, b] pairs, not %s" % (", ".join(RULE_PRESETS), _kind(rules)))
    out = []
    seen = {}
    for n, r in enumerate(rules):
        if not isinstance(r, (list, tuple, np.ndarray)) or len(r) != 2 or not all(_is_int(v) for v in r):
            raise ModelError("grid.rules[%d]: expected [a, b] with integers" % n)
        a, b = int(r[0]), int(r[1])
        if (abs(a) + abs(b)) % 2 == 0:
            raise ModelError("grid.rules[%d] = (%d,%d): a+b must be odd (two-colour Gibbs)" % (n, a, b))
        for d in ((a, b), (-b, a), (-a, -b), (b, -a)):
            if d in seen:
                raise ModelError("grid.rules[%d] = (%d,%d): gives offset (%d,%d) that grid.rules[%d] already gives" % (n, a, b, d[0], d[1], seen[d]))
            seen[d] = n
        out.append([a, b])
    if not out:
        raise ModelError("grid.rules: at least one rule is needed")
    return out


def check_rules(rules, L, boundary):
    """Raises ModelError unless the rules fit an L x L grid as dtca requires (fabric/rules.ts
    checkRules): no two rules giving the same offset, every offset shorter than the grid (half the
    grid on a torus), and a torus of even side."""
    seen = {}
    for n, (a, b) in enumerate(resolve_rules(rules)):
        name = "grid.rules[%d] = (%d,%d)" % (n, a, b)
        for dx, dy in ((a, b), (-b, a), (-a, -b), (b, -a)):
            if (dx, dy) in seen:
                raise ModelError("%s: gives offset (%d,%d) that rule grid.rules[%d] already gives" % (name, dx, dy, seen[(dx, dy)]))
            seen[(dx, dy)] = n
        reach = max(abs(a), abs(b))
        if boundary == "torus" and 2 * reach >= L:
            raise ModelError("%s: grid L=%d is too small for this rule on a torus (needs L > %d)" % (name, L, 2 * reach))
        if boundary == "open" and reach >= L:
            raise ModelError("%s: grid L=%d is too small for this rule (needs L > %d)" % (name, L, reach))
    if boundary == "torus" and L % 2 == 1:
        raise ModelError("grid.L = %d: a torus needs an even L, or the checkerboard colouring is not consistent across the wrap" % L)


def directions(rules):
    """The four rotations of each rule, [dx, dy] per direction (dtca's direction order)."""
    out = []
    for a, b in resolve_rules(rules):
        out += [[a, b], [-b, a], [-a, -b], [b, -a]]
    return out


def grid_edges(L, rules, boundary="open"):
    """Every wire of an L x L grid, each undirected wire once, as (i, j) int32 arrays with i < j
    (cell index y * L + x)."""
    if not _is_int(L) or not 1 <= L <= MAX_L:
        raise ModelError("grid_edges: L must be an integer in 1..%d, not %r" % (MAX_L, L))
    if boundary not in ("open", "torus"):
        raise ModelError('grid_edges: boundary must be "open" or "torus", not %r' % (boundary,))
    L = int(L)
    y, x = np.divmod(np.arange(L * L, dtype=np.int64), L)
    ii, jj = [], []
    for dx, dy in directions(rules):
        nx, ny = x + dx, y + dy
        if boundary == "torus":
            nx, ny = nx % L, ny % L
            ok = np.ones(L * L, dtype=bool)
        else:
            ok = (nx >= 0) & (nx < L) & (ny >= 0) & (ny < L)
        i = (y * L + x)[ok]
        j = (ny * L + nx)[ok]
        keep = j > i
        ii.append(i[keep])
        jj.append(j[keep])
    i = np.concatenate(ii)
    j = np.concatenate(jj)
    order = np.lexsort((j, i))
    return i[order].astype(np.int32), j[order].astype(np.int32)


def time_grid(T):
    """The forward-process time grid t_k = -ln(1 - k/T), k = 0..T (t_T infinite: None)."""
    if not _is_int(T) or T < 1:
        raise ModelError("time_grid: T must be an integer >= 1, not %r" % (T,))
    T = int(T)
    return [-math.log(1 - k / T) for k in range(T)] + [None]


def stage_coupling(time_grid_, k, lam):
    """J_c = -1/2 ln tanh(lam (t_{k+1} - t_k) / 2): a visible cell's coupling to its input at stage k (0 for the noisiest)."""
    t0, t1 = time_grid_[k], time_grid_[k + 1]
    if t0 is None or t1 is None:
        return 0.0
    return -0.5 * math.log(math.tanh(lam * (t1 - t0) / 2))


# ---------------------------------------------------------------------------------------------
# writing


#: the largest |weight| and |bias| a model may hold (sim/model.ts MAX_PARAMETER)
MAX_PARAMETER = 1e6


def _finite(a, where, bound=None):
    a = _array(a, np.float64, where, "numbers").ravel()
    bad = np.nonzero(~np.isfinite(a))[0]
    if bad.size:
        raise ModelError("%s[%d]: %r is not a finite number" % (where, bad[0], a[bad[0]]))
    if bound is not None:
        bad = np.nonzero(np.abs(a) > bound)[0]
        if bad.size:
            raise ModelError("%s[%d]: %r is beyond +-%g" % (where, bad[0], a[bad[0]], bound))
    return a


def _cells(a, N, where):
    a = _array(a, None, where, "cell indices")
    if a.dtype == object or a.dtype.kind in "USVb":
        raise ModelError("%s: cell indices must be integers" % where)
    if a.size and not np.issubdtype(a.dtype, np.integer):
        f = np.asarray(a, dtype=np.float64)
        if not np.all(f == np.round(f)):
            raise ModelError("%s: cell indices must be integers" % where)
    a = np.asarray(a, dtype=np.int64).ravel()
    bad = np.nonzero((a < 0) | (a >= N))[0]
    if bad.size:
        raise ModelError("%s[%d]: cell %d outside 0..%d" % (where, bad[0], a[bad[0]], N - 1))
    return a


def _edges(e, where):
    """(i, j, w) arrays from a dict {i, j, w}, a tuple (i, j, w), an (E, 3) array or a list of [i, j, w]."""
    if isinstance(e, dict):
        if set(e) != {"i", "j", "w"}:
            raise ModelError("%s: a dict of edges has exactly the keys i, j and w" % where)
        return e["i"], e["j"], e["w"]
    if isinstance(e, tuple) and len(e) == 3:
        return e
    a = _array(e, np.float64, where, "(i, j, w) arrays, {'i','j','w'} or rows [i, j, w]")
    if a.size == 0:
        return [], [], []
    if a.ndim != 2 or a.shape[1] != 3:
        raise ModelError("%s: expected (i, j, w) arrays, {'i','j','w'} or rows [i, j, w]" % where)
    return a[:, 0], a[:, 1], a[:, 2]


def _check_wires(i, j, L, rules, boundary, where):
    """Every edge must be a wire of the grid, listed once."""
    allowed = set((dx, dy) for dx, dy in directions(rules))
    xi, yi = i % L, i // L
    dx, dy = j % L - xi, j // L - yi
    if boundary == "torus":
        dx = (dx + L // 2) % L - L // 2
        dy = (dy + L // 2) % L - L // 2
    key = dx * (4 * L) + dy
    ok = np.isin(key, np.array([a * (4 * L) + b for a, b in allowed], dtype=np.int64))
    bad = np.nonzero(~ok)[0]
    if bad.size:
        n = bad[0]
        raise ModelError(
            "%s[%d] = (%d, %d): joins (x=%d, y=%d) and (x=%d, y=%d), which no wire of the grid's rules connects"
            % (where, n, i[n], j[n], xi[n], yi[n], j[n] % L, j[n] // L)
        )
    pair = np.minimum(i, j) * (L * L) + np.maximum(i, j)
    u, first, counts = np.unique(pair, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup = np.sort(np.nonzero(pair == u[np.argmax(counts > 1)])[0])
        raise ModelError("%s[%d] = (%d, %d): appears twice (give each undirected edge once)" % (where, dup[1], i[dup[1]], j[dup[1]]))


def _typed(a, dtype):
    a = np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": np.dtype(dtype).name, "shape": [int(s) for s in a.shape], "data": a.tobytes()}


def _stage(st, n, L, N, rules, boundary):
    where = "stages[%d]" % n
    if not isinstance(st, dict):
        raise ModelError("%s: a dict with bias, edges and optionally clamp" % where)
    unknown = set(st) - {"bias", "edges", "clamp"}
    if unknown:
        raise ModelError("%s.%s: unknown key" % (where, _key_text(sorted(unknown, key=repr)[0])))
    bias = _finite(st.get("bias", np.zeros(N)), where + ".bias", MAX_PARAMETER)
    if bias.size != N:
        raise ModelError("%s.bias: has %d values, the grid has L*L = %d cells" % (where, bias.size, N))
    i, j, w = _edges(st.get("edges", []), where + ".edges")
    i = _cells(i, N, where + ".edges.i")
    j = _cells(j, N, where + ".edges.j")
    w = _finite(w, where + ".edges.w", MAX_PARAMETER)
    if not (i.size == j.size == w.size):
        raise ModelError("%s.edges: i, j, w differ in length (%d, %d, %d)" % (where, i.size, j.size, w.size))
    _check_wires(i, j, L, rules, boundary, where + ".edges")
    clamp = st.get("clamp", [])
    if isinstance(clamp, dict):
        clamp = list(clamp.items())
    what = "{cell: spin} or rows [cell, spin]"
    if isinstance(clamp, str) or not hasattr(clamp, "__len__"):
        raise ModelError("%s.clamp: expected %s, not %s" % (where, what, _kind(clamp)))
    c = _array(clamp, np.float64, where + ".clamp", what) if len(clamp) else np.zeros((0, 2))
    if c.size % 2 or not np.all(np.isfinite(c)) or not np.all(c == np.round(c)):
        raise ModelError("%s.clamp: expected %s with integers" % (where, what))
    clamp = c.astype(np.int64).reshape(-1, 2)
    _cells(clamp[:, 0], N, where + ".clamp")
    if not np.isin(clamp[:, 1], [-1, 1]).all():
        raise ModelError("%s.clamp: spins must be +1 or -1" % where)
    cells, first = np.unique(clamp[:, 0], return_index=True)
    if cells.size != clamp.shape[0]:
        n = int(np.setdiff1d(np.arange(clamp.shape[0]), first)[0])
        raise ModelError("%s.clamp[%d]: cell %d is clamped again (a cell is clamped at most once)" % (where, n, clamp[n, 0]))
    return bias, i, j, w, [[int(c), int(s)] for c, s in clamp]


def _dtm(d, T, N):
    if not isinstance(d, dict):
        raise ModelError("dtm: expected a dict, not %s" % _kind(d))
    d = dict(d)
    unknown = set(d) - {"T", "time_grid", "lambda_image", "lambda_label", "image", "label", "label_copies", "image_shape", "image_source", "label_gain"}
    if unknown:
        raise ModelError("dtm.%s: unknown key" % _key_text(sorted(unknown, key=repr)[0]))
    t = d.get("T", T)
    if not _is_int(t) or t != T:
        raise ModelError("dtm.T = %r but the model has %d stages" % (t, T))
    tg = d.get("time_grid")
    if tg is not None and not isinstance(tg, (list, tuple, np.ndarray)):
        raise ModelError("dtm.time_grid: expected a list, not %s" % _kind(tg))
    tg = time_grid(T) if tg is None else list(tg)
    if len(tg) != T + 1 or tg[T] is not None:
        raise ModelError("dtm.time_grid: needs T + 1 = %d entries, the last None (the noisiest interval is infinite)" % (T + 1))
    for k in range(T):
        if not _is_num(tg[k]) or (k > 0 and tg[k] <= tg[k - 1]):
            raise ModelError("dtm.time_grid[%d]: must be finite and increasing" % k)
    out = {"T": T, "time_grid": [None if t is None else float(t) for t in tg]}
    for key in ("lambda_image", "lambda_label"):
        if key not in d:
            raise ModelError("dtm.%s: missing (the forward process rate; the paper uses 0.9 for image, 0.2 for label cells)" % key)
        v = d[key]
        if not _is_num(v) or not MIN_LAMBDA <= v <= MAX_LAMBDA:
            raise ModelError("dtm.%s: must be a number in [%g, %g]" % (key, MIN_LAMBDA, MAX_LAMBDA))
        out[key] = float(v)
    for k in range(T - 1):
        for key in ("lambda_image", "lambda_label"):
            if not math.tanh(out[key] * (out["time_grid"][k + 1] - out["time_grid"][k]) / 2) > 0 or not math.isfinite(stage_coupling(out["time_grid"], k, out[key])):
                raise ModelError("dtm: time_grid and %s give stage %d an infinite coupling J_c (the interval t_%d - t_%d is too short)" % (key, k, k + 1, k))
    image = _cells(d.get("image", []), N, "dtm.image")
    label = _cells(d.get("label", []), N, "dtm.label")
    both = np.concatenate([image, label])
    if np.unique(both).size != both.size:
        raise ModelError("dtm: a cell is listed twice among image and label cells")
    copies = d.get("label_copies")
    copies = (10 if label.size else 1) if copies is None else copies
    if not _is_int(copies) or copies < 1 or label.size % copies:
        raise ModelError("dtm.label_copies: must be a positive integer dividing the %d label cells" % label.size)
    copies = int(copies)
    shape = d.get("image_shape")
    if shape is None:
        side = math.ceil(math.sqrt(image.size)) if image.size else 1
        shape = [max(1, math.ceil(image.size / side)), side]
    if not isinstance(shape, (list, tuple)) or len(shape) != 2 or not all(_is_int(s) and s >= 1 for s in shape) or not image.size <= shape[0] * shape[1] <= max(N, 1):
        raise ModelError("dtm.image_shape: [rows, cols], positive integers with %d <= rows*cols <= %d (the image's cells)" % (image.size, N))
    shape = [int(s) for s in shape]
    out.update(image=image, label=label, label_copies=copies, image_shape=shape)
    src = d.get("image_source")
    if src is not None:
        if not isinstance(src, dict) or set(src) - {"source", "width", "height", "downscale"} or src.get("source") != "fmnist-28":
            raise ModelError('dtm.image_source: expected {"source": "fmnist-28", "width", "height", "downscale"}')
        f = src.get("downscale")
        if not _is_int(f) or f < 1 or 28 % f:
            raise ModelError("dtm.image_source.downscale: an integer dividing 28")
        f = int(f)
        if src.get("width") != 28 // f or src.get("height") != 28 // f or image.size != (28 // f) ** 2 or shape != [28 // f, 28 // f]:
            raise ModelError("dtm.image_source: a %dx%d image (28x28 pooled by %d) needs %d image cells and image_shape [%d, %d]" % (28 // f, 28 // f, f, (28 // f) ** 2, 28 // f, 28 // f))
        out["image_source"] = {"source": "fmnist-28", "width": 28 // f, "height": 28 // f, "downscale": f}
    if "label_gain" in d:
        g = d["label_gain"]
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g) or not 0 <= g <= MAX_LABEL_GAIN:
            raise ModelError("dtm.label_gain: must be a number in [0, %d] (the label guidance; absent means 1)" % MAX_LABEL_GAIN)
        out["label_gain"] = float(g)
    return out


def pool(images, downscale):
    """Binarised 28x28 images (n x 784 or n x 28 x 28, 0/1) pooled as dtca pools them for a smaller
    grid: blocks of downscale x downscale, a pixel 1 when at least half its block is. Returns
    n x (28 // downscale)^2 uint8. Raises ValueError for a downscale that is not a whole number
    dividing 28, or images that are not 0/1 in rows of 784."""
    if not _is_int(downscale) or downscale < 1 or 28 % int(downscale):
        raise ValueError("pool: downscale must be 1, 2, 4, 7, 14 or 28 (a whole number dividing 28), not %r" % (downscale,))
    downscale = int(downscale)
    a = np.asarray(images)
    if a.size % 784 or a.dtype.kind not in "biuf" or not np.isin(a, (0, 1)).all():
        raise ValueError("pool: images must be binarised 28x28 images (0/1, n x 784 or n x 28 x 28), got shape %s" % (list(a.shape),))
    a = a.astype(np.uint8).reshape(-1, 28, 28)
    s = 28 // downscale
    blocks = a.reshape(-1, s, downscale, s, downscale).sum(axis=(2, 4))
    return (2 * blocks >= downscale * downscale).astype(np.uint8).reshape(-1, s * s)


def write(path, grid, stages, beta=1.0, dtm=None, format=None):
    """Writes a model file that ``dtca run --model`` accepts; checks it as dtca would (ModelError).

    grid    {"L": int, "rules": "G12" or [[a, b], ...], "boundary": "open" or "torus"}
    stages  list of dicts: "bias" (L*L numbers), "edges" ((i, j, w) arrays, {"i","j","w"}, an
            (E, 3) array or rows [i, j, w]; every edge a wire of the grid, once), "clamp"
            (optional: {cell: +-1} or rows [cell, +-1]); stage 0 the cleanest
    beta    inverse temperature, in (0, 1e6]
    dtm     for a denoising model: {"image": cells, "label": cells, "label_copies": 10,
            "image_shape": [28, 28], "lambda_image": 0.9, "lambda_label": 0.2,
            "time_grid": optional, "label_gain": optional}; T is the number of stages
    format  "json" or "msgpack" (default: JSON for a .json path, else msgpack)

    Anything wrong (a value dtca would refuse, or of the wrong kind: None or a string where numbers
    belong) raises ModelError naming the field. The file is written to a temporary name and renamed
    into place. Returns the path.
    """
    if not isinstance(grid, dict) or set(grid) - {"L", "rules", "boundary"}:
        raise ModelError('grid: expected {"L": .., "rules": .., "boundary": ..}')
    L = grid.get("L")
    if not _is_int(L) or not 2 <= L <= MAX_L:
        raise ModelError("grid.L: must be an integer in 2..%d" % MAX_L)
    L = int(L)
    boundary = grid.get("boundary", "open")
    if boundary not in ("open", "torus"):
        raise ModelError('grid.boundary: must be "open" or "torus"')
    rules = grid.get("rules")
    resolved = resolve_rules(rules)
    check_rules(resolved, L, boundary)
    if not _is_num(beta) or not 0 < beta <= MAX_BETA:
        raise ModelError("beta: must be a number in (0, %g]" % MAX_BETA)
    beta = float(beta)
    if not isinstance(stages, (list, tuple)):
        raise ModelError("stages: expected a list of stages, not %s" % _kind(stages))
    if not stages:
        raise ModelError("stages: at least one stage is needed")
    N = L * L
    parsed = [_stage(st, n, L, N, resolved, boundary) for n, st in enumerate(stages)]
    d = None if dtm is None else _dtm(dtm, len(stages), N)
    fmt = format or ("json" if str(path).endswith(".json") else "msgpack")
    if fmt not in ("json", "msgpack"):
        raise ModelError("format: json or msgpack, not %r" % fmt)
    js = fmt == "json"

    def arr(a, dtype):
        return np.asarray(a, dtype=dtype).tolist() if js else _typed(a, dtype)

    obj = {
        "format": FORMAT,
        "version": VERSION,
        "grid": {"L": L, "rules": rules if isinstance(rules, str) else resolved, "boundary": boundary},
        "beta": beta,
        "stages": [
            {"bias": arr(b, "float64"), "edges": {"i": arr(i, "int32"), "j": arr(j, "int32"), "w": arr(w, "float64")}, "clamp": c}
            for b, i, j, w, c in parsed
        ],
    }
    if d is not None:
        obj["dtm"] = dict(d, image=arr(d["image"], "int32"), label=arr(d["label"], "int32"))
    data = (json.dumps(obj) + "\n").encode("utf8") if js else _with_checksum(obj)
    path = os.fspath(path)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno is not None:
            # named by the path asked for, not by the temporary name beside it
            raise OSError(e.errno, "cannot write model file (%s)" % e.strerror, path) from None
        raise
    return path


#: a msgpack model ends with its checksum: the key "sha256" (fixstr) and the SHA-256 of every byte
#: before that key as 64 hex digits (a str8), as dtca writes it (sim/model.ts modelFileBytes)
_SUM_HEAD = b"\xa6sha256\xd9\x40"
_SUM_BYTES = len(_SUM_HEAD) + 64


def _with_checksum(obj):
    data = msgpack.packb(dict(obj, sha256="0" * 64), use_bin_type=True)
    at = len(data) - _SUM_BYTES
    if data[at : at + len(_SUM_HEAD)] != _SUM_HEAD:
        raise ModelError("internal: the checksum entry did not come out as the file's last")
    return data[: at + len(_SUM_HEAD)] + hashlib.sha256(data[:at]).hexdigest().encode("ascii")


def _check_sum(raw, data, path):
    s = raw.pop("sha256")
    if not isinstance(s, str) or len(s) != 64 or any(c not in "0123456789abcdef" for c in s):
        raise ModelError("%s: sha256: expected 64 lower-case hex digits (the file's checksum)" % path)
    at = len(data) - _SUM_BYTES
    if at < 0 or data[at : at + len(_SUM_HEAD)] != _SUM_HEAD or data[at + len(_SUM_HEAD) :] != s.encode("ascii"):
        raise ModelError("%s: sha256: the checksum must be the file's last entry; the file is damaged or was rewritten by another tool" % path)
    if hashlib.sha256(data[:at]).hexdigest() != s:
        raise ModelError("%s: checksum mismatch: the model changed after it was written (a damaged copy?)" % path)


# ---------------------------------------------------------------------------------------------
# reading


def _decode(v):
    if isinstance(v, dict) and isinstance(v.get("dtype"), str) and isinstance(v.get("data"), (bytes, bytearray)):
        a = np.frombuffer(v["data"], dtype=np.dtype(v["dtype"]).newbyteorder("<"))
        return a.reshape([int(s) for s in v.get("shape", [a.size])])
    return v


MAX_MODEL_BYTES = 2 ** 31

# the largest label gain a model may hold (sim/model.ts MAX_LABEL_GAIN)
MAX_LABEL_GAIN = 100

# the forward-process rates a model may hold (sim/model.ts MIN_LAMBDA, MAX_LAMBDA)
MIN_LAMBDA = 1e-30
MAX_LAMBDA = 1e30


def read(path):
    """Reads a model file (JSON or msgpack, as dtca writes them, e.g. ``dtca model new``) into a dict:
    grid, beta, stages [{bias float64[N], edges {i int32, j int32, w float64}, clamp int64 (n, 2)}],
    and dtm (with image and label as int32 arrays) when the model has one.

    The model is checked as dtca checks it (finite weights and biases, integer cell indices in
    range, every edge a wire once, a sound dtm section); anything wrong raises ModelError naming
    the file and the field, never a bare TypeError or ValueError. Only a regular file of at most
    2 GiB is read."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise ModelError("%s: cannot read model (%s)" % (path, e.strerror))
    if not stat.S_ISREG(st.st_mode):
        raise ModelError("%s: not a regular file; a model file must be one" % path)
    if st.st_size > MAX_MODEL_BYTES:
        raise ModelError("%s: %d bytes, more than a model file may be (%d)" % (path, st.st_size, MAX_MODEL_BYTES))
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_MODEL_BYTES + 1)
    except OSError as e:
        raise ModelError("%s: cannot read model (%s)" % (path, e.strerror))
    head = data.lstrip()[:1]
    text = len(head) == 1 and head[0] < 0x80
    try:
        if text:
            raw = json.loads(data.decode("utf8"), object_pairs_hook=_no_key_twice)
        else:
            raw = msgpack.unpackb(data, raw=False, strict_map_key=False, object_pairs_hook=_map_no_key_twice)
    except _KeyTwice as e:
        if text:
            raise ModelError("%s: %s is given twice; JSON would keep the last one without a word: remove one" % (path, json.dumps(e.args[0])))
        raise ModelError("%s: %s" % (path, key_twice_words(e)))
    except RecursionError:
        raise ModelError("%s: nested too deep; not a dtca model" % path)
    except Exception as e:
        raise ModelError("%s: not valid %s (%s)" % (path, "JSON" if text else "msgpack", type(e).__name__))
    if not isinstance(raw, dict):
        raise ModelError("%s: a model must be a map, not %s" % (path, type(raw).__name__))
    if raw.get("format") != FORMAT:
        raise ModelError("%s: not a dtca model (format %s)" % (path, "missing" if "format" not in raw else "is not %r" % FORMAT))
    if not _is_int(raw.get("version")) or raw["version"] < 1:
        raise ModelError("%s: version: not a format version" % path)
    if raw["version"] > VERSION:
        raise ModelError("%s: model format version %d is newer than this reader (%d)" % (path, raw["version"], VERSION))
    if "sha256" in raw:
        if text:
            raise ModelError("%s: sha256: a JSON model carries no checksum (only msgpack model files do); remove the key" % path)
        _check_sum(raw, data, path)
    try:
        return _read_checked(raw)
    except ModelError as e:
        raise ModelError("%s: %s" % (path, e))
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, RecursionError) as e:
        raise ModelError("%s: not a well-formed model (%s)" % (path, type(e).__name__))


class _KeyTwice(Exception):
    pass


def _no_key_twice(pairs):
    """A JSON object, refused when it gives a key twice (as dtca refuses it: fabric/json.ts)."""
    out = {}
    for k, v in pairs:
        if k in out:
            raise _KeyTwice(k)
        out[k] = v
    return out


def _key_text(k):
    """A msgpack map key as dtca's reader sees it (msgpackr makes every key a property name: 1 and
    "1" are one key, true is "true", nil is "null", "__proto__" is read as "__proto_")."""
    if isinstance(k, str):
        return "__proto_" if k == "__proto__" else k
    if isinstance(k, bool):
        return "true" if k else "false"
    if isinstance(k, int):
        return str(k)
    if isinstance(k, float):
        if k != k:
            return "NaN"
        if k in (math.inf, -math.inf):
            return "Infinity" if k > 0 else "-Infinity"
        return "%d" % k if k.is_integer() and abs(k) < 1e21 else repr(k)
    if k is None:
        return "null"
    return None  # bytes, a list: dtca refuses such a key as not valid msgpack


def _map_no_key_twice(pairs):
    """A msgpack map, refused when it gives a key twice (as dtca refuses it: fabric/json.ts
    msgpackDuplicateKey); msgpack would keep the last value without a word."""
    # the common case at C speed: text keys only, none given twice, not both "__proto__" and "__proto_"
    out = dict(pairs)
    if len(out) == len(pairs) and all(type(k) is str for k in out) and not ("__proto__" in out and "__proto_" in out):
        return out
    out = {}
    seen = set()
    for k, v in pairs:
        t = _key_text(k)
        if k in out or (t is not None and t in seen):  # k in out: True and 1 are one Python key
            raise _KeyTwice(t if t is not None else repr(k))
        if t is not None:
            seen.add(t)
        out[k] = v
    return out


def key_twice_words(e):
    """The words after the file's name for a _KeyTwice from a msgpack map (fabric/json.ts duplicateWords)."""
    return "%s is given twice in one map; a reader would keep the last one without a word: the file is damaged or was not written by dtca" % json.dumps(e.args[0])


def _decode_checked(v, where):
    if isinstance(v, dict):
        if not (isinstance(v.get("dtype"), str) and isinstance(v.get("data"), (bytes, bytearray))):
            raise ModelError("%s: a typed array needs dtype and data" % where)
        if v["dtype"] not in ("float64", "float32", "int32", "uint32", "int16", "uint16", "int8", "uint8"):
            raise ModelError("%s: unsupported dtype" % where)
        dt = np.dtype(v["dtype"]).newbyteorder("<")
        if len(v["data"]) % dt.itemsize:
            raise ModelError("%s: %d bytes is not a whole number of %s" % (where, len(v["data"]), v["dtype"]))
        a = np.frombuffer(v["data"], dtype=dt)
        shape = v.get("shape", [a.size])
        if not isinstance(shape, list) or not 1 <= len(shape) <= 8 or not all(_is_int(x) and x >= 0 for x in shape) or int(np.prod([int(x) for x in shape], dtype=object)) != a.size:
            raise ModelError("%s: shape %r does not hold its %d values" % (where, shape, a.size))
        return a
    if isinstance(v, (list, tuple)):
        return v
    raise ModelError("%s: expected a list of numbers" % where)


# the grid and beta dtca accepts (sim/config-check.ts MAX_L, sim/model.ts MAX_BETA)
MAX_L = 46340
MAX_BETA = 1e6


def _key_text(k):
    """A key from the file as printable text (control and non-ASCII characters escaped)."""
    t = k.encode("unicode_escape").decode("ascii") if isinstance(k, str) else repr(k)
    return t if len(t) <= 60 else t[:57] + "..."


def _list_of(v, where, test, what):
    """A numeric array from the file (a list or a typed array), each value of a list checked as
    dtca checks it (a boolean, a string or null is none of its numbers)."""
    a = _decode_checked(v, where)
    if isinstance(a, (list, tuple)):
        for n, x in enumerate(a):
            if not test(x):
                raise ModelError("%s[%d]: %s is not %s" % (where, n, _value_text(x), what))
    return a


def _value_text(v):
    t = json.dumps(v) if isinstance(v, (str, bool)) or v is None else repr(v)
    return t if len(t) <= 40 else t[:37] + "..."


def _cell_list(v, where):
    return _list_of(v, where, _is_int, "an integer cell index")


def _number_list(v, where):
    return _list_of(v, where, _is_num, "a finite number")


def _read_checked(raw):
    # what dtca reads (sim/model.ts parseModel): no other top-level key, L up to 46340, beta in
    # (0, 1e6], every key dtca requires present, numbers where it wants numbers; a key holding
    # null is missing where dtca takes null for missing (edges, clamp, image, label, time_grid,
    # label_copies, image_shape), else refused
    unknown = set(raw) - {"format", "version", "grid", "beta", "stages", "dtm", "sha256"}
    if unknown:
        raise ModelError("%s: unknown key" % _key_text(sorted(unknown, key=repr)[0]))
    g = raw.get("grid")
    if not isinstance(g, dict) or set(g) - {"L", "rules", "boundary"}:
        raise ModelError('grid: expected {"L": .., "rules": .., "boundary": ..}')
    L = g.get("L")
    if not _is_int(L) or L < 2 or L > MAX_L:
        raise ModelError("grid.L: must be an integer in 2..%d" % MAX_L)
    L = int(L)
    if "boundary" not in g:
        raise ModelError('grid.boundary: missing ("open" or "torus")')
    boundary = g["boundary"]
    if boundary not in ("open", "torus"):
        raise ModelError('grid.boundary: must be "open" or "torus"')
    resolved = resolve_rules(g.get("rules"))
    check_rules(resolved, L, boundary)
    beta = raw.get("beta", 1.0)
    if not _is_num(beta) or not 0 < beta <= MAX_BETA:
        raise ModelError("beta: must be a number in (0, %g]" % MAX_BETA)
    if not isinstance(raw.get("stages"), list) or not raw["stages"]:
        raise ModelError("stages: a non-empty list of stages")
    N = L * L
    stages = []
    for n, st in enumerate(raw["stages"]):
        where = "stages[%d]" % n
        if not isinstance(st, dict):
            raise ModelError("%s: a map with bias, edges and optionally clamp" % where)
        st = dict(st)
        if st.get("bias") is None:
            raise ModelError("%s.bias: missing (L*L = %d numbers)" % (where, N))
        st["bias"] = _number_list(st["bias"], where + ".bias")
        e = st.get("edges")
        if e is None:
            st["edges"] = e = []
        if isinstance(e, dict):
            if set(e) != {"i", "j", "w"}:
                raise ModelError("%s.edges: expected {i, j, w}" % where)
            st["edges"] = (
                _cell_list(e["i"], where + ".edges.i"),
                _cell_list(e["j"], where + ".edges.j"),
                _number_list(e["w"], where + ".edges.w"),
            )
        elif isinstance(e, list):
            for k, x in enumerate(e):
                if not isinstance(x, list) or len(x) != 3:
                    raise ModelError("%s.edges[%d]: expected [i, j, w]" % (where, k))
                if not (_is_int(x[0]) and _is_int(x[1])):
                    raise ModelError("%s.edges[%d]: cells must be integers" % (where, k))
                if not _is_num(x[2]):
                    raise ModelError("%s.edges[%d]: the weight %s is not a finite number" % (where, k, _value_text(x[2])))
        else:
            raise ModelError("%s.edges: expected rows [i, j, w] or {i, j, w} arrays" % where)
        clamp = st.get("clamp")
        if clamp is None:
            st["clamp"] = clamp = []
        if not isinstance(clamp, list) or not all(isinstance(c, list) and len(c) == 2 for c in clamp):
            raise ModelError("%s.clamp: expected rows [cell, spin]" % where)
        for k, c in enumerate(clamp):
            if not all(_is_int(x) for x in c):
                raise ModelError("%s.clamp[%d]: cells and spins must be integers" % (where, k))
        bias, i, j, w, cl = _stage(st, n, L, N, resolved, boundary)
        stages.append(
            {
                "bias": bias,
                "edges": {"i": i.astype(np.int32), "j": j.astype(np.int32), "w": w},
                "clamp": np.asarray(cl, dtype=np.int64).reshape(-1, 2),
            }
        )
    out = {"grid": dict(g, L=L), "beta": float(beta), "stages": stages}
    if "dtm" in raw:
        if not isinstance(raw["dtm"], dict):
            raise ModelError("dtm: must be a map")
        d = dict(raw["dtm"])
        if "T" not in d:
            raise ModelError("dtm.T: missing (the model has %d stages)" % len(stages))
        for k in ("image", "label"):
            d[k] = [] if d.get(k) is None else _cell_list(d[k], "dtm." + k)
        for k in ("lambda_image", "lambda_label"):
            if k in d and not _is_num(d[k]):
                raise ModelError("dtm.%s: %s is not a finite number" % (k, _value_text(d[k])))
        if d.get("time_grid") is not None and not isinstance(d["time_grid"], list):
            raise ModelError("dtm.time_grid: a list of T + 1 = %d entries" % (len(stages) + 1))
        if "image_source" in d and not isinstance(d["image_source"], dict):
            raise ModelError('dtm.image_source: expected {"source": "fmnist-28", "width", "height", "downscale"}')
        checked = _dtm(d, len(stages), N)
        d.update(image=checked["image"].astype(np.int32), label=checked["label"].astype(np.int32))
        out["dtm"] = d
    return out

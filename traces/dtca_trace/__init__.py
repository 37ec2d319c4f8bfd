"""Read dtca binary traces (format "dtca-trace", versions 1 and 2) with numpy; write and read dtca
model files (``dtca_trace.model``).

Needs only numpy and msgpack (Debian: python3-numpy, python3-msgpack; run with /usr/bin/python3
where another python3 comes first on PATH). Install with ``pip install ./traces`` from a dtca
checkout, or put the ``traces`` directory on ``sys.path``.

A trace is a plain msgpack stream: a sequence of maps, each with a ``type`` key:

  header       format, version, dtca_version, created, config, model,
               layout {L, N, colour, visible, image, label, label_copies}, run {chains, stages,
               sweeps, clock_hz, mapping, [arrays]}, thinning {every, stages, chains, cells},
               traced_cells (cell index of each traced cell), n_traced, state_packing
  stage_begin  stage, cycle, time_s, energy_j (programming), [toggles], [cycles]
  sweep        chain, stage, sweep, cycle, time_s, toggles, n_cells, states (bit-packed),
               energy_j (this sweep's increment)
  stage_end    stage, cycle, time_s, energy_j (the stage's totals), [toggles], [cycles]
  end          status 'complete', cycle, time_s, cell_updates, toggles, energy_j (run totals),
               records, sweep_records (written before it); or, for a run that was stopped,
               status 'interrupted', reason (e.g. 'SIGINT'), at {stage, chain, sweep}, cycle,
               time_s (the last written), records, sweep_records

Time: ``cycle`` and ``time_s`` are chip time from the run's start. Version 1 (one array): one clock,
never going back. Version 2 is a DTM ``pipeline`` (``run['mapping'] == 'pipeline'``, ``run['arrays']``
= T): stage k runs on array k, every array's clock starts at cycle 0 together, and each record is
stamped on its stage's array; records still come stage by stage (noisiest first), so time never goes
back within a stage, and a complete end record's cycle is the run's, at or after every record's
(``timeline(header)`` says which: 'one', 'arrays', or 'serial' for a version 1 pipeline trace,
whose stage and sweep records count cycles as if one array ran the stages in turn).

Every record also ends with ``crc32``: the CRC-32 (zlib) of the record's bytes up to its last four.
Typed arrays are maps {dtype, shape, data} (little-endian raw bytes); this module turns them into
numpy arrays. States: bit k of traced cell k at byte k >> 3, bit k & 7 (``bitorder='little'``),
1 = spin +1; ``unpack_states`` gives 0/1 per traced cell, ``header['traced_cells']`` maps traced
cell k to its cell index (y * L + x).

Usage (``dtca run --trace`` writes ``trace.dtct`` in its run directory, runs/<time>-<suffix>-<config>/)::

    import dtca_trace
    header, t = dtca_trace.load('runs/20260101-120000-000-9f3a-dtca-paper/trace.dtct')
    t.states                                # (records, traced cells) uint8, 1 = spin +1
    rows = dtca_trace.to_records(t)         # numpy record array: chain, stage, sweep, cycle, ...
    # pandas.DataFrame(rows) or pandas.DataFrame(dtca_trace.columns(t)) for a data frame
    for rec in dtca_trace.iter_records('big.dtct'):  # streaming, for files larger than memory
        ...

A file cut short (crash, full disk) reads up to its last whole record; the iterator / table then
has ``truncated = True`` and ``truncated_at`` (byte offset), and a ``TraceTruncated`` warning is
issued. ``status`` says how the trace ends, as ``dtca trace inspect`` does: 'complete', 'interrupted'
(the run was stopped, e.g. by Ctrl-C, and closed its trace: ``interrupted`` holds the reason and
where), 'truncated' (cut inside a record), 'incomplete' (no end record). A file that is not a trace,
a newer format version, or damage in the middle (a record that fails its CRC or lacks its fields,
records out of order, or records missing or repeated, which the end record's counts reveal)
raises ``TraceError`` (with ``offset``) after the records before the damage have been yielded.

``python -m dtca_trace FILE`` (or the ``dtca-trace`` command an install provides) prints a summary.
"""
import json
import math
import os
import re
import stat
import warnings
import zlib

import msgpack
import numpy as np

FORMAT = "dtca-trace"
VERSION = 2
CHUNK = 1 << 20
MAX_RECORD_BYTES = 256 * 1024 * 1024

__version__ = "0.1.0"

__all__ = ["load", "iter_records", "timeline", "unpack_states", "decode_typed", "column_of", "columns", "to_records", "TraceError", "TraceTruncated", "Table", "model"]


class TraceError(ValueError):
    """Not a dtca trace, a newer format version, or a damaged record (``offset`` = byte offset)."""

    def __init__(self, message, offset=None):
        super().__init__(message)
        self.offset = offset


class TraceTruncated(UserWarning):
    """The file ends inside a record (a crash or Ctrl-C): everything before it was read."""


DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64", "int64", "uint64")


def decode_typed(d):
    """{dtype, shape, data} -> numpy array (read-only view of the bytes, little-endian).
    Raises ValueError for an unknown dtype, a bad shape, or data of the wrong length."""
    if not _is_typed(d):
        raise ValueError("not a typed array (a map {dtype: str, shape: list, data: bytes})")
    if d["dtype"] not in DTYPES:
        raise ValueError("unknown dtype %s" % _js(d["dtype"]))
    if not all(_is_int(x) for x in d["shape"]):
        raise ValueError("bad shape %s" % _js(d["shape"]))
    dt = np.dtype(d["dtype"]).newbyteorder("<")
    shape = tuple(int(x) for x in d["shape"])
    n = 1
    for x in shape:
        n *= x
    if n * dt.itemsize != len(d["data"]):
        raise ValueError("%s array of shape %s has %d bytes of data" % (d["dtype"], list(shape), len(d["data"])))
    return np.frombuffer(d["data"], dtype=dt).reshape(shape)


def _is_typed(v):
    return isinstance(v, dict) and isinstance(v.get("dtype"), str) and isinstance(v.get("shape"), list) and isinstance(v.get("data"), (bytes, bytearray))


def _restore(v):
    if _is_typed(v):
        return decode_typed(v)
    if isinstance(v, dict):
        return {k: _restore(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_restore(x) for x in v]
    return v


def unpack_states(rec, n=None):
    """0/1 (uint8) per traced cell from a sweep record; n defaults to the record's n_cells."""
    n = rec["n_cells"] if n is None else n
    return np.unpackbits(np.asarray(rec["states"], dtype=np.uint8), bitorder="little")[:n]


_HEADER_KEYS = b"\xa4type\xa6header\xa6format\xaadtca-trace"


def _starts_like_header(b):
    """Do these bytes begin as a trace header (a msgpack map whose first entries are type and format)?"""
    if len(b) == 0:
        return False
    at = 1 if 0x80 <= b[0] <= 0x8F else 3 if b[0] == 0xDE else -1
    return at > 0 and bytes(b[at : at + len(_HEADER_KEYS)]) == _HEADER_KEYS


def _crc_ok(raw, rec):
    # the CRC of every byte but the last 4 (the crc32 value's), read in place: zlib.crc32 takes a
    # memoryview, so the record's bytes are not copied (raw[:-4] then bytes() copied them twice)
    return len(raw) >= 5 and raw[-5] == 0xCE and zlib.crc32(memoryview(raw)[:-4]) == rec.get("crc32")


def _num(v):
    """A finite number (what the TypeScript reader calls a number)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return isinstance(v, int) or math.isfinite(v)


def _is_int(v):
    """An integer >= 0 (a float with an integer value counts, as in JavaScript)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    # a count: at most 2^53 - 1 (beyond it a count is no longer exact: damage), as in TypeScript
    if isinstance(v, int):
        return 0 <= v <= 2**53 - 1
    return math.isfinite(v) and 0 <= v <= 2**53 - 1 and v.is_integer()


def _same(a, b):
    """a == b as JavaScript's === sees two decoded values: numbers by value (1 == 1.0), never a bool
    for a number (True == 1 in Python), anything else by equality of kind and value."""
    if _num(a) or _num(b):
        return _num(a) and _num(b) and a == b
    return type(a) is type(b) and a == b


# what a header's counts and clock may be: what dtca writes (traces/reader.ts HEADER_MAX_COUNT ...):
# chains, stages and sweeps number int32 indices; the clock is the config schema's; L the config's
HEADER_MAX_COUNT = 2**31
HEADER_CLOCK_HZ = (1e-3, 1e15)
HEADER_MAX_L = 46340


# what an energy component may be called: its name becomes a column (energy_<c>_j) and, in
# dtca trace export --npy, a file name, so a slash, a comma or a newline is damage
_COMPONENT = re.compile(r"[a-z][a-z0-9_]{0,63}")


def timeline(header):
    """Whose clock a trace's cycles are on: 'one' (one array through the run), 'arrays' (a version 2
    pipeline: stage k's records on array k's clock, every array from cycle 0) or 'serial' (a
    version 1 pipeline: its stage and sweep records count cycles as if one array ran the stages in
    turn; its end record holds the run's cycles)."""
    if header["run"].get("mapping") != "pipeline":
        return "one"
    return "arrays" if header["version"] >= 2 else "serial"


def _energy_problem(v):
    """None when v is a map of component names to finite numbers, else what is wrong."""
    if not isinstance(v, dict) or not all(_num(x) for x in v.values()):
        return "energy_j is not a map of finite numbers"
    for k in v:
        if not isinstance(k, str) or not _COMPONENT.fullmatch(k):
            return "energy_j: %s is not a component name" % _js(k)
    # an energy is never below 0, and a total is its components' sum (as the TypeScript reader checks)
    total, parts, n = v.get("total"), 0.0, 0
    for k, e in v.items():
        if e < 0:
            return "energy_j: %s is %s, below 0" % (k, _js(e))
        if k != "total":
            parts += e
            n += 1
    if total is not None and n > 0 and abs(total - parts) > 1e-9 * max(total, parts):
        return "energy_j: total %s is not the sum of its components (%s)" % (_js(total), _js(parts))
    return None


# per record type: fields that must be integers >= 0, fields that must be finite numbers
_FIELDS = {
    "sweep": (("chain", "stage", "sweep", "n_cells", "cycle", "toggles"), ("time_s",)),
    "stage_begin": (("stage", "cycle"), ("time_s",)),
    "stage_end": (("stage", "cycle"), ("time_s",)),
    "end": (("records", "sweep_records", "cycle", "cell_updates", "toggles"), ("time_s",)),
    "end-interrupted": (("records", "sweep_records", "cycle"), ("time_s",)),
}


def _js(v):
    """A value as the TypeScript reader shows it in messages (JSON; 'missing' for None)."""
    if v is None:
        return "missing"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return "%d" % v  # as JavaScript writes a number: 2**40 read as a float is 1099511627776
    try:
        s = json.dumps(v, separators=(",", ":"))  # as JSON.stringify writes it; every control and non-ASCII character escaped
    except (TypeError, ValueError, RecursionError):
        s = ascii(v)
    return s if len(s) <= 80 else s[:77] + "..."


_MISSING = object()


def _jsv(v):
    """A header value as the TypeScript reader shows it: 'missing' for an absent key (get(k, _MISSING)),
    null for a nil."""
    return "missing" if v is _MISSING else "null" if v is None else _js(v)


def _jsnum(v):
    return ("%d" % v) if isinstance(v, float) and v.is_integer() else str(v)


def _unpacker(keys=None):
    # strings that are not UTF-8 decode leniently (as the TypeScript reader does): a damaged record
    # is then judged by its CRC, not by a decoding error. A map that gives a key twice (msgpack would
    # keep the last value without a word) is refused as dtca refuses it, once a record is whole and
    # has passed the checks dtca makes first (CRC): `keys` (a _KeysTwice) notes the first such key
    # as the record is decoded, and the reader asks it after the CRC (raising in the hook would
    # refuse a record cut short, which dtca reads as a cut, not as damage)
    return msgpack.Unpacker(
        raw=False,
        strict_map_key=False,
        unicode_errors="surrogateescape",
        max_buffer_size=MAX_RECORD_BYTES + 2 * CHUNK,
        **({"object_pairs_hook": keys.hook} if keys is not None else {}),
    )


class _KeysTwice:
    """The object_pairs_hook of the reader's unpacker: builds each map (as msgpack would) and notes
    the first key a map gives twice (as dtca's reader sees keys: model._map_no_key_twice), in the
    order the maps end, until reset() (after each whole record: a record cut short keeps its maps,
    since the unpacker resumes it where it stopped)."""

    __slots__ = ("twice",)

    def __init__(self):
        self.twice = None

    def reset(self):
        self.twice = None

    def hook(self, pairs):
        d = dict(pairs)
        # the common case, in C but for the loop: text keys only (no two that dtca reads as one), none given twice
        if len(d) == len(pairs) and "__proto__" not in d:
            for k in d:
                if type(k) is not str:
                    break
            else:
                return d
        try:
            model._map_no_key_twice(pairs)
        except model._KeyTwice as e:
            if self.twice is None:
                self.twice = e.args[0]
        return d


def _find_record(tail):
    """Offset (> 0) in tail of a later record that decodes and passes its CRC, or -1."""
    h = tail.find(b"\xa4type", 1)
    while h >= 0:
        for s in (h - 1, h - 3):
            if s < 1:
                continue
            b = tail[s]
            if not ((s == h - 1 and 0x81 <= b <= 0x8F) or (s == h - 3 and b == 0xDE)):
                continue
            u = _unpacker()
            u.feed(bytes(tail[s:]))
            try:
                v = u.unpack()
                if isinstance(v, dict) and isinstance(v.get("type"), str) and _crc_ok(tail[s : s + u.tell()], v):
                    return s
            except Exception:
                pass
        h = tail.find(b"\xa4type", h + 1)
    return -1


class RecordIterator:
    """Iterates the records of a trace file; after iteration, ``truncated``, ``truncated_at``,
    ``complete`` (an end record was read), ``bytes``, ``records`` and ``header`` describe it."""

    def __init__(self, path):
        self.path = path
        self.truncated = False
        self.truncated_at = None
        self.complete = False
        self.status = None  # after iteration: complete, interrupted, truncated or incomplete
        self.interrupted = None  # {reason, at} of an interrupted run
        self.bytes = 0
        self.records = 0
        self.sweep_records = 0
        self.header = None
        self._last_cycle = float("-inf")
        self._max_cycle = float("-inf")
        self._timeline = "one"
        self._array = -1  # the pipeline stage whose records are being read (timeline 'arrays')
        self._ended = False
        self._gen = self._run()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)

    def _damage(self, offset, what):
        # as the TypeScript reader says it
        before = "no record before it" if self.records == 0 else "the header before it reads" if self.records == 1 else "the %d records before it read" % self.records
        return TraceError("%s: corrupt at byte %d (record %d): %s; %s" % (self.path, offset, self.records, what, before), offset)

    def _accept(self, obj, raw, offset, twice=None):
        # twice: the first key a map of this record gives twice (the unpacker's _KeysTwice), or None
        if self.records == 0:
            # a trace is recognised by its first bytes (not by decoded values, which damage can
            # bend differently in different decoders): what follows is judged as damage
            if not _starts_like_header(raw):
                raise TraceError("%s: not a dtca trace (its first record is not a header with format %r)" % (self.path, FORMAT), offset)
            if not isinstance(obj, dict):
                raise self._damage(offset, "the header is not a map")
            v = obj.get("version")
            if not _is_int(v) or v < 1:
                raise self._damage(offset, "header version %s is not a format version" % _js(v))
            if v > VERSION:
                raise TraceError("%s: trace format version %d is newer than this reader (version %d); use a newer dtca_trace" % (self.path, v, VERSION), offset)
        if self._ended:
            # nothing is written after the end record: whatever follows is damage (not a cut tail)
            raise self._damage(offset, "data after the end record")
        if not (isinstance(obj, dict) and isinstance(obj.get("type"), str)):
            raise self._damage(offset, "not a record (a map with a type)")
        t = obj["type"]
        if not _crc_ok(raw, obj):
            raise self._damage(offset, "%s record fails its CRC check" % t)
        if twice is not None:
            raise self._damage(offset, "%s is given twice in one record" % json.dumps(twice))
        if self._ended:
            raise self._damage(offset, "a %s record after the end record" % t)
        if self.records == 0:
            return self._header(obj, offset)
        if t not in ("sweep", "stage_begin", "stage_end", "end"):
            raise self._damage(offset, "unknown record type %s" % _js(t))
        kind = "end-interrupted" if t == "end" and obj.get("status") == "interrupted" else t
        if t == "end" and obj.get("status") not in (None, "complete", "interrupted"):
            raise self._damage(offset, "end record: status %s" % _js(obj.get("status")))
        ints, nums = _FIELDS[kind]
        for k in ints:
            if not _is_int(obj.get(k)):
                raise self._damage(offset, "%s record: %s is %s, expected an integer >= 0" % (t, k, _js(obj.get(k))))
        for k in nums:
            if not _num(obj.get(k)) or obj.get(k) < 0:
                raise self._damage(offset, "%s record: %s is %s, expected a number >= 0" % (t, k, _js(obj.get(k))))
        problem = None if kind == "end-interrupted" else _energy_problem(obj.get("energy_j"))
        if problem:
            raise self._damage(offset, problem)
        if t == "sweep":
            s = obj["states"] if "states" in obj else None
            if not _is_typed(s) or s["dtype"] != "uint8":
                raise self._damage(offset, "sweep record: states is not a uint8 array")
            try:
                obj["states"] = decode_typed(s)
            except ValueError as e:
                raise self._damage(offset, str(e))
            if obj["states"].size != (int(obj["n_cells"]) + 7) >> 3:
                raise self._damage(offset, "sweep record: %d state bytes for %d cells" % (obj["states"].size, obj["n_cells"]))
        if t != "end":
            self._check_against_header(obj, t, offset)
        if t == "end":
            # the end record counts what was written before it: a record lost or repeated shows here
            if obj["records"] != self.records or obj["sweep_records"] != self.sweep_records:
                raise self._damage(
                    offset,
                    "the end record counts %d records (%d sweep records) before it, %d (%d) were read: records are missing or repeated"
                    % (obj["records"], obj["sweep_records"], self.records, self.sweep_records),
                )
            # the run ends when its last record's work does (an interrupted run: at its last record's cycle)
            floor = self._last_cycle if obj.get("status") == "interrupted" else self._max_cycle
            if self._timeline != "serial" and obj["cycle"] < floor:
                raise self._damage(offset, "end record at cycle %s, before the cycle %s a record before it reached" % (_jsnum(obj["cycle"]), _jsnum(floor)))
            self._ended = True
        else:
            if self._timeline == "arrays":
                # a pipeline (version 2): each stage's records on its array's clock, stage after stage
                if t == "stage_begin":
                    if self._array >= 0 and obj["stage"] >= self._array:
                        raise self._damage(offset, "stage_begin record of stage %d after stage %d's records: stages out of order or repeated" % (obj["stage"], self._array))
                    self._array = obj["stage"]
                    self._last_cycle = float("-inf")
                elif obj["stage"] != self._array:
                    if self._array < 0:
                        raise self._damage(offset, "%s record of stage %d before any stage_begin record" % (t, obj["stage"]))
                    raise self._damage(offset, "%s record of stage %d among stage %d's records: records out of order" % (t, obj["stage"], self._array))
            # one clock through the run (a pipeline: through each array): a record out of order (or repeated) goes back in time
            c = obj["cycle"]
            if c < self._last_cycle or (t == "sweep" and c == self._last_cycle):
                raise self._damage(offset, "%s record at cycle %s after cycle %s: records out of order or repeated" % (t, _jsnum(c), _jsnum(self._last_cycle)))
            self._last_cycle = c
            self._max_cycle = max(self._max_cycle, c)
            if t == "sweep":
                self.sweep_records += 1
        return obj

    def _check_against_header(self, obj, t, offset):
        # fields that decode and pass the CRC can still be impossible: the header's cell count,
        # and chain, stage and sweep within the run it declares (a chain of 2**40 must not wrap)
        h = self.header
        if h is None:
            return
        run = h["run"]
        checks = [("stage", "stages")] if t != "sweep" else [("chain", "chains"), ("stage", "stages"), ("sweep", "sweeps")]
        if t == "sweep" and obj["n_cells"] != h["n_traced"]:
            raise self._damage(offset, "sweep record: n_cells %d, the header traces %d cells" % (obj["n_cells"], h["n_traced"]))
        for k, n in checks:
            if obj[k] >= run[n]:
                raise self._damage(offset, "%s record: %s %d outside the run's 0..%d" % (t, k, obj[k], run[n] - 1))

    def _header(self, obj, offset):
        # the header's fields, each checked against what dtca writes, in the order the TypeScript
        # reader checks them (traces/reader.ts validateHeader), so both call the same headers damaged
        try:
            h = _restore(obj)
        except (ValueError, TypeError) as e:
            raise self._damage(offset, str(e))
        for k in ("dtca_version", "created", "state_packing"):
            if not isinstance(h.get(k), str):
                raise self._damage(offset, "header: %s is %s, expected a string" % (k, _jsv(h.get(k, _MISSING))))
        lay = h.get("layout")
        if not isinstance(lay, dict) or not _is_int(lay.get("L")) or not _is_int(lay.get("N")):
            raise self._damage(offset, "header: layout.L / layout.N missing")
        if not (isinstance(lay.get("colour"), np.ndarray) and lay["colour"].dtype == np.uint8 and lay["colour"].ndim == 1):
            raise self._damage(offset, "header: layout.colour is not a uint8 array")
        for k in ("visible", "image", "label"):
            if not (isinstance(lay.get(k), np.ndarray) and lay[k].dtype == np.int32 and lay[k].ndim == 1):
                raise self._damage(offset, "header: layout.%s is not an int32 array" % k)
        run = h.get("run")
        if not isinstance(run, dict):
            raise self._damage(offset, "header: run is %s, expected a map {chains, stages, sweeps, clock_hz, mapping}" % _jsv(h.get("run", _MISSING)))
        for k in ("chains", "stages", "sweeps"):
            if not (_is_int(run.get(k)) and 1 <= run[k] <= HEADER_MAX_COUNT):
                raise self._damage(offset, "header: run.%s is %s, expected an integer from 1 to %d" % (k, _jsv(run.get(k, _MISSING)), HEADER_MAX_COUNT))
        hz = run.get("clock_hz", _MISSING)
        if not (_num(hz) and HEADER_CLOCK_HZ[0] <= hz <= HEADER_CLOCK_HZ[1]):
            raise self._damage(offset, "header: run.clock_hz is %s, expected a number from 1e-3 to 1e15 (Hz)" % _jsv(hz))
        if "mapping" in run and not isinstance(run["mapping"], str):
            raise self._damage(offset, "header: run.mapping is %s, expected a string" % _jsv(run["mapping"]))
        tc = h.get("traced_cells")
        if not (isinstance(tc, np.ndarray) and tc.dtype == np.int32 and tc.ndim == 1) or h.get("n_traced") != tc.size or isinstance(h.get("n_traced"), bool):
            raise self._damage(offset, "header: traced_cells / n_traced inconsistent")
        # the thinning and the model summary, as the TypeScript reader checks them
        th = h.get("thinning")

        def ints(v, n=None):
            return v is None or (isinstance(v, list) and all(_is_int(x) for x in v) and (n is None or len(v) == n))

        if (
            not isinstance(th, dict)
            or not _is_int(th.get("every"))
            or th["every"] < 1
            or not all(ints(th.get(k, 0)) for k in ("stages", "chains"))
            or not ints(th.get("cells", 0), 4)
        ):
            raise self._damage(offset, "header: thinning is not {every, stages, chains, cells}")
        for k in ("stages", "chains"):
            bad = [v for v in (th[k] or []) if v >= run[k]]
            if bad:
                raise self._damage(offset, "header: thinning.%s holds %s, outside the run's 0..%s" % (k, _jsnum(bad[0]), _jsnum(run[k] - 1)))
        if not isinstance(h.get("model"), dict):
            raise self._damage(offset, "header: model is not a map")
        if not isinstance(h.get("config"), dict):
            raise self._damage(offset, "header: config is not a map")
        # a pipeline (version 2): one array per stage, and each record on its stage's; only a pipeline has arrays
        if ((h["version"] >= 2 and run.get("mapping") == "pipeline") or "arrays" in run) and not _same(run.get("arrays"), run["stages"]):
            raise self._damage(offset, "header: a pipeline's run.arrays is %s, expected its %s stages" % (_jsv(run.get("arrays", _MISSING)), _jsnum(run["stages"])))
        # the layout is the grid's (as the TypeScript reader checks)
        L, N = lay["L"], lay["N"]
        if not 2 <= L <= HEADER_MAX_L:
            raise self._damage(offset, "header: layout.L is %s, expected an integer from 2 to %d" % (_jsnum(L), HEADER_MAX_L))
        if N != L * L:
            raise self._damage(offset, "header: layout.N %s is not layout.L squared (L = %s)" % (_jsnum(N), _jsnum(L)))
        if lay["colour"].size != N:
            raise self._damage(offset, "header: layout.colour holds %d cells, the grid %s" % (lay["colour"].size, _jsnum(N)))
        for k, a in (("layout.visible", lay["visible"]), ("layout.image", lay["image"]), ("layout.label", lay["label"]), ("traced_cells", tc)):
            bad = a[(a < 0) | (a >= N)]
            if bad.size:
                raise self._damage(offset, "header: %s holds cell %d, outside the grid's 0..%s" % (k, bad[0], _jsnum(N - 1)))
        copies, labels = lay.get("label_copies", _MISSING), lay["label"].size
        if not (_is_int(copies) and 1 <= copies <= HEADER_MAX_COUNT and labels % copies == 0):
            raise self._damage(offset, "header: layout.label_copies is %s, expected a positive integer dividing the %d label cells" % (_jsv(copies), labels))
        # the traced cells are the grid's or the thinning's rectangle, as the writer lists them: a
        # grid of another side than the records' (their n_cells is n_traced) does not pass for theirs
        L, N = int(L), int(N)
        rect = th["cells"]
        if rect is not None:
            x0, y0, x1, y1 = (int(v) for v in rect)
            if not (x0 <= x1 < L and y0 <= y1 < L):
                raise self._damage(offset, "header: thinning.cells %s is not a rectangle x0,y0,x1,y1 inside the %dx%d grid" % (",".join(_jsnum(v) for v in rect), L, L))
            want = ((np.arange(y0, y1 + 1, dtype=np.int64)[:, None] * L) + np.arange(x0, x1 + 1, dtype=np.int64)[None, :]).ravel()
        else:
            want = None
        if not (np.array_equal(tc, want) if want is not None else tc.size == N and np.array_equal(tc, np.arange(N, dtype=np.int64))):
            what = "the %d cells of the %dx%d grid" % (N, L, L) if rect is None else "the cells of thinning.cells %s" % ",".join(_jsnum(v) for v in rect)
            raise self._damage(offset, "header: traced_cells (%d cells) are not %s" % (tc.size, what))
        # the config in the header is the run's, resolved: its clock and grid are the run's and the layout's
        clock, fabric = h["config"].get("clock"), h["config"].get("fabric")
        if isinstance(clock, dict) and "clock_hz" in clock and not _same(clock["clock_hz"], hz):
            raise self._damage(offset, "header: run.clock_hz %s is not the config's clock.clock_hz %s" % (_jsv(hz), _jsv(clock["clock_hz"])))
        if isinstance(fabric, dict) and "L" in fabric and not _same(fabric["L"], L):
            raise self._damage(offset, "header: layout.L %d is not the config's fabric.L %s" % (L, _jsv(fabric["L"])))
        self._timeline = timeline(h)
        return h

    def _run(self):
        # only a regular file, judged by fstat of what was opened (as the TypeScript reader): opened
        # non-blocking, so a FIFO with no writer neither blocks the open nor is read
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as e:
            raise TraceError("%s: cannot read (%s)" % (self.path, e.strerror))
        try:
            mode = os.fstat(fd).st_mode
        except OSError as e:
            os.close(fd)
            raise TraceError("%s: cannot read (%s)" % (self.path, e.strerror))
        if not stat.S_ISREG(mode):
            os.close(fd)
            odd = (
                "is a directory" if stat.S_ISDIR(mode)
                else "is a FIFO (a pipe)" if stat.S_ISFIFO(mode)
                else "is a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "is a socket" if stat.S_ISSOCK(mode)
                else "is not a regular file"
            )
            raise TraceError("%s: %s, not a trace file (a trace must be a regular file)" % (self.path, odd))
        f = os.fdopen(fd, "rb")
        with f:
            keys = _KeysTwice()
            unp = _unpacker(keys)
            buf = bytearray()  # the bytes from `base` on, to check CRCs
            base = 0  # file offset of buf[0] = end of the last whole record
            while True:
                chunk = f.read(CHUNK)
                if chunk:
                    self.bytes += len(chunk)
                    try:
                        unp.feed(chunk)
                    except msgpack.BufferFull:
                        raise self._damage(base, "a record longer than %d bytes (a damaged length)" % MAX_RECORD_BYTES)
                    buf += chunk
                while True:
                    try:
                        obj = unp.unpack()
                    except msgpack.OutOfData:
                        break
                    except Exception as e:  # invalid msgpack: named by its kind, not by the library's own text
                        why = type(e).__name__
                        if self.records == 0 and not _starts_like_header(buf):
                            raise TraceError("%s: not a dtca trace (it does not decode as msgpack: %s)" % (self.path, why), base)
                        if self.records == 0:
                            raise self._damage(base, "the header does not decode (%s)" % why)
                        raise self._damage(base, "not valid msgpack (%s)" % why)
                    end = unp.tell()
                    twice = keys.twice
                    keys.reset()  # the next record's maps
                    rec = self._accept(obj, buf[: end - base], base, twice)
                    del buf[: end - base]
                    base = end
                    self.records += 1
                    if rec["type"] == "header":
                        self.header = rec
                    elif rec["type"] == "end":
                        self.complete = True
                        if rec.get("status") == "interrupted":
                            self.interrupted = {"reason": rec.get("reason"), "at": rec.get("at") or {}}
                    yield rec
                if len(buf) > MAX_RECORD_BYTES:
                    raise self._damage(base, "a record longer than %d bytes (a damaged length)" % MAX_RECORD_BYTES)
                if not chunk:
                    break
            if self.records == 0 and not buf:
                raise TraceError("%s: not a dtca trace (the file is empty)" % self.path, 0)
            if buf and self._ended:
                # nothing is written after the end record: bytes there are damage, not a cut
                raise self._damage(base, "data after the end record (%d bytes)" % len(buf))
            if buf:
                nxt = _find_record(buf)
                if nxt >= 0:
                    raise self._damage(base, "a damaged record (a whole record follows at byte %d)" % (base + nxt))
                if self.records == 0:
                    raise TraceError("%s: not a dtca trace (no whole record in %d bytes; or cut short before its header)" % (self.path, len(buf)), 0)
                self.truncated = True
                self.truncated_at = base
                self.status = "truncated"
                warnings.warn(TraceTruncated("%s: cut short; whole records end at byte %d of %d" % (self.path, base, self.bytes)), stacklevel=3)
            elif self.status is None:
                self.status = "interrupted" if self.interrupted is not None else "complete" if self.complete else "incomplete"


def iter_records(path):
    """Streams the records of a trace (dicts; typed arrays as numpy arrays; sweep states packed).
    Returns a RecordIterator: iterate it, then look at ``.truncated`` / ``.truncated_at``."""
    return RecordIterator(path)


class Table:
    """The sweep records of a trace as columns (numpy arrays, one entry per sweep record).

    chain, stage, sweep (int32); cycle, toggles (int64); time_s (float64); states (records,
    traced cells) uint8 0/1; cells: the cell index of each states column; energy: {component:
    float64 array} including 'total'; energy_total: energy['total']. Also stage_records (the
    stage_begin / stage_end dicts), end (the end dict or None), complete, truncated, truncated_at.
    """

    def __init__(self):
        self.energy = {}

    def __len__(self):
        return len(self.chain)

    def __getitem__(self, name):
        return getattr(self, name)

    def __repr__(self):
        return "<dtca Table: %d sweep records x %d traced cells%s>" % (len(self), self.states.shape[1], ", truncated" if self.truncated else "")


def load(path, states=True):
    """Reads a whole trace: returns (header, Table). states=False skips the cell states."""
    it = iter_records(path)
    cols = {k: [] for k in ("chain", "stage", "sweep", "cycle", "time_s", "toggles")}
    energy = {}
    packed = []
    stage_records = []
    end = None
    header = None
    n = 0
    for rec in it:
        t = rec["type"]
        if t == "header":
            header = rec
            continue
        if t == "sweep":
            for k in cols:
                cols[k].append(rec[k])
            for k, v in rec["energy_j"].items():
                energy.setdefault(k, [np.nan] * n).append(v)
            n += 1
            for k in energy:
                if len(energy[k]) < n:
                    energy[k].append(np.nan)
            if states:
                packed.append(rec["states"].tobytes())
        elif t in ("stage_begin", "stage_end"):
            stage_records.append(rec)
        elif t == "end":
            end = rec
    tab = Table()
    types = {"chain": np.int32, "stage": np.int32, "sweep": np.int32, "cycle": np.int64, "toggles": np.int64, "time_s": np.float64}
    for k, v in cols.items():
        setattr(tab, k, np.asarray(v, dtype=types[k]))
    tab.energy = {k: np.asarray(v, dtype=np.float64) for k, v in energy.items()}
    if "total" not in tab.energy:
        if tab.energy:
            tab.energy["total"] = np.nansum(np.array(list(tab.energy.values()), dtype=np.float64).reshape(-1, n), axis=0)
        else:  # no sweep records (e.g. a run stopped before its first sweep)
            tab.energy["total"] = np.zeros(n, dtype=np.float64)
    tab.energy_total = tab.energy["total"]
    nt = int(header["n_traced"])
    tab.cells = np.asarray(header["traced_cells"], dtype=np.int32)
    if states:
        nb = (nt + 7) >> 3
        p = np.frombuffer(b"".join(packed), dtype=np.uint8).reshape(n, nb)
        tab.states = np.unpackbits(p, axis=1, bitorder="little")[:, :nt]
    else:
        tab.states = np.zeros((n, 0), dtype=np.uint8)
    tab.stage_records = stage_records
    tab.end = end
    tab.complete = it.complete
    tab.status = it.status
    tab.interrupted = it.interrupted
    tab.truncated = it.truncated
    tab.truncated_at = it.truncated_at
    tab.bytes = it.bytes
    return header, tab


def column_of(header, cells):
    """Column index in Table.states of each given cell index (-1 where the cell is not traced).
    Raises ValueError for a cell that is not an integer in 0..N-1 (numpy would take -1 as the
    last cell, and 1.5 as cell 1)."""
    N = int(header["layout"]["N"])
    pos = np.full(N, -1, dtype=np.int64)
    tc = np.asarray(header["traced_cells"], dtype=np.int64)
    pos[tc] = np.arange(tc.size)
    try:
        c = np.asarray(cells)
        f = c.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("column_of: cells must be cell indices (integers in 0..%d)" % (N - 1))
    if c.dtype == np.bool_ or c.dtype.kind in "USV":
        raise ValueError("column_of: cells must be cell indices (integers in 0..%d)" % (N - 1))
    bad = np.nonzero(~((f == np.floor(f)) & (f >= 0) & (f < N)))
    if bad[0].size:
        v = f[tuple(b[0] for b in bad)]
        raise ValueError("column_of: cell %s is not a cell of the grid (integers 0..%d)" % (_jsnum(float(v)), N - 1))
    return pos[c.astype(np.int64)]


def columns(table, energy=True):
    """The sweep records of a Table as a dict of equal-length 1-D numpy arrays (one entry per
    sweep record): chain, stage, sweep, cycle, time_s, toggles and, with energy=True, energy_total_j
    and energy_<component>_j. ``pandas.DataFrame(columns(t))`` makes a data frame."""
    out = {k: getattr(table, k) for k in ("chain", "stage", "sweep", "cycle", "time_s", "toggles")}
    if energy:
        out["energy_total_j"] = table.energy["total"]
        for k, v in table.energy.items():
            if k != "total":
                out["energy_%s_j" % k] = v
    return out


def to_records(table, energy=True):
    """The sweep records of a Table as a numpy record array (fields as in ``columns``), one row per
    sweep record: ``rows[rows.stage == 0].energy_total_j``, or ``pandas.DataFrame(rows)``."""
    cols = columns(table, energy)
    return np.rec.fromarrays(list(cols.values()), names=list(cols.keys()))


from . import model  # noqa: E402  (dtca_trace.model: model files)

"""Read dtca binary traces (format "dtca-trace", version 1) with numpy; write and read dtca model
files (``dtca_trace.model``).

Needs only numpy and msgpack (Debian: python3-numpy, python3-msgpack; run with /usr/bin/python3
where another python3 comes first on PATH). Install with ``pip install ./traces`` from a dtca
checkout, or put the ``traces`` directory on ``sys.path``.

A trace is a plain msgpack stream: a sequence of maps, each with a ``type`` key:

  header       format, version, dtca_version, created, config, model,
               layout {L, N, colour, visible, image, label, label_copies}, run {chains, stages,
               sweeps, clock_hz, mapping}, thinning {every, stages, chains, cells},
               traced_cells (cell index of each traced cell), n_traced, state_packing
  stage_begin  stage, cycle, time_s, energy_j (programming), [toggles], [cycles]
  sweep        chain, stage, sweep, cycle, time_s, toggles, n_cells, states (bit-packed),
               energy_j (this sweep's increment)
  stage_end    stage, cycle, time_s, energy_j (the stage's totals), [toggles], [cycles]
  end          cycle, time_s, cell_updates, toggles, energy_j (run totals), records, sweep_records

Every record also ends with ``crc32``: the CRC-32 (zlib) of the record's bytes up to its last four.
Typed arrays are maps {dtype, shape, data} (little-endian raw bytes); this module turns them into
numpy arrays. States: bit k of traced cell k at byte k >> 3, bit k & 7 (``bitorder='little'``),
1 = spin +1; ``unpack_states`` gives 0/1 per traced cell, ``header['traced_cells']`` maps traced
cell k to its cell index (y * L + x).

Usage (``dtca run --trace`` writes ``trace.dtct`` in its run directory, runs/<time>-<config>/)::

    import dtca_trace
    header, t = dtca_trace.load('runs/20260101-120000-dtca-paper/trace.dtct')
    t.states                                # (records, traced cells) uint8, 1 = spin +1
    rows = dtca_trace.to_records(t)         # numpy record array: chain, stage, sweep, cycle, ...
    # pandas.DataFrame(rows) or pandas.DataFrame(dtca_trace.columns(t)) for a data frame
    for rec in dtca_trace.iter_records('big.dtct'):  # streaming, for files larger than memory
        ...

A file cut short (crash, Ctrl-C) reads up to its last whole record; the iterator / table then has
``truncated = True`` and ``truncated_at`` (byte offset), and a ``TraceTruncated`` warning is issued.
A file that is not a trace, a newer format version, or damage in the middle raises ``TraceError``
(with ``offset``) after the records before the damage have been yielded.

``python -m dtca_trace FILE`` (or the ``dtca-trace`` command an install provides) prints a summary.
"""
import warnings
import zlib

import msgpack
import numpy as np

FORMAT = "dtca-trace"
VERSION = 1
CHUNK = 1 << 20
MAX_RECORD_BYTES = 256 * 1024 * 1024

__version__ = "0.1.0"

__all__ = ["load", "iter_records", "unpack_states", "decode_typed", "column_of", "columns", "to_records", "TraceError", "TraceTruncated", "Table", "model"]


class TraceError(ValueError):
    """Not a dtca trace, a newer format version, or a damaged record (``offset`` = byte offset)."""

    def __init__(self, message, offset=None):
        super().__init__(message)
        self.offset = offset


class TraceTruncated(UserWarning):
    """The file ends inside a record (a crash or Ctrl-C): everything before it was read."""


def decode_typed(d):
    """{dtype, shape, data} -> numpy array (read-only view of the bytes, little-endian)."""
    dt = np.dtype(d["dtype"]).newbyteorder("<")
    shape = tuple(int(s) for s in d["shape"])
    a = np.frombuffer(d["data"], dtype=dt)
    if a.size != int(np.prod(shape, dtype=np.int64)):
        raise ValueError("%s array of shape %s has %d bytes of data" % (d["dtype"], shape, len(d["data"])))
    return a.reshape(shape)


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


def _crc_ok(raw, rec):
    return len(raw) >= 5 and raw[-5] == 0xCE and zlib.crc32(bytes(raw[:-4])) == rec.get("crc32")


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_FIELDS = {
    "sweep": ("chain", "stage", "sweep", "cycle", "time_s", "toggles", "n_cells", "states", "energy_j"),
    "stage_begin": ("stage", "cycle", "time_s", "energy_j"),
    "stage_end": ("stage", "cycle", "time_s", "energy_j"),
    "end": ("cycle", "time_s", "cell_updates", "toggles", "energy_j"),
}


def _unpacker():
    return msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=MAX_RECORD_BYTES + 2 * CHUNK)


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
        self.bytes = 0
        self.records = 0
        self.header = None
        self._gen = self._run()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)

    def _damage(self, offset, what):
        before = "no record before it" if self.records == 0 else "the %d records before it read" % self.records
        return TraceError("%s: corrupt at byte %d (record %d): %s; %s" % (self.path, offset, self.records, what, before), offset)

    def _accept(self, obj, raw, offset):
        if self.records == 0:
            if not (isinstance(obj, dict) and obj.get("type") == "header" and obj.get("format") == FORMAT):
                raise TraceError("%s: not a dtca trace (its first record is not a header with format %r)" % (self.path, FORMAT), offset)
            v = obj.get("version")
            if not isinstance(v, int) or v < 1:
                raise self._damage(offset, "header version %r is not a format version" % (v,))
            if v > VERSION:
                raise TraceError("%s: trace format version %d is newer than this reader (version %d); use a newer dtca_trace" % (self.path, v, VERSION), offset)
        if not (isinstance(obj, dict) and isinstance(obj.get("type"), str)):
            raise self._damage(offset, "not a record (a map with a type)")
        t = obj["type"]
        if not _crc_ok(raw, obj):
            raise self._damage(offset, "%s record fails its CRC check" % t)
        if self.records == 0:
            return _restore(obj)
        if t not in _FIELDS:
            raise self._damage(offset, "unexpected record type %r" % t)
        for k in _FIELDS[t]:
            if k not in obj:
                raise self._damage(offset, "%s record lacks %s" % (t, k))
        if t == "sweep":
            s = obj["states"]
            if not _is_typed(s) or s["dtype"] != "uint8":
                raise self._damage(offset, "sweep record: states is not a uint8 array")
            obj["states"] = decode_typed(s)
            if obj["states"].size != (obj["n_cells"] + 7) >> 3:
                raise self._damage(offset, "sweep record: %d state bytes for %d cells" % (obj["states"].size, obj["n_cells"]))
        return obj

    def _run(self):
        try:
            f = open(self.path, "rb")
        except OSError as e:
            raise TraceError("%s: cannot read (%s)" % (self.path, e.strerror))
        with f:
            unp = _unpacker()
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
                    except Exception as e:  # invalid msgpack
                        if self.records == 0:
                            raise TraceError("%s: not a dtca trace (it does not decode as msgpack: %s)" % (self.path, e), base)
                        raise self._damage(base, "not valid msgpack (%s)" % e)
                    end = unp.tell()
                    rec = self._accept(obj, buf[: end - base], base)
                    del buf[: end - base]
                    base = end
                    self.records += 1
                    if rec["type"] == "header":
                        self.header = rec
                    elif rec["type"] == "end":
                        self.complete = True
                    yield rec
                if len(buf) > MAX_RECORD_BYTES:
                    raise self._damage(base, "a record longer than %d bytes (a damaged length)" % MAX_RECORD_BYTES)
                if not chunk:
                    break
            if self.records == 0 and not buf:
                raise TraceError("%s: not a dtca trace (the file is empty)" % self.path, 0)
            if buf:
                nxt = _find_record(buf)
                if nxt >= 0:
                    raise self._damage(base, "a damaged record (a whole record follows at byte %d)" % (base + nxt))
                if self.records == 0:
                    raise TraceError("%s: not a dtca trace (no whole record in %d bytes; or cut short before its header)" % (self.path, len(buf)), 0)
                self.truncated = True
                self.truncated_at = base
                warnings.warn(TraceTruncated("%s: cut short; whole records end at byte %d of %d" % (self.path, base, self.bytes)), stacklevel=3)


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
        tab.energy["total"] = np.nansum(np.array(list(tab.energy.values()), dtype=np.float64).reshape(-1, n), axis=0)
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
    tab.truncated = it.truncated
    tab.truncated_at = it.truncated_at
    tab.bytes = it.bytes
    return header, tab


def column_of(header, cells):
    """Column index in Table.states of each given cell index (-1 where the cell is not traced)."""
    pos = np.full(int(header["layout"]["N"]), -1, dtype=np.int64)
    tc = np.asarray(header["traced_cells"], dtype=np.int64)
    pos[tc] = np.arange(tc.size)
    return pos[np.asarray(cells, dtype=np.int64)]


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

"""``python -m dtca_trace TRACE`` (or ``dtca-trace TRACE`` once installed): a short summary of a
dtca trace (``dtca run --trace`` writes ``trace.dtct`` in its run directory)."""
import os
import re
import sys
import warnings

from . import TraceError, TraceTruncated, load, timeline


def _text(v):
    """A value from the file as printable text: control and direction-changing characters escaped."""
    return re.sub("[\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff]", lambda m: ascii(m.group())[1:-1], str(v))[:2000]


def summary(argv):
    if len(argv) != 2:
        print("usage: python -m dtca_trace TRACE", file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TraceTruncated)
            header, t = load(argv[1], states=False)
    except TraceError as e:
        print("dtca_trace: %s" % e, file=sys.stderr)
        return 2
    run = header["run"]
    print("format      %s v%d (dtca %s)" % (header["format"], header["version"], _text(header["dtca_version"])))
    print("grid        L=%d, %d traced cells" % (header["layout"]["L"], header["n_traced"]))
    print("run         %d chains x %d stages x %d sweeps" % (run["chains"], run["stages"], run["sweeps"]))
    tl = timeline(header)
    if tl == "arrays":
        print("time        per array: stage k's records on array k of %d, every array from cycle 0" % run["stages"])
    elif tl == "serial":
        print("time        a version 1 pipeline trace: its stage and sweep records count cycles as if one array ran the stages in turn; the end record holds the run's")
    print("sweeps      %d records" % len(t))
    if t.end is not None and t.status == "complete":
        print("energy      %.4e J (end record)" % t.end["energy_j"].get("total", float("nan")))
    if t.status == "truncated":
        status = "truncated: cut short at byte %d" % t.truncated_at
    elif t.status == "interrupted":
        at = t.interrupted["at"]
        where = ", ".join("%s %s" % (k, at[k]) for k in ("stage", "chain", "sweep") if k in at)
        status = "interrupted (%s)%s" % (_text(t.interrupted["reason"]), " at " + _text(where) if where else "")
    elif t.status == "incomplete":
        status = "incomplete: no end record"
    else:
        status = "complete"
    print("status      %s" % status)
    return 0


def main(argv=None):
    """Entry point; a closed stdout (``| head``) ends quietly."""
    try:
        code = summary(sys.argv if argv is None else argv)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    return code


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""For each trace file given, print one JSON line: the Python reader's verdict on it.

status: complete | interrupted | truncated | incomplete (read, with that status), damaged or
not-a-trace (TraceError), crash (any other exception: a reader bug). Used by the fuzz tests to
check that the Python reader loads what the TypeScript reader loads and reports the same status.
"""
import json
import os
import sys
import traceback
import warnings

# DTCA_TRACE_PY_DIR: another copy of the reader (the fuzz census compares builds)
sys.path.insert(0, os.environ.get("DTCA_TRACE_PY_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "traces"))
import dtca_trace  # noqa: E402


def verdict(path):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header, t = dtca_trace.load(path)
    except dtca_trace.TraceError as e:
        return {"status": "not-a-trace" if "not a dtca trace" in str(e) else "damaged", "detail": str(e)}
    except Exception as e:  # a reader bug
        return {"status": "crash", "detail": "%s: %s" % (type(e).__name__, traceback.format_exc().strip().splitlines()[-1])}
    status = getattr(t, "status", None)
    if status is None:
        status = "truncated" if t.truncated else "complete" if t.complete else "incomplete"
    return {"status": status, "detail": "%d sweep records" % len(t)}


for p in sys.argv[1:]:
    print(json.dumps(verdict(p)))

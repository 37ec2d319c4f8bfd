#!/usr/bin/env python3
"""For each model file given, print one JSON line: the Python reader's verdict on it.

ok: true (dtca_trace.model.read returned a model) or false with the ModelError's text in detail;
crash: any other exception (a reader bug). Used by test/model-readers.test.ts to check that the
Python reader accepts exactly what dtca's reader accepts.
"""
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "traces"))
from dtca_trace import model  # noqa: E402


def verdict(path):
    try:
        model.read(path)
    except model.ModelError as e:
        return {"ok": False, "detail": str(e)}
    except Exception as e:  # a reader bug
        return {"ok": False, "crash": True, "detail": "%s: %s" % (type(e).__name__, traceback.format_exc().strip().splitlines()[-1])}
    return {"ok": True, "detail": ""}


for p in sys.argv[1:]:
    print(json.dumps(verdict(p)))

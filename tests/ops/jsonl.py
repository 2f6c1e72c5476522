#!/usr/bin/python3
"""Check that every line of the files given is exactly one JSON object
(Python's json module, independent of yajl) and print, per line,
request_id TAB event TAB status.  Exit 1 on the first line that is not."""
import json
import sys


def main():
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            data = f.read()
        if data and not data.endswith(b"\n"):
            print("%s: last line is not whole" % path, file=sys.stderr)
            return 1
        for n, raw in enumerate(data.splitlines(), 1):
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                print("%s:%d: not JSON (%s): %r" % (path, n, e, raw[:200]),
                      file=sys.stderr)
                return 1
            if not isinstance(obj, dict):
                print("%s:%d: not an object" % (path, n), file=sys.stderr)
                return 1
            print("%s\t%s\t%s" % (obj.get("request_id"), obj.get("event"),
                                  obj.get("status")))
    return 0


sys.exit(main())

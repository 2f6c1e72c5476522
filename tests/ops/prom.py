#!/usr/bin/python3
"""Read a Prometheus text exposition on stdin with Debian's
python3-prometheus-client parser and print one line per sample:
name{label="value",...} value, labels sorted by name.  Exit 1 if the
parser refuses the text."""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    try:
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                labels = ",".join('%s="%s"' % (k, s.labels[k])
                                  for k in sorted(s.labels))
                print("%s{%s} %r" % (s.name, labels, float(s.value)))
    except Exception as e:  # the parser raises ValueError and others
        print("unparsable exposition: %s" % e, file=sys.stderr)
        return 1
    return 0


sys.exit(main())

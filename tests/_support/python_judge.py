"""Parses an exposition read from stdin with prometheus_client's own parsers
(Debian's python3-prometheus-client) and prints its families as JSON in the
shape of tests/_support/parse.ts. argv[1]: "text" or "openmetrics".

Floats are written as strings ("NaN", "Infinity", "-Infinity", or repr), so
JSON.parse keeps them exact. A parse error exits 1 with the parser's message.
"""
import json
import math
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text


def num(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


def main():
    fmt = sys.argv[1]
    data = sys.stdin.buffer.read().decode("utf-8")
    parse = parse_om if fmt == "openmetrics" else parse_text
    out = []
    try:
        for f in parse(data):
            samples = []
            for s in f.samples:
                sample = {"name": s.name, "labels": dict(s.labels), "value": num(s.value)}
                if s.timestamp is not None:
                    sample["timestamp"] = num(float(s.timestamp))
                ex = getattr(s, "exemplar", None)
                if ex is not None:
                    sample["exemplar"] = {"labels": dict(ex.labels), "value": num(ex.value)}
                    if ex.timestamp is not None:
                        sample["exemplar"]["timestamp"] = num(float(ex.timestamp))
                samples.append(sample)
            fam = {"name": f.name, "type": f.type, "help": f.documentation, "samples": samples}
            unit = getattr(f, "unit", "")
            if unit:
                fam["unit"] = unit
            out.append(fam)
    except Exception as e:  # the parser's verdict, for the test's message
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump(out, sys.stdout)


main()

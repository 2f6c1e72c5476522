#!/usr/bin/python3
"""tests/openapi_check.py - check recorded responses against doc/openapi.yaml.

usage: openapi_check.py OPENAPI.yaml RESPONSES.jsonl

RESPONSES.jsonl is what tests/http.c appends with MG_TEST_RECORD=FILE: one
JSON object a line with the base URL, method, request target, status,
header fields and the body in base64.  Each response is matched to the
operation of doc/openapi.yaml its method and path name (any prefix before
the path template is the base path), or to x-mediagate-other-methods of
its path item for another method, or to the root's x-mediagate-unmatched
for a path that matches no template; the root's x-mediagate-any-request
adds the answers any request may get from a deployment (redirects).  Then, with a real JSON Schema
validator (python3-jsonschema, draft 2020-12, the dialect of OpenAPI 3.1):

  - the status must be one documented there;
  - the Content-Type (without parameters) must be one of that response's
    media types (or match a documented range such as */*), and a response
    without content must have no body;
  - a JSON body must parse and validate against the media type's schema;
    any other body validates as a string (HEAD: no body check);
  - every header field the response documents as required must be there,
    and every documented field present must validate against its schema.

Prints one line per failure, then a summary; exits 1 on any failure, 2
when the files cannot be read.  Uses Debian's python3-jsonschema and
python3-yaml: run it with /usr/bin/python3.
"""

import base64
import collections
import json
import re
import sys

import jsonschema
import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
           "trace")


def resolve(doc, node):
    """node with a $ref (to within doc) followed, repeatedly."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError("only local references are supported: " + ref)
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def template_regex(template):
    """A path template as a regex: any base path before it, each {param}
    one non-empty segment."""
    out = ""
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{"):
            out += "[^/]+"
        else:
            out += re.escape(piece)
    return re.compile("^(?:/[^/]*)*?" + out + "$")


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.resolver = jsonschema.RefResolver.from_schema(doc)
        self.formats = jsonschema.Draft202012Validator.FORMAT_CHECKER
        self.paths = [(template_regex(t), t, item)
                      for t, item in doc.get("paths", {}).items()]

    def responses_for(self, method, path):
        """(label, responses object) for this method and path."""
        for rx, template, item in self.paths:
            if not rx.match(path):
                continue
            op = item.get(method.lower())
            if method.lower() in METHODS and op is not None:
                return (op.get("operationId", method + " " + template),
                        op["responses"])
            other = item.get("x-mediagate-other-methods", {})
            return (method + " " + template + " (other method)",
                    other.get("responses", {}))
        return ("unmatched path",
                self.doc.get("x-mediagate-unmatched", {})
                .get("responses", {}))

    def validate(self, schema, value):
        """Error messages of value against schema (in the document)."""
        v = jsonschema.Draft202012Validator(schema, resolver=self.resolver,
                                            format_checker=self.formats)
        return ["%s at %s" % (e.message, "/".join(map(str, e.path)) or "/")
                for e in v.iter_errors(value)]

    def check(self, rec):
        """Failure messages for one recorded response."""
        errs = []
        method = rec["method"]
        path = rec["target"].split("?", 1)[0]
        status = str(rec["status"])
        label, responses = self.responses_for(method, path)
        anyreq = self.doc.get("x-mediagate-any-request", {}).get(
            "responses", {})
        resp = None
        for table in (responses, anyreq):
            resp = table.get(status, table.get(status[0] + "XX"))
            if resp is not None:
                break
        if resp is None:
            return label, ["status %s is not documented (documented: %s)"
                           % (status, ", ".join(sorted(responses)) or
                              "none")]
        resp = resolve(self.doc, resp)
        fields = collections.defaultdict(list)
        for name, value in rec["headers"]:
            fields[name.lower()].append(value)

        for name, hdr in resp.get("headers", {}).items():
            hdr = resolve(self.doc, hdr)
            values = fields.get(name.lower(), [])
            if not values:
                if hdr.get("required"):
                    errs.append("required header %s is missing" % name)
                continue
            for value in values:
                for e in self.validate(hdr.get("schema", {}), value):
                    errs.append("header %s: %r: %s" % (name, value, e))

        body = base64.b64decode(rec["body_b64"])
        ctype = (fields.get("content-type") or [""])[0]
        mtype = ctype.split(";", 1)[0].strip().lower()
        content = resp.get("content")
        if not content:
            if rec["body_len"] and method != "HEAD":
                errs.append("a body where none is documented")
            return label, errs
        if not ctype and not rec["body_len"]:
            return label, errs      # no body, nothing to type
        media = None
        for key in (mtype, mtype.split("/", 1)[0] + "/*", "*/*"):
            if key in content:
                media = content[key]
                break
        if media is None:
            errs.append("Content-Type %r is not documented (documented: %s)"
                        % (ctype, ", ".join(content)))
            return label, errs
        if method == "HEAD":
            return label, errs
        if rec["body_len"] > len(body):
            return label, errs      # a large file, recorded in part
        schema = media.get("schema", {})
        if mtype == "application/json" or mtype.endswith("+json"):
            try:
                value = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                errs.append("body is not JSON: %s" % e)
                return label, errs
        else:
            value = body.decode("utf-8", errors="replace")
        errs.extend("body: " + e for e in self.validate(schema, value))
        return label, errs


def main(argv):
    if len(argv) != 3:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        with open(argv[2], encoding="utf-8") as f:
            records = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError, yaml.YAMLError) as e:
        print("openapi: %s" % e, file=sys.stderr)
        return 2
    checker = Checker(doc)
    failed = 0
    seen = collections.Counter()
    for rec in records:
        label, errs = checker.check(rec)
        seen[(label, rec["status"])] += 1
        if errs:
            failed += 1
            print("openapi: %s %s -> %d (%s): %s" % (
                rec["method"], rec["target"][:120], rec["status"], label,
                "; ".join(errs)))
    print("openapi: %d responses checked against %s, %d failed; by "
          "operation and status: %s" % (
              len(records), argv[1], failed,
              ", ".join("%s %s x%d" % (k[0], k[1], n)
                        for k, n in sorted(seen.items(), key=str))))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

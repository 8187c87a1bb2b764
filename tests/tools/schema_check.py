#!/usr/bin/python3
"""schema_check.py -- check plans against `faultline schema` with a real validator
(Debian's python3-jsonschema, draft 2020-12).

  schema_check.py SCHEMA.json --valid PLAN... --invalid PLAN... --semantic LIST

Every --valid plan must pass; every --invalid plan must fail (or not even be YAML), except
those named in LIST (one file name a line, '#' comments): mistakes only `faultline validate`
can see (a name used across the plan, a timing rule), which the schema must then accept, so
the list shrinks when the schema learns more. Prints one line per plan and a summary; exit 1
on any surprise."""
import json
import os
import sys

import jsonschema
import yaml


def main(argv):
    schema = json.load(open(argv[1]))
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    mode, valid, invalid, semantic_list = None, [], [], None
    for a in argv[2:]:
        if a in ("--valid", "--invalid", "--semantic"):
            mode = a
        elif mode == "--valid":
            valid.append(a)
        elif mode == "--invalid":
            invalid.append(a)
        elif mode == "--semantic":
            semantic_list = a
    semantic = set()
    if semantic_list:
        for line in open(semantic_list):
            line = line.split("#")[0].strip()
            if line:
                semantic.add(line)
    bad = 0
    rejected = 0
    for path in valid + invalid:
        try:
            doc = yaml.safe_load(open(path))
            errs = list(v.iter_errors(doc))
            why = errs[0].message[:120] if errs else ""
        except yaml.YAMLError as e:
            errs, why = ["yaml"], "not YAML: %s" % str(e).splitlines()[0]
        name = os.path.basename(path)
        if path in valid:
            ok = not errs
        elif name in semantic:
            ok = not errs
            why = why or "accepted (a mistake only faultline validate sees)"
        else:
            ok = bool(errs)
            rejected += ok
        print("%s %s: %s" % ("ok  " if ok else "FAIL", path, why or "valid"))
        bad += not ok
    print("schema_check: %d valid plans accepted, %d of %d broken plans rejected, %d left to validate, %d surprises"
          % (len(valid), rejected, len(invalid) - len([p for p in invalid if os.path.basename(p) in semantic]),
             len(semantic), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Validates recorded plugin payloads against docs/schemas.

Usage: validate_payloads.py SCHEMA_DIR PAYLOAD_DIR
Each payload file is named <schema>--<anything>.json. Prints one line per
payload that does not validate (file, JSON path, reason) and exits 1 if any
does; prints "N passed, 0 failed" otherwise.
"""
import json
import pathlib
import sys

import jsonschema
from referencing import Registry, Resource


def main():
    schemas, payloads = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    resources = []
    for path in sorted(schemas.glob("*.schema.json")):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    failed = passed = 0
    for path in sorted(payloads.glob("*.json")):
        name = path.name.split("--", 1)[0]
        validator = jsonschema.Draft202012Validator({"$ref": f"urn:scion:plugin:{name}"}, registry=registry)
        try:
            instance = json.loads(path.read_bytes())
        except ValueError as error:
            print(f"{path.name}: not JSON: {error}")
            failed += 1
            continue
        errors = list(validator.iter_errors(instance))
        for error in errors:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".") or "(payload)"
            print(f"{path.name}: {where}: {error.message}")
        failed += bool(errors)
        passed += not errors
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Regenerates src/sim/openapi/definitions.json.gz: the schema definitions of Kubernetes'
built-in kinds that `kubectl explain` reads, for every minor from 1.25, from which the
emulator serves /openapi/v3 (src/sim/openapi.rs).

Source: the PyPI package kubernetes-validate (Apache License 2.0; its schemas are the
Kubernetes API's OpenAPI definitions, published by the Kubernetes project under the Apache
License 2.0, converted to JSON Schema). Each release's `vX.Y.0-local/_definitions.json` is
read. Kept: what explain shows (description, type, format, properties, items,
additionalProperties, required, enum, x-kubernetes-group-version-kind); the converter's
additions are undone (the `null` in every type, the one-value enum of apiVersion and kind) and
references point to `#/components/schemas/` as in the API server's OpenAPI v3 documents.

Each definition is stored once per run of minors in which it is the same:
{"NAME": [{"from": 25, "to": 37, "schema": {...}}, ...]}.

Usage: python3 src/sim/openapi/vendor.py [VERSION]  (default 1.37.0; needs pip)
"""

import gzip
import io
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import zipfile

KEEP = {
    "description", "type", "format", "properties", "items", "additionalProperties",
    "required", "enum", "$ref", "x-kubernetes-group-version-kind",
}


def clean(schema):
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key not in KEEP:
            continue
        if key == "type" and isinstance(value, list):
            value = [t for t in value if t != "null"]
            value = value[0] if len(value) == 1 else value
        elif key == "$ref":
            value = value.replace("#/$defs/", "#/components/schemas/")
        elif key == "properties":
            value = {name: clean(p) for name, p in value.items()}
        elif key in ("items", "additionalProperties"):
            value = clean(value)
        out[key] = value
    for field in ("apiVersion", "kind"):
        prop = out.get("properties", {}).get(field)
        if prop and len(prop.get("enum", [])) == 1:
            del prop["enum"]
    return out


def main():
    version = sys.argv[1] if len(sys.argv) > 1 else "1.37.0"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
             f"kubernetes-validate=={version}"],
            check=True,
        )
        wheel = next(pathlib.Path(tmp).glob("*.whl"))
        runs = {}
        with zipfile.ZipFile(wheel) as z:
            found = {}
            for name in z.namelist():
                m = re.search(r"/v1\.(\d+)\.0-local/_definitions\.json$", name)
                if m:
                    found[int(m.group(1))] = name
            for minor in sorted(found):
                defs = json.load(io.BytesIO(z.read(found[minor])))["$defs"]
                for name, schema in defs.items():
                    text = json.dumps(clean(schema), sort_keys=True)
                    r = runs.setdefault(name, [])
                    if r and r[-1][2] == text and r[-1][1] == minor - 1:
                        r[-1][1] = minor
                    else:
                        r.append([minor, minor, text])
    out = {
        name: [{"from": a, "to": b, "schema": json.loads(t)} for a, b, t in r]
        for name, r in sorted(runs.items())
    }
    raw = json.dumps(out, separators=(",", ":"), sort_keys=True).encode()
    dest = pathlib.Path(__file__).with_name("definitions.json.gz")
    # mtime=0: the same input gives the same bytes.
    with open(dest, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0) as g:
        g.write(raw)
    print(f"{dest}: {len(out)} definitions, minors {min(found)}-{max(found)}, "
          f"{dest.stat().st_size} bytes ({len(raw)} uncompressed)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Regenerates src/sim/openapi/definitions.json.gz: the schema definitions of Kubernetes'
built-in kinds that `kubectl explain` reads, for every minor from 1.19, from which the
emulator serves /openapi/v2 and /openapi/v3 (src/sim/openapi.rs, src/sim/openapi/v2.rs).

Source: the PyPI package kubernetes-validate (Apache License 2.0; its schemas are the
Kubernetes API's OpenAPI definitions, published by the Kubernetes project under the Apache
License 2.0, converted to JSON Schema). Each release's `vX.Y.0-local/_definitions.json` is
read; a release carries the minors of its last few years only, so each minor is taken from
the newest of the given releases that has it (1.37.0: 1.25-1.37, 1.33.1: 1.22-1.24, 1.28.3:
1.20-1.21, 1.27.1: 1.19; older releases are source archives, not wheels). Kept: what explain
shows (description, type, format, properties, items, additionalProperties, required, enum,
x-kubernetes-group-version-kind) and what a client's strategic merge patch reads (the
x-kubernetes-patch-* and list/map extensions); the converter's changes are undone (the `null`
in every type, the one-value enum of apiVersion and kind, the `oneOf` it writes for the two
types whose Go OpenAPISchemaType is "string": IntOrString, format int-or-string, and Quantity)
and references point to `#/components/schemas/` as in the API server's OpenAPI v3 documents.

Each definition is stored once per run of minors in which it is the same:
{"NAME": [{"from": 19, "to": 37, "schema": {...}}, ...]}.

Usage: python3 src/sim/openapi/vendor.py [VERSION ...]
       (default 1.37.0 1.33.1 1.28.3 1.27.1, newest first; needs pip)
"""

import gzip
import io
import json
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile

# The oldest minor vendored.
FIRST_MINOR = 19

KEEP = {
    "description", "type", "format", "properties", "items", "additionalProperties",
    "required", "enum", "$ref", "x-kubernetes-group-version-kind",
    "x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy", "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
}

# The definitions apimachinery gives an OpenAPISchemaType of "string" (and a format), which the
# converter turned into a `oneOf`: what the API server publishes for them instead.
STRING_TYPED = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
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
            value = re.sub(r"^#/(\$defs|definitions)/", "#/components/schemas/", value)
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


def definition_files(version, tmp):
    """{minor: (path inside the archive, reader)} of one kubernetes-validate release."""
    dest = pathlib.Path(tmp) / version
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q",
         "-d", str(dest), f"kubernetes-validate=={version}"],
        check=True,
    )
    archive = next(dest.iterdir())
    if archive.suffix == ".whl":
        z = zipfile.ZipFile(archive)
        names, read = z.namelist(), z.read
    else:
        t = tarfile.open(archive)
        names, read = t.getnames(), (lambda n: t.extractfile(n).read())
    found = {}
    for name in names:
        m = re.search(r"/v1\.(\d+)\.0-local/_definitions\.json$", name)
        if m:
            found[int(m.group(1))] = (name, read)
    return found


def main():
    versions = sys.argv[1:] or ["1.37.0", "1.33.1", "1.28.3", "1.27.1"]
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        found = {}
        for version in versions:
            for minor, where in definition_files(version, tmp).items():
                if minor >= FIRST_MINOR:
                    found.setdefault(minor, where)
        for minor in sorted(found):
            name, read = found[minor]
            doc = json.load(io.BytesIO(read(name)))
            defs = doc.get("$defs") or doc["definitions"]
            for name, schema in defs.items():
                cleaned = clean(schema)
                if name in STRING_TYPED:
                    cleaned = {k: v for k, v in cleaned.items() if k == "description"}
                    cleaned.update(STRING_TYPED[name])
                text = json.dumps(cleaned, sort_keys=True)
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

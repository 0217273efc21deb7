"""Which files and documents Checkov's Kubernetes framework reads, and why it drops the others.

Run by compare.py with the Python of the Checkov virtualenv (it imports Checkov's own parser,
so the answer is Checkov's, not a re-implementation):

    /path/to/checkov-venv/bin/python checkov_files.py DIR > files.json

Checkov drops input without saying so in its report: files in hidden or ignored directories,
files it cannot load (a YAML error, Helm template syntax, no `apiVersion`/`kind` text),
and single documents its validator refuses (a `name` anywhere in the document holding `#`,
`{` or `}`, or one that is not a string) or that have no usable `metadata`. This walks DIR the
way `checkov -d DIR --framework kubernetes` does and prints, for every `.yaml`/`.yml`/`.json`
file, whether Checkov reads it, the objects it gets from it, and each document it drops with
the reason.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from checkov.common.runners import base_runner
from checkov.kubernetes import kubernetes_utils as ku
from checkov.kubernetes.parser import k8_json, k8_yaml
from checkov.kubernetes.parser.validatior import K8sValidator
from yaml import YAMLError

HELM_PATTERNS = (r"\{\{-?\s*\.Release\.", r"\{\{-?\s*\.Values\.")


def describe(doc: object) -> dict:
    if not isinstance(doc, dict):
        return {"kind": None, "namespace": None, "name": None, "generateName": None}
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}

    def text(v: object) -> str | None:
        return v if isinstance(v, str) else (None if v is None else str(v))

    return {
        "kind": text(doc.get("kind")),
        "namespace": text(meta.get("namespace")),
        "name": text(meta.get("name")),
        "generateName": text(meta.get("generateName")),
    }


def plain(v: object) -> object:
    """The document as JSON, without the line markers Checkov's loader adds."""
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items() if k not in ("__startline__", "__endline__")}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def unread_reason(path: Path) -> str:
    """Why Checkov's parser returned nothing for a file (it logs this at debug level only)."""
    import re

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        return f"unreadable: {e}"
    if not ("apiVersion" in text and "kind" in text):
        return "no `apiVersion`/`kind` text in the file"
    if path.suffix in (".yaml", ".yml"):
        for pat in HELM_PATTERNS:
            if re.search(pat, text):
                return "Helm template syntax (`{{ .Values.` / `{{ .Release.`): whole file skipped"
        try:
            k8_yaml.loads(text)
        except YAMLError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            return f"PyYAML cannot load it ({first})"
        return "holds no document (empty, or comments only)"
    return "JSON not loadable by Checkov's parser"


def file_report(path: Path) -> dict:
    name = str(path)
    try:
        if name.endswith((".yaml", ".yml")):
            template, _lines = k8_yaml.load(path)
        else:
            template, _lines = k8_json.load(path)
    except (YAMLError, UnicodeDecodeError, TypeError, ValueError, OSError) as e:
        return {"read": False, "reason": unread_reason(path) + f" [{type(e).__name__}]",
                "objects": [], "dropped": []}
    if not template or not isinstance(template, list) or template == [{}]:
        return {"read": False, "reason": unread_reason(path), "objects": [], "dropped": []}
    objects: list[dict] = []
    dropped: list[dict] = []
    valid: list[tuple[int, dict]] = []
    for i, doc in enumerate(template):
        ok, why = K8sValidator.is_valid_template(doc)
        if ok:
            valid.append((i, doc))
        elif doc:  # an empty document (`---` at the end) is nothing to drop
            dropped.append({"doc": i, **describe(doc), "reason": f"validator: {why}"})
    spread: list[tuple[int, dict]] = []
    for i, doc in valid:
        if doc.get("kind") == "List":
            items = doc.get("items") or []
            spread.extend((i, item) for item in items if item)
        else:
            spread.append((i, doc))
    for i, doc in spread:
        if ku.is_invalid_k8_definition(doc):
            dropped.append({"doc": i, **describe(doc),
                            "reason": "no apiVersion/kind, or metadata is not a mapping"})
            continue
        rid = ku.get_resource_id(doc)
        if not rid:
            dropped.append({"doc": i, **describe(doc), "reason": "neither metadata.name nor labels"})
            continue
        objects.append({"doc": i, "id": rid, **describe(doc), "body": plain(doc)})
    why_none = "no document Checkov keeps"
    if not objects and dropped:
        why_none += " (" + "; ".join(sorted({d["reason"] for d in dropped})) + ")"
    return {"read": bool(objects), "reason": None if objects else why_none,
            "objects": objects, "dropped": dropped}


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    out: dict[str, dict] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fname in sorted(filenames):
            if os.path.splitext(fname)[1] not in ku.K8_POSSIBLE_ENDINGS:
                continue
            full = Path(dirpath) / fname
            rel = full.relative_to(root).as_posix()
            parts = rel.split("/")
            if any(p in base_runner.ignored_directories for p in parts[:-1]):
                out[rel] = {"read": False, "reason": "directory Checkov ignores (CKV_IGNORED_DIRECTORIES)",
                            "objects": [], "dropped": []}
            elif any(p.startswith(".") for p in parts[:-1]):
                out[rel] = {"read": False, "reason": "in a hidden directory (Checkov skips them)",
                            "objects": [], "dropped": []}
            elif fname.startswith(".") and base_runner.IGNORE_HIDDEN_DIRECTORY_ENV:
                out[rel] = {"read": False, "reason": "hidden file (Checkov skips it)",
                            "objects": [], "dropped": []}
            elif fname in ku.EXCLUDED_FILE_NAMES:
                out[rel] = {"read": False, "reason": "file name Checkov excludes",
                            "objects": [], "dropped": []}
            elif full.is_symlink():
                out[rel] = file_report(full)
                out[rel]["symlink"] = os.readlink(full)
            else:
                out[rel] = file_report(full)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()

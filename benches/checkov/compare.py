#!/usr/bin/env python3
"""Compare pushguard's built-in manifest rules with Checkov's Kubernetes checks on real repositories.

Both tools judge the same checked-out trees. pushguard judges each tree as the first commit of a
new `refs/heads/main` (every file added, `judge = "all"`, policy `policy.toml` beside this
script); Checkov runs `checkov -d DIR --framework kubernetes --skip-download -o json`. For each
mapped pair (pushguard rule, Checkov check) and each object (file, kind, namespace, name), the
script records whether each tool flags it, prints the tables, lists every disagreement with
the reason it can establish from the data, and times both tools (wall clock, median of
`--runs`).

It fetches nothing: give it directories holding the checked-out trees.

    python3 compare.py --pushguard /path/to/pushguard --checkov /path/to/venv/bin/checkov \\
        --work /tmp/checkov-run --repos repos.json --out result.json

`repos.json` maps a name to a directory, or to {"dir": ..., "source": ..., "commit": ...,
"git_dir": ...}: source and commit are recorded; with git_dir (a clone holding `commit`),
pushguard is also timed over the whole history up to `commit`, and with
`--history-checkov NAME` Checkov once per commit of it. `NAME=DIR` arguments work too.

The Checkov venv's Python (found beside the `checkov` script, or `--checkov-python`) runs
`checkov_files.py` to say which files and documents Checkov dropped, and hands over the objects
it read, from which the script derives the reason for most disagreements. For the others,
`explanations.json` (optional, beside this script) holds a list of
{"repo", "path" (glob), "object" (glob, `Kind ns/name`), "check", "side" ("only_checkov" or
"only_pushguard"), "cause", "reason"}; an entry that matches no disagreement is reported as
stale, a disagreement without a reason as unexplained.

Checkov's version is pinned (CHECKOV_VERSION, requirements.lock holds the whole venv);
another version is refused unless --allow-other-checkov. Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKOV_VERSION = "3.3.30"

# (pushguard rule, Checkov check, facet): the facet is a text of pushguard's finding message
# that selects the part of a broader rule the check tests (None: the whole rule).
MAPPING: list[tuple[str, str, str | None]] = [
    ("privileged", "CKV_K8S_16", None),
    ("privilege-escalation", "CKV_K8S_20", None),
    ("host-namespaces", "CKV_K8S_17", "hostPID"),
    ("host-namespaces", "CKV_K8S_18", "hostIPC"),
    ("host-namespaces", "CKV_K8S_19", "hostNetwork"),
    ("sensitive-host-mounts", "CKV_K8S_27", "docker.sock"),
    ("host-ports", "CKV_K8S_26", None),
    ("dangerous-capabilities", "CKV_K8S_25", None),
    ("dangerous-capabilities", "CKV_K8S_39", "SYS_ADMIN"),
    ("run-as-root", "CKV_K8S_23", None),
    ("seccomp-unconfined", "CKV_K8S_31", None),
    ("image-latest", "CKV_K8S_14", None),
    ("image-digest", "CKV_K8S_43", None),
    ("rbac-wildcards", "CKV_K8S_49", None),
    ("rbac-escalation", "CKV_K8S_155", "admission webhooks"),
    ("rbac-escalation", "CKV_K8S_156", "certificate signing"),
    ("rbac-escalation", "CKV_K8S_157", "`bind`"),
    ("rbac-escalation", "CKV_K8S_158", "`escalate`"),
    ("ingress-snippets", "CKV_K8S_153", None),
]

# Checks whose failure means a workload or role that can take over a node or the cluster:
# an object Checkov fails on one of these and pushguard does not flag is a dangerous miss.
DANGEROUS = {
    "CKV_K8S_16", "CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19", "CKV_K8S_27", "CKV_K8S_39",
    "CKV_K8S_49", "CKV_K8S_153", "CKV_K8S_155", "CKV_K8S_156", "CKV_K8S_157", "CKV_K8S_158",
}

RULES = sorted({r for r, _, _ in MAPPING})
REFUSING = ("manifest-parse", "manifest-limits", "manifest-symlink")


# dangerous-capabilities' list (docs/rules.md), to say why an added capability is not flagged
DANGEROUS_CAPS = {"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "SYS_RAWIO", "SYS_BOOT",
                  "SYS_TIME", "DAC_READ_SEARCH", "BPF", "PERFMON", "NET_RAW", "MAC_ADMIN"}
POD_CHECKS = {"CKV_K8S_16", "CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19", "CKV_K8S_20", "CKV_K8S_23",
              "CKV_K8S_25", "CKV_K8S_26", "CKV_K8S_27", "CKV_K8S_31", "CKV_K8S_39", "CKV_K8S_14",
              "CKV_K8S_43"}


def dig(d: object, *path: str) -> object:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def pod_template(doc: dict) -> tuple[str, dict | None, dict | None]:
    """(where, pod spec, pod metadata) as the kind holds them; the spec is None when absent."""
    kind = doc.get("kind")
    if kind == "Pod":
        return "spec", dig(doc, "spec") if isinstance(dig(doc, "spec"), dict) else None, doc.get("metadata")
    if kind == "CronJob":
        t = dig(doc, "spec", "jobTemplate", "spec", "template")
        where = "spec.jobTemplate.spec.template.spec"
    elif kind == "PodTemplate":
        t = dig(doc, "template")
        where = "template.spec"
    else:
        t = dig(doc, "spec", "template")
        where = "spec.template.spec"
    spec = dig(t, "spec")
    return where, spec if isinstance(spec, dict) else None, dig(t, "metadata")


def containers(spec: dict) -> list[tuple[str, dict]]:
    out = []
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(field) or []:
            if isinstance(c, dict):
                out.append((field, c))
    return out


def seccomp_profiles(spec: dict, meta: dict | None, doc: dict) -> list[tuple[str, str]]:
    found = []
    t = dig(spec, "securityContext", "seccompProfile", "type")
    if t is not None:
        found.append(("pod", str(t)))
    for field, c in containers(spec):
        t = dig(c, "securityContext", "seccompProfile", "type")
        if t is not None:
            found.append((f"{field} {c.get('name')}", str(t)))
    for m in (meta, doc.get("metadata")):
        for k, v in (dig(m, "annotations") or {}).items() if isinstance(dig(m, "annotations"), dict) else []:
            if "seccomp.security.alpha.kubernetes.io" in k:
                found.append((f"annotation {k}", str(v)))
    return found


DESIGN = "the rules differ by design"
UNREAD = "Checkov did not read the object"
LIMIT = "the Checkov check reads less of the object"
INVALID = "an object the API server refuses"
REFUSED = "pushguard refused the whole file"
ANNOTATED = "a Checkov skip annotation"
KIND = "the check does not cover the kind"


def data_reason(check: str, side: str, doc: dict | None, findings: list[dict]) -> tuple[str, str] | None:
    """(cause, reason) for a disagreement that the object itself shows, or None."""
    if doc is None:
        return None
    kind = doc.get("kind")
    if check in POD_CHECKS and kind not in ("Role", "ClusterRole", "Ingress"):
        where, spec, meta = pod_template(doc)
        if spec is None:
            return (INVALID, f"{kind} (apiVersion {doc.get('apiVersion')}) has no pod spec at {where}: the API "
                    f"server refuses it; Checkov finds containers elsewhere, pushguard judges no pod spec "
                    f"(nothing runs: neither is wrong in effect)")
        ctrs = containers(spec)
        if side == "only_checkov" and check == "CKV_K8S_25":
            caps = sorted({str(x) for _, c in ctrs for x in (dig(c, "securityContext", "capabilities", "add") or [])})
            norm = {c.upper().removeprefix("CAP_") for c in caps}
            if caps and not norm & DANGEROUS_CAPS:
                return (DESIGN, f"adds only {', '.join(caps)}: CKV_K8S_25 fails any added capability, "
                        f"dangerous-capabilities flags only those that break isolation (none here)")
        if check == "CKV_K8S_31":
            profiles = seccomp_profiles(spec, meta, doc)
            unconfined = [(w, v) for w, v in profiles if v.lower() == "unconfined"]
            if side == "only_checkov" and not unconfined:
                what = ("sets no seccomp profile" if not profiles else
                        "sets " + ", ".join(f"{v} ({w})" for w, v in profiles))
                return (DESIGN, f"{what}, none Unconfined: CKV_K8S_31 demands RuntimeDefault, "
                        f"seccomp-unconfined flags only an explicit Unconfined")
            pod_level = dig(spec, "securityContext", "seccompProfile", "type")
            if side == "only_pushguard" and unconfined and pod_level == "RuntimeDefault":
                return (LIMIT, f"{', '.join(w for w, _ in unconfined)} sets Unconfined over the pod's "
                        f"RuntimeDefault; CKV_K8S_31 stops at the pod-level profile (pushguard right)")
        if side == "only_checkov" and check in ("CKV_K8S_14", "CKV_K8S_43"):
            missing = [f for f, c in ctrs if f != "ephemeralContainers" and not isinstance(c.get("image"), str)]
            if missing:
                return (INVALID, f"{len(missing)} container(s) without an image: the API server refuses the "
                        f"object (image is required); Checkov counts a missing image as unpinned, "
                        f"pushguard's image rules judge the images there are (nothing runs)")
        if side == "only_pushguard" and findings:
            flagged = {x.get("container") for x in findings}
            eph = {c.get("name") for f, c in ctrs if f == "ephemeralContainers"}
            init = {c.get("name") for f, c in ctrs if f == "initContainers"}
            if flagged and flagged <= eph:
                return (LIMIT, f"pushguard flags ephemeral container(s) {', '.join(sorted(map(str, flagged)))}; "
                        f"Checkov reads only containers and initContainers (pushguard right)")
            if check == "CKV_K8S_23" and flagged and flagged <= eph | init:
                return (LIMIT, f"pushguard flags init container(s) {', '.join(sorted(map(str, flagged)))}; "
                        f"CKV_K8S_23 reads only spec containers (pushguard right)")
    if check == "CKV_K8S_49" and kind in ("Role", "ClusterRole"):
        rules = doc.get("rules") if isinstance(doc.get("rules"), list) else []
        star = [i for i, r in enumerate(rules) if isinstance(r, dict) and any(
            "*" in (r.get(k) or []) for k in ("apiGroups", "resources", "verbs"))]
        if side == "only_pushguard" and star and star[0] > 0:
            return (LIMIT, f"the `*` is in rule {star[0] + 1} of {len(rules)}: CKV_K8S_49 reads only the "
                    f"first rule (pushguard right)")
    return None


def run_timed(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    cp = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    return time.perf_counter() - t0, cp


def git(args: list[str], env: dict | None = None, cwd: Path | None = None) -> str:
    cp = subprocess.run(["git", *args], capture_output=True, text=True, env=env, cwd=cwd)
    if cp.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {cp.stderr.strip()}")
    return cp.stdout.strip()


def snapshot(src: Path, gitdir: Path) -> str:
    """A one-commit repository holding exactly the files of `src` (fixed identity and date, so
    the same tree gives the same commit id anywhere)."""
    if gitdir.exists():
        shutil.rmtree(gitdir)
    git(["init", "-q", "--bare", "-b", "main", str(gitdir)])
    env = dict(os.environ,
               GIT_DIR=str(gitdir), GIT_WORK_TREE=str(src), GIT_INDEX_FILE=str(gitdir / "snap.index"),
               GIT_AUTHOR_NAME="checkov-compare", GIT_AUTHOR_EMAIL="compare@example.com",
               GIT_COMMITTER_NAME="checkov-compare", GIT_COMMITTER_EMAIL="compare@example.com",
               GIT_AUTHOR_DATE="2026-01-01T00:00:00Z", GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
    git(["-c", "core.autocrlf=false", "-c", "core.safecrlf=false", "add", "-A", "-f", "."], env=env, cwd=src)
    tree = git(["write-tree"], env=env)
    commit = git(["commit-tree", tree, "-m", f"snapshot of {src.name}"], env=env)
    return commit


def parse_pg_object(obj: str) -> tuple[str, str, str, str | None]:
    """`Kind ns/name (rendered by …)` -> (kind, namespace or "default", name, origin)."""
    origin = None
    for marker in (" (rendered by ", " (applied by "):
        if marker in obj:
            obj, rest = obj.split(marker, 1)
            origin = marker.strip(" (") + " " + rest.rstrip(")")
            break
    kind, _, ident = obj.partition(" ")
    ns, _, name = ident.rpartition("/")
    return kind, ns or "default", name, origin


def parse_ck_resource(res: str) -> tuple[str, str, str]:
    kind, _, rest = res.partition(".")
    ns, _, name = rest.partition(".")
    return kind, ns, name


def load_checkov_json(text: str) -> list[dict]:
    data = json.loads(text)
    if isinstance(data, dict) and "check_type" not in data and "resource_count" in data:
        # no check applied to anything: Checkov prints only its summary
        return [{"check_type": "kubernetes", "results": {}, "summary": data}]
    reports = data if isinstance(data, list) else [data]
    return [r for r in reports if r.get("check_type") == "kubernetes"]


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f}%" if b else "n/a"


def history(name: str, spec: dict, args: argparse.Namespace, work: Path) -> dict:
    """pushguard over the whole history of `spec["git_dir"]` up to `spec["commit"]` (every commit
    judged as a hook judges a push creating the branch, `judge = "changes"`); with
    --history-checkov, Checkov once per commit on the manifest files it adds or modifies."""
    src_git = Path(git(["--git-dir", spec["git_dir"], "rev-parse", "--absolute-git-dir"]))
    tip = git(["--git-dir", str(src_git), "rev-parse", spec.get("commit") or "HEAD"])
    hist = work / "history.git"
    if hist.exists():
        shutil.rmtree(hist)
    git(["init", "-q", "--bare", str(hist)])
    (hist / "objects" / "info").mkdir(parents=True, exist_ok=True)
    (hist / "objects" / "info" / "alternates").write_text(str(src_git / "objects") + "\n")
    policy = work / "policy-history.toml"
    text = Path(args.policy).read_text()
    if 'judge = "all"' not in text:
        raise SystemExit("policy.toml: expected a line judge = \"all\" to turn into \"changes\" for the history")
    policy.write_text(text.replace('judge = "all"', 'judge = "changes"'))
    cmd = [args.pushguard, "check", "--policy", str(policy), "--repo", str(hist),
           "--ref", "refs/heads/main", tip, "--format", "json"]
    env = dict(os.environ, PUSHGUARD_NO_CACHE="1")
    times, out, loads = [], None, []
    for _ in range(args.runs):
        shutil.rmtree(hist / "pushguard", ignore_errors=True)
        loads.append(os.getloadavg()[0])
        dt, cp = run_timed(cmd, env=env)
        if cp.returncode not in (0, 1):
            raise SystemExit(f"pushguard failed on the history of {name}: {cp.stderr}")
        times.append(dt)
        out = cp.stdout
    pg = json.loads(out)
    commits = sum(len(u.get("commits") or []) for u in pg["updates"])
    res = {"tip": tip, "commits": commits, "pushguard": {"seconds": times, "median": median(times),
           "violations": len(pg["violations"]), "load1": loads}}
    if name in args.history_checkov or "all" in args.history_checkov:
        revs = git(["--git-dir", str(src_git), "rev-list", "--reverse", tip]).split()
        tmp = work / "history-checkout"
        total, ran, skipped, ck_loads = 0.0, 0, 0, []
        for c in revs:
            parents = git(["--git-dir", str(src_git), "rev-list", "--parents", "-n", "1", c]).split()[1:]
            if parents:
                names = git(["--git-dir", str(src_git), "diff", "--name-only", "--no-renames",
                             "--diff-filter=AM", "-z", parents[0], c]).split("\0")
            else:
                names = git(["--git-dir", str(src_git), "ls-tree", "-r", "--name-only", "-z", c]).split("\0")
            names = [n for n in names if n and os.path.splitext(n)[1] in (".yaml", ".yml", ".json")]
            if not names:
                skipped += 1
                continue
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir()
            arch = subprocess.run(["git", "--git-dir", str(src_git), "--literal-pathspecs", "archive", c, "--", *names],
                                  capture_output=True)
            subprocess.run(["tar", "-x", "-C", str(tmp)], input=arch.stdout, check=True)
            ck_loads.append(os.getloadavg()[0])
            dt, cp = run_timed([args.checkov, "-d", str(tmp), "--framework", "kubernetes", "--skip-download",
                                "-o", "json"], env=dict(os.environ, LOG_LEVEL="WARNING"), cwd=str(work))
            if cp.returncode not in (0, 1):
                raise SystemExit(f"checkov failed on {name} {c}: {cp.stderr[-2000:]}")
            total += dt
            ran += 1
        shutil.rmtree(tmp, ignore_errors=True)
        res["checkov"] = {"seconds_total": total, "commits_run": ran, "commits_without_manifest_changes": skipped,
                          "load1_mean": statistics.mean(ck_loads) if ck_loads else None}
    return res


def judge_repo(name: str, spec: dict, args: argparse.Namespace, explanations: list[dict]) -> dict:
    src = Path(spec["dir"]).resolve()
    work = Path(args.work).resolve() / name.replace("/", "+")
    work.mkdir(parents=True, exist_ok=True)
    gitdir = work / "snapshot.git"
    commit = snapshot(src, gitdir)

    # --- pushguard
    pg_env = dict(os.environ, PUSHGUARD_NO_CACHE="1")
    pg_cmd = [args.pushguard, "check", "--policy", str(args.policy), "--repo", str(gitdir),
              "--ref", "refs/heads/main", commit, "--format", "json"]
    pg_times, pg_out = [], None
    pg_loads: list[float] = []
    for _ in range(args.runs):
        shutil.rmtree(gitdir / "pushguard", ignore_errors=True)
        pg_loads.append(os.getloadavg()[0])
        dt, cp = run_timed(pg_cmd, env=pg_env)
        if cp.returncode not in (0, 1):
            raise SystemExit(f"pushguard failed on {name} ({cp.returncode}): {cp.stderr}")
        pg_times.append(dt)
        pg_out = cp.stdout
    pg = json.loads(pg_out)
    (work / "pushguard.json").write_text(pg_out)

    # --- checkov
    ck_cmd = [args.checkov, "-d", str(src), "--framework", "kubernetes", "--skip-download", "-o", "json"]
    ck_env = dict(os.environ, LOG_LEVEL="WARNING")
    ck_times, ck_out, ck_loads = [], None, []
    saved = work / "checkov.json"
    if args.reuse_checkov and saved.exists() and (work / "checkov-times.json").exists():
        # analysis only: the report says the Checkov figures come from an earlier run
        ck_out = saved.read_text()
        ck_times = json.loads((work / "checkov-times.json").read_text())
    else:
        for i in range(args.runs):
            ck_loads.append(os.getloadavg()[0])
            dt, cp = run_timed(ck_cmd, env=ck_env, cwd=str(work))
            if cp.returncode not in (0, 1):
                raise SystemExit(f"checkov failed on {name} ({cp.returncode}): {cp.stderr[-2000:]}")
            ck_times.append(dt)
            ck_out = cp.stdout
            if dt > args.max_repeat_seconds:
                print(f"  checkov took {dt:.0f} s on {name}: not repeated (--max-repeat-seconds)", file=sys.stderr)
                break
        saved.write_text(ck_out)
        (work / "checkov-times.json").write_text(json.dumps(ck_times))
    reports = load_checkov_json(ck_out)

    # --- what Checkov read (its own parser, run by the venv's Python)
    cp = subprocess.run([args.checkov_python, str(HERE / "checkov_files.py"), str(src)],
                        capture_output=True, text=True)
    if cp.returncode != 0:
        raise SystemExit(f"checkov_files.py failed on {name}: {cp.stderr[-2000:]}")
    ck_files = json.loads(cp.stdout)
    (work / "checkov-files.json").write_text(cp.stdout)

    bodies: dict[tuple, dict] = {}
    for path, info in ck_files.items():
        for o in info["objects"]:
            bodies[(path, *parse_ck_resource(o["id"]))] = o["body"]

    # Checkov results: key = (path, kind, ns, name)
    ck_result: dict[str, dict[tuple, str]] = {c: {} for _, c, _ in MAPPING}
    ck_any: set[tuple] = set()
    for rep in reports:
        for status_key, status in (("passed_checks", "PASSED"), ("failed_checks", "FAILED"),
                                   ("skipped_checks", "SKIPPED")):
            for r in rep["results"].get(status_key, []):
                path = os.path.relpath(os.path.realpath(r["file_abs_path"]), os.path.realpath(src))
                key = (path, *parse_ck_resource(r["resource"]))
                ck_any.add(key)
                cid = r["check_id"]
                if cid in ck_result:
                    prev = ck_result[cid].get(key)
                    # the same id twice in a file (duplicate objects): a failure wins
                    if prev != "FAILED":
                        ck_result[cid][key] = status

    # pushguard findings
    refused: dict[str, list[str]] = {}
    pg_flag: dict[tuple[str, str | None], dict[tuple, list[dict]]] = {}
    beyond: list[dict] = []   # findings on objects Checkov has no counterpart for
    pg_extra: dict[str, dict[tuple, list[str]]] = {}
    other_rules: dict[str, int] = {}
    for v in pg["violations"]:
        rule = v["rule"]
        if rule in REFUSING and v.get("path"):
            refused.setdefault(v["path"], []).append(f"{rule}: {v['what']}")
        if rule not in RULES:
            other_rules[rule] = other_rules.get(rule, 0) + 1
            continue
        if not v.get("object"):
            beyond.append({"rule": rule, "path": v.get("path"), "object": None, "why": "no object", "what": v["what"]})
            continue
        kind, ns, oname, origin = parse_pg_object(v["object"])
        key = (v["path"], kind, ns, oname)
        if origin:
            beyond.append({"rule": rule, "path": v["path"], "object": v["object"],
                           "why": "rendered output (Checkov reads files, not what kustomize/Flux/Argo CD render)",
                           "what": v["what"]})
            continue
        if "Helm values" in v["what"]:
            beyond.append({"rule": rule, "path": v["path"], "object": v["object"],
                           "why": "Helm values (Checkov's kubernetes framework does not read HelmRelease/Application values)",
                           "what": v["what"]})
            continue
        matched = False
        for r, c, facet in MAPPING:
            if r == rule and (facet is None or facet in v["what"]):
                pg_flag.setdefault((r, facet), {}).setdefault(key, []).append(v)
                matched = True
        if not matched:
            # the part of a broader rule no Checkov check tests (a /proc mount, pods/exec)
            pg_extra.setdefault(rule, {}).setdefault(key, []).append(v["what"])

    def ck_file_reason(path: str, key: tuple) -> str | None:
        info = ck_files.get(path)
        if info is None:
            return "not a .yaml/.yml/.json file Checkov looks at"
        if not info["read"]:
            return f"Checkov did not read the file: {info['reason']}"
        for d in info["dropped"]:
            if d["kind"] == key[1] and key[3] in (d["name"], d["generateName"]):
                return f"Checkov dropped the document: {d['reason']}"
        if key not in ck_any:
            return "Checkov read the file but reports no object with this identity"
        return None

    def explain(path: str, obj: str, check: str, side: str) -> dict | None:
        for e in explanations:
            if e.get("repo", name) != name or e["check"] != check or e["side"] != side:
                continue
            if fnmatch.fnmatchcase(path, e["path"]) and fnmatch.fnmatchcase(obj, e["object"]):
                e["_used"] = e.get("_used", 0) + 1
                return e
        return None

    rows = []
    disagreements = []
    for rule, check, facet in MAPPING:
        ck = ck_result[check]
        ck_fail = {k for k, s in ck.items() if s == "FAILED"}
        ck_seen = {k for k, s in ck.items() if s in ("PASSED", "FAILED")}
        ck_skip = {k for k, s in ck.items() if s == "SKIPPED"}
        flagged = pg_flag.get((rule, facet), {})
        pg_set = set(flagged)
        both = ck_fail & pg_set
        only_ck = ck_fail - pg_set
        only_pg = pg_set - ck_fail
        universe = ck_seen | pg_set
        agree = len(universe) - len(only_ck) - len(only_pg)
        rows.append({"rule": rule, "check": check, "facet": facet, "objects": len(universe),
                     "checkov_fail": len(ck_fail), "pushguard_flag": len(pg_set), "both": len(both),
                     "only_checkov": len(only_ck), "only_pushguard": len(only_pg),
                     "checkov_skipped_by_annotation": len(ck_skip), "agree": agree})
        for side, keys in (("only_checkov", only_ck), ("only_pushguard", only_pg)):
            for key in sorted(keys):
                path, kind, ns, oname = key
                obj = f"{kind} {ns}/{oname}"
                found: tuple[str, str] | None = None
                source = "data"
                if side == "only_checkov" and path in refused:
                    found = (REFUSED, "pushguard refused the whole file (fails closed: the push is "
                             "blocked): " + refused[path][0])
                elif side == "only_pushguard":
                    if key in ck_skip:
                        found = (ANNOTATED, "Checkov skips the check on this object (checkov.io/skip annotation)")
                    else:
                        why = ck_file_reason(path, key)
                        if why is not None:
                            found = (UNREAD, why + " (pushguard right)")
                        elif key not in ck:
                            found = (KIND, f"{check} does not apply to kind {kind} in Checkov")
                if found is None:
                    found = data_reason(check, side, bodies.get(key), flagged.get(key, []))
                if found is None:
                    e = explain(path, obj, check, side)
                    if e is not None:
                        found, source = (e["cause"], e["reason"]), "explanations.json"
                cause, reason = found if found is not None else ("unexplained", "UNEXPLAINED")
                if found is None:
                    source = "none"
                d = {"side": side, "rule": rule, "check": check, "facet": facet, "path": path,
                     "object": obj, "cause": cause, "reason": reason, "reason_source": source,
                     "dangerous": side == "only_checkov" and check in DANGEROUS and path not in refused,
                     "pushguard": [f"{x['location']}: {x['what']}" for x in flagged.get(key, [])]}
                disagreements.append(d)

    # per-rule union over its checks
    rule_rows = []
    for rule in RULES:
        checks = [(c, f) for r, c, f in MAPPING if r == rule]
        ck_fail, ck_seen = set(), set()
        for c, _ in checks:
            ck_fail |= {k for k, s in ck_result[c].items() if s == "FAILED"}
            ck_seen |= {k for k, s in ck_result[c].items() if s in ("PASSED", "FAILED")}
        pg_set = set()
        for (r, f), flagged in pg_flag.items():
            if r == rule and f is None:
                pg_set |= set(flagged)
        if all(f is not None for _, f in checks):
            # every check tests a facet: count the findings of those facets only
            for (r, f), flagged in pg_flag.items():
                if r == rule:
                    pg_set |= set(flagged)
        universe = ck_seen | pg_set
        only_ck, only_pg = ck_fail - pg_set, pg_set - ck_fail
        rule_rows.append({"rule": rule, "checks": [c for c, _ in checks], "objects": len(universe),
                          "checkov_fail": len(ck_fail), "pushguard_flag": len(pg_set),
                          "both": len(ck_fail & pg_set), "only_checkov": len(only_ck),
                          "only_pushguard": len(only_pg),
                          "agree": len(universe) - len(only_ck) - len(only_pg)})

    hist = history(name, spec, args, work) if spec.get("git_dir") and not args.no_history else None

    files_total = len(ck_files)
    unread = {p: i["reason"] for p, i in ck_files.items() if not i["read"]}
    dropped_docs = [{"path": p, **d} for p, i in ck_files.items() for d in i["dropped"]]
    summary = reports[0]["summary"] if reports else {}
    return {
        **{k: v for k, v in spec.items() if k != "dir"}, "name": name, "dir": str(src), "commit": spec.get("commit"),
        "snapshot_commit": commit, "snapshot_tree": git(["--git-dir", str(gitdir), "rev-parse", commit + "^{tree}"]),
        "pushguard": {"seconds": pg_times, "median": median(pg_times), "load1": pg_loads, "violations": len(pg["violations"]),
                      "other_rules": other_rules, "refused_files": refused, "accepted": pg.get("accepted")},
        "checkov": {"seconds": ck_times, "median": median(ck_times), "load1": ck_loads,
                    "reused": bool(args.reuse_checkov and not ck_loads), "summary": summary,
                    "files_considered": files_total, "files_unread": unread, "documents_dropped": dropped_docs},
        "history": hist,
        "pushguard_beyond_facets": {r: [{"path": k[0], "object": f"{k[1]} {k[2]}/{k[3]}", "what": sorted(set(w))}
                                        for k, w in sorted(d.items())] for r, d in sorted(pg_extra.items())},
        "rows": rows, "rule_rows": rule_rows, "disagreements": disagreements, "beyond": beyond,
    }


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def report(result: dict) -> str:
    """The result as Markdown: what docs/checkov.md shows, every figure from `result`."""
    L: list[str] = []
    repos = result["repos"]
    v = result["versions"]
    L.append(f"pushguard `{v['pushguard']}` (sha256 `{v['pushguard_sha256'][:16]}…`), Checkov {v['checkov']}, "
             f"Python {v['python']}, {result['runs']} timed runs, load average at start "
             f"{result.get('load1_start', float('nan')):.2f}.")
    L.append("")
    danger = [(r["name"], d) for r in repos for d in r["disagreements"] if d["dangerous"]]
    L.append("### Dangerous objects missed")
    L.append("")
    if danger:
        L.append("**DANGEROUS OBJECTS CHECKOV FLAGS AND PUSHGUARD DOES NOT:**")
        L.append("")
        for n, d in danger:
            L.append(f"- **{n}: {d['check']} `{d['path']}` {d['object']}**: {d['reason']}")
    else:
        L.append(f"None: every object Checkov fails on {', '.join(sorted(DANGEROUS, key=lambda c: int(c.split('_')[-1])))} "
                 "is flagged by pushguard under the mapped rule (or is in a file pushguard refuses).")
    L.append("")
    L.append("### Per repository")
    L.append("")
    L.append("An object counts once per mapped check that either tool applied to it (Checkov passed or failed "
             "it, or pushguard flagged it). *Agreement*: the same verdict. *Flagged overlap*: objects both flag "
             "among those either flags.")
    L.append("")
    rows = []
    tot = [0, 0, 0, 0, 0]
    for r in repos:
        n = sum(x["objects"] for x in r["rows"])
        a = sum(x["agree"] for x in r["rows"])
        b = sum(x["both"] for x in r["rows"])
        oc = sum(x["only_checkov"] for x in r["rows"])
        op = sum(x["only_pushguard"] for x in r["rows"])
        tot = [tot[0] + n, tot[1] + a, tot[2] + b, tot[3] + oc, tot[4] + op]
        ex = sum(x["agree"] + x["only_checkov"] + x["only_pushguard"] for x in r["rows"] if x["check"] != "CKV_K8S_31")
        ea = sum(x["agree"] for x in r["rows"] if x["check"] != "CKV_K8S_31")
        rows.append([r["name"], f"`{(r.get('commit') or '')[:12]}`", n, b, oc, op, pct(a, n),
                     pct(b, b + oc + op), pct(ea, ex)])
    ex = sum(x["agree"] + x["only_checkov"] + x["only_pushguard"] for r in repos for x in r["rows"] if x["check"] != "CKV_K8S_31")
    ea = sum(x["agree"] for r in repos for x in r["rows"] if x["check"] != "CKV_K8S_31")
    rows.append(["**all**", "", tot[0], tot[2], tot[3], tot[4], pct(tot[1], tot[0]),
                 pct(tot[2], tot[2] + tot[3] + tot[4]), pct(ea, ex)])
    L.append(table(["repository", "commit", "object × check", "both flag", "only Checkov", "only pushguard",
                    "agreement", "flagged overlap", "agreement without CKV_K8S_31"], rows))
    L.append("")
    L.append("### Per mapped check (all repositories)")
    L.append("")
    agg: dict[tuple, list[int]] = {}
    fields = ("objects", "checkov_fail", "pushguard_flag", "both", "only_checkov", "only_pushguard", "agree")
    for r in repos:
        for x in r["rows"]:
            a = agg.setdefault((x["rule"], x["check"], x["facet"] or ""), [0] * len(fields))
            for i, f in enumerate(fields):
                a[i] += x[f]
    rows = [[f"`{rule}`", check, (facet if "`" in facet else f"`{facet}`") if facet else "", a[0], a[1], a[2], a[3], a[4], a[5], pct(a[6], a[0]),
             pct(a[3], a[3] + a[4] + a[5])] for (rule, check, facet), a in agg.items()]
    L.append(table(["rule", "check", "facet", "objects", "Checkov fails", "pushguard flags", "both",
                    "only Checkov", "only pushguard", "agreement", "flagged overlap"], rows))
    L.append("")
    L.append("### Per rule (union of its checks, all repositories)")
    L.append("")
    ragg: dict[str, list[int]] = {}
    for r in repos:
        for x in r["rule_rows"]:
            a = ragg.setdefault(x["rule"], [0] * len(fields))
            for i, f in enumerate(fields):
                a[i] += x[f]
    rows = [[f"`{rule}`", a[0], a[1], a[2], a[3], a[4], a[5], pct(a[6], a[0]), pct(a[3], a[3] + a[4] + a[5])]
            for rule, a in sorted(ragg.items())]
    L.append(table(["rule", "objects", "Checkov fails", "pushguard flags", "both", "only Checkov",
                    "only pushguard", "agreement", "flagged overlap"], rows))
    L.append("")
    L.append("### Disagreements by cause")
    L.append("")
    causes: dict[tuple, int] = {}
    for r in repos:
        for d in r["disagreements"]:
            k = (d["cause"], d["side"], d["check"])
            causes[k] = causes.get(k, 0) + 1
    rows = [[c, side.replace("_", " "), check, n] for (c, side, check), n in sorted(causes.items())]
    L.append(table(["cause", "side", "check", "objects"], rows))
    L.append("")
    L.append(f"### Timing: each repository's tree (wall clock, median of {result['runs']})")
    L.append("")
    rows = []
    for r in repos:
        p, c = r["pushguard"]["median"], r["checkov"]["median"]
        note = f" ({len(r['checkov']['seconds'])} run)" if len(r["checkov"]["seconds"]) < result["runs"] else ""
        rows.append([r["name"], f"{p:.3f} s", f"{c:.2f} s{note}", f"{c / p:.0f}×" if p > 0 else "n/a"])
    sp = sum(r["pushguard"]["median"] for r in repos)
    sc = sum(r["checkov"]["median"] for r in repos)
    rows.append(["**all**", f"{sp:.3f} s", f"{sc:.2f} s", f"{sc / sp:.0f}×" if sp > 0 else "n/a"])
    L.append(table(["repository", "pushguard", "Checkov", "Checkov / pushguard"], rows))
    hist = [(r["name"], r["history"]) for r in repos if r.get("history")]
    if hist:
        L.append("")
        L.append(f"### Timing: whole history (wall clock, pushguard median of {result['runs']})")
        L.append("")
        rows = []
        for n, h in hist:
            ck = h.get("checkov")
            snap = next(r for r in repos if r["name"] == n)["checkov"]["median"]
            p = h["pushguard"]["median"]
            rows.append([n, f"`{h['tip'][:12]}`", h["commits"], f"{p:.3f} s",
                         f"{snap / p:.1f}×" if p > 0 else "n/a",
                         f"{ck['seconds_total']:.1f} s ({ck['commits_run']} runs, {ck['commits_without_manifest_changes']} commits without manifest changes)" if ck else "not run",
                         f"{ck['seconds_total'] / p:.0f}×" if ck and p > 0 else ""])
        L.append(table(["repository", "tip", "commits", "pushguard, every commit", "Checkov on the tree / pushguard on the history",
                        "Checkov, once per commit", "ratio"], rows))
    L.append("")
    L.append("### What pushguard judges that Checkov's kubernetes framework cannot")
    L.append("")
    any_beyond = False
    for r in repos:
        for b in r["beyond"]:
            any_beyond = True
            L.append(f"- {r['name']}: `{b['rule']}` `{b['path']}` {b['object']}: {b['why']}")
    if not any_beyond:
        L.append("- none")
    L.append("")
    L.append("### What pushguard flags beyond the mapped facets")
    L.append("")
    L.append("Findings of a mapped rule on objects Checkov reads, in a part of the rule no mapped check "
             "tests (not counted in the tables above):")
    L.append("")
    extra: dict[str, dict[str, set]] = {}
    for r in repos:
        for rule, items in r.get("pushguard_beyond_facets", {}).items():
            for it in items:
                for w in it["what"]:
                    extra.setdefault(rule, {}).setdefault(w, set()).add((r["name"], it["path"], it["object"]))
    if not extra:
        L.append("- none")
    for rule, msgs in sorted(extra.items()):
        objs = set().union(*msgs.values())
        L.append(f"- `{rule}`: {len(objs)} object(s) in "
                 f"{', '.join(sorted({n for n, _, _ in objs}))}:")
        for w, o in sorted(msgs.items(), key=lambda x: (-len(x[1]), x[0])):
            L.append(f"  - {len(o)} × {w}")
    L.append("")
    L.append("### Files and documents Checkov did not read")
    L.append("")
    for r in repos:
        by: dict[str, int] = {}
        for why in r["checkov"]["files_unread"].values():
            by[why] = by.get(why, 0) + 1
        L.append(f"- **{r['name']}**: {len(r['checkov']['files_unread'])} of {r['checkov']['files_considered']} "
                 f"`.yaml`/`.yml`/`.json` files unread:")
        for why, n in sorted(by.items(), key=lambda x: (-x[1], x[0])):
            files = sorted(p for p, w in r["checkov"]["files_unread"].items() if w == why)
            L.append(f"  - {n} × {why}: " + ", ".join(f"`{f}`" for f in files))
        for d in r["checkov"]["documents_dropped"]:
            if r["checkov"]["files_unread"].get(d["path"]) is None:
                L.append(f"  - document {d['doc']} of `{d['path']}` ({d['kind']} {d['name'] or d.get('generateName')}) "
                         f"dropped: {d['reason']}")
        refused = r["pushguard"]["refused_files"]
        if refused:
            L.append(f"  - pushguard refused {len(refused)} file(s): " +
                     "; ".join(f"`{p}` ({w[0]})" for p, w in sorted(refused.items())))
    L.append("")
    L.append("### Every disagreement")
    L.append("")
    L.append("Grouped by repository, side, check and reason; each object as `file` Kind namespace/name.")
    L.append("")
    for r in repos:
        ds = r["disagreements"]
        L.append(f"**{r['name']}** ({len(ds)})")
        L.append("")
        groups: dict[tuple, list[str]] = {}
        for d in ds:
            k = (d["side"], d["check"], d["rule"], d["reason"])
            groups.setdefault(k, []).append(f"`{d['path']}` {d['object']}")
        for (side, check, rule, reason), objs in groups.items():
            if len(objs) == 1:
                L.append(f"- {side.replace('_', ' ')}, {check} / `{rule}`: {objs[0]}: {reason}")
            else:
                L.append(f"- {side.replace('_', ' ')}, {check} / `{rule}`, {len(objs)} objects: {reason}: "
                         + "; ".join(objs))
        L.append("")
    stale = result.get("stale_explanations") or []
    unexplained = sum(1 for r in repos for d in r["disagreements"] if d["cause"] == "unexplained")
    L.append(f"Unexplained disagreements: {unexplained}; stale entries in explanations.json: {len(stale)}")
    for e in stale:
        L.append(f"- stale: {e}")
    return "\n".join(L)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pushguard", required=True, help="the pushguard binary")
    ap.add_argument("--checkov", required=True, help="the checkov script of the venv")
    ap.add_argument("--checkov-python", help="the venv's python (default: beside --checkov)")
    ap.add_argument("--work", required=True, help="work directory (snapshots, raw outputs)")
    ap.add_argument("--policy", default=str(HERE / "policy.toml"))
    ap.add_argument("--explanations", default=str(HERE / "explanations.json"))
    ap.add_argument("--repos", help="JSON file: name -> dir, or name -> {dir, source, commit}")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each tool per repository")
    ap.add_argument("--max-repeat-seconds", type=float, default=300.0,
                    help="a tool run slower than this is not repeated (its time is one run)")
    ap.add_argument("--reuse-checkov", action="store_true",
                    help="reuse WORK/<repo>/checkov.json and its times from an earlier run (analysis only)")
    ap.add_argument("--allow-other-checkov", action="store_true",
                    help=f"run with a Checkov other than {CHECKOV_VERSION}")
    ap.add_argument("--no-history", action="store_true", help="skip the whole-history timing")
    ap.add_argument("--history-checkov", action="append", default=[], metavar="NAME",
                    help="also run Checkov on each commit of NAME's history (the files it adds or "
                         "modifies; one run); 'all' for every repository. Slow: ~4 s a commit")
    ap.add_argument("--out", help="write the JSON result here (default WORK/result.json)")
    ap.add_argument("pairs", nargs="*", help="NAME=DIR")
    ap.add_argument("--report-only", metavar="RESULT_JSON",
                    help="print the Markdown report of an earlier result and exit (runs nothing)")
    if "--report-only" in sys.argv:
        i = sys.argv.index("--report-only")
        if i + 1 >= len(sys.argv):
            ap.error("--report-only needs a file")
        print(report(json.loads(Path(sys.argv[i + 1]).read_text())))
        return
    args = ap.parse_args()
    args.pushguard = str(Path(args.pushguard).resolve())
    args.checkov = str(Path(args.checkov).resolve()) if os.sep in args.checkov else shutil.which(args.checkov)
    if args.checkov_python is None:
        args.checkov_python = str(Path(args.checkov).parent / "python")
    args.policy = str(Path(args.policy).resolve())
    repos: dict[str, dict] = {}
    if args.repos:
        for k, v in json.loads(Path(args.repos).read_text()).items():
            repos[k] = v if isinstance(v, dict) else {"dir": v}
    for p in args.pairs:
        k, _, v = p.partition("=")
        repos[k] = {"dir": v}
    if not repos:
        ap.error("no repositories given")
    explanations = json.loads(Path(args.explanations).read_text()) if Path(args.explanations).exists() else []
    Path(args.work).mkdir(parents=True, exist_ok=True)

    pg_version = subprocess.run([args.pushguard, "version"], capture_output=True, text=True).stdout.strip()
    ck_version = subprocess.run([args.checkov, "--version"], capture_output=True, text=True).stdout.strip()
    if ck_version != CHECKOV_VERSION and not args.allow_other_checkov:
        raise SystemExit(f"checkov {ck_version}: this comparison is pinned to {CHECKOV_VERSION} "
                         f"(pip install -r {HERE / 'requirements.lock'}, or --allow-other-checkov)")
    digest = hashlib.sha256(Path(args.pushguard).read_bytes()).hexdigest()
    result = {"versions": {"pushguard": pg_version, "pushguard_sha256": digest, "checkov": ck_version,
                           "python": sys.version.split()[0]},
              "policy": Path(args.policy).read_text(), "mapping": MAPPING, "dangerous": sorted(DANGEROUS),
              "runs": args.runs, "repos": []}
    result["load1_start"] = os.getloadavg()[0]
    for name, spec in repos.items():
        print(f"judging {name} ...", file=sys.stderr)
        result["repos"].append(judge_repo(name, spec, args, explanations))
    result["stale_explanations"] = [{k: v for k, v in e.items() if k != "_used"} for e in explanations
                                    if not e.get("_used") and e.get("repo") in (None, *repos)]
    out = Path(args.out) if args.out else Path(args.work) / "result.json"
    out.write_text(json.dumps(result, indent=1))
    md = report(result)
    out.with_suffix(".md").write_text(md + "\n")
    print(md)
    print(f"\nresult: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()

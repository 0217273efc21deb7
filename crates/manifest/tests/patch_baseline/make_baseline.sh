#!/bin/sh
# Regenerates the expected output of every case in this directory with the real kustomize
# (`kubectl kustomize`, kubectl v1.37.1 with kustomize v5.8.1):
#   KUBECTL=/path/to/kubectl ./make_baseline.sh
# A case is a directory with `target.yaml` (the resources) and either `patch.yaml` (a
# strategic-merge patch) or `ops.yaml` (a JSON 6902 patch), and optionally `selector.yaml`
# (the patch's `target:`; a JSON patch needs one). kustomize's output goes to `expected.yaml`;
# when the build fails, its message goes to `expected.error` instead.
set -eu
KUBECTL=${KUBECTL:-/work/kubectl-venv/bin/kubectl}
here=$(cd "$(dirname "$0")" && pwd)
"$KUBECTL" version --client 2>/dev/null | grep -i kustomize >"$here/KUSTOMIZE_VERSION" || true
for case in "$here"/*/; do
  case=${case%/}
  tmp=$(mktemp -d)
  cp "$case/target.yaml" "$tmp/target.yaml"
  if [ -f "$case/patch.yaml" ]; then patch=patch.yaml; else patch=ops.yaml; fi
  cp "$case/$patch" "$tmp/$patch"
  {
    echo "resources: [target.yaml]"
    echo "patches:"
    echo "- path: $patch"
    if [ -f "$case/selector.yaml" ]; then
      echo "  target:"
      sed 's/^/    /' "$case/selector.yaml"
    fi
  } >"$tmp/kustomization.yaml"
  rm -f "$case/expected.yaml" "$case/expected.error"
  if "$KUBECTL" kustomize "$tmp" >"$tmp/out" 2>"$tmp/err"; then
    cp "$tmp/out" "$case/expected.yaml"
  else
    sed "s|$tmp|CASE|g" "$tmp/err" >"$case/expected.error"
  fi
  rm -rf "$tmp"
done

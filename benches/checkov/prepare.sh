#!/bin/sh
# Check out the five repositories of the Checkov comparison at the commits docs/checkov.md
# reports, and write OUT/repos.json for compare.py.
#
#   benches/checkov/prepare.sh OUT
#
# Each repository is cloned (bare) from GitHub into OUT/git/<owner>+<name>.git unless
# MIRROR is set to a directory already holding clones as MIRROR/<owner>+<name>/repo (or .git).
# The trees are extracted with `git archive` into OUT/src/<owner>+<name>; for Polaris only
# test/ (its fixture YAML). A clone that lacks the pinned commit is an error: pass
# COMMITS=head to take each clone's HEAD instead (and report the ids compare.py records).
set -eu

out=${1:?usage: prepare.sh OUT}
mkdir -p "$out/git" "$out/src"
out=$(cd "$out" && pwd)

# owner/name  commit  paths (. = the whole tree)
repos='
kubernetes/examples                  279e8e4fe314f6cb7bc55fa3fbc21bbeaa48c0ea .
argoproj/argocd-example-apps         0d521c6e049889134f3122eb32d7ed342f43ca0d .
fluxcd/flux2-kustomize-helm-example  4f1a5b1051b469108d1bdf0ebec6c814427e3834 .
fluxcd/flux2-multi-tenancy           192da0594c0c06a38a232050b05fdb6e000d6eb8 .
FairwindsOps/polaris                 c0e23a233b2087272a7f524f1b922f4e3f2f9689 test
'

rm -f "$out/repos.part"
sep=""
echo "$repos" | while read -r repo commit paths; do
  [ -n "$repo" ] || continue
  slug=$(echo "$repo" | tr / +)
  gitdir=""
  if [ -n "${MIRROR:-}" ]; then
    for d in "$MIRROR/$slug/repo" "$MIRROR/$slug.git" "$MIRROR/$slug"; do
      if git --git-dir="$d" rev-parse --git-dir >/dev/null 2>&1; then gitdir=$d; break; fi
    done
  fi
  if [ -z "$gitdir" ]; then
    gitdir="$out/git/$slug.git"
    [ -d "$gitdir" ] || git clone -q --bare "https://github.com/$repo" "$gitdir"
  fi
  if [ "${COMMITS:-}" = head ]; then
    commit=$(git --git-dir="$gitdir" rev-parse HEAD)
  fi
  git --git-dir="$gitdir" cat-file -e "$commit^{commit}" || {
    echo "$repo: $gitdir has no commit $commit (COMMITS=head takes its HEAD)" >&2
    exit 1
  }
  rm -rf "$out/src/$slug"
  mkdir -p "$out/src/$slug"
  # shellcheck disable=SC2086 # paths is one word or "."
  git --git-dir="$gitdir" archive "$commit" $paths | tar -x -C "$out/src/$slug"
  subset=""
  [ "$paths" = . ] || subset=", \"subset\": \"$paths/\""
  printf "%s %s %s %s (%s)\n" "$repo" "$commit" "$gitdir" "$out/src/$slug" "$paths" >&2
  printf '%s"%s": {"dir": "%s", "source": "https://github.com/%s", "commit": "%s", "git_dir": "%s"%s}\n' \
    "$sep" "$repo" "$out/src/$slug" "$repo" "$commit" "$gitdir" "$subset" >> "$out/repos.part"
  sep=","
done

{ echo "{"; cat "$out/repos.part"; echo "}"; } > "$out/repos.json"
rm -f "$out/repos.part"
echo "$out/repos.json"

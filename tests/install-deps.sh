#!/bin/sh
# Installs the Debian packages the tests use (idempotent; uses sudo when not root).
#   git                                  the tests push with the real client
#   gnupg openssh-client sq sqop         real keys and signatures
#   gitolite3 openssh-server lighttpd    the end-to-end tests start real servers on 127.0.0.1
set -eu
packages="git gnupg openssh-client sq sqop gitolite3 openssh-server lighttpd ca-certificates"
missing=""
for p in $packages; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq $missing >/dev/null

#!/bin/sh
# deps.sh -- install missing build/test dependencies on Debian (apt-get, as root).
# Quick when everything is present: checks pkg-config modules and binaries first.
set -e
need=""
have_pc() { pkg-config --exists "$1" 2>/dev/null; }
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
have_pc libcurl    || need="$need libcurl4-openssl-dev"
have_pc libpq      || need="$need libpq-dev"
have_pc hiredis    || need="$need libhiredis-dev"
have_pc yaml-0.1   || need="$need libyaml-dev"
have_pc jansson    || need="$need libjansson-dev"
have_pc libmicrohttpd || need="$need libmicrohttpd-dev"
command -v cc >/dev/null 2>&1 || need="$need gcc"
if [ "${FL_DEPS_RUNTIME:-0}" = 1 ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
  command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
fi
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "faultline: missing build dependencies:$need" >&2
  echo "faultline: install them (Debian: apt-get install$need) and run make again" >&2
  exit 1
fi
echo "faultline: installing missing dependencies with apt-get:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
apt-get install -y -qq --no-install-recommends $need >/dev/null
echo "faultline: installed:$need"

#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmark need, with apt-get, when it
# is missing. Safe to run again: it installs nothing that is already there.
# Usage: setup.sh [test|bench|all]
set -euo pipefail

what=${1:-test}

need=()
have() { command -v "$1" >/dev/null 2>&1; }
pg_server() { ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

pg_server || need+=(postgresql)
have psql || need+=(postgresql-client)
[ -x /usr/sbin/mariadbd ] || have mariadbd || need+=(mariadb-server)
have mariadb || need+=(mariadb-client)
# A freshly installed sshd is stopped below; one that was there already may be
# how this machine is reached, and is left alone.
fresh_sshd=false
[ -x /usr/sbin/sshd ] || { need+=(openssh-server); fresh_sshd=true; }
have ssh || need+=(openssh-client)
have rsync || need+=(rsync)
have asciinema || need+=(asciinema)
# curl drives the http connection tests; the Kubernetes binaries (etcd,
# kube-apiserver, kubectl) are built from Go modules by the tests (testenv.KubeBin).
have curl || need+=(curl)
if [ "$what" = bench ] || [ "$what" = all ]; then
  have sysbench || need+=(sysbench)
  have pgbench || need+=(postgresql-contrib)
  [ -x /usr/sbin/pgbouncer ] || have pgbouncer || need+=(pgbouncer)
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${need[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  if have sudo; then SUDO=sudo; else
    echo "setup: missing ${need[*]}; install them with: apt-get install ${need[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
if ! have apt-get; then
  echo "setup: no apt-get here; install these packages by hand: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
install() { $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/tmp/hoop-setup.log 2>&1; }
if ! install; then
  $SUDO apt-get update -q >>/tmp/hoop-setup.log 2>&1 || true
  if ! install; then
    tail -20 /tmp/hoop-setup.log >&2
    echo "setup: apt-get could not install ${need[*]}; install them by hand (log: /tmp/hoop-setup.log)" >&2
    exit 1
  fi
fi
# Debian starts the packaged services; the tests run their own throwaway servers.
for svc in postgresql pgbouncer mariadb; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
if $fresh_sshd; then
  $SUDO service ssh stop >/dev/null 2>&1 || true
fi
echo "setup: done" >&2

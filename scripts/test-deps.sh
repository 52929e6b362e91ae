#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use, when missing.
# openssh-client: tests log in with the real OpenSSH client.
# openssh-server: the peer of the start-up benchmark (sshd, not started as a service).
# chromium: the portal's tests drive a real browser through chromedp.
# postgresql: the DRM store suite runs against a real PostgreSQL (drm/store/pgtest finds initdb under /usr/lib/postgresql/*/bin).
set -euo pipefail
need=()
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v useradd >/dev/null 2>&1 || need+=(passwd)
# sudo: superuser pools' generated sudoers are checked with visudo and run with a real sudo -n.
command -v sudo >/dev/null 2>&1 || need+=(sudo)
# procps: the GMMA tests' cleanup kills a throwaway account's processes with pkill.
command -v pkill >/dev/null 2>&1 || need+=(procps)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# gish: the escape suite runs the example classes' programs for real.
for p in vim:vim less:less bc:bc git:git gcc:gcc make:make python3:python3 mawk:mawk; do
  [ -x "/usr/bin/${p%%:*}" ] || need+=("${p#*:}")
done
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: missing ${need[*]}; not root, so the tests that need them will skip" >&2
  exit 0
fi
echo "test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Installing openssh-server may start the system sshd; the tests do not use it.
(systemctl disable --now ssh 2>/dev/null || service ssh stop 2>/dev/null || true) >/dev/null 2>&1
# Installing postgresql may start the system cluster; the tests start their own.
(systemctl disable --now postgresql 2>/dev/null || service postgresql stop 2>/dev/null || true) >/dev/null 2>&1

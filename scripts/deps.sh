#!/usr/bin/env bash
# Installs the Debian packages cccd needs when they are missing, and checks the Go toolchain.
# Usage: scripts/deps.sh            (everything: demo and tests)
set -euo pipefail

packages=(
  postgresql            # private PostgreSQL cluster (initdb, pg_ctl)
  nats-server           # external broker for workflow tests (the default broker is embedded)
  gcc pkg-config libpcsclite-dev  # cgo for PC/SC
  pcscd vsmartcard-vpcd pcsc-tools # PC/SC daemon and the virtual reader driver
  softhsm2 opensc       # PKCS#11 token for the document signing keys
  openssl               # independent checks of certificates, CRLs, SODs and master lists
  poppler-utils zbar-tools  # PDF -> PNG and text, QR read-back for print tests
  fonts-dejavu-core fonts-noto-core
  cups cups-client printer-driver-cups-pdf
  procps psmisc
  iproute2 util-linux   # the test site of scripts/site.sh: ip netns, veth, bridge; unshare, nsenter, setpriv
  chromium chromium-driver  # headless browser tests of the web console (issuance/console/browsertest)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && export PATH="$d:$PATH"; done
fi
command -v go >/dev/null 2>&1 || { echo "deps: Go 1.26 or newer is required (https://go.dev/dl)" >&2; exit 1; }
v=$(go env GOVERSION | sed 's/^go//')
case "$v" in
  1.2[6-9]*|1.[3-9]*|[2-9].*) ;;
  *) echo "deps: Go $v is too old; cccd needs Go 1.26 or newer" >&2; exit 1 ;;
esac
go mod download

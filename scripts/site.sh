#!/usr/bin/env bash
# site.sh: a test site of cccd on one machine, made of network namespaces (one per host)
# joined by a bridge inside a namespace of its own. Nothing outside these namespaces is
# touched: no host interface, no host address, no host route.
#
#   scripts/site.sh up              make the hosts and the network (10.77.0.0/24 inside the site)
#   scripts/site.sh down            kill every process on the site's hosts and delete the namespaces
#   scripts/site.sh exec HOST CMD.. run a command on a host
#   scripts/site.sh cut HOST SECS   pull a host's network cable for SECS seconds (link down at the switch)
#   scripts/site.sh drill [ARGS]    up, `cccd drill ARGS` on the office host, down (also on failure)
#
# Hosts and addresses (the drill, package issuance/site/drill, uses the same table):
#   nats1 .11  nats2 .12  nats3 .13   NATS JetStream cluster nodes
#   db .20                            PostgreSQL server (TLS only, client certificates)
#   serve .30                         `cccd serve` (HTTPS API, relay, print and QC)
#   st1 .41  st2 .42                  personalization stations, each with its own pcscd and readers
#   office .50                        receiving office; runs the drill
#
# CCCD_SITE names the site (namespace prefix, default cccd-site) so that two sites can
# exist at once; CCCD (default bin/cccd) is the binary the drill runs. Needs root and
# iproute2 (scripts/deps.sh installs it).
set -euo pipefail

SITE=${CCCD_SITE:-cccd-site}
NET=10.77.0
HOSTS="nats1:11 nats2:12 nats3:13 db:20 serve:30 st1:41 st2:42 office:50"
SW="$SITE-sw"

die() { echo "site.sh: $*" >&2; exit 1; }
ns() { echo "$SITE-$1"; }
host_known() { case " $HOSTS " in *" $1:"*) return 0 ;; esac; return 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
command -v ip >/dev/null || die "ip not found (Debian package iproute2; scripts/deps.sh installs it)"

do_down() {
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$SITE-" || true); do
		for _ in 1 2 3; do
			pids=$(ip netns pids "$n" 2>/dev/null || true)
			[ -z "$pids" ] && break
			# shellcheck disable=SC2086
			kill -9 $pids 2>/dev/null || true
			sleep 0.2
		done
		ip netns del "$n" 2>/dev/null || true
	done
}

do_up() {
	do_down
	ip netns add "$SW"
	ip -n "$SW" link set lo up
	ip -n "$SW" link add br0 type bridge
	ip -n "$SW" link set br0 up
	for hs in $HOSTS; do
		h=${hs%%:*} a=${hs##*:}
		n=$(ns "$h")
		ip netns add "$n"
		ip -n "$n" link set lo up
		ip -n "$SW" link add "v-$h" type veth peer name eth0 netns "$n"
		ip -n "$SW" link set "v-$h" master br0 up
		ip -n "$n" addr add "$NET.$a/24" dev eth0
		ip -n "$n" link set eth0 up
	done
	for hs in $HOSTS; do
		h=${hs%%:*}
		ok=0
		for _ in $(seq 50); do
			ip -n "$SW" link show "v-$h" | grep -q "state UP" && { ok=1; break; }
			sleep 0.1
		done
		[ "$ok" = 1 ] || die "the link of host $h is not up"
	done
	echo "site.sh: site $SITE up: $HOSTS (network $NET.0/24 inside the site)"
}

do_cut() {
	host_known "$1" || die "no host $1 (hosts: $HOSTS)"
	case "$2" in '' | *[!0-9]*) die "seconds: a number, got '$2'" ;; esac
	ip -n "$SW" link set "v-$1" down
	sleep "$2"
	ip -n "$SW" link set "v-$1" up
}

cmd=${1:-}
shift || true
case "$cmd" in
up) do_up ;;
down) do_down ;;
exec)
	host_known "${1:-}" || die "no host '${1:-}' (hosts: $HOSTS)"
	h=$1
	shift
	exec ip netns exec "$(ns "$h")" "$@"
	;;
cut) do_cut "${1:-}" "${2:-}" ;;
drill)
	CCCD=$(realpath "${CCCD:-bin/cccd}")
	[ -x "$CCCD" ] || die "$CCCD not built (make build)"
	trap do_down EXIT
	do_up
	ip netns exec "$(ns office)" env CCCD_SITE="$SITE" "$CCCD" drill "$@"
	;;
*) die "usage: $0 up | down | exec HOST CMD... | cut HOST SECONDS | drill [cccd drill flags]" ;;
esac

#!/bin/sh
# pcscd.sh: run pcscd with N virtual vpcd reader slots for cccd (tests, benchmarks, the card emulator).
#
#   scripts/pcscd.sh start N   install packages if missing, configure N slots, (re)start pcscd, wait until it answers
#   scripts/pcscd.sh stop      stop the pcscd this script started (or any pcscd holding the PC/SC socket)
#   scripts/pcscd.sh status    exit 0 and list the readers if pcscd runs with the cccd configuration
#   scripts/pcscd.sh readers N print "slot<TAB>port<TAB>reader name" for N slots (no root needed)
#
# start, stop need root (apt-get, /etc, /usr/local/lib, /run). The Makefile calls
#   sudo scripts/pcscd.sh start 14     (or without sudo when already root, as in CI containers)
# before `go test`; start is idempotent and cheap when nothing changed.
#
# Slot layout (must match smartcard/vpcd ReaderName and Port):
#   slot i listens for its virtual card on 127.0.0.1 port 35963+i;
#   the vpcd driver gives every reader.conf entry two slots, so slots come in pairs 2k, 2k+1,
#   each pair an entry with FRIENDLYNAME "CCCD vpcd %02d-%02d" (2k, 2k+1), and pcscd names the readers
#   "<FRIENDLYNAME> 00 00" (slot 2k) and "<FRIENDLYNAME> 00 01" (slot 2k+1), e.g.
#   slot 0 "CCCD vpcd 00-01 00 00", slot 1 "CCCD vpcd 00-01 00 01", slot 11 "CCCD vpcd 10-11 00 01".
#
# Why each pair loads its own COPY of libifdvpcd.so: the driver keeps its per-slot sockets in a static
# array indexed by slot number only, and pcscd dlopen()s one library path once; two entries sharing the
# library would overwrite each other's slot 0/1 (and get the same reader names). A copy is a separate
# object with its own state.
#
# The Debian default entry /etc/reader.conf.d/vpcd ("Virtual PCD", ports 35963/35964) is left in place
# but not loaded: pcscd is started with `-c /etc/reader.conf.d/cccd-vpcd`, so only the cccd entries exist.
# (Loading both would make two drivers fight over ports 35963/35964.)
set -eu

CONF=${CCCD_PCSCD_CONF:-/etc/reader.conf.d/cccd-vpcd}
LIBDIR=${CCCD_PCSCD_LIBDIR:-/usr/local/lib/cccd/pcsc}
RUNDIR=${CCCD_PCSCD_RUNDIR:-/run/cccd-pcscd}
VPCDLIB=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
BASEPORT=35963
MAXSLOTS=16 # PCSCLITE_MAX_READERS_CONTEXTS in pcsc-lite 1.9
PIDFILE=$RUNDIR/pcscd.pid
LOG=$RUNDIR/pcscd.log

die() { echo "pcscd.sh: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root (run: sudo $0 $*)"; }

check_slots() {
	case "${1:-}" in '' | *[!0-9]*) die "slot count must be a number 1..$MAXSLOTS, got '${1:-}'" ;; esac
	[ "$1" -ge 1 ] && [ "$1" -le "$MAXSLOTS" ] || die "slot count must be 1..$MAXSLOTS, got $1"
}

# pairs N: number of reader.conf entries for N slots.
pairs() { echo $((($1 + 1) / 2)); }

reader_name() { # slot
	p=$(($1 / 2 * 2))
	printf 'CCCD vpcd %02d-%02d 00 %02d' "$p" $((p + 1)) $(($1 % 2))
}

install_packages() {
	missing=""
	for p in pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	need_root "installing$missing"
	echo "pcscd.sh: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
}

config() { # N: the reader.conf text
	n=$(pairs "$1")
	echo "# Written by cccd scripts/pcscd.sh for $1 slot(s); pcscd is started with -c $CONF."
	k=0
	while [ "$k" -lt "$n" ]; do
		port=$((BASEPORT + 2 * k))
		printf '\nFRIENDLYNAME "CCCD vpcd %02d-%02d"\nDEVICENAME   /dev/null:%d\nLIBPATH      %s/libifdvpcd-cccd-%02d.so\nCHANNELID    %d\n' \
			$((2 * k)) $((2 * k + 1)) "$port" "$LIBDIR" "$k" "$port"
		k=$((k + 1))
	done
}

# running_pid prints the pid of a running pcscd (ours first), or nothing.
running_pid() {
	if [ -f "$PIDFILE" ]; then
		pid=$(cat "$PIDFILE")
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q pcscd "/proc/$pid/comm" 2>/dev/null; then
			echo "$pid"
			return
		fi
	fi
	pidof pcscd 2>/dev/null | awk '{print $1}' || true
}

ours() { # pid: is it a pcscd started with our config?
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "-c $CONF"
}

answers() { # N: pcscd lists at least the N cccd readers
	out=$(timeout 5 pcsc_scan -r 2>/dev/null) || return 1
	i=0
	while [ "$i" -lt "$1" ]; do
		printf '%s\n' "$out" | grep -qF "$(reader_name "$i")" || return 1
		i=$((i + 1))
	done
}

do_stop() {
	pid=$(running_pid)
	if [ -z "$pid" ]; then
		rm -f "$PIDFILE"
		return 0
	fi
	need_root "stopping pcscd"
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet pcscd.socket 2>/dev/null; then
		systemctl stop pcscd.socket pcscd.service || true
	fi
	kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt 50 ] && { kill -9 "$pid" 2>/dev/null || true; }
		[ "$i" -gt 60 ] && die "pcscd (pid $pid) does not stop"
		sleep 0.1
	done
	rm -f "$PIDFILE"
}

do_start() {
	check_slots "$1"
	install_packages
	[ -e "$VPCDLIB" ] || die "$VPCDLIB missing (package vsmartcard-vpcd)"
	want=$(config "$1")
	pid=$(running_pid)
	if [ -n "$pid" ] && ours "$pid" && [ -f "$CONF" ] && [ "$(cat "$CONF")" = "$want" ] && answers "$1"; then
		echo "pcscd.sh: pcscd (pid $pid) already runs with $1 slot(s)"
		return 0
	fi
	need_root "configuring pcscd"
	do_stop
	mkdir -p "$(dirname "$CONF")" "$LIBDIR" "$RUNDIR" /run/pcscd
	k=0
	while [ "$k" -lt "$(pairs "$1")" ]; do
		lib=$(printf '%s/libifdvpcd-cccd-%02d.so' "$LIBDIR" "$k")
		# A copy, not a link: see the header.
		cmp -s "$VPCDLIB" "$lib" 2>/dev/null || cp "$(readlink -f "$VPCDLIB")" "$lib"
		k=$((k + 1))
	done
	printf '%s\n' "$want" >"$CONF"
	# Stale socket/pid files of a pcscd that died would make the new one refuse to start.
	rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid
	setsid pcscd --foreground -c "$CONF" >"$LOG" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
	i=0
	until answers "$1"; do
		i=$((i + 1))
		if [ "$i" -gt 50 ] || ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
			tail -n 20 "$LOG" >&2 || true
			die "pcscd did not come up with $1 slot(s); log: $LOG"
		fi
		sleep 0.1
	done
	echo "pcscd.sh: pcscd (pid $(cat "$PIDFILE")) runs with $1 slot(s); log $LOG"
}

do_status() {
	pid=$(running_pid)
	[ -n "$pid" ] || { echo "pcscd.sh: pcscd is not running"; return 1; }
	if ! ours "$pid"; then
		echo "pcscd.sh: pcscd (pid $pid) runs WITHOUT the cccd configuration (run: $0 start N)"
		return 1
	fi
	echo "pcscd.sh: pcscd (pid $pid) runs with $CONF"
	timeout 5 pcsc_scan -r || return 1
}

do_readers() {
	check_slots "$1"
	i=0
	while [ "$i" -lt "$1" ]; do
		printf '%d\t%d\t%s\n' "$i" $((BASEPORT + i)) "$(reader_name "$i")"
		i=$((i + 1))
	done
}

case "${1:-}" in
start) do_start "${2:-}" ;;
stop) do_stop ;;
status) do_status ;;
readers) do_readers "${2:-}" ;;
*) die "usage: $0 start N | stop | status | readers N" ;;
esac

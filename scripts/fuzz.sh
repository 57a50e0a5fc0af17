#!/usr/bin/env bash
# Runs every fuzz target of the module for a short time each: scripts/fuzz.sh 15s
set -euo pipefail
t=${1:-15s}
status=0
for f in $(grep -rl --include='*_test.go' '^func Fuzz' .); do
  pkg=./$(dirname "${f#./}")
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "== $pkg $fn"
    go test "$pkg" -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" -fuzzminimizetime 5s -parallel 2 || status=1
  done
done
exit $status

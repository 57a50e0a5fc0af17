#!/usr/bin/env bash
# Runs every fuzz target of the module briefly: scripts/fuzz.sh [BUDGET]  (FUZZ_ONLY=REGEXP selects targets)
#
# BUDGET is a -fuzztime: an execution count such as 20000x (the default: the same work on a fast or a busy
# machine, and immune to the timer race below) or a duration such as 15s.
#
# The run fails only on a real finding: a target that fails with a reproducer written under
# testdata/fuzz/, or whose seed corpus does not replay clean. With Go 1.26 a duration budget sometimes ends
# a clean target with a bare "context deadline exceeded" and no reproducer (a fuzz-coordinator race,
# go.dev/issue/75804, fixed in Go 1.27); that case is replayed and counted clean when the corpus passes.
set -uo pipefail
t=${1:-20000x}
only=${FUZZ_ONLY:-.} # a regular expression selecting targets by name, e.g. FUZZ_ONLY='DecodeLine|Write'
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for f in $(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do
  dir=$(dirname "${f#./}")
  pkg=./$dir
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    [[ $fn =~ $only ]] || continue
    echo "== $pkg $fn"
    corpus="$dir/testdata/fuzz/$fn"
    before=$(ls "$corpus" 2>/dev/null | sort)
    if go test "$pkg" -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" -fuzzminimizetime 5s -parallel 2 >"$log" 2>&1; then
      tail -n 2 "$log"
      continue
    fi
    after=$(ls "$corpus" 2>/dev/null | sort)
    if [ "$before" = "$after" ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
      if go test "$pkg" -run "^${fn}\$" -count=1 >/dev/null 2>&1; then
        echo "   clean: bare 'context deadline exceeded' without a reproducer, corpus replays clean (go.dev/issue/75804)"
        continue
      fi
    fi
    cat "$log"
    echo "FAIL: $pkg $fn: a real finding (see above; a reproducer is under $corpus when one was written)"
    status=1
  done
done
exit $status

#!/usr/bin/env bash
# Test runner: unit tests (cmocka binaries under build/san/tests) and
# integration tests (pytest under tests/integration, run by Debian's
# /usr/bin/python3 so that python3-kubernetes is importable).
# Prints a closing "N passed, N failed, N skipped" line over both.
#   tests/run.sh            everything
#   tests/run.sh unit       unit tests only
#   tests/run.sh integration [pytest args]
set -uo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
[ $# -gt 0 ] && shift
passed=0 failed=0 skipped=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export WF_FAKE_NVML=${WF_FAKE_NVML:-$PWD/build/san/tests/libfake_nvml.so}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ "$what" = all ] || [ "$what" = unit ]; then
  for t in build/san/tests/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    if [ "$rc" -ne 0 ]; then
      printf '%s\n' "$out" | tail -40
      echo "FAIL $t (rc=$rc)"
    else
      echo "ok   $t ($p passed)"
    fi
  done
fi

if [ "$what" = all ] || [ "$what" = integration ]; then
  log=$(mktemp)
  WHARF_BIN=${WHARF_BIN:-build/san/wharf} /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@" 2>&1 | tee "$log"
  line=$(grep -E '^(=+ )?[0-9]+ (passed|failed|skipped|error)' "$log" | tail -1)
  for kind in passed failed skipped error errors; do
    n=$(printf '%s' "$line" | grep -oE "[0-9]+ $kind\b" | grep -oE '^[0-9]+' || true)
    n=${n:-0}
    case $kind in
      passed) passed=$((passed + n)) ;;
      failed|error|errors) failed=$((failed + n)) ;;
      skipped) skipped=$((skipped + n)) ;;
    esac
  done
  [ -n "$line" ] || failed=$((failed + 1))
  rm -f "$log"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Builds Strand with warnings as errors and runs every test (unit, integration, fuzz smoke).
# Ends with the line "N passed, N failed" (counting individual criterion tests) and exits
# non-zero if anything failed or did not build. The integration tests share one standalone
# ZooKeeper started here ($STRAND_TEST_ZK; each broker gets a chroot of its own) and stopped at
# the end, whatever happens.
#
#   ./tests/run.sh            debug-optimized build in build/
#   ./tests/run.sh --asan     the same under ASan + UBSan, in build-asan/
#   ./tests/run.sh --tsan     the same under ThreadSanitizer, in build-tsan/ (see below)
#   ./tests/run.sh --suite unit   only one meson suite (unit | integration)
# Leak checks are off by default (ASAN_OPTIONS detect_leaks=0): libcriterion's runner leaks 48
# bytes of its own in some binaries. For the brokers' leak checks run with
# ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 STRAND_TEST_GRACEFUL_CLEANUP=1 STRAND_KEEP_TEST_DIRS=1
# and grep /tmp/strand-it-*/broker.log for "ERROR: LeakSanitizer".
#
# --tsan: strand-broker and the tools are built with -fsanitize=thread in build-tsan/, and the
# integration tests (built plain in build-tsan-tests/ with -Dtest_bin_dir=build-tsan) start those:
# criterion cannot run under TSan at all (its boxfort arena looks for free address space where
# TSan keeps its shadow: "criterion: Could not initialize inheritable arena: Resource temporarily
# unavailable", Criterion issue #274; no criterion option avoids it), so the unit tests and the
# in-process controller tests run uninstrumented there. TSAN_OPTIONS has halt_on_error=1 (a race
# aborts the broker, whose report lands in its broker.log: keep the dirs with
# STRAND_KEEP_TEST_DIRS=1 and grep them for "WARNING: ThreadSanitizer") and tests/tsan.supp
# (third-party internals only, each one explained there). Tests run one binary at a time with a
# timeout multiplier of 3 (TSan makes the brokers 5-15x slower); no fuzz smoke.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)

builddir=build
setup_args=(--buildtype=debugoptimized -Dwerror=true -Dtests=true)
suite_args=()
tsan=0
while [ $# -gt 0 ]; do
  case "$1" in
    --asan) builddir=build-asan; setup_args+=(-Db_sanitize=address,undefined -Db_lundef=false) ;;
    --tsan) builddir=build-tsan-tests; tsan=1; setup_args+=(-Dtest_bin_dir="$root/build-tsan") ;;
    --suite) suite_args+=(--suite "$2"); shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

. deploy/deps.sh
strand_install_deps || { echo "0 passed, 1 failed"; exit 1; }

fail_build() { echo "build failed: $1" >&2; echo "0 passed, 1 failed"; exit 1; }

if [ "$tsan" = 1 ]; then
  # static: meson sets LD_LIBRARY_PATH to the test build's plain libstrand.so, which would win
  tsan_args=(--buildtype=debugoptimized -Dwerror=true -Dtests=false -Db_sanitize=thread -Db_lundef=false
             -Ddefault_library=static)
  if [ -f build-tsan/build.ninja ]; then
    meson setup --reconfigure build-tsan "${tsan_args[@]}" >/dev/null || fail_build "meson setup (tsan)"
  else
    meson setup build-tsan "${tsan_args[@]}" || fail_build "meson setup (tsan)"
  fi
  ninja -C build-tsan || fail_build "ninja (tsan)"
fi
if [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir" "${setup_args[@]}" >/dev/null || fail_build "meson setup"
else
  meson setup "$builddir" "${setup_args[@]}" || fail_build "meson setup"
fi
ninja -C "$builddir" || fail_build "ninja"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp}
test_args=(--num-processes 2)
[ "$tsan" = 1 ] && test_args=(--num-processes 1 --timeout-multiplier 3)

# One ZooKeeper for the whole run (tests/integration/zk_server.c): it follows this shell
# (PR_SET_PDEATHSIG) and its JVM follows it, so nothing outlives the run. Without it (no Java?)
# each test binary starts its own, and says why if it cannot.
zk_pid=
zk_addr_file=
stop_zk() {
  if [ -n "$zk_pid" ]; then
    kill -TERM "$zk_pid" 2>/dev/null
    wait "$zk_pid" 2>/dev/null
    zk_pid=
  fi
  [ -n "$zk_addr_file" ] && rm -f "$zk_addr_file"
}
trap stop_zk EXIT
trap 'stop_zk; exit 130' INT TERM
if [ -z "${STRAND_TEST_ZK:-}" ] && [ -x "$builddir/tests/integration/zk_server" ]; then
  zk_addr_file=$(mktemp)
  rm -f "$zk_addr_file"
  "$builddir/tests/integration/zk_server" "$zk_addr_file" 2>"$builddir/zk_server.log" &
  zk_pid=$!
  for _ in $(seq 1 300); do
    [ -s "$zk_addr_file" ] && break
    kill -0 "$zk_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -s "$zk_addr_file" ]; then
    STRAND_TEST_ZK=$(cat "$zk_addr_file")
    export STRAND_TEST_ZK
    echo "ZooKeeper for the tests: $STRAND_TEST_ZK"
  else
    echo "could not start the shared ZooKeeper (see $builddir/zk_server.log); each test binary starts its own" >&2
    stop_zk
  fi
fi

meson test -C "$builddir" --print-errorlogs "${test_args[@]}" "${suite_args[@]}"
meson_rc=$?
stop_zk

# A short libFuzzer smoke of each harness (tests/fuzz/README.md), only when clang is present:
# the batch reader 20 s, then the cluster's decoders 30 s together (znode codecs 5 s, the
# controller over a fake ZooKeeper 10 s, the broker's request path 15 s), each from its
# committed seeds in tests/fuzz/corpus/ (copied: new inputs never land in the tree). Each
# harness counts as one test.
fuzz_ok=0
fuzz_failed=0
if [ ${#suite_args[@]} -eq 0 ] && [ "$tsan" = 0 ] && command -v clang >/dev/null 2>&1; then
  fuzzdir=build-fuzz
  fuzz_smoke=(fuzz_batch_reader:20 fuzz_znode:5 fuzz_controller:10 fuzz_request:15)
  targets=()
  for h in "${fuzz_smoke[@]}"; do targets+=("tests/fuzz/${h%%:*}"); done
  if [ -f "$fuzzdir/build.ninja" ] || CC=clang meson setup "$fuzzdir" -Dfuzz=true -Dtests=false --buildtype=debugoptimized >/dev/null; then
    if ninja -C "$fuzzdir" "${targets[@]}" >/dev/null; then
      for h in "${fuzz_smoke[@]}"; do
        name=${h%%:*}; secs=${h##*:}
        echo "fuzz smoke: $name for $secs s"
        corpus=$(mktemp -d)
        if [ "$name" = fuzz_batch_reader ]; then
          cp tests/fuzz/corpus/* "$corpus"/ 2>/dev/null || true
        else
          cp tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
        fi
        if (cd "$corpus" && "$root/$fuzzdir/tests/fuzz/$name" -max_total_time="$secs" -print_final_stats=0 \
              -artifact_prefix="$root/$fuzzdir/" "$corpus") > "$fuzzdir/fuzz-smoke-$name.log" 2>&1; then
          fuzz_ok=$((fuzz_ok + 1))
        else
          fuzz_failed=$((fuzz_failed + 1)); tail -n 40 "$fuzzdir/fuzz-smoke-$name.log"
        fi
        rm -rf "$corpus"
      done
    else
      fuzz_failed=1; echo "fuzz harnesses did not build" >&2
    fi
  else
    fuzz_failed=1; echo "fuzz build dir could not be configured" >&2
  fi
fi

python3 - "$builddir/meson-logs/testlog.json" "$meson_rc" "$fuzz_ok" "$fuzz_failed" <<'PY'
import json, re, sys
path, meson_rc, fuzz_ok, fuzz_failed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
passed = failed = skipped = 0
synth = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
# the fault suite (tests/faults/run.sh) ends with its own "N passed, N failed[, N skipped]" line,
# one count per scenario and seed; skipped scenarios (no namespaces here) are not passes
closing = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$", re.M)
try:
    lines = open(path).read().splitlines()
except OSError:
    lines = []
for line in lines:
    t = json.loads(line)
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    m = synth.findall(out)
    ok = t.get("result") in ("OK", "EXPECTEDFAIL", "SKIP")
    c = closing.findall(out) if ":faults /" in t.get("name", "") else []
    if c:
        p_, f_, s_ = c[-1]
        passed += int(p_)
        failed += int(f_)
        skipped += int(s_ or 0)
        if not ok and int(f_) == 0:
            failed += 1
        continue
    if m:
        tested, passing, failing, crashing = map(int, m[-1])
        passed += passing
        failed += failing + crashing
        if not ok and failing + crashing == 0:
            failed += 1          # the binary failed outside any test (timeout, leak, exit code)
    else:
        if ok: passed += 1
        else: failed += 1
passed += fuzz_ok
failed += fuzz_failed
if meson_rc != 0 and failed == 0:
    failed = 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY

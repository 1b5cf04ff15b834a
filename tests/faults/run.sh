#!/usr/bin/env bash
# The fault suite: every scenario of tests/faults (strand-faults --list) at a few seeds, each seed
# in a fresh cluster of 3 brokers and a 3-node ZooKeeper ensemble in network namespaces. Prints
# the driver's log, one "RESULT <scenario> seed=<S> PASS|FAIL|SKIP ..." line per scenario and
# seed, and ends with "N passed, N failed" (", N skipped" when some could not run here). Needs
# root (namespaces, nftables, loop mounts); without it every scenario is reported SKIPPED and
# the exit status is 77, never a pass.
#
#   tests/faults/run.sh                          all scenarios at seeds 1 2 3
#   tests/faults/run.sh --seeds "7 8"            ... at other seeds
#   tests/faults/run.sh --seed S --scenario NAME replay one scenario (NAME may be a comma list)
#   tests/faults/run.sh --scenario nemesis --duration 600 --seed 5   a long random nemesis
#   tests/faults/run.sh --quick                  the CI version (shorter holds, one seed + the
#                                                nemesis at two more)
# Other options: --driver PATH (strand-faults), --broker PATH (strand-broker); by default both
# come from build/ (built with `ninja -C build`). $STRAND_KEEP_TEST_DIRS keeps the run
# directories (/tmp/strand-faults-<pid>: broker and ZooKeeper logs, run.log).
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)

driver=${STRAND_FAULTS_DRIVER:-$root/build/tests/faults/strand-faults}
broker=${STRAND_BROKER:-$root/build/broker/strand-broker}
seeds="1 2 3"
scenario=
duration=
quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seeds="$2"; shift ;;
    --seeds) seeds="$2"; shift ;;
    --scenario) scenario="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --quick) quick=1 ;;
    --driver) driver="$2"; shift ;;
    --broker) broker="$2"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ ! -x "$driver" ] || [ ! -x "$broker" ]; then
  echo "run.sh: build first (ninja -C build): missing $driver or $broker" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

passed=0 failed=0 skipped=0
child=
cleanup() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    sleep 1
    kill -KILL "$child" 2>/dev/null
    wait "$child" 2>/dev/null
    child=
  fi
  # namespaces, mounts and loop devices of drivers that are gone
  "$driver" --cleanup >/dev/null 2>&1
}
trap 'cleanup; echo "$passed passed, $((failed + 1)) failed"; exit 130' INT TERM

# one driver run: its output is shown as it comes, its RESULT lines counted
run_driver() {
  local out rc
  out=$(mktemp)
  "$driver" --broker "$broker" "$@" > >(tee "$out") 2>&1 &
  child=$!
  wait "$child"
  rc=$?
  child=
  sleep 0.2
  if [ "$rc" = 77 ]; then
    s=$(sed -n 's/^0 passed, 0 failed, \([0-9]*\) skipped$/\1/p' "$out" | tail -n1)
    skipped=$((skipped + ${s:-1}))
    rm -f "$out"
    return 77
  fi
  local p f s
  p=$(grep -cE '^RESULT .* PASS ' "$out")
  f=$(grep -cE '^RESULT .* FAIL ' "$out")
  s=$(grep -cE '^RESULT .* SKIP ' "$out")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  # the driver died before reporting every scenario it was given
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then failed=$((failed + 1)); fi
  rm -f "$out"
  return "$rc"
}

args=()
[ -n "$duration" ] && args+=(--duration "$duration")
[ "$quick" = 1 ] && args+=(--quick)
if [ "$quick" = 1 ] && [ -z "$scenario" ]; then
  # CI: every scenario but the nemesis at one seed, then the nemesis at two more seeds.
  all=$("$driver" --list | awk '{print $1}' | grep -vE '^nemesis$' | paste -sd, -)
  run_driver --seed "${seeds%% *}" --scenario "$all" "${args[@]}"
  rc=$?
  if [ "$rc" != 77 ]; then
    run_driver --seed 101 --scenario nemesis "${args[@]}"
    run_driver --seed 102 --scenario nemesis "${args[@]}"
  fi
else
  for s in $seeds; do
    if [ -n "$scenario" ]; then
      run_driver --seed "$s" --scenario "$scenario" "${args[@]}"
    else
      run_driver --seed "$s" "${args[@]}"
    fi
    [ $? = 77 ] && break
  done
fi
cleanup

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -gt 0 ] && exit 1
[ "$passed" = 0 ] && [ "$skipped" -gt 0 ] && exit 77
exit 0

# shellcheck shell=bash
# `./build.sh bench-service [--users N] [--rate N] [--claims N] [--grace S] [--back N]`: the app service's
# presence guard under load (issue 13): 10,000 users in the AppPlatform runtime host (sim/runtime/host.js,
# the shipped service on PostgreSQL, real timers) — heap per idle user, claim → PBX SetPresence p50/p99 at
# 100 claims/s, a mass disconnect paced to ≤ 200 SetPresence/s that restores nobody who came back within the
# grace period; then the fleet view (service/bench/fleet-bench.js: heap per client, GetFleet's page time at
# 10,000 clients). A measurement, not a test (not part of ./build.sh test). Sourced by build.sh (say, ensure_node,
# start_pg).
run_bench_service() {
  ensure_service_runtime
  start_pg target/pg-test
  say "measuring the service's presence guard (service/bench/guard-bench.js)"
  node service/bench/guard-bench.js "$@"
  say "measuring the fleet view (service/bench/fleet-bench.js)"
  node service/bench/fleet-bench.js
}

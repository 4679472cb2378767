# shellcheck shell=bash
# `./build.sh bench [--minutes N] [--calls N] [--presence N]`: the hidden app's measurements from a real
# Chromium run, each printed next to its target (issue 5): bytes loaded (raw, gzip), page load → first hub
# request, call event → hub request p50/p95, hub change → PBX presence p50/p95, hub and service requests per
# minute while nothing changes, JS heap growth. The idle phase lasts 10 minutes at a 1 s poll interval by
# default; --minutes 1 gives a quick run. Not part of ./build.sh test.
# Sourced by build.sh, which provides say, build_wasm and ensure_browser. Wire it up there with
#   . tools/bench.sh              and the case line   bench) shift; run_bench "$@" ;;
# The simulators run in the debug build shared with the tests: every timestamp is taken where a message enters
# or leaves a simulator, so their build profile does not change what is measured.
run_bench() {
  build_wasm
  ensure_browser
  start_pg target/pg-test # the shipped service runs on PostgreSQL in the myApps simulator
  say "measuring the hidden app in headless Chromium (10 min by default; --minutes N to change)"
  cargo run -q -p kuando-e2e --bin kuando-bench -- "$@"
}

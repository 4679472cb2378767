#!/usr/bin/env bash
# Kuando Connector build script. Installs whatever is missing, then:
#   ./build.sh          release wasm into pkg/ (cargo + wasm-bindgen --target web, wasm-opt -Oz, glue minified)
#   ./build.sh test     formatting, clippy (native + wasm32), native tests, end-to-end stories in Chromium,
#                       app service tests, browser (wasm-bindgen) tests
#   ./build.sh demo     build, then start the simulators with the real apps and print what to open
#   ./build.sh package [--runtime DIR]  build, then lay out the release tree in dist/<build>/ (see README)
#   ./build.sh screenshots  PNGs of the simulators and the config app (light, dark) in target/screenshots/
#   ./build.sh bench    the hidden app's measurements in a real browser (10 min; --minutes N)
#   ./build.sh bench-service  the service's presence guard with 10,000 users (heap, claim latency, mass disconnect)
#   ./build.sh mutants [FILE...]  mutation testing of the core's decisions (cargo-mutants, pinned; long)
#   ./build.sh help     this text
set -euo pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)
export PATH="$HOME/.cargo/bin:$PATH"

# Chromium flags this machine needs (closed network: no background connections, no component updates).
CHROME_FLAGS=(--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
  --disable-background-networking --disable-component-update --disable-sync --disable-quic)

say() { printf '\n==> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

# The wasm-bindgen version pinned with `=` in Cargo.toml: wasm-bindgen-cli must match it exactly.
pinned_wasm_bindgen() {
  sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1
}

APT_UPDATED=0
apt_install() {
  if ! have apt-get; then
    echo "build.sh: need $* but apt-get is not available; install them by hand" >&2
    exit 1
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ "$APT_UPDATED" -eq 0 ]; then
    $sudo apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_rust() {
  if ! have cargo; then
    echo "build.sh: cargo not found; install Rust with rustup first" >&2
    exit 1
  fi
  if have rustup; then
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown ||
      { say "adding rustup target wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }
    local comp
    for comp in rustfmt clippy; do
      rustup component list --installed 2>/dev/null | grep -q "^$comp" ||
        { say "adding rustup component $comp"; rustup component add "$comp"; }
    done
  fi
}

ensure_wasm_tools() {
  ensure_rust
  local want
  want=$(pinned_wasm_bindgen)
  if [ -z "$want" ]; then
    echo "build.sh: wasm-bindgen is not pinned with = in Cargo.toml" >&2
    exit 1
  fi
  if ! have wasm-bindgen || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$want" ]; then
    say "installing wasm-bindgen-cli $want (a few minutes, once)"
    cargo install -q wasm-bindgen-cli --version "$want" --force
  fi
  if ! have wasm-pack; then
    say "installing wasm-pack (a few minutes, once)"
    cargo install -q wasm-pack
  fi
  ensure_node
  # wasm-opt from the npm registry (pinned in tools/package-lock.json): Debian's binaryen 108 turns
  # wasm-bindgen's externref table into a funcref table, and the app then fails to start.
  # terser (same lock) minifies the wasm-bindgen glue.
  # axe-core (same lock): the accessibility check of the config app and the PBX Manager plugin (e2e).
  if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ ! -x tools/node_modules/.bin/terser ] ||
    [ ! -f tools/node_modules/axe-core/axe.min.js ]; then
    say "installing binaryen (wasm-opt), terser and axe-core from npm"
    (cd tools && npm ci --silent --no-audit --no-fund)
  fi
}

ensure_browser() {
  local missing=()
  have chromium || missing+=(chromium)
  have chromedriver || missing+=(chromium-driver)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt_install "${missing[@]}"
  fi
}

ensure_node() {
  have node || { say "installing nodejs"; apt_install nodejs; }
  have npm || { say "installing npm"; apt_install npm; }
}

# The simulated AppPlatform runtime (sim/runtime/) and its PostgreSQL client (npm pg, pinned in its lock),
# and PostgreSQL itself (tools/pg.sh): the shipped service runs on them in the simulator and in its tests.
ensure_service_runtime() {
  ensure_node
  if [ ! -f sim/runtime/node_modules/pg/package.json ]; then
    say "installing the runtime host's PostgreSQL client (npm pg)"
    (cd sim/runtime && npm ci --silent --no-audit --no-fund)
  fi
  ensure_duktape
  pg_ensure
}

# The service's engine: Debian's Duktape 2.7 (duktape-dev: header, libduktape207) and a C compiler for the
# runtime host sim/runtime/duk/host.c, built into target/duk-host/ when missing or older than its source.
ensure_duktape() {
  local missing=()
  [ -f /usr/include/duktape.h ] || missing+=(duktape-dev)
  have cc || missing+=(gcc libc6-dev)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (the service runs in Duktape)"
    apt_install "${missing[@]}"
  fi
  node -e 'require("./sim/runtime/duk.js").binary()'
}

# Starts the private PostgreSQL cluster under $1 for this run and exports KUANDO_PG_URL; stopped when
# build.sh exits.
start_pg() {
  ensure_service_runtime
  KUANDO_PG_URL=$(pg_start "$1")
  export KUANDO_PG_URL
  PG_DIR=$1
  EXIT_HOOKS+=("pg_stop $1")
}

EXIT_HOOKS=()
run_exit_hooks() {
  local h
  for h in "${EXIT_HOOKS[@]}"; do eval "$h" || true; done
}
trap run_exit_hooks EXIT

# One app's release wasm: cargo feature $1, output name $2 (pkg/$2.js + pkg/$2_bg.wasm). Stable Rust only:
# the release profile (opt-level z, LTO, one codegen unit, panic=abort) and wasm-opt below do the shrinking.
# Each app has its own target directory: both build the same crate into the same file name, and sharing one
# directory would rebuild both apps on every run.
build_one() {
  local feature=$1 name=$2 out="target/wasm-bindgen/$2" tdir="target/wasm-$1"
  cargo build -q --release --lib --target wasm32-unknown-unknown --features "$feature" --target-dir "$tdir"
  rm -rf "$out"
  wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name "$name" \
    "$tdir/wasm32-unknown-unknown/release/kuando_connector.wasm"
  # The wasm features rustc enables by default, named so wasm-opt accepts and keeps them. `--converge` runs
  # -Oz until nothing shrinks; the producers/target-features sections are notes for tools, not the browser.
  # `--low-memory-unused` lets it fold constant offsets into loads and stores: Rust puts the 1 MB stack first
  # and it grows down towards 0, so the first 1 KB is only ever touched by a stack about to overflow
  # (some 800 bytes smaller). After the first `-Oz` round, `--flatten --rereloop` rebuilds every function's
  # control flow with the relooper and a second `-Oz` round folds it down again: 872 bytes (300 gzip) less of
  # the hidden app than `-Oz` alone, however often repeated (measured; `-Os`, `-O3 -Oz`, gufa, type-ssa did
  # not shrink it).
  tools/node_modules/.bin/wasm-opt -Oz --converge --flatten --rereloop -Oz --converge --low-memory-unused --strip-producers --strip-target-features \
    --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
    "$out/${name}_bg.wasm" -o "pkg/${name}_bg.wasm"
  # The glue is half comments and long names; minified it is a third of the size (the readable one stays in
  # target/wasm-bindgen/). Property names, the import object's keys and the ES module's exports are kept.
  tools/node_modules/.bin/terser "$out/$name.js" --module --compress --mangle --output "pkg/$name.js"
  local f raw gz total=0 total_gz=0
  for f in "pkg/${name}_bg.wasm" "pkg/$name.js"; do
    raw=$(wc -c <"$f")
    gz=$(gzip -9c "$f" | wc -c)
    total=$((total + raw))
    total_gz=$((total_gz + gz))
    printf '%-28s %7d bytes (%d gzip)\n' "$f" "$raw" "$gz"
  done
  printf '%-28s %7d bytes (%d gzip)\n' "  wasm + glue" "$total" "$total_gz"
}

# The apps' budgets: what a client loads for the hidden app (htm + shim + glue + wasm) at most 300 KB raw and
# 110 KB gzip -9, and for the config app (htm + shim + css + glue + wasm) at most 160 KB gzip (KB = 1000 bytes,
# as `./build.sh bench` counts). Room to write ordinary Rust with the design card's crates; a size, not a
# timing: checked on every test run so that no change slips over it unnoticed.
check_app_sizes() {
  local f raw=0 gz=0 craw=0 cgz=0
  for f in www/innovaphone-kuando.htm www/innovaphone-kuando.js pkg/kuando_connector.js \
    pkg/kuando_connector_bg.wasm; do
    raw=$((raw + $(wc -c <"$f")))
    gz=$((gz + $(gzip -9cn "$f" | wc -c)))
  done
  for f in www/innovaphone-kuando-config.htm www/innovaphone-kuando-config.js www/*.css pkg/kuando_config.js \
    pkg/kuando_config_bg.wasm; do
    [ -f "$f" ] || continue
    craw=$((craw + $(wc -c <"$f")))
    cgz=$((cgz + $(gzip -9cn "$f" | wc -c)))
  done
  printf 'hidden app loads %d bytes (%d gzip); budget 300000 (110000 gzip)\n' "$raw" "$gz"
  printf 'config app loads %d bytes (%d gzip); budget 160000 gzip\n' "$craw" "$cgz"
  if [ "$raw" -gt 300000 ] || [ "$gz" -gt 110000 ]; then
    echo "build.sh: the hidden app is over its size budget (see ARCHITECTURE.md, Decisions)" >&2
    return 1
  fi
  if [ "$cgz" -gt 160000 ]; then
    echo "build.sh: the config app is over its size budget (see ARCHITECTURE.md, Decisions)" >&2
    return 1
  fi
}

# Release build of both apps into pkg/: the hidden app and the config app are separate wasm files, so the
# always-running hidden app never loads the config UI's code.
build_wasm() {
  ensure_wasm_tools
  say "building release wasm into pkg/"
  mkdir -p pkg
  build_one connector kuando_connector
  # The config app opens only when the user asks for it; it keeps the standard build and its panic hook,
  # so that a bug there shows as a readable message.
  build_one config-ui kuando_config
}

run_tests() {
  ensure_wasm_tools
  ensure_browser
  ensure_node
  say "rustfmt"
  cargo fmt --all -- --check
  say "clippy (native)"
  cargo clippy --workspace --all-targets --quiet -- -D warnings
  say "clippy (wasm32)"
  cargo clippy -p kuando-connector --all-targets --all-features --target wasm32-unknown-unknown --quiet -- -D warnings
  # The end-to-end stories (kuando-e2e) drive the release apps from pkg/ in Chromium.
  build_wasm
  check_app_sizes
  say "package check (httpfiles.zip read back)"
  check_package
  # The shipped service runs on PostgreSQL in the simulator's stories and in its own tests.
  say "PostgreSQL for the app service"
  start_pg target/pg-test
  say "native tests and end-to-end stories"
  cargo test --workspace
  if [ -d service/test ]; then
    say "app service tests (node --test, on PostgreSQL)"
    node --test service/test/
  fi
  say "PBX Manager plugin tests (node --test)"
  node --test manager/test/
  say "browser tests (headless Chromium)"
  start_test_hub
  # The hub client's tests (tests/web_drivers.rs) read the simulator's URL at compile time.
  KUANDO_TEST_HUB="http://127.0.0.1:$TEST_HUB_PORT/" \
    wasm-pack test --headless --chrome --chromedriver "$(command -v chromedriver)"
}

# A hub simulator on a free port for the browser tests, stopped when build.sh exits (also on failure).
# Sets TEST_HUB_PORT once the port answers.
start_test_hub() {
  local log=target/kuando-test-hub.log
  cargo build -q -p kuando-sim # no-op after `cargo test --workspace`
  # The log exists before the simulator starts: the redirection below happens in the forked child, so without
  # this the first sed can run before the file is there (sed exits 2 and set -e ends the run; CI saw it).
  : >"$log"
  target/debug/kuando-sim hub --hub-port 0 >"$log" 2>&1 &
  TEST_HUB_PID=$!
  EXIT_HOOKS+=('kill "$TEST_HUB_PID" 2>/dev/null')
  TEST_HUB_PORT=""
  for _ in $(seq 100); do
    # The line `kuandoHUB simulator: http://127.0.0.1:PORT/ ...` comes once the port is bound.
    TEST_HUB_PORT=$(sed -n 's|^kuandoHUB simulator: http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$log" || true)
    if [ -n "$TEST_HUB_PORT" ] && (: <"/dev/tcp/127.0.0.1/$TEST_HUB_PORT") 2>/dev/null; then
      return 0
    fi
    kill -0 "$TEST_HUB_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "build.sh: the hub simulator for the browser tests did not start (waited up to 10 s); its output:" >&2
  cat "$log" >&2
  exit 1
}

# The release tree as innovaphone's tools lay it out (README "Deploying", pack/src/layout.rs): dist/<build>/ with
# <App-ID>_files and per platform the runtime binary (from --runtime DIR), its icon and httpfiles.zip, plus
# dist/apps.json. Build number: $BUILD, else 1000 + the commit count; label: $LABEL, else dvl.
run_package() {
  local runtime=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --runtime)
        [ $# -ge 2 ] || { echo "build.sh: --runtime needs a folder (with arm/generic, arm64/generic, x86_64/generic)" >&2; exit 2; }
        runtime=(--runtime "$2")
        shift 2
        ;;
      *)
        echo "build.sh package: unknown option '$1' (try --runtime DIR)" >&2
        exit 2
        ;;
    esac
  done
  build_wasm
  local build label
  build=${BUILD:-$((1000 + $(git rev-list --count HEAD 2>/dev/null || echo 0)))}
  label=${LABEL:-dvl}
  cargo build -q --release -p kuando-pack
  say "laying out the release tree in dist/"
  target/release/kuando-pack package --root . --out dist --build "$build" --label "$label" "${runtime[@]}"
}

# The package check on the real build: lay the tree out under target/ and read each httpfiles.zip back.
check_package() {
  local out=target/package-check
  cargo build -q -p kuando-pack
  target/debug/kuando-pack package --root . --out "$out" --build 1 --label test >/dev/null
  target/debug/kuando-pack check "$out"/1/*/innovaphone-kuando/httpfiles.zip
}

run_demo() {
  build_wasm
  say "building the simulators"
  cargo build -q --release -p kuando-sim
  say "PostgreSQL for the app service"
  start_pg target/pg
  say "starting the demo (Ctrl-C stops it)"
  cat <<'GUIDE'
Open the two pages side by side:
  - the myApps launcher http://127.0.0.1:8080/?user=alice : the user's myApps with the hidden connector and
    the config app, a softphone and the user's PBX presence;
  - the kuandoHUB page  http://127.0.0.1:8989/_sim/ : the Busylight as the user sees it and the hub's sources;
  - the PBX Manager     http://127.0.0.1:8080/_sim/manager : the connector's plugin with the app objects
    (./build.sh demo --fresh-pbx starts with none: create them there, then open the launcher).
Then try:
  1. Softphone "Incoming call": the lamp blinks red; "Answer": steady red; "Hang up": the lamp goes back to
     Manual Changer's green.
  2. Presence "Away" in the launcher: the lamp turns yellow.
  3. On the hub page, start an MS Teams call: the user's presence becomes "on the phone (MS Teams)"; end it:
     the presence is exactly what it was before.
  4. In the config app, "Test lamp" and "Test sound"; change a colour and save.
(Other ports: ./build.sh demo --hub-port N --myapps-port M, then set the hub URL in the config app.)
GUIDE
  # Not exec: PostgreSQL is stopped when the demo ends.
  target/release/kuando-sim demo --www www --pkg pkg "$@"
}

. tools/screenshots.sh
. tools/bench.sh
. tools/bench-service.sh
. tools/pg.sh
. tools/mutants.sh

case "${1:-build}" in
  build | "") build_wasm ;;
  test) run_tests ;;
  demo) shift; run_demo "$@" ;;
  package) shift; run_package "$@" ;;
  screenshots) shift; run_screenshots "$@" ;;
  bench) shift; run_bench "$@" ;;
  bench-service) shift; run_bench_service "$@" ;;
  mutants) shift; run_mutants "$@" ;;
  help | -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' ;;
  *)
    echo "build.sh: unknown command '$1' (try ./build.sh help)" >&2
    exit 2
    ;;
esac

# Mutation testing of the core's decisions, sourced by build.sh: `./build.sh mutants [FILE...] [-- ARGS]`.
#
# cargo-mutants (pinned) puts small plausible bugs into the decision modules, one at a time, and runs the
# package's native tests against each: a mutant no test notices ("missed") is a rule the tests do not pin.
# Not part of `./build.sh test` (it takes long: every mutant is a rebuild and a test run).
#
# Scope: the concept's mapping, the engine (its rules, presence, calls, hidden calls), the hub's answer
# classes and parsers, the license rules, the back-off and the trace redaction. Only this package's native
# tests run (the wasm, browser and end-to-end tests do not see a native mutant anyway). Request builders and
# texts (`describe`, `Display`) are left out: a changed word is no changed decision.
#
# Survivors judged harmless are listed in ARCHITECTURE.md ("Mutation testing").

CARGO_MUTANTS_VERSION=27.1.0

MUTANTS_FILES=(src/mapping.rs src/engine/mod.rs src/engine/presence.rs src/engine/calls.rs src/engine/hidden.rs
  src/hub.rs src/license.rs src/backoff.rs src/trace.rs)
# In src/hub.rs only the answers: status and text classes, the parsers, the event labels.
MUTANTS_HUB_FNS='unknown_action|says_no_device|check|check_status|has_ci|json_value|presence_object|get_ci|as_text|as_flag|parse_command_response|parse_probe|parse_current_presence|running_from|parse_own_priority|parse_devices|event_names'
# Texts and debug output, not decisions.
MUTANTS_EXCLUDE='::fmt|describe|trace_text| text -> String|fn dump|HubStatus::as_str'

ensure_cargo_mutants() {
  if [ "$(cargo mutants --version 2>/dev/null)" != "cargo-mutants $CARGO_MUTANTS_VERSION" ]; then
    say "installing cargo-mutants $CARGO_MUTANTS_VERSION"
    cargo install --locked --quiet cargo-mutants --version "$CARGO_MUTANTS_VERSION"
  fi
}

run_mutants() {
  ensure_rust
  ensure_cargo_mutants
  local files=() extra=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --) shift; extra=("$@"); break ;;
      *) files+=("$1"); shift ;;
    esac
  done
  [ ${#files[@]} -eq 0 ] && files=("${MUTANTS_FILES[@]}")
  # Each file, and of src/hub.rs only the answer functions (regex without look-around: one -F per file).
  local args=() f
  for f in "${files[@]}"; do
    args+=(-f "$f")
    if [ "$f" = src/hub.rs ]; then
      args+=(-F "^src/hub\\.rs:.*( in | )($MUTANTS_HUB_FNS)( |\$)")
    else
      args+=(-F "^${f//./\\.}:")
    fi
  done
  local out=target/mutants
  mkdir -p "$out"
  say "mutation testing: $(cargo mutants --list -p kuando-connector "${args[@]}" -E "$MUTANTS_EXCLUDE" 2>/dev/null | wc -l) mutants in ${files[*]}"
  local start=$SECONDS status=0
  # No debug info: each mutant is a rebuild and a relink of every test binary, and this halves it. The
  # property tests run with one fixed seed, so a mutant is judged by its own effect, never by a random case.
  PROPTEST_RNG_SEED=${PROPTEST_RNG_SEED:-22} cargo mutants -p kuando-connector "${args[@]}" -E "$MUTANTS_EXCLUDE" \
    --jobs "${MUTANTS_JOBS:-1}" --timeout "${MUTANTS_TIMEOUT:-90}" \
    --cargo-arg=--config=profile.dev.debug=0 --output "$out" "${extra[@]}" || status=$?
  local dir=$out/mutants.out n
  local caught missed timeout unviable
  caught=$(wc -l <"$dir/caught.txt") missed=$(wc -l <"$dir/missed.txt")
  timeout=$(wc -l <"$dir/timeout.txt") unviable=$(wc -l <"$dir/unviable.txt")
  n=$((caught + missed + timeout))
  say "mutants: $caught caught, $missed missed, $timeout timed out (count as caught: the test would hang), $unviable unviable"
  if [ "$n" -gt 0 ]; then
    echo "caught $(((caught + timeout) * 1000 / n / 10)).$(((caught + timeout) * 1000 / n % 10)) % of $n viable mutants in $((SECONDS - start)) s"
  fi
  if [ "$missed" -gt 0 ]; then
    echo "missed (see ARCHITECTURE.md for the ones judged harmless):"
    sed 's/^/  /' "$dir/missed.txt"
  fi
  # cargo-mutants exits 2 when mutants were missed: that is a result here, not a failure of the run.
  [ "$status" -eq 0 ] || [ "$status" -eq 2 ] || [ "$status" -eq 3 ]
}

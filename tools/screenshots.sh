# shellcheck shell=bash
# `./build.sh screenshots`: PNGs of what a person sees, saved under target/screenshots/:
#   myapps-launcher.png   the myApps simulator's launcher (alice, a call ringing, the config app inside)
#   hub-lamp.png          the kuandoHUB simulator's lamp page /_sim/ (the call answered: steady red)
#   config-dark.png       the config app in the dark scheme (start.scheme=dark)
#   config-light.png      the same after myApps switches to light (SetScheme)
#   manager-light.png     the simulated PBX Manager with the connector's plugin (both app objects ticked)
#   manager-dark.png      the same in the dark scheme
#   status-dark.png       the config app's live status panel during that call (dark)
#   status-light.png      the same, light
#   fleet-light.png       the PBX Manager's Users view: alice fine, bob's hub stopped, carol unlicensed
#   fleet-dark.png        the same in the dark scheme
# Sourced by build.sh, which provides say, build_wasm and ensure_browser. Wire it up there with
#   . tools/screenshots.sh        and the case line   screenshots) shift; run_screenshots "$@" ;;
# Everything runs on 127.0.0.1: both simulators in-process on free ports, headless Chromium via chromedriver.
run_screenshots() {
  build_wasm
  ensure_browser
  start_pg target/pg-test # the shipped service runs on PostgreSQL in the myApps simulator
  say "screenshots (headless Chromium) into target/screenshots/"
  cargo run -q -p kuando-e2e --bin kuando-screenshots -- "$@"
}

// Shim: load the wasm and hand it the window. All logic and UI are Rust.
import init, { startConfig } from "./kuando_config.js";
init().then(() => startConfig(window));

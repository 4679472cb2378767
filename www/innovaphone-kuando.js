// Shim: load the wasm and hand it the window. All logic is Rust.
import init, { startConnector } from "./pkg/kuando_connector.js";
init().then(() => startConnector(window));

// Shim: load the wasm and hand it the window. All logic is Rust.
import init, { startConnector } from "./kuando_connector.js";
init().then(() => startConnector(window));

//! Trace output: one `console.log` per line the core produced (already prefixed and redacted there).

pub fn log(line: &str) {
    web_sys::console::log_1(&line.into());
}

//! `TraceRing`: the hidden app's last trace lines, for "Copy diagnosis" (issue 14). Every line the engine and
//! the app write goes in, also those the trace flags keep off the console (debug, hub, calls, presence), so
//! that support sees the detail without asking the user to switch flags on and reproduce. Bounded: an app
//! that runs all day keeps at most [`TRACE_RING_LINES`] lines; the oldest go first. The lines are complete
//! trace lines, prefixed and redacted where they were made.

/// How many lines the ring keeps.
pub const TRACE_RING_LINES: usize = 200;

/// A bounded ring of text lines. A `Vec` with a write position rather than a `VecDeque` (see
/// [`crate::fifo`] for why the hidden app avoids `VecDeque`).
#[derive(Debug, Clone, Default)]
pub struct TraceRing {
    lines: Vec<String>,
    /// Where the next line goes once the ring is full (the oldest line).
    next: usize,
}

impl TraceRing {
    /// Keeps `line` (a trace text of several lines is kept as one entry).
    pub fn push(&mut self, line: &str) {
        if self.lines.len() < TRACE_RING_LINES {
            self.lines.push(line.to_string());
        } else {
            // `get_mut` rather than indexing: no bounds-check panic path in the hidden app (`next` is always
            // below the bound here).
            if let Some(slot) = self.lines.get_mut(self.next) {
                *slot = line.to_string();
            }
            self.next = (self.next + 1) % TRACE_RING_LINES;
        }
    }

    /// The lines kept, oldest first: the older part, then the newer one.
    pub fn parts(&self) -> (&[String], &[String]) {
        // `split_at_checked`: no panic path (`next` never exceeds the length).
        let (new, old) = self
            .lines
            .split_at_checked(self.next)
            .unwrap_or((&self.lines, &[]));
        (old, new)
    }

    /// The lines kept, oldest first.
    pub fn lines(&self) -> impl Iterator<Item = &String> {
        let (old, new) = self.parts();
        old.iter().chain(new.iter())
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_lines_in_order_and_never_more_than_the_bound() {
        let mut r = TraceRing::default();
        assert!(r.is_empty());
        r.push("a");
        r.push("b");
        assert_eq!(r.lines().cloned().collect::<Vec<_>>(), ["a", "b"]);
        for i in 0..(TRACE_RING_LINES * 3 + 7) {
            r.push(&format!("line {i}"));
        }
        assert_eq!(r.len(), TRACE_RING_LINES);
        let lines: Vec<String> = r.lines().cloned().collect();
        let last = TRACE_RING_LINES * 3 + 6;
        assert_eq!(
            lines.last().map(String::as_str),
            Some(format!("line {last}").as_str())
        );
        assert_eq!(
            lines[0],
            format!("line {}", last + 1 - TRACE_RING_LINES),
            "oldest first"
        );
    }
}

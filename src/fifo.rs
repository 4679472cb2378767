//! The output queues of the sans-IO state machines.

/// A first-in-first-out queue on a `Vec`. The queues here hold a handful of items between two polls, so
/// taking from the front by moving the rest is free in practice, and a `Vec` per item type is far less wasm
/// than `VecDeque`'s ring buffer (each item type instantiates its own grow/wrap/drain code).
#[derive(Debug, Clone)]
pub struct Fifo<T>(Vec<T>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(Vec::new())
    }
}

impl<T> Fifo<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push_back(&mut self, item: T) {
        self.0.push(item);
    }

    pub fn pop_front(&mut self) -> Option<T> {
        if self.0.is_empty() {
            None
        } else {
            Some(self.0.remove(0))
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::Fifo;

    #[test]
    fn items_come_out_in_the_order_they_went_in() {
        let mut q = Fifo::new();
        assert_eq!(q.pop_front(), None::<u8>);
        q.push_back(1);
        q.push_back(2);
        assert_eq!(q.pop_front(), Some(1));
        q.push_back(3);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop_front(), Some(2));
        assert_eq!(q.pop_front(), Some(3));
        assert!(q.is_empty());
    }
}

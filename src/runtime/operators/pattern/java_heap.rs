//! A priority queue that breaks ties as `java.util.PriorityQueue` does (a binary heap: `offer`
//! sifts up, `poll` moves the last element to the root and sifts it down, a bulk removal compacts
//! the array and heapifies it again). Flink keeps completed matches in one, ordered by their first
//! row only, so which of two matches with the same first row comes out first is the heap's doing;
//! keeping the same heap gives the same matches as Flink.

/// A binary heap of `T` ordered by `key` (smallest first), ties left where the heap puts them.
pub struct JavaHeap<T> {
    items: Vec<T>,
    key: fn(&T) -> u64,
}

impl<T> JavaHeap<T> {
    pub fn new(key: fn(&T) -> u64) -> Self {
        Self {
            items: Vec::new(),
            key,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items, in array order.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    pub fn peek(&self) -> Option<&T> {
        self.items.first()
    }

    /// The items in the heap's array order (as Java iterates a PriorityQueue).
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    pub fn offer(&mut self, item: T) {
        self.items.push(item);
        let mut k = self.items.len() - 1;
        while k > 0 {
            let parent = (k - 1) / 2;
            if (self.key)(&self.items[k]) >= (self.key)(&self.items[parent]) {
                break;
            }
            self.items.swap(k, parent);
            k = parent;
        }
    }

    pub fn poll(&mut self) -> Option<T> {
        if self.items.is_empty() {
            return None;
        }
        let last = self.items.len() - 1;
        self.items.swap(0, last);
        let top = self.items.pop();
        self.sift_down(0);
        top
    }

    /// Removes the items `remove` picks, as `PriorityQueue.removeAll` does.
    pub fn remove_where(&mut self, remove: impl Fn(&T) -> bool) {
        let before = self.items.len();
        self.items.retain(|item| !remove(item));
        if self.items.len() != before {
            for i in (0..self.items.len() / 2).rev() {
                self.sift_down(i);
            }
        }
    }

    fn sift_down(&mut self, mut k: usize) {
        let n = self.items.len();
        while 2 * k + 1 < n {
            let mut child = 2 * k + 1;
            let right = child + 1;
            if right < n && (self.key)(&self.items[child]) > (self.key)(&self.items[right]) {
                child = right;
            }
            if (self.key)(&self.items[k]) <= (self.key)(&self.items[child]) {
                break;
            }
            self.items.swap(k, child);
            k = child;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_come_out_as_javas_priority_queue_lets_them() {
        // (key, name): b1 offered first, then a, then b2; a comes out, then b2 (moved to the root
        // by the poll and not sifted below its equal), then b1.
        let mut heap = JavaHeap::new(|x: &(u64, &str)| x.0);
        heap.offer((2, "b1"));
        heap.offer((1, "a"));
        heap.offer((2, "b2"));
        let order: Vec<&str> = std::iter::from_fn(|| heap.poll().map(|x| x.1)).collect();
        assert_eq!(order, ["a", "b2", "b1"]);
    }
}

//! Adjacency lists packed in one flat array (compressed rows), for the
//! circuit's gates and attribution's atoms: one allocation instead of one
//! per list, and a list is a slice of contiguous memory.

/// Lists of `u32` in one flat array: list `i` is
/// `items[start[i]..start[i + 1]]`.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    start: Vec<u32>,
    items: Vec<u32>,
}

impl Rows {
    /// Packs `lists`, keeping their order: row `i` is `lists[i]`.
    pub(crate) fn from_lists(lists: &[Vec<u32>]) -> Rows {
        let mut rows = Rows { start: Vec::with_capacity(lists.len() + 1), items: Vec::new() };
        rows.start.push(0);
        for list in lists {
            rows.items.extend_from_slice(list);
            rows.start.push(u32::try_from(rows.items.len()).expect("fewer than 2^32 edges"));
        }
        rows
    }

    /// Row `i`.
    #[inline]
    pub(crate) fn of(&self, i: u32) -> &[u32] {
        &self.items[self.start[i as usize] as usize..self.start[i as usize + 1] as usize]
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.start.len() - 1
    }
}

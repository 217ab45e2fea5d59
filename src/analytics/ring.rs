//! [`Ring`]: a fixed number of cells, each holding the data of one time period ("epoch": the
//! period's start divided by its width, counted from the Unix epoch). Period `e` lives in cell
//! `e % len`, so the ring forgets a period when the period `len` later comes in. This module
//! knows nothing of what a cell holds, nor of the current time.

/// `len` cells, each tagged with the epoch its data belongs to.
#[derive(Debug)]
pub(super) struct Ring<T> {
    cells: Vec<Cell<T>>,
}

#[derive(Debug)]
struct Cell<T> {
    /// The epoch of `data`; `None` while the cell was never written.
    epoch: Option<u64>,
    data: T,
}

impl<T: Default> Ring<T> {
    /// `len` empty cells (at least one).
    pub(super) fn new(len: usize) -> Ring<T> {
        let cells = (0..len.max(1))
            .map(|_| Cell {
                epoch: None,
                data: T::default(),
            })
            .collect();
        Ring { cells }
    }

    /// The cell for `epoch`, to add to: emptied first when it held an older epoch. `None` when
    /// the cell already holds a newer epoch (`epoch` is older than the ring remembers).
    pub(super) fn slot_mut(&mut self, epoch: u64) -> Option<&mut T> {
        let index = self.index(epoch);
        let cell = &mut self.cells[index];
        match cell.epoch {
            Some(held) if held == epoch => {}
            Some(held) if held > epoch => return None,
            _ => {
                cell.epoch = Some(epoch);
                cell.data = T::default();
            }
        }
        Some(&mut cell.data)
    }

    /// The data of `epoch`, if the ring holds exactly that epoch.
    pub(super) fn get(&self, epoch: u64) -> Option<&T> {
        let cell = &self.cells[self.index(epoch)];
        (cell.epoch == Some(epoch)).then_some(&cell.data)
    }

    /// The data of every cell ever written, whatever its epoch.
    pub(super) fn held(&self) -> impl Iterator<Item = &T> {
        self.cells
            .iter()
            .filter(|cell| cell.epoch.is_some())
            .map(|cell| &cell.data)
    }

    fn index(&self, epoch: u64) -> usize {
        // The remainder is below `cells.len()`, a usize, so the narrowing is exact.
        (epoch % self.cells.len() as u64) as usize
    }
}

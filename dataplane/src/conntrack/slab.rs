//! A vector in fixed chunks, for the shard's entries. Growing never moves what exists
//! and leaves no freed block behind: a doubling `Vec` of 10M entries copies 640 MB in one
//! go (a worker stall), and the smaller blocks it frees on the way stay resident in the
//! allocator's heap, which RSS counts. A chunk's memory is reserved whole but touched
//! only as it fills; chunks (16 MiB of entries) after the first are backed by huge pages
//! (a random lookup in a large table then costs no page walk); the first stays in small
//! pages for small tables.

use std::ops::{Index, IndexMut};

const CHUNK_BITS: u32 = 18;
const CHUNK: usize = 1 << CHUNK_BITS;

pub struct Chunked<T> {
    /// Each with capacity `CHUNK`, full but the last.
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Chunked<T> {
    pub fn new() -> Chunked<T> {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i >> CHUNK_BITS)?.get(i & (CHUNK - 1))
    }

    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks
            .get_mut(i >> CHUNK_BITS)?
            .get_mut(i & (CHUNK - 1))
    }

    /// Appends `x`; returns its index.
    pub fn push(&mut self, x: T) -> usize {
        if self.len == self.chunks.len() * CHUNK {
            let mut c = Vec::with_capacity(CHUNK);
            if !self.chunks.is_empty() {
                memhint::advise_huge_pages(c.spare_capacity_mut());
            }
            self.chunks.push(c);
        }
        let i = self.len;
        self.chunks[i >> CHUNK_BITS].push(x);
        self.len += 1;
        i
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        self.get(i).expect("index within the slab")
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        self.get_mut(i).expect("index within the slab")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_across_chunks() {
        let mut s: Chunked<u32> = Chunked::new();
        let n = CHUNK as u32 * 2 + 100;
        for i in 0..n {
            assert_eq!(s.push(i * 3), i as usize);
        }
        assert_eq!(s.len(), n as usize);
        assert_eq!(s.get(CHUNK * 2 - 1), Some(&(CHUNK as u32 * 6 - 3)));
        assert_eq!(s.get(n as usize), None);
        s[CHUNK] = 7;
        assert_eq!(s.iter().nth(CHUNK), Some(&7));
        assert_eq!(s.iter().count(), n as usize);
        assert_eq!(s.iter().last(), Some(&((n - 1) * 3)));
    }
}

//! [`CallArena`]: a global allocator for plugins, made for how trawl runs them.
//!
//! Every call to a plugin runs in a fresh instance whose memory is thrown away when the
//! call ends. Freeing small blocks one by one, as a general-purpose allocator does, is
//! then work for nothing: the arena hands out small blocks by bumping a pointer through
//! 64 KiB chunks and forgets them when they are freed, except the most recent one, which
//! it takes back (so a growing `String` or `Vec` that is reallocated while nothing else
//! was allocated grows in place). Blocks over 4 KiB go to the system allocator and are
//! freed as usual, so a plugin that reads a large body and drops it gets the memory back.
//!
//! The cost is memory: small blocks freed in the middle of a call are not reused until
//! the call ends. A plugin that allocates small temporary values in a long loop (per DOM
//! node of a huge page, say) should keep the default allocator. Opt in with
//!
//! ```
//! #[cfg(target_arch = "wasm32")]
//! #[global_allocator]
//! static ALLOCATOR: trawl_sdk::arena::CallArena = trawl_sdk::arena::CallArena::new();
//! ```
//!
//! On other targets (a plugin's native `cargo test`, which runs tests on many threads)
//! the arena passes every request to the system allocator.

// A global allocator cannot be written without `unsafe`: every block below is a range
// of a chunk or a system block, with the SAFETY notes saying why.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Blocks up to this size (and alignment) come from the arena.
pub const SMALL: usize = 4096;
/// The arena takes memory from the system allocator in chunks of this size.
pub const CHUNK: usize = 64 * 1024;

/// A bump allocator for small blocks, backed by the system allocator. See the
/// [module documentation](self).
#[derive(Debug)]
pub struct CallArena {
    #[cfg(target_arch = "wasm32")]
    bump: Bump,
}

impl CallArena {
    /// An empty arena; it takes its first chunk on the first small allocation.
    pub const fn new() -> Self {
        Self {
            #[cfg(target_arch = "wasm32")]
            bump: Bump::new(),
        }
    }
}

impl Default for CallArena {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: wasm32 plugins have one thread, so the cells are never shared between threads;
// on other targets the arena holds nothing.
unsafe impl Sync for CallArena {}

fn small(layout: Layout) -> bool {
    layout.size() <= SMALL && layout.align() <= SMALL
}

/// The bump allocator of one thread: the current chunk's next free byte and end, and the
/// start of the last block handed out (0 when that block cannot be taken back).
#[derive(Debug)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // used on wasm, tested natively
struct Bump {
    next: Cell<usize>,
    end: Cell<usize>,
    last: Cell<usize>,
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
impl Bump {
    const fn new() -> Self {
        Self {
            next: Cell::new(0),
            end: Cell::new(0),
            last: Cell::new(0),
        }
    }

    /// A block for a small `layout`, or null when the system allocator has no chunk.
    fn alloc(&self, layout: Layout) -> *mut u8 {
        // Alignments are powers of two: a mask, not a division.
        let mask = layout.align() - 1;
        let mut start = (self.next.get() + mask) & !mask;
        if self.end.get() == 0 || start + layout.size() > self.end.get() {
            // SAFETY: CHUNK is not zero and SMALL is a power of two.
            let chunk = unsafe { System.alloc(Layout::from_size_align_unchecked(CHUNK, SMALL)) };
            if chunk.is_null() {
                return chunk;
            }
            self.end.set(chunk as usize + CHUNK);
            start = (chunk as usize + mask) & !mask;
        }
        self.next.set(start + layout.size());
        self.last.set(start);
        start as *mut u8
    }

    /// Take back `ptr` if it is the last block handed out; forget it otherwise.
    fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.is_last(ptr, layout) {
            self.next.set(ptr as usize);
            self.last.set(0);
        }
    }

    /// Resize the last block in place when the chunk has room; false otherwise.
    fn resize_in_place(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> bool {
        if self.is_last(ptr, layout) && ptr as usize + new_size <= self.end.get() {
            self.next.set(ptr as usize + new_size);
            return true;
        }
        false
    }

    fn is_last(&self, ptr: *mut u8, layout: Layout) -> bool {
        self.last.get() == ptr as usize && self.next.get() == ptr as usize + layout.size()
    }
}

impl CallArena {
    fn alloc_small(&self, layout: Layout) -> *mut u8 {
        #[cfg(target_arch = "wasm32")]
        return self.bump.alloc(layout);
        #[cfg(not(target_arch = "wasm32"))]
        // SAFETY: `layout` comes from a caller of `GlobalAlloc::alloc`.
        unsafe {
            System.alloc(layout)
        }
    }

    fn dealloc_small(&self, ptr: *mut u8, layout: Layout) {
        #[cfg(target_arch = "wasm32")]
        self.bump.dealloc(ptr, layout);
        #[cfg(not(target_arch = "wasm32"))]
        // SAFETY: off wasm, small blocks came from `System.alloc` with this layout.
        unsafe {
            System.dealloc(ptr, layout)
        }
    }

    fn resize_small_in_place(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> bool {
        #[cfg(target_arch = "wasm32")]
        return self.bump.resize_in_place(ptr, layout, new_size);
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = (ptr, layout, new_size);
            false
        }
    }
}

// SAFETY: small blocks are disjoint ranges of chunks that are never freed; large blocks
// are the system allocator's, freed with the layout they were allocated with.
unsafe impl GlobalAlloc for CallArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if small(layout) {
            return self.alloc_small(layout);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if small(layout) {
            return self.dealloc_small(ptr, layout);
        }
        // SAFETY: a large block came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees the new size and alignment make a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !small(layout) && !small(new_layout) {
            // SAFETY: a large block came from `System.alloc` with this layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        if small(layout) && small(new_layout) && self.resize_small_in_place(ptr, layout, new_size) {
            return ptr;
        }
        // SAFETY: forwarded with the caller's guarantees; the old block is valid for
        // `layout.size()` bytes and the new one for `new_size`.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn bump_hands_out_aligned_disjoint_blocks_and_takes_back_only_the_last() {
        let bump = Bump::new();
        let a = bump.alloc(layout(3, 1)) as usize;
        let b = bump.alloc(layout(8, 8)) as usize;
        assert_eq!(b % 8, 0);
        assert!(b >= a + 3, "blocks overlap");
        // Freeing an older block forgets it: the next block does not reuse it.
        bump.dealloc(a as *mut u8, layout(3, 1));
        let c = bump.alloc(layout(8, 8)) as usize;
        assert!(c >= b + 8);
        // Freeing the last block takes it back.
        bump.dealloc(c as *mut u8, layout(8, 8));
        assert_eq!(bump.alloc(layout(8, 8)) as usize, c);
    }

    #[test]
    fn the_last_block_grows_in_place_until_the_chunk_is_full() {
        let bump = Bump::new();
        let _first = bump.alloc(layout(16, 8));
        let p = bump.alloc(layout(16, 8));
        assert!(bump.resize_in_place(p, layout(16, 8), 1024));
        assert_eq!(bump.alloc(layout(1, 1)) as usize, p as usize + 1024);
        // No longer the last block: no growth in place.
        assert!(!bump.resize_in_place(p, layout(1024, 8), 2048));
        // A block that does not fit the chunk's rest comes from a new chunk.
        let big = bump.alloc(layout(SMALL, 8)) as usize;
        let mut last = big;
        for _ in 0..CHUNK / SMALL {
            last = bump.alloc(layout(SMALL, 8)) as usize;
        }
        assert!(last + SMALL <= bump.end.get());
        assert!(bump.end.get() - CHUNK <= last);
    }

    #[test]
    fn blocks_keep_their_contents_when_grown_past_small() {
        let arena = CallArena::new();
        // SAFETY: layouts are non-zero; every block is used within its size.
        unsafe {
            let a = arena.alloc(layout(8, 8));
            assert!(!a.is_null());
            a.copy_from(b"trawl-01".as_ptr(), 8);
            let grown = arena.realloc(a, layout(8, 8), 2 * SMALL);
            assert!(!grown.is_null());
            assert_eq!(std::slice::from_raw_parts(grown, 8), b"trawl-01");
            arena.dealloc(grown, layout(2 * SMALL, 8));
        }
    }
}

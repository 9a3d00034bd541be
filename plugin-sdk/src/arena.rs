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

/// Blocks up to this size come from the arena.
pub const SMALL: usize = 4096;
/// The arena takes memory from the system allocator in chunks of this size.
pub const CHUNK: usize = 64 * 1024;

/// A bump allocator for small blocks, backed by the system allocator. See the
/// [module documentation](self).
#[derive(Debug)]
pub struct CallArena {
    #[cfg(target_arch = "wasm32")]
    state: wasm::State,
}

impl CallArena {
    /// An empty arena; it takes its first chunk on the first small allocation.
    pub const fn new() -> Self {
        Self {
            #[cfg(target_arch = "wasm32")]
            state: wasm::State::new(),
        }
    }
}

impl Default for CallArena {
    fn default() -> Self {
        Self::new()
    }
}

fn small(layout: Layout) -> bool {
    layout.size() <= SMALL && layout.align() <= SMALL
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use std::cell::Cell;

    /// The current chunk: the next free byte, its end, and the start of the last block
    /// handed out (0 when that block cannot be taken back).
    #[derive(Debug)]
    pub struct State {
        pub next: Cell<usize>,
        pub end: Cell<usize>,
        pub last: Cell<usize>,
    }

    impl State {
        pub const fn new() -> Self {
            Self {
                next: Cell::new(0),
                end: Cell::new(0),
                last: Cell::new(0),
            }
        }
    }

    // SAFETY: wasm32 plugins have one thread; the cells are never shared between threads.
    unsafe impl Sync for State {}
}

#[cfg(target_arch = "wasm32")]
impl CallArena {
    fn bump(&self, layout: Layout) -> *mut u8 {
        let s = &self.state;
        let mut start = s.next.get().next_multiple_of(layout.align());
        if start + layout.size() > s.end.get() || s.end.get() == 0 {
            // SAFETY: CHUNK is a non-zero size and SMALL a power of two.
            let chunk = unsafe { System.alloc(Layout::from_size_align_unchecked(CHUNK, SMALL)) };
            if chunk.is_null() {
                return chunk;
            }
            let base = chunk as usize;
            s.end.set(base + CHUNK);
            start = base.next_multiple_of(layout.align());
        }
        s.next.set(start + layout.size());
        s.last.set(start);
        start as *mut u8
    }
}

// SAFETY: small blocks are disjoint ranges of chunks that are never freed; large blocks
// are the system allocator's, freed with the layout they were allocated with.
unsafe impl GlobalAlloc for CallArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        #[cfg(target_arch = "wasm32")]
        if small(layout) {
            return self.bump(layout);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        #[cfg(target_arch = "wasm32")]
        if small(layout) {
            let s = &self.state;
            if s.last.get() == ptr as usize && s.next.get() == ptr as usize + layout.size() {
                s.next.set(ptr as usize);
                s.last.set(0);
            }
            return;
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
        #[cfg(target_arch = "wasm32")]
        if small(layout) && small(new_layout) {
            let s = &self.state;
            // The last block grows or shrinks in place when the chunk has room.
            if s.last.get() == ptr as usize
                && s.next.get() == ptr as usize + layout.size()
                && ptr as usize + new_size <= s.end.get()
            {
                s.next.set(ptr as usize + new_size);
                return ptr;
            }
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
mod tests {
    use super::*;

    #[test]
    fn blocks_are_usable_and_keep_their_contents_when_grown() {
        let arena = CallArena::new();
        // SAFETY: layouts are non-zero; every block is used within its size.
        unsafe {
            let layout = Layout::from_size_align(8, 8).expect("valid layout");
            let a = arena.alloc(layout);
            assert!(!a.is_null());
            a.copy_from(b"trawl-01".as_ptr(), 8);
            let grown = arena.realloc(a, layout, 2 * SMALL);
            assert!(!grown.is_null());
            assert_eq!(std::slice::from_raw_parts(grown, 8), b"trawl-01");
            arena.dealloc(grown, Layout::from_size_align(2 * SMALL, 8).expect("valid"));
        }
    }
}

//! Link the plugin with 2 MiB of initial linear memory (the default is the stack and data,
//! about 1.1 MiB). The allocator takes its first blocks from the initial memory beyond the
//! data before it grows the memory, and a call that grows memory pays twice for it: the
//! host makes the new pages accessible when it grows, and inaccessible again when the
//! next instance starts in the same slot. 2 MiB is what the host keeps resident per slot.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=--initial-memory=2097152");
    }
}

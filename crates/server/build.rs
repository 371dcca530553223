//! The web interface's built files (`web/dist`) are embedded in the binary (`ui.rs`): rebuild
//! when any of them changes, is added or is removed.
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}

//! The `mpp` command.

fn main() {
    println!("mpp {}", env!("CARGO_PKG_VERSION"));
}

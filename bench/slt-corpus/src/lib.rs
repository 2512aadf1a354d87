//! Empty: this package only names the corpus (see Cargo.toml).

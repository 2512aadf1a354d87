//! The one instance of each function, as DataFusion's own function crates make them:
//! built once, on first use, and shared (`Arc`) by every session that registers it.

/// `pub fn $name() -> Arc<AggregateUDF>`: the aggregate `$make` builds, made once.
macro_rules! udaf_singleton {
    ($(#[$doc:meta])* $name:ident, $make:expr) => {
        $(#[$doc])*
        pub fn $name() -> std::sync::Arc<datafusion_expr::AggregateUDF> {
            static INSTANCE: std::sync::LazyLock<std::sync::Arc<datafusion_expr::AggregateUDF>> =
                std::sync::LazyLock::new(|| {
                    std::sync::Arc::new(datafusion_expr::AggregateUDF::new_from_impl($make))
                });
            std::sync::Arc::clone(&INSTANCE)
        }
    };
}

/// `pub fn $name() -> Arc<ScalarUDF>`: the scalar function `$make` builds, made once.
macro_rules! udf_singleton {
    ($(#[$doc:meta])* $name:ident, $make:expr) => {
        $(#[$doc])*
        pub fn $name() -> std::sync::Arc<datafusion_expr::ScalarUDF> {
            static INSTANCE: std::sync::LazyLock<std::sync::Arc<datafusion_expr::ScalarUDF>> =
                std::sync::LazyLock::new(|| {
                    std::sync::Arc::new(datafusion_expr::ScalarUDF::new_from_impl($make))
                });
            std::sync::Arc::clone(&INSTANCE)
        }
    };
}

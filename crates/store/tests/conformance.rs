//! The store conformance suite on every backend.

mod sqlite {
    use store::{SqliteStore, Store};

    store::conformance_suite!(|| -> Option<Box<dyn Store>> {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("wayfarer.db")).expect("open");
        // The directory must outlive the store; leak it for the test's duration.
        std::mem::forget(dir);
        Some(Box::new(store))
    });

    #[test]
    fn reopening_keeps_data_and_does_not_rerun_migrations() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wayfarer.db");
        {
            let store = SqliteStore::open(&path).expect("open");
            let mut tx = store.write().expect("tx");
            tx.set_setting("k", "v").expect("set");
            tx.commit().expect("commit");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        assert_eq!(store.read().expect("tx").setting("k").expect("get"), Some("v".into()));
    }
}

mod postgres {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use store::{PostgresStore, Store};

    static N: AtomicUsize = AtomicUsize::new(0);

    /// A store in a schema of its own, so tests run in parallel. Without
    /// `WAYFARER_TEST_POSTGRES_URL` the PostgreSQL half is skipped locally, but CI (`CI` set)
    /// fails instead of skipping.
    fn make() -> Option<Box<dyn Store>> {
        let Ok(url) = std::env::var("WAYFARER_TEST_POSTGRES_URL") else {
            assert!(std::env::var_os("CI").is_none(), "CI must set WAYFARER_TEST_POSTGRES_URL");
            eprintln!("WAYFARER_TEST_POSTGRES_URL not set: skipping the PostgreSQL backend");
            return None;
        };
        let schema = format!("t_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        Some(Box::new(PostgresStore::connect(&url, Some(&schema)).expect("connect")))
    }

    store::conformance_suite!(make);
}

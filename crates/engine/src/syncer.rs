//! Acknowledgements wait for the disk, the core does not.
//!
//! The core commits without waiting for the disk (`Tx::commit_unsynced`) and passes what the
//! commit owes (answers to requests, outbox entries to send) to this thread, which syncs the
//! store once for everything queued and only then answers and hands the entries to the
//! dispatcher. Meanwhile the core goes on with the next batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

use store::{OutboxEntry, Store};

use crate::dispatch::Handoff;

/// An answer to send once the commits before it are durable (or with why they may not be).
pub(crate) type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What a commit owes once durable.
#[derive(Default)]
pub(crate) struct Owed {
    pub(crate) answers: Vec<Answer>,
    pub(crate) outbox: Vec<OutboxEntry>,
}

impl Owed {
    pub(crate) fn is_empty(&self) -> bool {
        self.answers.is_empty() && self.outbox.is_empty()
    }
}

pub(crate) struct Syncer {
    queue: Option<Sender<Owed>>,
    thread: Option<JoinHandle<()>>,
    /// A sync failed once. What it should have made durable may be lost even if a later sync
    /// succeeds (the kernel may drop the failed pages), so nothing is acknowledged after it.
    failed: Arc<AtomicBool>,
}

impl Syncer {
    /// `failed` is set for good by the first failed sync (the engine reports it as unready).
    pub(crate) fn start(store: Arc<dyn Store>, handoff: Arc<Handoff>, failed: Arc<AtomicBool>) -> Syncer {
        let (queue, rx) = std::sync::mpsc::channel();
        let flag = failed.clone();
        let thread = std::thread::Builder::new().name("wayfarer-sync".into()).spawn(move || run(&*store, &handoff, &flag, rx));
        match thread {
            Ok(thread) => Syncer { queue: Some(queue), thread: Some(thread), failed },
            Err(error) => {
                // Without the thread, everything is settled in the core's own thread.
                tracing::warn!(%error, "no sync thread; syncing in the core");
                Syncer { queue: None, thread: None, failed }
            }
        }
    }

    /// Settles `owed` once everything committed so far is durable.
    pub(crate) fn after_sync(&self, store: &dyn Store, handoff: &Handoff, owed: Owed) {
        if owed.is_empty() {
            return;
        }
        match &self.queue {
            Some(queue) => {
                if let Err(unsent) = queue.send(owed) {
                    settle(store, handoff, &self.failed, vec![unsent.0]);
                }
            }
            None => settle(store, handoff, &self.failed, vec![owed]),
        }
    }
}

impl Drop for Syncer {
    /// Settles everything queued, then stops the thread.
    fn drop(&mut self) {
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(store: &dyn Store, handoff: &Handoff, failed: &AtomicBool, rx: Receiver<Owed>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        settle(store, handoff, failed, batch);
    }
}

/// One sync for all of `batch`, then its answers and outbox entries, in order.
fn settle(store: &dyn Store, handoff: &Handoff, failed: &AtomicBool, batch: Vec<Owed>) {
    let synced = if failed.load(Ordering::SeqCst) {
        Err("an earlier sync of the store failed; restart Wayfarer (what was acknowledged before it is safe)".to_owned())
    } else {
        store.sync().map_err(|e| e.to_string())
    };
    if let Err(error) = &synced {
        failed.store(true, Ordering::SeqCst);
        tracing::error!(%error, "syncing commits failed; their requests are answered with the error");
    }
    for owed in batch {
        match &synced {
            Ok(()) => handoff.committed(owed.outbox),
            // Never sent: they stay reserved, so the dispatcher's own reading of the outbox
            // skips them too. What this commit wrote may not be on disk; a restart reads what is.
            Err(_) => handoff.withhold(&owed.outbox),
        }
        for answer in owed.answers {
            answer(synced.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::dispatch::tests::entry;

    /// A store that only syncs, and fails to when told.
    #[derive(Default)]
    struct Disk {
        failing: AtomicBool,
        syncs: AtomicUsize,
    }

    impl Store for Disk {
        fn write(&self) -> store::Result<Box<dyn store::Tx + '_>> {
            Err(store::Error::Poisoned)
        }
        fn read(&self) -> store::Result<Box<dyn store::Tx + '_>> {
            Err(store::Error::Poisoned)
        }
        fn kind(&self) -> &'static str {
            "disk"
        }
        fn sync(&self) -> store::Result<()> {
            self.syncs.fetch_add(1, Ordering::SeqCst);
            if self.failing.load(Ordering::SeqCst) { Err(std::io::Error::other("disk gone").into()) } else { Ok(()) }
        }
    }

    fn owed(answers: &Arc<Mutex<Vec<Result<(), String>>>>) -> Owed {
        let log = answers.clone();
        Owed { answers: vec![Box::new(move |r| log.lock().expect("log").push(r))], outbox: Vec::new() }
    }

    #[test]
    fn nothing_a_commit_wrote_is_sent_when_its_sync_failed() {
        let (disk, handoff, failed) = (Disk::default(), Handoff::new(&["webhook"]), AtomicBool::new(false));
        let (durable, lost) = (vec![entry(1)], vec![entry(2)]);
        handoff.reserve(&durable);
        settle(&disk, &handoff, &failed, vec![Owed { answers: Vec::new(), outbox: durable }]);
        disk.failing.store(true, Ordering::SeqCst);
        handoff.reserve(&lost);
        settle(&disk, &handoff, &failed, vec![Owed { answers: Vec::new(), outbox: lost }]);
        assert_eq!(handoff.take("webhook", 10).iter().map(|e| e.id.0).collect::<Vec<_>>(), [1], "only the durable entry is handed over");
        assert!(handoff.is_reserved(domain::ids::OutboxId(2)), "the outbox reader skips the other for good");
    }

    #[test]
    fn one_sync_answers_everything_queued_and_a_failed_sync_fails_everything_after_it() {
        let (disk, handoff, failed) = (Disk::default(), Handoff::new(&["webhook"]), AtomicBool::new(false));
        let answers = Arc::new(Mutex::new(Vec::new()));
        settle(&disk, &handoff, &failed, vec![owed(&answers), owed(&answers)]);
        assert_eq!(disk.syncs.load(Ordering::SeqCst), 1, "one sync for the batch");
        assert_eq!(*answers.lock().expect("log"), [Ok(()), Ok(())]);
        disk.failing.store(true, Ordering::SeqCst);
        settle(&disk, &handoff, &failed, vec![owed(&answers)]);
        disk.failing.store(false, Ordering::SeqCst);
        settle(&disk, &handoff, &failed, vec![owed(&answers)]);
        assert_eq!(disk.syncs.load(Ordering::SeqCst), 2, "no sync is trusted after a failed one");
        let answers = answers.lock().expect("log");
        assert!(answers[2].as_ref().is_err_and(|e| e.contains("disk gone")), "{answers:?}");
        assert!(answers[3].as_ref().is_err_and(|e| e.contains("earlier sync")), "{answers:?}");
    }
}

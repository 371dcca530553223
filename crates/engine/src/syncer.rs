//! Acknowledgements wait for the disk, the core does not.
//!
//! The core commits without waiting for the disk (`Tx::commit_unsynced`) and passes what the
//! commit owes (answers to requests, outbox entries to send) to this thread, which syncs the
//! store once for everything queued and only then answers and hands the entries to the
//! dispatcher. Meanwhile the core goes on with the next batch.

use std::sync::Arc;
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
}

impl Syncer {
    pub(crate) fn start(store: Arc<dyn Store>, handoff: Arc<Handoff>) -> Syncer {
        let (queue, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new().name("wayfarer-sync".into()).spawn(move || run(&*store, &handoff, rx));
        match thread {
            Ok(thread) => Syncer { queue: Some(queue), thread: Some(thread) },
            Err(error) => {
                // Without the thread, everything is settled in the core's own thread.
                tracing::warn!(%error, "no sync thread; syncing in the core");
                Syncer { queue: None, thread: None }
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
                    settle(store, handoff, vec![unsent.0]);
                }
            }
            None => settle(store, handoff, vec![owed]),
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

fn run(store: &dyn Store, handoff: &Handoff, rx: Receiver<Owed>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        settle(store, handoff, batch);
    }
}

/// One sync for all of `batch`, then its answers and outbox entries, in order.
fn settle(store: &dyn Store, handoff: &Handoff, batch: Vec<Owed>) {
    let synced = store.sync().map_err(|e| e.to_string());
    if let Err(error) = &synced {
        tracing::error!(%error, "syncing commits failed; their requests are answered with the error");
    }
    for owed in batch {
        match &synced {
            // Entries not handed over stay pending in the outbox, which the dispatcher reads.
            Ok(()) => handoff.committed(owed.outbox),
            Err(_) => handoff.abandon(&owed.outbox),
        }
        for answer in owed.answers {
            answer(synced.clone());
        }
    }
}

//! Bounded worker pools for per-session work. Scoped threads pull items from a
//! shared counter; results come back in input order.
//!
//! Two sizes: [`Work::Cpu`] (page-cache reads and parsing) runs one thread per
//! core, and [`Work::Io`] (reconciles, each a chain of fsyncs that wait on the
//! disk) runs many more threads than cores so that the fsyncs overlap.
//! [`two_stage`] chains them: items the first stage cannot finish are handed
//! to I/O workers, started as items arrive.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};

/// What the work mostly waits on; decides how many threads run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Cpu,
    Io,
}

/// Upper bound on workers for fsync-bound work.
const MAX_IO_WORKERS: usize = 128;
/// Workers per core for fsync-bound work.
const IO_WORKERS_PER_CORE: usize = 64;
/// Items waiting between the stages of [`two_stage`], per I/O worker: enough
/// to keep every worker busy, few enough to bound the memory they hold.
const HANDOFF_PER_IO_WORKER: usize = 2;

/// How many workers to use for `items` work items.
pub fn worker_count(work: Work, items: usize) -> usize {
    // Asked once per process: on Linux each answer reads three cgroup files,
    // and a list asks five times.
    static CORES: OnceLock<usize> = OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let workers = match work {
        Work::Cpu => cores,
        Work::Io => (cores * IO_WORKERS_PER_CORE).min(MAX_IO_WORKERS),
    };
    workers.clamp(1, items.max(1))
}

/// Work items taken by index from a shared counter, each exactly once.
struct Items<T> {
    next: AtomicUsize,
    slots: Vec<Mutex<Option<T>>>,
}

impl<T> Items<T> {
    fn new(items: Vec<T>) -> Items<T> {
        Items {
            next: AtomicUsize::new(0),
            slots: items.into_iter().map(|i| Mutex::new(Some(i))).collect(),
        }
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    /// The next untaken item and its index; `None` once all are taken.
    fn take_next(&self) -> Option<(usize, T)> {
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let slot = self.slots.get(index)?;
            if let Some(item) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                return Some((index, item));
            }
        }
    }
}

/// Apply `f` to every item on a bounded pool; results are in input order.
pub fn map<T: Send, R: Send>(work: Work, items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let workers = worker_count(work, items.len());
    if workers <= 1 {
        return items.into_iter().map(f).collect();
    }
    let items = Items::new(items);
    let outputs: Vec<Mutex<Option<R>>> = (0..items.len()).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some((index, item)) = items.take_next() {
                    let value = f(item);
                    if let Some(output) = outputs.get(index) {
                        *output.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
                    }
                }
            });
        }
    });
    outputs
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every index below len was processed by a worker")
        })
        .collect()
}

/// What the first stage of [`two_stage`] did with an item.
#[derive(Debug)]
pub enum Step<R, U> {
    /// Finished: the item's result.
    Done(R),
    /// The rest of the work, for the second stage.
    HandOn(U),
}

/// Run `first` on every item on [`Work::Cpu`] workers. An item it cannot
/// finish ([`Step::HandOn`]) is handed to `second` on [`Work::Io`] workers
/// through a bounded queue (so the first stage waits rather than piling up
/// handed-on items). A worker is started per item handed on, up to the limit:
/// no item, no I/O thread. Results come back in no particular order.
pub fn two_stage<T: Send, U: Send, R: Send>(
    items: Vec<T>,
    first: impl Fn(T) -> Step<R, U> + Sync,
    second: impl Fn(U) -> R + Sync,
) -> Vec<R> {
    let count = items.len();
    let io_workers = worker_count(Work::Io, count);
    let (handoff, queue) = mpsc::sync_channel::<U>(io_workers * HANDOFF_PER_IO_WORKER);
    let queue = Mutex::new(queue);
    let results = Mutex::new(Vec::with_capacity(count));
    let push = |value: R| {
        results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(value)
    };
    // Waiting holds the lock: one idle worker waits on the queue, the others
    // on the lock. `Err` once every first-stage worker (sender) is done.
    let receive = || queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
    let drain = || {
        while let Ok(rest) = receive() {
            push(second(rest));
        }
    };
    let items = Items::new(items);
    std::thread::scope(|scope| {
        for _ in 0..worker_count(Work::Cpu, count) {
            let handoff = handoff.clone();
            scope.spawn(|| {
                let handoff = handoff;
                while let Some((_, item)) = items.take_next() {
                    match first(item) {
                        Step::Done(value) => push(value),
                        // The receiver lives until the scope ends.
                        Step::HandOn(rest) => drop(handoff.send(rest)),
                    }
                }
            });
        }
        drop(handoff);
        // One I/O worker is started per item handed on, up to the limit (this
        // thread is the last one), so a few reconciles start a few threads.
        let second = &second;
        let mut started = 1;
        while let Ok(rest) = receive() {
            if started == io_workers {
                push(second(rest));
                drain();
                break;
            }
            started += 1;
            scope.spawn(move || {
                push(second(rest));
                drain();
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_input_order() {
        let items: Vec<usize> = (0..1000).collect();
        for work in [Work::Cpu, Work::Io] {
            let out = map(work, items.clone(), |n| n * 2);
            assert_eq!(out, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        }
        assert!(map(Work::Io, Vec::<u8>::new(), |n| n).is_empty());
    }

    #[test]
    fn two_stage_finishes_every_item_once() {
        let items: Vec<u32> = (0..5000).collect();
        let first = |n| match n % 3 {
            0 => Step::HandOn(n),
            _ => Step::Done((n, 1)),
        };
        let mut out = two_stage(items, first, |n| (n, 2));
        out.sort_unstable();
        let expected: Vec<(u32, u8)> = (0..5000)
            .map(|n| (n, if n % 3 == 0 { 2 } else { 1 }))
            .collect();
        assert_eq!(out, expected);
        // Nothing handed on: the second stage is never needed.
        let out = two_stage(vec![1, 2, 3], Step::Done, |_: u32| -> u32 {
            unreachable!("no item handed on")
        });
        assert_eq!(out.len(), 3);
        assert!(two_stage(Vec::<u8>::new(), Step::HandOn, |n| n).is_empty());
    }

    #[test]
    fn io_work_gets_more_workers_than_cpu_work() {
        assert_eq!(worker_count(Work::Io, 1), 1);
        assert!(worker_count(Work::Io, 10_000) > worker_count(Work::Cpu, 10_000));
        assert!(worker_count(Work::Io, 10_000) <= MAX_IO_WORKERS);
    }
}

//! Bounded worker pools for per-session work. Scoped threads pull items from a
//! shared counter; results come back in input order.
//!
//! Two sizes: [`Work::Cpu`] (page-cache reads and parsing) runs one thread per
//! core, and [`Work::Io`] (reconciles, each a chain of fsyncs that wait on the
//! disk) runs many more threads than cores so that the fsyncs overlap.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// How many workers to use for `items` work items.
pub fn worker_count(work: Work, items: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers = match work {
        Work::Cpu => cores,
        Work::Io => (cores * IO_WORKERS_PER_CORE).min(MAX_IO_WORKERS),
    };
    workers.clamp(1, items.max(1))
}

/// Apply `f` to every item on a bounded pool; results are in input order.
pub fn map<T: Send, R: Send>(work: Work, items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let workers = worker_count(work, items.len());
    if workers <= 1 {
        return items.into_iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let inputs: Vec<Mutex<Option<T>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let outputs: Vec<Mutex<Option<R>>> = inputs.iter().map(|_| Mutex::new(None)).collect();
    let take = |slot: &Mutex<Option<T>>| slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let (Some(input), Some(output)) = (inputs.get(index), outputs.get(index))
                    else {
                        break;
                    };
                    if let Some(item) = take(input) {
                        let value = f(item);
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
    fn io_work_gets_more_workers_than_cpu_work() {
        assert_eq!(worker_count(Work::Io, 1), 1);
        assert!(worker_count(Work::Io, 10_000) > worker_count(Work::Cpu, 10_000));
        assert!(worker_count(Work::Io, 10_000) <= MAX_IO_WORKERS);
    }
}

//! A bounded worker pool for per-session work, so that reads and the fsyncs of
//! many reconciles overlap. Scoped threads pull indices from a shared counter;
//! results come back in input order.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Upper bound on workers: fsync-bound work benefits from more threads than cores.
const MAX_WORKERS: usize = 32;
/// Workers per core.
const WORKERS_PER_CORE: usize = 8;

/// How many workers to use for `items` work items.
pub fn worker_count(items: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores * WORKERS_PER_CORE)
        .clamp(1, MAX_WORKERS)
        .min(items.max(1))
}

/// Apply `f` to every item on a bounded pool; results are in input order.
pub fn map<'a, T: Sync, R: Send>(items: &'a [T], f: impl Fn(&'a T) -> R + Sync) -> Vec<R> {
    let workers = worker_count(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let value = f(item);
                    *slots[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
                }
            });
        }
    });
    slots
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
    #[test]
    fn results_keep_input_order() {
        let items: Vec<usize> = (0..1000).collect();
        let out = super::map(&items, |n| n * 2);
        assert_eq!(out, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        assert!(super::map(&Vec::<u8>::new(), |n| *n).is_empty());
    }
}

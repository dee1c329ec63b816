//! Sampling the process trees of many sessions at once, for `csa session
//! top`: memory now, and CPU as a share of one core over the last interval.
//!
//! One [`crate::proctable`] snapshot per [`Sampler::sample`] serves every
//! session; each session's tree is its verified roots (daemon and command)
//! and their descendants, as [`crate::usage`] adds them up. CPU% is the
//! growth of the tree's CPU time since the previous sample of the same
//! session, over the wall time between the two: the first sample of a
//! session has none yet.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

use csa_session::fleet::{Fleet, TreeFigures};
use csa_session::{SessionDir, SessionId};

use crate::record::{read_cmd_pid, read_daemon_pid};
use crate::usage::{self, Usage};

/// What a sample says of one session's tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeSample {
    pub usage: Usage,
    /// CPU time used since the previous sample, in percent of one core;
    /// `None` on the first sample.
    pub cpu_percent: Option<f64>,
}

/// Samples process trees, keeping each key's previous CPU time.
#[derive(Debug)]
pub struct Sampler<K> {
    previous: HashMap<K, (Instant, f64)>,
}

impl<K> Default for Sampler<K> {
    fn default() -> Self {
        Sampler {
            previous: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash + Clone> Sampler<K> {
    pub fn new() -> Sampler<K> {
        Sampler::default()
    }

    /// One sample of each tree (`key`, its root pids), from one snapshot of
    /// the process table. A tree none of whose roots exists is left out, as
    /// is every tree where the table cannot be read (off Linux).
    pub fn sample(&mut self, trees: &[(K, Vec<u32>)]) -> HashMap<K, TreeSample> {
        let now = Instant::now();
        let usages = usage::trees_usage(trees.iter().map(|(_, roots)| roots.as_slice()));
        let mut samples = HashMap::with_capacity(trees.len());
        let mut previous = HashMap::with_capacity(trees.len());
        for ((key, _), usage) in trees.iter().zip(usages) {
            let Some(usage) = usage else { continue };
            let cpu_percent = self.previous.get(key).and_then(|(then, cpu)| {
                let wall = now.duration_since(*then).as_secs_f64();
                (wall > 0.0).then(|| ((usage.cpu_seconds - cpu).max(0.0) / wall) * 100.0)
            });
            previous.insert(key.clone(), (now, usage.cpu_seconds));
            samples.insert(key.clone(), TreeSample { usage, cpu_percent });
        }
        // Trees that ended are forgotten.
        self.previous = previous;
        samples
    }
}

impl Sampler<SessionId> {
    /// Sample the process trees of the fleet's active sessions (their
    /// verified daemon and command, [`session_roots`], and descendants) and
    /// hand the figures to the fleet.
    pub fn sample_fleet(&mut self, fleet: &mut Fleet) {
        let trees: Vec<(SessionId, Vec<u32>)> = fleet
            .active()
            .map(|loc| (loc.id.clone(), session_roots(&loc.dir)))
            .collect();
        let figures = self
            .sample(&trees)
            .into_iter()
            .map(|(id, sample)| {
                let figures = TreeFigures {
                    cpu_percent: sample.cpu_percent,
                    memory_bytes: sample.usage.rss_bytes,
                };
                (id, figures)
            })
            .collect();
        fleet.set_figures(figures);
    }
}

/// The session's daemon and command, each only when its start time matches
/// its record (a reused pid is another program's, and is not counted).
pub fn session_roots(session: &SessionDir) -> Vec<u32> {
    usage::verified_roots(
        read_daemon_pid(session).ok().flatten(),
        read_cmd_pid(session).ok().flatten(),
    )
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_busy_tree_shows_its_cpu_share_and_an_idle_one_none() {
        let busy = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let idle = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let mut guards = [busy, idle];
        let trees = vec![
            ("busy", vec![guards[0].id()]),
            ("idle", vec![guards[1].id()]),
            ("gone", vec![4_194_304 + 1000]),
        ];
        let mut sampler = Sampler::new();
        let first = sampler.sample(&trees);
        assert_eq!(first["busy"].cpu_percent, None, "no interval yet");
        assert!(first["busy"].usage.rss_bytes > 0);
        assert!(!first.contains_key("gone"));
        // Spin until the busy tree has used CPU time the table can see.
        let start = first["busy"].usage.cpu_seconds;
        let second = loop {
            let sample = sampler.sample(&trees);
            if sample["busy"].usage.cpu_seconds > start + 0.05 {
                break sample;
            }
        };
        assert!(second["busy"].cpu_percent.unwrap() > 0.0, "{second:?}");
        assert_eq!(second["idle"].cpu_percent, Some(0.0), "{second:?}");
        for child in &mut guards {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

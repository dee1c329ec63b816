//! Liveness against real processes, real files and real `flock`s (Linux).

#[cfg(target_os = "linux")]
mod support;

#[cfg(target_os = "linux")]
mod locks;
#[cfg(target_os = "linux")]
mod pid_records;
#[cfg(target_os = "linux")]
mod progress;

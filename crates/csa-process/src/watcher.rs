//! Waking up when a session changes: one [`Watcher`] says "something you
//! watch changed" (a file of a session dir was created, replaced, written or
//! removed; a watched folder was moved or removed; a verified process
//! exited), or that a deadline passed.
//!
//! `csa session wait` watches `state.toml`, `result.toml` and the pid records
//! of every session it waits for, and the exit of each verified daemon and
//! command; `csa session logs --follow` adds the log it prints. Both re-read
//! what they need after every wake: a wake says *that* something changed,
//! never *what*, so a spurious wake costs one re-check and a missed one
//! cannot happen as long as each change is watched.
//!
//! On Linux this is one `poll(2)` over an inotify descriptor (file events)
//! and the pidfds of the watched processes: the wake comes within
//! microseconds of the change, with no thread and no timer. inotify is used
//! through `rustix` directly rather than the `notify` crate: `notify` runs
//! its own thread and delivers events through a channel (a second hop), and
//! cannot poll pidfds together with the file events. Elsewhere, and where
//! inotify or pidfds are unavailable (an old kernel, a sandbox, the
//! per-user watch limit), the watcher falls back to polling: it wakes after
//! short pauses ([`WATCH_POLL_FIRST`], doubling to [`WATCH_POLL_MAX`]) and
//! the caller re-checks.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::consts::{WATCH_POLL_FIRST, WATCH_POLL_MAX};
use crate::signal::Verified;

/// Why [`Watcher::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Something watched changed, or (polling) the pause ended: look again.
    Changed,
    /// The deadline passed with no change.
    Deadline,
}

/// Wakes a [`Watcher`]'s [`Watcher::wait`] from another thread (a key
/// pressed, a signal caught): `csa session top` waits on files and input
/// at once. Where the watcher polls, its next pause ends the wait instead.
#[derive(Debug, Clone)]
pub struct Waker {
    inner: platform::WakerInner,
}

impl Waker {
    /// Make the watcher's current or next wait return [`Wake::Changed`].
    pub fn wake(&self) {
        self.inner.wake();
    }
}

/// Watches files and processes; see the module docs.
#[derive(Debug)]
pub struct Watcher {
    inner: platform::Inner,
    /// Some watch could not be set up event-driven: [`Watcher::wait`] polls.
    polling: bool,
    /// The next pause of the polling fallback.
    pause: Duration,
    /// Processes (pid, start time) whose exit was watched: never watched
    /// again (an exited process's handle stays readable).
    watched_exits: HashSet<(u32, u64)>,
}

impl Default for Watcher {
    fn default() -> Self {
        Watcher::new()
    }
}

impl Watcher {
    /// A watcher with nothing watched yet. Never fails: without inotify it
    /// polls.
    pub fn new() -> Watcher {
        let inner = platform::Inner::new();
        let polling = !inner.is_event_driven();
        if polling {
            tracing::debug!("no file events on this system: polling for changes");
        }
        Watcher {
            inner,
            polling,
            pause: WATCH_POLL_FIRST,
            watched_exits: HashSet::new(),
        }
    }

    /// Wake when one of `files` is created, replaced (renamed onto), linked,
    /// closed after writing, or removed. The files' folders must exist; the
    /// files need not. Watching the same file twice is harmless. Writes to a
    /// file that stays open (a log) wake only a [`Watcher::watch_contents`].
    pub fn watch_files(&mut self, files: &[PathBuf]) {
        for file in files {
            let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
                continue;
            };
            if !self.inner.watch_name(dir, name) {
                self.fall_back(dir);
            }
        }
    }

    /// Wake when an entry of the folder `dir` is created, renamed into it,
    /// closed after writing, or removed, whatever its name: a new session
    /// appearing in a sessions folder (`logs --all --follow`).
    pub fn watch_entries(&mut self, dir: &Path) {
        if !self.inner.watch_entries(dir) {
            self.fall_back(dir);
        }
    }

    /// Wake when the file `path` (following a symbolic link) is written:
    /// for a log that may be a link to a file in another folder, whose
    /// writes its own folder's events do not show.
    pub fn watch_contents(&mut self, path: &Path) {
        if !self.inner.watch_contents(path) {
            self.fall_back(path);
        }
    }

    /// Wake when the verified process exits. The process is watched through
    /// the handle opened when it was verified, so a reused pid cannot fake an
    /// exit or hide one. A process is watched once: watching it again (after
    /// its exit woke the watcher) does nothing.
    pub fn watch_exit(&mut self, process: &Verified) {
        if !self
            .watched_exits
            .insert((process.pid(), process.start_time_ticks()))
        {
            return;
        }
        if !self.inner.watch_exit(process) {
            tracing::debug!(
                pid = process.pid(),
                "cannot watch this process's exit: polling"
            );
            self.polling = true;
        }
    }

    /// A handle that wakes this watcher from another thread.
    pub fn waker(&mut self) -> Waker {
        Waker {
            inner: self.inner.waker(),
        }
    }

    /// True when every watch is event-driven (no polling).
    pub fn is_event_driven(&self) -> bool {
        !self.polling
    }

    /// Block until something watched changes or `deadline` passes (`None`:
    /// no deadline). When polling, also return after a short pause.
    pub fn wait(&mut self, deadline: Option<Instant>) -> Wake {
        let mut until = deadline;
        if self.polling {
            let pause_end = Instant::now() + self.pause;
            self.pause = (self.pause * 2).min(WATCH_POLL_MAX);
            until = Some(deadline.map_or(pause_end, |d| d.min(pause_end)));
        }
        match self.inner.wait(until) {
            Ok(true) => Wake::Changed,
            Ok(false) if deadline.is_some_and(|d| Instant::now() >= d) => Wake::Deadline,
            Ok(false) => Wake::Changed,
            Err(err) => {
                tracing::debug!(%err, "waiting for events failed: polling");
                self.polling = true;
                let nap = self.pause;
                let nap = deadline.map_or(nap, |d| {
                    nap.min(d.saturating_duration_since(Instant::now()))
                });
                std::thread::sleep(nap);
                Wake::Changed
            }
        }
    }

    fn fall_back(&mut self, path: &Path) {
        if !self.polling {
            tracing::debug!(path = %path.display(), "cannot watch for changes: polling");
        }
        self.polling = true;
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use std::collections::HashMap;
    use std::ffi::{OsStr, OsString};
    use std::io;
    use std::mem::MaybeUninit;
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::time::Instant;

    use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

    use crate::signal::Verified;

    /// Size of the buffer events are read into (each event is 16 bytes
    /// plus its name, at most 256).
    const EVENT_BUFFER: usize = 4096;

    /// What a watch descriptor is for.
    #[derive(Debug)]
    enum Interest {
        /// These file names in a watched folder.
        Names(Vec<OsString>),
        /// Every name in a watched folder.
        Entries,
        /// Every event: a watched file itself.
        Contents,
    }

    #[derive(Debug)]
    pub(super) struct Inner {
        inotify: Option<OwnedFd>,
        watches: HashMap<i32, (Interest, std::path::PathBuf)>,
        /// Pidfds of watched processes that have not exited yet.
        exits: Vec<(u32, OwnedFd)>,
        /// The read end of the wakers' pipe, once a waker was made.
        woken: Option<OwnedFd>,
        waker: Option<WakerInner>,
    }

    /// The write end of a non-blocking pipe the watcher polls.
    #[derive(Debug, Clone, Default)]
    pub(super) struct WakerInner {
        fd: Option<std::sync::Arc<OwnedFd>>,
    }

    impl WakerInner {
        pub(super) fn wake(&self) {
            if let Some(fd) = &self.fd {
                // A full pipe already holds a wake.
                let _ = rustix::io::write(fd.as_fd(), &[1]);
            }
        }
    }

    impl Inner {
        pub(super) fn new() -> Inner {
            let inotify = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)
                .map_err(|err| tracing::debug!(%err, "inotify is not available"))
                .ok();
            Inner {
                inotify,
                watches: HashMap::new(),
                exits: Vec::new(),
                woken: None,
                waker: None,
            }
        }

        pub(super) fn waker(&mut self) -> WakerInner {
            if let Some(waker) = &self.waker {
                return waker.clone();
            }
            let flags = rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK;
            let waker = match rustix::pipe::pipe_with(flags) {
                Ok((read, write)) => {
                    self.woken = Some(read);
                    WakerInner {
                        fd: Some(std::sync::Arc::new(write)),
                    }
                }
                Err(err) => {
                    tracing::debug!(%err, "cannot make a waker pipe");
                    WakerInner::default()
                }
            };
            self.waker = Some(waker.clone());
            waker
        }

        pub(super) fn is_event_driven(&self) -> bool {
            self.inotify.is_some()
        }

        pub(super) fn watch_name(&mut self, dir: &Path, name: &OsStr) -> bool {
            // No MODIFY: a tool writing its log would wake every watcher of
            // the folder at each write. A file written in place wakes when it
            // is closed; a log being followed is watched itself.
            let flags = WatchFlags::CREATE
                | WatchFlags::MOVED_TO
                | WatchFlags::MOVED_FROM
                | WatchFlags::CLOSE_WRITE
                | WatchFlags::DELETE
                | WatchFlags::DELETE_SELF
                | WatchFlags::MOVE_SELF
                | WatchFlags::ONLYDIR;
            let Some(wd) = self.add(dir, flags) else {
                return false;
            };
            let entry = self
                .watches
                .entry(wd)
                .or_insert_with(|| (Interest::Names(Vec::new()), dir.to_path_buf()));
            if let Interest::Names(names) = &mut entry.0
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_owned());
            }
            true
        }

        pub(super) fn watch_entries(&mut self, dir: &Path) -> bool {
            let flags = WatchFlags::CREATE
                | WatchFlags::MOVED_TO
                | WatchFlags::MOVED_FROM
                | WatchFlags::CLOSE_WRITE
                | WatchFlags::DELETE
                | WatchFlags::DELETE_SELF
                | WatchFlags::MOVE_SELF
                | WatchFlags::ONLYDIR;
            let Some(wd) = self.add(dir, flags) else {
                return false;
            };
            // Every name: wider than any list of names on the same folder.
            self.watches
                .insert(wd, (Interest::Entries, dir.to_path_buf()));
            true
        }

        pub(super) fn watch_contents(&mut self, path: &Path) -> bool {
            let flags = WatchFlags::MODIFY | WatchFlags::CLOSE_WRITE | WatchFlags::DELETE_SELF;
            let Some(wd) = self.add(path, flags) else {
                return false;
            };
            // A folder watch on the same inode stays a folder watch.
            self.watches
                .entry(wd)
                .or_insert_with(|| (Interest::Contents, path.to_path_buf()));
            true
        }

        fn add(&self, path: &Path, flags: WatchFlags) -> Option<i32> {
            let inotify = self.inotify.as_ref()?;
            // MASK_ADD: a second watch on the same inode keeps the first's events.
            match inotify::add_watch(inotify, path, flags | WatchFlags::MASK_ADD) {
                Ok(wd) => Some(wd),
                Err(err) => {
                    tracing::debug!(path = %path.display(), %err, "inotify_add_watch failed");
                    None
                }
            }
        }

        pub(super) fn watch_exit(&mut self, process: &Verified) -> bool {
            let Some(fd) = process.pidfd() else {
                return false;
            };
            match fd.try_clone() {
                Ok(fd) => {
                    self.exits.push((process.pid(), fd));
                    true
                }
                Err(_) => false,
            }
        }

        /// True when something watched changed; false when `deadline` passed.
        pub(super) fn wait(&mut self, deadline: Option<Instant>) -> io::Result<bool> {
            loop {
                let mut fds = Vec::with_capacity(self.exits.len() + 2);
                if let Some(inotify) = &self.inotify {
                    fds.push(inotify.as_fd());
                }
                fds.extend(self.exits.iter().map(|(_, fd)| fd.as_fd()));
                if let Some(woken) = &self.woken {
                    fds.push(woken.as_fd());
                }
                let mut ready = crate::watch::ready_fds(&fds, deadline)?;
                if ready.is_empty() {
                    return Ok(false);
                }
                let offset = usize::from(self.inotify.is_some());
                let mut changed = false;
                let woken_at = offset + self.exits.len();
                if let Some(woken) = self
                    .woken
                    .as_ref()
                    .filter(|_| ready.last() == Some(&woken_at))
                {
                    ready.pop();
                    let mut sink = [0u8; 64];
                    while matches!(rustix::io::read(woken, &mut sink), Ok(n) if n > 0) {}
                    tracing::trace!("woke: a waker");
                    changed = true;
                }
                // Exited processes stay readable: stop watching them.
                for index in ready.iter().rev() {
                    if let Some(exit) = index.checked_sub(offset) {
                        let (pid, _) = self.exits.remove(exit);
                        tracing::debug!(pid, "woke: a watched process exited");
                        changed = true;
                    }
                }
                if offset == 1 && ready.first() == Some(&0) && self.drain()? {
                    changed = true;
                }
                if changed {
                    return Ok(true);
                }
            }
        }

        /// Read every pending event; true if one of them is of interest.
        fn drain(&mut self) -> io::Result<bool> {
            let Some(inotify) = &self.inotify else {
                return Ok(false);
            };
            let mut buffer = [MaybeUninit::<u8>::uninit(); EVENT_BUFFER];
            let mut reader = inotify::Reader::new(inotify, &mut buffer);
            let mut changed = false;
            let mut gone = Vec::new();
            loop {
                let event = match reader.next() {
                    Ok(event) => event,
                    Err(rustix::io::Errno::WOULDBLOCK) => break,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(err) => return Err(err.into()),
                };
                let flags = event.events();
                if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                    tracing::debug!("woke: inotify queue overflowed");
                    changed = true;
                    continue;
                }
                let Some((interest, path)) = self.watches.get(&event.wd()) else {
                    continue;
                };
                if flags.intersects(ReadFlags::IGNORED | ReadFlags::DELETE_SELF) {
                    tracing::debug!(path = %path.display(), "woke: a watched folder or file went away");
                    gone.push(event.wd());
                    changed = true;
                    continue;
                }
                if flags.contains(ReadFlags::MOVE_SELF) {
                    // Still watched where it went; its old path is empty now.
                    tracing::debug!(path = %path.display(), "woke: a watched folder or file was moved away");
                    changed = true;
                    continue;
                }
                let name = event.file_name().map(|n| OsStr::from_bytes(n.to_bytes()));
                let wanted = match interest {
                    Interest::Contents | Interest::Entries => true,
                    Interest::Names(names) => name.is_some_and(|n| names.iter().any(|w| w == n)),
                };
                if wanted {
                    tracing::trace!(
                        path = %path.display(),
                        file = ?name.unwrap_or_default(),
                        events = ?flags,
                        "woke: a watched file changed"
                    );
                    changed = true;
                }
            }
            for wd in gone {
                self.watches.remove(&wd);
            }
            Ok(changed)
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use std::ffi::OsStr;
    use std::io;
    use std::path::Path;
    use std::time::Instant;

    use crate::signal::Verified;

    /// No file events or process handles here: the watcher polls.
    #[derive(Debug)]
    pub(super) struct Inner;

    /// Polling ends each wait soon anyway: nothing to wake.
    #[derive(Debug, Clone, Default)]
    pub(super) struct WakerInner;

    impl WakerInner {
        pub(super) fn wake(&self) {}
    }

    impl Inner {
        pub(super) fn new() -> Inner {
            Inner
        }

        pub(super) fn is_event_driven(&self) -> bool {
            false
        }

        pub(super) fn waker(&mut self) -> WakerInner {
            WakerInner
        }

        pub(super) fn watch_name(&mut self, _dir: &Path, _name: &OsStr) -> bool {
            false
        }

        pub(super) fn watch_entries(&mut self, _dir: &Path) -> bool {
            false
        }

        pub(super) fn watch_contents(&mut self, _path: &Path) -> bool {
            false
        }

        pub(super) fn watch_exit(&mut self, _process: &Verified) -> bool {
            false
        }

        pub(super) fn wait(&mut self, deadline: Option<Instant>) -> io::Result<bool> {
            if let Some(deadline) = deadline {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            }
            Ok(false)
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    const SOON: Duration = Duration::from_millis(100);
    const LONG: Duration = Duration::from_secs(10);

    #[test]
    fn a_watched_file_wakes_and_others_do_not() {
        let tmp = tempfile::tempdir().unwrap();
        let watched = tmp.path().join("result.toml");
        let mut watcher = Watcher::new();
        assert!(watcher.is_event_driven());
        watcher.watch_files(std::slice::from_ref(&watched));
        fs_err::write(tmp.path().join("output.log"), "noise").unwrap();
        assert_eq!(watcher.wait(Some(Instant::now() + SOON)), Wake::Deadline);
        // Written in place: wakes once the writer closes it.
        fs_err::write(&watched, "in place").unwrap();
        assert_eq!(watcher.wait(Some(Instant::now() + LONG)), Wake::Changed);
        assert_eq!(watcher.wait(Some(Instant::now() + SOON)), Wake::Deadline);
        // A rename onto the name (how durable writes land) wakes.
        let temp = tmp.path().join(".tmp");
        fs_err::write(&temp, "x").unwrap();
        fs_err::rename(&temp, &watched).unwrap();
        let start = Instant::now();
        assert_eq!(watcher.wait(Some(start + LONG)), Wake::Changed);
        assert!(start.elapsed() < LONG);
        // The events were consumed: nothing is pending.
        assert_eq!(watcher.wait(Some(Instant::now() + SOON)), Wake::Deadline);
        // A hard link onto the name (no-clobber publish) wakes too.
        fs_err::remove_file(&watched).unwrap();
        assert_eq!(watcher.wait(Some(Instant::now() + LONG)), Wake::Changed);
        fs_err::write(&temp, "y").unwrap();
        fs_err::hard_link(&temp, &watched).unwrap();
        assert_eq!(watcher.wait(Some(Instant::now() + LONG)), Wake::Changed);
    }

    #[test]
    fn an_entries_watch_wakes_for_any_new_name() {
        let tmp = tempfile::tempdir().unwrap();
        let mut watcher = Watcher::new();
        watcher.watch_files(&[tmp.path().join("cooldown-marker.toml")]);
        watcher.watch_entries(tmp.path());
        assert_eq!(watcher.wait(Some(Instant::now() + SOON)), Wake::Deadline);
        // A session dir published with one rename from its staging name.
        let staging = tmp.path().join(".creating-x");
        fs_err::create_dir(&staging).unwrap();
        assert_eq!(watcher.wait(Some(Instant::now() + LONG)), Wake::Changed);
        fs_err::rename(&staging, tmp.path().join("01KAZ9")).unwrap();
        assert_eq!(watcher.wait(Some(Instant::now() + LONG)), Wake::Changed);
        assert_eq!(watcher.wait(Some(Instant::now() + SOON)), Wake::Deadline);
    }

    #[test]
    fn a_waker_wakes_a_wait_from_another_thread_once() {
        let mut watcher = Watcher::new();
        let waker = watcher.waker();
        assert_eq!(watcher.wait(Some(Instant::now() + SOON)), Wake::Deadline);
        let again = waker.clone();
        std::thread::spawn(move || waker.wake()).join().unwrap();
        again.wake();
        // Both wakes are taken by one wait.
        assert_eq!(watcher.wait(Some(Instant::now() + LONG)), Wake::Changed);
        assert_eq!(watcher.wait(Some(Instant::now() + SOON)), Wake::Deadline);
        // A wait already blocked is woken.
        let thread = std::thread::spawn(move || {
            std::thread::sleep(SOON);
            again.wake();
        });
        assert_eq!(watcher.wait(Some(Instant::now() + LONG)), Wake::Changed);
        thread.join().unwrap();
    }

    #[test]
    fn writes_to_a_linked_file_wake_a_contents_watch() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let target = elsewhere.path().join("real.log");
        fs_err::write(&target, "").unwrap();
        let link = tmp.path().join("output.log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut watcher = Watcher::new();
        watcher.watch_contents(&link);
        assert_eq!(watcher.wait(Some(Instant::now() + SOON)), Wake::Deadline);
        let mut file = fs_err::OpenOptions::new()
            .append(true)
            .open(&target)
            .unwrap();
        std::io::Write::write_all(&mut file, b"line\n").unwrap();
        assert_eq!(watcher.wait(Some(Instant::now() + LONG)), Wake::Changed);
    }

    #[test]
    fn a_verified_process_exit_wakes() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let record = crate::DaemonPid {
            pid: child.id(),
            start_time_ticks: crate::facts::start_time_ticks(child.id()),
        };
        let verified = crate::signal::verify(&record, |_| Ok(())).unwrap();
        let mut watcher = Watcher::new();
        watcher.watch_exit(&verified);
        assert!(watcher.is_event_driven());
        assert_eq!(watcher.wait(Some(Instant::now() + SOON)), Wake::Deadline);
        child.kill().unwrap();
        assert_eq!(watcher.wait(Some(Instant::now() + LONG)), Wake::Changed);
        // An exited process is watched no more, even when asked again: it
        // does not wake again.
        watcher.watch_exit(&verified);
        assert_eq!(watcher.wait(Some(Instant::now() + SOON)), Wake::Deadline);
        child.wait().unwrap();
    }
}

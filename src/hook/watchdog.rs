//! The hook's clock: a decision that takes longer than `[limits] timeout_seconds` is a
//! rejection, recorded like any other, never a hung push (git holds the pusher's connection,
//! and a hook that never exits holds the host's worker with it).
//!
//! The work itself cannot be interrupted safely from outside (a walk, an inflate, a YAML
//! parse), so a thread watches the clock instead. When the deadline passes it takes over the
//! verdict: it removes pushguard's own temporary directory, runs the rejection the hook gave it
//! (which prints the message for the pusher and writes the audit record), and ends the process
//! with a non-zero status. git then refuses every ref of the push and deletes its quarantine.
//!
//! Exactly one verdict is written per push: the main thread [`claims`](Watchdog::claim) the
//! verdict before it writes its own; if the watchdog claimed it first, the main thread waits
//! for the process to end. A main thread that claimed the verdict and then hangs writing it
//! (an audit log locked by a stuck process) is ended after [`GRACE`] without a second record.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a main thread that claimed the verdict may take to write it, past the deadline.
pub const GRACE: Duration = Duration::from_secs(30);

/// What the watchdog runs when the deadline passes: prints the rejection, writes the audit
/// record, and returns the exit status. Given the time allowed.
pub type OnTimeout = Box<dyn FnOnce(Duration) -> i32 + Send>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Claim {
    Open,
    Main,
    Watchdog,
}

struct State {
    start: Instant,
    allowed: Duration,
    claim: Claim,
    on_timeout: Option<OnTimeout>,
    temp_dirs: Vec<PathBuf>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the state is still what it was.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running clock of one hook process.
pub struct Watchdog {
    shared: Arc<Shared>,
}

impl Watchdog {
    /// Starts the clock at `start`, allowing `allowed` until [`Watchdog::set_allowed`] says
    /// otherwise. `fallback` is what runs on a timeout before the hook could say more (the
    /// policy not read yet).
    pub fn start(start: Instant, allowed: Duration, fallback: OnTimeout) -> Watchdog {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                start,
                allowed,
                claim: Claim::Open,
                on_timeout: Some(fallback),
                temp_dirs: Vec::new(),
            }),
            changed: Condvar::new(),
        });
        let watched = shared.clone();
        std::thread::spawn(move || watch(&watched));
        Watchdog { shared }
    }

    /// The time the decision may take, from the start (the policy's `timeout_seconds`).
    pub fn set_allowed(&self, allowed: Duration) {
        self.shared.lock().allowed = allowed;
        self.shared.changed.notify_all();
    }

    /// What to do on a timeout from now on (the hook knows the policy, the host, the updates).
    pub fn on_timeout(&self, f: OnTimeout) {
        self.shared.lock().on_timeout = Some(f);
    }

    /// A temporary directory of this process, removed before a timeout ends it.
    pub fn remove_on_timeout(&self, dir: PathBuf) {
        self.shared.lock().temp_dirs.push(dir);
    }

    /// Takes the verdict for the main thread. When the watchdog has already taken it, this
    /// never returns: the watchdog is ending the process with its own verdict.
    pub fn claim(&self) {
        let mut state = self.shared.lock();
        if state.claim == Claim::Open {
            state.claim = Claim::Main;
            drop(state);
            self.shared.changed.notify_all();
            return;
        }
        drop(state);
        loop {
            std::thread::park();
        }
    }
}

fn watch(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        let deadline = state.start + state.allowed;
        let now = Instant::now();
        match state.claim {
            Claim::Main => {
                // The main thread is writing its verdict: give it until the deadline plus GRACE.
                let end = deadline + GRACE;
                let (s, _) = shared
                    .changed
                    .wait_timeout(state, end.saturating_duration_since(now))
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                state = s;
                if Instant::now() >= end {
                    eprintln!(
                        "pushguard: push REJECTED: the verdict could not be written within {} s",
                        (state.allowed + GRACE).as_secs()
                    );
                    std::process::exit(crate::commands::ERROR);
                }
            }
            Claim::Watchdog => return,
            Claim::Open if now >= deadline => {
                state.claim = Claim::Watchdog;
                let on_timeout = state.on_timeout.take();
                let dirs = std::mem::take(&mut state.temp_dirs);
                let allowed = state.allowed;
                drop(state);
                for d in dirs {
                    let _ = std::fs::remove_dir_all(d);
                }
                let status = on_timeout.map_or(crate::commands::ERROR, |f| f(allowed));
                std::process::exit(if status == 0 {
                    crate::commands::ERROR
                } else {
                    status
                });
            }
            Claim::Open => {
                let (s, _) = shared
                    .changed
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                state = s;
            }
        }
    }
}

//! Signature facts: commit, tag and push-certificate signatures checked against the policy's
//! trust store, turned into plain [`SignatureFacts`] for the policy.
//!
//! Verification is the expensive part of a large push, so its commits are verified in
//! parallel on every core (a small push's on the calling thread, see [`INLINE_MAX`]), each
//! commit object having been read once (by the engine, which hands over its raw bytes). Which
//! keys are trusted, at which time, with which hash algorithms, is decided by `pushguard-sign`
//! (sequoia-openpgp and ssh-key); which key may sign what is the policy's job.

use std::time::SystemTime;

use pushguard_sign::{ObjectHash, Verdict, VerifyOptions};

use crate::facts::SignatureFacts;
use crate::hook::{Oid, RefUpdate};
use crate::policy::{KeyValidity, Policy, Trust};

/// One commit to verify: its id, raw object, committer time and email.
pub struct Job {
    pub id: Oid,
    pub raw: Vec<u8>,
    pub committer_time: i64,
    pub committer_email: String,
}

pub fn options(policy: &Policy, now: SystemTime) -> VerifyOptions {
    VerifyOptions {
        key_validity: match policy.signatures.key_validity {
            KeyValidity::Now => pushguard_sign::KeyValidity::Now,
            KeyValidity::SignatureTime => pushguard_sign::KeyValidity::SignatureTime,
        },
        allow_sha1: policy.signatures.allow_sha1,
        max_future_skew: policy.signatures.max_future_skew,
        now,
    }
}

fn epoch(seconds: i64) -> SystemTime {
    if seconds >= 0 {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(seconds as u64)
    } else {
        SystemTime::UNIX_EPOCH - std::time::Duration::from_secs(seconds.unsigned_abs())
    }
}

fn facts_of(verdict: Verdict, email: &str) -> SignatureFacts {
    match verdict {
        Verdict::Good(signer) => SignatureFacts::Good {
            binds_committer: signer.binds(email),
            key_id: signer.key_id.clone(),
            signing_key: signer.signing_key.clone(),
            user_ids: signer.user_ids.clone(),
        },
        Verdict::Bad(problem) => SignatureFacts::Bad {
            reason: problem.to_string(),
        },
    }
}

/// Verifies one commit.
pub fn commit(trust: &Trust, job: &Job, hash: ObjectHash, opts: &VerifyOptions) -> SignatureFacts {
    match pushguard_sign::commit_signature_for(&job.raw, hash) {
        None => SignatureFacts::Unsigned,
        Some(signed) => facts_of(
            pushguard_sign::verify(&trust.store, &signed, epoch(job.committer_time), opts),
            &job.committer_email,
        ),
    }
}

/// Most commits verified on the caller's thread. A thread costs more than a few verifications
/// on a small host (its start, and waking it on another core: on a virtual machine with a
/// descheduled core that wait was measured at 8 ms, against 0.35 ms per ed25519 signature), so
/// a push of up to this many signed commits is verified where it is read, and only a larger one
/// starts a worker per core.
pub const INLINE_MAX: usize = 4;

/// Verifies commits while the caller is still reading the push: jobs go in as commits are
/// read, results come out at the end. Reading a push is serial (one repository handle);
/// verifying is the expensive part of a large push, so past [`INLINE_MAX`] jobs a worker per
/// core verifies while the caller reads. Up to that, [`Pool::finish`] verifies them itself.
pub struct Pool {
    trust: Trust,
    hash: ObjectHash,
    opts: VerifyOptions,
    /// Jobs not yet handed to a worker (all of them while no worker runs).
    pending: Vec<Job>,
    workers: Option<Workers>,
}

struct Workers {
    jobs: std::sync::mpsc::SyncSender<Job>,
    results: std::sync::mpsc::Receiver<(Oid, SignatureFacts)>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Workers {
    fn start(trust: &Trust, hash: ObjectHash, opts: &VerifyOptions) -> Workers {
        // Bounded: when reading runs ahead of verifying, the reader waits instead of queueing
        // the whole push in memory.
        let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<Job>(256);
        let (res_tx, results) = std::sync::mpsc::channel();
        let job_rx = std::sync::Arc::new(std::sync::Mutex::new(job_rx));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (0..threads)
            .map(|_| {
                let job_rx = std::sync::Arc::clone(&job_rx);
                let res_tx = res_tx.clone();
                let trust = trust.clone();
                let opts = opts.clone();
                std::thread::spawn(move || loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    let verdict = commit(&trust, &job, hash, &opts);
                    if res_tx.send((job.id, verdict)).is_err() {
                        return;
                    }
                })
            })
            .collect();
        Workers {
            jobs: job_tx,
            results,
            threads,
        }
    }
}

impl Pool {
    pub fn new(trust: &Trust, hash: ObjectHash, opts: &VerifyOptions) -> Pool {
        Pool {
            trust: trust.clone(),
            hash,
            opts: opts.clone(),
            pending: Vec::new(),
            workers: None,
        }
    }

    pub fn submit(&mut self, job: Job) {
        if self.workers.is_none() {
            if self.pending.len() < INLINE_MAX {
                self.pending.push(job);
                return;
            }
            self.workers = Some(Workers::start(&self.trust, self.hash, &self.opts));
        }
        if let Some(w) = &self.workers {
            for job in self.pending.drain(..).chain(std::iter::once(job)) {
                // A worker that died leaves its job unanswered: `finish` reports it as not
                // verified.
                let _ = w.jobs.send(job);
            }
        }
    }

    /// Waits for every submitted job; a commit without a result was not verified.
    pub fn finish(self) -> std::collections::HashMap<Oid, SignatureFacts> {
        match self.workers {
            Some(w) => {
                drop(w.jobs);
                for t in w.threads {
                    let _ = t.join();
                }
                w.results.try_iter().collect()
            }
            None => self
                .pending
                .iter()
                .filter_map(|job| {
                    // As with a worker that died: a panic leaves the commit unanswered.
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        commit(&self.trust, job, self.hash, &self.opts)
                    }))
                    .ok()
                    .map(|verdict| (job.id.clone(), verdict))
                })
                .collect(),
        }
    }
}

/// Verifies an annotated tag object.
pub fn tag(trust: &Trust, raw: &[u8], opts: &VerifyOptions) -> SignatureFacts {
    let tagger = pushguard_sign::tagger(raw);
    let (time, email) = match &tagger {
        Some(t) => (t.time, t.email.as_str()),
        None => (opts.now, ""),
    };
    match pushguard_sign::tag_signature(raw) {
        None => SignatureFacts::Unsigned,
        Some(signed) => facts_of(
            pushguard_sign::verify(&trust.store, &signed, time, opts),
            email,
        ),
    }
}

/// Verifies a push certificate blob and compares its ref lines with the updates pushed.
pub fn push_cert(
    trust: &Trust,
    blob: &[u8],
    nonce_status: Option<String>,
    updates: &[RefUpdate],
    opts: &VerifyOptions,
) -> crate::facts::PushCertFacts {
    let cert = match pushguard_sign::parse_push_cert(blob) {
        Ok(c) => c,
        Err(e) => {
            return crate::facts::PushCertFacts {
                signature: SignatureFacts::Bad {
                    reason: format!("the push certificate cannot be read: {e}"),
                },
                nonce_status,
                mismatch: None,
                replayed: false,
            }
        }
    };
    let time = cert.pusher_time.unwrap_or(opts.now);
    let signature = facts_of(
        pushguard_sign::verify(&trust.store, &cert.signed, time, opts),
        "",
    );
    let mut problems = Vec::new();
    for u in updates {
        let found = cert.updates.iter().find(|c| c.refname == u.name);
        match found {
            None => problems.push(format!(
                "{} was pushed but is not in the certificate",
                u.name
            )),
            Some(c)
                if !c.old.eq_ignore_ascii_case(u.old.as_str())
                    || !c.new.eq_ignore_ascii_case(u.new.as_str()) =>
            {
                problems.push(format!(
                    "{}: the certificate says {}..{}, the push is {}..{}",
                    u.name,
                    c.old.get(..7).unwrap_or(&c.old),
                    c.new.get(..7).unwrap_or(&c.new),
                    u.old.short(),
                    u.new.short()
                ))
            }
            Some(_) => {}
        }
    }
    for c in &cert.updates {
        if !updates.iter().any(|u| u.name == c.refname) {
            problems.push(format!(
                "the certificate names {}, which was not pushed",
                c.refname
            ));
        }
    }
    crate::facts::PushCertFacts {
        signature,
        nonce_status,
        mismatch: (!problems.is_empty()).then(|| problems.join("; ")),
        replayed: false,
    }
}

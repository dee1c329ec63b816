//! Model-based property test of the session life cycle: a live process, its
//! exit with or without a result or completion, reconciles (clean, failing or
//! crashing at any fault point), late results and lists, in any order. After
//! every step a real result is never lost or replaced and the state parses;
//! while the process lives nothing changes; at the end one more reconcile
//! leaves the session retired with exactly one parseable result.

use std::process::{Child, Command};

use proptest::prelude::*;

use csa_test_support::*;

#[derive(Debug, Clone)]
enum Op {
    Exit { result: bool, completion: bool },
    Reconcile { fault: Option<(usize, bool)> },
    LateResult,
    List,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), any::<bool>())
            .prop_map(|(result, completion)| Op::Exit { result, completion }),
        proptest::option::of((0..FaultPoint::RECONCILE.len(), any::<bool>()))
            .prop_map(|fault| Op::Reconcile { fault }),
        Just(Op::LateResult),
        Just(Op::List),
    ]
}

struct Model {
    env: Env,
    session: Session,
    process: Option<Child>,
    real: Option<String>,
}

impl Model {
    fn new() -> Model {
        let env = Env::new();
        let session = env.session("active");
        let child = Command::new("sleep").arg("60").spawn().unwrap();
        let ticks = csa_process::facts::start_time_ticks(child.id()).unwrap();
        session.write("daemon.pid", &format!("{} {ticks}\n", child.id()));
        Model {
            env,
            session,
            process: Some(child),
            real: None,
        }
    }

    /// A writer publishing a real result with no clobber, as the daemon does.
    fn publish_real(&mut self, summary: &str) {
        let bytes = result_toml("success", 0, summary);
        let tmp = self.session.path("writer.tmp");
        fs_err::write(&tmp, &bytes).unwrap();
        if fs_err::hard_link(&tmp, self.session.path("result.toml")).is_ok() {
            self.real = Some(bytes);
        }
        fs_err::remove_file(&tmp).unwrap();
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Exit { result, completion } => {
                if let Some(mut child) = self.process.take() {
                    child.kill().unwrap();
                    child.wait().unwrap();
                }
                if *completion {
                    self.session.write(
                        "daemon-completion.toml",
                        "exit_code = 7\nstatus = \"failure\"\n",
                    );
                }
                if *result {
                    self.publish_real("exit result");
                }
            }
            Op::LateResult => self.publish_real("late result"),
            Op::Reconcile { fault } => {
                let before = self.session.snapshot();
                let mut cmd = self.env.csa();
                if let Some((point, abort)) = fault {
                    let mode = if *abort {
                        FaultMode::Abort
                    } else {
                        FaultMode::Error
                    };
                    cmd.env(FAULT_ENV, FaultPoint::RECONCILE[*point].spec(mode));
                }
                cmd.args(["session", "reconcile", &self.session.id])
                    .output()
                    .unwrap();
                if self.process.is_some() {
                    assert_eq!(self.session.snapshot(), before, "a live session changed");
                }
            }
            Op::List => {
                let before = self.session.snapshot();
                let out = self.env.csa().args(["session", "list"]).output().unwrap();
                assert!(out.status.success(), "{}", stderr_of(&out));
                if self.process.is_some() {
                    assert_eq!(self.session.snapshot(), before, "a live session changed");
                }
            }
        }
        self.check_step();
    }

    fn check_step(&self) {
        assert!(
            self.session
                .read("state.toml")
                .parse::<toml::Table>()
                .is_ok()
        );
        if let Some(real) = &self.real {
            assert_eq!(
                &self.session.read("result.toml"),
                real,
                "a real result was replaced"
            );
        }
        if self.process.is_some() {
            assert_eq!(self.session.phase(), "active", "a live session was retired");
        }
    }

    fn finish(mut self) {
        self.apply(&Op::Exit {
            result: false,
            completion: false,
        });
        let out = self
            .env
            .csa()
            .args(["session", "reconcile", &self.session.id])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stdout_of(&out));
        assert_eq!(self.session.phase(), "retired");
        let result: toml::Table = self.session.read("result.toml").parse().unwrap();
        assert!(result["exit_code"].is_integer());
        if let Some(real) = &self.real {
            assert_eq!(&self.session.read("result.toml"), real);
        }
        assert_eq!(self.session.result_files(), 1);
        assert!(temp_files(&self.session.dir).is_empty());
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_generated_history_converges(ops in proptest::collection::vec(op(), 1..7)) {
        let mut model = Model::new();
        for op in &ops {
            model.apply(op);
        }
        model.finish();
    }
}

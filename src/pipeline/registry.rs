//! The task kinds the `pipelines` commands, pipeline loading and `run` use, created in ONE
//! place, `default_registry`: the engine's synthetic kinds and the collect kinds (`k8s.*`,
//! `kudo.*`) and the kinds behind operators' own `diagnostics` (`opdiag.*`, `k8s.describe`).

use crate::engine::Registry;

/// The registry of every task kind this build can run.
pub fn default_registry() -> Registry {
    let mut registry = Registry::new();
    crate::engine::synthetic::register(&mut registry);
    crate::collect::register(&mut registry);
    crate::opdiag::register(&mut registry);
    registry
}

/// Test-only kinds with the synthetic kinds' names and parameters. They describe; they do not run.
#[cfg(test)]
pub(crate) mod test_kinds {
    use crate::engine::{ParamSpec, Registry, TaskContext, TaskError, TaskKind, TaskOutput};

    pub struct Described {
        pub name: &'static str,
        pub description: &'static str,
        pub params: &'static [ParamSpec],
    }

    #[async_trait::async_trait]
    impl TaskKind for Described {
        fn name(&self) -> &'static str {
            self.name
        }
        fn description(&self) -> &'static str {
            self.description
        }
        fn params(&self) -> &'static [ParamSpec] {
            self.params
        }
        async fn run(&self, _ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
            Err(TaskError::failed(
                "test kinds only describe parameters for validation tests; they cannot run",
            ))
        }
    }

    const WRITE: &[ParamSpec] = &[
        ParamSpec::required("bytes", "how many bytes to write"),
        ParamSpec::optional("seed", "seed of the generated content"),
    ];
    const ITEMS: &[ParamSpec] = &[ParamSpec::required("count", "how many items")];
    const FAIL: &[ParamSpec] = &[
        ParamSpec::optional("transient", "whether the failure is worth retrying"),
        ParamSpec::optional("times", "how many attempts fail"),
    ];
    const SLEEP: &[ParamSpec] = &[ParamSpec::required("ms", "milliseconds to sleep")];

    pub fn register(r: &mut Registry) {
        r.register(Described {
            name: "synthetic.write",
            description: "writes `bytes` pseudo-random bytes from `seed` to the task's output",
            params: WRITE,
        });
        r.register(Described {
            name: "synthetic.items",
            description: "returns `count` items for a fan-out",
            params: ITEMS,
        });
        r.register(Described {
            name: "synthetic.fail",
            description: "fails `times` times, transiently or not",
            params: FAIL,
        });
        r.register(Described {
            name: "synthetic.sleep",
            description: "sleeps `ms` milliseconds",
            params: SLEEP,
        });
    }
}

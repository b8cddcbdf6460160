//! Test-only kinds with the synthetic kinds' names and parameters, so that validation tests do
//! not change when the real kinds change. They describe; they do not run.

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

//! The Kubernetes task kinds: `k8s.get`, `k8s.list`, `k8s.logs`, `k8s.exec`, `k8s.proxy`,
//! `k8s.version`, `k8s.discovery`, `k8s.filelog`, `k8s.nodepods`, `kudo.operatorversion` and `app.exec`. Each is stateless; the client and settings come from the `TaskContext`.

pub mod discovery;
pub mod exec;
pub mod filelog;
pub mod get;
pub mod list;
pub mod logs;
pub mod nodepods;
pub mod operatorversion;
pub mod proxy;
pub mod refusal;
pub mod running;
pub mod version;

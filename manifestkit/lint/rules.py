"""The lint rule registry: stable ids, names, default severities and checks.

Ids never change meaning and are never reused; docs/rules.md has a section per id
with why it matters and a bad and a good example. ``pods=True`` marks a rule that looks only
at a pod spec: it is not run on the other objects.
"""

from __future__ import annotations

from manifestkit.diagnostics import ERROR, INFO, WARNING
from manifestkit.lint import container_rules as c
from manifestkit.lint import pattern_rules as p
from manifestkit.lint import security_rules as s
from manifestkit.lint import workload_rules as w
from manifestkit.lint.base import Rule

RULES: dict[str, Rule] = {
    "MK001": Rule(
        "MK001",
        "selector-labels",
        ERROR,
        "workload selector does not match its pod template labels",
        w.check_selector_labels,
    ),
    "MK002": Rule(
        "MK002",
        "service-selector",
        WARNING,
        "Service selects no pod of the workloads checked with it",
        w.check_service_selector,
    ),
    "MK003": Rule(
        "MK003", "port-clash", ERROR, "two containers of a pod listen on the same port", w.check_port_clash, pods=True
    ),
    "MK004": Rule(
        "MK004", "duplicate-name", ERROR, "duplicate container, volume or port name", w.check_duplicate_names
    ),
    "MK005": Rule(
        "MK005",
        "mount-without-volume",
        ERROR,
        "volumeMount names a volume the pod does not define",
        w.check_mount_without_volume,
        pods=True,
    ),
    "MK006": Rule(
        "MK006",
        "service-target-port",
        ERROR,
        "Service targetPort that no selected container exposes",
        w.check_service_target_port,
    ),
    "MK007": Rule(
        "MK007",
        "missing-probe",
        WARNING,
        "long-running container without readiness or liveness probe",
        c.check_missing_probes,
        pods=True,
    ),
    "MK008": Rule(
        "MK008",
        "probe-never-fails",
        WARNING,
        "exec probe that can never fail (`ps aux | grep`)",
        c.check_probe_never_fails,
        pods=True,
    ),
    "MK009": Rule(
        "MK009", "privileged", ERROR, "privileged or SYS_ADMIN outside an init container", s.check_privileged,
        pods=True,
    ),
    "MK010": Rule(
        "MK010",
        "process-sharing",
        WARNING,
        "SYS_PTRACE or shareProcessNamespace without a reason",
        s.check_process_sharing,
        pods=True,
    ),
    "MK011": Rule(
        "MK011", "image-tag", WARNING, "image without a tag or with `latest`", c.check_image_tag, pods=True
    ),
    "MK012": Rule(
        "MK012", "resources", WARNING, "container without resource requests or limits", c.check_resources, pods=True
    ),
    "MK013": Rule("MK013", "run-as-non-root", WARNING, "runAsNonRoot not set", s.check_run_as_non_root, pods=True),
    "MK014": Rule(
        "MK014",
        "plaintext-secret",
        ERROR,
        "Secret with plaintext values in a file that is not sops-encrypted",
        s.check_plaintext_secret,
    ),
    "MK015": Rule(
        "MK015",
        "roleref-change",
        ERROR,
        "RBAC binding whose roleRef changed (needs a recreate)",
        s.check_roleref_change,
    ),
    "MK016": Rule("MK016", "host-path", WARNING, "hostPath volume", s.check_host_path, pods=True),
    "MK017": Rule(
        "MK017",
        "init-container-probe",
        ERROR,
        "probe on an init container that is not a native sidecar",
        p.check_init_probe,
        pods=True,
    ),
    "MK018": Rule(
        "MK018", "job-sidecar", ERROR, "long-running classic sidecar in a Job or CronJob", p.check_job_sidecar,
        pods=True,
    ),
    "MK019": Rule(
        "MK019",
        "init-order",
        WARNING,
        "init container needing the network runs before the mesh proxy or Vault agent",
        p.check_init_order,
        pods=True,
    ),
    "MK020": Rule(
        "MK020",
        "vault-kv2-data",
        ERROR,
        "Vault template reads .Data.x from a KV v2 path (or .Data.data.x from KV v1)",
        p.check_vault_kv2,
    ),
    "MK021": Rule(
        "MK021",
        "unresolved-reference",
        ERROR,
        "secret reference (ref+..., <path:...>) left in output",
        p.check_unresolved_refs,
    ),
    "MK022": Rule(
        "MK022",
        "read-only-root",
        INFO,
        "container root file system is writable (off by default)",
        s.check_read_only_root,
        enabled=False,
        pods=True,
    ),
    "MK023": Rule(
        "MK023",
        "vault-injector-annotation",
        ERROR,
        "Vault Agent Injector annotation it does not read, or a key over 63 characters",
        p.check_vault_injector,
        pods=True,
    ),
}

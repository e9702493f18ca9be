"""batch/v1 Jobs run by the in-process Job controller, node lifecycle and the
garbage collector's sweep, with a real `wharf agent` and real kubectl.

Most Job tests name the agent's node in the pod template (spec.nodeName:
node-1), which Kubernetes allows too; the failover test lets the scheduler
place pods. One server and one agent (4 declared GPUs) serve the Job tests;
node lifecycle runs on a
dedicated server with short timeouts and its own agent, which the test
kills with SIGKILL and starts again. Waits poll; nothing asserts on
durations.
"""
import json
import re
import shutil
import signal
import time
import uuid

import pytest

from conftest import Agent, Cluster, Server, kill_leftover_containers, needs_kubectl

pytestmark = needs_kubectl

NODE = "node-1"
NS = "jobs"
JOBS = "/apis/batch/v1/namespaces/%s/jobs" % NS
PODS = "/api/v1/namespaces/%s/pods" % NS


# ---- helpers ----------------------------------------------------------------


def wait_for(fn, timeout=30.0, interval=0.1, what=None):
    """Poll fn until it returns something truthy; return that."""
    deadline = time.time() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.time() >= deadline:
            raise AssertionError("timed out waiting for %s; last value: %r"
                                 % (what or getattr(fn, "__name__", "condition"), last))
        time.sleep(interval)


def job_manifest(name, command, *, ns=NS, restart="Never", containers=None, template_spec=None,
                 **spec):
    if containers is None:
        containers = [{"name": "main", "image": "busybox", "command": command}]
    tspec = {"nodeName": NODE, "restartPolicy": restart, "containers": containers,
             "terminationGracePeriodSeconds": 1}
    tspec.update(template_spec or {})
    m = {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": {"name": name, "namespace": ns},
         "spec": {"template": {"metadata": {"labels": {"test": name}}, "spec": tspec}}}
    m["spec"].update(spec)
    return m


def create_job(cluster, m):
    r = cluster.post("/apis/batch/v1/namespaces/%s/jobs" % m["metadata"]["namespace"], m)
    assert r.code == 201, r.body
    return r.json()


def get_job(cluster, name, ns=NS):
    r = cluster.get("/apis/batch/v1/namespaces/%s/jobs/%s" % (ns, name))
    return r.json() if r.code == 200 else None


def job_pods(cluster, name, ns=NS):
    r = cluster.get("/api/v1/namespaces/%s/pods?labelSelector=job-name%%3D%s" % (ns, name))
    assert r.code == 200, r.body
    return r.json()["items"]


def conds(obj):
    return {c["type"]: c for c in obj.get("status", {}).get("conditions", [])}


def phase(p):
    return p.get("status", {}).get("phase")


def table(text):
    """kubectl get output -> list of dicts keyed by column header."""
    lines = [l for l in text.splitlines() if l.strip()]
    head = lines[0]
    starts = [m.start() for m in re.finditer(r"\S+", head)]
    names = head.split()
    rows = []
    for line in lines[1:]:
        cells = []
        for i, s in enumerate(starts):
            e = starts[i + 1] if i + 1 < len(starts) else None
            cells.append(line[s:e].strip())
        rows.append(dict(zip(names, cells)))
    return rows


def delete_job_and_wait(cluster, name, ns=NS):
    cluster.kubectl("delete", "job", name, "-n", ns, "--ignore-not-found", "--wait=false")
    wait_for(lambda: get_job(cluster, name, ns) is None, what="job %s gone" % name)
    wait_for(lambda: not job_pods(cluster, name, ns), what="pods of %s gone" % name)


@pytest.fixture(scope="module")
def ns(cluster):
    r = cluster.post("/api/v1/namespaces", {"metadata": {"name": NS}})
    assert r.code in (201, 409), r.body
    return NS


# ---- completions and parallelism ------------------------------------------------------


def test_job_completes_with_parallelism(cluster, agent, ns):
    name = "count3"
    create_job(cluster, job_manifest(name, ["sh", "-c", "sleep 0.5; echo done"],
                                     completions=3, parallelism=2))
    proc = cluster.kubectl_popen("wait", "--for=condition=complete", "job/" + name, "-n", NS,
                                 "--timeout=90s")
    # Never more than `parallelism` pods at once, while it runs.
    most = 0
    while proc.poll() is None:
        active = [p for p in job_pods(cluster, name)
                  if phase(p) not in ("Succeeded", "Failed")
                  and not p["metadata"].get("deletionTimestamp")]
        most = max(most, len(active))
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip() == "job.batch/%s condition met" % name
    assert 1 <= most <= 2

    job = get_job(cluster, name)
    st = job["status"]
    assert st["succeeded"] == 3
    assert "failed" not in st and "active" not in st
    assert st["ready"] == 0 and st["terminating"] == 0
    assert st["uncountedTerminatedPods"] == {}
    assert st["startTime"] <= st["completionTime"]
    types = [c["type"] for c in st["conditions"]]
    assert types == ["SuccessCriteriaMet", "Complete"]
    for c in st["conditions"]:
        assert c["status"] == "True" and c["reason"] == "CompletionsReached"
        assert c["message"] == "Reached expected number of succeeded pods"
        assert c["lastTransitionTime"] and c["lastProbeTime"]

    pods = job_pods(cluster, name)
    assert len(pods) == 3
    uid = job["metadata"]["uid"]
    for p in pods:
        md = p["metadata"]
        assert phase(p) == "Succeeded"
        assert md["generateName"] == name + "-"
        assert re.fullmatch(name + r"-[a-z0-9]{5}", md["name"])
        assert md["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                                          "uid": uid, "controller": True,
                                          "blockOwnerDeletion": True}]
        assert md["labels"]["batch.kubernetes.io/controller-uid"] == uid
        assert md["labels"]["test"] == name
        # Counted: the tracking finalizer is gone.
        assert "batch.kubernetes.io/job-tracking" not in md.get("finalizers", [])

    rows = table(cluster.kubectl("get", "jobs", "-n", NS, name).stdout)
    assert rows[0]["NAME"] == name
    assert rows[0]["STATUS"] == "Complete"
    assert rows[0]["COMPLETIONS"] == "3/3"
    assert re.fullmatch(r"\d+s", rows[0]["DURATION"])
    ev = cluster.kubectl("get", "events", "-n", NS, "--field-selector",
                         "involvedObject.name=" + name).stdout
    assert "SuccessfulCreate" in ev and "Completed" in ev
    # The status stays put once finished: the controller does not churn.
    rv = get_job(cluster, name)["metadata"]["resourceVersion"]
    time.sleep(1)
    assert get_job(cluster, name)["metadata"]["resourceVersion"] == rv
    delete_job_and_wait(cluster, name)


def test_work_queue_job(cluster, agent, ns):
    """completions unset: parallel workers, done when one succeeded and none run."""
    name = "queue"
    m = job_manifest(name, ["sh", "-c", "sleep 0.3"], parallelism=2)
    create_job(cluster, m)
    try:
        cluster.kubectl("wait", "--for=condition=complete", "job/" + name, "-n", NS,
                        "--timeout=20s")
        job = get_job(cluster, name)
        assert "completions" not in job["spec"]
        assert job["status"]["succeeded"] >= 1
        rows = table(cluster.kubectl("get", "jobs", "-n", NS, name).stdout)
        assert rows[0]["COMPLETIONS"] == "%d/1 of 2" % job["status"]["succeeded"]
    finally:
        delete_job_and_wait(cluster, name)


# ---- Indexed ------------------------------------------------------------------------------


def test_indexed_gpu_job(cluster, agent, ns):
    name = "idx"
    script = 'echo "index=$JOB_COMPLETION_INDEX host=$HOSTNAME gpu=$NVIDIA_VISIBLE_DEVICES"'
    containers = [{"name": "main", "image": "busybox", "command": ["sh", "-c", script],
                   "resources": {"limits": {"nvidia.com/gpu": "1"}}}]
    create_job(cluster, job_manifest(name, None, containers=containers, completions=4,
                                     parallelism=4, completionMode="Indexed"))
    p = cluster.kubectl("wait", "--for=condition=complete", "job/" + name, "-n", NS,
                        "--timeout=90s")
    assert p.stdout.strip() == "job.batch/%s condition met" % name
    job = get_job(cluster, name)
    assert job["status"]["completedIndexes"] == "0-3"
    assert job["status"]["succeeded"] == 4
    pods = job_pods(cluster, name)
    assert len(pods) == 4
    seen = set()
    for pod in pods:
        md = pod["metadata"]
        ix = md["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert md["labels"]["batch.kubernetes.io/job-completion-index"] == ix
        assert md["generateName"] == "%s-%s-" % (name, ix)
        assert re.fullmatch(r"%s-%s-[a-z0-9]{5}" % (name, ix), md["name"])
        assert pod["spec"]["hostname"] == "%s-%s" % (name, ix)
        assert pod["spec"]["subdomain"] == name
        env = pod["spec"]["containers"][0]["env"]
        assert env[0]["name"] == "JOB_COMPLETION_INDEX"
        log = cluster.kubectl("logs", "-n", NS, md["name"]).stdout.strip()
        got = dict(kv.split("=", 1) for kv in log.split())
        assert got["index"] == ix
        # HOSTNAME is the pod's hostname, <job>-<index>, as in Kubernetes.
        assert got["host"] == "%s-%s" % (name, ix)
        assert got["gpu"]
        seen.add(int(ix))
    assert seen == {0, 1, 2, 3}
    rows = table(cluster.kubectl("get", "jobs", "-n", NS, name).stdout)
    assert (rows[0]["STATUS"], rows[0]["COMPLETIONS"]) == ("Complete", "4/4")
    delete_job_and_wait(cluster, name)


# ---- failures ------------------------------------------------------------------------------


def test_backoff_limit_exceeded(cluster, agent, ns):
    name = "flaky"
    create_job(cluster, job_manifest(name, ["sh", "-c", "exit 3"], backoffLimit=1))
    p = cluster.kubectl("wait", "--for=condition=failed", "job/" + name, "-n", NS,
                        "--timeout=90s")
    assert p.stdout.strip() == "job.batch/%s condition met" % name
    job = get_job(cluster, name)
    c = conds(job)
    assert c["FailureTarget"]["status"] == "True"
    assert c["Failed"]["status"] == "True"
    assert c["Failed"]["reason"] == "BackoffLimitExceeded"
    assert c["Failed"]["message"] == "Job has reached the specified backoff limit"
    assert "Complete" not in c and "completionTime" not in job["status"]
    assert job["status"]["failed"] == 2
    pods = job_pods(cluster, name)
    assert len(pods) == 2 and all(phase(p) == "Failed" for p in pods)
    rows = table(cluster.kubectl("get", "jobs", "-n", NS, name).stdout)
    assert (rows[0]["STATUS"], rows[0]["COMPLETIONS"]) == ("Failed", "0/1")
    # Waiting for the other condition times out.
    p = cluster.kubectl("wait", "--for=condition=complete", "job/" + name, "-n", NS,
                        "--timeout=1s", check=False)
    assert p.returncode != 0 and "timed out" in p.stderr
    delete_job_and_wait(cluster, name)


def test_active_deadline(cluster, agent, ns):
    name = "slow"
    create_job(cluster, job_manifest(name, ["sleep", "300"], activeDeadlineSeconds=2))
    cluster.kubectl("wait", "--for=condition=failed", "job/" + name, "-n", NS, "--timeout=60s")
    job = get_job(cluster, name)
    c = conds(job)["Failed"]
    assert c["reason"] == "DeadlineExceeded"
    assert c["message"] == "Job was active longer than specified deadline"
    # Its pod was stopped and counted as failed.
    assert job["status"]["failed"] == 1
    assert "active" not in job["status"]
    wait_for(lambda: all(phase(p) in ("Failed", "Succeeded") for p in job_pods(cluster, name)),
             what="no running pod left")
    delete_job_and_wait(cluster, name)


# ---- suspend ------------------------------------------------------------------------------


def test_suspend_and_resume(cluster, agent, ns):
    name = "later"
    create_job(cluster, job_manifest(name, ["sh", "-c", "sleep 0.3"], completions=2,
                                     parallelism=2, suspend=True))
    job = wait_for(lambda: "Suspended" in conds(get_job(cluster, name)) and get_job(cluster, name),
                   what="Suspended condition")
    c = conds(job)["Suspended"]
    assert (c["status"], c["reason"], c["message"]) == ("True", "JobSuspended", "Job suspended")
    assert "startTime" not in job["status"]
    assert job_pods(cluster, name) == []
    rows = table(cluster.kubectl("get", "jobs", "-n", NS, name).stdout)
    assert rows[0]["STATUS"] == "Suspended"

    cluster.kubectl("patch", "job", name, "-n", NS, "--type=merge", "-p",
                    '{"spec":{"suspend":false}}')
    cluster.kubectl("wait", "--for=condition=complete", "job/" + name, "-n", NS, "--timeout=60s")
    job = get_job(cluster, name)
    c = conds(job)["Suspended"]
    assert (c["status"], c["reason"], c["message"]) == ("False", "JobResumed", "Job resumed")
    assert job["status"]["succeeded"] == 2
    delete_job_and_wait(cluster, name)


def test_suspend_running_job(cluster, agent, ns):
    name = "paused"
    create_job(cluster, job_manifest(name, ["sleep", "300"], completions=2, parallelism=2))
    wait_for(lambda: len([p for p in job_pods(cluster, name) if phase(p) == "Running"]) == 2,
             what="2 running pods")
    cluster.kubectl("patch", "job", name, "-n", NS, "--type=merge", "-p",
                    '{"spec":{"suspend":true}}')
    wait_for(lambda: not job_pods(cluster, name), what="pods of a suspended job gone")
    job = wait_for(lambda: (get_job(cluster, name)["status"].get("terminating") == 0
                            and get_job(cluster, name)), what="nothing terminating")
    assert conds(job)["Suspended"]["status"] == "True"
    # Pods stopped for a suspension are not failures.
    assert "failed" not in job["status"]
    assert "active" not in job["status"]
    cluster.kubectl("patch", "job", name, "-n", NS, "--type=merge", "-p",
                    '{"spec":{"suspend":false}}')
    wait_for(lambda: len([p for p in job_pods(cluster, name) if phase(p) == "Running"]) == 2,
             what="2 running pods again")
    assert conds(get_job(cluster, name))["Suspended"]["status"] == "False"
    delete_job_and_wait(cluster, name)


# ---- deletion -------------------------------------------------------------------------------


def test_ttl_after_finished_deletes_job_and_pods(cluster, agent, ns):
    name = "shortlived"
    create_job(cluster, job_manifest(name, ["true"], ttlSecondsAfterFinished=1))
    wait_for(lambda: get_job(cluster, name) is None, timeout=60, what="job deleted by its TTL")
    wait_for(lambda: not job_pods(cluster, name), what="its pods deleted")


def test_kubectl_delete_job_removes_pods(cluster, agent, ns):
    name = "doomed"
    create_job(cluster, job_manifest(name, ["sleep", "300"], completions=2, parallelism=2))
    wait_for(lambda: len([p for p in job_pods(cluster, name) if phase(p) == "Running"]) == 2,
             what="2 running pods")
    p = cluster.kubectl("delete", "job", name, "-n", NS)
    assert p.stdout.strip() == 'job.batch "%s" deleted' % name
    assert get_job(cluster, name) is None
    # Its pods go too, tracking finalizers and all.
    wait_for(lambda: not job_pods(cluster, name), what="pods gone")


# ---- bad input --------------------------------------------------------------------------------


def test_bad_jobs_rejected(cluster, ns):
    cases = [
        # (without parallelism either, completions defaults to 1, as in Kubernetes)
        ("bad-indexed", {"completionMode": "Indexed", "parallelism": 2}, None,
         "spec.completions"),
        ("bad-restart", {}, {"restartPolicy": "Always"}, "spec.template.spec.restartPolicy"),
        ("bad-mode", {"completionMode": "Sometimes", "completions": 1}, None,
         "spec.completionMode"),
        ("bad-deadline", {"activeDeadlineSeconds": 0}, None, "spec.activeDeadlineSeconds"),
    ]
    for name, spec, tspec, field in cases:
        m = job_manifest(name, ["true"], **spec)
        if tspec:
            m["spec"]["template"]["spec"].update(tspec)
        r = cluster.post(JOBS, m)
        assert r.code == 422, r.body
        st = r.json()
        assert st["reason"] == "Invalid"
        assert field in [c["field"] for c in st["details"]["causes"]], st
        assert get_job(cluster, name) is None
        assert job_pods(cluster, name) == []


# ---- node lifecycle and garbage collection (their own server) -------------------------------------

# The agent renews its Lease every 10 s: a grace period above that.
GRACE_S = 12
EVICT_S = 2


@pytest.fixture(scope="module")
def nl_server():
    s = Server(extra_args=["--node-monitor-grace-period", str(GRACE_S),
                           "--pod-eviction-timeout", str(EVICT_S)]).start()
    yield s
    s.stop()
    s.assert_clean_log()
    shutil.rmtree(s.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def nl(nl_server):
    c = Cluster(nl_server)
    # Pods whose owners are gone, made as early as possible: the collector
    # sweeps every 30 s and the last test checks on them.
    cm = c.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "owner"}})
    assert cm.code == 201, cm.body
    owners = {
        "dangling": [{"apiVersion": "batch/v1", "kind": "Job", "name": "ghost",
                      "uid": str(uuid.uuid4()), "controller": True}],
        "owned": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                   "uid": cm.json()["metadata"]["uid"]}],
        "half": [{"apiVersion": "batch/v1", "kind": "Job", "name": "ghost2",
                  "uid": str(uuid.uuid4()), "controller": True},
                 {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                  "uid": cm.json()["metadata"]["uid"]}],
        "stale-uid": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                       "uid": str(uuid.uuid4())}],
        "unknown-kind": [{"apiVersion": "example.com/v1", "kind": "Widget", "name": "w",
                          "uid": str(uuid.uuid4())}],
    }
    for name, refs in owners.items():
        r = c.post("/api/v1/namespaces/default/pods", {
            "metadata": {"name": name, "ownerReferences": refs},
            # bound to no real node: neither scheduled, run nor evicted
            "spec": {"nodeName": "nowhere",
                     "containers": [{"name": "c", "image": "busybox"}]}})
        assert r.code == 201, r.body
    yield c
    shutil.rmtree(c.cache_dir, ignore_errors=True)


def node_ready(cluster):
    r = cluster.get("/api/v1/nodes/" + NODE)
    return conds(r.json()).get("Ready") if r.code == 200 else None


def taints(cluster):
    return cluster.get("/api/v1/nodes/" + NODE).json()["spec"].get("taints") or []


def test_node_lost_pods_replaced(nl_server, nl):
    agent = Agent(nl_server).start()
    try:
        name = "survivor"
        create_job(nl, job_manifest(name, ["sleep", "300"], ns="default"))
        first = wait_for(lambda: [p for p in job_pods(nl, name, "default")
                                  if phase(p) == "Running"], what="a running pod")[0]
        assert node_ready(nl)["status"] == "True"
        assert taints(nl) == []

        agent.kill9()
        ready = wait_for(lambda: node_ready(nl)["status"] == "Unknown" and node_ready(nl),
                         timeout=GRACE_S + 30, what="Ready=Unknown")
        assert ready["reason"] == "NodeStatusUnknown"
        assert ready["message"] == "Kubelet stopped posting node status."
        t = wait_for(lambda: taints(nl), what="taints")
        keys = {(x["key"], x["effect"]) for x in t}
        assert ("node.kubernetes.io/unreachable", "NoExecute") in keys
        assert ("node.kubernetes.io/unreachable", "NoSchedule") in keys
        assert [x for x in t if x["effect"] == "NoExecute"][0]["timeAdded"]
        rows = table(nl.kubectl("get", "nodes").stdout)
        assert rows[0]["STATUS"] == "NotReady"

        # The pod on the lost node is failed and removed, the Job replaces it.
        def first_done():
            r = nl.get("/api/v1/namespaces/default/pods/" + first["metadata"]["name"])
            if r.code == 404:
                return "gone"
            p = r.json()
            return phase(p) == "Failed" and p["status"].get("reason") == "NodeLost" and "failed"
        wait_for(first_done, timeout=EVICT_S + 30, what="evicted pod")
        wait_for(lambda: nl.get("/api/v1/namespaces/default/pods/"
                                + first["metadata"]["name"]).code == 404,
                 what="evicted pod removed")
        repl = wait_for(lambda: [p for p in job_pods(nl, name, "default")
                                 if p["metadata"]["name"] != first["metadata"]["name"]],
                        timeout=60, what="a replacement pod")[0]
        assert repl["spec"]["nodeName"] == NODE  # no scheduler: it waits for the node
        wait_for(lambda: get_job(nl, name, "default")["status"].get("failed") == 1,
                 what="the lost pod counted as failed")
        ev = nl.kubectl("get", "events", "-A").stdout
        assert "NodeNotReady" in ev and "TaintManagerEviction" in ev

        # The agent comes back: Ready again, taints gone, the replacement runs.
        agent = Agent(nl_server, data_dir=agent.data_dir, port=agent.port).start()
        assert node_ready(nl)["status"] == "True"
        wait_for(lambda: taints(nl) == [], what="taints removed")
        wait_for(lambda: any(phase(p) == "Running" for p in job_pods(nl, name, "default")),
                 what="the replacement running")
        delete_job_and_wait(nl, name, "default")
    finally:
        agent.stop()
        kill_leftover_containers(agent.data_dir)
        agent.assert_clean_log()
        shutil.rmtree(agent.data_dir, ignore_errors=True)


def test_gc_deletes_pods_whose_owners_are_gone(nl):
    def deleted(name):
        r = nl.get("/api/v1/namespaces/default/pods/" + name)
        # (bound to a node without an agent, a deleted pod stays Terminating)
        return r.code == 404 or bool(r.json()["metadata"].get("deletionTimestamp"))
    wait_for(lambda: deleted("dangling") and deleted("stale-uid"), timeout=75,
             what="pods with dangling owners collected")
    # Owners that exist (or may: an unserved kind) keep their pods.
    for name in ("owned", "half", "unknown-kind"):
        assert not deleted(name), name


def test_node_lost_job_pod_moves_to_another_node(nl_server, nl):
    """With the scheduler: killing the agent that runs a Job's pod moves the
    work to another node (the lost node is tainted unreachable, its pod is
    failed and removed, the Job's replacement is scheduled elsewhere)."""
    a = Agent(nl_server, node_name="fo-a").start()
    b = Agent(nl_server, node_name="fo-b").start()
    agents = {"fo-a": a, "fo-b": b}
    try:
        name = "mover"
        m = job_manifest(name, ["sleep", "300"], ns="default")
        del m["spec"]["template"]["spec"]["nodeName"]  # the scheduler places it
        m["spec"]["template"]["spec"]["nodeSelector"] = {"wharf.test/failover": "yes"}
        for node in agents:
            r = nl.patch("/api/v1/nodes/" + node,
                         {"metadata": {"labels": {"wharf.test/failover": "yes"}}},
                         "application/merge-patch+json")
            assert r.code == 200, r.body
        create_job(nl, m)
        first = wait_for(lambda: [p for p in job_pods(nl, name, "default")
                                  if phase(p) == "Running"], what="a running pod")[0]
        lost = first["spec"]["nodeName"]
        other = "fo-b" if lost == "fo-a" else "fo-a"
        agents[lost].kill9()
        moved = wait_for(lambda: [p for p in job_pods(nl, name, "default")
                                  if p["spec"].get("nodeName") == other
                                  and phase(p) == "Running"],
                         timeout=GRACE_S + EVICT_S + 90, what="the pod running on " + other)
        assert moved[0]["metadata"]["name"] != first["metadata"]["name"]
        assert nl.get("/api/v1/namespaces/default/pods/"
                      + first["metadata"]["name"]).code == 404
        delete_job_and_wait(nl, name, "default")
    finally:
        for ag in agents.values():
            ag.stop()
            kill_leftover_containers(ag.data_dir)
            shutil.rmtree(ag.data_dir, ignore_errors=True)

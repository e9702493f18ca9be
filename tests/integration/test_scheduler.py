"""The scheduler end to end: the real server (controllers and scheduler in
process), real agents with declared GPUs, real kubectl and plain HTTP.

Two agents (node-a and node-b, 2 declared GPUs each) serve every test; a
test that needs room to appear starts a third agent and removes it (agent
stopped, Node deleted) at its end. Pods name no node: the scheduler places
them, binds them through pods/binding, records Events and writes the
PodScheduled condition. Each test works in its own namespace and deletes its
pods at the end, so the GPUs are free for the next one. Waits poll; nothing
asserts on durations.
"""
import http.client
import json
import shutil
import socket
import threading
import time

import pytest

from conftest import Agent, Cluster, Server, kill_leftover_containers, needs_kubectl

pytestmark = needs_kubectl

GPU = "nvidia.com/gpu"
H100 = "NVIDIA-H100-80GB-HBM3:81559"
PG = "/apis/scheduling.x-k8s.io/v1alpha1/namespaces/%s/podgroups"
VPG = "/apis/scheduling.volcano.sh/v1beta1/namespaces/%s/podgroups"
PCS = "/apis/scheduling.k8s.io/v1/priorityclasses"


# ---- helpers --------------------------------------------------------------------------


def wait_for(fn, timeout=60.0, interval=0.1, what=None):
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


def ensure_ns(cluster, ns):
    r = cluster.post("/api/v1/namespaces", {"metadata": {"name": ns}})
    assert r.code in (201, 409), r.body
    return ns


def pod(name, gpus=0, command=None, grace=1, labels=None, annotations=None, **spec):
    ctr = {"name": "main", "image": "busybox", "command": command or ["sleep", "300"]}
    if gpus:
        ctr["resources"] = {"limits": {GPU: str(gpus)}}
    s = {"containers": [ctr], "restartPolicy": "Never", "terminationGracePeriodSeconds": grace}
    s.update(spec)
    md = {"name": name}
    if labels:
        md["labels"] = labels
    if annotations:
        md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": s}


def create(cluster, ns, manifest):
    r = cluster.post("/api/v1/namespaces/%s/pods" % ns, manifest)
    assert r.code == 201, r.body
    return r.json()


def get_pod(cluster, ns, name):
    r = cluster.get("/api/v1/namespaces/%s/pods/%s" % (ns, name))
    return r.json() if r.code == 200 else None


def pods(cluster, ns):
    r = cluster.get("/api/v1/namespaces/%s/pods" % ns)
    assert r.code == 200, r.body
    return {p["metadata"]["name"]: p for p in r.json()["items"]}


def phase(p):
    return (p or {}).get("status", {}).get("phase")


def node_of(p):
    return (p or {}).get("spec", {}).get("nodeName")


def cond(p, ctype):
    for c in (p or {}).get("status", {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def running(cluster, ns, name, timeout=60):
    last = {}

    def check():
        p = last["pod"] = get_pod(cluster, ns, name)
        return p if phase(p) == "Running" else None
    try:
        return wait_for(check, timeout, what="%s/%s Running" % (ns, name))
    except AssertionError:
        p = last.get("pod") or {}
        raise AssertionError("%s/%s not Running: node %r, status %s, events %s" % (
            ns, name, node_of(p), json.dumps(p.get("status")),
            [(e["reason"], e["message"]) for e in events(cluster, ns, name)]))


def unschedulable(cluster, ns, name, timeout=30):
    """Wait for PodScheduled=False/Unschedulable; return the pod."""
    def check():
        p = get_pod(cluster, ns, name)
        c = cond(p, "PodScheduled")
        return p if c and c["status"] == "False" and c.get("reason") == "Unschedulable" else None
    return wait_for(check, timeout, what="%s/%s Unschedulable" % (ns, name))


def events(cluster, ns, name=None, reason=None):
    r = cluster.get("/api/v1/namespaces/%s/events" % ns)
    assert r.code == 200, r.body
    out = []
    for e in r.json()["items"]:
        if name and e["involvedObject"].get("name") != name:
            continue
        if reason and e.get("reason") != reason:
            continue
        out.append(e)
    return out


def gpus_of(p):
    text = (p["metadata"].get("annotations") or {}).get("wharf.io/gpus")
    return [u for ids in json.loads(text).values() for u in ids] if text else []


def delete_pods(cluster, ns, timeout=60):
    """Delete every pod of ns gracefully (the agent confirms, so its GPUs are
    free again when the object is gone) and wait until all are gone; pods
    whose agent is gone are force-deleted after the timeout."""
    def delete_all(grace):
        for name in pods(cluster, ns):
            cluster.delete("/api/v1/namespaces/%s/pods/%s" % (ns, name),
                           {"kind": "DeleteOptions", "apiVersion": "v1",
                            "gracePeriodSeconds": grace})
    delete_all(1)
    try:
        wait_for(lambda: not pods(cluster, ns), timeout, what="pods of %s deleted" % ns)
    except AssertionError:
        delete_all(0)
        wait_for(lambda: not pods(cluster, ns), 10, what="pods of %s force-deleted" % ns)


def stop_agent(cluster, agent):
    """Stop an agent a test started and forget its Node."""
    agent.stop()
    kill_leftover_containers(agent.data_dir)
    agent.assert_clean_log()
    shutil.rmtree(agent.data_dir, ignore_errors=True)
    cluster.delete("/api/v1/nodes/" + agent.node_name)


class PodWatch:
    """Collects every watch event of a namespace's pods in a thread."""

    def __init__(self, cluster, ns):
        rv = cluster.get("/api/v1/namespaces/%s/pods" % ns).json()["metadata"]["resourceVersion"]
        self.conn = http.client.HTTPConnection("127.0.0.1", cluster.server.port, timeout=120)
        self.conn.request("GET", "/api/v1/namespaces/%s/pods?watch=true&resourceVersion=%s"
                          % (ns, rv))
        self.resp = self.conn.getresponse()
        self.events = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for line in self.resp:
                if line.strip():
                    self.events.append(json.loads(line))
        except (OSError, ValueError, http.client.HTTPException):
            pass

    def close(self):
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(10)
        self.conn.close()


@pytest.fixture(scope="module")
def agents(server):
    started = []
    try:
        for name in ("node-a", "node-b"):
            started.append(Agent(server, node_name=name, gpus="2:" + H100).start())
        yield started
    finally:
        for a in started:
            a.stop()
            kill_leftover_containers(a.data_dir)
        for a in started:
            a.assert_clean_log()
            shutil.rmtree(a.data_dir, ignore_errors=True)


@pytest.fixture
def scratch(cluster):
    """scratch(name) makes a namespace whose pods are deleted after the test,
    passed or not, so the GPUs are free for the next one."""
    made = []

    def make(ns):
        made.append(ensure_ns(cluster, ns))
        return ns
    yield make
    for ns in made:
        delete_pods(cluster, ns)


# ---- placement -----------------------------------------------------------------------


def test_pods_are_scheduled_bound_and_run(cluster, agents, scratch):
    ns = scratch("sched-basic")
    create(cluster, ns, pod("plain"))
    create(cluster, ns, pod("elsewhere", schedulerName="some-other-scheduler"))
    p = running(cluster, ns, "plain")
    assert node_of(p) in ("node-a", "node-b")
    assert cond(p, "PodScheduled")["status"] == "True"
    ev = wait_for(lambda: events(cluster, ns, "plain", "Scheduled"), what="Scheduled event")
    assert len(ev) == 1
    assert ev[0]["type"] == "Normal"
    assert ev[0]["message"] == "Successfully assigned %s/plain to %s" % (ns, node_of(p))
    assert ev[0]["source"]["component"] == "default-scheduler"
    assert ev[0]["involvedObject"]["uid"] == p["metadata"]["uid"]
    # kubectl shows it like Kubernetes does.
    out = cluster.kubectl("describe", "pod", "plain", "-n", ns).stdout
    assert "Successfully assigned %s/plain to %s" % (ns, node_of(p)) in out
    assert "default-scheduler" in out
    # A pod for another scheduler is left alone: no node, no condition, no event.
    other = get_pod(cluster, ns, "elsewhere")
    assert node_of(other) is None and cond(other, "PodScheduled") is None
    assert events(cluster, ns, "elsewhere") == []


def test_gpu_pods_packed_and_never_overcommitted(cluster, agents, scratch):
    ns = scratch("sched-gpu")
    # Bin-packing: the second one-GPU pod fills the node the first one uses.
    create(cluster, ns, pod("g1", gpus=1))
    first = node_of(running(cluster, ns, "g1"))
    create(cluster, ns, pod("g2", gpus=1))
    assert node_of(running(cluster, ns, "g2")) == first

    # Five one-GPU pods on four GPUs: four run, one waits, none shares a GPU.
    for i in range(3, 6):
        create(cluster, ns, pod("g%d" % i, gpus=1))
    wait_for(lambda: sum(1 for p in pods(cluster, ns).values() if phase(p) == "Running") == 4,
             what="four GPU pods running")
    placed = {n: p for n, p in pods(cluster, ns).items() if node_of(p)}
    waiting = [n for n, p in pods(cluster, ns).items() if not node_of(p)]
    assert len(placed) == 4 and len(waiting) == 1, (placed.keys(), waiting)
    per_node = {}
    for p in placed.values():
        per_node.setdefault(node_of(p), []).extend(gpus_of(p))
    assert sorted(per_node) == ["node-a", "node-b"]
    for node, ids in per_node.items():
        assert len(ids) == 2 and len(set(ids)) == 2, (node, ids)
    p = unschedulable(cluster, ns, waiting[0])
    assert cond(p, "PodScheduled")["message"].startswith(
        "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."), cond(p, "PodScheduled")

    # A GPU comes free: the waiting pod takes it.
    victim = sorted(placed)[0]
    cluster.delete("/api/v1/namespaces/%s/pods/%s" % (ns, victim),
                   {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 1})
    p = running(cluster, ns, waiting[0])
    assert node_of(p) == node_of(placed[victim])
    assert cond(p, "PodScheduled")["status"] == "True"


def test_unschedulable_pod_waits_with_reason_then_runs_on_a_new_node(cluster, server, agents,
                                                                     scratch):
    ns = scratch("sched-wait")
    create(cluster, ns, pod("big", gpus=3))
    p = unschedulable(cluster, ns, "big")
    msg = cond(p, "PodScheduled")["message"]
    assert msg.startswith("0/2 nodes are available: 2 Insufficient nvidia.com/gpu."), msg
    assert node_of(p) is None
    ev = wait_for(lambda: events(cluster, ns, "big", "FailedScheduling"), what="event")
    assert ev[0]["type"] == "Warning" and ev[0]["message"] == msg
    assert ev[0]["source"]["component"] == "default-scheduler"
    out = cluster.kubectl("describe", "pod", "big", "-n", ns).stdout
    assert "FailedScheduling" in out
    assert "0/2 nodes are available: 2 Insufficient nvidia.com/gpu." in out
    assert "PodScheduled" in out

    # Unrelated churn (a pod comes and goes) retries it at most: the same
    # reasons are not written again.
    create(cluster, ns, pod("churn"))
    running(cluster, ns, "churn")
    cluster.delete("/api/v1/namespaces/%s/pods/churn" % ns,
                   {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 1})
    wait_for(lambda: get_pod(cluster, ns, "churn") is None, what="churn gone")
    time.sleep(3)
    assert len(events(cluster, ns, "big", "FailedScheduling")) == 1
    assert get_pod(cluster, ns, "big")["metadata"]["resourceVersion"] == \
        p["metadata"]["resourceVersion"]

    # Room appears: a node with four GPUs.
    extra = Agent(server, node_name="node-c", gpus="4:" + H100).start()
    try:
        p = running(cluster, ns, "big")
        assert node_of(p) == "node-c"
        assert cond(p, "PodScheduled")["status"] == "True"
        assert len(gpus_of(p)) == 3
        assert events(cluster, ns, "big", "Scheduled")
        assert len(events(cluster, ns, "big", "FailedScheduling")) == 1
    finally:
        delete_pods(cluster, ns)
        stop_agent(cluster, extra)


def test_taints_tolerations_and_node_selectors(cluster, agents, scratch):
    ns = scratch("sched-taint")
    cluster.kubectl("taint", "nodes", "node-a", "dedicated=ml:NoSchedule")
    try:
        create(cluster, ns, pod("pinned", nodeSelector={"kubernetes.io/hostname": "node-a"}))
        create(cluster, ns, pod("tolerant", nodeSelector={"kubernetes.io/hostname": "node-a"},
                                tolerations=[{"key": "dedicated", "operator": "Equal",
                                              "value": "ml", "effect": "NoSchedule"}]))
        create(cluster, ns, pod("free-1"))
        create(cluster, ns, pod("free-2"))
        create(cluster, ns, pod("tpu", nodeSelector={"accelerator": "tpu"}))
        assert node_of(running(cluster, ns, "tolerant")) == "node-a"
        assert node_of(running(cluster, ns, "free-1")) == "node-b"
        assert node_of(running(cluster, ns, "free-2")) == "node-b"
        msg = cond(unschedulable(cluster, ns, "pinned"), "PodScheduled")["message"]
        assert msg.startswith("0/2 nodes are available: "), msg
        assert "1 node(s) had untolerated taint {dedicated: ml}" in msg, msg
        assert "1 node(s) didn't match Pod's node affinity/selector" in msg, msg
        # Each node reports its first failing filter (the taint before the selector).
        msg = cond(unschedulable(cluster, ns, "tpu"), "PodScheduled")["message"]
        assert msg.startswith(
            "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
            "1 node(s) had untolerated taint {dedicated: ml}."), msg

        # The taint goes, the label comes: both waiting pods are placed.
        cluster.kubectl("taint", "nodes", "node-a", "dedicated=ml:NoSchedule-")
        assert node_of(running(cluster, ns, "pinned")) == "node-a"
        cluster.kubectl("label", "nodes", "node-b", "accelerator=tpu")
        assert node_of(running(cluster, ns, "tpu")) == "node-b"
    finally:
        cluster.kubectl("taint", "nodes", "node-a", "dedicated=ml:NoSchedule-", check=False)
        cluster.kubectl("label", "nodes", "node-b", "accelerator-", check=False)


WEB_POD_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: %(name)s
  namespace: %(ns)s
  labels: {app: web}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: ["sleep", "300"]
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector:
          matchExpressions:
          - {key: app, operator: In, values: [web]}
        topologyKey: kubernetes.io/hostname
"""


def test_pod_anti_affinity_spreads_replicas(cluster, agents, scratch):
    """Replicas applied with kubectl and required anti-affinity on the
    hostname run one per node; the one left over says why, and runs once
    a replica is deleted. A pod of another app is not kept away."""
    ns = scratch("sched-anti")
    docs = "---".join(WEB_POD_YAML % {"name": "web-%d" % i, "ns": ns} for i in range(3))
    cluster.kubectl("apply", "-f", "-", input=docs)
    placed = {}
    for i in range(3):
        name = "web-%d" % i
        p = wait_for(lambda: (lambda q: q if node_of(q) or cond(q, "PodScheduled") else None)(
            get_pod(cluster, ns, name)), what="%s decided" % name)
        placed[name] = node_of(p)
    on_nodes = sorted(n for n in placed.values() if n)
    assert on_nodes == ["node-a", "node-b"], placed
    (left,) = [n for n, at in placed.items() if not at]
    msg = cond(unschedulable(cluster, ns, left), "PodScheduled")["message"]
    assert msg.startswith("0/2 nodes are available: 2 node(s) didn't satisfy existing pods "
                          "anti-affinity rules."), msg
    wait_for(lambda: events(cluster, ns, left, "FailedScheduling"), what="FailedScheduling")

    create(cluster, ns, pod("db", labels={"app": "db"}))
    running(cluster, ns, "db")

    gone = next(n for n, at in placed.items() if at == "node-a")
    cluster.kubectl("delete", "pod", "-n", ns, gone, "--wait=true")
    assert node_of(running(cluster, ns, left)) == "node-a"


def test_unsupported_pod_affinity_is_reported_on_the_pod(cluster, agents, scratch):
    """A namespaceSelector with labels (Wharf's scheduler reads none) leaves
    the pod Pending with the reason on its PodScheduled condition and in an
    Event, written once; nothing is bound."""
    ns = scratch("sched-affbad")
    aff = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchLabels": {"app": "cache"}},
        "namespaceSelector": {"matchLabels": {"team": "ml"}},
        "topologyKey": "kubernetes.io/hostname"}]}}
    create(cluster, ns, pod("odd", affinity=aff))
    c = cond(unschedulable(cluster, ns, "odd"), "PodScheduled")
    assert c["message"].startswith("pod can not be scheduled: "), c
    assert "namespaceSelector with matchLabels or matchExpressions is not supported" in \
        c["message"], c
    ev = wait_for(lambda: events(cluster, ns, "odd", "FailedScheduling"), what="event")
    assert ev[0]["message"] == c["message"]
    # A label change re-delivers the pod: the same reason is not written again.
    cluster.kubectl("label", "pod", "-n", ns, "odd", "touched=yes")
    create(cluster, ns, pod("after"))
    running(cluster, ns, "after")
    assert node_of(get_pod(cluster, ns, "odd")) is None
    assert len(events(cluster, ns, "odd", "FailedScheduling")) == 1


# ---- gangs --------------------------------------------------------------------------


def test_gang_that_cannot_fit_holds_nothing_then_runs_whole(cluster, server, agents, scratch):
    ns = scratch("sched-gang")
    r = cluster.post(PG % ns, {"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
                               "metadata": {"name": "train"},
                               "spec": {"minMember": 4, "scheduleTimeoutSeconds": 2}})
    assert r.code == 201, r.body
    # Four members of two GPUs each: eight GPUs, the cluster has four.
    for i in range(4):
        create(cluster, ns, pod("train-%d" % i, gpus=2,
                                labels={"scheduling.x-k8s.io/pod-group": "train"}))
    for i in range(4):
        p = unschedulable(cluster, ns, "train-%d" % i)
        assert node_of(p) is None
        assert cond(p, "PodScheduled")["message"].startswith("0/2 nodes are available: ")
    # The gang holds nothing: an ordinary GPU pod still gets a GPU.
    create(cluster, ns, pod("other", gpus=1))
    assert node_of(running(cluster, ns, "other")) in ("node-a", "node-b")
    assert not any(node_of(p) for n, p in pods(cluster, ns).items() if n.startswith("train"))
    # Its timeout is reported on the PodGroup (condition and event).
    def timed_out():
        g = cluster.get(PG % ns + "/train").json()
        c = cond(g, "Unschedulable")
        return c if c and c["status"] == "True" else None
    c = wait_for(timed_out, what="PodGroup Unschedulable condition")
    assert c["reason"] == "ScheduleTimeout" and "train" in c["message"], c
    assert wait_for(lambda: events(cluster, ns, "train", "Unschedulable"), what="group event")

    # Room for the whole gang: every member is placed and runs.
    extra = Agent(server, node_name="node-d", gpus="8:" + H100).start()
    try:
        for i in range(4):
            running(cluster, ns, "train-%d" % i)
        used = {}
        for p in pods(cluster, ns).values():
            used.setdefault(node_of(p), []).extend(gpus_of(p))
        caps = {"node-a": 2, "node-b": 2, "node-d": 8}
        for node, ids in used.items():
            assert len(ids) == len(set(ids)) <= caps[node], (node, ids)
        def cleared():
            c = cond(cluster.get(PG % ns + "/train").json(), "Unschedulable")
            return c if c and c["status"] == "False" else None
        wait_for(cleared, what="PodGroup Unschedulable cleared")
    finally:
        delete_pods(cluster, ns)
        stop_agent(cluster, extra)
    cluster.delete(PG % ns + "/train")


def test_volcano_podgroup_members_scheduled_together(cluster, agents, scratch):
    ns = scratch("sched-volcano")
    r = cluster.post(VPG % ns, {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
                                "metadata": {"name": "vc"}, "spec": {"minMember": 2}})
    assert r.code == 201, r.body
    # The first member waits for its sibling, then both run.
    create(cluster, ns, pod("vc-0", gpus=1, annotations={"scheduling.k8s.io/group-name": "vc"}))
    p = unschedulable(cluster, ns, "vc-0")
    assert node_of(p) is None
    create(cluster, ns, pod("vc-1", gpus=1, annotations={"scheduling.k8s.io/group-name": "vc"}))
    running(cluster, ns, "vc-0")
    running(cluster, ns, "vc-1")
    cluster.delete(VPG % ns + "/vc")


# ---- priorities ---------------------------------------------------------------------


def make_class(cluster, name, value, default=False):
    r = cluster.post(PCS, {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                           "metadata": {"name": name}, "value": value,
                           "globalDefault": default})
    assert r.code in (201, 409), r.body


def test_high_priority_pod_preempts_low_priority_one(cluster, agents, scratch):
    ns = scratch("sched-prio")
    make_class(cluster, "low", 100)
    make_class(cluster, "high", 10000)
    term = ["sh", "-c", "trap 'sleep 1; exit 0' TERM; while true; do sleep 0.2; done"]
    for i in range(2):
        create(cluster, ns, pod("low-%d" % i, gpus=2, grace=5, command=term,
                                priorityClassName="low"))
    low = {n: running(cluster, ns, n) for n in ("low-0", "low-1")}
    assert {node_of(p) for p in low.values()} == {"node-a", "node-b"}
    assert all(p["spec"]["priority"] == 100 for p in low.values())

    watch = PodWatch(cluster, ns)
    try:
        create(cluster, ns, pod("high", gpus=2, priorityClassName="high"))
        p = running(cluster, ns, "high")
        assert p["spec"]["priority"] == 10000
        node = node_of(p)
        assert p["status"].get("nominatedNodeName") == node
        victim = [n for n, q in low.items() if node_of(q) == node][0]
        survivor = [n for n in low if n != victim][0]
        wait_for(lambda: get_pod(cluster, ns, victim) is None, what="victim gone")
        assert phase(get_pod(cluster, ns, survivor)) == "Running"
        ev = wait_for(lambda: events(cluster, ns, victim, "Preempted"), what="Preempted event")
        assert ev[0]["message"] == "Preempted by %s/high on node %s" % (ns, node)
        assert ev[0]["source"]["component"] == "default-scheduler"
        assert not events(cluster, ns, survivor, "Preempted")
    finally:
        watch.close()
    # The victim was deleted gracefully, with its own grace period, and told why.
    seen = [e["object"] for e in watch.events
            if e["object"]["metadata"]["name"] == victim and e["type"] == "MODIFIED"]
    graceful = [o for o in seen if o["metadata"].get("deletionTimestamp")]
    assert graceful, [o["metadata"] for o in seen]
    assert graceful[0]["metadata"]["deletionGracePeriodSeconds"] == 5
    dt = cond(graceful[0], "DisruptionTarget")
    assert dt and dt["status"] == "True" and dt["reason"] == "PreemptionByScheduler", dt
    noms = [e["object"]["status"].get("nominatedNodeName") for e in watch.events
            if e["object"]["metadata"]["name"] == "high"]
    assert node in noms


def test_priority_admission(cluster, agents, scratch):
    ns = scratch("sched-admit")
    make_class(cluster, "high", 10000)
    # An unknown class: 403 with Kubernetes' message, nothing stored.
    r = cluster.post("/api/v1/namespaces/%s/pods" % ns, pod("ghost", priorityClassName="foo"))
    assert r.code == 403, r.body
    st = r.json()
    assert st["reason"] == "Forbidden"
    assert st["message"] == 'pods "ghost" is forbidden: no PriorityClass with name foo was found'
    assert get_pod(cluster, ns, "ghost") is None
    p = cluster.kubectl("run", "ghost2", "-n", ns, "--image=busybox", "--restart=Never",
                        "--overrides", json.dumps({"spec": {"priorityClassName": "nope"}}),
                        check=False)
    assert p.returncode != 0
    assert "no PriorityClass with name nope was found" in p.stderr, p.stderr
    # A priority that disagrees with the class: 403.
    r = cluster.post("/api/v1/namespaces/%s/pods" % ns,
                     pod("liar", priorityClassName="high", priority=5))
    assert r.code == 403, r.body
    assert "must not be provided in pod spec" in r.json()["message"]
    assert get_pod(cluster, ns, "liar") is None
    # No class: priority 0, or the global default's value and name.
    assert create(cluster, ns, pod("zero"))["spec"]["priority"] == 0
    make_class(cluster, "everyone", 42, default=True)
    try:
        q = create(cluster, ns, pod("dflt"))
        assert q["spec"]["priority"] == 42
        assert q["spec"]["priorityClassName"] == "everyone"
        assert q["spec"]["preemptionPolicy"] == "PreemptLowerPriority"
        r = cluster.post(PCS, {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                               "metadata": {"name": "second-default"}, "value": 1,
                               "globalDefault": True})
        assert r.code == 403, r.body
        assert "Only one default can exist" in r.json()["message"]
    finally:
        assert cluster.delete(PCS + "/everyone").code == 200


def test_malformed_tolerations_are_rejected(cluster, agents, scratch):
    ns = scratch("sched-bad")
    bad = [
        ([{"key": "a", "operator": "Bogus", "effect": "NoSchedule"}],
         "spec.tolerations[0].operator"),
        ([{"key": "a", "operator": "Equal", "effect": "Sometimes"}], "spec.tolerations[0].effect"),
        ([{"operator": "Equal", "value": "x"}], "spec.tolerations[0].operator"),
        ([{"key": "a", "operator": "Exists", "value": "x"}], "spec.tolerations[0].operator"),
        ([{"key": "a", "effect": "NoSchedule", "tolerationSeconds": "ten"}],
         "spec.tolerations[0].tolerationSeconds"),
        ("not-a-list", "spec.tolerations"),
    ]
    for i, (tols, field) in enumerate(bad):
        r = cluster.post("/api/v1/namespaces/%s/pods" % ns, pod("bad-%d" % i, tolerations=tols))
        assert r.code == 422, (tols, r.body)
        st = r.json()
        assert st["reason"] == "Invalid"
        assert field in [c.get("field") for c in st["details"]["causes"]], (tols, st)
        assert get_pod(cluster, ns, "bad-%d" % i) is None
    assert pods(cluster, ns) == {}


# ---- a Job through the scheduler ------------------------------------------------------------


def test_indexed_gpu_job_completes(cluster, agents, scratch):
    ns = scratch("sched-job")
    script = 'echo "index=$JOB_COMPLETION_INDEX gpus=$NVIDIA_VISIBLE_DEVICES"; ' \
             'test -n "$NVIDIA_VISIBLE_DEVICES"'
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "idx", "namespace": ns},
           "spec": {"completions": 4, "parallelism": 4, "completionMode": "Indexed",
                    "backoffLimit": 2,
                    "template": {"spec": {
                        "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                        "containers": [{"name": "main", "image": "busybox",
                                        "command": ["sh", "-c", script],
                                        "resources": {"limits": {GPU: "1"}}}]}}}}
    cluster.kubectl("create", "-f", "-", input=json.dumps(job))
    p = cluster.kubectl("wait", "--for=condition=complete", "job/idx", "-n", ns,
                        "--timeout=90s", check=False, timeout=100)
    status = cluster.get("/apis/batch/v1/namespaces/%s/jobs/idx" % ns).json().get("status")
    assert p.returncode == 0, (p.stdout, p.stderr, status, {
        n: (node_of(q), phase(q), cond(q, "PodScheduled")) for n, q in pods(cluster, ns).items()})
    assert p.stdout.strip() == "job.batch/idx condition met"
    assert status["succeeded"] == 4
    done = [q for q in pods(cluster, ns).values() if phase(q) == "Succeeded"]
    idx = sorted(q["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                 for q in done)
    assert idx == ["0", "1", "2", "3"]
    for q in done:
        assert node_of(q) in ("node-a", "node-b")
        assert events(cluster, ns, q["metadata"]["name"], "Scheduled")
    cluster.kubectl("delete", "job", "idx", "-n", ns, "--cascade=foreground", "--wait=false")
    wait_for(lambda: not pods(cluster, ns), what="job pods gone")


# ---- the flag, and a restart ----------------------------------------------------------------


def test_scheduler_places_nothing_before_every_node_is_listed():
    """A scheduler that starts on a store of many nodes (two list pages)
    decides nothing until it has them all: the one pod, which fits only the
    node listed last, is bound there with no FailedScheduling on the way."""
    keep_ready = ["--node-monitor-grace-period", "86400"]

    def node(name, gpus):
        res = {"cpu": "8", "memory": "32Gi", "pods": "110"}
        if gpus:
            res[GPU] = str(gpus)
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                "status": {"capacity": res, "allocatable": res,
                           "conditions": [{"type": "Ready", "status": "True"}]}}

    s = Server(extra_args=["--scheduler=false"] + keep_ready).start()
    data_dir = s.data_dir
    try:
        c = Cluster(s)
        for i in range(1200):
            assert c.post("/api/v1/nodes", node("cpu-%04d" % i, 0)).code == 201
        assert c.post("/api/v1/nodes", node("zz-gpu", 1)).code == 201
        ns = ensure_ns(c, "sched-listed")
        create(c, ns, pod("p", gpus=1))
        s.stop()
        s.assert_clean_log()

        s = Server(data_dir=data_dir, extra_args=keep_ready).start()
        c = Cluster(s)
        wait_for(lambda: node_of(get_pod(c, ns, "p")) == "zz-gpu", what="p bound")
        p = get_pod(c, ns, "p")
        assert cond(p, "PodScheduled")["status"] == "True"
        wait_for(lambda: events(c, ns, "p", "Scheduled"), what="Scheduled event")
        # Events go out from several threads: give a stray one time to land.
        time.sleep(1)
        assert events(c, ns, "p", "FailedScheduling") == []
        assert len(events(c, ns, "p", "Scheduled")) == 1
    finally:
        s.stop()
        s.assert_clean_log()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_scheduler_flag_and_restart_keep_bindings():
    """--scheduler=false leaves pods alone; a scheduler started later places
    them; after a restart the pods bound before still hold their node, and a
    pod already marked unschedulable is not reported again. A Node object
    stands in for an agent (no processes run); nothing renews its Lease, so
    the node monitor's grace period is made long enough that the node never
    goes NotReady (which would rightly change c's reason and report it anew)."""
    keep_ready = ["--node-monitor-grace-period", "86400"]
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "virt-1", "labels": {"kubernetes.io/hostname": "virt-1"}},
            "status": {"capacity": {"cpu": "8", "memory": "32Gi", "pods": "110", GPU: "2"},
                       "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110", GPU: "2"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}
    s = Server(extra_args=["--scheduler=false"] + keep_ready).start()
    data_dir = s.data_dir
    try:
        c = Cluster(s)
        assert c.post("/api/v1/nodes", node).code == 201
        ns = ensure_ns(c, "sched-restart")
        for name in ("a", "b"):
            create(c, ns, pod(name, gpus=1))
        time.sleep(1)
        for name in ("a", "b"):
            p = get_pod(c, ns, name)
            assert node_of(p) is None and cond(p, "PodScheduled") is None
        assert events(c, ns) == []
        s.stop()
        s.assert_clean_log()

        s = Server(data_dir=data_dir, extra_args=keep_ready).start()
        c = Cluster(s)
        for name in ("a", "b"):
            wait_for(lambda: node_of(get_pod(c, ns, name)) == "virt-1", what="%s bound" % name)
        create(c, ns, pod("c", gpus=1))
        msg = cond(unschedulable(c, ns, "c"), "PodScheduled")["message"]
        assert msg.startswith("0/1 nodes are available: 1 Insufficient nvidia.com/gpu."), msg
        wait_for(lambda: events(c, ns, "c", "FailedScheduling"), what="event for c")
        s.stop()
        s.assert_clean_log()

        s = Server(data_dir=data_dir, extra_args=keep_ready).start()
        c = Cluster(s)
        create(c, ns, pod("d", gpus=1))
        unschedulable(c, ns, "d")
        wait_for(lambda: events(c, ns, "d", "FailedScheduling"), what="event for d")
        assert len(events(c, ns, "c", "FailedScheduling")) == 1
        assert node_of(get_pod(c, ns, "c")) is None
        assert {node_of(get_pod(c, ns, n)) for n in ("a", "b")} == {"virt-1"}
    finally:
        s.stop()
        s.assert_clean_log()
        shutil.rmtree(data_dir, ignore_errors=True)

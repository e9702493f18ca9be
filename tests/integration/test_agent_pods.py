"""Pods run by a real `wharf agent`, driven through real kubectl.

One server and one agent (node "node-1", 4 declared H100s, restart back-off
300 ms) serve the whole module. Pods reach the agent through spec.nodeName.
Each test checks what kubectl printed and what the server holds (read back
over HTTP), and where it matters what happened on the machine itself: files
the container wrote, its cgroup's own statistics, its processes. Every test
deletes its pods at the end (kubectl delete --grace-period=0 --force).
Waits poll with short timeouts; nothing asserts on durations.
"""
import base64
import json
import os
import re
import time

import pytest

from conftest import free_port, needs_kubectl

pytestmark = needs_kubectl

NODE = "node-1"
NS = "default"
PY = "python3"


# ---- helpers ----------------------------------------------------------------


def wait_for(fn, timeout=20.0, interval=0.05, what=None):
    """Poll fn until it returns something truthy; return that."""
    deadline = time.time() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.time() >= deadline:
            what = what() if callable(what) else what
            raise AssertionError("timed out waiting for %s; last value: %r"
                                 % (what or getattr(fn, "__name__", "condition"), last))
        time.sleep(interval)


def manifest(name, command, *, containers=None, init=None, restart="Never", labels=None,
             **spec):
    """A pod bound to the agent's node. `command` is the main container's
    command (ignored when `containers` is given)."""
    if containers is None:
        containers = [{"name": "main", "image": "busybox", "command": command}]
    s = {"nodeName": NODE, "restartPolicy": restart, "containers": containers}
    if init:
        s["initContainers"] = init
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}}, "spec": s}


class Pods:
    """Creates pods for one test and force-deletes them at its end."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.names = []

    def create(self, m):
        r = self.cluster.post("/api/v1/namespaces/%s/pods" % NS, m)
        assert r.code == 201, r.body
        self.names.append(m["metadata"]["name"])
        return r.json()

    def get(self, name):
        r = self.cluster.get("/api/v1/namespaces/%s/pods/%s" % (NS, name))
        return r.json() if r.code == 200 else None

    def cleanup(self):
        if self.names:
            self.cluster.kubectl("delete", "pod", "--grace-period=0", "--force",
                                 "--ignore-not-found", "--wait=false", *self.names,
                                 check=False)
            wait_for(lambda: all(self.get(n) is None for n in self.names), timeout=20,
                     what="pods deleted")


@pytest.fixture
def pods(cluster, agent):
    p = Pods(cluster)
    yield p
    p.cleanup()
    assert agent.proc.poll() is None, "agent died:\n" + agent.log()[-4000:]


def phase(pods, name):
    p = pods.get(name)
    return p and p.get("status", {}).get("phase")


def wait_phase(pods, name, want, timeout=20):
    return wait_for(lambda: phase(pods, name) == want and pods.get(name), timeout,
                    what=lambda: "pod %s phase %s (now %s)" % (name, want, phase(pods, name)))


def ctr_status(pod, ctr="main", init=False):
    for s in pod.get("status", {}).get("initContainerStatuses" if init else "containerStatuses",
                                       []):
        if s["name"] == ctr:
            return s
    return None


def cond(pod, kind):
    for c in pod.get("status", {}).get("conditions", []):
        if c["type"] == kind:
            return c["status"]
    return None


def events(cluster, name):
    r = cluster.get("/api/v1/namespaces/%s/events" % NS)
    assert r.code == 200, r.body
    return [e for e in r.json()["items"] if e["involvedObject"].get("name") == name]


def wait_event(cluster, name, reason, timeout=20):
    return wait_for(lambda: [e for e in events(cluster, name) if e["reason"] == reason],
                    timeout, what="event %s on %s" % (reason, name))


def logs(cluster, name, *args, check=True):
    return cluster.kubectl("logs", name, *args, check=check)


def sh(script):
    return ["sh", "-c", script]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False


def container_pids(agent, uid, ctr="main"):
    """Pids (pid == pgid) of every attempt of a container, from the shims'
    state.json under the agent's data directory."""
    base = os.path.join(agent.data_dir, "pods", uid, ctr)
    out = []
    for attempt in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        try:
            with open(os.path.join(base, attempt, "state.json")) as f:
                out.append(json.load(f)["pid"])
        except (OSError, ValueError, KeyError):
            pass
    return out


def group_members(pgid):
    """Live (non-zombie) processes in a process group."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(d))
    return found


# ---- a pod runs and succeeds -------------------------------------------------


def test_pod_runs_and_succeeds(cluster, agent, pods):
    pods.create(manifest("ok", sh("echo hello; echo world")))
    cluster.kubectl("wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/ok",
                    "--timeout=30s")
    p = pods.get("ok")
    st = p["status"]
    assert st["phase"] == "Succeeded"
    cs = ctr_status(p)
    term = cs["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed"
    assert term["startedAt"] and term["finishedAt"]
    assert cs["restartCount"] == 0 and cs["ready"] is False
    assert st["hostIP"] == "127.0.0.1" and st["podIP"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", st["startTime"])
    assert cond(p, "PodScheduled") == "True"
    assert cond(p, "Initialized") == "True"
    assert cond(p, "Ready") == "False"
    assert cond(p, "ContainersReady") == "False"
    out = cluster.kubectl("get", "pods", "ok").stdout
    row = out.splitlines()[1].split()
    assert row[0] == "ok" and row[1] == "0/1" and row[2] == "Completed", out
    assert logs(cluster, "ok").stdout == "hello\nworld\n"
    reasons = [e["reason"] for e in events(cluster, "ok")]
    assert "Created" in reasons and "Started" in reasons


def test_running_pod_is_ready(cluster, agent, pods):
    pods.create(manifest("runner", ["sleep", "30"]))
    cluster.kubectl("wait", "--for=condition=Ready", "pod/runner", "--timeout=30s")
    p = pods.get("runner")
    assert p["status"]["phase"] == "Running"
    cs = ctr_status(p)
    assert "running" in cs["state"] and cs["ready"] is True and cs["started"] is True
    out = cluster.kubectl("get", "pods", "runner").stdout
    assert out.splitlines()[1].split()[1:3] == ["1/1", "Running"], out


# ---- logs ---------------------------------------------------------------------


def test_logs_follow_tail_timestamps(cluster, agent, pods):
    pods.create(manifest("slow", sh("for i in 1 2 3 4 5 6 7 8; do echo line $i; "
                                    "sleep 0.25; done")))
    wait_for(lambda: phase(pods, "slow") == "Running", what="slow running")
    p = cluster.kubectl("logs", "-f", "slow", timeout=30)
    assert p.returncode == 0
    assert p.stdout == "".join("line %d\n" % i for i in range(1, 9)), p.stdout
    wait_phase(pods, "slow", "Succeeded")
    assert logs(cluster, "slow", "--tail=2").stdout == "line 7\nline 8\n"
    assert logs(cluster, "slow", "--tail=0").stdout == ""
    ts = logs(cluster, "slow", "--timestamps").stdout.splitlines()
    assert len(ts) == 8
    for i, line in enumerate(ts, 1):
        m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z) (.*)$", line)
        assert m, line
        assert m.group(2) == "line %d" % i


def test_logs_two_containers(cluster, agent, pods):
    pods.create(manifest("two", None, containers=[
        {"name": "first", "image": "busybox", "command": sh("echo from first")},
        {"name": "second", "image": "busybox", "command": sh("echo from second")}]))
    wait_phase(pods, "two", "Succeeded")
    assert logs(cluster, "two", "-c", "first").stdout == "from first\n"
    assert logs(cluster, "two", "-c", "second").stdout == "from second\n"
    # kubectl itself picks the first container and says so.
    p = logs(cluster, "two")
    assert p.stdout == "from first\n"
    assert 'Defaulted container "first"' in p.stderr
    # The API itself wants a container name.
    r = cluster.get("/api/v1/namespaces/%s/pods/two/log" % NS)
    assert r.code == 400
    assert "a container name must be specified for pod two" in r.json()["message"]
    assert "first second" in r.json()["message"]
    p = logs(cluster, "two", "-c", "third", check=False)
    assert p.returncode != 0 and "container third is not valid for pod two" in p.stderr


def test_logs_previous(cluster, agent, pods, tmp_path):
    d = str(tmp_path)
    f = os.path.join(d, "n")
    script = ("n=$(cat %s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s; "
              "echo attempt $n; [ $n -ge 3 ] && exec sleep 30; exit 1") % (f, f)
    pods.create(manifest("prev", sh(script), restart="OnFailure"))
    p = wait_for(lambda: (ctr_status(pods.get("prev")) or {}).get("restartCount", 0) >= 2
                 and "running" in ctr_status(pods.get("prev"))["state"]
                 and pods.get("prev"), timeout=30, what="third attempt running")
    assert ctr_status(p)["lastState"]["terminated"]["exitCode"] == 1
    wait_for(lambda: logs(cluster, "prev").stdout == "attempt 3\n", what="current log")
    assert logs(cluster, "prev", "--previous").stdout == "attempt 2\n"
    assert logs(cluster, "prev", "-p", "--timestamps").stdout.endswith(" attempt 2\n")


def test_logs_previous_without_restart(cluster, agent, pods):
    pods.create(manifest("noprev", ["sleep", "30"]))
    wait_for(lambda: phase(pods, "noprev") == "Running", what="running")
    p = logs(cluster, "noprev", "--previous", check=False)
    assert p.returncode != 0
    assert 'previous terminated container "main" in pod "noprev" not found' in p.stderr


# ---- restart policies ---------------------------------------------------------------


def test_restart_always_crashloop(cluster, agent, pods):
    pods.create(manifest("crash", sh("echo boom; exit 3"), restart="Always"))
    seen = set()

    def crashloop():
        p = pods.get("crash")
        cs = ctr_status(p) or {}
        reason = cs.get("state", {}).get("waiting", {}).get("reason")
        if reason:
            seen.add(reason)
        out = cluster.kubectl("get", "pod", "crash", "--no-headers").stdout.split()
        if len(out) > 2:
            seen.add("get:" + out[2])
        return cs.get("restartCount", 0) >= 2 and "CrashLoopBackOff" in seen and p

    p = wait_for(crashloop, timeout=30, what="crash loop")
    assert "get:CrashLoopBackOff" in seen or "get:Error" in seen, seen
    cs = ctr_status(p)
    last = cs["lastState"]["terminated"]
    assert last["exitCode"] == 3 and last["reason"] == "Error"
    assert p["status"]["phase"] == "Running"
    assert wait_event(cluster, "crash", "BackOff")


def test_restart_onfailure_until_success(cluster, agent, pods, tmp_path):
    d = str(tmp_path)
    f = os.path.join(d, "n")
    script = ("n=$(cat %s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s; "
              "[ $n -ge 2 ] && exit 0; exit 1") % (f, f)
    pods.create(manifest("onf", sh(script), restart="OnFailure"))
    p = wait_phase(pods, "onf", "Succeeded", timeout=30)
    cs = ctr_status(p)
    assert cs["restartCount"] == 1
    assert cs["state"]["terminated"]["exitCode"] == 0
    time.sleep(0.8)  # longer than the back-off: no further start may happen
    with open(f) as fh:
        assert fh.read().strip() == "2"
    assert ctr_status(pods.get("onf"))["restartCount"] == 1


def test_restart_never_fails(cluster, agent, pods):
    pods.create(manifest("never", sh("exit 1")))
    p = wait_phase(pods, "never", "Failed")
    cs = ctr_status(p)
    assert cs["restartCount"] == 0
    assert cs["state"]["terminated"]["exitCode"] == 1
    assert cs["state"]["terminated"]["reason"] == "Error"
    out = cluster.kubectl("get", "pod", "never", "--no-headers").stdout.split()
    assert out[2] == "Error", out


# ---- init containers -------------------------------------------------------------


def test_init_containers_in_order(cluster, agent, pods, tmp_path):
    d = str(tmp_path)
    f = os.path.join(d, "order")
    init = [{"name": "init-%d" % i, "image": "busybox",
             "command": sh("echo init-%d >> %s" % (i, f))} for i in (1, 2, 3)]
    pods.create(manifest("inits", sh("echo main >> %s; cat %s" % (f, f)), init=init))
    p = wait_phase(pods, "inits", "Succeeded")
    assert logs(cluster, "inits").stdout == "init-1\ninit-2\ninit-3\nmain\n"
    ics = p["status"]["initContainerStatuses"]
    assert [s["name"] for s in ics] == ["init-1", "init-2", "init-3"]
    for s in ics:
        assert s["state"]["terminated"]["exitCode"] == 0
        assert s["state"]["terminated"]["reason"] == "Completed"
    assert cond(p, "Initialized") == "True"
    assert logs(cluster, "inits", "-c", "init-2").stdout == ""


def test_failing_init_container(cluster, agent, pods, tmp_path):
    d = str(tmp_path)
    f = os.path.join(d, "main-ran")
    init = [{"name": "setup", "image": "busybox", "command": sh("echo bad setup; exit 2")}]
    pods.create(manifest("initfail", ["touch", f], init=init))
    p = wait_phase(pods, "initfail", "Failed")
    ics = ctr_status(p, "setup", init=True)
    assert ics["state"]["terminated"]["exitCode"] == 2
    cs = ctr_status(p)
    assert "waiting" in cs["state"] and cs["restartCount"] == 0
    assert cond(p, "Initialized") == "False"
    assert logs(cluster, "initfail", "-c", "setup").stdout == "bad setup\n"
    time.sleep(0.5)
    assert not os.path.exists(f)
    out = cluster.kubectl("get", "pod", "initfail", "--no-headers").stdout.split()
    assert out[2] == "Init:Error", out


# ---- probes ------------------------------------------------------------------------------


def test_readiness_exec(cluster, agent, pods):
    marker = "wharf-ready-%d" % os.getpid()
    path = "/tmp/" + marker
    if os.path.exists(path):
        os.unlink(path)
    c = {"name": "main", "image": "busybox", "command": ["sleep", "60"],
         "readinessProbe": {"exec": {"command": ["test", "-f", path]},
                            "periodSeconds": 1, "failureThreshold": 1}}
    pods.create(manifest("rexec", None, containers=[c]))
    wait_for(lambda: phase(pods, "rexec") == "Running", what="running")
    time.sleep(1.5)
    p = pods.get("rexec")
    assert cond(p, "Ready") == "False" and ctr_status(p)["ready"] is False
    open(path, "w").close()
    try:
        p = wait_for(lambda: cond(pods.get("rexec"), "Ready") == "True" and pods.get("rexec"),
                     what="ready")
        assert ctr_status(p)["ready"] is True
        os.unlink(path)
        wait_for(lambda: cond(pods.get("rexec"), "Ready") == "False", what="not ready again")
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_readiness_http_and_tcp(cluster, agent, pods):
    hport, tport = free_port(), free_port()
    web = {"name": "web", "image": "busybox",
           "command": sh("sleep 1; exec %s -m http.server %d --bind 127.0.0.1" % (PY, hport)),
           "readinessProbe": {"httpGet": {"path": "/", "port": hport},
                              "periodSeconds": 1}}
    tcp = {"name": "tcp", "image": "busybox",
           "command": [PY, "-c",
                       "import socket,time\ntime.sleep(1)\ns=socket.socket()\n"
                       "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                       "s.bind(('127.0.0.1',%d))\ns.listen()\n"
                       "while True:\n c,_=s.accept()\n c.close()\n" % tport],
           "readinessProbe": {"tcpSocket": {"port": tport}, "periodSeconds": 1}}
    pods.create(manifest("rnet", None, containers=[web, tcp]))
    wait_for(lambda: phase(pods, "rnet") == "Running", what="running")
    p = wait_for(lambda: cond(pods.get("rnet"), "Ready") == "True" and pods.get("rnet"),
                 timeout=20, what="http and tcp ready")
    assert ctr_status(p, "web")["ready"] and ctr_status(p, "tcp")["ready"]
    assert "GET / HTTP" in logs(cluster, "rnet", "-c", "web").stdout


def test_liveness_failure_restarts(cluster, agent, pods):
    c = {"name": "main", "image": "busybox", "command": sh("echo up; exec sleep 60"),
         "livenessProbe": {"exec": {"command": ["false"]},
                           "periodSeconds": 1, "failureThreshold": 1}}
    pods.create(manifest("live", None, containers=[c], restart="Always"))
    p = wait_for(lambda: (ctr_status(pods.get("live")) or {}).get("restartCount", 0) >= 1
                 and pods.get("live"), timeout=30, what="restart after liveness failure")
    assert ctr_status(p)["lastState"]["terminated"]["exitCode"] == 137
    un = wait_event(cluster, "live", "Unhealthy")
    assert "Liveness probe failed" in un[0]["message"]
    kill = wait_event(cluster, "live", "Killing")
    assert any("failed liveness probe" in e["message"] for e in kill)


def test_startup_probe_gates_readiness(cluster, agent, pods, tmp_path):
    d = str(tmp_path)
    f = os.path.join(d, "started")
    c = {"name": "main", "image": "busybox", "command": ["sleep", "60"],
         "startupProbe": {"exec": {"command": ["test", "-f", f]},
                          "periodSeconds": 1, "failureThreshold": 60},
         "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1}}
    pods.create(manifest("startup", None, containers=[c]))
    wait_for(lambda: phase(pods, "startup") == "Running", what="running")
    time.sleep(1.5)
    p = pods.get("startup")
    cs = ctr_status(p)
    assert cs["started"] is False and cs["ready"] is False and cond(p, "Ready") == "False"
    open(f, "w").close()
    p = wait_for(lambda: cond(pods.get("startup"), "Ready") == "True" and pods.get("startup"),
                 what="ready after startup")
    assert ctr_status(p)["started"] is True
    assert ctr_status(p)["restartCount"] == 0


# ---- graceful deletion -------------------------------------------------------------------------


def test_delete_sends_term(cluster, agent, pods, tmp_path):
    d = str(tmp_path)
    f = os.path.join(d, "term")
    script = 'trap "echo got TERM > %s; exit 0" TERM; while :; do sleep 0.1; done' % f
    pods.create(manifest("graceful", sh(script)))
    wait_for(lambda: phase(pods, "graceful") == "Running", what="running")
    uid = pods.get("graceful")["metadata"]["uid"]
    pids = wait_for(lambda: container_pids(agent, uid), what="container pid")
    assert pid_alive(pids[0])
    cluster.kubectl("delete", "pod", "graceful", timeout=60)
    assert pods.get("graceful") is None
    with open(f) as fh:
        assert fh.read() == "got TERM\n"
    wait_for(lambda: not group_members(pids[0]), what="process group gone")
    assert wait_event(cluster, "graceful", "Killing")


def test_delete_kills_after_grace_period(cluster, agent, pods):
    pods.create(manifest("stubborn", sh("trap '' TERM; while :; do sleep 0.1; done"),
                         terminationGracePeriodSeconds=2))
    wait_for(lambda: phase(pods, "stubborn") == "Running", what="running")
    uid = pods.get("stubborn")["metadata"]["uid"]
    pids = wait_for(lambda: container_pids(agent, uid), what="container pid")
    r = cluster.delete("/api/v1/namespaces/%s/pods/stubborn" % NS)
    assert r.code == 200, r.body
    md = r.json()["metadata"]
    assert md["deletionTimestamp"] and md["deletionGracePeriodSeconds"] == 2
    # TERM is ignored: the container outlives the signal until its grace ends.
    wait_event(cluster, "stubborn", "Killing")
    assert group_members(pids[0])
    assert pods.get("stubborn")["metadata"]["deletionTimestamp"]
    cluster.kubectl("wait", "--for=delete", "pod/stubborn", "--timeout=30s", timeout=60)
    wait_for(lambda: not group_members(pids[0]), what="process group gone")


def test_force_delete(cluster, agent, pods):
    pods.create(manifest("forced", sh("trap '' TERM; sleep 1000 & while :; do sleep 0.1; done"),
                         terminationGracePeriodSeconds=300))
    wait_for(lambda: phase(pods, "forced") == "Running", what="running")
    uid = pods.get("forced")["metadata"]["uid"]
    pids = wait_for(lambda: container_pids(agent, uid), what="container pid")
    wait_for(lambda: len(group_members(pids[0])) >= 2, what="child started")
    cluster.kubectl("delete", "pod", "forced", "--grace-period=0", "--force", timeout=60)
    wait_for(lambda: not group_members(pids[0]), timeout=10, what="process tree gone")
    wait_for(lambda: pods.get("forced") is None, what="pod object gone")
    wait_for(lambda: not os.path.exists(os.path.join(agent.data_dir, "pods", uid)),
             what="pod directory removed")


# ---- environment ---------------------------------------------------------------------------------


def test_env(cluster, agent, pods):
    assert cluster.post("/api/v1/namespaces/%s/configmaps" % NS, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "envcm"},
        "data": {"greeting": "hi there", "A": "1", "B": "2"}}).code == 201
    assert cluster.post("/api/v1/namespaces/%s/secrets" % NS, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "envsec"},
        "data": {"token": base64.b64encode(b"s3cr3t!").decode()}}).code == 201
    env = [{"name": "PLAIN", "value": "plain value"},
           {"name": "REF", "value": "[$(PLAIN)]"},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
           {"name": "POD_UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
           {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
           {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "TEAM", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['team']"}}},
           {"name": "GREETING",
            "valueFrom": {"configMapKeyRef": {"name": "envcm", "key": "greeting"}}},
           {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "envsec", "key": "token"}}}]
    c = {"name": "main", "image": "busybox", "command": ["env"], "env": env,
         "envFrom": [{"configMapRef": {"name": "envcm"}, "prefix": "CM_"}]}
    created = pods.create(manifest("envpod", None, containers=[c], labels={"team": "ml"}))
    wait_phase(pods, "envpod", "Succeeded")
    out = logs(cluster, "envpod").stdout
    got = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert got["PLAIN"] == "plain value"
    assert got["REF"] == "[plain value]"
    assert got["POD_NAME"] == "envpod"
    assert got["POD_NS"] == NS
    assert got["POD_UID"] == created["metadata"]["uid"]
    assert got["NODE"] == NODE
    assert got["POD_IP"] == "127.0.0.1"
    assert got["TEAM"] == "ml"
    assert got["GREETING"] == "hi there"
    assert got["TOKEN"] == "s3cr3t!"
    assert got["CM_A"] == "1" and got["CM_B"] == "2" and got["CM_greeting"] == "hi there"
    assert got["HOSTNAME"] == "envpod"
    assert got["NVIDIA_VISIBLE_DEVICES"] == "void"


def test_env_missing_configmap(cluster, agent, pods):
    c = {"name": "main", "image": "busybox", "command": sh("echo value=$LATE"),
         "env": [{"name": "LATE",
                  "valueFrom": {"configMapKeyRef": {"name": "latecm", "key": "k"}}}]}
    pods.create(manifest("latepod", None, containers=[c]))

    def config_error():
        cs = ctr_status(pods.get("latepod")) or {}
        w = cs.get("state", {}).get("waiting", {})
        return w.get("reason") == "CreateContainerConfigError" and w

    w = wait_for(config_error, what="CreateContainerConfigError")
    assert 'configmap "latecm" not found' in w["message"], w
    assert phase(pods, "latepod") == "Pending"
    ev = wait_event(cluster, "latepod", "Failed")
    assert any("latecm" in e["message"] and e["type"] == "Warning" for e in ev)
    time.sleep(1.2)  # several syncs retry the start: the same error is reported once
    assert len([e for e in events(cluster, "latepod") if e["reason"] == "Failed"]) == 1
    out = cluster.kubectl("get", "pod", "latepod", "--no-headers").stdout.split()
    assert out[2] == "CreateContainerConfigError", out
    assert cluster.post("/api/v1/namespaces/%s/configmaps" % NS, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "latecm"},
        "data": {"k": "arrived"}}).code == 201
    wait_phase(pods, "latepod", "Succeeded", timeout=30)
    assert logs(cluster, "latepod").stdout == "value=arrived\n"


# ---- cgroups -----------------------------------------------------------------------------------


def cgroup_mode():
    """"v1", "v2" or None with the reason, like the agent's detection."""
    root = "/sys/fs/cgroup"
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return ("v2", None) if os.access(root, os.W_OK) else (None, root + " is not writable")
    for h in ("cpu", "memory"):
        if not os.access(os.path.join(root, h), os.W_OK):
            return None, "%s/%s is not writable" % (root, h)
    return "v1", None


def cgroup_file(uid, ctr, controller, name):
    mode, _ = cgroup_mode()
    if mode == "v2":
        return "/sys/fs/cgroup/wharf/pod%s/%s/%s" % (uid, ctr, name)
    for d in (controller, "cpu,cpuacct" if controller == "cpu" else controller):
        p = "/sys/fs/cgroup/%s/wharf/pod%s/%s/%s" % (d, uid, ctr, name)
        if os.path.exists(p):
            return p
    return "/sys/fs/cgroup/%s/wharf/pod%s/%s/%s" % (controller, uid, ctr, name)


def needs_cgroups():
    mode, why = cgroup_mode()
    if mode is None:
        print("skipping: no writable cgroups: " + why)
        pytest.skip("no writable cgroups: " + why)
    return mode


def test_memory_hog_oomkilled(cluster, agent, pods, tmp_path):
    mode = needs_cgroups()
    go = str(tmp_path / "go")
    hog = [PY, "-c", "import os, time\nwhile not os.path.exists(%r): time.sleep(0.05)\n"
           "b = bytearray(512 << 20)\nfor i in range(0, len(b), 4096):\n    b[i] = 1\n"
           "time.sleep(30)\n" % go]
    c = {"name": "main", "image": "busybox", "command": hog,
         "resources": {"limits": {"memory": "64Mi"}}}
    created = pods.create(manifest("hog", None, containers=[c]))
    uid = created["metadata"]["uid"]
    limit = cgroup_file(uid, "main", "memory",
                        "memory.max" if mode == "v2" else "memory.limit_in_bytes")
    wait_for(lambda: phase(pods, "hog") == "Running", what="hog running")
    with open(limit) as f:
        assert int(f.read()) == 64 << 20
    open(go, "w").close()
    p = wait_phase(pods, "hog", "Failed", timeout=30)
    term = ctr_status(p)["state"]["terminated"]
    assert term["reason"] == "OOMKilled" and term["exitCode"] == 137, term
    ev = wait_event(cluster, "hog", "OOMKilled")
    assert ev[0]["type"] == "Warning"
    out = cluster.kubectl("get", "pod", "hog", "--no-headers").stdout.split()
    assert out[2] == "OOMKilled", out


def test_cpu_limit_throttles(cluster, agent, pods):
    mode = needs_cgroups()
    c = {"name": "main", "image": "busybox",
         "command": [PY, "-c", "import time\nt = time.time() + 30\nwhile time.time() < t: pass"],
         "resources": {"limits": {"cpu": "100m", "memory": "128Mi"}}}
    created = pods.create(manifest("busy", None, containers=[c]))
    uid = created["metadata"]["uid"]
    wait_for(lambda: phase(pods, "busy") == "Running", what="running")
    if mode == "v2":
        with open(cgroup_file(uid, "main", "cpu", "cpu.max")) as f:
            assert f.read().split() == ["10000", "100000"]
    else:
        with open(cgroup_file(uid, "main", "cpu", "cpu.cfs_quota_us")) as f:
            assert int(f.read()) == 10000
        with open(cgroup_file(uid, "main", "cpu", "cpu.cfs_period_us")) as f:
            assert int(f.read()) == 100000
        with open(cgroup_file(uid, "main", "memory", "memory.limit_in_bytes")) as f:
            assert int(f.read()) == 128 << 20
    pid = wait_for(lambda: container_pids(agent, uid), what="pid")[0]
    procs = cgroup_file(uid, "main", "cpu", "cgroup.procs")
    with open(procs) as f:
        assert str(pid) in f.read().split()

    def throttled():
        with open(cgroup_file(uid, "main", "cpu", "cpu.stat")) as f:
            stat = dict(line.split() for line in f if line.strip())
        return int(stat.get("nr_throttled", 0)) > 0 and stat

    stat = wait_for(throttled, timeout=15, interval=0.2, what="nr_throttled > 0")
    assert int(stat["nr_periods"]) > 0


# ---- bad input ---------------------------------------------------------------------------------


def test_bad_pods_leave_agent_and_others_alone(cluster, agent, pods):
    pods.create(manifest("bystander", ["sleep", "60"]))
    wait_for(lambda: phase(pods, "bystander") == "Running", what="bystander running")
    before = pods.get("bystander")

    nocmd = manifest("nocmd", None, containers=[{"name": "main", "image": "busybox"}])
    pods.create(nocmd)
    foo = manifest("foo", ["true"])
    foo["spec"]["containers"][0]["resources"] = {"limits": {"example.com/foo": "1"}}
    pods.create(foo)
    big = manifest("biggpu", ["true"])
    big["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": "16"}}
    pods.create(big)
    pods.create(manifest("nosuch", ["/nonexistent/wharf-no-such-binary", "x"]))

    p = wait_phase(pods, "nocmd", "Failed")
    assert p["status"]["reason"] == "NoCommand"
    assert "has no command" in p["status"]["message"]
    ev = wait_event(cluster, "nocmd", "NoCommand")
    assert ev[0]["type"] == "Warning"

    p = wait_phase(pods, "foo", "Failed")
    assert p["status"]["reason"] == "OutOfexample.com/foo"
    assert "Node didn't have enough resource: example.com/foo" in p["status"]["message"]
    wait_event(cluster, "foo", "OutOfexample.com/foo")

    p = wait_phase(pods, "biggpu", "Failed")
    assert p["status"]["reason"] == "OutOfnvidia.com/gpu"
    msg = p["status"]["message"]
    assert "Node didn't have enough resource: nvidia.com/gpu, requested: 16" in msg
    assert "capacity: 4" in msg
    wait_event(cluster, "biggpu", "OutOfnvidia.com/gpu")
    out = cluster.kubectl("get", "pod", "biggpu", "--no-headers").stdout.split()
    assert out[2] == "OutOfnvidia.com/gpu", out

    p = wait_phase(pods, "nosuch", "Failed")
    term = ctr_status(p)["state"]["terminated"]
    assert term["exitCode"] == 127, term
    assert term["reason"] == "StartError", term
    assert "nonexistent" in term.get("message", ""), term
    wait_for(lambda: [e for e in events(cluster, "nosuch") if e["type"] == "Warning"],
             what="warning event for nosuch")

    # The agent is alive and the bystander untouched.
    assert agent.proc.poll() is None
    after = pods.get("bystander")
    assert after["status"]["phase"] == "Running"
    assert ctr_status(after)["restartCount"] == 0
    assert (ctr_status(after)["state"]["running"]["startedAt"]
            == ctr_status(before)["state"]["running"]["startedAt"])
    node = cluster.get("/api/v1/nodes/" + NODE).json()
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "4"
    # Nothing was allocated: a pod can still take all four GPUs.
    four = manifest("fourgpu", sh("echo $NVIDIA_VISIBLE_DEVICES"))
    four["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": "4"}}
    pods.create(four)
    wait_phase(pods, "fourgpu", "Succeeded")
    assert len(logs(cluster, "fourgpu").stdout.strip().split(",")) == 4

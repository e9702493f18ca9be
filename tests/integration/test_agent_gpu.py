"""The node agent with a real server: Node registration and heartbeat, GPU
discovery (declared and through NVML), exclusive GPU allocation under many
concurrent pods, an agent killed with kill -9 and restarted, and two agents
on one server.

Everything goes through the real `wharf server` and `wharf agent` binaries,
real kubectl and plain HTTP; containers are ordinary processes. Nothing here
asserts on a duration: waits poll with generous deadlines.
"""
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid

import pytest

from conftest import (ROOT, Agent, kill_leftover_containers, needs_kubectl)

FAKE_NVML = os.environ.get("WF_FAKE_NVML",
                           os.path.join(ROOT, "build/san/tests/libfake_nvml.so"))
H100 = "NVIDIA-H100-80GB-HBM3"


# ---- helpers ---------------------------------------------------------------------

def wait_for(fn, timeout=30, interval=0.05, what="condition"):
    """Poll fn until it returns something truthy; return that."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def ensure_ns(cluster, ns):
    r = cluster.post("/api/v1/namespaces",
                     {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    assert r.code in (201, 409), r.body


def pod(name, node, script=None, command=None, gpus=0, resource="nvidia.com/gpu",
        restart="Never", grace=None, env=None):
    ctr = {"name": "main", "image": "busybox",
           "command": command or ["sh", "-c", script]}
    if gpus:
        ctr["resources"] = {"limits": {resource: str(gpus)}}
    if env:
        ctr["env"] = env
    spec = {"nodeName": node, "restartPolicy": restart, "containers": [ctr]}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def create(cluster, ns, manifest):
    r = cluster.post("/api/v1/namespaces/%s/pods" % ns, manifest)
    assert r.code == 201, r.body
    return r.json()


def get_pod(cluster, ns, name):
    r = cluster.get("/api/v1/namespaces/%s/pods/%s" % (ns, name))
    return r.json() if r.code == 200 else None


def phase(p):
    return (p or {}).get("status", {}).get("phase")


def wait_phase(cluster, ns, name, phases, timeout=30):
    phases = (phases,) if isinstance(phases, str) else tuple(phases)
    return wait_for(lambda: (lambda p: p if phase(p) in phases else None)(
        get_pod(cluster, ns, name)), timeout, what="pod %s/%s in %s" % (ns, name, phases))


def ctr_status(p):
    return (p.get("status", {}).get("containerStatuses") or [{}])[0]


def gpu_annotation(p):
    text = p["metadata"].get("annotations", {}).get("wharf.io/gpus")
    return json.loads(text) if text else None


def pod_log(cluster, ns, name):
    r = cluster.get("/api/v1/namespaces/%s/pods/%s/log" % (ns, name), accept="*/*")
    assert r.code == 200, "log of %s/%s: HTTP %d %s" % (ns, name, r.code, r.body)
    return r.body


def delete_all(cluster, ns, timeout=30):
    """Delete every pod of ns (grace 0 for speed) and wait until all are gone."""
    items = cluster.get("/api/v1/namespaces/%s/pods" % ns).json()["items"]
    for p in items:
        cluster.delete("/api/v1/namespaces/%s/pods/%s" % (ns, p["metadata"]["name"]),
                       {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 1})
    wait_for(lambda: not cluster.get("/api/v1/namespaces/%s/pods" % ns).json()["items"],
             timeout, what="pods of %s deleted" % ns)


def gpu_state(agent):
    with open(os.path.join(agent.data_dir, "gpu-state.json")) as f:
        return json.load(f).get("assignments", {})


def marker_pids(marker):
    """Processes whose command line holds marker."""
    found = []
    needle = marker.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read()
            with open("/proc/%s/stat" % d) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmd and state != "Z":
            found.append(int(d))
    return found


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_agent(a):
    a.stop()
    kill_leftover_containers(a.data_dir)
    a.assert_clean_log()
    shutil.rmtree(a.data_dir, ignore_errors=True)


# ---- node registration --------------------------------------------------------------

@needs_kubectl
def test_node_registration(cluster, agent):
    node = cluster.get("/api/v1/nodes/" + agent.node_name).json()
    st = node["status"]
    for k in ("cpu", "memory", "pods"):
        assert k in st["capacity"] and k in st["allocatable"], st
    assert int(st["capacity"]["cpu"]) == os.cpu_count()
    assert st["capacity"]["memory"].endswith("Ki") and int(st["capacity"]["memory"][:-2]) > 0
    assert st["capacity"]["nvidia.com/gpu"] == "4"
    assert st["allocatable"]["nvidia.com/gpu"] == "4"
    labels = node["metadata"]["labels"]
    assert labels["nvidia.com/gpu.product"] == H100
    assert labels["nvidia.com/gpu.memory"] == "81559"
    assert labels["nvidia.com/gpu.count"] == "4"
    assert labels["nvidia.com/mig.capable"] == "false"
    assert labels["kubernetes.io/hostname"] == agent.node_name
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Ready"]["status"] == "True"
    for t in ("MemoryPressure", "DiskPressure", "PIDPressure"):
        assert conds[t]["status"] == "False", conds[t]
        assert conds[t]["reason"] and conds[t]["lastHeartbeatTime"]
    addrs = {a["type"]: a["address"] for a in st["addresses"]}
    assert addrs["Hostname"] == agent.node_name
    assert addrs["InternalIP"]
    assert st["daemonEndpoints"]["kubeletEndpoint"]["Port"] == agent.port

    lease_path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + agent.node_name
    lease = cluster.get(lease_path).json()
    assert lease["spec"]["holderIdentity"] == agent.node_name
    assert lease["spec"]["leaseDurationSeconds"] > 0
    owners = lease["metadata"].get("ownerReferences", [])
    assert owners and owners[0]["kind"] == "Node" and owners[0]["uid"] == node["metadata"]["uid"]
    first = lease["spec"]["renewTime"]
    # The heartbeat renews it: renewTime moves on (poll; no timing asserted).
    wait_for(lambda: cluster.get(lease_path).json()["spec"]["renewTime"] > first,
             timeout=40, interval=0.25, what="lease renewal")

    out = cluster.kubectl("get", "nodes").stdout.splitlines()
    head = out[0].split()
    row = [l.split() for l in out[1:] if l.split()[0] == agent.node_name][0]
    assert "GPUS" in head
    assert row[head.index("GPUS")] == "4"
    assert row[head.index("STATUS")] == "Ready"
    desc = cluster.kubectl("describe", "node", agent.node_name).stdout
    assert "HolderIdentity:  %s" % agent.node_name in desc, desc
    assert "nvidia.com/gpu:" in desc and "nvidia.com/gpu.product=" + H100 in desc


# ---- NVML discovery --------------------------------------------------------------------

def nvml_agent(server, monkeypatch, name, gpus, mig=None, init_rc=None):
    if not os.path.exists(FAKE_NVML):
        pytest.skip("fake NVML library not built (%s)" % FAKE_NVML)
    monkeypatch.setenv("FAKE_NVML_GPUS", gpus)
    if mig:
        monkeypatch.setenv("FAKE_NVML_MIG", mig)
    else:
        monkeypatch.delenv("FAKE_NVML_MIG", raising=False)
    if init_rc is not None:
        monkeypatch.setenv("FAKE_NVML_INIT_RC", str(init_rc))
    a = Agent(server, node_name=name, gpus=None, extra_args=["--nvml-lib", FAKE_NVML])
    try:
        return a.start()
    except Exception:
        stop_agent(a)
        raise


def test_nvml_whole_gpus(server, cluster, monkeypatch):
    a = nvml_agent(server, monkeypatch, "nvml-a100", "2:NVIDIA A100-SXM4-40GB:40960")
    try:
        node = cluster.get("/api/v1/nodes/nvml-a100").json()
        cap = node["status"]["capacity"]
        assert cap["nvidia.com/gpu"] == "2"
        assert not [k for k in cap if k.startswith("nvidia.com/mig-")]
        labels = node["metadata"]["labels"]
        assert labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-40GB"
        assert labels["nvidia.com/gpu.memory"] == "40960"
        assert labels["nvidia.com/gpu.count"] == "2"
        assert labels["nvidia.com/mig.capable"] == "true"
        assert "NVML" in a.log()
    finally:
        stop_agent(a)
        cluster.delete("/api/v1/nodes/nvml-a100")


def test_nvml_without_driver(server, cluster, monkeypatch):
    """nvmlInit fails (driver not loaded): the node runs, with no GPUs at all."""
    ensure_ns(cluster, "nodrv")
    a = nvml_agent(server, monkeypatch, "nvml-nodrv", "2:NVIDIA A100-SXM4-40GB:40960",
                   init_rc=9)
    try:
        node = cluster.get("/api/v1/nodes/nvml-nodrv").json()
        assert not [k for k in node["status"]["capacity"] if "gpu" in k or "mig" in k]
        assert not [k for k in node["metadata"]["labels"] if k.startswith("nvidia.com/")]
        assert "nvmlInit_v2" in a.log()
        create(cluster, "nodrv", pod("wants-gpu", "nvml-nodrv", "true", gpus=1))
        create(cluster, "nodrv", pod("cpu", "nvml-nodrv", 'echo "NV=$NVIDIA_VISIBLE_DEVICES"'))
        p = wait_phase(cluster, "nodrv", "wants-gpu", "Failed")
        assert p["status"]["reason"] == "OutOfnvidia.com/gpu", p["status"]
        wait_phase(cluster, "nodrv", "cpu", "Succeeded")
        assert pod_log(cluster, "nodrv", "cpu") == "NV=void\n"
        delete_all(cluster, "nodrv")
    finally:
        stop_agent(a)
        cluster.delete("/api/v1/nodes/nvml-nodrv")


def test_nvml_mig_mixed(server, cluster, monkeypatch):
    ensure_ns(cluster, "mig")
    a = nvml_agent(server, monkeypatch, "nvml-mig", "2:NVIDIA A100-SXM4-40GB:40960",
                   mig="0:1g.5gb,1g.5gb,2g.10gb")
    try:
        node = cluster.get("/api/v1/nodes/nvml-mig").json()
        cap = node["status"]["capacity"]
        # GPU 0 is split into MIG instances; only GPU 1 is allocatable whole.
        assert cap["nvidia.com/gpu"] == "1"
        assert cap["nvidia.com/mig-1g.5gb"] == "2"
        assert cap["nvidia.com/mig-2g.10gb"] == "1"
        labels = node["metadata"]["labels"]
        assert labels["nvidia.com/gpu.count"] == "2"
        assert labels["nvidia.com/mig.capable"] == "true"
        assert labels["nvidia.com/mig.strategy"] == "mixed"
        assert labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-40GB"

        script = 'echo "NV=$NVIDIA_VISIBLE_DEVICES"'
        create(cluster, "mig", pod("slice", "nvml-mig", script, gpus=1,
                                   resource="nvidia.com/mig-1g.5gb"))
        create(cluster, "mig", pod("whole", "nvml-mig", script, gpus=1))
        create(cluster, "mig", pod("mig-2g", "nvml-mig", script, gpus=1,
                                   resource="nvidia.com/mig-2g.10gb"))
        create(cluster, "mig", pod("no-3g", "nvml-mig", script, gpus=1,
                                   resource="nvidia.com/mig-3g.20gb"))
        s = wait_phase(cluster, "mig", "slice", "Succeeded")
        w = wait_phase(cluster, "mig", "whole", "Succeeded")
        assert pod_log(cluster, "mig", "slice").strip() == \
            "NV=MIG-fa4e0000-0000-4000-8000-000000000000"
        assert gpu_annotation(s) == {"main": ["MIG-fa4e0000-0000-4000-8000-000000000000"]}
        assert pod_log(cluster, "mig", "whole").strip() == \
            "NV=GPU-fa4e0000-0000-4000-8000-000000000001"
        assert gpu_annotation(w) == {"main": ["GPU-fa4e0000-0000-4000-8000-000000000001"]}
        wait_phase(cluster, "mig", "mig-2g", "Succeeded")
        # A MIG profile the node does not have at all: rejected at admission.
        bad = wait_phase(cluster, "mig", "no-3g", "Failed")
        assert bad["status"]["reason"] == "OutOfnvidia.com/mig-3g.20gb", bad["status"]
        delete_all(cluster, "mig")
        wait_for(lambda: not gpu_state(a), what="every device released")
    finally:
        stop_agent(a)
        cluster.delete("/api/v1/nodes/nvml-mig")


# ---- exclusivity under many concurrent pods ----------------------------------------------

EXCL_SCRIPT = ('echo "start $(date +%s.%N) NV=$NVIDIA_VISIBLE_DEVICES CU=$CUDA_VISIBLE_DEVICES"; '
               'sleep 0.7; echo "end $(date +%s.%N)"')


def parse_run(log):
    """(start, end, NVIDIA_VISIBLE_DEVICES, CUDA_VISIBLE_DEVICES) from EXCL_SCRIPT's output."""
    lines = log.strip().splitlines()
    assert len(lines) == 2, log
    first = lines[0].split(" ", 3)
    assert first[0] == "start" and lines[1].startswith("end "), log
    nv = first[2][len("NV="):]
    cu = first[3][len("CU="):] if len(first) > 3 else ""
    return float(first[1]), float(lines[1].split()[1]), nv, cu


def create_at_once(cluster, ns, manifests):
    errors = []
    barrier = threading.Barrier(len(manifests))

    def one(m):
        barrier.wait()
        r = cluster.post("/api/v1/namespaces/%s/pods" % ns, m)
        if r.code != 201:
            errors.append(r.body)

    threads = [threading.Thread(target=one, args=(m,)) for m in manifests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_gpu_exclusivity_under_concurrent_pods(cluster, agent):
    ns = "excl"
    ensure_ns(cluster, ns)
    node = agent.node_name
    wave1 = ["w1-%02d" % i for i in range(16)]
    create_at_once(cluster, ns, [pod(n, node, EXCL_SCRIPT, gpus=1) for n in wave1] +
                   [pod("cpu-only", node, EXCL_SCRIPT)])
    # A second wave once GPUs come free again, so devices get reused.
    wait_for(lambda: any(phase(get_pod(cluster, ns, n)) == "Succeeded" for n in wave1),
             what="a first-wave pod to finish")
    wave2 = ["w2-%02d" % i for i in range(8)]
    create_at_once(cluster, ns, [pod(n, node, EXCL_SCRIPT, gpus=1) for n in wave2])

    runs, rejected = {}, []
    for n in wave1 + wave2:
        p = wait_phase(cluster, ns, n, ("Succeeded", "Failed"))
        if phase(p) == "Failed":
            # kubelet semantics: no GPU free at admission -> rejected, never started.
            assert p["status"]["reason"] == "OutOfnvidia.com/gpu", p["status"]
            assert "nvidia.com/gpu" in p["status"]["message"]
            assert gpu_annotation(p) is None
            assert not p["status"].get("containerStatuses"), p["status"]
            rejected.append(n)
            continue
        assert ctr_status(p)["state"]["terminated"]["exitCode"] == 0
        start, end, nv, cu = parse_run(pod_log(cluster, ns, n))
        assert cu == nv, (n, nv, cu)
        devs = nv.split(",")
        assert len(devs) == 1 and devs[0].startswith("GPU-"), nv
        assert gpu_annotation(p) == {"main": devs}, (n, p["metadata"].get("annotations"))
        runs[n] = (start, end, devs[0])
    # The pool was free at the start, so at least the first four ran.
    assert len(runs) >= 4, (runs, rejected)
    assert len(runs) + len(rejected) == len(wave1) + len(wave2)
    assert len({r[2] for r in runs.values()}) <= 4
    names = sorted(runs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            sa, ea, da = runs[a]
            sb, eb, db = runs[b]
            if sa < eb and sb < ea:
                assert da != db, "%s and %s ran at the same time on %s" % (a, b, da)
    # Devices are reused once released: more pods ran than there are GPUs.
    assert len(runs) > 4, (runs, rejected)

    cpu = wait_phase(cluster, ns, "cpu-only", "Succeeded")
    _s, _e, nv, cu = parse_run(pod_log(cluster, ns, "cpu-only"))
    assert nv == "void" and cu == ""
    assert gpu_annotation(cpu) is None

    # Every device is free again: a pod asking for all four runs.
    create(cluster, ns, pod("all-four", node, "echo NV=$NVIDIA_VISIBLE_DEVICES; sleep 30",
                            gpus=4))
    p = wait_phase(cluster, ns, "all-four", "Running")
    devs = gpu_annotation(p)["main"]
    assert len(set(devs)) == 4
    assert set(r[2] for r in runs.values()) <= set(devs)
    assert sorted(gpu_state(agent)) == sorted(devs)
    assert set(gpu_state(agent).values()) == {p["metadata"]["uid"] + "/main"}
    wait_for(lambda: "NV=" in pod_log(cluster, ns, "all-four"), what="all-four's output")
    assert sorted(pod_log(cluster, ns, "all-four").strip()[3:].split(",")) == sorted(devs)
    delete_all(cluster, ns)
    wait_for(lambda: not gpu_state(agent), what="every device released")


# ---- agent kill -9 and restart ----------------------------------------------------------

COUNTER = r'''
import os, sys, time
path = sys.argv[1]
i = 0
while True:
    i += 1
    with open(path + ".tmp", "w") as f:
        f.write("%d %d\n" % (os.getpid(), i))
    os.rename(path + ".tmp", path)
    time.sleep(0.05)
'''


def read_counter(path):
    try:
        with open(path) as f:
            pid, n = f.read().split()
        return int(pid), int(n)
    except (OSError, ValueError):
        return None


def test_agent_kill9_and_restart(server, cluster):
    ns = "restart"
    ensure_ns(cluster, ns)
    node = "node-restart"
    work = tempfile.mkdtemp(prefix="wharf-restart-")
    tag = uuid.uuid4().hex[:12]
    a = Agent(server, node_name=node, gpus="2:%s:81559" % H100)
    try:
        a.start()
        marker = "wf-long-" + tag
        doomed_marker = "wf-doomed-" + tag
        counter = os.path.join(work, "counter")
        go = os.path.join(work, "go")
        create(cluster, ns, pod("long", node, command=["python3", "-c", COUNTER, counter, marker],
                                restart="Always", grace=2))
        create(cluster, ns, pod("keeper", node,
                                "echo NV=$NVIDIA_VISIBLE_DEVICES; while true; do sleep 0.2; done",
                                gpus=1, restart="Always", grace=1))
        create(cluster, ns, pod("doomed", node,
                                command=["python3", "-c", "import time\nwhile True: time.sleep(1)",
                                         doomed_marker], gpus=1))
        create(cluster, ns, pod("exit-never", node,
                                "while [ ! -e %s ]; do sleep 0.05; done; exit 3" % go))
        once = os.path.join(work, "once")
        create(cluster, ns, pod("exit-onfailure", node,
                                "if [ -e %s ]; then exec sleep 3600; fi; touch %s; "
                                "while [ ! -e %s ]; do sleep 0.05; done; exit 1"
                                % (once, once, go), restart="OnFailure"))
        create(cluster, ns, pod("rejected", node, "true", gpus=3))
        for n in ("long", "keeper", "doomed", "exit-never", "exit-onfailure"):
            wait_phase(cluster, ns, n, "Running")
        rej = wait_phase(cluster, ns, "rejected", "Failed")
        assert rej["status"]["reason"] == "OutOfnvidia.com/gpu"

        pid, n0 = wait_for(lambda: read_counter(counter), what="counter file")
        assert marker_pids(marker) == [pid]
        keeper = get_pod(cluster, ns, "keeper")
        keeper_gpus = gpu_annotation(keeper)["main"]
        doomed = get_pod(cluster, ns, "doomed")
        doomed_gpus = gpu_annotation(doomed)["main"]
        assert len(keeper_gpus) == 1 and len(doomed_gpus) == 1 and keeper_gpus != doomed_gpus
        state_before = gpu_state(a)
        assert state_before == {keeper_gpus[0]: keeper["metadata"]["uid"] + "/main",
                                doomed_gpus[0]: doomed["metadata"]["uid"] + "/main"}
        doomed_pids = marker_pids(doomed_marker)
        assert len(doomed_pids) == 1
        doomed_dir = os.path.join(a.data_dir, "pods", doomed["metadata"]["uid"])
        assert os.path.isdir(doomed_dir)
        long_uid = get_pod(cluster, ns, "long")["metadata"]["uid"]

        # ---- the agent dies; its containers do not.
        a.kill9()
        wait_for(lambda: (read_counter(counter) or (0, 0))[1] > n0 + 3,
                 what="the counter to go on without the agent")
        r = cluster.delete("/api/v1/namespaces/%s/pods/doomed" % ns,
                           {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0})
        assert r.code == 200, r.body
        assert get_pod(cluster, ns, "doomed") is None
        assert alive(doomed_pids[0])
        open(go, "w").close()
        uids = {n: get_pod(cluster, ns, n)["metadata"]["uid"]
                for n in ("exit-never", "exit-onfailure")}
        for n, uid in uids.items():
            exit_file = os.path.join(a.data_dir, "pods", uid, "main", "0", "exit.json")
            wait_for(lambda: os.path.exists(exit_file), what="%s to exit" % n)
        # The server still has them Running: nobody reported the exits yet.
        assert phase(get_pod(cluster, ns, "exit-never")) == "Running"

        # ---- back with the same data directory and node name.
        a.start()
        # The pod deleted while the agent was away: killed, its state removed,
        # its GPU released.
        wait_for(lambda: not alive(doomed_pids[0]), what="the deleted pod's process to die")
        wait_for(lambda: not os.path.exists(doomed_dir), what="the deleted pod's directory")
        assert marker_pids(doomed_marker) == []
        # The exits that happened meanwhile are reported.
        p = wait_phase(cluster, ns, "exit-never", "Failed")
        term = ctr_status(p)["state"]["terminated"]
        assert term["exitCode"] == 3 and term["reason"] == "Error", term
        p = wait_for(lambda: (lambda q: q if ctr_status(q).get("restartCount") == 1 and
                              "running" in ctr_status(q).get("state", {}) else None)(
            get_pod(cluster, ns, "exit-onfailure")), what="exit-onfailure restarted once")
        assert phase(p) == "Running"
        assert ctr_status(p)["lastState"]["terminated"]["exitCode"] == 1

        # The long-running container was adopted: same process, never a second copy.
        for _ in range(10):
            assert marker_pids(marker) == [pid]
            time.sleep(0.05)
        cur = wait_for(lambda: (lambda c: c if c and c[1] > n0 + 10 else None)(
            read_counter(counter)), what="the counter to advance")
        assert cur[0] == pid
        p = get_pod(cluster, ns, "long")
        assert phase(p) == "Running"
        assert ctr_status(p)["restartCount"] == 0 and "running" in ctr_status(p)["state"]
        assert os.path.exists(os.path.join(a.data_dir, "pods", long_uid, "main", "0"))
        assert not os.path.exists(os.path.join(a.data_dir, "pods", long_uid, "main", "1"))

        # GPU assignment kept; the released device goes to a new pod, never the held one.
        keeper = get_pod(cluster, ns, "keeper")
        assert phase(keeper) == "Running" and ctr_status(keeper)["restartCount"] == 0
        assert gpu_annotation(keeper)["main"] == keeper_gpus
        state = gpu_state(a)
        assert state == {keeper_gpus[0]: keeper["metadata"]["uid"] + "/main"}, state
        create(cluster, ns, pod("fresh", node, "echo NV=$NVIDIA_VISIBLE_DEVICES; sleep 30",
                                gpus=1))
        fresh = wait_phase(cluster, ns, "fresh", "Running")
        assert gpu_annotation(fresh)["main"] == doomed_gpus
        create(cluster, ns, pod("fresh2", node, "true", gpus=1))
        p = wait_phase(cluster, ns, "fresh2", "Failed")
        assert p["status"]["reason"] == "OutOfnvidia.com/gpu"

        # A restart of the adopted GPU container sees the same device.
        with open(os.path.join(a.data_dir, "pods", keeper["metadata"]["uid"], "main", "0",
                               "state.json")) as f:
            os.killpg(json.load(f)["pgid"], signal.SIGKILL)
        wait_for(lambda: (lambda q: ctr_status(q).get("restartCount") == 1 and
                          "running" in ctr_status(q)["state"])(get_pod(cluster, ns, "keeper")),
                 what="keeper restarted")
        wait_for(lambda: "NV=" in pod_log(cluster, ns, "keeper"), what="keeper's output")
        assert pod_log(cluster, ns, "keeper") == "NV=%s\n" % keeper_gpus[0]
        assert gpu_state(a) == {keeper_gpus[0]: keeper["metadata"]["uid"] + "/main",
                                doomed_gpus[0]: fresh["metadata"]["uid"] + "/main"}

        # A pod rejected before the restart can still be deleted.
        r = cluster.delete("/api/v1/namespaces/%s/pods/rejected" % ns)
        assert r.code == 200, r.body
        wait_for(lambda: get_pod(cluster, ns, "rejected") is None,
                 what="the rejected pod to be removed")

        # Deleting the adopted pod stops its process.
        r = cluster.delete("/api/v1/namespaces/%s/pods/long" % ns)
        assert r.code == 200, r.body
        wait_for(lambda: get_pod(cluster, ns, "long") is None, what="long to be removed")
        wait_for(lambda: not alive(pid), what="long's process to stop")
        assert marker_pids(marker) == []
        wait_for(lambda: not os.path.exists(os.path.join(a.data_dir, "pods", long_uid)),
                 what="long's directory to be removed")

        delete_all(cluster, ns)
        wait_for(lambda: not gpu_state(a), what="every device released")
    finally:
        stop_agent(a)
        for m in ("wf-long-" + tag, "wf-doomed-" + tag):
            for p in marker_pids(m):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(work, ignore_errors=True)
        cluster.delete("/api/v1/nodes/" + node)


# ---- two agents on one server --------------------------------------------------------------

@needs_kubectl
def test_two_agents(server, cluster, agent):
    ns = "two"
    ensure_ns(cluster, ns)
    b = Agent(server, node_name="node-2", gpus="2:%s:81559" % H100)
    try:
        b.start()
        assert b.port != agent.port and b.data_dir != agent.data_dir
        script = ('echo "hello from $NODE NV=$NVIDIA_VISIBLE_DEVICES"; '
                  'echo second line; sleep 30')
        env = [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
        pods = {"on-1": agent, "on-2": b}
        for n, a in pods.items():
            create(cluster, ns, pod(n, a.node_name, script, gpus=1, env=env, grace=1))
        for n, a in pods.items():
            p = wait_phase(cluster, ns, n, "Running")
            uid = p["metadata"]["uid"]
            other = b if a is agent else agent
            # The pod runs on the agent it names, and only there.
            assert os.path.isdir(os.path.join(a.data_dir, "pods", uid))
            assert not os.path.exists(os.path.join(other.data_dir, "pods", uid))
            devs = gpu_annotation(p)["main"]
            assert gpu_state(a).get(devs[0]) == uid + "/main"
            assert devs[0] not in gpu_state(other)
            want = "hello from %s NV=%s\nsecond line\n" % (a.node_name, devs[0])
            wait_for(lambda: "second line" in pod_log(cluster, ns, n), what="output of " + n)
            out = cluster.kubectl("logs", "-n", ns, n).stdout
            assert out == want, out
            tail = cluster.kubectl("logs", "-n", ns, n, "--tail=1").stdout
            assert tail == "second line\n", tail
        wide = cluster.kubectl("get", "pods", "-n", ns, "-o", "wide").stdout
        for n, a in pods.items():
            row = [l for l in wide.splitlines() if l.startswith(n + " ")][0]
            assert a.node_name in row.split(), row
        delete_all(cluster, ns)
    finally:
        stop_agent(b)
        cluster.delete("/api/v1/nodes/node-2")

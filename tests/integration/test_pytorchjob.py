"""kubeflow.org/v1 PyTorchJobs and PodGroups with the real server (its
in-process controllers and scheduler), two real agents and real kubectl.

Two agents (node-a with 2 declared GPUs, node-b with 4) share this host, so
every pod runs as a process on the host network and its pod IP is its node's
IP. The rendezvous test runs no torch (python3 here has none): the master's
"pytorch" container listens on MASTER_ADDR:MASTER_PORT with a plain TCP
socket and the workers connect to it and send their RANK, which proves the
address the controller hands out is one the processes can reach. Waits poll;
nothing asserts on durations.
"""
import json
import re
import shutil
import time

import pytest

from conftest import Agent, kill_leftover_containers, needs_kubectl

pytestmark = needs_kubectl

NS = "ptj"
PTJ = "/apis/kubeflow.org/v1/namespaces/%s/pytorchjobs" % NS
PODS = "/api/v1/namespaces/%s/pods" % NS
PG = "/apis/scheduling.x-k8s.io/v1alpha1/namespaces/%s/podgroups" % NS
VPG = "/apis/scheduling.volcano.sh/v1beta1/namespaces/%s/podgroups" % NS
GPU = "nvidia.com/gpu"

# The same program in every pytorch container: rank 0 serves, the others
# connect (retrying, as torch.distributed's TCPStore client does).
RDZV = r"""
import os, socket, sys, time
addr = os.environ["MASTER_ADDR"]; port = int(os.environ["MASTER_PORT"])
world = int(os.environ["WORLD_SIZE"]); rank = int(os.environ["RANK"])
print("ENV %s %d %d %d %s" % (addr, port, world, rank, os.environ.get("PYTHONUNBUFFERED")))
if rank == 0:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(16); s.settimeout(90)
    seen = set()
    while len(seen) < world - 1:
        c, _ = s.accept()
        seen.add(int(c.recv(64).decode().split()[0])); c.sendall(b"ok"); c.close()
    print("RANKS %s" % ",".join(str(r) for r in sorted(seen)))
else:
    deadline = time.time() + 90
    while True:
        try:
            c = socket.create_connection((addr, port), timeout=2)
            c.sendall(("%d %d" % (rank, world)).encode())
            if c.recv(8) == b"ok":
                break
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit("no rendezvous at %s:%d" % (addr, port))
        time.sleep(0.1)
    print("CONNECTED")
"""


def wait_for(fn, timeout=60.0, interval=0.1, what=None):
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


def container(command, gpus=0, port=None):
    c = {"name": "pytorch", "image": "pytorch/pytorch", "command": command}
    if gpus:
        c["resources"] = {"limits": {GPU: str(gpus)}}
    if port:
        c["ports"] = [{"name": "pytorchjob-port", "containerPort": port}]
    return c


def replica(n, command, node=None, gpus=0, port=None, restart=None, extra=None):
    spec = {"containers": [container(command, gpus, port)],
            "terminationGracePeriodSeconds": 1}
    if node:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    r = {"replicas": n, "template": {"metadata": {"labels": {"app": "ptj-test"}},
                                     "spec": spec}}
    if restart:
        r["restartPolicy"] = restart
    if extra:
        r.update(extra)
    return r


def ptj(name, master=None, worker=None, run_policy=None):
    specs = {}
    if master:
        specs["Master"] = master
    if worker:
        specs["Worker"] = worker
    m = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
         "metadata": {"name": name, "namespace": NS},
         "spec": {"pytorchReplicaSpecs": specs}}
    if run_policy:
        m["spec"]["runPolicy"] = run_policy
    return m


def get(cluster, path):
    r = cluster.get(path)
    return r.json() if r.code == 200 else None


def job_pods(cluster, name):
    r = cluster.get(PODS + "?labelSelector=training.kubeflow.org%%2Fjob-name%%3D%s" % name)
    assert r.code == 200, r.body
    return {p["metadata"]["name"]: p for p in r.json()["items"]}


def conds(obj):
    return {c["type"]: c for c in obj.get("status", {}).get("conditions", [])}


def table(text):
    lines = [l for l in text.splitlines() if l.strip()]
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    names = lines[0].split()
    rows = []
    for line in lines[1:]:
        cells = [line[s:(starts[i + 1] if i + 1 < len(starts) else None)].strip()
                 for i, s in enumerate(starts)]
        rows.append(dict(zip(names, cells)))
    return rows


def delete_job(cluster, name):
    cluster.kubectl("delete", "pytorchjob", name, "-n", NS, "--ignore-not-found",
                    "--wait=false")
    wait_for(lambda: get(cluster, PTJ + "/" + name) is None, what="job %s gone" % name)
    wait_for(lambda: not job_pods(cluster, name), what="pods of %s gone" % name)


@pytest.fixture(scope="module")
def agents(server):
    started = []
    try:
        for name, gpus in (("node-a", "2:NVIDIA-A100-SXM4-80GB:81920"),
                           ("node-b", "4:NVIDIA-A100-SXM4-80GB:81920")):
            started.append(Agent(server, node_name=name, gpus=gpus).start())
        yield started
    finally:
        for a in started:
            a.stop()
            kill_leftover_containers(a.data_dir)
        for a in started:
            a.assert_clean_log()
            shutil.rmtree(a.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def ns(cluster):
    r = cluster.post("/api/v1/namespaces", {"metadata": {"name": NS}})
    assert r.code in (201, 409), r.body
    return NS


# ---- the rendezvous -----------------------------------------------------------------


def test_pytorchjob_rendezvous_and_success(cluster, agents, ns):
    from conftest import free_port
    name = "rdzv"
    port = free_port()
    cmd = ["python3", "-c", RDZV]
    m = ptj(name, master=replica(1, cmd, node="node-a", gpus=1, port=port),
            worker=replica(3, cmd, node="node-b", gpus=1))
    cluster.kubectl("create", "-f", "-", input=json.dumps(m))
    p = cluster.kubectl("wait", "--for=condition=Succeeded", "pytorchjob/" + name, "-n", NS,
                        "--timeout=90s", check=False, timeout=100)
    job = get(cluster, PTJ + "/" + name)
    pods = job_pods(cluster, name)
    assert p.returncode == 0, (p.stderr, json.dumps(job.get("status"), indent=1),
                               json.dumps({n: q.get("status") for n, q in pods.items()},
                                          indent=1))
    assert p.stdout.strip() == "pytorchjob.kubeflow.org/%s condition met" % name
    # The master may finish first; the workers follow (cleanPodPolicy None).
    pods = wait_for(lambda: (lambda ps: ps if len(ps) == 4 and all(
        q["status"].get("phase") == "Succeeded" for q in ps.values()) else None)(
        job_pods(cluster, name)), what="every pod Succeeded")

    # One pod per replica, named, labelled and owned like the operator's.
    assert sorted(pods) == ["rdzv-master-0", "rdzv-worker-0", "rdzv-worker-1",
                            "rdzv-worker-2"]
    for pname, pod in pods.items():
        md = pod["metadata"]
        lab = md["labels"]
        rtype, ix = pname.split("-")[1], pname.split("-")[2]
        assert lab["training.kubeflow.org/job-name"] == name
        assert lab["training.kubeflow.org/replica-type"] == rtype
        assert lab["training.kubeflow.org/replica-index"] == ix
        assert lab["scheduling.x-k8s.io/pod-group"] == name
        assert lab["app"] == "ptj-test"
        assert (lab.get("training.kubeflow.org/job-role") == "master") == (rtype == "master")
        ref = md["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == \
            ("PyTorchJob", name, job["metadata"]["uid"], True)
        assert pod["status"]["phase"] == "Succeeded"
    # The gang went where the node selectors said, across both agents.
    assert pods["rdzv-master-0"]["spec"]["nodeName"] == "node-a"
    assert {pods["rdzv-worker-%d" % i]["spec"]["nodeName"] for i in range(3)} == {"node-b"}

    # Every process saw the same rendezvous and its own rank; the master
    # heard from ranks 1..3 at that address.
    master_ip = pods["rdzv-master-0"]["status"]["podIP"]
    seen = {}
    for pname in pods:
        out = cluster.kubectl("logs", pname, "-n", NS).stdout
        env = re.search(r"^ENV (\S+) (\d+) (\d+) (\d+) (\S+)$", out, re.M)
        assert env, out
        addr, mport, world, rank, unbuf = env.groups()
        assert (addr, int(mport), int(world), unbuf) == (master_ip, port, 4, "1"), out
        seen[pname] = int(rank)
        if pname == "rdzv-master-0":
            assert "RANKS 1,2,3" in out, out
        else:
            assert "CONNECTED" in out, out
    assert seen == {"rdzv-master-0": 0, "rdzv-worker-0": 1, "rdzv-worker-1": 2,
                    "rdzv-worker-2": 3}

    # Status as the operator writes it.
    st = job["status"]
    c = conds(job)
    assert c["Created"]["reason"] == "PyTorchJobCreated"
    assert (c["Succeeded"]["status"], c["Succeeded"]["reason"]) == ("True",
                                                                    "PyTorchJobSucceeded")
    assert st["conditions"][-1]["type"] == "Succeeded"
    if "Running" in c:
        assert c["Running"]["status"] == "False"
    for cond in st["conditions"]:
        assert cond["lastUpdateTime"] and cond["lastTransitionTime"] and cond["message"]
    assert st["replicaStatuses"]["Master"].get("succeeded") == 1
    assert st["replicaStatuses"]["Worker"].get("succeeded") == 3
    assert st["replicaStatuses"]["Master"]["labelSelector"]["matchLabels"][
        "training.kubeflow.org/replica-type"] == "master"
    assert st["startTime"] and st["completionTime"]

    # The rendezvous objects: a headless Service and the address ConfigMap.
    svc = get(cluster, "/api/v1/namespaces/%s/services/rdzv-master-0" % NS)
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["selector"]["training.kubeflow.org/replica-type"] == "master"
    assert svc["spec"]["ports"][0]["port"] == port
    cm = get(cluster, "/api/v1/namespaces/%s/configmaps/rdzv-rendezvous" % NS)
    assert cm["data"]["MASTER_ADDR"] == master_ip
    assert cm["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]

    # The gang: one PodGroup, minMember 4, finished with 4 successes.
    pg = wait_for(lambda: (lambda g: g if g and g.get("status", {}).get("phase") == "Finished"
                           else None)(get(cluster, PG + "/" + name)), what="podgroup Finished")
    assert pg["spec"]["minMember"] == 4
    assert pg["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]
    assert (pg["status"]["succeeded"], pg["status"]["running"], pg["status"]["failed"],
            pg["status"]["scheduled"]) == (4, 0, 0, 4)
    assert pg["status"]["occupiedBy"] == "%s/%s" % (NS, name)
    assert pg["status"]["scheduleStartTime"]

    # kubectl shows the CRD's columns.
    rows = table(cluster.kubectl("get", "pytorchjobs", "-n", NS).stdout)
    row = [r for r in rows if r["NAME"] == name]
    assert list(row[0]) == ["NAME", "STATE", "AGE"]
    assert row[0]["STATE"] == "Succeeded"
    rows = table(cluster.kubectl("get", "podgroups", "-n", NS).stdout)
    row = [r for r in rows if r["NAME"] == name][0]
    assert (row["PHASE"], row["MINMEMBER"], row["SUCCEEDED"]) == ("Finished", "4", "4")

    # Deleting the job takes everything it made with it.
    delete_job(cluster, name)
    assert get(cluster, PG + "/" + name) is None
    assert get(cluster, "/api/v1/namespaces/%s/configmaps/rdzv-rendezvous" % NS) is None


# ---- failures, cleanup, deadline, TTL -----------------------------------------------------


def test_failed_worker_fails_job_and_cleans_up(cluster, agents, ns):
    name = "bad-worker"
    m = ptj(name, master=replica(1, ["sleep", "60"]),
            worker=replica(2, ["sh", "-c", "exit 3"], restart="Never"),
            run_policy={"cleanPodPolicy": "All"})
    r = cluster.post(PTJ, m)
    assert r.code == 201, r.body
    p = cluster.kubectl("wait", "--for=condition=Failed", "pytorchjob/" + name, "-n", NS,
                        "--timeout=60s", check=False, timeout=70)
    job = get(cluster, PTJ + "/" + name)
    assert p.returncode == 0, (p.stderr, job.get("status"))
    f = conds(job)["Failed"]
    assert f["reason"] == "PyTorchJobFailed"
    assert re.match(r"PyTorchJob bad-worker is failed because [12] Worker replica\(s\) failed\.$",
                    f["message"]), f
    assert job["status"]["conditions"][-1]["type"] == "Failed"
    assert job["status"]["completionTime"]
    # cleanPodPolicy All: the sleeping master goes too, and its Service.
    wait_for(lambda: not job_pods(cluster, name), what="pods of %s deleted" % name)
    wait_for(lambda: get(cluster, "/api/v1/namespaces/%s/services/%s-master-0"
                         % (NS, name)) is None, what="master service deleted")
    rows = table(cluster.kubectl("get", "pytorchjob", name, "-n", NS).stdout)
    assert rows[0]["STATE"] == "Failed"
    ev = cluster.get("/api/v1/namespaces/%s/events?fieldSelector=involvedObject.name%%3D%s"
                     % (NS, name)).json()["items"]
    assert {"SuccessfulCreatePod", "PyTorchJobFailed"} <= {e["reason"] for e in ev}
    delete_job(cluster, name)


def test_active_deadline_and_ttl(cluster, agents, ns):
    name = "deadline"
    m = ptj(name, master=replica(1, ["sleep", "300"]), worker=replica(1, ["sleep", "300"]),
            run_policy={"activeDeadlineSeconds": 2, "ttlSecondsAfterFinished": 2})
    r = cluster.post(PTJ, m)
    assert r.code == 201, r.body
    uid = r.json()["metadata"]["uid"]
    failed = wait_for(lambda: (lambda j: j if j and "Failed" in conds(j) else None)(
        get(cluster, PTJ + "/" + name)), what="deadline failure")
    assert conds(failed)["Failed"]["message"] == \
        "PyTorchJob deadline has failed because it was active longer than specified deadline"
    # A deadline stops the pods (cleanPodPolicy defaults to None), then the
    # TTL deletes the job and, through ownership, the rest.
    wait_for(lambda: get(cluster, PTJ + "/" + name) is None, what="job deleted by its TTL")
    wait_for(lambda: not job_pods(cluster, name), what="pods gone")
    r = cluster.get(PG + "/" + name)
    assert r.code == 404 or r.json()["metadata"]["ownerReferences"][0]["uid"] != uid, \
        (r.body, failed["status"], time.strftime("%H:%M:%S", time.gmtime()))


def test_exit_code_restart_policy_recreates_retryable_failures(cluster, agents, ns):
    name = "exitcode"
    # The worker fails with 137 (retryable) once, then succeeds: a marker file
    # in /tmp tells the second attempt apart.
    marker = "/tmp/wharf-ptj-exitcode-%d" % time.time_ns()
    worker = replica(1, ["sh", "-c", "if [ -e %s ]; then exit 0; fi; touch %s; exit 137"
                         % (marker, marker)], restart="ExitCode")
    m = ptj(name, worker=worker)
    assert cluster.post(PTJ, m).code == 201
    p = cluster.kubectl("wait", "--for=condition=Succeeded", "pytorchjob/" + name, "-n", NS,
                        "--timeout=60s", check=False, timeout=70)
    job = get(cluster, PTJ + "/" + name)
    assert p.returncode == 0, (p.stderr, job.get("status"))
    ev = cluster.get("/api/v1/namespaces/%s/events?fieldSelector=involvedObject.name%%3D%s"
                     % (NS, name)).json()["items"]
    reasons = [e["reason"] for e in ev]
    assert "PyTorchJobRestarting" in reasons and "SuccessfulDeletePod" in reasons
    # Without a Master, worker 0 is rank 0 and succeeds the job.
    assert job["status"]["replicaStatuses"]["Worker"].get("succeeded") == 1
    delete_job(cluster, name)


# ---- bad input ----------------------------------------------------------------------------


def test_bad_input_is_rejected_and_nothing_stored(cluster, ns):
    # No container named "pytorch": the operator could not find the trainer.
    m = ptj("nopytorch", master=replica(1, ["true"]))
    m["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["name"] = \
        "trainer"
    r = cluster.post(PTJ, m)
    assert r.code == 422, r.body
    causes = r.json()["details"]["causes"]
    assert any("pytorch" in c["message"] for c in causes), causes
    assert cluster.get(PTJ + "/nopytorch").code == 404
    p = cluster.kubectl("create", "-f", "-", input=json.dumps(m), check=False)
    assert p.returncode != 0 and "pytorch" in p.stderr
    # Two masters, and an unknown replica type.
    m = ptj("twomasters", master=replica(2, ["true"]))
    assert cluster.post(PTJ, m).code == 422
    m = ptj("chief", master=replica(1, ["true"]))
    m["spec"]["pytorchReplicaSpecs"]["Chief"] = m["spec"]["pytorchReplicaSpecs"].pop("Master")
    assert cluster.post(PTJ, m).code == 422
    assert not job_pods(cluster, "twomasters") and not job_pods(cluster, "chief")
    # A gang of nobody, of either kind.
    for path, av in ((PG, "scheduling.x-k8s.io/v1alpha1"),
                     (VPG, "scheduling.volcano.sh/v1beta1")):
        r = cluster.post(path, {"apiVersion": av, "kind": "PodGroup",
                                "metadata": {"name": "empty"}, "spec": {"minMember": 0}})
        assert r.code == 422, r.body
        assert r.json()["details"]["causes"][0]["field"] == "spec.minMember"
        assert cluster.get(path + "/empty").code == 404


# ---- PodGroups ----------------------------------------------------------------------------


def pod(name, command, group=None, volcano_group=None, gpus=0):
    m = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": NS, "labels": {}, "annotations": {}},
         "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                  "containers": [{"name": "main", "image": "busybox", "command": command}]}}
    if group:
        m["metadata"]["labels"]["scheduling.x-k8s.io/pod-group"] = group
    if volcano_group:
        m["metadata"]["annotations"]["scheduling.k8s.io/group-name"] = volcano_group
    if gpus:
        m["spec"]["containers"][0]["resources"] = {"limits": {GPU: str(gpus)}}
    return m


def test_volcano_podgroup_status(cluster, agents, ns):
    r = cluster.post(VPG, {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
                           "metadata": {"name": "vc"}, "spec": {"minMember": 2}})
    assert r.code == 201, r.body
    assert r.json()["status"]["phase"] == "Pending"
    assert cluster.post(PODS, pod("vc-0", ["true"], volcano_group="vc")).code == 201
    # One pod of two: the gang waits, the group stays Pending.
    wait_for(lambda: get(cluster, VPG + "/vc")["status"].get("running") == 0,
             what="first count")
    assert get(cluster, VPG + "/vc")["status"]["phase"] == "Pending"
    assert not get(cluster, PODS + "/vc-0")["spec"].get("nodeName")
    assert cluster.post(PODS, pod("vc-1", ["true"], volcano_group="vc")).code == 201
    st = wait_for(lambda: (lambda s: s if s.get("phase") == "Completed" else None)(
        get(cluster, VPG + "/vc")["status"]), what="volcano group Completed")
    assert (st["succeeded"], st["running"], st["failed"]) == (2, 0, 0)
    for n in ("vc-0", "vc-1"):
        cluster.delete(PODS + "/" + n)
    cluster.delete(VPG + "/vc")


def test_gang_that_cannot_fit_stays_pending_and_holds_nothing(cluster, agents, ns):
    # Three pods of 3 GPUs each, all or nothing: no node has 3 free GPUs
    # for more than one of them (node-b has 4, node-a 2).
    r = cluster.post(PG, {"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
                          "metadata": {"name": "toobig"},
                          "spec": {"minMember": 3, "scheduleTimeoutSeconds": 2}})
    assert r.code == 201, r.body
    for i in range(3):
        assert cluster.post(PODS, pod("toobig-%d" % i, ["sleep", "60"], group="toobig",
                                      gpus=3)).code == 201
    pg = wait_for(lambda: (lambda g: g if "Unschedulable" in conds(g) and
                           conds(g)["Unschedulable"]["status"] == "True" else None)(
        get(cluster, PG + "/toobig")), what="the scheduler's Unschedulable condition")
    assert pg["status"]["conditions"][0]["message"]
    assert pg["status"]["phase"] == "PreScheduling"
    assert pg["status"]["scheduled"] == 0 and pg["status"]["running"] == 0
    for i in range(3):
        p = get(cluster, PODS + "/toobig-%d" % i)
        assert not p["spec"].get("nodeName"), p
        assert p["status"].get("phase", "Pending") == "Pending"
    ev = cluster.get("/api/v1/namespaces/%s/events?fieldSelector=involvedObject.name%%3Dtoobig"
                     % NS).json()["items"]
    assert any(e["reason"] == "Unschedulable" and e["type"] == "Warning" for e in ev), ev
    # Nothing is held: a 4-GPU pod still fits on node-b.
    assert cluster.post(PODS, pod("fits", ["true"], gpus=4)).code == 201
    done = wait_for(lambda: (lambda p: p if p["status"].get("phase") == "Succeeded" else None)(
        get(cluster, PODS + "/fits")), what="the 4-GPU pod to run")
    assert done["spec"]["nodeName"] == "node-b"
    for n in ("toobig-0", "toobig-1", "toobig-2", "fits"):
        cluster.delete(PODS + "/" + n)
    cluster.delete(PG + "/toobig")

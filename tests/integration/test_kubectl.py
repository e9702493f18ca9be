"""Real kubectl against `wharf server`.

Every main flow runs twice: with /usr/bin/kubectl (the dispatcher, which runs
the kubectl matching the server's reported version, 1.31) and with kubectl 1.27. Each test checks
what kubectl printed AND what the server holds afterwards, read back over
HTTP. Object names carry a per-binary tag so both runs share one server.
"""
import json
import queue
import shutil
import tempfile
import threading
import time

import pytest
import yaml

from conftest import KUBECTL, OLD_KUBECTL, needs_kubectl, needs_old_kubectl, pod_manifest

# The API alone: a background controller write would move the store revision
# that the "nothing was written" checks compare.
WHARF_SERVER_ARGS = ("--controllers=false",)

BINARIES = [
    pytest.param((KUBECTL, "n"), id="kubectl-dispatcher", marks=needs_kubectl),
    pytest.param((OLD_KUBECTL, "o"), id="kubectl-1.27", marks=needs_old_kubectl),
]


class Kubectl:
    """One kubectl binary bound to a cluster, with its own discovery cache."""

    def __init__(self, cluster, binary, tag):
        self.cluster = cluster
        self.binary = binary
        self.tag = tag
        self.cache_dir = tempfile.mkdtemp(prefix="wharf-kcache-%s-" % tag)

    def __call__(self, *args, **kw):
        return self.cluster.kubectl(*args, binary=self.binary, cache_dir=self.cache_dir, **kw)

    def popen(self, *args):
        return self.cluster.kubectl_popen(*args, binary=self.binary, cache_dir=self.cache_dir)

    def name(self, base):
        """A name unique to this binary's run."""
        return "%s-%s" % (base, self.tag)


@pytest.fixture(scope="module", params=BINARIES)
def kc(request, cluster):
    binary, tag = request.param
    k = Kubectl(cluster, binary, tag)
    yield k
    shutil.rmtree(k.cache_dir, ignore_errors=True)


# ---- helpers ----------------------------------------------------------------


def parse_table(text):
    """Rows of kubectl's column output as dicts keyed by header. Cells are
    cut at the header's column starts, so empty cells are kept."""
    lines = [l for l in text.splitlines() if l.strip()]
    assert lines, "no output"
    header = lines[0]
    starts, names = [], []
    i = 0
    while i < len(header):
        if header[i] != " " and (i == 0 or header[i - 1] == " "):
            j = header.find("  ", i)
            # a single space inside a header ("NOMINATED NODE") belongs to it
            j = len(header) if j < 0 else j
            starts.append(i)
            names.append(header[i:j].strip())
            i = j
        else:
            i += 1
    rows = []
    for line in lines[1:]:
        cells = {}
        for n, s in enumerate(starts):
            e = starts[n + 1] if n + 1 < len(starts) else None
            cells[names[n]] = line[s:e].strip() if e else line[s:].strip()
        rows.append(cells)
    return rows


def table_by(text, col="NAME"):
    return {r[col]: r for r in parse_table(text)}


def obj(cluster, path):
    r = cluster.get(path)
    assert r.code == 200, "GET %s -> %d %s" % (path, r.code, r.body)
    return r.json()


def gone(cluster, path):
    r = cluster.get(path)
    return r.code == 404


def store_revision(cluster):
    """The store's current revision, as a list answer reports it."""
    return int(obj(cluster, "/api/v1/namespaces?limit=1")["metadata"]["resourceVersion"])


def write_yaml(tmp_path, name, *docs):
    p = tmp_path / name
    # JSON documents (valid YAML) keep strings like "y" from turning into bools
    p.write_text("".join("---\n" + json.dumps(d, indent=1) + "\n" for d in docs))
    return str(p)


def create_ns(cluster, name):
    r = cluster.post("/api/v1/namespaces", {"metadata": {"name": name}})
    assert r.code == 201, r.body


def create_pod(cluster, name, ns="default", **kw):
    r = cluster.post("/api/v1/namespaces/%s/pods" % ns, pod_manifest(name, **kw))
    assert r.code == 201, r.body
    return r.json()


def names_of(stdout):
    return [l for l in stdout.split() if l]


class LineReader:
    """Collects a process's stdout lines on a thread."""

    def __init__(self, proc):
        self.proc = proc
        self.lines = []
        self.q = queue.Queue()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        for line in self.proc.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def wait_for(self, pred, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            for l in self.lines:
                if pred(l):
                    return l
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                l = self.q.get(timeout=left)
            except queue.Empty:
                return None
            if l is None:
                return None
            self.lines.append(l)


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


# ---- discovery and version ---------------------------------------------------


def test_api_resources(kc):
    rows = table_by(kc("api-resources").stdout)
    assert rows["pods"]["SHORTNAMES"] == "po"
    assert rows["pods"]["APIVERSION"] == "v1"
    assert rows["pods"]["NAMESPACED"] == "true"
    assert rows["pods"]["KIND"] == "Pod"
    assert rows["nodes"]["SHORTNAMES"] == "no"
    assert rows["nodes"]["APIVERSION"] == "v1"
    assert rows["nodes"]["NAMESPACED"] == "false"
    assert rows["nodes"]["KIND"] == "Node"
    assert rows["jobs"]["APIVERSION"] == "batch/v1"
    assert rows["jobs"]["NAMESPACED"] == "true"
    assert rows["jobs"]["KIND"] == "Job"
    assert rows["namespaces"]["SHORTNAMES"] == "ns"
    assert rows["leases"]["APIVERSION"] == "coordination.k8s.io/v1"
    assert not any("/" in n for n in rows), "subresources must not be listed"
    cluster_scoped = names_of(kc("api-resources", "--namespaced=false", "-o", "name").stdout)
    assert "nodes" in cluster_scoped and "namespaces" in cluster_scoped
    assert "pods" not in cluster_scoped
    assert names_of(kc("api-resources", "--api-group=batch", "-o", "name").stdout) == ["jobs.batch"]


def test_api_versions(kc, cluster):
    got = set(names_of(kc("api-versions").stdout))
    want = {"v1"} | {v["groupVersion"] for g in obj(cluster, "/apis")["groups"]
                     for v in g["versions"]}
    assert got == want
    assert {"v1", "batch/v1", "coordination.k8s.io/v1"} <= got
    assert not any(v.startswith("kueue.x-k8s.io") for v in got)


def test_version(kc, cluster):
    server = obj(cluster, "/version")
    out = kc("version").stdout
    assert server["gitVersion"] in out
    v = json.loads(kc("version", "-o", "json").stdout)
    assert v["serverVersion"]["gitVersion"] == server["gitVersion"]
    assert v["serverVersion"]["minor"] == server["minor"]


# ---- create ------------------------------------------------------------------


def test_create_pod_and_conflict(kc, cluster, tmp_path):
    name = kc.name("cr-pod")
    f = write_yaml(tmp_path, "pod.yaml", pod_manifest(name, labels={"app": "cr"}, image="img:1"))
    p = kc("create", "-f", f)
    assert p.stdout.strip() == "pod/%s created" % name
    got = obj(cluster, "/api/v1/namespaces/default/pods/" + name)
    assert got["metadata"]["labels"] == {"app": "cr"}
    assert got["spec"]["containers"][0]["image"] == "img:1"
    assert got["metadata"]["uid"]
    rv = got["metadata"]["resourceVersion"]
    p = kc("create", "-f", f, check=False)
    assert p.returncode != 0
    assert "AlreadyExists" in p.stderr and 'pods "%s" already exists' % name in p.stderr
    assert obj(cluster, "/api/v1/namespaces/default/pods/" + name)["metadata"]["resourceVersion"] == rv


def test_create_multi_document(kc, cluster, tmp_path):
    ns, cm, sec, svc, job, lease, node = (kc.name(x) for x in
                                          ("mdns", "mdcm", "mdsec", "mdsvc", "mdjob", "mdlease",
                                           "mdnode"))
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm, "namespace": ns},
         "data": {"a": "1", "b.txt": "hello\nworld\n"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": sec, "namespace": ns},
         "type": "Opaque", "data": {"pw": "czNjcjN0"}, "stringData": {"user": "admin"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": svc, "namespace": ns},
         "spec": {"selector": {"app": "md"}, "ports": [{"port": 80, "targetPort": 8080}]}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": job, "namespace": ns},
         "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
             {"name": "main", "image": "busybox", "command": ["true"]}]}}}},
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
         "metadata": {"name": lease, "namespace": ns},
         "spec": {"holderIdentity": "me", "leaseDurationSeconds": 40}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": {"md": "yes"}}},
    ]
    p = kc("create", "-f", write_yaml(tmp_path, "multi.yaml", *docs))
    assert p.stdout.splitlines() == [
        "namespace/%s created" % ns,
        "configmap/%s created" % cm,
        "secret/%s created" % sec,
        "service/%s created" % svc,
        "job.batch/%s created" % job,
        "lease.coordination.k8s.io/%s created" % lease,
        "node/%s created" % node,
    ]
    assert obj(cluster, "/api/v1/namespaces/" + ns)["metadata"]["name"] == ns
    assert obj(cluster, "/api/v1/namespaces/%s/configmaps/%s" % (ns, cm))["data"] == \
        {"a": "1", "b.txt": "hello\nworld\n"}
    s = obj(cluster, "/api/v1/namespaces/%s/secrets/%s" % (ns, sec))
    assert s["data"] == {"pw": "czNjcjN0", "user": "YWRtaW4="}
    assert "stringData" not in s
    sv = obj(cluster, "/api/v1/namespaces/%s/services/%s" % (ns, svc))
    assert sv["spec"]["ports"][0]["port"] == 80
    assert sv["spec"]["clusterIP"]
    j = obj(cluster, "/apis/batch/v1/namespaces/%s/jobs/%s" % (ns, job))
    assert j["spec"]["template"]["spec"]["containers"][0]["command"] == ["true"]
    assert j["spec"]["parallelism"] == 1
    le = obj(cluster, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s" % (ns, lease))
    assert le["spec"]["holderIdentity"] == "me"
    assert obj(cluster, "/api/v1/nodes/" + node)["metadata"]["labels"] == {"md": "yes"}
    # and kubectl reads them all back
    out = kc("get", "configmap,secret,service,job,lease", "-n", ns, "-o", "name").stdout
    assert set(names_of(out)) == {"configmap/" + cm, "secret/" + sec, "service/" + svc,
                                  "job.batch/" + job, "lease.coordination.k8s.io/" + lease}


def test_create_invalid_rejected(kc, cluster, tmp_path):
    name = kc.name("Bad_Pod")
    f = write_yaml(tmp_path, "bad.yaml", {"apiVersion": "v1", "kind": "Pod",
                                          "metadata": {"name": name},
                                          "spec": {"containers": []}})
    before = store_revision(cluster)
    p = kc("create", "-f", f, check=False)
    assert p.returncode != 0
    assert 'The Pod "%s" is invalid' % name in p.stderr
    assert "metadata.name: Invalid value" in p.stderr
    assert "spec.containers: Required value" in p.stderr
    assert gone(cluster, "/api/v1/namespaces/default/pods/" + name)
    assert store_revision(cluster) == before


def test_create_unknown_field_strict(kc, cluster, tmp_path):
    """kubectl sends fieldValidation=Strict: an unknown field is a 400 and
    nothing is stored."""
    name = kc.name("unknown-field")
    m = pod_manifest(name)
    m["spec"]["containers"][0]["bogusField"] = 1
    f = write_yaml(tmp_path, "unk.yaml", m)
    before = store_revision(cluster)
    p = kc("create", "-f", f, check=False)
    assert p.returncode != 0, p.stdout
    assert 'unknown field "spec.containers[0].bogusField"' in p.stderr
    assert "BadRequest" in p.stderr
    assert gone(cluster, "/api/v1/namespaces/default/pods/" + name)
    assert store_revision(cluster) == before


def test_create_unknown_field_warn(kc, cluster, tmp_path):
    """--validate=warn sends fieldValidation=Warn: created, and kubectl
    prints the server's warning."""
    name = kc.name("unknown-warn")
    path = "/api/v1/namespaces/default/pods/" + name
    m = pod_manifest(name)
    m["spec"]["containers"][0]["bogusField"] = 1
    f = write_yaml(tmp_path, "unkw.yaml", m)
    p = kc("create", "-f", f, "--validate=warn")
    assert p.stdout.strip() == "pod/%s created" % name
    assert 'Warning: unknown field "spec.containers[0].bogusField"' in p.stderr
    assert obj(cluster, path)["metadata"]["name"] == name
    cluster.delete(path)


def test_create_unknown_field_ignore(kc, cluster, tmp_path):
    """--validate=false sends fieldValidation=Ignore: created, no warning."""
    name = kc.name("unknown-ignore")
    path = "/api/v1/namespaces/default/pods/" + name
    m = pod_manifest(name)
    m["spec"]["containers"][0]["bogusField"] = 1
    f = write_yaml(tmp_path, "unki.yaml", m)
    p = kc("create", "-f", f, "--validate=false")
    assert p.stdout.strip() == "pod/%s created" % name
    assert "unknown field" not in p.stderr
    assert obj(cluster, path)["metadata"]["name"] == name
    cluster.delete(path)


def test_apply_unknown_field_strict(kc, cluster, tmp_path):
    """Client-side apply of a changed manifest with an unknown field: the
    strategic merge patch is refused (422 on "patch", as Kubernetes
    answers) and the object keeps its stored content; server-side apply
    is refused with 400."""
    name = kc.name("apply-unknown")
    path = "/api/v1/namespaces/default/pods/" + name
    m = pod_manifest(name, labels={"app": "x"})
    f = write_yaml(tmp_path, "apu.yaml", m)
    kc("apply", "-f", f)
    rv = obj(cluster, path)["metadata"]["resourceVersion"]
    m["metadata"]["labels"]["tier"] = "y"
    m["spec"]["containers"][0]["bogusField"] = 1
    f = write_yaml(tmp_path, "apu.yaml", m)
    p = kc("apply", "-f", f, check=False)
    assert p.returncode != 0, p.stdout
    assert 'strict decoding error: unknown field "spec.containers[0].bogusField"' in p.stderr
    got = obj(cluster, path)
    assert got["metadata"]["resourceVersion"] == rv
    assert "tier" not in got["metadata"]["labels"]
    p = kc("apply", "--server-side", "-f", f, check=False)
    assert p.returncode != 0, p.stdout
    assert 'unknown field "spec.containers[0].bogusField"' in p.stderr
    assert obj(cluster, path)["metadata"]["resourceVersion"] == rv
    cluster.delete(path)


# ---- apply -------------------------------------------------------------------


def test_apply_client_side(kc, cluster, tmp_path):
    name = kc.name("ap")
    path = "/api/v1/namespaces/default/pods/" + name
    m = pod_manifest(name, labels={"app": "ap", "tier": "x", "gone": "soon"}, image="img:1")
    m["spec"]["containers"].append({"name": "side", "image": "side:1"})
    f = write_yaml(tmp_path, "ap.yaml", m)
    assert kc("apply", "-f", f).stdout.strip() == "pod/%s created" % name
    got = obj(cluster, path)
    last = json.loads(got["metadata"]["annotations"]
                      ["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["metadata"]["labels"] == m["metadata"]["labels"]

    m["metadata"]["labels"]["tier"] = "y"
    del m["metadata"]["labels"]["gone"]
    m["spec"]["containers"][0]["image"] = "img:2"
    f = write_yaml(tmp_path, "ap.yaml", m)
    assert kc("apply", "-f", f).stdout.strip() == "pod/%s configured" % name
    got2 = obj(cluster, path)
    assert got2["metadata"]["labels"] == {"app": "ap", "tier": "y"}
    assert [(c["name"], c["image"]) for c in got2["spec"]["containers"]] == \
        [("main", "img:2"), ("side", "side:1")]
    assert got2["metadata"]["uid"] == got["metadata"]["uid"]
    assert got2["metadata"]["resourceVersion"] != got["metadata"]["resourceVersion"]

    rv = got2["metadata"]["resourceVersion"]
    assert kc("apply", "-f", f).stdout.strip() == "pod/%s unchanged" % name
    assert obj(cluster, path)["metadata"]["resourceVersion"] == rv


def test_apply_multi_document_idempotent(kc, cluster, tmp_path):
    """Every kind survives apply -> apply (unchanged, no new resourceVersion)
    -> change -> configured."""
    ns = kc.name("apns")
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": ns},
         "data": {"a": "1"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec", "namespace": ns},
         "stringData": {"user": "admin"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": ns},
         "spec": {"selector": {"app": "x"}, "ports": [{"name": "http", "port": 80},
                                                      {"name": "https", "port": 443}]}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "job", "namespace": ns},
         "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
             {"name": "main", "image": "busybox"}]}}}},
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
         "metadata": {"name": "lease", "namespace": ns}, "spec": {"holderIdentity": "a"}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": kc.name("apnode")},
         "spec": {"unschedulable": True}},
        pod_manifest("pod", ns=ns),
    ]
    paths = ["/api/v1/namespaces/" + ns,
             "/api/v1/namespaces/%s/configmaps/cm" % ns,
             "/api/v1/namespaces/%s/secrets/sec" % ns,
             "/api/v1/namespaces/%s/services/svc" % ns,
             "/apis/batch/v1/namespaces/%s/jobs/job" % ns,
             "/apis/coordination.k8s.io/v1/namespaces/%s/leases/lease" % ns,
             "/api/v1/nodes/" + kc.name("apnode"),
             "/api/v1/namespaces/%s/pods/pod" % ns]
    f = write_yaml(tmp_path, "all.yaml", *docs)
    out = kc("apply", "-f", f).stdout.splitlines()
    assert len(out) == len(docs) and all(l.endswith(" created") for l in out), out
    rvs = [obj(cluster, p)["metadata"]["resourceVersion"] for p in paths]
    out = kc("apply", "-f", f).stdout.splitlines()
    # stringData is never in the live object, so kubectl always patches a
    # Secret that uses it (as with Kubernetes); the patch changes nothing.
    assert out[2] == "secret/sec configured"
    assert len(out) == len(docs) and all(l.endswith(" unchanged") for l in out if l != out[2]), out
    assert [obj(cluster, p)["metadata"]["resourceVersion"] for p in paths] == rvs

    docs[1]["data"]["a"] = "2"
    docs[3]["spec"]["ports"] = docs[3]["spec"]["ports"][:1]
    docs[5]["spec"]["holderIdentity"] = "b"
    docs[6]["spec"]["unschedulable"] = False
    f = write_yaml(tmp_path, "all.yaml", *docs)
    out = kc("apply", "-f", f).stdout.splitlines()
    changed = {l.split()[0] for l in out if l.endswith(" configured")}
    assert changed == {"configmap/cm", "secret/sec", "service/svc",
                       "lease.coordination.k8s.io/lease",
                       "node/" + kc.name("apnode")}, out
    assert obj(cluster, paths[1])["data"] == {"a": "2"}
    assert [p["name"] for p in obj(cluster, paths[3])["spec"]["ports"]] == ["http"]
    assert obj(cluster, paths[5])["spec"]["holderIdentity"] == "b"
    assert not obj(cluster, paths[6])["spec"].get("unschedulable", False)


def test_apply_server_side(kc, cluster, tmp_path):
    name = kc.name("ssa")
    path = "/apis/batch/v1/namespaces/default/jobs/" + name
    m = {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": {"name": name, "labels": {"app": "ssa"}},
         "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
             {"name": "main", "image": "busybox", "command": ["true"]}]}}}}
    f = write_yaml(tmp_path, "ssa.yaml", m)
    p = kc("apply", "--server-side", "-f", f)
    assert p.stdout.strip() == "job.batch/%s serverside-applied" % name
    got = obj(cluster, path)
    assert got["metadata"]["labels"] == {"app": "ssa"}
    assert "kubectl.kubernetes.io/last-applied-configuration" not in \
        got["metadata"].get("annotations", {})

    m["metadata"]["labels"]["stage"] = "two"
    m["spec"]["parallelism"] = 3
    f = write_yaml(tmp_path, "ssa.yaml", m)
    p = kc("apply", "--server-side", "-f", f)
    assert p.stdout.strip() == "job.batch/%s serverside-applied" % name
    got2 = obj(cluster, path)
    assert got2["metadata"]["labels"] == {"app": "ssa", "stage": "two"}
    assert got2["spec"]["parallelism"] == 3
    assert got2["metadata"]["uid"] == got["metadata"]["uid"]

    rv = got2["metadata"]["resourceVersion"]
    p = kc("apply", "--server-side", "-f", f)
    assert p.stdout.strip() == "job.batch/%s serverside-applied" % name
    assert obj(cluster, path)["metadata"]["resourceVersion"] == rv


def test_apply_server_side_drops_removed_fields(kc, cluster, tmp_path):
    """Fields the same manager applied before and now leaves out are removed."""
    name = kc.name("ssa-rm")
    path = "/api/v1/namespaces/default/configmaps/" + name
    m = {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": name, "labels": {"keep": "1", "drop": "1"}},
         "data": {"keep": "1", "drop": "1"}}
    kc("apply", "--server-side", "-f", write_yaml(tmp_path, "c.yaml", m))
    del m["metadata"]["labels"]["drop"]
    del m["data"]["drop"]
    kc("apply", "--server-side", "-f", write_yaml(tmp_path, "c.yaml", m))
    got = obj(cluster, path)
    assert got["data"] == {"keep": "1"}
    assert got["metadata"]["labels"] == {"keep": "1"}


# ---- get -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def get_ns(kc, cluster):
    """A namespace with three pods: g1 (app=web, tier=fe, bound and Running
    with an IP), g2 (app=web, tier=be), g3 (app=db); and a pod o1 in a
    second namespace."""
    ns, ns2 = kc.name("get"), kc.name("get2")
    create_ns(cluster, ns)
    create_ns(cluster, ns2)
    create_pod(cluster, "g1", ns, labels={"app": "web", "tier": "fe"}, image="img-c",
               extra_spec={"nodeName": "node-g"})
    create_pod(cluster, "g2", ns, labels={"app": "web", "tier": "be"}, image="img-b")
    create_pod(cluster, "g3", ns, labels={"app": "db"}, image="img-a")
    create_pod(cluster, "o1", ns2, labels={"app": "other"})
    p = obj(cluster, "/api/v1/namespaces/%s/pods/g1" % ns)
    p["status"] = {"phase": "Running", "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}],
                   "hostIP": "192.0.2.7"}
    r = cluster.put("/api/v1/namespaces/%s/pods/g1/status" % ns, p)
    assert r.code == 200, r.body
    return ns, ns2


def test_get_wide(kc, cluster, get_ns):
    ns, _ = get_ns
    out = kc("get", "pods", "-n", ns, "-o", "wide").stdout
    rows = table_by(out)
    assert set(rows) == {"g1", "g2", "g3"}
    assert "IP" in rows["g1"] and "NODE" in rows["g1"]
    assert rows["g1"]["IP"] == "10.1.0.5"
    assert rows["g1"]["NODE"] == "node-g"
    assert rows["g1"]["STATUS"] == "Running"
    assert rows["g2"]["NODE"] == "<none>"
    assert rows["g2"]["STATUS"] == "Pending"
    # without -o wide the priority columns are hidden
    plain = parse_table(kc("get", "pods", "-n", ns).stdout)
    assert "IP" not in plain[0] and "NAME" in plain[0]


def test_get_json_yaml_name(kc, cluster, get_ns):
    ns, _ = get_ns
    server = obj(cluster, "/api/v1/namespaces/%s/pods" % ns)
    lst = json.loads(kc("get", "pods", "-n", ns, "-o", "json").stdout)
    assert lst["kind"] == "List"
    assert sorted(i["metadata"]["name"] for i in lst["items"]) == ["g1", "g2", "g3"]
    by_uid = {i["metadata"]["uid"]: i for i in server["items"]}
    for i in lst["items"]:
        assert i == by_uid[i["metadata"]["uid"]]
    one = yaml.safe_load(kc("get", "pod", "g1", "-n", ns, "-o", "yaml").stdout)
    assert one == obj(cluster, "/api/v1/namespaces/%s/pods/g1" % ns)
    assert one["status"]["podIP"] == "10.1.0.5"
    assert kc("get", "pods", "-n", ns, "-o", "name").stdout.split() == \
        ["pod/g1", "pod/g2", "pod/g3"]
    p = kc("get", "pod", "nosuch", "-n", ns, check=False)
    assert p.returncode != 0
    assert 'pods "nosuch" not found' in p.stderr


@pytest.mark.parametrize("selector,want", [
    ("app=web", ["g1", "g2"]),
    ("app==web,tier=fe", ["g1"]),
    ("app!=web", ["g3"]),
    ("app in (web,db),tier!=fe", ["g2", "g3"]),
    ("tier notin (fe)", ["g2", "g3"]),
    ("tier", ["g1", "g2"]),
    ("!tier", ["g3"]),
    ("app in (nothing)", []),
])
def test_get_label_selector(kc, get_ns, selector, want):
    ns, _ = get_ns
    p = kc("get", "pods", "-n", ns, "-l", selector, "-o", "name")
    assert sorted(p.stdout.split()) == ["pod/" + n for n in want]
    if not want:
        t = kc("get", "pods", "-n", ns, "-l", selector)
        assert "No resources found in %s namespace." % ns in t.stdout + t.stderr


@pytest.mark.parametrize("selector,want", [
    ("metadata.name=g2", ["g2"]),
    ("metadata.name!=g2", ["g1", "g3"]),
    ("status.phase=Running", ["g1"]),
    ("status.phase!=Running", ["g2", "g3"]),
    ("status.phase=Pending,metadata.name=g3", ["g3"]),
])
def test_get_field_selector(kc, get_ns, selector, want):
    ns, _ = get_ns
    p = kc("get", "pods", "-n", ns, "--field-selector", selector, "-o", "name")
    assert sorted(p.stdout.split()) == ["pod/" + n for n in want]


def test_get_all_namespaces(kc, get_ns):
    ns, ns2 = get_ns
    rows = parse_table(kc("get", "pods", "-A").stdout)
    assert "NAMESPACE" in rows[0]
    pairs = {(r["NAMESPACE"], r["NAME"]) for r in rows}
    assert {(ns, "g1"), (ns, "g2"), (ns, "g3"), (ns2, "o1")} <= pairs
    rows = parse_table(kc("get", "pods", "-A", "-l", "app=other").stdout)
    assert [(r["NAMESPACE"], r["NAME"]) for r in rows if r["NAMESPACE"] in (ns, ns2)] == \
        [(ns2, "o1")]


def test_get_labels_columns_and_sort(kc, get_ns):
    ns, _ = get_ns
    rows = table_by(kc("get", "pods", "-n", ns, "--show-labels").stdout)
    assert rows["g1"]["LABELS"] == "app=web,tier=fe"
    assert rows["g3"]["LABELS"] == "app=db"
    rows = table_by(kc("get", "pods", "-n", ns, "-L", "app", "-L", "tier").stdout)
    assert (rows["g1"]["APP"], rows["g1"]["TIER"]) == ("web", "fe")
    assert (rows["g3"]["APP"], rows["g3"]["TIER"]) == ("db", "")
    out = kc("get", "pods", "-n", ns, "--sort-by", "{.spec.containers[0].image}").stdout
    assert [r["NAME"] for r in parse_table(out)] == ["g3", "g2", "g1"]
    out = kc("get", "pods", "-n", ns, "--sort-by", ".metadata.name", "-o", "name").stdout
    assert out.split() == ["pod/g1", "pod/g2", "pod/g3"]


def test_get_watch(kc, cluster, tmp_path):
    ns = kc.name("watch")
    create_ns(cluster, ns)
    create_pod(cluster, "w1", ns, labels={"app": "w"})
    proc = kc.popen("get", "pods", "-n", ns, "-w", "-L", "color")
    try:
        lines = LineReader(proc)
        assert lines.wait_for(lambda l: l.startswith("NAME") and "COLOR" in l), lines.lines
        assert lines.wait_for(lambda l: l.split()[:1] == ["w1"]), lines.lines
        # a new pod, created by another kubectl
        f = write_yaml(tmp_path, "w2.yaml", pod_manifest("w2", ns=ns))
        kc("create", "-f", f)
        assert lines.wait_for(lambda l: l.split()[:1] == ["w2"]), lines.lines
        # a label change on an existing pod, made by another kubectl
        kc("label", "pod", "w1", "-n", ns, "color=blue")
        assert lines.wait_for(lambda l: l.split()[:1] == ["w1"] and l.split()[-1] == "blue"), \
            lines.lines
        assert proc.poll() is None, "kubectl get -w exited: %s" % proc.stderr.read()
    finally:
        stop(proc)


# ---- describe ------------------------------------------------------------------


def post_event(cluster, ns, name, involved, reason, message):
    ev = {"apiVersion": "v1", "kind": "Event",
          "metadata": {"name": name, "namespace": ns},
          "involvedObject": involved, "type": "Warning", "reason": reason,
          "message": message, "source": {"component": "wharf-test"},
          "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
          "count": 1}
    r = cluster.post("/api/v1/namespaces/%s/events" % ns, ev)
    assert r.code == 201, r.body


def test_event_namespace_must_match_its_object(cluster):
    """As in Kubernetes: an Event in namespace N is about an object in N; one
    about a cluster-scoped object (or naming no namespace) lives in default."""
    ns = "ev-ns-check"
    cluster.post("/api/v1/namespaces", {"metadata": {"name": ns}})

    for name, involved in (("none", None), ("empty-ns", {"kind": "Node", "name": "n1"}),
                           ("other-ns", {"kind": "Pod", "name": "p", "namespace": "default"})):
        ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
              "reason": "Test", "message": "m", "type": "Normal"}
        if involved:
            ev["involvedObject"] = involved
        r = cluster.post("/api/v1/namespaces/%s/events" % ns, ev)
        assert r.code == 422, (name, r.body)
        st = r.json()
        assert st["kind"] == "Status" and st["reason"] == "Invalid"
        causes = st["details"]["causes"]
        assert [c["field"] for c in causes] == ["involvedObject.namespace"], causes
        assert "does not match event.namespace" in causes[0]["message"]
    assert cluster.get("/api/v1/namespaces/%s/events" % ns).json()["items"] == []
    # the matching namespace, and a node's event in default, are fine
    ok = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "fine"},
          "involvedObject": {"kind": "Pod", "name": "p", "namespace": ns}, "reason": "Test"}
    assert cluster.post("/api/v1/namespaces/%s/events" % ns, ok).code == 201
    node_ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "ev-ns-check-node"},
               "involvedObject": {"kind": "Node", "name": "n1"}, "reason": "Test"}
    assert cluster.post("/api/v1/namespaces/default/events", node_ev).code == 201


def events_section(text):
    assert "Events:" in text, text
    return text.split("Events:", 1)[1]


def test_describe_pod(kc, cluster):
    name, other = kc.name("dp"), kc.name("dp-other")
    pod = create_pod(cluster, name, labels={"app": "dp"}, image="img:dp")
    create_pod(cluster, other)
    inv = {"kind": "Pod", "namespace": "default", "name": name,
           "uid": pod["metadata"]["uid"], "apiVersion": "v1"}
    post_event(cluster, "default", name + ".1", inv, "TestScheduled", "pod-event for " + name)
    inv_other = dict(inv, name=other, uid="00000000-0000-0000-0000-000000000000")
    post_event(cluster, "default", other + ".1", inv_other, "OtherReason", "not mine")
    out = kc("describe", "pod", name).stdout
    assert "Name:" in out and name in out.split("\n", 1)[0]
    assert "img:dp" in out
    assert "app=dp" in out
    evs = events_section(out)
    assert "TestScheduled" in evs and "pod-event for " + name in evs and "wharf-test" in evs
    assert "not mine" not in evs


def test_describe_node(kc, cluster):
    name = kc.name("dn")
    r = cluster.post("/api/v1/nodes", {
        "metadata": {"name": name, "labels": {"nvidia.com/gpu.product": "NVIDIA-A100"}},
        "status": {"capacity": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "4"},
                   "allocatable": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "4"}}})
    assert r.code == 201, r.body
    node = r.json()
    inv = {"kind": "Node", "namespace": "", "name": name, "uid": node["metadata"]["uid"],
           "apiVersion": "v1"}
    post_event(cluster, "default", name + ".1", inv, "NodeTestEvent", "node-event for " + name)
    on_node = kc.name("dn-pod")
    create_pod(cluster, on_node, extra_spec={"nodeName": name})
    create_pod(cluster, kc.name("dn-elsewhere"), extra_spec={"nodeName": "elsewhere"})
    out = kc("describe", "node", name).stdout
    assert name in out.split("\n", 1)[0]
    pods = out.split("Non-terminated Pods:", 1)[1].split("Allocated resources:", 1)[0]
    assert "(1 in total)" in pods and on_node in pods
    assert "nvidia.com/gpu.product=NVIDIA-A100" in out
    assert "nvidia.com/gpu:" in out
    evs = events_section(out)
    assert "NodeTestEvent" in evs and "node-event for " + name in evs


# ---- delete and wait -----------------------------------------------------------


def test_delete(kc, cluster, tmp_path):
    d1, d2, d3, d4, keep = (kc.name(x) for x in ("d1", "d2", "d3", "d4", "dkeep"))
    base = "/api/v1/namespaces/default/pods/"
    create_pod(cluster, d1)
    create_pod(cluster, d2, labels={"del": kc.tag})
    create_pod(cluster, d3, labels={"del": kc.tag})
    create_pod(cluster, keep, labels={"del": "no"})
    f = write_yaml(tmp_path, "d4.yaml", pod_manifest(d4))
    kc("create", "-f", f)

    assert kc("delete", "pod", d1).stdout.strip() == 'pod "%s" deleted' % d1
    assert gone(cluster, base + d1)
    out = kc("delete", "pods", "-l", "del=" + kc.tag).stdout
    assert sorted(out.splitlines()) == sorted(['pod "%s" deleted' % d2, 'pod "%s" deleted' % d3])
    assert gone(cluster, base + d2) and gone(cluster, base + d3)
    assert obj(cluster, base + keep)["metadata"]["name"] == keep
    assert kc("delete", "-f", f).stdout.strip() == 'pod "%s" deleted' % d4
    assert gone(cluster, base + d4)
    p = kc("delete", "pod", d1, check=False)
    assert p.returncode != 0 and 'pods "%s" not found' % d1 in p.stderr
    assert kc("delete", "pod", d1, "--ignore-not-found").returncode == 0


def test_wait_for_delete_with_finalizer(kc, cluster):
    name = kc.name("fin")
    path = "/api/v1/namespaces/default/pods/" + name
    m = pod_manifest(name)
    m["metadata"]["finalizers"] = ["example.com/hold"]
    assert cluster.post("/api/v1/namespaces/default/pods", m).code == 201
    kc("delete", "pod", name, "--wait=false")
    held = obj(cluster, path)
    assert held["metadata"]["deletionTimestamp"]
    assert held["metadata"]["finalizers"] == ["example.com/hold"]
    # the finalizer holds it: a short wait times out
    p = kc("wait", "--for=delete", "pod/" + name, "--timeout=1s", check=False)
    assert p.returncode != 0 and "timed out" in p.stderr
    proc = kc.popen("wait", "--for=delete", "pod/" + name, "--timeout=60s")
    try:
        kc("patch", "pod", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        stop(proc)
    assert gone(cluster, path)


@pytest.mark.parametrize("how", ["put", "patch"])
def test_wait_for_job_condition(kc, cluster, tmp_path, how):
    name = kc.name("wj-" + how)
    path = "/apis/batch/v1/namespaces/default/jobs/" + name
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "main", "image": "busybox", "command": ["true"]}]}}}}
    kc("create", "-f", write_yaml(tmp_path, "job.yaml", job))
    p = kc("wait", "--for=condition=complete", "job/" + name, "--timeout=1s", check=False)
    assert p.returncode != 0 and "timed out" in p.stderr
    proc = kc.popen("wait", "--for=condition=complete", "job/" + name, "--timeout=60s")
    try:
        status = {"succeeded": 1, "conditions": [
            {"type": "Complete", "status": "True", "reason": "Done",
             "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        before = obj(cluster, path)
        if how == "put":
            before["status"] = status
            r = cluster.put(path + "/status", before)
        else:
            r = cluster.patch(path + "/status", {"status": status},
                              "application/merge-patch+json")
        assert r.code == 200, r.body
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.strip() == "job.batch/%s condition met" % name
    finally:
        stop(proc)
    after = obj(cluster, path)
    assert after["status"]["conditions"][0]["type"] == "Complete"
    assert after["spec"] == before["spec"]
    p = kc("wait", "--for=condition=complete", "job/" + name, "--timeout=10s")
    assert p.stdout.strip() == "job.batch/%s condition met" % name
    row = table_by(kc("get", "job", name).stdout)[name]
    assert (row["STATUS"], row["COMPLETIONS"]) == ("Complete", "1/1")


# ---- label, annotate, patch ----------------------------------------------------


def test_label_and_annotate(kc, cluster):
    name = kc.name("la")
    path = "/api/v1/namespaces/default/pods/" + name
    create_pod(cluster, name, labels={"grp": "la-" + kc.tag})
    assert kc("label", "pod", name, "color=red").stdout.strip() == "pod/%s labeled" % name
    assert obj(cluster, path)["metadata"]["labels"] == {"grp": "la-" + kc.tag, "color": "red"}
    p = kc("label", "pod", name, "color=blue", check=False)
    assert p.returncode != 0 and "already has a value" in p.stderr
    assert obj(cluster, path)["metadata"]["labels"]["color"] == "red"
    kc("label", "pod", name, "color=blue", "--overwrite")
    assert obj(cluster, path)["metadata"]["labels"]["color"] == "blue"
    assert kc("label", "pod", name, "color-").stdout.strip() == "pod/%s unlabeled" % name
    assert "color" not in obj(cluster, path)["metadata"]["labels"]
    kc("label", "pods", "-l", "grp=la-" + kc.tag, "by-selector=yes")
    assert obj(cluster, path)["metadata"]["labels"]["by-selector"] == "yes"

    out = kc("annotate", "pod", name, "note=hello world").stdout
    # kubectl 1.27 prints "annotate", later versions "annotated"
    assert out.strip() in ("pod/%s annotated" % name, "pod/%s annotate" % name)
    assert obj(cluster, path)["metadata"]["annotations"]["note"] == "hello world"
    kc("annotate", "pod", name, "note-")
    assert "note" not in obj(cluster, path)["metadata"].get("annotations", {})


def test_patch(kc, cluster):
    name = kc.name("pa")
    path = "/api/v1/namespaces/default/pods/" + name
    m = pod_manifest(name, labels={"app": "pa"}, image="a:1")
    m["spec"]["containers"].append({"name": "b", "image": "b:1"})
    assert cluster.post("/api/v1/namespaces/default/pods", m).code == 201

    p = kc("patch", "pod", name, "--type=merge", "-p", '{"metadata":{"labels":{"m":"1"}}}')
    assert p.stdout.strip() == "pod/%s patched" % name
    assert obj(cluster, path)["metadata"]["labels"] == {"app": "pa", "m": "1"}

    kc("patch", "pod", name, "--type=json", "-p", json.dumps([
        {"op": "replace", "path": "/spec/containers/0/image", "value": "a:2"},
        {"op": "add", "path": "/metadata/labels/j", "value": "2"},
        {"op": "remove", "path": "/metadata/labels/m"}]))
    got = obj(cluster, path)
    assert got["metadata"]["labels"] == {"app": "pa", "j": "2"}
    assert got["spec"]["containers"][0]["image"] == "a:2"

    # strategic merge (the default): containers merge by name
    kc("patch", "pod", name, "-p", '{"spec":{"containers":[{"name":"b","image":"b:3"}]}}')
    got = obj(cluster, path)
    assert [(c["name"], c["image"]) for c in got["spec"]["containers"]] == \
        [("main", "a:2"), ("b", "b:3")]

    rv = got["metadata"]["resourceVersion"]
    p = kc("patch", "pod", name, "--type=merge", "-p", '{"metadata":{"labels":{"j":"2"}}}')
    assert p.stdout.strip() == "pod/%s patched (no change)" % name
    assert obj(cluster, path)["metadata"]["resourceVersion"] == rv

    p = kc("patch", "pod", name, "--type=json", "-p",
           '[{"op":"test","path":"/metadata/labels/app","value":"wrong"},'
           '{"op":"add","path":"/metadata/labels/bad","value":"1"}]', check=False)
    assert p.returncode != 0
    after = obj(cluster, path)
    assert after["metadata"]["resourceVersion"] == rv
    assert "bad" not in after["metadata"]["labels"]


# ---- nodes with GPUs -------------------------------------------------------------


def test_get_nodes_gpu_columns(kc, cluster, tmp_path):
    gpu, plain = kc.name("gpu-node"), kc.name("cpu-node")
    docs = [
        {"apiVersion": "v1", "kind": "Node",
         "metadata": {"name": gpu, "labels": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}},
         "status": {"capacity": {"cpu": "96", "memory": "1Ti", "nvidia.com/gpu": "8"},
                    "allocatable": {"cpu": "96", "memory": "1Ti", "nvidia.com/gpu": "8"}}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": plain}},
    ]
    kc("create", "-f", write_yaml(tmp_path, "nodes.yaml", *docs))
    assert obj(cluster, "/api/v1/nodes/" + gpu)["status"]["capacity"]["nvidia.com/gpu"] == "8"
    rows = table_by(kc("get", "nodes").stdout)
    assert rows[gpu]["GPUS"] == "8"
    assert rows[gpu]["GPU-MODEL"] == "NVIDIA-H100-80GB-HBM3"
    assert rows[plain]["GPUS"] == "0"
    assert rows[plain]["GPU-MODEL"] == "<none>"
    rows = table_by(kc("get", "nodes", "-l", "nvidia.com/gpu.product").stdout)
    assert gpu in rows and plain not in rows


# ---- unserved kinds ------------------------------------------------------------


def test_unserved_custom_kind_rejected(kc, cluster, tmp_path):
    cq = {"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue",
          "metadata": {"name": kc.name("cq")},
          "spec": {"namespaceSelector": {}, "resourceGroups": []}}
    f = write_yaml(tmp_path, "cq.yaml", cq)
    before = store_revision(cluster)
    for verb in (["create"], ["apply"], ["apply", "--server-side"]):
        p = kc(*verb, "-f", f, check=False)
        assert p.returncode != 0, verb
        assert 'no matches for kind "ClusterQueue" in version "kueue.x-k8s.io/v1beta1"' \
            in p.stderr, (verb, p.stderr)
    p = kc("get", "clusterqueues", check=False)
    assert p.returncode != 0
    assert 'the server doesn\'t have a resource type "clusterqueues"' in p.stderr
    assert cluster.get("/apis/kueue.x-k8s.io/v1beta1/clusterqueues").code == 404
    assert store_revision(cluster) == before


# ---- namespaces ----------------------------------------------------------------


def test_create_generator_commands(kc, cluster):
    """`kubectl create namespace|configmap|secret generic` build the object
    in kubectl; kubectl >= 1.32 sends it as protobuf (see test_protobuf.py)."""
    ns, cm, sec = kc.name("gen"), kc.name("gen-cm"), kc.name("gen-sec")
    p = kc("create", "namespace", ns, check=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "namespace/%s created" % ns
    assert obj(cluster, "/api/v1/namespaces/" + ns)["status"]["phase"] == "Active"
    p = kc("create", "configmap", cm, "-n", ns, "--from-literal=a=1", "--from-literal=b=two")
    assert p.stdout.strip() == "configmap/%s created" % cm
    assert obj(cluster, "/api/v1/namespaces/%s/configmaps/%s" % (ns, cm))["data"] == \
        {"a": "1", "b": "two"}
    p = kc("create", "secret", "generic", sec, "-n", ns, "--from-literal=pw=s3cr3t")
    assert p.stdout.strip() == "secret/%s created" % sec
    s = obj(cluster, "/api/v1/namespaces/%s/secrets/%s" % (ns, sec))
    assert s["data"] == {"pw": "czNjcjN0"} and s["type"] == "Opaque"


def test_namespace_lifecycle(kc, cluster, tmp_path):
    ns = kc.name("life")
    f = write_yaml(tmp_path, "ns.yaml", {"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": ns}})
    assert kc("create", "-f", f).stdout.strip() == "namespace/%s created" % ns
    assert obj(cluster, "/api/v1/namespaces/" + ns)["status"]["phase"] == "Active"
    docs = [pod_manifest("p1", ns=ns),
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1", "namespace": ns},
             "data": {"k": "v"}},
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j1", "namespace": ns},
             "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                 {"name": "main", "image": "busybox"}]}}}}]
    kc("create", "-f", write_yaml(tmp_path, "ns-objs.yaml", *docs))
    paths = ["/api/v1/namespaces/%s/pods/p1" % ns, "/api/v1/namespaces/%s/configmaps/c1" % ns,
             "/apis/batch/v1/namespaces/%s/jobs/j1" % ns]
    for p in paths:
        obj(cluster, p)
    # The Job controller may already have made the job's pods: the three are there.
    listed = kc("get", "pods,configmaps,jobs", "-n", ns, "-o", "name").stdout.split()
    assert {"pod/p1", "configmap/c1", "job.batch/j1"} <= set(listed)
    kc("delete", "namespace", ns, "--wait=false")
    p = kc("wait", "--for=delete", "ns/" + ns, "--timeout=60s")
    assert p.returncode == 0
    assert gone(cluster, "/api/v1/namespaces/" + ns)
    for p in paths:
        assert gone(cluster, p), p
    for res in ("/api/v1/namespaces/%s/pods", "/api/v1/namespaces/%s/configmaps",
                "/apis/batch/v1/namespaces/%s/jobs"):
        assert obj(cluster, res % ns)["items"] == []
    out = kc("get", "namespaces", "-o", "name").stdout.split()
    assert "namespace/" + ns not in out and "namespace/default" in out

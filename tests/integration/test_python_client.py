"""The official Python client (Debian's python3-kubernetes) against wharf.

It does no discovery, always sends JSON, decodes every answer into its typed
models, and its watch helper relies on newline-terminated events and initial
ADDED events; see kubectl-wire-notes.md section 10.
"""
import json
import queue
import threading

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, config, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

# The API alone: a background controller write would move the store revision
# that the "nothing was written" checks compare.
WHARF_SERVER_ARGS = ("--controllers=false",)

NS = "pyclient"
WATCH_TIMEOUT = 30  # seconds; only a safety net, tests stop their watches themselves


def new_api_client(cluster):
    cfg = client.Configuration()
    config.load_kube_config(config_file=cluster.kubeconfig, client_configuration=cfg)
    return client.ApiClient(cfg)


@pytest.fixture(scope="module")
def api(cluster):
    c = new_api_client(cluster)
    core = client.CoreV1Api(c)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    yield c
    c.close()


@pytest.fixture(scope="module")
def core(api):
    return client.CoreV1Api(api)


@pytest.fixture(scope="module")
def batch(api):
    return client.BatchV1Api(api)


@pytest.fixture(scope="module")
def seeded(core):
    """Three labelled pods and a ConfigMap that the read-only tests share."""
    core.create_namespaced_pod(NS, pod_body("web-1", {"app": "web", "tier": "fe"}))
    core.create_namespaced_pod(NS, pod_body("web-2", {"app": "web", "tier": "be"}))
    core.create_namespaced_pod(NS, pod_body("db-1", {"app": "db"}))
    core.create_namespaced_config_map(NS, {"metadata": {"name": "seeded"}, "data": {"a": "1"}})


def pod_body(name, labels=None, image="busybox:1.36"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": image,
                                     "command": ["sleep", "3600"]}]}}


def status_of(exc):
    """The Status object a failed call carried."""
    st = json.loads(exc.body)
    assert st["kind"] == "Status" and st["code"] == exc.status, st
    return st


def test_version(api):
    info = client.VersionApi(api).get_code()
    assert info.git_version


def test_list_namespaces_and_nodes(core):
    names = [n.metadata.name for n in core.list_namespace().items]
    for ns in ("default", "kube-system", NS):
        assert ns in names
    nodes = core.list_node()
    assert isinstance(nodes.items, list)
    assert int(nodes.metadata.resource_version) > 0
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "py-node-1",
                                                             "labels": {"gpu": "a100"}},
            "status": {"capacity": {"cpu": "8", "nvidia.com/gpu": "4"}}}
    core.create_node(node)
    got = core.list_node(label_selector="gpu=a100").items
    assert [n.metadata.name for n in got] == ["py-node-1"]
    assert core.read_node("py-node-1").metadata.labels == {"gpu": "a100"}


def test_create_read_list_pods(core, seeded):
    created = core.create_namespaced_pod(NS, pod_body("fresh", {"app": "fresh"}))
    assert created.metadata.name == "fresh"
    assert created.metadata.namespace == NS
    assert created.metadata.uid
    assert int(created.metadata.resource_version) > 0
    assert created.status.phase == "Pending"
    assert created.spec.containers[0].image == "busybox:1.36"

    got = core.read_namespaced_pod("fresh", NS)
    assert got.metadata.uid == created.metadata.uid
    assert got.metadata.resource_version == created.metadata.resource_version
    assert got.spec.restart_policy == "Always"  # defaulted

    pods = core.list_namespaced_pod(NS)
    assert {"fresh", "web-1", "web-2", "db-1"} <= {p.metadata.name for p in pods.items}
    assert int(pods.metadata.resource_version) >= int(created.metadata.resource_version)
    everywhere = core.list_pod_for_all_namespaces()
    assert {"fresh", "web-1", "web-2", "db-1"} <= {p.metadata.name for p in everywhere.items}


def test_label_and_field_selectors(core, seeded):
    names = lambda lst: sorted(p.metadata.name for p in lst.items)  # noqa: E731
    assert names(core.list_namespaced_pod(NS, label_selector="app=web")) == ["web-1", "web-2"]
    assert names(core.list_namespaced_pod(NS, label_selector="app=web,tier!=fe")) == ["web-2"]
    assert names(core.list_namespaced_pod(NS, label_selector="app in (db, cache)")) == ["db-1"]
    assert names(core.list_namespaced_pod(NS, label_selector="app in (web, db),!tier")) == [
        "db-1"]
    assert names(core.list_pod_for_all_namespaces(label_selector="tier")) == ["web-1", "web-2"]
    assert names(core.list_namespaced_pod(NS, field_selector="metadata.name=web-2")) == ["web-2"]
    assert names(core.list_pod_for_all_namespaces(
        field_selector="metadata.namespace=%s,metadata.name!=web-2" % NS,
        label_selector="app=web")) == ["web-1"]
    assert names(core.list_namespaced_pod(NS, field_selector="status.phase=Running",
                                          label_selector="app")) == []
    with pytest.raises(ApiException) as e:
        core.list_namespaced_pod(NS, field_selector="spec.bogus=x")
    assert e.value.status == 400 and status_of(e.value)["reason"] == "BadRequest"
    with pytest.raises(ApiException) as e:
        core.list_namespaced_pod(NS, label_selector="app in (web")
    assert e.value.status == 400


def test_paging(core, seeded):
    first = core.list_namespaced_pod(NS, limit=2)
    assert len(first.items) == 2 and first.metadata._continue
    rest = core.list_namespaced_pod(NS, limit=100, _continue=first.metadata._continue)
    all_names = [p.metadata.name for p in first.items + rest.items]
    assert len(all_names) == len(set(all_names))
    assert {"web-1", "web-2", "db-1"} <= set(all_names)


def test_configmap_create_replace_conflict(core):
    cm = core.create_namespaced_config_map(NS, {"metadata": {"name": "settings"},
                                                "data": {"lr": "0.1"}})
    assert cm.data == {"lr": "0.1"}
    stale = core.read_namespaced_config_map("settings", NS)
    stale_rv = stale.metadata.resource_version
    stale.data = {"lr": "0.2"}
    updated = core.replace_namespaced_config_map("settings", NS, stale)
    assert updated.data == {"lr": "0.2"}
    assert int(updated.metadata.resource_version) > int(stale_rv)

    loser = core.read_namespaced_config_map("settings", NS)
    loser.metadata.resource_version = stale_rv
    loser.data = {"lr": "9.9"}
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("settings", NS, loser)
    assert e.value.status == 409
    assert status_of(e.value)["reason"] == "Conflict"
    now = core.read_namespaced_config_map("settings", NS)
    assert now.data == {"lr": "0.2"}
    assert now.metadata.resource_version == updated.metadata.resource_version


def test_error_statuses(core, batch, seeded):
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod("no-such-pod", NS)
    assert e.value.status == 404
    st = status_of(e.value)
    assert st["reason"] == "NotFound" and st["details"]["name"] == "no-such-pod"

    with pytest.raises(ApiException) as e:
        core.create_namespaced_pod(NS, pod_body("web-1"))
    assert e.value.status == 409
    assert status_of(e.value)["reason"] == "AlreadyExists"

    bad = pod_body("Bad_Name")
    bad["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": "1.5"}}
    with pytest.raises(ApiException) as e:
        core.create_namespaced_pod(NS, bad)
    assert e.value.status == 422
    st = status_of(e.value)
    assert st["reason"] == "Invalid"
    fields = {c["field"] for c in st["details"]["causes"]}
    assert "metadata.name" in fields
    assert "spec.containers[0].resources.limits[nvidia.com/gpu]" in fields

    with pytest.raises(ApiException) as e:
        core.create_namespaced_pod("no-such-namespace", pod_body("x"))
    assert e.value.status == 404

    with pytest.raises(ApiException) as e:
        batch.delete_namespaced_job("no-such-job", NS)
    assert e.value.status == 404 and status_of(e.value)["reason"] == "NotFound"


def test_strategic_merge_patch(core):
    before = core.create_namespaced_pod(NS, pod_body("smp", {"app": "web", "tier": "fe"}))
    patched = core.patch_namespaced_pod("smp", NS, {
        "metadata": {"labels": {"patched": "yes", "tier": None},
                     "annotations": {"note": "hello"}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.37"}]},
    })
    assert patched.metadata.labels == {"app": "web", "patched": "yes"}
    assert patched.metadata.annotations == {"note": "hello"}
    # containers merge by name: the one container got the new image, nothing added
    assert [(c.name, c.image) for c in patched.spec.containers] == [("main", "busybox:1.37")]
    assert patched.spec.containers[0].command == ["sleep", "3600"]
    assert int(patched.metadata.resource_version) > int(before.metadata.resource_version)
    assert patched.metadata.uid == before.metadata.uid
    assert core.read_namespaced_pod("smp", NS).metadata.labels == patched.metadata.labels


def test_json_patch(core):
    before = core.create_namespaced_pod(NS, pod_body("jp", {"app": "web", "tier": "be"}))
    patched = core.patch_namespaced_pod("jp", NS, [
        {"op": "test", "path": "/metadata/labels/app", "value": "web"},
        {"op": "add", "path": "/metadata/labels/jp", "value": "1"},
        {"op": "remove", "path": "/metadata/labels/tier"},
    ])
    assert patched.metadata.labels == {"app": "web", "jp": "1"}
    assert int(patched.metadata.resource_version) > int(before.metadata.resource_version)

    with pytest.raises(ApiException) as e:
        core.patch_namespaced_pod("jp", NS, [
            {"op": "add", "path": "/metadata/labels/half", "value": "done"},
            {"op": "test", "path": "/metadata/labels/app", "value": "not-web"},
        ])
    assert e.value.status in (400, 422)
    status_of(e.value)
    after = core.read_namespaced_pod("jp", NS)
    assert after.metadata.labels == {"app": "web", "jp": "1"}
    assert after.metadata.resource_version == patched.metadata.resource_version


def test_patch_configmap_merge(core, seeded):
    cm = core.patch_namespaced_config_map("seeded", NS, {"data": {"epochs": "3"}})
    assert cm.data == {"a": "1", "epochs": "3"}
    cm = core.patch_namespaced_config_map("seeded", NS, {"data": {"epochs": None}})
    assert cm.data == {"a": "1"}


def test_job_status_takes_no_labels(core, batch):
    """Only Pods let /status change labels; a Job's status write keeps its own."""
    body = {"metadata": {"name": "st-job", "labels": {"a": "1"}},
            "spec": {"suspend": True, "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}}}
    batch.create_namespaced_job(NS, body)
    got = batch.patch_namespaced_job_status("st-job", NS, {
        "metadata": {"labels": {"a": "2"}}, "status": {"active": 0}})
    assert got.metadata.labels["a"] == "1"
    batch.delete_namespaced_job("st-job", NS, propagation_policy="Background")


def test_job_create_read_delete(core, batch):
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train"},
           "spec": {"parallelism": 2, "completions": 4, "backoffLimit": 1,
                    "template": {"spec": {"restartPolicy": "Never",
                                          "containers": [{"name": "t", "image": "busybox",
                                                          "command": ["true"]}]}}}}
    created = batch.create_namespaced_job(NS, job)
    assert created.metadata.name == "train"
    assert created.spec.completions == 4 and created.spec.parallelism == 2
    assert created.status is not None
    assert created.spec.template.metadata.labels  # the generated selector labels
    got = batch.read_namespaced_job("train", NS)
    assert got.metadata.uid == created.metadata.uid
    listed = batch.list_namespaced_job(NS, field_selector="metadata.name=train")
    assert [j.metadata.name for j in listed.items] == ["train"]

    st = batch.delete_namespaced_job("train", NS, propagation_policy="Background")
    assert isinstance(st, client.V1Status)
    assert st.status == "Success", st
    assert st.details.name == "train"
    assert st.details.uid == created.metadata.uid
    with pytest.raises(ApiException) as e:
        batch.read_namespaced_job("train", NS)
    assert e.value.status == 404


def test_delete_pod_immediately(core):
    core.create_namespaced_pod(NS, pod_body("short-lived"))
    st = core.delete_namespaced_pod("short-lived", NS, grace_period_seconds=0)
    assert isinstance(st, client.V1Pod) and st.metadata.name == "short-lived"
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod("short-lived", NS)
    assert e.value.status == 404


def run_watch(func, out, ready=None, **kwargs):
    """Collect (type, name, rv) events from a watch into queue out, then None."""
    w = watch.Watch()
    try:
        for ev in w.stream(func, **kwargs):
            obj = ev["object"]
            out.put((ev["type"], obj.metadata.name, obj.metadata.resource_version, w))
    except Exception as e:  # reported to the test thread
        out.put(("EXCEPTION", repr(e), None, w))
    out.put(None)


def take(q, n):
    got = []
    while len(got) < n:
        item = q.get(timeout=WATCH_TIMEOUT)
        assert item is not None, "watch ended early after %s" % got
        assert item[0] != "EXCEPTION", item
        got.append(item)
    return got


def test_watch_initial_then_concurrent_changes(api, core):
    for i in range(3):
        core.create_namespaced_pod(NS, pod_body("w-%d" % i, {"watched": "yes"}))
    q = queue.Queue()
    t = threading.Thread(target=run_watch, args=(core.list_namespaced_pod, q),
                         kwargs={"namespace": NS, "label_selector": "watched=yes",
                                 "timeout_seconds": WATCH_TIMEOUT}, daemon=True)
    t.start()
    initial = take(q, 3)
    assert sorted((typ, name) for typ, name, _, _ in initial) == [
        ("ADDED", "w-0"), ("ADDED", "w-1"), ("ADDED", "w-2")]

    # changes from another thread, with its own client
    def writer():
        other = client.CoreV1Api(new_api_client_from(api))
        other.patch_namespaced_pod("w-1", NS, {"metadata": {"annotations": {"step": "1"}}})
        other.create_namespaced_pod(NS, pod_body("w-3", {"watched": "yes"}))
        other.delete_namespaced_pod("w-0", NS, grace_period_seconds=0)
        # leaving the selector reads as DELETED
        other.patch_namespaced_pod("w-2", NS, {"metadata": {"labels": {"watched": "no"}}})
        other.create_namespaced_pod(NS, pod_body("unwatched", {"watched": "no"}))
        other.patch_namespaced_pod("w-3", NS, {"metadata": {"labels": {"extra": "1"}}})
        other.api_client.close()

    wt = threading.Thread(target=writer)
    wt.start()
    changes = take(q, 5)
    wt.join()
    initial[0][3].stop()
    assert [(typ, name) for typ, name, _, _ in changes] == [
        ("MODIFIED", "w-1"), ("ADDED", "w-3"), ("DELETED", "w-0"), ("DELETED", "w-2"),
        ("MODIFIED", "w-3")]
    rvs = [int(rv) for _, _, rv, _ in changes]
    assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs)
    assert min(rvs) > max(int(rv) for _, _, rv, _ in initial)


def new_api_client_from(api):
    return client.ApiClient(api.configuration)


def test_watch_resumes_after_resource_version(core):
    a = core.create_namespaced_config_map(NS, {"metadata": {"name": "rv-a"}})
    start_rv = a.metadata.resource_version
    core.patch_namespaced_config_map("rv-a", NS, {"data": {"x": "1"}})
    core.create_namespaced_config_map(NS, {"metadata": {"name": "rv-b"}})
    core.delete_namespaced_config_map("rv-a", NS)

    q = queue.Queue()
    t = threading.Thread(target=run_watch, args=(core.list_namespaced_config_map, q),
                         kwargs={"namespace": NS, "resource_version": start_rv,
                                 "timeout_seconds": WATCH_TIMEOUT}, daemon=True)
    t.start()
    got = take(q, 3)
    got[0][3].stop()
    # only what happened after start_rv, in order: no ADDED for rv-a's creation
    assert [(typ, name) for typ, name, _, _ in got] == [
        ("MODIFIED", "rv-a"), ("ADDED", "rv-b"), ("DELETED", "rv-a")]
    assert all(int(rv) > int(start_rv) for _, _, rv, _ in got)


def test_watch_with_field_selector_times_out_cleanly(batch):
    """A watch on nothing ends at timeout_seconds with no events and no error."""
    w = watch.Watch()
    events = list(w.stream(batch.list_namespaced_job, namespace=NS,
                           field_selector="metadata.name=never", timeout_seconds=1))
    assert events == []


def test_watch_all_namespaces_sees_namespaced_change(core):
    q = queue.Queue()
    t = threading.Thread(target=run_watch, args=(core.list_config_map_for_all_namespaces, q),
                         kwargs={"field_selector": "metadata.name=global-watch",
                                 "timeout_seconds": WATCH_TIMEOUT}, daemon=True)
    t.start()
    # the initial list is empty, so wait for the stream to be open by polling with writes
    core.create_namespaced_config_map("default", {"metadata": {"name": "global-watch"}})
    first = take(q, 1)
    first[0][3].stop()
    assert first[0][:2] == ("ADDED", "global-watch")


def test_status_subresource(core):
    pod = core.create_namespaced_pod(NS, pod_body("st-1", {"app": "st"}))
    patched = core.patch_namespaced_pod_status("st-1", NS, {
        "status": {"phase": "Running", "podIP": "10.1.2.3"},
        "spec": {"nodeName": "ignored-through-status"}})
    assert patched.status.phase == "Running" and patched.status.pod_ip == "10.1.2.3"
    assert patched.spec.node_name is None  # the spec does not change through /status
    # Pod status writes may set labels and annotations, as in Kubernetes (the
    # agent records its GPU assignment with its first status write) ...
    noted = core.patch_namespaced_pod_status("st-1", NS, {
        "metadata": {"annotations": {"wharf.io/note": "x"}, "labels": {"seen": "yes"}},
        "status": {"phase": "Running"}})
    assert noted.metadata.annotations["wharf.io/note"] == "x"
    assert noted.metadata.labels == {"app": "st", "seen": "yes"}
    assert core.read_namespaced_pod("st-1", NS).metadata.annotations["wharf.io/note"] == "x"
    # ... and nothing else of metadata
    kept = core.patch_namespaced_pod_status("st-1", NS, {
        "metadata": {"finalizers": ["example.com/x"], "ownerReferences": []}})
    assert kept.metadata.finalizers is None
    got = core.read_namespaced_pod_status("st-1", NS)
    assert got.status.phase == "Running"
    assert int(got.metadata.resource_version) > int(pod.metadata.resource_version)
    running = core.list_namespaced_pod(NS, field_selector="status.phase=Running",
                                       label_selector="app=st")
    assert [p.metadata.name for p in running.items] == ["st-1"]
    # a plain update cannot change status
    got.status.phase = "Failed"
    got.metadata.labels = {"app": "st", "touched": "yes"}
    replaced = core.replace_namespaced_pod("st-1", NS, got)
    assert replaced.status.phase == "Running"
    assert replaced.metadata.labels["touched"] == "yes"


def test_delete_collection_by_label(core, seeded):
    for i in range(3):
        core.create_namespaced_config_map(NS, {"metadata": {"name": "bulk-%d" % i,
                                                            "labels": {"bulk": "yes"}}})
    core.delete_collection_namespaced_config_map(NS, label_selector="bulk=yes")
    left = core.list_namespaced_config_map(NS, label_selector="bulk=yes")
    assert left.items == []
    assert core.read_namespaced_config_map("seeded", NS).data  # others untouched

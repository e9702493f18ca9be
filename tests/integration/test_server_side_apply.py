"""Server-side apply with managedFields, driven by real kubectl.

`kubectl apply --server-side` (the dispatcher kubectl and kubectl 1.27) creates,
re-applies, removes the fields a manager dropped, conflicts with a second
manager and takes the fields over with --force-conflicts; every step is
checked both in what kubectl printed and in what the server holds, read back
over HTTP. Raw PATCH requests cover the Status of a conflict, the /status
subresource and hostile bodies (each answered 400 with nothing changed), and
PUT / merge patch are checked to keep managedFields.
"""
import json
import re
import shutil
import tempfile

import pytest
import yaml

from conftest import KUBECTL, OLD_KUBECTL, needs_kubectl, needs_old_kubectl

# The API alone: a background controller write would move the store revision
# that the "nothing was written" checks compare.
WHARF_SERVER_ARGS = ("--controllers=false",)

BINARIES = [
    pytest.param((KUBECTL, "n"), id="kubectl-dispatcher", marks=needs_kubectl),
    pytest.param((OLD_KUBECTL, "o"), id="kubectl-1.27", marks=needs_old_kubectl),
]

APPLY = "application/apply-patch+yaml"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class Kubectl:
    """One kubectl binary bound to a cluster, with its own discovery cache."""

    def __init__(self, cluster, binary, tag):
        self.cluster = cluster
        self.binary = binary
        self.tag = tag
        self.cache_dir = tempfile.mkdtemp(prefix="wharf-kcache-ssa-%s-" % tag)

    def __call__(self, *args, **kw):
        return self.cluster.kubectl(*args, binary=self.binary, cache_dir=self.cache_dir, **kw)

    def name(self, base):
        return "%s-%s" % (base, self.tag)


@pytest.fixture(scope="module", params=BINARIES)
def kc(request, cluster):
    binary, tag = request.param
    k = Kubectl(cluster, binary, tag)
    yield k
    shutil.rmtree(k.cache_dir, ignore_errors=True)


def obj(cluster, path):
    r = cluster.get(path)
    assert r.code == 200, "GET %s -> %d %s" % (path, r.code, r.body)
    return r.json()


def write_doc(tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(json.dumps(doc, indent=1) + "\n")
    return str(p)


def entries(o):
    return {(e["manager"], e["operation"], e.get("subresource", "")): e
            for e in o["metadata"].get("managedFields", [])}


def cm_doc(name, labels, data):
    """A ConfigMap; empty labels are left out (an empty map would be owned)."""
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
    if labels:
        doc["metadata"]["labels"] = labels
    return doc


def cm_path(name, ns="default"):
    return "/api/v1/namespaces/%s/configmaps/%s" % (ns, name)


# ---- kubectl -----------------------------------------------------------------


def test_apply_creates_with_managed_fields(kc, cluster, tmp_path):
    name = kc.name("ssa-new")
    f = write_doc(tmp_path, "c.json", cm_doc(name, {"app": "x", "drop": "1"}, {"a": "1"}))
    p = kc("apply", "--server-side", "-f", f)
    assert p.stdout.strip() == "configmap/%s serverside-applied" % name
    got = obj(cluster, cm_path(name))
    assert got["data"] == {"a": "1"}
    mf = got["metadata"]["managedFields"]
    assert len(mf) == 1
    e = mf[0]
    assert (e["manager"], e["operation"], e["apiVersion"], e["fieldsType"]) == \
        ("kubectl", "Apply", "v1", "FieldsV1")
    assert RFC3339.match(e["time"]), e
    assert e["fieldsV1"] == {"f:data": {"f:a": {}},
                             "f:metadata": {"f:labels": {"f:app": {}, "f:drop": {}}}}

    # kubectl hides managedFields unless asked.
    out = kc("get", "configmap", name, "-o", "yaml").stdout
    assert "managedFields" not in out
    shown = yaml.safe_load(kc("get", "configmap", name, "-o", "yaml",
                              "--show-managed-fields").stdout)
    assert shown["metadata"]["managedFields"][0]["manager"] == "kubectl"


def test_reapply_removes_dropped_fields(kc, cluster, tmp_path):
    name = kc.name("ssa-rm")
    doc = cm_doc(name, {"keep": "1", "drop": "1"}, {"keep": "1", "drop": "1"})
    kc("apply", "--server-side", "-f", write_doc(tmp_path, "c.json", doc))
    del doc["metadata"]["labels"]["drop"]
    del doc["data"]["drop"]
    f = write_doc(tmp_path, "c.json", doc)
    kc("apply", "--server-side", "-f", f)
    got = obj(cluster, cm_path(name))
    assert got["metadata"]["labels"] == {"keep": "1"}
    assert got["data"] == {"keep": "1"}
    assert entries(got)[("kubectl", "Apply", "")]["fieldsV1"] == \
        {"f:data": {"f:keep": {}}, "f:metadata": {"f:labels": {"f:keep": {}}}}

    # The same manifest again changes nothing, not even the resourceVersion.
    rv = got["metadata"]["resourceVersion"]
    p = kc("apply", "--server-side", "-f", f)
    assert p.stdout.strip() == "configmap/%s serverside-applied" % name
    again = obj(cluster, cm_path(name))
    assert again["metadata"]["resourceVersion"] == rv
    assert again["metadata"]["managedFields"] == got["metadata"]["managedFields"]

    # A label written by another kind of write is nobody's to remove.
    kc("label", "configmap", name, "extra=yes")
    kc("apply", "--server-side", "-f", f)
    got = obj(cluster, cm_path(name))
    assert got["metadata"]["labels"] == {"keep": "1", "extra": "yes"}
    assert ("kubectl", "Apply", "") in entries(got)  # kept through the merge patch


def test_second_manager_conflicts_then_forces(kc, cluster, tmp_path):
    name = kc.name("ssa-two")
    path = cm_path(name)
    kc("apply", "--server-side", "-f",
       write_doc(tmp_path, "a.json", cm_doc(name, {"app": "x"}, {"a": "1", "b": "1"})))
    before = obj(cluster, path)

    other = write_doc(tmp_path, "b.json", cm_doc(name, {"team": "t"}, {"a": "2"}))
    p = kc("apply", "--server-side", "--field-manager=other", "-f", other, check=False)
    assert p.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .data.a' in p.stderr, p.stderr
    assert obj(cluster, path) == before  # nothing changed, not even the rv

    # The same value is no conflict: both managers own it.
    shared = write_doc(tmp_path, "s.json", cm_doc(name, {}, {"b": "1"}))
    kc("apply", "--server-side", "--field-manager=sharer", "-f", shared)
    got = obj(cluster, path)
    assert entries(got)[("sharer", "Apply", "")]["fieldsV1"] == {"f:data": {"f:b": {}}}

    p = kc("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", other)
    assert p.stdout.strip() == "configmap/%s serverside-applied" % name
    got = obj(cluster, path)
    assert got["data"] == {"a": "2", "b": "1"}
    assert got["metadata"]["labels"] == {"app": "x", "team": "t"}
    es = entries(got)
    assert es[("other", "Apply", "")]["fieldsV1"] == \
        {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:team": {}}}}
    # kubectl lost .data.a to other and keeps the rest.
    assert es[("kubectl", "Apply", "")]["fieldsV1"] == \
        {"f:data": {"f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}

    shown = yaml.safe_load(kc("get", "configmap", name, "-o", "yaml",
                              "--show-managed-fields").stdout)
    managers = sorted(e["manager"] for e in shown["metadata"]["managedFields"])
    assert managers == ["kubectl", "other", "sharer"]

    # kubectl now drops b: sharer still holds it, so it stays.
    kc("apply", "--server-side", "-f",
       write_doc(tmp_path, "a.json", cm_doc(name, {"app": "x"}, {})))
    assert obj(cluster, path)["data"] == {"a": "2", "b": "1"}


def test_server_dry_run_changes_nothing(kc, cluster, tmp_path):
    name = kc.name("ssa-dry")
    path = cm_path(name)
    kc("apply", "--server-side", "-f", write_doc(tmp_path, "c.json", cm_doc(name, {}, {"a": "1"})))
    before = obj(cluster, path)
    kc("apply", "--server-side", "--dry-run=server", "-f",
       write_doc(tmp_path, "c.json", cm_doc(name, {"x": "y"}, {"a": "2"})))
    assert obj(cluster, path) == before


# ---- HTTP ----------------------------------------------------------------------


def apply(cluster, path, body, manager="http", force=False, raw=None):
    q = "?fieldManager=%s" % manager if manager is not None else ""
    if force:
        q += "&force=true"
    return cluster.request("PATCH", path + q, body=body, raw=raw, content_type=APPLY)


def pod_doc(name, image):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "main", "image": image}]}}


def test_conflict_status_over_http(cluster):
    path = "/api/v1/namespaces/default/pods/ssa-pod"
    r = apply(cluster, path, pod_doc("ssa-pod", "img:1"), manager="first")
    assert r.code == 201, r.body
    rv = r.json()["metadata"]["resourceVersion"]
    r = apply(cluster, path, pod_doc("ssa-pod", "img:2"), manager="second")
    assert r.code == 409, r.body
    st = r.json()
    assert st["reason"] == "Conflict"
    assert st["message"] == ('Apply failed with 1 conflict: conflict with "first": '
                             '.spec.containers[name="main"].image')
    assert st["details"]["causes"] == [{"reason": "FieldManagerConflict",
                                        "message": 'conflict with "first"',
                                        "field": '.spec.containers[name="main"].image'}]
    assert obj(cluster, path)["metadata"]["resourceVersion"] == rv

    r = apply(cluster, path, pod_doc("ssa-pod", "img:2"), manager="second", force=True)
    assert r.code == 200, r.body
    got = obj(cluster, path)
    assert got["spec"]["containers"][0]["image"] == "img:2"
    key = 'k:{"name":"main"}'
    es = entries(got)
    assert es[("second", "Apply", "")]["fieldsV1"] == \
        {"f:spec": {"f:containers": {key: {".": {}, "f:image": {}, "f:name": {}}}}}
    assert es[("first", "Apply", "")]["fieldsV1"] == \
        {"f:spec": {"f:containers": {key: {".": {}, "f:name": {}}}}}

    # Status through /status is owned apart, in an entry of its own.
    st_doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ssa-pod"},
              "status": {"phase": "Running"}}
    r = apply(cluster, path + "/status", st_doc, manager="agent")
    assert r.code == 200, r.body
    got = obj(cluster, path)
    assert got["status"]["phase"] == "Running"
    assert entries(got)[("agent", "Apply", "status")]["fieldsV1"] == \
        {"f:status": {"f:phase": {}}}


def test_hostile_apply_bodies(cluster):
    name = "ssa-hostile"
    path = cm_path(name)
    r = apply(cluster, path, cm_doc(name, {"a": "1"}, {"k": "v"}))
    assert r.code == 201, r.body
    before = obj(cluster, path)
    long_manager = "m" * 129
    bad = [
        ("not an object", dict(raw=b"[1, 2, 3]")),
        ("a string", dict(raw=b'"just a string"')),
        ("bad yaml", dict(raw=b"metadata: [unclosed")),
        ("missing fieldManager", dict(body=cm_doc(name, {}, {"k": "w"}), manager=None)),
        ("empty fieldManager", dict(body=cm_doc(name, {}, {"k": "w"}), manager="")),
        ("long fieldManager", dict(body=cm_doc(name, {}, {"k": "w"}), manager=long_manager)),
        ("name mismatch", dict(body=cm_doc("other-name", {}, {"k": "w"}))),
        ("managedFields sent", dict(body={**cm_doc(name, {}, {"k": "w"}),
                                          "metadata": {"name": name, "managedFields": []}})),
        ("directive", dict(body={**cm_doc(name, {}, {"k": "w"}), "$patch": "replace"})),
        ("nested directive", dict(body={**cm_doc(name, {}, {}),
                                        "data": {"$retainKeys": ["k"]}})),
        ("wrong kind", dict(body={**cm_doc(name, {}, {}), "kind": "Secret"})),
        ("metadata not a map", dict(body={**cm_doc(name, {}, {}), "metadata": "x"})),
    ]
    for what, kw in bad:
        body = kw.pop("body", None)
        r = apply(cluster, path, body, **kw)
        assert r.code == 400, "%s: %d %s" % (what, r.code, r.body)
        assert r.json()["kind"] == "Status", what
        assert obj(cluster, path) == before, what

    pod_path = "/api/v1/namespaces/default/pods/ssa-dup"
    doc = pod_doc("ssa-dup", "i")
    doc["spec"]["containers"].append({"name": "main", "image": "j"})
    r = apply(cluster, pod_path, doc)
    assert r.code == 400, r.body
    assert "duplicate entries" in r.json()["message"]
    doc["spec"]["containers"] = [{"image": "no-name"}]
    r = apply(cluster, pod_path, doc)
    assert r.code == 400, r.body
    assert cluster.get(pod_path).code == 404  # nothing was created

    # A huge list applied and contested stays an ordinary answer.
    big = cm_doc("ssa-big", {}, {"k%d" % i: "v" for i in range(20000)})
    r = apply(cluster, cm_path("ssa-big"), big, manager="one")
    assert r.code == 201, r.body[:300]
    big["data"] = {"k%d" % i: "w" for i in range(20000)}
    r = apply(cluster, cm_path("ssa-big"), big, manager="two")
    assert r.code == 409
    assert len(r.json()["details"]["causes"]) == 20000


def test_updates_keep_managed_fields(cluster):
    name = "ssa-put"
    path = cm_path(name)
    r = apply(cluster, path, cm_doc(name, {"a": "1"}, {"k": "v"}))
    assert r.code == 201, r.body
    mf = obj(cluster, path)["metadata"]["managedFields"]

    # A PUT without managedFields keeps them.
    cur = obj(cluster, path)
    del cur["metadata"]["managedFields"]
    cur["data"]["k"] = "v2"
    r = cluster.put(path, cur)
    assert r.code == 200, r.body
    assert obj(cluster, path)["metadata"]["managedFields"] == mf

    # So does a malformed list, and a merge patch that does not name them.
    cur = obj(cluster, path)
    cur["metadata"]["managedFields"] = [{"manager": "x", "operation": "Bogus"}]
    r = cluster.put(path, cur)
    assert r.code == 200, r.body
    assert obj(cluster, path)["metadata"]["managedFields"] == mf
    r = cluster.patch(path, {"data": {"k": "v3"}}, "application/merge-patch+json")
    assert r.code == 200, r.body
    assert obj(cluster, path)["metadata"]["managedFields"] == mf

    # An explicit empty list clears them; a valid list sent is kept.
    cur = obj(cluster, path)
    cur["metadata"]["managedFields"] = []
    r = cluster.put(path, cur)
    assert r.code == 200, r.body
    assert "managedFields" not in obj(cluster, path)["metadata"]
    cur = obj(cluster, path)
    cur["metadata"]["managedFields"] = mf
    r = cluster.put(path, cur)
    assert r.code == 200, r.body
    assert obj(cluster, path)["metadata"]["managedFields"] == mf

"""fieldValidation (Strict, Warn, Ignore, absent) over raw HTTP.

For POST, PUT, merge, strategic-merge and JSON patches and server-side
apply, each test checks the status code and message Kubernetes gives, the
Warning headers (every one of them, not just the first), and what the
server holds afterwards: a refused request stores nothing and leaves the
store's revision where it was.
"""
import glob
import json
import os
import urllib.error
import urllib.request

import pytest
import yaml

from conftest import ROOT, pod_manifest

# The API alone: a background controller write would move the store revision
# that the "nothing was written" checks compare.
WHARF_SERVER_ARGS = ("--controllers=false",)

PODS = "/api/v1/namespaces/default/pods"
SVCS = "/api/v1/namespaces/default/services"
JOBS = "/apis/batch/v1/namespaces/default/jobs"
MERGE = "application/merge-patch+json"
SMP = "application/strategic-merge-patch+json"
JSONPATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


class Reply:
    def __init__(self, code, body, warnings):
        self.code = code
        self.body = body
        self.warnings = warnings

    def json(self):
        return json.loads(self.body)


def call(cluster, method, path, body=None, ctype="application/json", fv=None, raw=None):
    """One request; fv is the fieldValidation value (None: not sent)."""
    if fv is not None:
        path += ("&" if "?" in path else "?") + "fieldValidation=" + fv
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(cluster.server.url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    req.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return Reply(r.status, r.read().decode(), r.headers.get_all("Warning") or [])
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.read().decode(), e.headers.get_all("Warning") or [])


def revision(cluster):
    r = cluster.get("/api/v1/namespaces?limit=1")
    assert r.code == 200, r.body
    return int(r.json()["metadata"]["resourceVersion"])


def bogus_pod(name, **extra):
    m = pod_manifest(name)
    m["spec"]["containers"][0]["bogusField"] = 1
    m["spec"]["containers"][0].update(extra)
    return m


def warning(text):
    """The Warning header value kube-apiserver sends for text."""
    return '299 - "%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


UNK = 'unknown field "spec.containers[0].bogusField"'
SVC_UNK = 'unknown field "spec.ports[0].bogusField"'


def service(name, bogus=False):
    """A Service: unlike a Pod's, its spec may change on update."""
    s = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
         "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}
    if bogus:
        s["spec"]["ports"][0]["bogusField"] = 1
    return s


# ---- create ------------------------------------------------------------------


def test_create_strict_refused_nothing_stored(cluster):
    before = revision(cluster)
    r = call(cluster, "POST", PODS, bogus_pod("fv-strict", other=2), fv="Strict")
    assert r.code == 400, r.body
    st = r.json()
    assert st["reason"] == "BadRequest"
    assert st["message"] == ('Pod in version "v1" cannot be handled as a Pod: strict decoding '
                             'error: unknown field "spec.containers[0].bogusField", '
                             'unknown field "spec.containers[0].other"')
    assert r.warnings == []
    assert cluster.get(PODS + "/fv-strict").code == 404
    assert revision(cluster) == before


@pytest.mark.parametrize("fv", ["Warn", None, ""])
def test_create_warn_and_absent(cluster, fv):
    name = "fv-warn-" + {"Warn": "warn", None: "absent", "": "empty"}[fv]
    r = call(cluster, "POST", PODS, bogus_pod(name), fv=fv)
    assert r.code == 201, r.body
    assert r.warnings == [warning(UNK)]
    assert cluster.get(PODS + "/" + name).code == 200
    cluster.delete(PODS + "/" + name)


def test_create_ignore(cluster):
    r = call(cluster, "POST", PODS, bogus_pod("fv-ignore"), fv="Ignore")
    assert r.code == 201, r.body
    assert r.warnings == []
    got = cluster.get(PODS + "/fv-ignore").json()
    assert got["spec"]["containers"][0]["bogusField"] == 1  # stored, never dropped silently
    cluster.delete(PODS + "/fv-ignore")


@pytest.mark.parametrize("fv", ["strict", "STRICT", "true", "Strict,Warn"])
def test_bad_directive(cluster, fv):
    before = revision(cluster)
    r = call(cluster, "POST", PODS, pod_manifest("fv-bad-directive"), fv=fv)
    assert r.code == 422, r.body
    st = r.json()
    assert st["reason"] == "Invalid"
    assert st["message"].startswith('CreateOptions.meta.k8s.io "" is invalid: fieldValidation: '
                                    'Unsupported value: ')
    assert st["details"]["causes"][0]["field"] == "fieldValidation"
    assert cluster.get(PODS + "/fv-bad-directive").code == 404
    assert revision(cluster) == before
    r = call(cluster, "PATCH", PODS + "/whatever", {}, ctype=MERGE, fv=fv)
    assert r.code == 422 and "PatchOptions.meta.k8s.io" in r.json()["message"]


def test_valid_pod_strict_no_warning(cluster):
    m = pod_manifest("fv-clean", labels={"any.domain/key": "v", "spec": "x"})
    m["metadata"]["annotations"] = {"bogusField": "annotations are free-form"}
    m["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": 1, "cpu": "1"}}
    m["spec"]["volumes"] = [{"name": "v", "configMap": {"name": "c"}},
                            {"name": "e", "ephemeral": {"volumeClaimTemplate": {"spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": "1Gi"}}}}}}]
    m["status"] = {}
    r = call(cluster, "POST", PODS, m, fv="Strict")
    assert r.code == 201, r.body
    assert r.warnings == []
    cluster.delete(PODS + "/fv-clean")


def test_nested_job_path_and_yaml_body(cluster):
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "fv-job"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "a", "image": "i"},
               {"name": "b", "image": "i", "ports": [{"containerPort": 1, "bogus": 2}]}]}},
               "backoffLimitPerIndex": 1, "completionMode": "Indexed", "completions": 2,
               "podFailurePolicy": {"rules": [{"action": "FailIndex", "onExitCodes": {
                   "operator": "In", "values": [3]}}]}}}
    body = yaml.safe_dump(job).encode()
    r = call(cluster, "POST", JOBS, ctype="application/yaml", raw=body, fv="Strict")
    assert r.code == 400, r.body
    assert r.json()["message"] == (
        'Job in version "v1" cannot be handled as a Job: strict decoding error: unknown field '
        '"spec.template.spec.containers[1].ports[0].bogus"')
    assert cluster.get(JOBS + "/fv-job").code == 404
    del job["spec"]["template"]["spec"]["containers"][1]["ports"][0]["bogus"]
    r = call(cluster, "POST", JOBS, ctype="application/yaml",
             raw=yaml.safe_dump(job).encode(), fv="Strict")
    assert r.code == 201, r.body
    cluster.delete(JOBS + "/fv-job", {"propagationPolicy": "Background"})


def test_duplicate_fields(cluster):
    body = (b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"fv-dup-a","name":"fv-dup"},'
            b'"spec":{"containers":[{"name":"main","image":"busybox","image":"busybox:2"}]}}')
    before = revision(cluster)
    r = call(cluster, "POST", PODS, raw=body, fv="Strict")
    assert r.code == 400, r.body
    assert r.json()["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: duplicate field '
        '"metadata.name", duplicate field "spec.containers[0].image"')
    assert revision(cluster) == before
    r = call(cluster, "POST", PODS, raw=body, fv="Warn")
    assert r.code == 201, r.body
    assert r.warnings == [warning('duplicate field "metadata.name"'),
                          warning('duplicate field "spec.containers[0].image"')]
    got = cluster.get(PODS + "/fv-dup").json()  # the last value wins
    assert got["spec"]["containers"][0]["image"] == "busybox:2"
    cluster.delete(PODS + "/fv-dup")
    r = call(cluster, "POST", PODS, raw=body, fv="Ignore")
    assert r.code == 201 and r.warnings == []
    cluster.delete(PODS + "/fv-dup")
    # malformed JSON stays a plain 400, whatever the directive
    r = call(cluster, "POST", PODS, raw=b'{"metadata":{"name":"x","name":"y"}', fv="Warn")
    assert r.code == 400 and "json parse error" in r.json()["message"]


def test_kind_without_schema_accepts_everything(cluster):
    pg = {"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
          "metadata": {"name": "fv-pg"}, "spec": {"minMember": 1, "madeUp": {"x": 1}}}
    path = "/apis/scheduling.x-k8s.io/v1alpha1/namespaces/default/podgroups"
    r = call(cluster, "POST", path, pg, fv="Strict")
    assert r.code == 201, r.body
    assert r.warnings == []
    cluster.delete(path + "/fv-pg")


def test_warnings_are_bounded(cluster):
    m = pod_manifest("fv-many")
    for i in range(300):
        m["spec"]["containers"][0]["bogus%03d" % i] = i
    r = call(cluster, "POST", PODS, m, fv="Strict")
    assert r.code == 400
    assert r.json()["message"].count("unknown field") == 100
    r = call(cluster, "POST", PODS, m, fv="Warn")
    assert r.code == 201, r.body
    assert 0 < len(r.warnings) <= 50
    assert sum(len(w) for w in r.warnings) <= 4096 + 16 * len(r.warnings)
    cluster.delete(PODS + "/fv-many")


# ---- update --------------------------------------------------------------------


def test_put(cluster):
    r = call(cluster, "POST", SVCS, service("fv-put"), fv="Strict")
    assert r.code == 201, r.body
    cur = r.json()
    rv = cur["metadata"]["resourceVersion"]
    cur["spec"]["ports"][0]["bogusField"] = 1
    before = revision(cluster)
    r = call(cluster, "PUT", SVCS + "/fv-put", cur, fv="Strict")
    assert r.code == 400, r.body
    assert r.json()["message"] == ('Service in version "v1" cannot be handled as a Service: '
                                   'strict decoding error: ' + SVC_UNK)
    got = cluster.get(SVCS + "/fv-put").json()
    assert got["metadata"]["resourceVersion"] == rv
    assert "bogusField" not in got["spec"]["ports"][0]
    assert revision(cluster) == before
    r = call(cluster, "PUT", SVCS + "/fv-put", cur)
    assert r.code == 200, r.body
    assert r.warnings == [warning(SVC_UNK)]
    cur = r.json()
    r = call(cluster, "PUT", SVCS + "/fv-put", cur, fv="Ignore")
    assert r.code == 200 and r.warnings == []
    cluster.delete(SVCS + "/fv-put")


def test_put_status(cluster):
    """The status subresource's body is checked as a whole object too."""
    r = call(cluster, "POST", PODS, pod_manifest("fv-status"))
    assert r.code == 201, r.body
    st = r.json()
    st["status"] = {"phase": "Pending", "phaze": "x"}
    r = call(cluster, "PUT", PODS + "/fv-status/status", st, fv="Strict")
    assert r.code == 400, r.body
    assert r.json()["message"].endswith('strict decoding error: unknown field "status.phaze"')
    assert "phaze" not in cluster.get(PODS + "/fv-status").json().get("status", {})
    r = call(cluster, "PUT", PODS + "/fv-status/status", st, fv="Warn")
    assert r.code == 200 and r.warnings == [warning('unknown field "status.phaze"')]
    cluster.delete(PODS + "/fv-status")


# ---- patches ---------------------------------------------------------------------


@pytest.mark.parametrize("ctype,patch,unknown", [
    (MERGE, {"spec": {"bogusField": 1}}, 'unknown field "spec.bogusField"'),
    (SMP, {"spec": {"ports": [{"port": 80, "bogusField": 1}]}}, SVC_UNK),
    (JSONPATCH, [{"op": "add", "path": "/spec/ports/0/bogusField", "value": 1}], SVC_UNK),
])
def test_patch(cluster, ctype, patch, unknown):
    name = "fv-patch-" + ctype.split("/")[1].split("-")[0]
    path = SVCS + "/" + name
    assert call(cluster, "POST", SVCS, service(name)).code == 201
    rv = cluster.get(path).json()["metadata"]["resourceVersion"]
    before = revision(cluster)
    r = call(cluster, "PATCH", path, patch, ctype=ctype, fv="Strict")
    assert r.code == 422, r.body
    st = r.json()
    assert st["reason"] == "Invalid"
    assert st["message"].startswith(' "" is invalid: patch: Invalid value: ')
    assert st["message"].endswith("strict decoding error: " + unknown)
    assert st["details"]["causes"][0]["field"] == "patch"
    assert cluster.get(path).json()["metadata"]["resourceVersion"] == rv
    assert revision(cluster) == before
    r = call(cluster, "PATCH", path, patch, ctype=ctype, fv="Warn")
    assert r.code == 200, r.body
    assert r.warnings == [warning(unknown)]
    # a later patch is judged on what it brings, not on what was stored
    r = call(cluster, "PATCH", path, {"metadata": {"labels": {"x": "y"}}}, ctype=MERGE,
             fv="Strict")
    assert r.code == 200, r.body
    assert r.warnings == []
    r = call(cluster, "PATCH", path, {"spec": {"nope": 1}}, ctype=MERGE, fv="Ignore")
    assert r.code == 200 and r.warnings == []
    assert cluster.get(path).json()["spec"]["nope"] == 1
    cluster.delete(path)


def test_patch_duplicate_keys(cluster):
    assert call(cluster, "POST", PODS, pod_manifest("fv-patch-dup")).code == 201
    path = PODS + "/fv-patch-dup"
    raw = b'{"metadata":{"labels":{"a":"1","a":"2"}}}'
    r = call(cluster, "PATCH", path, raw=raw, ctype=MERGE, fv="Strict")
    assert r.code == 422, r.body
    assert r.json()["message"].endswith('strict decoding error: duplicate field '
                                        '"metadata.labels.a"')
    r = call(cluster, "PATCH", path, raw=raw, ctype=MERGE)
    assert r.code == 200 and r.warnings == [warning('duplicate field "metadata.labels.a"')]
    assert cluster.get(path).json()["metadata"]["labels"]["a"] == "2"
    cluster.delete(path)


def test_server_side_apply(cluster):
    path = SVCS + "/fv-ssa"
    before = revision(cluster)
    r = call(cluster, "PATCH", path + "?fieldManager=t", service("fv-ssa", bogus=True),
             ctype=APPLY, fv="Strict")
    assert r.code == 400, r.body
    assert r.json()["message"].endswith("strict decoding error: " + SVC_UNK)
    assert cluster.get(path).code == 404
    assert revision(cluster) == before
    r = call(cluster, "PATCH", path + "?fieldManager=t", service("fv-ssa"), ctype=APPLY,
             fv="Strict")
    assert r.code == 201, r.body
    rv = r.json()["metadata"]["resourceVersion"]
    r = call(cluster, "PATCH", path + "?fieldManager=t", service("fv-ssa", bogus=True),
             ctype=APPLY, fv="Strict")
    assert r.code == 400, r.body
    assert cluster.get(path).json()["metadata"]["resourceVersion"] == rv
    r = call(cluster, "PATCH", path + "?fieldManager=t", service("fv-ssa", bogus=True),
             ctype=APPLY)
    assert r.code == 200, r.body
    assert r.warnings == [warning(SVC_UNK)]
    cluster.delete(path)


# ---- manifests that ship with Wharf ----------------------------------------------


def test_examples_pass_strict(cluster):
    ns = "fv-examples"
    assert cluster.post("/api/v1/namespaces", {"metadata": {"name": ns}}).code == 201
    files = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")))
    assert files
    seen = 0
    for f in files:
        with open(f) as fh:
            for doc in yaml.safe_load_all(fh):
                if not doc:
                    continue
                group_version = doc["apiVersion"]
                plural = doc["kind"].lower() + "s"
                base = "/api/v1" if group_version == "v1" else "/apis/" + group_version
                r = call(cluster, "POST", "%s/namespaces/%s/%s" % (base, ns, plural), doc,
                         fv="Strict")
                assert r.code == 201, (f, r.body)
                assert r.warnings == [], (f, r.warnings)
                seen += 1
    assert seen >= 3
    cluster.delete("/api/v1/namespaces/" + ns)

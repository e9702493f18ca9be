"""Hostile and malformed input over raw HTTP.

Every test checks the answer (a Status with the right code and reason, and
for 422 the causes naming the bad field) and that nothing was stored or
changed: the global revision (a list's resourceVersion) stays the same, and
the objects involved keep their resourceVersion and content. The server must
stay healthy throughout; conftest checks the sanitizer log at teardown.
"""
import contextlib
import json
import shutil
import socket
import time

import pytest

from conftest import Cluster, Server

# The API alone: a background controller write would move the store revision
# that the "nothing was written" checks compare.
WHARF_SERVER_ARGS = ("--controllers=false",)

NS = "default"
PODS = "/api/v1/namespaces/%s/pods" % NS
CMS = "/api/v1/namespaces/%s/configmaps" % NS
JOBS = "/apis/batch/v1/namespaces/%s/jobs" % NS


def pod(name, **spec_extra):
    m = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
         "spec": {"containers": [{"name": "main", "image": "busybox"}]}}
    m["spec"].update(spec_extra)
    return m


def job(name):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "c", "image": "busybox"}]}}}}


def revision(cluster):
    """The store's current revision: no write anywhere leaves it unchanged."""
    r = cluster.get("/api/v1/namespaces")
    assert r.code == 200, r.body
    return int(r.json()["metadata"]["resourceVersion"])


@contextlib.contextmanager
def nothing_written(cluster):
    before = revision(cluster)
    yield
    after = revision(cluster)
    assert after == before, "a rejected request wrote to the store (%d -> %d)" % (before, after)


def assert_status(resp, code, reason=None):
    assert resp.code == code, "want %d, got %d: %s" % (code, resp.code, resp.body[:600])
    st = resp.json()
    assert st["kind"] == "Status", st
    assert st["apiVersion"] == "v1", st
    assert st["status"] == "Failure", st
    assert st["code"] == code, st
    assert st.get("message"), st
    if reason is not None:
        assert st["reason"] == reason, st
    return st


def assert_invalid(resp, *fields):
    st = assert_status(resp, 422, "Invalid")
    causes = st["details"]["causes"]
    got = [c["field"] for c in causes]
    for f in fields:
        assert f in got, "no cause for %s in %s" % (f, got)
    for c in causes:
        assert c["reason"] and c["message"], c
    return st


def assert_absent(cluster, path):
    r = cluster.get(path)
    assert_status(r, 404, "NotFound")


def create(cluster, path, body):
    r = cluster.post(path, body)
    assert r.code == 201, r.body[:600]
    return r.json()


def fetch(cluster, path):
    r = cluster.get(path)
    assert r.code == 200, r.body[:600]
    return r.json()


@pytest.fixture(scope="module")
def victim(cluster):
    """A ConfigMap and a Pod that bad writes aim at; tests check they stay put."""
    create(cluster, CMS, {"metadata": {"name": "victim", "labels": {"a": "1"}},
                          "data": {"k": "v"}})
    create(cluster, PODS, pod("victim-pod"))
    return {"cm": CMS + "/victim", "pod": PODS + "/victim-pod"}


@contextlib.contextmanager
def unchanged(cluster, *paths):
    before = [fetch(cluster, p) for p in paths]
    with nothing_written(cluster):
        yield
    after = [fetch(cluster, p) for p in paths]
    assert after == before


# ---- bodies that do not parse ----------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b"{bad", b"{\"metadata\": {\"name\": \"x\"}", b"{\"a\":1} trailing", b"\xff\xfe\x00garbage",
    b"{\"metadata\":{\"name\":\"a\\u0000b\"}}",
    b"{\"metadata\":{\"name\":\"\xc3\x28\"}}", b"   ", b"nul\x00l",
])
def test_malformed_json(cluster, raw):
    with nothing_written(cluster):
        r = cluster.request("POST", PODS, raw=raw)
        assert_status(r, 400, "BadRequest")


def test_duplicate_keys_strict(cluster):
    """A repeated key is a strict decoding error under fieldValidation=Strict
    (without the parameter Kubernetes warns and keeps the last value; see
    test_field_validation.py)."""
    with nothing_written(cluster):
        r = cluster.request("POST", PODS + "?fieldValidation=Strict",
                            raw=b"{\"metadata\":{\"name\":\"x\",\"name\":\"y\"}}")
        assert_status(r, 400, "BadRequest")
        assert 'duplicate field \"metadata.name\"' in r.json()["message"]


def test_empty_body(cluster):
    with nothing_written(cluster):
        assert_status(cluster.request("POST", PODS, raw=b""), 400, "BadRequest")
        assert_status(cluster.request("POST", PODS), 400, "BadRequest")


@pytest.mark.parametrize("text", [
    "metadata: [a\n  name: :",
    "metadata:\n\tname: tab-indented\n",
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: 'unterminated\n",
    "a: b: c\n",
    "- a\nb: c\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y1\n---\napiVersion: v1\n"
    "kind: ConfigMap\nmetadata:\n  name: y2\n",
    "key: *undefined_alias\n",
])
def test_malformed_yaml(cluster, text):
    with nothing_written(cluster):
        r = cluster.post(CMS, text, content_type="application/yaml")
        assert_status(r, 400, "BadRequest")
    assert_absent(cluster, CMS + "/y1")


def test_yaml_alias_bomb(cluster):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    prev = "a"
    for name in "bcdefghij":
        lines.append("%s: &%s [%s]" % (name, name, ",".join(["*" + prev] * 9)))
        prev = name
    with nothing_written(cluster):
        r = cluster.post(CMS, "\n".join(lines) + "\n", content_type="application/yaml")
        assert_status(r, 400, "BadRequest")
    assert cluster.get("/healthz").code == 200


def test_unsupported_media_type_on_create(cluster):
    with nothing_written(cluster):
        r = cluster.post(CMS, json.dumps({"metadata": {"name": "plain"}}),
                         content_type="text/plain")
        assert_status(r, 415, "UnsupportedMediaType")
    assert_absent(cluster, CMS + "/plain")


@pytest.mark.parametrize("body", ["[]", "[1, 2]", "\"a string\"", "42", "null", "true", "1.5"])
def test_valid_json_wrong_shape(cluster, body):
    with nothing_written(cluster):
        assert_status(cluster.post(PODS, body), 400, "BadRequest")


def test_valid_yaml_wrong_shape(cluster):
    with nothing_written(cluster):
        for text in ["- a\n- b\n", "just a string\n", "42\n"]:
            r = cluster.post(CMS, text, content_type="application/yaml")
            assert_status(r, 400, "BadRequest")


# ---- wrong types ------------------------------------------------------------------------


def test_containers_as_string(cluster):
    body = pod("wt-1")
    body["spec"]["containers"] = "busybox"
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, body), "spec.containers")
    assert_absent(cluster, PODS + "/wt-1")


def test_spec_as_string(cluster):
    body = pod("wt-2")
    body["spec"] = "nope"
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, body), "spec")
    assert_absent(cluster, PODS + "/wt-2")


def test_labels_as_list(cluster):
    body = pod("wt-3")
    body["metadata"]["labels"] = ["app", "web"]
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, body), "metadata.labels")
    assert_absent(cluster, PODS + "/wt-3")


def test_label_values_not_strings(cluster):
    body = pod("wt-4")
    body["metadata"]["labels"] = {"n": 1, "b": True, "o": {"x": "y"}}
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, body), "metadata.labels")
    assert_absent(cluster, PODS + "/wt-4")


@pytest.mark.parametrize("bad_name", [42, 1.5, ["a"], {"a": "b"}, True])
def test_name_not_a_string(cluster, bad_name):
    body = pod("x")
    body["metadata"]["name"] = bad_name
    with nothing_written(cluster):
        r = cluster.post(PODS, body)
        if r.code == 422:
            assert_invalid(r, "metadata.name")
        else:
            assert_status(r, 400, "BadRequest")


def test_metadata_not_an_object(cluster):
    body = pod("x")
    body["metadata"] = "x"
    with nothing_written(cluster):
        assert_status(cluster.post(PODS, body), 400, "BadRequest")


def test_container_fields_wrong_types(cluster):
    body = pod("wt-5")
    body["spec"]["containers"][0].update({"image": 7, "command": "sleep 1",
                                          "env": {"A": "b"}})
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, body), "spec.containers[0].image",
                       "spec.containers[0].command", "spec.containers[0].env")
    assert_absent(cluster, PODS + "/wt-5")


@pytest.mark.parametrize("field,value", [
    ("parallelism", "2"), ("completions", "3"), ("backoffLimit", -1), ("parallelism", 1.5),
    ("suspend", "yes"), ("completionMode", "Sometimes"),
])
def test_job_counts_wrong_types(cluster, field, value):
    body = job("wt-job")
    body["spec"][field] = value
    with nothing_written(cluster):
        assert_invalid(cluster.post(JOBS, body), "spec." + field)
    assert_absent(cluster, JOBS + "/wt-job")


# ---- identity: apiVersion, kind, namespace, name -----------------------------------------


@pytest.mark.parametrize("api_version,kind", [
    ("v2", "Pod"), ("batch/v1", "Pod"), ("apps/v1", "Pod"), ("v1", "Service"), ("v1", "Foo"),
    ("v1", "pod"), (5, "Pod"), ("v1", ["Pod"]),
])
def test_type_mismatch_with_url(cluster, api_version, kind):
    body = pod("mismatch")
    body["apiVersion"] = api_version
    body["kind"] = kind
    with nothing_written(cluster):
        assert_status(cluster.post(PODS, body), 400, "BadRequest")
    assert_absent(cluster, PODS + "/mismatch")


def test_job_body_sent_to_pods(cluster):
    with nothing_written(cluster):
        assert_status(cluster.post(PODS, job("jobby")), 400, "BadRequest")
    assert_absent(cluster, PODS + "/jobby")
    assert_absent(cluster, JOBS + "/jobby")


def test_unknown_resource_in_url(cluster):
    with nothing_written(cluster):
        r = cluster.post("/api/v1/namespaces/default/widgets", {"metadata": {"name": "w"}})
        assert_status(r, 404, "NotFound")
        r = cluster.post("/apis/nope.example.com/v1/namespaces/default/widgets",
                         {"metadata": {"name": "w"}})
        assert_status(r, 404, "NotFound")


def test_namespace_mismatch(cluster):
    create(cluster, "/api/v1/namespaces", {"metadata": {"name": "other"}})
    body = pod("ns-mismatch")
    body["metadata"]["namespace"] = "other"
    with nothing_written(cluster):
        assert_status(cluster.post(PODS, body), 400, "BadRequest")
    assert_absent(cluster, PODS + "/ns-mismatch")
    assert_absent(cluster, "/api/v1/namespaces/other/pods/ns-mismatch")


def test_create_in_missing_namespace(cluster):
    with nothing_written(cluster):
        r = cluster.post("/api/v1/namespaces/no-such-ns/pods", pod("orphan"))
        st = assert_status(r, 404, "NotFound")
        assert "no-such-ns" in st["message"]
    assert_absent(cluster, "/api/v1/namespaces/no-such-ns")
    r = fetch(cluster, "/api/v1/pods")
    assert all(p["metadata"]["name"] != "orphan" for p in r["items"])


@pytest.mark.parametrize("name", [
    "UPPER", "Mixed-Case", "a" * 254, "under_score", "-leading", "trailing-", "a..b", "sp ace",
    "a/b", "ünicode",
])
def test_invalid_names(cluster, name):
    body = pod(name)
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, body), "metadata.name")


def test_empty_name_without_generate_name(cluster):
    for md in [{}, {"name": ""}, {"generateName": ""}, {"name": None}]:
        body = pod("x")
        body["metadata"] = md
        with nothing_written(cluster):
            assert_invalid(cluster.post(PODS, body), "metadata.name")


def test_invalid_generate_name(cluster):
    body = pod("x")
    body["metadata"] = {"generateName": "Bad_Prefix-"}
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, body), "metadata.name")


def test_name_boundaries_accepted(cluster):
    """Control: the longest valid subdomain name, and generateName, work."""
    name = ("a" * 63 + ".") * 3 + "a" * 61
    assert len(name) == 253
    obj = create(cluster, PODS, pod(name))
    assert obj["metadata"]["name"] == name
    assert cluster.delete(PODS + "/" + name).code == 200
    body = pod("x")
    body["metadata"] = {"generateName": "gen-"}
    obj = create(cluster, PODS, body)
    assert obj["metadata"]["name"].startswith("gen-") and len(obj["metadata"]["name"]) > 4
    assert cluster.delete(PODS + "/" + obj["metadata"]["name"]).code == 200


def test_invalid_namespace_name(cluster):
    with nothing_written(cluster):
        for name in ["Bad_NS", "a" * 64, "dots.not.allowed"]:
            r = cluster.post("/api/v1/namespaces", {"metadata": {"name": name}})
            assert_invalid(r, "metadata.name")


def test_resource_version_on_create(cluster):
    body = pod("with-rv")
    body["metadata"]["resourceVersion"] = "5"
    with nothing_written(cluster):
        assert_status(cluster.post(PODS, body), 400, "BadRequest")
    assert_absent(cluster, PODS + "/with-rv")


# ---- labels and annotations -----------------------------------------------------------------


@pytest.mark.parametrize("labels", [
    {"bad key": "v"}, {"a/b/c": "v"}, {"-lead": "v"}, {"x" * 64: "v"},
    {("p" * 254) + "/name": "v"}, {"UPPER.example.com/ok": "v"}, {"": "v"},
    {"k": "bad value!"}, {"k": "v" * 64}, {"k": "-lead"}, {"k": "a\nb"},
])
def test_invalid_labels(cluster, labels):
    body = pod("bad-labels")
    body["metadata"]["labels"] = labels
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, body), "metadata.labels")
    assert_absent(cluster, PODS + "/bad-labels")


def test_invalid_annotations(cluster):
    for ann in [{"bad key": "v"}, {"k": 5}, ["a"]]:
        body = pod("bad-ann")
        body["metadata"]["annotations"] = ann
        with nothing_written(cluster):
            assert_invalid(cluster.post(PODS, body), "metadata.annotations")
    assert_absent(cluster, PODS + "/bad-ann")


def test_invalid_node_selector(cluster):
    body = pod("bad-nodesel", nodeSelector={"bad key!": "x"})
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, body), "spec.nodeSelector")


# ---- quantities -------------------------------------------------------------------------------


def resources_pod(name, limits=None, requests=None):
    res = {}
    if limits is not None:
        res["limits"] = limits
    if requests is not None:
        res["requests"] = requests
    body = pod(name)
    body["spec"]["containers"][0]["resources"] = res
    return body


F = "spec.containers[0].resources"


@pytest.mark.parametrize("limits,field", [
    ({"cpu": "1.2.3"}, F + ".limits[cpu]"),
    ({"memory": "abc"}, F + ".limits[memory]"),
    ({"memory": "12Zi"}, F + ".limits[memory]"),
    ({"cpu": "-1"}, F + ".limits[cpu]"),
    ({"memory": "-1Gi"}, F + ".limits[memory]"),
    ({"nvidia.com/gpu": "1.5"}, F + ".limits[nvidia.com/gpu]"),
    ({"nvidia.com/gpu": "500m"}, F + ".limits[nvidia.com/gpu]"),
    ({"cpu": ""}, F + ".limits[cpu]"),
    ({"cpu": True}, F + ".limits[cpu]"),
    ({"bad resource!": "1"}, F + ".limits[bad resource!]"),
])
def test_invalid_quantities(cluster, limits, field):
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, resources_pod("bad-q", limits=limits)), field)
    assert_absent(cluster, PODS + "/bad-q")


def test_invalid_request_quantity(cluster):
    with nothing_written(cluster):
        r = cluster.post(PODS, resources_pod("bad-rq", requests={"cpu": "1.2.3"}))
        assert_invalid(r, F + ".requests[cpu]")


def test_request_above_limit(cluster):
    with nothing_written(cluster):
        r = cluster.post(PODS, resources_pod("req-gt-lim", limits={"cpu": "500m"},
                                             requests={"cpu": "1"}))
        assert_invalid(r, F + ".requests[cpu]")
        r = cluster.post(PODS, resources_pod("req-gt-lim", limits={"memory": "1Gi"},
                                             requests={"memory": "2Gi"}))
        assert_invalid(r, F + ".requests[memory]")
        r = cluster.post(PODS, resources_pod("req-gt-lim", limits={"nvidia.com/gpu": "1"},
                                             requests={"nvidia.com/gpu": "2"}))
        assert_invalid(r, F + ".requests[nvidia.com/gpu]")
    assert_absent(cluster, PODS + "/req-gt-lim")


def test_quantities_accepted(cluster):
    """Control: well-formed quantities pass and come back as written."""
    body = resources_pod("good-q", limits={"cpu": "1500m", "memory": "1Gi", "nvidia.com/gpu": "2"},
                         requests={"cpu": "0.5", "memory": "512Mi"})
    obj = create(cluster, PODS, body)
    res = obj["spec"]["containers"][0]["resources"]
    assert res["limits"]["memory"] == "1Gi"
    assert res["requests"]["nvidia.com/gpu"] == "2"
    assert cluster.delete(PODS + "/good-q?gracePeriodSeconds=0").code == 200


# ---- required fields --------------------------------------------------------------------------


def test_missing_containers(cluster):
    with nothing_written(cluster):
        body = pod("no-ctr")
        del body["spec"]["containers"]
        assert_invalid(cluster.post(PODS, body), "spec.containers")
        body["spec"]["containers"] = []
        assert_invalid(cluster.post(PODS, body), "spec.containers")
        del body["spec"]
        assert_invalid(cluster.post(PODS, body), "spec")
    assert_absent(cluster, PODS + "/no-ctr")


def test_missing_image_and_container_name(cluster):
    body = pod("no-img")
    body["spec"]["containers"] = [{"name": "a"}, {"image": "busybox"}, {"name": "a", "image": ""}]
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, body), "spec.containers[0].image",
                       "spec.containers[1].name", "spec.containers[2].image",
                       "spec.containers[2].name")
    assert_absent(cluster, PODS + "/no-img")


def test_job_missing_template(cluster):
    body = job("no-tmpl")
    del body["spec"]["template"]
    with nothing_written(cluster):
        assert_invalid(cluster.post(JOBS, body), "spec.template")
        body["spec"]["template"] = {"spec": {"restartPolicy": "Always",
                                             "containers": [{"name": "c", "image": "x"}]}}
        assert_invalid(cluster.post(JOBS, body), "spec.template.spec.restartPolicy")
    assert_absent(cluster, JOBS + "/no-tmpl")


# ---- sizes --------------------------------------------------------------------------------------


def test_body_over_limit(cluster, victim):
    filler = "x" * (4 * 1024 * 1024)
    big = {"metadata": {"name": "huge"}, "data": {"k": filler}}
    with unchanged(cluster, victim["cm"]):
        assert_status(cluster.post(CMS, big), 413, "RequestEntityTooLarge")
        put = fetch(cluster, victim["cm"])
        put["data"]["k"] = filler
        assert_status(cluster.put(victim["cm"], put), 413, "RequestEntityTooLarge")
        r = cluster.patch(victim["cm"], {"data": {"k": filler}}, "application/merge-patch+json")
        assert_status(r, 413, "RequestEntityTooLarge")
    assert_absent(cluster, CMS + "/huge")


def test_body_under_limit_but_object_too_big_for_store(cluster):
    """2 MiB passes the request limit but not the store's value limit."""
    big = {"metadata": {"name": "big-cm"}, "data": {"k": "x" * (2 * 1024 * 1024)}}
    with nothing_written(cluster):
        r = cluster.post(CMS, big)
        assert r.code in (413, 422), r.body[:300]
        assert_status(r, r.code)
    assert_absent(cluster, CMS + "/big-cm")


def test_body_far_over_limit(cluster):
    """Past the HTTP layer's own limit: refused, and the server stays up."""
    with nothing_written(cluster):
        try:
            r = cluster.request("POST", CMS, raw=b"x" * (9 * 1024 * 1024))
            assert r.code == 413
        except (ConnectionError, OSError):
            pass  # closing the connection on an absurd upload is fine too
    assert cluster.get("/healthz").code == 200


# ---- optimistic concurrency ----------------------------------------------------------------------


def test_stale_resource_version_on_put(cluster):
    obj = create(cluster, CMS, {"metadata": {"name": "cas"}, "data": {"v": "0"}})
    rv0 = obj["metadata"]["resourceVersion"]
    first = dict(obj, data={"v": "winner"})
    r = cluster.put(CMS + "/cas", first)
    assert r.code == 200, r.body
    won = r.json()
    assert int(won["metadata"]["resourceVersion"]) > int(rv0)
    loser = dict(obj, data={"v": "loser"})
    loser["metadata"] = dict(obj["metadata"], resourceVersion=rv0)
    with unchanged(cluster, CMS + "/cas"):
        st = assert_status(cluster.put(CMS + "/cas", loser), 409, "Conflict")
        assert st["details"]["name"] == "cas"
        # a merge patch carrying the stale resourceVersion is a precondition too
        r = cluster.patch(CMS + "/cas", {"metadata": {"resourceVersion": rv0},
                                          "data": {"v": "loser"}}, "application/merge-patch+json")
        assert_status(r, 409, "Conflict")
    now = fetch(cluster, CMS + "/cas")
    assert now["data"] == {"v": "winner"}
    assert now["metadata"]["resourceVersion"] == won["metadata"]["resourceVersion"]


@pytest.mark.parametrize("rv", ["abc", "-1", "1.5", "0x10", "99999999999999999999999"])
def test_malformed_resource_version_on_put(cluster, victim, rv):
    obj = fetch(cluster, victim["cm"])
    obj["metadata"]["resourceVersion"] = rv
    obj["data"] = {"k": "changed"}
    with unchanged(cluster, victim["cm"]):
        r = cluster.put(victim["cm"], obj)
        assert r.code in (400, 409), r.body
        assert_status(r, r.code)


def test_put_name_mismatch(cluster, victim):
    obj = fetch(cluster, victim["cm"])
    obj["metadata"]["name"] = "someone-else"
    with unchanged(cluster, victim["cm"]):
        assert_status(cluster.put(victim["cm"], obj), 400, "BadRequest")
    assert_absent(cluster, CMS + "/someone-else")


def test_put_missing_object(cluster):
    with nothing_written(cluster):
        r = cluster.put(PODS + "/ghost", pod("ghost"))
        assert_status(r, 404, "NotFound")


def test_create_existing_name(cluster, victim):
    with unchanged(cluster, victim["cm"]):
        r = cluster.post(CMS, {"metadata": {"name": "victim"}, "data": {"k": "other"}})
        st = assert_status(r, 409, "AlreadyExists")
        assert st["details"]["name"] == "victim"
        assert st["details"]["kind"] == "configmaps"


# ---- patches -------------------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", ["text/plain", "application/json", "application/yaml",
                                   "application/xml", "", "application/merge-patch+jsonx"])
def test_patch_unsupported_media_type(cluster, victim, ctype):
    with unchanged(cluster, victim["cm"]):
        r = cluster.request("PATCH", victim["cm"], {"data": {"k": "x"}}, content_type=ctype)
        if ctype == "":
            # urllib drops an empty header: no Content-Type at all
            assert r.code == 415
        assert_status(r, 415, "UnsupportedMediaType")


@pytest.mark.parametrize("ops", [
    [{"op": "add", "value": "x"}],                                       # missing path
    [{"op": "add", "path": 5, "value": "x"}],                            # path not a string
    [{"op": "frobnicate", "path": "/data/k", "value": "x"}],            # unknown op
    [{"path": "/data/k", "value": "x"}],                                 # missing op
    [{"op": "add", "path": "/data/k"}],                                  # missing value
    [{"op": "replace", "path": "/data/nope", "value": "x"}],             # replace missing key
    [{"op": "remove", "path": "/data/nope"}],                            # remove missing key
    [{"op": "add", "path": "data/k", "value": "x"}],                     # no leading slash
    [{"op": "add", "path": "/no/such/parent", "value": "x"}],
    [{"op": "move", "from": "/data/nope", "path": "/data/k2"}],
    [{"op": "copy", "path": "/data/k2"}],                                # missing from
    [{"op": "add", "path": "/metadata/labels/b", "value": "2"},         # first op would apply
     {"op": "test", "path": "/data/k", "value": "not-the-value"}],      # ...but the test fails
    [{"op": "test", "path": "/data/k", "value": "v", "extra": 1},
     {"op": "replace", "path": "/data/k/x", "value": "y"}],              # path into a string
    ["not-an-op"],
    [{"op": "add", "path": "/metadata/labels/~2", "value": "x"}],        # bad ~ escape
])
def test_malformed_json_patch(cluster, victim, ops):
    with unchanged(cluster, victim["cm"]):
        r = cluster.patch(victim["cm"], ops, "application/json-patch+json")
        assert r.code in (400, 422), r.body
        assert_status(r, r.code)


@pytest.mark.parametrize("body", ['{"op":"add","path":"/x","value":1}', '"x"', "[", "{}"])
def test_json_patch_not_a_list(cluster, victim, body):
    with unchanged(cluster, victim["cm"]):
        r = cluster.patch(victim["cm"], body, "application/json-patch+json")
        assert_status(r, 400, "BadRequest")


@pytest.mark.parametrize("ops", [
    [{"op": "replace", "path": "/kind", "value": "Secret"}],
    [{"op": "replace", "path": "/apiVersion", "value": "v2"}],
    [{"op": "replace", "path": "/metadata/name", "value": "renamed"}],
    [{"op": "replace", "path": "/metadata/namespace", "value": "kube-system"}],
    [{"op": "replace", "path": "", "value": 5}],
    [{"op": "remove", "path": "/metadata"}],
    [{"op": "add", "path": "/metadata/labels/bad key", "value": "x"}],
])
def test_json_patch_to_invalid_object(cluster, victim, ops):
    with unchanged(cluster, victim["cm"]):
        r = cluster.patch(victim["cm"], ops, "application/json-patch+json")
        assert r.code in (400, 422), r.body
        st = assert_status(r, r.code)
        if r.code == 422 and "details" in st and "causes" in st["details"]:
            assert st["details"]["causes"]
    assert_absent(cluster, CMS + "/renamed")
    assert_absent(cluster, "/api/v1/namespaces/kube-system/configmaps/victim")


@pytest.mark.parametrize("patch", [
    {"metadata": {"labels": {"$patch": "bogus"}}},
    {"$patch": "bogus"},
    {"spec": {"containers": [{"$patch": "frobnicate", "name": "main"}]}},
    {"spec": {"$setElementOrder/containers": "not-a-list"}},
    {"spec": {"containers": [{"image": "no-merge-key"}]}},
    {"$retainKeys": 5},
    {"spec": {"$deleteFromPrimitiveList/args": "x"}},
    {"metadata": {"$deleteFromPrimitiveList/finalizers": {"a": "b"}}},
])
def test_strategic_patch_bad_directive(cluster, victim, patch):
    with unchanged(cluster, victim["pod"]):
        r = cluster.patch(victim["pod"], patch, "application/strategic-merge-patch+json")
        assert_status(r, 400, "BadRequest")


@pytest.mark.parametrize("ctype", ["application/merge-patch+json",
                                   "application/strategic-merge-patch+json"])
@pytest.mark.parametrize("body", ["[]", "\"x\"", "{bad", "7"])
def test_merge_patch_not_an_object(cluster, victim, ctype, body):
    with unchanged(cluster, victim["pod"]):
        assert_status(cluster.patch(victim["pod"], body, ctype), 400, "BadRequest")


def test_patch_producing_invalid_object(cluster, victim):
    with unchanged(cluster, victim["pod"], victim["cm"]):
        r = cluster.patch(victim["pod"], {"metadata": {"labels": {"bad key": "v"}}},
                          "application/merge-patch+json")
        assert_invalid(r, "metadata.labels")
        r = cluster.patch(victim["cm"], {"data": {"k": 5}}, "application/merge-patch+json")
        assert_invalid(r, "data[k]")
        # pod specs are immutable but for a few fields
        r = cluster.patch(victim["pod"], {"spec": {"restartPolicy": "Never"}},
                          "application/strategic-merge-patch+json")
        assert_invalid(r, "spec")
        r = cluster.patch(victim["pod"], {"metadata": {"name": None}},
                          "application/merge-patch+json")
        assert r.code in (400, 422)


def test_patch_cannot_change_system_metadata(cluster, victim):
    before = fetch(cluster, victim["cm"])
    r = cluster.patch(victim["cm"], {"metadata": {"uid": "forged", "creationTimestamp":
                                                   "2000-01-01T00:00:00Z"}},
                      "application/merge-patch+json")
    assert r.code == 200, r.body
    after = fetch(cluster, victim["cm"])
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["metadata"]["creationTimestamp"] == before["metadata"]["creationTimestamp"]


def test_patch_missing_object(cluster):
    with nothing_written(cluster):
        r = cluster.patch(CMS + "/ghost", {"data": {"a": "b"}}, "application/merge-patch+json")
        assert_status(r, 404, "NotFound")
    assert_absent(cluster, CMS + "/ghost")


def test_binding_bad_input(cluster, victim):
    with unchanged(cluster, victim["pod"]):
        for body in [{}, {"target": {}}, {"target": {"kind": "Pod", "name": "n1"}}, []]:
            r = cluster.post(victim["pod"] + "/binding", body)
            assert r.code in (400, 422), r.body
            assert_status(r, r.code)
        r = cluster.post(victim["pod"] + "/binding", "{bad")
        assert_status(r, 400, "BadRequest")


# ---- deletes -------------------------------------------------------------------------------------


def test_delete_bad_options(cluster, victim):
    with unchanged(cluster, victim["cm"]):
        assert_status(cluster.delete(victim["cm"], {"gracePeriodSeconds": "soon"}), 400,
                      "BadRequest")
        assert_status(cluster.delete(victim["cm"] + "?propagationPolicy=Sideways"), 400,
                      "BadRequest")
        assert_status(cluster.delete(victim["cm"] + "?gracePeriodSeconds=abc"), 400,
                      "BadRequest")
        assert_status(cluster.delete(victim["cm"], "[1]"), 400, "BadRequest")
        assert_status(cluster.delete(victim["cm"], "{bad"), 400, "BadRequest")
        r = cluster.delete(victim["cm"], {"preconditions": {"uid": "not-the-uid"}})
        assert_status(r, 409, "Conflict")
        r = cluster.delete(victim["cm"], {"preconditions": {"resourceVersion": "1"}})
        assert_status(r, 409, "Conflict")


def test_delete_missing(cluster):
    with nothing_written(cluster):
        assert_status(cluster.delete(CMS + "/ghost"), 404, "NotFound")


def test_delete_collection_with_bad_selector_deletes_nothing(cluster, victim):
    with unchanged(cluster, victim["cm"], victim["pod"]):
        assert_status(cluster.delete(CMS + "?labelSelector=a%20in%20(1"), 400, "BadRequest")
        assert_status(cluster.delete(PODS + "?fieldSelector=spec.bogus%3Dx"), 400, "BadRequest")


# ---- list and watch parameters -------------------------------------------------------------------


@pytest.mark.parametrize("sel", [
    "a%20in%20(b", "!!", "a%3D%3D%3Db", "a%20notin", "%3Dvalue", "a%3Db%2C", "bad%20key%3Dv",
    "a%3D" + "v" * 64, "a%3E", "(", "a%3Db%3Dc",
    pytest.param("a%20in%20()", marks=pytest.mark.xfail(
        reason="src/lib/wf_selector.c accepts an empty value set (Kubernetes rejects it)")),
])
def test_bad_label_selector(cluster, sel):
    r = cluster.get(PODS + "?labelSelector=" + sel)
    assert_status(r, 400, "BadRequest")
    r = cluster.get(PODS + "?watch=true&timeoutSeconds=1&labelSelector=" + sel)
    assert_status(r, 400, "BadRequest")


@pytest.mark.parametrize("sel", [
    "spec.bogus%3Dx", "status.phase%3E1", "metadata.labels%3Dx", "metadata.name", "%3Dx",
    "metadata.name%3Dx%2Cspec.nope%3Dy", "metadata.name%20in%20(a)",
])
def test_bad_field_selector(cluster, sel):
    r = cluster.get(PODS + "?fieldSelector=" + sel)
    assert_status(r, 400, "BadRequest")
    r = cluster.get("/api/v1/pods?watch=1&timeoutSeconds=1&fieldSelector=" + sel)
    assert_status(r, 400, "BadRequest")


def test_supported_field_selectors_work(cluster, victim):
    r = fetch(cluster, PODS + "?fieldSelector=metadata.name%3Dvictim-pod")
    assert [p["metadata"]["name"] for p in r["items"]] == ["victim-pod"]
    r = fetch(cluster, "/api/v1/pods?fieldSelector=status.phase%3DPending,metadata.namespace%3D"
              + NS)
    assert "victim-pod" in [p["metadata"]["name"] for p in r["items"]]
    r = fetch(cluster, PODS + "?fieldSelector=metadata.name%21%3Dvictim-pod")
    assert "victim-pod" not in [p["metadata"]["name"] for p in r["items"]]


@pytest.mark.parametrize("limit", ["-1", "abc", "1.5", "1e3", "%205", "0x10", "5%00"])
def test_bad_limit(cluster, limit):
    assert_status(cluster.get(CMS + "?limit=" + limit), 400, "BadRequest")


@pytest.mark.parametrize("token", [
    "!!!!", "abc", "not base64 at all", "L3JlZ2lzdHJ5L3NlY3JldHMveA==",  # /registry/secrets/x
    "AAAA", "L3JlZ2lzdHJ5L2NvbmZpZ21hcHMvZGVmYXVsdC8AeA==",  # embedded NUL
    "=" * 8, "A" * 20000,
])
def test_bad_continue(cluster, token):
    from urllib.parse import quote
    assert_status(cluster.get(CMS + "?limit=1&continue=" + quote(token)), 400, "BadRequest")


def test_paging_control(cluster):
    """Control: limit/continue walk a collection exactly once."""
    for i in range(5):
        create(cluster, "/api/v1/namespaces/other/configmaps",
               {"metadata": {"name": "page-%d" % i}})
    seen, cont = [], None
    for _ in range(10):
        q = "?limit=2" + ("&continue=" + cont if cont else "")
        r = fetch(cluster, "/api/v1/namespaces/other/configmaps" + q)
        seen += [c["metadata"]["name"] for c in r["items"]]
        cont = r["metadata"].get("continue")
        if not cont:
            break
    assert sorted(seen) == ["page-%d" % i for i in range(5)]


@pytest.mark.parametrize("rv", ["abc", "-5", "1.5"])
def test_bad_watch_resource_version(cluster, rv):
    r = cluster.get(CMS + "?watch=true&timeoutSeconds=1&resourceVersion=" + rv)
    assert_status(r, 400, "BadRequest")


# ---- routing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/nope", "/api/v2/pods", "/api/v1/widgets", "/apis/nope.example.com/v1/things",
    "/apis/batch/v9/jobs", "/api/v1/namespaces/default/pods/victim-pod/unknownsub",
    "/api/v1/namespaces/default/pods/victim-pod/status/extra",
    "/api/v1/namespaces/default/nodes", "/api/v1/nodes/n1/x/y/z",
    "/api/v1/namespaces/default/pods/a/b/c/d/e/f/g/h/i/j/k",
    "/api/v1/namespaces/default/configmaps/victim/status",
    "/apis/batch/v1/namespaces/default/jobs/x/binding",
])
def test_unknown_paths(cluster, victim, path):
    with nothing_written(cluster):
        assert_status(cluster.get(path), 404, "NotFound")
        r = cluster.post(path, {"metadata": {"name": "x"}})
        assert r.code in (404, 405), r.body
        assert_status(r, r.code)


@pytest.mark.parametrize("method,path", [
    ("PUT", PODS), ("PATCH", PODS), ("POST", PODS + "/victim-pod"), ("POST", "/api/v1/pods"),
    ("DELETE", PODS + "/victim-pod/status"), ("PUT", PODS + "/victim-pod/binding"),
    ("OPTIONS", PODS),
])
def test_wrong_methods(cluster, victim, method, path):
    with unchanged(cluster, victim["pod"]):
        r = cluster.request(method, path, {"metadata": {"name": "victim-pod"}},
                            content_type="application/merge-patch+json")
        assert_status(r, 405, "MethodNotAllowed")


def test_nul_in_path_is_not_truncated(cluster, victim):
    """victim%00junk must not address (and delete) "victim"."""
    with unchanged(cluster, victim["cm"]):
        r = cluster.delete(CMS + "/victim%00junk")
        assert r.code in (400, 404), r.body
        assert_status(r, r.code)
        r = cluster.get("/api/v1/namespaces/default%00x/configmaps/victim")
        assert r.code in (400, 404), r.body
        r = cluster.get(CMS + "?labelSelector=a%3D1%00junk")
        assert r.code in (200, 400), r.body


def raw_http(server, data, timeout=10):
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except socket.timeout:
            pass
    return out


@pytest.mark.parametrize("data", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"POST " + CMS.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\nabc",
    b"POST " + CMS.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nabc",
    b"POST " + CMS.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    b"Connection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    b"GET " + b"/a" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\n" + b"X-Big: " + b"h" * 100000 + b"\r\n\r\n",
])
def test_malformed_http(cluster, server, data):
    with nothing_written(cluster):
        out = raw_http(server, data)
        if out:
            status = int(out.split(b" ", 2)[1])
            assert 400 <= status < 500, out[:200]
    assert cluster.get("/healthz").code == 200


# ---- deep nesting and huge maps ------------------------------------------------------------------


def nested_json(depth, kind="object"):
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("kind", ["object", "array"])
def test_deeply_nested_json(cluster, victim, kind):
    deep = nested_json(100000, kind)
    body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"x":%s}' % deep
    with unchanged(cluster, victim["cm"], victim["pod"]):
        assert_status(cluster.post(CMS, body), 400, "BadRequest")
        assert_status(cluster.post(CMS, deep), 400, "BadRequest")
        assert_status(cluster.put(victim["cm"], body), 400, "BadRequest")
        assert_status(cluster.patch(victim["cm"], '{"x":%s}' % deep,
                                    "application/merge-patch+json"), 400, "BadRequest")
        assert_status(cluster.patch(victim["pod"], '{"x":%s}' % deep,
                                    "application/strategic-merge-patch+json"), 400, "BadRequest")
        r = cluster.patch(victim["cm"], '[{"op":"add","path":"/x","value":%s}]' % deep,
                          "application/json-patch+json")
        assert_status(r, 400, "BadRequest")
        assert_status(cluster.delete(victim["cm"], deep), 400, "BadRequest")
    assert_absent(cluster, CMS + "/deep")
    assert cluster.get("/healthz").code == 200


def test_deeply_nested_yaml(cluster):
    with nothing_written(cluster):
        for text in ["[" * 100000, "{a: " * 100000 + "1" + "}" * 100000, "- " * 100000 + "x\n",
                     "x: " + "[" * 100000 + "]" * 100000 + "\n"]:
            r = cluster.post(CMS, text, content_type="application/yaml")
            assert_status(r, 400, "BadRequest")
    assert cluster.get("/healthz").code == 200


def test_patch_cannot_build_an_unreadable_object(cluster):
    """Each request is within the parser's depth limit, but a JSON patch that
    adds a deep value at a deep path would build an object no read could
    parse back: refused, and the object stays readable and deletable."""
    n = 900
    body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deepish"},"x":%s}' % (
        nested_json(n))
    r = cluster.post(CMS, body)
    assert r.code == 201, r.body[:300]
    path = "/x" + "/a" * (n - 1)
    ops = '[{"op":"replace","path":"%s","value":%s}]' % (path, nested_json(n))
    with unchanged(cluster, CMS + "/deepish"):
        r = cluster.patch(CMS + "/deepish", ops, "application/json-patch+json")
        assert r.code in (400, 422), r.body[:300]
        assert_status(r, r.code)
    r = cluster.patch(CMS + "/deepish", {"metadata": {"labels": {"still": "writable"}}},
                      "application/merge-patch+json")
    assert r.code == 200, r.body[:300]
    assert cluster.delete(CMS + "/deepish").code == 200
    assert_absent(cluster, CMS + "/deepish")


def test_huge_label_map(cluster):
    too_many = {"k%d" % i: "v%d" % i for i in range(100000)}
    body = pod("huge-labels")
    body["metadata"]["labels"] = too_many
    with nothing_written(cluster):
        r = cluster.post(PODS, body)
        assert r.code in (413, 422), r.body[:300]
        assert_status(r, r.code)
    assert_absent(cluster, PODS + "/huge-labels")
    # many invalid keys: one cause each, and no crash building the message
    bad = {"bad key %d" % i: "v" for i in range(5000)}
    body["metadata"]["labels"] = bad
    with nothing_written(cluster):
        assert_invalid(cluster.post(PODS, body), "metadata.labels")
    # large but storable: works end to end
    many = {"k%d" % i: "v%d" % i for i in range(20000)}
    body["metadata"]["labels"] = many
    obj = create(cluster, PODS, body)
    assert len(obj["metadata"]["labels"]) == 20000
    r = fetch(cluster, PODS + "?labelSelector=k19999%3Dv19999,k0")
    assert [p["metadata"]["name"] for p in r["items"]] == ["huge-labels"]
    r = cluster.patch(PODS + "/huge-labels", {"metadata": {"labels": {"k5": None, "new": "x"}}},
                      "application/strategic-merge-patch+json")
    assert r.code == 200, r.body[:300]
    labels = r.json()["metadata"]["labels"]
    assert "k5" not in labels and labels["new"] == "x" and len(labels) == 20000
    assert cluster.delete(PODS + "/huge-labels?gracePeriodSeconds=0").code == 200
    assert cluster.get("/healthz").code == 200


def test_huge_selectors(cluster, victim):
    sel = ",".join("k%d%%3Dv" % i for i in range(2000))
    r = cluster.get(PODS + "?labelSelector=" + sel)
    assert r.code in (200, 400, 414), r.body[:300]
    sel = ",".join("metadata.name%%21%%3Dv%d" % i for i in range(2000))
    r = cluster.get(PODS + "?fieldSelector=" + sel)
    assert r.code in (200, 400, 414), r.body[:300]
    if r.code == 200:
        assert "victim-pod" in [p["metadata"]["name"] for p in r.json()["items"]]
    assert cluster.get("/healthz").code == 200


# ---- compaction: watch from a revision that is gone ----------------------------------------------


@pytest.fixture(scope="module")
def compacting():
    """A server compacting every second down to 5 revisions, holding 25
    ConfigMaps, once a watch from revision 1 is refused (compaction ran)."""
    s = Server(extra_args=["--compaction-interval", "1", "--compaction-retain", "5",
                           "--controllers=false"]).start()
    c = Cluster(s)
    for i in range(25):
        create(c, CMS, {"metadata": {"name": "cm-%d" % i}, "data": {"i": str(i)}})
    deadline = time.time() + 60
    while time.time() < deadline:
        events = watch_lines(c, "resourceVersion=1")
        if events and events[0]["type"] == "ERROR":
            break
        time.sleep(0.2)
    yield c
    s.stop()
    s.assert_clean_log()
    shutil.rmtree(s.data_dir, ignore_errors=True)
    shutil.rmtree(c.cache_dir, ignore_errors=True)


def watch_lines(cluster, query):
    r = cluster.get(CMS + "?watch=true&timeoutSeconds=1&" + query)
    assert r.code == 200, r.body[:300]
    return [json.loads(line) for line in r.body.splitlines() if line.strip()]


def test_watch_from_compacted_revision(compacting):
    c = compacting
    events = watch_lines(c, "resourceVersion=1")
    assert events and events[0]["type"] == "ERROR", events[:2]
    st = events[0]["object"]
    assert st["kind"] == "Status" and st["code"] == 410 and st["reason"] == "Expired", st
    assert len(events) == 1
    # lists still work, and hold everything
    r = fetch(c, CMS)
    assert sorted(x["metadata"]["name"] for x in r["items"]) == sorted(
        "cm-%d" % i for i in range(25))
    # a watch from the list's revision still works and sees a new change
    rv = r["metadata"]["resourceVersion"]
    create(c, CMS, {"metadata": {"name": "after"}})
    events = watch_lines(c, "resourceVersion=" + rv)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "after")]
    assert c.get("/healthz").code == 200


def test_python_client_sees_410_from_compacted_watch(compacting):
    kubernetes = pytest.importorskip("kubernetes")
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=compacting.kubeconfig,
                                       client_configuration=cfg)
    with kubernetes.client.ApiClient(cfg) as api:
        core = kubernetes.client.CoreV1Api(api)
        with pytest.raises(kubernetes.client.ApiException) as e:
            for _ in kubernetes.watch.Watch().stream(core.list_namespaced_config_map, NS,
                                                     resource_version="1", timeout_seconds=5):
                pass
        assert e.value.status == 410
        assert e.value.reason.startswith("Expired")


# ---- more hostile patterns -----------------------------------------------------------------------


def test_concurrent_puts_with_one_resource_version(cluster):
    """Eight writers PUT against the same resourceVersion: exactly one wins."""
    import threading
    obj = create(cluster, CMS, {"metadata": {"name": "race"}, "data": {"v": "start"}})
    results = {}

    def put(i):
        body = dict(obj, data={"v": "writer-%d" % i})
        results[i] = cluster.put(CMS + "/race", body)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, r in results.items() if r.code == 200]
    assert len(winners) == 1, {i: r.code for i, r in results.items()}
    for i, r in results.items():
        if i not in winners:
            assert_status(r, 409, "Conflict")
    now = fetch(cluster, CMS + "/race")
    assert now["data"] == {"v": "writer-%d" % winners[0]}
    assert now["metadata"]["resourceVersion"] == \
        results[winners[0]].json()["metadata"]["resourceVersion"]


def test_overlong_names_in_url(cluster):
    name = "a" * 5000
    with nothing_written(cluster):
        for method, path, body in [
                ("GET", CMS + "/" + name, None), ("DELETE", CMS + "/" + name, None),
                ("PUT", CMS + "/" + name, {"metadata": {"name": name}}),
                ("GET", "/api/v1/namespaces/" + name + "/configmaps", None),
                ("GET", CMS + "?fieldSelector=metadata.name%3D" + name, None)]:
            r = cluster.request(method, path, body)
            assert r.code in (200, 400, 404, 422), (method, r.code)
            if r.code != 200:
                assert_status(r, r.code)
        r = cluster.patch(CMS + "/" + name, {"data": {}}, "application/merge-patch+json")
        assert r.code in (400, 404), r.body[:200]
        assert_status(r, r.code)


def test_dry_run_stores_nothing(cluster, victim):
    with nothing_written(cluster):
        r = cluster.post(CMS + "?dryRun=All", {"metadata": {"name": "dry"}, "data": {"a": "b"}})
        assert r.code == 201, r.body
        r = cluster.post(CMS + "?dryRun=All", {"metadata": {"name": "Dry_Bad"}})
        assert_invalid(r, "metadata.name")
    assert_absent(cluster, CMS + "/dry")
    with unchanged(cluster, victim["cm"]):
        r = cluster.patch(victim["cm"] + "?dryRun=All", {"data": {"k": "dry"}},
                          "application/merge-patch+json")
        assert r.code == 200 and r.json()["data"]["k"] == "dry", r.body


def test_abandoned_watches(cluster, server):
    """Watch streams whose clients vanish (before reading, mid-stream) while
    writes flow must not crash or wedge the server."""
    socks = []
    for i in range(40):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        q = "watch=true" + ("&resourceVersion=1" if i % 2 else "")
        if i % 3 == 0:
            q += "&labelSelector=a%3D1"
        s.sendall(("GET %s?%s HTTP/1.1\r\nHost: x\r\n\r\n" % (CMS, q)).encode())
        socks.append(s)
    for i, s in enumerate(socks[:20]):
        if i % 2:
            s.recv(1024)
        s.close()
    for i in range(10):
        create(cluster, CMS, {"metadata": {"name": "aw-%d" % i, "labels": {"a": "1"}}})
    for s in socks[20:]:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # reset, not a clean close
    for i in range(10):
        assert cluster.delete(CMS + "/aw-%d" % i).code == 200
    assert cluster.get("/healthz").code == 200
    # and a fresh watch still works
    r = cluster.get(CMS + "?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dvictim")
    assert r.code == 200
    events = [json.loads(x) for x in r.body.splitlines() if x.strip()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "victim")]


@pytest.mark.parametrize("path,body,field", [
    ("/api/v1/namespaces", {"metadata": {"name": "ns-bad-labels", "labels": ["x"]}},
     "metadata.labels"),
    ("/api/v1/namespaces", {"metadata": {"name": "ns-bad-spec"}, "spec": "x"}, "spec"),
    ("/api/v1/namespaces", {"metadata": {"name": "ns-bad-fin"}, "spec": {"finalizers": 5}},
     "spec.finalizers"),
    (JOBS, dict(job("job-bad-tmeta"), spec={"template": {"metadata": "x", "spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}),
     "spec.template.metadata"),
    (JOBS, dict(job("job-bad-tlabels"), spec={"template": {"metadata": {"labels": ["x"]}, "spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}),
     "spec.template.metadata.labels"),
    (PODS, resources_pod("pod-bad-requests", limits={"cpu": "1"}, requests="x"),
     F + ".requests"),
    ("/api/v1/namespaces/default/services", {"metadata": {"name": "svc-bad-ip"}, "spec": {
        "ports": [{"port": 80}], "clusterIP": 5}}, "spec.clusterIP"),
    ("/api/v1/namespaces/default/services", {"metadata": {"name": "svc-bad-ip"}, "spec": {
        "ports": [{"port": 80}], "clusterIP": "10.0.0.300"}}, "spec.clusterIP"),
])
def test_wrong_types_are_not_defaulted_away(cluster, path, body, field):
    """Defaulting must not replace a field of the wrong type with a valid one."""
    with nothing_written(cluster):
        assert_invalid(cluster.post(path, body), field)
    assert_absent(cluster, path + "/" + body["metadata"]["name"])


def test_create_in_terminating_namespace(cluster):
    create(cluster, "/api/v1/namespaces", {"metadata": {"name": "doomed"}})
    held = "/api/v1/namespaces/doomed/configmaps/held"
    create(cluster, "/api/v1/namespaces/doomed/configmaps",
           {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    r = cluster.delete("/api/v1/namespaces/doomed")
    assert r.code == 200, r.body
    ns = fetch(cluster, "/api/v1/namespaces/doomed")  # held back by the finalizer
    assert ns["metadata"].get("deletionTimestamp") and ns["status"]["phase"] == "Terminating"
    assert fetch(cluster, held)["metadata"].get("deletionTimestamp")
    with nothing_written(cluster):
        r = cluster.post("/api/v1/namespaces/doomed/configmaps", {"metadata": {"name": "late"}})
        assert_status(r, 403, "Forbidden")
    assert_absent(cluster, "/api/v1/namespaces/doomed/configmaps/late")
    # releasing the finalizer lets the namespace go
    r = cluster.patch(held, {"metadata": {"finalizers": None}}, "application/merge-patch+json")
    assert r.code == 200, r.body
    assert_absent(cluster, held)
    deadline = time.time() + 30
    while time.time() < deadline and cluster.get("/api/v1/namespaces/doomed").code == 200:
        time.sleep(0.1)
    assert_absent(cluster, "/api/v1/namespaces/doomed")


@pytest.mark.parametrize("status", ["x", 5, [1], True])
def test_status_of_the_wrong_type(cluster, victim, status):
    with unchanged(cluster, victim["pod"]):
        r = cluster.patch(victim["pod"] + "/status", {"status": status},
                          "application/merge-patch+json")
        assert_invalid(r, "status")
        body = fetch(cluster, victim["pod"])
        body["status"] = status
        assert_invalid(cluster.put(victim["pod"] + "/status", body), "status")
    with nothing_written(cluster):
        r = cluster.post("/api/v1/nodes", {"metadata": {"name": "n-bad-status"}, "status": status})
        assert_invalid(r, "status")

"""Protobuf request bodies: kubectl 1.32 and 1.33 send the objects their typed
`kubectl create <kind>` subcommands build as application/vnd.kubernetes.protobuf,
with no JSON fallback. Each test runs one such subcommand with both binaries
(named explicitly: /usr/bin/kubectl dispatches to 1.31, which sends JSON),
checks from kubectl's -v=8 log that the body really was protobuf, and reads the
object back over HTTP as JSON. Hand-built protobuf bodies check the refusals:
400 and nothing stored.
"""
import base64
import json
import os
import subprocess

import pytest

# The API alone: a background controller write would move the store revision
# that the "nothing was written" checks compare.
WHARF_SERVER_ARGS = ("--controllers=false",)

BIN_DIR = "/usr/lib/google-cloud-sdk/bin"
PB = "application/vnd.kubernetes.protobuf"


def _binary(version, tag):
    path = os.path.join(BIN_DIR, "kubectl." + version)
    return pytest.param((path, tag), id="kubectl-" + version,
                        marks=pytest.mark.skipif(not os.path.exists(path),
                                                 reason=path + " is not installed"))


BINARIES = [_binary("1.32", "p32"), _binary("1.33", "p33")]


class Kubectl:
    def __init__(self, cluster, binary, tag, cache_dir):
        self.cluster = cluster
        self.binary = binary
        self.tag = tag
        self.cache_dir = cache_dir
        self.ns = "pb-" + tag

    def __call__(self, *args, **kw):
        return self.cluster.kubectl(*args, binary=self.binary, cache_dir=self.cache_dir, **kw)

    def create(self, *args):
        """`kubectl create ...` that must succeed and must have sent protobuf."""
        p = self("create", "-v=8", *args, check=False)
        assert p.returncode == 0, p.stderr[-3000:]
        assert "Content-Type: " + PB in p.stderr, "kubectl did not send protobuf:\n" + \
            p.stderr[-3000:]
        return p.stdout.strip()


@pytest.fixture(scope="module", params=BINARIES)
def kc(request, cluster, tmp_path_factory):
    binary, tag = request.param
    k = Kubectl(cluster, binary, tag, str(tmp_path_factory.mktemp("kcache-" + tag)))
    assert k.create("namespace", k.ns) == "namespace/%s created" % k.ns
    return k


def obj(cluster, path):
    r = cluster.get(path)
    assert r.code == 200, "GET %s -> %d %s" % (path, r.code, r.body)
    return r.json()


def api(ns, resource, name=None, group=None):
    base = "/apis/%s/v1" % group if group else "/api/v1"
    path = "%s/namespaces/%s/%s" % (base, ns, resource)
    return path + "/" + name if name else path


# ---- kubectl create, read back -----------------------------------------------------


def test_namespace(kc, cluster):
    ns = obj(cluster, "/api/v1/namespaces/" + kc.ns)
    assert ns["apiVersion"] == "v1" and ns["kind"] == "Namespace"
    assert ns["metadata"]["name"] == kc.ns
    assert ns["status"]["phase"] == "Active"
    assert ns["metadata"]["uid"] and ns["metadata"]["creationTimestamp"]
    out = kc("get", "namespace", kc.ns, "-o", "jsonpath={.metadata.name}").stdout
    assert out == kc.ns


def test_configmap(kc, cluster, tmp_path):
    blob = bytes(range(256))
    f = tmp_path / "blob.bin"
    f.write_bytes(blob)
    out = kc.create("configmap", "cm", "-n", kc.ns, "--from-literal=a=1",
                    "--from-literal=b=two words", "--from-literal=empty=",
                    "--from-file=blob=" + str(f))
    assert out == "configmap/cm created"
    cm = obj(cluster, api(kc.ns, "configmaps", "cm"))
    assert cm["data"] == {"a": "1", "b": "two words", "empty": ""}
    assert base64.b64decode(cm["binaryData"]["blob"]) == blob
    assert cm["metadata"]["namespace"] == kc.ns
    assert "immutable" not in cm


def test_secret_generic(kc, cluster):
    out = kc.create("secret", "generic", "sec", "-n", kc.ns, "--from-literal=pw=s3cr3t",
                    "--from-literal=user=admin")
    assert out == "secret/sec created"
    s = obj(cluster, api(kc.ns, "secrets", "sec"))
    assert s["data"] == {"pw": "czNjcjN0", "user": "YWRtaW4="}
    assert s["type"] == "Opaque"
    kc.create("secret", "generic", "typed", "-n", kc.ns, "--type=example.com/thing",
              "--from-literal=k=v")
    assert obj(cluster, api(kc.ns, "secrets", "typed"))["type"] == "example.com/thing"


def test_secret_tls(kc, cluster, tmp_path):
    crt, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(crt), "-subj", "/CN=wharf.test", "-days", "1"],
                   check=True, capture_output=True)
    out = kc.create("secret", "tls", "tls", "-n", kc.ns, "--cert=" + str(crt),
                    "--key=" + str(key))
    assert out == "secret/tls created"
    s = obj(cluster, api(kc.ns, "secrets", "tls"))
    assert s["type"] == "kubernetes.io/tls"
    assert base64.b64decode(s["data"]["tls.crt"]) == crt.read_bytes()
    assert base64.b64decode(s["data"]["tls.key"]) == key.read_bytes()


def test_secret_docker_registry(kc, cluster):
    kc.create("secret", "docker-registry", "reg", "-n", kc.ns, "--docker-server=r.example",
              "--docker-username=u", "--docker-password=p")
    s = obj(cluster, api(kc.ns, "secrets", "reg"))
    assert s["type"] == "kubernetes.io/dockerconfigjson"
    cfg = json.loads(base64.b64decode(s["data"][".dockerconfigjson"]))
    assert cfg["auths"]["r.example"]["username"] == "u"
    assert cfg["auths"]["r.example"]["password"] == "p"


def test_serviceaccount(kc, cluster):
    assert kc.create("serviceaccount", "robot", "-n", kc.ns) == "serviceaccount/robot created"
    sa = obj(cluster, api(kc.ns, "serviceaccounts", "robot"))
    assert sa["kind"] == "ServiceAccount" and sa["metadata"]["name"] == "robot"


def test_service_clusterip(kc, cluster):
    out = kc.create("service", "clusterip", "web", "-n", kc.ns, "--tcp=80:8080",
                    "--tcp=443:8443")
    assert out == "service/web created"
    svc = obj(cluster, api(kc.ns, "services", "web"))
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["selector"] == {"app": "web"}
    assert svc["metadata"]["labels"] == {"app": "web"}
    ports = [{k: p[k] for k in ("name", "protocol", "port", "targetPort")}
             for p in svc["spec"]["ports"]]
    assert ports == [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080},
                     {"name": "443-8443", "protocol": "TCP", "port": 443, "targetPort": 8443}]
    assert all("nodePort" not in p for p in svc["spec"]["ports"])


def test_service_headless_and_nodeport(kc, cluster):
    kc.create("service", "clusterip", "headless", "-n", kc.ns, "--clusterip=None",
              "--tcp=5000:5000")
    assert obj(cluster, api(kc.ns, "services", "headless"))["spec"]["clusterIP"] == "None"
    kc.create("service", "nodeport", "np", "-n", kc.ns, "--tcp=80:8080", "--node-port=30080")
    svc = obj(cluster, api(kc.ns, "services", "np"))
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"][0]["nodePort"] == 30080
    assert svc["spec"]["ports"][0]["targetPort"] == 8080


def test_job(kc, cluster):
    out = kc.create("job", "hello", "-n", kc.ns, "--image=busybox", "--", "echo", "hi")
    assert out == "job.batch/hello created"
    job = obj(cluster, api(kc.ns, "jobs", "hello", group="batch"))
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    tpl = job["spec"]["template"]["spec"]
    assert tpl["restartPolicy"] == "Never"
    [c] = tpl["containers"]
    assert c["name"] == "hello"
    assert c["image"] == "busybox"
    assert c["command"] == ["echo", "hi"]
    assert "args" not in c


def test_kubectl_reads_back(kc):
    """kubectl decodes the JSON answers it gets to its protobuf requests."""
    out = kc("get", "configmap", "cm", "-n", kc.ns, "-o", "jsonpath={.data.a}").stdout
    assert out == "1"


# ---- hand-built protobuf bodies ----------------------------------------------------


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, value):
    """A length-delimited field (str, bytes) or a varint field (int)."""
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def envelope(api_version, kind, raw):
    return b"k8s\x00" + field(1, field(1, api_version) + field(2, kind)) + field(2, raw)


def configmap(name, data, extra=b""):
    raw = field(1, field(1, name))
    for k, v in data.items():
        raw += field(2, field(1, k) + field(2, v))
    return envelope("v1", "ConfigMap", raw + extra)


def nested(levels):
    """field 1 inside field 1, levels deep."""
    inner = field(2, "leaf")
    for _ in range(levels - 1):
        inner = field(1, inner)
    return inner


def cm_names(cluster, ns):
    return sorted(i["metadata"]["name"] for i in obj(cluster, api(ns, "configmaps"))["items"])


def test_raw_create_and_update(kc, cluster):
    r = cluster.post(api(kc.ns, "configmaps"), None, raw=configmap("raw", {"k": "v"}),
                     content_type=PB + "; charset=binary")
    assert r.code == 201, r.body
    ctype = {k.lower(): v for k, v in r.headers.items()}["content-type"]
    assert ctype.startswith("application/json"), ctype
    assert r.json()["data"] == {"k": "v"}
    r = cluster.put(api(kc.ns, "configmaps", "raw"), None,
                    raw=configmap("raw", {"k": "v2", "n": "1"}), content_type=PB)
    assert r.code == 200, r.body
    assert obj(cluster, api(kc.ns, "configmaps", "raw"))["data"] == {"k": "v2", "n": "1"}


BAD_BODIES = {
    "unknown-field": (configmap("bad", {"k": "v"}, extra=field(9, "x")),
                      "unsupported protobuf field 9 in ConfigMap"),
    "unknown-meta-field": (envelope("v1", "ConfigMap", field(1, field(1, "bad") + field(99, 1))),
                           "unsupported protobuf field 99 in ObjectMeta"),
    "wrong-wire-type": (envelope("v1", "ConfigMap", field(1, field(1, 7))),
                        "has wire type 0, expected 2"),
    "truncated": (configmap("bad", {"k": "v"})[:-3], "runs past the end"),
    "huge-length": (b"k8s\x00" + field(1, field(1, "v1") + field(2, "ConfigMap")) +
                    b"\x12" + varint(1 << 62) + b"\x0a", "runs past the end"),
    "bad-magic": (b"k9s\x00" + configmap("bad", {})[4:], "k8s"),
    "wrong-kind": (envelope("v1", "Secret", field(1, field(1, "bad"))),
                   "does not match the expected kind (ConfigMap)"),
    "bad-utf8": (configmap("bad", {"k": b"\xff\xfe"}), "not valid UTF-8"),
    "deep": (envelope("v1", "ConfigMap", nested(10000)), ""),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_body_is_400_and_stores_nothing(kc, cluster, case):
    body, msg = BAD_BODIES[case]
    before = cm_names(cluster, kc.ns)
    r = cluster.post(api(kc.ns, "configmaps"), None, raw=body, content_type=PB)
    assert r.code == 400, (r.code, r.body)
    st = r.json()
    assert st["kind"] == "Status" and st["reason"] == "BadRequest", st
    assert msg in st["message"], st["message"]
    assert cluster.get(api(kc.ns, "configmaps", "bad")).code == 404
    assert cm_names(cluster, kc.ns) == before
    # an update with the same body changes nothing either
    target = api(kc.ns, "configmaps", "cm")
    old = obj(cluster, target)
    r = cluster.put(target, None, raw=body, content_type=PB)
    assert r.code == 400, (r.code, r.body)
    assert obj(cluster, target) == old


def test_unsupported_kind_body(kc, cluster):
    """A kind without a protobuf schema posted where it belongs is a kind
    mismatch here (400); nothing is stored."""
    body = envelope("authentication.k8s.io/v1", "TokenRequest", field(1, field(1, "bad")))
    r = cluster.post(api(kc.ns, "configmaps"), None, raw=body, content_type=PB)
    assert r.code == 400, r.body
    assert cluster.get(api(kc.ns, "configmaps", "bad")).code == 404

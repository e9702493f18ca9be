"""Fixtures for integration tests: a real `wharf server` on loopback.

Each test module gets its own server (fresh data directory, free port) and
a `Cluster` helper that talks to it over HTTP and through real kubectl.
The server runs the sanitizer build (WHARF_BIN, default build/san/wharf);
at teardown its log must hold no AddressSanitizer/UBSan report.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WHARF_BIN = os.path.join(ROOT, os.environ.get("WHARF_BIN", "build/san/wharf"))
KUBECTL = shutil.which("kubectl")
OLD_KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27"

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, code, body, headers):
        self.code = code
        self.body = body
        self.headers = headers

    def json(self):
        return json.loads(self.body)


class Server:
    """A wharf server process."""

    def __init__(self, data_dir=None, extra_args=()):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="wharf-test-")
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "server.log")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [WHARF_BIN, "server", "--listen", "127.0.0.1:%d" % self.port,
             "--data-dir", self.data_dir] + self.extra_args,
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("wharf exited early:\n" + self.log())
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        raise RuntimeError("wharf did not become healthy:\n" + self.log())

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("wharf did not stop on signal %d:\n%s" % (sig, self.log()))
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def assert_clean_log(self):
        text = self.log()
        for mark in SANITIZER_MARKS:
            assert mark not in text, "sanitizer report in server log:\n" + text[-6000:]


class Cluster:
    """HTTP and kubectl access to one server."""

    def __init__(self, server):
        self.server = server
        self.cache_dir = tempfile.mkdtemp(prefix="wharf-kcache-")

    @property
    def kubeconfig(self):
        return os.path.join(self.server.data_dir, "kubeconfig")

    def request(self, method, path, body=None, content_type="application/json",
                accept="application/json", timeout=30, raw=None):
        data = raw
        if data is None and body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req = urllib.request.Request(self.server.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if accept:
            req.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Response(r.status, r.read().decode(errors="replace"), dict(r.headers))
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read().decode(errors="replace"), dict(e.headers))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, content_type, **kw):
        return self.request("PATCH", path, body, content_type=content_type, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, body, **kw)

    def kubectl(self, *args, binary=None, check=True, input=None, timeout=60, cache_dir=None):
        exe = binary or KUBECTL
        cmd = [exe, "--kubeconfig", self.kubeconfig, "--cache-dir", cache_dir or self.cache_dir]
        cmd += list(args)
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("%s failed (rc %d):\nstdout:\n%s\nstderr:\n%s"
                                 % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
        return p

    def kubectl_popen(self, *args, binary=None, cache_dir=None):
        exe = binary or KUBECTL
        cmd = [exe, "--kubeconfig", self.kubeconfig, "--cache-dir", cache_dir or self.cache_dir]
        cmd += list(args)
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pod_manifest(name, labels=None, image="busybox", command=None, ns=None, extra_spec=None):
    m = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "labels": labels or {}},
         "spec": {"containers": [{"name": "main", "image": image,
                                  "command": command or ["sleep", "3600"]}]}}
    if ns:
        m["metadata"]["namespace"] = ns
    if extra_spec:
        m["spec"].update(extra_spec)
    return m


@pytest.fixture(scope="module")
def server(request):
    """The module's server. A module sets WHARF_SERVER_ARGS to add flags, e.g.
    ("--controllers=false",) to test the API alone."""
    s = Server(extra_args=getattr(request.module, "WHARF_SERVER_ARGS", ())).start()
    yield s
    s.stop()
    s.assert_clean_log()
    shutil.rmtree(s.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(server):
    c = Cluster(server)
    yield c
    shutil.rmtree(c.cache_dir, ignore_errors=True)


needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
needs_old_kubectl = pytest.mark.skipif(not os.path.exists(OLD_KUBECTL),
                                       reason="kubectl.1.27 is not installed")


class Agent:
    """A `wharf agent` process registered with a server."""

    def __init__(self, server, node_name="node-1", gpus="4:NVIDIA-H100-80GB-HBM3:81559",
                 extra_args=(), data_dir=None, port=None):
        self.server = server
        self.node_name = node_name
        self.gpus = gpus
        self.extra_args = list(extra_args)
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="wharf-agent-")
        self.port = port or free_port()
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "agent.log")

    def start(self, wait_ready=True):
        args = [WHARF_BIN, "agent", "--server", self.server.url, "--node-name", self.node_name,
                "--data-dir", self.data_dir, "--port", str(self.port),
                "--restart-backoff", "300"]
        if self.gpus:
            args += ["--gpus", self.gpus]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args + self.extra_args, stdout=log, stderr=subprocess.STDOUT)
        if wait_ready:
            deadline = time.time() + 30
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("wharf agent exited early:\n" + self.log())
                try:
                    with urllib.request.urlopen(
                            self.server.url + "/api/v1/nodes/" + self.node_name, timeout=1) as r:
                        node = json.loads(r.read())
                        conds = node.get("status", {}).get("conditions", [])
                        if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
                            return self
                except (urllib.error.URLError, ConnectionError, OSError):
                    pass
                time.sleep(0.05)
            raise RuntimeError("agent did not register:\n" + self.log())
        return self

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def assert_clean_log(self):
        text = self.log()
        for mark in SANITIZER_MARKS:
            assert mark not in text, "sanitizer report in agent log:\n" + text[-6000:]


def kill_leftover_containers(agent_data_dir):
    """Kill every container process a test's agent left running (by the
    state.json files of its shims), so tests never leak processes."""
    pods = os.path.join(agent_data_dir, "pods")
    for root, _dirs, files in os.walk(pods):
        if "state.json" in files and "exit.json" not in files:
            try:
                with open(os.path.join(root, "state.json")) as f:
                    st = json.load(f)
                os.killpg(int(st["pgid"]), signal.SIGKILL)
            except (OSError, ValueError, KeyError):
                pass


@pytest.fixture(scope="module")
def agent(server):
    a = Agent(server).start()
    yield a
    a.stop()
    kill_leftover_containers(a.data_dir)
    a.assert_clean_log()
    shutil.rmtree(a.data_dir, ignore_errors=True)

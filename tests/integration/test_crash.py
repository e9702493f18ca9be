"""Durability: kill -9 the server while clients write, restart, check.

Writer threads create, update (merge patch and PUT with a resourceVersion)
and delete ConfigMaps, each thread owning its own objects so that the values
one object goes through only ever grow. Every write answered 2xx is recorded
with the resourceVersion it returned. The server is killed with SIGKILL at
random moments, several times, and restarted on the same data directory.
Then:

* every acknowledged create/update is there with at least the acknowledged
  value and resourceVersion; every acknowledged delete stayed deleted;
* resourceVersions never go backwards: a list right after a restart is at
  least the highest resourceVersion acknowledged before the kill, writes
  after a restart get higher ones than any before, and a monitor that keeps
  listing never sees the list resourceVersion go down.

WHARF_CRASH_SEED replays a run's random choices (the seed is in every
failure message).
"""
import http.client
import json
import os
import random
import shutil
import threading
import time

from conftest import Server

NS = "default"
CMS = "/api/v1/namespaces/%s/configmaps" % NS
WRITERS = 6
ROUNDS = 5
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


def call(url, method, path, body=None, ctype="application/json"):
    """(status, decoded body) or (None, None) when the outcome is unknown."""
    host, port = url.rsplit("//", 1)[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = ctype
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None)
    except TRANSPORT_ERRORS:
        return None, None
    finally:
        conn.close()


class Shared:
    def __init__(self, seed):
        self.lock = threading.Lock()
        self.url = None
        self.epoch = 0
        self.stop = False
        self.seed = seed
        self.objects = {}  # name -> {"v": int, "rv": int, "epoch": int} of the last ack
        self.deleted = {}  # name -> epoch of the acknowledged delete
        self.acks = []  # (epoch, rv) of every acknowledged write
        self.list_rvs = []  # (epoch, rv) seen by the monitor, in order
        self.errors = []

    def target(self):
        with self.lock:
            return self.url, self.epoch

    def ack(self, name, value, rv, epoch):
        with self.lock:
            self.acks.append((epoch, rv))
            cur = self.objects.get(name)
            if cur is None or value >= cur["v"]:
                self.objects[name] = {"v": value, "rv": rv, "epoch": epoch}


def writer(shared, index):
    rnd = random.Random(shared.seed * 100 + index)
    mine = []  # live object names: [name, next value, last rv seen]
    created = 0
    while not shared.stop:
        url, epoch = shared.target()
        action = rnd.random()
        if not mine or action < 0.25:
            name = "w%d-%d" % (index, created)
            created += 1
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name}, "data": {"v": "0"}}
            # retry until the answer is definite: 201, or 409 when a try whose
            # answer was lost had created it
            while True:
                code, obj = call(url, "POST", CMS, body)
                if code == 201:
                    rv = int(obj["metadata"]["resourceVersion"])
                    shared.ack(name, 0, rv, epoch)
                    mine.append([name, 1, rv])
                    break
                if code == 409:
                    mine.append([name, 1, 0])
                    break
                if code is not None:
                    shared.errors.append("create %s: %s %s" % (name, code, obj))
                    break
                if shared.stop:
                    return
                time.sleep(0.02)
                url, epoch = shared.target()
        elif action < 0.85:
            entry = rnd.choice(mine)
            name, value = entry[0], entry[1]
            entry[1] += 1
            if action < 0.6 or not entry[2]:
                code, obj = call(url, "PATCH", CMS + "/" + name, {"data": {"v": str(value)}},
                                 "application/merge-patch+json")
            else:
                body = {"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": name, "resourceVersion": str(entry[2])},
                        "data": {"v": str(value)}}
                code, obj = call(url, "PUT", CMS + "/" + name, body)
            if code == 200:
                rv = int(obj["metadata"]["resourceVersion"])
                entry[2] = rv
                shared.ack(name, value, rv, epoch)
            elif code == 409:
                entry[2] = 0  # stale after a write whose answer was lost: patch next time
            elif code is not None:
                shared.errors.append("update %s: %s %s" % (name, code, obj))
            else:
                time.sleep(0.02)
        else:
            entry = mine.pop(rnd.randrange(len(mine)))
            name = entry[0]
            while True:
                code, obj = call(url, "DELETE", CMS + "/" + name)
                if code in (200, 404):
                    # 404: an earlier try whose answer was lost did it
                    with shared.lock:
                        shared.deleted[name] = epoch
                        if code == 200:
                            shared.acks.append((epoch, 0))
                    break
                if code is not None:
                    shared.errors.append("delete %s: %s %s" % (name, code, obj))
                    break
                if shared.stop:
                    return
                time.sleep(0.02)
                url, epoch = shared.target()


def monitor(shared):
    while not shared.stop:
        url, epoch = shared.target()
        code, obj = call(url, "GET", CMS + "?limit=1")
        if code == 200:
            with shared.lock:
                shared.list_rvs.append((epoch, int(obj["metadata"]["resourceVersion"])))
        time.sleep(0.05)


def list_rv(url):
    code, obj = call(url, "GET", CMS)
    assert code == 200, obj
    return int(obj["metadata"]["resourceVersion"]), obj


def test_kill9_loses_no_acknowledged_write():
    seed = int(os.environ.get("WHARF_CRASH_SEED", str(int(time.time() * 1000) % 1000000)))
    rnd = random.Random(seed)
    shared = Shared(seed)
    ctx = "seed %d" % seed

    server = Server().start()
    data_dir = server.data_dir
    restart_rvs = {}  # epoch -> list resourceVersion right after its start
    restart_rvs[0], _ = list_rv(server.url)
    shared.url = server.url
    threads = [threading.Thread(target=writer, args=(shared, i)) for i in range(WRITERS)]
    threads.append(threading.Thread(target=monitor, args=(shared,)))
    try:
        for t in threads:
            t.start()
        for rnd_i in range(ROUNDS):
            time.sleep(rnd.uniform(0.3, 1.5))
            server.kill9()
            time.sleep(rnd.uniform(0, 0.2))
            server = Server(data_dir=data_dir).start()
            rv, _ = list_rv(server.url)
            with shared.lock:
                shared.epoch += 1
                restart_rvs[shared.epoch] = rv
                shared.url = server.url
        time.sleep(rnd.uniform(0.3, 0.8))
    finally:
        shared.stop = True
        for t in threads:
            t.join(timeout=120)
    try:
        assert not shared.errors, "%s: unexpected answers: %s" % (ctx, shared.errors[:5])
        assert len(shared.acks) > 20, "%s: too few writes acknowledged to mean much" % ctx

        # resourceVersions never go backwards across restarts
        for epoch in range(1, ROUNDS + 1):
            before = [rv for e, rv in shared.acks if e < epoch]
            after = [rv for e, rv in shared.acks if e >= epoch and rv]
            if before:
                assert restart_rvs[epoch] >= max(before), (
                    "%s: after restart %d the list resourceVersion %d is below an acknowledged "
                    "write's %d" % (ctx, epoch, restart_rvs[epoch], max(before)))
            if before and after:
                assert min(after) > max(before), (ctx, epoch, min(after), max(before))
        seen = [rv for _, rv in shared.list_rvs]
        assert seen == sorted(seen), "%s: list resourceVersion went backwards: %s" % (ctx, seen)

        # every acknowledged write is there, with at least the acknowledged content
        final_rv, final = list_rv(server.url)
        print("%s: %d acknowledged writes, %d objects, %d deletes, restart rvs %s" % (
            ctx, len(shared.acks), len(shared.objects), len(shared.deleted), restart_rvs))
        assert final_rv >= max(rv for _, rv in shared.acks), ctx
        stored = {o["metadata"]["name"]: o for o in final["items"]}
        for name, ack in sorted(shared.objects.items()):
            if name in shared.deleted:
                continue
            assert name in stored, "%s: acknowledged object %s (rv %d, epoch %d) is gone" % (
                ctx, name, ack["rv"], ack["epoch"])
            obj = stored[name]
            assert int(obj["data"]["v"]) >= ack["v"], (
                "%s: %s holds v=%s, an acknowledged write set v=%d (rv %d)" % (
                    ctx, name, obj["data"]["v"], ack["v"], ack["rv"]))
            assert int(obj["metadata"]["resourceVersion"]) >= ack["rv"], (ctx, name, obj, ack)
            code, single = call(server.url, "GET", CMS + "/" + name)
            assert code == 200 and single == obj, (ctx, name, code, single)
        for name in sorted(shared.deleted):
            assert name not in stored, "%s: deleted %s came back" % (ctx, name)
    finally:
        server.stop()
    server.assert_clean_log()

    # a clean restart after all that serves the same state
    again = Server(data_dir=data_dir).start()
    try:
        rv, obj = list_rv(again.url)
        assert rv >= final_rv
        assert {o["metadata"]["name"]: o["data"] for o in obj["items"]} == {
            n: o["data"] for n, o in stored.items()}
    finally:
        again.stop()
    again.assert_clean_log()
    shutil.rmtree(data_dir, ignore_errors=True)


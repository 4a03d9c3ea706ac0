#!/usr/bin/env bash
# api_users: 1,000 users through the admin API of a real server: how long
# creating them (one POST each, as lostlove-admin add-user makes it), listing
# them (GET /v1/users, every page) and deleting them (one DELETE each) take,
# over the Unix socket with curl. Each create and delete also rebuilds the
# control thread's handshake table from the store, so the figures include
# what makes a new user able to connect at once.
#
# Not a test (no assertion on speed): figures for bench/RESULTS.md.
# Usage: bench/api_users.sh BUILD_DIR [N]      (root: network namespace)
LL_NAME=api_users
source "$(dirname "$0")/../tests/e2e/lib.sh" "$1"
N=${2:-1000}
SOCK="$LL_TMP/admin.sock"

say "server with the admin socket; a /20 pool for $N users"
ns_add srv
SRV_ADDR4=10.8.0.1/20
SRV_FIREWALL=none
SRV_EXTRA="[api]
socket = \"$SOCK\"
endpoint = \"198.51.100.1\""
write_server_config
start_server

say "create, list (5 times) and delete $N users from one process (python3, one connection per request)"
python3 - "$SOCK" "$N" <<'PY'
import http.client, json, socket, sys, time

class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)

def call(method, target, body=None):
    c = UnixHTTP(sys.argv[1])
    headers = {"Content-Type": "application/json"} if body is not None else {}
    t0 = time.perf_counter()
    c.request(method, target, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    data = r.read()
    dt = time.perf_counter() - t0
    c.close()
    return r.status, data, dt

def report(what, times):
    times = sorted(times)
    n = len(times)
    print(f"{what}: {n} requests, total {sum(times):.2f} s, median {times[n // 2] * 1000:.2f} ms,"
          f" p90 {times[int(n * 0.9)] * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms")

n = int(sys.argv[2])
t = []
for i in range(1, n + 1):
    st, data, dt = call("POST", "/v1/users", {"name": f"u{i:05d}"})
    assert st == 201, (st, data)
    t.append(dt)
report("create", t)
first, last = t[: n // 10], t[-(n // 10):]
print(f"create: first tenth median {sorted(first)[len(first) // 2] * 1000:.2f} ms,"
      f" last tenth median {sorted(last)[len(last) // 2] * 1000:.2f} ms")
lists = []
for _ in range(5):
    t0 = time.perf_counter()
    after, count = 0, 0
    while True:
        st, data, _ = call("GET", f"/v1/users?limit=1000&after={after}")
        page = json.loads(data)
        count += len(page["users"])
        if page["next_after"] is None:
            break
        after = page["next_after"]
    lists.append(time.perf_counter() - t0)
    assert count == n, count
report("list all (every page)", lists)
t = []
for i in range(1, n + 1):
    st, data, dt = call("DELETE", f"/v1/users/u{i:05d}")
    assert st == 200, (st, data)
    t.append(dt)
report("delete", t)
PY
pass

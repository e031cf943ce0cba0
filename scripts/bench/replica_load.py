#!/usr/bin/env python3
"""The load generator of scripts/bench-replicas.sh (standard library only).

  create  N client threads, each with one keep-alive HTTP connection to one replica
          (client i talks to replica i mod R: round robin), POST /v1/peers until a fixed
          number of creations is done; every request is timed on its own. Prints one JSON
          line: creations/s over the wall time, p50/p90/p99/max latency, failures, and the
          CPU time the given processes (ferryd, PostgreSQL) and this generator spent.
  wake    a long poll (GET /v1/peers/ID/netmap?since=V&wait=S) on one replica, a change
          (PATCH the peer's MTU) on another or the same, timed from the change's
          acknowledgement (and from its sending) to the poll's answer; ROUNDS rounds.
  report  the JSON lines of a run as Markdown tables.
"""
import argparse
import base64
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return s[int(k)]


def cpu_seconds(pid, tree=False):
    """utime+stime of pid (with tree: plus its reaped children and its live children's),
    from /proc; 0 when the process is gone."""
    def own(p, reaped):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0
        # fields[0] is field 3 (state): utime 14, stime 15, cutime 16, cstime 17.
        t = int(fields[11]) + int(fields[12])
        if reaped:
            t += int(fields[13]) + int(fields[14])
        return t
    total = own(pid, tree)
    if tree:
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                total += own(int(p), False)
    return total / TICKS


class CPU:
    """CPU seconds of some processes between start() and stop()."""

    def __init__(self, pids, tree_pid):
        self.pids = pids
        self.tree_pid = tree_pid

    def sample(self):
        d = {"ferryd": sum(cpu_seconds(p) for p in self.pids)}
        if self.tree_pid:
            d["postgres"] = cpu_seconds(self.tree_pid, tree=True)
        t = os.times()
        d["loadgen"] = t.user + t.system
        return d

    def start(self):
        self.before = self.sample()

    def stop(self):
        after = self.sample()
        return {k: round(after[k] - self.before[k], 2) for k in after}


def connect(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def request(conn, method, path, token, body=None):
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def create(args):
    urls = args.urls.split(",")
    token = args.token
    lock = threading.Lock()
    next_index = [0]
    latencies, failures = [], []
    start_gate = threading.Barrier(args.clients + 1)

    def take():
        with lock:
            i = next_index[0]
            if i >= args.count + args.warmup:
                return None
            next_index[0] += 1
            return i

    def client(c):
        conn = connect(urls[c % len(urls)])
        start_gate.wait()
        while (i := take()) is not None:
            body = {"name": f"{args.prefix}-{i}", "segment": args.segment,
                    "publicKey": base64.b64encode(os.urandom(32)).decode()}
            t0 = time.perf_counter()
            try:
                status, text = request(conn, "POST", "/v1/peers", token, body)
            except (OSError, http.client.HTTPException) as e:
                status, text = -1, str(e).encode()
                conn.close()
                conn = connect(urls[c % len(urls)])
            t1 = time.perf_counter()
            with lock:
                if status == 201:
                    # The first `warmup` acknowledged creations warm connections, caches
                    # and pools; they are not counted.
                    latencies.append((t0, t1))
                else:
                    failures.append(f"{status} {text[:160]!r}")
        conn.close()

    cpu = CPU([int(p) for p in args.pids.split(",") if p], args.pg_pid)
    threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
    for t in threads:
        t.start()
    cpu.start()
    start_gate.wait()
    for t in threads:
        t.join()
    spent = cpu.stop()
    latencies.sort(key=lambda x: x[1])
    counted = latencies[args.warmup:]
    if not counted:
        print(json.dumps({"error": "no creation succeeded", "failures": failures[:5]}))
        return 1
    # Wall time from the end of the last warm-up creation to the last counted one.
    begin = latencies[args.warmup - 1][1] if args.warmup else min(t0 for t0, _ in counted)
    wall = counted[-1][1] - begin
    ms = [(t1 - t0) * 1000 for t0, t1 in counted]
    out = {"kind": "create", "engine": args.engine, "replicas": len(urls), "clients": args.clients,
           "creations": len(counted), "failures": len(failures), "failure_sample": failures[:3],
           "seconds": round(wall, 3), "per_second": round(len(counted) / wall, 1),
           "p50_ms": round(percentile(ms, 50), 2), "p90_ms": round(percentile(ms, 90), 2),
           "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(max(ms), 2),
           "cpu_s": spent, "load": round(os.getloadavg()[0], 1)}
    print(json.dumps(out))
    return 0


def wake(args):
    token = args.token
    poll_url, write_urls = args.poll_url, {"same": args.poll_url, "cross": args.write_url}
    path = f"/v1/peers/{args.peer}/netmap"
    reader = connect(poll_url)
    writers = {k: connect(u) for k, u in write_urls.items()}
    results = {"same": [], "cross": []}
    mtu = 1280
    for r in range(args.rounds):
        for kind in ("same", "cross"):
            status, body = request(reader, "GET", path, token)
            if status != 200:
                raise SystemExit(f"netmap: {status} {body[:200]!r}")
            version = json.loads(body)["version"]
            poll = connect(poll_url)
            answered = {}

            def wait_for_answer():
                try:
                    s, _ = request(poll, "GET", f"{path}?since={version}&wait={args.wait}", token)
                except (OSError, http.client.HTTPException) as e:
                    s = f"error {e}"
                answered["at"], answered["status"] = time.perf_counter(), s

            t = threading.Thread(target=wait_for_answer)
            t.start()
            time.sleep(args.settle)  # the poll is waiting on the server
            mtu = 1280 + (mtu - 1279) % 140
            sent = time.perf_counter()
            status, body = request(writers[kind], "PATCH", f"/v1/peers/{args.peer}", token, {"mtu": mtu})
            acked = time.perf_counter()
            if status != 200:
                raise SystemExit(f"PATCH: {status} {body[:200]!r}")
            t.join()
            poll.close()
            if answered.get("status") != 200:
                raise SystemExit(f"long poll ({kind}) answered {answered.get('status')}, not 200 with the new map")
            if answered["at"] < sent:
                raise SystemExit(f"long poll ({kind}) answered before the change was sent: raise --settle")
            results[kind].append(((answered["at"] - acked) * 1000, (answered["at"] - sent) * 1000, (acked - sent) * 1000))
    out = {"kind": "wake", "engine": args.engine, "rounds": args.rounds, "peers": args.peers,
           "load": round(os.getloadavg()[0], 1)}
    for kind, rows in results.items():
        out[kind] = {name: {"p50_ms": round(percentile([row[i] for row in rows], 50), 2),
                            "p99_ms": round(percentile([row[i] for row in rows], 99), 2),
                            "max_ms": round(max(row[i] for row in rows), 2)}
                     for i, name in enumerate(("after_ack", "after_send", "patch"))}
    if args.engine == "sqlite":
        del out["cross"]  # one ferryd: no other replica
    print(json.dumps(out))
    return 0


def report(args):
    rows = [json.loads(line) for line in open(args.file) if line.startswith("{")]
    creates = [r for r in rows if r.get("kind") == "create"]
    wakes = [r for r in rows if r.get("kind") == "wake"]
    stats = [r for r in rows if r.get("kind") == "pgstat"]
    out = []
    if creates:
        out += ["| engine | replicas | clients | creations | creations/s | p50 ms | p90 ms | p99 ms | max ms | failed | CPU s ferryd | CPU s postgres | CPU s load gen | load |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in creates:
            c = r["cpu_s"]
            out.append(f"| {r['engine']} | {r['replicas']} | {r['clients']} | {r['creations']} | {r['per_second']} | "
                       f"{r['p50_ms']} | {r['p90_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['failures']} | "
                       f"{c['ferryd']} | {c.get('postgres', '-')} | {c['loadgen']} | {r['load']} |")
        out.append("")
    if stats:
        out += ["PostgreSQL's side, per creation (pg_stat_statements, pg_stat_wal; the warm-up included, every statement of the database: the token checks' reads too):", "",
                "| replicas | clients | statements | waiting for the write lock ms | other statements ms | WAL syncs | WAL sync ms | WAL bytes |",
                "|---|---|---|---|---|---|---|---|"]
        for r in stats:
            n = max(1, r["creations"])
            out.append(f"| {r['replicas']} | {r['clients']} | {r['statements'] / n:.1f} | {r['lock_wait_ms'] / n:.2f} | "
                       f"{r['other_ms'] / n:.2f} | {r['wal_syncs'] / n:.2f} | {r['wal_sync_ms'] / n:.2f} | {r['wal_bytes'] / n:.0f} |")
        out.append("")
    if wakes:
        out += ["| engine | change made on | rounds | peers stored | wake after the change's ack p50 / p99 / max ms | after its sending p50 / p99 ms | PATCH itself p50 / p99 ms | load |",
                "|---|---|---|---|---|---|---|---|"]
        for r in wakes:
            for kind, label in (("same", "the poll's replica"), ("cross", "another replica")):
                if kind not in r:
                    continue
                k = r[kind]
                out.append(f"| {r['engine']} | {label} | {r['rounds']} | {r['peers']} | "
                           f"{k['after_ack']['p50_ms']} / {k['after_ack']['p99_ms']} / {k['after_ack']['max_ms']} | "
                           f"{k['after_send']['p50_ms']} / {k['after_send']['p99_ms']} | "
                           f"{k['patch']['p50_ms']} / {k['patch']['p99_ms']} | {r['load']} |")
        out.append("")
    print("\n".join(out))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("--urls", required=True, help="comma-separated base URLs of the replicas")
    c.add_argument("--token", required=True)
    c.add_argument("--segment", required=True)
    c.add_argument("--clients", type=int, default=8)
    c.add_argument("--count", type=int, default=2000)
    c.add_argument("--warmup", type=int, default=50)
    c.add_argument("--prefix", default="bench")
    c.add_argument("--engine", default="?")
    c.add_argument("--pids", default="", help="ferryd pids, comma-separated (their CPU time is reported)")
    c.add_argument("--pg-pid", type=int, default=0, help="the postmaster's pid (its tree's CPU time is reported)")
    w = sub.add_parser("wake")
    w.add_argument("--poll-url", required=True)
    w.add_argument("--write-url", required=True)
    w.add_argument("--token", required=True)
    w.add_argument("--peer", required=True)
    w.add_argument("--rounds", type=int, default=50)
    w.add_argument("--wait", type=int, default=10)
    w.add_argument("--settle", type=float, default=0.3)
    w.add_argument("--peers", type=int, default=0, help="peers stored (for the report)")
    w.add_argument("--engine", default="?")
    r = sub.add_parser("report")
    r.add_argument("file")
    args = ap.parse_args()
    return {"create": create, "wake": wake, "report": report}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())

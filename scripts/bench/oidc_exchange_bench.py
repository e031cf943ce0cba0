#!/usr/bin/env python3
"""Benchmark (not a test): OIDC exchanges per second at ferryd.

Starts the test issuer (scripts/oidc/test_issuer.py) and a ferryd on loopback (a fresh data
folder, no TLS, no gateway), adds a segment and a trust rule, has the issuer sign N ID tokens
(RS256, or ES256 with --alg), then POSTs them to /v1/ci/oidc from --concurrency threads and
reports exchanges per second and latency percentiles. Every exchange verifies a signature,
matches the rule, records the token as used and creates a peer and a token in SQLite
(synchronous=FULL): the number is the whole path, not the signature check alone.

The time from `ferry ci up --oidc` to the first answer through the tunnel is measured by the
end-to-end script (scripts/e2e/oidc.sh prints it), since it needs namespaces and root.

Usage: FERRY_TEST_PYTHON scripts/bench/oidc_exchange_bench.py [--ferryd .build/release/ferryd] [-n 400] [--concurrency 8]
"""
import argparse
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def request(port, method, path, body=None, token=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferryd", default=os.path.join(ROOT, ".build/release/ferryd"))
    ap.add_argument("-n", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--alg", default="RS256")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ferry-oidc-bench-")
    issuer = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts/oidc/test_issuer.py")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    iss = json.loads(issuer.stdout.readline())
    port = 30000 + os.getpid() % 20000
    ferryd = subprocess.Popen([args.ferryd, "serve", "--data", tmp + "/data", "--listen", f"127.0.0.1:{port}", "--log-level", "error"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        admin = None
        for line in ferryd.stdout:
            if line.strip().startswith("ferry_"):
                admin = line.strip()
            if "listening on" in line:
                break
        for _ in range(100):
            try:
                if request(port, "GET", "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        assert request(port, "POST", "/v1/segments", {"name": "ci", "prefixLength": 20}, admin)[0] == 201
        s, b = request(port, "POST", "/v1/ci/trust", {"issuer": iss["issuer"], "audience": "ferry", "segment": "ci",
                                                      "claims": {"repository": "acme/*"}, "maxTTLSeconds": 3600}, admin)
        assert s == 201, b
        s, b = request(iss["port"], "POST", "/test/mint-many", {"n": args.n, "alg": args.alg,
                                                                "claims": {"repository": "acme/api", "ref": "refs/heads/main"}})
        tokens = json.loads(b)["tokens"]
        # Warm the JWKS cache (one discovery and one JWKS fetch) outside the measurement.
        warm = {"idToken": tokens.pop(), "publicKey": base64.b64encode(os.urandom(32)).decode()}
        s, b = request(port, "POST", "/v1/ci/oidc", warm)
        assert s == 201, b
        lat, errors, lock = [], [], threading.Lock()

        def worker(chunk):
            for t in chunk:
                t0 = time.perf_counter()
                s, b = request(port, "POST", "/v1/ci/oidc", {"idToken": t, "publicKey": base64.b64encode(os.urandom(32)).decode()})
                with lock:
                    lat.append(time.perf_counter() - t0)
                    if s != 201:
                        errors.append((s, b[:200]))

        chunks = [tokens[i::args.concurrency] for i in range(args.concurrency)]
        start = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        lat.sort()
        print(json.dumps({
            "exchanges": len(tokens), "alg": args.alg, "concurrency": args.concurrency, "errors": len(errors),
            "exchanges_per_second": round(len(tokens) / elapsed, 1),
            "latency_ms": {"p50": round(statistics.median(lat) * 1000, 2), "p99": round(lat[int(len(lat) * 0.99) - 1] * 1000, 2)},
            "ferryd": args.ferryd,
        }, indent=2))
        if errors:
            print("first error:", errors[0], file=sys.stderr)
            sys.exit(1)
    finally:
        ferryd.terminate()
        issuer.stdin.close()
        issuer.wait(timeout=5)
        ferryd.wait(timeout=5)
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()

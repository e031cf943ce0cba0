#!/usr/bin/python3
"""ferry-wg against wireguard-go, measured in one run.

Builds two network namespaces joined by a veth pair, and for each pair of daemons
(wireguard-go <-> wireguard-go, ferry-wg <-> ferry-wg, ferry-wg <-> wireguard-go) starts
both daemons in the foreground, configures them the same way with `wg setconf`, and
measures through the tunnel (MTU 1420):

  * ping round-trip time (median and p99 over --pings pings at -i 0.01, idle tunnel),
  * iperf3 TCP A->B and B->A (-R),
  * iperf3 UDP A->B and B->A at --udp-rate (receiver throughput and loss),
  * peak memory (VmHWM) and CPU time of each daemon, read after the pair's run.

Rounds alternate the pairs (the order rotates every round) so drift on a shared machine
shows in every pair alike; the summary reports medians over rounds and the ratios
ferry-wg / wireguard-go. Standard library only; run as root (see bench-ferry-wg.sh).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

WG_GO = "/usr/bin/wireguard-go"
TUNNEL_MTU = 1420
# Outer (veth) and inner (tunnel) addresses of sides A and B.
OUTER = ("10.231.0.1", "10.231.0.2")
INNER = ("10.232.0.1", "10.232.0.2")
PORTS = (51820, 51821)
IPERF_PORT = 5201
# UDP payload that fills a 1420-byte tunnel packet without IP fragmentation.
UDP_LENGTH = TUNNEL_MTU - 20 - 8

PAIRS = {
    "wg-wg": ("wireguard-go", "wireguard-go"),
    "ferry-ferry": ("ferry-wg", "ferry-wg"),
    "ferry-wg": ("ferry-wg", "wireguard-go"),  # the mixed pair: A is ferry-wg, B wireguard-go
}


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run(args, timeout=60, check=True, capture=True):
    result = subprocess.run(args, timeout=timeout, text=True,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.PIPE if capture else None)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr or ''}{result.stdout or ''}")
    return result


def in_ns(ns, *args):
    return ["ip", "netns", "exec", ns, *args]


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return None


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


class Bench:
    def __init__(self, args):
        self.args = args
        self.tag = f"{os.getpid() % 100000}"
        self.ns = (f"fwgbench-{self.tag}-a", f"fwgbench-{self.tag}-b")
        self.veth = (f"fwb{self.tag}va", f"fwb{self.tag}vb")
        self.counter = 0
        self.tmp = tempfile.mkdtemp(prefix="ferry-wg-bench-")
        self.daemons = []
        self.servers = []
        self.interfaces = []
        self.binaries = {"wireguard-go": (args.wireguard_go, {}), "ferry-wg": (args.ferry, {})}
        for name, (path, env) in args.variants.items():
            self.binaries[name] = (path, env)
        self.keys = [self.keypair(), self.keypair()]

    # -- setup and teardown -------------------------------------------------------------

    def keypair(self):
        private = run(["wg", "genkey"]).stdout.strip()
        public = subprocess.run(["wg", "pubkey"], input=private, text=True, capture_output=True,
                                check=True).stdout.strip()
        return private, public

    def setup_network(self):
        for ns in self.ns:
            run(["ip", "netns", "add", ns])
            run(in_ns(ns, "ip", "link", "set", "lo", "up"))
        run(["ip", "link", "add", self.veth[0], "netns", self.ns[0], "type", "veth",
             "peer", "name", self.veth[1], "netns", self.ns[1]])
        for side in (0, 1):
            run(in_ns(self.ns[side], "ip", "addr", "add", f"{OUTER[side]}/24", "dev", self.veth[side]))
            run(in_ns(self.ns[side], "ip", "link", "set", self.veth[side], "up"))

    def cleanup(self):
        for proc in self.servers + [d["proc"] for d in self.daemons]:
            if proc.poll() is None:
                proc.kill()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        for ns in self.ns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for name in self.interfaces:
            sock = f"/var/run/wireguard/{name}.sock"
            if os.path.exists(sock):
                os.unlink(sock)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- daemons -----------------------------------------------------------------------

    def start_daemon(self, implementation, side):
        self.counter += 1
        name = f"fwb{self.tag}t{self.counter}"[:15]
        self.interfaces.append(name)
        binary, extra_env = self.binaries[implementation]
        env = dict(os.environ, LOG_LEVEL="error", WG_PROCESS_FOREGROUND="1", **extra_env)
        errors = open(os.path.join(self.tmp, f"{name}.log"), "w")
        # `ip netns exec` execs the daemon, so the PID is the daemon's.
        proc = subprocess.Popen(in_ns(self.ns[side], binary, "-f", name), env=env,
                                stdout=errors, stderr=subprocess.STDOUT)
        sock = f"/var/run/wireguard/{name}.sock"
        deadline = time.time() + 15
        while not os.path.exists(sock):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{implementation} did not start; log: {open(errors.name).read()}")
            time.sleep(0.02)
        exe = os.path.realpath(f"/proc/{proc.pid}/exe")
        if exe != os.path.realpath(binary):
            raise RuntimeError(f"PID {proc.pid} is {exe}, not {binary}")
        daemon = {"proc": proc, "name": name, "implementation": implementation, "side": side, "log": errors.name}
        self.daemons.append(daemon)
        return daemon

    def configure(self, daemon):
        side = daemon["side"]
        other = 1 - side
        conf = os.path.join(self.tmp, f"{daemon['name']}.conf")
        with open(conf, "w") as f:
            f.write(f"[Interface]\nPrivateKey = {self.keys[side][0]}\nListenPort = {PORTS[side]}\n\n"
                    f"[Peer]\nPublicKey = {self.keys[other][1]}\nAllowedIPs = {INNER[other]}/32\n"
                    f"Endpoint = {OUTER[other]}:{PORTS[other]}\n")
        os.chmod(conf, 0o600)
        ns, name = self.ns[side], daemon["name"]
        run(in_ns(ns, "wg", "setconf", name, conf))
        run(in_ns(ns, "ip", "addr", "add", f"{INNER[side]}/24", "dev", name))
        run(in_ns(ns, "ip", "link", "set", name, "mtu", str(TUNNEL_MTU), "up"))

    def stop_daemon(self, daemon):
        proc = daemon["proc"]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.daemons.remove(daemon)
        subprocess.run(in_ns(self.ns[daemon["side"]], "ip", "link", "del", daemon["name"]), capture_output=True)

    # -- measurements ------------------------------------------------------------------

    def wait_for_tunnel(self):
        deadline = time.time() + 20
        while time.time() < deadline:
            r = subprocess.run(in_ns(self.ns[0], "ping", "-n", "-c", "1", "-W", "1", INNER[1]), capture_output=True)
            if r.returncode == 0:
                return
        raise RuntimeError("no ping through the tunnel within 20 s")

    def ping(self):
        r = run(in_ns(self.ns[0], "ping", "-n", "-c", str(self.args.pings), "-i", "0.01", "-W", "1", INNER[1]),
                timeout=self.args.pings * 0.05 + 30, check=False)
        times = [float(m) for m in re.findall(r"time=([\d.]+) ms", r.stdout)]
        lost = self.args.pings - len(times)
        return {"rtt_median_ms": statistics.median(times) if times else float("nan"),
                "rtt_p99_ms": percentile(times, 99), "ping_lost": lost}

    def iperf(self, *extra):
        args = in_ns(self.ns[0], "iperf3", "-c", INNER[1], "-p", str(IPERF_PORT), "-J",
                     "-t", str(self.args.duration), *extra)
        for attempt in range(3):
            r = subprocess.run(args, capture_output=True, text=True, timeout=self.args.duration + 60)
            try:
                data = json.loads(r.stdout)
            except json.JSONDecodeError:
                data = {"error": r.stderr or r.stdout}
            if "error" not in data:
                return data
            time.sleep(1)
        raise RuntimeError(f"iperf3 {' '.join(extra)}: {data['error']}")

    def tcp(self, reverse):
        data = self.iperf("-O", "1", *(["-R"] if reverse else []))
        s = data["end"]["sum_received"]
        return s["bits_per_second"] / 1e6, s["bytes"]

    def udp(self, reverse):
        data = self.iperf("-u", "-b", self.args.udp_rate, "-l", str(UDP_LENGTH), *(["-R"] if reverse else []))
        # The receiver's view: what arrived, and the share of what was sent that did not.
        end = data["end"]
        if "sum_received" in end:
            s = end["sum_received"]
            return s["bits_per_second"] / 1e6, s["lost_percent"], s["bytes"]
        s = end["sum"]
        received = s["bits_per_second"] * (1 - s["lost_percent"] / 100)
        return received / 1e6, s["lost_percent"], received / 8 * s["seconds"]

    def start_iperf_server(self):
        proc = subprocess.Popen(in_ns(self.ns[1], "iperf3", "-s", "-p", str(IPERF_PORT)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.servers.append(proc)
        time.sleep(0.3)
        return proc

    def measure_pair(self, pair):
        impl_a, impl_b = self.args.pair_table[pair]
        a = self.start_daemon(impl_a, 0)
        b = self.start_daemon(impl_b, 1)
        server = None
        try:
            self.configure(a)
            self.configure(b)
            self.wait_for_tunnel()
            server = self.start_iperf_server()
            result = {"pair": pair}
            result.update(self.ping())
            pids = (a["proc"].pid, b["proc"].pid)

            def costed(test):
                """The test's figures, and the CPU both daemons spent per GB that arrived:
                an efficiency measure that other load on the machine disturbs less than
                throughput."""
                before = sum(proc_cpu_seconds(p) for p in pids)
                *figures, received = test()
                spent = sum(proc_cpu_seconds(p) for p in pids) - before
                return (*figures, spent / (received / 1e9) if received else float("nan"))

            result["tcp_ab_mbps"], result["tcp_ab_cpu"] = costed(lambda: self.tcp(reverse=False))
            result["tcp_ba_mbps"], result["tcp_ba_cpu"] = costed(lambda: self.tcp(reverse=True))
            result["udp_ab_mbps"], result["udp_ab_loss"], result["udp_ab_cpu"] = costed(lambda: self.udp(reverse=False))
            result["udp_ba_mbps"], result["udp_ba_loss"], result["udp_ba_cpu"] = costed(lambda: self.udp(reverse=True))
            for key, d in (("a", a), ("b", b)):
                pid = d["proc"].pid
                if d["proc"].poll() is not None:
                    raise RuntimeError(f"{d['implementation']} exited during the run; log: {open(d['log']).read()}")
                result[f"hwm_{key}_mib"] = proc_status(pid, "VmHWM") / 1024
                result[f"rss_{key}_mib"] = proc_status(pid, "VmRSS") / 1024
                result[f"cpu_{key}_s"] = proc_cpu_seconds(pid)
            # Other work on the machine shows here (our own load is about 2-3 during a test).
            with open("/proc/loadavg") as f:
                result["load1"] = float(f.read().split()[0])
            return result
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=5)
                self.servers.remove(server)
            self.stop_daemon(a)
            self.stop_daemon(b)


# -- reporting -------------------------------------------------------------------------

COLUMNS = [
    ("tcp_ab_mbps", "TCP A→B Mbit/s", "{:.0f}"),
    ("tcp_ba_mbps", "TCP B→A Mbit/s", "{:.0f}"),
    ("udp_ab_mbps", "UDP A→B Mbit/s", "{:.0f}"),
    ("udp_ab_loss", "loss %", "{:.1f}"),
    ("udp_ba_mbps", "UDP B→A Mbit/s", "{:.0f}"),
    ("udp_ba_loss", "loss %", "{:.1f}"),
    ("rtt_median_ms", "RTT med ms", "{:.3f}"),
    ("rtt_p99_ms", "RTT p99 ms", "{:.3f}"),
]
# Resources, in a second table.
RESOURCES = [
    ("hwm_a_mib", "VmHWM A MiB", "{:.1f}"),
    ("hwm_b_mib", "VmHWM B MiB", "{:.1f}"),
    ("cpu_a_s", "CPU A s", "{:.1f}"),
    ("cpu_b_s", "CPU B s", "{:.1f}"),
    ("load1", "load", "{:.1f}"),
    ("tcp_ab_cpu", "CPU s/GB TCP A→B", "{:.2f}"),
    ("tcp_ba_cpu", "CPU s/GB TCP B→A", "{:.2f}"),
    ("udp_ab_cpu", "CPU s/GB UDP A→B", "{:.2f}"),
    ("udp_ba_cpu", "CPU s/GB UDP B→A", "{:.2f}"),
]
ALL_COLUMNS = COLUMNS + RESOURCES


def medians(results):
    out = {}
    for pair in dict.fromkeys(r["pair"] for r in results):
        rows = [r for r in results if r["pair"] == pair]
        if rows:
            out[pair] = {key: statistics.median(r[key] for r in rows) for key, _, _ in ALL_COLUMNS}
            out[pair]["rounds"] = len(rows)
    return out


def ratios(med):
    """ferry-wg / wireguard-go for the bar, from the medians."""
    ref, ferry, mixed = med.get("wg-wg"), med.get("ferry-ferry"), med.get("ferry-wg")
    rows = []

    def add(name, value, ref_value, bar, higher_is_better):
        r = value / ref_value if ref_value else float("nan")
        ok = None if bar is None else (r >= bar if higher_is_better else r <= bar)
        rows.append((name, value, ref_value, r, bar, higher_is_better, ok))

    if not ferry:
        return rows
    if not ref:
        variants(med, ferry, add)
        return rows

    add("TCP A→B throughput", ferry["tcp_ab_mbps"], ref["tcp_ab_mbps"], 1.0, True)
    add("TCP B→A throughput", ferry["tcp_ba_mbps"], ref["tcp_ba_mbps"], 1.0, True)
    add("UDP A→B throughput", ferry["udp_ab_mbps"], ref["udp_ab_mbps"], None, True)
    add("UDP B→A throughput", ferry["udp_ba_mbps"], ref["udp_ba_mbps"], None, True)
    add("RTT median", ferry["rtt_median_ms"], ref["rtt_median_ms"], 1.1, False)
    add("RTT p99", ferry["rtt_p99_ms"], ref["rtt_p99_ms"], None, False)
    add("peak memory (VmHWM, larger side)", max(ferry["hwm_a_mib"], ferry["hwm_b_mib"]),
        max(ref["hwm_a_mib"], ref["hwm_b_mib"]), 1.0, False)
    add("daemon CPU s (both sides)", ferry["cpu_a_s"] + ferry["cpu_b_s"], ref["cpu_a_s"] + ref["cpu_b_s"], None, False)
    add("daemon CPU s per GB, TCP A→B", ferry["tcp_ab_cpu"], ref["tcp_ab_cpu"], None, False)
    add("daemon CPU s per GB, TCP B→A", ferry["tcp_ba_cpu"], ref["tcp_ba_cpu"], None, False)
    if mixed:
        add("mixed: TCP ferry-wg→wireguard-go", mixed["tcp_ab_mbps"], ref["tcp_ab_mbps"], None, True)
        add("mixed: TCP wireguard-go→ferry-wg", mixed["tcp_ba_mbps"], ref["tcp_ba_mbps"], None, True)
        add("mixed: RTT median", mixed["rtt_median_ms"], ref["rtt_median_ms"], None, False)
    variants(med, ferry, add)
    return rows


def variants(med, ferry, add):
    for pair, variant in med.items():
        if pair in PAIRS:
            continue
        # An extra ferry-wg build or setting (--variant), against ferry-ferry of this run.
        for key, label, higher in (("tcp_ab_mbps", "TCP A→B", True), ("tcp_ba_mbps", "TCP B→A", True),
                                   ("udp_ab_mbps", "UDP A→B", True), ("rtt_median_ms", "RTT median", False),
                                   ("tcp_ab_cpu", "CPU s/GB TCP A→B", False), ("tcp_ba_cpu", "CPU s/GB TCP B→A", False),
                                   ("udp_ab_cpu", "CPU s/GB UDP A→B", False)):
            add(f"variant {pair}: {label} (vs ferry-ferry)", variant[key], ferry[key], None, higher)
        add(f"variant {pair}: CPU s (vs ferry-ferry)", variant["cpu_a_s"] + variant["cpu_b_s"],
            ferry["cpu_a_s"] + ferry["cpu_b_s"], None, False)


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join(lines)


def render(results, meta):
    out = []
    out.append("Pairs: A ↔ B over a veth pair, tunnel MTU 1420. In the mixed pair A is ferry-wg and B wireguard-go.")
    out.append("A→B: iperf3 client in A sends; B→A: iperf3 -R (B sends). UDP at "
               f"{meta['udp_rate']} offered, {UDP_LENGTH}-byte datagrams; throughput is what arrived.")
    out.append("")
    out.append(f"### Every round ({meta['duration']} s per iperf3 test, {meta['pings']} pings at -i 0.01)")
    out.append("")
    for columns in (COLUMNS, RESOURCES):
        headers = ["round", "pair"] + [h for _, h, _ in columns]
        rows = [[r["round"], r["pair"]] + [fmt.format(r[k]) for k, _, fmt in columns] for r in results]
        out.append(table(headers, rows))
        out.append("")
    out.append("CPU s/GB: CPU time of both daemons during that test per GB that arrived. "
               "load: 1-minute load average after the pair (other work on the machine shows here).")
    med = medians(results)
    out.append("")
    out.append("### Medians over rounds")
    out.append("")
    for columns in (COLUMNS, RESOURCES):
        rows = [[pair] + [fmt.format(m[k]) for k, _, fmt in columns] for pair, m in med.items()]
        out.append(table(["pair"] + [h for _, h, _ in columns], rows))
        out.append("")
    out.append("")
    out.append("### ferry-wg / wireguard-go (medians; ferry-ferry against wg-wg unless marked mixed)")
    out.append("")
    rows = []
    for name, value, ref, r, bar, higher, ok in ratios(med):
        bar_text = "" if bar is None else (f"≥ {bar:.2f}" if higher else f"≤ {bar:.2f}")
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        rows.append([name, f"{value:.3f}" if value < 10 else f"{value:.1f}",
                     f"{ref:.3f}" if ref < 10 else f"{ref:.1f}", f"{r:.2f}×", bar_text, verdict])
    out.append(table(["measure", "ferry-wg", "wireguard-go", "ratio", "bar", ""], rows))
    return "\n".join(out), med


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ferry", required=True, help="path of the ferry-wg binary")
    parser.add_argument("--wireguard-go", default=WG_GO,
                        help="the wireguard-go binary to compare with (default: Debian's, " + WG_GO + ")")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per iperf3 test")
    parser.add_argument("--pings", type=int, default=200)
    parser.add_argument("--udp-rate", default="1G", help="iperf3 -b for the UDP tests")
    parser.add_argument("--pairs", default=",".join(PAIRS), help="comma-separated subset of " + ",".join(PAIRS))
    parser.add_argument("--markdown", help="write the summary as Markdown to this file")
    parser.add_argument("--json", help="write every measurement as JSON to this file")
    parser.add_argument("--command", default="", help="the command line to record in the summary")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=PATH[,KEY=VALUE...]",
                        help="also measure this ferry-wg build or environment against itself (pair NAME), "
                             "in the same rounds, to compare a change with ferry-ferry")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (network namespaces, TUN devices)")
    args.pair_table = dict(PAIRS)
    args.variants = {}
    pairs = [p for p in args.pairs.split(",") if p]
    for p in pairs:
        if p not in PAIRS:
            sys.exit(f"bench: unknown pair {p}")
    for spec in args.variant:
        name, _, rest = spec.partition("=")
        path, *settings = rest.split(",")
        if not name or name in PAIRS or not path:
            sys.exit(f"bench: bad --variant {spec}")
        args.variants[name] = (os.path.abspath(path), dict(kv.split("=", 1) for kv in settings))
        args.pair_table[name] = (name, name)
        pairs.append(name)

    here = os.path.dirname(os.path.abspath(__file__))
    commit = run(["git", "-C", here, "describe", "--always", "--dirty", "--abbrev=12"], check=False).stdout.strip()
    versions = {
        "ferry-wg": run([args.ferry, "--version"]).stdout.splitlines()[0] + (f" (tree {commit})" if commit else ""),
        "wireguard-go": (args.wireguard_go == WG_GO
                         and run(["dpkg-query", "-W", "-f", "${Version}", "wireguard-go"], check=False).stdout.strip())
        or run([args.wireguard_go, "--version"]).stdout.splitlines()[0],
        "iperf3": run(["iperf3", "--version"]).stdout.splitlines()[0],
    }
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs, "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
                   f"Linux {platform.release()}",
        "versions": versions,
        "rounds": args.rounds, "duration": args.duration, "pings": args.pings, "udp_rate": args.udp_rate,
        "command": args.command,
    }
    bench = Bench(args)
    results = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        bench.setup_network()
        for r in range(args.rounds):
            order = pairs[r % len(pairs):] + pairs[:r % len(pairs)]
            for pair in order:
                log(f"round {r + 1}/{args.rounds}: {pair}")
                result = bench.measure_pair(pair)
                result["round"] = r + 1
                results.append(result)
                log("  " + ", ".join(f"{k}={v:.3f}" for k, v in result.items() if isinstance(v, float)))
    except KeyboardInterrupt:
        log("interrupted")
    finally:
        bench.cleanup()
    if not results:
        sys.exit(1)
    text, med = render(results, meta)
    header = (f"Date: {meta['date']}  \nMachine: {meta['machine']}  \n"
              f"Versions: {versions['ferry-wg']} at {args.ferry}; wireguard-go {versions['wireguard-go']} ({args.wireguard_go}); "
              f"{versions['iperf3']}  \n"
              f"Rounds: {args.rounds}, alternating, order rotated each round" +
              (f"  \nCommand: `{args.command}`" if args.command else "") + "\n")
    print(header)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(header + "\n" + text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": results, "medians": med}, f, indent=1)
    failed = [row for row in ratios(med) if row[6] is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

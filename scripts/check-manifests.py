#!/usr/bin/env python3
"""What the Kubernetes schemas cannot see in dist/kubernetes, checked offline:

- every ferryd/ferry command line of a container uses only options that this build's
  binary has (`BIN/ferryd SUBCOMMAND --help`), so a renamed or mistyped flag fails here and
  not in a crash-looping pod;
- every ConfigMap/Secret key a container reads (env valueFrom, a secret volume, a subPath
  of one) is defined by a manifest in the folder (the Secret templates in secrets/ count),
  unless the reference is marked optional;
- every Service and PodDisruptionBudget selector matches the pod labels of a workload.

Usage: check-manifests.py BIN (the folder of ferryd and ferry). Needs PyYAML (a dependency
of kubernetes-validate, in the test virtual environment). Exit 0 pass, 1 fail.
"""
import glob
import os
import re
import subprocess
import sys

import yaml

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
os.chdir(root)
bindir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug")
failures = []
objects = []  # (path, object)
for path in sorted(glob.glob("dist/kubernetes/**/*.yaml", recursive=True)):
    with open(path) as f:
        objects += [(path, o) for o in yaml.safe_load_all(f) if o]

defined = {}  # (kind, name) -> set of keys
for _, o in objects:
    if o["kind"] in ("ConfigMap", "Secret"):
        keys = set((o.get("data") or {}).keys()) | set((o.get("stringData") or {}).keys())
        defined[(o["kind"], o["metadata"]["name"])] = keys


def need(path, where, kind, name, key, optional):
    if optional:
        return
    if (kind, name) not in defined:
        failures.append(f"{path}: {where}: {kind} {name} is not defined under dist/kubernetes")
    elif key is not None and key not in defined[(kind, name)]:
        failures.append(f"{path}: {where}: {kind} {name} has no key {key}")


helps = {}
workload_labels = []
commands = 0
for path, o in objects:
    pod = (o.get("spec") or {}).get("template")
    if o["kind"] in ("Deployment", "DaemonSet", "StatefulSet") and pod:
        workload_labels.append(pod["metadata"].get("labels") or {})
        spec = pod["spec"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            where = f"container {c['name']}"
            for e in c.get("env", []):
                ref = e.get("valueFrom") or {}
                for kind, field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                    if field in ref:
                        r = ref[field]
                        need(path, f"{where}, env {e['name']}", kind, r["name"], r["key"], r.get("optional", False))
            for m in c.get("volumeMounts", []):
                v = volumes.get(m["name"])
                if v is None:
                    failures.append(f"{path}: {where}: mount of an undefined volume {m['name']}")
                elif "secret" in v:
                    s = v["secret"]
                    need(path, f"{where}, mount {m['mountPath']}", "Secret", s["secretName"], m.get("subPath"), s.get("optional", False))
            argv = (c.get("command") or []) + (c.get("args") or [])
            program = os.path.basename(argv[0]) if argv else ""
            if program not in ("ferryd", "ferry"):
                continue
            rest = argv[1:]
            sub = []
            while rest and not rest[0].startswith("-"):
                sub.append(rest.pop(0))
            key = tuple([program] + sub)
            if key not in helps:
                r = subprocess.run([os.path.join(bindir, program)] + sub + ["--help"], capture_output=True, text=True)
                helps[key] = set(re.findall(r"--[a-z0-9][a-z0-9-]*", r.stdout)) if r.returncode == 0 else None
            if helps[key] is None:
                failures.append(f"{path}: {where}: `{' '.join(key)} --help` failed: no such command in {bindir}?")
                continue
            commands += 1
            for a in rest:
                if a.startswith("--") and a.split("=")[0] not in helps[key]:
                    failures.append(f"{path}: {where}: `{' '.join(key)}` has no option {a.split('=')[0]}")

selectors = 0
for path, o in objects:
    sel = None
    if o["kind"] == "Service":
        sel = o["spec"].get("selector")
    elif o["kind"] == "PodDisruptionBudget":
        sel = o["spec"]["selector"].get("matchLabels")
    if sel:
        selectors += 1
        if not any(all(labels.get(k) == v for k, v in sel.items()) for labels in workload_labels):
            failures.append(f"{path}: {o['kind']} {o['metadata']['name']}: selector {sel} matches no workload's pods")

for f in failures:
    print("FAIL:", f)
if failures or commands == 0:
    print(f"FAIL: manifest cross-checks ({len(failures)} problems, {commands} ferryd/ferry command lines checked)")
    sys.exit(1)
print(f"PASS: {commands} ferryd/ferry command lines use options {bindir} has; ConfigMap/Secret keys defined; {selectors} selectors match pods")

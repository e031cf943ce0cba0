#!/usr/bin/env python3
"""The portal in a real (headless) Chromium, driven by scripts/e2e/portal.sh.

  portal_browser.py PORTAL_URL ADMIN_TOKEN INTERNAL_PREFIX OUT_DIR ARTIFACTS_DIR CI_PUBLIC_KEY

A developer (alice, group dev) signs in through the test provider, adds a device (key pair
made in the browser), downloads its config and has its QR code saved as a PNG; the script
writes OUT_DIR/{config.conf, shown.conf, qr.png, private.key, requests.json}. Then an admin
(root, group platform) creates a segment and a rule through the policy preview, and watches
a CI peer's TTL run out on the page. Screenshots go to ARTIFACTS_DIR. Prints "ok: ..." per
step; any failure raises (exit 1).
"""
import base64
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "browser"))
from browser import Browser  # noqa: E402  (scripts/browser/browser.py)


def until(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def api(portal, token, method, path, body=None):
    req = urllib.request.Request(portal + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def main():
    portal, admin_token, internal, out, shots, ci_key = sys.argv[1:7]
    os.makedirs(out, exist_ok=True)
    with Browser() as b:
        text = lambda css: b.find(css).text  # noqa: E731
        # --- a developer signs in (the provider approves alice) and lands on her devices
        b.get(portal + "/portal/")
        b.wait("#sso")
        b.screenshot(shots, "01-sign-in")
        b.get(portal + "/portal/login?login_hint=alice")
        b.wait("#add-device")
        assert "alice@acme.test" in text("#who"), text("#who")
        print("ok: alice signed in through the provider (developer, segment developers)")

        # --- adds a device: key pair in the browser, config and QR made there
        b.find("#device-name").send_keys("alice-laptop")
        b.find("#add").click()
        try:
            b.wait("#new-device", timeout=20)
        except Exception:
            print("page error:", b.script("return document.getElementById('error').textContent"), "console:", b.console())
            b.screenshot(shots, "02-add-failed")
            raise
        shown = b.script("return document.getElementById('config').textContent")
        assert "\nPrivateKey = " in shown and "# PrivateKey" not in shown, shown
        private = [l for l in shown.splitlines() if l.startswith("PrivateKey = ")][0][len("PrivateKey = "):].strip()
        with open(os.path.join(out, "shown.conf"), "w") as f:
            f.write(shown)
        with open(os.path.join(out, "private.key"), "w") as f:
            f.write(private + "\n")
        b.find("#download").click()
        path = b.wait_download("alice-laptop.conf")
        with open(path) as src, open(os.path.join(out, "config.conf"), "w") as dst:
            dst.write(src.read())
        png = b.script("return document.getElementById('qr').toDataURL('image/png')")
        with open(os.path.join(out, "qr.png"), "wb") as f:
            f.write(base64.b64decode(png.split(",", 1)[1]))
        b.screenshot(shots, "02-device-added")
        until("the device in the table", lambda: "alice-laptop" in text("#devices tbody"))
        print("ok: device added; config downloaded and QR drawn in the browser")

        # --- every request the browser made (performance log): none carries the private key
        requests = b.requests()
        with open(os.path.join(out, "requests.json"), "w") as f:
            json.dump(requests, f)
        leaks = [r for r in requests if private in json.dumps(r)]
        assert not leaks, f"the private key left the browser: {leaks}"
        posts = [r for r in requests if r.get("method") == "POST" and r.get("url", "").endswith("/portal/api/devices")]
        assert posts and "publicKey" in posts[0].get("postData", ""), f"no device POST seen: {requests}"
        print(f"ok: {len(requests)} requests, none with the private key (the device POST carries only the public key)")

        # --- an admin signs in, creates a segment and a rule through the preview
        b.get(portal + "/portal/login?login_hint=root")
        b.wait("#add-segment")
        b.find("#segment-name").send_keys("qa")
        b.find("#add-segment button").click()
        until("segment qa", lambda: "qa" in text("#segments tbody"))
        until("qa in the rule form", lambda: b.script("return [...document.querySelectorAll('#rule-from option')].some(o => o.value === 'qa')"))
        b.script("document.getElementById('rule-from').value = 'qa'; document.getElementById('rule-kind').value = 'toSubnet';")
        b.find("#rule-to").send_keys(internal)
        b.find("#rule-ports").send_keys("tcp/8080")
        b.find("#preview-rule").click()
        b.wait("#preview")
        added = text("#preview-added")
        assert f"gives qa → {internal} tcp/8080" in added, added
        b.screenshot(shots, "03-policy-preview")
        rules_before = text("#rules tbody").count("\n")
        b.find("#apply-rule").click()
        until("the rule applied", lambda: "qa" in text("#rules tbody"))
        assert rules_before < text("#rules tbody").count("\n") + 1
        rules = api(portal, admin_token, "GET", "/v1/policy/rules")["items"]
        assert any(r["from"] == "qa" and r.get("toSubnet") == internal and r["ports"] == ["tcp/8080"] for r in rules), rules
        print("ok: admin created segment qa and a rule through the preview (shown before applied)")

        # --- a CI peer's TTL runs out on the page (live updates, no reload)
        ci = api(portal, admin_token, "POST", "/v1/peers", {"name": "ci-job-1", "kind": "ci", "segment": "ci",
                                                           "publicKey": ci_key, "ttlSeconds": 6})
        row = f"#peers tr[data-id='{ci['peer']['id']}']"
        until("the CI peer on the page", lambda: b.script(f"return document.querySelector(\"{row}\") !== null"))
        ttl = until("a countdown", lambda: (lambda t: t if t.endswith("s") else None)(b.script(f"return document.querySelector(\"{row} .ttl\").textContent")))
        b.screenshot(shots, "04-ci-ttl")
        until("the CI peer gone from the page", lambda: b.script(f"return document.querySelector(\"{row}\") === null"), timeout=40)
        b.screenshot(shots, "05-ci-expired")
        print(f"ok: CI peer counted down ({ttl}) and left the page when its TTL ran out")
        # --- the traffic charts: an inline SVG per peer and gateway, with points once two samples exist
        until("the traffic charts", lambda: b.script("return document.querySelectorAll('#traffic figure svg').length > 0"))
        points = until("a chart with points", lambda: b.script(
            "const p = document.querySelector('#traffic svg polyline'); return p && p.getAttribute('points').split(' ').length >= 1 ? p.getAttribute('points') : null"), timeout=40)
        b.script("document.getElementById('traffic-section').scrollIntoView()")
        b.screenshot(shots, "06-traffic")
        print(f"ok: traffic charts drawn as SVG ({points[:40]}…)")
        # --- the audit log filtered by action (the family `segment`), then back to the live tail
        b.find("#audit-action").send_keys("segment")
        b.find("#audit-filter button[type=submit]").click()
        actions = lambda: b.script("return [...document.querySelectorAll('#audit tbody tr td:nth-child(4)')].map(td => td.textContent)")  # noqa: E731
        until("the filtered audit log", lambda: b.find("#live").text == "filtered" and actions() and all(a.startswith("segment.") for a in actions()))
        b.find("#audit-clear").click()
        until("the live tail again", lambda: b.find("#live").text == "live" and any(not a.startswith("segment.") for a in actions()))
        print("ok: audit log filtered by action, then back to the live tail")
        # No script error and nothing the CSP had to block on any page.
        errors = [c for c in b.console() if "Content Security Policy" in c.get("message", "") or "Uncaught" in c.get("message", "")]
        assert not errors, f"console errors: {errors}"


if __name__ == "__main__":
    main()

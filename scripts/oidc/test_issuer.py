#!/usr/bin/env python3
"""A small OpenID Connect provider for Ferry's tests, on authlib (keys, JWS signing).

It listens on loopback, serves discovery and a JWKS, signs ID tokens with its own keys
(RSA and P-256, rotated on demand), emulates GitHub Actions' token request endpoint, and
implements the OAuth 2.0 device authorization grant (RFC 8628) for `ferry login`, and the
authorization code flow with PKCE for the web portal (a confidential client; the
authorization endpoint approves at once the user a `login_hint` names).

Started by the tests: `python test_issuer.py [--port N]` prints one JSON line
{"issuer": ..., "port": ...} on stdout once it listens. Control endpoints under /test/
stand in for what a CI system or a person in a browser would do:

  POST /test/mint      {"claims": {...}, "alg": "RS256"|"ES256", "kid": "published"|"unknown",
                        "aud": ..., "exp_in": seconds, "iat_offset": seconds, "nbf_offset": seconds}
                       -> {"token": ...}
  POST /test/mint-many {"n": N, "claims": {...}} -> {"tokens": [...]} (benchmarks)
  POST /test/rotate    {"alg": "RS256", "drop_old": false} -> {"kid": new active kid}
  POST /test/approve   {"user_code": ..., "claims": {...}} | {"user_code": ..., "deny": true}
  POST /test/gha       {"claims": {...}} sets the claims /gha-token signs (request token "gha-secret")
  GET  /test/stats     -> {"jwks": n, "discovery": n, "token": n, "device": n, "authorize": n}
  POST /test/users     {"users": {"alice": {"email": ..., "groups": [...], ...}}} the people the
                       authorization endpoint knows (login_hint picks one; their claims go in
                       the ID token); replaces the list
  POST /test/next-id-token {"exp_in": s, "aud": ..., "tamper": true, "nonce": ...} changes the
                       next ID token the code exchange returns (expired, wrong audience, a
                       broken signature, another nonce)

The portal's flow: GET /authorize?response_type=code&client_id&redirect_uri&state&nonce
&code_challenge&code_challenge_method=S256&login_hint=USER redirects (302) to
redirect_uri?code&state (or ?error=access_denied for an unknown user); POST /token with
grant_type=authorization_code, the code, redirect_uri, code_verifier and the client's
secret (HTTP Basic or client_secret_post) returns an ID token for the client, used once.
"""
import argparse
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import base64
import hashlib
from urllib.parse import parse_qs, unquote, urlencode, urlparse

import warnings

# authlib.jose announces its move to joserfc; the API used here stays until authlib 2.
warnings.filterwarnings("ignore", message=".*authlib.jose.*")
from authlib.jose import JsonWebKey, jwt  # noqa: E402

GHA_REQUEST_TOKEN = "gha-secret"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class Issuer:
    def __init__(self, issuer, client_id, interval, portal_client_id="ferry-portal", portal_secret="portal-secret"):
        self.issuer = issuer
        self.client_id = client_id
        self.portal_client_id = portal_client_id
        self.portal_secret = portal_secret
        self.users = {}
        self.codes = {}  # code -> {user, client_id, redirect_uri, nonce, challenge, expires}
        self.next_id_token = {}
        self.interval = interval
        self.lock = threading.Lock()
        self.keys = []  # published private keys; the last of each type signs
        self.stats = {"jwks": 0, "discovery": 0, "token": 0, "device": 0, "authorize": 0}
        self.gha_claims = {}
        self.devices = {}  # device_code -> {user_code, expires, claims|None, denied, last_poll}
        self.rotate("RS256")
        self.rotate("ES256")

    @staticmethod
    def new_key(alg):
        kid = secrets.token_hex(8)
        if alg == "ES256":
            return JsonWebKey.generate_key("EC", "P-256", is_private=True, options={"kid": kid})
        return JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": kid})

    def rotate(self, alg, drop_old=False):
        key = self.new_key(alg)
        kty = "EC" if alg == "ES256" else "RSA"
        with self.lock:
            if drop_old:
                self.keys = [k for k in self.keys if k.as_dict()["kty"] != kty]
            self.keys.append(key)
        return key.as_dict()["kid"]

    def signing_key(self, alg):
        kty = "EC" if alg == "ES256" else "RSA"
        with self.lock:
            return [k for k in self.keys if k.as_dict()["kty"] == kty][-1]

    def jwks(self):
        with self.lock:
            out = []
            for k in self.keys:
                d = k.as_dict(is_private=False)
                d["use"] = "sig"
                d["alg"] = "ES256" if d["kty"] == "EC" else "RS256"
                out.append(d)
            return {"keys": out}

    def mint(self, claims, alg="RS256", kid="published", aud=None, exp_in=300, iat_offset=0, nbf_offset=None):
        now = int(time.time())
        body = {"iss": self.issuer, "aud": aud if aud is not None else "ferry", "iat": now + iat_offset,
                "exp": now + exp_in, "jti": secrets.token_hex(12), "sub": claims.get("sub", "test-subject")}
        if nbf_offset is not None:
            body["nbf"] = now + nbf_offset
        body.update(claims)
        key = self.new_key(alg) if kid == "unknown" else self.signing_key(alg)
        header = {"alg": alg, "kid": key.as_dict()["kid"] if kid in ("published", "unknown") else kid, "typ": "JWT"}
        return jwt.encode(header, body, key).decode()

    def discovery(self):
        base = self.issuer
        return {"issuer": base, "jwks_uri": base + "/jwks", "token_endpoint": base + "/token",
                "authorization_endpoint": base + "/authorize",
                "device_authorization_endpoint": base + "/device_authorization",
                "response_types_supported": ["code", "id_token"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "grant_types_supported": [DEVICE_GRANT, "authorization_code"]}

    def authorize(self, q):
        """The redirect for an authorization request: a code for the login_hint's user."""
        if q.get("client_id") != self.portal_client_id or q.get("response_type") != "code" or not q.get("redirect_uri"):
            return None
        sep = "&" if "?" in q["redirect_uri"] else "?"
        user = self.users.get(q.get("login_hint", ""))
        if user is None or q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            why = "access_denied" if user is None else "invalid_request"
            return q["redirect_uri"] + sep + urlencode({"error": why, "state": q.get("state", "")})
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {"user": user, "redirect_uri": q["redirect_uri"], "nonce": q.get("nonce"),
                                "challenge": q["code_challenge"], "expires": time.time() + 60}
        return q["redirect_uri"] + sep + urlencode({"code": code, "state": q.get("state", "")})

    def exchange_code(self, b, authorization):
        """(status, body) of a token request with grant_type=authorization_code."""
        client, secret = b.get("client_id"), b.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            try:
                client, secret = [unquote(x) for x in base64.b64decode(authorization[6:]).decode().split(":", 1)]
            except ValueError:
                return 401, {"error": "invalid_client"}
        if client != self.portal_client_id or secret != self.portal_secret:
            return 401, {"error": "invalid_client"}
        with self.lock:
            c = self.codes.pop(b.get("code", ""), None)
            override, self.next_id_token = self.next_id_token, {}
        if c is None or time.time() > c["expires"] or b.get("redirect_uri") != c["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        verifier = b.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if digest != c["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"}
        claims = dict(c["user"])
        claims["nonce"] = override.get("nonce", c["nonce"])
        token = self.mint(claims, aud=override.get("aud", self.portal_client_id), exp_in=override.get("exp_in", 300))
        if override.get("tamper"):
            head, body, sig = token.split(".")
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            payload["groups"] = ["platform"]
            body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
            token = ".".join([head, body, sig])
        return 200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300, "id_token": token}


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def reply(self, code, obj):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            if (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
                return {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            return json.loads(raw or b"{}")

        def do_GET(self):
            url = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                state.stats["discovery"] += 1
                return self.reply(200, state.discovery())
            if url.path == "/jwks":
                state.stats["jwks"] += 1
                return self.reply(200, state.jwks())
            if url.path == "/test/stats":
                return self.reply(200, state.stats)
            if url.path == "/gha-token":
                # GitHub Actions: ACTIONS_ID_TOKEN_REQUEST_URL&audience=..., bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN
                if self.headers.get("Authorization") != "Bearer " + GHA_REQUEST_TOKEN:
                    return self.reply(401, {"message": "bad request token"})
                aud = q.get("audience") or "https://github.com/test"
                return self.reply(200, {"value": state.mint(dict(state.gha_claims), aud=aud)})
            if url.path == "/device":
                return self.reply(200, {"message": "approve the code with POST /test/approve"})
            if url.path == "/authorize":
                state.stats["authorize"] += 1
                location = state.authorize(q)
                if location is None:
                    return self.reply(400, {"error": "invalid_request"})
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self.reply(404, {"error": "not_found"})

        def do_POST(self):
            url = urlparse(self.path)
            try:
                b = self.body()
            except ValueError:
                return self.reply(400, {"error": "invalid_request"})
            if url.path == "/test/mint":
                return self.reply(200, {"token": state.mint(b.get("claims", {}), alg=b.get("alg", "RS256"), kid=b.get("kid", "published"),
                                                             aud=b.get("aud"), exp_in=b.get("exp_in", 300),
                                                             iat_offset=b.get("iat_offset", 0), nbf_offset=b.get("nbf_offset"))})
            if url.path == "/test/mint-many":
                return self.reply(200, {"tokens": [state.mint(b.get("claims", {}), alg=b.get("alg", "RS256"))
                                                   for _ in range(min(int(b.get("n", 1)), 10000))]})
            if url.path == "/test/rotate":
                return self.reply(200, {"kid": state.rotate(b.get("alg", "RS256"), b.get("drop_old", False))})
            if url.path == "/test/users":
                with state.lock:
                    state.users = {name: dict(claims, sub=claims.get("sub", name)) for name, claims in b.get("users", {}).items()}
                return self.reply(200, {})
            if url.path == "/test/next-id-token":
                with state.lock:
                    state.next_id_token = b
                return self.reply(200, {})
            if url.path == "/test/gha":
                state.gha_claims = b.get("claims", {})
                return self.reply(200, {})
            if url.path == "/test/approve":
                with state.lock:
                    for d in state.devices.values():
                        if d["user_code"] == b.get("user_code"):
                            if b.get("deny"):
                                d["denied"] = True
                            else:
                                d["claims"] = b.get("claims", {})
                            return self.reply(200, {})
                return self.reply(404, {"error": "unknown user_code"})
            if url.path == "/device_authorization":
                state.stats["device"] += 1
                if b.get("client_id") != state.client_id:
                    return self.reply(401, {"error": "invalid_client"})
                device_code = secrets.token_urlsafe(24)
                user_code = "-".join(["".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(4)) for _ in range(2)])
                with state.lock:
                    state.devices[device_code] = {"user_code": user_code, "expires": time.time() + 600, "claims": None,
                                                  "denied": False, "last_poll": 0.0}
                return self.reply(200, {"device_code": device_code, "user_code": user_code,
                                        "verification_uri": state.issuer + "/device",
                                        "verification_uri_complete": state.issuer + "/device?user_code=" + user_code,
                                        "expires_in": 600, "interval": state.interval})
            if url.path == "/token":
                state.stats["token"] += 1
                if b.get("grant_type") == "authorization_code":
                    status, answer = state.exchange_code(b, self.headers.get("Authorization"))
                    return self.reply(status, answer)
                if b.get("grant_type") != DEVICE_GRANT:
                    return self.reply(400, {"error": "unsupported_grant_type"})
                if b.get("client_id") != state.client_id:
                    return self.reply(401, {"error": "invalid_client"})
                with state.lock:
                    d = state.devices.get(b.get("device_code", ""))
                    if d is None:
                        return self.reply(400, {"error": "invalid_grant"})
                    if time.time() > d["expires"]:
                        return self.reply(400, {"error": "expired_token"})
                    if d["denied"]:
                        return self.reply(400, {"error": "access_denied"})
                    now = time.time()
                    too_fast = now - d["last_poll"] < state.interval * 0.8
                    d["last_poll"] = now
                    if d["claims"] is None:
                        return self.reply(400, {"error": "slow_down" if too_fast else "authorization_pending"})
                    claims = d["claims"]
                    del state.devices[b["device_code"]]
                token = state.mint(claims, aud=state.client_id)
                return self.reply(200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                                        "expires_in": 300, "id_token": token})
            return self.reply(404, {"error": "not_found"})

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1", help="listen address; the issuer URL stays http://127.0.0.1:PORT")
    ap.add_argument("--client-id", default="ferry-cli")
    ap.add_argument("--interval", type=int, default=1)
    ap.add_argument("--portal-client-id", default="ferry-portal")
    ap.add_argument("--portal-client-secret", default="portal-secret")
    args = ap.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), None)
    port = server.server_address[1]
    state = Issuer(f"http://127.0.0.1:{port}", args.client_id, args.interval, args.portal_client_id, args.portal_client_secret)
    server.RequestHandlerClass = make_handler(state)
    print(json.dumps({"issuer": state.issuer, "port": port}), flush=True)
    # The tests end the issuer by closing its stdin (or killing it): no orphan outlives them.
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()

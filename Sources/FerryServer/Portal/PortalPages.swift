import FerryCore
import Foundation

/// The portal's pages: server-rendered HTML (every string through `HTML`'s escaping), one
/// stylesheet, and ES modules for what happens in the browser (keys, QR, live updates). No
/// inline script or style anywhere: the CSP forbids them.
enum PortalPages {
    static func layout(title: String, session: PortalSession?, scripts: [String] = [], _ body: HTML) -> HTML {
        let csrf: HTML = session.map { "<meta name=\"ferry-csrf\" content=\"\($0.csrf)\">" } ?? ""
        let nav: HTML
        if let s = session {
            let admin: HTML = s.role == .admin ? "<a href=\"/portal/admin\">Admin</a>" : ""
            let devices: HTML = s.role == .developer ? "<a href=\"/portal/devices\">My devices</a>" : ""
            nav = """
                <nav>\(devices)\(admin)<span class="who" id="who">\(s.person) (\(s.role.rawValue)\(s.segment.map { ", " + $0 } ?? ""))</span>
                <form method="post" action="/portal/logout" class="inline"><input type="hidden" name="csrf" value="\(s.csrf)">
                <button type="submit" id="signout">Sign out</button></form></nav>
                """
        } else {
            nav = ""
        }
        let js: [HTML] = scripts.map { "<script type=\"module\" src=\"/portal/static/js/\($0)\"></script>" }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            \(csrf)<title>\(title) · Ferry</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/portal/static/portal.css">\(js)</head>
            <body><header><a class="brand" href="/portal/">Ferry</a>\(nav)</header><main>
            \(body)
            </main></body></html>
            """
    }

    static func signIn(issuer: String, returnTo: String, adminToken: Bool, message: String? = nil) -> HTML {
        let note: HTML = message.map { "<p class=\"error\" id=\"message\">\($0)</p>" } ?? ""
        let token: HTML = adminToken ? """
            <details><summary>Sign in with the admin token (break-glass)</summary>
            <form method="post" action="/portal/login/token" id="token-form">
            <input type="hidden" name="return" value="\(returnTo)">
            <label>Admin token <input type="password" name="token" id="admin-token" autocomplete="off" required></label>
            <button type="submit">Sign in</button></form></details>
            """ : ""
        return layout(title: "Sign in", session: nil, """
            <h1>Sign in</h1>\(note)
            <p><a class="button" id="sso" href="/portal/login?return=\(OIDCCodeFlow.formEncode(returnTo))">Sign in with your identity provider</a></p>
            <p class="muted">\(issuer)</p>
            \(token)
            """)
    }

    static func message(_ title: String, _ text: String, status: String = "error") -> HTML {
        layout(title: title, session: nil, """
            <h1>\(title)</h1><p class="\(status)" id="message">\(text)</p><p><a href="/portal/">Back to sign-in</a></p>
            """)
    }

    static func date(_ d: Date?) -> String {
        guard let d else { return "never" }
        return ISO8601DateFormatter().string(from: d)
    }

    static func bytes(_ n: Int64?) -> String {
        guard let n else { return "-" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), i = 0
        while v >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
    }

    /// A developer's devices; the table is redrawn by devices.js from the JSON endpoint on
    /// every change event, with the same columns.
    static func devices(_ session: PortalSession, _ devices: [PortalDevice]) -> HTML {
        let rows: [HTML] = devices.map(deviceRow)
        return layout(title: "My devices", session: session, scripts: ["devices.js"], """
            <h1>My devices</h1>
            <section><h2>Add a device</h2>
            <form id="add-device"><label>Name <input name="name" id="device-name" required maxlength="63" placeholder="alice-laptop"></label>
            <button type="submit" id="add">Add</button></form>
            <p class="muted">The key pair is made in this browser; only the public key is sent to Ferry.</p>
            <div id="new-device" hidden><h3>Your config</h3>
            <p>Import the file in the WireGuard app, or scan the code with the phone app. It holds the private key: Ferry does not keep it.</p>
            <button type="button" id="download">Download config</button>
            <canvas id="qr"></canvas><pre id="config"></pre></div>
            <p class="error" id="error" hidden></p></section>
            <section><h2>Devices</h2>
            <table id="devices"><thead><tr><th>Name</th><th>Address</th><th>Segment</th><th>Last handshake</th><th>Traffic (rx/tx)</th><th>Reaches</th><th>State</th><th></th></tr></thead>
            <tbody>\(rows)</tbody></table></section>
            <section id="traffic-section"><h2>Traffic <span class="muted">(last hour, bytes per second: rx blue, tx orange)</span></h2><div id="traffic" class="charts"></div></section>
            """)
    }

    static func deviceRow(_ d: PortalDevice) -> HTML {
        let state: HTML = d.stale ? "<span class=\"stale\">needs a new config</span>" : (d.peer.enabled ? "ok" : "disabled")
        let fix: HTML = d.stale ? """
            <button type="button" data-action="rotate">New key and config</button>
            <button type="button" data-action="reissue">New config (enter key)</button>
            """ : ""
        let reaches: [HTML] = d.reaches.map { "<div>\($0)</div>" }
        return """
            <tr data-id="\(d.peer.id)" data-public-key="\(d.peer.publicKey)" class="\(d.stale ? "stale-row" : "")"><td class="name">\(d.peer.name)</td>
            <td>\(d.peer.ipv4)</td><td>\(d.peer.segment)</td>
            <td>\(date(d.peer.latestHandshake))</td><td>\(bytes(d.peer.rxBytes)) / \(bytes(d.peer.txBytes))</td>
            <td>\(reaches)</td><td class="state">\(state)</td>
            <td>\(fix)<button type="button" data-action="rename">Rename</button> <button type="button" data-action="revoke">Revoke</button></td></tr>
            """
    }
}

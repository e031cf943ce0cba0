import WireGuard

/// `wg show IFNAME dump`, for interfaces without a UAPI socket (the kernel module): a first
/// line for the interface (private key, public key, listen port, fwmark), then one
/// tab-separated line per peer (public key, preshared key, endpoint, allowed IPs, latest
/// handshake, rx, tx, persistent keepalive). Lines that do not parse are skipped.
public enum WGDump {
    /// The whole device as a UAPI status; nil when wg printed nothing.
    public static func status(_ text: String) -> UAPIDeviceStatus? {
        let lines = text.split(separator: "\n")
        guard let first = lines.first else { return nil }
        let d = first.split(separator: "\t", omittingEmptySubsequences: false)
        var status = UAPIDeviceStatus()
        if d.count >= 4 {
            status.privateKey = try? PrivateKey(base64: d[0])
            status.listenPort = UInt16(d[2]) ?? 0
            // wg prints the mark as 0x… (or off).
            status.fwmark = d[3].hasPrefix("0x") ? UInt32(d[3].dropFirst(2), radix: 16) ?? 0 : UInt32(d[3]) ?? 0
        }
        for line in lines.dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count >= 8, let key = try? PublicKey(base64: f[0]) else { continue }
            var p = UAPIPeerStatus(publicKey: key)
            p.presharedKey = f[1] == "(none)" ? nil : try? PresharedKey(base64: f[1])
            p.endpoint = f[2] == "(none)" ? nil : Endpoint(f[2])
            p.allowedIPs = f[3] == "(none)" ? [] : f[3].split(separator: ",").compactMap { IPPrefix($0) }
            p.lastHandshakeTimeSec = Int64(f[4]) ?? 0
            p.rxBytes = UInt64(f[5]) ?? 0
            p.txBytes = UInt64(f[6]) ?? 0
            p.persistentKeepaliveInterval = UInt16(f[7]) ?? 0
            status.peers.append(p)
        }
        return status
    }

    /// The peers as the gateway sync reports them.
    public static func parse(_ text: String) -> [InterfacePeerStatus] {
        status(text).map(UAPIDiff.peerStatus) ?? []
    }
}

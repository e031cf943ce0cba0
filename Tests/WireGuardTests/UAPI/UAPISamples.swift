@testable import WireGuard

/// Keys and text used by the UAPI tests. The keys are the ones in the example of
/// https://www.wireguard.com/xplatform/ (any 32 bytes would do).
enum UAPISamples {
    static let privateHex = "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
    static let peer1Hex = "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"
    static let pskHex = "188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52"
    static let peer2Hex = "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"
    static let peer3Hex = "662e14fd594556f522604703340351258903b64f35553763f19426ab2a515c58"
    static let peer4Hex = "e818b58db5274087fcc1be5dc728cf53d3b5726b4cef6b9bab8f8f8c2452c25c"
    static let zeroHex = String(repeating: "0", count: 64)

    // Literals in the tests: a typo there is a bug in the test, so these stop hard.
    static func key<K: WireGuardKey>(_ hex: String) -> K {
        guard let k = try? K(hex: hex) else { preconditionFailure("bad key literal \(hex)") }
        return k
    }

    static func prefix(_ s: String) -> IPPrefix {
        guard let p = IPPrefix(s) else { preconditionFailure("bad prefix literal \(s)") }
        return p
    }

    static func endpoint(_ s: String) -> Endpoint {
        guard let e = Endpoint(s) else { preconditionFailure("bad endpoint literal \(s)") }
        return e
    }

    /// What `wg setconf` sends for a file with all the options, in the order of
    /// wireguard-tools src/ipc-uapi.h userspace_set_device: device keys, then per peer
    /// public_key, (remove and nothing else), preshared_key, endpoint,
    /// persistent_keepalive_interval, replace_allowed_ips, allowed_ip…
    static let wgSetconf = """
        set=1
        private_key=\(privateHex)
        listen_port=51820
        fwmark=4660
        replace_peers=true
        public_key=\(peer1Hex)
        preshared_key=\(pskHex)
        endpoint=[2001:db8::1]:51820
        persistent_keepalive_interval=25
        replace_allowed_ips=true
        allowed_ip=10.0.0.0/24
        allowed_ip=fd00::/64
        public_key=\(peer2Hex)
        endpoint=182.122.22.19:3233
        replace_allowed_ips=true
        allowed_ip=192.168.4.6/32
        public_key=\(peer3Hex)
        allowed_ip=-192.168.4.10/32
        public_key=\(peer4Hex)
        remove=true


        """

    /// wireguard-go device/device_test.go genConfigs: the configuration its own tests send.
    static let wireguardGoTestConfig = """
        set=1
        private_key=\(privateHex)
        listen_port=0
        replace_peers=true
        public_key=\(peer1Hex)
        protocol_version=1
        replace_allowed_ips=true
        allowed_ip=1.0.0.2/32


        """
}

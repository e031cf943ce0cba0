import CFerryLinux
import WireGuard

/// Conversions between the core's address types and the C shims' `ferry_address`, without
/// allocating.
extension ferry_address {
    init(_ endpoint: Endpoint?) {
        self.init()
        guard let endpoint else { return }
        port = endpoint.port
        setAddress(endpoint.address)
        if family == 6 { scope = endpoint.scope }
    }

    init(_ local: LocalAddress?) {
        self.init()
        guard let local else { return }
        scope = local.interfaceIndex
        setAddress(local.address)
    }

    private mutating func setAddress(_ address: IPAddress) {
        switch address {
        case .v4(let a):
            storeIPv4(a)
        case .v6(let a):
            // ::ffff:a.b.c.d is an IPv4 peer: send it through the IPv4 socket.
            if a.high == 0, a.low >> 32 == 0xffff {
                storeIPv4(IPv4Address(UInt32(truncatingIfNeeded: a.low)))
            } else {
                family = 6
                withUnsafeMutableBytes(of: &bytes) { raw in
                    raw.storeBytes(of: a.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                    raw.storeBytes(of: a.low.bigEndian, toByteOffset: 8, as: UInt64.self)
                }
            }
        }
    }

    private mutating func storeIPv4(_ a: IPv4Address) {
        family = 4
        withUnsafeMutableBytes(of: &bytes) { $0.storeBytes(of: a.value.bigEndian, toByteOffset: 0, as: UInt32.self) }
    }

    var address: IPAddress? {
        switch family {
        case 4:
            let v = withUnsafeBytes(of: bytes) { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) }
            return .v4(IPv4Address(v))
        case 6:
            let (h, l) = withUnsafeBytes(of: bytes) {
                (UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            return .v6(IPv6Address(high: h, low: l))
        default:
            return nil
        }
    }

    var endpoint: Endpoint? {
        guard let address else { return nil }
        return Endpoint(address: address, port: port, scope: family == 6 ? scope : 0)
    }

    var localAddress: LocalAddress? {
        guard let address else { return nil }
        return LocalAddress(address: address, interfaceIndex: scope)
    }
}

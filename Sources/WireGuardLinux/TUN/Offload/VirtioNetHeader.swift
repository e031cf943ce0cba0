/// `struct virtio_net_hdr` (include/uapi/linux/virtio_net.h), which a TUN opened with
/// IFF_VNET_HDR puts in front of every packet in both directions: whether the packet is a
/// GSO super-packet to be cut into `gsoSize` segments, and whether its transport checksum
/// is still to be completed (`needsChecksum`: the kernel left the pseudo-header's sum at
/// `checksumStart + checksumOffset`). The fields are in host byte order (legacy virtio, the
/// TUN's default).
struct VirtioNetHeader: Equatable {
    static let size = 10

    static let needsChecksumFlag: UInt8 = 1
    static let gsoNone: UInt8 = 0
    static let gsoTCPv4: UInt8 = 1
    static let gsoUDP: UInt8 = 3
    static let gsoTCPv6: UInt8 = 4
    static let gsoUDPL4: UInt8 = 5
    static let gsoECN: UInt8 = 0x80

    var flags: UInt8 = 0
    var gsoType: UInt8 = VirtioNetHeader.gsoNone
    /// Bytes of headers (IP + transport) in front of the segments' payload.
    var headerLength: UInt16 = 0
    /// Payload bytes per segment (the last one may be shorter).
    var gsoSize: UInt16 = 0
    /// Where the transport header starts (the IP header's length).
    var checksumStart: UInt16 = 0
    /// Where the checksum is in the transport header (TCP 16, UDP 6).
    var checksumOffset: UInt16 = 0

    init() {}

    init(loadingFrom p: UnsafeRawPointer) {
        flags = p.load(fromByteOffset: 0, as: UInt8.self)
        gsoType = p.load(fromByteOffset: 1, as: UInt8.self)
        headerLength = p.loadUnaligned(fromByteOffset: 2, as: UInt16.self)
        gsoSize = p.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
        checksumStart = p.loadUnaligned(fromByteOffset: 6, as: UInt16.self)
        checksumOffset = p.loadUnaligned(fromByteOffset: 8, as: UInt16.self)
    }

    func store(to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: flags, toByteOffset: 0, as: UInt8.self)
        p.storeBytes(of: gsoType, toByteOffset: 1, as: UInt8.self)
        p.storeBytes(of: headerLength, toByteOffset: 2, as: UInt16.self)
        p.storeBytes(of: gsoSize, toByteOffset: 4, as: UInt16.self)
        p.storeBytes(of: checksumStart, toByteOffset: 6, as: UInt16.self)
        p.storeBytes(of: checksumOffset, toByteOffset: 8, as: UInt16.self)
    }

    var needsChecksum: Bool { flags & VirtioNetHeader.needsChecksumFlag != 0 }
}

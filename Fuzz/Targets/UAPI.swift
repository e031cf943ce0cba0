import WireGuard

/// The UAPI: the framer, cut anywhere, and the request parser. A parsed `set` renders to
/// text that parses to the same request; a refused one has wireguard-go's errno.
func fuzzUAPI(_ data: UnsafeRawBufferPointer) {
    var input = FuzzInput(data)
    let cut = Int(input.byte())
    let bytes = input.rest()
    var framer = UAPIFramer(limit: 1 << 16)
    framer.append(contentsOf: bytes.prefix(cut))
    var events: [UAPIFramer.Event] = []
    while let event = framer.next() { events.append(event) }
    framer.append(contentsOf: bytes.dropFirst(cut))
    framer.finish()
    while let event = framer.next() { events.append(event) }
    for event in events {
        if case .request(.set(let request)) = event {
            let text = UAPI.render(request)
            let again = try? UAPI.parse(text)
            require(again == .set(request), "set request does not survive render and parse:\n\(text)")
        }
    }
    if let request = try? UAPI.parse(bytes: bytes), case .set(let set) = request {
        // Applying it to a device must not trap either.
        var device = Device(rng: FuzzRandom(seed: 1))
        _ = device.apply(set, now: Instant(nanoseconds: 1_000_000_000), send: { _, _ in })
    }
}

import Testing
@testable import WireGuard

private typealias S = UAPISamples

/// Everything the framer hands out for `stream`, fed in pieces of the given sizes.
func frames(_ stream: [UInt8], chunks: [Int] = [], limit: Int = UAPIFramer.defaultLimit, finish: Bool = false) -> [UAPIFramer.Event] {
    var framer = UAPIFramer(limit: limit)
    var events: [UAPIFramer.Event] = []
    var i = 0, c = 0
    while i < stream.count {
        let n = chunks.isEmpty ? stream.count : max(1, chunks[c % chunks.count])
        c += 1
        framer.append(contentsOf: stream[i..<min(stream.count, i + n)])
        i += n
        while let e = framer.next() { events.append(e) }
    }
    if finish {
        framer.finish()
        while let e = framer.next() { events.append(e) }
    }
    return events
}

@Suite struct UAPIFramerTests {
    @Test func pipelinedRequestsWholeAndByteByByte() throws {
        let stream = Array(("get=1\n\n" + S.wgSetconf + "get=1\n\n").utf8)
        guard case .set(let set) = try UAPI.parse(S.wgSetconf) else {
            Issue.record("sample is not a set request")
            return
        }
        let expected: [UAPIFramer.Event] = [.request(.get), .request(.set(set)), .request(.get)]
        #expect(frames(stream) == expected)
        #expect(frames(stream, chunks: [1]) == expected)
        #expect(frames(stream, chunks: [3, 5, 7, 11]) == expected)
    }

    @Test func partialRequestWaits() {
        var framer = UAPIFramer()
        framer.append(contentsOf: Array("set=1\nlisten_port=1\n".utf8))
        #expect(framer.next() == nil)
        #expect(framer.bufferedByteCount == 20)
        framer.append(contentsOf: Array("\n".utf8))
        #expect(framer.next() == .request(.set(UAPISetRequest(device: [.listenPort(1)]))))
        #expect(framer.next() == nil)
        #expect(framer.bufferedByteCount == 0)
    }

    @Test func unknownOperationClosesAtOnce() {
        var framer = UAPIFramer()
        framer.append(contentsOf: Array("gex".utf8)) // no newline needed to know
        #expect(framer.next() == .close(UAPIError(.invalidOperation)))
        framer.append(contentsOf: Array("get=1\n\n".utf8))
        #expect(framer.next() == nil)
        #expect(frames(Array("set=1\r\n\n".utf8)) == [.close(UAPIError(.invalidOperation))])
        #expect(frames(Array("\n".utf8)) == [.close(UAPIError(.invalidOperation))])
    }

    @Test func getWithTrailingCharacterIsAnsweredAndReadingGoesOn() {
        // wireguard-go reads one byte after "get=1\n", answers EINVAL if it is not "\n"
        // and reads the next operation from the byte after it.
        let events = frames(Array("get=1\nxget=1\n\n".utf8), chunks: [1])
        #expect(events == [.reject(UAPIError(.trailingCharacterAfterGet, line: 2)), .request(.get)])
    }

    @Test func badSetIsRejectedWholeAndTheNextOneStillParses() {
        let stream = Array("set=1\nlisten_port=1\nbogus\nfwmark=1\n\nset=1\nfwmark=2\n\n".utf8)
        let expected: [UAPIFramer.Event] = [
            .reject(UAPIError(.missingEquals, line: 3)),
            .request(.set(UAPISetRequest(device: [.fwmark(2)]))),
        ]
        #expect(frames(stream) == expected)
        #expect(frames(stream, chunks: [2]) == expected)
    }

    @Test func crlfEmptyLineEndsTheRequest() {
        #expect(frames(Array("set=1\nfwmark=3\r\n\r\nget=1\n\n".utf8), chunks: [1]) == [
            .request(.set(UAPISetRequest(device: [.fwmark(3)]))), .request(.get),
        ])
    }

    @Test func sizeLimit() {
        let request = Array("set=1\nlisten_port=1\nfwmark=2\n\n".utf8) // 30 bytes
        #expect(frames(request, limit: 30) == [.request(.set(UAPISetRequest(device: [.listenPort(1), .fwmark(2)])))])
        #expect(frames(request, limit: 29) == [.close(UAPIError(.tooLarge(limit: 29)))])
        #expect(frames(request, chunks: [1], limit: 29) == [.close(UAPIError(.tooLarge(limit: 29)))])
        // An endless request stops growing the buffer at the limit.
        var framer = UAPIFramer(limit: 1 << 12)
        framer.append(contentsOf: Array("set=1\n".utf8))
        var closed = false
        for _ in 0..<1000 where !closed {
            framer.append(contentsOf: Array("fwmark=1\n".utf8))
            while let e = framer.next() { closed = e == .close(UAPIError(.tooLarge(limit: 1 << 12))) }
            #expect(framer.bufferedByteCount <= (1 << 12) + 9)
        }
        #expect(closed)
        #expect(framer.bufferedByteCount == 0)
    }

    @Test func endOfStreamAppliesATruncatedSetAsWireguardGoDoes() {
        #expect(frames(Array("set=1\nlisten_port=1\nfwmark=5".utf8), finish: true) == [
            .request(.set(UAPISetRequest(device: [.listenPort(1), .fwmark(5)]))),
        ])
        #expect(frames(Array("set=1\nlisten_port=x\n".utf8), finish: true) == [
            .reject(UAPIError(.invalidValue(key: "listen_port"), line: 2)),
        ])
        #expect(frames(Array("set=1\nfwmark=5\n\r".utf8), finish: true) == [.request(.set(UAPISetRequest(device: [.fwmark(5)])))])
        #expect(frames(Array("get=1\n".utf8), finish: true) == [])
        #expect(frames(Array("se".utf8), finish: true) == [])
        #expect(frames(Array("get=1\n\nset=1\n".utf8), finish: true) == [.request(.get), .request(.set(UAPISetRequest()))])
    }

    @Test func unsafeBytesAppend() {
        var framer = UAPIFramer()
        Array("get=1\n\n".utf8).withUnsafeBytes { framer.append($0) }
        #expect(framer.next() == .request(.get))
    }
}

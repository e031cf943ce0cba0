import Foundation

/// One reading of the coordinator's clock: the `Date` header of a response, and our clock
/// just before the request and just after the response.
public struct ClockSample: Sendable, Equatable {
    public var serverDate: Date?
    public var sent: Date
    public var received: Date

    public init(serverDate: Date?, sent: Date, received: Date) {
        self.serverDate = serverDate
        self.sent = sent
        self.received = received
    }

    /// The coordinator's clock minus ours, in seconds, and how far off that can be: the
    /// header has whole seconds (the true time is up to 1 s later, so its middle is taken)
    /// and the server stamped it somewhere within the round trip.
    public var skew: (seconds: Double, uncertainty: Double)? {
        guard let serverDate else { return nil }
        let roundTrip = max(0, received.timeIntervalSince(sent))
        let ours = sent.addingTimeInterval(roundTrip / 2)
        return (serverDate.addingTimeInterval(0.5).timeIntervalSince(ours), 0.5 + roundTrip / 2)
    }

    /// RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only form servers send now.
    public static func parseHTTPDate(_ text: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f.date(from: text.trimmingCharacters(in: .whitespaces))
    }
}

/// Clock skew against the coordinator. WireGuard itself needs no agreement between clocks
/// (a TAI64N timestamp is only compared with the same peer's earlier ones), but the rest
/// does: ephemeral peers' TTLs and token expiry are the coordinator's times and are shown
/// here against ours, TLS certificates are checked against ours, and the audit log is
/// read side by side with local logs. A few seconds are noise; beyond `warnAfter` the
/// check warns, beyond `failAfter` it fails.
public struct ClockSkewCheck: DoctorCheck {
    public let name = "clock"
    let sample: ClockSample?
    let warnAfter: Double
    let failAfter: Double

    public init(sample: ClockSample?, warnAfter: Double = 5, failAfter: Double = 60) {
        self.sample = sample
        self.warnAfter = warnAfter
        self.failAfter = failAfter
    }

    public func run() async -> DoctorResult {
        guard let sample else { return skip("the coordinator could not be reached to read its clock") }
        guard let (skew, uncertainty) = sample.skew else { return skip("the coordinator's response had no Date header") }
        // Only what is certainly skew counts against the clock.
        let certain = max(0, abs(skew) - uncertainty)
        let shown = Int(skew.rounded())
        let direction = skew > 0 ? "behind" : "ahead of"
        let details = ["skewSeconds": String(format: "%.1f", skew), "uncertaintySeconds": String(format: "%.1f", uncertainty)]
        let fix = ["sync your clock (skew \(abs(shown)) s): `timedatectl set-ntp true`, or `chronyc makestep` where chrony runs"]
        if certain > failAfter {
            return fail("this machine's clock is \(abs(shown)) s \(direction) the coordinator's", fix: fix, details: details)
        }
        if certain > warnAfter {
            return warn("this machine's clock is \(abs(shown)) s \(direction) the coordinator's", fix: fix, details: details)
        }
        return pass("within \(String(format: "%.1f", uncertainty + abs(skew))) s of the coordinator's clock", details: details)
    }
}

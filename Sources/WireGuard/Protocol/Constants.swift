/// Every protocol constant in one place, named as in the whitepaper (§6.1–6.4), the Linux
/// driver's messages.h and wireguard-go's constants.go.
public enum WireGuardConstants {
    // MARK: Noise
    /// Noise protocol name: initial chaining key = HASH(construction).
    public static let construction = Array("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".utf8)
    /// Mixed into the initial hash: HASH(chaining key ‖ identifier).
    public static let identifier = Array("WireGuard v1 zx2c4 Jason@zx2c4.com".utf8)
    public static let labelMAC1 = Array("mac1----".utf8)
    public static let labelCookie = Array("cookie--".utf8)

    // MARK: Limits (whitepaper §6.1)
    public static let rekeyAfterMessages: UInt64 = 1 << 60
    public static let rejectAfterMessages: UInt64 = UInt64.max - (1 << 13)  // 2^64 − 2^13 − 1
    public static let rekeyAfterTime = Interval.seconds(120)
    public static let rejectAfterTime = Interval.seconds(180)
    public static let rekeyAttemptTime = Interval.seconds(90)
    public static let rekeyTimeout = Interval.seconds(5)
    /// Up to this much random jitter is added to REKEY_TIMEOUT (wireguard-go's 334 ms; the
    /// kernel's HZ/3).
    public static let rekeyTimeoutJitterMaxMilliseconds: UInt64 = 334
    /// Retries after the first attempt before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT.
    public static let maxTimerHandshakes = Int(rekeyAttemptTime.nanoseconds / rekeyTimeout.nanoseconds)
    public static let keepaliveTimeout = Interval.seconds(10)
    public static let cookieRefreshTime = Interval.seconds(120)
    /// A received cookie is used for mac2 only while younger than this (kernel:
    /// COOKIE_SECRET_MAX_AGE − COOKIE_SECRET_LATENCY).
    public static let cookieValidity = Interval.seconds(120 - 5)
    /// At most one initiation per peer is consumed per this interval (50 per second).
    public static let handshakeInitiationRate = Interval.milliseconds(20)
    /// Stays "under load" this long after the handshake queue was last found full.
    public static let underLoadAfterTime = Interval.seconds(1)
    /// Initiator rekeys on receive when the keypair is this old: REJECT − KEEPALIVE − REKEY_TIMEOUT.
    public static let rekeyOnReceiveAge = Interval(nanoseconds: rejectAfterTime.nanoseconds - keepaliveTimeout.nanoseconds - rekeyTimeout.nanoseconds)

    // MARK: Sizes
    public static let keyLength = 32
    public static let macLength = 16
    public static let tagLength = 16
    public static let timestampLength = 12
    /// Plaintext is padded with zeros to a multiple of this (never beyond the MTU).
    public static let paddingMultiple = 16
    /// Packets waiting for a session, per peer; the oldest are dropped beyond this.
    public static let maxStagedPackets = 128
    public static let maxPeers = 1 << 16
    /// The interface MTU a daemon starts with (wireguard-go's DefaultMTU, wg-quick's default):
    /// 1500 less the largest overhead, IPv6 (40) + UDP (8) + WireGuard (32).
    public static let defaultMTU = 1420
}

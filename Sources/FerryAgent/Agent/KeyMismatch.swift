/// The coordinator holds another public key for this machine than the one its private key
/// makes: an admin ran `ferry peers rotate-key` (or the key was rotated from elsewhere), so
/// every peer now drops this machine's handshakes. Said by the agent, `status` and `doctor`.
public enum KeyMismatch {
    public static func message(own: String, coordinators: String) -> String? {
        guard own != coordinators else { return nil }
        return "the coordinator has another public key for this machine (\(coordinators), here \(own)): its key was rotated elsewhere (ferry peers rotate-key); run 'sudo ferry rotate-key' here to register a new key of this machine, or 'ferry leave' and join again"
    }
}

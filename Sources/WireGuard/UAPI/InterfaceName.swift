/// Interface names, checked once for every program: the UAPI socket is
/// /var/run/wireguard/NAME.sock, so the name is also a file name.
public enum InterfaceName {
    /// Whether the kernel would accept `name` for an interface (dev_valid_name: 1–15 bytes,
    /// not `.` or `..`, no `/`, `:` or white space; `%d` patterns are the kernel's to fill in).
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count < 16, name != ".", name != ".." else { return false }
        // The kernel's isspace(): space and \t \n \v \f \r; NUL cannot pass through C.
        return !bytes.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 == 0x20 || (0x09...0x0d).contains($0) || $0 == 0 }
    }

    /// A valid name that can also be written inside the quotes of nftables rules (ferryd's
    /// gateway firewall, the agent's mesh table) and of shell commands: no quotes or backslash.
    public static func isPlain(_ name: String) -> Bool {
        isValid(name) && !name.contains { $0 == "\"" || $0 == "'" || $0 == "\\" }
    }

    /// What to say about a name that is not plain.
    public static func problem(_ name: String) -> String {
        "'\(name)' is not an interface name: 1 to 15 characters, without '/', ':', quotes, backslash or white space"
    }
}

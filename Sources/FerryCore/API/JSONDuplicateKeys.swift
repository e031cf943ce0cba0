/// Finds the first key that appears twice in one JSON object of a document, at any depth.
/// JSONSerialization keeps one of them silently, so `{"name":"a","name":"b"}` would be read
/// as something its sender may not have meant; the strict decoder refuses it instead.
/// Runs only over text JSONSerialization has already accepted, so it may be lenient
/// about everything but strings, objects and keys.
enum JSONDuplicateKeys {
    static func first(in bytes: [UInt8]) -> String? {
        var i = 0
        // One set of keys per open object; nil for an open array.
        var stack: [Set<String>?] = []
        var expectingKey = false
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "{"):
                stack.append([])
                expectingKey = true
                i += 1
            case UInt8(ascii: "["):
                stack.append(nil)
                expectingKey = false
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
                expectingKey = false
                i += 1
            case UInt8(ascii: ","):
                expectingKey = stack.last.map { $0 != nil } ?? false
                i += 1
            case UInt8(ascii: "\""):
                let (text, next) = string(bytes, from: i)
                i = next
                if expectingKey, let last = stack.indices.last, var keys = stack[last] {
                    if keys.contains(text) { return text }
                    keys.insert(text)
                    stack[last] = keys
                    expectingKey = false
                }
            default:
                i += 1
            }
        }
        return nil
    }

    /// The raw text of the string starting at `start` (escapes decoded only for `\"`,
    /// `\\` and `\/`, enough to compare keys written the same way), and the index after it.
    private static func string(_ bytes: [UInt8], from start: Int) -> (String, Int) {
        var out: [UInt8] = []
        var i = start + 1
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { return (String(decoding: out, as: UTF8.self), i + 1) }
            if c == UInt8(ascii: "\\"), i + 1 < bytes.count {
                out.append(c)
                out.append(bytes[i + 1])
                i += 2
                continue
            }
            out.append(c)
            i += 1
        }
        return (String(decoding: out, as: UTF8.self), i)
    }
}

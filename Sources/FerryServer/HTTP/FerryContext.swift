import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage, the authenticated caller and the
/// connection (a long poll watches it to stop when its client goes away).
public struct FerryContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var caller: Caller?
    public let channel: (any Channel)?

    public init(source: Source) {
        coreContext = .init(source: source)
        caller = nil
        channel = source.channel
    }

    /// Request bodies are small JSON documents.
    public var maxUploadSize: Int { 1 << 20 }
}

import Hummingbird

/// The request context: Hummingbird's core storage and the authenticated caller.
public struct FerryContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var caller: Caller?

    public init(source: Source) {
        coreContext = .init(source: source)
        caller = nil
    }

    /// Request bodies are small JSON documents.
    public var maxUploadSize: Int { 1 << 20 }
}

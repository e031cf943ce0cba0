import FerryCore
import Foundation

/// Another coordinator of the same network (a replica) the agent may use.
public struct AlternateCoordinator: Codable, Sendable, Equatable {
    public var url: String
    /// The SHA-256 fingerprint its certificate was pinned with (`coordinator-N.pem`).
    public var fingerprint: String?
    public init(url: String, fingerprint: String?) { self.url = url; self.fingerprint = fingerprint }
}

/// The most coordinators one enrolment keeps.
public let maxCoordinators = 8

extension StateDirectory {
    /// The pinned certificate of the n-th alternate (1-based: the first alternate is the
    /// network's second coordinator, `coordinator-2.pem`).
    public func alternateCertificateFile(_ n: Int) -> String { file("coordinator-\(n + 1).pem") }

    var alternateCertificateFiles: [String] { (1..<maxCoordinators).map(alternateCertificateFile) }

    /// Every coordinator of the enrolment with its pinned certificate, the first one first.
    public func coordinators(for state: AgentState) throws(FerryError) -> [(url: String, pinnedCertificatePEM: String?)] {
        var out: [(url: String, pinnedCertificatePEM: String?)] = [(state.coordinator, try loadPinnedCertificate(for: state))]
        for (i, alt) in (state.alternates ?? []).prefix(maxCoordinators - 1).enumerated() {
            var pem: String?
            if alt.fingerprint != nil {
                let f = alternateCertificateFile(i + 1)
                guard let data = FileManager.default.contents(atPath: f) else {
                    throw .state("the pinned certificate \(f) of \(alt.url) is missing; run 'ferry join' again with its --fingerprint")
                }
                pem = String(decoding: data, as: UTF8.self)
            }
            out.append((alt.url, pem))
        }
        return out
    }

    /// Keeps the alternates' pinned certificates (before `state.json`, which names them).
    public func saveAlternateCertificates(_ pems: [String?]) throws(FerryError) {
        for (i, pem) in pems.enumerated() {
            if let pem { try AtomicFile.write(pem, to: alternateCertificateFile(i + 1)) }
        }
    }
}

import ArgumentParser
import FerryAgent
import FerryCore
import Foundation

/// `ferry join URL URL...`: several coordinators of one network, each pinned on its own.
extension Join {
    func validate() throws {
        guard !urls.isEmpty else { throw ValidationError("give the coordinator's URL") }
        guard urls.count <= maxCoordinators else { throw ValidationError("at most \(maxCoordinators) coordinator URLs") }
        let n = enrol.fingerprints.count
        guard n <= 1 || n == urls.count else {
            throw ValidationError("give one --fingerprint for every URL (in the same order), or one for all of them (\(urls.count) URLs, \(n) fingerprints)")
        }
    }

    /// Each URL's certificate fetched and checked against its fingerprint (the i-th, or the
    /// only one); nil where no fingerprint was given.
    static func pins(_ urls: [String], enrol: EnrolOptions) async throws(FerryError) -> [String?] {
        var out: [String?] = []
        for (i, url) in urls.enumerated() {
            if let warning = try PlainHTTP.check(url, allowed: enrol.insecureHTTP) { Console.progress(warning) }
            let f = enrol.fingerprints.count == urls.count ? enrol.fingerprints[i] : enrol.fingerprints.first
            guard let f else { out.append(nil); continue }
            Console.progress("fetching the certificate of \(url) and checking its fingerprint")
            out.append(try await CertificatePin.fetch(url: url, fingerprint: f))
        }
        return out
    }

    /// The first URL is the enrolment's coordinator; the others are kept as alternates.
    static func keepAlternates(_ urls: [String], pems: [String?], enrol: EnrolOptions, dir: StateDirectory) throws(FerryError) {
        var s = try dir.load()
        var base = urls.first ?? s.coordinator
        while base.hasSuffix("/") { base.removeLast() }
        s.coordinator = base
        guard urls.count > 1 else { try dir.save(s); return }
        let fingerprints = urls.indices.map { i in
            (enrol.fingerprints.count == urls.count ? enrol.fingerprints[i] : enrol.fingerprints.first).flatMap(CertificatePin.normalize)
        }
        s.alternates = zip(urls, fingerprints).dropFirst().map { AlternateCoordinator(url: $0.0, fingerprint: $0.1) }
        try dir.saveAlternateCertificates(Array(pems.dropFirst()))
        try dir.save(s)
    }
}

/// The coordinator answers this device: its network map could be read with the device
/// token. When it could not, the other checks run against the last map `ferry up` saved,
/// and this check says why the coordinator's view is not the live one.
public struct CoordinatorCheck: DoctorCheck {
    public let name = "coordinator"
    let url: String
    let mapVersion: Int64
    /// Why the live map could not be read; nil when it was.
    let problem: FerryError?

    public init(url: String, mapVersion: Int64, problem: FerryError?) {
        self.url = url
        self.mapVersion = mapVersion
        self.problem = problem
    }

    public func run() async -> DoctorResult {
        guard let problem else { return pass("\(url) answers; network map version \(mapVersion)") }
        let saved = "checked against the last map saved (version \(mapVersion))"
        switch problem.kind {
        case .unreachable:
            return fail("\(problem.message); \(saved)",
                        fix: ["check the coordinator's URL (\(url)), this machine's network and that ferryd runs; the tunnels keep the last map meanwhile"])
        case .unauthorized, .notFound:
            return fail("the coordinator refused this device (\(problem.message)); \(saved)",
                        fix: ["this peer was deleted or its token revoked: `ferry leave`, then `ferry join` with a new enrolment token from your admin"])
        default:
            return fail("\(problem.message); \(saved)", fix: ["see ferryd's log; `ferry up` keeps the last map meanwhile"])
        }
    }
}

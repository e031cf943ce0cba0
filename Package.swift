// swift-tools-version:6.0
import PackageDescription

// Layers (see docs/ARCHITECTURE.md): dependencies point downward only.
//   WireGuard       sans-IO protocol core (swift-crypto only)
//   WireGuardLinux  TUN, UDP, threads, UAPI server
//   FerryCore       domain shared by server, agent and CLI
//   FerryServer     the coordinator
//   FerryAgent      keeps one machine's interface in sync
//   executables     thin mains
//   QRCode          QR code encoder and renderers (no dependencies), for showing client configs
let package = Package(
    name: "Ferry",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "WireGuard", targets: ["WireGuard"]),
        .library(name: "WireGuardLinux", targets: ["WireGuardLinux"]),
        .library(name: "FerryCore", targets: ["FerryCore"]),
        .library(name: "FerrySystem", targets: ["FerrySystem"]),
        .library(name: "FerryDNS", targets: ["FerryDNS"]),
        .library(name: "FerryServer", targets: ["FerryServer"]),
        .executable(name: "ferryd", targets: ["ferryd"]),
        .library(name: "QRCode", targets: ["QRCode"]),
        .executable(name: "ferry-wg", targets: ["ferry-wg"]),
        .library(name: "FerryAgent", targets: ["FerryAgent"]),
        .executable(name: "ferry", targets: ["ferry"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        // The agent's HTTP client (FerryAgent's HTTPTransport), already in the graph through Hummingbird.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        // ferryd's PostgreSQL engine (Store/Postgres/), for several coordinator replicas.
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
    ],
    targets: [
        .target(
            name: "WireGuard",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "FerryCore",
            dependencies: ["WireGuard", "FerryDNS", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The system layer: programs run (ip, wg, nft, a userspace WireGuard), the UAPI
        // socket and durable file writes. FerryCore above stays a pure domain.
        .target(
            name: "FerrySystem",
            dependencies: ["FerryCore", "WireGuard", "CFerryLinux"]
        ),
        .target(
            name: "FerryServer",
            dependencies: [
                "FerryCore",
                "FerrySystem",
                "FerryDNS",
                "QRCode",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                // RSA for RS256 ID tokens (OIDC/); already built for swift-certificates.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/portal")]
        ),
        .executableTarget(
            name: "ferryd",
            dependencies: [
                "FerryServer",
                // `ferryd gateway` talks to its coordinator with the agent's pinned client.
                "FerryAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The agent: enrolment state, the coordinator's API client, keeping the interface in
        // sync, and `ferry doctor`'s checklist (Doctor/).
        .target(
            name: "FerryAgent",
            dependencies: [
                "FerryCore",
                "FerrySystem",
                "FerryDNS",
                "WireGuard",
                "QRCode",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The CLI and agent: thin commands over FerryAgent.
        .executableTarget(
            name: "ferry",
            dependencies: [
                "FerryAgent",
                "FerryCore",
                "FerrySystem",
                "WireGuard",
                "QRCode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "CFerryLinux"),
        .target(
            name: "WireGuardLinux",
            dependencies: ["WireGuard", "CFerryLinux"]
        ),
        // The userspace daemon: a drop-in for wireguard-go.
        .executableTarget(
            name: "ferry-wg",
            dependencies: ["WireGuardLinux", "WireGuard"]
        ),
        .testTarget(
            name: "WireGuardLinuxTests",
            dependencies: ["WireGuardLinux", "WireGuard", "CFerryLinux", "FerrySystem", "FerryTestSupport"]
        ),
        // Release-build benchmark of the core: `swift run -c release core-benchmark`.
        .executableTarget(
            name: "core-benchmark",
            dependencies: ["WireGuard", .product(name: "Crypto", package: "swift-crypto")],
            path: "Benchmarks/CoreBenchmark"
        ),
        // Control-plane benchmarks: `swift run -c release ferryd-bench [compile|api|longpoll]`.
        .executableTarget(
            name: "ferryd-bench",
            dependencies: ["FerryCore", "FerryServer", "FerrySystem", "FerryTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Benchmarks/FerrydBenchmark"
        ),
        // Helpers for tests that need root: namespaces, processes, waiting.
        .target(
            name: "FerryTestSupport",
            dependencies: ["FerrySystem"],
            path: "Tests/FerryTestSupport"
        ),
        // ferry-wg as a whole: two devices over the in-memory doubles, and the built
        // executable against wireguard-go, wg and wg-quick in network namespaces (root).
        .testTarget(
            name: "FerryWGTests",
            dependencies: ["WireGuardLinux", "WireGuard", "FerryTestSupport"],
            exclude: ["README.md"]
        ),
        .testTarget(
            name: "WireGuardTests",
            dependencies: ["WireGuard", "FerryTestSupport"],
            resources: [.copy("Vectors")]
        ),
        .target(name: "QRCode"),
        // The DNS message codec: sans-IO, no dependencies (ferryd's zone server, the agent's doctor).
        .target(name: "FerryDNS"),
        .testTarget(
            name: "FerryDNSTests",
            dependencies: ["FerryDNS", "FerryTestSupport"]
        ),
        .testTarget(
            name: "QRCodeTests",
            dependencies: ["QRCode", "FerryTestSupport"],
            resources: [.copy("Vectors")]
        ),
        .testTarget(
            name: "FerryCoreTests",
            dependencies: ["FerryCore", "FerrySystem", "FerryTestSupport"]
        ),
        .testTarget(
            name: "FerryAgentTests",
            dependencies: ["FerryAgent", "FerryCore", "FerrySystem", "WireGuard", "FerryTestSupport"]
        ),
        .testTarget(
            name: "FerryServerTests",
            dependencies: [
                "FerryServer",
                "FerryTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)

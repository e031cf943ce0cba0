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
        .library(name: "QRCode", targets: ["QRCode"]),
        .executable(name: "ferry-wg", targets: ["ferry-wg"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .target(
            name: "WireGuard",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
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
            dependencies: ["WireGuardLinux", "WireGuard", "CFerryLinux", "FerryTestSupport"]
        ),
        // Release-build benchmark of the core: `swift run -c release core-benchmark`.
        .executableTarget(
            name: "core-benchmark",
            dependencies: ["WireGuard", .product(name: "Crypto", package: "swift-crypto")],
            path: "Benchmarks/CoreBenchmark"
        ),
        // Helpers for tests that need root: namespaces, processes, waiting.
        .target(
            name: "FerryTestSupport",
            path: "Tests/FerryTestSupport"
        ),
        // ferry-wg as a whole: two devices over the in-memory doubles, and the built
        // executable against wireguard-go, wg and wg-quick in network namespaces (root).
        .testTarget(
            name: "FerryWGTests",
            dependencies: ["WireGuardLinux", "WireGuard", "FerryTestSupport"]
        ),
        .testTarget(
            name: "WireGuardTests",
            dependencies: ["WireGuard", "FerryTestSupport"],
            resources: [.copy("Vectors")]
        ),
        .target(name: "QRCode"),
        .testTarget(
            name: "QRCodeTests",
            dependencies: ["QRCode"],
            resources: [.copy("Vectors")]
        ),
    ]
)

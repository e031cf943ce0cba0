// swift-tools-version:6.0
import PackageDescription

// Layers (see docs/ARCHITECTURE.md): dependencies point downward only.
//   WireGuard       sans-IO protocol core (swift-crypto only)
//   WireGuardLinux  TUN, UDP, threads, UAPI server
//   FerryCore       domain shared by server, agent and CLI
//   FerryServer     the coordinator
//   FerryAgent      keeps one machine's interface in sync
//   executables     thin mains
let package = Package(
    name: "Ferry",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "WireGuard", targets: ["WireGuard"]),
        .library(name: "WireGuardLinux", targets: ["WireGuardLinux"]),
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
        .testTarget(
            name: "WireGuardLinuxTests",
            dependencies: ["WireGuardLinux", "WireGuard", "CFerryLinux"]
        ),
        .testTarget(
            name: "WireGuardTests",
            dependencies: ["WireGuard"],
            resources: [.copy("Vectors")]
        ),
    ]
)

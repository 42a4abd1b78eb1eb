// swift-tools-version: 6.0
//
// augload: a fit_generator-style image batch loader with spawned workers and zero-copy batches.
//
// Targets follow the layers of docs/architecture.md, ground floor first:
//   CAugCodecs   C: the only code that includes jpeglib.h / png.h
//   CAugSystem   C: Linux calls Swift cannot import cleanly, and the worker hook (a constructor)
//   CAugKernels  C: the per-pixel inner loops (resampling passes, output conversion, noise), AVX2 + portable
//   CAugHTTP     C: range requests over libcurl, loaded at run time (shards at http(s):// URLs)
//   AugloadCore  images, the codec wrapper, augmentations, the per-sample RNG
//   Augload      sequences, wire format, workers, shared-memory slots, the loader, fit, export
//   augload      the command line tool
//
// Build flags: `-D AUGLOAD_INVARIANTS` (on in debug builds) compiles the `_checkInvariants()`
// calls of the slot pool and reorder buffer, which run after every mutation.
import PackageDescription

let invariants: [SwiftSetting] = [.define("AUGLOAD_INVARIANTS", .when(configuration: .debug))]

let package = Package(
    name: "augload",
    products: [
        .library(name: "Augload", targets: ["Augload"]),
        .executable(name: "augload", targets: ["augload"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(
            name: "CAugCodecs",
            // zlib is libpng's: named so that a static libpng (the wheel's engine) links too.
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png"), .linkedLibrary("z")]
        ),
        .target(name: "CAugSystem", cSettings: [.define("_GNU_SOURCE")]),
        .target(name: "CAugKernels"),
        // libcurl is loaded when a URL is first read (dlopen), not linked: the wheel needs nothing
        // new, and everything but URLs works without it. Its header is needed to build.
        .target(name: "CAugHTTP", cSettings: [.define("_GNU_SOURCE")]),
        .target(
            name: "AugloadCore",
            dependencies: ["CAugCodecs", "CAugKernels", "CAugHTTP"],
            swiftSettings: invariants
        ),
        .target(
            name: "Augload",
            dependencies: [
                "AugloadCore", "CAugSystem", "CAugKernels",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Serve/PROTOCOL.md"],
            swiftSettings: invariants
        ),
        .executableTarget(
            name: "augload",
            dependencies: [
                "Augload",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A program with top-level side effects whose workers must never run its top level.
        .executableTarget(name: "augload-probe", dependencies: ["Augload"], path: "Tests/WorkerProbe"),
        .target(name: "CTestSupport", path: "Tests/CTestSupport"),
        .target(name: "TestSupport", dependencies: ["Augload", "CTestSupport"], path: "Tests/TestSupport"),
        .testTarget(name: "AugloadCoreTests", dependencies: ["AugloadCore", "CAugKernels", "TestSupport"]),
        .testTarget(name: "AugloadTests", dependencies: ["Augload", "TestSupport", "CAugSystem"]),
        .testTarget(name: "augloadCLITests", dependencies: ["TestSupport"]),
    ]
)

// swift-tools-version:6.2
import PackageDescription

// Plugins bind their own symbols first (-Bsymbolic): each plugin image carries
// its own copy of ScionPluginKit, so a plugin never resolves a Kit symbol to
// the host's copy or another plugin's, whatever Kit version it was built with.
let pluginLinkerSettings: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]

// Type metadata through direct accessor calls instead of mangled names that
// the runtime demangles at first use: each such name with a generic
// requirement (every Codable type's KeyedEncodingContainer<CodingKeys>)
// cost a scan of every loaded image's ~8,000 conformance records, about
// half of all the records `scion start` scanned (docs/performance.md).
// Plugin authors depend on ScionPluginKit by version: SwiftPM accepts a
// dependency's unsafe flags only from a 6.2 manifest (hence the tools
// version; PluginKitCLITests builds such a dependent package).
let directMetadataAccess: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"]),
]

func plugin(_ target: String, folder: String, dependencies: [Target.Dependency] = []) -> Target {
    .target(
        name: target,
        dependencies: ["ScionPluginKit"] + dependencies,
        path: "Plugins/\(folder)",
        exclude: ["plugin.json"],
        swiftSettings: directMetadataAccess,
        linkerSettings: pluginLinkerSettings
    )
}

let package = Package(
    name: "scion",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "scion", targets: ["scion"]),
        .executable(name: "scion-agent", targets: ["scion-agent"]),
        .library(name: "ScionPluginKit", targets: ["ScionPluginKit"]),
        .library(name: "ScionRuntimeLocal", type: .dynamic, targets: ["ScionRuntimeLocal"]),
        .library(name: "ScionHarnessGeneric", type: .dynamic, targets: ["ScionHarnessGeneric"]),
        .library(name: "ScionRuntimeDocker", type: .dynamic, targets: ["ScionRuntimeDocker"]),
        .library(name: "ScionRuntimePodman", type: .dynamic, targets: ["ScionRuntimePodman"]),
        .library(name: "ScionHarnessClaude", type: .dynamic, targets: ["ScionHarnessClaude"]),
        .library(name: "ScionHarnessGemini", type: .dynamic, targets: ["ScionHarnessGemini"]),
        .library(name: "ScionHarnessCodex", type: .dynamic, targets: ["ScionHarnessCodex"]),
        // Issue 12: the helper process of plugins.isolation: process.
        .executable(name: "scion-plugin-host", targets: ["scion-plugin-host"]),
        // Test only, never installed (scripts/install.sh installs Plugins/*).
        .library(name: "ScionTestRuntimeFaraway", type: .dynamic, targets: ["ScionTestRuntimeFaraway"]),
        // Issue 11: the grove broker, a host-side process of its own (scion does not link swift-nio).
        .executable(name: "scion-broker", targets: ["scion-broker"]),
        // Issue 9: the Kubernetes test cluster (test only, never installed).
        .executable(name: "kube-test-cluster", targets: ["KubeTestCluster"]),
        // Issue 10: the Kubernetes runtime and its attach helper.
        .library(name: "ScionRuntimeKubernetes", type: .dynamic, targets: ["ScionRuntimeKubernetes"]),
        .executable(name: "scion-kube-attach", targets: ["scion-kube-attach"]),
        // Its exec sessions (swift-nio), opened by the plugin at its first exec; no plugin.json.
        .library(name: "ScionKubeExec", type: .dynamic, targets: ["ScionKubeExec"]),
        // Issue 12: the Swift harness example (Plugins/examples), built, never installed.
        .library(name: "ScionExampleHarnessHello", type: .dynamic, targets: ["ScionExampleHarnessHello"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // SHA-256 of the repository files the user trusts (`scion trust`); ScionCore only.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // Issue 11: the grove broker's server (scion-broker only).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Issues 9 and 10: the test cluster's API server (test only) and the Kubernetes
        // runtime's WebSocket exec/attach (only in its targets).
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", exact: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
    ],
    targets: [
        .systemLibrary(name: "ScionPluginABI", path: "Sources/ScionPluginABI"),
        .systemLibrary(name: "CGit2", path: "Sources/CGit2", pkgConfig: "libgit2",
                       providers: [.apt(["libgit2-dev"])]),
        .target(name: "ScionPluginKit", dependencies: ["ScionPluginABI"], swiftSettings: directMetadataAccess),
        .target(
            name: "ScionCore",
            dependencies: [
                "ScionPluginABI", "ScionPluginKit", "CGit2", "ScionAgentEvents",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: directMetadataAccess
        ),
        .target(
            name: "ScionCommands",
            dependencies: [
                "ScionCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: directMetadataAccess
        ),
        .executableTarget(name: "scion", dependencies: ["ScionCommands"], swiftSettings: directMetadataAccess),
        // The in-agent helper: C library only, fully static, so it runs in any container image.
        .target(name: "ScionAgentEvents"),
        .executableTarget(
            name: "scion-agent", dependencies: ["ScionAgentEvents"],
            linkerSettings: [.unsafeFlags(["-static-executable"])]),
        plugin("ScionRuntimeLocal", folder: "runtime-local"),
        plugin("ScionHarnessGeneric", folder: "harness-generic"),
        // Container runtimes: shared engine code lives in ScionContainerSupport.
        .target(name: "CCurl", path: "Sources/CCurl"),
        .target(
            name: "ScionContainerSupport", dependencies: ["ScionPluginKit", "CCurl"], path: "Plugins/container-support",
            swiftSettings: directMetadataAccess),
        plugin("ScionRuntimeDocker", folder: "runtime-docker", dependencies: ["ScionContainerSupport"]),
        plugin("ScionRuntimePodman", folder: "runtime-podman", dependencies: ["ScionContainerSupport"]),
        // Agent harnesses: shared helpers live in ScionHarnessSupport.
        .target(
            name: "ScionHarnessSupport", dependencies: ["ScionPluginKit"], path: "Plugins/harness-support",
            swiftSettings: directMetadataAccess),
        plugin("ScionHarnessClaude", folder: "harness-claude", dependencies: ["ScionHarnessSupport"]),
        plugin("ScionHarnessGemini", folder: "harness-gemini", dependencies: ["ScionHarnessSupport"]),
        plugin("ScionHarnessCodex", folder: "harness-codex", dependencies: ["ScionHarnessSupport"]),
        // The in-process cost of the plugin ABI (Benchmarks/bench.py runs it).
        .executableTarget(name: "scion-plugin-bench", dependencies: ["ScionCore"], path: "Benchmarks/PluginCallBench"),
        // A runtime that does not share the host's paths, for the tests only.
        .target(
            name: "ScionTestRuntimeFaraway", dependencies: ["ScionPluginKit"], path: "Tests/Plugins/runtime-faraway",
            exclude: ["plugin.json"], linkerSettings: pluginLinkerSettings),
        // Issue 10: the Kubernetes runtime. ScionKubernetesClient holds the API client
        // (kubeconfig, REST over libcurl, exec requests) shared by the plugin and the
        // attach helper, which are different processes. The WebSocket sessions
        // (ScionKubeWebSocket, on swift-nio) are linked into the attach helper and into
        // libScionKubeExec.so, which the plugin opens at its first exec (CKubeExec's
        // header is the contract), so loading the plugin does not load swift-nio.
        .target(name: "CKubeExec", path: "Sources/CKubeExec"),
        .target(
            name: "ScionKubernetesClient",
            dependencies: ["ScionPluginKit", "CCurl", "CKubeExec", "ScionContainerSupport", .product(name: "Yams", package: "Yams")],
            path: "Plugins/kubernetes-support"),
        .target(
            name: "ScionKubeWebSocket",
            dependencies: [
                "CKubeExec",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Plugins/kubernetes-websocket"),
        .target(
            name: "ScionKubeExec", dependencies: ["CKubeExec", "ScionKubeWebSocket"], path: "Plugins/kubernetes-exec",
            linkerSettings: pluginLinkerSettings),
        plugin("ScionRuntimeKubernetes", folder: "runtime-kubernetes", dependencies: ["ScionKubernetesClient"]),
        .executableTarget(
            name: "scion-kube-attach", dependencies: ["ScionKubernetesClient", "ScionKubeWebSocket"], path: "Plugins/kubernetes-attach"),
        // Issue 12: plugins in a helper process (plain C: small and quick to start),
        // and the Swift harness example of the author's guide (never installed).
        .executableTarget(
            name: "scion-plugin-host", path: "Sources/scion-plugin-host",
            cSettings: [.headerSearchPath("../ScionPluginABI/include")]),
        .target(
            name: "ScionExampleHarnessHello", dependencies: ["ScionPluginKit"], path: "Plugins/examples/harness-hello-swift",
            exclude: ["plugin.json"], linkerSettings: pluginLinkerSettings),
        .target(name: "ScionTestSupport", dependencies: ["ScionCore"], path: "Tests/ScionTestSupport"),
        // Issue 11: the grove broker, serving the agents' `scion` over their own unix sockets.
        .executableTarget(
            name: "scion-broker",
            dependencies: [
                "ScionCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Issue 9: the Kubernetes test cluster: an API server whose pods are docker containers.
        .executableTarget(
            name: "KubeTestCluster",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/KubeTestCluster"),
        .testTarget(name: "ScionCoreTests", dependencies: ["ScionCore", "ScionTestSupport"]),
        .testTarget(
            name: "ScionCLITests",
            dependencies: [
                "ScionCore", "ScionCommands", "ScionTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Issue 10: unit tests of the Kubernetes client (kubeconfig, pod spec, errors).
        .testTarget(name: "ScionKubernetesTests", dependencies: ["ScionKubernetesClient", "ScionKubeWebSocket", "ScionTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

import Foundation
import Logging
import ScionCore
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// `scion-broker --grove <dir> --scion <path>`: the grove broker (see
/// GroveBroker). Started by scion, not by hand; exits 0 at once when
/// another broker holds the grove's lock, and by itself once no agent of
/// the grove needs it. SIGTERM or SIGINT shut it down gracefully: no new
/// requests, those running finish.
@main
struct BrokerMain {
    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["SCION_BROKER_DEBUG"] == nil ? .info : .debug
            return handler
        }
        let logger = Logger(label: "scion.broker")
        // A command that exits before reading all the standard input it was
        // given must cost its request an EPIPE, not the broker its life.
        signal(SIGPIPE, SIG_IGN)
        let arguments = Array(CommandLine.arguments.dropFirst())
        func value(_ flag: String) -> String? {
            arguments.firstIndex(of: flag).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
        }
        guard let groveDirectory = value("--grove") else {
            FileHandle.standardError.write(Data("usage: scion-broker --grove <grove folder> [--scion <scion executable>]\n".utf8))
            exit(2)
        }
        let scionPath = value("--scion")
            ?? (ScionContext.currentExecutable() as NSString).deletingLastPathComponent + "/scion"
        let grove = Grove(directory: groveDirectory, isGlobal: false)
        let broker = GroveBroker(grove: grove)
        // The lock is held for the broker's life; its release is the sign it is gone.
        let lock = open(broker.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            logger.debug("another broker serves \(groveDirectory)")
            exit(0)
        }
        let pid = Array("\(getpid())\n".utf8)
        ftruncate(lock, 0)
        _ = pid.withUnsafeBytes { pwrite(lock, $0.baseAddress, $0.count, 0) }
        let service = BrokerService(broker: broker, scionPath: scionPath, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                // Returning (no agent needs it) is the normal end: shut down, exit 0.
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("broker \(getpid()) serves grove \(groveDirectory)")
        do {
            try await group.run()
        } catch {
            logger.error("broker failed: \(error)")
            exit(1)
        }
        logger.info("broker \(getpid()) exits: no agent needs it")
        withExtendedLifetime(lock) {}
        exit(0)
    }
}

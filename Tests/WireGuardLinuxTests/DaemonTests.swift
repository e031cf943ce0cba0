import CFerryLinux
import Foundation
import Glibc
import Testing
@testable import WireGuardLinux

/// The re-exec mechanics, with /bin/sh standing in for ferry-wg's background process.
@Suite struct DaemonTests {
    /// Two descriptors to pass as the TUN and UAPI ones: the ends of a pipe, recognisable
    /// in the child through /proc/self/fd.
    func descriptors() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        #expect(ferry_pipe(&fds) == 0)
        return (fds[0], fds[1])
    }

    func detach(_ script: String, timeout: Double = 10) throws -> (Daemon.Outcome, tun: Int32, uapi: Int32) {
        let (tun, uapi) = try descriptors()
        // A descriptor without close-on-exec, which the child must not get anyway.
        let stray = dup(0)
        defer { close(tun); close(uapi); close(stray) }
        let outcome = try Daemon.detach(tun: tun, uapi: uapi, executable: "/bin/sh", arguments: ["sh", "-c", script],
                                        environment: ["PATH=/usr/bin:/bin", "WG_TUN_FD=99", "STRAY=\(stray)"],
                                        keepOutput: false, timeout: timeout)
        return (outcome, tun, uapi)
    }

    @Test func theChildGetsTheDescriptorsAndMarkersAndReportsReady() throws {
        // The child checks what it inherited and reports; fds 3 and 4 must be the pipe's
        // ends, stdin /dev/null, a session of its own, and nothing else inherited.
        let script = """
        [ "$WG_TUN_FD" = 3 ] && [ "$WG_UAPI_FD" = 4 ] && [ "$WG_PROCESS_FOREGROUND" = 1 ] && [ "$FERRY_READY_FD" = 5 ] || { echo "ERROR env $WG_TUN_FD $WG_UAPI_FD" >&5; exit 1; }
        case "$(readlink /proc/self/fd/3)" in pipe:*) ;; *) echo "ERROR fd3 $(readlink /proc/self/fd/3)" >&5; exit 1;; esac
        [ "$(readlink /proc/self/fd/3)" = "$(readlink /proc/self/fd/4)" ] || { echo "ERROR fds differ" >&5; exit 1; }
        [ "$(readlink /proc/self/fd/0)" = /dev/null ] || { echo "ERROR stdin" >&5; exit 1; }
        [ "$(ps -o sid= -p $$ | tr -d ' ')" = "$$" ] || { echo "ERROR not a session leader" >&5; exit 1; }
        [ ! -e /proc/$$/fd/$STRAY ] || { echo "ERROR inherited fd $STRAY" >&5; exit 1; }
        echo READY >&5
        """
        let (outcome, _, _) = try detach(script)
        guard case .ready(let pid) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        #expect(status == 0)
    }

    @Test func aReportedErrorReachesTheParent() throws {
        let (outcome, _, _) = try detach("echo 'ERROR interface wg9 was deleted' >&5; exit 1")
        #expect(outcome == .failed("interface wg9 was deleted"))
    }

    @Test func aChildThatDiesSilentlyIsAFailure() throws {
        let (outcome, _, _) = try detach("exit 3")
        #expect(outcome == .failed("the background process exited before it was ready (exit status 3)"))
    }

    @Test func aSilentChildIsStoppedAfterTheTimeLimit() throws {
        let start = MonotonicTime.now()
        let (outcome, _, _) = try detach("sleep 30", timeout: 0.5)
        #expect(outcome == .failed("the background process did not report within the time limit; stopped it"))
        #expect(MonotonicTime.now().nanoseconds - start.nanoseconds < 5_000_000_000)
    }

    @Test func readinessWritesOneLineAndClosesThePipe() throws {
        var fds: [Int32] = [-1, -1]
        #expect(ferry_pipe(&fds) == 0)
        defer { close(fds[0]) }
        let readiness = DaemonReadiness(environment: ["FERRY_READY_FD=\(fds[1])"])
        readiness.failed("socket in use")
        readiness.ready()  // only the first report counts
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = read(fds[0], &buffer, buffer.count)
        #expect(String(decoding: buffer[0..<max(n, 0)], as: UTF8.self) == "ERROR socket in use\n")
        #expect(read(fds[0], &buffer, buffer.count) == 0)  // closed
        // Without the variable nothing happens.
        DaemonReadiness(environment: []).ready()
    }

    @Test func inheritedDescriptorsComeFromTheEnvironment() {
        let inherited = InheritedDescriptors(environment: ["WG_TUN_FD=3", "WG_UAPI_FD=4", "WG_PROCESS_FOREGROUND=1", "X=1"])
        #expect(inherited.tun == 3 && inherited.uapi == 4 && inherited.foreground)
        let none = InheritedDescriptors(environment: ["WG_TUN_FD=x", "WG_UAPI_FD=-1"])
        #expect(none.tun == nil && none.uapi == nil && !none.foreground)
    }

    @Test func shutdownSignalsReportASignalOrAStop() throws {
        // Thread-directed signals, so nothing else in the test process can receive them.
        let stop = try StopSignal()
        let threads = BlockingQueue<pthread_t>()
        let reasons = BlockingQueue<ShutdownSignals.Reason>()
        let waiter = try IOThread(name: "signals") {
            guard let signals = try? ShutdownSignals(signals: [SIGUSR2]) else { return }
            threads.push(pthread_self())
            reasons.push(signals.wait(orUntil: stop))
            reasons.push(signals.wait(orUntil: stop))
        }
        let thread = try #require(threads.pop(until: .after(seconds: 5)))
        #expect(pthread_kill(thread, SIGUSR2) == 0)
        #expect(reasons.pop(until: .after(seconds: 5)) == .signal(SIGUSR2))
        stop.stop()
        #expect(reasons.pop(until: .after(seconds: 5)) == .stopped)
        waiter.join()
    }
}

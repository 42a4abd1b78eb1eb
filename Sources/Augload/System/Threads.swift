import AugloadCore

#if canImport(Glibc)
    import Glibc
#endif

/// Starting a pthread that runs a Swift closure: the loader's dispatcher and the serve listener.
enum Threads {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Runs `body` on a new thread (the closure, and what it captures, live until it returns).
    /// - Returns: the thread, to join or detach.
    /// - Throws: ``SystemError`` when `pthread_create` fails (its error code as `errno`).
    static func start(_ what: @autoclosure () -> String, _ body: @escaping () -> Void) throws(SystemError) -> pthread_t {
        let box = Unmanaged.passRetained(Body(body))
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw SystemError(what(), errno: rc)
        }
        return thread
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// A pthread mutex with a condition variable: the loader's one lock between the consumer and the
/// dispatcher thread. A class so its address is stable.
final class Mutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits on the condition; the lock must be held (call inside `withLock`).
    func wait(timeoutSeconds: Double? = nil) {
        if let timeoutSeconds {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let total = Double(ts.tv_nsec) + timeoutSeconds * 1e9
            ts.tv_sec += Int(total / 1e9)
            ts.tv_nsec = Int(total.truncatingRemainder(dividingBy: 1e9))
            pthread_cond_timedwait(cond, mutex, &ts)
        } else {
            pthread_cond_wait(cond, mutex)
        }
    }

    func broadcast() { pthread_cond_broadcast(cond) }
}

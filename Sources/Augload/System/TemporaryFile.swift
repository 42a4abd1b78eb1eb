import AugloadCore

#if canImport(Glibc)
    import Glibc
#endif

/// A file written under a temporary name beside its final one and renamed into place when
/// complete, so nobody ever reads it half written (shards `pack` writes, kept shard indexes).
struct TemporaryFile {
    /// Where the file goes when committed.
    let path: String
    let temporary: String
    private let fd: Int32

    /// Creates `path`'s temporary sibling, `PATH.tmp-PID` (a ``Locator`` string, as `path`).
    init(replacing path: String) throws(LoaderError) {
        self.path = path
        let temporary = "\(path).tmp-\(getpid())"
        self.temporary = temporary
        fd = try Sys.call("create \(Locator.display(temporary))") {
            Locator.withCString(temporary) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        }
    }

    func write(_ bytes: [UInt8]) throws(LoaderError) { try Sys.writeAll(fd, bytes) }

    /// Closes the file and renames it to ``path``; on failure it is removed and the error thrown.
    func commit() throws(LoaderError) {
        Sys.close(fd)
        do {
            try Sys.call("rename \(Locator.display(temporary))") {
                Locator.withCString(temporary) { t in Locator.withCString(path) { rename(t, $0) } }
            }
        } catch {
            _ = Locator.withCString(temporary) { unlink($0) }
            throw error
        }
    }

    /// Closes and removes the unfinished file.
    func abandon() {
        Sys.close(fd)
        _ = Locator.withCString(temporary) { unlink($0) }
    }
}

/// `mkdir -p` (`path` a ``Locator`` string).
func makeFolders(_ path: String) throws(LoaderError) {
    var sofar = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        sofar += "/" + part
        if Locator.withCString(sofar, { mkdir($0, 0o755) }) != 0 && errno != EEXIST {
            throw LoaderError(.system, "cannot create the folder \(Locator.display(sofar)): \(String(cString: strerror(errno)))")
        }
    }
}

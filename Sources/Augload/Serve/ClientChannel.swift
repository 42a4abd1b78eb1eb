import CAugSystem
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The engine's end of the client socket: JSON objects in ``Frame``s, one writer (the session's
/// main thread) and one reader (its listening thread).
struct ClientChannel {
    let fd: Int32

    /// Sends `message`, with `fd` attached as SCM_RIGHTS when given (the slot ring's memfd).
    func send(_ message: EngineMessage, attaching attached: Int32? = nil) throws(LoaderError) {
        let payload: [UInt8]
        do {
            payload = Array(try ClientProtocol.encoder.encode(message))
        } catch {
            throw LoaderError(.system, "cannot encode a \(message.type) message: \(error)")
        }
        let frame = Frame.encode(payload)
        guard let attached else {
            try Sys.writeAll(fd, frame)
            return
        }
        // The descriptor rides on the first sendmsg; whatever it did not take goes as plain bytes.
        let sent = frame.withUnsafeBytes { raw in
            Result { () throws(LoaderError) in
                try Sys.call("sendmsg with the slot memory") { aug_send_with_fd(fd, raw.baseAddress!, raw.count, attached) }
            }
        }
        let count = try sent.get()
        if count < frame.count { try Sys.writeAll(fd, Array(frame[count...])) }
    }

    /// Blocks for the next frame; nil at end of file.
    func receive() throws(LoaderError) -> [UInt8]? { try Frame.read(fd) }

    /// Decodes a frame as `T`.
    static func decode<T: Decodable>(_ type: T.Type, _ frame: [UInt8]) throws(LoaderError) -> T {
        do {
            return try ClientProtocol.decoder.decode(type, from: Data(frame))
        } catch let error as LoaderError {
            throw error  // an option refused by name
        } catch {
            throw LoaderError(.invalidOptions, "malformed \(T.self) from the client: \(error)")
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// Writes NumPy `.npy` files (format 1.0), readable by `numpy.load`.
///
/// The header is an ASCII dict padded with spaces so the data starts on a 64-byte boundary;
/// the data is written straight from the batch's memory (no intermediate copy).
public enum NPYWriter {
    /// The dtype string NumPy uses for an element type.
    static func descr(_ dtype: DType) -> String { dtype == .uint8 ? "|u1" : "<f4" }

    /// The header bytes for an array of `shape` and `descr`.
    static func header(descr: String, shape: [Int]) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        let fixed = 10  // magic (6) + version (2) + length (2)
        let total = (fixed + dict.utf8.count + 1 + 63) / 64 * 64
        dict += String(repeating: " ", count: total - fixed - dict.utf8.count - 1) + "\n"
        let length = UInt16(dict.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
    }

    /// Writes `data` as an array of `shape` with NumPy dtype `descr` (`|u1`, `<f4`, `<i4`).
    public static func write(path: String, data: UnsafeRawBufferPointer, shape: [Int], descr: String) throws(LoaderError) {
        try writeFile(path: path, prefix: header(descr: descr, shape: shape), data: data)
    }

    /// Writes `prefix` then `data` to a new file; removes it on failure.
    static func writeFile(path: String, prefix: [UInt8], data: UnsafeRawBufferPointer) throws(LoaderError) {
        let fd = try Sys.call("create \(path)") { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        defer { Sys.close(fd) }
        do {
            try Sys.writeAll(fd, prefix)
            try Sys.writeAll(fd, data, what: "write \(path)")
        } catch {
            unlink(path)
            throw error
        }
    }

    /// Writes a batch as `images-…npy` and `labels-…npy` in `directory`.
    public static func write(_ batch: Batch, to directory: String) throws(LoaderError) {
        let name = String(format6(batch.index))
        let epoch = format4(batch.epoch)
        try write(
            path: "\(directory)/images-\(epoch)-\(name).npy", data: batch.images, shape: batch.shape, descr: descr(batch.dtype))
        if let soft = batch.softLabels {
            try write(
                path: "\(directory)/labels-\(epoch)-\(name).npy", data: UnsafeRawBufferPointer(soft),
                shape: [batch.count, batch.labelColumns], descr: "<f4")
        } else {
            try write(
                path: "\(directory)/labels-\(epoch)-\(name).npy", data: UnsafeRawBufferPointer(batch.labels),
                shape: [batch.labels.count], descr: "<i4")
        }
    }

    static func format4(_ v: Int) -> String { pad(v, 4) }
    static func format6(_ v: Int) -> String { pad(v, 6) }
    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

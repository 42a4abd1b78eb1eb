import AugloadCore

#if canImport(Glibc)
    import Glibc
#endif

/// What ``pack(_:prefix:shardBytes:progress:)`` wrote.
public struct PackReport: Sendable {
    /// The shards, in order.
    public var shards: [String] = []
    /// Samples written.
    public var samples = 0
    /// Bytes written (tar headers and padding included).
    public var bytes = 0
    /// The brace pattern naming every shard (`PREFIX-{000000..000003}.tar`), for `--shards`.
    public var spec = ""
}

/// Writes `dataset` as WebDataset tar shards `PREFIX-000000.tar`, `PREFIX-000001.tar`, … in its
/// sample order: per sample a key (its index, 9 digits), the image's original bytes as
/// `KEY.jpg|.jpeg|.png` (no re-encoding) and its label as `KEY.cls` (decimal text). A shard is
/// closed before the sample that would take it past `shardBytes` (a larger single sample gets a
/// shard of its own). Each shard is written under a temporary name and renamed when complete, so
/// a reader never sees half a shard. Headers carry mtime 0 and no owner: packing the same dataset
/// twice gives the same bytes. The prefix's folder is created if missing.
///
/// Reading the shards back (`--shards`) gives the dataset's samples in the same order with the
/// same labels, so the same batches, byte for byte.
///
/// - Throws: ``LoaderError``: `.badFile` naming a file that cannot be read (nothing is skipped:
///   a pack is a copy), `.system` when a shard cannot be written.
public func pack(
    _ dataset: ImageFolder, prefix: String, shardBytes: Int, progress: (PackReport) -> Void = { _ in }
) throws(LoaderError) -> PackReport {
    var report = PackReport()
    if let slash = prefix.lastIndex(of: "/"), slash != prefix.startIndex { try makeFolders(String(prefix[..<slash])) }
    var writer: TarWriter?
    var file = FileBytes()
    let width = max(9, String(dataset.samples.count - 1).count)
    do throws(LoaderError) {
        for (i, sample) in dataset.samples.enumerated() {
            let locator = sample.locator
            do {
                try file.read(path: locator)
            } catch {
                throw LoaderError(
                    .badFile, "cannot pack: \(error.description)", path: Locator.reported(locator), decodeCode: error.code)
            }
            let ext = try imageExtension(of: sample, bytes: file.bytes)
            let key = String(repeating: "0", count: max(0, width - String(i).count)) + String(i)
            let label = Array(String(sample.label).utf8)
            let needed = TarWriter.entryBytes(file.bytes.count) + TarWriter.entryBytes(label.count)
            if let w = writer, w.written > 0, w.written + needed + TarWriter.endBytes > shardBytes {
                writer = nil  // finish closes it, whether it succeeds or not
                report.bytes += try w.finish()
            }
            if writer == nil {
                let name = "\(prefix)-\(shardNumber(report.shards.count)).tar"
                writer = try TarWriter(path: name)
                report.shards.append(name)
            }
            try writer!.add(name: "\(key).\(ext)", bytes: file.bytes)
            try writer!.add(name: "\(key).cls", bytes: label)
            report.samples += 1
            if i % 256 == 255 { progress(report) }
        }
    } catch {
        writer?.file.abandon()  // no half shard stays behind
        throw error
    }
    if let w = writer { report.bytes += try w.finish() }
    let last = report.shards.count - 1
    report.spec = last == 0 ? report.shards[0] : "\(prefix)-{\(shardNumber(0))..\(shardNumber(last))}.tar"
    progress(report)
    return report
}

private func shardNumber(_ n: Int) -> String {
    let s = String(n)
    return String(repeating: "0", count: max(0, 6 - s.count)) + s
}

/// The member extension for a sample's image: its own (lowercased) when it is jpg, jpeg or png,
/// else what its first bytes say it is.
private func imageExtension(of sample: ImageFolder.Sample, bytes: [UInt8]) throws(LoaderError) -> String {
    let name = sample.member?.name ?? sample.path
    let base = name.lastIndex(of: "/").map { name[name.index(after: $0)...] } ?? name[...]
    if let dot = base.lastIndex(of: ".") {
        let ext = base[base.index(after: dot)...].lowercased()
        if ShardIndex.imageExtensions.contains(ext) { return ext }
    }
    if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "jpg" }
    if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "png" }
    throw LoaderError(
        .badFile, "cannot pack \(Locator.display(sample.locator)): neither a .jpg, .jpeg or .png name nor JPEG or PNG bytes",
        path: Locator.reported(sample.locator), decodeCode: .format)
}

/// Writes one ustar archive, member by member.
struct TarWriter {
    static let block = 512
    /// The end-of-archive marker: two zero blocks.
    static let endBytes = 2 * block

    let file: TemporaryFile
    private(set) var written = 0

    init(path: String) throws(LoaderError) { file = try TemporaryFile(replacing: path) }

    /// Header, data and padding of one member of `size` bytes.
    static func entryBytes(_ size: Int) -> Int { block + (size + block - 1) / block * block }

    mutating func add(name: String, bytes: [UInt8]) throws(LoaderError) {
        var header = [UInt8](repeating: 0, count: TarWriter.block)
        let nameBytes = Array(name.utf8)
        precondition(nameBytes.count <= 100, "member names are keys and extensions, well under 100 bytes")
        header.replaceSubrange(0..<nameBytes.count, with: nameBytes)
        TarWriter.octal(0o644, width: 8, into: &header, at: 100)  // mode
        TarWriter.octal(0, width: 8, into: &header, at: 108)  // uid
        TarWriter.octal(0, width: 8, into: &header, at: 116)  // gid
        TarWriter.octal(bytes.count, width: 12, into: &header, at: 124)  // size
        TarWriter.octal(0, width: 12, into: &header, at: 136)  // mtime
        header[156] = 0x30  // regular file
        header.replaceSubrange(257..<265, with: Array("ustar\u{0}00".utf8))
        header.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let sum = header.reduce(0) { $0 + Int($1) }
        TarWriter.octal(sum, width: 7, into: &header, at: 148)  // 6 digits, NUL, then the space kept
        let padding = (TarWriter.block - bytes.count % TarWriter.block) % TarWriter.block
        try file.write(header)
        try file.write(bytes)
        if padding > 0 { try file.write([UInt8](repeating: 0, count: padding)) }
        written += TarWriter.block + bytes.count + padding
    }

    /// Writes the end marker, closes and renames the shard into place; returns its size.
    func finish() throws(LoaderError) -> Int {
        do {
            try file.write([UInt8](repeating: 0, count: TarWriter.endBytes))
        } catch {
            file.abandon()
            throw error
        }
        try file.commit()
        return written + TarWriter.endBytes
    }

    /// `value` as `width - 1` zero-padded octal digits and a NUL.
    static func octal(_ value: Int, width: Int, into header: inout [UInt8], at offset: Int) {
        let digits = Array(String(value, radix: 8).utf8)
        let padded = [UInt8](repeating: 0x30, count: max(0, width - 1 - digits.count)) + digits
        header.replaceSubrange(offset..<(offset + width - 1), with: padded)
        header[offset + width - 1] = 0
    }
}

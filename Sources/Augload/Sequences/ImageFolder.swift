#if canImport(Glibc)
    import Glibc
#endif

/// An image dataset laid out as `root/<class>/<image>`: class sub-folders become labels.
///
/// Classes are the non-hidden sub-folders of `root`, sorted by name (byte order), labelled
/// 0, 1, 2, …; images are the files under each (recursively, sorted) whose extension is `.png`,
/// `.jpg` or `.jpeg` in any case. Hidden files and folders (a leading dot) are skipped. The order
/// is stable: the same tree always gives the same sample indices.
///
///     let folder = try ImageFolder(root: "data/train")
///     print(folder.classes, folder.samples.count)
public struct ImageFolder: Sendable {
    /// One image and its label.
    public struct Sample: Sendable, Hashable {
        /// The image file's path, `root/<class>/…` (a ``Locator`` string: bytes that are not
        /// UTF-8 escaped), or the shard holding the image when ``member`` is set.
        public var path: String
        /// The index of the sample's class in ``ImageFolder/classes``.
        public var label: Int32
        /// The image's member in the shard at ``path``; nil for a file.
        public var member: Locator.Member?

        public init(path: String, label: Int32, member: Locator.Member? = nil) {
            self.path = path
            self.label = label
            self.member = member
        }

        /// Where the image's bytes are, as workers, the cache and reports name it.
        public var locator: String {
            guard let m = member else { return path }
            return Locator.member(shard: path, name: m.name, offset: m.offset, size: m.size, token: m.token)
        }
    }

    /// The dataset folder, as given.
    public let root: String
    /// Class names (the sub-folder names, sorted by byte order); a label indexes this array.
    public let classes: [String]
    /// Every image, class by class in a stable order; a sample index indexes this array.
    public let samples: [Sample]
    /// What reading the dataset noticed but did not fail on (shard samples without an image,
    /// damaged tar headers skipped): the CLI prints it, the Python client warns with it.
    public var notes: [String] = []
    /// Damaged tar headers in its shards, each naming the shard, the offset and the member before
    /// it: a sequence refuses the dataset unless bad files are skipped (then they are notes).
    public var damage: [String] = []

    /// Scans `root`.
    /// - Throws: ``LoaderError`` (`.dataset`) when `root` is missing or unreadable, has no class
    ///   folders, or holds no images — saying how the layout should look.
    public init(root: String) throws(LoaderError) {
        self.root = root
        let layout = "expected \(root)/<class>/<image>.jpg|.jpeg|.png, one sub-folder per class"
        let entries: [(name: String, isDirectory: Bool)]
        do {
            entries = try ImageFolder.list(root)
        } catch {
            throw LoaderError(.dataset, "cannot read dataset folder \(Locator.display(root)): \(error.reason)", path: root)
        }
        let classes = entries.filter { $0.isDirectory && !$0.name.hasPrefix(".") }.map(\.name).sorted(by: ImageFolder.byteOrder)
        var samples: [Sample] = []
        for (label, name) in classes.enumerated() {
            var files: [String] = []
            ImageFolder.collect(root + "/" + name, into: &files)
            samples.append(contentsOf: files.map { Sample(path: $0, label: Int32(label)) })
        }
        if samples.isEmpty {
            let loose = entries.filter { !$0.isDirectory && ImageFolder.isImageName($0.name) }.count
            let hint = loose > 0 ? " (found \(loose) images directly in it: move them into class sub-folders)" : ""
            throw LoaderError(.dataset, "no images found in \(root)\(hint); \(layout)", path: root)
        }
        self.classes = classes
        self.samples = samples
    }

    /// An in-memory dataset (for tests and generated file lists).
    public init(root: String, classes: [String], samples: [Sample]) {
        self.root = root
        self.classes = classes
        self.samples = samples
    }

    /// True for names ending in .png, .jpg or .jpeg (any case) that are not hidden.
    public static func isImageName(_ name: String) -> Bool {
        if name.hasPrefix(".") { return false }
        guard let dot = name.lastIndex(of: ".") else { return false }
        let ext = name[name.index(after: dot)...].lowercased()
        return ext == "png" || ext == "jpg" || ext == "jpeg"
    }

    /// Orders names by their bytes (a name that is not UTF-8 by its real bytes, not its escapes).
    static func byteOrder(_ a: String, _ b: String) -> Bool {
        if a.utf8.contains(0) || b.utf8.contains(0) {
            return Locator.cString(a).map { UInt8(bitPattern: $0) }.lexicographicallyPrecedes(
                Locator.cString(b).map { UInt8(bitPattern: $0) })
        }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    private static func collect(_ dir: String, into files: inout [String]) {
        guard let entries = try? list(dir) else { return }
        for entry in entries.sorted(by: { byteOrder($0.name, $1.name) }) where !entry.name.hasPrefix(".") {
            let path = dir + "/" + entry.name
            if entry.isDirectory {
                collect(path, into: &files)
            } else if isImageName(entry.name) {
                files.append(path)
            }
        }
    }

    struct ListError: Error { var reason: String }

    /// Directory entries with their type (following symlinks for the type).
    static func list(_ dir: String) throws(ListError) -> [(name: String, isDirectory: Bool)] {
        let handle: OpaquePointer
        do {
            handle = try Syscall.retrying("opendir \(Locator.display(dir))") { Locator.withCString(dir) { opendir($0) } }
        } catch {
            throw ListError(reason: error.reason)
        }
        defer { closedir(handle) }
        var result: [(String, Bool)] = []
        while let entry = readdir(handle) {
            // The name's bytes as they are (a Locator string), whatever their encoding.
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Locator.string(bytes: raw.prefix(while: { $0 != 0 })) }
            if name == "." || name == ".." { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_LNK) || entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                var st = stat()
                if Locator.withCString(dir + "/" + name, { stat($0, &st) }) == 0 {
                    isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
                }
            }
            result.append((name, isDirectory))
        }
        return result
    }
}

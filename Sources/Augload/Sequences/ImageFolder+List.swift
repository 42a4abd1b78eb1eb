#if canImport(Glibc)
    import Glibc
#endif

/// Datasets given as a list of files rather than a folder tree: Keras' `flow_from_dataframe`
/// case (paths and labels straight from a table), for the CLI's `--files LIST.csv` and the Python
/// client's `files=`/`labels=`.
extension ImageFolder {
    /// A dataset of `files` with integer `labels` (one per file).
    ///
    /// - Parameters:
    ///   - classes: class names, indexed by label; default `"0"`, `"1"`, … up to the largest label.
    ///   - root: what error messages and workers call the dataset (default: the current folder).
    /// - Throws: ``LoaderError`` (`.dataset`) when the list is empty, the counts differ or a label
    ///   is negative or has no class name.
    public init(files: [String], labels: [Int], classes: [String]? = nil, root: String = ".") throws(LoaderError) {
        guard !files.isEmpty else { throw LoaderError(.dataset, "the file list is empty") }
        guard files.count == labels.count else {
            throw LoaderError(.dataset, "\(files.count) files but \(labels.count) labels: give one label per file")
        }
        let top = labels.max() ?? 0
        let names = classes ?? (0...max(top, 0)).map(String.init)
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= names.count }) {
            throw LoaderError(
                .dataset, "label \(labels[bad]) of \(files[bad]) is outside 0..<\(names.count) (the classes)", path: files[bad])
        }
        self.init(
            root: root, classes: names,
            samples: zip(files, labels).map { Sample(path: $0, label: Int32($1)) })
    }

    /// Reads a CSV list (RFC 4180, as pandas' `to_csv` and Python's `csv` write it): rows of
    /// `path,label`, where the label is an integer or a class name (names are sorted into labels
    /// 0, 1, …). A first row naming its columns `path` and `label` is a header, and then other
    /// columns (pandas' index) are ignored; a path with a comma or a quote is quoted, a quote
    /// doubled. Empty lines and lines starting with `#` are skipped; a relative path is relative to
    /// the list's folder. (An unquoted row of more than two fields without a header keeps the old
    /// reading: the label after the last comma, the path before it.)
    ///
    ///     // train.csv:  images/cat1.jpg,cat
    ///     //             "images/cat, the second.jpg",cat
    ///     let dataset = try ImageFolder(listFile: "train.csv")
    ///
    /// - Throws: ``LoaderError`` (`.dataset`) naming the list and the line when it cannot be read or parsed.
    public init(listFile: String) throws(LoaderError) {
        var file = FileBytes()
        do {
            try file.read(path: listFile)
        } catch {
            throw LoaderError(.dataset, "cannot read the file list \(listFile): \(error.message)", path: listFile)
        }
        let records: [CSVRecords.Record]
        do throws(CSVRecords.Malformed) {
            records = try CSVRecords.parse(Locator.string(bytes: file.bytes))  // a path need not be UTF-8
        } catch {
            throw LoaderError(.dataset, "\(listFile) line \(error.line): \(error.reason)", path: listFile)
        }
        let base = listFile.contains("/") ? String(listFile[..<listFile.lastIndex(of: "/")!]) : "."
        var rows: [(path: String, label: String)] = []
        var columns: (path: Int, label: Int)? = nil
        for record in records {
            let fields = record.quoted ? record.fields : record.fields.map(\.trimmingSpaces)
            if !record.quoted && (fields.allSatisfy(\.isEmpty) || fields[0].hasPrefix("#")) { continue }
            if rows.isEmpty && columns == nil, let p = fields.firstIndex(of: "path"), let l = fields.firstIndex(of: "label") {
                columns = (p, l)
                continue
            }
            let path: String
            let label: String
            if let columns {
                guard fields.count > max(columns.path, columns.label) else {
                    throw LoaderError(
                        .dataset,
                        "\(listFile) line \(record.line): \(fields.count) fields, the header names \(max(columns.path, columns.label) + 1)",
                        path: listFile)
                }
                (path, label) = (fields[columns.path], fields[columns.label].trimmingSpaces)
            } else if fields.count == 2 || (!record.quoted && fields.count > 2) {
                (path, label) = (fields.dropLast().joined(separator: ","), fields[fields.count - 1])
            } else {
                throw LoaderError(
                    .dataset, "\(listFile) line \(record.line): expected path,label, got \(fields.count) field(s)", path: listFile
                )
            }
            guard !path.isEmpty, !label.isEmpty else {
                throw LoaderError(.dataset, "\(listFile) line \(record.line): empty path or label", path: listFile)
            }
            rows.append((path.hasPrefix("/") ? path : base + "/" + path, label))
        }
        let numeric = rows.allSatisfy { Int($0.label).map { $0 >= 0 } ?? false }
        let classes: [String]? = numeric ? nil : Set(rows.map(\.label)).sorted(by: ImageFolder.byteOrder)
        let index = Dictionary(uniqueKeysWithValues: (classes ?? []).enumerated().map { ($1, $0) })
        try self.init(
            files: rows.map(\.path), labels: rows.map { numeric ? Int($0.label)! : index[$0.label]! }, classes: classes,
            root: base)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

/// CSV as RFC 4180 writes it (and pandas' `to_csv`, Python's `csv` module): fields separated by
/// commas, records by CRLF or LF; a field in double quotes may hold commas, line breaks and
/// doubled quotes (`""` is one `"`).
///
/// Why its own reader: a list of image paths is the one CSV augload reads, and a path may hold
/// any byte but NUL and `/`'s role — commas and quotes included, which pandas then quotes.
///
///     let records = try CSVRecords.parse("path,label\n\"a,b.jpg\",3\n")
///     // [(line: 1, fields: ["path", "label"], quoted: false), (line: 2, fields: ["a,b.jpg", "3"], quoted: true)]
enum CSVRecords {
    struct Record {
        /// The line the record starts on (1-based).
        var line: Int
        var fields: [String]
        /// True when a field of the record was quoted.
        var quoted: Bool
    }

    /// Why a text is not CSV: the line and the reason.
    struct Malformed: Error {
        var line: Int
        var reason: String
    }

    /// The records of `bytes` (UTF-8; other bytes are kept as they are by the caller's decoding).
    static func parse(_ text: String) throws(Malformed) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var anyQuoted = false
        var inQuotes = false
        var afterQuote = false
        var line = 1
        var start = 1
        let bytes = Array(text.utf8)
        var i = 0
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            anyQuoted = anyQuoted || quoted
            quoted = false
            afterQuote = false
        }
        func endRecord() {
            endField()
            records.append(Record(line: start, fields: fields, quoted: anyQuoted))
            fields.removeAll()
            anyQuoted = false
        }
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 1
                    } else {
                        inQuotes = false
                        afterQuote = true
                    }
                } else {
                    if b == UInt8(ascii: "\n") { line += 1 }
                    field.append(b)
                }
            } else if b == UInt8(ascii: ",") {
                endField()
            } else if b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") {
                if b == UInt8(ascii: "\r") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n") { i += 1 }
                endRecord()
                line += 1
                start = line
            } else if b == UInt8(ascii: "\"") && field.isEmpty && !afterQuote {
                inQuotes = true
                quoted = true
            } else if afterQuote {
                throw Malformed(line: line, reason: "a quoted field must end at a comma or the end of the line")
            } else {
                field.append(b)
            }
            i += 1
        }
        if inQuotes { throw Malformed(line: start, reason: "a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty || quoted { endRecord() }
        return records
    }
}

import CTestSupport

/// SHA-256 of bytes as lowercase hex, to compare decoded pixels with Pillow's checksums.
public func sha256Hex(_ data: [UInt8]) -> String {
    var hex = [CChar](repeating: 0, count: 65)
    data.withUnsafeBufferPointer { ctest_sha256_hex($0.baseAddress, $0.count, &hex) }
    return String(decoding: hex.prefix(64).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

import FoundationEssentials

/// Sends values of user types across to workers as "type name + encoded state".
///
/// A worker is the same binary as the loader, so a type's mangled name resolves there to the
/// same type (`_typeByName`) — the Keras `use_multiprocessing=True` experience without pickling.
/// Types must be declared at file scope (local types have no resolvable name).
public enum TypeCodec {
    /// The name a worker can resolve back to `type`.
    public static func name(of type: Any.Type) -> String { _mangledTypeName(type) ?? String(reflecting: type) }

    /// Resolves a name made by ``name(of:)``.
    public static func type(named name: String) -> Any.Type? { _typeByName(name) }

    /// Encodes `value` as JSON with sorted keys.
    public static func encodeJSON<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    /// Decodes a `type` value from JSON made by ``encodeJSON(_:)``.
    public static func decodeJSON<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}

/// One applied step of a sample, named as `torchvision.transforms.v2.functional` names it, with
/// its keyword arguments: `getattr(F, call.op)(image, **call.args)` replays it.
///
/// Steps that have no torchvision counterpart (the decode, augload's noise) carry an `augload_`
/// name so a replay can tell them apart.
///
///     ExplainCall("adjust_brightness", ["brightness_factor": .number(1.3)])
public struct ExplainCall: Sendable, Equatable, Encodable {
    /// The function's name, such as `"rotate"`.
    public var op: String
    /// Its keyword arguments.
    public var args: [String: ExplainValue]

    /// A call of `op` with `args`.
    public init(_ op: String, _ args: [String: ExplainValue] = [:]) {
        self.op = op
        self.args = args
    }
}

/// A JSON value of an explain record.
public enum ExplainValue: Sendable, Equatable, Encodable {
    case number(Double)
    case integer(Int)
    case text(String)
    case flag(Bool)
    case list([ExplainValue])
    /// A nested call (AugMix's chains), written as `{"op": …, "args": {…}}`.
    case call(ExplainCall)
    case null

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let v): try c.encode(v)
        case .integer(let v): try c.encode(v)
        case .text(let v): try c.encode(v)
        case .flag(let v): try c.encode(v)
        case .list(let v): try c.encode(v)
        case .call(let v): try c.encode(v)
        case .null: try c.encodeNil()
        }
    }

    /// A list of integers.
    public static func integers(_ values: [Int]) -> ExplainValue { .list(values.map { .integer($0) }) }
    /// A list of numbers.
    public static func numbers(_ values: [Double]) -> ExplainValue { .list(values.map { .number($0) }) }
}

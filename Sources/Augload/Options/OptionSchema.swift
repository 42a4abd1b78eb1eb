import AugloadCore

/// The one description of the engine's options: for each, its name (snake_case: the client
/// protocol's key and Python's keyword; `--kebab-case` on the command line), its kind, its range
/// or choices, its default and its help.
///
/// Everything else is derived from it, so an option is added in two places (its property on
/// ``ImageBatchOptions``, with its default, and its entry here) and means the same everywhere:
///
/// - ``ImageBatchOptions`` is `Codable` through it: a flat JSON object of these names, every key
///   optional (a missing key keeps the default), an unknown key refused by name — the client
///   protocol's `hello.options` and the worker wire are that object, with no mapping in between;
/// - ``ImageBatchOptions/validate()`` checks the ranges listed here, naming the option;
/// - `augload options --json` prints it: Python's package reads that (written into the wheel at
///   build time) for its keywords' defaults, ranges and choices; the CLI's flags take their help
///   and defaults from it, and tests hold both to it.
public struct OptionSpec: Sendable {
    public enum Kind: String, Sendable, Codable {
        case int, float, bool, choice, text, floats
    }

    /// Where the option lives: in ``ImageBatchOptions`` (what a batch holds), or the loader's
    /// (how it is run: workers, queue, epochs).
    public enum Scope: String, Sendable, Codable {
        case sequence, loader
    }

    public let name: String
    public let kind: Kind
    public let scope: Scope
    /// The allowed values of a number (inclusive), or nil.
    public let range: ClosedRange<Double>?
    /// The allowed values of a choice, or nil.
    public let choices: [String]?
    /// Whether the value may be absent (JSON null: off, or decided by the engine).
    public let optional: Bool
    public let help: String
    /// The command-line flag: `--batch-size` for `batch_size`.
    public var flag: String { "--" + String(name.map { $0 == "_" ? "-" : $0 }) }

    fileprivate let read: @Sendable (ImageBatchOptions, inout KeyedEncodingContainer<OptionKey>, OptionKey) throws -> Void
    fileprivate let write: @Sendable (inout ImageBatchOptions, KeyedDecodingContainer<OptionKey>, OptionKey) throws -> Void
    /// The numeric value, for the range check (nil: absent or not a number).
    fileprivate let number: @Sendable (ImageBatchOptions) -> Double?
}

/// A JSON key of the schema.
public struct OptionKey: CodingKey, Sendable {
    public let stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

extension OptionSpec {
    typealias Path<T> = WritableKeyPath<ImageBatchOptions, T>

    private static func make<T: Codable & Sendable>(
        _ name: String, _ path: Path<T>, _ kind: Kind, range: ClosedRange<Double>? = nil, choices: [String]? = nil,
        optional: Bool = false, number: @escaping @Sendable (T) -> Double? = { _ in nil }, help: String
    ) -> OptionSpec {
        nonisolated(unsafe) let path = path
        return OptionSpec(
            name: name, kind: kind, scope: .sequence, range: range, choices: choices, optional: optional, help: help,
            read: { options, c, key in try c.encode(options[keyPath: path], forKey: key) },
            write: { options, c, key in
                guard c.contains(key) else { return }
                do {
                    options[keyPath: path] = try c.decode(T.self, forKey: key)
                } catch {
                    throw LoaderError(.invalidOptions, "\(name) must be \(kind.described(choices: choices, optional: optional))")
                }
            },
            number: { number($0[keyPath: path]) })
    }

    static func int(_ name: String, _ path: Path<Int>, _ range: ClosedRange<Double>, help: String) -> OptionSpec {
        make(name, path, .int, range: range, number: { Double($0) }, help: help)
    }

    static func int(_ name: String, _ path: Path<Int?>, _ range: ClosedRange<Double>, help: String) -> OptionSpec {
        make(name, path, .int, range: range, optional: true, number: { $0.map(Double.init) }, help: help)
    }

    /// An unsigned 64-bit integer: every value is allowed (the JSON decoding refuses the rest).
    static func seed(_ name: String, _ path: Path<UInt64>, help: String) -> OptionSpec { make(name, path, .int, help: help) }

    static func float(_ name: String, _ path: Path<Double>, _ range: ClosedRange<Double>, help: String) -> OptionSpec {
        make(name, path, .float, range: range, number: { $0 }, help: help)
    }

    static func float(_ name: String, _ path: Path<Float>, _ range: ClosedRange<Double>, help: String) -> OptionSpec {
        make(name, path, .float, range: range, number: { Double($0) }, help: help)
    }

    static func bool(_ name: String, _ path: Path<Bool>, help: String) -> OptionSpec { make(name, path, .bool, help: help) }

    static func text(_ name: String, _ path: Path<String?>, help: String) -> OptionSpec {
        make(name, path, .text, optional: true, help: help)
    }

    static func text(_ name: String, _ path: Path<String>, choices: [String], help: String) -> OptionSpec {
        make(name, path, .choice, choices: choices, help: help)
    }

    static func floats(_ name: String, _ path: Path<[Float]>, help: String) -> OptionSpec { make(name, path, .floats, help: help) }

    static func choice<T: RawRepresentable & CaseIterable & Codable & Sendable>(_ name: String, _ path: Path<T>, help: String)
        -> OptionSpec where T.RawValue == String
    {
        make(name, path, .choice, choices: T.allCases.map(\.rawValue), help: help)
    }

    /// A loader option: described and range-checked here, held by ``Loader`` rather than the options.
    static func loader(
        _ name: String, range: ClosedRange<Double>, default value: Int?, optional: Bool = false, help: String
    ) -> OptionSpec {
        OptionSpec(
            name: name, kind: .int, scope: .loader, range: range, choices: nil, optional: optional, help: help,
            read: { _, c, key in try c.encode(value, forKey: key) }, write: { _, _, _ in }, number: { _ in nil })
    }

    /// Throws unless `value` is in ``range``, naming the option.
    func check(_ value: Double) throws(LoaderError) {
        guard let range, !range.contains(value) || value.isNaN else { return }
        throw LoaderError(.invalidOptions, "\(name) must be in \(OptionSpec.show(range)), got \(OptionSpec.show(value))")
    }

    static func show(_ range: ClosedRange<Double>) -> String { "\(show(range.lowerBound))...\(show(range.upperBound))" }

    /// A whole number without its `.0`.
    static func show(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }
}

extension OptionSpec.Kind {
    func described(choices: [String]?, optional: Bool) -> String {
        let base: String
        switch self {
        case .int: base = "an integer"
        case .float: base = "a number"
        case .bool: base = "true or false"
        case .choice: base = "one of \((choices ?? []).joined(separator: ", "))"
        case .text: base = "a string"
        case .floats: base = "a list of numbers"
        }
        return optional ? base + " or null" : base
    }
}

/// Every option of the engine, in the order `augload options` lists them.
public enum OptionSchema {
    public static let all: [OptionSpec] = sequence + loader

    /// The options of ``ImageBatchOptions``.
    public static let sequence: [OptionSpec] = [
        .int("batch_size", \.batchSize, 1...1_048_576, help: "Images per batch."),
        .int("size", \.size, 0...16384, help: "Output side in pixels (0 = each image's own size; needs batch size 1)."),
        .choice("crop", \.crop, help: "Crop: random/center resize the shorter side to size*8/7 first; resized is RandomResizedCrop."),
        .choice("flip", \.flip, help: "Mirror with probability 0.5 along these axes."),
        .float("noise", \.noise, 0...10, help: "Gaussian noise sigma in [0, 1] intensity units (0 = off)."),
        .choice("layout", \.layout, help: "Batch layout."),
        .choice("dtype", \.dtype, help: "Element type: uint8, or float32 ([0, 1], then normalised)."),
        .floats("mean", \.mean, help: "Per-channel mean subtracted (float32; 3 values)."),
        .floats("std", \.std, help: "Per-channel standard deviation divided by (float32; 3 non-zero values)."),
        .bool("shuffle", \.shuffle, help: "Shuffle each epoch (a pure function of seed and epoch)."),
        .seed("seed", \.seed, help: "Seed of every random choice (shuffle, crops, flips, noise, recipes, mixes)."),
        .bool("drop_last", \.dropLast, help: "Drop the last batch of an epoch when it is not full."),
        .choice("on_error", \.onError, help: "Undecodable file: fail (an error naming it) or skip (replace and report)."),
        .bool("strict", \.decode.strict, help: "Treat libjpeg warnings (corrupt data it recovered from) as errors."),
        .int("max_pixels", \.decode.maxPixels, 1...Double(1 << 40), help: "Refuse images of more pixels than this, before decoding."),
        .int("rank", \.sharding.rank, 0...1_048_575, help: "This process's share of the data (RANK/WORLD_SIZE, or SLURM's)."),
        .int("world_size", \.sharding.worldSize, 1...1_048_576, help: "Processes sharing the data."),
        .choice("remainder", \.sharding.remainder, help: "When the world size does not divide the data: pad, drop or uneven."),
        .bool("scaled_decode", \.scaledDecode, help: "Decode JPEGs at a DCT scale when a crop shrinks them 2x or more."),
        .text("cache", \.cache, help: "Decoded cache: ram, ram:SIZE (like ram:8G), a folder, or DIR:SIZE."),
        .int("cache_max_side", \.cacheMaxSide, 1...65536, help: "Bound each decoded image's longer side to N pixels before the pipeline."),
        .text("auto_augment", \.autoAugment, help: "torchvision's policy: trivialaugment, randaugment[:NUM_OPS[:MAGNITUDE]], autoaugment or augmix[:SEVERITY[:WIDTH[:DEPTH[:ALPHA]]]]."),
        .text("color_jitter", \.colorJitter, help: "ColorJitter: B (brightness, contrast and saturation), B,C,S or B,C,S,H."),
        .float("grayscale", \.grayscale, 0...1, help: "RandomGrayscale: the chance a sample becomes gray (0 = off)."),
        .text("blur", \.blur, help: "GaussianBlur: odd kernel side K, sigma drawn in SMIN...SMAX (0.1...2.0): K[,SMIN,SMAX]."),
        .float("erasing", \.erasing, 0...1, help: "RandomErasing after normalisation: the chance a sample gets an erased box (0 = off)."),
        .text("erasing_value", \.erasingValue, choices: ["0", "random"], help: "What an erased box holds: 0 or random (float32 only)."),
        .float("mixup", \.mixup, 0...1000, help: "MixUp with lambda ~ Beta(ALPHA, ALPHA) (0 = off): labels become float32 targets."),
        .float("cutmix", \.cutmix, 0...1000, help: "CutMix with lambda ~ Beta(ALPHA, ALPHA) (0 = off); with mixup, one of the two per batch."),
        .float("mix_prob", \.mixProb, 0...1, help: "The chance a batch is mixed at all (with mixup or cutmix)."),
        .float("label_smoothing", \.labelSmoothing, 0...1, help: "Soft targets 1-EPS+EPS/C on the class, EPS/C elsewhere (0 = off; below 1)."),
    ]

    /// The loader's options (``Loader/init(_:workers:maxQueueSize:epochs:start:ordered:logger:)``).
    public static let loader: [OptionSpec] = [
        .loader(
            "workers", range: Double(Loader.workerRange.lowerBound)...Double(Loader.workerRange.upperBound), default: nil,
            optional: true, help: "Worker processes (0 = on the calling thread); default (null): one per core."),
        .loader(
            "queue", range: Double(Loader.queueRange.lowerBound)...Double(Loader.queueRange.upperBound),
            default: Loader.defaultQueue, help: "Most batches in flight, waiting or held at once (the prefetch queue)."),
        .loader("epochs", range: 1...Double(Int32.max), default: nil, optional: true, help: "Epochs to run (null: until closed)."),
    ]

    public static func spec(_ name: String) -> OptionSpec {
        guard let spec = all.first(where: { $0.name == name }) else { preconditionFailure("no option named \(name)") }
        return spec
    }

    /// The help of option `name`, with its range or choices.
    public static func help(_ name: String) -> String {
        let s = spec(name)
        if let range = s.range { return s.help + " In \(OptionSpec.show(range))." }
        if let choices = s.choices, choices.count > 1 { return s.help + " One of: \(choices.joined(separator: ", "))." }
        return s.help
    }
}

extension ImageBatchOptions: Codable {
    /// Decodes the flat object of ``OptionSchema/sequence`` names; a missing key keeps its default.
    /// - Throws: ``LoaderError`` (`.invalidOptions`) naming an unknown key or a value of the wrong kind.
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: OptionKey.self)
        let known = Set(OptionSchema.sequence.map(\.name))
        if let unknown = c.allKeys.map(\.stringValue).filter({ !known.contains($0) }).sorted().first {
            throw LoaderError(.invalidOptions, "unknown option '\(unknown)' (the options: `augload options`)")
        }
        for spec in OptionSchema.sequence { try spec.write(&self, c, OptionKey(spec.name)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: OptionKey.self)
        for spec in OptionSchema.sequence { try spec.read(self, &c, OptionKey(spec.name)) }
    }

    /// Checks every number against its range in ``OptionSchema``.
    func validateRanges() throws(LoaderError) {
        for spec in OptionSchema.sequence {
            if let value = spec.number(self) { try spec.check(value) }
        }
    }
}

/// What `augload options --json` prints: each option with its default (as the JSON it is sent as).
public struct OptionDescription: Encodable {
    public let spec: OptionSpec

    public init(_ spec: OptionSpec) { self.spec = spec }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: OptionKey.self)
        try c.encode(spec.name, forKey: OptionKey("name"))
        try c.encode(spec.flag, forKey: OptionKey("flag"))
        try c.encode(spec.kind, forKey: OptionKey("kind"))
        try c.encode(spec.scope, forKey: OptionKey("scope"))
        try c.encode(spec.optional, forKey: OptionKey("optional"))
        if let range = spec.range, spec.kind == .int {
            try c.encode(Int(range.lowerBound), forKey: OptionKey("min"))
            try c.encode(Int(range.upperBound), forKey: OptionKey("max"))
        } else if let range = spec.range {
            try c.encode(range.lowerBound, forKey: OptionKey("min"))
            try c.encode(range.upperBound, forKey: OptionKey("max"))
        }
        try c.encodeIfPresent(spec.choices, forKey: OptionKey("choices"))
        try spec.read(ImageBatchOptions(), &c, OptionKey("default"))
        try c.encode(spec.help, forKey: OptionKey("help"))
    }
}

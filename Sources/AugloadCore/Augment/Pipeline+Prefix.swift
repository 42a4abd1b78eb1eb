/// The split of a pipeline into its deterministic prefix and the rest, for the decoded cache.
///
/// Why: decoding is most of a sample's cost, and the leading steps that draw nothing (decode,
/// resize to 256, centre crop) give the same pixels every epoch. A cache can store that *prefix
/// image* once and run only the random rest of the pipeline from it. The contract is that the
/// bytes are exactly those of ``Pipeline/run(bytes:random:workspace:into:width:height:)``, so the
/// split is only taken where that is proven:
///
/// - the prefix is the leading steps whose ``Augmentation/isDeterministic`` is `true`; each must
///   plan (be geometric) and leave no mirror pending, or the sample is not cached;
/// - a prefix that resamples or crops is reproduced only when the rest is a pure crop of it (plus
///   mirrors): resize-then-crop equals the fused crop+resize the plain path does (one resampling
///   precision, the pass order chosen by the axis' scale — see ``Resampler``), and the decoder is
///   at the same DCT scale for both (the shrink factor is the same);
/// - an empty prefix stores the full decode at scale 1 (for RandomResizedCrop, whose first step is
///   random); the rest is realised from it exactly when the plain path would not decode at a DCT
///   scale (``GeometryRealizer/decodeScale(for:format:allowScaledDecode:)``): a DCT-scaled decode
///   cannot be rebuilt from full-resolution pixels, so such a sample goes back to its file;
/// - with ``maxSide``, a larger file's steps run on its bounded image (a resampling of its own,
///   done first by both paths), so the prefix is planned over that image and never meets a DCT
///   scale: RandomResizedCrop then never bypasses.
///
///     var workspace = Pipeline.Workspace()
///     if let info = try pipeline.realizePrefix(bytes: bytes, workspace: &workspace) {
///         store(info, workspace.prefix)                       // once, in the first epoch
///     }
///     // later, with the stored pixels:
///     let size = try pipeline.run(prefix: info, pixels: stored, random: &random, workspace: &workspace,
///                                 into: slot, width: 224, height: 224)   // nil: run from the file
extension Pipeline {
    /// What the rest of the pipeline needs to know about a stored prefix image besides its pixels.
    public struct PrefixInfo: Sendable, Hashable {
        /// The encoded file's size and format (the file's, even when ``Pipeline/maxSide`` bounds the
        /// image the steps see: ``Pipeline/sourceSize(width:height:)`` gives that one).
        public var sourceWidth: Int, sourceHeight: Int
        public var format: ImageFormat
        /// The prefix image's size (its pixels are `width × height` packed RGB8).
        public var width: Int, height: Int

        public init(sourceWidth: Int, sourceHeight: Int, format: ImageFormat, width: Int, height: Int) {
            self.sourceWidth = sourceWidth
            self.sourceHeight = sourceHeight
            self.format = format
            self.width = width
            self.height = height
        }

        /// Bytes of the prefix image's pixels.
        public var pixelBytes: Int { width * height * 3 }
    }

    /// How many leading steps form the deterministic prefix (0 when the first step is random).
    public var deterministicPrefixCount: Int { steps.prefix(while: { $0.isDeterministic }).count }

    /// A description of everything that decides the prefix image's pixels: the prefix steps, the
    /// decode options, whether DCT scaling is allowed. Two pipelines with the same specification
    /// store the same prefix images (a cache keys its entries with it).
    public var prefixSpecification: String {
        let stepList = steps.prefix(deterministicPrefixCount).map { String(reflecting: $0) }.joined(separator: ", ")
        return "prefix v1; decode maxPixels \(decodeOptions.maxPixels) strict \(decodeOptions.strict); "
            + "scaled decode \(allowScaledDecode); max side \(maxSide ?? 0); resample precision \(Resampler.precision); "
            + "steps [\(stepList)]"
    }

    /// Realises the deterministic prefix of the sample in `bytes` into `workspace.prefix`.
    ///
    /// - Returns: what to store beside the pixels, or `nil` when this sample's prefix must not be
    ///   stored: a prefix step needs pixels or leaves a mirror pending, or the decoder recovered
    ///   from corrupt data (warnings are reported per use, so such a file always takes the plain
    ///   path).
    /// - Throws: ``DecodeError`` when the file cannot be decoded. The caller must then run the
    ///   plain path for the verdict: a region decode may succeed where a full decode fails.
    public func realizePrefix(bytes: [UInt8], workspace: inout Workspace) throws(DecodeError) -> PrefixInfo? {
        try realizePrefix(bytes: bytes, header: try ImageDecoder.header(bytes, options: decodeOptions), workspace: &workspace)
    }

    /// ``realizePrefix(bytes:workspace:)`` with the file's header already read (by a caller that
    /// looked at it first: the decoded cache asks ``prefixServesMostUses(sourceWidth:sourceHeight:format:)``).
    public func realizePrefix(bytes: [UInt8], header: ImageHeader, workspace: inout Workspace) throws(DecodeError)
        -> PrefixInfo?
    {
        let source = sourceSize(width: header.width, height: header.height)
        guard let geometry = prefixGeometry(sourceWidth: source.width, sourceHeight: source.height) else { return nil }
        let warnings = try realize(geometry, bytes: bytes, header: header, workspace: &workspace, into: \.prefix)
        guard warnings.count == 0 else { return nil }
        return PrefixInfo(
            sourceWidth: header.width, sourceHeight: header.height, format: header.format, width: workspace.prefix.width,
            height: workspace.prefix.height)
    }

    /// The prefix planned over a source of the given size; nil when a prefix step does not plan
    /// or a mirror is pending.
    func prefixGeometry(sourceWidth: Int, sourceHeight: Int) -> Geometry? {
        var geometry = Geometry(sourceWidth: sourceWidth, sourceHeight: sourceHeight)
        var unused = SampleRandom(seed: 0, epoch: 0, sample: 0)  // deterministic steps draw nothing
        for step in steps.prefix(deterministicPrefixCount) {
            guard step.plan(&geometry, random: &unused) else { return nil }
        }
        return geometry.flipH || geometry.flipV ? nil : geometry
    }

    /// Runs the rest of the pipeline from a stored prefix image and writes the sample, exactly as
    /// ``run(bytes:random:workspace:into:width:height:)`` would from the file.
    ///
    /// - Parameters:
    ///   - info: what ``realizePrefix(bytes:workspace:)`` returned for the file.
    ///   - pixels: the prefix image, `info.width × info.height` packed RGB8.
    /// - Returns: the produced size, or `nil` (with `random` untouched) when this sample's result
    ///   from the prefix would not be bit-identical: run it from the file instead.
    public func run(
        prefix info: PrefixInfo, pixels: UnsafePointer<UInt8>, random: inout SampleRandom, workspace: inout Workspace,
        into destination: UnsafeMutableRawPointer, width: Int?, height: Int?
    ) throws(DecodeError) -> (width: Int, height: Int)? {
        guard let plan = suffixPlan(info, random: random) else { return nil }
        GeometryRealizer.realize(
            plan.suffix, pixels: pixels, width: info.width, height: info.height, resampler: &workspace.resampler,
            into: &workspace.result)
        workspace.lastWarnings = DecodeWarnings()
        var local = plan.random
        let size = try finishSteps(
            from: plan.next, flipH: plan.suffix.flipH, flipV: plan.suffix.flipV, random: &local, workspace: &workspace
        ) { image, flipH, flipV, sigma, erasing, random throws(DecodeError) in
            try emit(
                image, flipH: flipH, flipV: flipV, sigma: sigma, erasing: erasing, random: &random, into: destination,
                width: width, height: height)
        }
        random = local
        return size
    }

    /// The share of 16 fixed draws of the pipeline's randomness that ``run(prefix:pixels:random:workspace:into:width:height:)``
    /// could make from a stored prefix image of a file of this size and format (1 for a resize
    /// then random crop; for RandomResizedCrop of a photo the plain path shrinks 2× or more, near
    /// 0). Planning only, no pixels. The decoded cache stores a prefix image only when this is at
    /// least a half (``prefixServesMostUses(sourceWidth:sourceHeight:format:)``) — a 1900×1504
    /// photo under RandomResizedCrop 224 would store 8.2 MB to serve 1 % of its uses.
    public func prefixReuse(sourceWidth: Int, sourceHeight: Int, format: ImageFormat) -> Double {
        Double(servedDraws(sourceWidth: sourceWidth, sourceHeight: sourceHeight, format: format, deciding: false))
            / Double(Self.reuseDraws)
    }

    /// Whether ``prefixReuse(sourceWidth:sourceHeight:format:)`` is at least a half, planning only
    /// as many draws as it takes to know (8 for a pipeline whose every draw is served): what the
    /// decoded cache asks once per missed file.
    public func prefixServesMostUses(sourceWidth: Int, sourceHeight: Int, format: ImageFormat) -> Bool {
        2 * servedDraws(sourceWidth: sourceWidth, sourceHeight: sourceHeight, format: format, deciding: true)
            >= Self.reuseDraws
    }

    static let reuseDraws = 16

    /// How many of the fixed draws a stored prefix serves; with `deciding`, stops once the answer
    /// to "at least half?" is known (the count is then only good for that question).
    private func servedDraws(sourceWidth: Int, sourceHeight: Int, format: ImageFormat, deciding: Bool) -> Int {
        let source = sourceSize(width: sourceWidth, height: sourceHeight)
        guard let prefix = prefixGeometry(sourceWidth: source.width, sourceHeight: source.height) else { return 0 }
        let info = PrefixInfo(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight, format: format, width: prefix.width, height: prefix.height)
        let half = Self.reuseDraws / 2
        var served = 0
        for draw in 0..<Self.reuseDraws {
            let random = SampleRandom(seed: 0x6175_676C_6F61_6400, epoch: 0, sample: draw)
            if suffixPlan(info, source: source, prefix: prefix, random: random) != nil { served += 1 }
            if deciding && (served >= half || draw + 1 - served > Self.reuseDraws - half) { break }
        }
        return served
    }

    /// The rest of the pipeline planned over a stored prefix image with the sample's randomness:
    /// the geometry to realise from the prefix image, the first step after the planned ones, and
    /// the randomness after planning; nil when the result would not be the plain path's bytes.
    func suffixPlan(_ info: PrefixInfo, random: SampleRandom) -> (suffix: Geometry, next: Int, random: SampleRandom)? {
        let source = sourceSize(width: info.sourceWidth, height: info.sourceHeight)
        guard let prefix = prefixGeometry(sourceWidth: source.width, sourceHeight: source.height),
            prefix.width == info.width && prefix.height == info.height
        else { return nil }
        return suffixPlan(info, source: source, prefix: prefix, random: random)
    }

    /// ``suffixPlan(_:random:)`` with the bounded source size and the prefix's plan already made.
    private func suffixPlan(
        _ info: PrefixInfo, source: (width: Int, height: Int, bounded: Bool), prefix: Geometry, random: SampleRandom
    ) -> (suffix: Geometry, next: Int, random: SampleRandom)? {
        let k = deterministicPrefixCount
        // The plain path's plan, over the file (or its bounded image), on a copy of the randomness.
        var whole = Geometry(sourceWidth: source.width, sourceHeight: source.height)
        var wholeRandom = random
        var next = 0
        while next < steps.count && steps[next].plan(&whole, random: &wholeRandom) { next += 1 }
        guard next >= k else { return nil }
        // The same steps after the prefix, planned over the prefix image: the same draws.
        var suffix = Geometry(sourceWidth: info.width, sourceHeight: info.height)
        var local = random
        for step in steps[k..<next] {
            guard step.plan(&suffix, random: &local) else { return nil }
        }
        guard suffix.flipH == whole.flipH && suffix.flipV == whole.flipV,
            Pipeline.prefixReproduces(
                prefix: prefix, suffix: suffix, whole: whole, format: info.format,
                // A bounded image is resampled from pixels by both paths: never at a DCT scale.
                allowScaledDecode: allowScaledDecode && !source.bounded)
        else { return nil }
        return (suffix, next, local)
    }

    /// Whether realising `suffix` (planned over the prefix image) from the stored prefix image
    /// gives exactly the bytes the plain path gets by realising `whole` (the same steps planned
    /// over the file) from the file.
    ///
    /// - `prefix` leaves the source as it is (no prefix steps): the stored image is the full
    ///   decode at scale 1, and `suffix` is `whole`; exact unless the plain path would decode at a
    ///   DCT scale.
    /// - otherwise (the prefix resamples or crops): exact when `suffix` is a pure crop of the
    ///   prefix image and the plain path decodes at the prefix's own DCT scale.
    public static func prefixReproduces(
        prefix: Geometry, suffix: Geometry, whole: Geometry, format: ImageFormat, allowScaledDecode: Bool
    ) -> Bool {
        let wholeScale = GeometryRealizer.decodeScale(for: whole, format: format, allowScaledDecode: allowScaledDecode)
        if prefix.isIdentity { return wholeScale == 1 }
        return suffix.isPureCrop
            && wholeScale == GeometryRealizer.decodeScale(for: prefix, format: format, allowScaledDecode: allowScaledDecode)
    }
}

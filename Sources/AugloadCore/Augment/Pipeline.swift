/// An augmentation pipeline: steps, then an output format, run one sample at a time straight into
/// a caller-provided buffer.
///
/// Leading geometric steps are planned and realised once (see ``GeometryRealizer``); a trailing
/// ``GaussianNoise`` is fused into the output pass. The buffers a sample needs (file bytes, decoded
/// region, resampled image, taps) live in a ``Workspace`` reused across samples, and the output
/// pass's scratch on the stack. (Measured: ~23 small `malloc`s per image in all, 11 of them
/// libjpeg's own per decode; malloc and free are ~0.2 % of the CPU in profiles.)
///
///     let pipeline = Pipeline(
///         steps: [Resize(shorterSide: 256), RandomCrop(width: 224, height: 224), Flip(), GaussianNoise(sigma: 0.05)],
///         output: OutputFormat(layout: .nchw, dtype: .float32))
///     var workspace = Pipeline.Workspace()
///     var random = SampleRandom(seed: 1, epoch: 0, sample: 7, stream: RandomStream.augment)
///     try pipeline.run(path: "cat.jpg", random: &random, workspace: &workspace, into: slot,
///                      width: 224, height: 224)
public struct Pipeline: Sendable {
    /// The augmentation steps, applied in order.
    public var steps: [any Augmentation]
    /// How the finished image is written into the batch.
    public var output: OutputFormat
    /// Settings for decoding each file.
    public var decodeOptions: DecodeOptions
    /// Decode JPEGs at a DCT scale when the crop will be shrunk 2× or more (faster, not bit-equal
    /// to a full decode followed by an antialiased resize).
    public var allowScaledDecode: Bool
    /// A bound on the longer side of the image the steps see (FFCV's bounded resolution, for a
    /// decoded cache that must fit in memory): a file whose longer side exceeds it is first
    /// decoded and resized, as a step of its own, so that side is `maxSide` (the other
    /// `Int(maxSide · short / long)`, at least 1; antialiased, at a JPEG DCT scale when
    /// `allowScaledDecode` and the shrink is 2× or more), and the steps run on that image.
    /// Smaller files are untouched. nil: no bound.
    public var maxSide: Int?

    /// Creates a pipeline; by default the output is uint8 NHWC and scaled JPEG decoding is allowed.
    public init(
        steps: [any Augmentation], output: OutputFormat = OutputFormat(), decodeOptions: DecodeOptions = .init(),
        allowScaledDecode: Bool = true, maxSide: Int? = nil
    ) {
        precondition(maxSide.map { $0 > 0 } ?? true, "maxSide must be positive")
        self.steps = steps
        self.output = output
        self.decodeOptions = decodeOptions
        self.allowScaledDecode = allowScaledDecode
        self.maxSide = maxSide
    }

    /// The size of the image the steps see for a file of `width × height`, and whether it is
    /// bounded by ``maxSide`` (then it is not the file's own size).
    public func sourceSize(width: Int, height: Int) -> (width: Int, height: Int, bounded: Bool) {
        guard let maxSide, max(width, height) > maxSide else { return (width, height, false) }
        if width >= height { return (maxSide, max(1, Int(Double(maxSide) * Double(height) / Double(width))), true) }
        return (max(1, Int(Double(maxSide) * Double(width) / Double(height))), maxSide, true)
    }

    /// Reusable per-thread scratch: file bytes, decoded region, result image, resampler taps.
    public struct Workspace: Sendable {
        /// Reusable buffer holding the current file's bytes.
        public var file = FileBytes()
        var decoded = Image()
        var result = Image()
        var resampler = Resampler()
        /// The deterministic prefix of the last sample realised by ``Pipeline/realizePrefix(bytes:workspace:)``
        /// (a cache may move it out and back while it makes the sample from it).
        public var prefix = Image()
        /// The file's image bounded by ``Pipeline/maxSide``, when it was.
        var bounded = Image()
        /// Buffers of the recipe steps.
        var recipe = RecipeScratch()
        /// What the decoder recovered from in the last sample run with this workspace.
        public internal(set) var lastWarnings = DecodeWarnings()
        public init() {}
    }

    /// Reads, decodes, augments and writes one sample.
    ///
    /// - Parameters:
    ///   - width/height: the size the batch expects; `nil` accepts whatever the pipeline produces.
    /// - Returns: the produced size.
    /// - Throws: ``DecodeError`` naming `path` (a size mismatch is `.argument`).
    @discardableResult
    public func run(
        path: String, random: inout SampleRandom, workspace: inout Workspace, into destination: UnsafeMutableRawPointer,
        width: Int?, height: Int?
    ) throws(DecodeError) -> (width: Int, height: Int) {
        do {
            try workspace.file.read(path: path)
            return try run(
                bytes: workspace.file.bytes, random: &random, workspace: &workspace, into: destination, width: width,
                height: height)
        } catch {
            throw error.at(path)
        }
    }

    /// Like ``run(path:random:workspace:into:width:height:)`` on bytes already in memory.
    public func run(
        bytes: [UInt8], random: inout SampleRandom, workspace: inout Workspace, into destination: UnsafeMutableRawPointer,
        width: Int?, height: Int?
    ) throws(DecodeError) -> (width: Int, height: Int) {
        try realize(bytes: bytes, random: &random, workspace: &workspace) {
            image, flipH, flipV, sigma, erasing, random throws(DecodeError) in
            try emit(
                image, flipH: flipH, flipV: flipV, sigma: sigma, erasing: erasing, random: &random, into: destination,
                width: width, height: height)
        }
    }

    /// The output pass of ``run(bytes:random:workspace:into:width:height:)``: checks the size and writes the sample.
    func emit(
        _ image: Image, flipH: Bool, flipV: Bool, sigma: Float, erasing: RandomErasing.Box?, random: inout SampleRandom,
        into destination: UnsafeMutableRawPointer,
        width: Int?, height: Int?
    ) throws(DecodeError) -> (width: Int, height: Int) {
        if let width, let height, image.width != width || image.height != height {
            throw DecodeError(
                .argument,
                message: "the pipeline produced \(image.width)x\(image.height) but the batch holds \(width)x\(height) images")
        }
        output.emit(image, flipH: flipH, flipV: flipV, noiseSigma: sigma, random: &random, into: destination)
        if let erasing { output.erase(erasing, width: image.width, height: image.height, into: destination) }
        return (image.width, image.height)
    }

    /// Runs the steps on bytes and returns the augmented image (flips and noise applied, uint8).
    public func augment(bytes: [UInt8], random: inout SampleRandom, workspace: inout Workspace) throws(DecodeError) -> Image {
        try realize(bytes: bytes, random: &random, workspace: &workspace) { image, flipH, flipV, sigma, erasing, random in
            var out = Image(width: image.width, height: image.height)
            out.pixels.withUnsafeMutableBytes { buf in
                let format = OutputFormat()
                format.emit(image, flipH: flipH, flipV: flipV, noiseSigma: sigma, random: &random, into: buf.baseAddress!)
                if let erasing { format.erase(erasing, width: image.width, height: image.height, into: buf.baseAddress!) }
            }
            return out
        }
    }

    private func realize<R>(
        bytes: [UInt8], random: inout SampleRandom, workspace: inout Workspace,
        finish: (Image, Bool, Bool, Float, RandomErasing.Box?, inout SampleRandom) throws(DecodeError) -> R
    ) throws(DecodeError) -> R {
        let header = try ImageDecoder.header(bytes, options: decodeOptions)
        let source = sourceSize(width: header.width, height: header.height)
        var geometry = Geometry(sourceWidth: source.width, sourceHeight: source.height)
        var next = 0
        while next < steps.count && steps[next].plan(&geometry, random: &random) { next += 1 }
        workspace.lastWarnings = try realize(geometry, bytes: bytes, header: header, workspace: &workspace, into: \.result)
        return try finishSteps(
            from: next, flipH: geometry.flipH, flipV: geometry.flipV, random: &random, workspace: &workspace, finish: finish)
    }

    /// Realises `geometry`, planned over ``sourceSize(width:height:)`` of the file in `bytes`, into
    /// the workspace image at `target`: straight from the file, or — when the file is bounded by
    /// ``maxSide`` — from the bounded image (decoded and resized first into `workspace.bounded`).
    func realize(
        _ geometry: Geometry, bytes: [UInt8], header: ImageHeader, workspace: inout Workspace,
        into target: WritableKeyPath<Workspace, Image>
    ) throws(DecodeError) -> DecodeWarnings {
        // The target is moved out for the calls (they also take other workspace buffers), then back.
        var result = workspace[keyPath: target]
        workspace[keyPath: target] = Image()
        defer { workspace[keyPath: target] = result }
        guard geometry.sourceWidth != header.width || geometry.sourceHeight != header.height else {
            return try GeometryRealizer.realize(
                geometry, bytes: bytes, header: header, options: decodeOptions, allowScaledDecode: allowScaledDecode,
                decoded: &workspace.decoded, resampler: &workspace.resampler, into: &result)
        }
        var bound = Geometry(sourceWidth: header.width, sourceHeight: header.height)
        bound.resize(width: geometry.sourceWidth, height: geometry.sourceHeight)
        let warnings = try GeometryRealizer.realize(
            bound, bytes: bytes, header: header, options: decodeOptions, allowScaledDecode: allowScaledDecode,
            decoded: &workspace.decoded, resampler: &workspace.resampler, into: &workspace.bounded)
        workspace.bounded.pixels.withUnsafeBufferPointer { pixels in
            GeometryRealizer.realize(
                geometry, pixels: pixels.baseAddress!, width: workspace.bounded.width, height: workspace.bounded.height,
                resampler: &workspace.resampler, into: &result)
        }
        return warnings
    }

    /// The rest of a sample once its planned geometry is realised in `workspace.result`: the steps
    /// from `next` on, applied to pixels; a trailing ``RandomErasing`` (its box drawn after the
    /// other steps) and before it a trailing ``GaussianNoise`` are left to `finish`, the output pass.
    func finishSteps<R>(
        from next: Int, flipH: Bool, flipV: Bool, random: inout SampleRandom, workspace: inout Workspace,
        finish: (Image, Bool, Bool, Float, RandomErasing.Box?, inout SampleRandom) throws(DecodeError) -> R
    ) throws(DecodeError) -> R {
        let (rest, sigma, erasing) = outputSteps(from: next)
        if rest.isEmpty {
            let box = erasing?.draw(width: workspace.result.width, height: workspace.result.height, random: &random)
            return try finish(workspace.result, flipH, flipV, sigma, box, &random)
        }
        var image = workspace.result
        if flipH || flipV {
            var flips = Geometry(sourceWidth: image.width, sourceHeight: image.height)
            flips.flipH = flipH
            flips.flipV = flipV
            image = GeometryRealizer.realize(flips, from: image, resampler: &workspace.resampler)
        }
        for step in rest {
            if let recipe = step as? any RecipeStep {
                for op in recipe.draw(width: image.width, height: image.height, random: &random) {
                    op.apply(to: &image, scratch: &workspace.recipe)
                }
            } else {
                step.apply(to: &image, random: &random)
            }
        }
        let box = erasing?.draw(width: image.width, height: image.height, random: &random)
        return try finish(image, false, false, sigma, box, &random)
    }

    /// The steps from `next` on, less what the output pass does: a trailing ``RandomErasing`` and,
    /// before it, a trailing ``GaussianNoise`` (its sigma).
    func outputSteps(from next: Int) -> (rest: ArraySlice<any Augmentation>, sigma: Float, erasing: RandomErasing?) {
        var rest = steps[next...]
        let erasing = rest.last as? RandomErasing
        if erasing != nil { rest = rest.dropLast() }
        var sigma: Float = 0
        if let noise = rest.last as? GaussianNoise {
            sigma = noise.sigma
            rest = rest.dropLast()
        }
        return (rest, sigma, erasing)
    }
}

/// The explain record of a sample: every step it goes through, named as
/// `torchvision.transforms.v2.functional` names it, with the parameters this sample drew.
///
/// Why planning only: a sample's draws depend on nothing but its random stream and the sizes
/// involved (the file's header, the output size), so the loader process can write the record
/// beside a batch without the workers sending anything back, and a replay in torchvision checks
/// the engine from the outside. The record is made by the same calls that make the sample
/// (`plan`, ``RecipeStep/draw(width:height:random:)``, ``RandomErasing/draw(width:height:random:)``),
/// in the same order, so it cannot describe something other than what ran.
extension Pipeline {
    /// The calls that make the sample of the file whose header is `header`, with the randomness
    /// `random` (the sample's augment stream, as ``run(bytes:random:workspace:into:width:height:)`` gets it).
    ///
    /// The first call is `augload_decode` (`dct_scale`: the JPEG DCT-scale denominator the decode
    /// uses; above 1 the geometry is realised on the scaled decode and no torchvision call
    /// reproduces it exactly), then `resize`, `crop`, `horizontal_flip`, `vertical_flip`, the
    /// recipe operations, `to_dtype` and `normalize` for float32 output, `augload_gaussian_noise`
    /// (augload's own noise: not replayable), and `erase`.
    public func explain(header: ImageHeader, random: inout SampleRandom) -> [ExplainCall] {
        let source = sourceSize(width: header.width, height: header.height)
        var calls: [ExplainCall] = []
        var geometry = Geometry(sourceWidth: source.width, sourceHeight: source.height)
        if source.bounded {
            calls.append(Self.resizeCall(width: source.width, height: source.height))
        }
        var geometryCalls: [ExplainCall] = []
        var next = 0
        while next < steps.count {
            let before = geometry
            guard steps[next].plan(&geometry, random: &random) else { break }
            geometryCalls += Self.calls(from: before, to: geometry)
            next += 1
        }
        let scale = GeometryRealizer.decodeScale(for: geometry, format: header.format, allowScaledDecode: allowScaledDecode)
        calls.insert(ExplainCall("augload_decode", ["dct_scale": .integer(scale)]), at: 0)
        // Mirrors are realised after the resampling, so they follow every crop and resize.
        calls += geometryCalls.filter { !$0.op.hasSuffix("_flip") } + geometryCalls.filter { $0.op.hasSuffix("_flip") }
        let (rest, sigma, erasing) = outputSteps(from: next)
        for step in rest {
            if let recipe = step as? any RecipeStep {
                calls += recipe.draw(width: geometry.width, height: geometry.height, random: &random).map(\.call)
            } else {
                calls.append(ExplainCall("augload_" + String(describing: type(of: step))))
            }
        }
        let box = erasing?.draw(width: geometry.width, height: geometry.height, random: &random)
        if output.dtype == .float32 {
            calls.append(ExplainCall("to_dtype", ["dtype": .text("float32"), "scale": .flag(true)]))
            calls.append(
                ExplainCall(
                    "normalize", ["mean": .numbers(output.mean.map(Double.init)), "std": .numbers(output.std.map(Double.init))]))
        }
        if sigma > 0 { calls.append(ExplainCall("augload_gaussian_noise", ["sigma": .number(Double(sigma))])) }
        if let box { calls.append(box.call) }
        return calls
    }

    static func resizeCall(width: Int, height: Int) -> ExplainCall {
        ExplainCall("resize", ["size": .integers([height, width]), "antialias": .flag(true)])
    }

    /// What one planned step did to the geometry, as torchvision calls: a `crop` of the current
    /// image, a `resize`, mirror toggles.
    static func calls(from a: Geometry, to b: Geometry) -> [ExplainCall] {
        var calls: [ExplainCall] = []
        if (a.x0, a.y0, a.x1, a.y1) != (b.x0, b.y0, b.x1, b.y1) {
            let sx = (a.x1 - a.x0) / Double(a.width)
            let sy = (a.y1 - a.y0) / Double(a.height)
            let width = Int(((b.x1 - b.x0) / sx).rounded())
            let height = Int(((b.y1 - b.y0) / sy).rounded())
            var left = Int(((b.x0 - a.x0) / sx).rounded())
            var top = Int(((b.y0 - a.y0) / sy).rounded())
            if a.flipH { left = a.width - left - width }
            if a.flipV { top = a.height - top - height }
            calls.append(
                ExplainCall(
                    "crop", ["top": .integer(top), "left": .integer(left), "height": .integer(height), "width": .integer(width)]))
            if width != b.width || height != b.height { calls.append(resizeCall(width: b.width, height: b.height)) }
        } else if a.width != b.width || a.height != b.height {
            calls.append(resizeCall(width: b.width, height: b.height))
        }
        if a.flipH != b.flipH { calls.append(ExplainCall("horizontal_flip")) }
        if a.flipV != b.flipV { calls.append(ExplainCall("vertical_flip")) }
        return calls
    }
}

import CAugKernels

/// One operation of a recipe step with its parameters drawn: what
/// `torchvision.transforms.v2.functional` would be called with, and the C kernel that does it.
///
/// Steps draw their operations first (``RecipeStep/draw(width:height:random:)``, no pixels), then
/// apply them; the same draws give the explain record (``call``), so what is recorded is what ran.
///
///     RecipeOp.rotate(angle: 13).apply(to: &image, scratch: &scratch)
public enum RecipeOp: Sendable, Equatable {
    case brightness(Double)
    case contrast(Double)
    case saturation(Double)
    case hue(Double)
    case sharpness(Double)
    case grayscale
    case posterize(bits: Int)
    case solarize(threshold: Double)
    case autocontrast
    case equalize
    case invert
    /// `affine` with black fill, nearest sampling (the AutoAugment family's) or bilinear
    /// (AugMix's); `topLeftCenter` is the family's `center=[0, 0]` (shears), else the image centre.
    case affine(angle: Double, translateX: Int, translateY: Int, shearX: Double, shearY: Double, topLeftCenter: Bool, bilinear: Bool = false)
    /// `rotate` about the centre, black fill, no expansion; nearest sampling or bilinear.
    case rotate(angle: Double, bilinear: Bool = false)
    /// AugMix: chains of operations from the original image, mixed with it by `weights`.
    case augMix(AugMixDraw)
    /// `gaussian_blur` with a square kernel and the same sigma on both axes.
    case gaussianBlur(kernel: Int, sigma: Double)

    /// The torchvision call this operation replays as.
    public var call: ExplainCall {
        switch self {
        case .brightness(let f): return ExplainCall("adjust_brightness", ["brightness_factor": .number(f)])
        case .contrast(let f): return ExplainCall("adjust_contrast", ["contrast_factor": .number(f)])
        case .saturation(let f): return ExplainCall("adjust_saturation", ["saturation_factor": .number(f)])
        case .hue(let f): return ExplainCall("adjust_hue", ["hue_factor": .number(f)])
        case .sharpness(let f): return ExplainCall("adjust_sharpness", ["sharpness_factor": .number(f)])
        case .grayscale: return ExplainCall("rgb_to_grayscale", ["num_output_channels": .integer(3)])
        case .posterize(let bits): return ExplainCall("posterize", ["bits": .integer(bits)])
        case .solarize(let t): return ExplainCall("solarize", ["threshold": .number(t)])
        case .autocontrast: return ExplainCall("autocontrast")
        case .equalize: return ExplainCall("equalize")
        case .invert: return ExplainCall("invert")
        case .affine(let angle, let tx, let ty, let sx, let sy, let topLeft, let bilinear):
            var args: [String: ExplainValue] = [
                "angle": .number(angle), "translate": .integers([tx, ty]), "scale": .number(1),
                "shear": .numbers([sx, sy]), "interpolation": .text(bilinear ? "bilinear" : "nearest"), "fill": .null,
            ]
            if topLeft { args["center"] = .integers([0, 0]) }
            return ExplainCall("affine", args)
        case .rotate(let angle, let bilinear):
            return ExplainCall(
                "rotate", ["angle": .number(angle), "interpolation": .text(bilinear ? "bilinear" : "nearest"), "fill": .null])
        case .augMix(let draw): return draw.call
        case .gaussianBlur(let k, let s):
            return ExplainCall("gaussian_blur", ["kernel_size": .integers([k, k]), "sigma": .numbers([s, s])])
        }
    }

    /// Applies the operation to `image` in place (`scratch` holds reusable buffers).
    public func apply(to image: inout Image, scratch: inout RecipeScratch) {
        let w = Int32(image.width)
        let h = Int32(image.height)
        guard w > 0 && h > 0 else { return }
        if case .augMix(let draw) = self {
            draw.apply(to: &image, scratch: &scratch)
            return
        }
        if case .rotate(let angle, _) = self {
            // v2's `rotate_image` shortcuts: angle mod 360 of 0 and 180, and 90/270 on square images,
            // are exact index moves (`rot90`), not grid sampling.
            let a = angle - 360 * (angle / 360).rounded(.down)
            let quarter: Int? =
                a == 0
                ? 0
                : a == 180
                    ? 2
                    : image.width == image.height && a == 90
                        ? 1
                        : image.width == image.height && a == 270 ? 3 : nil
            if let quarter {
                if quarter > 0 { Self.rotate90(&image, times: quarter, scratch: &scratch.image) }
                return
            }
        }
        switch self {
        case .affine, .rotate:
            var matrix = [Float](repeating: 0, count: 6)
            var bilinear = false
            switch self {
            case .affine(let angle, let tx, let ty, let sx, let sy, let topLeft, let smooth):
                bilinear = smooth
                // v2's `affine` takes the centre in pixels and passes it relative to the image's centre.
                let cx = topLeft ? -Double(image.width) * 0.5 : 0
                let cy = topLeft ? -Double(image.height) * 0.5 : 0
                aug_inverse_affine_matrix(cx, cy, angle, Double(tx), Double(ty), 1, sx, sy, &matrix)
            case .rotate(let angle, let smooth):
                bilinear = smooth
                // v2's `rotate` reduces the angle mod 360 (Python's %), then passes its negation.
                let reduced = angle - 360 * (angle / 360).rounded(.down)
                aug_inverse_affine_matrix(0, 0, -reduced, 0, 0, 1, 0, 0, &matrix)
            default: break
            }
            scratch.image.reshape(width: image.width, height: image.height)
            let fill: [UInt8] = [0, 0, 0]
            image.pixels.withUnsafeBufferPointer { src in
                scratch.image.pixels.withUnsafeMutableBufferPointer { dst in
                    if bilinear {
                        aug_affine_bilinear(src.baseAddress!, w, h, matrix, dst.baseAddress!)
                    } else {
                        aug_affine_nearest(src.baseAddress!, w, h, matrix, fill, dst.baseAddress!)
                    }
                }
            }
            swap(&image, &scratch.image)
            return
        default: break
        }
        let count = image.pixels.count
        if scratch.bytes.count < count { scratch.bytes = [UInt8](repeating: 0, count: count) }
        if case .gaussianBlur = self, scratch.floats.count < count {
            scratch.floats = [Float](repeating: 0, count: count)
        }
        image.pixels.withUnsafeMutableBufferPointer { buffer in
            let px = buffer.baseAddress!
            switch self {
            case .brightness(let f): aug_adjust_brightness(px, w, h, f)
            case .contrast(let f): aug_adjust_contrast(px, w, h, f)
            case .saturation(let f): aug_adjust_saturation(px, w, h, f)
            case .hue(let f): aug_adjust_hue(px, w, h, Float(f))
            case .sharpness(let f):
                scratch.bytes.withUnsafeMutableBufferPointer { aug_adjust_sharpness(px, w, h, f, $0.baseAddress!) }
            case .grayscale: aug_grayscale(px, w, h)
            case .posterize(let bits): aug_posterize(px, w, h, Int32(bits))
            case .solarize(let t): aug_solarize(px, w, h, Float(t))
            case .autocontrast: aug_autocontrast(px, w, h)
            case .equalize: aug_equalize(px, w, h)
            case .invert: aug_invert(px, w, h)
            case .gaussianBlur(let k, let s):
                scratch.floats.withUnsafeMutableBufferPointer {
                    aug_gaussian_blur(px, w, h, Int32(k), Int32(k), Float(s), Float(s), $0.baseAddress!)
                }
            case .affine, .rotate, .augMix: break
            }
        }
    }
}

extension RecipeOp {
    /// `torch.rot90(image, k=times, dims=(-2, -1))` on packed RGB8 (`times` 1 needs a square image).
    static func rotate90(_ image: inout Image, times: Int, scratch: inout Image) {
        let w = image.width
        let h = image.height
        scratch.reshape(width: times == 2 ? w : h, height: times == 2 ? h : w)
        let ow = scratch.width
        image.pixels.withUnsafeBufferPointer { src in
            scratch.pixels.withUnsafeMutableBufferPointer { dst in
                for y in 0..<scratch.height {
                    for x in 0..<ow {
                        // Output (y, x) reads input (sy, sx).
                        let (sy, sx): (Int, Int)
                        switch times {
                        case 1: (sy, sx) = (x, w - 1 - y)
                        case 2: (sy, sx) = (h - 1 - y, w - 1 - x)
                        default: (sy, sx) = (h - 1 - x, y)
                        }
                        let o = (y * ow + x) * 3
                        let i = (sy * w + sx) * 3
                        dst[o] = src[i]
                        dst[o + 1] = src[i + 1]
                        dst[o + 2] = src[i + 2]
                    }
                }
            }
        }
        swap(&image, &scratch)
    }
}

/// Buffers the recipe operations reuse from sample to sample (kept in a pipeline's workspace).
public struct RecipeScratch: Sendable {
    var bytes: [UInt8] = []
    var floats: [Float] = []
    var image = Image()
    /// AugMix's float32 mix and the chain being run.
    var mix: [Float] = []
    var chain = Image()
    public init() {}
}

/// A per-sample step of a training recipe (ColorJitter, the AutoAugment family, …): it draws
/// its operations from the sample's random stream, as torchvision draws them, then applies them.
///
/// Drawing needs only the image's size, so an explain record can be made without pixels, and it
/// draws the same numbers whether or not the operations are applied.
public protocol RecipeStep: Augmentation {
    /// This sample's operations for an image of `width × height` (torchvision's draws).
    func draw(width: Int, height: Int, random: inout SampleRandom) -> [RecipeOp]
}

extension RecipeStep {
    /// Draws the operations and applies them in order.
    public func apply(to image: inout Image, random: inout SampleRandom) {
        var scratch = RecipeScratch()
        for op in draw(width: image.width, height: image.height, random: &random) {
            op.apply(to: &image, scratch: &scratch)
        }
    }
}

/// The recipe steps' option strings, parsed once for the command line, the Python client (which
/// sends the same strings) and Swift callers: each bad value is refused with the option's name and
/// the allowed form or range.
///
///     try RecipeOptions.autoAugment("randaugment:2:9")   // .randAugment(ops: 2, magnitude: 9, bins: 31)
///     try RecipeOptions.colorJitter("0.4")               // ColorJitter(0.4, 0.4, 0.4, 0)
public enum RecipeOptions {
    /// Why an option string was refused: a sentence naming the option and what it accepts.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    static func numbers(_ text: String, option: String) throws(Invalid) -> [Double] {
        var values: [Double] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let v = Double(String(part.filter { $0 != " " })), v.isFinite else {
                throw Invalid(message: "\(option): '\(text)' is not a comma-separated list of numbers")
            }
            values.append(v)
        }
        return values
    }

    /// `--auto-augment`: `trivialaugment`, `randaugment[:NUM_OPS[:MAGNITUDE]]` (2 and 9 by
    /// default, magnitude in 0...30 of 31 bins) or `autoaugment` (the ImageNet policy).
    public static func autoAugment(_ text: String) throws(Invalid) -> AutoAugmentation.Policy {
        let parts = text.lowercased().split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let form = "auto-augment must be trivialaugment, randaugment[:NUM_OPS[:MAGNITUDE]], autoaugment or augmix[:SEVERITY[:WIDTH[:DEPTH[:ALPHA]]]]"
        switch parts[0] {
        case "trivialaugment", "trivialaugmentwide":
            guard parts.count == 1 else { throw Invalid(message: "\(form); got '\(text)'") }
            return .trivialAugmentWide()
        case "autoaugment":
            guard parts.count == 1 else { throw Invalid(message: "\(form); got '\(text)'") }
            return .autoAugmentImageNet
        case "randaugment":
            guard parts.count <= 3 else { throw Invalid(message: "\(form); got '\(text)'") }
            let ops = parts.count > 1 ? Int(parts[1]) : 2
            let magnitude = parts.count > 2 ? Int(parts[2]) : 9
            guard let ops, (0...16).contains(ops) else {
                throw Invalid(message: "auto-augment randaugment: NUM_OPS must be an integer in 0...16; got '\(text)'")
            }
            guard let magnitude, (0...30).contains(magnitude) else {
                throw Invalid(message: "auto-augment randaugment: MAGNITUDE must be an integer in 0...30; got '\(text)'")
            }
            return .randAugment(ops: ops, magnitude: magnitude, bins: 31)
        case "augmix":
            // augmix[:SEVERITY[:WIDTH[:DEPTH[:ALPHA]]]], torchvision's defaults 3, 3, -1, 1.0.
            let form = "auto-augment augmix[:SEVERITY[:WIDTH[:DEPTH[:ALPHA]]]] needs SEVERITY in 1...10, WIDTH in 1...8, DEPTH -1 (1...3 drawn) or 1...8, ALPHA in (0, 100]"
            guard parts.count <= 5 else { throw Invalid(message: "\(form); got '\(text)'") }
            let severity = parts.count > 1 ? Int(parts[1]) : 3
            let width = parts.count > 2 ? Int(parts[2]) : 3
            let depth = parts.count > 3 ? Int(parts[3]) : -1
            let alpha = parts.count > 4 ? Double(parts[4]) : 1
            guard let severity, (1...10).contains(severity), let width, (1...8).contains(width), let depth,
                depth == -1 || (1...8).contains(depth), let alpha, alpha > 0 && alpha <= 100
            else { throw Invalid(message: "\(form); got '\(text)'") }
            return .augMix(severity: severity, width: width, depth: depth, alpha: alpha)
        default:
            throw Invalid(message: "\(form); got '\(text)'")
        }
    }

    /// `--color-jitter B[,C,S[,H]]`: one value is brightness, contrast and saturation (timm's
    /// form, no hue); three are B, C, S; four add the hue (at most 0.5). Strengths are ≥ 0.
    public static func colorJitter(_ text: String) throws(Invalid) -> ColorJitter {
        let v = try numbers(text, option: "color-jitter")
        let form = "color-jitter takes B, B,C,S or B,C,S,H (strengths >= 0, hue in 0...0.5); got '\(text)'"
        guard [1, 3, 4].contains(v.count), v.allSatisfy({ $0 >= 0 && $0 <= 100 }) else { throw Invalid(message: form) }
        let hue = v.count == 4 ? v[3] : 0
        guard hue <= 0.5 else { throw Invalid(message: form) }
        if v.count == 1 { return ColorJitter(brightness: v[0], contrast: v[0], saturation: v[0]) }
        return ColorJitter(brightness: v[0], contrast: v[1], saturation: v[2], hue: hue)
    }

    /// `--blur K[,SIGMA_MIN,SIGMA_MAX]`: an odd kernel side in 1...99 and torchvision's sigma range
    /// (0.1...2.0 by default, 0 < min <= max).
    public static func blur(_ text: String) throws(Invalid) -> GaussianBlur {
        let v = try numbers(text, option: "blur")
        let form = "blur takes K or K,SIGMA_MIN,SIGMA_MAX (K odd in 1...99, 0 < SIGMA_MIN <= SIGMA_MAX <= 100); got '\(text)'"
        guard v.count == 1 || v.count == 3 else { throw Invalid(message: form) }
        let k = Int(exactly: v[0]) ?? 0
        guard (1...99).contains(k), k % 2 == 1 else { throw Invalid(message: form) }
        let low = v.count == 3 ? v[1] : 0.1
        let high = v.count == 3 ? v[2] : 2.0
        guard low > 0, low <= high, high <= 100 else { throw Invalid(message: form) }
        return GaussianBlur(kernel: k, sigma: low...high)
    }
}

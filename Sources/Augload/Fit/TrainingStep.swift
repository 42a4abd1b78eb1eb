/// What `fit` does with each batch: a stand-in for a model's training step.
public protocol TrainingStep {
    /// Trains on one batch; returns the loss.
    mutating func train(on batch: Batch) -> Double
}

/// A real, small training step: it reads every pixel of the batch to compute each image's
/// per-channel mean, keeps running channel statistics over the run, and takes one SGD step of a
/// softmax classifier on those three features. Cheap next to decoding, but it touches all the
/// data, as a real model's first layer would.
public struct ChannelStatisticsStep: TrainingStep, Sendable {
    /// Running per-channel sums over every pixel seen.
    public private(set) var channelSum: [Double] = [0, 0, 0]
    /// Running per-channel sums of squared pixel values over every pixel seen.
    public private(set) var channelSquares: [Double] = [0, 0, 0]
    /// Pixels seen per channel so far (the divisor of the running means).
    public private(set) var pixelsPerChannel = 0
    private var weights: [[Double]] = []
    private var bias: [Double] = []
    /// The SGD learning rate (default 0.1).
    public var learningRate = 0.1
    /// Number of classes the softmax classifier predicts.
    public let classes: Int

    /// Creates a step for `classes` classes (at least 1), with zero weights and biases.
    public init(classes: Int) {
        precondition(classes >= 1, "at least one class")
        self.classes = classes
        weights = Array(repeating: [0, 0, 0], count: classes)
        bias = Array(repeating: 0, count: classes)
    }

    /// Mean of each channel over every pixel seen so far.
    public var channelMean: [Double] { channelSum.map { pixelsPerChannel > 0 ? $0 / Double(pixelsPerChannel) : 0 } }

    /// Accumulates the batch's channel statistics and takes one SGD step; returns the mean cross-entropy before the step.
    public mutating func train(on batch: Batch) -> Double {
        let shape = batch.shape
        guard shape.count == 4, batch.count > 0 else { return 0 }
        let nchw = shape[1] == 3 && shape[3] != 3
        let plane = nchw ? shape[2] * shape[3] : shape[1] * shape[2]
        let n = batch.count
        var features = [[Double]](repeating: [0, 0, 0], count: n)
        for i in 0..<n {
            var sums: (Double, Double, Double) = (0, 0, 0)
            var squares: (Double, Double, Double) = (0, 0, 0)
            let imageStart = i * plane * 3
            if batch.dtype == .float32 {
                let p = batch.floats.baseAddress! + imageStart
                accumulate(p, plane: plane, nchw: nchw, &sums, &squares) { Double($0) }
            } else {
                let p = batch.bytes.baseAddress! + imageStart
                accumulate(p, plane: plane, nchw: nchw, &sums, &squares) { Double($0) / 255 }
            }
            channelSum[0] += sums.0
            channelSum[1] += sums.1
            channelSum[2] += sums.2
            channelSquares[0] += squares.0
            channelSquares[1] += squares.1
            channelSquares[2] += squares.2
            features[i] = [sums.0 / Double(plane), sums.1 / Double(plane), sums.2 / Double(plane)]
        }
        pixelsPerChannel += n * plane
        // Class indices become one-hot targets; mixed or smoothed batches bring their own rows.
        var targets = [[Double]](repeating: [Double](repeating: 0, count: classes), count: n)
        if let soft = batch.softLabels, batch.labelColumns > 0 {
            for i in 0..<n {
                for c in 0..<min(classes, batch.labelColumns) { targets[i][c] = Double(soft[i * batch.labelColumns + c]) }
            }
        } else {
            for (i, label) in batch.labels.prefix(n).enumerated() { targets[i][min(max(Int(label), 0), classes - 1)] = 1 }
        }
        return sgdStep(features: features, targets: targets)
    }

    private func accumulate<T>(
        _ p: UnsafePointer<T>, plane: Int, nchw: Bool, _ sums: inout (Double, Double, Double),
        _ squares: inout (Double, Double, Double), _ value: (T) -> Double
    ) {
        var s: (Float, Float, Float) = (0, 0, 0)
        var q: (Float, Float, Float) = (0, 0, 0)
        // Float partial sums per row keep this fast; flush to Double per row for accuracy.
        let rowLength = 256
        var k = 0
        while k < plane {
            let end = min(k + rowLength, plane)
            for j in k..<end {
                let r = Float(value(nchw ? p[j] : p[j * 3]))
                let g = Float(value(nchw ? p[plane + j] : p[j * 3 + 1]))
                let b = Float(value(nchw ? p[2 * plane + j] : p[j * 3 + 2]))
                s.0 += r
                s.1 += g
                s.2 += b
                q.0 += r * r
                q.1 += g * g
                q.2 += b * b
            }
            sums.0 += Double(s.0)
            sums.1 += Double(s.1)
            sums.2 += Double(s.2)
            squares.0 += Double(q.0)
            squares.1 += Double(q.1)
            squares.2 += Double(q.2)
            s = (0, 0, 0)
            q = (0, 0, 0)
            k = end
        }
    }

    /// One step of softmax regression; returns the mean cross-entropy before the step.
    /// One step of softmax regression with cross-entropy against target distributions (one-hot for class indices).
    private mutating func sgdStep(features: [[Double]], targets: [[Double]]) -> Double {
        var loss = 0.0
        var gradW = [[Double]](repeating: [0, 0, 0], count: classes)
        var gradB = [Double](repeating: 0, count: classes)
        for (x, t) in zip(features, targets) {
            let logits = (0..<classes).map { c in bias[c] + weights[c][0] * x[0] + weights[c][1] * x[1] + weights[c][2] * x[2] }
            let top = logits.max() ?? 0
            let exps = logits.map { exp($0 - top) }
            let total = exps.reduce(0, +)
            for c in 0..<classes where t[c] > 0 { loss -= t[c] * log(max(exps[c] / total, 1e-12)) }
            for c in 0..<classes {
                let g = exps[c] / total - t[c]
                gradB[c] += g
                for j in 0..<3 { gradW[c][j] += g * x[j] }
            }
        }
        let scale = learningRate / Double(max(features.count, 1))
        for c in 0..<classes {
            bias[c] -= scale * gradB[c]
            for j in 0..<3 { weights[c][j] -= scale * gradW[c][j] }
        }
        return loss / Double(max(features.count, 1))
    }
}

#if canImport(Glibc)
    import Glibc
#endif

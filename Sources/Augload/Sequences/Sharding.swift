/// Which part of the dataset this process trains on, for multi-node training.
///
/// Each epoch's shuffled order is dealt round-robin: rank *r* of *n* takes positions
/// r, r+n, r+2n, …. When `n` does not divide the dataset, ranks would differ by one sample — and
/// so, at an epoch's end, by one batch, and DDP then waits forever in the extra step's
/// all-reduce. ``Remainder`` decides: `.pad` (the default, as PyTorch's `DistributedSampler`)
/// repeats samples from the start of the shuffled order until every rank has as many; `.drop`
/// leaves the last `total % n` out of the epoch; `.uneven` keeps every sample exactly once.
public struct Sharding: Sendable, Hashable, Codable {
    /// What to do with the samples left over when the world size does not divide the dataset.
    public enum Remainder: String, Sendable, Hashable, Codable, CaseIterable {
        /// Repeat samples from the start of the epoch's order: every rank gets ⌈total / n⌉.
        case pad
        /// Leave the last `total % n` samples of the epoch's order out: every rank gets ⌊total / n⌋.
        case drop
        /// Every sample exactly once; ranks differ by up to one sample.
        case uneven
    }

    /// This process's rank, in `0..<worldSize` (default 0).
    public var rank: Int
    /// Number of processes sharing the dataset (at least 1; default 1).
    public var worldSize: Int
    /// Equal shares (`.pad`, the default, or `.drop`) or every sample once (`.uneven`).
    public var remainder: Remainder

    /// Creates a sharding; ``ImageBatchOptions/validate()`` checks that `0 <= rank < worldSize`.
    public init(rank: Int = 0, worldSize: Int = 1, remainder: Remainder = .pad) {
        self.rank = rank
        self.worldSize = worldSize
        self.remainder = remainder
    }

    /// Decodes a sharding; a missing `remainder` (older encodings) means `.pad`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rank = try c.decode(Int.self, forKey: .rank)
        worldSize = try c.decode(Int.self, forKey: .worldSize)
        remainder = try c.decodeIfPresent(Remainder.self, forKey: .remainder) ?? .pad
    }

    /// From the launcher's variables: `RANK`/`WORLD_SIZE` (torchrun), else `SLURM_PROCID`/`SLURM_NTASKS`,
    /// else a single process.
    public static func fromEnvironment(_ environment: [String: String], remainder: Remainder = .pad) -> Sharding {
        for (r, n) in [("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")] {
            if let rank = environment[r].flatMap({ Int($0) }), let size = environment[n].flatMap({ Int($0) }),
                size >= 1, (0..<size).contains(rank)
            {
                return Sharding(rank: rank, worldSize: size, remainder: remainder)
            }
        }
        return Sharding(remainder: remainder)
    }

    /// How many of `total` positions this rank gets.
    public func count(of total: Int) -> Int {
        switch remainder {
        case .pad: (total + worldSize - 1) / worldSize
        case .drop: total / worldSize
        case .uneven: total / worldSize + (rank < total % worldSize ? 1 : 0)
        }
    }

    /// This rank's share of an epoch's `order` (the whole dataset, shuffled).
    public func share<T>(of order: [T]) -> [T] {
        if worldSize == 1 { return order }
        var dealt = order
        switch remainder {
        case .pad:
            let target = count(of: order.count) * worldSize
            var i = 0
            while dealt.count < target && !order.isEmpty {
                dealt.append(order[i % order.count])
                i += 1
            }
        case .drop: dealt.removeLast(order.count % worldSize)
        case .uneven: break
        }
        return stride(from: rank, to: dealt.count, by: worldSize).map { dealt[$0] }
    }
}

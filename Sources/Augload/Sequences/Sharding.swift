/// Which part of the dataset this process trains on, for multi-node training.
///
/// Each epoch's shuffled order is dealt round-robin: rank *r* of *n* takes positions
/// r, r+n, r+2n, … — every sample exactly once across ranks, sizes differing by at most one.
public struct Sharding: Sendable, Hashable, Codable {
    /// This process's rank, in `0..<worldSize` (default 0).
    public var rank: Int
    /// Number of processes sharing the dataset (at least 1; default 1).
    public var worldSize: Int

    /// - Precondition: `0 <= rank < worldSize`.
    public init(rank: Int = 0, worldSize: Int = 1) {
        precondition(
            worldSize >= 1 && (0..<worldSize).contains(rank), "rank must be in 0..<worldSize, got \(rank) of \(worldSize)")
        self.rank = rank
        self.worldSize = worldSize
    }

    /// From the launcher's variables: `RANK`/`WORLD_SIZE` (torchrun), else `SLURM_PROCID`/`SLURM_NTASKS`,
    /// else a single process.
    public static func fromEnvironment(_ environment: [String: String]) -> Sharding {
        for (r, n) in [("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")] {
            if let rank = environment[r].flatMap({ Int($0) }), let size = environment[n].flatMap({ Int($0) }),
                size >= 1, (0..<size).contains(rank)
            {
                return Sharding(rank: rank, worldSize: size)
            }
        }
        return Sharding()
    }

    /// How many of `total` positions this rank gets.
    public func count(of total: Int) -> Int { total / worldSize + (rank < total % worldSize ? 1 : 0) }
}

/// The control protocol between the loader and a worker: small binary messages, one per frame.
///
/// Loader → worker: `configure` (once, and after a respawn), `task`, `reconfigure` (a new epoch's
/// sequence state). Worker → loader: `done` (with the files it had to replace) or `failed`.
/// Pixels never travel here: they are in the shared-memory slot the task names.
enum Message {
    case configure(typeName: String, configuration: [UInt8], requirement: SlotRequirement, slotCount: Int)
    case task(epoch: Int, index: Int, slot: Int, order: [UInt8])
    case reconfigure(configuration: [UInt8])
    case done(epoch: Int, index: Int, slot: Int, skipped: [SkippedFile])
    case failed(epoch: Int, index: Int, slot: Int, error: LoaderError)

    func encoded() -> [UInt8] {
        var w = WireWriter()
        switch self {
        case .configure(let name, let configuration, let requirement, let slotCount):
            w.u8(1)
            w.string(name)
            w.blob(configuration)
            w.int(requirement.imageBytes)
            w.int(requirement.labels)
            w.int(requirement.labelColumns)
            w.int(slotCount)
        case .task(let epoch, let index, let slot, let order):
            w.u8(2)
            w.int(epoch)
            w.int(index)
            w.int(slot)
            w.blob(order)
        case .reconfigure(let configuration):
            w.u8(3)
            w.blob(configuration)
        case .done(let epoch, let index, let slot, let skipped):
            w.u8(10)
            w.int(epoch)
            w.int(index)
            w.int(slot)
            w.int(skipped.count)
            for s in skipped {
                w.string(s.path)
                w.string(s.error)
                w.u8(s.kind == .warning ? 1 : 0)
            }
        case .failed(let epoch, let index, let slot, let error):
            w.u8(11)
            w.int(epoch)
            w.int(index)
            w.int(slot)
            w.string(error.code.rawValue)
            w.string(error.message)
            w.string(error.path ?? "")
            w.string(error.decodeCode?.rawValue ?? "")
        }
        return Frame.encode(w.bytes)
    }

    init(decoding bytes: [UInt8]) throws(LoaderError) {
        var r = WireReader(bytes)
        switch try r.u8() {
        case 1:
            self = .configure(
                typeName: try r.string(), configuration: try r.blob(),
                requirement: SlotRequirement(imageBytes: try r.int(), labels: try r.int(), labelColumns: try r.int()),
                slotCount: try r.int())
        case 2:
            self = .task(epoch: try r.int(), index: try r.int(), slot: try r.int(), order: try r.blob())
        case 3:
            self = .reconfigure(configuration: try r.blob())
        case 10:
            let (epoch, index, slot, n) = (try r.int(), try r.int(), try r.int(), try r.int())
            var skipped: [SkippedFile] = []
            for _ in 0..<n {
                let (path, error, kind) = (try r.string(), try r.string(), try r.u8())
                skipped.append(SkippedFile(path: path, error: error, kind: kind == 1 ? .warning : .skipped))
            }
            self = .done(epoch: epoch, index: index, slot: slot, skipped: skipped)
        case 11:
            let (epoch, index, slot) = (try r.int(), try r.int(), try r.int())
            let code = LoaderError.Code(rawValue: try r.string()) ?? .sequence
            let message = try r.string()
            let path = try r.string()
            let decodeCode = DecodeError.Code(rawValue: try r.string())
            self = .failed(
                epoch: epoch, index: index, slot: slot,
                error: LoaderError(code, message, path: path.isEmpty ? nil : path, decodeCode: decodeCode))
        case let other:
            throw LoaderError(.system, "unknown message type \(other)")
        }
    }
}

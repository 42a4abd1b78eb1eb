// The library users import: sequences, the loader, fit and export, over the core's images,
// codecs and augmentations (re-exported, so `import Augload` is all a program needs).
@_exported import AugloadCore

// version.c — the release version, embedded.
//
// Why this exists: augload has one version, written once in Sources/Python/augload/VERSION (a
// line of text the Python package reads at import and setuptools reads for the wheel's name).
// The engine embeds the same file at compile time (`#embed`, which the compiler lists among the
// file's dependencies, so editing VERSION rebuilds this file), so `augload --version`,
// `augload.__version__` and the wheel cannot disagree.
#include "aug_system.h"

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wc23-extensions"
static const char version_file[] = {
#embed "../Python/augload/VERSION"
    , 0};
#pragma clang diagnostic pop

const char *aug_version(void) { return version_file; }

"""Runs where the wheel is installed (a bare root filesystem, another interpreter): one
``augload.Loader`` over a folder, every batch saved as ``.npy`` for the test to compare with
``augload export`` on the build machine. Only numpy and augload are imported.

    python wheel_probe.py FOLDER OUT '{"batch_size": 8, ...}' EPOCHS

Prints one JSON line: the package's and the engine's versions and the engine's kernels.
"""

import json
import os
import sys

import numpy as np

import augload

folder, out, options, epochs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
os.makedirs(out, exist_ok=True)
with augload.Loader(folder, **options) as loader:
    for epoch in range(epochs):
        for index, (images, labels) in enumerate(loader):
            np.save(os.path.join(out, f"images-{epoch:04d}-{index:06d}.npy"), images)
            np.save(os.path.join(out, f"labels-{epoch:04d}-{index:06d}.npy"), labels)
    report = {
        "version": augload.__version__,
        "engine_version": loader.engine_version,
        "kernels": loader.engine_kernels,
        "python": sys.version.split()[0],
        "package": os.path.dirname(os.path.abspath(augload.__file__)),
    }
print(json.dumps(report))

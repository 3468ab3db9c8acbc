"""What ``bastion serve`` prepares before any of its processes imports prometheus_client.

prometheus_client picks its storage when first imported: files in ``PROMETHEUS_MULTIPROC_DIR``
if set, this process's memory if not. So this module must not import it.
"""

import os
import shutil
from pathlib import Path

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """Empty ``DATA_DIR/metrics`` (counts restart with the server) and export its path."""
    directory = Path(data_dir) / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROC_VARIABLE] = str(directory)
    return directory

"""Results files: versioned JSON with the configuration, seeds and environment.

Written atomically (temporary file in the same folder, then rename), so a crash or a
bad input never leaves a half-written result (docs/design.md, "Results are data").

* ``document``: what a results document holds (schema version, command, config,
  environment, JSON-safe values) and which documents are read back (``read_json``);
* ``files``: writing them, atomically and under new names (``write_new_json``), with a
  rescue to the temporary folder (``save_new_json``, ``WriteFailed``), and the checks of
  output folders and files before any work (``prepare_out``, ``prepare_file``).

Every public name is importable from ``adambench.results`` itself.
"""

from .document import (
    MAX_RESULTS_BYTES,
    READS,
    SCHEMA_VERSION,
    cpu_model,
    environment,
    gpu_info,
    make_result,
    memory_bytes,
    read_json,
    to_jsonable,
)
from .files import (
    WriteFailed,
    check_writable,
    prepare_file,
    prepare_out,
    results_name,
    save_json,
    save_new_json,
    utc_stamp,
    write_json,
    write_new_json,
)

__all__ = [
    "MAX_RESULTS_BYTES",
    "READS",
    "SCHEMA_VERSION",
    "WriteFailed",
    "check_writable",
    "cpu_model",
    "environment",
    "gpu_info",
    "make_result",
    "memory_bytes",
    "prepare_file",
    "prepare_out",
    "read_json",
    "results_name",
    "save_json",
    "save_new_json",
    "to_jsonable",
    "utc_stamp",
    "write_json",
    "write_new_json",
]

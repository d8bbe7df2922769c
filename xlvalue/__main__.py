"""`python -m xlvalue` and the `xlvalue` command: console() runs the command line."""

import os
import sys

__all__ = ["console"]


def console(argv: list[str] | None = None) -> int:
    """The command line with its process limits set first (xlvalue.cli.limits): one BLAS
    thread before numpy loads; under an address-space limit, a limit too small to load refused
    and BLAS buffers mapped at start; memory running out while loading is one line, exit 2."""
    from xlvalue.cli.limits import (
        OUT_OF_MEMORY,
        address_space_limited,
        out_of_memory,
        prepare_process,
        reserve_blas_buffers,
    )

    refused = prepare_process()
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    try:
        from xlvalue.cli.main import main

        reserve_blas_buffers()
    except (MemoryError, ImportError, OSError) as exc:
        if not out_of_memory(exc):
            raise
        print(f"error: {OUT_OF_MEMORY}", file=sys.stderr)
        code = 2
    else:
        code = main(argv)
    if code and address_space_limited():
        # a library left half-loaded by the limit can crash in its exit-time clean-up (seen:
        # pyarrow's, a segfault after the error line): end here, the line and code as they are
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(console())

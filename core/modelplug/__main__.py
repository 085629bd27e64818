"""``python -m modelplug``: the ``modelplug`` command line (see :mod:`modelplug.cli`)."""

from modelplug.cli import main

if __name__ == "__main__":
    main(prog_name="modelplug")

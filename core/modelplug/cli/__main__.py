"""``python -m modelplug.cli``: the ``modelplug`` command line."""

from modelplug.cli import main

if __name__ == "__main__":
    main(prog_name="modelplug")

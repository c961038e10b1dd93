"""``python -m twinworld`` is the ``twinworld`` command."""

from twinworld.cli import main

main()

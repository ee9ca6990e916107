"""``python -m aibridge_store``: the command line."""

from .cli import main

raise SystemExit(main())

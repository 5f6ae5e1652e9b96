"""`python -m simulator` is the `ionsim` command."""

from simulator.cli import main

raise SystemExit(main())

"""`python -m talkies ...` is the `talkies` command."""

from talkies.cli import main

raise SystemExit(main())

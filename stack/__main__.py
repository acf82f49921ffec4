"""``python -m stack`` (``make run``): the whole stack in the foreground."""

from stack.running import main

raise SystemExit(main())

"""``python -m stack`` (``make run``): the whole stack in the foreground."""

from stack.foreground import main

raise SystemExit(main())

from opsbot.chaos.cli import main

raise SystemExit(main())

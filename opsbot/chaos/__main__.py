from opsbot.chaos.run import main

raise SystemExit(main())

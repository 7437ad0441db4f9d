from opsbot.bench.cli import main

raise SystemExit(main())

from hardening.cli import main

raise SystemExit(main())

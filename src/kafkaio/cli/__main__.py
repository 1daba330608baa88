"""``python -m kafkaio.cli``."""

from kafkaio.cli.main import main

raise SystemExit(main())

import sys

from chute_bench.latency_proxy.cli import main

sys.exit(main())

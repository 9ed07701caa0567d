import sys

from streampixel_deploy.cli import main

sys.exit(main())

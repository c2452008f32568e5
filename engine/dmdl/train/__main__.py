"""`python -m engine.dmdl.train` (also under `accelerate launch -m`)."""

import sys

from engine.dmdl.train import main

if __name__ == "__main__":
    sys.exit(main())

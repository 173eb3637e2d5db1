"""Run a sweep of training notebooks: the same as `faslearn train CONFIG` (see faslearn/sweeps.py)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's faslearn, installed or not
from faslearn.sweeps import main

if __name__ == "__main__":
    sys.exit(main())

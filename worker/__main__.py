"""``python -m worker``: run the queue worker until SIGTERM."""

from worker.main import main

if __name__ == "__main__":
    raise SystemExit(main())

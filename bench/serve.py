"""The org-tree benchmark's GraphQL worker: the app as ``bench.serve:app``.

``bench/org_tree.py`` starts it with uvicorn, one worker pinned to one core, the
settings in the environment (``DATABASE_URL``, ``YUNSHANG_DATA_DIR``,
``YUNSHANG_ENV=production``, ``YUNSHANG_JWT_KEYS``). By hand, from the project root:

    .venv/bin/python bench/serve.py --port 8811
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.app import create_app

__all__ = ["app"]

app = create_app()

if __name__ == "__main__":
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the app, one worker.")
    parser.add_argument("--port", type=int, default=8811)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")

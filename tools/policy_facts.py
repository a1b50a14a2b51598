"""Write the platform facts the policy pack reads (``policy/aks_llm_policies/platform_facts.json``).

The pack runs from its own virtualenv and never imports the program; this file is its copy of
``facts.platform.policy_facts()``, and ``tests/test_facts.py`` fails when the two disagree.
Run ``venv/bin/python -m tools.policy_facts`` after changing a label, taint or GPU resource name.
"""

from __future__ import annotations

import json
from pathlib import Path

from facts.platform import policy_facts

FACTS_FILE = Path(__file__).resolve().parents[1] / "policy" / "aks_llm_policies" / "platform_facts.json"


def render() -> str:
    return json.dumps(policy_facts(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    FACTS_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {FACTS_FILE}")


if __name__ == "__main__":
    main()

"""``main.py advise``: the notes' rules of thumb for a session, headless (what the window shows beside them).

Two parts: the mini-batch size rule of lecture 002 (b ≈ 1.5 × the outliers of the training data, counted by
``engine.batch_advice``) and the architecture rules of lectures 002 and 004 (``engine.rules_of_thumb``). Both
are heuristics the notes give, printed as advice; the command never changes the session.
"""
from __future__ import annotations

from .commands import json_line


def add_parser(sub):
    a = sub.add_parser("advise", help="the notes' rules of thumb for a session: the batch size from its outliers, "
                                      "the architecture rules (heuristics, not laws)")
    a.add_argument("session")
    a.add_argument("--json", action="store_true", help="one JSON object: the outlier count and suggestion, and "
                                                        "every rule with its quote, what the network has and the verdict")


def cmd_advise(args) -> int:
    from engine.batch_advice import QUOTE, RULE, advise_session
    from engine.rules_of_thumb import NOTE, report_text, rules_of_thumb
    from engine.session import load_session

    session = load_session(args.session)
    items = rules_of_thumb(session)  # a broken graph is refused here, before the data is generated
    batch = advise_session(session)
    if args.json:
        print(json_line({"batch_size": batch.to_dict(), "architecture": [a.to_dict() for a in items], "note": NOTE}))
        return 0
    print("batch size: " + batch.text())
    where = ", ".join(f"{k} {v}" for k, v in batch.per_feature.items())
    print(f"  outliers: {RULE}" + (f"; found in {where}" if where else "") +
          (f"; skipped (MAD 0): {', '.join(batch.skipped)}" if batch.skipped else ""))
    print(f"  {QUOTE}")
    print("architecture: " + NOTE)
    for line in report_text(items):
        print("  " + line)
    return 0
